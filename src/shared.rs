//! What the parts of a crawl other than the frontier need from a crawl shared by several
//! workers: send turns at each host ([`SharedTurns`], for the pacer), robots.txt verdicts
//! ([`SharedRobots`], for the robots.txt cache) and links' statuses ([`SharedChecks`], for
//! `--check`). A shared backend implements them beside its frontier; the HTTP layer,
//! robots.txt and the link checker know only these traits.
//!
//! Turns and verdicts are best effort: a backend that fails answers "no wait" and "no
//! verdict", so the worker goes on by its own pacing and fetches robots.txt itself, and the
//! frontier's next call reports the failure. A status lookup that fails says so, and the
//! worker checks the link itself.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::seen::UrlKey;

/// A boxed future, as a trait object's method returns it.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Send turns at each host for the whole crawl, so `--delay`, `--rate` and Crawl-delay hold
/// between any two workers' requests to a host.
pub(crate) trait SharedTurns: Send + Sync {
    /// Takes the next turn at `host`, whose gap this worker knows to be `gap`; returns how
    /// long to wait before sending.
    fn turn<'a>(&'a self, host: &'a str, gap: Duration) -> BoxFuture<'a, Duration>;
}

/// robots.txt verdicts, one per origin, so the crawl fetches each once.
pub(crate) trait SharedRobots: Send + Sync {
    /// The stored verdict for `origin`, if any worker stored one.
    fn load<'a>(&'a self, origin: &'a str) -> BoxFuture<'a, Option<Vec<u8>>>;
    /// Stores the verdict for `origin` unless another worker stored one first.
    fn save<'a>(&'a self, origin: &'a str, verdict: &'a [u8]) -> BoxFuture<'a, ()>;
}

/// What a shared crawl knows of a link's status (`--check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SharedStatus {
    /// A worker published the link's status: its text (`200`, `404`, `dns`, …).
    Known(String),
    /// This worker holds the link's claim: it checks the link, then publishes its status.
    Mine,
    /// Another worker holds the claim, for this much longer unless it renews it.
    Theirs(Duration),
}

/// Links' statuses for the whole crawl, so each link is checked by one worker only.
pub(crate) trait SharedChecks: Send + Sync {
    /// What the crawl knows of each of `links` (its key and host), in order, claiming for this
    /// worker the ones no live claim holds. `Err` when the backend did not answer in time.
    fn look_up<'a>(
        &'a self,
        links: &'a [(UrlKey, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<SharedStatus>, String>>;
    /// Publishes `status` as the status of the link `key` at `host` (a status already there
    /// stays), ending this worker's claim on it; `broken` counts it among the broken links.
    fn publish<'a>(
        &'a self,
        key: UrlKey,
        host: &'a str,
        status: &'a str,
        broken: bool,
    ) -> BoxFuture<'a, ()>;
}
