//! What the parts of a crawl other than the frontier need from a crawl shared by several
//! workers: send turns at each host ([`SharedTurns`], for the pacer) and robots.txt verdicts
//! ([`SharedRobots`], for the robots.txt cache). A shared backend implements them beside its
//! frontier; the HTTP layer and robots.txt know only these traits.
//!
//! Both are best effort: a backend that fails answers "no wait" and "no verdict", so the
//! worker goes on by its own pacing and fetches robots.txt itself, and the frontier's next
//! call reports the failure.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

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
