//! The scheduler: takes seeds from the input and links from fetched pages into the frontier,
//! starts page tasks behind a global semaphore as the frontier's politeness allows, and keeps
//! the [`Summary`].
//!
//! At most `--concurrency` pages are in progress (fetching, parsing or waiting for the
//! writer), and seeds are read only while the frontier holds fewer than a few times that, so
//! a single-pass run's memory stays O(concurrency) however long the input is.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use url::Url;

use crate::config::{Format, LinkOptions};
use crate::error::FetchError;
use crate::fetch::retry::RetryPolicy;
use crate::fetch::{Fetched, Fetcher};
use crate::frontier::{fingerprint_text, Frontier, Job, Next, SeenSet};
use crate::graph::HostGraph;
use crate::input::Seed;
use crate::output::{PageMeta, Records};
use crate::page::page_records;
use crate::progress::ProgressCounters;
use crate::resume::Completed;
use crate::robots::RobotsCache;
use crate::scope::{Refusal, ScopeRules};
use crate::summary::{HostTally, Summary};

/// How many hosts the summary's top lists name.
const TOP_HOSTS: usize = 10;

/// What every page task shares.
pub struct PageContext {
    /// The one HTTP client.
    pub fetcher: Fetcher,
    /// Which links to keep.
    pub links: LinkOptions,
    /// Record format.
    pub format: Format,
    /// The writer's queue.
    pub output: mpsc::Sender<Records>,
    /// When to try a failed request again.
    pub retry: RetryPolicy,
    /// robots.txt rules, when they are obeyed.
    pub robots: Option<RobotsCache>,
}

/// How the crawl spreads and how much of it runs at once.
#[derive(Debug)]
pub struct Plan {
    /// Pages in progress overall.
    pub concurrency: usize,
    /// Follow links this many levels below the seeds.
    pub max_depth: u32,
    /// Which links are followed.
    pub scope: ScopeRules,
    /// Pages started in the whole run, at most.
    pub max_pages: Option<u64>,
    /// Build the host graph.
    pub graph: bool,
    /// Count pages and failures per host, for the summary's top hosts.
    pub tally_hosts: bool,
    /// Pages an interrupted run completed (`--resume`): their seeds are skipped.
    pub completed: Completed,
    /// Counters for the progress bar, when one is shown.
    pub progress: Option<Arc<ProgressCounters>>,
}

/// How one page ended.
#[derive(Debug)]
enum Outcome {
    Parsed {
        status: u16,
        links: u64,
        bytes: u64,
        truncated: bool,
    },
    NotHtml {
        status: u16,
    },
    Failed(FetchError),
    Robots,
}

/// What a page task hands back to the scheduler.
struct PageResult {
    job: Job,
    outcome: Outcome,
    /// The links found, when the scheduler needs them (following, graph).
    links: Vec<Url>,
    /// The host's robots.txt `Crawl-delay`, learned by this task.
    crawl_delay: Option<Duration>,
}

/// Runs the crawl until the seeds and the frontier are exhausted and every page is done, the
/// page budget is spent, `shutdown` fires, or the output's reader goes away.
pub async fn crawl(
    mut seeds: mpsc::Receiver<Seed>,
    frontier: &mut impl Frontier,
    context: Arc<PageContext>,
    plan: Plan,
    shutdown: CancellationToken,
) -> (Summary, Option<HostGraph>) {
    let started = Instant::now();
    let mut scheduler = Scheduler {
        summary: Summary::default(),
        graph: HostGraph::default(),
        hosts: HashSet::new(),
        refused: SeenSet::default(),
        pages_started: 0,
        host_tally: plan.tally_hosts.then(HostTally::default),
        plan,
    };
    scheduler.summary.recursive = scheduler.plan.max_depth > 0;
    let global = Arc::new(Semaphore::new(scheduler.plan.concurrency));
    let lookahead = scheduler.plan.concurrency.saturating_mul(4).max(16);
    let mut tasks: JoinSet<PageResult> = JoinSet::new();
    let mut seeds_done = false;
    let mut stopped = false;

    loop {
        let wake_at = scheduler.start_ready(frontier, &global, &context, &mut tasks);
        if let Some(progress) = &scheduler.plan.progress {
            let known = scheduler.pages_started + frontier.len() as u64;
            progress.known.store(known, Ordering::Relaxed);
        }
        let budget_spent = scheduler.budget_spent();
        if tasks.is_empty() && (budget_spent || (seeds_done && frontier.is_empty())) {
            break;
        }
        let want_seeds = !seeds_done && !budget_spent && frontier.len() < lookahead;
        let wait = async move {
            match wake_at {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = shutdown.cancelled() => { stopped = true; break }
            () = context.output.closed() => { stopped = true; break }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                scheduler.record(done, frontier);
            }
            seed = seeds.recv(), if want_seeds => match seed {
                Some(seed) => scheduler.add_seed(seed, frontier),
                None => seeds_done = true,
            },
            () = wait => {}
        }
    }

    if stopped {
        // Pages in flight are dropped (nothing of theirs was written); finished ones count.
        tasks.abort_all();
    }
    while let Some(done) = tasks.join_next().await {
        scheduler.record(done, frontier);
    }
    let Scheduler {
        plan,
        mut summary,
        graph,
        hosts,
        host_tally,
        ..
    } = scheduler;
    if let Some(tally) = host_tally {
        summary.top_hosts_by_pages = tally.top(TOP_HOSTS, |counts| counts.pages);
        summary.top_hosts_by_failures = tally.top(TOP_HOSTS, |counts| counts.failures);
    }
    summary.skipped_budget = frontier.len() as u64;
    summary.hosts = hosts.len() as u64;
    summary.interrupted = stopped;
    summary.elapsed = started.elapsed();
    (summary, plan.graph.then_some(graph))
}

/// The scheduler's own state; owned by the crawl loop alone, so no locks.
struct Scheduler {
    plan: Plan,
    summary: Summary,
    graph: HostGraph,
    /// Fingerprints of the hosts fetched from.
    hosts: HashSet<u128>,
    /// Links refused by scope, to count each once.
    refused: SeenSet,
    pages_started: u64,
    /// Pages and failures per host, when asked for.
    host_tally: Option<HostTally>,
}

impl Scheduler {
    fn budget_spent(&self) -> bool {
        self.plan
            .max_pages
            .is_some_and(|max| self.pages_started >= max)
    }

    /// Starts every job the frontier and the global limit allow now. Returns when the
    /// frontier next has something to start, if it is waiting on a politeness gap.
    fn start_ready(
        &mut self,
        frontier: &mut impl Frontier,
        global: &Arc<Semaphore>,
        context: &Arc<PageContext>,
        tasks: &mut JoinSet<PageResult>,
    ) -> Option<Instant> {
        while !self.budget_spent() {
            let Ok(permit) = Arc::clone(global).try_acquire_owned() else {
                return None;
            };
            match frontier.pop(Instant::now()) {
                Next::Ready(job) => {
                    self.pages_started += 1;
                    if let Some(progress) = &self.plan.progress {
                        progress.in_flight.fetch_add(1, Ordering::Relaxed);
                    }
                    // At error level so every event of the page carries its URL, whatever
                    // the verbosity.
                    let span = tracing::error_span!("page", url = %job.url);
                    let keep_links = job.depth < self.plan.max_depth || self.plan.graph;
                    let task = run_page(Arc::clone(context), job, permit, keep_links);
                    tasks.spawn(task.instrument(span));
                }
                Next::WaitUntil(at) => return Some(at),
                Next::Busy | Next::Empty => return None,
            }
        }
        None
    }

    fn add_seed(&mut self, seed: Seed, frontier: &mut impl Frontier) {
        if self.plan.completed.contains(&seed.source) {
            self.summary.urls_resumed += 1;
            return;
        }
        let job = Job {
            origin: self.plan.scope.origin_of(&seed.url),
            source: seed.source,
            url: seed.url,
            depth: 0,
        };
        if !frontier.push(job) {
            self.summary.urls_duplicate += 1;
            tracing::debug!(line = seed.line, "duplicate URL skipped");
        }
    }

    /// Counts a finished task, frees its host slot, and queues the links it found.
    fn record(
        &mut self,
        done: Result<PageResult, tokio::task::JoinError>,
        frontier: &mut impl Frontier,
    ) {
        let result = match done {
            Ok(result) => result,
            Err(err) if err.is_cancelled() => return,
            Err(err) => {
                tracing::error!(error = %err, "page task panicked");
                *self
                    .summary
                    .failures
                    .entry("internal error".into())
                    .or_default() += 1;
                return;
            }
        };
        let PageResult {
            job,
            outcome,
            links,
            crawl_delay,
        } = result;
        let host = job.host();
        // Slow down first: a host that finishes idle may be forgotten, and with it its gap.
        if let Some(gap) = crawl_delay {
            frontier.slow_down(host, gap);
        }
        frontier.finished(host);
        if let Some(progress) = &self.plan.progress {
            progress.in_flight.fetch_sub(1, Ordering::Relaxed);
            progress.done.fetch_add(1, Ordering::Relaxed);
            match &outcome {
                Outcome::Failed(_) => progress.failed.fetch_add(1, Ordering::Relaxed),
                Outcome::Parsed { links, .. } => {
                    progress.links.fetch_add(*links, Ordering::Relaxed)
                }
                _ => 0,
            };
        }
        let summary = &mut self.summary;
        let ok = !matches!(outcome, Outcome::Failed(_));
        match outcome {
            Outcome::Robots => {
                summary.skipped_robots += 1;
                return;
            }
            Outcome::Parsed {
                status,
                links: _,
                bytes,
                truncated,
            } => {
                summary.record_status(status);
                summary.pages_ok += 1;
                summary.pages_truncated += u64::from(truncated);
                summary.bytes_read += bytes;
            }
            Outcome::NotHtml { status } => {
                summary.record_status(status);
                summary.skipped_not_html += 1;
            }
            Outcome::Failed(err) => summary.record_failure(&err),
        }
        if let Some(tally) = &mut self.host_tally {
            tally.record(host, !ok);
        }
        *summary.pages_by_depth.entry(job.depth).or_default() += 1;
        self.hosts.insert(fingerprint_text(host));
        if self.plan.graph {
            self.graph.add_page(host, &links);
        }
        if job.depth < self.plan.max_depth {
            self.follow(&job, links, frontier);
        }
    }

    /// Queues the in-scope links of a page at the next depth.
    fn follow(&mut self, parent: &Job, links: Vec<Url>, frontier: &mut impl Frontier) {
        for mut link in links {
            link.set_fragment(None);
            match self.plan.scope.check(&link, &parent.origin) {
                Ok(()) => {
                    let job = Job {
                        source: link.to_string(),
                        url: link,
                        depth: parent.depth + 1,
                        origin: Arc::clone(&parent.origin),
                    };
                    frontier.push(job);
                }
                Err(Refusal::Scope | Refusal::Pattern) => {
                    if self.refused.insert(&link) {
                        self.summary.skipped_scope += 1;
                        tracing::debug!(link = %link, "out of scope");
                    }
                }
                Err(Refusal::NotHtml) => {}
            }
        }
    }
}

/// Fetches, parses and writes one page. Holds `_permit` (global) throughout; the frontier
/// counts the page against its host until the scheduler records the result.
async fn run_page(
    context: Arc<PageContext>,
    job: Job,
    _permit: OwnedSemaphorePermit,
    keep_links: bool,
) -> PageResult {
    let mut result = PageResult {
        outcome: Outcome::Robots,
        links: Vec::new(),
        crawl_delay: None,
        job,
    };
    if let Some(robots) = &context.robots {
        let rules = robots.rules_for(&result.job.url).await;
        result.crawl_delay = rules.crawl_delay();
        if !rules.allows(&result.job.url) {
            tracing::info!("skipped: disallowed by robots.txt");
            result.outcome = Outcome::Robots;
            return result;
        }
    }
    let started = Instant::now();
    let page = match fetch_with_retries(&context, &result.job.url).await {
        Ok(Fetched::Html(page)) => page,
        Ok(Fetched::NotHtml {
            status,
            content_type,
        }) => {
            tracing::info!(status, content_type, "skipped: not HTML");
            result.outcome = Outcome::NotHtml { status };
            let complete = Records {
                source: result.job.source.clone(),
                ..Records::default()
            };
            if context.output.send(complete).await.is_err() {
                tracing::debug!("output closed; page dropped");
            }
            return result;
        }
        Err(err) => {
            tracing::warn!(error = %err, "page failed");
            result.outcome = Outcome::Failed(err);
            return result;
        }
    };
    if page.truncated {
        tracing::warn!(bytes = page.body.len(), "body cut at --max-body");
    }
    let (status, bytes, truncated) = (page.status, page.body.len() as u64, page.truncated);
    let (links, format) = (context.links, context.format);
    let (source, depth) = (result.job.source.clone(), result.job.depth);
    let parsed = crate::parse_pool::run(move || {
        let meta = PageMeta {
            source: &source,
            depth,
            status,
        };
        page_records(&page, meta, &links, format)
    })
    .await;
    let (records, found) = parsed.unwrap_or_else(|err| {
        tracing::error!(error = %err, "parsing panicked");
        Default::default()
    });
    let count = records.count;
    if context.output.send(records).await.is_err() {
        tracing::debug!("output closed; page dropped");
    }
    tracing::info!(
        status,
        links = count,
        bytes,
        ms = started.elapsed().as_millis() as u64,
        "page done"
    );
    if keep_links {
        result.links = found;
    }
    result.outcome = Outcome::Parsed {
        status,
        links: count as u64,
        bytes,
        truncated,
    };
    result
}

/// One fetch, retried by the policy while the failure is transient.
async fn fetch_with_retries(context: &PageContext, url: &Url) -> Result<Fetched, FetchError> {
    let mut retry = 0;
    loop {
        let failure = match context.fetcher.fetch(url).await {
            Ok(fetched) => return Ok(fetched),
            Err(failure) => failure,
        };
        retry += 1;
        let Some(wait) = context.retry.delay(retry, &failure) else {
            return Err(failure.error);
        };
        tracing::debug!(
            error = %failure.error,
            retry,
            wait_ms = wait.as_millis() as u64,
            "retry scheduled"
        );
        tokio::time::sleep(wait).await;
    }
}
