//! Start and end tags in the tag soup: names in any case, attributes in every quoting, the
//! link attribute among others and sometimes twice, and now and then the attributes
//! `--links all` reads (`src`, `srcset`, `<meta http-equiv=refresh>`, …).

use super::pieces::{self, cased, chance, pick};
use super::{Link, Writer};

impl Writer<'_> {
    /// A start tag of one of `names`, carrying `link`.
    pub(super) fn start_one_of(&mut self, names: &[&str], link: Link) {
        let name = pick(self.rng, names);
        self.start_tag(name, link);
    }

    /// An end tag of one of `names`.
    pub(super) fn close_one_of(&mut self, names: &[&str]) {
        let name = pick(self.rng, names);
        self.close(name);
    }

    /// An end tag, sometimes in upper case or with spaces.
    pub(super) fn close(&mut self, name: &str) {
        let name = cased(self.rng, name);
        let tail = pick(self.rng, &[">", ">", ">", " >", "/>"]);
        self.html.push_str(&format!("</{name}{tail}"));
    }

    /// A start tag: `name` in any case, other attributes around the link (sometimes twice),
    /// separated by whitespace or `/`, ended by `>` or `/>`.
    pub(super) fn start_tag(&mut self, name: &str, link: Link) {
        self.start_tag_with(name, link, Vec::new());
    }

    /// A `<meta>` with a `name` and a `content` (each sometimes missing), robots directives
    /// among them.
    pub(super) fn meta(&mut self) {
        let mut attrs = Vec::new();
        if chance(self.rng, 90) {
            let name = pick(self.rng, pieces::META_NAMES);
            attrs.push(("name".to_string(), name.to_string()));
        }
        if chance(self.rng, 90) {
            let content = pick(self.rng, pieces::META_CONTENTS);
            let at = self.rng.usize(0..=attrs.len());
            attrs.insert(at, ("content".to_string(), content.to_string()));
        }
        self.start_tag_with("meta", Link::None, attrs);
    }

    /// A start tag as [`Self::start_tag`] writes it, with `attrs` among the others.
    fn start_tag_with(&mut self, name: &str, link: Link, mut attrs: Vec<(String, String)>) {
        for _ in 0..self.rng.usize(0..=2) {
            if chance(self.rng, 40) {
                let (name, value) = pick(self.rng, pieces::OTHER_ATTRS);
                let at = self.rng.usize(0..=attrs.len());
                attrs.insert(at, (name.to_string(), value.to_string()));
            }
        }
        // A `<body background>` or a second `<form action>` sends a page to the tree builder.
        let merged = matches!(name, "body" | "form");
        if chance(self.rng, 25) && (self.palette.unsure || !merged) {
            for _ in 0..self.rng.usize(1..=2) {
                let (name, value) = self.link_attribute();
                let at = self.rng.usize(0..=attrs.len());
                attrs.insert(at, (name.to_string(), value));
            }
        }
        let link_name = match link {
            Link::None => None,
            Link::Href => Some("href"),
            Link::Xlink => Some("xlink:href"),
        };
        if let Some(link_name) = link_name {
            let copies = if chance(self.rng, 10) { 2 } else { 1 };
            for _ in 0..copies {
                let value = pieces::href(self.rng, self.palette.entities, self.palette.odd);
                let at = self.rng.usize(0..=attrs.len());
                attrs.insert(at, (link_name.to_string(), value));
            }
        }
        let mut tag = format!("<{}", cased(self.rng, name));
        for (name, value) in attrs {
            tag.push_str(pick(
                self.rng,
                &[" ", " ", " ", " ", "\t", "\n", "\x0c", "/", " / ", "\r\n"],
            ));
            self.attribute(&mut tag, &name, &value);
        }
        tag.push_str(pick(self.rng, &[">", ">", ">", ">", "/>", " >", "\n>"]));
        self.html.push_str(&tag);
    }

    /// One of the attributes `--links all` reads, with a value for it.
    fn link_attribute(&mut self) -> (&'static str, String) {
        let (entities, odd) = (self.palette.entities, self.palette.odd);
        match self.rng.u32(..14) {
            0 => ("srcset", pick(self.rng, pieces::SRCSETS).to_string()),
            1 => (
                "type",
                pick(self.rng, &["image", "IMAGE", "text", " image"]).to_string(),
            ),
            2 => (
                "http-equiv",
                pick(self.rng, &["refresh", "Refresh", "x"]).to_string(),
            ),
            3 => ("content", pick(self.rng, pieces::REFRESHES).to_string()),
            _ => {
                let names = [
                    "src",
                    "src",
                    "src",
                    "poster",
                    "data",
                    "action",
                    "formaction",
                    "cite",
                    "background",
                    "longdesc",
                ];
                (
                    pick(self.rng, &names),
                    pieces::href(self.rng, entities, odd),
                )
            }
        }
    }

    /// `name=value` in one of its forms: double, single or no quotes, spaces around `=`, or
    /// no value at all.
    fn attribute(&mut self, tag: &mut String, name: &str, value: &str) {
        let name = cased(self.rng, name);
        let attribute = match self.rng.u32(..12) {
            0..=3 => format!("{name}=\"{value}\""),
            4..=5 => format!("{name}='{value}'"),
            6..=7 => format!("{name}={value}"),
            8 => format!("{name} = \"{value}\""),
            9 => format!("{name}= {value}"),
            10 => format!("{name} ='{value}'"),
            _ => name,
        };
        tag.push_str(&attribute);
    }
}
