//! What a page says about following its links, and which of it a recursive crawl obeys.
//!
//! Page-level: a robots `<meta>` (`name="robots"`, or named for our product token, as
//! `name="areq"`) or an `X-Robots-Tag` header whose directives include `nofollow` or `none`
//! says none of the page's links is followed. Directives are a comma-separated list, compared
//! ASCII-case-insensitively (whitespace separates them too, as lenient parsers take
//! `noindex nofollow`); several tags or headers add up, and the most restrictive wins. An
//! `X-Robots-Tag` may name a crawler before its directives (`X-Robots-Tag: areq: nofollow`):
//! they then apply only to that crawler, up to the next name in the same header. These are
//! obeyed when robots.txt is (a recursive crawl without `--ignore-robots`).
//!
//! Per link: `rel="nofollow"` is a hint, not an exclusion: such links are followed unless
//! `--respect-nofollow` is given, and their JSONL records say `"nofollow":true`.

/// Which of a page's nofollow hints a recursive crawl obeys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NofollowRules {
    /// The product token robots `<meta>` tags and `X-Robots-Tag` headers are read for, when
    /// they are obeyed.
    pub(crate) robots_agent: Option<String>,
    /// Links whose elements all say `rel="nofollow"` are not followed (`--respect-nofollow`).
    pub(crate) respect_rel: bool,
}

/// Directives that take a value after a colon, which is then not a crawler's name.
const VALUED_DIRECTIVES: [&str; 4] = [
    "max-snippet",
    "max-image-preview",
    "max-video-preview",
    "unavailable_after",
];

/// Whether a page with these `X-Robots-Tag` header values and named `<meta>` tags (name,
/// content) tells the crawler `agent` (a product token) not to follow its links.
pub(crate) fn page_says_nofollow<'m>(
    agent: &str,
    headers: &[String],
    mut metas: impl Iterator<Item = (&'m str, &'m str)>,
) -> bool {
    headers
        .iter()
        .any(|value| header_says_nofollow(value, agent))
        || metas.any(|(name, content)| meta_says_nofollow(name, content, agent))
}

/// Whether `<meta name=NAME content=CONTENT>` tells `agent` not to follow the page's links:
/// NAME is `robots` or `agent`, and CONTENT holds `nofollow` or `none`.
pub(crate) fn meta_says_nofollow(name: &str, content: &str, agent: &str) -> bool {
    let name = name.trim_matches(is_space);
    let ours = name.eq_ignore_ascii_case("robots") || name.eq_ignore_ascii_case(agent);
    ours && directives_say_nofollow(content)
}

/// Whether one `X-Robots-Tag` header value tells `agent` not to follow the page's links. A
/// crawler's name before a colon scopes the directives after it, up to the next name.
pub(crate) fn header_says_nofollow(value: &str, agent: &str) -> bool {
    // Until a crawler is named, the directives are for every crawler.
    let mut ours = true;
    for item in value.split(',') {
        let mut directives = item;
        if let Some((prefix, rest)) = item.split_once(':') {
            let prefix = prefix.trim_matches(is_space);
            if names_a_crawler(prefix) {
                ours = prefix.eq_ignore_ascii_case(agent);
                directives = rest;
            }
        }
        if ours && directives_say_nofollow(directives) {
            return true;
        }
    }
    false
}

/// Whether `prefix`, the text before a colon, is a crawler's name rather than a directive
/// with a value (`max-snippet:20`) or part of a date (`unavailable_after: 25 Jun 2010 15:00`).
fn names_a_crawler(prefix: &str) -> bool {
    !prefix.is_empty()
        && !prefix.contains(is_space)
        && !VALUED_DIRECTIVES
            .iter()
            .any(|directive| prefix.eq_ignore_ascii_case(directive))
}

/// Whether a list of directives holds `nofollow` or `none`.
fn directives_say_nofollow(list: &str) -> bool {
    list.split(|c: char| c == ',' || is_space(c))
        .any(|directive| {
            directive.eq_ignore_ascii_case("nofollow") || directive.eq_ignore_ascii_case("none")
        })
}

/// ASCII whitespace, as HTML and HTTP header values have it.
fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0C' | '\r' | ' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_robots_meta_or_one_named_for_us_says_nofollow_with_nofollow_or_none() {
        let says = |name, content| meta_says_nofollow(name, content, "areq");
        assert!(says("robots", "nofollow"));
        assert!(says("ROBOTS", "noindex, NoFollow"));
        assert!(says(" robots ", "none"));
        assert!(says("robots", "noindex,nofollow"));
        assert!(
            says("robots", "noindex nofollow"),
            "lenient: space-separated"
        );
        assert!(says("areq", "nofollow"));
        assert!(says("AREQ", "index, none"));
        assert!(!says("googlebot", "nofollow"), "another crawler's");
        assert!(!says("description", "nofollow"));
        assert!(!says("robots", "noindex"));
        assert!(!says("robots", "index, follow"));
        assert!(!says("robots", "nofollowing, nonetheless, no-follow"));
        assert!(!says("robots", ""));
    }

    #[test]
    fn an_x_robots_tag_says_nofollow_for_everyone_or_for_the_crawler_it_names() {
        let says = |value| header_says_nofollow(value, "areq");
        assert!(says("nofollow"));
        assert!(says("noindex, NOFOLLOW"));
        assert!(says("none"));
        assert!(says("areq: nofollow"));
        assert!(says("Areq:none"));
        assert!(says("googlebot: noindex, areq: noindex, nofollow"));
        assert!(
            says("nofollow, googlebot: noindex"),
            "before any name: everyone's"
        );
        assert!(!says("googlebot: nofollow"));
        assert!(!says("googlebot: noindex, nofollow"), "the name goes on");
        assert!(!says("noindex"));
        assert!(!says("max-snippet: 20, noarchive"));
        assert!(!says("unavailable_after: 25 Jun 2010 15:00:00 PST"));
        assert!(
            says("max-snippet:20, nofollow"),
            "a valued directive is no name"
        );
        assert!(says(
            "unavailable_after: 25 Jun 2010 15:00:00 PST, nofollow"
        ));
        assert!(!says(""));
    }

    #[test]
    fn a_page_says_nofollow_if_any_header_or_meta_does() {
        let headers = ["noindex".to_string(), "otherbot: nofollow".to_string()];
        let metas = [("description", "nofollow"), ("robots", "noarchive")];
        assert!(!page_says_nofollow("areq", &headers, metas.into_iter()));
        let more = ["noindex".to_string(), "areq: nofollow".to_string()];
        assert!(page_says_nofollow("areq", &more, metas.into_iter()));
        let metas = [("robots", "noarchive"), ("areq", "none")];
        assert!(page_says_nofollow("areq", &headers, metas.into_iter()));
    }
}
