//! [`MemoryFrontier`]: one FIFO queue per host, served round-robin so one large host cannot
//! starve the others, each host held to its politeness rules (at most `per_host` requests in
//! flight, and the gap between request starts the process's [`Pacer`] keeps), and the seen
//! set, all in memory.
//!
//! The queued jobs are kept by their [`UrlKey`], and a host's queues hold keys, so a queued
//! job can be found and served ahead of its turn ([`Frontier::promote`]: a page waiting for
//! its links' statuses, `--check`, waits for their crawl). A job served early leaves its key
//! behind in the FIFO queue, skipped when it comes up.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use super::{Ended, Frontier, FrontierError, Next};
use crate::job::{Children, Job};
use crate::politeness::{Pacer, Politeness};
use crate::seen::{SeenSet, UrlKey};

/// Per-host FIFO queues served round-robin, plus a set of URL fingerprints, all in memory.
#[derive(Debug)]
pub(crate) struct MemoryFrontier {
    politeness: Politeness,
    /// When each host may start its next page.
    pacer: Arc<Pacer>,
    hosts: HashMap<String, HostState>,
    /// Hosts with queued jobs, in serving order; each appears once.
    rotation: VecDeque<String>,
    /// The queued jobs, by their URL's key.
    jobs: HashMap<UrlKey, Job>,
    seen: SeenSet,
}

#[derive(Debug)]
struct HostState {
    /// The keys of the host's jobs in the order queued (some served early, skipped).
    queue: VecDeque<UrlKey>,
    /// The keys of jobs to serve first, in the order promoted.
    promoted: VecDeque<UrlKey>,
    /// The host's jobs still queued.
    queued: usize,
    in_flight: usize,
    /// A request to this host has ended (see [`Politeness::probe_first`]).
    probed: bool,
}

impl MemoryFrontier {
    /// An empty frontier enforcing `politeness`, starting pages when `pacer` says their host
    /// may send.
    pub(crate) fn new(politeness: Politeness, pacer: Arc<Pacer>) -> MemoryFrontier {
        MemoryFrontier {
            politeness,
            pacer,
            hosts: HashMap::new(),
            rotation: VecDeque::new(),
            jobs: HashMap::new(),
            seen: SeenSet::default(),
        }
    }

    /// Marks `urls` as seen without queueing them (pages an interrupted run completed).
    pub(crate) fn remember(&mut self, urls: &[url::Url]) {
        for url in urls {
            self.seen.insert(url);
        }
    }

    /// The state of `host`, made if it has none; the host's name is copied only then.
    fn host_state(&mut self, host: &str) -> &mut HostState {
        if !self.hosts.contains_key(host) {
            let state = HostState {
                queue: VecDeque::new(),
                promoted: VecDeque::new(),
                queued: 0,
                in_flight: 0,
                probed: false,
            };
            self.hosts.insert(host.to_owned(), state);
        }
        // Inserted just above when it was missing.
        self.hosts.get_mut(host).expect("the host has state")
    }

    /// Forgets a host with nothing queued and nothing in flight, so the map stays as small as
    /// the set of hosts in progress (its pace is the pacer's).
    fn forget_if_idle(&mut self, host: &str) {
        let idle = self
            .hosts
            .get(host)
            .is_some_and(|state| state.queued == 0 && state.in_flight == 0);
        if idle {
            self.hosts.remove(host);
        }
    }
}

impl MemoryFrontier {
    /// Queues `job` unless its URL was seen before; returns whether it was new.
    fn push_one(&mut self, job: Job) -> bool {
        let key = UrlKey::of(&job.url);
        if !self.seen.insert_key(key) {
            return false;
        }
        self.queue(job, key);
        true
    }

    /// Queues the jobs for the `children` not seen before.
    fn push_children(&mut self, mut children: Children) {
        for (url, key) in std::mem::take(&mut children.links) {
            if self.seen.insert_key(key) {
                self.queue(children.job(url), key);
            }
        }
    }

    /// Queues `job`, whose URL's key is `key`, at the back of its host's queue.
    fn queue(&mut self, job: Job, key: UrlKey) {
        let state = self.host_state(job.host());
        // A host joins the rotation when it gets a queued job again.
        let joins = (state.queued == 0).then(|| job.host().to_owned());
        state.queue.push_back(key);
        state.queued += 1;
        if let Some(host) = joins {
            self.rotation.push_back(host);
        }
        self.jobs.insert(key, job);
    }

    /// Serves the queued job of `key` before the other jobs of its host; `false` when no
    /// such job is queued.
    fn promote_key(&mut self, key: UrlKey) -> bool {
        let Some(job) = self.jobs.get(&key) else {
            return false;
        };
        let host = job.host().to_owned();
        self.host_state(&host).promoted.push_back(key);
        true
    }

    fn pop_now(&mut self, now: Instant) -> Next {
        let Politeness {
            per_host,
            probe_first,
            ..
        } = self.politeness;
        let mut earliest: Option<Instant> = None;
        for _ in 0..self.rotation.len() {
            let host = self.rotation.pop_front().expect("rotation is not empty");
            let state = self
                .hosts
                .get_mut(&host)
                .expect("a rotating host has state");
            let limit = if probe_first && !state.probed {
                1
            } else {
                per_host
            };
            let full = state.in_flight >= limit;
            let waiting_for = if full {
                None
            } else {
                self.pacer.next_start(&host).filter(|at| *at > now)
            };
            if full || waiting_for.is_some() {
                if let (false, Some(at)) = (full, waiting_for) {
                    earliest = Some(earliest.map_or(at, |e| e.min(at)));
                }
                self.rotation.push_back(host);
                continue;
            }
            let job = take_next(state, &mut self.jobs);
            state.in_flight += 1;
            let more = state.queued > 0;
            self.pacer.planned(&host, now);
            if more {
                self.rotation.push_back(host);
            }
            return Next::Ready(job);
        }
        match earliest {
            _ if self.rotation.is_empty() => Next::Empty,
            Some(at) => Next::WaitUntil(at),
            None => Next::Busy,
        }
    }

    fn end(&mut self, host: &str) {
        if let Some(state) = self.hosts.get_mut(host) {
            state.in_flight = state.in_flight.saturating_sub(1);
            state.probed = true;
        }
        self.forget_if_idle(host);
    }
}

/// The host's next job: a promoted one first, else the oldest queued; keys of jobs served
/// already are dropped on the way.
fn take_next(state: &mut HostState, jobs: &mut HashMap<UrlKey, Job>) -> Job {
    let promoted = std::iter::from_fn(|| state.promoted.pop_front());
    let queued = std::iter::from_fn(|| state.queue.pop_front());
    let job = promoted
        .chain(queued)
        .find_map(|key| jobs.remove(&key))
        .expect("a rotating host has jobs");
    state.queued -= 1;
    job
}

impl Frontier for MemoryFrontier {
    async fn push(&mut self, jobs: Vec<Job>) -> Result<usize, FrontierError> {
        Ok(jobs
            .into_iter()
            .map(|job| self.push_one(job))
            .filter(|&new| new)
            .count())
    }

    async fn pop(&mut self, now: Instant, _room: usize) -> Result<Next, FrontierError> {
        Ok(self.pop_now(now))
    }

    async fn finished(&mut self, ended: Ended<'_>) -> Result<(), FrontierError> {
        self.end(ended.job.host());
        self.push_children(ended.children);
        Ok(())
    }

    async fn hand_back(&mut self, _jobs: Vec<Job>) -> Result<(), FrontierError> {
        // This frontier ends with the process: nobody would run them.
        Ok(())
    }

    fn promote(&mut self, key: UrlKey) -> bool {
        self.promote_key(key)
    }

    fn len(&self) -> usize {
        self.jobs.len()
    }

    fn is_drained(&self) -> bool {
        self.jobs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seen::UrlKey;
    use std::time::Duration;
    use url::Url;

    const OPEN: Politeness = Politeness {
        per_host: 100,
        gap: Duration::ZERO,
        probe_first: false,
    };

    fn job(url: &str) -> Job {
        Job {
            given: Some(url.into()),
            url: Url::parse(url).unwrap(),
            depth: 0,
            origin: "".into(),
            seed_origin: "".into(),
            lease: None,
        }
    }

    /// A frontier held to `politeness`, and the pacer it asks.
    fn paced(politeness: Politeness) -> (MemoryFrontier, Arc<Pacer>) {
        let pacer = Arc::new(Pacer::new(politeness.gap));
        (MemoryFrontier::new(politeness, Arc::clone(&pacer)), pacer)
    }

    fn open(politeness: Politeness) -> MemoryFrontier {
        paced(politeness).0
    }

    fn ready(next: Next) -> String {
        match next {
            Next::Ready(job) => job.url.to_string(),
            other => panic!("expected a job, got {other:?}"),
        }
    }

    #[test]
    fn each_url_is_queued_once_in_order() {
        let mut frontier = open(OPEN);
        let now = Instant::now();
        assert!(frontier.push_one(job("http://a/1")));
        assert!(frontier.push_one(job("http://a/2")));
        assert!(!frontier.push_one(job("http://a/1")));
        assert_eq!(frontier.len(), 2);
        assert_eq!(ready(frontier.pop_now(now)), "http://a/1");
        assert_eq!(ready(frontier.pop_now(now)), "http://a/2");
        assert_eq!(frontier.pop_now(now), Next::Empty);
        assert!(
            !frontier.push_one(job("http://a/2")),
            "seen stays after pop"
        );
    }

    #[test]
    fn children_become_jobs_at_their_depth_unless_seen_before() {
        let mut frontier = open(OPEN);
        let now = Instant::now();
        frontier.push_one(job("http://a/"));
        assert_eq!(ready(frontier.pop_now(now)), "http://a/");
        let links = ["http://a/", "http://a/x", "http://b/y", "http://a/x"];
        let links = links.map(|link| {
            let url = Url::parse(link).unwrap();
            let key = UrlKey::of(&url);
            (url, key)
        });
        let children = Children {
            depth: 1,
            origin: "a".into(),
            seed_origin: "http://a".into(),
            links: links.to_vec(),
        };
        frontier.push_children(children);
        assert_eq!(frontier.len(), 2, "the page itself and a repeat are seen");
        for expected in ["http://a/x", "http://b/y"] {
            let Next::Ready(job) = frontier.pop_now(now) else {
                panic!("expected {expected}");
            };
            assert_eq!((job.url.as_str(), job.source()), (expected, expected));
            assert_eq!((job.depth, &*job.origin, &job.given), (1, "a", &None));
        }
    }

    #[test]
    fn hosts_are_served_round_robin() {
        let mut frontier = open(OPEN);
        for url in [
            "http://a/1",
            "http://a/2",
            "http://a/3",
            "http://b/1",
            "http://c/1",
            "http://b/2",
        ] {
            frontier.push_one(job(url));
        }
        let now = Instant::now();
        let order: Vec<String> = (0..6).map(|_| ready(frontier.pop_now(now))).collect();
        assert_eq!(
            order,
            [
                "http://a/1",
                "http://b/1",
                "http://c/1",
                "http://a/2",
                "http://b/2",
                "http://a/3"
            ]
        );
    }

    #[test]
    fn a_full_host_does_not_block_the_others() {
        let mut frontier = open(Politeness {
            per_host: 1,
            ..OPEN
        });
        for url in ["http://a/1", "http://a/2", "http://b/1"] {
            frontier.push_one(job(url));
        }
        let now = Instant::now();
        assert_eq!(ready(frontier.pop_now(now)), "http://a/1");
        assert_eq!(ready(frontier.pop_now(now)), "http://b/1");
        assert_eq!(frontier.pop_now(now), Next::Busy);
        frontier.end("a");
        assert_eq!(ready(frontier.pop_now(now)), "http://a/2");
    }

    #[test]
    fn the_gap_between_starts_is_kept_and_reported() {
        let gap = Duration::from_millis(500);
        let mut frontier = open(Politeness { gap, ..OPEN });
        frontier.push_one(job("http://a/1"));
        frontier.push_one(job("http://a/2"));
        let now = Instant::now();
        assert_eq!(ready(frontier.pop_now(now)), "http://a/1");
        assert_eq!(frontier.pop_now(now), Next::WaitUntil(now + gap));
        assert_eq!(ready(frontier.pop_now(now + gap)), "http://a/2");
    }

    #[test]
    fn a_crawl_delay_only_ever_raises_the_gap() {
        let (mut frontier, pacer) = paced(Politeness {
            gap: Duration::from_secs(1),
            ..OPEN
        });
        for url in ["http://a/1", "http://a/2", "http://a/3"] {
            frontier.push_one(job(url));
        }
        let now = Instant::now();
        let secs = Duration::from_secs;
        ready(frontier.pop_now(now));
        pacer.slow_down("a", secs(3));
        pacer.sent("a", now);
        frontier.end("a");
        assert_eq!(frontier.pop_now(now), Next::WaitUntil(now + secs(3)));
        ready(frontier.pop_now(now + secs(3)));
        pacer.slow_down("a", Duration::from_millis(10));
        pacer.sent("a", now + secs(3));
        frontier.end("a");
        assert_eq!(
            frontier.pop_now(now + secs(3)),
            Next::WaitUntil(now + secs(6))
        );
    }

    #[test]
    fn probing_a_new_host_sends_one_request_first() {
        let mut frontier = open(Politeness {
            probe_first: true,
            ..OPEN
        });
        frontier.push_one(job("http://a/1"));
        frontier.push_one(job("http://a/2"));
        frontier.push_one(job("http://a/3"));
        let now = Instant::now();
        assert_eq!(ready(frontier.pop_now(now)), "http://a/1");
        assert_eq!(frontier.pop_now(now), Next::Busy);
        frontier.end("a");
        assert_eq!(ready(frontier.pop_now(now)), "http://a/2");
        assert_eq!(ready(frontier.pop_now(now)), "http://a/3");
    }

    #[test]
    fn the_gap_counts_from_the_last_request_a_job_sent() {
        let gap = Duration::from_millis(100);
        let (mut frontier, pacer) = paced(Politeness {
            gap,
            probe_first: true,
            ..OPEN
        });
        frontier.push_one(job("http://a/1"));
        frontier.push_one(job("http://a/2"));
        let popped = Instant::now();
        assert_eq!(ready(frontier.pop_now(popped)), "http://a/1");
        // The job fetched robots.txt first, so its page request went out later.
        let sent = popped + Duration::from_millis(40);
        pacer.sent("a", sent);
        frontier.end("a");
        assert_eq!(frontier.pop_now(popped + gap), Next::WaitUntil(sent + gap));
        assert_eq!(ready(frontier.pop_now(sent + gap)), "http://a/2");
    }

    #[test]
    fn a_promoted_job_is_served_first_and_once() {
        let mut frontier = open(OPEN);
        for url in ["http://a/1", "http://a/2", "http://a/3", "http://b/1"] {
            frontier.push_one(job(url));
        }
        let key = |url: &str| UrlKey::of(&Url::parse(url).unwrap());
        assert!(frontier.promote_key(key("http://a/3")));
        assert!(!frontier.promote_key(key("http://a/9")), "not queued");
        let now = Instant::now();
        assert_eq!(ready(frontier.pop_now(now)), "http://a/3");
        assert!(
            !frontier.promote_key(key("http://a/3")),
            "handed out already"
        );
        let rest: Vec<String> = (0..3).map(|_| ready(frontier.pop_now(now))).collect();
        assert_eq!(rest, ["http://b/1", "http://a/1", "http://a/2"]);
        assert_eq!(
            frontier.pop_now(now),
            Next::Empty,
            "the early job is not served again"
        );
        assert!(frontier.is_drained());
    }

    #[test]
    fn pages_remembered_from_an_earlier_run_are_not_queued() {
        let mut frontier = open(OPEN);
        frontier.remember(&[Url::parse("http://a/done").unwrap()]);
        assert!(!frontier.push_one(job("http://a/done")));
        assert!(frontier.push_one(job("http://a/new")));
        assert_eq!(frontier.len(), 1);
        assert!(!frontier.is_drained());
    }

    #[test]
    fn a_host_is_forgotten_only_when_nothing_is_queued_or_in_flight() {
        let mut frontier = open(Politeness {
            per_host: 2,
            ..OPEN
        });
        frontier.push_one(job("http://a/1"));
        frontier.push_one(job("http://a/2"));
        let now = Instant::now();
        ready(frontier.pop_now(now));
        ready(frontier.pop_now(now));
        frontier.end("a");
        // One page of the host is still in flight: it still counts against the limit.
        frontier.push_one(job("http://a/3"));
        frontier.push_one(job("http://a/4"));
        assert_eq!(ready(frontier.pop_now(now)), "http://a/3");
        assert_eq!(frontier.pop_now(now), Next::Busy);
        frontier.end("a");
        assert_eq!(ready(frontier.pop_now(now)), "http://a/4");
        frontier.end("a");
        frontier.end("a");
        assert!(frontier.hosts.is_empty(), "{:?}", frontier.hosts);
        assert!(frontier.is_drained());
    }
}
