//! Politeness at the moment of sending: every request to a host (robots.txt, pages, their
//! retries and redirects) waits its turn here, so the gap between any two requests to a host
//! holds however the tasks that send them are scheduled. The frontier plans by the same
//! gaps, so a page task seldom waits here long. In a shared crawl the turns of a host with a
//! gap are taken in Redis, for all workers together.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::frontier::SharedTurns;

/// Hosts remembered before the ones whose turn is long past are forgotten.
const REMEMBERED_HOSTS: usize = 4096;

/// The next free send slot of each host, for a gap between request starts.
#[derive(Debug)]
pub(crate) struct Pacer {
    /// The gap every host gets (`--delay`, `--rate`).
    gap: Duration,
    hosts: Mutex<HashMap<String, HostTurns>>,
    /// A shared crawl's turns, once joined.
    shared: OnceLock<SharedTurns>,
}

#[derive(Debug, Clone, Copy)]
struct HostTurns {
    /// The host's gap: `gap`, or its robots.txt `Crawl-delay` when longer.
    gap: Duration,
    /// When the last request to the host was (or will be) sent.
    last: Option<Instant>,
}

impl Pacer {
    /// A pacer keeping `gap` between request starts to one host.
    pub(crate) fn new(gap: Duration) -> Pacer {
        Pacer {
            gap,
            hosts: Mutex::new(HashMap::new()),
            shared: OnceLock::new(),
        }
    }

    /// Raises `host`'s gap to `gap` (robots.txt `Crawl-delay`).
    pub(crate) fn slow_down(&self, host: &str, gap: Duration) {
        let mut hosts = self.lock();
        let turns = hosts.entry(host.to_owned()).or_insert(HostTurns {
            gap: self.gap,
            last: None,
        });
        turns.gap = turns.gap.max(gap);
    }

    /// Takes turns in a shared crawl's Redis from now on.
    pub(crate) fn share(&self, turns: SharedTurns) {
        // Set once, when the crawl is joined.
        let _ = self.shared.set(turns);
    }

    /// Waits until a request to `host` may be sent, and takes that turn. A turn is taken
    /// when the request really goes (after any wait, however late the task wakes), so the
    /// next one counts its gap from there.
    pub(crate) async fn turn(&self, host: &str) {
        if !self.paces(host) {
            return;
        }
        if let Some(shared) = self.shared.get() {
            let wait = shared.turn(host, self.gap_of(host)).await;
            tokio::time::sleep(wait).await;
        }
        loop {
            match self.claim(host, Instant::now()) {
                Ok(()) => return,
                Err(at) => tokio::time::sleep_until(at.into()).await,
            }
        }
    }

    /// The answer to a request to `host` arrived (or the request failed): a paced host's next
    /// turn counts from now at the earliest, so the gap holds at the server however late the
    /// request left after its turn.
    pub(crate) fn answered(&self, host: &str) {
        if !self.paces(host) {
            return;
        }
        let now = Instant::now();
        if let Some(turns) = self.lock().get_mut(host) {
            turns.last = turns.last.max(Some(now));
        }
    }

    /// When the last request to `host` was sent, if requests to it are paced.
    pub(crate) fn last_request(&self, host: &str) -> Option<Instant> {
        self.lock().get(host).and_then(|turns| turns.last)
    }

    /// Whether requests to `host` keep a gap at all.
    fn paces(&self, host: &str) -> bool {
        !self.gap.is_zero() || self.lock().contains_key(host)
    }

    fn gap_of(&self, host: &str) -> Duration {
        self.lock().get(host).map_or(self.gap, |turns| turns.gap)
    }

    /// Takes `host`'s turn at `now` if its gap has passed; else says when it will have.
    fn claim(&self, host: &str, now: Instant) -> Result<(), Instant> {
        let mut hosts = self.lock();
        if hosts.len() >= REMEMBERED_HOSTS {
            hosts.retain(|_, turns| turns.last.is_some_and(|last| last + turns.gap > now));
        }
        let turns = hosts.entry(host.to_owned()).or_insert(HostTurns {
            gap: self.gap,
            last: None,
        });
        match turns.last {
            Some(last) if last + turns.gap > now => Err(last + turns.gap),
            _ => {
                turns.last = Some(now);
                Ok(())
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HostTurns>> {
        // Held only for a map operation, never across an await; a panic there leaves the map
        // whole.
        self.hosts.lock().unwrap_or_else(|err| err.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_to_one_host_are_a_gap_apart_from_when_each_was_taken() {
        let pacer = Pacer::new(Duration::from_millis(100));
        let now = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(pacer.claim("a", now), Ok(()));
        assert_eq!(pacer.claim("a", now + ms(50)), Err(now + ms(100)));
        assert_eq!(pacer.claim("b", now), Ok(()), "other hosts do not wait");
        // Taken late (the task woke late): the next gap counts from then.
        assert_eq!(pacer.claim("a", now + ms(130)), Ok(()));
        assert_eq!(pacer.claim("a", now + ms(200)), Err(now + ms(230)));
        assert_eq!(pacer.last_request("a"), Some(now + ms(130)));
    }

    #[test]
    fn a_crawl_delay_raises_only_its_hosts_gap() {
        let pacer = Pacer::new(Duration::ZERO);
        let now = Instant::now();
        assert!(!pacer.paces("a"), "no gap, no bookkeeping");
        pacer.slow_down("a", Duration::from_secs(2));
        assert!(pacer.paces("a"));
        assert_eq!(pacer.claim("a", now), Ok(()));
        assert_eq!(pacer.claim("a", now), Err(now + Duration::from_secs(2)));
        assert!(!pacer.paces("b"));
    }
}
