//! From a page's raw hrefs to its distinct absolute links, by the WHATWG URL rules.

use std::borrow::Cow;
use std::collections::HashSet;

use encoding_rs::Encoding;
use url::Url;

use super::PageHrefs;
use crate::config::LinkOptions;
use crate::seen::fingerprint_text;

/// Resolves each href of `page` against its base and calls `found` with every distinct link
/// the options keep, in first-seen order, and the link's fingerprint (`fingerprint_text` of
/// its text), which the dedup computed anyway. Each distinct raw href is parsed once: pages
/// repeat many.
pub(super) fn resolve_each(
    page: &PageHrefs<'_>,
    page_url: &Url,
    encoding: &'static Encoding,
    options: &LinkOptions,
    mut found: impl FnMut(Url, u128),
) {
    let base = page
        .base
        .as_deref()
        .and_then(|href| parse_href(href, page_url, encoding));
    let base = base.as_ref().unwrap_or(page_url);
    let mut raw_seen: HashSet<&str> = HashSet::with_capacity(page.hrefs.len());
    let mut seen: HashSet<u128> = HashSet::with_capacity(page.hrefs.len());
    for href in &page.hrefs {
        if !raw_seen.insert(href) {
            continue;
        }
        let Some(mut link) = parse_href(href, base, encoding) else {
            tracing::debug!(href = &**href, "href dropped: not a valid URL");
            continue;
        };
        if !options.all_schemes && !matches!(link.scheme(), "http" | "https") {
            continue;
        }
        if options.strip_fragments {
            link.set_fragment(None);
        }
        // A fingerprint, so the dedup copies no string.
        let fingerprint = fingerprint_text(link.as_str());
        if seen.insert(fingerprint) {
            found(link, fingerprint);
        }
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
