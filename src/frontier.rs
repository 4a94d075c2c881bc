//! The frontier: what to fetch next and what was already seen.
//!
//! The crawler talks to it only through [`Frontier`], so the in-memory version here can later
//! be joined by others (per-host queues, a shared store for several machines) without touching
//! the scheduler.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};

use url::Url;

/// One page to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// What the output's SOURCE column says for this page: the input line as written.
    pub source: String,
    /// The URL to GET.
    pub url: Url,
}

/// What to fetch next, and what was seen already.
pub trait Frontier {
    /// Queues `job` unless its URL (fragment aside) was seen before. Returns whether it was new.
    fn push(&mut self, job: Job) -> bool;
    /// The next job to fetch, if any is queued.
    fn pop(&mut self) -> Option<Job>;
}

/// A FIFO queue plus a set of URL fingerprints, all in memory.
#[derive(Debug, Default)]
pub struct MemoryFrontier {
    queue: VecDeque<Job>,
    seen: SeenSet,
}

impl Frontier for MemoryFrontier {
    fn push(&mut self, job: Job) -> bool {
        let new = self.seen.insert(&job.url);
        if new {
            self.queue.push_back(job);
        }
        new
    }

    fn pop(&mut self) -> Option<Job> {
        self.queue.pop_front()
    }
}

/// The URLs seen so far, as 128-bit fingerprints of the URL without its fragment: 16 bytes a
/// URL whatever its length, with a collision chance far below one in a trillion trillion for a
/// million URLs.
#[derive(Debug, Default)]
pub struct SeenSet {
    fingerprints: HashSet<u128>,
}

impl SeenSet {
    /// Records `url`; returns whether it was new.
    pub fn insert(&mut self, url: &Url) -> bool {
        self.fingerprints.insert(fingerprint(url))
    }

    /// How many distinct URLs were recorded.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }
}

/// Two independent 64-bit SipHashes (fixed keys, so stable within and across runs) of the URL
/// without its fragment.
fn fingerprint(url: &Url) -> u128 {
    let key = &url[..url::Position::AfterQuery];
    let half = |salt: u8| {
        let mut hasher = DefaultHasher::new();
        salt.hash(&mut hasher);
        key.hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(url: &str) -> Job {
        Job {
            source: url.into(),
            url: Url::parse(url).unwrap(),
        }
    }

    #[test]
    fn each_url_is_queued_once_in_order() {
        let mut frontier = MemoryFrontier::default();
        assert!(frontier.push(job("http://a/1")));
        assert!(frontier.push(job("http://a/2")));
        assert!(!frontier.push(job("http://a/1")));
        assert_eq!(frontier.pop().unwrap().url.as_str(), "http://a/1");
        assert_eq!(frontier.pop().unwrap().url.as_str(), "http://a/2");
        assert_eq!(frontier.pop(), None);
        assert!(!frontier.push(job("http://a/2")), "seen stays after pop");
    }

    #[test]
    fn fragments_do_not_make_a_url_new_but_normalisation_applies() {
        let mut seen = SeenSet::default();
        assert!(seen.insert(&Url::parse("HTTP://Example.COM:80/a#x").unwrap()));
        assert!(!seen.insert(&Url::parse("http://example.com/a#y").unwrap()));
        assert!(seen.insert(&Url::parse("http://example.com/a?").unwrap()));
        assert_eq!(seen.len(), 2);
    }
}
