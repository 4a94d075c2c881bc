//! Finding the links of a page: a pure function from HTML text to absolute URLs. No I/O.
//!
//! Links are the `href`s a browser's DOM has, in tree order, as `document.links` would list
//! them (every element with an `href` counts, `<base href>` sets the base), each kept once in
//! first-seen order. Two paths find them with one answer: the tree builder (`tree`), the HTML
//! standard's parsing algorithm, is the reference; the streaming scanner (`stream`) reads the
//! same tokens several times faster and knows when tree order or membership could differ from
//! token order, and then the page takes the tree builder's path.
//! Resolution follows the WHATWG URL standard (`url::Url`), with the query encoded in the
//! page's encoding as browsers do (`resolve`).
//!
//! Both paths also find what the page says about following its links: each link's
//! `rel="nofollow"`, and the document's `<meta name=… content=…>` tags (robots directives
//! among them). A `<meta>` counts where the DOM has it, head or body; one inside `<template>`
//! is template content, not part of the document, and one inside `<noscript>` is text (scripting
//! is on), so neither counts, as in a browser.
//!
//! With `--links all` ([`LinkAttributes::All`]) both paths also list the HTML elements' other
//! link attributes (`attributes`), each link with where it was found ([`Via`]), an element's
//! `href` first. A link found several times is listed once, at its first occurrence, and
//! says where that was; it is followed when any of its occurrences navigates.

mod attributes;
mod charref;
mod resolve;
mod stream;
mod tree;

use std::borrow::Cow;
use std::fmt;

use encoding_rs::Encoding;
use url::Url;

use crate::config::{LinkAttributes, LinkOptions};

pub use attributes::Via;

/// The raw `href` values of one page, entities decoded, in tree order, and its named
/// `<meta>` tags.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct PageHrefs<'a> {
    /// The first HTML `<base href>`.
    pub(crate) base: Option<Cow<'a, str>>,
    /// Every other `href`, duplicates included.
    pub(crate) hrefs: Vec<Href<'a>>,
    /// The HTML `<meta>` elements with a `name`, outside templates, in tree order.
    pub(crate) metas: Vec<MetaTag<'a>>,
    /// When asked for, what a fragment can point at: the `id` of every element and the
    /// `name` of every HTML `<a>`, outside templates, empty values left out, in no promised
    /// order, duplicates included.
    pub(crate) anchors: Vec<Cow<'a, str>>,
}

/// One `href` as found, entities decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Href<'a> {
    /// The attribute's value.
    pub(crate) value: Cow<'a, str>,
    /// The element's `rel` holds the `nofollow` keyword.
    pub(crate) nofollow: bool,
    /// Where it was found.
    pub(crate) via: Via,
}

/// One `<meta name content>`, entities decoded; a missing `content` is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetaTag<'a> {
    /// The `name` attribute, as written.
    pub(crate) name: Cow<'a, str>,
    /// The `content` attribute, as written.
    pub(crate) content: Cow<'a, str>,
}

/// Whether a decoded `rel` value holds the `nofollow` keyword: `rel` is a set of tokens
/// separated by ASCII whitespace, compared ASCII-case-insensitively.
pub(crate) fn rel_says_nofollow(rel: &str) -> bool {
    rel.split(['\t', '\n', '\x0C', '\r', ' '])
        .any(|token| token.eq_ignore_ascii_case("nofollow"))
}

/// Which path found a page's links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// The streaming scanner: token order is tree order on this page.
    Stream,
    /// The tree builder, because the page holds this construct.
    Tree(Unsure),
}

/// A construct where the tree builder may put elements in another order than their tokens, or
/// drop them, so the streaming scanner hands the page to the tree builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unsure {
    /// Table structure: content outside a cell is foster-parented before the table.
    Table,
    /// `<select>`: the tree builder drops most elements inside.
    Select,
    /// `<frameset>` or `<frame>`: body content is dropped.
    Frameset,
    /// MathML, or HTML inside SVG: foreign content the scanner does not follow.
    ForeignContent,
    /// An `href` on an element whose start tag the tree builder may merge into another or drop
    /// (`html`, `head`, `body`, `form`), or with `--links all` a `<body background>` or a
    /// second `<form action>`.
    MergedElement,
}

impl fmt::Display for Unsure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unsure::Table => "table",
            Unsure::Select => "select",
            Unsure::Frameset => "frameset",
            Unsure::ForeignContent => "foreign content",
            Unsure::MergedElement => "link on html, head, body or form",
        })
    }
}

/// Calls `found` with each distinct link of one page, in first-seen tree order, and tells
/// which path found them.
///
/// `page_url` is the final response URL (after redirects); `encoding` is the page's encoding,
/// used for the query part of links as browsers do.
pub fn for_each_link(
    html: &str,
    page_url: &Url,
    encoding: &'static Encoding,
    options: &LinkOptions,
    mut found: impl FnMut(Url),
) -> Path {
    let page = scan(html, options);
    page.for_each_link(page_url, encoding, options, |link| found(link.url));
    page.path
}

/// One distinct link of a page, as [`ScannedPage::for_each_link`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundLink {
    /// The absolute link.
    pub(crate) url: Url,
    /// `seen::fingerprint_text` of its text, which finding distinct links computes anyway,
    /// so following the link need not hash it again.
    pub(crate) fingerprint: u128,
    /// Every element of the page that links here says `rel="nofollow"`.
    pub(crate) nofollow: bool,
    /// Where the link was first found.
    pub(crate) via: Via,
    /// Some occurrence of the link navigates there ([`Via::navigates`]): it may be followed.
    pub(crate) navigates: bool,
}

/// One page scanned: its raw hrefs and named `<meta>` tags, and the path that found them.
#[derive(Debug, Clone)]
pub(crate) struct ScannedPage<'a> {
    hrefs: PageHrefs<'a>,
    /// Which path found them.
    pub(crate) path: Path,
}

/// What a scan collects besides `href`s and `<meta>` tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wanted {
    /// Every link attribute (`--links all`), not only `href`.
    pub(crate) all: bool,
    /// The page's fragment targets (`--check-fragments`).
    pub(crate) anchors: bool,
}

impl Wanted {
    fn of(options: &LinkOptions) -> Wanted {
        Wanted {
            all: options.attributes == LinkAttributes::All,
            anchors: options.anchors,
        }
    }
}

/// Scans `html` for what `options` ask on the default path: the streaming scanner, or the
/// tree builder where the scanner is unsure of the page.
pub(crate) fn scan<'a>(html: &'a str, options: &LinkOptions) -> ScannedPage<'a> {
    let wanted = Wanted::of(options);
    match stream::stream_hrefs(html, wanted) {
        Ok(hrefs) => ScannedPage {
            hrefs,
            path: Path::Stream,
        },
        Err(unsure) => ScannedPage {
            hrefs: tree::tree_hrefs(html, wanted),
            path: Path::Tree(unsure),
        },
    }
}

impl ScannedPage<'_> {
    /// The page's named `<meta>` tags as (name, content), in tree order.
    pub(crate) fn metas(&self) -> impl Iterator<Item = (&str, &str)> {
        let metas = self.hrefs.metas.iter();
        metas.map(|meta| (&*meta.name, &*meta.content))
    }

    /// The page's fragment targets (when asked for), duplicates included, in no promised
    /// order.
    pub(crate) fn anchors(&self) -> impl Iterator<Item = &str> {
        self.hrefs.anchors.iter().map(|anchor| &**anchor)
    }

    /// Calls `found` with each distinct link of the page, in first-seen tree order.
    ///
    /// `page_url` is the final response URL (after redirects); `encoding` is the page's
    /// encoding, used for the query part of links as browsers do.
    pub(crate) fn for_each_link(
        &self,
        page_url: &Url,
        encoding: &'static Encoding,
        options: &LinkOptions,
        found: impl FnMut(FoundLink),
    ) {
        resolve::resolve_each(&self.hrefs, page_url, encoding, options, found);
    }
}

/// The distinct links of one page, in first-seen tree order (see [`for_each_link`]).
pub fn extract_links(
    html: &str,
    page_url: &Url,
    encoding: &'static Encoding,
    options: &LinkOptions,
) -> Vec<Url> {
    let mut links = Vec::new();
    for_each_link(html, page_url, encoding, options, |link| links.push(link));
    links
}

/// The same links as [`extract_links`], always found by the tree builder: the reference.
pub fn tree_links(
    html: &str,
    page_url: &Url,
    encoding: &'static Encoding,
    options: &LinkOptions,
) -> Vec<Url> {
    let mut links = Vec::new();
    let hrefs = tree::tree_hrefs(html, Wanted::of(options));
    resolve::resolve_each(&hrefs, page_url, encoding, options, |link| {
        links.push(link.url)
    });
    links
}

/// Everything one page tells the crawl about its links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// The distinct links in first-seen tree order, each with whether every element linking
    /// there says `rel="nofollow"`.
    pub links: Vec<(Url, bool)>,
    /// Where each of `links` was first found, and whether it may be followed.
    pub vias: Vec<Via>,
    /// The document's `<meta>` tags with a `name`, as (name, content), in tree order.
    pub metas: Vec<(String, String)>,
    /// With [`LinkOptions::anchors`], what a fragment can point at (elements' `id`s, `<a>`s'
    /// `name`s), sorted, each once.
    pub anchors: Vec<String>,
}

/// What the default path (see [`for_each_link`]) finds on one page.
pub fn findings(
    html: &str,
    page_url: &Url,
    encoding: &'static Encoding,
    options: &LinkOptions,
) -> Findings {
    findings_of(&scan(html, options).hrefs, page_url, encoding, options)
}

/// What the tree builder alone finds on one page: the reference for [`findings`].
pub fn tree_findings(
    html: &str,
    page_url: &Url,
    encoding: &'static Encoding,
    options: &LinkOptions,
) -> Findings {
    let hrefs = tree::tree_hrefs(html, Wanted::of(options));
    findings_of(&hrefs, page_url, encoding, options)
}

/// The [`Findings`] of one page's hrefs and metas.
fn findings_of(
    hrefs: &PageHrefs<'_>,
    page_url: &Url,
    encoding: &'static Encoding,
    options: &LinkOptions,
) -> Findings {
    let (mut links, mut vias) = (Vec::new(), Vec::new());
    resolve::resolve_each(hrefs, page_url, encoding, options, |link| {
        links.push((link.url, link.nofollow));
        vias.push(Via {
            navigates: link.navigates,
            ..link.via
        });
    });
    let metas = hrefs.metas.iter();
    let metas = metas.map(|meta| (meta.name.to_string(), meta.content.to_string()));
    let mut anchors: Vec<String> = hrefs.anchors.iter().map(|a| a.to_string()).collect();
    anchors.sort_unstable();
    anchors.dedup();
    Findings {
        links,
        vias,
        metas: metas.collect(),
        anchors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{UTF_8, WINDOWS_1252};
    use std::collections::HashSet;

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

    /// The same extraction over scraper's full DOM: the reference the skeleton must match.
    fn links_by_scraper_dom(html: &str, page: &Url) -> Vec<String> {
        use scraper::{ElementRef, Html};
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

    #[test]
    fn the_skeleton_finds_what_a_full_dom_finds_in_tree_order() {
        let tricky = [
            // Foster parenting: the second link lands before the table in the tree.
            "<table><tr><td><a href=/in-cell>c</a></td></tr><a href=/fostered>f</a></table>",
            // Misnested formatting elements are re-created by the adoption agency.
            "<p><a href=/a><b>x</p><p>y</b></a><a href=/b>z",
            "<a href=/1><div><a href=/2>nested</a></div></a>",
            // A select drops <a>; a template keeps its content under it.
            "<select><a href=/in-select>s</a><option>o</select><template><a href=/tpl>t</a></template>",
            // Foreign content, noscript, frameset, comments and CDATA.
            "<svg><a xlink:href=/x-svg>s</a><![CDATA[<a href=/cdata>]]></svg><math><mi><a href=/math>m</a></mi></math>",
            "<noscript><a href=/noscript>n</a></noscript><!-- <a href=/comment> -->",
            "<base href=/b/><base href=/c/><a href=rel>r</a></html><a href=/after-html>a</a>",
            "<html><body href=/body><a href=/x></body><body href=/second-body>",
            "<frameset><frame src=x><a href=/in-frameset></frameset>",
            "<table><caption><a href=/cap>c</caption><colgroup><a href=/col></table>",
            // Found by fuzzing: a <base> in SVG is not the document's base, only an href.
            "<svg><base href=/svg-base/></svg><a href=rel>r</a><base href=/html-base/>",
        ];
        let fixtures = [
            "site/dir/links.html",
            "site/dir/base.html",
            "site/index.html",
        ];
        let page = Url::parse("http://h/dir/page").unwrap();
        let mut cases: Vec<String> = tricky.iter().map(|s| s.to_string()).collect();
        for name in fixtures {
            let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
            cases.push(std::fs::read_to_string(path).unwrap());
        }
        for html in &cases {
            assert_eq!(
                links(html, page.as_str()),
                links_by_scraper_dom(html, &page),
                "{html}"
            );
        }
        assert_eq!(
            links(tricky[0], "http://h/"),
            ["http://h/fostered", "http://h/in-cell"]
        );
        assert!(!links(tricky[3], "http://h/").contains(&"http://h/in-select".to_string()));
        assert_eq!(
            links(tricky[10], "http://h/dir/page"),
            ["http://h/svg-base/", "http://h/html-base/rel"]
        );
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

#[cfg(test)]
mod path_tests {
    use super::*;
    use encoding_rs::UTF_8;

    /// Each document must take the streaming path and find what the tree builder finds.
    fn assert_stream_matches_tree(documents: &[&str]) {
        let page = Url::parse("http://h/dir/page").unwrap();
        for options in [
            LinkOptions::default(),
            LinkOptions {
                all_schemes: true,
                strip_fragments: true,
                ..LinkOptions::default()
            },
        ] {
            for html in documents {
                let mut streamed = Vec::new();
                let path = for_each_link(html, &page, UTF_8, &options, |link| streamed.push(link));
                assert_eq!(path, Path::Stream, "{html}");
                assert_eq!(streamed, tree_links(html, &page, UTF_8, &options), "{html}");
            }
        }
    }

    #[test]
    fn script_escapes_end_where_the_tokenizer_ends_them() {
        assert_stream_matches_tree(&[
            "<script><!--<script></script><a href=/in-double-escape></script><a href=/after>",
            "<script><!--<script></script>--></script><a href=/after-escape>",
            "<script><!-- --><a href=/in-data></script><a href=/x>",
            "<script><!--></script><a href=/y>",
            "<script>a<!-b</script><a href=/z>",
            "<SCRIPT>x</SCRIPT ><a href=/upper></script/><a href=/two>",
            "<script><!--<scripts></script><a href=/not-double>",
            "<script><!--<script >--></script><a href=/dashdash-ends-double>",
            "<script><!--<script>--><a href=/still-script></script><a href=/out>",
            "<script></scrip></script><a href=/partial-name>",
            "<script src=x><a href=/in-script>",
        ]);
    }

    #[test]
    fn comments_end_at_every_ending_the_standard_has() {
        assert_stream_matches_tree(&[
            "<!--><a href=/1><!---><a href=/2><!----><a href=/3>",
            "<!-- a --!><a href=/4><!-- <!-- nested --><a href=/5>",
            "<!-- -- --><a href=/6><!-- ---><a href=/7><!-- --!-- --><a href=/8>",
            "<!-- x --!x --><a href=/9><!-x><a href=/10><?php x><a href=/11>",
            "</ bogus><a href=/12></><a href=/13><!DOCTYPE html \"a>b\"><a href=/14>",
            "<![CDATA[<a href=/not-cdata>]]><a href=/15>",
            "<!-- unterminated <a href=/never>",
        ]);
    }

    #[test]
    fn raw_text_elements_hide_markup_until_their_end_tag() {
        assert_stream_matches_tree(&[
            "<style><a href=/s></style><a href=/1><xmp><a href=/x></xmp><a href=/2>",
            "<iframe><a href=/i></iframe><noembed><a href=/n></noembed><a href=/3>",
            "<noframes><a href=/nf></noframes><noscript><a href=/ns></noscript><a href=/4>",
            "<title><a href=/t></title ><textarea x='</textarea>'><a href=/5></textarea>",
            "<textarea><a href=/ta></textareas></textarea><a href=/6>",
            "<title>x</title foo='a>b' ><a href=/7><plaintext></plaintext><a href=/never>",
        ]);
    }

    #[test]
    fn attributes_are_tokenized_as_the_standard_tokenizes_them() {
        assert_stream_matches_tree(&[
            "<a/href=/1><a href = '/2'><a HREF=/3 href=/dup><a href=\"/4\"title=x>",
            "<a title='x>y' href=/5><a =href=/no href=/6><a href><a href=>",
            "<a href=/7/><a href=/8 /><div href=\"/9&amp;x&ampy&amp=z\"></div>",
            "<a x href=/10?a=1&lt;2&copy=3&not&notin;>x</a><a href='/11\r\n\0'>",
            "<a\thref=/12\x0C><a\rhref=/13><a href=/cut",
            "<base href=/b/><base href=/c/><a href=rel><link href=/l><area href=/ar>",
            "<p><a href=/a><b>x</p><p>y</b></a><a href=/b>z<a href=/1><div><a href=/2>",
            "<template><a href=/tpl><base href=/tb/></template><a href=rel2>",
            "<html><head><body><form><a href=/in-form></form></body></html><a href=/after>",
        ]);
    }

    #[test]
    fn svg_links_count_as_foreign_elements() {
        assert_stream_matches_tree(&[
            "<svg><a xlink:href=/x><text>t</text></a><a href=/p xlink:href=/q></a></svg>",
            "<svg href=/svg><style><a href=/styled></a></style><![CDATA[<a href=/cdata>]]></svg>",
            "<svg><path d='x'/><base href='/svg-base/'/><use xlink:href=#i /></svg><a href=rel>",
            "<svg/><a href=/after-self-closed><svg><svg><a href=/deep></a></svg></svg>",
            "<svg><g><path d=M0/><a href=/in-g></svg><a href=/after-unclosed>",
        ]);
    }

    #[test]
    fn constructs_the_tree_builder_reorders_or_drops_take_its_path() {
        let page = Url::parse("http://h/").unwrap();
        let cases = [
            (
                "<table><tr><td>x</td></tr><a href=/f></table>",
                Unsure::Table,
            ),
            ("<select><a href=/s></select>", Unsure::Select),
            ("<frameset><a href=/f></frameset>", Unsure::Frameset),
            ("<math><mi><a href=/m></mi></math>", Unsure::ForeignContent),
            ("<svg><p><a href=/p></svg>", Unsure::ForeignContent),
            (
                "<svg><title><a href=/t></title></svg>",
                Unsure::ForeignContent,
            ),
            ("<svg><g></a></svg><a href=/g>", Unsure::ForeignContent),
            ("<a><body href=/b>", Unsure::MergedElement),
        ];
        for (html, unsure) in cases {
            let mut streamed = Vec::new();
            let path = for_each_link(html, &page, UTF_8, &LinkOptions::default(), |link| {
                streamed.push(link)
            });
            assert_eq!(path, Path::Tree(unsure), "{html}");
            let tree = tree_links(html, &page, UTF_8, &LinkOptions::default());
            assert_eq!(streamed, tree, "{html}");
        }
    }
}

#[cfg(test)]
mod nofollow_tests {
    use super::*;
    use encoding_rs::UTF_8;

    /// What both paths find on `html`, after checking they agree.
    fn found(html: &str) -> Findings {
        let page = Url::parse("http://h/").unwrap();
        let options = LinkOptions::default();
        let found = findings(html, &page, UTF_8, &options);
        assert_eq!(found, tree_findings(html, &page, UTF_8, &options), "{html}");
        found
    }

    fn marks(html: &str) -> Vec<(String, bool)> {
        let links = found(html).links.into_iter();
        links
            .map(|(url, nofollow)| (url.into(), nofollow))
            .collect()
    }

    #[test]
    fn a_link_is_nofollow_when_every_element_linking_there_says_so() {
        let html = r#"<a rel="nofollow" href=/a>1</a><a rel="ugc NOFOLLOW" href=/b>2</a>
            <a href=/b>3</a><area rel=nofollow href=/c><a rel=nofollow href="http://h/c">
            <a rel=nofollowed href=/d><a rel="no&#102;ollow" href=/e>"#;
        assert_eq!(
            marks(html),
            [
                ("http://h/a".to_string(), true),
                ("http://h/b".to_string(), false),
                ("http://h/c".to_string(), true),
                ("http://h/d".to_string(), false),
                ("http://h/e".to_string(), true),
            ]
        );
        assert!(marks("<a href=/a><a href=/a rel=nofollow>")
            .iter()
            .all(|(_, n)| !n));
    }

    #[test]
    fn metas_count_where_the_dom_has_them_not_in_templates_or_noscript() {
        let html = r#"<head><meta name=robots content="noindex, nofollow"><meta charset=utf-8>
            <noscript><meta name=robots content=none></noscript>
            <template><meta name=areq content=none></template></head>
            <body><meta name=AREQ content=nofollow><meta name=viewport></body>"#;
        let metas: Vec<(String, String)> = [
            ("robots", "noindex, nofollow"),
            ("AREQ", "nofollow"),
            ("viewport", ""),
        ]
        .iter()
        .map(|(name, content)| (name.to_string(), content.to_string()))
        .collect();
        assert_eq!(found(html).metas, metas);
        let page = Url::parse("http://h/").unwrap();
        let path = for_each_link(html, &page, UTF_8, &LinkOptions::default(), |_| {});
        assert_eq!(path, Path::Stream);
    }

    #[test]
    fn a_template_ends_only_at_its_own_end_tag() {
        let html = "</template><template><template></template><meta name=a></template>\
                    <meta name=b><svg><template><meta name=c>";
        let names: Vec<String> = found(html).metas.into_iter().map(|(n, _)| n).collect();
        // An SVG `<template>` is no template: the `<meta>` leaves SVG into the document.
        assert_eq!(names, ["b", "c"]);
    }
}

#[cfg(test)]
mod all_attributes_tests {
    use super::*;
    use encoding_rs::UTF_8;

    const ALL: LinkOptions = LinkOptions {
        all_schemes: false,
        strip_fragments: false,
        attributes: LinkAttributes::All,
        anchors: false,
    };

    /// Each link both paths find with `--links all`, as (link, via, navigates), after
    /// checking they agree; and the path the default one took.
    fn found(html: &str) -> (Vec<(String, &'static str, bool)>, Path) {
        let page = Url::parse("http://h/dir/").unwrap();
        let found = findings(html, &page, UTF_8, &ALL);
        assert_eq!(found, tree_findings(html, &page, UTF_8, &ALL), "{html}");
        assert_eq!(
            extract_links(html, &page, UTF_8, &ALL),
            tree_links(html, &page, UTF_8, &ALL),
            "{html}"
        );
        let path = for_each_link(html, &page, UTF_8, &ALL, |_| {});
        let links = found.links.into_iter().zip(found.vias);
        let links = links.map(|((url, _), via)| (url.into(), via.name, via.navigates));
        (links.collect(), path)
    }

    fn link(url: &str, via: &'static str, navigates: bool) -> (String, &'static str, bool) {
        (format!("http://h/dir/{url}"), via, navigates)
    }

    #[test]
    fn each_element_attribute_is_a_link_on_both_paths() {
        let html = r#"<head><meta http-equiv=Refresh content="0; URL='refresh'">
            <script src=script.js></script><link rel=stylesheet href=s.css></head>
            <body><img src=img.png srcset="small.png 1x, big.png 2x" longdesc=long alt=x>
            <IMAGE SRC=image.png><picture><source srcset="s1.webp 100w,s2.webp 200w"></picture>
            <video src=v.mp4 poster=poster.jpg><source src=v.webm><track src=t.vtt></video>
            <audio src=a.ogg></audio><iframe src=frame.html></iframe><embed src=e.swf>
            <object data=o.pdf></object><form action=submit><input type=IMAGE src=button.png
            formaction=alt-submit><input type=text src=not-an-image><button formaction=b>
            </button></form><blockquote cite=bq>x</blockquote><q cite=q>x</q><del cite=del>
            </del><ins cite=ins></ins><a href=a.html>a</a><area href=area></body>"#;
        let (links, path) = found(html);
        assert_eq!(path, Path::Stream);
        assert_eq!(
            links,
            [
                link("refresh", "meta@refresh", true),
                link("script.js", "script@src", false),
                link("s.css", "link@href", true),
                link("img.png", "img@src", false),
                link("small.png", "img@srcset", false),
                link("big.png", "img@srcset", false),
                link("long", "img@longdesc", false),
                link("image.png", "img@src", false),
                link("s1.webp", "source@srcset", false),
                link("s2.webp", "source@srcset", false),
                link("v.mp4", "video@src", false),
                link("poster.jpg", "video@poster", false),
                link("v.webm", "source@src", false),
                link("t.vtt", "track@src", false),
                link("a.ogg", "audio@src", false),
                link("frame.html", "iframe@src", true),
                link("e.swf", "embed@src", false),
                link("o.pdf", "object@data", false),
                link("submit", "form@action", false),
                link("button.png", "input@src", false),
                link("alt-submit", "input@formaction", false),
                link("b", "button@formaction", false),
                link("bq", "blockquote@cite", false),
                link("q", "q@cite", false),
                link("del", "del@cite", false),
                link("ins", "ins@cite", false),
                link("a.html", "a@href", true),
                link("area", "area@href", true),
            ]
        );
    }

    #[test]
    fn backgrounds_frames_and_merged_elements_take_the_tree_builders_path() {
        let (links, path) = found(
            "<table background=t><thead background=th><tr background=tr>\
             <td background=td><th background=c></table>",
        );
        assert_eq!(path, Path::Tree(Unsure::Table));
        let vias: Vec<&str> = links.iter().map(|(_, via, _)| *via).collect();
        assert_eq!(
            vias,
            [
                "table@background",
                "thead@background",
                "tr@background",
                "td@background",
                "th@background"
            ]
        );
        let (links, path) = found("<frameset><frame src=f1><frame src=f2></frameset>");
        assert_eq!(path, Path::Tree(Unsure::Frameset));
        assert_eq!(
            links,
            [link("f1", "frame@src", true), link("f2", "frame@src", true)]
        );
        // A second `<body>` merges its attributes into the first; a second `<form>` is dropped.
        let (links, path) = found("<body><img src=i><body background=bg>");
        assert_eq!(path, Path::Tree(Unsure::MergedElement));
        assert_eq!(
            links,
            [
                link("bg", "body@background", false),
                link("i", "img@src", false)
            ]
        );
        let (links, path) = found("<form action=f1><form action=f2></form>");
        assert_eq!(path, Path::Tree(Unsure::MergedElement));
        assert_eq!(links, [link("f1", "form@action", false)]);
        let (_, path) = found("<form action=f1></form><form action=f2>");
        assert_eq!(path, Path::Tree(Unsure::MergedElement));
    }

    #[test]
    fn a_link_says_where_it_was_first_found_and_navigates_if_any_occurrence_does() {
        let (links, _) = found("<img src=x.png><a href=x.png></a><a href=y><img src=y>");
        assert_eq!(
            links,
            [link("x.png", "img@src", true), link("y", "a@href", true)]
        );
        let (links, _) = found("<script src=s></script><img src=s><video poster=s>");
        assert_eq!(links, [link("s", "script@src", false)]);
    }

    #[test]
    fn blank_values_non_image_inputs_and_foreign_elements_are_no_links() {
        let html = "<img src='' srcset=' '><input src=x><input type=image src=' \t'>\
                    <meta http-equiv=refresh content=5><meta http-equiv=other content='0;url=o'>\
                    <svg><script src=svg-script></script><image src=svg-image /></svg>\
                    <template><img src=in-template></template><noscript><img src=ns></noscript>";
        let (links, path) = found(html);
        assert_eq!(path, Path::Stream);
        assert_eq!(links, [link("in-template", "img@src", false)]);
    }

    #[test]
    fn base_href_applies_to_every_attribute() {
        let (links, _) = found(
            "<base href=/b/><img src=i srcset='j 2x'><meta http-equiv=refresh content='0;u'>",
        );
        let urls: Vec<&str> = links.iter().map(|(url, _, _)| url.as_str()).collect();
        assert_eq!(urls, ["http://h/b/i", "http://h/b/j", "http://h/b/u"]);
    }

    #[test]
    fn only_hrefs_by_default() {
        let page = Url::parse("http://h/").unwrap();
        let html = "<img src=i><iframe src=f></iframe><a href=a>";
        let links = extract_links(html, &page, UTF_8, &LinkOptions::default());
        assert_eq!(links, [Url::parse("http://h/a").unwrap()]);
        let found = findings(html, &page, UTF_8, &LinkOptions::default());
        assert_eq!(found.vias[0].name, "a@href");
    }
}

#[cfg(test)]
mod anchor_tests {
    use super::*;
    use encoding_rs::UTF_8;

    const ANCHORS: LinkOptions = LinkOptions {
        all_schemes: false,
        strip_fragments: false,
        attributes: LinkAttributes::Href,
        anchors: true,
    };

    /// The fragment targets both paths find on `html`, after checking they agree; and the
    /// path the default one took.
    fn anchors(html: &str) -> (Vec<String>, Path) {
        let page = Url::parse("http://h/").unwrap();
        let found = findings(html, &page, UTF_8, &ANCHORS);
        assert_eq!(found, tree_findings(html, &page, UTF_8, &ANCHORS), "{html}");
        let path = for_each_link(html, &page, UTF_8, &ANCHORS, |_| {});
        (found.anchors, path)
    }

    #[test]
    fn ids_of_every_element_and_names_of_html_a_elements_are_targets() {
        let html = "<h1 id=intro>x</h1><a name=old>y</a><div name=not-a></div>\
                    <img name=image><svg id=drawing><a name=svg-a id=svg-link></a></svg>\
                    <p ID='caf&eacute;' id=second><a id='' name=''></a><template id=t>\
                    <p id=in-template><a name=in-template></template><base id=b>";
        let (found, path) = anchors(html);
        assert_eq!(path, Path::Stream);
        assert_eq!(
            found,
            ["b", "café", "drawing", "intro", "old", "svg-link", "t"]
        );
    }

    #[test]
    fn ids_the_tree_builder_may_drop_take_its_path() {
        for html in [
            "<body id=a><body id=b>",
            "<html id=a><html id=b>",
            "<head id=h>",
            "<form id=f1></form><form id=f2>",
        ] {
            let (_, path) = anchors(html);
            assert_eq!(path, Path::Tree(Unsure::MergedElement), "{html}");
        }
        assert_eq!(anchors("<body id=b><p id=p>").1, Path::Stream);
        // An implicit body takes the id of a later `<body>` tag.
        assert_eq!(anchors("<p id=p><body id=b>").0, ["b", "p"]);
        assert_eq!(anchors("<body id=a><body id=b>").0, ["a"]);
        let (found, path) = anchors("<table><tr><td id=cell><a name=row></table>");
        assert_eq!(path, Path::Tree(Unsure::Table));
        assert_eq!(found, ["cell", "row"]);
    }

    #[test]
    fn targets_are_found_only_when_asked_for() {
        let page = Url::parse("http://h/").unwrap();
        let found = findings("<p id=x>", &page, UTF_8, &LinkOptions::default());
        assert!(found.anchors.is_empty());
        let path = for_each_link("<head id=h>", &page, UTF_8, &LinkOptions::default(), |_| {});
        assert_eq!(path, Path::Stream);
    }
}
