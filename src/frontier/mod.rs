//! The frontier: what to fetch next, under each host's politeness rules, and what was seen.
//!
//! The scheduler talks to a frontier only through [`Frontier`], so the in-memory one
//! ([`MemoryFrontier`]) can be joined by others (a store shared by several machines) without
//! touching the scheduler.

mod memory;

use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

pub(crate) use memory::MemoryFrontier;

/// One page to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
    /// What the output's SOURCE column says for this page: the input line as written, or the
    /// link as first discovered.
    pub(crate) source: String,
    /// The URL to GET.
    pub(crate) url: Url,
    /// 0 for input URLs, k + 1 for links found on a page at depth k.
    pub(crate) depth: u32,
    /// The scope key of the seed this job descends from (its host or registrable domain).
    pub(crate) origin: Arc<str>,
}

impl Job {
    /// The host key politeness is counted by.
    pub(crate) fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
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

/// What to fetch next, and what was seen already.
pub(crate) trait Frontier {
    /// Queues `job` unless its URL (fragment aside) was seen before. Returns whether it was new.
    fn push(&mut self, job: Job) -> bool;
    /// The next job whose host may start a request at `now`.
    fn pop(&mut self, now: Instant) -> Next;
    /// A job of `host` ended: its request slot is free again. `last_request` is when the job
    /// sent its last request to the host, if it sent any: the host's gap counts from there.
    fn finished(&mut self, host: &str, last_request: Option<Instant>);
    /// Raises the minimum gap between request starts to `host` (robots.txt `Crawl-delay`).
    fn slow_down(&mut self, host: &str, gap: Duration);
    /// How many jobs are queued.
    fn len(&self) -> usize;
    /// Whether no job is queued.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
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
