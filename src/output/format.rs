//! Record formats: a page's links as TSV or JSON lines, pure and in memory.

use serde::Serialize;
use tokio::sync::oneshot;
use url::Url;

use crate::config::Format;

/// The TSV header line.
pub(crate) const TSV_HEADER: &str = "source_url\tparsed_url\n";

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

#[derive(Serialize)]
struct JsonRecord<'a> {
    source: &'a str,
    url: &'a str,
    depth: u32,
    status: u16,
}

/// Appends the records of one page to `buf`; returns how many were written.
///
/// A field holding a tab or line break would break the format; the URL parser never produces
/// one and input lines holding one are rejected, so such a record cannot occur, and is
/// skipped if it ever did.
pub(crate) fn format_page(
    format: Format,
    page: PageMeta<'_>,
    links: &[Url],
    buf: &mut Vec<u8>,
) -> usize {
    let source = page.source;
    if has_separator(source) {
        return 0;
    }
    let mut written = 0;
    for link in links.iter().map(Url::as_str) {
        if has_separator(link) {
            continue;
        }
        match format {
            Format::Tsv => {
                buf.extend_from_slice(source.as_bytes());
                buf.push(b'\t');
                buf.extend_from_slice(link.as_bytes());
            }
            Format::Jsonl => {
                let record = JsonRecord {
                    source,
                    url: link,
                    depth: page.depth,
                    status: page.status,
                };
                // Writing into a Vec cannot fail and the record has only string fields.
                serde_json::to_writer(&mut *buf, &record).expect("serialising to memory");
            }
        }
        buf.push(b'\n');
        written += 1;
    }
    written
}

fn has_separator(field: &str) -> bool {
    field.contains(['\t', '\n', '\r'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<Url> {
        list.iter().map(|u| Url::parse(u).unwrap()).collect()
    }

    fn meta(source: &str) -> PageMeta<'_> {
        PageMeta {
            source,
            depth: 1,
            status: 200,
        }
    }

    #[test]
    fn tsv_is_source_tab_link_per_line() {
        let mut buf = Vec::new();
        let n = format_page(
            Format::Tsv,
            meta("http://s/"),
            &urls(&["http://a/", "http://b/x"]),
            &mut buf,
        );
        assert_eq!(n, 2);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "http://s/\thttp://a/\nhttp://s/\thttp://b/x\n"
        );
    }

    #[test]
    fn jsonl_is_one_object_per_line_with_escaping() {
        let mut buf = Vec::new();
        format_page(
            Format::Jsonl,
            meta("http://s/\"q\""),
            &urls(&["http://a/"]),
            &mut buf,
        );
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"source\":\"http://s/\\\"q\\\"\",\"url\":\"http://a/\",\"depth\":1,\"status\":200}\n"
        );
    }

    #[test]
    fn a_source_with_a_tab_writes_nothing() {
        let mut buf = Vec::new();
        assert_eq!(
            format_page(Format::Tsv, meta("a\tb"), &urls(&["http://a/"]), &mut buf),
            0
        );
        assert!(buf.is_empty());
    }
}
