//! `--check-fragments`: whether a link's `#fragment` points at something in its page, as a
//! browser finds the indicated part of a document (HTML standard, "the indicated part of the
//! document"): the fragment as written, then percent-decoded as UTF-8, matched exactly against
//! the page's element `id`s and then its `<a>` elements' `name`s; an empty fragment, or one
//! that decodes to `top` in any ASCII case, is the top of the document and always there.
//!
//! A page's targets are kept as [`Anchors`]: a sorted set of 64-bit hashes, 8 bytes a distinct
//! target whatever its length, so the targets of the pages a run keeps cost little; two
//! targets share a hash with a chance of about one in 10^19 a lookup.

use std::borrow::Cow;

use url::Url;

use crate::config::LinkOptions;
use crate::decode::decode_html;
use crate::extract::scan;
use crate::fetch::Page;

/// What a page's fragments can point at: its `id`s and `<a name>`s, hashed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Anchors {
    hashes: Box<[u64]>,
    /// The page was cut at `--max-body`: a fragment not found may be in the part not read,
    /// and is not judged missing.
    cut: bool,
}

impl Anchors {
    /// The set of `targets` (duplicates are kept once) of a page, `cut` at `--max-body` or
    /// not.
    pub(crate) fn of<'a>(targets: impl IntoIterator<Item = &'a str>, cut: bool) -> Anchors {
        let mut hashes: Vec<u64> = targets.into_iter().map(hash).collect();
        hashes.sort_unstable();
        hashes.dedup();
        Anchors {
            hashes: hashes.into_boxed_slice(),
            cut,
        }
    }

    /// The targets of the HTML page `page`, decoded and scanned: the CPU work of a parse.
    pub(crate) fn of_page(page: &Page) -> Anchors {
        let (html, _) = decode_html(&page.body, page.content_type.as_deref());
        let options = LinkOptions {
            anchors: true,
            ..LinkOptions::default()
        };
        Anchors::of(scan(&html, &options).anchors(), page.truncated)
    }

    fn contains(&self, target: &str) -> bool {
        self.hashes.binary_search(&hash(target)).is_ok()
    }

    /// Whether `url`'s fragment points at something on this page (or at its top); a URL
    /// without a fragment does.
    pub(crate) fn has_fragment_of(&self, url: &Url) -> bool {
        match sought(url) {
            Some(fragment) => self.cut || self.finds(fragment),
            None => true,
        }
    }

    /// Whether `fragment`, as the URL holds it (percent-encoded), points into the page.
    fn finds(&self, fragment: &str) -> bool {
        if self.contains(fragment) {
            return true;
        }
        let decoded = percent_decoded(fragment);
        self.contains(&decoded) || decoded.eq_ignore_ascii_case("top")
    }
}

/// The fragment of `url` a page must hold, as the URL holds it: `None` without one, or for
/// an empty one (the top of the document).
pub(crate) fn sought(url: &Url) -> Option<&str> {
    url.fragment().filter(|fragment| !fragment.is_empty())
}

/// `text` with its `%XX` escapes decoded, as UTF-8 (invalid bytes become U+FFFD).
fn percent_decoded(text: &str) -> Cow<'_, str> {
    if !text.contains('%') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| bytes.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                at += 3;
            }
            None => {
                decoded.push(bytes[at]);
                at += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&decoded).into_owned())
}

/// A target's hash: XXH3 (64 bits) of its UTF-8 bytes.
fn hash(target: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(target.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finds(targets: &[&str], link: &str) -> bool {
        let url = Url::parse(link).unwrap();
        Anchors::of(targets.iter().copied(), false).has_fragment_of(&url)
    }

    #[test]
    fn a_fragment_matches_a_target_exactly() {
        assert!(finds(&["intro"], "http://h/p#intro"));
        assert!(!finds(&["intro"], "http://h/p#Intro"));
        assert!(!finds(&["intro"], "http://h/p#intro2"));
        assert!(!finds(&[], "http://h/p#intro"));
        assert!(finds(&[], "http://h/p"));
    }

    #[test]
    fn a_fragment_is_tried_as_written_then_percent_decoded() {
        // The URL parser percent-encodes `é` and spaces in a fragment.
        assert!(finds(&["café"], "http://h/p#café"));
        assert!(finds(&["café"], "http://h/p#caf%C3%A9"));
        assert!(finds(&["a b"], "http://h/p#a b"));
        assert!(finds(&["caf%C3%A9"], "http://h/p#caf%C3%A9"));
        assert!(finds(&["50%"], "http://h/p#50%"));
        assert!(!finds(&["café"], "http://h/p#caf%E9"));
        assert!(finds(&["caf\u{FFFD}"], "http://h/p#caf%E9"));
    }

    #[test]
    fn empty_and_top_fragments_are_the_top_of_the_document() {
        assert!(finds(&[], "http://h/p#"));
        assert!(finds(&[], "http://h/p#top"));
        assert!(finds(&[], "http://h/p#TOP"));
        assert!(finds(&[], "http://h/p#%74op"));
        assert!(!finds(&[], "http://h/p#topmost"));
    }

    #[test]
    fn a_page_cut_at_max_body_has_every_fragment() {
        let url = Url::parse("http://h/p#later").unwrap();
        assert!(Anchors::of(["early"], true).has_fragment_of(&url));
        assert!(!Anchors::of(["early"], false).has_fragment_of(&url));
    }
}
