//! Politeness at the moment of sending: every request to a host (robots.txt, pages, their
//! retries and redirects) waits its turn here, so the gap between any two requests to a host
//! holds however the tasks that send them are scheduled. The frontier plans by the same
//! gaps, so a page task seldom waits here long.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Hosts remembered before the ones whose turn is long past are forgotten.
const REMEMBERED_HOSTS: usize = 4096;

/// The next free send slot of each host, for a gap between request starts.
#[derive(Debug)]
pub(crate) struct Pacer {
    /// The gap every host gets (`--delay`, `--rate`).
    gap: Duration,
    hosts: Mutex<HashMap<String, HostTurns>>,
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

    /// Waits until a request to `host` may be sent, and takes that turn.
    pub(crate) async fn turn(&self, host: &str) {
        let slot = self.take_slot(host, Instant::now());
        if let Some(slot) = slot {
            tokio::time::sleep_until(slot.into()).await;
        }
    }

    /// When the last request to `host` was sent (or is due), if one was.
    pub(crate) fn last_request(&self, host: &str) -> Option<Instant> {
        self.lock().get(host).and_then(|turns| turns.last)
    }

    /// Books `host`'s next turn at or after `now`; `None` when requests to it need no gap.
    fn take_slot(&self, host: &str, now: Instant) -> Option<Instant> {
        let mut hosts = self.lock();
        if self.gap.is_zero() && !hosts.contains_key(host) {
            return None;
        }
        if hosts.len() >= REMEMBERED_HOSTS {
            hosts.retain(|_, turns| turns.last.is_some_and(|last| last + turns.gap > now));
        }
        let turns = hosts.entry(host.to_owned()).or_insert(HostTurns {
            gap: self.gap,
            last: None,
        });
        let slot = turns.last.map_or(now, |last| (last + turns.gap).max(now));
        turns.last = Some(slot);
        Some(slot)
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
    fn turns_to_one_host_are_a_gap_apart_and_other_hosts_do_not_wait() {
        let pacer = Pacer::new(Duration::from_millis(100));
        let now = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(pacer.take_slot("a", now), Some(now));
        assert_eq!(pacer.take_slot("a", now), Some(now + ms(100)));
        assert_eq!(pacer.take_slot("a", now + ms(50)), Some(now + ms(200)));
        assert_eq!(pacer.take_slot("b", now), Some(now));
        assert_eq!(pacer.take_slot("a", now + ms(500)), Some(now + ms(500)));
        assert_eq!(pacer.last_request("a"), Some(now + ms(500)));
    }

    #[test]
    fn a_crawl_delay_raises_only_its_hosts_gap() {
        let pacer = Pacer::new(Duration::ZERO);
        let now = Instant::now();
        assert_eq!(pacer.take_slot("a", now), None, "no gap, no bookkeeping");
        pacer.slow_down("a", Duration::from_secs(2));
        assert_eq!(pacer.take_slot("a", now), Some(now));
        assert_eq!(
            pacer.take_slot("a", now),
            Some(now + Duration::from_secs(2))
        );
        assert_eq!(pacer.take_slot("b", now), None);
    }
}
