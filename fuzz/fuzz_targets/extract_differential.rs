//! The extractor's skeleton tree against a full DOM (scraper): the same links, in the same
//! order, for any HTML.
#![no_main]

use std::collections::HashSet;

use areq::config::LinkOptions;
use libfuzzer_sys::fuzz_target;
use scraper::{ElementRef, Html};
use url::Url;

/// The links of `html` over scraper's full DOM, in tree order, as the extractor defines them.
fn links_by_full_dom(html: &str, page: &Url) -> Vec<String> {
    let document = Html::parse_document(html);
    let elements = || {
        document
            .tree
            .root()
            .descendants()
            .filter_map(ElementRef::wrap)
    };
    fn href(el: ElementRef<'_>) -> Option<&str> {
        let value = el.value();
        value.attr("href").or_else(|| {
            value
                .attrs()
                .find(|(name, _)| *name == "href")
                .map(|(_, v)| v)
        })
    }
    // Only an HTML <base> sets the base URL; an SVG one is an element with an href.
    fn is_html_base(el: ElementRef<'_>) -> bool {
        el.value().name() == "base" && &*el.value().name.ns == "http://www.w3.org/1999/xhtml"
    }
    let base = elements()
        .find(|el| is_html_base(*el) && href(*el).is_some())
        .and_then(|el| page.join(href(el)?).ok())
        .unwrap_or_else(|| page.clone());
    let mut seen = HashSet::new();
    elements()
        .filter(|el| !is_html_base(*el))
        .filter_map(|el| base.join(href(el)?).ok())
        .filter(|link| matches!(link.scheme(), "http" | "https"))
        .map(String::from)
        .filter(|link| seen.insert(link.clone()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else {
        return;
    };
    let page = Url::parse("http://example.com/dir/page").unwrap();
    let ours: Vec<String> =
        areq::fuzzing::extract(html, &page, encoding_rs::UTF_8, &LinkOptions::default())
            .into_iter()
            .map(String::from)
            .collect();
    assert_eq!(ours, links_by_full_dom(html, &page), "{html:?}");
});
