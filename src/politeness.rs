//! Politeness, with one owner per process: the rules every host is held to ([`Politeness`])
//! and the [`Pacer`], which keeps each host's gap between request starts and when its last
//! request went.
//!
//! Every request to a host (robots.txt, pages, their retries and redirects) waits its turn
//! at the pacer, so the gap between any two requests to a host holds however the tasks that
//! send them are scheduled. The frontier asks the same pacer when a host may start its next
//! page, so a page task seldom waits here long. In a shared crawl the turns of a host with a
//! gap are also taken through [`SharedTurns`], for all workers together.
//!
//! A host that says it is struggling (429, 503, a run of timeouts) is given room: its gap at
//! least doubles, or takes the `Retry-After` it asked for, up to a cap, and eases back
//! halfway to its usual gap with each answer that comes back fine, as Scrapy's AutoThrottle
//! does.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::config::DEFAULT_MAX_RETRY_WAIT_SECS;
use crate::shared::SharedTurns;
use crate::summary::SlowedHost;

/// Hosts remembered before the ones whose turn is long past are forgotten.
const REMEMBERED_HOSTS: usize = 4096;

/// The least gap a struggling host is given: a host that asks for room gets a request a
/// second at most, whatever `--delay` says.
const LEAST_BACKOFF: Duration = Duration::from_secs(1);

/// A backed-off gap eased to within this of the host's usual gap is dropped: the host is
/// back to its usual pace.
const EASED: Duration = Duration::from_millis(250);

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
    /// The longest gap a struggling host is given (`--max-retry-wait`).
    max_backoff: Duration,
    /// Some host's gap was raised: hosts are paced even when `gap` is zero.
    raised: AtomicBool,
    hosts: Mutex<HashMap<String, HostTurns>>,
    /// The hosts that were given room in this run, for the summary; never forgotten.
    slowed: Mutex<BTreeMap<String, SlowedHost>>,
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
    /// The host's usual gap: `gap`, or its robots.txt `Crawl-delay` when longer.
    gap: Duration,
    /// The room it is given while it struggles, when that is longer than its usual gap.
    backoff: Option<Backoff>,
    /// When the last request to the host was sent, or its answer arrived, whichever is later.
    last: Option<Instant>,
    /// When the frontier last started a page of the host: its first request is about to go.
    planned: Option<Instant>,
}

/// A struggling host's gap, and when it last changed: only answers to requests sent since
/// then change it again, so requests already in flight when a host first struggles do not
/// double its gap once each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Backoff {
    gap: Duration,
    since: Instant,
}

impl HostTurns {
    /// The gap in force: the usual one, or the backed-off one when longer.
    fn gap(&self) -> Duration {
        self.backoff
            .map_or(self.gap, |backoff| backoff.gap.max(self.gap))
    }

    /// When the host's next request may go, by its gap.
    fn next_start(&self) -> Option<Instant> {
        self.last.max(self.planned).map(|last| last + self.gap())
    }

    /// Worth keeping when hosts are forgotten: its next turn is still ahead, or it is given
    /// room.
    fn worth_keeping(&self, now: Instant) -> bool {
        self.backoff.is_some() || self.next_start().is_some_and(|at| at > now)
    }
}

impl Pacer {
    /// A pacer keeping `gap` between request starts to one host.
    pub(crate) fn new(gap: Duration) -> Pacer {
        Pacer {
            gap,
            max_backoff: Duration::from_secs(DEFAULT_MAX_RETRY_WAIT_SECS),
            raised: AtomicBool::new(false),
            hosts: Mutex::new(HashMap::new()),
            slowed: Mutex::new(BTreeMap::new()),
            shared: OnceLock::new(),
        }
    }

    /// Gives a struggling host a gap of at most `max` (never less than the host's usual one).
    pub(crate) fn with_max_backoff(self, max: Duration) -> Pacer {
        Pacer {
            max_backoff: max,
            ..self
        }
    }

    /// Raises `host`'s gap to `gap` (robots.txt `Crawl-delay`, just read). A host not paced
    /// until now had its robots.txt request go unrecorded: its next request waits `gap` from
    /// now, so robots.txt and the first page are `gap` apart too.
    pub(crate) fn slow_down(&self, host: &str, gap: Duration) {
        self.raised.store(true, Ordering::Relaxed);
        let now = Instant::now();
        let mut hosts = self.lock();
        let turns = hosts.entry(host.to_owned()).or_insert_with(|| HostTurns {
            last: Some(now),
            ..self.new_host()
        });
        turns.gap = turns.gap.max(gap);
    }

    /// `host` answered a request sent at `sent` with a plea for room (429, 503, or a run of
    /// timeouts), asking `retry_after`: its gap at least doubles (from [`LEAST_BACKOFF`]), or
    /// takes `retry_after` when longer, up to the cap; its next request counts from now.
    pub(crate) fn struggling(&self, host: &str, sent: Instant, retry_after: Option<Duration>) {
        self.struggling_at(host, sent, retry_after, Instant::now());
    }

    /// `host` answered a request sent at `sent` well: a struggling host's gap eases halfway
    /// back to its usual one, until it is within [`EASED`] of it.
    pub(crate) fn answered_ok(&self, host: &str, sent: Instant) {
        self.answered_ok_at(host, sent, Instant::now());
    }

    /// The hosts that were given room in this run, by name.
    pub(crate) fn slowed_hosts(&self) -> Vec<SlowedHost> {
        let slowed = self.slowed.lock().unwrap_or_else(|err| err.into_inner());
        slowed.values().cloned().collect()
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
        if !self.may_pace() {
            return;
        }
        // A host the map does not hold is not paced: nothing to record.
        let now = Instant::now();
        if let Some(turns) = self.lock().get_mut(host) {
            turns.last = turns.last.max(Some(now));
        }
    }

    /// When the frontier may start a page of `host`, if not at once.
    pub(crate) fn next_start(&self, host: &str) -> Option<Instant> {
        if !self.may_pace() {
            return None;
        }
        // A host the map does not hold starts at once.
        self.lock().get(host).and_then(HostTurns::next_start)
    }

    /// The frontier started a page of `host` at `now`: the host's next page waits its gap
    /// from here, though the page's own request takes its turn as usual.
    pub(crate) fn planned(&self, host: &str, now: Instant) {
        if !self.may_pace() {
            return;
        }
        let mut hosts = self.lock();
        if self.gap.is_zero() && !hosts.contains_key(host) {
            // Not paced: no bookkeeping.
            return;
        }
        let turns = hosts
            .entry(host.to_owned())
            .or_insert_with(|| self.new_host());
        turns.planned = turns.planned.max(Some(now));
    }

    /// A page the frontier started sent no request after all (its host was given up): the
    /// host's next page waits its gap from the last request that went, not from that start.
    pub(crate) fn unplanned(&self, host: &str) {
        if let Some(turns) = self.lock().get_mut(host) {
            turns.planned = None;
        }
    }

    /// When the last request to `host` was sent (or answered), if requests to it are paced.
    pub(crate) fn last_request(&self, host: &str) -> Option<Instant> {
        self.lock().get(host).and_then(|turns| turns.last)
    }

    /// `host`'s usual gap when robots.txt raised it above everyone's, for a shared crawl's
    /// record.
    pub(crate) fn crawl_delay(&self, host: &str) -> Option<Duration> {
        self.lock()
            .get(host)
            .map(|turns| turns.gap)
            .filter(|gap| *gap > self.gap)
    }

    /// Whether requests to `host` keep a gap at all.
    fn paces(&self, host: &str) -> bool {
        !self.gap.is_zero() || (self.may_pace() && self.lock().contains_key(host))
    }

    /// Whether any host may keep a gap: there is one for every host, or some host's was
    /// raised. Answered without the lock, so an unpaced crawl takes it never.
    fn may_pace(&self) -> bool {
        !self.gap.is_zero() || self.raised.load(Ordering::Relaxed)
    }

    /// `host`'s gap in force.
    fn gap_of(&self, host: &str) -> Duration {
        self.lock().get(host).map_or(self.gap, HostTurns::gap)
    }

    fn new_host(&self) -> HostTurns {
        HostTurns {
            gap: self.gap,
            backoff: None,
            last: None,
            planned: None,
        }
    }

    fn struggling_at(
        &self,
        host: &str,
        sent: Instant,
        retry_after: Option<Duration>,
        now: Instant,
    ) {
        self.raised.store(true, Ordering::Relaxed);
        let mut hosts = self.lock();
        let turns = hosts
            .entry(host.to_owned())
            .or_insert_with(|| self.new_host());
        turns.last = turns.last.max(Some(now));
        let current = turns.gap();
        // An answer to a request sent before the last change says nothing new of the gap
        // in force, except the wait it asks for.
        let news = turns.backoff.is_none_or(|backoff| sent >= backoff.since);
        let doubled = if news {
            current.saturating_mul(2).max(LEAST_BACKOFF)
        } else {
            current
        };
        let wanted = doubled
            .max(retry_after.unwrap_or_default())
            .min(self.max_backoff);
        if wanted <= current {
            return;
        }
        turns.backoff = Some(Backoff {
            gap: wanted,
            since: now,
        });
        drop(hosts);
        tracing::debug!(
            host,
            gap_ms = wanted.as_millis() as u64,
            "host struggling; slowed down"
        );
        let mut slowed = self.slowed.lock().unwrap_or_else(|err| err.into_inner());
        let record = slowed.entry(host.to_owned()).or_insert_with(|| SlowedHost {
            host: host.to_owned(),
            times: 0,
            longest_gap: Duration::ZERO,
        });
        record.times += 1;
        record.longest_gap = record.longest_gap.max(wanted);
    }

    fn answered_ok_at(&self, host: &str, sent: Instant, now: Instant) {
        let mut hosts = self.lock();
        let Some(turns) = hosts.get_mut(host) else {
            return;
        };
        let Some(backoff) = turns.backoff.filter(|backoff| sent >= backoff.since) else {
            return;
        };
        let eased = (backoff.gap + turns.gap) / 2;
        turns.backoff = (eased > turns.gap + EASED).then_some(Backoff {
            gap: eased,
            since: now,
        });
        if turns.backoff.is_none() {
            tracing::debug!(host, "host recovered; back to its usual pace");
        }
    }

    /// Takes `host`'s turn at `now` if its gap has passed since its last request; else says
    /// when it will have.
    fn claim(&self, host: &str, now: Instant) -> Result<(), Instant> {
        let mut hosts = self.lock();
        if hosts.len() >= REMEMBERED_HOSTS {
            hosts.retain(|_, turns| turns.worth_keeping(now));
        }
        let turns = hosts
            .entry(host.to_owned())
            .or_insert_with(|| self.new_host());
        match turns.last {
            Some(last) if last + turns.gap() > now => Err(last + turns.gap()),
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
        let read = pacer.last_request("a").expect("robots.txt was just read");
        assert!(read >= now);
        let next = read + Duration::from_secs(2);
        assert_eq!(pacer.claim("a", read), Err(next));
        assert_eq!(pacer.claim("a", next), Ok(()));
        assert_eq!(pacer.claim("a", next), Err(next + Duration::from_secs(2)));
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
        // A later page sent nothing: the next waits from the last request only.
        pacer.planned("a", now + ms(50));
        assert_eq!(pacer.next_start("a"), Some(now + ms(150)));
        pacer.unplanned("a");
        assert_eq!(pacer.next_start("a"), Some(now + ms(105)));
    }

    #[test]
    fn with_no_gap_nothing_is_planned() {
        let pacer = Pacer::new(Duration::ZERO);
        pacer.planned("a", Instant::now());
        assert_eq!(pacer.next_start("a"), None);
        assert!(pacer.lock().is_empty());
    }

    #[test]
    fn a_struggling_host_gets_at_least_double_its_gap_or_what_it_asks_up_to_the_cap() {
        let pacer = Pacer::new(Duration::ZERO).with_max_backoff(Duration::from_secs(10));
        let now = Instant::now();
        let secs = Duration::from_secs;
        assert!(!pacer.paces("a"));
        let answer = now + Duration::from_millis(100);
        pacer.struggling_at("a", now, None, answer);
        assert_eq!(pacer.gap_of("a"), LEAST_BACKOFF, "from no gap to the least");
        assert_eq!(
            pacer.claim("a", answer),
            Err(answer + LEAST_BACKOFF),
            "counted from the answer"
        );
        // Requests sent before the raise struggle too: no news, no further doubling.
        pacer.struggling_at("a", now, None, now + secs(1));
        assert_eq!(pacer.gap_of("a"), LEAST_BACKOFF);
        // One sent after the raise: doubled.
        pacer.struggling_at("a", now + secs(1), None, now + secs(1));
        assert_eq!(pacer.gap_of("a"), secs(2));
        // The server asks for more: that, for every request to the host.
        pacer.struggling_at("a", now, Some(secs(7)), now + secs(2));
        assert_eq!(pacer.gap_of("a"), secs(7));
        pacer.struggling_at("a", now + secs(2), None, now + secs(2));
        assert_eq!(pacer.gap_of("a"), secs(10), "capped");
        pacer.struggling_at("a", now + secs(3), Some(secs(3600)), now + secs(3));
        assert_eq!(pacer.gap_of("a"), secs(10), "capped, Retry-After too");
        assert_eq!(
            pacer.gap_of("b"),
            Duration::ZERO,
            "other hosts keep their pace"
        );
        let slowed = pacer.slowed_hosts();
        assert_eq!(slowed.len(), 1);
        assert_eq!((slowed[0].host.as_str(), slowed[0].times), ("a", 4));
        assert_eq!(slowed[0].longest_gap, secs(10));
    }

    #[test]
    fn a_struggling_hosts_gap_eases_halfway_per_good_answer_back_to_its_usual_one() {
        let pacer = Pacer::new(Duration::from_millis(100));
        let now = Instant::now();
        let ms = Duration::from_millis;
        pacer.struggling_at("a", now, Some(ms(4000)), now);
        assert_eq!(pacer.gap_of("a"), ms(4000));
        pacer.answered_ok_at("a", now - ms(1), now + ms(10));
        assert_eq!(
            pacer.gap_of("a"),
            ms(4000),
            "sent before the raise: no news"
        );
        let mut gaps = Vec::new();
        let mut at = now;
        while pacer.gap_of("a") > ms(100) {
            at += pacer.gap_of("a");
            pacer.answered_ok_at("a", at, at + ms(5));
            gaps.push(pacer.gap_of("a").as_millis());
            assert!(gaps.len() < 20, "{gaps:?}");
        }
        assert_eq!(
            gaps,
            [2050, 1075, 587, 100],
            "halfway each time, then the usual gap"
        );
        assert_eq!(pacer.slowed_hosts()[0].longest_gap, ms(4000), "remembered");
    }

    #[test]
    fn a_crawl_delay_learnt_from_robots_txt_counts_from_when_it_was_read() {
        let pacer = Pacer::new(Duration::ZERO);
        let before = Instant::now();
        pacer.slow_down("a", Duration::from_millis(300));
        let last = pacer.last_request("a").expect("counted from now");
        assert!(last >= before);
        assert_eq!(
            pacer.claim("a", last),
            Err(last + Duration::from_millis(300))
        );
        // A host already paced keeps the time of its last request.
        pacer.sent("b", before);
        pacer.slow_down("b", Duration::from_millis(300));
        assert_eq!(pacer.last_request("b"), Some(before));
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
