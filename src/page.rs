//! One page, start to end: robots.txt check, fetch (with retries), parse off the event loop,
//! records to the writer. The scheduler starts one task a page and gets a [`PageResult`] back.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};

use crate::config::{Format, LinkOptions};
use crate::fetch::retry::RetryPolicy;
use crate::fetch::{FetchError, Fetched, Fetcher, Page};
use crate::job::Job;
use crate::output::{PageMeta, Records};
use crate::parse::{parse_page, LinkUses, PageLinks};
use crate::parse_pool::ParsePool;
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
    /// The threads pages are parsed on.
    pub(crate) parser: ParsePool,
    /// A page ends only once the writer has flushed its records (a shared frontier marks
    /// it done then).
    pub(crate) confirm_writes: bool,
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

impl Outcome {
    /// The outcome's name in crawl-wide counts.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Outcome::Parsed { .. } => "ok",
            Outcome::NotHtml { .. } => "not_html",
            Outcome::Failed(_) => "failed",
            Outcome::Robots => "robots",
        }
    }

    /// Records written for the page.
    pub(crate) fn links(&self) -> u64 {
        match self {
            Outcome::Parsed { links, .. } => *links,
            _ => 0,
        }
    }
}

/// What a page task hands back to the scheduler.
#[derive(Debug)]
pub(crate) struct PageResult {
    /// The job the task ran.
    pub(crate) job: Job,
    /// How it ended.
    pub(crate) outcome: Outcome,
    /// What the page's links came to, where the scheduler asked (following, graph).
    pub(crate) links: PageLinks,
    /// The page's records reached the writer (and, with `confirm_writes`, were flushed);
    /// `false` when the output went away first.
    pub(crate) written: bool,
    /// The page's place under `-c`, freed once the frontier knows the page ended.
    pub(crate) permit: Option<OwnedSemaphorePermit>,
}

/// What a task learns while it works.
#[derive(Debug, Default)]
struct HostVisit {
    /// The page's records reached the writer (see [`PageResult::written`]).
    written: bool,
}

/// Fetches, parses and writes one page. The global `permit` comes back with the result, so
/// the page counts against `-c` until the scheduler has told the frontier it ended. What the
/// page's links come to for `uses` comes back in the result.
pub(crate) async fn run_page(
    context: Arc<PageContext>,
    job: Job,
    permit: OwnedSemaphorePermit,
    uses: LinkUses,
) -> PageResult {
    let mut visit = HostVisit { written: true };
    let (outcome, links) = visit_page(&context, &job, uses, &mut visit).await;
    PageResult {
        job,
        outcome,
        links,
        written: visit.written,
        permit: Some(permit),
    }
}

async fn visit_page(
    context: &PageContext,
    job: &Job,
    uses: LinkUses,
    visit: &mut HostVisit,
) -> (Outcome, PageLinks) {
    if let Some(robots) = &context.robots {
        if !obey_robots(context, robots, job).await {
            tracing::info!("skipped: disallowed by robots.txt");
            return (Outcome::Robots, PageLinks::default());
        }
    }
    let started = Instant::now();
    match context
        .fetcher
        .fetch_with_retries(&job.url, job.lineage(), &context.retry)
        .await
    {
        Ok(Fetched::Html(page)) => parse_and_write(context, job, page, uses, started, visit).await,
        Ok(Fetched::NotHtml {
            status,
            content_type,
        }) => {
            tracing::info!(status, content_type, "skipped: not HTML");
            // No records, but the page is complete (for `--resume`).
            visit.written = send_records(context, Records::none(job.source().to_owned())).await;
            (Outcome::NotHtml { status }, PageLinks::default())
        }
        Err(err) => {
            tracing::warn!(error = %err, "page failed");
            (Outcome::Failed(err), PageLinks::default())
        }
    }
}

/// Whether robots.txt allows `url`. Its `Crawl-delay` paces the host's requests from the
/// page's own on (robots.txt itself was a request to the host, and counts).
async fn obey_robots(context: &PageContext, robots: &RobotsCache, job: &Job) -> bool {
    let url = &job.url;
    let rules = robots.rules_for(url, job.lineage()).await;
    if let Some(gap) = rules.crawl_delay() {
        context
            .fetcher
            .slow_down(url.host_str().unwrap_or_default(), gap);
    }
    rules.allows(url)
}

/// Parses the page on a blocking thread, off the event loop, and sends its records.
async fn parse_and_write(
    context: &PageContext,
    job: &Job,
    page: Page,
    uses: LinkUses,
    started: Instant,
    visit: &mut HostVisit,
) -> (Outcome, PageLinks) {
    if page.truncated {
        tracing::warn!(bytes = page.body.len(), "body cut at --max-body");
    }
    let (status, bytes, truncated) = (page.status, page.body.len() as u64, page.truncated);
    let (links, format) = (context.links, context.format);
    let (source, depth) = (job.source().to_owned(), job.depth);
    let parsed = context
        .parser
        .run(move || {
            let meta = PageMeta {
                source: &source,
                depth,
                status,
            };
            let (records, found) = parse_page(&page, meta, &links, format, uses);
            (records.finish(source), found)
        })
        .await;
    let (records, found) = parsed.unwrap_or_else(|err| {
        tracing::error!(error = %err, "parsing panicked");
        (Records::none(job.source().to_owned()), PageLinks::default())
    });
    let count = records.count;
    visit.written = send_records(context, records).await;
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
    (outcome, found)
}

/// Hands a page's records to the writer and, with `confirm_writes`, waits until they are
/// flushed. Returns `false` when the output went away first: the run is ending.
async fn send_records(context: &PageContext, mut records: Records) -> bool {
    let flushed = context.confirm_writes.then(|| {
        let (tx, rx) = oneshot::channel();
        records.flushed = Some(tx);
        rx
    });
    let written = match context.output.send(records).await {
        Ok(()) => match flushed {
            Some(flushed) => flushed.await.is_ok(),
            None => true,
        },
        Err(_) => false,
    };
    if !written {
        tracing::debug!("output closed; page dropped");
    }
    written
}
