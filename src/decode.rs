//! Decoding an HTML body to text by the web's rules: BOM, then the Content-Type charset, then
//! a `<meta charset>` prescan of the first 1024 bytes, else UTF-8 (malformed bytes become
//! U+FFFD).

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252, X_USER_DEFINED};

/// How many bytes the `<meta>` prescan looks at, as browsers do.
const PRESCAN_BYTES: usize = 1024;

/// Decodes an HTML body served with `content_type` (the Content-Type header, if any).
/// Returns the text and the encoding used (for URL query encoding).
pub(crate) fn decode_html<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
) -> (Cow<'a, str>, &'static Encoding) {
    let declared = content_type
        .and_then(charset_param)
        .and_then(|label| Encoding::for_label(label.trim().as_bytes()))
        .or_else(|| prescan_meta_charset(&body[..body.len().min(PRESCAN_BYTES)]))
        .unwrap_or(UTF_8);
    // `decode` lets a BOM override the declared encoding, as the standard's
    // "decode" algorithm does.
    let (text, used, _had_errors) = declared.decode(body);
    (text, used)
}

/// Extracts the `charset` parameter from a Content-Type value.
fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(|c| c == '"' || c == '\''))
    })
}

/// The encoding declared by a `<meta charset>` or `<meta http-equiv=content-type>` in `head`,
/// following the HTML standard's prescan closely enough for real pages.
fn prescan_meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let mut pos = 0;
    while pos < head.len() {
        let rest = &head[pos..];
        if rest.starts_with(b"<!--") {
            pos += 4 + find(&rest[4..], b"-->").map_or(rest.len(), |at| at + 3);
        } else if starts_with_ignore_case(rest, b"<meta")
            && rest.get(5).is_some_and(|&b| is_space(b) || b == b'/')
        {
            let (found, consumed) = meta_charset(&rest[5..]);
            if let Some(encoding) = found {
                return Some(meta_override(encoding));
            }
            pos += 5 + consumed;
        } else if rest.starts_with(b"<") && rest.len() > 1 && is_tag_start(&rest[1..]) {
            pos += 1;
            while pos < head.len() && !is_space(head[pos]) && head[pos] != b'>' {
                pos += 1;
            }
            let mut attrs = Attributes {
                bytes: &head[pos..],
                pos: 0,
            };
            while attrs.next_attribute().is_some() {}
            pos += attrs.pos;
        } else if rest.starts_with(b"<!") || rest.starts_with(b"</") || rest.starts_with(b"<?") {
            pos += find(rest, b">").map_or(rest.len(), |at| at + 1);
        } else {
            pos += 1;
        }
    }
    None
}

/// Looks for a charset in the attributes of one `<meta>` tag. Returns the encoding found and
/// how many bytes the tag's attributes took.
fn meta_charset(tag: &[u8]) -> (Option<&'static Encoding>, usize) {
    let mut attrs = Attributes { bytes: tag, pos: 0 };
    let (mut charset, mut content, mut http_equiv_content_type) = (None, None, false);
    while let Some((name, value)) = attrs.next_attribute() {
        match name.as_slice() {
            b"charset" if charset.is_none() => charset = Some(value),
            b"content" if content.is_none() => content = Some(value),
            b"http-equiv" => http_equiv_content_type |= value.eq_ignore_ascii_case(b"content-type"),
            _ => {}
        }
    }
    let label = match (charset, content) {
        (Some(label), _) => Some(label),
        (None, Some(content)) if http_equiv_content_type => charset_from_content(&content),
        _ => None,
    };
    (label.and_then(|l| Encoding::for_label(&l)), attrs.pos)
}

/// The standard's "extract a character encoding from a meta element" on a `content` value.
fn charset_from_content(content: &[u8]) -> Option<Vec<u8>> {
    let lower = content.to_ascii_lowercase();
    let at = find(&lower, b"charset")?;
    let mut rest = &content[at + 7..];
    rest = trim_start(rest);
    rest = rest.strip_prefix(b"=")?;
    rest = trim_start(rest);
    match rest.first()? {
        quote @ (b'"' | b'\'') => {
            let inner = &rest[1..];
            let end = inner.iter().position(|b| b == quote)?;
            Some(inner[..end].to_vec())
        }
        _ => {
            let end = rest
                .iter()
                .position(|&b| is_space(b) || b == b';')
                .unwrap_or(rest.len());
            Some(rest[..end].to_vec())
        }
    }
}

/// A meta-declared UTF-16 means UTF-8 (the bytes were readable as ASCII), and x-user-defined
/// means windows-1252, per the standard.
fn meta_override(encoding: &'static Encoding) -> &'static Encoding {
    if encoding == UTF_16BE || encoding == UTF_16LE {
        UTF_8
    } else if encoding == X_USER_DEFINED {
        WINDOWS_1252
    } else {
        encoding
    }
}

/// The standard's "get an attribute" over the bytes after a tag name.
struct Attributes<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Attributes<'_> {
    /// The next `(lowercased name, value)`, or `None` at `>` or the end.
    fn next_attribute(&mut self) -> Option<(Vec<u8>, Vec<u8>)> {
        let b = self.bytes;
        while self.pos < b.len() && (is_space(b[self.pos]) || b[self.pos] == b'/') {
            self.pos += 1;
        }
        if self.pos >= b.len() || b[self.pos] == b'>' {
            self.pos = (self.pos + 1).min(b.len());
            return None;
        }
        let mut name = Vec::new();
        while self.pos < b.len()
            && !matches!(b[self.pos], b'=' | b'/' | b'>')
            && !is_space(b[self.pos])
        {
            name.push(b[self.pos].to_ascii_lowercase());
            self.pos += 1;
        }
        while self.pos < b.len() && is_space(b[self.pos]) {
            self.pos += 1;
        }
        if self.pos >= b.len() || b[self.pos] != b'=' {
            return Some((name, Vec::new()));
        }
        self.pos += 1;
        while self.pos < b.len() && is_space(b[self.pos]) {
            self.pos += 1;
        }
        let mut value = Vec::new();
        match b.get(self.pos) {
            Some(&quote @ (b'"' | b'\'')) => {
                self.pos += 1;
                while self.pos < b.len() && b[self.pos] != quote {
                    value.push(b[self.pos].to_ascii_lowercase());
                    self.pos += 1;
                }
                self.pos = (self.pos + 1).min(b.len());
            }
            _ => {
                while self.pos < b.len() && !is_space(b[self.pos]) && b[self.pos] != b'>' {
                    value.push(b[self.pos].to_ascii_lowercase());
                    self.pos += 1;
                }
            }
        }
        Some((name, value))
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn is_tag_start(rest: &[u8]) -> bool {
    rest[0].is_ascii_alphabetic()
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(bytes.len());
    &bytes[start..]
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{SHIFT_JIS, UTF_8};

    #[test]
    fn meta_charset_attribute_is_found() {
        let head = b"<!doctype html><html><head><meta charset=\"windows-1252\"><title>x</title>";
        assert_eq!(prescan_meta_charset(head), Some(WINDOWS_1252));
        assert_eq!(
            prescan_meta_charset(b"<META CHARSET=Shift_JIS>"),
            Some(SHIFT_JIS)
        );
    }

    #[test]
    fn meta_http_equiv_content_type_is_found() {
        let head =
            b"<head><meta http-equiv='Content-Type' content='text/html; charset=iso-8859-1'>";
        // iso-8859-1 is windows-1252 in the Encoding Standard.
        assert_eq!(prescan_meta_charset(head), Some(WINDOWS_1252));
    }

    #[test]
    fn meta_inside_a_comment_or_attribute_is_ignored() {
        assert_eq!(
            prescan_meta_charset(b"<!-- <meta charset=shift_jis> --><p>"),
            None
        );
        assert_eq!(
            prescan_meta_charset(b"<div title='<meta charset=shift_jis>'>"),
            None
        );
        assert_eq!(
            prescan_meta_charset(b"<meta name=x content='charset=shift_jis'>"),
            None
        );
    }

    #[test]
    fn meta_utf16_means_utf8() {
        assert_eq!(
            prescan_meta_charset(b"<meta charset=utf-16le>"),
            Some(UTF_8)
        );
    }

    #[test]
    fn header_charset_wins_over_meta_and_bom_wins_over_both() {
        let body = b"<meta charset=shift_jis>caf\xe9";
        let (text, used) = decode_html(body, Some("text/html; charset=windows-1252"));
        assert_eq!(used, WINDOWS_1252);
        assert!(text.ends_with("caf\u{e9}"));

        let body = b"\xef\xbb\xbf<meta charset=windows-1252>caf\xc3\xa9";
        let (text, used) = decode_html(body, Some("text/html; charset=windows-1252"));
        assert_eq!(used, UTF_8);
        assert!(text.ends_with("caf\u{e9}"));
    }

    #[test]
    fn default_is_utf8_with_replacement() {
        let (text, used) = decode_html(b"ok \xff end", None);
        assert_eq!(used, UTF_8);
        assert_eq!(text, "ok \u{fffd} end");
    }

    #[test]
    fn charset_param_is_read_from_content_type() {
        assert_eq!(
            charset_param("text/html; charset=\"ISO-8859-1\""),
            Some("ISO-8859-1")
        );
        assert_eq!(charset_param("text/html;Charset=utf-8;x=y"), Some("utf-8"));
        assert_eq!(charset_param("text/html"), None);
    }
}
