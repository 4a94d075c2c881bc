//! The constructs that send a page to the tree builder, because the tree it builds holds
//! their elements in another order than their tokens, or not at all: tables, select, frameset.

use super::pieces::{chance, pick};
use super::{Context, Link, Writer};

impl Writer<'_> {
    /// A table with rows, cells, a caption, column groups and content out of place (fostered
    /// before the table), maybe closed.
    pub(super) fn table(&mut self, depth: u32) {
        self.start_tag("table", Link::None);
        for _ in 0..self.rng.usize(0..5) {
            match self.rng.u32(..9) {
                0 => self.html.push_str("<tr>"),
                1 | 2 => {
                    self.start_one_of(&["td", "th"], Link::Href);
                    self.nodes(Context::Html, depth + 1);
                }
                3 => {
                    self.start_tag("caption", Link::None);
                    self.nodes(Context::Html, depth + 1);
                    self.close("caption");
                }
                4 => self.html.push_str("<colgroup><col href=/col>"),
                5 => self
                    .html
                    .push_str(pick(self.rng, &["<tbody>", "<thead>", "</tr>", "</td>"])),
                6 => self.html.push_str("<input type=hidden href=/hidden>"),
                _ => self.nodes(Context::Html, depth + 1),
            }
        }
        if chance(self.rng, 70) {
            self.close("table");
        }
    }

    /// A select, whose content the tree builder mostly drops, maybe closed.
    pub(super) fn select(&mut self, depth: u32) {
        self.start_tag("select", Link::None);
        for _ in 0..self.rng.usize(0..4) {
            match self.rng.u32(..5) {
                0 => self.start_tag("option", Link::Href),
                1 => self.html.push_str("<optgroup>"),
                2 => self.start_tag("a", Link::Href),
                3 => self
                    .html
                    .push_str(pick(self.rng, &["<select>", "<input>", "<textarea>x"])),
                _ => self.nodes(Context::Html, depth + 1),
            }
        }
        if chance(self.rng, 70) {
            self.close("select");
        }
    }

    /// A frameset (which drops the body if nothing has ruled it out yet), or a frame alone.
    pub(super) fn frameset(&mut self) {
        if self.rng.bool() {
            self.html
                .push_str("<frameset><frame href=/frame><noframes><a href=/noframes></noframes>");
            if self.rng.bool() {
                self.html.push_str("</frameset>");
            }
        } else {
            self.start_tag("frame", Link::Href);
        }
    }
}
