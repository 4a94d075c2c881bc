//! The scheduler: takes seeds from the input and links from finished pages into the frontier,
//! starts page tasks behind a global semaphore as the frontier's politeness allows, and
//! counts what the pages came to.
//!
//! At most `--concurrency` pages are in progress (fetching, parsing or waiting for the
//! writer), and seeds are read only while the frontier holds fewer than a few times that, so
//! a single-pass run's memory stays O(concurrency) however long the input is.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};
use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use url::Url;

use crate::frontier::{Frontier, Job, Next};
use crate::graph::HostGraph;
use crate::input::Seed;
use crate::page::{run_page, Outcome, PageContext, PageResult};
use crate::progress::ProgressCounters;
use crate::resume::Completed;
use crate::scope::{Refusal, ScopeRules};
use crate::seen::SeenSet;
use crate::tally::Tally;

/// How the crawl spreads and how much of it runs at once.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Pages in progress overall.
    pub(crate) concurrency: usize,
    /// Follow links this many levels below the seeds.
    pub(crate) max_depth: u32,
    /// Which links are followed.
    pub(crate) scope: ScopeRules,
    /// Pages started in the whole run, at most.
    pub(crate) max_pages: Option<u64>,
    /// Build the host graph.
    pub(crate) graph: bool,
    /// Pages an interrupted run completed (`--resume`): their seeds are skipped.
    pub(crate) completed: Completed,
    /// Counters for the progress bar, when one is shown.
    pub(crate) progress: Option<Arc<ProgressCounters>>,
}

/// What the crawl came to.
#[derive(Debug)]
pub(crate) struct CrawlReport {
    /// The pages' counts.
    pub(crate) tally: Tally,
    /// `shutdown` fired before the work was done.
    pub(crate) interrupted: bool,
    /// The crawl followed links (`--depth` > 0).
    pub(crate) recursive: bool,
    /// Jobs still queued when the page budget ran out.
    pub(crate) skipped_budget: u64,
    /// Wall time of the crawl.
    pub(crate) elapsed: Duration,
}

/// Runs the crawl until the seeds and the frontier are exhausted and every page is done, the
/// page budget is spent, `shutdown` fires, or the output's reader goes away. Returns what the
/// pages came to and, when asked for, the host graph.
pub(crate) async fn crawl(
    mut seeds: mpsc::Receiver<Seed>,
    frontier: &mut impl Frontier,
    context: Arc<PageContext>,
    plan: Plan,
    shutdown: CancellationToken,
) -> (CrawlReport, Option<HostGraph>) {
    let started = Instant::now();
    let global = Arc::new(Semaphore::new(plan.concurrency));
    let lookahead = plan.concurrency.saturating_mul(4).max(16);
    let mut scheduler = Scheduler::new(plan);
    let mut tasks: JoinSet<PageResult> = JoinSet::new();
    let mut seeds_done = false;
    let mut interrupted = false;

    loop {
        let wake_at = scheduler.start_ready(frontier, &global, &context, &mut tasks);
        scheduler.publish_progress(tasks.len(), frontier.len());
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
            () = shutdown.cancelled() => { interrupted = true; break }
            () = context.output.closed() => break,
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                scheduler.page_ended(done, frontier);
            }
            seed = seeds.recv(), if want_seeds => match seed {
                Some(seed) => scheduler.add_seed(seed, frontier),
                None => seeds_done = true,
            },
            () = wait => {}
        }
    }

    if !tasks.is_empty() {
        // Stopped early: pages in flight are dropped (nothing of theirs was written);
        // finished ones count.
        tasks.abort_all();
    }
    while let Some(done) = tasks.join_next().await {
        scheduler.page_ended(done, frontier);
    }
    let Scheduler {
        plan, tally, graph, ..
    } = scheduler;
    let report = CrawlReport {
        tally,
        interrupted,
        recursive: plan.max_depth > 0,
        skipped_budget: frontier.len() as u64,
        elapsed: started.elapsed(),
    };
    (report, plan.graph.then_some(graph))
}

/// The scheduler's own state; owned by the crawl loop alone, so no locks.
struct Scheduler {
    plan: Plan,
    tally: Tally,
    graph: HostGraph,
    /// Links refused by scope, to count each once.
    refused: SeenSet,
    pages_started: u64,
}

impl Scheduler {
    fn new(plan: Plan) -> Scheduler {
        Scheduler {
            plan,
            tally: Tally::default(),
            graph: HostGraph::default(),
            refused: SeenSet::default(),
            pages_started: 0,
        }
    }

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

    /// Updates the progress bar's counters, if there is a bar.
    fn publish_progress(&self, in_flight: usize, queued: usize) {
        let Some(progress) = &self.plan.progress else {
            return;
        };
        let tally = &self.tally;
        let store = |counter: &AtomicU64, value: u64| {
            counter.store(value, Ordering::Relaxed);
        };
        store(&progress.known, self.pages_started + queued as u64);
        store(&progress.in_flight, in_flight as u64);
        store(&progress.done, tally.ended);
        store(&progress.failed, tally.pages_failed());
        store(&progress.links, tally.links);
        store(&progress.skipped, tally.urls_duplicate + tally.urls_resumed);
    }

    fn add_seed(&mut self, seed: Seed, frontier: &mut impl Frontier) {
        if self.plan.completed.contains(&seed.source) {
            self.tally.urls_resumed += 1;
            return;
        }
        let job = Job {
            origin: self.plan.scope.origin_of(&seed.url),
            source: seed.source,
            url: seed.url,
            depth: 0,
        };
        if !frontier.push(job) {
            self.tally.urls_duplicate += 1;
            tracing::debug!(line = seed.line, "duplicate URL skipped");
        }
    }

    /// A page task ended: free its host's slot, count it, and queue the links it found.
    fn page_ended(&mut self, done: Result<PageResult, JoinError>, frontier: &mut impl Frontier) {
        let result = match done {
            Ok(result) => result,
            Err(err) if err.is_cancelled() => return,
            Err(err) => {
                tracing::error!(error = %err, "page task panicked");
                self.tally.record_internal_error();
                return;
            }
        };
        release_host(&result, frontier);
        self.tally.record(&result.job, &result.outcome);
        if matches!(result.outcome, Outcome::Robots) {
            return;
        }
        if self.plan.graph {
            self.graph.add_page(result.job.host(), &result.links);
        }
        if result.job.depth < self.plan.max_depth {
            self.follow(&result.job, result.links, frontier);
        }
    }

    /// Queues the in-scope links of a page at the next depth.
    fn follow(&mut self, parent: &Job, links: Vec<Url>, frontier: &mut impl Frontier) {
        for link in links {
            if let Some(job) = self.child_job(parent, link) {
                frontier.push(job);
            }
        }
    }

    /// The job for a link found on `parent`'s page, if the scope rules follow it; a link
    /// refused by scope is counted once.
    fn child_job(&mut self, parent: &Job, mut link: Url) -> Option<Job> {
        link.set_fragment(None);
        match self.plan.scope.check(&link, &parent.origin) {
            Ok(()) => Some(Job {
                source: link.to_string(),
                url: link,
                depth: parent.depth + 1,
                origin: Arc::clone(&parent.origin),
            }),
            Err(Refusal::Scope | Refusal::Pattern) => {
                if self.refused.insert(&link) {
                    self.tally.skipped_scope += 1;
                    tracing::debug!(link = %link, "out of scope");
                }
                None
            }
            Err(Refusal::NotHtml) => None,
        }
    }
}

/// Hands the page's host back to the frontier with what the page learned of it. The gap is
/// raised first: a host that finishes idle may be forgotten, and with it its gap.
fn release_host(result: &PageResult, frontier: &mut impl Frontier) {
    let host = result.job.host();
    if let Some(gap) = result.crawl_delay {
        frontier.slow_down(host, gap);
    }
    frontier.finished(host, result.last_request);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::frontier::{MemoryFrontier, Politeness};

    fn scheduler(max_depth: u32, max_pages: Option<u64>) -> Scheduler {
        Scheduler::new(Plan {
            concurrency: 4,
            max_depth,
            scope: ScopeRules::default(),
            max_pages,
            graph: false,
            completed: Completed::default(),
            progress: None,
        })
    }

    fn frontier() -> MemoryFrontier {
        MemoryFrontier::new(Politeness {
            per_host: 4,
            gap: Duration::ZERO,
            probe_first: false,
        })
    }

    fn seed_job(url: &str) -> Job {
        Job {
            source: url.into(),
            url: Url::parse(url).unwrap(),
            depth: 0,
            origin: Arc::from("a"),
        }
    }

    fn ended(job: Job, outcome: Outcome, links: &[&str]) -> Result<PageResult, JoinError> {
        Ok(PageResult {
            job,
            outcome,
            links: links.iter().map(|link| Url::parse(link).unwrap()).collect(),
            crawl_delay: None,
            last_request: None,
        })
    }

    fn parsed() -> Outcome {
        Outcome::Parsed {
            status: 200,
            links: 4,
            bytes: 100,
            truncated: false,
        }
    }

    /// Pops every ready job's URL.
    fn drain(frontier: &mut MemoryFrontier) -> Vec<String> {
        let mut urls = Vec::new();
        while let Next::Ready(job) = frontier.pop(Instant::now()) {
            frontier.finished(job.host(), None);
            urls.push(format!("{} d{} {}", job.url, job.depth, job.source));
        }
        urls
    }

    #[test]
    fn in_scope_links_are_queued_once_at_the_next_depth_without_fragments() {
        let (mut scheduler, mut frontier) = (scheduler(2, None), frontier());
        let links = [
            "http://a/x#top",
            "http://a/x#bottom",
            "http://b/elsewhere",
            "http://b/elsewhere#again",
            "http://a/paper.pdf",
        ];
        scheduler.page_ended(
            ended(seed_job("http://a/"), parsed(), &links),
            &mut frontier,
        );
        assert_eq!(drain(&mut frontier), ["http://a/x d1 http://a/x"]);
        assert_eq!(scheduler.tally.skipped_scope, 1, "the off-host link, once");
        assert_eq!(scheduler.tally.pages_ok, 1);
    }

    #[test]
    fn links_of_a_page_at_the_last_depth_are_not_followed() {
        let (mut scheduler, mut frontier) = (scheduler(1, None), frontier());
        let mut job = seed_job("http://a/deep");
        job.depth = 1;
        scheduler.page_ended(ended(job, parsed(), &["http://a/deeper"]), &mut frontier);
        assert!(frontier.is_empty());
        assert_eq!(scheduler.tally.pages_by_depth.get(&1), Some(&1));
    }

    #[test]
    fn a_page_robots_txt_disallows_counts_as_skipped_and_not_as_fetched() {
        let (mut scheduler, mut frontier) = (scheduler(1, None), frontier());
        scheduler.page_ended(
            ended(seed_job("http://a/"), Outcome::Robots, &[]),
            &mut frontier,
        );
        assert_eq!(scheduler.tally.skipped_robots, 1);
        assert!(scheduler.tally.pages_by_depth.is_empty());
        assert_eq!(scheduler.tally.hosts.len(), 0);
    }

    #[test]
    fn seeds_listed_twice_or_done_before_are_not_queued_again() {
        let mut scheduler = scheduler(0, None);
        let mut frontier = frontier();
        let seed = |url: &str| Seed {
            line: 1,
            source: url.into(),
            url: Url::parse(url).unwrap(),
        };
        scheduler.add_seed(seed("http://a/1"), &mut frontier);
        scheduler.add_seed(seed("http://a/1#frag"), &mut frontier);
        assert_eq!(frontier.len(), 1);
        assert_eq!(scheduler.tally.urls_duplicate, 1);
    }

    #[test]
    fn the_budget_is_spent_once_max_pages_have_started() {
        let mut scheduler = scheduler(0, Some(2));
        assert!(!scheduler.budget_spent());
        scheduler.pages_started = 2;
        assert!(scheduler.budget_spent());
        assert!(!self::scheduler(0, None).budget_spent());
    }

    #[test]
    fn a_crawl_delay_learned_by_a_page_spaces_the_hosts_next_start() {
        let (mut scheduler, mut frontier) = (scheduler(1, None), frontier());
        frontier.push(seed_job("http://a/next"));
        let mut result = ended(seed_job("http://a/"), parsed(), &[]).unwrap();
        let sent = Instant::now();
        result.crawl_delay = Some(Duration::from_secs(5));
        result.last_request = Some(sent);
        scheduler.page_ended(Ok(result), &mut frontier);
        assert_eq!(
            frontier.pop(Instant::now()),
            Next::WaitUntil(sent + Duration::from_secs(5))
        );
    }
}
