//! The scheduler: takes seeds from the input and links from finished pages into the frontier,
//! starts page tasks behind a global semaphore as the frontier's politeness allows, and
//! counts what the pages came to.
//!
//! At most `--concurrency` pages are in progress (fetching, parsing or waiting for the
//! writer), and seeds are read only while the frontier holds fewer than a few times that, so
//! a single-pass run's memory stays O(concurrency) however long the input is.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};
use tokio::task::{self, JoinError, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::follow::{FollowRules, Followed, Follower};
use crate::frontier::{Ended, Frontier, FrontierError, Next};
use crate::graph::HostGraph;
use crate::input::Seed;
use crate::job::Job;
use crate::page::{run_page, Outcome, PageContext, PageResult};
use crate::parking::{Attendant, ParkAnswer, ParkRequest};
use crate::parse::LinkUses;
use crate::progress::ProgressCounters;
use crate::resume::Completed;
use crate::tally::Tally;

/// How the crawl spreads and how much of it runs at once.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Pages in progress overall.
    pub(crate) concurrency: usize,
    /// Follow links this many levels below the seeds.
    pub(crate) max_depth: u32,
    /// Which links are followed; shared with the pages, which apply them to their links.
    pub(crate) follow: Arc<FollowRules>,
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
    /// The frontier failed (a shared one went away): the crawl stopped there.
    pub(crate) frontier_error: Option<FrontierError>,
}

/// Seeds taken from the input at once, to be queued together.
const SEED_BATCH: usize = 256;

/// Runs the crawl until the frontier is drained and every page is done, the page budget is
/// spent, `shutdown` fires, the output's reader goes away, or the frontier fails. Returns
/// what the pages came to and, when asked for, the host graph.
pub(crate) async fn crawl(
    seeds: mpsc::Receiver<Seed>,
    frontier: &mut impl Frontier,
    context: Arc<PageContext>,
    plan: Plan,
    shutdown: CancellationToken,
) -> (CrawlReport, Option<HostGraph>) {
    let started = Instant::now();
    let mut scheduler = Scheduler::new(plan);
    scheduler.attendant = Attendant::of(context.parking.as_ref(), context.checker.as_ref());
    let mut tasks: JoinSet<PageResult> = JoinSet::new();
    let ended = scheduler
        .run(seeds, frontier, &context, &shutdown, &mut tasks)
        .await;
    let (interrupted, mut frontier_error) = match ended {
        Ok(interrupted) => (interrupted, None),
        Err(err) => (false, Some(err)),
    };
    // Stopped early: pages that have not queued their records stop and go back to the
    // frontier; those queued are written and acknowledged; finished ones count.
    scheduler.stopping = true;
    context.stop.cancel();
    let mut unfinished = Vec::new();
    while let Some(done) = tasks.join_next_with_id().await {
        let finished = match done {
            Ok((id, result)) => {
                scheduler.leased.remove(&id);
                scheduler.task_over(id);
                scheduler.page_ended(result, frontier).await
            }
            Err(err) => {
                unfinished.extend(scheduler.task_lost(&err));
                Ok(())
            }
        };
        if let (Err(err), None) = (finished, &frontier_error) {
            frontier_error = Some(err);
        }
    }
    if frontier_error.is_none() {
        // Also whatever the frontier took ahead for us.
        frontier_error = frontier.hand_back(unfinished).await.err();
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
        frontier_error,
    };
    (report, plan.graph.then_some(graph))
}

/// The scheduler's own state; owned by the crawl loop alone, so no locks.
struct Scheduler {
    plan: Plan,
    tally: Tally,
    graph: HostGraph,
    pages_started: u64,
    /// Jobs with a lease, by the task running them, to hand back if the task is dropped.
    leased: HashMap<task::Id, Job>,
    /// The crawl loop has ended: no job is started any more.
    stopping: bool,
    /// The last look for work to start stopped for want of a place under `-c`: a place freed
    /// by a link check (which no page's end announces) wakes the loop.
    short_of_places: bool,
    /// Answers the pages that would wait for the crawl of their links (`--check`).
    attendant: Option<Attendant>,
}

impl Scheduler {
    fn new(plan: Plan) -> Scheduler {
        Scheduler {
            plan,
            tally: Tally::default(),
            graph: HostGraph::default(),
            pages_started: 0,
            leased: HashMap::new(),
            stopping: false,
            short_of_places: false,
            attendant: None,
        }
    }

    /// The crawl loop. Returns whether `shutdown` stopped it; tasks may still be running.
    async fn run(
        &mut self,
        mut seeds: mpsc::Receiver<Seed>,
        frontier: &mut impl Frontier,
        context: &Arc<PageContext>,
        shutdown: &CancellationToken,
        tasks: &mut JoinSet<PageResult>,
    ) -> Result<bool, FrontierError> {
        // Link checks (`--check`) take places here too.
        let global = Arc::clone(&context.places);
        let lookahead = self.plan.concurrency.saturating_mul(4).max(16);
        let mut seeds_done = false;
        loop {
            let wake_at = self.start_ready(frontier, &global, context, tasks).await?;
            self.publish_progress(tasks.len(), frontier.len());
            let budget_spent = self.budget_spent();
            if tasks.is_empty() && (budget_spent || (seeds_done && frontier.is_drained())) {
                return Ok(false);
            }
            if let (true, Some(attendant)) = (budget_spent, &self.attendant) {
                attendant.queued_ended();
            }
            let want_seeds = !seeds_done && !budget_spent && frontier.len() < lookahead;
            let wake_at = [wake_at, frontier.upkeep_due()].into_iter().flatten().min();
            let woken = frontier.wakes();
            let wait = async move {
                let timer = async {
                    match wake_at {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        None => std::future::pending().await,
                    }
                };
                match woken {
                    Some(woken) => tokio::select! {
                        () = timer => {}
                        () = woken.notified() => {}
                    },
                    None => timer.await,
                }
            };
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(true),
                () = context.output.closed() => return Ok(false),
                Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    self.task_done(done, frontier).await?;
                    // Every other page that ended meanwhile too, before any starts: the
                    // frontier hears of them together.
                    while let Some(done) = tasks.try_join_next_with_id() {
                        self.task_done(done, frontier).await?;
                    }
                }
                Some(question) = next_question(&mut self.attendant) => {
                    self.answer(question, frontier).await?;
                }
                // Dropped at once: the loop takes it again when it starts the next page.
                _place = Arc::clone(&global).acquire_owned(),
                    if self.short_of_places && !budget_spent => {}
                seed = seeds.recv(), if want_seeds => match seed {
                    Some(seed) => {
                        let mut batch = vec![seed];
                        while let (true, Ok(seed)) = (batch.len() < SEED_BATCH, seeds.try_recv()) {
                            batch.push(seed);
                        }
                        self.add_seeds(batch, frontier).await?;
                    }
                    None => seeds_done = true,
                },
                () = wait => {}
            }
            if frontier.upkeep_due().is_some_and(|at| at <= Instant::now()) {
                frontier.upkeep().await?;
            }
        }
    }

    fn budget_spent(&self) -> bool {
        self.plan
            .max_pages
            .is_some_and(|max| self.pages_started >= max)
    }

    /// Starts every job the frontier and the global limit allow now. Returns when the
    /// frontier next has something to start, if it is waiting on a politeness gap.
    async fn start_ready(
        &mut self,
        frontier: &mut impl Frontier,
        global: &Arc<Semaphore>,
        context: &Arc<PageContext>,
        tasks: &mut JoinSet<PageResult>,
    ) -> Result<Option<Instant>, FrontierError> {
        while !self.budget_spent() {
            self.short_of_places = false;
            let Ok(permit) = Arc::clone(global).try_acquire_owned() else {
                self.short_of_places = true;
                return Ok(None);
            };
            // The place just taken, and those still free.
            let room = global.available_permits() + 1;
            match frontier.pop(Instant::now(), room).await? {
                Next::Ready(job) => {
                    self.pages_started += 1;
                    // At error level so every event of the page carries its URL, whatever
                    // the verbosity.
                    let span = tracing::error_span!("page", url = %job.url);
                    let uses = self.link_uses(&job);
                    let leased = job.lease.is_some().then(|| job.clone());
                    let job_url = job.url.clone();
                    let task = run_page(Arc::clone(context), job, permit, uses);
                    let handle = tasks.spawn(task.instrument(span));
                    if let Some(attendant) = &mut self.attendant {
                        attendant.started(handle.id(), &job_url);
                    }
                    if let Some(job) = leased {
                        self.leased.insert(handle.id(), job);
                    }
                }
                Next::WaitUntil(at) => return Ok(Some(at)),
                Next::Busy | Next::Empty => return Ok(None),
            }
        }
        Ok(None)
    }

    /// What the links of `job`'s page are wanted for: following them above the last depth,
    /// and the graph.
    fn link_uses(&self, job: &Job) -> LinkUses {
        let follow = job.depth < self.plan.max_depth;
        LinkUses {
            follow: follow.then(|| Follower::new(Arc::clone(&self.plan.follow), job)),
            graph: self.plan.graph,
            // The page knows whether its links are checked.
            ..LinkUses::default()
        }
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

    /// Queues input URLs as depth-0 jobs, unless an earlier run completed them; counts the
    /// ones listed before.
    async fn add_seeds(
        &mut self,
        seeds: Vec<Seed>,
        frontier: &mut impl Frontier,
    ) -> Result<(), FrontierError> {
        let mut jobs = Vec::with_capacity(seeds.len());
        for seed in seeds {
            if self.plan.completed.contains(&seed.source) {
                self.tally.urls_resumed += 1;
                continue;
            }
            jobs.push(Job {
                origin: self.plan.follow.scope.origin_of(&seed.url),
                seed_origin: seed.url.origin().ascii_serialization().into(),
                given: Some(seed.source),
                url: seed.url,
                depth: 0,
                lease: None,
            });
        }
        let offered = jobs.len();
        let new = frontier.push(jobs).await?;
        self.tally.urls_duplicate += (offered - new) as u64;
        Ok(())
    }

    /// A page asks, before it waits for the crawl of its links: its fetch is over (the
    /// frontier is told, and given the links it follows), and which of the links will the
    /// crawl fetch?
    async fn answer(
        &mut self,
        question: ParkRequest,
        frontier: &mut impl Frontier,
    ) -> Result<(), FrontierError> {
        let ParkRequest {
            job,
            children,
            records,
            bytes,
            links,
            reply,
        } = question;
        frontier
            .finished(Ended {
                job: &job,
                outcome: "ok",
                links: records,
                children,
            })
            .await?;
        let queued_ended = self.stopping || self.budget_spent();
        let awaited = self
            .attendant
            .as_ref()
            .and_then(|attendant| attendant.awaited(links, bytes, frontier, queued_ended));
        // The page may have stopped meanwhile.
        let _ = reply.send(ParkAnswer { awaited });
        Ok(())
    }

    /// A page task is over: its page ended, or the task was lost.
    async fn task_done(
        &mut self,
        done: Result<(task::Id, PageResult), JoinError>,
        frontier: &mut impl Frontier,
    ) -> Result<(), FrontierError> {
        match done {
            Ok((id, result)) => {
                self.leased.remove(&id);
                self.task_over(id);
                self.page_ended(result, frontier).await
            }
            Err(err) => {
                let lost: Vec<Job> = self.task_lost(&err).into_iter().collect();
                frontier.hand_back(lost).await
            }
        }
    }

    /// A page task ended: count it, and hand the job back to the frontier with the children
    /// its page found (checked against the seen set there).
    async fn page_ended(
        &mut self,
        mut result: PageResult,
        frontier: &mut impl Frontier,
    ) -> Result<(), FrontierError> {
        // The page's place under `-c` is freed when this returns, once the frontier knows.
        let _place = result.permit.take();
        if !result.written {
            // The output is gone; the page goes back for whoever runs next.
            return frontier.hand_back(vec![result.job]).await;
        }
        self.tally.record(&result.job, &result.outcome);
        if self.plan.graph && !matches!(result.outcome, Outcome::Robots) {
            self.graph.add_page(result.job.host(), result.links.hosts);
        }
        // The links the page refused first in the run (its parse recorded them as refused).
        let Followed {
            children,
            refused,
            page_nofollow,
        } = result.links.followed;
        self.tally.skipped_scope += refused;
        self.tally.skipped_nofollow += u64::from(page_nofollow);
        if result.told_frontier {
            // Before the page waited for its links' crawl.
            return Ok(());
        }
        frontier
            .finished(Ended {
                job: &result.job,
                outcome: result.outcome.label(),
                links: result.outcome.links(),
                children,
            })
            .await
    }

    /// A page task is over, however it ended.
    fn task_over(&mut self, task: task::Id) {
        if let Some(attendant) = &mut self.attendant {
            attendant.ended(task);
        }
    }

    /// A page task that did not end by itself: cancelled when the run stopped, or panicked
    /// (a bug, counted). Returns its job, if it held a lease, to hand back.
    fn task_lost(&mut self, err: &JoinError) -> Option<Job> {
        if !err.is_cancelled() {
            tracing::error!(error = %err, "page task panicked");
            self.tally.record_internal_error();
        }
        self.task_over(err.id());
        self.leased.remove(&err.id())
    }
}

/// The next question of a page that would park, if pages park.
async fn next_question(attendant: &mut Option<Attendant>) -> Option<ParkRequest> {
    match attendant {
        Some(attendant) => attendant.next_question().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use url::Url;

    use super::*;
    use crate::frontier::MemoryFrontier;
    use crate::graph::HostLinks;
    use crate::parse::PageLinks;
    use crate::politeness::{Pacer, Politeness};
    use crate::seen::fingerprint_text;

    fn scheduler(max_depth: u32, max_pages: Option<u64>) -> Scheduler {
        Scheduler::new(Plan {
            concurrency: 4,
            max_depth,
            follow: Arc::default(),
            max_pages,
            graph: false,
            completed: Completed::default(),
            progress: None,
        })
    }

    fn frontier() -> MemoryFrontier {
        let politeness = Politeness {
            per_host: 4,
            gap: Duration::ZERO,
            probe_first: false,
        };
        MemoryFrontier::new(politeness, Arc::new(Pacer::new(politeness.gap)))
    }

    fn seed_job(url: &str) -> Job {
        Job {
            given: Some(url.into()),
            url: Url::parse(url).unwrap(),
            depth: 0,
            origin: Arc::from("a"),
            seed_origin: Arc::from("http://a"),
            lease: None,
        }
    }

    /// The result of a page that found `links`, each handed to what the scheduler wanted of
    /// them, as the page's parse does.
    fn ended(scheduler: &Scheduler, job: Job, outcome: Outcome, links: &[&str]) -> PageResult {
        let LinkUses {
            mut follow, graph, ..
        } = scheduler.link_uses(&job);
        let mut hosts = HostLinks::default();
        for link in links.iter().map(|link| Url::parse(link).unwrap()) {
            if graph {
                hosts.add(&link);
            }
            if let Some(follow) = &mut follow {
                let fingerprint = fingerprint_text(link.as_str());
                follow.offer(link, fingerprint, false);
            }
        }
        let followed = follow.map(Follower::finish).unwrap_or_default();
        PageResult {
            job,
            outcome,
            links: PageLinks {
                followed,
                hosts,
                ..PageLinks::default()
            },
            written: true,
            permit: None,
            told_frontier: false,
        }
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
    async fn drain(frontier: &mut MemoryFrontier) -> Vec<String> {
        let mut urls = Vec::new();
        while let Ok(Next::Ready(job)) = frontier.pop(Instant::now(), 1).await {
            urls.push(format!("{} d{} {}", job.url, job.depth, job.source()));
        }
        urls
    }

    #[tokio::test]
    async fn in_scope_links_are_queued_once_at_the_next_depth_without_fragments() {
        let (mut scheduler, mut frontier) = (scheduler(2, None), frontier());
        let links = [
            "http://a/x#top",
            "http://a/x#bottom",
            "http://b/elsewhere",
            "http://b/elsewhere#again",
            "http://a/paper.pdf",
        ];
        let result = ended(&scheduler, seed_job("http://a/"), parsed(), &links);
        scheduler.page_ended(result, &mut frontier).await.unwrap();
        assert_eq!(drain(&mut frontier).await, ["http://a/x d1 http://a/x"]);
        assert_eq!(scheduler.tally.skipped_scope, 1, "the off-host link, once");
        assert_eq!(scheduler.tally.pages_ok, 1);
        let again = ["http://a/x", "http://b/elsewhere", "http://b/other"];
        let result = ended(&scheduler, seed_job("http://a/2"), parsed(), &again);
        scheduler.page_ended(result, &mut frontier).await.unwrap();
        assert!(drain(&mut frontier).await.is_empty(), "seen before");
        assert_eq!(
            scheduler.tally.skipped_scope, 2,
            "each refused link once a run"
        );
    }

    #[tokio::test]
    async fn the_graph_counts_every_page_links_by_host() {
        let (mut scheduler, mut frontier) = (scheduler(1, None), frontier());
        scheduler.plan.graph = true;
        let mut deep = seed_job("http://a/deep");
        deep.depth = 1;
        let pages = [
            (
                seed_job("http://a/"),
                parsed(),
                vec!["http://b/1", "http://a/x"],
            ),
            (
                deep,
                parsed(),
                vec!["http://b/2", "http://c/", "mailto:x@c"],
            ),
            (seed_job("http://d/"), Outcome::Robots, vec![]),
        ];
        for (job, outcome, links) in pages {
            let result = ended(&scheduler, job, outcome, &links);
            scheduler.page_ended(result, &mut frontier).await.unwrap();
        }
        let dot = scheduler.graph.to_dot();
        assert!(dot.contains("\"a\" -> \"b\" [label=2];"), "{dot}");
        assert!(dot.contains("\"a\" -> \"c\" [label=1];"), "{dot}");
        assert!(
            !dot.contains("\"d\""),
            "a page robots.txt disallows is not crawled"
        );
    }

    #[tokio::test]
    async fn links_of_a_page_at_the_last_depth_are_not_followed() {
        let (mut scheduler, mut frontier) = (scheduler(1, None), frontier());
        let mut job = seed_job("http://a/deep");
        job.depth = 1;
        scheduler
            .page_ended(
                ended(&scheduler, job, parsed(), &["http://a/deeper"]),
                &mut frontier,
            )
            .await
            .unwrap();
        assert!(frontier.is_drained());
        assert_eq!(scheduler.tally.pages_by_depth.get(&1), Some(&1));
    }

    #[tokio::test]
    async fn a_page_robots_txt_disallows_counts_as_skipped_and_not_as_fetched() {
        let (mut scheduler, mut frontier) = (scheduler(1, None), frontier());
        let result = ended(&scheduler, seed_job("http://a/"), Outcome::Robots, &[]);
        scheduler.page_ended(result, &mut frontier).await.unwrap();
        assert_eq!(scheduler.tally.skipped_robots, 1);
        assert!(scheduler.tally.pages_by_depth.is_empty());
        assert_eq!(scheduler.tally.hosts.len(), 0);
    }

    #[tokio::test]
    async fn seeds_listed_twice_or_done_before_are_not_queued_again() {
        let mut scheduler = scheduler(0, None);
        let mut frontier = frontier();
        let seed = |url: &str| Seed {
            line: 1,
            source: url.into(),
            url: Url::parse(url).unwrap(),
        };
        let seeds = vec![seed("http://a/1"), seed("http://a/1#frag")];
        scheduler.add_seeds(seeds, &mut frontier).await.unwrap();
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
}
