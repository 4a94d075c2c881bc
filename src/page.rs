//! One page, start to end: robots.txt check, fetch (with retries), parse off the event loop,
//! records to the writer. The scheduler starts one task a page and gets a [`PageResult`] back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, OwnedSemaphorePermit};
use url::Url;

use crate::config::{Format, LinkOptions};
use crate::error::FetchError;
use crate::fetch::retry::RetryPolicy;
use crate::fetch::{Fetched, Fetcher, Page};
use crate::frontier::Job;
use crate::output::{PageMeta, Records};
use crate::parse::page_records;
use crate::robots::RobotsCache;

/// What every page task shares.
pub(crate) struct PageContext {
    /// The one HTTP client.
    pub(crate) fetcher: Fetcher,
    /// Which links to keep.
    pub(crate) links: LinkOptions,
    /// Record format.
    pub(crate) format: Format,
    /// The writer's queue.
    pub(crate) output: mpsc::Sender<Records>,
    /// When to try a failed request again.
    pub(crate) retry: RetryPolicy,
    /// robots.txt rules, when they are obeyed.
    pub(crate) robots: Option<Arc<RobotsCache>>,
    /// The configured minimum gap between two requests to one host (`--delay`, `--rate`).
    pub(crate) host_gap: Duration,
}

/// How one page ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// An HTML page, parsed and written.
    Parsed {
        /// The final HTTP status.
        status: u16,
        /// Records written for it.
        links: u64,
        /// Body bytes read, after decompression.
        bytes: u64,
        /// The body was cut at `--max-body`.
        truncated: bool,
    },
    /// A 2xx answer that is not HTML, not read.
    NotHtml {
        /// The final HTTP status.
        status: u16,
    },
    /// The page failed.
    Failed(FetchError),
    /// robots.txt disallows the page; it was not fetched.
    Robots,
}

/// What a page task hands back to the scheduler.
#[derive(Debug)]
pub(crate) struct PageResult {
    /// The job the task ran.
    pub(crate) job: Job,
    /// How it ended.
    pub(crate) outcome: Outcome,
    /// The links found, when the scheduler asked for them (following, graph).
    pub(crate) links: Vec<Url>,
    /// The host's robots.txt `Crawl-delay`, learned by this task.
    pub(crate) crawl_delay: Option<Duration>,
    /// When the task sent its last request to the job's host (robots.txt or the page).
    pub(crate) last_request: Option<Instant>,
}

/// What a task learns about the host while it works.
#[derive(Debug, Default)]
struct HostVisit {
    crawl_delay: Option<Duration>,
    last_request: Option<Instant>,
}

/// Fetches, parses and writes one page. Holds `_permit` (global) throughout; the frontier
/// counts the page against its host until the scheduler records the result. With
/// `keep_links`, the links found come back in the result.
pub(crate) async fn run_page(
    context: Arc<PageContext>,
    job: Job,
    _permit: OwnedSemaphorePermit,
    keep_links: bool,
) -> PageResult {
    let mut visit = HostVisit::default();
    let (outcome, links) = visit_page(&context, &job, keep_links, &mut visit).await;
    PageResult {
        job,
        outcome,
        links,
        crawl_delay: visit.crawl_delay,
        last_request: visit.last_request,
    }
}

async fn visit_page(
    context: &PageContext,
    job: &Job,
    keep_links: bool,
    visit: &mut HostVisit,
) -> (Outcome, Vec<Url>) {
    if let Some(robots) = &context.robots {
        if !obey_robots(context, robots, &job.url, visit).await {
            tracing::info!("skipped: disallowed by robots.txt");
            return (Outcome::Robots, Vec::new());
        }
    }
    let started = Instant::now();
    match fetch_with_retries(context, &job.url, &mut visit.last_request).await {
        Ok(Fetched::Html(page)) => parse_and_write(context, job, page, keep_links, started).await,
        Ok(Fetched::NotHtml {
            status,
            content_type,
        }) => {
            tracing::info!(status, content_type, "skipped: not HTML");
            // No records, but the page is complete (for `--resume`).
            send_records(context, Records::none(job.source.clone())).await;
            (Outcome::NotHtml { status }, Vec::new())
        }
        Err(err) => {
            tracing::warn!(error = %err, "page failed");
            (Outcome::Failed(err), Vec::new())
        }
    }
}

/// Whether robots.txt allows `url`. When this task fetched the host's robots.txt, it waits
/// the host's gap (`--delay`, `--rate`, or the `Crawl-delay` just learned) before the page's
/// own request, since robots.txt was a request to that host too.
async fn obey_robots(
    context: &PageContext,
    robots: &RobotsCache,
    url: &Url,
    visit: &mut HostVisit,
) -> bool {
    let check = robots.check(url).await;
    visit.crawl_delay = check.rules.crawl_delay();
    let allowed = check.rules.allows(url);
    if let Some(sent) = check.fetched_at {
        visit.last_request = Some(sent);
        let gap = context.host_gap.max(visit.crawl_delay.unwrap_or_default());
        if allowed {
            tokio::time::sleep_until((sent + gap).into()).await;
        }
    }
    allowed
}

/// Parses the page on a blocking thread, off the event loop, and sends its records.
async fn parse_and_write(
    context: &PageContext,
    job: &Job,
    page: Page,
    keep_links: bool,
    started: Instant,
) -> (Outcome, Vec<Url>) {
    if page.truncated {
        tracing::warn!(bytes = page.body.len(), "body cut at --max-body");
    }
    let (status, bytes, truncated) = (page.status, page.body.len() as u64, page.truncated);
    let (links, format) = (context.links, context.format);
    let (source, depth) = (job.source.clone(), job.depth);
    let parsed = tokio::task::spawn_blocking(move || {
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
        (Records::none(job.source.clone()), Vec::new())
    });
    let count = records.count;
    send_records(context, records).await;
    tracing::info!(
        status,
        links = count,
        bytes,
        ms = started.elapsed().as_millis() as u64,
        "page done"
    );
    let outcome = Outcome::Parsed {
        status,
        links: count as u64,
        bytes,
        truncated,
    };
    (outcome, if keep_links { found } else { Vec::new() })
}

/// Hands a page's records to the writer. A closed output drops them: the run is ending.
async fn send_records(context: &PageContext, records: Records) {
    if context.output.send(records).await.is_err() {
        tracing::debug!("output closed; page dropped");
    }
}

/// One fetch, retried by the policy while the failure is transient. `last_request` is set
/// as each attempt is sent.
async fn fetch_with_retries(
    context: &PageContext,
    url: &Url,
    last_request: &mut Option<Instant>,
) -> Result<Fetched, FetchError> {
    let mut retry = 0;
    loop {
        *last_request = Some(Instant::now());
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
