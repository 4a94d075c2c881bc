//! One sitemap file, parsed with a streaming XML reader: a `<urlset>` of `<url><loc>` pages
//! or a `<sitemapindex>` of `<sitemap><loc>` files. Namespace prefixes are ignored; entity
//! references other than XML's five and character references are refused (quick-xml
//! expands no DTD entities), so a file can hold no more than its size.
//!
//! A broken file yields the entries read before the break and the reason it broke.

use quick_xml::events::{BytesRef, Event};
use quick_xml::Reader;

/// The most entries one sitemap file may hold (sitemaps.org); the rest are ignored.
pub(crate) const MAX_ENTRIES: usize = 50_000;
/// A `<loc>` longer than this is not a URL anyone means: it is dropped as invalid.
const MAX_LOC_BYTES: usize = 64 * 1024;

/// What a sitemap file lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Pages (`<urlset>`).
    Pages,
    /// Other sitemap files (`<sitemapindex>`).
    Index,
}

/// A parsed sitemap file.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// What it lists; `None` when its root element is neither kind.
    pub(crate) kind: Option<Kind>,
    /// The `<loc>` values, trimmed, in order (empty and over-long ones dropped).
    pub(crate) locs: Vec<String>,
    /// `<loc>` values dropped: empty, over-long, or with a reference that is not XML's.
    pub(crate) dropped: usize,
    /// Why reading stopped before the end, when it did.
    pub(crate) problem: Option<String>,
}

/// Where the reader is in the document.
#[derive(Default)]
struct State {
    /// Depth of open elements.
    depth: usize,
    /// Inside an entry (`<url>` or `<sitemap>`) directly under the root.
    in_entry: bool,
    /// The `<loc>` being read, if inside one directly under an entry.
    loc: Option<String>,
    /// The current `<loc>` is unusable (too long, a foreign reference).
    loc_bad: bool,
}

/// Parses one sitemap file.
pub(crate) fn parse_sitemap(xml: &[u8]) -> Parsed {
    let mut reader = Reader::from_reader(xml);
    let mut parsed = Parsed::default();
    let mut state = State::default();
    let mut buf = Vec::new();
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(err) => {
                let at = reader.error_position();
                parsed.problem = Some(format!("invalid XML at byte {at}: {err}"));
                break;
            }
        };
        match step(&mut parsed, &mut state, event) {
            Ok(true) => {}
            Ok(false) => break,
            Err(problem) => {
                parsed.problem = Some(problem);
                break;
            }
        }
        buf.clear();
    }
    parsed
}

/// Takes one event; `Ok(false)` at the end of the document.
fn step(parsed: &mut Parsed, state: &mut State, event: Event<'_>) -> Result<bool, String> {
    match event {
        Event::Start(start) => {
            state.depth += 1;
            let name = start.local_name();
            match state.depth {
                1 => parsed.kind = Some(root_kind(name.as_ref())?),
                2 => state.in_entry = is_entry(parsed.kind, name.as_ref()),
                3 if state.in_entry && name.as_ref() == b"loc" => {
                    state.loc = Some(String::new());
                    state.loc_bad = false;
                }
                _ => {}
            }
        }
        Event::Empty(empty) if state.depth == 0 => {
            parsed.kind = Some(root_kind(empty.local_name().as_ref())?);
            return Ok(false);
        }
        Event::End(_) => {
            if state.depth == 3 {
                if let Some(loc) = state.loc.take() {
                    finish_loc(parsed, loc, state.loc_bad)?;
                }
            }
            if state.depth == 2 {
                state.in_entry = false;
            }
            state.depth = state.depth.saturating_sub(1);
            if state.depth == 0 {
                return Ok(false);
            }
        }
        Event::Text(text) => append(state, &text.decode().map_err(|e| e.to_string())?),
        Event::CData(text) => append(state, &text.decode().map_err(|e| e.to_string())?),
        Event::GeneralRef(reference) if state.loc.is_some() => match resolve(&reference) {
            Some(c) => append(state, c.encode_utf8(&mut [0; 4])),
            None => state.loc_bad = true,
        },
        Event::Eof => {
            if parsed.kind.is_none() {
                return Err("no <urlset> or <sitemapindex> element".into());
            }
            return Err("the document ends before its root element closes".into());
        }
        _ => {}
    }
    Ok(true)
}

/// The kind of a root element, or why it is not a sitemap.
fn root_kind(name: &[u8]) -> Result<Kind, String> {
    match name {
        b"urlset" => Ok(Kind::Pages),
        b"sitemapindex" => Ok(Kind::Index),
        other => Err(format!(
            "the root element <{}> is not <urlset> or <sitemapindex>",
            String::from_utf8_lossy(other)
        )),
    }
}

/// Whether an element under the root is an entry of that kind of file.
fn is_entry(kind: Option<Kind>, name: &[u8]) -> bool {
    matches!(
        (kind, name),
        (Some(Kind::Pages), b"url") | (Some(Kind::Index), b"sitemap")
    )
}

/// Adds text to the `<loc>` being read, if any, within [`MAX_LOC_BYTES`].
fn append(state: &mut State, text: &str) {
    if let Some(loc) = &mut state.loc {
        if loc.len() + text.len() > MAX_LOC_BYTES {
            state.loc_bad = true;
        } else {
            loc.push_str(text);
        }
    }
}

/// Keeps a finished `<loc>`, or counts it as dropped. Past [`MAX_ENTRIES`], stops.
fn finish_loc(parsed: &mut Parsed, loc: String, bad: bool) -> Result<(), String> {
    let loc = loc.trim();
    if bad || loc.is_empty() {
        parsed.dropped += 1;
        return Ok(());
    }
    if parsed.locs.len() == MAX_ENTRIES {
        return Err(format!(
            "more than {MAX_ENTRIES} entries; the rest are ignored"
        ));
    }
    parsed.locs.push(loc.to_owned());
    Ok(())
}

/// XML's five named references and character references; nothing else.
fn resolve(reference: &BytesRef<'_>) -> Option<char> {
    if reference.is_char_ref() {
        return reference.resolve_char_ref().ok().flatten();
    }
    let name: &[u8] = reference;
    match name {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locs(parsed: &Parsed) -> Vec<&str> {
        parsed.locs.iter().map(String::as_str).collect()
    }

    #[test]
    fn a_urlset_lists_its_pages_with_references_resolved() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
              <url><loc> https://a.example/?x=1&amp;y=2 </loc><lastmod>2024-01-01</lastmod></url>
              <url><loc><![CDATA[https://a.example/cdata]]></loc></url>
              <url><loc>https://a.example/&#x41;&#66;</loc></url>
              <url><loc>https://a.example/&nbsp;</loc></url>
              <url><loc></loc></url>
              <loc>https://a.example/not-in-an-entry</loc>
            </urlset>"#;
        let parsed = parse_sitemap(xml);
        assert_eq!(parsed.kind, Some(Kind::Pages));
        assert_eq!(
            locs(&parsed),
            [
                "https://a.example/?x=1&y=2",
                "https://a.example/cdata",
                "https://a.example/AB"
            ]
        );
        assert_eq!(parsed.dropped, 2);
        assert_eq!(parsed.problem, None);
    }

    #[test]
    fn an_index_lists_sitemaps_and_namespace_prefixes_do_not_matter() {
        let xml = b"<sm:sitemapindex xmlns:sm='http://www.sitemaps.org/schemas/sitemap/0.9'>\
            <sm:sitemap><sm:loc>https://a.example/1.xml</sm:loc></sm:sitemap>\
            <sm:url><sm:loc>https://a.example/page</sm:loc></sm:url>\
            </sm:sitemapindex>";
        let parsed = parse_sitemap(xml);
        assert_eq!(parsed.kind, Some(Kind::Index));
        assert_eq!(locs(&parsed), ["https://a.example/1.xml"]);
    }

    #[test]
    fn broken_documents_keep_what_came_before_and_say_why() {
        let parsed = parse_sitemap(b"<urlset><url><loc>https://a.example/</loc></url><url>");
        assert_eq!(locs(&parsed), ["https://a.example/"]);
        assert!(parsed.problem.is_some());

        let parsed = parse_sitemap(b"<urlset><url><loc>x</lo></url></urlset>");
        assert!(parsed.problem.unwrap().starts_with("invalid XML at byte"));

        let parsed = parse_sitemap(b"<html><body>not found</body></html>");
        assert_eq!(parsed.kind, None);
        assert_eq!(
            parsed.problem.as_deref(),
            Some("the root element <html> is not <urlset> or <sitemapindex>")
        );
        assert!(parse_sitemap(b"").problem.is_some());
        assert_eq!(parse_sitemap(b"<urlset/>").problem, None);
    }

    #[test]
    fn dtd_entities_are_not_expanded() {
        let xml = b"<?xml version='1.0'?><!DOCTYPE u [<!ENTITY a 'aaaaaaaaaa'>\
            <!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]>\
            <urlset><url><loc>https://a.example/&b;</loc></url></urlset>";
        let parsed = parse_sitemap(xml);
        assert!(parsed.locs.is_empty());
        assert_eq!(parsed.dropped, 1);
    }

    #[test]
    fn more_than_the_limit_of_entries_is_cut_with_a_reason() {
        let mut xml = String::from("<urlset>");
        for i in 0..=MAX_ENTRIES {
            xml.push_str(&format!("<url><loc>https://a.example/{i}</loc></url>"));
        }
        xml.push_str("</urlset>");
        let parsed = parse_sitemap(xml.as_bytes());
        assert_eq!(parsed.locs.len(), MAX_ENTRIES);
        assert_eq!(
            parsed.problem.as_deref(),
            Some("more than 50000 entries; the rest are ignored")
        );
    }
}
