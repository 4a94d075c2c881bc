//! The frontier: what to fetch next, under each host's politeness rules, and what was seen.
//!
//! The scheduler talks to a frontier only through [`Frontier`]: the in-memory one
//! ([`MemoryFrontier`], one process) and the shared one ([`RedisFrontier`], several workers
//! on several machines, one crawl) are interchangeable. [`join_shared`] joins a shared crawl
//! and hands out, beside its frontier, what pacing, robots.txt and `--check` share through it.

mod memory;
mod redis;

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Notify;

use crate::config::{Config, SharedCrawl};
use crate::error::FatalError;
use crate::job::{Children, Job};
use crate::politeness::Pacer;
use crate::seen::UrlKey;
use crate::shared::{SharedChecks, SharedRobots, SharedTurns};

pub(crate) use self::redis::{forget, show_status};
pub(crate) use memory::MemoryFrontier;
pub(crate) use redis::RedisFrontier;

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
    /// What the page came to (`ok`, `not_html`, `failed`, `robots`), for crawl-wide counts.
    pub(crate) outcome: &'static str,
    /// Records written for the page.
    pub(crate) links: u64,
    /// The links the page's crawl follows; queued unless seen before.
    pub(crate) children: Children,
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
    /// [`Frontier::finished`]. `room` is how many jobs the scheduler could start now, this
    /// one included: a shared frontier takes that many in one round trip.
    async fn pop(&mut self, now: Instant, room: usize) -> Result<Next, FrontierError>;
    /// A job ended (its records, if any, are written): frees its host's slot and queues the
    /// links it found. A shared frontier may tell its store later, in a batch, before
    /// [`Frontier::pop`] next needs it or when [`Frontier::upkeep`] is due.
    async fn finished(&mut self, ended: Ended<'_>) -> Result<(), FrontierError>;
    /// Jobs handed out that will not be finished here (the run stopped): they go back to the
    /// queue for whoever runs next.
    async fn hand_back(&mut self, jobs: Vec<Job>) -> Result<(), FrontierError>;
    /// Serves the queued job whose URL's key is `key` before its host's other jobs, as
    /// politeness allows: a page is waiting for its crawl (`--check`). Returns whether such a
    /// job is queued here and will be handed out by [`Frontier::pop`]; a frontier that cannot
    /// promote says `false`, and the waiting page checks the link itself.
    fn promote(&mut self, _key: UrlKey) -> bool {
        false
    }
    /// When [`Frontier::upkeep`] is next due, if ever (lease renewal).
    fn upkeep_due(&self) -> Option<Instant> {
        None
    }
    /// Periodic work that keeps the jobs handed out ours (renews leases).
    async fn upkeep(&mut self) -> Result<(), FrontierError> {
        Ok(())
    }
    /// Notified when work may have appeared elsewhere (a shared frontier's other workers
    /// freed a slot or queued links), so a scheduler waiting on [`Next::Busy`] or
    /// [`Next::WaitUntil`] asks again at once instead of polling.
    fn wakes(&self) -> Option<Arc<Notify>> {
        None
    }
    /// How many jobs are queued (for a shared frontier, as last seen).
    fn len(&self) -> usize;
    /// Whether the crawl has nothing left anywhere: nothing queued and, for a shared
    /// frontier, nothing handed out to anyone.
    fn is_drained(&self) -> bool;
}

/// A shared crawl, joined: its frontier, and what pacing and robots.txt share through it.
pub(crate) struct Joined {
    /// The crawl's frontier.
    pub(crate) frontier: RedisFrontier,
    /// Send turns at each host, for the pacer.
    pub(crate) turns: Arc<dyn SharedTurns>,
    /// robots.txt verdicts, for the robots.txt cache.
    pub(crate) robots: Arc<dyn SharedRobots>,
    /// Links' statuses, for the link checker (`--check`).
    pub(crate) checks: Option<Arc<dyn SharedChecks>>,
}

/// Joins the shared crawl `shared` names, before anything is fetched or written: creates it
/// with `config`'s settings, or checks that they match the stored ones. `pacer` is this
/// process's: what it learns of each host's pace is shared with the other workers.
pub(crate) async fn join_shared(
    config: &Config,
    shared: &SharedCrawl,
    pacer: Arc<Pacer>,
) -> Result<Joined, FatalError> {
    let settings = redis::CrawlSettings::of(config);
    let frontier = RedisFrontier::join(
        shared,
        &settings,
        config.politeness(),
        pacer,
        config.crawl.max_pages,
    )
    .await
    .map_err(|err| FatalError::SharedCrawl {
        name: shared.name.clone(),
        reason: err.to_string(),
    })?;
    Ok(Joined {
        turns: Arc::new(redis::RedisTurns::of(&frontier)),
        robots: Arc::new(redis::RedisRobots::of(&frontier)),
        checks: config
            .check
            .then(|| Arc::new(redis::RedisChecks::of(&frontier)) as Arc<dyn SharedChecks>),
        frontier,
    })
}
