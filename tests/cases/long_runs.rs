//! Long runs: resume after kill -9 and Ctrl-C, the `.done` companion, the JSON summary, help,
//! completions, man page, version.

use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::cmd::{finish, send_signal, Areq};
use crate::support::server::{Gate, Reply, Request, TestServer};

const PAGES: usize = 60;

/// Pages an interrupted run finishes before the gate holds the rest.
const BEFORE_STOP: usize = 20;

/// A page with two links.
const LINKS_PAGE: &str = "<a href=\"/x\">x</a><a href=\"/y\">y</a>";

/// The TSV header line.
const TSV_HEADER: &str = "source_url\tparsed_url\n";

/// Pages `/p/N`, each with three links of its own, answering after 30 ms.
fn numbered_pages() -> TestServer {
    TestServer::start(numbered_page)
}

/// [`numbered_pages`] that answers the first `pass` requests and holds the later ones behind
/// `gate`.
fn gated_numbered_pages(gate: &Gate, pass: usize) -> TestServer {
    let (gate, answered) = (gate.clone(), AtomicUsize::new(0));
    TestServer::start(move |request| {
        let reply = numbered_page(request);
        if answered.fetch_add(1, Ordering::SeqCst) < pass {
            reply
        } else {
            reply.behind(&gate)
        }
    })
}

fn numbered_page(request: &Request) -> Reply {
    let path = &request.path;
    Reply::html(format!(
        "<a href=\"{path}/a\">a</a><a href=\"{path}/b\">b</a><a href=\"{path}/c\">c</a>"
    ))
    .delayed(Duration::from_millis(30))
}

/// Waits until a run over a [`gated_numbered_pages`] server has written [`BEFORE_STOP`] pages
/// to `out` and holds all it may have in flight (`-c 4`) at the gate.
fn wait_for_the_stop_point(areq: &Areq, gate: &Gate, out: &str) {
    areq.wait_for_lines(&format!("{out}.done"), BEFORE_STOP);
    gate.wait_until_held(4);
}

/// The [`PAGES`] URLs of `server`.
fn page_urls(server: &TestServer) -> Vec<String> {
    (0..PAGES).map(|i| server.url(&format!("/p/{i}"))).collect()
}

/// How many requests the server received that were sent at or after `since`: a request the
/// stopped run sent may reach the server's count only later.
fn requests_since(server: &TestServer, since: Instant) -> usize {
    server.requests().iter().filter(|r| r.sent >= since).count()
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn resume_after_kill_9_equals_an_uninterrupted_run() {
    let gate = Gate::new();
    let server = gated_numbered_pages(&gate, BEFORE_STOP);
    let areq = Areq::new();
    areq.input(&page_urls(&server));

    let child = areq.spawn(&["urls.txt", "-o", "cut.tsv", "-c", "4"]);
    wait_for_the_stop_point(&areq, &gate, "cut.tsv");
    send_signal(&child, libc::SIGKILL);
    let killed = finish(child);
    gate.open();
    assert_eq!(killed.shell_code(), 128 + 9);
    let done_before = areq.read("cut.tsv.done").lines().count();
    assert_eq!(done_before, BEFORE_STOP, "the pages in flight are not done");

    areq.run(&["urls.txt", "-o", "whole.tsv", "-c", "4"])
        .assert_success();
    assert!(
        !areq.path("whole.tsv.done").exists(),
        "a finished run leaves no companion"
    );
    let whole = areq.read("whole.tsv");
    assert_eq!(whole.lines().count(), 1 + 3 * PAGES);

    let resumed_at = Instant::now();
    let (run, summary) =
        areq.run_with_summary(&["urls.txt", "-o", "cut.tsv", "-c", "4", "--resume"]);
    run.assert_success();
    assert_eq!(
        requests_since(&server, resumed_at),
        PAGES - done_before,
        "exactly the pages not recorded as complete are fetched again"
    );
    assert_eq!(summary["urls"]["resumed"], done_before);
    assert!(
        run.stderr
            .contains(&format!(", {done_before} done before (resumed)\n")),
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
fn resume_needs_an_output_file_and_a_recursive_one_its_seeds_in_a_file() {
    let areq = Areq::new();
    let run = areq.run(&["--resume", "-o", "-"]);
    assert_eq!(run.code(), 2, "{}", run.stderr);
    assert!(run.stderr.contains("'--resume'"), "{}", run.stderr);
    let run = areq.run(&["-", "--resume", "-d", "1", "-o", "out.tsv"]);
    assert_eq!(run.code(), 2, "{}", run.stderr);
    assert!(run.stderr.contains("not stdin"), "{}", run.stderr);
}

#[test]
fn summary_json_counts_outcomes_statuses_and_top_hosts() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/missing" => Reply::status(404),
        "/data" => Reply::with_type(200, "application/json", "{}"),
        _ => Reply::html(LINKS_PAGE),
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
    assert_eq!(
        json["bytes_read"],
        2 * LINKS_PAGE.len(),
        "the two HTML pages"
    );
    assert_eq!(json["pages"]["truncated"], 0);
    assert_eq!(json["pages"]["skipped_robots"], 0);
    assert_eq!(json["pages"]["skipped_scope"], 0);
    assert_eq!(json["pages"]["skipped_budget"], 0);
    assert_eq!(json["urls"]["resumed"], 0);
}

#[test]
fn summary_json_elapsed_and_rate_agree_with_what_the_server_saw() {
    const SLOW_PAGES: usize = 6;
    let server = TestServer::start(|request| match request.path.as_str() {
        "/missing" => Reply::status(404).delayed(Duration::from_millis(100)),
        _ => Reply::html(LINKS_PAGE).delayed(Duration::from_millis(100)),
    });
    let areq = Areq::new();
    let mut urls: Vec<String> = (1..SLOW_PAGES)
        .map(|i| server.url(&format!("/p/{i}")))
        .collect();
    urls.push(server.url("/missing"));
    areq.input(&urls);
    let started = Instant::now();
    let (run, json) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "-c", "1"]);
    let wall = started.elapsed().as_secs_f64();
    run.assert_success();
    assert_eq!(server.total_hits(), SLOW_PAGES);
    let fetched = json["pages"]["ok"].as_u64().unwrap()
        + json["pages"]["failed"].as_u64().unwrap()
        + json["pages"]["skipped_not_html"].as_u64().unwrap();
    assert_eq!(
        fetched, SLOW_PAGES as u64,
        "every request the server answered"
    );
    let elapsed = json["elapsed_secs"].as_f64().unwrap();
    // One at a time, each answered after 100 ms.
    assert!(elapsed >= 0.1 * SLOW_PAGES as f64, "{elapsed} s");
    assert!(
        elapsed <= wall,
        "{elapsed} s within the {wall} s the process ran"
    );
    let rate = json["pages_per_sec"].as_f64().unwrap();
    let expected = SLOW_PAGES as f64 / elapsed;
    assert!(
        (rate - expected).abs() < 1e-6 * expected,
        "{rate} pages/s, not {SLOW_PAGES} pages in {elapsed} s"
    );
}

/// Checks `FILE.done` against FILE: each line is `END_OFFSET<TAB>SOURCE`, the offsets rise
/// from the end of the header, the bytes between two offsets are exactly the records of that
/// SOURCE (`links` of them), and the last offset is FILE's length. Returns how many pages it
/// lists.
fn assert_done_matches_output(out: &[u8], done: &str, links: usize) -> usize {
    assert!(done.ends_with('\n'), "{done:?}");
    let mut start = TSV_HEADER.len();
    assert_eq!(&out[..start], TSV_HEADER.as_bytes());
    let mut sources = std::collections::HashSet::new();
    for line in done.lines() {
        let (offset, source) = line.split_once('\t').unwrap_or_else(|| panic!("{line:?}"));
        assert!(offset.bytes().all(|b| b.is_ascii_digit()), "{line:?}");
        let end: usize = offset.parse().unwrap();
        assert!(end > start && end <= out.len(), "{line:?} after {start}");
        let block = std::str::from_utf8(&out[start..end]).expect("UTF-8 block");
        assert!(block.ends_with('\n'), "{line:?}: {block:?}");
        assert_eq!(block.lines().count(), links, "{line:?}: {block:?}");
        for record in block.lines() {
            assert!(
                record.starts_with(&format!("{source}\t")),
                "{line:?}: {record:?}"
            );
        }
        assert!(sources.insert(source.to_owned()), "{source} listed twice");
        start = end;
    }
    assert_eq!(start, out.len(), "every page written is listed");
    sources.len()
}

#[test]
fn after_ctrl_c_the_done_file_matches_the_output_and_resume_completes_the_run() {
    let gate = Gate::new();
    let server = gated_numbered_pages(&gate, BEFORE_STOP);
    let areq = Areq::new();
    areq.input(&page_urls(&server));

    let child = areq.spawn(&[
        "urls.txt",
        "-o",
        "cut.tsv",
        "-c",
        "4",
        "--summary-json",
        "cut.json",
    ]);
    wait_for_the_stop_point(&areq, &gate, "cut.tsv");
    send_signal(&child, libc::SIGINT);
    let interrupted = finish(child);
    gate.open();
    assert_eq!(interrupted.code(), 130, "{}", interrupted.stderr);
    areq.run(&["urls.txt", "-o", "whole.tsv", "-c", "4"])
        .assert_success();
    let whole = areq.read("whole.tsv");
    let out = std::fs::read(areq.path("cut.tsv")).unwrap();
    let done = areq.read("cut.tsv.done");
    let done_pages = assert_done_matches_output(&out, &done, 3);
    assert_eq!(
        done_pages, BEFORE_STOP,
        "the pages held at the gate are not done"
    );
    let cut: serde_json::Value = serde_json::from_str(&areq.read("cut.json")).unwrap();
    assert_eq!(cut["interrupted"], true);
    assert_eq!(cut["pages"]["ok"], done_pages);

    let resumed_at = Instant::now();
    let (run, resumed) =
        areq.run_with_summary(&["urls.txt", "-o", "cut.tsv", "-c", "4", "--resume"]);
    run.assert_success();
    assert_eq!(resumed["interrupted"], false);
    assert_eq!(resumed["urls"]["resumed"], done_pages);
    assert_eq!(resumed["pages"]["ok"], PAGES - done_pages);
    assert_eq!(requests_since(&server, resumed_at), PAGES - done_pages);
    assert_eq!(sorted_lines(&areq.read("cut.tsv")), sorted_lines(&whole));
    assert!(!areq.path("cut.tsv.done").exists());
}

#[test]
fn resume_cuts_an_unrecorded_block_and_a_partial_line_then_appends_the_rest() {
    let server = numbered_pages();
    let areq = Areq::new();
    let urls: Vec<String> = (0..4).map(|i| server.url(&format!("/p/{i}"))).collect();
    areq.input(&urls);
    // What a killed run could leave: two recorded pages (whose records resume must keep as
    // they are), a block written but not recorded, and half a line; the companion's last
    // line is cut too.
    let kept = format!(
        "{TSV_HEADER}{0}\tfrom-the-first-run\n{1}\tfrom-the-first-run\n{1}\tsecond\n",
        urls[0], urls[1]
    );
    let first_end = TSV_HEADER.len() + urls[0].len() + "\tfrom-the-first-run\n".len();
    let unrecorded = format!("{0}\t{0}/a\n", urls[2]);
    let partial = format!("{0}\t{0}/a", urls[3]);
    areq.write("out.tsv", format!("{kept}{unrecorded}{partial}"));
    areq.write(
        "out.tsv.done",
        format!(
            "{first_end}\t{}\n{}\t{}\n{}\t{}",
            urls[0],
            kept.len(),
            urls[1],
            kept.len() + unrecorded.len(),
            urls[2]
        ),
    );
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--resume"]);
    run.assert_success();
    assert_eq!(summary["urls"]["resumed"], 2);
    for (path, hits) in [("/p/0", 0), ("/p/1", 0), ("/p/2", 1), ("/p/3", 1)] {
        assert_eq!(server.hits(path), hits, "{path}");
    }
    let out = areq.read("out.tsv");
    assert!(
        out.starts_with(&kept),
        "the recorded pages are kept:\n{out}"
    );
    let rest = sorted_lines(&out[kept.len()..]);
    let mut want: Vec<String> = urls[2..]
        .iter()
        .flat_map(|u| ["a", "b", "c"].map(|l| format!("{u}\t{u}/{l}")))
        .collect();
    want.sort();
    assert_eq!(rest, want, "the cut page is written again, once:\n{out}");
    assert!(!areq.path("out.tsv.done").exists());
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
