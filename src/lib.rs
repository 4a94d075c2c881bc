//! areq: a concurrent URL crawler. A list of pages in, their links out.
//!
//! Layout, in the order a URL travels:
//!
//! - [`input`]: streams URLs from a file or stdin, warning about bad lines with `FILE:LINE`.
//! - [`frontier`]: what to fetch next and what was seen (fingerprints, so each URL once).
//! - [`crawl`]: the scheduler; global and per-host limits, one task per page, the summary.
//! - [`fetch`]: the one shared HTTP client; capped body reads and charset decoding.
//! - [`extract`]: pure HTML → absolute links, as browsers parse and resolve them.
//! - [`page`]: decode + extract + format for one page, run off the event loop.
//! - [`output`]: record formats and the single writer task.
//! - [`summary`], [`error`], [`config`], [`cli`], [`logging`]: the rest.
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod crawl;
pub mod error;
pub mod extract;
pub mod fetch;
pub mod frontier;
pub mod input;
pub mod logging;
pub mod output;
pub mod page;
pub mod summary;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::{Config, Format};
use crate::crawl::{crawl, Limits, PageContext};
use crate::error::FatalError;
use crate::fetch::retry::RetryPolicy;
use crate::fetch::Fetcher;
use crate::frontier::MemoryFrontier;
use crate::input::InputReader;
use crate::output::{spawn_writer, Sink, TSV_HEADER};
use crate::summary::Summary;

/// Runs one crawl as configured. The input is opened first, then the output, so a bad input
/// never touches the output file. `shutdown` stops the run early (Ctrl-C); the pages already
/// complete are written and the summary says `interrupted`.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<Summary, FatalError> {
    let mut input = InputReader::open(&config.input).await?;
    let fetcher = Fetcher::new(&config.fetch)?;
    let sink = Sink::open(&config.output).await?;
    let header = (config.header && config.format == Format::Tsv).then_some(TSV_HEADER);
    let (output, writer) = spawn_writer(sink, header);

    let context = Arc::new(PageContext {
        fetcher,
        links: config.links,
        format: config.format,
        output,
        retry: RetryPolicy {
            retries: config.fetch.retries,
            max_wait: config.fetch.max_retry_wait,
        },
    });
    let limits = Limits {
        concurrency: config.concurrency,
        per_host: config.per_host,
    };
    let mut frontier = MemoryFrontier::default();
    let crawled = crawl(
        &mut input,
        &mut frontier,
        Arc::clone(&context),
        limits,
        shutdown,
    )
    .await;
    drop(context);
    // The writer ends once every sender is gone; wait for it even when the crawl failed, so
    // what was written is flushed.
    let written = writer.await.unwrap_or_else(|err| {
        Err(FatalError::OutputWrite {
            path: config.output.display_name(),
            source: std::io::Error::other(err),
        })
    });
    let mut summary = crawled?;
    let written = written?;
    summary.links_written = written.records;
    if written.reader_gone {
        // A reader that stops early (`| head`) is a normal way to end a run.
        summary.interrupted = false;
    }
    Ok(summary)
}
