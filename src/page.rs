//! One page, start to end: robots.txt check, fetch (with retries), parse off the event loop,
//! with `--check` the statuses of its links, records to the writer. The scheduler starts one
//! task a page and gets a [`PageResult`] back.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::check::{LinkChecker, LinkStatus, LinkingPage};
use crate::config::{Format, LinkOptions};
use crate::fetch::retry::RetryPolicy;
use crate::fetch::{FetchError, Fetched, Fetcher, Page};
use crate::job::{Job, Lineage};
use crate::output::{PageMeta, PageRecords, Records};
use crate::parking::{Parking, WaitingPage};
use crate::parse::{parse_page, LinkUses, PageLinks};
use crate::parse_pool::ParsePool;
use crate::robots::RobotsCache;
use crate::seen::UrlKey;

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
    /// The threads pages are parsed on (link checks parse there too).
    pub(crate) parser: Arc<ParsePool>,
    /// The places under `-c`: a page takes one, and its link checks may borrow more.
    pub(crate) places: Arc<Semaphore>,
    /// The run's link statuses, with `--check`.
    pub(crate) checker: Option<Arc<LinkChecker>>,
    /// Where pages wait for the crawl of their links, with `--check` and the in-memory
    /// frontier.
    pub(crate) parking: Option<Arc<Parking>>,
    /// A page ends only once the writer has flushed its records (a shared frontier marks
    /// it done then).
    pub(crate) confirm_writes: bool,
    /// Stops every page that has not handed its records to the writer yet (the run is
    /// ending); a page whose records are queued is written and acknowledged, never dropped
    /// half-way, so a stopped page is either written or handed back, not both.
    pub(crate) stop: CancellationToken,
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
    /// The run stopped before the page's records went to the writer: nothing of it was
    /// written, and it goes back to the frontier.
    Stopped,
}

impl Outcome {
    /// The outcome's name in crawl-wide counts.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Outcome::Parsed { .. } => "ok",
            Outcome::NotHtml { .. } => "not_html",
            Outcome::Failed(_) => "failed",
            Outcome::Robots => "robots",
            Outcome::Stopped => "stopped",
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
    /// The page's place under `-c`, freed once the frontier knows the page ended (`None`:
    /// a parked page gave it back).
    pub(crate) permit: Option<OwnedSemaphorePermit>,
    /// The frontier was told the page's fetch ended, and given the links it follows, before
    /// the page waited for its links' crawl (see [`crate::parking`]).
    pub(crate) told_frontier: bool,
}

/// What a task learns while it works.
#[derive(Debug, Default)]
struct HostVisit {
    /// The page's records reached the writer (see [`PageResult::written`]).
    written: bool,
    /// The page's place under `-c`, while it holds one.
    place: Option<OwnedSemaphorePermit>,
    /// See [`PageResult::told_frontier`].
    told_frontier: bool,
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
    let mut visit = HostVisit {
        written: true,
        place: Some(permit),
        told_frontier: false,
    };
    let (outcome, links) = visit_page(&context, &job, uses, &mut visit)
        .await
        .unwrap_or_else(|| {
            visit.written = false;
            (Outcome::Stopped, PageLinks::default())
        });
    PageResult {
        job,
        outcome,
        links,
        written: visit.written,
        permit: visit.place,
        told_frontier: visit.told_frontier,
    }
}

/// The page's steps; `None` when the run stopped before its records went to the writer.
async fn visit_page(
    context: &PageContext,
    job: &Job,
    uses: LinkUses,
    visit: &mut HostVisit,
) -> Option<(Outcome, PageLinks)> {
    if let Some(robots) = &context.robots {
        if !unless_stopped(context, obey_robots(context, robots, job)).await? {
            tracing::info!("skipped: disallowed by robots.txt");
            tell_checker(context, job, LinkStatus::robots(), true).await;
            return Some((Outcome::Robots, PageLinks::default()));
        }
    }
    let started = Instant::now();
    let fetched = async {
        // With --check, a page's fetch and the link checks to its host share the host's
        // --per-host slots, so together they stay within it.
        let _slot = match &context.checker {
            Some(checker) => Some(checker.host_slot(job.host()).await),
            None => None,
        };
        context
            .fetcher
            .fetch_with_retries(&job.url, job.lineage(), &context.retry)
            .await
    };
    let fetched = unless_stopped(context, fetched).await?;
    // A page whose anchors judge fragments wakes the pages parked for it once they are
    // known (after parsing), or a parked page would request it again to read them.
    let anchors_later = fetched.is_ok()
        && context
            .checker
            .as_ref()
            .is_some_and(|checker| checker.judges_fragments());
    tell_checker(context, job, answer_of(&fetched), !anchors_later).await;
    Some(match fetched {
        Ok(Fetched::Html(page)) => {
            parse_and_write(context, job, page, uses, started, visit).await?
        }
        Ok(Fetched::NotHtml {
            status,
            content_type,
        }) => {
            tracing::info!(status, content_type, "skipped: not HTML");
            if let Some(checker) = &context.checker {
                checker.anchors_found(&job.url, None);
            }
            if let Some(parking) = &context.parking {
                parking.resolved(UrlKey::of(&job.url));
            }
            // No records, but the page is complete (for `--resume`).
            visit.written = send_records(context, Records::none(job.source().to_owned())).await?;
            (Outcome::NotHtml { status }, PageLinks::default())
        }
        Err(err) => {
            tracing::warn!(error = %err, "page failed");
            (Outcome::Failed(err), PageLinks::default())
        }
    })
}

/// What a link to the page is, by the page's own answer.
fn answer_of(fetched: &Result<Fetched, FetchError>) -> LinkStatus {
    match fetched {
        Ok(Fetched::Html(page)) => LinkStatus::Code(page.status),
        Ok(Fetched::NotHtml { status, .. }) => LinkStatus::Code(*status),
        Err(err) => LinkStatus::of_error(err),
    }
}

/// Gives the page's answer to the link checker, if links are checked: a link to the page is
/// not requested again (in a shared crawl, by any worker: the answer is published first).
/// With `wake_parked`, pages parked for it are woken too.
async fn tell_checker(context: &PageContext, job: &Job, status: LinkStatus, wake_parked: bool) {
    if let Some(checker) = &context.checker {
        checker.answered(&job.url, status).await;
    }
    if let Some(parking) = context.parking.as_ref().filter(|_| wake_parked) {
        parking.resolved(UrlKey::of(&job.url));
    }
}

/// Runs `step` unless the run stops first: `None` then, and the step is dropped.
async fn unless_stopped<T>(context: &PageContext, step: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        () = context.stop.cancelled() => None,
        done = step => Some(done),
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

/// Parses the page on a blocking thread, off the event loop, and sends its records; `None`
/// when the run stopped before they went to the writer.
async fn parse_and_write(
    context: &PageContext,
    job: &Job,
    page: Page,
    uses: LinkUses,
    started: Instant,
    visit: &mut HostVisit,
) -> Option<(Outcome, PageLinks)> {
    if page.truncated {
        tracing::warn!(bytes = page.body.len(), "body cut at --max-body");
    }
    let (status, bytes, truncated) = (page.status, page.body.len() as u64, page.truncated);
    let page_key = UrlKey::of(&page.final_url);
    let (links, format) = (context.links, context.format);
    let (source, depth) = (job.source().to_owned(), job.depth);
    let uses = LinkUses {
        check: context.checker.is_some(),
        ..uses
    };
    let parsed = context.parser.run(move || {
        let meta = PageMeta {
            source: &source,
            depth,
            status,
        };
        let (records, found) = parse_page(&page, meta, &links, format, uses);
        (records, found, source)
    });
    let (records, found) = match unless_stopped(context, parsed).await? {
        Ok((records, mut found, source)) => match &context.checker {
            Some(checker) => {
                let checked =
                    with_statuses(context, checker, records, job, page_key, &mut found, visit);
                (
                    unless_stopped(context, checked).await?.finish(source),
                    found,
                )
            }
            None => (records.finish(source), found),
        },
        Err(err) => {
            tracing::error!(error = %err, "parsing panicked");
            (Records::none(job.source().to_owned()), PageLinks::default())
        }
    };
    let count = records.count;
    visit.written = send_records(context, records).await?;
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
    Some((outcome, found))
}

/// The page's records, each with its link's status (`--check`): the links are checked (or
/// their statuses known) first.
/// With a parking area, the page may wait there, without its place, for the crawl of the
/// pages its links lead to; the links it follows then go to the frontier first.
/// With `--check-fragments`, the page's anchors (found in `found`) judge links into it, here
/// and in the pages found later.
async fn with_statuses(
    context: &PageContext,
    checker: &LinkChecker,
    mut records: PageRecords,
    job: &Job,
    page_key: UrlKey,
    found: &mut PageLinks,
    visit: &mut HostVisit,
) -> PageRecords {
    let links = std::mem::take(&mut found.to_check);
    let anchors = found.anchors.take();
    if let Some(anchors) = &anchors {
        checker.anchors_found(&job.url, Some(anchors.clone()));
    }
    // Pages parked for this one were left waiting until its anchors were known.
    if let Some(parking) = &context.parking {
        parking.resolved(UrlKey::of(&job.url));
    }
    let linking = anchors.as_ref().map(|anchors| LinkingPage {
        key: page_key,
        anchors,
    });
    // The links are found below the page, never the input URL itself.
    let lineage = Lineage {
        input: false,
        ..job.lineage()
    };
    let (urls, marks): (Vec<url::Url>, Vec<_>) = links
        .into_iter()
        .map(|(url, nofollow, via)| (url, (nofollow, via)))
        .unzip();
    let statuses = match &context.parking {
        Some(parking) => {
            let page = WaitingPage {
                job,
                lineage,
                linking,
                children: &mut found.followed.children,
            };
            let (place, told) = (&mut visit.place, &mut visit.told_frontier);
            parking.statuses(checker, &urls, page, place, told).await
        }
        None => checker.statuses(&urls, lineage, linking).await,
    };
    for ((url, (nofollow, via)), status) in urls.iter().zip(marks).zip(&statuses) {
        records.push(url.as_str(), nofollow, via, Some(&status.to_string()));
    }
    records
}

/// Hands a page's records to the writer and, with `confirm_writes`, waits until they are
/// flushed. Returns `None` when the run stopped while the writer's queue was full (nothing
/// was queued), and `Some(false)` when the output went away first.
///
/// Once the records are queued the page is committed: the run stopping does not cut the
/// wait for the writer short, so a page queued is written and acknowledged, or (the writer
/// stopped at once, the second Ctrl-C) neither.
async fn send_records(context: &PageContext, mut records: Records) -> Option<bool> {
    let flushed = context.confirm_writes.then(|| {
        let (tx, rx) = oneshot::channel();
        records.flushed = Some(tx);
        rx
    });
    let written = match unless_stopped(context, context.output.reserve()).await? {
        Ok(place) => {
            place.send(records);
            match flushed {
                Some(flushed) => flushed.await.is_ok(),
                None => true,
            }
        }
        Err(_) => false,
    };
    if !written {
        tracing::debug!("output closed; page dropped");
    }
    Some(written)
}
