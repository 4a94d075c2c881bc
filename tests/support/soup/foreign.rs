//! Foreign content in the tag soup: SVG (with its own `style`, `script` and `title`, CDATA,
//! integration points and HTML breaking out) and MathML.

use super::pieces::{self, chance, pick};
use super::{Context, Link, Writer, MAX_DEPTH};

impl Writer<'_> {
    /// `<svg>` with SVG content, maybe closed.
    pub(super) fn svg(&mut self, depth: u32) {
        let link = if chance(self.rng, 20) {
            Link::Xlink
        } else {
            Link::None
        };
        self.start_tag("svg", link);
        self.nodes(Context::Svg, depth + 1);
        if chance(self.rng, 70) {
            self.close("svg");
        }
    }

    /// One node of SVG content: elements with `href` or `xlink:href`, SVG's own `style`,
    /// `script` and `title` (markup inside, not raw text), CDATA, self-closing tags; in
    /// documents that are not plain, HTML breaking out or in an integration point too.
    pub(super) fn svg_node(&mut self, depth: u32) {
        let nested = depth < MAX_DEPTH;
        match self.rng.u32(..20) {
            0..=4 => {
                let link = if self.rng.bool() {
                    Link::Href
                } else {
                    Link::Xlink
                };
                let name = pick(self.rng, &["a", "a", "use", "image", "base", "g", "path"]);
                self.start_tag(name, link);
                if nested && chance(self.rng, 50) {
                    self.nodes(Context::Svg, depth + 1);
                    self.close(name);
                }
            }
            5 => self.html.push_str("<path d=M0/>"),
            6..=7 if nested => {
                let name = pick(self.rng, &["g", "text", "style", "script", "template"]);
                self.start_tag(name, Link::None);
                self.nodes(Context::Svg, depth + 1);
                self.close(name);
            }
            8..=9 => {
                let name = pick(self.rng, &["title", "desc", "foreignObject"]);
                self.start_tag(name, Link::None);
                if self.palette.unsure && nested && self.rng.bool() {
                    // An HTML integration point: its start tags are HTML.
                    self.nodes(Context::Html, depth + 1);
                } else {
                    self.text();
                }
                self.close(name);
            }
            10 => {
                let cdata = pick(
                    self.rng,
                    &[
                        "<![CDATA[<a href=/cdata>]]>",
                        "<![CDATA[x]]]>",
                        "<![CDATA[ unclosed <a href=/in-cdata>",
                        "<![cdata[<a href=/lower-cdata>]]>",
                    ],
                );
                self.html.push_str(cdata);
            }
            11 if self.palette.comments => self.html.push_str(&pieces::comment(self.rng)),
            12 if nested => self.svg(depth),
            13..=14 if self.palette.unsure => {
                let breakout = pick(
                    self.rng,
                    &[
                        "<p>",
                        "<b>",
                        "<div href=/out>",
                        "<font color=red>",
                        "<br>",
                        "</p>",
                        "</br>",
                        "<ul>",
                        "<a href=/plain-a><span>",
                    ],
                );
                self.html.push_str(breakout);
            }
            _ => self.text(),
        }
    }

    /// `<math>` with MathML content, maybe closed.
    pub(super) fn math(&mut self, depth: u32) {
        self.start_tag("math", Link::None);
        self.nodes(Context::Math, depth + 1);
        if chance(self.rng, 70) {
            self.close("math");
        }
    }

    /// One node of MathML content: text integration points and `annotation-xml` holding HTML,
    /// MathML elements with hrefs, SVG inside.
    pub(super) fn math_node(&mut self, depth: u32) {
        let nested = depth < MAX_DEPTH;
        match self.rng.u32(..8) {
            0..=2 if nested => {
                let name = pick(self.rng, &["mi", "mo", "mtext", "mrow"]);
                self.start_tag(name, Link::None);
                self.nodes(Context::Html, depth + 1);
                self.close(name);
            }
            3 if nested => {
                let encoding = pick(self.rng, &["text/html", "TEXT/HTML", "image/svg+xml"]);
                self.html
                    .push_str(&format!("<annotation-xml encoding=\"{encoding}\">"));
                self.nodes(Context::Html, depth + 1);
                self.close("annotation-xml");
            }
            4 => self.start_one_of(&["mi", "a", "maction"], Link::Xlink),
            5 => self.start_one_of(&["mo", "a", "math"], Link::Href),
            6 if nested => self.svg(depth),
            _ => self.text(),
        }
    }
}
