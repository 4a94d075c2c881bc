//! URLs this worker knows the crawl has seen, so a link seen before costs no Redis write.
//!
//! The crawl's seen set only grows, so "seen" never goes stale: a URL pushed once (new or
//! not) or taken as a job is remembered here, and pushing it again is skipped. Memory is
//! bounded: two generations of at most [`GENERATION`] fingerprints each; when the current one
//! is full it becomes the previous one and the oldest is dropped, so the URLs met most lately
//! stay known.

use std::collections::HashSet;

use crate::seen::UrlKey;

/// Fingerprints in one generation: 131,072 of 16 bytes, a few MB with both generations and
/// the sets' overhead.
const GENERATION: usize = 128 * 1024;

/// URL keys known to be in the crawl's seen set.
#[derive(Debug)]
pub(super) struct KnownSeen {
    current: HashSet<UrlKey>,
    previous: HashSet<UrlKey>,
    limit: usize,
}

impl Default for KnownSeen {
    fn default() -> KnownSeen {
        KnownSeen::with_limit(GENERATION)
    }
}

impl KnownSeen {
    /// A cache of at most `limit` keys a generation.
    fn with_limit(limit: usize) -> KnownSeen {
        KnownSeen {
            current: HashSet::new(),
            previous: HashSet::new(),
            limit,
        }
    }

    /// Whether `key` is known to be seen crawl-wide.
    pub(super) fn contains(&self, key: &UrlKey) -> bool {
        self.current.contains(key) || self.previous.contains(key)
    }

    /// Remembers that `key` is in the crawl's seen set.
    pub(super) fn insert(&mut self, key: UrlKey) {
        if self.current.len() >= self.limit {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seen::fingerprint_text;

    fn key(n: u32) -> UrlKey {
        UrlKey::of_fingerprint(fingerprint_text(&format!("http://a/{n}")))
    }

    #[test]
    fn keys_are_known_once_inserted_and_the_oldest_generation_goes_first() {
        let mut known = KnownSeen::with_limit(2);
        assert!(!known.contains(&key(1)));
        known.insert(key(1));
        known.insert(key(2));
        assert!(known.contains(&key(1)) && known.contains(&key(2)));
        // The third starts a new generation: the first two are still known.
        known.insert(key(3));
        assert!(known.contains(&key(1)) && known.contains(&key(3)));
        known.insert(key(4));
        // The fifth drops the first generation.
        known.insert(key(5));
        assert!(!known.contains(&key(1)) && !known.contains(&key(2)));
        assert!(known.contains(&key(3)) && known.contains(&key(4)) && known.contains(&key(5)));
        assert!(known.current.len() + known.previous.len() <= 4, "bounded");
    }
}
