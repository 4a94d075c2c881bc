//! Finding the links of a page: a pure function from HTML text to absolute URLs. No I/O.
//!
//! The HTML goes through html5ever's tree builder, the HTML standard's parsing algorithm as
//! browsers run it (the parser scraper wraps), so text in comments, `<script>`, `<style>`,
//! `<textarea>` and `<title>` is never mistaken for a link, entities are decoded, misnested and
//! foster-parented elements land where a browser puts them, and elements a browser drops (an
//! `<a>` inside `<select>`) are dropped too. The sink below builds only the skeleton of the
//! tree: elements and their order, each with its `href`, no text, no other attributes. Links
//! are then read in tree order, as `document.links` would list them.
//! Resolution follows the WHATWG URL standard (`url::Url`), with the query encoded in the
//! page's encoding as browsers do.

use std::borrow::Cow;
use std::cell::{Ref, RefCell};
use std::collections::HashSet;

use encoding_rs::Encoding;
use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{local_name, ns, parse_document, Attribute, ParseOpts, QualName};
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
    let skeleton = parse_document(Skeleton::new(), ParseOpts::default()).one(html);
    let (base, hrefs) = skeleton.hrefs_in_tree_order();
    let base = base
        .and_then(|href| parse_href(&href, page_url, encoding))
        .unwrap_or_else(|| page_url.clone());

    let mut seen = HashSet::with_capacity(hrefs.len());
    let mut links = Vec::with_capacity(hrefs.len());
    for href in &hrefs {
        let Some(mut link) = parse_href(href, &base, encoding) else {
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
        if seen.insert(crate::seen::fingerprint_text(link.as_str())) {
            links.push(link);
        }
    }
    links
}

/// No node: the end of a sibling list, or no parent.
const NONE: usize = usize::MAX;
/// The document node's handle.
const DOCUMENT: usize = 0;

/// One node of the skeleton: its place in the tree and, for elements, name and href.
struct Node {
    name: QualName,
    /// The `href` attribute (or SVG `xlink:href`).
    href: Option<StrTendril>,
    is_base: bool,
    mathml_integration_point: bool,
    parent: usize,
    first_child: usize,
    last_child: usize,
    previous: usize,
    next: usize,
}

/// A tree sink that keeps the tree's shape and each element's href, nothing else.
struct Skeleton {
    nodes: RefCell<Vec<Node>>,
}

impl Skeleton {
    fn new() -> Skeleton {
        let skeleton = Skeleton {
            nodes: RefCell::new(Vec::with_capacity(1024)),
        };
        skeleton.add(QualName::new(None, ns!(), local_name!("")), None, false);
        skeleton
    }

    fn add(
        &self,
        name: QualName,
        href: Option<StrTendril>,
        mathml_integration_point: bool,
    ) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        let is_base = name.local == local_name!("base") && name.ns == ns!(html);
        nodes.push(Node {
            name,
            href,
            is_base,
            mathml_integration_point,
            parent: NONE,
            first_child: NONE,
            last_child: NONE,
            previous: NONE,
            next: NONE,
        });
        nodes.len() - 1
    }

    fn nameless(&self) -> usize {
        self.add(QualName::new(None, ns!(), local_name!("")), None, false)
    }

    /// The first `<base href>` and every other href, both in tree order.
    fn hrefs_in_tree_order(self) -> (Option<StrTendril>, Vec<StrTendril>) {
        let mut nodes = self.nodes.into_inner();
        let mut base = None;
        let mut hrefs = Vec::new();
        let mut stack = vec![DOCUMENT];
        while let Some(id) = stack.pop() {
            let node = &mut nodes[id];
            if let Some(href) = node.href.take() {
                if !node.is_base {
                    hrefs.push(href);
                } else if base.is_none() {
                    base = Some(href);
                }
            }
            let mut child = node.last_child;
            while child != NONE {
                stack.push(child);
                child = nodes[child].previous;
            }
        }
        (base, hrefs)
    }

    /// Unlinks `id` from its parent, if it has one.
    fn detach(nodes: &mut [Node], id: usize) {
        let (parent, previous, next) = (nodes[id].parent, nodes[id].previous, nodes[id].next);
        if parent == NONE {
            return;
        }
        match previous {
            NONE => nodes[parent].first_child = next,
            previous => nodes[previous].next = next,
        }
        match next {
            NONE => nodes[parent].last_child = previous,
            next => nodes[next].previous = previous,
        }
        let node = &mut nodes[id];
        node.parent = NONE;
        node.previous = NONE;
        node.next = NONE;
    }

    /// Makes `id` the last child of `parent`.
    fn append_child(nodes: &mut [Node], parent: usize, id: usize) {
        Self::detach(nodes, id);
        let last = nodes[parent].last_child;
        nodes[id].parent = parent;
        nodes[id].previous = last;
        match last {
            NONE => nodes[parent].first_child = id,
            last => nodes[last].next = id,
        }
        nodes[parent].last_child = id;
    }

    /// Puts `id` right before `sibling`, under the same parent.
    fn insert_before(nodes: &mut [Node], sibling: usize, id: usize) {
        let parent = nodes[sibling].parent;
        if parent == NONE {
            return;
        }
        Self::detach(nodes, id);
        let previous = nodes[sibling].previous;
        nodes[id].parent = parent;
        nodes[id].previous = previous;
        nodes[id].next = sibling;
        nodes[sibling].previous = id;
        match previous {
            NONE => nodes[parent].first_child = id,
            previous => nodes[previous].next = id,
        }
    }
}

/// The element's `href`: the plain attribute, else SVG's `xlink:href`.
fn href_of(attrs: &[Attribute]) -> Option<StrTendril> {
    let named = |ns| {
        attrs
            .iter()
            .find(|attr| attr.name.local == local_name!("href") && attr.name.ns == ns)
    };
    named(ns!())
        .or_else(|| named(ns!(xlink)))
        .map(|attr| attr.value.clone())
}

impl TreeSink for Skeleton {
    type Handle = usize;
    type Output = Skeleton;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> Skeleton {
        self
    }

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> usize {
        DOCUMENT
    }

    fn elem_name<'a>(&'a self, target: &'a usize) -> Ref<'a, QualName> {
        Ref::map(self.nodes.borrow(), |nodes| &nodes[*target].name)
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> usize {
        self.add(
            name,
            href_of(&attrs),
            flags.mathml_annotation_xml_integration_point,
        )
    }

    fn create_comment(&self, _text: StrTendril) -> usize {
        self.nameless()
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> usize {
        self.nameless()
    }

    fn append(&self, parent: &usize, child: NodeOrText<usize>) {
        if let NodeOrText::AppendNode(child) = child {
            Self::append_child(&mut self.nodes.borrow_mut(), *parent, child);
        }
    }

    fn append_based_on_parent_node(
        &self,
        element: &usize,
        prev_element: &usize,
        child: NodeOrText<usize>,
    ) {
        let has_parent = self.nodes.borrow()[*element].parent != NONE;
        if has_parent {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev_element, child);
        }
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {}

    /// Template contents stay under the template element, as scraper keeps them, so links in
    /// a `<template>` are found.
    fn get_template_contents(&self, target: &usize) -> usize {
        *target
    }

    fn same_node(&self, x: &usize, y: &usize) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &usize, new_node: NodeOrText<usize>) {
        if let NodeOrText::AppendNode(id) = new_node {
            Self::insert_before(&mut self.nodes.borrow_mut(), *sibling, id);
        }
    }

    fn add_attrs_if_missing(&self, target: &usize, attrs: Vec<Attribute>) {
        let mut nodes = self.nodes.borrow_mut();
        let node = &mut nodes[*target];
        if node.href.is_none() {
            node.href = href_of(&attrs);
        }
    }

    fn remove_from_parent(&self, target: &usize) {
        Self::detach(&mut self.nodes.borrow_mut(), *target);
    }

    fn reparent_children(&self, node: &usize, new_parent: &usize) {
        let mut nodes = self.nodes.borrow_mut();
        let mut child = nodes[*node].first_child;
        while child != NONE {
            let next = nodes[child].next;
            Self::append_child(&mut nodes, *new_parent, child);
            child = next;
        }
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &usize) -> bool {
        self.nodes.borrow()[*handle].mathml_integration_point
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
