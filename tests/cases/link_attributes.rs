//! `--links all`: `src`, `srcset` and the other link attributes are written with where they
//! were found (`via` in JSONL); a recursive crawl follows frames and iframes, not images or
//! scripts, which `--check` requests once each; `--links href` (the default) is unchanged.

use crate::support::cmd::Areq;
use crate::support::server::{Reply, TestServer};

/// The page with one link of each kind.
const PAGE: &str = r#"<!doctype html><html><head>
<meta http-equiv="refresh" content="30; URL='/refreshed.html'">
<script src="/app.js"></script><link rel="stylesheet" href="/style.css"></head>
<body><img src="/img.png" srcset="/small.png 1x, /big.png 2x" alt="">
<picture><source srcset="/a.webp 100w, /b.webp 200w"></picture>
<video src="/v.mp4" poster="/poster.jpg"><track src="/t.vtt"></video>
<iframe src="/iframe.html"></iframe><object data="/o.pdf"></object>
<form action="/submit"><input type="image" src="/button.png"></form>
<blockquote cite="/source.html">q</blockquote><a href="/next.html">next</a>
<a href="/img.png">the image again</a></body></html>"#;

/// A site: `/` is [`PAGE`], `/frames.html` a frameset, every other path a small page.
fn site() -> TestServer {
    TestServer::start(|request| match request.path.as_str() {
        "/" => Reply::html(PAGE),
        "/next.html" => Reply::html(r#"<frameset><frame src="/frame.html"></frameset>"#),
        _ => Reply::html("<p>leaf</p>"),
    })
}

/// The (url, via) of each JSONL record of `out`, and whether any record lacks `via`.
fn urls_and_vias(out: &str) -> Vec<(String, Option<String>)> {
    out.lines()
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).expect("a JSON record");
            let field = |name: &str| record.get(name).and_then(|v| v.as_str()).map(String::from);
            (field("url").expect("a url"), field("via"))
        })
        .collect()
}

#[test]
fn links_all_writes_every_attribute_with_where_it_was_found() {
    let server = site();
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    let args = [
        "urls.txt",
        "-o",
        "out.jsonl",
        "--format",
        "jsonl",
        "--links",
        "all",
    ];
    areq.run(&args).assert_success();
    let want = [
        ("/refreshed.html", "meta@refresh"),
        ("/app.js", "script@src"),
        ("/style.css", "link@href"),
        ("/img.png", "img@src"),
        ("/small.png", "img@srcset"),
        ("/big.png", "img@srcset"),
        ("/a.webp", "source@srcset"),
        ("/b.webp", "source@srcset"),
        ("/v.mp4", "video@src"),
        ("/poster.jpg", "video@poster"),
        ("/t.vtt", "track@src"),
        ("/iframe.html", "iframe@src"),
        ("/o.pdf", "object@data"),
        ("/submit", "form@action"),
        ("/button.png", "input@src"),
        ("/source.html", "blockquote@cite"),
        ("/next.html", "a@href"),
    ];
    let want: Vec<(String, Option<String>)> = want
        .iter()
        .map(|(path, via)| (server.url(path), Some(via.to_string())))
        .collect();
    assert_eq!(urls_and_vias(&areq.read("out.jsonl")), want);
    // Nothing but the page itself was requested: a list crawl follows nothing.
    assert_eq!(server.total_hits(), 1);
}

#[test]
fn links_href_is_the_default_and_unchanged() {
    let server = site();
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    let args = ["urls.txt", "-o", "out.jsonl", "--format", "jsonl"];
    areq.run(&args).assert_success();
    let want: Vec<(String, Option<String>)> = ["/style.css", "/next.html", "/img.png"]
        .iter()
        .map(|path| (server.url(path), None))
        .collect();
    assert_eq!(urls_and_vias(&areq.read("out.jsonl")), want);
    areq.run(&[
        "urls.txt",
        "-o",
        "href.jsonl",
        "--format",
        "jsonl",
        "--links",
        "href",
    ])
    .assert_success();
    assert_eq!(areq.read("href.jsonl"), areq.read("out.jsonl"));
}

#[test]
fn a_recursive_crawl_follows_frames_and_iframes_not_images_or_scripts() {
    let server = site();
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    areq.run(&["urls.txt", "-o", "out.tsv", "-d", "2", "--links", "all"])
        .assert_success();
    for followed in [
        "/iframe.html",
        "/next.html",
        "/frame.html",
        "/refreshed.html",
    ] {
        assert_eq!(server.hits(followed), 1, "{followed}");
    }
    // Found by `src`, `srcset`, `data`, `action` and `cite` only: written, never requested.
    for embedded in [
        "/app.js",
        "/small.png",
        "/v.mp4",
        "/o.pdf",
        "/submit",
        "/source.html",
    ] {
        assert_eq!(server.hits(embedded), 0, "{embedded}");
    }
    let out = areq.read("out.tsv");
    assert!(out.contains(&format!(
        "{}\t{}",
        server.url("/next.html"),
        server.url("/frame.html")
    )));
    // With hrefs only, neither the iframe nor the frame is found.
    let server = site();
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    areq.run(&["urls.txt", "-o", "out.tsv", "-d", "2"])
        .assert_success();
    assert_eq!(server.hits("/iframe.html"), 0);
    assert_eq!(server.hits("/frame.html"), 0);
}

#[test]
fn check_requests_each_embedded_link_once_with_its_status() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/" => Reply::html(
            r#"<img src="/missing.png"><img srcset="/missing.png 2x, /ok.png 3x">
               <script src="/app.js"></script><a href="/two.html">2</a>"#,
        ),
        "/two.html" => Reply::html(r#"<img src="/missing.png"><img src="/ok.png">"#),
        "/missing.png" => Reply::status(404),
        _ => Reply::with_type(200, "image/png", "png"),
    });
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    let args = [
        "urls.txt", "-o", "out.tsv", "-d", "1", "--links", "all", "--check",
    ];
    areq.run(&args).assert_success();
    for path in ["/missing.png", "/ok.png", "/app.js"] {
        assert_eq!(server.hits(path), 1, "{path}");
    }
    let out = areq.read("out.tsv");
    let missing = format!("{}\t{}\t404", server.url("/"), server.url("/missing.png"));
    let again = format!(
        "{}\t{}\t404",
        server.url("/two.html"),
        server.url("/missing.png")
    );
    assert!(out.contains(&missing) && out.contains(&again), "{out}");
    assert!(
        out.contains(&format!("{}\t200", server.url("/app.js"))),
        "{out}"
    );
}
