//! Runs cut short: a reader that goes away, Ctrl-C, and a second Ctrl-C.

use std::time::{Duration, Instant};

use crate::support::cmd::{finish, send_signal, Areq};
use crate::support::server::{Reply, TestServer};

/// A server whose pages each hold three links and answer after `delay`.
fn slow_pages(delay: Duration) -> TestServer {
    TestServer::start(move |_| {
        Reply::html("<a href=\"/a\">a</a><a href=\"/b\">b</a><a href=\"/c\">c</a>").delayed(delay)
    })
}

fn page_urls(server: &TestServer, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| server.url(&format!("/page/{i}")))
        .collect()
}

/// Every line of a TSV output is whole: two fields, and the file ends with a newline.
fn assert_well_formed(out: &str) {
    assert!(
        out.is_empty() || out.ends_with('\n'),
        "ends mid-line: {out:?}"
    );
    for line in out.lines() {
        assert_eq!(line.split('\t').count(), 2, "bad record {line:?}");
    }
}

/// Waits (bounded) until `path` holds at least `lines` lines.
fn wait_for_lines(path: &std::path::Path, lines: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= lines {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{} never reached {lines} lines", path.display());
}

#[test]
fn a_reader_that_goes_away_ends_the_run_quietly_and_stops_requests() {
    let server = slow_pages(Duration::from_millis(50));
    let areq = Areq::new();
    areq.input(&page_urls(&server, 200));
    let (lines, run) = areq.run_reading_lines(&["urls.txt", "-o", "-", "-c", "4"], 5);
    assert_eq!(lines.len(), 5);
    assert!(
        run.shell_code() == 0 || run.shell_code() == 128 + 13,
        "exit 0 or SIGPIPE, got {}: {}",
        run.shell_code(),
        run.stderr
    );
    assert!(
        !run.stderr.to_lowercase().contains("broken pipe"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let hits = server.total_hits();
    assert!(hits < 40, "requests went on after the reader left: {hits}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.total_hits(), hits, "no request after the run ended");
}

#[test]
fn ctrl_c_writes_complete_pages_prints_an_interrupted_summary_and_exits_130() {
    let server = slow_pages(Duration::from_millis(100));
    let areq = Areq::new();
    areq.input(&page_urls(&server, 400));
    let child = areq.spawn(&["urls.txt", "-o", "out.tsv", "-c", "4"]);
    wait_for_lines(&areq.path("out.tsv"), 7);
    send_signal(&child, "INT");
    let run = finish(child);
    assert_eq!(run.code(), 130, "{}", run.stderr);
    assert!(
        run.stderr.contains("summary (interrupted)"),
        "{}",
        run.stderr
    );
    let out = areq.read("out.tsv");
    assert_well_formed(&out);
    assert_eq!((out.lines().count() - 1) % 3, 0, "whole pages only: {out}");
    let written: u64 = ((out.lines().count() - 1) / 3) as u64;
    assert!(
        run.stderr.contains(&format!("pages: {written} ok")),
        "the summary counts exactly the pages written ({written}):\n{}",
        run.stderr
    );
    assert!(
        server.total_hits() < 100,
        "stopped early: {}",
        server.total_hits()
    );
}

#[test]
fn a_second_ctrl_c_exits_at_once_and_the_file_ends_on_a_complete_line() {
    // Pages that take 20 s: after the first Ctrl-C the run waits for nothing, after the second
    // it is gone at once.
    let server = TestServer::start(|request| {
        if request.path == "/page/0" {
            Reply::html("<a href=\"/a\">a</a>")
        } else {
            Reply::Hang(Duration::from_secs(20))
        }
    });
    let areq = Areq::new();
    areq.input(&page_urls(&server, 50));
    let child = areq.spawn(&["urls.txt", "-o", "out.tsv", "-c", "8", "--per-host", "8"]);
    wait_for_lines(&areq.path("out.tsv"), 2);
    let started = Instant::now();
    send_signal(&child, "INT");
    std::thread::sleep(Duration::from_millis(20));
    send_signal(&child, "INT");
    let run = finish(child);
    assert_eq!(run.code(), 130, "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(5), "quit at once");
    let out = areq.read("out.tsv");
    assert_well_formed(&out);
    assert_eq!(out.lines().count(), 2, "{out}");
}
