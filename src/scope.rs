//! Which discovered links a recursive crawl follows: the scope relative to the seed a link
//! descends from, `--include`/`--exclude` patterns, and a guess at non-HTML resources.

use std::sync::Arc;

use regex::Regex;
use url::Url;

/// How far from its seed a crawl may wander.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// The seed's host only.
    #[default]
    Host,
    /// The seed's registrable domain (by the public suffix list): `a.example.co.uk` and
    /// `b.example.co.uk` are one domain.
    Domain,
    /// Anywhere.
    Any,
}

/// Why a link is not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Off the seed's host or domain.
    Scope,
    /// Matched by no `--include`, or by an `--exclude`.
    Pattern,
    /// Not http(s), or a path that names a non-HTML resource (an image, a style sheet, …).
    NotHtml,
}

/// The follow rules of a run.
#[derive(Debug, Clone, Default)]
pub struct ScopeRules {
    /// Scope relative to the seed.
    pub scope: Scope,
    /// A URL must match one of these, when any are given.
    pub include: Vec<Regex>,
    /// A URL matching any of these is not followed.
    pub exclude: Vec<Regex>,
}

/// Path endings that are never HTML pages; such links are written but not fetched. Sorted and
/// lower case, for a binary search.
const NOT_HTML_EXTENSIONS: &[&str] = &[
    "7z", "avi", "bmp", "bz2", "css", "csv", "doc", "docx", "eot", "exe", "flac", "gif", "gz",
    "ico", "iso", "jpeg", "jpg", "js", "json", "m4a", "mjs", "mkv", "mov", "mp3", "mp4", "mpeg",
    "ogg", "otf", "pdf", "png", "ppt", "pptx", "rar", "rss", "svg", "tar", "tgz", "tif", "tiff",
    "ttf", "txt", "wav", "webm", "webp", "woff", "woff2", "xls", "xlsx", "xml", "xz", "zip",
];

/// The longest of [`NOT_HTML_EXTENSIONS`].
const LONGEST_EXTENSION: usize = 5;

/// [`NOT_HTML_EXTENSIONS`] as numbers (see [`pack`]), still sorted: a link's extension is
/// looked up by comparing numbers.
const PACKED_EXTENSIONS: [u64; NOT_HTML_EXTENSIONS.len()] = {
    let mut packed = [0; NOT_HTML_EXTENSIONS.len()];
    let mut at = 0;
    while at < packed.len() {
        packed[at] = pack(NOT_HTML_EXTENSIONS[at].as_bytes());
        at += 1;
    }
    packed
};

impl ScopeRules {
    /// The scope key of a seed URL: what its descendants must share with it.
    pub fn origin_of(&self, url: &Url) -> Arc<str> {
        let host = url.host_str().unwrap_or_default();
        match self.scope {
            Scope::Host => host.into(),
            Scope::Domain => registrable_domain(host).into(),
            Scope::Any => "".into(),
        }
    }

    /// Whether a link found on a page descending from `origin` is followed.
    pub fn check(&self, link: &Url, origin: &str) -> Result<(), Refusal> {
        if !may_be_a_page(link) {
            return Err(Refusal::NotHtml);
        }
        self.admits(link, origin)
    }

    /// Whether a link that [`may_be_a_page`], found on a page descending from `origin`, is in
    /// scope and passes the patterns: the rest of [`ScopeRules::check`], the regexes last.
    pub fn admits(&self, link: &Url, origin: &str) -> Result<(), Refusal> {
        let host = link.host_str().unwrap_or_default();
        let in_scope = match self.scope {
            Scope::Host => host == origin,
            // A registrable domain ends its host: most links elsewhere need no lookup.
            Scope::Domain => host.ends_with(origin) && registrable_domain(host) == origin,
            Scope::Any => true,
        };
        if !in_scope {
            return Err(Refusal::Scope);
        }
        let text = link.as_str();
        let included = self.include.is_empty() || self.include.iter().any(|re| re.is_match(text));
        if !included || self.exclude.iter().any(|re| re.is_match(text)) {
            return Err(Refusal::Pattern);
        }
        Ok(())
    }
}

/// Whether `link` may be an HTML page: an http(s) URL whose path names no file of a known
/// non-HTML kind (an image, a style sheet, …). Links that may not are written, never fetched.
pub fn may_be_a_page(link: &Url) -> bool {
    matches!(link.scheme(), "http" | "https") && !looks_like_a_file(link)
}

/// The registrable domain of `host` (`www.example.co.uk` → `example.co.uk`); the host itself
/// when it has none (an IP address, `localhost`).
fn registrable_domain(host: &str) -> &str {
    psl::domain_str(host).unwrap_or(host)
}

/// Whether the last segment of `url`'s path ends in one of [`NOT_HTML_EXTENSIONS`], in any
/// case. Runs for every link a recursive crawl finds, so it reads only the path's last few
/// bytes and copies nothing.
fn looks_like_a_file(url: &Url) -> bool {
    let path = url.path().as_bytes();
    // An extension that can match starts within this tail, after its last dot, with no
    // slash after that dot.
    let tail = &path[path.len().saturating_sub(LONGEST_EXTENSION + 1)..];
    let Some(at) = tail.iter().rposition(|&byte| matches!(byte, b'.' | b'/')) else {
        return false;
    };
    let extension = &tail[at + 1..];
    if tail[at] == b'/' || extension.is_empty() {
        return false;
    }
    PACKED_EXTENSIONS.binary_search(&pack(extension)).is_ok()
}

/// Up to 8 bytes of text, lower-cased, as one big-endian number padded with zeros: texts
/// without zero bytes compare as their numbers do.
const fn pack(text: &[u8]) -> u64 {
    let mut packed = 0;
    let mut at = 0;
    while at < 8 {
        let byte = if at < text.len() { text[at] } else { 0 };
        packed = (packed << 8) | byte.to_ascii_lowercase() as u64;
        at += 1;
    }
    packed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn rules(scope: Scope) -> ScopeRules {
        ScopeRules {
            scope,
            ..ScopeRules::default()
        }
    }

    #[test]
    fn host_scope_keeps_the_seed_host_only() {
        let rules = rules(Scope::Host);
        let origin = rules.origin_of(&url("https://www.example.com/"));
        assert_eq!(
            rules.check(&url("https://www.example.com/a"), &origin),
            Ok(())
        );
        assert_eq!(
            rules.check(&url("http://www.example.com:8080/a"), &origin),
            Ok(())
        );
        assert_eq!(
            rules.check(&url("https://blog.example.com/"), &origin),
            Err(Refusal::Scope)
        );
    }

    #[test]
    fn domain_scope_uses_the_public_suffix_list() {
        let rules = rules(Scope::Domain);
        let origin = rules.origin_of(&url("https://www.example.co.uk/"));
        assert_eq!(&*origin, "example.co.uk");
        assert_eq!(
            rules.check(&url("https://shop.example.co.uk/"), &origin),
            Ok(())
        );
        assert_eq!(
            rules.check(&url("https://other.co.uk/"), &origin),
            Err(Refusal::Scope)
        );
        assert_eq!(
            rules.check(&url("https://notexample.co.uk/"), &origin),
            Err(Refusal::Scope)
        );
        let ip = rules.origin_of(&url("http://127.0.0.1:8000/"));
        assert_eq!(rules.check(&url("http://127.0.0.1:9000/x"), &ip), Ok(()));
    }

    #[test]
    fn any_scope_goes_anywhere() {
        let rules = rules(Scope::Any);
        let origin = rules.origin_of(&url("https://a.org/"));
        assert_eq!(rules.check(&url("https://b.net/"), &origin), Ok(()));
    }

    #[test]
    fn include_and_exclude_patterns_match_the_whole_url() {
        let rules = ScopeRules {
            scope: Scope::Any,
            include: vec![Regex::new("/docs/").unwrap()],
            exclude: vec![Regex::new(r"\?print=").unwrap()],
        };
        assert_eq!(rules.check(&url("https://a.org/docs/x"), ""), Ok(()));
        assert_eq!(
            rules.check(&url("https://a.org/blog/x"), ""),
            Err(Refusal::Pattern)
        );
        assert_eq!(
            rules.check(&url("https://a.org/docs/x?print=1"), ""),
            Err(Refusal::Pattern)
        );
    }

    #[test]
    fn the_extension_list_is_sorted_lower_case_and_bounded() {
        assert!(NOT_HTML_EXTENSIONS.windows(2).all(|pair| pair[0] < pair[1]));
        for extension in NOT_HTML_EXTENSIONS {
            assert_eq!(extension.to_ascii_lowercase(), *extension);
            assert!(
                (1..=LONGEST_EXTENSION).contains(&extension.len()),
                "{extension}"
            );
        }
        assert!(NOT_HTML_EXTENSIONS
            .iter()
            .any(|e| e.len() == LONGEST_EXTENSION));
        assert!(PACKED_EXTENSIONS.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(pack(b"Js"), pack(b"js"));
        assert!(pack(b"js") < pack(b"json"));
    }

    #[test]
    fn the_file_test_reads_the_last_segment_as_a_plain_search_would() {
        let plain = |url: &Url| {
            let last = url.path().rsplit('/').next().unwrap_or_default();
            last.rsplit_once('.').is_some_and(|(_, extension)| {
                NOT_HTML_EXTENSIONS
                    .iter()
                    .any(|known| known.eq_ignore_ascii_case(extension))
            })
        };
        let dirs = ["", "d/", "a.pdf/", "v1.2/"];
        let names = [
            "", "a", "pdf", ".pdf", "x.pdf", "x.PdF", "x.pdfx", "a.b.css", "file.", "x.woff2",
            "x.woff22", "x.tar.gz", "x.7z", "xy.jpeg", "é.png", "x.p%20g",
        ];
        let ends = ["", "?q=a.pdf", "#f.png"];
        for dir in dirs {
            for name in names {
                for end in ends {
                    let link = url(&format!("http://h/{dir}{name}{end}"));
                    assert_eq!(looks_like_a_file(&link), plain(&link), "{link}");
                }
            }
        }
    }

    #[test]
    fn files_and_other_schemes_are_not_followed() {
        let rules = rules(Scope::Any);
        for link in [
            "https://a.org/logo.PNG",
            "https://a.org/s.css?v=2",
            "https://a.org/dir/archive.tar.gz",
            "https://a.org/font.WOFF2#x",
            "https://a.org/7z/x.7Z",
            "https://a.org/.zip",
            "https://a.org/xlsx.x.xlsx",
            "mailto:x@a.org",
            "ftp://a.org/",
        ] {
            assert_eq!(rules.check(&url(link), ""), Err(Refusal::NotHtml), "{link}");
        }
        for link in [
            "https://a.org/page.html",
            "https://a.org/dir/",
            "https://a.org/v1.2/",
            "https://a.org/file.",
            "https://a.org/.pdf.x",
            "https://a.org/a.woff22",
            "https://a.org/pdf",
            "https://a.org/a.caf%C3%A9",
            "https://a.org/x.pdf/",
            "https://a.org/x.pdf/page",
            "https://a.org/.x.pdfs",
        ] {
            assert_eq!(rules.check(&url(link), ""), Ok(()), "{link}");
        }
    }
}
