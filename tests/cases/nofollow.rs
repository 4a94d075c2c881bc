//! What a page says about following its links, seen at the server: a robots `<meta>` (`robots`
//! or named for our product token) or an `X-Robots-Tag` header saying `nofollow` or `none`
//! stops a recursive crawl from following the page's links (they are still written), unless
//! `--ignore-robots`; `rel="nofollow"` links are followed unless `--respect-nofollow`, and
//! their JSONL records say so.

use crate::support::cmd::Areq;
use crate::support::server::{Reply, TestServer};

/// A site whose front page is `front` (the head's content, then the body linking to `/a` and
/// `/b`) with `X-Robots-Tag` headers `headers`; `/a` and `/b` link nowhere, and robots.txt
/// is missing.
fn site(front: &str, headers: &'static [&'static str]) -> TestServer {
    let page = format!("<!doctype html><html><head>{front}");
    TestServer::start(move |request| match request.path.as_str() {
        "/" => {
            let mut reply = Reply::html(page.clone());
            for header in headers {
                reply = reply.with_header("X-Robots-Tag", header);
            }
            reply
        }
        "/a" | "/b" => Reply::html("<!doctype html><title>leaf</title>"),
        _ => Reply::status(404),
    })
}

/// The front page's body: two links.
const LINKS: &str = "</head><body><a href=/a>a</a> <a href=/b>b</a>";

/// Crawls the site one level down with `flags`; returns the output and the summary (JSON, and
/// the text on stderr).
fn crawl(server: &TestServer, flags: &[&str]) -> (String, serde_json::Value, String) {
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    let mut args = vec![
        "urls.txt",
        "-o",
        "out.jsonl",
        "--format",
        "jsonl",
        "-d",
        "1",
    ];
    args.extend_from_slice(flags);
    let (run, summary) = areq.run_with_summary(&args);
    run.assert_success();
    (areq.read("out.jsonl"), summary, run.stderr)
}

/// The URLs the records name, in order.
fn written(out: &str) -> Vec<String> {
    out.lines()
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).expect("a JSON record");
            record["url"].as_str().expect("a url").to_owned()
        })
        .collect()
}

/// Asserts the front page's links were written but neither was requested, and the page was
/// counted as not followed for nofollow.
fn assert_written_not_followed(server: &TestServer, flags: &[&str]) {
    let (out, summary, stderr) = crawl(server, flags);
    assert_eq!(written(&out), [server.url("/a"), server.url("/b")], "{out}");
    assert_eq!(server.hits("/"), 1);
    assert_eq!(
        (server.hits("/a"), server.hits("/b")),
        (0, 0),
        "not followed"
    );
    assert_eq!(summary["pages"]["skipped_nofollow"], 1, "{summary}");
    assert!(
        stderr.contains("not fetched: 0 robots, 1 nofollow, 0 scope"),
        "{stderr}"
    );
}

#[test]
fn a_robots_meta_saying_nofollow_or_none_stops_following_the_pages_links() {
    for meta in [
        r#"<meta name="robots" content="noindex, nofollow">"#,
        r#"<meta name="ROBOTS" content="None">"#,
        r#"<META content=nofollow NAME=robots>"#,
    ] {
        let server = site(&format!("{meta}{LINKS}"), &[]);
        assert_written_not_followed(&server, &[]);
    }
}

#[test]
fn a_meta_named_for_our_product_token_applies_and_another_crawlers_does_not() {
    let ours = site(
        r#"<meta name="areq" content="nofollow"></head><body><a href=/a>a</a><a href=/b>b</a>"#,
        &[],
    );
    assert_written_not_followed(&ours, &[]);

    // The product token comes from --user-agent.
    let renamed = site(
        r#"<meta name="mybot" content="none"></head><body><a href=/a>a</a><a href=/b>b</a>"#,
        &[],
    );
    assert_written_not_followed(&renamed, &["-A", "MyBot/2.0 (+https://example.org)"]);

    let theirs = site(
        r#"<meta name="googlebot" content="nofollow"></head><body><a href=/a>a</a><a href=/b>b</a>"#,
        &[],
    );
    let (_, summary, _) = crawl(&theirs, &[]);
    assert_eq!((theirs.hits("/a"), theirs.hits("/b")), (1, 1));
    assert_eq!(summary["pages"]["skipped_nofollow"], 0);
}

#[test]
fn an_x_robots_tag_header_saying_nofollow_stops_following_plain_or_for_our_agent() {
    let plain = site(LINKS, &["noindex, nofollow"]);
    assert_written_not_followed(&plain, &[]);
    let ours = site(LINKS, &["googlebot: noindex", "areq: nofollow"]);
    assert_written_not_followed(&ours, &[]);

    let theirs = site(LINKS, &["googlebot: nofollow", "noarchive"]);
    crawl(&theirs, &[]);
    assert_eq!((theirs.hits("/a"), theirs.hits("/b")), (1, 1));
}

#[test]
fn ignore_robots_follows_the_links_of_a_nofollow_page() {
    let server = site(
        r#"<meta name="robots" content="nofollow"></head><body><a href=/a>a</a><a href=/b>b</a>"#,
        &["nofollow"],
    );
    let (out, summary, _) = crawl(&server, &["--ignore-robots"]);
    assert_eq!(written(&out), [server.url("/a"), server.url("/b")]);
    assert_eq!((server.hits("/a"), server.hits("/b")), (1, 1));
    assert_eq!(summary["pages"]["skipped_nofollow"], 0);
}

#[test]
fn a_meta_counts_in_the_body_but_not_in_a_template_or_noscript() {
    let body = site(
        "</head><body><p>text</p><meta name=robots content=nofollow><a href=/a>a</a><a href=/b>b</a>",
        &[],
    );
    assert_written_not_followed(&body, &[]);

    let server = site(
        "<template><meta name=robots content=nofollow></template>\
         <noscript><meta name=robots content=nofollow></noscript>\
         </head><body><a href=/a>a</a><a href=/b>b</a>",
        &[],
    );
    crawl(&server, &[]);
    assert_eq!((server.hits("/a"), server.hits("/b")), (1, 1));
}

/// A front page where `/a` is linked only with `rel="nofollow"`, `/b` once with and once
/// without.
const REL_NOFOLLOW: &str = r#"</head><body><a href=/a rel="ugc nofollow">a</a>
    <a href=/b rel=nofollow>b</a><a href=/b>b again</a>"#;

#[test]
fn rel_nofollow_links_are_followed_by_default_and_marked_in_jsonl() {
    let server = site(REL_NOFOLLOW, &[]);
    let (out, summary, _) = crawl(&server, &[]);
    assert_eq!((server.hits("/a"), server.hits("/b")), (1, 1), "a hint");
    let records: Vec<serde_json::Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{out}");
    assert_eq!(records[0]["url"], server.url("/a"));
    assert_eq!(records[0]["nofollow"], true, "{out}");
    assert_eq!(records[1]["url"], server.url("/b"));
    assert!(
        records[1].get("nofollow").is_none(),
        "linked plainly too: {out}"
    );
    let first = format!(
        "{{\"source\":\"{}\",\"url\":\"{}\",\"nofollow\":true,\"depth\":0,\"status\":200}}",
        server.url("/"),
        server.url("/a")
    );
    assert_eq!(out.lines().next(), Some(first.as_str()));
    assert_eq!(
        summary["pages"]["skipped_nofollow"], 0,
        "not a page-level nofollow"
    );
}

#[test]
fn respect_nofollow_does_not_follow_rel_nofollow_links() {
    let server = site(REL_NOFOLLOW, &[]);
    let (out, _, _) = crawl(&server, &["--respect-nofollow"]);
    assert_eq!(written(&out), [server.url("/a"), server.url("/b")]);
    assert_eq!(server.hits("/a"), 0, "only linked with rel=nofollow");
    assert_eq!(server.hits("/b"), 1, "also linked plainly");
}
