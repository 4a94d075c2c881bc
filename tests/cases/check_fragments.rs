//! `--check-fragments`: a link `page#name` is `fragment-missing` when its HTML page answered
//! 2xx and has no element with that `id` and no `<a name>` of it, as a browser matches it.

use crate::support::cmd::Areq;
use crate::support::server::{Reply, TestServer};

/// A page the streaming scanner reads.
const DOC: &str = r#"<!doctype html><title>doc</title>
<h1 id="intro">Intro</h1>
<a name="old-anchor">old</a>
<div name="div-name">a name on a div is no target</div>
<p id="café">accented</p>
<p id="MixedCase">case</p>
<template><p id="in-template"></p></template>"#;

/// A page that takes the tree builder's path: it has a table.
const TABLE: &str = r#"<!doctype html><table><tr><td id="cell"><a name="row-name">x</a></td>
</tr></table>"#;

/// Each link of the checked page, as written in its `href`, with its status.
const LINKS: &[(&str, &str)] = &[
    ("/doc#intro", "200"),
    ("/doc#old-anchor", "200"),
    ("/doc#div-name", "fragment-missing"),
    ("/doc#caf%C3%A9", "200"),
    ("/doc#caf%c3%a9", "200"),
    ("/doc#INTRO", "fragment-missing"),
    ("/doc#mixedcase", "fragment-missing"),
    ("/doc#in-template", "fragment-missing"),
    ("/doc#top", "200"),
    ("/doc#Top", "200"),
    ("/doc#", "200"),
    ("/doc#nowhere", "fragment-missing"),
    ("/table#cell", "200"),
    ("/table#row-name", "200"),
    ("/table#nope", "fragment-missing"),
    ("/gone#intro", "404"),
    ("/file.pdf#page=2", "200"),
    ("#own", "200"),
    ("#not-here", "fragment-missing"),
];

/// The site: `/` carries every link of [`LINKS`] and has the id `own`.
fn site() -> TestServer {
    let anchors: String = LINKS
        .iter()
        .map(|(href, _)| format!("<a href=\"{href}\">x</a>\n"))
        .collect();
    let root = format!("<!doctype html><body><h2 id=own>own</h2>{anchors}</body>");
    TestServer::start(move |request| match request.path.as_str() {
        "/" => Reply::html(root.clone()),
        "/doc" => Reply::html(DOC),
        "/table" => Reply::html(TABLE),
        "/file.pdf" => Reply::with_type(200, "application/pdf", "%PDF"),
        "/robots.txt" => Reply::status(404),
        _ => Reply::status(404),
    })
}

/// `href` as the link areq writes: absolute, its fragment percent-encoded.
fn absolute(server: &TestServer, href: &str) -> String {
    let page = url::Url::parse(&server.url("/")).unwrap();
    page.join(href).unwrap().to_string()
}

/// The TSV areq should write for `/` of [`site`] with statuses from `status_of`.
fn expected_tsv(server: &TestServer, status_of: impl Fn(&str) -> String) -> String {
    let page = server.url("/");
    let mut want = String::from("source_url\tparsed_url\tstatus\n");
    for (href, status) in LINKS {
        let link = absolute(server, href);
        want.push_str(&format!("{page}\t{link}\t{}\n", status_of(status)));
    }
    want
}

#[test]
fn fragments_are_matched_against_ids_and_a_names_as_browsers_match_them() {
    let server = site();
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out", "--check-fragments"]);
    run.assert_success();
    assert_eq!(
        areq.read("out"),
        expected_tsv(&server, |status| status.to_string())
    );
    // A link with a fragment reads its page once for every link into it.
    assert_eq!(server.hits("/doc"), 1);
    assert_eq!(server.hits("/table"), 1);
    assert_eq!(
        server.hits("/"),
        1,
        "links into the page judged by its own ids"
    );
    let missing = LINKS
        .iter()
        .filter(|(_, status)| *status == "fragment-missing")
        .count();
    assert_eq!(
        summary["links"]["broken_by_status"],
        serde_json::json!({ "fragment-missing": missing, "404": 1 }),
        "{summary}"
    );
    // Each link with a fragment is a link of its own: the 19 links, `/doc#` as `/doc`.
    assert_eq!(summary["links"]["checked"], LINKS.len());
    assert!(
        run.stderr.contains(&format!(
            "links: {} checked, {} broken (fragment-missing: {missing}, 404: 1)\n",
            LINKS.len(),
            missing + 1
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn without_check_fragments_a_fragment_is_not_judged() {
    let server = site();
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    areq.run(&["urls.txt", "-o", "out", "--check"])
        .assert_success();
    let status_of = |status: &str| match status {
        "fragment-missing" => "200".to_string(),
        other => other.to_string(),
    };
    assert_eq!(areq.read("out"), expected_tsv(&server, status_of));
}

#[test]
fn jsonl_records_say_fragment_missing() {
    let server = site();
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    areq.run(&[
        "urls.txt",
        "-o",
        "out",
        "--check-fragments",
        "--format",
        "jsonl",
    ])
    .assert_success();
    let out = areq.read("out");
    let records: Vec<serde_json::Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), LINKS.len(), "{out}");
    for (record, (href, status)) in records.iter().zip(LINKS) {
        assert_eq!(record["url"], absolute(&server, href));
        assert_eq!(record["link_status"], *status, "{href}");
    }
}

#[test]
fn fail_on_error_exits_3_for_a_missing_fragment_and_0_when_every_fragment_is_there() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/good" => Reply::html("<a href=/doc#intro>x</a><a href=#top>top</a>"),
        "/bad" => Reply::html("<a href=/doc#intro>x</a><a href=/doc#outro>y</a>"),
        _ => Reply::html(DOC),
    });
    let areq = Areq::new();
    let args = [
        "urls.txt",
        "-o",
        "out",
        "--check-fragments",
        "--fail-on-error",
    ];
    areq.input(&[server.url("/good")]);
    let run = areq.run(&args);
    assert_eq!(run.code(), 0, "{}", run.stderr);
    areq.input(&[server.url("/bad")]);
    let run = areq.run(&args);
    assert_eq!(run.code(), 3, "{}", run.stderr);
    let out = areq.read("out");
    assert!(
        out.contains(&format!(
            "\t{}\tfragment-missing\n",
            server.url("/doc#outro")
        )),
        "{out}"
    );
}

#[test]
fn a_crawled_page_judges_fragments_of_links_found_after_it_without_a_request() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/doc" => Reply::html(DOC),
        "/table" => Reply::html(TABLE),
        _ => Reply::html(
            "<a href=/doc#intro>1</a><a href=/doc#gone>2</a>\
             <a href=/table#cell>3</a><a href=/table#gone>4</a>",
        ),
    });
    let areq = Areq::new();
    // One page at a time: /doc and /table are parsed before /links carries links into them.
    areq.input(&[
        server.url("/doc"),
        server.url("/table"),
        server.url("/links"),
    ]);
    areq.run(&["urls.txt", "-o", "out", "--check-fragments", "-c", "1"])
        .assert_success();
    assert_eq!(server.hits("/doc"), 1);
    assert_eq!(server.hits("/table"), 1);
    let out = areq.read("out");
    for (link, status) in [
        ("/doc#intro", "200"),
        ("/doc#gone", "fragment-missing"),
        ("/table#cell", "200"),
        ("/table#gone", "fragment-missing"),
    ] {
        let line = format!("{}\t{}\t{status}\n", server.url("/links"), server.url(link));
        assert!(out.contains(&line), "{line} in {out}");
    }
}

#[test]
fn a_page_known_without_its_ids_is_read_once_more_for_a_fragment() {
    // `/first` checks /doc without a fragment (its body not read); `/second`, later, links to
    // /doc#nowhere: /doc is read once for its ids.
    let server = TestServer::start(|request| match request.path.as_str() {
        "/first" => Reply::html("<a href=/doc>1</a>"),
        "/second" => Reply::html("<a href=/doc#nowhere>2</a><a href=/doc#intro>3</a>"),
        _ => Reply::html(DOC),
    });
    let areq = Areq::new();
    areq.input(&[server.url("/first"), server.url("/second")]);
    areq.run(&["urls.txt", "-o", "out", "--check-fragments", "-c", "1"])
        .assert_success();
    assert_eq!(server.hits("/doc"), 2);
    let out = areq.read("out");
    assert!(
        out.contains(&format!("\t{}\t200\n", server.url("/doc"))),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "\t{}\tfragment-missing\n",
            server.url("/doc#nowhere")
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("\t{}\t200\n", server.url("/doc#intro"))),
        "{out}"
    );
}

#[test]
fn check_fragments_refuses_strip_fragments() {
    let areq = Areq::new();
    areq.input(&["http://127.0.0.1:9/".to_string()]);
    let run = areq.run(&["urls.txt", "--check-fragments", "--strip-fragments"]);
    assert_eq!(run.code(), 2, "{}", run.stderr);
}
