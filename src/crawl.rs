//! The scheduler: feeds jobs from the input through the frontier to page tasks, behind a global
//! and a per-host limit, and keeps the [`Summary`].
//!
//! A global permit is taken *before* the next URL is read, so at most `--concurrency` pages are
//! in progress (fetching, parsing or waiting for the writer) and memory stays O(concurrency)
//! however long the input is.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::{Format, LinkOptions};
use crate::error::{FatalError, FetchError};
use crate::fetch::retry::RetryPolicy;
use crate::fetch::{Fetched, Fetcher};
use crate::frontier::{Frontier, Job};
use crate::input::InputReader;
use crate::output::Records;
use crate::page::page_records;
use crate::summary::Summary;

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
}

/// The limits the scheduler enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Pages in progress overall.
    pub concurrency: usize,
    /// Requests in flight per host.
    pub per_host: usize,
}

/// How one page ended.
#[derive(Debug)]
enum Outcome {
    Parsed { bytes: u64, truncated: bool },
    NotHtml,
    Failed(FetchError),
}

/// Runs the crawl until the input is exhausted and every page is done, or until `shutdown`
/// fires or the output's reader goes away.
pub async fn crawl(
    input: &mut InputReader,
    frontier: &mut impl Frontier,
    context: Arc<PageContext>,
    limits: Limits,
    shutdown: CancellationToken,
) -> Result<Summary, FatalError> {
    let started = Instant::now();
    let global = Arc::new(Semaphore::new(limits.concurrency));
    let mut hosts = HostLimits::new(limits.per_host);
    let mut tasks: JoinSet<(String, Outcome)> = JoinSet::new();
    let mut summary = Summary::default();

    let mut stopped = false;
    'feed: loop {
        while let Some(done) = tasks.try_join_next() {
            record(&mut summary, &mut hosts, done);
        }
        // Take the permit before taking more work.
        let permit = tokio::select! {
            biased;
            () = shutdown.cancelled() => { stopped = true; break 'feed }
            () = context.output.closed() => { stopped = true; break 'feed }
            permit = global.clone().acquire_owned() => {
                // The semaphore is never closed.
                permit.expect("global semaphore closed")
            }
        };
        let job = loop {
            if let Some(job) = frontier.pop() {
                break job;
            }
            let seed = tokio::select! {
                biased;
                () = shutdown.cancelled() => { stopped = true; break 'feed }
                seed = input.next_seed() => seed?,
            };
            let Some(seed) = seed else { break 'feed };
            let job = Job {
                source: seed.source,
                url: seed.url,
            };
            let url = job.url.clone();
            if !frontier.push(job) {
                summary.urls_duplicate += 1;
                tracing::debug!(url = %url, line = seed.line, "duplicate URL skipped");
            }
        };
        let (host, host_limit) = hosts.limit_for(&job.url);
        // At error level so every event of the page carries its URL, whatever the verbosity.
        let span = tracing::error_span!("page", url = %job.url);
        let task = run_page(Arc::clone(&context), job, permit, host_limit);
        tasks.spawn(async move { (host, task.await) }.instrument(span));
    }

    // Drain: let running pages finish, unless the run is being stopped, in which case pages
    // in flight are dropped (nothing of theirs was written) and only finished ones count.
    let mut aborted = false;
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled(), if !aborted => {
                stopped = true;
                aborted = true;
                tasks.abort_all();
            }
            () = context.output.closed(), if !aborted => {
                stopped = true;
                aborted = true;
                tasks.abort_all();
            }
            done = tasks.join_next() => match done {
                Some(done) => record(&mut summary, &mut hosts, done),
                None => break,
            },
        }
    }

    let counts = input.counts();
    summary.urls_read = counts.read;
    summary.urls_invalid = counts.invalid;
    summary.interrupted = stopped;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Adds a finished task to the summary and lets go of its host's limit when idle.
fn record(
    summary: &mut Summary,
    hosts: &mut HostLimits,
    done: Result<(String, Outcome), tokio::task::JoinError>,
) {
    let (host, outcome) = match done {
        Ok(done) => done,
        Err(err) if err.is_cancelled() => return,
        Err(err) => {
            tracing::error!(error = %err, "page task panicked");
            *summary.failures.entry("internal error".into()).or_default() += 1;
            return;
        }
    };
    hosts.release_if_idle(&host);
    match outcome {
        Outcome::Parsed { bytes, truncated } => {
            summary.pages_ok += 1;
            summary.pages_truncated += u64::from(truncated);
            summary.bytes_read += bytes;
        }
        Outcome::NotHtml => summary.skipped_not_html += 1,
        Outcome::Failed(err) => summary.record_failure(&err),
    }
}

/// Fetches, parses and writes one page. Holds `_permit` (global) throughout, and a host
/// permit while each attempt is in flight (not while waiting to retry).
async fn run_page(
    context: Arc<PageContext>,
    job: Job,
    _permit: OwnedSemaphorePermit,
    host_limit: Arc<Semaphore>,
) -> Outcome {
    let started = Instant::now();
    let page = match fetch_with_retries(&context, &job, &host_limit).await {
        Ok(Fetched::Html(page)) => page,
        Ok(Fetched::NotHtml { content_type }) => {
            tracing::info!(content_type, "skipped: not HTML");
            return Outcome::NotHtml;
        }
        Err(err) => {
            tracing::warn!(error = %err, "page failed");
            return Outcome::Failed(err);
        }
    };
    if page.truncated {
        tracing::warn!(bytes = page.body.len(), "body cut at --max-body");
    }
    let (status, bytes, truncated) = (page.status, page.body.len() as u64, page.truncated);
    let (links, format) = (context.links, context.format);
    let records =
        tokio::task::spawn_blocking(move || page_records(&page, &job.source, &links, format))
            .await
            .unwrap_or_else(|err| {
                tracing::error!(error = %err, "parsing panicked");
                Records::default()
            });
    let links = records.count;
    if links > 0 && context.output.send(records).await.is_err() {
        tracing::debug!("output closed; page dropped");
    }
    tracing::info!(
        status,
        links,
        bytes,
        ms = started.elapsed().as_millis() as u64,
        "page done"
    );
    Outcome::Parsed { bytes, truncated }
}

/// One fetch, retried by the policy while the failure is transient.
async fn fetch_with_retries(
    context: &PageContext,
    job: &Job,
    host_limit: &Arc<Semaphore>,
) -> Result<Fetched, FetchError> {
    let mut retry = 0;
    loop {
        let attempt = {
            // The host semaphores are never closed.
            let _host = host_limit.acquire().await.expect("host semaphore closed");
            context.fetcher.fetch(&job.url).await
        };
        let failure = match attempt {
            Ok(fetched) => return Ok(fetched),
            Err(failure) => failure,
        };
        retry += 1;
        let Some(wait) = context.retry.delay(retry, &failure) else {
            return Err(failure.error);
        };
        tracing::debug!(error = %failure.error, retry, wait_ms = wait.as_millis() as u64, "retry scheduled");
        tokio::time::sleep(wait).await;
    }
}

/// One semaphore per host, created on first use and dropped when no task holds it, so the map
/// stays as small as the set of hosts in progress.
struct HostLimits {
    per_host: usize,
    hosts: HashMap<String, Arc<Semaphore>>,
}

impl HostLimits {
    fn new(per_host: usize) -> HostLimits {
        HostLimits {
            per_host,
            hosts: HashMap::new(),
        }
    }

    /// The host key of `url` and its semaphore.
    fn limit_for(&mut self, url: &url::Url) -> (String, Arc<Semaphore>) {
        let host = url.host_str().unwrap_or_default().to_owned();
        let limit = self
            .hosts
            .entry(host.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)));
        (host, Arc::clone(limit))
    }

    /// Forgets `host`'s semaphore when no task holds a handle to it.
    fn release_if_idle(&mut self, host: &str) {
        if self
            .hosts
            .get(host)
            .is_some_and(|limit| Arc::strong_count(limit) == 1)
        {
            self.hosts.remove(host);
        }
    }
}
