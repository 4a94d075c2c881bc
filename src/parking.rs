//! `--check` without requesting a crawled page twice: a page whose links still without a
//! status are all pages the crawl will fetch *parks* until their fetches answer, instead of
//! checking them.
//!
//! A page with unknown links asks the scheduler ([`ParkRequest`]), which tells the frontier
//! the page's fetch is over (its host's slot is free, the links it follows are queued) and
//! answers which of the links the crawl will fetch: those queued, which the frontier then
//! serves ahead of their turn ([`Frontier::promote`](crate::frontier::Frontier::promote)),
//! and those whose page is in flight. The page checks the others on its own place under
//! `-c`, as before, then gives its place back and waits, its records held, on a place of
//! the parking area ([`Parking`], a fixed number of pages). A crawled page's answer
//! ([`Parking::resolved`]) wakes the pages waiting for it.
//!
//! Progress never depends on the crawl reaching a link: a page that finds the parking area
//! full checks its links itself, as does a parked page that has waited [`PARK_WAIT`], or
//! whose link's crawl will not come (the page ended without an answer, the page budget is
//! spent). A parked page holds no place under `-c` and no host's slot, and no page ever
//! waits on a parked one (only on fetches and checks, which hold places), so parked pages
//! cannot hold up the crawl they wait for; one that checks again takes a place first, as a
//! new page does, before it starts any check.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify, OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::check::{LinkChecker, LinkStatus, LinkingPage};
use crate::job::{Children, Job, Lineage};
use crate::seen::UrlKey;

/// Pages parked at once, at most, for each place under `-c`.
pub(crate) const PARKED_PER_PLACE: usize = 64;

/// What the parked pages hold (their links, a page's own share), at most, for each place
/// under `-c`.
pub(crate) const PARKED_BYTES_PER_PLACE: usize = 1 << 20;

/// What a parked page holds beside its links: its job, its wait.
const PARKED_PAGE_BYTES: usize = 512;

/// How long a parked page waits for the crawl of its links before it checks them itself.
pub(crate) const PARK_WAIT: Duration = Duration::from_secs(30);

/// A page's question to the scheduler: its fetch is over; which of `links` will the crawl
/// fetch?
#[derive(Debug)]
pub(crate) struct ParkRequest {
    /// The page's job.
    pub(crate) job: Job,
    /// The links the page's crawl follows, for the frontier to queue now.
    pub(crate) children: Children,
    /// Records the page will write, for the frontier's counts.
    pub(crate) records: u64,
    /// What the page holds while it waits: its links' text.
    pub(crate) bytes: usize,
    /// The keys of the page's links without a status yet.
    pub(crate) links: Vec<UrlKey>,
    /// Where the answer goes.
    pub(crate) reply: oneshot::Sender<ParkAnswer>,
}

/// The scheduler's answer to a [`ParkRequest`]: the frontier knows the page's fetch ended.
#[derive(Debug, Default)]
pub(crate) struct ParkAnswer {
    /// The links the crawl will fetch, and a place in the parking area to wait for them on;
    /// `None` when there is no place free or no such link.
    pub(crate) awaited: Option<(HashSet<UrlKey>, ParkPlace)>,
}

/// The pages waiting for the crawl of their links, and the scheduler's queue of questions.
pub(crate) struct Parking {
    /// Pages parked at once, at most.
    capacity: usize,
    /// Bytes the parked pages hold, at most.
    byte_capacity: usize,
    state: Mutex<State>,
    /// The places under `-c`: a parked page that checks again takes one first.
    places: Arc<Semaphore>,
    requests: mpsc::UnboundedSender<ParkRequest>,
    /// Taken by the scheduler when the crawl starts.
    questions: Mutex<Option<mpsc::UnboundedReceiver<ParkRequest>>>,
}

impl std::fmt::Debug for Parking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parking")
            .field("capacity", &self.capacity)
            .field("parked", &lock(&self.state).parked)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    /// Pages holding a place of the area.
    parked: usize,
    /// What they hold.
    bytes: usize,
    /// The parked pages waiting for each link's crawl.
    waiting: HashMap<UrlKey, Vec<Arc<Waiter>>>,
}

/// One parked page's wait.
#[derive(Debug, Default)]
struct Waiter {
    /// Links still without a status.
    remaining: AtomicUsize,
    /// A link's crawl will not come: the page checks it.
    given_up: AtomicBool,
    woken: Notify,
}

impl Waiter {
    fn wake(&self) {
        self.woken.notify_one();
    }
}

/// A place in the parking area, given back on drop.
#[derive(Debug)]
pub(crate) struct ParkPlace {
    parking: Arc<Parking>,
    bytes: usize,
}

impl Drop for ParkPlace {
    fn drop(&mut self) {
        let mut state = lock(&self.parking.state);
        state.parked -= 1;
        state.bytes -= self.bytes;
    }
}

impl Parking {
    /// A parking area for `concurrency` places under `-c` (`places`).
    pub(crate) fn new(concurrency: usize, places: Arc<Semaphore>) -> Parking {
        let (requests, questions) = mpsc::unbounded_channel();
        let concurrency = concurrency.max(1);
        Parking {
            capacity: concurrency.saturating_mul(PARKED_PER_PLACE),
            byte_capacity: concurrency.saturating_mul(PARKED_BYTES_PER_PLACE),
            state: Mutex::new(State::default()),
            places,
            requests,
            questions: Mutex::new(Some(questions)),
        }
    }

    /// The pages' questions, for the scheduler (once).
    pub(crate) fn questions(&self) -> Option<mpsc::UnboundedReceiver<ParkRequest>> {
        lock(&self.questions).take()
    }

    /// A place in the area for a page holding `bytes`, if one is free.
    pub(crate) fn reserve(self: &Arc<Self>, bytes: usize) -> Option<ParkPlace> {
        let mut state = lock(&self.state);
        let bytes = bytes + PARKED_PAGE_BYTES;
        if state.parked >= self.capacity || state.bytes + bytes > self.byte_capacity {
            tracing::debug!(parked = state.parked, bytes = state.bytes, "parking full");
            return None;
        }
        state.parked += 1;
        state.bytes += bytes;
        Some(ParkPlace {
            parking: Arc::clone(self),
            bytes,
        })
    }

    /// The crawl fetched the page of `key` and gave the checker its answer: the pages
    /// waiting for it are one link nearer done.
    pub(crate) fn resolved(&self, key: UrlKey) {
        let waiters = lock(&self.state).waiting.remove(&key);
        for waiter in waiters.into_iter().flatten() {
            if waiter.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                waiter.wake();
            }
        }
    }

    /// The crawl of `key`'s page will not give an answer (it ended without one): the pages
    /// waiting for it check their links themselves.
    pub(crate) fn given_up(&self, key: UrlKey) {
        let waiters = lock(&self.state).waiting.remove(&key);
        for waiter in waiters.into_iter().flatten() {
            give_up(&waiter);
        }
    }

    /// No queued page will be fetched any more (the page budget is spent): every parked page
    /// waiting for one, a link not in `in_flight`, checks its links itself.
    pub(crate) fn give_up_queued(&self, in_flight: &HashSet<UrlKey>) {
        let mut state = lock(&self.state);
        let queued: Vec<UrlKey> = state
            .waiting
            .keys()
            .filter(|key| !in_flight.contains(key))
            .copied()
            .collect();
        for key in queued {
            for waiter in state.waiting.remove(&key).into_iter().flatten() {
                give_up(&waiter);
            }
        }
    }

    /// Whether any page is parked.
    pub(crate) fn is_empty(&self) -> bool {
        lock(&self.state).parked == 0
    }

    /// The statuses of a page's `links`, in order, parking the page while the crawl fetches
    /// the pages some of them lead to. `place` is the page's place under `-c`: given back
    /// while it is parked, and taken again if it must check links after all. `children` go
    /// to the frontier if the scheduler is asked (`told` says so).
    pub(crate) async fn statuses(
        self: &Arc<Self>,
        checker: &LinkChecker,
        links: &[Url],
        page: WaitingPage<'_>,
        place: &mut Option<OwnedSemaphorePermit>,
        told: &mut bool,
    ) -> Vec<LinkStatus> {
        let unknown = unknown_keys(checker, links);
        if unknown.is_empty() {
            return checker.statuses(links, page.lineage, page.linking).await;
        }
        let (reply, answer) = oneshot::channel();
        let request = ParkRequest {
            job: page.job.clone(),
            children: std::mem::take(page.children),
            records: links.len() as u64,
            bytes: links.iter().map(|url| url.as_str().len()).sum(),
            links: unknown,
            reply,
        };
        let answer = match self.requests.send(request) {
            Ok(()) => answer.await.unwrap_or_default(),
            // The crawl is over: the run is stopping.
            Err(_) => ParkAnswer::default(),
        };
        *told = true;
        let Some((awaited, parked)) = answer.awaited else {
            tracing::debug!("not parked: checking the links");
            return checker.statuses(links, page.lineage, page.linking).await;
        };
        tracing::debug!(
            awaited = awaited.len(),
            "parked: waiting for the crawl of links"
        );
        let own: Vec<Url> = links
            .iter()
            .filter(|url| !awaited.contains(&UrlKey::of(url)))
            .cloned()
            .collect();
        // The links the crawl will not fetch are checked on the page's place first.
        checker.statuses(&own, page.lineage, page.linking).await;
        drop(place.take());
        self.wait(checker, &awaited).await;
        drop(parked);
        if !unknown_keys(checker, links).is_empty() {
            // Checks ahead: on a place of the page's own, taken before any starts.
            let permit = Arc::clone(&self.places).acquire_owned().await;
            *place = Some(permit.expect("the global limit stays open"));
        }
        checker.statuses(links, page.lineage, page.linking).await
    }

    /// Waits until the crawl answered every link of `keys` or will not (the page checks
    /// those), or [`PARK_WAIT`] has passed.
    async fn wait(&self, checker: &LinkChecker, keys: &HashSet<UrlKey>) {
        let waiter = Arc::new(Waiter::default());
        let mut registered = Vec::with_capacity(keys.len());
        {
            let mut state = lock(&self.state);
            for key in keys {
                // Under the lock: an answer given after this is seen by `resolved`.
                if !checker.known(*key) {
                    waiter.remaining.fetch_add(1, Ordering::AcqRel);
                    state
                        .waiting
                        .entry(*key)
                        .or_default()
                        .push(Arc::clone(&waiter));
                    registered.push(*key);
                }
            }
        }
        let _registered = Registered {
            parking: self,
            waiter: &waiter,
            keys: registered,
        };
        if waiter.remaining.load(Ordering::Acquire) == 0 {
            return;
        }
        if tokio::time::timeout(PARK_WAIT, waiter.woken.notified())
            .await
            .is_err()
        {
            tracing::debug!("parked page waited too long; checking its links");
        } else if waiter.given_up.load(Ordering::Acquire) {
            tracing::debug!("the crawl of some links will not come; checking them");
        }
    }
}

/// The page asking, as [`Parking::statuses`] needs it.
pub(crate) struct WaitingPage<'a> {
    /// The page's job.
    pub(crate) job: &'a Job,
    /// The lineage its links are checked with.
    pub(crate) lineage: Lineage<'a>,
    /// The page itself, for links into it (`--check-fragments`).
    pub(crate) linking: Option<LinkingPage<'a>>,
    /// The links its crawl follows, moved to the frontier when the scheduler is asked.
    pub(crate) children: &'a mut Children,
}

/// A parked page's place in the lists of the links it waits for, taken out on drop (the
/// page was woken, gave up, or the run stopped).
struct Registered<'a> {
    parking: &'a Parking,
    waiter: &'a Arc<Waiter>,
    keys: Vec<UrlKey>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.parking.state);
        for key in &self.keys {
            if let Some(waiters) = state.waiting.get_mut(key) {
                waiters.retain(|waiter| !Arc::ptr_eq(waiter, self.waiter));
                if waiters.is_empty() {
                    state.waiting.remove(key);
                }
            }
        }
    }
}

/// One of `waiter`'s links will get no answer from the crawl: the page checks it itself
/// once the others are answered.
fn give_up(waiter: &Waiter) {
    waiter.given_up.store(true, Ordering::Release);
    if waiter.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
        waiter.wake();
    }
}

/// The distinct keys of the http(s) links of `links` whose status is not known yet.
fn unknown_keys(checker: &LinkChecker, links: &[Url]) -> Vec<UrlKey> {
    let mut seen = HashSet::new();
    links
        .iter()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .map(UrlKey::of)
        .filter(|key| seen.insert(*key) && !checker.known(*key))
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the scheduler keeps for the parking area: the pages in flight, whose answers come
/// soon, and the questions of the pages.
#[derive(Debug)]
pub(crate) struct Attendant {
    parking: Arc<Parking>,
    checker: Arc<LinkChecker>,
    questions: mpsc::UnboundedReceiver<ParkRequest>,
    /// The key of each page task's URL.
    running: HashMap<tokio::task::Id, UrlKey>,
    /// The keys of [`Attendant::running`].
    in_flight: HashSet<UrlKey>,
}

impl Attendant {
    /// The attendant of `parking`, if it has one and its questions were not taken.
    pub(crate) fn of(
        parking: Option<&Arc<Parking>>,
        checker: Option<&Arc<LinkChecker>>,
    ) -> Option<Attendant> {
        let (parking, checker) = (parking?, checker?);
        Some(Attendant {
            questions: parking.questions()?,
            parking: Arc::clone(parking),
            checker: Arc::clone(checker),
            running: HashMap::new(),
            in_flight: HashSet::new(),
        })
    }

    /// The next page's question.
    pub(crate) async fn next_question(&mut self) -> Option<ParkRequest> {
        self.questions.recv().await
    }

    /// A page task started for `url`.
    pub(crate) fn started(&mut self, task: tokio::task::Id, url: &Url) {
        let key = UrlKey::of(url);
        self.running.insert(task, key);
        self.in_flight.insert(key);
    }

    /// A page task ended; the pages waiting for its answer check their links if it gave
    /// none.
    pub(crate) fn ended(&mut self, task: tokio::task::Id) {
        let Some(key) = self.running.remove(&task) else {
            return;
        };
        self.in_flight.remove(&key);
        if !self.checker.known(key) {
            self.parking.given_up(key);
        }
    }

    /// Which of a page's `links` the crawl will fetch, with a place to wait on for them (the
    /// page holds `bytes`):
    /// those in flight, and those `frontier` has queued (served first from now on), unless
    /// `queued_ended` (no queued page will start).
    pub(crate) fn awaited(
        &self,
        links: Vec<UrlKey>,
        bytes: usize,
        frontier: &mut impl crate::frontier::Frontier,
        queued_ended: bool,
    ) -> Option<(HashSet<UrlKey>, ParkPlace)> {
        let place = self.parking.reserve(bytes)?;
        let awaited: HashSet<UrlKey> = links
            .into_iter()
            .filter(|key| self.in_flight.contains(key) || (!queued_ended && frontier.promote(*key)))
            .collect();
        (!awaited.is_empty()).then_some((awaited, place))
    }

    /// No queued page will start any more: pages waiting for one check their links.
    pub(crate) fn queued_ended(&self) {
        if !self.parking.is_empty() {
            self.parking.give_up_queued(&self.in_flight);
        }
    }
}
