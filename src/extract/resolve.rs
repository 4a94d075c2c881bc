//! From a page's raw hrefs to its distinct absolute links, by the WHATWG URL rules.

use std::borrow::Cow;
use std::collections::hash_map::{Entry, HashMap};

use encoding_rs::Encoding;
use url::Url;

use super::{FoundLink, Href, PageHrefs};
use crate::config::LinkOptions;
use crate::seen::fingerprint_text;

/// Resolves each href of `page` against its base and calls `found` with every distinct link
/// the options keep, in first-seen order, with the link's fingerprint (`fingerprint_text` of
/// its text), which the dedup computed anyway. Each distinct raw href is parsed once: pages
/// repeat many.
///
/// A link is `nofollow` when every element of the page that links to it says so: one plain
/// link is enough to follow it. Likewise a link navigates when any of its occurrences does
/// (`--links all`: an image linked by an `<a>` too may be followed), and says where it was
/// found first. Only a page with some `rel="nofollow"` or some link that does not navigate
/// needs to know that before its first link is handed on, so only such a page keeps its links
/// in a list first.
pub(super) fn resolve_each(
    page: &PageHrefs<'_>,
    page_url: &Url,
    encoding: &'static Encoding,
    options: &LinkOptions,
    mut found: impl FnMut(FoundLink),
) {
    let base = page
        .base
        .as_deref()
        .and_then(|href| parse_href(href, page_url, encoding));
    let base = base.as_ref().unwrap_or(page_url);
    let mut links = DistinctLinks {
        base,
        encoding,
        options,
        raw_seen: HashMap::with_capacity(page.hrefs.len()),
        seen: HashMap::with_capacity(page.hrefs.len()),
        count: 0,
    };
    if !page
        .hrefs
        .iter()
        .any(|href| href.nofollow || !href.via.navigates)
    {
        for href in &page.hrefs {
            if let Some(Occurrence::First(link)) = links.occurrence(href) {
                found(FoundLink {
                    nofollow: false,
                    navigates: true,
                    ..link
                });
            }
        }
        return;
    }
    let mut list: Vec<FoundLink> = Vec::new();
    for href in &page.hrefs {
        let link = match links.occurrence(href) {
            Some(Occurrence::First(link)) => {
                list.push(link);
                list.last_mut()
            }
            Some(Occurrence::Again(at)) => list.get_mut(at),
            None => None,
        };
        if let Some(link) = link {
            link.nofollow &= href.nofollow;
            link.navigates |= href.via.navigates;
        }
    }
    list.into_iter().for_each(found);
}

/// What one raw href of a page came to.
enum Occurrence {
    /// A link the page had not linked to before, `nofollow` set and `navigates` clear: each
    /// occurrence, this one too, keeps or clears the one and sets the other.
    First(FoundLink),
    /// The link found `n`th (from 0) on the page.
    Again(usize),
}

/// The distinct links of one page so far.
struct DistinctLinks<'p, 'h> {
    base: &'p Url,
    encoding: &'static Encoding,
    options: &'p LinkOptions,
    /// Raw hrefs seen, each with the index of its link (`None`: dropped).
    raw_seen: HashMap<&'h str, Option<usize>>,
    /// Links seen, by fingerprint, with their index, so the dedup copies no string.
    seen: HashMap<u128, usize>,
    /// Links found so far.
    count: usize,
}
impl<'h> DistinctLinks<'_, 'h> {
    /// Resolves one raw href of the page; `None` when the options drop its link.
    fn occurrence(&mut self, found: &'h Href<'_>) -> Option<Occurrence> {
        let href: &'h str = &found.value;
        if let Some(at) = self.raw_seen.get(href) {
            return at.map(Occurrence::Again);
        }
        let occurrence =
            self.resolve(href)
                .map(|(url, fingerprint)| match self.seen.entry(fingerprint) {
                    Entry::Occupied(seen) => Occurrence::Again(*seen.get()),
                    Entry::Vacant(new) => {
                        new.insert(self.count);
                        self.count += 1;
                        Occurrence::First(FoundLink {
                            url,
                            fingerprint,
                            nofollow: true,
                            via: found.via,
                            navigates: false,
                        })
                    }
                });
        let at = match &occurrence {
            Some(Occurrence::First(_)) => Some(self.count - 1),
            Some(Occurrence::Again(at)) => Some(*at),
            None => None,
        };
        self.raw_seen.insert(href, at);
        occurrence
    }

    /// The link `href` makes, with its fingerprint, if the options keep it.
    fn resolve(&self, href: &str) -> Option<(Url, u128)> {
        let Some(mut link) = parse_href(href, self.base, self.encoding) else {
            tracing::debug!(href, "href dropped: not a valid URL");
            return None;
        };
        if !self.options.all_schemes && !matches!(link.scheme(), "http" | "https") {
            return None;
        }
        if self.options.strip_fragments {
            link.set_fragment(None);
        }
        // A fingerprint, so the dedup copies no string.
        let fingerprint = fingerprint_text(link.as_str());
        Some((link, fingerprint))
    }
}

/// Resolves `href` against `base` by the WHATWG rules.
fn parse_href(href: &str, base: &Url, encoding: &'static Encoding) -> Option<Url> {
    let output_encoding = encoding.output_encoding();
    let encode_query = query_encoder(move |text| output_encoding.encode(text).0);
    let mut options = Url::options().base_url(Some(base));
    if output_encoding != encoding_rs::UTF_8 {
        options = options.encoding_override(Some(&encode_query));
    }
    options.parse(href).ok()
}

/// Pins the closure to the higher-ranked signature `url` expects.
fn query_encoder<F: for<'s> Fn(&'s str) -> Cow<'s, [u8]>>(encode: F) -> F {
    encode
}
