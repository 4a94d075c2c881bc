//! Finding the links of a page: a pure function from HTML text to absolute URLs. No I/O.
//!
//! The HTML is parsed as browsers parse it (html5ever, through scraper), so text in comments,
//! `<script>`, `<style>`, `<textarea>` and `<title>` is never mistaken for a link and entities
//! are decoded. Every element's `href` counts except `<base>`'s, which sets the base URL.
//! Resolution follows the WHATWG URL standard (`url::Url`), with the query encoded in the
//! page's encoding as browsers do.

use std::borrow::Cow;
use std::collections::HashSet;

use encoding_rs::Encoding;
use scraper::{ElementRef, Html};
use url::Url;

use crate::config::LinkOptions;

/// The distinct links of one page, in first-seen document order.
///
/// `page_url` is the final response URL (after redirects); `encoding` is the page's encoding,
/// used for the query part of links as browsers do.
pub fn extract_links(
    html: &str,
    page_url: &Url,
    encoding: &'static Encoding,
    options: &LinkOptions,
) -> Vec<Url> {
    let document = Html::parse_document(html);
    let elements = || {
        document
            .tree
            .root()
            .descendants()
            .filter_map(ElementRef::wrap)
    };
    let base = elements()
        .find(|el| el.value().name() == "base" && el.value().attr("href").is_some())
        .and_then(|el| parse_href(el.value().attr("href")?, page_url, encoding))
        .unwrap_or_else(|| page_url.clone());

    let mut seen = HashSet::new();
    let mut links = Vec::new();
    for element in elements() {
        if element.value().name() == "base" {
            continue;
        }
        let Some(href) = href_of(element) else {
            continue;
        };
        let Some(mut link) = parse_href(href, &base, encoding) else {
            tracing::debug!(href, "href dropped: not a valid URL");
            continue;
        };
        if !options.all_schemes && !matches!(link.scheme(), "http" | "https") {
            continue;
        }
        if options.strip_fragments {
            link.set_fragment(None);
        }
        if seen.insert(link.as_str().to_owned()) {
            links.push(link);
        }
    }
    links
}

/// The element's `href`: the plain attribute, else a namespaced one (SVG's `xlink:href`).
fn href_of(element: ElementRef<'_>) -> Option<&str> {
    let value = element.value();
    value.attr("href").or_else(|| {
        value
            .attrs()
            .find(|(name, _)| *name == "href")
            .map(|(_, v)| v)
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{UTF_8, WINDOWS_1252};

    fn links_with(html: &str, page: &str, options: LinkOptions) -> Vec<String> {
        let page = Url::parse(page).unwrap();
        extract_links(html, &page, UTF_8, &options)
            .into_iter()
            .map(String::from)
            .collect()
    }

    fn links(html: &str, page: &str) -> Vec<String> {
        links_with(html, page, LinkOptions::default())
    }

    #[test]
    fn relative_links_resolve_against_the_page() {
        let html = r#"<a href="b.html">1</a><a href="../up.html">2</a><a href="//cdn.example.net/x">3</a>
                      <a href="/root?q=1">4</a><a href="?only=query">5</a><a href="https://other.org">6</a>"#;
        assert_eq!(
            links(html, "https://example.com/dir/sub/page.html"),
            [
                "https://example.com/dir/sub/b.html",
                "https://example.com/dir/up.html",
                "https://cdn.example.net/x",
                "https://example.com/root?q=1",
                "https://example.com/dir/sub/page.html?only=query",
                "https://other.org/",
            ]
        );
    }

    #[test]
    fn base_href_sets_the_base_and_is_not_a_link() {
        let html = r#"<head><base href="/other/"><base href="/ignored/"></head><a href="x">x</a>"#;
        assert_eq!(
            links(html, "https://example.com/a/b"),
            ["https://example.com/other/x"]
        );
    }

    #[test]
    fn every_element_with_href_counts() {
        let html = r#"<link rel=stylesheet href="/s.css"><map><area href="/area"></map>
            <svg><a xlink:href="/svg-xlink"><text>t</text></a><a href="/svg2"></a></svg>
            <div href="/div"></div><a>no href</a>"#;
        assert_eq!(
            links(html, "http://h/"),
            [
                "http://h/s.css",
                "http://h/area",
                "http://h/svg-xlink",
                "http://h/svg2",
                "http://h/div"
            ]
        );
    }

    #[test]
    fn text_in_comments_scripts_styles_and_other_attributes_is_not_a_link() {
        let html = r#"<!-- <a href="/comment">c</a> --><script>x='<a href="/script">'</script>
            <style>a[href="/style"]{}</style><textarea><a href="/textarea"></a></textarea>
            <title><a href="/title"></a></title><p data-href="/data">p</p><a href="/real">r</a>"#;
        assert_eq!(links(html, "http://h/"), ["http://h/real"]);
    }

    #[test]
    fn entities_are_decoded_and_duplicates_dropped_in_first_seen_order() {
        let html = r#"<a href="/b?x=1&amp;y=2">1</a><a href="/a">2</a><a href="/b?x=1&y=2">3</a><A HREF=/a>4</A>"#;
        assert_eq!(
            links(html, "http://h/"),
            ["http://h/b?x=1&y=2", "http://h/a"]
        );
    }

    #[test]
    fn only_http_schemes_unless_all_schemes() {
        let html = r#"<a href="mailto:a@b.c">m</a><a href="tel:+1">t</a><a href="javascript:void(0)">j</a>
            <a href="ftp://f.org/x">f</a><a href="/ok">ok</a>"#;
        assert_eq!(links(html, "http://h/"), ["http://h/ok"]);
        let all = LinkOptions {
            all_schemes: true,
            ..LinkOptions::default()
        };
        assert_eq!(
            links_with(html, "http://h/", all),
            [
                "mailto:a@b.c",
                "tel:+1",
                "javascript:void(0)",
                "ftp://f.org/x",
                "http://h/ok"
            ]
        );
    }

    #[test]
    fn fragments_are_kept_unless_stripped() {
        let html = r##"<a href="#x">1</a><a href="#y">2</a><a href="/p#x">3</a>"##;
        assert_eq!(links(html, "http://h/p"), ["http://h/p#x", "http://h/p#y"]);
        let strip = LinkOptions {
            strip_fragments: true,
            ..LinkOptions::default()
        };
        assert_eq!(links_with(html, "http://h/p", strip), ["http://h/p"]);
    }

    #[test]
    fn unparsable_hrefs_are_dropped() {
        let html =
            r#"<a href="http://[bad">1</a><a href="http://exa mple.com/">2</a><a href="/ok">3</a>"#;
        assert_eq!(links(html, "http://h/"), ["http://h/ok"]);
    }

    #[test]
    fn tabs_and_newlines_in_hrefs_are_removed_by_the_url_parser() {
        let html = "<a href=\"/a\tb\nc\r\">1</a>";
        assert_eq!(links(html, "http://h/"), ["http://h/abc"]);
    }

    #[test]
    fn query_is_encoded_in_the_page_encoding_and_path_in_utf8() {
        let page = Url::parse("http://h/").unwrap();
        let found = extract_links(
            "<a href=\"/caf\u{e9}?q=caf\u{e9}\">x</a>",
            &page,
            WINDOWS_1252,
            &LinkOptions::default(),
        );
        assert_eq!(found[0].as_str(), "http://h/caf%C3%A9?q=caf%E9");
    }
}
