//! `--check`: the status of every link the pages carry, found once per run.
//!
//! [`LinkChecker`] keeps one entry per distinct link (its [`UrlKey`], fragment aside): the
//! link's [`LinkStatus`], or the check in progress that every page carrying the link waits
//! on (a `OnceCell` per link). A page the crawl fetched gives its own answer to the
//! registry ([`LinkChecker::answered`]), so a link to it found later is not requested
//! again; any other link gets one request, a GET whose body is not read, through the
//! crawl's one [`Fetcher`] (pacer turns, host health, redirects), with the crawl's retries,
//! robots.txt when it is obeyed, and `--per-host`.
//!
//! With `--check-fragments` a link `page#name` whose page answered 2xx is
//! [`LinkStatus::FragmentMissing`] when the page is HTML and has no such target (see
//! [`crate::fragment`]). The page's targets come with its entry: from the crawl,
//! which gives each page it parsed ([`LinkChecker::anchors_found`]), or from a check that
//! reads the body (up to `--max-body`) of an HTML answer, made for a link with a fragment
//! instead of the check that does not; a link with a fragment to a page whose status is known
//! without its targets gets that one request more.
//!
//! A check is a request like a page's and counts under `-c`: it runs on the place of the
//! page that asked for it, or on a place of the global limit borrowed while it is free, and
//! a page checks at most [`CHECKS_PER_PAGE`] of its links at once. The registry holds a
//! small status per distinct link of the run, as the seen set holds a fingerprint.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use futures_util::stream::{FuturesOrdered, StreamExt};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore, SemaphorePermit};
use url::Url;

use crate::fetch::retry::RetryPolicy;
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::fragment::{self, Anchors};
use crate::job::Lineage;
use crate::parse_pool::ParsePool;
use crate::robots::RobotsCache;
use crate::seen::{fingerprint_text, UrlKey};

/// Links of one page checked at once, at most (each on a place under `-c`).
pub(crate) const CHECKS_PER_PAGE: usize = 16;

/// What a link came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkStatus {
    /// The HTTP status of the final answer, after redirects.
    Code(u16),
    /// No answer: the failure reason the summary counts pages by (`dns`, `timeout`, …), or
    /// `robots` when robots.txt disallows the link.
    Failed(String),
    /// Not checked: not an http(s) link.
    Unchecked,
    /// `--check-fragments`: the link's page answered 2xx and is HTML, and nothing in it has
    /// the link's fragment as its `id` (or `<a name>`).
    FragmentMissing,
}

impl LinkStatus {
    /// The status a failed request gives a link: its HTTP status if it got an answer.
    pub(crate) fn of_error(error: &FetchError) -> LinkStatus {
        match error {
            FetchError::Status(code) => LinkStatus::Code(*code),
            other => LinkStatus::Failed(other.reason()),
        }
    }

    /// Disallowed by robots.txt: not requested.
    pub(crate) fn robots() -> LinkStatus {
        LinkStatus::Failed("robots".into())
    }

    /// Broken: checked, and not a 2xx answer.
    pub(crate) fn is_broken(&self) -> bool {
        match self {
            LinkStatus::Code(code) => !(200..300).contains(code),
            LinkStatus::Failed(_) | LinkStatus::FragmentMissing => true,
            LinkStatus::Unchecked => false,
        }
    }

    /// A 2xx answer.
    fn is_success(&self) -> bool {
        matches!(self, LinkStatus::Code(code) if (200..300).contains(code))
    }
}

impl fmt::Display for LinkStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkStatus::Code(code) => write!(f, "{code}"),
            LinkStatus::Failed(reason) => f.write_str(reason),
            LinkStatus::Unchecked => f.write_str("-"),
            LinkStatus::FragmentMissing => f.write_str("fragment-missing"),
        }
    }
}

/// The links checked in a run, for the summary: each distinct link once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkCounts {
    /// Distinct links given a status (`-` aside).
    pub checked: u64,
    /// Of those, the broken ones by status (`404`, `dns`, …).
    pub broken: BTreeMap<String, u64>,
}

impl LinkCounts {
    /// Broken links, all statuses together.
    pub fn broken_total(&self) -> u64 {
        self.broken.values().sum()
    }

    fn count(&mut self, status: &LinkStatus) {
        if matches!(status, LinkStatus::Unchecked) {
            return;
        }
        self.checked += 1;
        if status.is_broken() {
            *self.broken.entry(status.to_string()).or_default() += 1;
        }
    }
}

/// A page's fragment targets once known: `None` when it is not an HTML page areq read (its
/// fragments are not judged).
type AnchorsCell = Arc<OnceCell<Option<Anchors>>>;

/// One distinct link: its status once known, and whether a page carrying it was counted.
#[derive(Debug, Default)]
struct Entry {
    status: Arc<OnceCell<LinkStatus>>,
    /// With `--check-fragments`, the page's targets, made when the crawl parsed the page or
    /// a link with a fragment asked for them.
    anchors: Option<AnchorsCell>,
    /// A page carrying the link asked for its status (the summary counts it).
    counted: bool,
}

/// The page whose links are checked, and its own fragment targets (`--check-fragments`):
/// a link into the page itself (`#name`) is judged by them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkingPage<'a> {
    /// The page's final URL, fragment aside.
    pub(crate) key: UrlKey,
    /// Its targets.
    pub(crate) anchors: &'a Anchors,
}

/// The run's link statuses, and the checks in progress.
pub(crate) struct LinkChecker {
    fetcher: Fetcher,
    retry: RetryPolicy,
    /// robots.txt rules, when they are obeyed.
    robots: Option<Arc<RobotsCache>>,
    /// The places under `-c`, which pages take too.
    places: Arc<Semaphore>,
    /// Checks in flight per host, at most.
    per_host: usize,
    /// Each host with checks in flight or waiting, and its limit.
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    links: Mutex<HashMap<UrlKey, Entry>>,
    /// Judge links' fragments (`--check-fragments`).
    fragments: bool,
    /// Where bodies read for their fragment targets are parsed.
    parser: Arc<ParsePool>,
    /// The links with a fragment counted for the summary, by the fingerprint of their text
    /// (with `--check-fragments`, `page#a` and `page#b` are two links).
    fragment_links: Mutex<HashSet<u128>>,
    counts: Mutex<LinkCounts>,
}

impl fmt::Debug for LinkChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkChecker")
            .field("per_host", &self.per_host)
            .field("links", &lock(&self.links).len())
            .finish_non_exhaustive()
    }
}

/// A place under `-c` a check runs on: the asking page's own, or one borrowed.
enum Place<'a> {
    Own(#[allow(dead_code)] SemaphorePermit<'a>),
    Borrowed(#[allow(dead_code)] OwnedSemaphorePermit),
}

impl LinkChecker {
    /// A checker sending its requests through `fetcher`, on the `places` pages take too;
    /// with `fragments`, judging links' fragments, parsing bodies on `parser`.
    pub(crate) fn new(
        fetcher: Fetcher,
        retry: RetryPolicy,
        robots: Option<Arc<RobotsCache>>,
        places: Arc<Semaphore>,
        per_host: usize,
        fragments: bool,
        parser: Arc<ParsePool>,
    ) -> LinkChecker {
        LinkChecker {
            fetcher,
            retry,
            robots,
            places,
            per_host,
            hosts: Mutex::new(HashMap::new()),
            links: Mutex::new(HashMap::new()),
            fragments,
            parser,
            fragment_links: Mutex::new(HashSet::new()),
            counts: Mutex::new(LinkCounts::default()),
        }
    }

    /// The crawl fetched `url` and got `status`: a link to it is not requested again.
    pub(crate) fn answered(&self, url: &Url, status: LinkStatus) {
        let cell = self.cell(UrlKey::of(url));
        // Already set: a check got there first, with an answer as good.
        let _ = cell.set(status);
    }

    /// Whether links with a fragment are judged by their page's anchors
    /// (`--check-fragments`).
    pub(crate) fn judges_fragments(&self) -> bool {
        self.fragments
    }

    /// The crawl fetched `url` and found `anchors` in it (`None`: not an HTML page): a link
    /// with a fragment to it is judged by them, without a request. Kept only when fragments
    /// are judged.
    pub(crate) fn anchors_found(&self, url: &Url, anchors: Option<Anchors>) {
        if self.fragments {
            let cell = self.anchors_cell(UrlKey::of(url));
            // Already set: a check read the page first.
            let _ = cell.set(anchors);
        }
    }

    /// Whether the link of `key` has its status.
    pub(crate) fn known(&self, key: UrlKey) -> bool {
        lock(&self.links)
            .get(&key)
            .is_some_and(|entry| entry.status.initialized())
    }

    /// The statuses of a page's `links`, in order: known ones at once, the others checked
    /// ([`CHECKS_PER_PAGE`] at once), each on `own`, the page's place under `-c`, or on a
    /// place borrowed while one is free. `lineage` is the page's; `page`, with
    /// `--check-fragments`, the page itself.
    pub(crate) async fn statuses(
        &self,
        links: &[Url],
        lineage: Lineage<'_>,
        page: Option<LinkingPage<'_>>,
    ) -> Vec<LinkStatus> {
        let own = Semaphore::new(1);
        let mut statuses = Vec::with_capacity(links.len());
        let mut links = links.iter();
        let mut checking = FuturesOrdered::new();
        loop {
            while checking.len() < CHECKS_PER_PAGE {
                let Some(url) = links.next() else { break };
                checking.push_back(self.status(url, lineage, &own, page));
            }
            match checking.next().await {
                Some(status) => statuses.push(status),
                None => return statuses,
            }
        }
    }

    /// What the run's checks came to.
    pub(crate) fn counts(&self) -> LinkCounts {
        lock(&self.counts).clone()
    }

    /// The status of one link, checked unless known or being checked; with
    /// `--check-fragments`, its fragment judged in its page.
    async fn status(
        &self,
        url: &Url,
        lineage: Lineage<'_>,
        own: &Semaphore,
        page: Option<LinkingPage<'_>>,
    ) -> LinkStatus {
        if !matches!(url.scheme(), "http" | "https") {
            return LinkStatus::Unchecked;
        }
        let key = UrlKey::of(url);
        let fragment = self.fragments && fragment::sought(url).is_some();
        let cell = self.cell(key);
        let anchors = fragment.then(|| self.anchors_cell(key));
        let status = cell
            .get_or_init(|| self.check(url, lineage, own, anchors.as_ref()))
            .await
            .clone();
        let status = match &anchors {
            Some(anchors) if status.is_success() => {
                let own_page = page.filter(|page| page.key == key);
                let found = match own_page {
                    Some(page) => page.anchors.has_fragment_of(url),
                    None => self
                        .anchors_of(url, lineage, own, anchors)
                        .await
                        .as_ref()
                        .is_none_or(|anchors| anchors.has_fragment_of(url)),
                };
                if found {
                    status
                } else {
                    LinkStatus::FragmentMissing
                }
            }
            _ => status,
        };
        let first = if fragment {
            lock(&self.fragment_links).insert(fingerprint_text(url.as_str()))
        } else {
            lock(&self.links)
                .get_mut(&key)
                .is_some_and(|entry| !std::mem::replace(&mut entry.counted, true))
        };
        if first {
            lock(&self.counts).count(&status);
        }
        status
    }

    /// The entry of `key`'s link, made if new.
    fn cell(&self, key: UrlKey) -> Arc<OnceCell<LinkStatus>> {
        Arc::clone(&lock(&self.links).entry(key).or_default().status)
    }

    /// The fragment targets of `key`'s page, made if new.
    fn anchors_cell(&self, key: UrlKey) -> AnchorsCell {
        let mut links = lock(&self.links);
        let anchors = &mut links.entry(key).or_default().anchors;
        Arc::clone(anchors.get_or_insert_with(AnchorsCell::default))
    }

    /// The fragment targets of `url`'s page: known, or read by one more request.
    async fn anchors_of<'c>(
        &self,
        url: &Url,
        lineage: Lineage<'_>,
        own: &Semaphore,
        cell: &'c AnchorsCell,
    ) -> &'c Option<Anchors> {
        cell.get_or_init(|| async {
            let (status, anchors) = self.limited(url, lineage, own, true).await;
            tracing::debug!(link = %url, status = %status, "link read for its fragments");
            anchors
        })
        .await
    }

    /// The status of `url`, by one request; with `anchors` (a link with a fragment), one that
    /// reads an HTML answer's body and sets the page's targets there too.
    async fn check(
        &self,
        url: &Url,
        lineage: Lineage<'_>,
        own: &Semaphore,
        anchors: Option<&AnchorsCell>,
    ) -> LinkStatus {
        let (status, found) = self.limited(url, lineage, own, anchors.is_some()).await;
        if let Some(cell) = anchors {
            // Already set: the crawl or another check read the page first.
            let _ = cell.set(found);
        }
        tracing::debug!(link = %url, status = %status, "link checked");
        status
    }

    /// One request for `url` (with retries), unless robots.txt disallows it: under its
    /// host's limit, on a place under `-c`; with `read`, an HTML answer's body is read for
    /// its fragment targets.
    async fn limited(
        &self,
        url: &Url,
        lineage: Lineage<'_>,
        own: &Semaphore,
        read: bool,
    ) -> (LinkStatus, Option<Anchors>) {
        let host = url.host_str().unwrap_or_default();
        let limit = self.host_limit(host);
        let answer = {
            // Never closed.
            let _slot = limit.acquire().await.expect("host limits stay open");
            let _place = self.place(own).await;
            self.request(url, host, lineage, read).await
        };
        drop(limit);
        self.forget_host_if_idle(host);
        answer
    }

    async fn request(
        &self,
        url: &Url,
        host: &str,
        lineage: Lineage<'_>,
        read: bool,
    ) -> (LinkStatus, Option<Anchors>) {
        if let Some(robots) = &self.robots {
            let rules = robots.rules_for(url, lineage).await;
            if let Some(gap) = rules.crawl_delay() {
                self.fetcher.slow_down(host, gap);
            }
            if !rules.allows(url) {
                return (LinkStatus::robots(), None);
            }
        }
        if read {
            return self.read(url, lineage).await;
        }
        let status = match self
            .fetcher
            .check_with_retries(url, lineage, &self.retry)
            .await
        {
            Ok(code) => LinkStatus::Code(code),
            Err(err) => LinkStatus::of_error(&err),
        };
        (status, None)
    }

    /// GETs `url` as a page is fetched, its HTML body read up to `--max-body`, and finds the
    /// page's fragment targets.
    async fn read(&self, url: &Url, lineage: Lineage<'_>) -> (LinkStatus, Option<Anchors>) {
        match self
            .fetcher
            .fetch_with_retries(url, lineage, &self.retry)
            .await
        {
            Ok(Fetched::Html(page)) => {
                let status = LinkStatus::Code(page.status);
                let anchors = self.parser.run(move || Anchors::of_page(&page)).await;
                if let Err(err) = &anchors {
                    tracing::error!(link = %url, error = %err, "parsing panicked");
                }
                (status, anchors.ok())
            }
            Ok(Fetched::NotHtml { status, .. }) => (LinkStatus::Code(status), None),
            Err(err) => (LinkStatus::of_error(&err), None),
        }
    }

    /// A place under `-c`: the page's own when free, else one of the global limit.
    async fn place<'a>(&self, own: &'a Semaphore) -> Place<'a> {
        // Neither semaphore is ever closed.
        tokio::select! {
            biased;
            permit = own.acquire() => Place::Own(permit.expect("a page's place stays open")),
            permit = Arc::clone(&self.places).acquire_owned() => {
                Place::Borrowed(permit.expect("the global limit stays open"))
            }
        }
    }

    /// One of `host`'s `--per-host` slots, shared by link checks and the crawl's own page
    /// fetches (which also hold the frontier's slot), so both together stay within
    /// `--per-host`. Held for one request; never while waiting for link checks.
    pub(crate) async fn host_slot(&self, host: &str) -> HostSlot<'_> {
        let limit = self.host_limit(host);
        // Never closed.
        let permit = Arc::clone(&limit)
            .acquire_owned()
            .await
            .expect("host limits stay open");
        drop(limit);
        HostSlot {
            checker: self,
            host: host.to_owned(),
            permit: Some(permit),
        }
    }

    /// `host`'s limit of requests in flight (checks and, with `--check`, page fetches), made
    /// if it has none.
    fn host_limit(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = lock(&self.hosts);
        if let Some(limit) = hosts.get(host) {
            return Arc::clone(limit);
        }
        let limit = Arc::new(Semaphore::new(self.per_host));
        hosts.insert(host.to_owned(), Arc::clone(&limit));
        limit
    }

    /// Forgets `host`'s limit when no check holds or waits for it, so the map stays as small
    /// as the set of hosts being checked.
    fn forget_host_if_idle(&self, host: &str) {
        let mut hosts = lock(&self.hosts);
        if hosts
            .get(host)
            .is_some_and(|limit| Arc::strong_count(limit) == 1)
        {
            hosts.remove(host);
        }
    }
}

/// A slot of a host's `--per-host` limit, given back (and the host's limit forgotten when
/// idle) on drop.
pub(crate) struct HostSlot<'a> {
    checker: &'a LinkChecker,
    host: String,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for HostSlot<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.checker.forget_host_if_idle(&self.host);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|err| err.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_codes_reasons_or_a_dash() {
        assert_eq!(LinkStatus::Code(404).to_string(), "404");
        assert_eq!(
            LinkStatus::of_error(&FetchError::Status(410)),
            LinkStatus::Code(410)
        );
        let dns = LinkStatus::of_error(&FetchError::Dns("no".into()));
        assert_eq!(dns.to_string(), "dns");
        assert_eq!(LinkStatus::robots().to_string(), "robots");
        assert_eq!(LinkStatus::Unchecked.to_string(), "-");
        assert_eq!(LinkStatus::FragmentMissing.to_string(), "fragment-missing");
    }

    #[test]
    fn broken_is_checked_and_not_2xx() {
        assert!(!LinkStatus::Code(200).is_broken());
        assert!(!LinkStatus::Code(204).is_broken());
        assert!(LinkStatus::Code(301).is_broken());
        assert!(LinkStatus::Code(404).is_broken());
        assert!(LinkStatus::Failed("timeout".into()).is_broken());
        assert!(!LinkStatus::Unchecked.is_broken());
        assert!(LinkStatus::FragmentMissing.is_broken());
    }

    #[test]
    fn counts_name_broken_links_by_status_and_skip_unchecked_ones() {
        let mut counts = LinkCounts::default();
        for status in [
            LinkStatus::Code(200),
            LinkStatus::Code(404),
            LinkStatus::Code(404),
            LinkStatus::Failed("dns".into()),
            LinkStatus::Unchecked,
        ] {
            counts.count(&status);
        }
        assert_eq!(counts.checked, 4);
        assert_eq!(counts.broken_total(), 3);
        assert_eq!(counts.broken["404"], 2);
        assert_eq!(counts.broken["dns"], 1);
    }
}
