//! Which attributes besides `href` hold links under `--links all`, element by element, and how
//! the two that are not one URL are read: `srcset` by the HTML standard's "parse a srcset
//! attribute" algorithm and `<meta http-equiv=refresh>`'s `content` by its "shared
//! declarative refresh steps". Both extractor paths list an element's links through
//! [`element_links`], so they list them alike and in the same order.
//!
//! Every one of these URLs is resolved against the document's base URL, as `href` is (the
//! standard parses each "relative to the element's node document"), so `<base href>` applies.
//! An empty or all-whitespace value is no link: browsers fetch nothing for it (or the page
//! itself, for a form's `action`).

use std::borrow::Cow;

/// Where a link was found: `element@attribute`, and whether a browser navigates there (the
/// crawl follows only such links).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via {
    /// `img@src`, `a@href`, …; `href` alone for an `href` on another element.
    pub name: &'static str,
    /// A link a browser navigates to, or shows as a document: an `href`, a frame's or
    /// iframe's `src`, a `<meta http-equiv=refresh>`. The rest are embedded resources or form
    /// targets, checked but not followed.
    pub navigates: bool,
}

impl Via {
    /// The `href` of an element named `name` (lower case, HTML namespace when `html`).
    pub(crate) fn href(name: &[u8], html: bool) -> Via {
        let name = match (html, name) {
            (true, b"a") => "a@href",
            (true, b"area") => "area@href",
            (true, b"link") => "link@href",
            _ => "href",
        };
        Via {
            name,
            navigates: true,
        }
    }
}

impl Via {
    /// Whether a link written with `via` (its [`Via::name`], as JSONL records carry it) is
    /// one a browser navigates to, which a recursive crawl follows.
    pub fn navigates_by_name(via: &str) -> bool {
        if via == "href" || via.ends_with("@href") {
            return true;
        }
        let element = via.split_once('@').map_or(via, |(element, _)| element);
        reads(element.as_bytes())
            .iter()
            .any(|(_, found)| found.navigates && found.name == via)
    }
}

/// The attributes [`element_links`] may read, for the paths to collect before calling it.
pub(crate) const LINK_ATTRIBUTES: [&str; 12] = [
    "src",
    "srcset",
    "poster",
    "data",
    "action",
    "formaction",
    "cite",
    "background",
    "longdesc",
    "type",
    "http-equiv",
    "content",
];

/// How one attribute holds links.
#[derive(Debug, Clone, Copy)]
enum Read {
    /// One URL, in the attribute named so.
    Url(&'static str),
    /// An `<input>`'s `src`, only when its `type` is `image` (in any case).
    ImageSrc,
    /// The candidates of a `srcset`.
    Srcset,
    /// The URL of a `<meta http-equiv=refresh>`'s `content`.
    Refresh,
}

/// What the HTML element `element` (lower case) holds links in besides `href`, in order.
fn reads(element: &[u8]) -> &'static [(Read, Via)] {
    use Read::*;
    // Literals, so each list is a constant.
    macro_rules! e {
        ($name:literal) => {
            Via {
                name: $name,
                navigates: false,
            }
        };
    }
    macro_rules! nav {
        ($name:literal) => {
            Via {
                name: $name,
                navigates: true,
            }
        };
    }
    match element {
        b"img" => &[
            (Url("src"), e!("img@src")),
            (Srcset, e!("img@srcset")),
            (Url("longdesc"), e!("img@longdesc")),
        ],
        b"source" => &[
            (Url("src"), e!("source@src")),
            (Srcset, e!("source@srcset")),
        ],
        b"script" => &[(Url("src"), e!("script@src"))],
        b"iframe" => &[(Url("src"), nav!("iframe@src"))],
        b"frame" => &[(Url("src"), nav!("frame@src"))],
        b"audio" => &[(Url("src"), e!("audio@src"))],
        b"video" => &[
            (Url("src"), e!("video@src")),
            (Url("poster"), e!("video@poster")),
        ],
        b"embed" => &[(Url("src"), e!("embed@src"))],
        b"track" => &[(Url("src"), e!("track@src"))],
        b"input" => &[
            (ImageSrc, e!("input@src")),
            (Url("formaction"), e!("input@formaction")),
        ],
        b"button" => &[(Url("formaction"), e!("button@formaction"))],
        b"form" => &[(Url("action"), e!("form@action"))],
        b"object" => &[(Url("data"), e!("object@data"))],
        b"blockquote" => &[(Url("cite"), e!("blockquote@cite"))],
        b"q" => &[(Url("cite"), e!("q@cite"))],
        b"del" => &[(Url("cite"), e!("del@cite"))],
        b"ins" => &[(Url("cite"), e!("ins@cite"))],
        // The obsolete `background` attribute browsers still fetch: the standard's rendering
        // section maps it to `background-image` on exactly these elements.
        b"body" => &[(Url("background"), e!("body@background"))],
        b"table" => &[(Url("background"), e!("table@background"))],
        b"thead" => &[(Url("background"), e!("thead@background"))],
        b"tbody" => &[(Url("background"), e!("tbody@background"))],
        b"tfoot" => &[(Url("background"), e!("tfoot@background"))],
        b"tr" => &[(Url("background"), e!("tr@background"))],
        b"td" => &[(Url("background"), e!("td@background"))],
        b"th" => &[(Url("background"), e!("th@background"))],
        b"meta" => &[(Refresh, nav!("meta@refresh"))],
        _ => &[],
    }
}

/// Calls `push` with each link of the HTML element `element` (its local name, lower case)
/// besides its `href`, in a fixed order: `src`, `srcset` candidates, `poster`, `data`,
/// `action`, `formaction`, `cite`, `background`, `longdesc`, the refresh URL. `attr` gives an
/// attribute's value, entities decoded, by its name (one of [`LINK_ATTRIBUTES`]).
pub(crate) fn element_links<'v>(
    element: &[u8],
    attr: impl Fn(&str) -> Option<Cow<'v, str>>,
    mut push: impl FnMut(Cow<'v, str>, Via),
) {
    let mut keep = |value: Cow<'v, str>, via: Via| {
        if !is_blank(&value) {
            push(value, via);
        }
    };
    for &(read, via) in reads(element) {
        match read {
            Read::Url(name) => attr(name).into_iter().for_each(|value| keep(value, via)),
            Read::ImageSrc => {
                let image = attr("type").is_some_and(|kind| kind.eq_ignore_ascii_case("image"));
                if let (true, Some(value)) = (image, attr("src")) {
                    keep(value, via);
                }
            }
            Read::Srcset => {
                if let Some(value) = attr("srcset") {
                    for url in srcset_urls(&value) {
                        keep(Cow::Owned(url.to_owned()), via);
                    }
                }
            }
            Read::Refresh => {
                let refresh =
                    attr("http-equiv").is_some_and(|kind| kind.eq_ignore_ascii_case("refresh"));
                if let (true, Some(content)) = (refresh, attr("content")) {
                    if let Some(url) = refresh_url(&content) {
                        keep(Cow::Owned(url.to_owned()), via);
                    }
                }
            }
        }
    }
}

/// Whether an element named `element` (lower case) may have links [`element_links`] finds:
/// the scanner reads a tag's other attributes only for these.
pub(crate) fn may_have_links(element: &[u8]) -> bool {
    !reads(element).is_empty()
}

/// ASCII whitespace, as the HTML standard means it.
fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0C' | '\r' | ' ')
}

fn is_blank(text: &str) -> bool {
    text.chars().all(is_space)
}

/// The URLs of a `srcset` value's candidates, in order, by the HTML standard's "parse a
/// srcset attribute": a URL runs up to whitespace (commas inside it stay, trailing ones end
/// it), its descriptors follow up to a comma outside parentheses, and a candidate whose
/// descriptors are invalid is dropped, as browsers drop it.
pub(crate) fn srcset_urls(input: &str) -> Vec<&str> {
    let mut urls = Vec::new();
    let mut rest = input;
    loop {
        // Splitting loop: whitespace and commas between candidates.
        rest = rest.trim_start_matches(|c| is_space(c) || c == ',');
        if rest.is_empty() {
            return urls;
        }
        let url_end = rest.find(is_space).unwrap_or(rest.len());
        let (url, after) = rest.split_at(url_end);
        rest = after;
        let trimmed = url.trim_end_matches(',');
        let descriptors = if trimmed.len() < url.len() {
            // Commas ended the URL: no descriptors.
            Vec::new()
        } else {
            let (descriptors, after) = tokenize_descriptors(rest);
            rest = after;
            descriptors
        };
        if descriptors_are_valid(&descriptors) {
            urls.push(trimmed);
        }
    }
}

/// The descriptor tokenizer: descriptors from `input` up to the comma ending the candidate
/// (outside parentheses) or the end; returns them and what follows that comma.
fn tokenize_descriptors(input: &str) -> (Vec<&str>, &str) {
    let mut descriptors = Vec::new();
    let mut start: Option<usize> = None;
    let mut in_parens = false;
    for (at, c) in input.char_indices() {
        if in_parens {
            in_parens = c != ')';
            continue;
        }
        match c {
            c if is_space(c) => {
                if let Some(from) = start.take() {
                    descriptors.push(&input[from..at]);
                }
            }
            ',' => {
                if let Some(from) = start.take() {
                    descriptors.push(&input[from..at]);
                }
                return (descriptors, &input[at + 1..]);
            }
            c => {
                start.get_or_insert(at);
                in_parens = c == '(';
            }
        }
    }
    if let Some(from) = start {
        descriptors.push(&input[from..]);
    }
    (descriptors, "")
}

/// The standard's check of one candidate's descriptors: at most one width (`Nw`, N > 0) or
/// density (`Nx`, N ≥ 0), and a height (`Nh`, N > 0) only with a width.
fn descriptors_are_valid(descriptors: &[&str]) -> bool {
    let (mut width, mut density, mut height) = (false, false, false);
    for descriptor in descriptors {
        let Some((number, kind)) = descriptor
            .char_indices()
            .last()
            .map(|(at, kind)| (&descriptor[..at], kind))
        else {
            return false;
        };
        match kind {
            'w' if !width && !density && positive_integer(number) => width = true,
            'x' if !width && !density && !height && non_negative_float(number) => density = true,
            'h' if !height && !density && positive_integer(number) => height = true,
            _ => return false,
        }
    }
    !height || width
}

/// A valid non-negative integer greater than zero.
fn positive_integer(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.bytes().any(|b| b != b'0')
}

/// A valid floating-point number (`-`? digits, `.` digits, exponent), not below zero.
fn non_negative_float(text: &str) -> bool {
    let digits = |text: &str| text.bytes().take_while(u8::is_ascii_digit).count();
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let whole = digits(rest);
    rest = &rest[whole..];
    let mut fraction = 0;
    if let Some(after) = rest.strip_prefix('.') {
        fraction = digits(after);
        if fraction == 0 {
            return false;
        }
        rest = &after[fraction..];
    }
    if whole + fraction == 0 {
        return false;
    }
    if let Some(after) = rest.strip_prefix(['e', 'E']) {
        let after = after.strip_prefix(['+', '-']).unwrap_or(after);
        let exponent = digits(after);
        if exponent == 0 {
            return false;
        }
        rest = &after[exponent..];
    }
    if !rest.is_empty() {
        return false;
    }
    // Only a negative zero is not below zero.
    !negative || text.bytes().all(|b| !(b'1'..=b'9').contains(&b))
}

/// The URL of a `<meta http-equiv=refresh>`'s `content`, by the HTML standard's "shared
/// declarative refresh steps": a time (digits and dots), then `;` or `,` or whitespace, then
/// the URL, after an optional `url=` (any case, spaces around `=`) and an optional quote,
/// up to the matching quote. `None` when the content is invalid or names no URL (a refresh
/// of the page itself).
pub(crate) fn refresh_url(input: &str) -> Option<&str> {
    let mut rest = input.trim_start_matches(is_space);
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 && !rest.starts_with('.') {
        return None;
    }
    rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let first = rest.chars().next()?;
    if !(first == ';' || first == ',' || is_space(first)) {
        return None;
    }
    rest = rest.trim_start_matches(is_space);
    if let Some(after) = rest.strip_prefix([';', ',']) {
        rest = after;
    }
    rest = rest.trim_start_matches(is_space);
    if rest.is_empty() {
        return None;
    }
    Some(url_after_prefix(rest))
}

/// The refresh URL in `rest`: after `url=` if it is there, without the quotes around it.
fn url_after_prefix(rest: &str) -> &str {
    let url_string = rest;
    let mut at = rest;
    if let Some(after) = at.strip_prefix(['U', 'u']) {
        at = after;
        let Some(after) = at.strip_prefix(['R', 'r']) else {
            return url_string;
        };
        let Some(after) = after.strip_prefix(['L', 'l']) else {
            return url_string;
        };
        let Some(after) = after.trim_start_matches(is_space).strip_prefix('=') else {
            return url_string;
        };
        at = after.trim_start_matches(is_space);
    }
    // Skip quotes.
    match at.chars().next() {
        Some(quote @ ('\'' | '"')) => {
            let url = &at[1..];
            url.find(quote).map_or(url, |end| &url[..end])
        }
        _ => at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srcset_candidates_by_the_standard() {
        assert_eq!(srcset_urls("a.png"), ["a.png"]);
        assert_eq!(
            srcset_urls(" a.png 1x, b.png 2x ,c.png 640w,"),
            ["a.png", "b.png", "c.png"]
        );
        // Commas inside a URL stay; trailing ones end it, and then no descriptors follow.
        assert_eq!(
            srcset_urls("data:image/png;base64,iVBO= 1x, b,c.png,, d.png"),
            ["data:image/png;base64,iVBO=", "b,c.png", "d.png"]
        );
        // No whitespace before the comma: the comma is part of the URL.
        assert_eq!(srcset_urls("a.png,b.png 2x"), ["a.png,b.png"]);
        // Descriptors in parentheses keep their commas.
        assert_eq!(srcset_urls("a.png 1x (x, y), b.png"), ["b.png"]);
        assert_eq!(srcset_urls(",,, ,"), Vec::<&str>::new());
    }

    #[test]
    fn srcset_candidates_with_invalid_descriptors_are_dropped() {
        assert_eq!(
            srcset_urls(
                "w0.png 0w, wx.png 10w 1x, x.png -1x, h.png 10h, wh.png 10w 20h, \
                 xx.png 1x 2x, f.png 1.5x, e.png 1e2x, bad.png 1.x, z.png -0x, q.png 3q"
            ),
            ["wh.png", "f.png", "e.png", "z.png"]
        );
    }

    #[test]
    fn refresh_content_by_the_shared_declarative_refresh_steps() {
        let cases = [
            ("0; url=/next", Some("/next")),
            ("0;URL=/next", Some("/next")),
            ("5 ,  Url = '/q' ignored", Some("/q")),
            ("0; url=\"/dq\"", Some("/dq")),
            ("0; url='/unclosed", Some("/unclosed")),
            ("0;/bare", Some("/bare")),
            ("0 /space", Some("/space")),
            ("1.5; url=/dot", Some("/dot")),
            (".5;url=/lead-dot", Some("/lead-dot")),
            ("0; urn:x", Some("urn:x")),
            ("0; ur=/x", Some("ur=/x")),
            ("0; 'q.html'", Some("q.html")),
            ("  3", None),
            ("0;", None),
            ("x; url=/no-time", None),
            ("0x; url=/bad", None),
            ("", None),
        ];
        for (content, url) in cases {
            assert_eq!(refresh_url(content), url, "{content:?}");
        }
    }
}
