//! `--resume` of a recursive crawl without Redis: the frontier is rebuilt from the output and
//! its `.done` file, so the resumed crawl ends with an uninterrupted one's lines and fetches
//! again only what was in flight.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::cmd::{finish, send_signal, Areq};
use crate::support::server::Gate;
use crate::support::tree::{gated_tree_site, lines_of, page_hits, tree_site, PAGES};

/// Pages the interrupted crawl finishes before the gate holds the rest.
const BEFORE_STOP: usize = 30;

const CRAWL: &[&str] = &["urls.txt", "-o", "out.tsv", "-d", "10", "-c", "4"];

/// The lines of an uninterrupted crawl, with the site's address replaced.
fn uninterrupted(args: &[&str]) -> BTreeSet<String> {
    let site = tree_site(Duration::from_millis(10));
    let areq = Areq::new();
    areq.input(&[site.url("/")]);
    areq.run(args).assert_success();
    lines_of(&areq.read("out.tsv").replace(&site.url(""), "{SITE}"))
}

/// Runs a crawl until it has written [`BEFORE_STOP`] pages and holds four requests (`-c 4`)
/// at the gate, interrupts it there with `stop`, resumes it, and
/// checks the result against an uninterrupted crawl.
fn interrupt_and_resume(args: &[&str], stop: impl FnOnce(&mut std::process::Child)) {
    let expected = uninterrupted(args);
    let gate = Gate::new();
    let site = gated_tree_site(Duration::from_millis(10), &gate, BEFORE_STOP);
    let areq = Areq::new();
    areq.input(&[site.url("/")]);
    let mut child = areq.spawn(args);
    areq.wait_for_lines("out.tsv.done", BEFORE_STOP);
    gate.wait_until_held(4);
    stop(&mut child);
    let _ = finish(child);
    gate.open();
    let before = page_hits(&site);
    assert_eq!(
        before.len(),
        BEFORE_STOP + 4,
        "stopped with {BEFORE_STOP} pages done and four in flight: {before:?}"
    );
    let done = areq.read("out.tsv.done").lines().count();
    assert_eq!(done, BEFORE_STOP, "the pages in flight are not done");

    let mut resumed: Vec<&str> = args.to_vec();
    resumed.push("--resume");
    let run = areq.run(&resumed);
    run.assert_success();
    assert!(
        run.stderr.contains(", 1 done before (resumed)"),
        "the seed's crawl is resumed: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("pages: {} ok,", PAGES + 1 - BEFORE_STOP)),
        "the pages not done are fetched: {}",
        run.stderr
    );
    let out = areq.read("out.tsv");
    assert_eq!(lines_of(&out.replace(&site.url(""), "{SITE}")), expected);
    assert_eq!(out.lines().count(), expected.len(), "no line written twice");
    let hits = page_hits(&site);
    assert_eq!(hits.len(), PAGES + 1, "every page was fetched");
    let again: usize = hits.values().map(|n| n - 1).sum();
    assert_eq!(
        again, 4,
        "exactly the pages in flight (-c 4) were fetched again"
    );
}

#[test]
fn a_recursive_crawl_killed_with_9_resumes_to_the_uninterrupted_lines() {
    interrupt_and_resume(CRAWL, |child| {
        child.kill().expect("kill -9");
    });
}

#[test]
fn a_recursive_jsonl_crawl_stopped_by_ctrl_c_resumes_to_the_uninterrupted_lines() {
    let mut args = CRAWL.to_vec();
    args.extend(["--format", "jsonl"]);
    interrupt_and_resume(&args, |child| send_signal(child, libc::SIGINT));
}

/// A site whose root links to six pages by `<a href>` and to six more by `<img src>` (served
/// as HTML, so only the crawl's choice keeps them out); `/p/5` answers behind `gate`.
fn site_with_images(
    gate: Option<crate::support::server::Gate>,
) -> crate::support::server::TestServer {
    use crate::support::server::{Reply, TestServer};
    TestServer::start(move |request| {
        let path = request.path.as_str();
        let page = |body: String| Reply::html(format!("<!doctype html><body>{body}</body>"));
        match path {
            "/" => page(
                (0..6)
                    .map(|i| format!("<a href=\"/p/{i}\">p</a><img src=\"/img/{i}\">"))
                    .collect(),
            ),
            "/robots.txt" => Reply::status(404),
            "/p/5" => match &gate {
                Some(gate) => page("<a href=\"/\">home</a>".into()).behind(gate),
                None => page("<a href=\"/\">home</a>".into()),
            },
            _ => page(format!("<a href=\"{path}/more\">more</a>")),
        }
    })
}

#[test]
fn a_resumed_links_all_crawl_follows_only_what_the_uninterrupted_one_follows() {
    const CRAWL: &[&str] = &[
        "urls.txt",
        "-o",
        "out.jsonl",
        "--format",
        "jsonl",
        "--links",
        "all",
        "-d",
        "2",
        "-c",
        "2",
    ];
    let plain = site_with_images(None);
    let areq = Areq::new();
    areq.input(&[plain.url("/")]);
    areq.run(CRAWL).assert_success();
    let expected = lines_of(&areq.read("out.jsonl").replace(&plain.url(""), "{SITE}"));
    assert_eq!(plain.hits("/img/0"), 0, "an image's link is not followed");

    let gate = Gate::new();
    let site = site_with_images(Some(gate.clone()));
    let areq = Areq::new();
    areq.input(&[site.url("/")]);
    let child = areq.spawn(CRAWL);
    areq.wait_for_lines("out.jsonl.done", 6);
    gate.wait_until_held(1);
    crate::support::cmd::send_signal(&child, libc::SIGINT);
    let _ = finish(child);
    gate.open();
    areq.run(&[CRAWL, &["--resume"]].concat()).assert_success();
    let out = areq.read("out.jsonl");
    assert_eq!(lines_of(&out.replace(&site.url(""), "{SITE}")), expected);
    assert_eq!(out.lines().count(), expected.len(), "no line written twice");
    assert_eq!(
        site.hits("/img/0"),
        0,
        "not followed after the resume either"
    );
}
