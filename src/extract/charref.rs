//! Attribute values as the tokenizer hands them to the tree: character references decoded by
//! the HTML standard's rules for attributes, NUL replaced, line breaks normalized.

use std::borrow::Cow;

use html5ever::data::{C1_REPLACEMENTS, NAMED_ENTITIES};

/// The value of an attribute whose raw text (between its quotes, or unquoted) is `raw`.
///
/// Borrowed when nothing needs decoding, which is the case for almost every `href`.
pub(super) fn attribute_value(raw: &str) -> Cow<'_, str> {
    if !raw.bytes().any(|b| matches!(b, b'&' | b'\0' | b'\r')) {
        return Cow::Borrowed(raw);
    }
    let mut value = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find(['&', '\0', '\r']) {
        value.push_str(&rest[..at]);
        let special = rest.as_bytes()[at];
        rest = &rest[at + 1..];
        match special {
            b'\0' => value.push('\u{FFFD}'),
            // The input stream turns CR LF and a lone CR into LF.
            b'\r' => {
                value.push('\n');
                rest = rest.strip_prefix('\n').unwrap_or(rest);
            }
            _ => rest = character_reference(rest, &mut value),
        }
    }
    value.push_str(rest);
    Cow::Owned(value)
}

/// Decodes the character reference that follows an `&` in an attribute value (`rest` starts
/// right after it) into `value`, or pushes the `&` itself when there is none. Returns what
/// follows the reference.
fn character_reference<'a>(rest: &'a str, value: &mut String) -> &'a str {
    let bytes = rest.as_bytes();
    match bytes.first() {
        Some(b'#') => numeric(rest, value),
        Some(b) if b.is_ascii_alphanumeric() => named(rest, value),
        _ => {
            value.push('&');
            rest
        }
    }
}

/// `&#…`: decimal, or hexadecimal after `x`; without digits, the text stays as it is.
fn numeric<'a>(rest: &'a str, value: &mut String) -> &'a str {
    let bytes = rest.as_bytes();
    let (radix, start) = match bytes.get(1) {
        Some(b'x' | b'X') => (16, 2),
        _ => (10, 1),
    };
    let digits = bytes[start..]
        .iter()
        .take_while(|b| (**b as char).is_digit(radix))
        .count();
    if digits == 0 {
        value.push('&');
        return rest;
    }
    let mut number: u32 = 0;
    let mut too_big = false;
    for &digit in &bytes[start..start + digits] {
        number = number
            .wrapping_mul(radix)
            .wrapping_add((digit as char).to_digit(radix).unwrap_or(0));
        too_big |= number > 0x10FFFF;
    }
    let mut end = start + digits;
    if bytes.get(end) == Some(&b';') {
        end += 1;
    }
    value.push(numeric_char(number, too_big));
    &rest[end..]
}

/// The character a numeric reference stands for, as the standard maps invalid ones.
fn numeric_char(number: u32, too_big: bool) -> char {
    match number {
        _ if too_big => '\u{FFFD}',
        0 | 0xD800..=0xDFFF => '\u{FFFD}',
        0x80..=0x9F => C1_REPLACEMENTS[(number - 0x80) as usize]
            .unwrap_or_else(|| char::from_u32(number).unwrap_or('\u{FFFD}')),
        _ => char::from_u32(number).unwrap_or('\u{FFFD}'),
    }
}

/// `&name`: the longest entity name that matches. In an attribute, a match without `;`
/// followed by `=` or an alphanumeric is left as text, for historical reasons.
fn named<'a>(rest: &'a str, value: &mut String) -> &'a str {
    let bytes = rest.as_bytes();
    let mut longest: Option<(usize, (u32, u32))> = None;
    // Entity names are ASCII alphanumerics and a final `;`; the table holds every prefix.
    let mut len = 0;
    while len < bytes.len() && (bytes[len].is_ascii_alphanumeric() || bytes[len] == b';') {
        len += 1;
        match NAMED_ENTITIES.get(&rest[..len]) {
            Some(&(0, _)) => {}
            Some(&chars) => longest = Some((len, chars)),
            None => break,
        }
        if bytes[len - 1] == b';' {
            break;
        }
    }
    let Some((len, (first, second))) = longest else {
        value.push('&');
        return rest;
    };
    let ends_with_semicolon = bytes[len - 1] == b';';
    let next = bytes.get(len).copied();
    if !ends_with_semicolon && next.is_some_and(|b| b == b'=' || b.is_ascii_alphanumeric()) {
        value.push('&');
        return rest;
    }
    value.extend(
        [first, second]
            .into_iter()
            .filter(|&c| c != 0)
            .filter_map(char::from_u32),
    );
    &rest[len..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(raw: &str) -> String {
        attribute_value(raw).into_owned()
    }

    #[test]
    fn plain_values_are_borrowed() {
        assert!(matches!(attribute_value("/a/b?c=d"), Cow::Borrowed(_)));
    }

    #[test]
    fn named_references_decode_with_or_without_semicolon_unless_followed_by_text() {
        assert_eq!(decoded("a&amp;b"), "a&b");
        assert_eq!(decoded("a&amp b"), "a& b");
        assert_eq!(decoded("?x=1&amp=2"), "?x=1&amp=2");
        assert_eq!(decoded("?x=1&ampy"), "?x=1&ampy");
        assert_eq!(decoded("&notin;&notit"), "\u{2209}&notit");
        assert_eq!(decoded("&not;it &not"), "\u{ac}it \u{ac}");
        assert_eq!(decoded("&copy=x&copy"), "&copy=x\u{a9}");
        assert_eq!(decoded("&nosuch;&&;"), "&nosuch;&&;");
        assert_eq!(decoded("&NotEqualTilde;"), "\u{2242}\u{338}");
    }

    #[test]
    fn numeric_references_map_invalid_values_as_the_standard_does() {
        assert_eq!(decoded("&#65;&#x42;&#X43&#68x"), "ABCDx");
        assert_eq!(
            decoded("&#0;&#xD800;&#x110000;&#99999999999;"),
            "\u{FFFD}".repeat(4)
        );
        assert_eq!(decoded("&#x80;&#x81;&#x9F;"), "\u{20AC}\u{81}\u{178}");
        assert_eq!(decoded("&#;&#x;&#xZ"), "&#;&#x;&#xZ");
    }

    #[test]
    fn nul_and_carriage_returns_are_replaced() {
        assert_eq!(decoded("a\0b\r\nc\rd"), "a\u{FFFD}b\nc\nd");
    }
}
