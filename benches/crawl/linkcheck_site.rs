//! The link-checking site: a deterministic generator of small HTML pages with planted breakage
//! of every kind a link checker should report, the planted set it computed while writing them,
//! and the answers the bundled server gives to the paths it planted ([`route`]).
//!
//! Page 0 is `/index.html`; page `i > 0` is `/sNN/pI.html` with `NN = i % 20`. Every page
//! links to the next one (the last to the index), so the whole site is reachable from the
//! index, and to random others, some with a fragment that exists (`#sec2`, `#top`), plus an
//! image by `src` and by `srcset` that exist, a `mailto:` and a `tel:` link (not checked), and
//! the index. Every kind of breakage ([`Kind`]) is planted on [`PLANTS_PER_KIND`] pages, spread
//! over the site; nothing else is broken, so a checker's broken set should equal the planted
//! set. robots.txt disallows `/private/`.
//!
//! The dead host is `127.0.0.1:`[`DEAD_PORT`] (the discard port, which nothing serves on a
//! bench machine; the bench checks that before it runs) and the unresolvable hosts are under
//! `.invalid`, which never resolves (RFC 6761), so the pages do not depend on the port the site
//! is served on.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use url::Url;

use crate::rng::SplitMix64;

/// The seed of every page's random stream.
const SEED: u64 = 0x6c69_6e6b_6368_6b31;
/// Pages each kind of breakage is planted on.
pub const PLANTS_PER_KIND: usize = 10;
/// Links per page to random other pages of the site (besides the next one).
const RANDOM_LINKS: usize = 12;
/// The port of the dead host: discard, which no bench machine serves.
pub const DEAD_PORT: u16 = 9;
/// The one URL path that never answers in time. One path, linked from several pages, so a
/// checker that asks each URL once waits for one timeout, and the site's host never sees a run
/// of timeouts that would make a checker give the host up.
pub const HANG_PATH: &str = "/hang/slow.html";
/// robots.txt of the site.
const ROBOTS: &str = "User-agent: *\nDisallow: /private/\n";
/// A 1×1 transparent GIF, the image every intact `src` and `srcset` shows.
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
const WORDS: &[&str] = &[
    "anchor", "broken", "checker", "dangling", "edge", "fetch", "graph", "header", "index", "link",
    "moved", "node", "orphan", "page", "queue", "redirect", "status", "target",
];

/// A kind of planted breakage, and the status class a checker should give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A page that does not exist: 404.
    NotFound,
    /// A page that is gone: 410.
    Gone,
    /// A redirect (301) to a page that does not exist: 404 after the redirect.
    RedirectToNotFound,
    /// Two paths redirecting to each other.
    RedirectLoop,
    /// A port nobody listens on: connection refused.
    DeadHost,
    /// A host name under `.invalid`.
    UnresolvableHost,
    /// A path that answers only long after every checker's timeout.
    Timeout,
    /// A page that exists, with a fragment naming no element of it.
    MissingFragment,
    /// An `<img src>` that does not exist.
    ImageSrc,
    /// A `srcset` candidate that does not exist (the `src` beside it does).
    ImageSrcset,
    /// An `href` with spaces in it, to a page that does not exist: 404 at the %20 URL.
    Space,
    /// An `href` with a tab in it, to a page that does not exist: 404 at the URL without the
    /// tab (URL parsers drop tabs).
    Tab,
    /// A page robots.txt disallows: a polite checker does not request it.
    Robots,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 13] = [
        Kind::NotFound,
        Kind::Gone,
        Kind::RedirectToNotFound,
        Kind::RedirectLoop,
        Kind::DeadHost,
        Kind::UnresolvableHost,
        Kind::Timeout,
        Kind::MissingFragment,
        Kind::ImageSrc,
        Kind::ImageSrcset,
        Kind::Space,
        Kind::Tab,
        Kind::Robots,
    ];

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::NotFound => "404",
            Kind::Gone => "410",
            Kind::RedirectToNotFound => "redirect to 404",
            Kind::RedirectLoop => "redirect loop",
            Kind::DeadHost => "dead host",
            Kind::UnresolvableHost => "unresolvable host",
            Kind::Timeout => "timeout",
            Kind::MissingFragment => "missing fragment",
            Kind::ImageSrc => "img src",
            Kind::ImageSrcset => "img srcset",
            Kind::Space => "space in link",
            Kind::Tab => "tab in link",
            Kind::Robots => "robots.txt",
        }
    }

    /// The status class a checker should report for it.
    pub fn class(self) -> Class {
        match self {
            Kind::NotFound
            | Kind::RedirectToNotFound
            | Kind::ImageSrc
            | Kind::ImageSrcset
            | Kind::Space
            | Kind::Tab => Class::Status(404),
            Kind::Gone => Class::Status(410),
            Kind::RedirectLoop => Class::Redirects,
            Kind::DeadHost => Class::Connect,
            Kind::UnresolvableHost => Class::Dns,
            Kind::Timeout => Class::Timeout,
            Kind::MissingFragment => Class::Fragment,
            Kind::Robots => Class::Robots,
        }
    }

    /// The markup planting it on page `index`, and the link as written (before resolving).
    fn plant(self, index: usize, next: &str) -> (String, String) {
        let href = match self {
            Kind::NotFound => format!("/missing/p{index}.html"),
            Kind::Gone => format!("/gone/p{index}.html"),
            Kind::RedirectToNotFound => format!("/moved/p{index}.html"),
            Kind::RedirectLoop => format!("/loop/a/p{index}.html"),
            Kind::DeadHost => format!("http://127.0.0.1:{DEAD_PORT}/p{index}.html"),
            Kind::UnresolvableHost => format!("http://host-{index}.invalid/p{index}.html"),
            Kind::Timeout => HANG_PATH.to_owned(),
            Kind::MissingFragment => format!("{next}#no-such-anchor-{index}"),
            Kind::ImageSrc => format!("/img/missing-{index}.gif"),
            Kind::ImageSrcset => format!("/img/missing-{index}@2x.gif"),
            Kind::Space => format!("/missing/with space {index}.html"),
            Kind::Tab => format!("/missing/with\ttab-{index}.html"),
            Kind::Robots => format!("/private/p{index}.html"),
        };
        let markup = match self {
            Kind::ImageSrc => format!("<img src=\"{href}\" alt=\"figure {index}\">"),
            Kind::ImageSrcset => format!(
                "<img src=\"/img/ok.gif\" srcset=\"/img/ok.gif 1x, {href} 2x\" alt=\"hi-dpi \
                 {index}\">"
            ),
            _ => format!("<a href=\"{href}\">{} {index}</a>", self.name()),
        };
        (markup, href)
    }
}

/// What a checker says of a link, coarsely: an HTTP status, or why there was none.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// The final HTTP status.
    Status(u16),
    /// Too many redirects (a loop).
    Redirects,
    /// No connection.
    Connect,
    /// The name did not resolve.
    Dns,
    /// No answer in time.
    Timeout,
    /// The page has no element the fragment names.
    Fragment,
    /// Not requested: robots.txt disallows it.
    Robots,
    /// Anything else, as the checker said it.
    Other(String),
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Class::Status(code) => write!(f, "{code}"),
            Class::Redirects => f.write_str("redirects"),
            Class::Connect => f.write_str("connect"),
            Class::Dns => f.write_str("dns"),
            Class::Timeout => f.write_str("timeout"),
            Class::Fragment => f.write_str("fragment"),
            Class::Robots => f.write_str("robots"),
            Class::Other(text) => write!(f, "other: {text}"),
        }
    }
}

/// One planted broken link: the page carrying it (a path), the link as written, its kind.
#[derive(Debug, Clone)]
pub struct Plant {
    /// The path of the page carrying it, `/sNN/pI.html`.
    pub page: String,
    /// The link as written in the page.
    pub href: String,
    /// What is wrong with it.
    pub kind: Kind,
}

impl Plant {
    /// The source page and the link as absolute URLs on `origin` (`http://127.0.0.1:PORT`).
    pub fn resolve(&self, origin: &Url) -> (Url, Url) {
        // Both are written by the generator, which only writes valid relative references.
        let source = origin.join(&self.page).expect("page paths are valid");
        let link = source.join(&self.href).expect("planted links are valid");
        (source, link)
    }
}

/// The generated site: its page count and what was planted where.
#[derive(Debug, Clone)]
pub struct Site {
    /// Pages, the index included.
    pub pages: usize,
    /// Total HTML bytes.
    pub bytes: u64,
    /// Links (`href`, `src` and `srcset` candidates) over all pages.
    pub links: usize,
    /// Every planted broken link, page by page.
    pub planted: Vec<Plant>,
}

/// The path of page `index`, from the root.
pub fn page_path(index: usize) -> String {
    if index == 0 {
        "/index.html".to_owned()
    } else {
        format!("/s{:02}/p{index}.html", index % 20)
    }
}

/// Writes the site of `pages` pages (at least [`PLANTS_PER_KIND`] × the kinds) into `dir`,
/// which must be empty or missing, and returns what it planted.
pub fn generate(dir: &Path, pages: usize) -> io::Result<Site> {
    assert!(
        pages >= PLANTS_PER_KIND * Kind::ALL.len(),
        "the link-checking site needs a page per planted link"
    );
    fs::create_dir_all(dir.join("img"))?;
    fs::create_dir_all(dir.join("private"))?;
    fs::write(dir.join("robots.txt"), ROBOTS)?;
    fs::write(dir.join("img/ok.gif"), GIF)?;
    let mut site = Site {
        pages,
        bytes: 0,
        links: 0,
        planted: Vec::new(),
    };
    for index in 0..pages {
        let kinds = planted_on(index, pages);
        let (html, links) = page(index, pages, &kinds, &mut site.planted);
        let path = dir.join(&page_path(index)[1..]);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, &html)?;
        site.bytes += html.len() as u64;
        site.links += links;
    }
    for kind in Kind::ALL {
        let count = site.planted.iter().filter(|p| p.kind == kind).count();
        assert_eq!(count, PLANTS_PER_KIND, "{kind:?} planted {count} times");
    }
    // The pages robots.txt disallows exist: only robots.txt keeps a polite checker away.
    for plant in site.planted.iter().filter(|p| p.kind == Kind::Robots) {
        fs::write(
            dir.join(&plant.href[1..]),
            "<!DOCTYPE html><title>private</title>\n",
        )?;
    }
    Ok(site)
}

/// The kinds planted on page `index`: kind `k` on the pages `i` with `i % stride == offset(k)`,
/// the stride spreading [`PLANTS_PER_KIND`] plants of each kind over the whole site.
fn planted_on(index: usize, pages: usize) -> Vec<Kind> {
    let stride = pages / PLANTS_PER_KIND;
    Kind::ALL
        .iter()
        .enumerate()
        .filter(|(k, _)| {
            let offset = 1 + k * (stride - 1) / Kind::ALL.len();
            index % stride == offset && index / stride < PLANTS_PER_KIND
        })
        .map(|(_, kind)| *kind)
        .collect()
}

/// Page `index` with `kinds` planted on it (recorded in `planted`), and how many links it has.
fn page(index: usize, pages: usize, kinds: &[Kind], planted: &mut Vec<Plant>) -> (String, usize) {
    let mut rng = SplitMix64::stream(SEED, index as u64);
    let path = page_path(index);
    let next = page_path((index + 1) % pages);
    let mut html = String::with_capacity(8 * 1024);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Page {index}</title></head>\n<body><a name=\"top\"></a>\n\
         <nav><a href=\"/index.html\">home</a> <a href=\"{next}\">next</a> \
         <a href=\"#sec1\">first section</a></nav>\n"
    );
    let mut links = 3;
    for section in 1..=3 {
        let _ = write!(html, "<h2 id=\"sec{section}\">Section {section}</h2>\n<p>");
        for _ in 0..rng.between(30, 60) {
            let word = rng.pick::<&str>(WORDS);
            html.push_str(word);
            html.push(' ');
        }
        html.push_str("</p>\n<ul>\n");
        for _ in 0..RANDOM_LINKS / 3 {
            let target = page_path(rng.below(pages));
            let fragment = match rng.below(4) {
                0 => "#sec2",
                1 => "#top",
                _ => "",
            };
            let _ = writeln!(
                html,
                "<li><a href=\"{target}{fragment}\">{}</a></li>",
                rng.pick(WORDS)
            );
            links += 1;
        }
        html.push_str("</ul>\n");
    }
    html.push_str(
        "<p><img src=\"/img/ok.gif\" alt=\"logo\"> \
         <img src=\"/img/ok.gif\" srcset=\"/img/ok.gif 2x\" alt=\"logo, hi-dpi\"></p>\n\
         <p><a href=\"mailto:webmaster@example.org\">mail</a> \
         <a href=\"tel:+15550100\">call</a></p>\n",
    );
    links += 5;
    if !kinds.is_empty() {
        html.push_str("<footer>\n");
        for &kind in kinds {
            let (markup, href) = kind.plant(index, &next);
            let _ = writeln!(html, "<p>{markup}</p>");
            planted.push(Plant {
                page: path.clone(),
                href,
                kind,
            });
            links += 1;
        }
        html.push_str("</footer>\n");
    }
    html.push_str("</body></html>\n");
    (html, links)
}

/// How long the hanging path waits before it answers: far beyond every checker's timeout.
pub const HANG: Duration = Duration::from_secs(30);

/// What the server answers for a planted path, when it is one: `None` serves the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// This status, with an empty body.
    Status(u16),
    /// 301 to this location.
    Redirect(String),
    /// 200 after [`HANG`].
    Hang,
}

/// The route of a planted `path` (query and fragment already removed), or `None` for a file.
pub fn route(path: &str) -> Option<Route> {
    if path == HANG_PATH {
        return Some(Route::Hang);
    }
    if path.starts_with("/gone/") {
        return Some(Route::Status(410));
    }
    if let Some(rest) = path.strip_prefix("/moved/") {
        return Some(Route::Redirect(format!("/missing/moved-{rest}")));
    }
    if let Some(rest) = path.strip_prefix("/loop/a/") {
        return Some(Route::Redirect(format!("/loop/b/{rest}")));
    }
    if let Some(rest) = path.strip_prefix("/loop/b/") {
        return Some(Route::Redirect(format!("/loop/a/{rest}")));
    }
    None
}
