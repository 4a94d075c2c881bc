//! Fingerprints: what "seen before" means for URLs, hosts and output sources.
//!
//! A fingerprint is 128 bits, so a set of them costs 16 bytes an entry whatever the text's
//! length, with a collision chance far below one in a trillion trillion for a million entries.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use url::Url;

/// The key of a URL in the seen set: the fingerprint of the URL without its fragment.
///
/// Computed once where the URL is parsed (a page's links on the parse thread), then carried
/// with it, so neither the seen set nor a shared frontier hashes the URL again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct UrlKey(u128);

impl UrlKey {
    /// The key of `url`, fragment aside.
    pub(crate) fn of(url: &Url) -> UrlKey {
        UrlKey(fingerprint_text(&url[..url::Position::AfterQuery]))
    }

    /// The key of a URL without a fragment whose text [`fingerprint_text`] gave `fingerprint`:
    /// the same as [`UrlKey::of`], without hashing the text again.
    pub(crate) fn of_fingerprint(fingerprint: u128) -> UrlKey {
        UrlKey(fingerprint)
    }

    /// The fingerprint's bits (a shared frontier stores part of them).
    pub(crate) fn bits(self) -> u128 {
        self.0
    }
}

/// The URLs seen so far, by their [`UrlKey`].
#[derive(Debug, Default)]
pub(crate) struct SeenSet {
    fingerprints: HashSet<u128>,
}

impl SeenSet {
    /// Records `url`; returns whether it was new.
    pub(crate) fn insert(&mut self, url: &Url) -> bool {
        self.insert_key(UrlKey::of(url))
    }

    /// Records the URL whose key is `key`; returns whether it was new.
    pub(crate) fn insert_key(&mut self, key: UrlKey) -> bool {
        self.fingerprints.insert(key.0)
    }

    /// How many distinct URLs were recorded.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.fingerprints.len()
    }
}

/// Two independent 64-bit SipHashes of `key`, with fixed keys, so stable within and across
/// runs.
pub(crate) fn fingerprint_text(key: &str) -> u128 {
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

    #[test]
    fn fragments_do_not_make_a_url_new_but_normalisation_applies() {
        let mut seen = SeenSet::default();
        assert!(seen.insert(&Url::parse("HTTP://Example.COM:80/a#x").unwrap()));
        assert!(!seen.insert(&Url::parse("http://example.com/a#y").unwrap()));
        assert!(seen.insert(&Url::parse("http://example.com/a?").unwrap()));
        assert_eq!(seen.len(), 2);
        let key = UrlKey::of(&Url::parse("http://example.com/a#z").unwrap());
        assert!(
            !seen.insert_key(key),
            "a key is the URL's fingerprint, fragment aside"
        );
    }

    #[test]
    fn fingerprints_are_stable_and_distinguish_texts() {
        assert_eq!(fingerprint_text("http://a/"), fingerprint_text("http://a/"));
        assert_ne!(fingerprint_text("http://a/"), fingerprint_text("http://b/"));
        assert_ne!(fingerprint_text(""), 0);
    }
}
