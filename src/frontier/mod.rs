//! The frontier: what to fetch next, under each host's politeness rules, and what was seen.
//!
//! The scheduler talks to a frontier only through [`Frontier`]: the in-memory one
//! ([`MemoryFrontier`], one process) and the shared one ([`RedisFrontier`], several workers
//! on several machines, one crawl) are interchangeable.

mod memory;
mod redis;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

use crate::seen::UrlKey;

pub(crate) use self::redis::{
    connect as redis_connect, crawl_prefix, CrawlSettings, RedisFrontier, RobotsStore, SharedTurns,
};
pub(crate) use memory::MemoryFrontier;

/// One page to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
    /// The SOURCE as given where the URL came in: the input line as written, a sitemap's
    /// `<loc>`. `None` for a link found on a page, whose SOURCE is its URL as first
    /// discovered (see [`Job::source`]), so the job holds no second copy of it.
    pub(crate) given: Option<String>,
    /// The URL to GET.
    pub(crate) url: Url,
    /// 0 for input URLs, k + 1 for links found on a page at depth k.
    pub(crate) depth: u32,
    /// The scope key of the seed this job descends from (its host or registrable domain).
    pub(crate) origin: Arc<str>,
    /// A shared frontier's lease on the job, once handed out: the job is someone's until the
    /// lease is released or expires.
    pub(crate) lease: Option<Arc<str>>,
}

impl Job {
    /// What the output's SOURCE column says for this page.
    pub(crate) fn source(&self) -> &str {
        self.given.as_deref().unwrap_or(self.url.as_str())
    }

    /// The host key politeness is counted by.
    pub(crate) fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }
}

/// The links a page's crawl follows, ready for the frontier: each link's URL with its key,
/// computed where the link was parsed, and what their jobs share. The frontier checks each key
/// against the seen set, without hashing the URL again, and makes a job only of a link it had
/// not seen.
#[derive(Debug, Default)]
pub(crate) struct Children {
    /// The depth of their jobs: one below the page's.
    pub(crate) depth: u32,
    /// The scope key of the seed the page descends from.
    pub(crate) origin: Arc<str>,
    /// Each link's URL, without its fragment, and [`UrlKey::of`] it, in the order found.
    pub(crate) links: Vec<(Url, UrlKey)>,
}

impl Children {
    /// The job for `url`, one of the links: its SOURCE is the URL itself.
    pub(crate) fn job(&self, url: Url) -> Job {
        Job {
            given: None,
            url,
            depth: self.depth,
            origin: Arc::clone(&self.origin),
            lease: None,
        }
    }
}

/// What [`Frontier::pop`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// A job that may start now; its host's slot is taken until [`Frontier::finished`].
    Ready(Job),
    /// Jobs are queued, but their hosts may not start one before this instant.
    WaitUntil(Instant),
    /// Jobs are queued, but every such host has all its requests in flight.
    Busy,
    /// Nothing is queued.
    Empty,
}

/// What the frontier is told when a job it handed out has ended.
#[derive(Debug)]
pub(crate) struct Ended<'a> {
    /// The job.
    pub(crate) job: &'a Job,
    /// When the job sent its last request to the host, if it sent any: the host's gap counts
    /// from there.
    pub(crate) last_request: Option<Instant>,
    /// The host's robots.txt `Crawl-delay`, if the job learned it: the host's gap is raised
    /// to it.
    pub(crate) crawl_delay: Option<Duration>,
    /// What the page came to (`ok`, `not_html`, `failed`, `robots`), for crawl-wide counts.
    pub(crate) outcome: &'static str,
    /// Records written for the page.
    pub(crate) links: u64,
    /// The links the page's crawl follows; queued unless seen before.
    pub(crate) children: Children,
    /// The scheduler will start another job now: a shared frontier may take it in the same
    /// round trip, for the next [`Frontier::pop`].
    pub(crate) take_next: bool,
}

/// A frontier could not be reached or answered wrongly; the crawl stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FrontierError(pub(crate) String);

impl fmt::Display for FrontierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What to fetch next, and what was seen already.
pub(crate) trait Frontier {
    /// Queues the jobs whose URLs (fragment aside) were not seen before. Returns how many
    /// were new.
    async fn push(&mut self, jobs: Vec<Job>) -> Result<usize, FrontierError>;
    /// The next job whose host may start a request at `now`; its host's slot is taken until
    /// [`Frontier::finished`].
    async fn pop(&mut self, now: Instant) -> Result<Next, FrontierError>;
    /// A job ended (its records, if any, are written): frees its host's slot and queues the
    /// links it found.
    async fn finished(&mut self, ended: Ended<'_>) -> Result<(), FrontierError>;
    /// Jobs handed out that will not be finished here (the run stopped): they go back to the
    /// queue for whoever runs next.
    async fn hand_back(&mut self, jobs: Vec<Job>) -> Result<(), FrontierError>;
    /// When [`Frontier::upkeep`] is next due, if ever (lease renewal).
    fn upkeep_due(&self) -> Option<Instant> {
        None
    }
    /// Periodic work that keeps the jobs handed out ours (renews leases).
    async fn upkeep(&mut self) -> Result<(), FrontierError> {
        Ok(())
    }
    /// How many jobs are queued (for a shared frontier, as last seen).
    fn len(&self) -> usize;
    /// Whether the crawl has nothing left anywhere: nothing queued and, for a shared
    /// frontier, nothing handed out to anyone.
    fn is_drained(&self) -> bool;
}

/// Per-host politeness rules.
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
