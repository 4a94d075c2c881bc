//! One input line: blank, a comment, a URL, or invalid with a reason.

use url::Url;

/// What one input line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// Blank or a `#` comment.
    Skip,
    /// An absolute http(s) URL.
    Url(Url),
    /// Anything else, with the reason.
    Invalid(String),
}

/// Classifies one input line (without its line terminator).
pub(crate) fn parse_line(raw: &[u8]) -> Line {
    let Ok(text) = std::str::from_utf8(raw) else {
        return Line::Invalid("not valid UTF-8".into());
    };
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() || text.starts_with('#') {
        return Line::Skip;
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Line::Invalid("contains whitespace or control characters".into());
    }
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Line::Invalid("not an absolute URL".into())
        }
        Err(err) => return Line::Invalid(format!("not a valid URL: {err}")),
    };
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Line::Url(url),
        "http" | "https" => Line::Invalid("URL has no host".into()),
        other => Line::Invalid(format!("scheme {other}: is not http or https")),
    }
}

/// What a command-line INPUT argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Argument {
    /// `-`: standard input.
    Stdin,
    /// A file of URLs.
    File,
    /// An absolute http(s) URL to fetch.
    Url(Url),
}

/// Classifies an INPUT argument: `-` is stdin; a name that exists, or starts with `./` or
/// `/`, is a file; a name written as `scheme://…` is a URL, and must be a usable one
/// (`Err` gives the reason); anything else is a file.
pub(crate) fn classify_argument(
    arg: &str,
    exists: impl FnOnce() -> bool,
) -> Result<Argument, String> {
    if arg == "-" {
        return Ok(Argument::Stdin);
    }
    if arg.starts_with("./") || arg.starts_with('/') || !looks_like_url(arg) || exists() {
        return Ok(Argument::File);
    }
    match parse_line(arg.as_bytes()) {
        Line::Url(url) => Ok(Argument::Url(url)),
        Line::Invalid(why) => Err(why),
        Line::Skip => Ok(Argument::File),
    }
}

/// `scheme://…`, the scheme as RFC 3986 spells it.
fn looks_like_url(arg: &str) -> bool {
    arg.split_once("://").is_some_and(|(scheme, _)| {
        let mut chars = scheme.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(raw: &str) -> String {
        match parse_line(raw.as_bytes()) {
            Line::Invalid(why) => why,
            other => panic!("{raw:?} should be invalid, got {other:?}"),
        }
    }

    #[test]
    fn blank_lines_and_comments_are_skipped() {
        for raw in ["", "   ", "\r", "# a comment", "  #indented", "\u{feff}"] {
            assert_eq!(parse_line(raw.as_bytes()), Line::Skip, "{raw:?}");
        }
    }

    #[test]
    fn urls_are_trimmed_of_bom_crlf_and_spaces() {
        let want = Url::parse("https://example.com/a").unwrap();
        for raw in [
            "https://example.com/a",
            "\u{feff}https://example.com/a\r",
            "  https://example.com/a \t",
        ] {
            assert_eq!(
                parse_line(raw.as_bytes()),
                Line::Url(want.clone()),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn non_http_relative_and_spaced_lines_are_invalid_with_a_reason() {
        assert_eq!(invalid("/relative/path"), "not an absolute URL");
        assert_eq!(
            invalid("ftp://example.com/"),
            "scheme ftp: is not http or https"
        );
        assert_eq!(
            invalid("mailto:a@example.com"),
            "scheme mailto: is not http or https"
        );
        assert_eq!(
            invalid("https://exa mple.com/"),
            "contains whitespace or control characters"
        );
        assert_eq!(
            invalid("https://a.com/\tb"),
            "contains whitespace or control characters"
        );
        assert!(invalid("http://[::1").starts_with("not a valid URL"));
        assert_eq!(
            match parse_line(b"\xff\xfe garbage") {
                Line::Invalid(why) => why,
                other => panic!("{other:?}"),
            },
            "not valid UTF-8"
        );
    }

    #[test]
    fn arguments_are_urls_only_when_written_as_urls_and_no_such_file_exists() {
        let url = |text: &str| Argument::Url(Url::parse(text).unwrap());
        let absent = || false;
        assert_eq!(classify_argument("-", absent), Ok(Argument::Stdin));
        assert_eq!(classify_argument("urls.txt", absent), Ok(Argument::File));
        assert_eq!(
            classify_argument("https://example.org", absent),
            Ok(url("https://example.org/"))
        );
        assert_eq!(
            classify_argument("https://example.org", || true),
            Ok(Argument::File)
        );
        assert_eq!(
            classify_argument("./https://example.org", absent),
            Ok(Argument::File)
        );
        assert_eq!(
            classify_argument("mailto:a@example.org", absent),
            Ok(Argument::File)
        );
        assert_eq!(
            classify_argument("ftp://example.org/", absent),
            Err("scheme ftp: is not http or https".into())
        );
        assert!(classify_argument("http://[::1/", absent).is_err());
        assert_eq!(
            classify_argument("http://", absent),
            Err("not a valid URL: empty host".into())
        );
    }
}
