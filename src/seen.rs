//! Fingerprints: what "seen before" means for URLs, hosts and output sources.
//!
//! A fingerprint is 128 bits, so a set of them costs 16 bytes an entry whatever the text's
//! length, with a collision chance far below one in a trillion trillion for a million entries.

use std::collections::HashSet;

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

/// The name of the fingerprint scheme, stored with a shared crawl: a worker whose
/// fingerprints are computed otherwise would not recognise the crawl's seen URLs.
pub(crate) const FINGERPRINT_SCHEME: &str = "xxh3-128";

/// XXH3-128 of `key`'s UTF-8 bytes (seed 0): a specified hash, the same on every machine
/// and toolchain, as fingerprints kept in a shared crawl's Redis must be.
pub(crate) fn fingerprint_text(key: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(key.as_bytes())
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
    fn fingerprints_are_xxh3_128_as_specified() {
        // Golden values from the reference implementation (python-xxhash's
        // xxh3_128_intdigest): a fingerprint must not change with the toolchain or crate.
        let golden = [
            ("", 0x99aa06d3014798d86001c324468d497f_u128),
            ("http://a/", 0x93bb22ccf568b3d0eb5933d9b1d45b44),
            (
                "https://example.org/docs/index.html?q=1",
                0x72763d26c01387c1fd9298db11288b6f,
            ),
        ];
        for (text, fingerprint) in golden {
            assert_eq!(fingerprint_text(text), fingerprint, "{text:?}");
        }
    }

    #[test]
    fn fingerprints_are_stable_and_distinguish_texts() {
        assert_eq!(fingerprint_text("http://a/"), fingerprint_text("http://a/"));
        assert_ne!(fingerprint_text("http://a/"), fingerprint_text("http://b/"));
        assert_ne!(fingerprint_text(""), 0);
    }
}
