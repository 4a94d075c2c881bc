//! The tree-builder path: html5ever's tree builder, the HTML standard's parsing algorithm as
//! browsers run it (the parser scraper wraps), so text in comments, `<script>`, `<style>`,
//! `<textarea>` and `<title>` is never mistaken for a link, entities are decoded, misnested and
//! foster-parented elements land where a browser puts them, and elements a browser drops (an
//! `<a>` inside `<select>`) are dropped too. The sink below builds only the skeleton of the
//! tree: elements and their order, each with its `href`, no text, no other attributes. Links
//! are then read in tree order, as `document.links` would list them.

use std::borrow::Cow;
use std::cell::{Ref, RefCell};

use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{local_name, ns, parse_document, Attribute, ParseOpts, QualName};

use super::PageHrefs;

/// The hrefs of `html` in tree order, found by html5ever's tree builder: the reference the
/// streaming scanner must match, and the path for pages the scanner cannot be sure of.
pub(super) fn tree_hrefs(html: &str) -> PageHrefs<'static> {
    let skeleton = parse_document(Skeleton::new(), ParseOpts::default()).one(html);
    let (base, hrefs) = skeleton.hrefs_in_tree_order();
    let owned = |href: StrTendril| Cow::Owned(String::from(href));
    PageHrefs {
        base: base.map(owned),
        hrefs: hrefs.into_iter().map(owned).collect(),
    }
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
