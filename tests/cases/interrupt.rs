//! Runs cut short: a reader that goes away, Ctrl-C, and a second Ctrl-C.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::support::cmd::{finish, finish_within, is_running, send_signal, Areq};
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
fn wait_for_lines(path: &Path, lines: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= lines {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("{} never reached {lines} lines", path.display());
}

#[test]
fn a_reader_that_goes_away_ends_the_run_with_0_and_no_request_follows() {
    let server = slow_pages(Duration::from_millis(50));
    let areq = Areq::new();
    areq.input(&page_urls(&server, 200));
    let (lines, closed, run) = areq.run_reading_lines(&["urls.txt", "-o", "-", "-c", "4"], 5);
    assert_eq!(lines.len(), 5);
    assert_eq!(
        run.shell_code(),
        0,
        "exactly 0, as the README says: {}",
        run.stderr
    );
    assert!(
        !run.stderr.to_lowercase().contains("broken pipe"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    // areq learns that the reader left at its next write, when a page in flight ends; until
    // then each page that ends may start one more. Without the stop it would go on to 200.
    let later = server
        .requests()
        .iter()
        .filter(|r| r.received > closed)
        .count();
    assert!(
        later <= 2 * 4,
        "{later} requests arrived after the reader left"
    );
}

#[test]
fn ctrl_c_writes_complete_pages_prints_an_interrupted_summary_and_exits_130() {
    let server = slow_pages(Duration::from_millis(100));
    let areq = Areq::new();
    areq.input(&page_urls(&server, 400));
    let child = areq.spawn(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "-c",
        "4",
        "--summary-json",
        "summary.json",
    ]);
    wait_for_lines(&areq.path("out.tsv"), 7);
    send_signal(&child, libc::SIGINT);
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
    let written = ((out.lines().count() - 1) / 3) as u64;
    let summary = areq.summary();
    assert_eq!(summary["interrupted"], true);
    assert_eq!(
        summary["pages"]["ok"], written,
        "the summary counts exactly the pages written"
    );
    assert_eq!(summary["links_written"], written * 3);
    assert!(
        server.total_hits() < 100,
        "stopped early: {}",
        server.total_hits()
    );
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Opens the FIFO at `path` for reading (which waits for its writer), then reads nothing
/// until `reading` is set, then everything to the end.
fn held_back_reader(path: PathBuf, reading: Arc<AtomicBool>) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut fifo = std::fs::File::open(&path).expect("open the FIFO");
        while !reading.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(10));
        }
        let mut bytes = Vec::new();
        fifo.read_to_end(&mut bytes).expect("read the FIFO");
        bytes
    })
}

/// Waits (bounded) until the server has seen some requests and then no new one for 300 ms.
fn wait_until_requests_stop(server: &TestServer) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = 0;
    loop {
        thread::sleep(Duration::from_millis(300));
        let now = server.total_hits();
        if now >= 20 && now == seen {
            return;
        }
        assert!(Instant::now() < deadline, "requests never stopped: {now}");
        seen = now;
    }
}

#[test]
fn a_second_ctrl_c_quits_while_the_output_is_stuck_and_still_ends_on_a_page_boundary() {
    const LINKS: usize = 200;
    // About 10 KB of records a page: a few pages fill the pipe.
    let server = TestServer::start(|request| {
        let anchors: String = (0..LINKS)
            .map(|i| format!("<a href=\"{}/{i}\">{i}</a>", request.path))
            .collect();
        Reply::html(anchors)
    });
    let areq = Areq::new();
    areq.input(&page_urls(&server, 300));
    let fifo = areq.path("out.tsv");
    mkfifo(&fifo);
    let reading = Arc::new(AtomicBool::new(false));
    let reader = held_back_reader(fifo, Arc::clone(&reading));
    let mut child = areq.spawn(&["urls.txt", "-o", "out.tsv", "-c", "8"]);

    // Nobody reads: the writer blocks, the pages queued for it wait, and fetching stops.
    wait_until_requests_stop(&server);
    send_signal(&child, libc::SIGINT);
    thread::sleep(Duration::from_millis(500));
    assert!(
        is_running(&mut child),
        "the first Ctrl-C waits for the stuck output to take the pages already done"
    );
    send_signal(&child, libc::SIGINT);
    // Let the write in progress finish, so the forced exit can take its page boundary.
    thread::sleep(Duration::from_millis(300));
    reading.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let run = finish_within(child, Duration::from_secs(10));
    assert_eq!(run.code(), 130, "{}", run.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "quit at once: {:?}",
        started.elapsed()
    );
    assert!(
        run.stderr.contains("summary (interrupted):"),
        "the second Ctrl-C quits without waiting for the queued pages, and says so:\n{}",
        run.stderr
    );

    let out = String::from_utf8(reader.join().expect("the FIFO reader")).expect("UTF-8 output");
    assert_well_formed(&out);
    let records: Vec<&str> = out.lines().skip(1).collect();
    assert!(
        !records.is_empty(),
        "some pages were written before the stop"
    );
    assert_eq!(
        records.len() % LINKS,
        0,
        "whole pages only: {} records",
        records.len()
    );
    for page in records.chunks(LINKS) {
        let source = page[0].split('\t').next().unwrap();
        assert!(
            page.iter()
                .all(|line| line.split('\t').next() == Some(source)),
            "a page block mixes sources: {:?}",
            &page[..3]
        );
    }
}
