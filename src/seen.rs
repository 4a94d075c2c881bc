//! Fingerprints: what "seen before" means for URLs, hosts and output sources.
//!
//! A fingerprint is 128 bits, so a set of them costs 16 bytes an entry whatever the text's
//! length, with a collision chance far below one in a trillion trillion for a million entries.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use url::Url;

/// The URLs seen so far, as fingerprints of the URL without its fragment.
#[derive(Debug, Default)]
pub(crate) struct SeenSet {
    fingerprints: HashSet<u128>,
}

impl SeenSet {
    /// Records `url`; returns whether it was new.
    pub(crate) fn insert(&mut self, url: &Url) -> bool {
        self.fingerprints.insert(url_fingerprint(url))
    }

    /// How many distinct URLs were recorded.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.fingerprints.len()
    }
}

/// The fingerprint of `url` without its fragment.
fn url_fingerprint(url: &Url) -> u128 {
    fingerprint_text(&url[..url::Position::AfterQuery])
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
    }

    #[test]
    fn fingerprints_are_stable_and_distinguish_texts() {
        assert_eq!(fingerprint_text("http://a/"), fingerprint_text("http://a/"));
        assert_ne!(fingerprint_text("http://a/"), fingerprint_text("http://b/"));
        assert_ne!(fingerprint_text(""), 0);
    }
}
