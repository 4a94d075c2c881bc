//! The leaves of the tag soup: href values, entities, text, comments, doctypes and the bodies
//! of raw text elements, each a small table of the forms the HTML tokenizer treats oddly.

use fastrand::Rng;

/// Hrefs before any entity or odd character is spliced in: relative and absolute, other
/// schemes, fragments, invalid URLs, whitespace a URL parser strips, non-ASCII queries (encoded
/// in the page's encoding), and repeats of one another once resolved.
const URLS: &[&str] = &[
    "/a",
    "b.html",
    "../up",
    "./c/",
    "?q=1&r=2",
    "#top",
    "#",
    "//cdn.test/x",
    "https://other.test/p?x#y",
    "HTTP://UPPER.TEST/",
    "mailto:m@x.test",
    "tel:+1",
    "javascript:void(0)",
    "ftp://f.test/",
    "data:text/html,x",
    "http://[bad",
    "http://exa mple.test/",
    "http://h:99999/",
    "  /spaced  ",
    "\t/tabbed\n",
    "/caf\u{e9}?q=\u{e9}",
    "/%zz",
    "\\back\\slash",
    "",
    "/a#frag",
    "/p?x=1#f",
    "http://\u{e9}xample.test/",
    "/a/../b",
    "/x%2Fy",
    "b.html#top",
];

/// Character references: named with and without `;` (legacy names decode without it, except in
/// an attribute when `=` or an alphanumeric follows), numeric ones the standard remaps or
/// replaces, bad ones left as text, and names that do not exist.
const ENTITIES: &[&str] = &[
    "&amp",
    "&amp;",
    "&AMP",
    "&AMP;",
    "&lt",
    "&lt;",
    "&gt;",
    "&quot",
    "&not",
    "&not;",
    "&notin",
    "&notin;",
    "&copy=",
    "&copy",
    "&ampx",
    "&amp=",
    "&Aacute",
    "&aacute;",
    "&nbsp",
    "&num;",
    "&sol;",
    "&quest;",
    "&colon;",
    "&Tab;",
    "&NewLine;",
    "&#0;",
    "&#x80;",
    "&#x9F;",
    "&#xD800;",
    "&#x110000;",
    "&#128512;",
    "&#65;",
    "&#x41",
    "&#97",
    "&#x2F;",
    "&#9;",
    "&#x0A;",
    "&#13;",
    "&#12345678901234567890;",
    "&#;",
    "&#x;",
    "&#xZ",
    "&#",
    "&",
    "&;",
    "&foo;",
    "&zz",
    "&notit;",
    "&ampamp;",
    "&amp;amp;",
    "&lt=",
    "&frac12",
    "&frac34;",
    "&sup2x",
    "&Eacute;",
    "&eacute",
    "&angle;",
    "&#x0000041;",
    "&#X41;",
    "&#0065",
    "&#x7F;",
    "&#xFFFE;",
    "&#x1F;",
    "&#xFDD0;",
    "&#x10FFFF;",
    "&#9999999999;",
];

/// Characters that are odd anywhere: NUL (U+FFFD in values and text), CR and CRLF (normalized
/// to LF), whitespace, quotes, `<`, `=`, `>`, a backtick, controls and a byte order mark.
const ODD_CHARS: &[&str] = &[
    "\0", "\r", "\r\n", " ", "\t", "\x0c", "\"", "'", "<", "=", ">", "`", "/", "\x01", "\x7f",
    "\u{feff}",
];

/// Text between tags, some of it looking like markup that is not.
const TEXTS: &[&str] = &[
    "text",
    " ",
    "\n",
    "words and more words ",
    "&lt;a href=/escaped&gt;",
    "&amp;",
    "a < b",
    "< a href=/not-a-tag>",
    "<>",
    "</>",
    "href=/text",
    "&",
    ">",
    "\u{e9}t\u{e9}",
    "\u{1f600}",
    "<3",
    "x</>y",
];

/// Comments in their odd forms, each closing (or not) where the tokenizer says.
const COMMENTS: &[&str] = &[
    "<!---->",
    "<!-->",
    "<!--->",
    "<!-- x -->",
    "<!-- <a href=/in-comment> -->",
    "<!-- x --!>",
    "<!-- <!-- nested --> ",
    "<!-- -- <a href=/dashes> -->",
    "<!-- -- > <a href=/not-closed> -->",
    "<!---- x ---->",
    "<!--a--b-->",
    "<!-- x ---!>",
    "<!-- x --!-->",
    "<!--<!-->",
    "<!--<!--->",
    "<!-- unclosed <a href=/in-unclosed>",
];

/// Pieces of which further comments are made at random.
const COMMENT_PIECES: &[&str] = &[
    " x ",
    "-",
    "--",
    "!",
    ">",
    "<!--",
    "<!-",
    "--!",
    "- >",
    "<a href=/in-comment2>",
    " -- ",
];

/// Bogus comments (they end at the first `>`) and markup declarations that are not comments.
const BOGUS: &[&str] = &[
    "<?x>",
    "<?xml version='1.0'?>",
    "<?php echo '<a href=/php>' ?>",
    "<!x>",
    "<!>",
    "</ x>",
    "</ a href=/bogus-end>",
    "<!ELEMENT a>",
    "</3>",
    "</-->",
    "<![CDATA[<a href=/html-cdata>]]>",
    "<!-x>",
];

/// DOCTYPEs, some with a `>` inside quotes (which ends them all the same).
const DOCTYPES: &[&str] = &[
    "<!DOCTYPE html>",
    "<!doctype html>",
    "<!DOCTYPE html PUBLIC \"-//W3C//DTD>x\" 'y>z'>",
    "<!DOCTYPE html SYSTEM \"a>b\">",
    "<!DOCTYPE html PUBLIC '-//W3C//DTD HTML 4.01//EN' \"http://www.w3.org/TR/html4/strict.dtd\">",
    "<!DOCTYPE>",
    "<!DOCTYPEhtml>",
    "<!DOCTYPE html bogus <a href=/in-doctype>>",
    "<!DOCTYPE html PUBLIC \"unclosed",
];

/// Attributes besides `href`: values holding `>` and quotes, names that look like `href` but
/// are not (`xlink:href` is one only in foreign content), and plain ones.
pub const OTHER_ATTRS: &[(&str, &str)] = &[
    ("title", "a>b"),
    ("title", "'\"'"),
    ("class", "x"),
    ("data-href", "/data"),
    ("xlink:href", "/xlink"),
    ("hrefx", "/hrefx"),
    ("ahref", "/ahref"),
    ("\"href\"", "/quoted-name"),
    ("=href", "/eq-name"),
    ("src", "/src"),
    ("rel", "stylesheet"),
    ("rel", "nofollow"),
    ("rel", "NoFollow noopener"),
    ("rel", "ugc\tnofollow\n"),
    ("rel", "no&#102;ollow"),
    ("rel", "nofollowed"),
    ("REL", "nofollow"),
    ("id", "i"),
    ("id", ""),
    ("ID", "caf&eacute;"),
    ("id", "Top"),
    ("name", "robots"),
    ("name", "n"),
    ("NAME", "i"),
    ("content", "nofollow"),
];

/// `<meta>` names: robots ones in any case, our product token, others.
pub const META_NAMES: &[&str] = &[
    "robots",
    "ROBOTS",
    " robots ",
    "areq",
    "googlebot",
    "description",
    "viewport",
    "rob&#111;ts",
    "",
];

/// `<meta>` contents: robots directives in their forms, and other text.
pub const META_CONTENTS: &[&str] = &[
    "nofollow",
    "noindex, nofollow",
    "NONE",
    "noindex",
    "index,follow",
    "no&#102;ollow",
    "width=device-width",
    "a > b 'c'",
    "",
];

/// The elements whose content is raw text or RCDATA (scripting is on, so `noscript` too).
pub const RAW_TEXT: &[&str] = &[
    "script", "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
    "noscript",
];

/// Pieces of raw text bodies: markup that is text there, near-end tags, and the script escapes
/// (`<!--` then `<script>` makes `</script>` not end the script).
const RAW_PIECES: &[&str] = &[
    "<a href=/in-raw>",
    "<meta name=robots content=nofollow>",
    "x",
    "</",
    "</scripty>",
    "</styl",
    "<!--",
    "-->",
    "<script>",
    "<!--<script>",
    "</script>",
    "</SCRIPT/>",
    "&amp;",
    "\0",
    "\r\n",
    "'</'+'a>'",
    "<!-",
    "--",
    "-",
    "<",
    "<scrip",
    "<script ",
    "</script",
    "<script/",
    "--!>",
];

/// Script bodies with the escapes spelled out: `<!--` then `<script>` makes the next
/// `</script>` not end the script, only the one after it.
const SCRIPT_BODIES: &[&str] = &[
    "<!--<script></script>x",
    "<!-- -->",
    "<!--<script>-->",
    "<!--<script><a href=/double-escaped></script><a href=/escaped>-->",
    "<!--<script></script><a href=/escaped-again>",
    "<!--<SCRIPT>x</SCRIPT>-->",
];

/// Picks one of `items`.
pub fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

/// True with probability `percent`/100.
pub fn chance(rng: &mut Rng, percent: u32) -> bool {
    rng.u32(..100) < percent
}

/// `name` in lower, upper or mixed case.
pub fn cased(rng: &mut Rng, name: &str) -> String {
    match rng.u32(..10) {
        0 => name.to_ascii_uppercase(),
        1 => name
            .chars()
            .map(|c| {
                if rng.bool() {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect(),
        _ => name.to_owned(),
    }
}

/// Inserts `piece` into `text` at a random char boundary.
fn splice(rng: &mut Rng, text: &mut String, piece: &str) {
    let boundaries: Vec<usize> = (0..=text.len())
        .filter(|&i| text.is_char_boundary(i))
        .collect();
    let at = pick(rng, &boundaries);
    text.insert_str(at, piece);
}

/// An href value: a URL, with entities and odd characters spliced in when asked for.
pub fn href(rng: &mut Rng, entities: bool, odd: bool) -> String {
    let mut value = pick(rng, URLS).to_string();
    if entities {
        for _ in 0..rng.usize(0..=2) {
            let entity = pick(rng, ENTITIES);
            splice(rng, &mut value, entity);
        }
    }
    if odd && chance(rng, 30) {
        let odd = pick(rng, ODD_CHARS);
        splice(rng, &mut value, odd);
    }
    value
}

/// Text between tags, with entities and odd characters when asked for.
pub fn text(rng: &mut Rng, entities: bool, odd: bool) -> String {
    let mut text = pick(rng, TEXTS).to_string();
    if entities && chance(rng, 40) {
        let entity = pick(rng, ENTITIES);
        splice(rng, &mut text, entity);
    }
    if odd && chance(rng, 30) {
        let odd = pick(rng, ODD_CHARS);
        splice(rng, &mut text, odd);
    }
    text
}

/// A comment: one of the odd fixed forms, or one made of random pieces.
pub fn comment(rng: &mut Rng) -> String {
    if rng.bool() {
        return pick(rng, COMMENTS).to_string();
    }
    let mut comment = String::from("<!--");
    for _ in 0..rng.usize(0..5) {
        comment.push_str(pick(rng, COMMENT_PIECES));
    }
    comment.push_str(pick(rng, &["-->", "--!>", "--->", "---->", "->", ""]));
    comment
}

/// A bogus comment, a DOCTYPE where none belongs, or a stray end tag (with attributes, which
/// end tags ignore).
pub fn odd_markup(rng: &mut Rng) -> String {
    match rng.u32(..4) {
        0 => pick(rng, BOGUS).to_string(),
        1 => pick(rng, DOCTYPES).to_string(),
        2 => {
            let name = pick(
                rng,
                &["a", "p", "div", "b", "br", "body", "html", "svg", "x"],
            );
            format!("</{} href=/on-end-tag>", cased(rng, name))
        }
        _ => {
            let name = pick(rng, &["a\0", "a\0 href=/nul-name", "\0a"]);
            format!("<{name}>")
        }
    }
}

/// A DOCTYPE for the top of a document.
pub fn doctype(rng: &mut Rng, odd: bool) -> &'static str {
    if odd {
        pick(rng, DOCTYPES)
    } else {
        DOCTYPES[0]
    }
}

/// The body of raw text element `name`, the script escapes included for scripts.
pub fn raw_body(rng: &mut Rng, name: &str) -> String {
    if name == "script" && chance(rng, 40) {
        return pick(rng, SCRIPT_BODIES).to_string();
    }
    let mut body = String::new();
    for _ in 0..rng.usize(0..8) {
        let piece = pick(rng, RAW_PIECES);
        body.push_str(piece);
        if piece == "</" && rng.bool() {
            // Almost the end tag: its name, then what keeps it from ending the element.
            body.push_str(&cased(rng, name));
            body.push_str(pick(rng, &["x", "-", "\0", ""]));
        }
    }
    body
}

/// The end tag of raw text element `name` in one of the forms that end it (`</name >`,
/// `</NAME/>`, `</name foo>` …), or nothing, so that it runs on.
pub fn raw_end(rng: &mut Rng, name: &str) -> String {
    let tail = pick(
        rng,
        &[">", ">", ">", " >", "/>", "\t\n>", " foo=bar>", "", "\x0c>"],
    );
    if tail.is_empty() && rng.bool() {
        return String::new();
    }
    format!("</{}{tail}", cased(rng, name))
}

/// `srcset` values: candidates with and without descriptors, commas inside URLs, data: URLs,
/// invalid descriptors (the candidate is dropped), entities.
pub(super) const SRCSETS: &[&str] = &[
    "a.png",
    "a.png 1x, b.png 2x",
    " /w.png 100w ,/h.png 100w 50h,",
    "data:image/png;base64,AAAA 1x, c,d.png",
    "x.png 1x 2x, y.png 0w, z.png 1.5x",
    "p.png (a, b), q.png",
    "e&amp;f.png 1x,,g.png",
    ",, ,",
];

/// `<meta http-equiv=refresh>` contents: with and without `url=`, quotes, case, bad times.
pub(super) const REFRESHES: &[&str] = &[
    "0; url=/refreshed",
    "5;URL='/quoted'",
    "0 , Url = \"/dq\"",
    "0;/bare",
    "3",
    "x; url=/bad",
    "1.5 urn:x",
];
