//! Concurrency limits, measured by the server, and how far ahead of the fetching the input is read.

use std::time::Duration;

use crate::support::cmd::Areq;
use crate::support::server::{Reply, TestServer};

/// A server whose every page answers after 150 ms, so requests overlap.
fn slow_server() -> TestServer {
    TestServer::start(|_| {
        Reply::html("<a href=\"/next\">next</a>").delayed(Duration::from_millis(150))
    })
}

fn urls(server: &TestServer, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| server.url(&format!("/page/{i}")))
        .collect()
}

#[test]
fn concurrency_caps_requests_in_flight_overall() {
    let server = slow_server();
    let areq = Areq::new();
    areq.input(&urls(&server, 24));
    areq.run(&["urls.txt", "-o", "out.tsv", "-c", "4", "--per-host", "100"])
        .assert_success();
    assert_eq!(server.total_hits(), 24);
    assert_eq!(
        server.max_in_flight(),
        4,
        "the limit is reached and never passed"
    );
}

#[test]
fn per_host_caps_requests_in_flight_to_one_host() {
    let server = slow_server();
    let areq = Areq::new();
    areq.input(&urls(&server, 18));
    areq.run(&["urls.txt", "-o", "out.tsv", "-c", "64", "--per-host", "3"])
        .assert_success();
    assert_eq!(server.total_hits(), 18);
    assert_eq!(
        server.max_in_flight(),
        3,
        "the limit is reached and never passed"
    );
}

#[test]
fn a_long_input_is_read_only_as_fast_as_pages_are_started() {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use crate::support::cmd::{finish, send_signal};

    let server = slow_server();
    let areq = Areq::new();
    let mut child = areq.spawn(&["-", "-o", "out.tsv", "-c", "2"]);
    let mut stdin = child.stdin.take().expect("stdin");
    let lines: Vec<String> = urls(&server, 50_000);
    let total: usize = lines.iter().map(|l| l.len() + 1).sum();
    let written = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&written);
    let feeder = std::thread::spawn(move || {
        for line in lines {
            if stdin.write_all(format!("{line}\n").as_bytes()).is_err() {
                return;
            }
            counter.fetch_add(line.len() + 1, Ordering::SeqCst);
        }
    });
    std::thread::sleep(Duration::from_millis(1500));
    let taken = written.load(Ordering::SeqCst);
    send_signal(&child, libc::SIGINT);
    let run = finish(child);
    let _ = feeder.join();
    assert_eq!(run.code(), 130, "{}", run.stderr);
    // What a pipe and a few buffers hold, about 200 KB, not the 2 MB offered.
    assert!(
        taken < total / 4,
        "{taken} of {total} input bytes read ahead while {} pages were fetched",
        server.total_hits()
    );
}
