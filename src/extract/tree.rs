//! The tree-builder path: html5ever's tree builder, the HTML standard's parsing algorithm as
//! browsers run it (the parser scraper wraps), so text in comments, `<script>`, `<style>`,
//! `<textarea>` and `<title>` is never mistaken for a link, entities are decoded, misnested and
//! foster-parented elements land where a browser puts them, and elements a browser drops (an
//! `<a>` inside `<select>`) are dropped too. The sink below builds only the skeleton of the
//! tree: elements and their order, each with its `href`, no text, no other attributes. Links
//! are then read in tree order, as `document.links` would list them.
//!
//! Each element also keeps whether its `rel` says `nofollow`, and an HTML `<meta>` its `name`
//! and `content`. Template contents stay under their `<template>` (links there count, as the
//! streaming scanner finds them), so the walk knows which metas are template content, which is
//! not part of the document.
//!
//! With `--links all` an HTML element also keeps its other links (`attributes`), listed after
//! its `href`; a `<body>` merged into the existing one adds its `background` if that had none.
//!
//! When fragment targets are asked for, each element also keeps its `id` (a tag merged into an
//! element adds one if that had none) and an HTML `<a>` its `name`; those in template contents
//! are not part of the document and are left out.

use std::borrow::Cow;
use std::cell::{Ref, RefCell};

use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{local_name, ns, parse_document, Attribute, ParseOpts, QualName};

use super::attributes::{element_links, may_have_links};
use super::{rel_says_nofollow, Href, MetaTag, PageHrefs, Via, Wanted};

/// The hrefs of `html` in tree order (and what else is `wanted`), found by html5ever's tree
/// builder: the reference the streaming scanner must match, and the path for pages the
/// scanner cannot be sure of.
pub(super) fn tree_hrefs(html: &str, wanted: Wanted) -> PageHrefs<'static> {
    let skeleton = parse_document(Skeleton::new(wanted), ParseOpts::default()).one(html);
    skeleton.hrefs_in_tree_order()
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
    /// Whether the `rel` attribute says `nofollow`; `None` without one.
    rel_nofollow: Option<bool>,
    /// An HTML `<meta>`'s `name` and `content` (empty if missing), if it has a `name`.
    meta: Option<(StrTendril, StrTendril)>,
    /// The element's other links, with `--links all`.
    links: Vec<(Cow<'static, str>, Via)>,
    /// It has a `background` attribute (with `--links all`; a merged `<body>` needs to know).
    background: bool,
    /// The `id` attribute, empty or not (when fragment targets are asked for).
    id: Option<StrTendril>,
    /// An HTML `<a>`'s `name` (when fragment targets are asked for).
    a_name: Option<StrTendril>,
    is_base: bool,
    is_template: bool,
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
    /// Keep every link attribute, not only `href` (`--links all`).
    all: bool,
    /// Keep the fragment targets: `id`s, and `<a>`s' `name`s.
    anchors: bool,
}

impl Skeleton {
    fn new(wanted: Wanted) -> Skeleton {
        let skeleton = Skeleton {
            nodes: RefCell::new(Vec::with_capacity(1024)),
            all: wanted.all,
            anchors: wanted.anchors,
        };
        skeleton.nameless();
        skeleton
    }

    fn add(&self, name: QualName, attrs: &[Attribute], mathml_integration_point: bool) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        let html = name.ns == ns!(html);
        let is_base = html && name.local == local_name!("base");
        let is_template = html && name.local == local_name!("template");
        let meta = match html && name.local == local_name!("meta") {
            true => meta_of(attrs),
            false => None,
        };
        let (links, background) = match self.all && html {
            true => (
                links_of(name.local.as_bytes(), attrs),
                has_background(attrs),
            ),
            false => (Vec::new(), false),
        };
        let (id, a_name) = match self.anchors {
            true => (
                attr(attrs, local_name!("id")).cloned(),
                match html && name.local == local_name!("a") {
                    true => attr(attrs, local_name!("name")).cloned(),
                    false => None,
                },
            ),
            false => (None, None),
        };
        nodes.push(Node {
            name,
            href: href_of(attrs),
            rel_nofollow: rel_nofollow_of(attrs),
            meta,
            links,
            background,
            id,
            a_name,
            is_base,
            is_template,
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
        self.add(QualName::new(None, ns!(), local_name!("")), &[], false)
    }

    /// The first `<base href>`, every other href, and the metas outside templates, all in
    /// tree order.
    fn hrefs_in_tree_order(self) -> PageHrefs<'static> {
        let owned = |text: StrTendril| Cow::Owned(String::from(text));
        let mut nodes = self.nodes.into_inner();
        let mut page = PageHrefs::default();
        // Each node with whether it is template content.
        let mut stack = vec![(DOCUMENT, false)];
        while let Some((id, in_template)) = stack.pop() {
            let node = &mut nodes[id];
            let nofollow = node.rel_nofollow == Some(true);
            if let Some(href) = node.href.take() {
                if !node.is_base {
                    let html = node.name.ns == ns!(html);
                    page.hrefs.push(Href {
                        value: owned(href),
                        nofollow,
                        via: Via::href(node.name.local.as_bytes(), html),
                    });
                } else if page.base.is_none() {
                    page.base = Some(owned(href));
                }
            }
            for (value, via) in std::mem::take(&mut node.links) {
                page.hrefs.push(Href {
                    value,
                    nofollow,
                    via,
                });
            }
            if let (Some((name, content)), false) = (node.meta.take(), in_template) {
                page.metas.push(MetaTag {
                    name: owned(name),
                    content: owned(content),
                });
            }
            if !in_template {
                let anchors = [node.id.take(), node.a_name.take()].into_iter().flatten();
                let anchors = anchors.filter(|anchor| !anchor.is_empty());
                page.anchors.extend(anchors.map(owned));
            }
            let in_template = in_template || node.is_template;
            let mut child = node.last_child;
            while child != NONE {
                stack.push((child, in_template));
                child = nodes[child].previous;
            }
        }
        page
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

/// The value of the attribute `local` in no namespace.
fn attr(attrs: &[Attribute], local: html5ever::LocalName) -> Option<&StrTendril> {
    let mut named = attrs.iter().filter(|attr| attr.name.ns == ns!());
    named
        .find(|attr| attr.name.local == local)
        .map(|attr| &attr.value)
}

/// The HTML element `element`'s links besides its `href` (`--links all`).
fn links_of(element: &[u8], attrs: &[Attribute]) -> Vec<(Cow<'static, str>, Via)> {
    let mut links = Vec::new();
    if may_have_links(element) {
        let value = |name: &str| {
            let mut named = attrs.iter().filter(|attr| attr.name.ns == ns!());
            let found = named.find(|attr| &*attr.name.local == name);
            found.map(|attr| Cow::Owned(String::from(&*attr.value)))
        };
        element_links(element, value, |value, via| links.push((value, via)));
    }
    links
}

fn has_background(attrs: &[Attribute]) -> bool {
    attr(attrs, local_name!("background")).is_some()
}

/// Whether the element's `rel` says `nofollow`; `None` without a `rel`.
fn rel_nofollow_of(attrs: &[Attribute]) -> Option<bool> {
    attr(attrs, local_name!("rel")).map(|rel| rel_says_nofollow(rel))
}

/// A `<meta>`'s `name` and `content`, when it has a `name`.
fn meta_of(attrs: &[Attribute]) -> Option<(StrTendril, StrTendril)> {
    let name = attr(attrs, local_name!("name"))?.clone();
    let content = attr(attrs, local_name!("content")).cloned();
    Some((name, content.unwrap_or_default()))
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
        self.add(name, &attrs, flags.mathml_annotation_xml_integration_point)
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
        if node.rel_nofollow.is_none() {
            node.rel_nofollow = rel_nofollow_of(&attrs);
        }
        if self.anchors && node.id.is_none() {
            node.id = attr(&attrs, local_name!("id")).cloned();
        }
        // Of the elements merged into, only `<body>` has a link attribute: `background`.
        let body = node.name.ns == ns!(html) && node.name.local == local_name!("body");
        if self.all && body && !node.background && has_background(&attrs) {
            node.background = true;
            node.links = links_of(b"body", &attrs);
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
