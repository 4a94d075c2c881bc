//! The streaming path: the HTML standard's tokenizer, run only as far as links need, with the
//! few tree-builder facts that decide tokenizer states followed alongside.
//!
//! What is skipped is skipped as the tokenizer skips it: comments (every odd ending), bogus
//! comments, DOCTYPEs, CDATA in SVG, and the text of `<script>` (with its escape states),
//! `<style>`, `<xmp>`, `<iframe>`, `<noembed>`, `<noframes>`, `<noscript>` (scripting is on,
//! as in the tree builder), `<title>`, `<textarea>` and `<plaintext>`. A tag cut by the end of
//! the input is dropped, as the tokenizer drops it.
//!
//! Each href comes with whether its element's `rel` says `nofollow`, and each HTML `<meta>`
//! with a `name` is kept, except inside `<template>` (its content is not in the document):
//! `<template>` start and end tags in HTML content are counted, as the stack of open elements
//! would hold them (an end tag with no template open is ignored, and nothing else closes one).
//!
//! Token order is tree order, and every start tag an element, except where the tree builder
//! moves or drops elements: table structure (foster parenting), `<select>`, framesets, MathML
//! and HTML inside SVG, and start tags merged into an existing element. The scanner does not
//! follow those; it reports [`Unsure`] and the page takes the tree builder's path. Elements the
//! adoption agency or the list of active formatting elements re-create are clones of earlier
//! ones, so they add no link that was not already found, in the same order.
//!
//! With `--links all` a start tag of an element that may have other link attributes is read a
//! second time for them (the default path never reads them). Two more tags may not be where
//! their tokens are: a `<body>` with a `background` (merged into the body there is, or
//! dropped) and a `<form>` with an `action` after another `<form>` (dropped while a form is
//! open); those pages take the tree builder's path too. An `<image>` is an `<img>`, as the
//! tree builder renames it.
//!
//! When fragment targets are asked for, each start tag's `id` is kept, and an HTML `<a>`'s
//! `name`, outside templates. An `id` may also be dropped where its tag is merged into an
//! element that has one or dropped: on a second `<html>` or `<body>`, on any `<head>` (one may
//! already be open, made by an earlier tag), and on a `<form>` after another; those pages
//! take the tree builder's path.

use memchr::memchr;

use super::attributes::{element_links, may_have_links, LINK_ATTRIBUTES};
use super::charref::attribute_value;
use super::{rel_says_nofollow, Href, MetaTag, PageHrefs, Unsure, Via, Wanted};

/// The hrefs of `html` in token order (and what else is `wanted`), or why token order may not
/// be tree order here.
pub(super) fn stream_hrefs(html: &str, wanted: Wanted) -> Result<PageHrefs<'_>, Unsure> {
    let mut scanner = Scanner {
        html,
        bytes: html.as_bytes(),
        page: PageHrefs::default(),
        foreign: Vec::new(),
        templates: 0,
        all: wanted.all,
        anchors: wanted.anchors,
        forms: 0,
        htmls: 0,
        bodies: 0,
    };
    scanner.run()?;
    Ok(scanner.page)
}

/// How the tokenizer reads the text after a start tag in HTML content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    /// Markup: tags are tags.
    Markup,
    /// RCDATA or RAWTEXT: text up to the matching end tag.
    UntilEndTag,
    /// Script data, with its escape states.
    Script,
    /// PLAINTEXT: text to the end of the input.
    Rest,
}

/// One tag as the tokenizer emits it, with only what links need.
struct Tag<'a> {
    /// The name as written (compare it ASCII-case-insensitively).
    name: &'a str,
    /// The raw value of the first `href` attribute.
    href: Option<&'a str>,
    /// The raw value of the first `xlink:href` attribute.
    xlink_href: Option<&'a str>,
    /// The raw value of the first `rel` attribute.
    rel: Option<&'a str>,
    /// The raw value of the first `name` attribute (a `<meta>`'s or an `<a>`'s).
    name_attribute: Option<&'a str>,
    /// The raw value of the first `id` attribute.
    id: Option<&'a str>,
    /// The raw value of the first `content` attribute (a `<meta>`'s).
    content: Option<&'a str>,
    self_closing: bool,
    /// The offset just past the tag's `>`.
    end: usize,
}

struct Scanner<'a> {
    html: &'a str,
    bytes: &'a [u8],
    page: PageHrefs<'a>,
    /// The open SVG elements, innermost last: empty in HTML content.
    foreign: Vec<&'a str>,
    /// The HTML `<template>` elements open.
    templates: usize,
    /// Every link attribute counts, not only `href` (`--links all`).
    all: bool,
    /// Keep the fragment targets: `id`s, and `<a>`s' `name`s.
    anchors: bool,
    /// The HTML `<form>` start tags seen so far (only counted with `all` or `anchors`).
    forms: usize,
    /// The HTML `<html>` start tags seen outside templates (only counted with `anchors`).
    htmls: usize,
    /// The HTML `<body>` start tags seen outside templates (only counted with `anchors`).
    bodies: usize,
}

impl<'a> Scanner<'a> {
    /// Scans the whole input in the data state.
    fn run(&mut self) -> Result<(), Unsure> {
        let mut at = 0;
        while let Some(found) = memchr(b'<', &self.bytes[at..]) {
            let open = at + found;
            let Some(next) = self.after_less_than(open)? else {
                return Ok(());
            };
            at = next;
        }
        Ok(())
    }

    /// Handles what starts with the `<` at `open`; returns where the data state resumes, or
    /// `None` when the rest of the input is consumed.
    fn after_less_than(&mut self, open: usize) -> Result<Option<usize>, Unsure> {
        let bytes = self.bytes;
        match bytes.get(open + 1) {
            Some(b) if b.is_ascii_alphabetic() => {
                let Some(tag) = self.tag(open + 1) else {
                    return Ok(None);
                };
                self.start_tag(tag)
            }
            Some(b'/') => match bytes.get(open + 2) {
                Some(b) if b.is_ascii_alphabetic() => {
                    let Some(tag) = self.tag(open + 2) else {
                        return Ok(None);
                    };
                    self.end_tag(&tag)?;
                    Ok(Some(tag.end))
                }
                Some(b'>') => Ok(Some(open + 3)),
                Some(_) => Ok(self.past(b'>', open + 2)),
                None => Ok(None),
            },
            Some(b'!') => Ok(self.markup_declaration(open + 2)),
            Some(b'?') => Ok(self.past(b'>', open + 1)),
            _ => Ok(Some(open + 1)),
        }
    }

    /// The offset just past the next `byte` from `from`, if there is one.
    fn past(&self, byte: u8, from: usize) -> Option<usize> {
        memchr(byte, &self.bytes[from..]).map(|at| from + at + 1)
    }

    /// `<!` seen, `from` just after it: a comment, DOCTYPE, CDATA section or bogus comment.
    fn markup_declaration(&self, from: usize) -> Option<usize> {
        let rest = &self.bytes[from..];
        if rest.starts_with(b"--") {
            return self.comment(from + 2);
        }
        if rest.starts_with(b"[CDATA[") && !self.foreign.is_empty() {
            let text = &self.html[from + 7..];
            return text.find("]]>").map(|at| from + 7 + at + 3);
        }
        // A DOCTYPE ends at its first `>`, even inside a quoted identifier, like a bogus
        // comment does.
        self.past(b'>', from)
    }

    /// A comment, `from` just after `<!--`: it ends at `-->` or `--!>`, or at once with `>`
    /// or `->`; nested `<!--` changes nothing.
    fn comment(&self, from: usize) -> Option<usize> {
        let bytes = self.bytes;
        match &bytes[from..] {
            [b'>', ..] => return Some(from + 1),
            [b'-', b'>', ..] => return Some(from + 2),
            _ => {}
        }
        let mut at = from;
        loop {
            let dash = at + memchr(b'-', &bytes[at..])?;
            if bytes.get(dash + 1) != Some(&b'-') {
                at = dash + 1;
                continue;
            }
            // The comment end state: more dashes stay in it.
            let mut end = dash + 2;
            while bytes.get(end) == Some(&b'-') {
                end += 1;
            }
            match bytes.get(end) {
                Some(b'>') => return Some(end + 1),
                Some(b'!') if bytes.get(end + 1) == Some(&b'>') => return Some(end + 2),
                Some(_) => at = end,
                None => return None,
            }
        }
    }

    /// Reads a tag whose name starts at `from`; `None` when the input ends inside it.
    fn tag(&self, from: usize) -> Option<Tag<'a>> {
        let bytes = self.bytes;
        let name_end = from
            + bytes[from..]
                .iter()
                .position(|&b| is_space(b) || b == b'/' || b == b'>')?;
        let mut tag = Tag {
            name: &self.html[from..name_end],
            href: None,
            xlink_href: None,
            rel: None,
            name_attribute: None,
            id: None,
            content: None,
            self_closing: false,
            end: 0,
        };
        let (end, self_closing) =
            self.attributes(name_end, |name, value| tag.attribute(name, value))?;
        tag.end = end;
        tag.self_closing = self_closing;
        Some(tag)
    }

    /// Reads a tag's attributes from `at` (just past its name), calling `visit` with each
    /// name and raw value; returns the offset just past the tag's `>` and whether it is
    /// self-closing, or `None` when the input ends inside the tag.
    fn attributes(
        &self,
        mut at: usize,
        mut visit: impl FnMut(&str, &'a str),
    ) -> Option<(usize, bool)> {
        let bytes = self.bytes;
        loop {
            // Before an attribute name.
            while bytes.get(at).is_some_and(|&b| is_space(b)) {
                at += 1;
            }
            match *bytes.get(at)? {
                b'>' => return Some((at + 1, false)),
                b'/' => {
                    if bytes.get(at + 1) == Some(&b'>') {
                        return Some((at + 2, true));
                    }
                    at += 1;
                    continue;
                }
                _ => {}
            }
            // The attribute name: its first character may be `=`.
            let name_start = at;
            at += 1;
            while !bytes
                .get(at)
                .is_some_and(|&b| is_space(b) || matches!(b, b'/' | b'>' | b'='))
            {
                bytes.get(at)?;
                at += 1;
            }
            let name = &self.html[name_start..at];
            while bytes.get(at).is_some_and(|&b| is_space(b)) {
                at += 1;
            }
            if bytes.get(at) != Some(&b'=') {
                visit(name, "");
                continue;
            }
            at += 1;
            while bytes.get(at).is_some_and(|&b| is_space(b)) {
                at += 1;
            }
            let value = match *bytes.get(at)? {
                quote @ (b'"' | b'\'') => {
                    let close = at + 1 + memchr(quote, &bytes[at + 1..])?;
                    let value = &self.html[at + 1..close];
                    at = close + 1;
                    value
                }
                // A missing value: the tag ends here.
                b'>' => "",
                _ => {
                    let start = at;
                    while !bytes.get(at).is_some_and(|&b| is_space(b) || b == b'>') {
                        bytes.get(at)?;
                        at += 1;
                    }
                    &self.html[start..at]
                }
            };
            visit(name, value);
        }
    }

    /// A start tag was read: note its link, follow the content it opens, and return where the
    /// data state resumes.
    fn start_tag(&mut self, tag: Tag<'a>) -> Result<Option<usize>, Unsure> {
        if !self.foreign.is_empty() {
            self.foreign_start_tag(&tag)?;
            if self.anchors {
                self.push_id(&tag);
            }
            return Ok(Some(tag.end));
        }
        let mut name = [0u8; 10];
        let lower = lowercase(tag.name, &mut name);
        if self.anchors {
            self.push_anchors(&tag, lower)?;
        } else if self.all && lower == b"form" {
            self.forms += 1;
        }
        let text = match lower {
            b"table" | b"caption" | b"colgroup" | b"col" | b"tbody" | b"thead" | b"tfoot"
            | b"tr" | b"td" | b"th" => return Err(Unsure::Table),
            b"select" => return Err(Unsure::Select),
            b"frameset" | b"frame" => return Err(Unsure::Frameset),
            b"math" => return Err(Unsure::ForeignContent),
            b"html" | b"head" | b"body" | b"form" if tag.href.is_some() => {
                return Err(Unsure::MergedElement)
            }
            b"base" => {
                if self.page.base.is_none() {
                    self.page.base = tag.href.map(attribute_value);
                }
                return Ok(Some(tag.end));
            }
            b"svg" => {
                self.push_foreign_href(&tag);
                if !tag.self_closing {
                    self.foreign.push(tag.name);
                }
                return Ok(Some(tag.end));
            }
            b"meta" => {
                self.push_meta(&tag);
                Text::Markup
            }
            b"template" => {
                self.templates += 1;
                Text::Markup
            }
            b"script" => Text::Script,
            b"style" | b"xmp" | b"iframe" | b"noembed" | b"noframes" | b"noscript" | b"title"
            | b"textarea" => Text::UntilEndTag,
            b"plaintext" => Text::Rest,
            _ => Text::Markup,
        };
        if let Some(href) = tag.href {
            self.push_href(href, &tag, Via::href(lower, true));
        }
        if self.all {
            // The tree builder renames `<image>` to `<img>`.
            let element: &[u8] = if lower == b"image" { b"img" } else { lower };
            if may_have_links(element) {
                self.push_links(&tag, element)?;
            }
        }
        Ok(match text {
            Text::Markup => Some(tag.end),
            Text::UntilEndTag => self.text_until_end_tag(tag.end, lower),
            Text::Script => self.script_data(tag.end),
            Text::Rest => None,
        })
    }

    /// A start tag inside SVG: a foreign element, unless it leaves foreign content.
    fn foreign_start_tag(&mut self, tag: &Tag<'a>) -> Result<(), Unsure> {
        let mut name = [0u8; 14];
        match lowercase(tag.name, &mut name) {
            // HTML integration points, MathML, and the start tags that break out to HTML.
            b"foreignobject" | b"desc" | b"title" | b"math" | b"b" | b"big" | b"blockquote"
            | b"body" | b"br" | b"center" | b"code" | b"dd" | b"div" | b"dl" | b"dt" | b"em"
            | b"embed" | b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"head" | b"hr" | b"i"
            | b"img" | b"li" | b"listing" | b"menu" | b"meta" | b"nobr" | b"ol" | b"p" | b"pre"
            | b"ruby" | b"s" | b"small" | b"span" | b"strong" | b"strike" | b"sub" | b"sup"
            | b"table" | b"tt" | b"u" | b"ul" | b"var" | b"font" => {
                return Err(Unsure::ForeignContent)
            }
            _ => {}
        }
        self.push_foreign_href(tag);
        if !tag.self_closing {
            self.foreign.push(tag.name);
        }
        Ok(())
    }

    /// A foreign element's link: its `href`, else its `xlink:href`.
    fn push_foreign_href(&mut self, tag: &Tag<'a>) {
        if let Some(href) = tag.href.or(tag.xlink_href) {
            self.push_href(href, tag, Via::href(b"", false));
        }
    }

    /// Keeps `href`, the link of `tag`, with whether the tag's `rel` says `nofollow`.
    fn push_href(&mut self, href: &'a str, tag: &Tag<'a>, via: Via) {
        self.page.hrefs.push(Href {
            value: attribute_value(href),
            nofollow: says_nofollow(tag),
            via,
        });
    }

    /// Keeps the links of the HTML element `element` (lower case) besides its `href`, read
    /// from `tag`'s attributes again; unsure where the tree builder may merge or drop it.
    fn push_links(&mut self, tag: &Tag<'a>, element: &[u8]) -> Result<(), Unsure> {
        let mut values: [Option<&'a str>; LINK_ATTRIBUTES.len()] = Default::default();
        let name_at = tag.name.as_ptr() as usize - self.html.as_ptr() as usize;
        self.attributes(name_at + tag.name.len(), |name, value| {
            let known = LINK_ATTRIBUTES.iter();
            if let Some(at) = known.into_iter().position(|n| n.eq_ignore_ascii_case(name)) {
                values[at].get_or_insert(value);
            }
        });
        let value = |name: &str| {
            let at = LINK_ATTRIBUTES.iter().position(|known| *known == name)?;
            values[at]
        };
        let merged = match element {
            b"body" => value("background").is_some(),
            b"form" => self.forms > 1 && value("action").is_some(),
            _ => false,
        };
        if merged {
            return Err(Unsure::MergedElement);
        }
        let nofollow = says_nofollow(tag);
        let hrefs = &mut self.page.hrefs;
        element_links(
            element,
            |name| value(name).map(attribute_value),
            |value, via| {
                hrefs.push(Href {
                    value,
                    nofollow,
                    via,
                })
            },
        );
        Ok(())
    }

    /// Keeps the fragment targets of the HTML start tag `tag` named `lower`: its `id`, and an
    /// `<a>`'s `name`, unless it is template content; unsure where the tree builder may drop
    /// the `id` (see the module's comment). Counts the tags that decides by.
    fn push_anchors(&mut self, tag: &Tag<'a>, lower: &[u8]) -> Result<(), Unsure> {
        if lower == b"form" {
            self.forms += 1;
        }
        if self.templates > 0 {
            return Ok(());
        }
        let seen_before = match lower {
            b"html" => count_again(&mut self.htmls),
            b"body" => count_again(&mut self.bodies),
            b"form" => self.forms > 1,
            b"head" => true,
            _ => false,
        };
        if seen_before && tag.id.is_some() {
            return Err(Unsure::MergedElement);
        }
        self.push_id(tag);
        if lower == b"a" {
            self.push_anchor(tag.name_attribute);
        }
        Ok(())
    }

    /// Keeps `tag`'s `id`, unless it is template content.
    fn push_id(&mut self, tag: &Tag<'a>) {
        if self.templates == 0 {
            self.push_anchor(tag.id);
        }
    }

    /// Keeps a fragment target's raw `value`, unless empty.
    fn push_anchor(&mut self, value: Option<&'a str>) {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            let value = attribute_value(value);
            if !value.is_empty() {
                self.page.anchors.push(value);
            }
        }
    }

    /// Keeps an HTML `<meta>` with a `name`, unless it is template content.
    fn push_meta(&mut self, tag: &Tag<'a>) {
        if let (Some(name), 0) = (tag.name_attribute, self.templates) {
            self.page.metas.push(MetaTag {
                name: attribute_value(name),
                content: attribute_value(tag.content.unwrap_or_default()),
            });
        }
    }

    /// An end tag: in SVG it closes the innermost open SVG element of its name and every one
    /// inside it, as the tree builder does; one that matches none would be taken by HTML's
    /// rules, which the scanner does not follow.
    fn end_tag(&mut self, tag: &Tag<'a>) -> Result<(), Unsure> {
        if self.foreign.is_empty() {
            if tag.name.eq_ignore_ascii_case("template") {
                self.templates = self.templates.saturating_sub(1);
            }
            return Ok(());
        }
        match self
            .foreign
            .iter()
            .rposition(|open| open.eq_ignore_ascii_case(tag.name))
        {
            Some(at) => {
                self.foreign.truncate(at);
                Ok(())
            }
            None => Err(Unsure::ForeignContent),
        }
    }

    /// RCDATA or RAWTEXT from `from`, up to the end tag named `name` (lower case); returns
    /// where the data state resumes.
    fn text_until_end_tag(&self, from: usize, name: &[u8]) -> Option<usize> {
        let mut at = from;
        loop {
            let open = at + memchr(b'<', &self.bytes[at..])?;
            if let Some(name_end) = self.end_tag_named(open, name) {
                return self.tag(name_end - name.len()).map(|tag| tag.end);
            }
            at = open + 1;
        }
    }

    /// Whether `</name` followed by a space, `/` or `>` starts at `open`; returns the offset
    /// just past the name.
    fn end_tag_named(&self, open: usize, name: &[u8]) -> Option<usize> {
        let bytes = self.bytes;
        let name_end = open + 2 + name.len();
        let matches = bytes.get(open + 1) == Some(&b'/')
            && bytes
                .get(open + 2..name_end)
                .is_some_and(|written| written.eq_ignore_ascii_case(name))
            && bytes
                .get(name_end)
                .is_some_and(|&b| is_space(b) || b == b'/' || b == b'>');
        matches.then_some(name_end)
    }

    /// Script data from `from`, through its escaped and double-escaped states, up to
    /// `</script`; returns where the data state resumes, or `None` when the input ends first.
    /// Each state (or group of states that behave alike) is one function below, named after
    /// the HTML standard's tokenizer section it follows.
    fn script_data(&self, from: usize) -> Option<usize> {
        let mut state = Script::Data;
        let mut at = from;
        loop {
            let step = match state {
                Script::Data => self.script_data_state(at)?,
                Script::Escaped | Script::EscapedDash | Script::EscapedDashDash => {
                    self.script_data_escaped(state, at)?
                }
                Script::DoubleEscaped
                | Script::DoubleEscapedDash
                | Script::DoubleEscapedDashDash => self.script_data_double_escaped(state, at)?,
            };
            match step {
                ScriptStep::Next(next, resume) => (state, at) = (next, resume),
                ScriptStep::End(resume) => return Some(resume),
            }
        }
    }

    /// The script data state (HTML standard 13.2.5.4): text up to the next `<`. `None` when
    /// the input ends first.
    fn script_data_state(&self, at: usize) -> Option<ScriptStep> {
        let open = at + memchr(b'<', &self.bytes[at..])?;
        self.script_data_less_than_sign(open)
    }

    /// The `<` at `open` in script data: the script data less-than sign, end tag open and end
    /// tag name states (13.2.5.15 to 13.2.5.17), where `</script` ends the script, and the
    /// escape start and escape start dash states (13.2.5.18, 13.2.5.19), where `<!--` enters
    /// the escaped states as if after `--`. Anything else is text.
    fn script_data_less_than_sign(&self, open: usize) -> Option<ScriptStep> {
        let bytes = self.bytes;
        if bytes.get(open + 1) == Some(&b'/') {
            if let Some(name_end) = self.end_tag_named(open, b"script") {
                return self.script_end_tag(name_end);
            }
            return Some(ScriptStep::Next(Script::Data, open + 2));
        }
        if bytes[open + 1..].starts_with(b"!--") {
            return Some(ScriptStep::Next(Script::EscapedDashDash, open + 4));
        }
        Some(ScriptStep::Next(Script::Data, open + 1))
    }

    /// The script data escaped, escaped dash and escaped dash dash states (13.2.5.20 to
    /// 13.2.5.22), inside `<!--` in a script: one character at `at`. Dashes count towards
    /// `-->`, which goes back to script data. `None` when the input ends.
    fn script_data_escaped(&self, state: Script, at: usize) -> Option<ScriptStep> {
        let next = match (state, *self.bytes.get(at)?) {
            (_, b'<') => return self.script_data_escaped_less_than_sign(at),
            (Script::Escaped, b'-') => Script::EscapedDash,
            (_, b'-') => Script::EscapedDashDash,
            (Script::EscapedDashDash, b'>') => Script::Data,
            _ => Script::Escaped,
        };
        Some(ScriptStep::Next(next, at + 1))
    }

    /// The `<` at `open` in escaped script data: the escaped less-than sign, end tag open and
    /// end tag name states (13.2.5.23 to 13.2.5.25), where `</script` still ends the script,
    /// and the double escape start state (13.2.5.26), where `<script` followed by a space,
    /// `/` or `>` enters the double-escaped states.
    fn script_data_escaped_less_than_sign(&self, open: usize) -> Option<ScriptStep> {
        let after = open + 1;
        if self.bytes.get(after) == Some(&b'/') {
            if let Some(name_end) = self.end_tag_named(open, b"script") {
                return self.script_end_tag(name_end);
            }
            return Some(ScriptStep::Next(Script::Escaped, after + 1));
        }
        Some(match self.script_tag_name(after) {
            Some((next, true)) => ScriptStep::Next(Script::DoubleEscaped, next),
            Some((next, false)) => ScriptStep::Next(Script::Escaped, next),
            None => ScriptStep::Next(Script::Escaped, after),
        })
    }

    /// The script data double escaped, double escaped dash and double escaped dash dash
    /// states (13.2.5.27 to 13.2.5.29), inside `<!--<script>` in a script, where `</script`
    /// does not end it: one character at `at`. `-->` still goes back to script data. `None`
    /// when the input ends.
    fn script_data_double_escaped(&self, state: Script, at: usize) -> Option<ScriptStep> {
        let next = match (state, *self.bytes.get(at)?) {
            (_, b'<') => return Some(self.script_data_double_escaped_less_than_sign(at)),
            (Script::DoubleEscaped, b'-') => Script::DoubleEscapedDash,
            (_, b'-') => Script::DoubleEscapedDashDash,
            (Script::DoubleEscapedDashDash, b'>') => Script::Data,
            _ => Script::DoubleEscaped,
        };
        Some(ScriptStep::Next(next, at + 1))
    }

    /// The `<` at `open` in double-escaped script data: the double escaped less-than sign
    /// state (13.2.5.30) and the double escape end state (13.2.5.31), where `</script`
    /// followed by a space, `/` or `>` goes back to the escaped states.
    fn script_data_double_escaped_less_than_sign(&self, open: usize) -> ScriptStep {
        let after = open + 1;
        if self.bytes.get(after) != Some(&b'/') {
            return ScriptStep::Next(Script::DoubleEscaped, after);
        }
        match self.script_tag_name(after + 1) {
            Some((next, true)) => ScriptStep::Next(Script::Escaped, next),
            Some((next, false)) => ScriptStep::Next(Script::DoubleEscaped, next),
            None => ScriptStep::Next(Script::DoubleEscaped, after + 1),
        }
    }

    /// The `</script` end tag whose name ends at `name_end`, read to its `>`: the script
    /// ends there. `None` when the input ends inside the tag (it is dropped).
    fn script_end_tag(&self, name_end: usize) -> Option<ScriptStep> {
        self.tag(name_end - b"script".len())
            .map(|tag| ScriptStep::End(tag.end))
    }

    /// The double escape start and end states (13.2.5.26, 13.2.5.31): letters from `at`.
    /// `None` when there is no letter there (the character is reconsumed). Otherwise where
    /// scanning resumes, and whether the letters spelled `script` followed by a space, `/` or
    /// `>` (which is then consumed); any other character after the letters is reconsumed.
    fn script_tag_name(&self, at: usize) -> Option<(usize, bool)> {
        let bytes = self.bytes;
        let letters = bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        if letters == 0 {
            return None;
        }
        let end = at + letters;
        let terminated = bytes
            .get(end)
            .is_some_and(|&b| is_space(b) || b == b'/' || b == b'>');
        if terminated {
            let is_script = bytes[at..end].eq_ignore_ascii_case(b"script");
            Some((end + 1, is_script))
        } else {
            Some((end, false))
        }
    }
}

/// Where script data is, between `<script>` and `</script>`: the HTML standard's script
/// data states, less those passed through within one function above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// Script data (13.2.5.4).
    Data,
    /// Script data escaped (13.2.5.20): after `<!--`.
    Escaped,
    /// Script data escaped dash (13.2.5.21).
    EscapedDash,
    /// Script data escaped dash dash (13.2.5.22).
    EscapedDashDash,
    /// Script data double escaped (13.2.5.27): after `<!--<script>`.
    DoubleEscaped,
    /// Script data double escaped dash (13.2.5.28).
    DoubleEscapedDash,
    /// Script data double escaped dash dash (13.2.5.29).
    DoubleEscapedDashDash,
}

/// What one script data state decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScriptStep {
    /// Go on in this state from this offset.
    Next(Script, usize),
    /// The script ended; the data state resumes at this offset.
    End(usize),
}

impl<'a> Tag<'a> {
    /// Keeps the attribute if links need it; the first of a name wins, as in the tokenizer.
    fn attribute(&mut self, name: &str, value: &'a str) {
        let kept = match name.len() {
            2 if name.eq_ignore_ascii_case("id") => &mut self.id,
            3 if name.eq_ignore_ascii_case("rel") => &mut self.rel,
            4 if name.eq_ignore_ascii_case("href") => &mut self.href,
            4 if name.eq_ignore_ascii_case("name") => &mut self.name_attribute,
            7 if name.eq_ignore_ascii_case("content") => &mut self.content,
            10 if name.eq_ignore_ascii_case("xlink:href") => &mut self.xlink_href,
            _ => return,
        };
        kept.get_or_insert(value);
    }
}

/// Counts one more tag; says whether one was counted before.
fn count_again(counter: &mut usize) -> bool {
    *counter += 1;
    *counter > 1
}

/// Whether `tag`'s `rel` says `nofollow`.
fn says_nofollow(tag: &Tag<'_>) -> bool {
    tag.rel
        .is_some_and(|rel| rel_says_nofollow(&attribute_value(rel)))
}

/// The tokenizer's whitespace in tags, with CR, which the input stream turns into LF.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

/// `name` in ASCII lower case in `buffer`, or an empty slice when it does not fit (no name
/// the scanner looks for is that long).
fn lowercase<'b>(name: &str, buffer: &'b mut [u8]) -> &'b [u8] {
    let name = name.as_bytes();
    if name.len() > buffer.len() {
        return &[];
    }
    let lower = &mut buffer[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    lower
}
