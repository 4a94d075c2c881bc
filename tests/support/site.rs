//! The fixture site every case shares: `fixtures/` plus a few scripted routes.

#![allow(dead_code)]

use crate::support::server::{Reply, TestServer};

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/fixtures{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|err| panic!("read {full}: {err}"))
}

/// Serves `fixtures/` with these extra routes:
/// - `/site/cp1252-header.html`: windows-1252 declared in Content-Type only;
/// - `/site/cp1252-meta.html`: Content-Type without charset, `<meta charset>` in the page;
/// - `/old/start`: 301 to `/site/new/landing.html`;
/// - `/boom`: 500; `/loop`: redirects to itself;
/// - `/chain/N`: redirects to `/chain/N-1`, and `/chain/0` is the links page.
pub fn start() -> TestServer {
    TestServer::fixtures_with(|request| {
        let path = request.path.as_str();
        match path {
            "/site/cp1252-header.html" => Some(Reply::with_type(
                200,
                "text/html; charset=windows-1252",
                fixture(path),
            )),
            "/site/cp1252-meta.html" => Some(Reply::with_type(200, "text/html", fixture(path))),
            "/old/start" => Some(Reply::redirect(301, "/site/new/landing.html")),
            "/boom" => Some(Reply::status(500)),
            "/loop" => Some(Reply::redirect(302, "/loop")),
            _ => {
                let hops: u32 = path.strip_prefix("/chain/")?.parse().ok()?;
                Some(match hops {
                    0 => Reply::redirect(302, "/site/dir/links.html"),
                    n => Reply::redirect(302, &format!("/chain/{}", n - 1)),
                })
            }
        }
    })
}

/// The links of `fixtures/site/dir/links.html` served at `base`, in order, with
/// the default options (http(s) only, fragments kept).
pub fn links_page_links(base: &str) -> Vec<String> {
    [
        "{B}/site/style.css",
        "{B}/site/dir/sibling.html",
        "{B}/site/up.html",
        "http://cdn.example.net/lib.js",
        "{B}/root.html?a=1&b=2",
        "https://example.com/Upper",
        "{B}/site/dir/links.html#top",
        "{B}/site/dir/sibling.html#part",
        "{B}/area.html",
        "{B}/svg.html",
        "{B}/site/dir/caf%C3%A9.html",
    ]
    .iter()
    .map(|link| link.replace("{B}", base))
    .collect()
}

/// `SOURCE<TAB>LINK` lines for `links`.
pub fn tsv_lines(source: &str, links: &[String]) -> String {
    links
        .iter()
        .map(|link| format!("{source}\t{link}\n"))
        .collect()
}
