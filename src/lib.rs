//! areq: a concurrent URL crawler. A list of pages in, their links out.
//!
//! Layout, in the order a URL travels:
//!
//! - [`input`]: streams URLs from a file or stdin, warning about bad lines with `FILE:LINE`.
//! - [`frontier`]: what to fetch next (per-host queues, politeness) and what was seen.
//! - [`mod@crawl`]: the scheduler; global limit, one task per page, following links, the summary.
//! - [`scope`], [`robots`]: which links a recursive crawl follows, and what robots.txt allows.
//! - [`fetch`]: HTTP clients (one per host in progress) and the crawl's DNS cache; capped
//!   body reads and charset decoding.
//! - [`extract`]: pure HTML → absolute links, as browsers parse and resolve them.
//! - [`page`]: decode + extract + format for one page, run off the event loop on the
//!   [`parse_pool`].
//! - [`output`]: record formats and the single writer task.
//! - [`graph`]: the host-level link graph (`--graph`).
//! - [`progress`]: the progress bar's counters and drawing; [`resume`]: `--resume`.
//! - [`limits`]: the open-file limit and the concurrency it carries.
//! - [`summary`], [`error`], [`config`], [`cli`], [`logging`]: the rest.
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod crawl;
pub mod error;
pub mod extract;
pub mod fetch;
pub mod frontier;
pub mod graph;
pub mod input;
pub mod limits;
pub mod logging;
pub mod output;
pub mod page;
pub mod parse_pool;
pub mod progress;
pub mod resume;
pub mod robots;
pub mod scope;
pub mod summary;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::{Config, Format, OutputTarget};
use crate::crawl::{crawl, PageContext, Plan};
use crate::error::FatalError;
use crate::fetch::retry::RetryPolicy;
use crate::fetch::Fetcher;
use crate::frontier::{MemoryFrontier, Politeness};
use crate::input::InputReader;
use crate::output::{spawn_writer, Sink, TSV_HEADER};
use crate::progress::ProgressCounters;
use crate::resume::ResumePoint;
use crate::robots::RobotsCache;
use crate::summary::Summary;

/// Runs one crawl as configured. The input is opened first, then the output, so a bad input
/// never touches the output file. `shutdown` stops the run early (Ctrl-C); the pages already
/// complete are written and the summary says `interrupted`.
///
/// `progress`, when given, is kept up to date for a progress bar.
pub async fn run(
    config: Config,
    shutdown: CancellationToken,
    progress: Option<Arc<ProgressCounters>>,
) -> Result<Summary, FatalError> {
    let input = InputReader::open(&config.input).await?;
    let fetcher = Fetcher::new(&config.fetch)?;
    let completed = match (&config.output, config.resume) {
        (OutputTarget::File(path), true) => match resume::load(path).await? {
            ResumePoint::Fresh => None,
            ResumePoint::Finished => {
                tracing::warn!(
                    "{}: nothing to resume, the run that wrote it finished",
                    path.display()
                );
                return Ok(Summary::default());
            }
            ResumePoint::Continue(completed) => Some(completed),
        },
        _ => None,
    };
    for path in [&config.summary_json, &config.crawl.graph]
        .into_iter()
        .flatten()
    {
        ensure_writable(path).await?;
    }
    let sink = Sink::open(&config.output, completed.as_ref().map(|c| c.end_offset)).await?;
    let header =
        (config.header && config.format == Format::Tsv && sink.is_empty()).then_some(TSV_HEADER);
    let (output, writer) = spawn_writer(sink, header);
    let input_counts = input.counters();
    let (seeds, reader) = input.spawn(config.concurrency);

    let robots = config
        .crawl
        .robots
        .then(|| RobotsCache::new(&config.fetch.user_agent, fetcher.clone()));
    let context = Arc::new(PageContext {
        fetcher,
        links: config.links,
        format: config.format,
        output,
        retry: RetryPolicy {
            retries: config.fetch.retries,
            max_wait: config.fetch.max_retry_wait,
        },
        robots,
    });
    let mut frontier = MemoryFrontier::new(Politeness {
        per_host: config.per_host,
        gap: config.crawl.host_gap,
        probe_first: config.crawl.robots,
    });
    let plan = Plan {
        concurrency: config.concurrency,
        max_depth: config.crawl.depth,
        scope: config.crawl.scope.clone(),
        max_pages: config.crawl.max_pages,
        graph: config.crawl.graph.is_some(),
        tally_hosts: config.summary_json.is_some(),
        completed: completed.unwrap_or_default(),
        progress,
    };
    let (mut summary, graph) =
        crawl(seeds, &mut frontier, Arc::clone(&context), plan, shutdown).await;
    drop(context);

    // The reader ends at the end of the input, or is stopped when the crawl stopped early
    // (it may be waiting on a terminal). A read error ends the run.
    if !reader.is_finished() {
        reader.abort();
    }
    if let Ok(Err(err)) = reader.await {
        return Err(err);
    }
    let counts = input_counts.snapshot();
    summary.urls_read = counts.read;
    summary.urls_invalid = counts.invalid;

    // The writer ends once every sender is gone; wait for it so what was written is flushed.
    let written = writer.await.unwrap_or_else(|err| {
        Err(FatalError::OutputWrite {
            path: config.output.display_name(),
            source: std::io::Error::other(err),
        })
    })?;
    summary.links_written = written.records;
    if written.reader_gone {
        // A reader that stops early (`| head`) is a normal way to end a run.
        summary.interrupted = false;
    }
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
