//! Entry points for the fuzz targets in `fuzz/` (the `fuzzing` feature): each runs the code the
//! crawler runs on untrusted bytes and checks what must hold whatever the input. A panic, a
//! hang or a failed check is a bug.

use encoding_rs::{Encoding, SHIFT_JIS, UTF_8, WINDOWS_1252};
use url::Url;

use crate::config::{LinkAttributes, LinkOptions};
use crate::input::{classify_argument, count_url_lines, parse_line, Line, MAX_LINE_BYTES};
use crate::robots::{product_token, Rules};
use crate::sitemap::{decode_sitemap, parse_sitemap, MAX_ENTRIES};

/// Page URLs an extractor input may be found at: a path and query, an IDN host, IPv6, IPv4.
const PAGES: [&str; 4] = [
    "http://example.com/dir/page.html?q=1#top",
    "https://xn--caf-dma.example/",
    "http://[::1]:8080/a/b/",
    "http://192.168.0.1/",
];
/// Page encodings, which links' queries are encoded in.
const ENCODINGS: [&Encoding; 3] = [UTF_8, WINDOWS_1252, SHIFT_JIS];

/// What the first byte of an extractor input picks: bits 0 and 1 the options (all schemes,
/// fragments stripped), the next two the page URL, the next three the page encoding, and the
/// top bit `--links all`. Bit 6, one of the encoding's, also asks for fragment targets
/// (`--check-fragments`).
pub fn link_knobs(byte: u8) -> (LinkOptions, Url, &'static Encoding) {
    let options = LinkOptions {
        all_schemes: byte & 1 != 0,
        strip_fragments: byte & 2 != 0,
        attributes: match byte & 0x80 {
            0 => LinkAttributes::Href,
            _ => LinkAttributes::All,
        },
        anchors: byte & 0x40 != 0,
    };
    let page = PAGES[usize::from(byte >> 2) % PAGES.len()];
    // The pages are written above as valid URLs.
    let page = Url::parse(page).expect("a valid page URL");
    let encoding = ENCODINGS[usize::from((byte >> 4) & 7) % ENCODINGS.len()];
    (options, page, encoding)
}

/// The link extractor over `html` at `page`, with the page's `encoding`: every link is
/// absolute, and distinct.
pub fn extract(
    html: &str,
    page: &Url,
    encoding: &'static Encoding,
    options: &LinkOptions,
) -> Vec<Url> {
    let links = crate::extract::extract_links(html, page, encoding, options);
    let mut seen = std::collections::HashSet::new();
    for link in &links {
        assert!(seen.insert(link.as_str()), "a link listed twice: {link}");
        assert!(!link.cannot_be_a_base() || options.all_schemes, "{link}");
        if !options.all_schemes {
            assert!(matches!(link.scheme(), "http" | "https"), "{link}");
        }
        if options.strip_fragments {
            assert!(link.fragment().is_none(), "{link}");
        }
    }
    links
}

/// The default link path against the reference: [`extract_links`] (the streaming scanner, or
/// the tree builder when the scanner is unsure of the page) finds exactly the links
/// [`tree_links`] finds, in the same order, and they hold what [`extract`] checks; and both
/// paths find the same `rel="nofollow"` marks, places found (`--links all`), `<meta>` tags
/// and fragment targets (`--check-fragments`) ([`findings`] and [`tree_findings`]).
///
/// [`extract_links`]: crate::extract::extract_links
/// [`tree_links`]: crate::extract::tree_links
/// [`findings`]: crate::extract::findings
/// [`tree_findings`]: crate::extract::tree_findings
pub fn extract_differential(
    html: &str,
    page: &Url,
    encoding: &'static Encoding,
    options: &LinkOptions,
) -> Vec<Url> {
    let links = extract(html, page, encoding, options);
    let reference = crate::extract::tree_links(html, page, encoding, options);
    if links != reference {
        let path = crate::extract::for_each_link(html, page, encoding, options, |_| {});
        panic!("{path:?} found {links:?}, the tree builder {reference:?}, in {html:?}");
    }
    let found = crate::extract::findings(html, page, encoding, options);
    let reference = crate::extract::tree_findings(html, page, encoding, options);
    if found != reference {
        let path = crate::extract::for_each_link(html, page, encoding, options, |_| {});
        panic!("{path:?} found {found:?}, the tree builder {reference:?}, in {html:?}");
    }
    links
}

/// Input lines and command-line arguments: a URL line is an http(s) URL with a host, and the
/// up-front count of a list equals what the line reader finds in it.
pub fn input(bytes: &[u8]) {
    let mut urls = 0;
    for raw in bytes.split(|&b| b == b'\n') {
        let line = if raw.len() > MAX_LINE_BYTES {
            Line::Invalid("too long".into())
        } else {
            parse_line(raw)
        };
        if let Line::Url(url) = &line {
            assert!(
                matches!(url.scheme(), "http" | "https") && url.host().is_some(),
                "{url}"
            );
            urls += 1;
        }
    }
    assert_eq!(count_url_lines(bytes).expect("reading a slice"), urls);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = classify_argument(text, || false);
    }
}

/// robots.txt for an agent: parsing, matching URLs, `Crawl-delay` and `Sitemap:` lines.
pub fn robots(user_agent: &str, body: &[u8], paths: &[&str]) {
    let Ok(rules) = Rules::parse(product_token(user_agent), body) else {
        return;
    };
    for path in paths {
        if let Ok(url) = Url::parse("http://example.com/").and_then(|base| base.join(path)) {
            let _ = rules.allows(&url);
        }
    }
    if let Some(delay) = rules.crawl_delay() {
        assert!(delay.as_secs() <= 3600, "{delay:?}");
    }
    let _ = rules.sitemaps();
}

/// One fetched sitemap file: inflated (when gzip) within `max` bytes, then parsed, within the
/// entry limit.
pub fn sitemap(body: &[u8], max: u64) -> usize {
    let Ok(xml) = decode_sitemap(body, max) else {
        return 0;
    };
    assert!(xml.len() as u64 <= max);
    let parsed = parse_sitemap(&xml);
    assert!(parsed.locs.len() <= MAX_ENTRIES);
    assert!(parsed
        .locs
        .iter()
        .all(|loc| !loc.is_empty() && loc.trim() == loc));
    parsed.locs.len()
}

/// Charset detection and decoding of a body served with `content_type`.
pub fn decode(body: &[u8], content_type: Option<&str>) -> (String, &'static Encoding) {
    let (text, encoding) = crate::decode::decode_html(body, content_type);
    (text.into_owned(), encoding)
}
