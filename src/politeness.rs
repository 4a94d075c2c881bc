//! Politeness, with one owner per process: the rules every host is held to ([`Politeness`])
//! and the [`Pacer`], which keeps each host's gap between request starts and when its last
//! request went.
//!
//! Every request to a host (robots.txt, pages, their retries and redirects) waits its turn
//! at the pacer, so the gap between any two requests to a host holds however the tasks that
//! send them are scheduled. The frontier asks the same pacer when a host may start its next
//! page, so a page task seldom waits here long. In a shared crawl the turns of a host with a
//! gap are also taken through [`SharedTurns`], for all workers together.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::shared::SharedTurns;

/// Hosts remembered before the ones whose turn is long past are forgotten.
const REMEMBERED_HOSTS: usize = 4096;

/// The rules every host is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Politeness {
    /// Requests in flight per host.
    pub(crate) per_host: usize,
    /// Minimum gap between two request starts to one host (from `--delay` and `--rate`).
    pub(crate) gap: Duration,
    /// Send one request to a new host and wait for it to end before sending more, so what
    /// it teaches (robots.txt `Crawl-delay`) applies from the second request on.
    pub(crate) probe_first: bool,
}

/// Each host's gap between request starts and when its last request went.
pub(crate) struct Pacer {
    /// The gap every host gets (`--delay`, `--rate`).
    gap: Duration,
    /// Some host's gap was raised: hosts are paced even when `gap` is zero.
    slowed: AtomicBool,
    hosts: Mutex<HashMap<String, HostTurns>>,
    /// A shared crawl's turns, once joined.
    shared: OnceLock<Arc<dyn SharedTurns>>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("gap", &self.gap)
            .field("shared", &self.shared.get().is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
struct HostTurns {
    /// The host's gap: `gap`, or its robots.txt `Crawl-delay` when longer.
    gap: Duration,
    /// When the last request to the host was sent, or its answer arrived, whichever is later.
    last: Option<Instant>,
    /// When the frontier last started a page of the host: its first request is about to go.
    planned: Option<Instant>,
}

impl HostTurns {
    /// When the host's next request may go, by its gap.
    fn next_start(&self) -> Option<Instant> {
        self.last.max(self.planned).map(|last| last + self.gap)
    }
}

impl Pacer {
    /// A pacer keeping `gap` between request starts to one host.
    pub(crate) fn new(gap: Duration) -> Pacer {
        Pacer {
            gap,
            slowed: AtomicBool::new(false),
            hosts: Mutex::new(HashMap::new()),
            shared: OnceLock::new(),
        }
    }

    /// Raises `host`'s gap to `gap` (robots.txt `Crawl-delay`).
    pub(crate) fn slow_down(&self, host: &str, gap: Duration) {
        self.slowed.store(true, Ordering::Relaxed);
        let mut hosts = self.lock();
        let turns = hosts
            .entry(host.to_owned())
            .or_insert_with(|| self.new_host());
        turns.gap = turns.gap.max(gap);
    }

    /// Takes turns through a shared crawl from now on.
    pub(crate) fn share(&self, turns: Arc<dyn SharedTurns>) {
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

    /// When the frontier may start a page of `host`, if not at once.
    pub(crate) fn next_start(&self, host: &str) -> Option<Instant> {
        if !self.paces(host) {
            return None;
        }
        self.lock().get(host).and_then(HostTurns::next_start)
    }

    /// The frontier started a page of `host` at `now`: the host's next page waits its gap
    /// from here, though the page's own request takes its turn as usual.
    pub(crate) fn planned(&self, host: &str, now: Instant) {
        if !self.paces(host) {
            return;
        }
        let mut hosts = self.lock();
        let turns = hosts
            .entry(host.to_owned())
            .or_insert_with(|| self.new_host());
        turns.planned = turns.planned.max(Some(now));
    }

    /// When the last request to `host` was sent (or answered), if requests to it are paced.
    pub(crate) fn last_request(&self, host: &str) -> Option<Instant> {
        self.lock().get(host).and_then(|turns| turns.last)
    }

    /// `host`'s gap when robots.txt raised it above everyone's, for a shared crawl's record.
    pub(crate) fn crawl_delay(&self, host: &str) -> Option<Duration> {
        self.lock()
            .get(host)
            .map(|turns| turns.gap)
            .filter(|gap| *gap > self.gap)
    }

    /// Whether requests to `host` keep a gap at all.
    fn paces(&self, host: &str) -> bool {
        !self.gap.is_zero()
            || (self.slowed.load(Ordering::Relaxed) && self.lock().contains_key(host))
    }

    fn gap_of(&self, host: &str) -> Duration {
        self.lock().get(host).map_or(self.gap, |turns| turns.gap)
    }

    fn new_host(&self) -> HostTurns {
        HostTurns {
            gap: self.gap,
            last: None,
            planned: None,
        }
    }

    /// Takes `host`'s turn at `now` if its gap has passed since its last request; else says
    /// when it will have.
    fn claim(&self, host: &str, now: Instant) -> Result<(), Instant> {
        let mut hosts = self.lock();
        if hosts.len() >= REMEMBERED_HOSTS {
            hosts.retain(|_, turns| turns.next_start().is_some_and(|at| at > now));
        }
        let turns = hosts
            .entry(host.to_owned())
            .or_insert_with(|| self.new_host());
        match turns.last {
            Some(last) if last + turns.gap > now => Err(last + turns.gap),
            _ => {
                turns.last = Some(now);
                Ok(())
            }
        }
    }

    /// Records a request to `host` sent at `at`, as a turn taken then would.
    #[cfg(test)]
    pub(crate) fn sent(&self, host: &str, at: Instant) {
        let mut hosts = self.lock();
        let turns = hosts
            .entry(host.to_owned())
            .or_insert_with(|| self.new_host());
        turns.last = turns.last.max(Some(at));
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
        assert_eq!(pacer.crawl_delay("a"), Some(Duration::from_secs(2)));
        assert_eq!(pacer.crawl_delay("b"), None);
    }

    #[test]
    fn the_frontier_plans_by_the_last_request_or_the_last_start_whichever_is_later() {
        let pacer = Pacer::new(Duration::from_millis(100));
        let now = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(pacer.next_start("a"), None, "a new host starts at once");
        pacer.planned("a", now);
        assert_eq!(pacer.next_start("a"), Some(now + ms(100)));
        // The page's own request takes its turn without waiting for the plan.
        assert_eq!(pacer.claim("a", now + ms(5)), Ok(()));
        assert_eq!(pacer.next_start("a"), Some(now + ms(105)));
        assert_eq!(pacer.next_start("b"), None);
    }

    #[test]
    fn with_no_gap_nothing_is_planned() {
        let pacer = Pacer::new(Duration::ZERO);
        pacer.planned("a", Instant::now());
        assert_eq!(pacer.next_start("a"), None);
        assert!(pacer.lock().is_empty());
    }

    /// Shared turns that record what they were asked and never make a worker wait.
    #[derive(Default)]
    struct Recorded(Mutex<Vec<(String, Duration)>>);

    impl SharedTurns for Recorded {
        fn turn<'a>(
            &'a self,
            host: &'a str,
            gap: Duration,
        ) -> crate::shared::BoxFuture<'a, Duration> {
            self.0.lock().unwrap().push((host.to_owned(), gap));
            Box::pin(async { Duration::ZERO })
        }
    }

    #[tokio::test]
    async fn a_turn_is_taken_when_it_returns_and_the_next_waits_the_gap() {
        let gap = Duration::from_millis(30);
        let pacer = Pacer::new(gap);
        let before = Instant::now();
        pacer.turn("a").await;
        let first = pacer.last_request("a").expect("the turn was taken");
        assert!(first >= before && first <= Instant::now());
        pacer.turn("a").await;
        let second = pacer.last_request("a").unwrap();
        assert!(
            second >= first + gap,
            "{:?} after the first",
            second - first
        );
        assert!(Instant::now() >= first + gap);
    }

    #[tokio::test]
    async fn with_no_gap_a_turn_keeps_no_bookkeeping() {
        let pacer = Pacer::new(Duration::ZERO);
        pacer.turn("a").await;
        pacer.answered("a");
        assert_eq!(pacer.last_request("a"), None);
        assert!(pacer.lock().is_empty());
    }

    #[test]
    fn an_answer_moves_the_next_turn_to_a_gap_after_it() {
        let gap = Duration::from_secs(1);
        let pacer = Pacer::new(gap);
        let sent = Instant::now() - Duration::from_secs(5);
        pacer.sent("a", sent);
        let before = Instant::now();
        pacer.answered("a");
        let last = pacer.last_request("a").unwrap();
        assert!(last >= before, "the answer counts, not the send");
        assert_eq!(pacer.claim("a", before), Err(last + gap));
        pacer.answered("b");
        assert_eq!(
            pacer.last_request("b"),
            None,
            "an unknown host stays unknown"
        );
    }

    #[tokio::test]
    async fn shared_turns_are_asked_with_the_hosts_own_gap() {
        let pacer = Pacer::new(Duration::from_millis(1));
        let shared = Arc::new(Recorded::default());
        pacer.share(Arc::clone(&shared) as Arc<dyn SharedTurns>);
        pacer.slow_down("a", Duration::from_millis(20));
        pacer.turn("a").await;
        pacer.turn("b").await;
        assert_eq!(
            *shared.0.lock().unwrap(),
            [
                ("a".to_owned(), Duration::from_millis(20)),
                ("b".to_owned(), Duration::from_millis(1))
            ]
        );
        assert!(format!("{pacer:?}").contains("shared: true"));
    }

    #[test]
    fn a_crawl_delay_no_longer_than_everyones_gap_is_not_recorded() {
        let pacer = Pacer::new(Duration::from_secs(1));
        pacer.slow_down("a", Duration::from_millis(500));
        pacer.slow_down("b", Duration::from_secs(1));
        pacer.slow_down("c", Duration::from_secs(3));
        assert_eq!(pacer.crawl_delay("a"), None);
        assert_eq!(pacer.crawl_delay("b"), None);
        assert_eq!(pacer.crawl_delay("c"), Some(Duration::from_secs(3)));
    }

    #[test]
    fn a_turn_is_free_exactly_a_gap_after_the_last() {
        let gap = Duration::from_millis(100);
        let pacer = Pacer::new(gap);
        let now = Instant::now();
        assert_eq!(pacer.claim("a", now), Ok(()));
        assert_eq!(pacer.claim("a", now + gap), Ok(()));
    }

    #[test]
    fn past_the_remembered_hosts_only_those_still_waiting_are_kept() {
        let gap = Duration::from_millis(100);
        let ms = Duration::from_millis;
        let pacer = Pacer::new(gap);
        let now = Instant::now();
        for host in 0..REMEMBERED_HOSTS {
            assert_eq!(pacer.claim(&host.to_string(), now), Ok(()));
        }
        // Every host still has its gap to wait: none is forgotten.
        assert_eq!(pacer.claim("late", now + ms(50)), Ok(()));
        assert_eq!(pacer.lock().len(), REMEMBERED_HOSTS + 1);
        // Their gaps are over (but not the late host's): they are forgotten.
        assert_eq!(pacer.claim("later", now + gap), Ok(()));
        let mut kept: Vec<String> = pacer.lock().keys().cloned().collect();
        kept.sort();
        assert_eq!(kept, ["late", "later"]);
    }
}
