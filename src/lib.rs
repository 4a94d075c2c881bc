//! areq: a concurrent URL crawler. A list of pages in, their links out.
//!
//! Layout, in the order a URL travels:
//!
//! - [`input`]: streams URLs from files, stdin and the command line, warning about bad lines
//!   with `FILE:LINE`; [`sitemap`]: `--sitemap` adds the pages the sites' sitemaps list.
//! - [`job`]: the crawl's core data, a page to fetch and the links it leads to.
//! - [`frontier`]: what to fetch next (per-host queues, in-flight limits), in memory or
//!   shared by several workers in Redis; [`seen`]: fingerprints, what "seen before" means;
//!   [`shared`]: what pacing, robots.txt and `--check` need from a shared crawl, as traits.
//! - [`politeness`]: the rules every host is held to, and the pacer, the process's one owner
//!   of each host's gap (a struggling host's room included): requests wait their turn there,
//!   and the frontier asks it.
//! - [`mod@crawl`]: the scheduler: the global limit, one task per page, following links.
//! - [`page`]: one page's steps: robots.txt check, fetch with retries, parse, send to the
//!   writer. [`robots`] and [`scope`]: what robots.txt allows, which links are followed;
//!   [`nofollow`]: what a page says about following its links (robots `<meta>`,
//!   `X-Robots-Tag`, `rel="nofollow"`).
//! - [`fetch`]: HTTP clients (one per host in progress, sharing TLS and the crawl's DNS
//!   cache), capped body reads, retries and their waits, which hosts still answer; where
//!   the `-H` headers go and which addresses a request may reach, by the input URL it
//!   descends from.
//! - [`parse`]: the CPU step, off the event loop on the [`parse_pool`]: [`decode`] the body by
//!   its charset, [`extract`] the links as browsers parse and resolve them (a streaming
//!   scanner, or the tree builder where tree order could differ), format each one's record
//!   and, in a recursive crawl, [`follow`] it or not.
//! - [`output`]: record formats both ways (written, and read back for `--resume`), the
//!   `.done` companion, and the single writer task.
//! - [`check`]: `--check`, each distinct link's status, found once per run (once per crawl
//!   in a shared one) through the same fetcher and limits as pages; [`fragment`]: `--check-fragments`, whether a `#fragment`
//!   points into its page; [`parking`]: a page waits, without its place, for the crawl of
//!   the pages its links lead to rather than requesting them twice.
//! - [`tally`]: the crawl's counts; [`summary`]: the end-of-run report built from them.
//! - [`graph`]: the host-level link graph (`--graph`); [`resume`]: `--resume`;
//!   [`progress`]: the progress bar.
//! - [`status`]: `areq status` and `areq forget`, a shared crawl's progress and clean-up;
//!   [`limits`]: the open-file limit, the concurrency it carries, and the allocator's
//!   settings.
//! - [`cli`] → [`config`]: flags as typed, validated once; [`error`]; [`logging`].
//! - `fuzzing` (the `fuzzing` feature): entry points for the fuzz targets in `fuzz/`.
#![warn(missing_docs)]
// The layout map above is for contributors, who read the docs with `--document-private-items`.
#![allow(rustdoc::private_intra_doc_links)]

mod check;
pub mod cli;
pub mod config;
mod crawl;
mod decode;
pub mod error;
pub mod extract;
mod fetch;
mod follow;
mod fragment;
mod frontier;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod graph;
mod input;
mod job;
pub mod limits;
pub mod logging;
mod nofollow;
mod output;
mod page;
mod parking;
mod parse;
mod parse_pool;
mod politeness;
pub mod progress;
mod resume;
mod robots;
pub mod scope;
mod seen;
mod shared;
mod sitemap;
pub mod status;
pub mod summary;
mod tally;

use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::check::LinkChecker;
use crate::config::{Config, OutputTarget};
use crate::crawl::{crawl, CrawlReport, Plan};
use crate::error::FatalError;
use crate::fetch::retry::RetryPolicy;
use crate::fetch::Fetcher;
use crate::follow::FollowRules;
use crate::frontier::{join_shared, Frontier as _, Joined, MemoryFrontier, RedisFrontier};
use crate::graph::HostGraph;
use crate::input::{InputCounters, InputReader, Seed};
use crate::nofollow::NofollowRules;
use crate::output::{spawn_writer, Sink, WriterReport};
use crate::page::PageContext;
use crate::parking::Parking;
use crate::parse_pool::ParsePool;
use crate::progress::ProgressCounters;
use crate::resume::{Completed, Rebuilt, Start};
use crate::robots::{product_token, RobotsCache};
use crate::sitemap::{Sitemaps, MAX_SITEMAP_BYTES};
use crate::summary::{SlowedHost, Summary};

pub use crate::check::LinkCounts;

/// How a run is told to stop early.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    /// Start no more pages; write the ones already done, then finish (the first Ctrl-C).
    pub graceful: CancellationToken,
    /// Stop writing at the next page boundary and finish now (the second Ctrl-C).
    pub now: CancellationToken,
}

/// Runs one crawl as configured, in three phases: [`start`] (input, fetcher, shared crawl,
/// resume point, output, seeds), the crawl itself, and [`finish`] (input and writer wound
/// down, the reports written). The input is opened first, then the output, so a bad input
/// never touches the output file. `shutdown` stops the run early (Ctrl-C): the output ends on
/// a page boundary and the summary says `interrupted`.
///
/// `progress`, when given, is kept up to date for a progress bar. The concurrency is first
/// fitted to the open-file limit (raised as far as it goes), with a warning when lowered.
pub async fn run(
    mut config: Config,
    shutdown: Shutdown,
    progress: Option<Arc<ProgressCounters>>,
) -> Result<Summary, FatalError> {
    config.concurrency = limits::fit_concurrency(config.concurrency);
    let Some(started) = start(&config, &shutdown, progress.as_ref()).await? else {
        return Ok(Summary::default());
    };
    let Started {
        context,
        shared,
        rebuilt,
        completed,
        seeds,
        running,
    } = started;
    let plan = Plan {
        concurrency: config.concurrency,
        max_depth: config.crawl.depth,
        follow: Arc::new(follow_rules(&config)),
        // A shared crawl's budget is crawl-wide, kept by its frontier.
        max_pages: config.crawl.max_pages.filter(|_| shared.is_none()),
        graph: config.crawl.graph.is_some(),
        completed,
        progress,
    };
    let graceful = shutdown.graceful;
    let (report, graph) = match shared {
        Some(mut frontier) => {
            crawl(seeds, &mut frontier, Arc::clone(&context), plan, graceful).await
        }
        None => {
            let mut frontier = MemoryFrontier::new(config.politeness(), context.fetcher.pacer());
            if let Some(Rebuilt { done, queued }) = rebuilt {
                frontier.remember(&done);
                // Cannot fail: the frontier is in memory.
                let _ = frontier.push(queued).await;
            }
            crawl(seeds, &mut frontier, Arc::clone(&context), plan, graceful).await
        }
    };
    let slowed_hosts = context.fetcher.pacer().slowed_hosts();
    let link_counts = context.checker.as_ref().map(|checker| checker.counts());
    drop(context);
    finish(&config, running, report, graph, slowed_hosts, link_counts).await
}

/// What [`start`] set up for the crawl.
struct Started {
    /// What every page task shares.
    context: Arc<PageContext>,
    /// The shared crawl's frontier, when one was joined.
    shared: Option<RedisFrontier>,
    /// The frontier rebuilt from an interrupted recursive run's output.
    rebuilt: Option<Rebuilt>,
    /// Pages an interrupted run completed.
    completed: Completed,
    /// The seeds, from the input (and the sitemaps).
    seeds: mpsc::Receiver<Seed>,
    /// What runs beside the crawl and is wound down after it.
    running: Running,
}

/// The tasks that run beside the crawl.
struct Running {
    /// Reads the input.
    reader: JoinHandle<Result<(), FatalError>>,
    /// Reads the sitemaps (`--sitemap`).
    sitemaps: Option<JoinHandle<()>>,
    /// Writes the records.
    writer: JoinHandle<Result<WriterReport, FatalError>>,
    /// The input's counts.
    input_counts: Arc<InputCounters>,
}

/// Opens the input, sets up fetching, joins the shared crawl, decides where the run starts
/// (`--resume`), opens the output and starts reading seeds. `None`: nothing to resume, the
/// run that wrote the output finished.
async fn start(
    config: &Config,
    shutdown: &Shutdown,
    progress: Option<&Arc<ProgressCounters>>,
) -> Result<Option<Started>, FatalError> {
    let input = InputReader::open(&config.inputs).await?;
    let fetcher = Fetcher::new(&config.fetch, config.crawl.host_gap)?;
    let (shared, shared_robots, shared_checks) = match &config.shared {
        Some(shared) => {
            let Joined {
                frontier,
                turns,
                robots,
                checks,
            } = join_shared(config, shared, fetcher.pacer()).await?;
            fetcher.pacer().share(turns);
            (Some(frontier), Some(robots), checks)
        }
        None => (None, None, None),
    };
    let (completed, rebuilt) = match resume::start(config, shared.is_some()).await? {
        Start::Fresh => (None, None),
        Start::Finished => return Ok(None),
        Start::Continue { completed, rebuilt } => (Some(completed), rebuilt),
    };
    for path in [&config.summary_json, &config.crawl.graph]
        .into_iter()
        .flatten()
    {
        ensure_writable(path).await?;
    }
    let sink = Sink::open(&config.output, completed.as_ref().map(|c| c.end_offset)).await?;
    let header = sink.header(config.format, config.header, config.check);
    let (output, writer) = spawn_writer(sink, header, shutdown.now.clone());
    if let Some(progress) = progress {
        ProgressCounters::expect(progress, config);
    }
    let input_counts = input.counters();
    let (seeds, reader) = input.spawn(config.concurrency);

    let robots = (config.crawl.robots || config.crawl.sitemap).then(|| {
        // An unreachable robots.txt is asked again after the longest wait for a retry.
        Arc::new(RobotsCache::new(
            &config.fetch.user_agent,
            fetcher.clone(),
            shared_robots,
            config.fetch.max_retry_wait,
        ))
    });
    let (seeds, sitemaps) = match &robots {
        Some(robots) if config.crawl.sitemap => {
            let sitemaps = Sitemaps {
                fetcher: fetcher.clone(),
                robots: Arc::clone(robots),
                scope: config.crawl.scope.clone(),
                max_bytes: config.fetch.max_body.min(MAX_SITEMAP_BYTES),
            };
            let (seeds, task) = sitemaps.spawn(seeds, config.concurrency);
            (seeds, Some(task))
        }
        _ => (seeds, None),
    };
    let places = Arc::new(Semaphore::new(config.concurrency));
    let retry = RetryPolicy::of(&config.fetch);
    let robots = robots.filter(|_| config.crawl.robots);
    let parser = Arc::new(ParsePool::start());
    let checker = config.check.then(|| {
        Arc::new(LinkChecker::new(
            fetcher.clone(),
            retry,
            robots.clone(),
            Arc::clone(&places),
            config.per_host,
            config.links.anchors,
            Arc::clone(&parser),
            shared_checks,
        ))
    });
    // Parking needs a frontier that can serve a page ahead of its turn: the in-memory one.
    let parking = (config.check && shared.is_none())
        .then(|| Arc::new(Parking::new(config.concurrency, Arc::clone(&places))));
    let context = Arc::new(PageContext {
        fetcher,
        links: config.links,
        format: config.format,
        output,
        retry,
        robots,
        parser,
        places,
        checker,
        parking,
        confirm_writes: shared.is_some(),
        stop: shutdown.graceful.child_token(),
    });
    Ok(Some(Started {
        context,
        shared,
        rebuilt,
        completed: completed.unwrap_or_default(),
        seeds,
        running: Running {
            reader,
            sitemaps,
            writer,
            input_counts,
        },
    }))
}

/// Which links the crawl follows: its scope and patterns, and the pages' nofollow hints.
fn follow_rules(config: &Config) -> FollowRules {
    FollowRules::new(config.crawl.scope.clone()).obeying(NofollowRules {
        robots_agent: config
            .crawl
            .robots
            .then(|| product_token(&config.fetch.user_agent).to_owned()),
        respect_rel: config.crawl.respect_nofollow,
    })
}

/// The run's teardown, once the crawl has ended: stops reading input, waits for the writer
/// to flush, reports a failed shared frontier, and writes the reports (`--graph`,
/// `--summary-json`, with the hosts the crawl slowed down and the links checked); a finished
/// run's `.done` companion is removed.
async fn finish(
    config: &Config,
    running: Running,
    mut report: CrawlReport,
    graph: Option<HostGraph>,
    slowed_hosts: Vec<SlowedHost>,
    link_counts: Option<LinkCounts>,
) -> Result<Summary, FatalError> {
    let Running {
        reader,
        sitemaps,
        writer,
        input_counts,
    } = running;
    // The reader ends at the end of the input, or is stopped when the crawl stopped early
    // (it may be waiting on a terminal). A read error ends the run.
    if let Some(sitemaps) = sitemaps {
        sitemaps.abort();
    }
    if !reader.is_finished() {
        reader.abort();
    }
    if let Ok(Err(err)) = reader.await {
        return Err(err);
    }
    // The writer ends once every sender is gone; wait for it so what was written is flushed.
    let written = writer.await.unwrap_or_else(|err| {
        Err(FatalError::OutputWrite {
            path: config.output.display_name(),
            source: std::io::Error::other(err),
        })
    })?;
    if let (Some(err), Some(shared)) = (report.frontier_error.take(), &config.shared) {
        // What was written is complete; the pages in flight go back when their leases
        // expire.
        return Err(FatalError::SharedCrawl {
            name: shared.name.clone(),
            reason: err.to_string(),
        });
    }
    let mut summary = Summary::new(report, input_counts.snapshot(), written);
    summary.slowed_hosts = slowed_hosts;
    summary.links = link_counts;

    if let (Some(path), Some(graph)) = (&config.crawl.graph, graph) {
        write_report(path, graph.to_dot()).await?;
    }
    if let (OutputTarget::File(path), false) = (&config.output, summary.interrupted) {
        resume::forget(path).await?;
    }
    if let Some(path) = &config.summary_json {
        write_report(path, summary.to_json()).await?;
    }
    Ok(summary)
}

/// Writes a file made at the end of the run (`--graph`, `--summary-json`).
async fn write_report(path: &std::path::Path, contents: String) -> Result<(), FatalError> {
    tokio::fs::write(path, contents)
        .await
        .map_err(|source| FatalError::OutputWrite {
            path: path.display().to_string(),
            source,
        })
}

/// Creates (or truncates) a file written at the end of the run, so a bad path fails before any
/// fetching.
async fn ensure_writable(path: &std::path::Path) -> Result<(), FatalError> {
    tokio::fs::File::create(path)
        .await
        .map(drop)
        .map_err(|source| FatalError::OutputOpen {
            path: path.to_owned(),
            source,
        })
}
