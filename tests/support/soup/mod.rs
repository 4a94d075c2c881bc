//! Tag soup for the differential tests: random HTML, nested at random and often cut short,
//! full of the constructs where a link scanner could part ways with the HTML standard's tree
//! builder. The same generator state gives the same document on any machine.
//!
//! Each document draws a palette of construct families, so some are nearly bare and some hold
//! everything; a "plain" document has none of the constructs that send a page to the tree
//! builder (tables, select, frameset, MathML, HTML inside SVG, hrefs on html, head, body or
//! form), so the streaming path gets its share of pages.

mod foreign;
mod pieces;
mod tags;
mod unsure;

use fastrand::Rng;

use pieces::{chance, pick};

/// One generated document.
pub struct Soup {
    /// The HTML text.
    pub html: String,
    /// Made without the constructs that send a page to the tree builder.
    pub plain: bool,
}

/// The construct families one document may hold.
#[derive(Clone, Copy)]
struct Palette {
    /// Tables, select, frameset, MathML, HTML inside SVG, hrefs on html, head, body and form.
    unsure: bool,
    svg: bool,
    raw_text: bool,
    comments: bool,
    /// Formatting elements left open or closed out of order, nested anchors.
    misnesting: bool,
    template: bool,
    /// Bogus comments, DOCTYPEs, stray end tags, NUL and CR.
    odd: bool,
    entities: bool,
}

/// Where the next node goes: HTML, SVG, or MathML content.
#[derive(Clone, Copy, PartialEq)]
enum Context {
    Html,
    Svg,
    Math,
}

/// How deep elements nest in one document.
const MAX_DEPTH: u32 = 4;

/// A document from `rng`: about two in five hold everything, the rest are plain.
pub fn document(rng: &mut Rng) -> Soup {
    let plain = chance(rng, 60);
    let share = if plain { 50 } else { 70 };
    let palette = Palette {
        unsure: !plain,
        svg: chance(rng, share),
        raw_text: chance(rng, share),
        comments: chance(rng, share),
        misnesting: chance(rng, share),
        template: chance(rng, share),
        odd: chance(rng, share),
        entities: chance(rng, share),
    };
    let mut writer = Writer {
        rng,
        palette,
        html: String::new(),
    };
    writer.document();
    let mut html = writer.html;
    if chance(writer.rng, 30) {
        truncate(writer.rng, &mut html);
    }
    Soup { html, plain }
}

/// Cuts `html` at a random char boundary, so the end of the file falls inside a tag, a value,
/// a comment or a script.
fn truncate(rng: &mut Rng, html: &mut String) {
    let mut at = rng.usize(0..=html.len());
    while !html.is_char_boundary(at) {
        at -= 1;
    }
    html.truncate(at);
}

/// Which attribute carries the link.
#[derive(Clone, Copy)]
enum Link {
    None,
    Href,
    /// SVG's `xlink:href` (a plain attribute outside foreign content).
    Xlink,
}

/// The document being written.
struct Writer<'r> {
    rng: &'r mut Rng,
    palette: Palette,
    html: String,
}

impl Writer<'_> {
    fn document(&mut self) {
        if self.palette.odd && chance(self.rng, 10) {
            // A byte order mark, which the tokenizer drops at the start of the input.
            self.html.push('\u{feff}');
        }
        if chance(self.rng, 50) {
            self.html
                .push_str(pieces::doctype(self.rng, self.palette.odd));
        }
        if chance(self.rng, 40) {
            self.structural("html");
        }
        if chance(self.rng, 50) {
            self.head();
        }
        if chance(self.rng, 40) {
            self.structural("body");
        }
        self.nodes(Context::Html, 0);
        if chance(self.rng, 30) {
            self.html
                .push_str(pick(self.rng, &["</body>", "</html>", "</body></html>"]));
            // Content after the end: the tree builder moves it back into the body.
            self.nodes(Context::Html, MAX_DEPTH);
        }
    }

    /// A `<head>` with what belongs there (bases and links first of all), maybe closed.
    fn head(&mut self) {
        self.structural("head");
        for _ in 0..self.rng.usize(0..5) {
            match self.rng.u32(..6) {
                0 | 1 => self.start_one_of(&["base", "link"], Link::Href),
                2 if self.palette.raw_text => self.raw_text(),
                2 | 3 if self.palette.template => self.template(1),
                4 if self.palette.comments => self.html.push_str(&pieces::comment(self.rng)),
                _ => self.meta(),
            }
        }
        if chance(self.rng, 60) {
            self.html.push_str("</head>");
        }
    }

    /// `html`, `head`, `body` or `form`: start tags the tree builder may merge into an earlier
    /// one or ignore, so they carry an href only in documents that are not plain.
    fn structural(&mut self, name: &str) {
        let link = if self.palette.unsure && chance(self.rng, 50) {
            Link::Href
        } else {
            Link::None
        };
        self.start_tag(name, link);
    }

    /// Up to a few nodes of `context` at nesting `depth`.
    fn nodes(&mut self, context: Context, depth: u32) {
        let most = match depth {
            0 => 10,
            1 => 4,
            _ => 3,
        };
        for _ in 0..self.rng.usize(usize::from(depth == 0)..=most) {
            match context {
                Context::Html => self.html_node(depth),
                Context::Svg => self.svg_node(depth),
                Context::Math => self.math_node(depth),
            }
        }
    }

    /// One node of HTML content.
    fn html_node(&mut self, depth: u32) {
        let nested = depth < MAX_DEPTH;
        let p = self.palette;
        match self.rng.u32(..40) {
            0..=3 => self.text(),
            4 if chance(self.rng, 40) => self.meta(),
            4..=11 => {
                let name = pick(
                    self.rng,
                    &[
                        "a",
                        "a",
                        "a",
                        "a",
                        "link",
                        "area",
                        "div",
                        "base",
                        "base",
                        "span",
                        "img",
                        "image",
                        "button",
                        "img",
                        "source",
                        "video",
                        "audio",
                        "embed",
                        "track",
                        "input",
                        "object",
                        "q",
                        "blockquote",
                        "del",
                        "ins",
                        "meta",
                    ],
                );
                let link = if chance(self.rng, 90) {
                    Link::Href
                } else {
                    Link::None
                };
                self.start_tag(name, link);
                if matches!(name, "a" | "div" | "span" | "button") && nested {
                    self.nodes(Context::Html, depth + 1);
                    self.close(name);
                }
            }
            12..=15 if nested => self.container(depth),
            16..=18 if p.raw_text => self.raw_text(),
            19 if p.raw_text && chance(self.rng, 5) => self.start_tag("plaintext", Link::None),
            20..=21 if p.comments => self.html.push_str(&pieces::comment(self.rng)),
            22..=23 if p.odd => self.html.push_str(&pieces::odd_markup(self.rng)),
            24 if p.template && nested => self.template(depth),
            25..=26 if p.svg && nested => self.svg(depth),
            27..=28 if p.misnesting => self.misnested(),
            29 => {
                let name = pick(self.rng, &["html", "head", "body", "form", "form"]);
                self.structural(name);
            }
            30..=32 if p.unsure && nested => self.table(depth),
            33 if p.unsure && nested => self.select(depth),
            34 if p.unsure => self.frameset(),
            35 if p.unsure && nested => self.math(depth),
            36 if p.unsure => {
                let name = pick(self.rng, &["td", "tr", "th", "caption", "col", "tbody"]);
                self.start_tag(name, Link::Href);
            }
            _ => self.start_tag("a", Link::Href),
        }
    }

    /// A block or formatting element with children, closed (or not, or by the wrong end tag,
    /// when misnesting is in the palette).
    fn container(&mut self, depth: u32) {
        let blocks = ["div", "p", "li", "ul", "section", "h1", "h2", "label", "em"];
        let formatting = ["b", "i", "strong", "code", "nobr", "font", "u"];
        let name = if self.palette.misnesting && self.rng.bool() {
            pick(self.rng, &formatting)
        } else {
            pick(self.rng, &blocks)
        };
        let link = if chance(self.rng, 30) {
            Link::Href
        } else {
            Link::None
        };
        self.start_tag(name, link);
        self.nodes(Context::Html, depth + 1);
        if !self.palette.misnesting || chance(self.rng, 60) {
            self.close(name);
        } else if self.rng.bool() {
            let wrong = pick(self.rng, &["a", "b", "p", "div", "i", "li"]);
            self.close(wrong);
        }
    }

    /// Misnested formatting elements: the adoption agency and reconstruction clone them.
    fn misnested(&mut self) {
        const SNIPPETS: &[&str] = &[
            "<a href=/m1><b>x</a>y</b>",
            "<p><a href=/m2>x</p>y",
            "<a href=/m3><div><a href=/m4>z</div>",
            "<a href=/m5>unclosed ",
            "<b><i href=/m6></b></i>w",
            "<nobr href=/m7><nobr href=/m8>",
            "<a href=/m9><object><a href=/m10></object>",
            "<marquee><a href=/m11></marquee>",
            "<b href=/m12><p>x</b>y</p>",
            "<a href=/m13><p><a href=/m14>",
            "</a></b></i>",
        ];
        match self.rng.u32(..3) {
            0 => self.html.push_str(pick(self.rng, SNIPPETS)),
            1 => self.start_one_of(&["a", "b", "i", "font"], Link::Href),
            _ => self.close_one_of(&["a", "b", "p", "div", "li", "font"]),
        }
    }

    /// `<template>` with any content, maybe closed.
    fn template(&mut self, depth: u32) {
        self.start_tag("template", Link::None);
        self.nodes(Context::Html, depth + 1);
        if chance(self.rng, 70) {
            self.close("template");
        }
    }

    fn text(&mut self) {
        let text = pieces::text(self.rng, self.palette.entities, self.palette.odd);
        self.html.push_str(&text);
    }

    /// A raw text or RCDATA element with markup-like text inside, ended in one of many ways.
    fn raw_text(&mut self) {
        let name = pick(self.rng, pieces::RAW_TEXT);
        self.start_tag(name, Link::None);
        let body = pieces::raw_body(self.rng, name);
        self.html.push_str(&body);
        let end = pieces::raw_end(self.rng, name);
        self.html.push_str(&end);
        // A link right after, so where the element really ends matters.
        self.start_tag("a", Link::Href);
    }
}
