//! Long runs: resume after kill -9, the JSON summary, help, completions, man page, version.

use std::time::{Duration, Instant};

use crate::support::cmd::{finish, send_signal, Areq};
use crate::support::server::{Reply, TestServer};

const PAGES: usize = 60;

/// Pages `/p/N`, each with three links of its own, answering after 30 ms.
fn numbered_pages() -> TestServer {
    TestServer::start(|request| {
        let path = &request.path;
        Reply::html(format!(
            "<a href=\"{path}/a\">a</a><a href=\"{path}/b\">b</a><a href=\"{path}/c\">c</a>"
        ))
        .delayed(Duration::from_millis(30))
    })
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn resume_after_kill_9_equals_an_uninterrupted_run() {
    let server = numbered_pages();
    let areq = Areq::new();
    areq.input(
        &(0..PAGES)
            .map(|i| server.url(&format!("/p/{i}")))
            .collect::<Vec<_>>(),
    );

    areq.run(&["urls.txt", "-o", "whole.tsv", "-c", "4"])
        .assert_success();
    assert!(
        !areq.path("whole.tsv.done").exists(),
        "a finished run leaves no companion"
    );
    let whole = areq.read("whole.tsv");
    assert_eq!(whole.lines().count(), 1 + 3 * PAGES);

    let child = areq.spawn(&["urls.txt", "-o", "cut.tsv", "-c", "4"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let lines = || std::fs::read_to_string(areq.path("cut.tsv")).map_or(0, |t| t.lines().count());
    while lines() < 40 {
        assert!(Instant::now() < deadline, "the run never got going");
        std::thread::sleep(Duration::from_millis(5));
    }
    send_signal(&child, "KILL");
    let killed = finish(child);
    assert_eq!(killed.shell_code(), 128 + 9);
    let done_before = areq.read("cut.tsv.done").lines().count();
    assert!(
        done_before > 0 && done_before < PAGES,
        "{done_before} pages recorded"
    );

    let hits_before = server.total_hits();
    let run = areq.run(&["urls.txt", "-o", "cut.tsv", "-c", "4", "--resume"]);
    run.assert_success();
    assert_eq!(
        server.total_hits() - hits_before,
        PAGES - done_before,
        "exactly the pages not recorded as complete are fetched again"
    );
    assert!(
        run.stderr
            .contains(&format!("{done_before} done before (resumed)")),
        "{}",
        run.stderr
    );
    assert_eq!(sorted_lines(&areq.read("cut.tsv")), sorted_lines(&whole));
    assert!(!areq.path("cut.tsv.done").exists());
}

#[test]
fn resume_of_a_finished_output_fetches_nothing() {
    let server = numbered_pages();
    let areq = Areq::new();
    areq.input(&[server.url("/p/1")]);
    areq.run(&["urls.txt", "-o", "out.tsv"]).assert_success();
    let before = areq.read("out.tsv");
    let run = areq.run(&["urls.txt", "-o", "out.tsv", "--resume"]);
    run.assert_success();
    assert!(run.stderr.contains("nothing to resume"), "{}", run.stderr);
    assert_eq!(server.total_hits(), 1);
    assert_eq!(areq.read("out.tsv"), before);
}

#[test]
fn resume_needs_a_single_pass_into_a_file() {
    let areq = Areq::new();
    assert_eq!(areq.run(&["--resume", "-d", "1"]).code(), 2);
    assert_eq!(areq.run(&["--resume", "-o", "-"]).code(), 2);
}

#[test]
fn summary_json_counts_outcomes_statuses_and_top_hosts() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/missing" => Reply::status(404),
        "/data" => Reply::with_type(200, "application/json", "{}"),
        _ => Reply::html("<a href=\"/x\">x</a><a href=\"/y\">y</a>"),
    });
    let areq = Areq::new();
    areq.input(&[
        server.url("/one"),
        server.url("/two"),
        server.url("/missing"),
        server.url("/data"),
        server.url("/one"),
    ]);
    areq.run(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--summary-json",
        "summary.json",
    ])
    .assert_success();
    let json: serde_json::Value = serde_json::from_str(&areq.read("summary.json")).unwrap();
    assert_eq!(json["schema"], 1);
    assert_eq!(json["interrupted"], false);
    assert_eq!(json["urls"]["read"], 5);
    assert_eq!(json["urls"]["duplicate"], 1);
    assert_eq!(json["pages"]["ok"], 2);
    assert_eq!(json["pages"]["failed"], 1);
    assert_eq!(json["pages"]["skipped_not_html"], 1);
    assert_eq!(json["pages"]["by_depth"]["0"], 4);
    assert_eq!(json["failures"]["http 404"], 1);
    assert_eq!(json["statuses"]["200"], 3);
    assert_eq!(json["statuses"]["404"], 1);
    assert_eq!(json["links_written"], 4);
    assert_eq!(json["hosts"], 1);
    assert_eq!(json["top_hosts_by_pages"][0]["host"], "127.0.0.1");
    assert_eq!(json["top_hosts_by_pages"][0]["pages"], 4);
    assert_eq!(json["top_hosts_by_failures"][0]["failures"], 1);
    assert!(json["elapsed_secs"].as_f64().unwrap() > 0.0);
    assert!(json["pages_per_sec"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_summary_json_path_that_cannot_be_written_fails_before_fetching() {
    let server = numbered_pages();
    let areq = Areq::new();
    areq.input(&[server.url("/p/1")]);
    let run = areq.run(&["urls.txt", "--summary-json", "no/dir/summary.json"]);
    assert_eq!(run.code(), 1);
    assert!(run.stderr.contains("no/dir/summary.json"), "{}", run.stderr);
    assert_eq!(server.total_hits(), 0);
}

/// The README's option list, between its help markers.
fn readme_help() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find("<!-- help:start -->")
        .expect("help start marker");
    let end = readme.find("<!-- help:end -->").expect("help end marker");
    let block = &readme[start..end];
    let body = block
        .split_once("```text\n")
        .and_then(|(_, rest)| rest.rsplit_once("```"))
        .expect("a ```text block between the markers")
        .0;
    body.to_owned()
}

#[test]
fn readme_option_list_equals_help() {
    let run = Areq::new().run(&["--help"]);
    run.assert_success();
    assert_eq!(
        readme_help(),
        run.stdout,
        "README.md's help block is stale: paste `areq --help` between the markers"
    );
}

#[test]
fn completions_man_page_and_version_are_printed() {
    let areq = Areq::new();
    let bash = areq.run(&["completions", "bash"]);
    bash.assert_success();
    assert!(bash.stdout.contains("_areq()"), "{}", bash.stdout);
    assert!(bash.stdout.contains("--per-host"));
    for shell in ["zsh", "fish"] {
        let run = areq.run(&["completions", shell]);
        run.assert_success();
        assert!(run.stdout.contains("per-host"), "{shell}");
    }
    let man = areq.run(&["man"]);
    man.assert_success();
    assert!(
        man.stdout.contains(".TH areq"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    assert!(man.stdout.contains("per\\-host"));
    let version = areq.run(&["--version"]);
    assert_eq!(
        version.stdout,
        format!("areq {}\n", env!("CARGO_PKG_VERSION"))
    );
}
