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
//!
//! In a shared crawl the registry is the worker's view of the crawl's ([`SharedChecks`]): a
//! page asks the crawl, in one batch, about its links this worker knows nothing of
//! ([`LinkChecker::statuses`]); a link another worker published costs no request, a link
//! nobody holds is claimed, checked here and published, and a link another worker is checking
//! is waited for (while its claim lives, at most [`CLAIM_WAIT`]). A page this worker fetched
//! publishes its own answer ([`LinkChecker::answered`]). Each link is asked about once per
//! worker: a page finding a link another page of this worker asked about waits for that
//! answer. A crawl that does not answer (Redis away for a `--lease`) leaves the link to be
//! checked here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesOrdered, StreamExt};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore, SemaphorePermit, SetOnce};
use url::Url;

use crate::fetch::retry::RetryPolicy;
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::fragment::{self, Anchors};
use crate::job::Lineage;
use crate::parse_pool::ParsePool;
use crate::robots::RobotsCache;
use crate::seen::{fingerprint_text, UrlKey};
use crate::shared::{SharedChecks, SharedStatus};

/// Links of one page checked at once, at most (each on a place under `-c`).
pub(crate) const CHECKS_PER_PAGE: usize = 16;

/// How long, in all, a link waits for another worker's check of it (while that worker keeps
/// its claim alive) before it is checked here after all.
pub(crate) const CLAIM_WAIT: Duration = Duration::from_secs(120);

/// The first pause before asking the crawl again about a link another worker is checking;
/// each pause is twice the last, up to [`CLAIM_POLL_MAX`], and never past the claim's life.
const CLAIM_POLL_FIRST: Duration = Duration::from_millis(50);

/// The longest pause between two questions about a link another worker is checking.
const CLAIM_POLL_MAX: Duration = Duration::from_secs(1);

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

    /// The status a shared crawl's text stands for (its [`Display`](fmt::Display) form).
    pub(crate) fn of_text(text: &str) -> LinkStatus {
        match text {
            "-" => LinkStatus::Unchecked,
            "fragment-missing" => LinkStatus::FragmentMissing,
            _ => match text.parse::<u16>() {
                Ok(code) => LinkStatus::Code(code),
                Err(_) => LinkStatus::Failed(text.to_owned()),
            },
        }
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

/// A shared crawl's answer about a link, once it came: `None` when the crawl did not answer.
type LookupCell = Arc<SetOnce<Option<SharedStatus>>>;

/// One distinct link: its status once known, and whether a page carrying it was counted.
#[derive(Debug, Default)]
struct Entry {
    status: Arc<OnceCell<LinkStatus>>,
    /// In a shared crawl, what the crawl said of the link when this worker asked (once).
    lookup: Option<LookupCell>,
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
    /// The crawl's statuses, shared by its workers (`--redis`).
    shared: Option<Arc<dyn SharedChecks>>,
}

impl fmt::Debug for LinkChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkChecker")
            .field("per_host", &self.per_host)
            .field("links", &lock(&self.links).len())
            .finish_non_exhaustive()
    }
}

/// The links a page asked a shared crawl about: each answered, or, when the page is dropped
/// before the answer came (the run stopped), answered "no answer", so a page waiting for it
/// goes on.
struct Asked(Vec<(UrlKey, LookupCell)>);

impl Drop for Asked {
    fn drop(&mut self) {
        for (_, cell) in &self.0 {
            let _ = cell.set(None);
        }
    }
}

/// A place under `-c` a check runs on: the asking page's own, or one borrowed.
enum Place<'a> {
    Own(#[allow(dead_code)] SemaphorePermit<'a>),
    Borrowed(#[allow(dead_code)] OwnedSemaphorePermit),
}

impl LinkChecker {
    /// A checker sending its requests through `fetcher`, on the `places` pages take too;
    /// with `fragments`, judging links' fragments, parsing bodies on `parser`; with `shared`,
    /// one of a shared crawl's workers.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        fetcher: Fetcher,
        retry: RetryPolicy,
        robots: Option<Arc<RobotsCache>>,
        places: Arc<Semaphore>,
        per_host: usize,
        fragments: bool,
        parser: Arc<ParsePool>,
        shared: Option<Arc<dyn SharedChecks>>,
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
            shared,
        }
    }

    /// The crawl fetched `url` and got `status`: a link to it is not requested again. In a
    /// shared crawl the answer is published for the other workers too, unless this worker
    /// knew the link's status already (then the crawl knows it).
    pub(crate) async fn answered(&self, url: &Url, status: LinkStatus) {
        let key = UrlKey::of(url);
        let cell = self.cell(key);
        let (text, broken) = (status.to_string(), status.is_broken());
        // Already set: a check got there first, with an answer as good.
        let known = matches!(
            cell.set(status),
            Err(tokio::sync::SetError::AlreadyInitializedError(_))
        );
        match &self.shared {
            Some(shared) if !known && matches!(url.scheme(), "http" | "https") => {
                let host = url.host_str().unwrap_or_default();
                shared.publish(key, host, &text, broken).await;
            }
            _ => {}
        }
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
        self.ask_crawl(links).await;
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

    /// In a shared crawl, asks the crawl, in one batch, about the `links` this worker has
    /// neither a status for nor asked about before, and keeps its answers: a status known,
    /// a claim this worker now holds (it checks the link), or another worker's claim (the
    /// link waits for that check). A page that finds a link asked about already waits for
    /// that answer instead ([`LinkChecker::settle`]).
    async fn ask_crawl(&self, links: &[Url]) {
        let Some(shared) = &self.shared else { return };
        let mut asked = Asked(Vec::new());
        let mut questions: Vec<(UrlKey, &str)> = Vec::new();
        {
            let mut entries = lock(&self.links);
            for url in links {
                if !matches!(url.scheme(), "http" | "https") {
                    continue;
                }
                let key = UrlKey::of(url);
                let entry = entries.entry(key).or_default();
                if entry.status.initialized() || entry.lookup.is_some() {
                    continue;
                }
                let cell = LookupCell::default();
                entry.lookup = Some(Arc::clone(&cell));
                asked.0.push((key, cell));
                questions.push((key, url.host_str().unwrap_or_default()));
            }
        }
        if questions.is_empty() {
            return;
        }
        let answers = match shared.look_up(&questions).await {
            Ok(answers) => answers,
            Err(err) => {
                tracing::warn!(error = %err, "link statuses not read from the shared crawl; checking here");
                return;
            }
        };
        for ((key, cell), answer) in asked.0.drain(..).zip(answers) {
            if let SharedStatus::Known(text) = &answer {
                // Already set or being set: this worker found it meanwhile.
                let _ = self.cell(key).set(LinkStatus::of_text(text));
            }
            let _ = cell.set(Some(answer));
        }
    }

    /// The status of the link `url` (of key `key`) in a shared crawl, from the crawl's answer
    /// (asked now if no page of this worker asked before): known; checked here and published
    /// when this worker holds its claim; or, when another worker holds it, asked again (with
    /// a growing pause) until that worker publishes it or its claim lapses and this worker
    /// takes it, at most [`CLAIM_WAIT`]: then checked here. Without a shared crawl, or when it
    /// does not answer, checked here.
    async fn settle(
        &self,
        url: &Url,
        key: UrlKey,
        lineage: Lineage<'_>,
        own: &Semaphore,
        anchors: Option<&AnchorsCell>,
    ) -> LinkStatus {
        let Some(shared) = &self.shared else {
            return self.check(url, lineage, own, anchors).await;
        };
        let host = url.host_str().unwrap_or_default();
        let asked = lock(&self.links)
            .get(&key)
            .and_then(|entry| entry.lookup.clone());
        let mut answer = match asked {
            Some(cell) => cell.wait().await.clone(),
            None => shared
                .look_up(&[(key, host)])
                .await
                .ok()
                .and_then(|mut a| a.pop()),
        };
        let waiting_since = Instant::now();
        let mut pause = CLAIM_POLL_FIRST;
        loop {
            match answer {
                Some(SharedStatus::Known(text)) => return LinkStatus::of_text(&text),
                Some(SharedStatus::Mine) => {
                    let status = self.check(url, lineage, own, anchors).await;
                    let text = status.to_string();
                    shared.publish(key, host, &text, status.is_broken()).await;
                    return status;
                }
                Some(SharedStatus::Theirs(left)) if waiting_since.elapsed() < CLAIM_WAIT => {
                    tracing::debug!(link = %url, "link being checked by another worker; waiting");
                    tokio::time::sleep(pause.min(left + CLAIM_POLL_FIRST)).await;
                    pause = (pause * 2).min(CLAIM_POLL_MAX);
                    answer = shared
                        .look_up(&[(key, host)])
                        .await
                        .ok()
                        .and_then(|mut answers| answers.pop());
                }
                Some(SharedStatus::Theirs(_)) | None => {
                    return self.check(url, lineage, own, anchors).await;
                }
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
            .get_or_init(|| self.settle(url, key, lineage, own, anchors.as_ref()))
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
