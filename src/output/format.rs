//! Record formats, in both directions: a page's links as TSV or JSON lines, formatted one link
//! at a time into the page's buffer, and records read back into the links each page found.
//! Pure and in memory.

use std::collections::HashMap;

use tokio::sync::oneshot;

use crate::config::Format;
use crate::extract::Via;

/// The TSV header line.
pub(crate) const TSV_HEADER: &str = "source_url\tparsed_url\n";

/// The TSV header line with `--check`: each record ends with the link's status.
pub(crate) const TSV_HEADER_CHECKED: &str = "source_url\tparsed_url\tstatus\n";

/// The header line's two fields, as a record read back has them.
const HEADER_FIELDS: (&str, &str) = ("source_url", "parsed_url");

/// The header line an output in `format` opens with, if any; `wanted` is `--no-header`'s
/// opposite, `checked` says the records carry link statuses (`--check`).
pub(crate) fn header_line(format: Format, wanted: bool, checked: bool) -> Option<&'static str> {
    match format {
        Format::Tsv if checked => wanted.then_some(TSV_HEADER_CHECKED),
        Format::Tsv => wanted.then_some(TSV_HEADER),
        Format::Jsonl => None,
    }
}

/// A page's records, formatted and ready for the writer. Every completed page sends one,
/// even with no records, so it can be marked complete for `--resume`.
#[derive(Debug, Default)]
pub(crate) struct Records {
    /// The page's SOURCE.
    pub(crate) source: String,
    /// The formatted records, whole lines.
    pub(crate) bytes: Vec<u8>,
    /// How many records `bytes` holds.
    pub(crate) count: usize,
    /// Told once the records are written and flushed, when someone waits for that.
    pub(crate) flushed: Option<oneshot::Sender<()>>,
}

impl Records {
    /// No records: a complete page without links (not HTML, or parsing failed).
    pub(crate) fn none(source: String) -> Records {
        Records {
            source,
            ..Records::default()
        }
    }
}

/// What the records of one page share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageMeta<'a> {
    /// The SOURCE column.
    pub(crate) source: &'a str,
    /// The page's crawl depth (JSONL only).
    pub(crate) depth: u32,
    /// The page's final HTTP status (JSONL only).
    pub(crate) status: u16,
}

/// Records a buffer holds before it first grows: most pages have more links than this.
const FIRST_RECORDS: usize = 16;

/// One page's records, appended link by link as the page's links are found, so no list of
/// the links is kept.
///
/// What every record of the page shares is formatted once: for TSV the SOURCE and its tab,
/// for JSONL the object up to the `url` value and from it on, so a record costs the link
/// alone. The JSONL records are those `serde_json` writes for
/// `{"source","url","nofollow","via","link_status","depth","status"}`, byte for byte, with
/// `nofollow` (always `true`) only on links whose elements all say `rel="nofollow"`, `via`
/// (`img@src`: where the link was first found) only with `--links all`, and `link_status`
/// only with `--check` (TSV then has a third field, the link's status).
///
/// A field holding a tab or line break would break the format; the URL parser never produces
/// one and input lines holding one are rejected, so such a record cannot occur, and is
/// skipped if it ever did.
#[derive(Debug)]
pub(crate) struct PageRecords {
    format: Format,
    /// Everything of a record before the link.
    head: Vec<u8>,
    /// Everything of a record after the link, line end included.
    tail: Vec<u8>,
    /// The SOURCE holds a separator: the page has no records.
    broken_source: bool,
    bytes: Vec<u8>,
    count: usize,
}

impl PageRecords {
    /// An empty buffer for the records of `page`.
    pub(crate) fn new(format: Format, page: PageMeta<'_>) -> PageRecords {
        let (head, tail) = match format {
            Format::Tsv => (format!("{}\t", page.source).into_bytes(), b"\n".to_vec()),
            Format::Jsonl => {
                let mut head = b"{\"source\":".to_vec();
                json_string(page.source, &mut head);
                head.extend_from_slice(b",\"url\":");
                let tail = format!(",\"depth\":{},\"status\":{}}}\n", page.depth, page.status);
                (head, tail.into_bytes())
            }
        };
        let capacity = (head.len() + tail.len() + 64) * FIRST_RECORDS;
        PageRecords {
            format,
            head,
            tail,
            broken_source: has_separator(page.source),
            bytes: Vec::with_capacity(capacity),
            count: 0,
        }
    }

    /// Appends the record of one link; `nofollow`: every element linking there says
    /// `rel="nofollow"` (JSONL says so); `via`: where it was found, with `--links all` (JSONL
    /// only); `status`: the link's status, with `--check`.
    pub(crate) fn push(
        &mut self,
        link: &str,
        nofollow: bool,
        via: Option<&str>,
        status: Option<&str>,
    ) {
        if self.broken_source || has_separator(link) {
            return;
        }
        self.bytes.extend_from_slice(&self.head);
        match self.format {
            Format::Tsv => {
                self.bytes.extend_from_slice(link.as_bytes());
                if let Some(status) = status {
                    self.bytes.push(b'\t');
                    self.bytes.extend_from_slice(status.as_bytes());
                }
            }
            Format::Jsonl => {
                json_string(link, &mut self.bytes);
                if nofollow {
                    self.bytes.extend_from_slice(b",\"nofollow\":true");
                }
                if let Some(via) = via {
                    self.bytes.extend_from_slice(b",\"via\":");
                    json_string(via, &mut self.bytes);
                }
                if let Some(status) = status {
                    self.bytes.extend_from_slice(b",\"link_status\":");
                    json_string(status, &mut self.bytes);
                }
            }
        }
        self.bytes.extend_from_slice(&self.tail);
        self.count += 1;
    }

    /// The records, for the writer, as the page with SOURCE `source`.
    pub(crate) fn finish(self, source: String) -> Records {
        Records {
            source,
            bytes: self.bytes,
            count: self.count,
            flushed: None,
        }
    }
}

/// Appends `text` as a JSON string, quoted and escaped as `serde_json` does.
fn json_string(text: &str, buf: &mut Vec<u8>) {
    // Writing into a Vec cannot fail, and a string always serialises.
    serde_json::to_writer(buf, text).expect("serialising a string to memory");
}

fn has_separator(field: &str) -> bool {
    field
        .bytes()
        .any(|byte| matches!(byte, b'\t' | b'\n' | b'\r'))
}

/// Reads records back: SOURCE → the links its records name, in order. Lines that are not
/// records (the header, a line cut short) are skipped.
#[cfg(test)]
pub(crate) fn links_by_source(records: &[u8], format: Format) -> HashMap<String, Vec<String>> {
    links_where(records, format, |_| true)
}

/// Reads records back as `links_by_source` does, SOURCE → its links, leaving out the links
/// a recursive crawl does not follow by where they were found: a JSONL record whose `via`
/// is not a link a browser navigates to (`img@src`, `form@action`, …; see
/// [`Via::navigates_by_name`]). TSV records do not say where.
pub(crate) fn navigable_links_by_source(
    records: &[u8],
    format: Format,
) -> HashMap<String, Vec<String>> {
    links_where(records, format, |via| {
        via.is_none_or(Via::navigates_by_name)
    })
}

fn links_where(
    records: &[u8],
    format: Format,
    keep: impl Fn(Option<&str>) -> bool,
) -> HashMap<String, Vec<String>> {
    let mut links: HashMap<String, Vec<String>> = HashMap::new();
    for line in String::from_utf8_lossy(records).lines() {
        match read_record(line, format) {
            Some(Record { source, link, via })
                if (source.as_str(), link.as_str()) != HEADER_FIELDS && keep(via.as_deref()) =>
            {
                links.entry(source).or_default().push(link);
            }
            _ => {}
        }
    }
    links
}

/// One record read back.
struct Record {
    source: String,
    link: String,
    /// Where the link was found (JSONL under `--links all`).
    via: Option<String>,
}

/// The record of one line, if it is one (a `--check` status after the link aside).
fn read_record(line: &str, format: Format) -> Option<Record> {
    match format {
        Format::Tsv => line.split_once('\t').map(|(source, rest)| {
            let link = rest.split('\t').next().unwrap_or(rest);
            Record {
                source: source.to_owned(),
                link: link.to_owned(),
                via: None,
            }
        }),
        Format::Jsonl => serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|value| {
                let field = |name: &str| value.get(name)?.as_str().map(str::to_owned);
                Some(Record {
                    source: field("source")?,
                    link: field("url")?,
                    via: field("via"),
                })
            }),
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    fn meta(source: &str) -> PageMeta<'_> {
        PageMeta {
            source,
            depth: 1,
            status: 200,
        }
    }

    fn records(format: Format, page: PageMeta<'_>, links: &[&str]) -> Records {
        let mut records = PageRecords::new(format, page);
        for link in links {
            records.push(link, false, None, None);
        }
        records.finish(page.source.to_owned())
    }

    #[test]
    fn tsv_is_source_tab_link_per_line() {
        let done = records(Format::Tsv, meta("http://s/"), &["http://a/", "http://b/x"]);
        assert_eq!(done.count, 2);
        assert_eq!(done.source, "http://s/");
        assert_eq!(
            String::from_utf8(done.bytes).unwrap(),
            "http://s/\thttp://a/\nhttp://s/\thttp://b/x\n"
        );
    }

    #[test]
    fn jsonl_is_one_object_per_line_with_escaping() {
        let done = records(Format::Jsonl, meta("http://s/\"q\""), &["http://a/"]);
        assert_eq!(
            String::from_utf8(done.bytes).unwrap(),
            "{\"source\":\"http://s/\\\"q\\\"\",\"url\":\"http://a/\",\"depth\":1,\"status\":200}\n"
        );
    }

    #[derive(Serialize)]
    struct JsonRecord<'a> {
        source: &'a str,
        url: &'a str,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        nofollow: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        via: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        link_status: Option<&'a str>,
        depth: u32,
        status: u16,
    }

    #[test]
    fn jsonl_records_are_what_serde_json_writes_for_the_record() {
        let texts = [
            "http://s/",
            "http://h/\\back\"quote\"",
            "http://h/\u{1}\u{1f}\u{7f}",
            "http://h/caf\u{e9}/\u{2028}\u{1f600}",
            "",
        ];
        for source in texts {
            for url in texts {
                let page = PageMeta {
                    source,
                    depth: 4_000_000_000,
                    status: 599,
                };
                let statuses = [None, Some("404"), Some("host unreachable")];
                let marks = [false, true]
                    .into_iter()
                    .flat_map(|n| statuses.map(|s| (n, s)));
                let marks = marks.flat_map(|m| [None, Some("img@src")].map(|v| (m, v)));
                for ((nofollow, link_status), via) in marks {
                    let mut expected = serde_json::to_vec(&JsonRecord {
                        source,
                        url,
                        nofollow,
                        via,
                        link_status,
                        depth: page.depth,
                        status: page.status,
                    })
                    .unwrap();
                    expected.push(b'\n');
                    let mut written = PageRecords::new(Format::Jsonl, page);
                    written.push(url, nofollow, via, link_status);
                    assert_eq!(written.finish(source.to_owned()).bytes, expected);
                }
            }
        }
    }

    #[test]
    fn a_source_with_a_tab_writes_nothing_and_a_link_with_one_is_skipped() {
        let done = records(Format::Tsv, meta("a\tb"), &["http://a/"]);
        assert_eq!(done.count, 0);
        assert!(done.bytes.is_empty());
        let done = records(Format::Tsv, meta("s"), &["http://a/\n", "http://b/"]);
        assert_eq!(String::from_utf8(done.bytes).unwrap(), "s\thttp://b/\n");
        assert_eq!(done.count, 1);
    }

    #[test]
    fn tsv_with_check_has_the_status_as_third_field() {
        let mut records = PageRecords::new(Format::Tsv, meta("http://s/"));
        records.push("http://a/", false, None, Some("404"));
        records.push("mailto:x@y", false, None, Some("-"));
        let done = records.finish("http://s/".into());
        assert_eq!(
            String::from_utf8(done.bytes.clone()).unwrap(),
            "http://s/\thttp://a/\t404\nhttp://s/\tmailto:x@y\t-\n"
        );
        let read = links_by_source(&done.bytes, Format::Tsv);
        assert_eq!(read["http://s/"], ["http://a/", "mailto:x@y"]);
    }

    #[test]
    fn the_header_is_tsv_only_and_reads_back_as_its_fields() {
        assert_eq!(header_line(Format::Tsv, true, false), Some(TSV_HEADER));
        assert_eq!(
            header_line(Format::Tsv, true, true),
            Some(TSV_HEADER_CHECKED)
        );
        assert_eq!(header_line(Format::Tsv, false, true), None);
        assert_eq!(header_line(Format::Jsonl, true, true), None);
        for header in [TSV_HEADER, TSV_HEADER_CHECKED] {
            let fields = read_record(header.trim_end(), Format::Tsv).unwrap();
            assert_eq!(
                (fields.source.as_str(), fields.link.as_str()),
                HEADER_FIELDS
            );
        }
    }

    #[test]
    fn records_written_read_back_as_the_links_of_their_source() {
        for format in [Format::Tsv, Format::Jsonl] {
            let mut written = header_line(format, true, false)
                .unwrap_or("")
                .as_bytes()
                .to_vec();
            let links = ["http://a/", "http://h/\"q\"", "http://a/"];
            written.extend(records(format, meta("http://s/"), &links).bytes);
            written.extend(records(format, meta("http://t/"), &["http://b/"]).bytes);
            let read = links_by_source(&written, format);
            assert_eq!(read.len(), 2, "{format:?}");
            assert_eq!(read["http://s/"], links, "{format:?}");
            assert_eq!(read["http://t/"], ["http://b/"], "{format:?}");
        }
    }

    #[test]
    fn jsonl_records_give_their_source_and_url() {
        let links = links_by_source(
            b"{\"source\":\"http://h/\",\"url\":\"http://h/a\",\"depth\":0,\"status\":200}\nnot json\n",
            Format::Jsonl,
        );
        assert_eq!(links.get("http://h/").unwrap(), &["http://h/a".to_string()]);
        assert_eq!(links.len(), 1);
    }

    #[test]
    fn navigable_links_leave_out_those_found_where_a_browser_does_not_navigate() {
        let records = [
            r#"{"source":"http://h/","url":"http://h/a","via":"a@href"}"#,
            r#"{"source":"http://h/","url":"http://h/i","via":"img@src"}"#,
            r#"{"source":"http://h/","url":"http://h/f","via":"iframe@src"}"#,
            r#"{"source":"http://h/","url":"http://h/r","via":"meta@refresh"}"#,
            r#"{"source":"http://h/","url":"http://h/s","via":"form@action"}"#,
            r#"{"source":"http://h/","url":"http://h/x","via":"href"}"#,
            r#"{"source":"http://h/","url":"http://h/n"}"#,
        ]
        .join("\n");
        let links = navigable_links_by_source(records.as_bytes(), Format::Jsonl);
        assert_eq!(
            links["http://h/"],
            [
                "http://h/a",
                "http://h/f",
                "http://h/r",
                "http://h/x",
                "http://h/n"
            ]
        );
        assert_eq!(
            links_by_source(records.as_bytes(), Format::Jsonl)["http://h/"].len(),
            7
        );
    }
}
