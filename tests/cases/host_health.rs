//! A host that struggles is given room, and a host that does not answer is given up: the
//! request rate a struggling server sees falls and recovers, a dead host costs a few
//! requests instead of a timeout per page, and a host answering errors is not dead.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::cmd::Areq;
use crate::support::server::{Reply, TestServer};

/// A request may look early by the jitter of a new connection's setup, at most this much.
const SETUP_JITTER: Duration = Duration::from_millis(5);

/// Serves `bad(n)` to the `n`th request (from 0) while it gives one, then a plain page.
fn server_failing_first(
    bad: impl Fn(usize) -> Option<Reply> + Send + Sync + 'static,
) -> TestServer {
    let count = Arc::new(AtomicUsize::new(0));
    TestServer::start(move |_| {
        let n = count.fetch_add(1, Ordering::SeqCst);
        bad(n).unwrap_or_else(|| Reply::html("<a href=\"/x\">x</a>"))
    })
}

/// `count` page URLs of `server`.
fn pages(base: impl Fn(&str) -> String, count: usize) -> Vec<String> {
    (0..count).map(|i| base(&format!("/p/{i}"))).collect()
}

/// The gaps between the requests the server saw, in order, timed by when the kernel received
/// each (see `Request::sent`).
fn request_gaps(server: &TestServer) -> Vec<Duration> {
    let times: Vec<Instant> = server.requests().into_iter().map(|r| r.sent).collect();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

fn at_least(gap: Duration, want_ms: u64) -> bool {
    gap + SETUP_JITTER >= Duration::from_millis(want_ms)
}

#[test]
fn a_host_answering_429_is_slowed_down_then_recovers() {
    // Three 429s without Retry-After, then every answer is fine.
    let server = server_failing_first(|n| (n < 3).then(|| Reply::status(429)));
    let areq = Areq::new();
    areq.input(&pages(|path| server.url(path), 10));
    let (run, summary) = areq.run_with_summary(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--per-host",
        "1",
        "--retries",
        "3",
        "--max-retry-wait",
        "2",
    ]);
    run.assert_success();
    assert_eq!(summary["pages"]["ok"], 10, "{}", run.stderr);
    let gaps = request_gaps(&server);
    assert_eq!(gaps.len(), 12, "three 429s and ten pages: {gaps:?}");
    // The rate falls: 1 s after the first 429, doubled after the second, capped at 2 s.
    assert!(at_least(gaps[0], 1000), "{gaps:?}");
    assert!(at_least(gaps[1], 2000), "doubled: {gaps:?}");
    assert!(at_least(gaps[2], 2000), "at the cap: {gaps:?}");
    // ... and recovers gradually: halfway after each good answer, other pages too.
    assert!(at_least(gaps[3], 1000), "{gaps:?}");
    assert!(at_least(gaps[4], 500), "{gaps:?}");
    for gap in &gaps[6..] {
        assert!(*gap < Duration::from_millis(250), "recovered: {gaps:?}");
    }
    assert!(
        run.stderr
            .contains("  slowed: 127.0.0.1 (gap up to 2.0 s)\n"),
        "{}",
        run.stderr
    );
    assert_eq!(summary["slowed_hosts"][0]["host"], "127.0.0.1");
    assert_eq!(summary["slowed_hosts"][0]["times"], 2);
    assert_eq!(summary["slowed_hosts"][0]["longest_gap_secs"], 2.0);
}

#[test]
fn retry_after_from_a_503_spaces_every_request_to_the_host_not_only_the_retry() {
    let server = server_failing_first(|n| {
        (n == 0).then(|| Reply::status(503).with_header("Retry-After", "1"))
    });
    let areq = Areq::new();
    areq.input(&pages(|path| server.url(path), 4));
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--per-host", "1"]);
    run.assert_success();
    assert_eq!(summary["pages"]["ok"], 4, "{}", run.stderr);
    let gaps = request_gaps(&server);
    assert_eq!(gaps.len(), 4, "{gaps:?}");
    assert!(
        at_least(gaps[0], 1000),
        "the retry waits as asked: {gaps:?}"
    );
    // The next page is another request to the same host: it keeps room too, eased.
    assert!(at_least(gaps[1], 500), "{gaps:?}");
    assert_eq!(summary["slowed_hosts"][0]["host"], "127.0.0.1");
}

#[test]
fn a_host_that_never_answers_is_given_up_after_three_silent_requests() {
    // Regression: 64 pages of a host that accepts and never answers took 33 s at
    // --timeout 1, each page timing out and being retried.
    let server = TestServer::start(|_| Reply::Hang(Duration::from_secs(20)));
    let areq = Areq::new();
    areq.input(&pages(|path| server.url(path), 64));
    let started = Instant::now();
    let (run, summary) = areq.run_with_summary(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--timeout",
        "1",
        "--per-host",
        "1",
    ]);
    run.assert_success();
    // One request at a time: the first page's three attempts, then nothing.
    assert_eq!(server.total_hits(), 3, "{}", run.stderr);
    assert_eq!(summary["failures"]["timeout"], 1, "{summary}");
    assert_eq!(summary["failures"]["host unreachable"], 63, "{summary}");
    assert!(
        run.stderr
            .contains("failed: host unreachable: 63, timeout: 1\n"),
        "{}",
        run.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn with_requests_in_flight_a_silent_host_costs_at_most_one_round_of_them() {
    let server = TestServer::start(|_| Reply::Hang(Duration::from_secs(20)));
    let areq = Areq::new();
    areq.input(&pages(|path| server.url(path), 64));
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--timeout", "1"]);
    run.assert_success();
    // The eight sent at once (--per-host 8) time out together; their retries are not sent.
    assert!(server.total_hits() <= 8, "{}", server.total_hits());
    assert_eq!(summary["failures"]["host unreachable"], 64, "{summary}");
}

#[test]
fn a_host_refusing_connections_is_given_up() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let areq = Areq::new();
    areq.input(&pages(|path| format!("http://127.0.0.1:{port}{path}"), 64));
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--per-host", "1"]);
    run.assert_success();
    assert_eq!(summary["failures"]["connect"], 1, "{summary}");
    assert_eq!(summary["failures"]["host unreachable"], 63, "{summary}");
}

#[test]
fn a_host_answering_errors_is_not_given_up_nor_another_port_of_a_dead_one() {
    let errors = TestServer::start(|_| Reply::status(500));
    let dead = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let areq = Areq::new();
    let mut urls = pages(|path| format!("http://127.0.0.1:{dead}{path}"), 8);
    urls.extend(pages(|path| errors.url(path), 16));
    areq.input(&urls);
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv"]);
    run.assert_success();
    assert_eq!(errors.total_hits(), 16, "every page asked: {}", run.stderr);
    assert_eq!(summary["failures"]["http 500"], 16, "{summary}");
    assert_eq!(
        summary["slowed_hosts"],
        serde_json::json!([]),
        "a 500 asks for no room"
    );
}

#[test]
fn unreachable_after_zero_never_gives_a_host_up() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let areq = Areq::new();
    areq.input(&pages(|path| format!("http://127.0.0.1:{port}{path}"), 4));
    let (run, summary) = areq.run_with_summary(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--retries",
        "0",
        "--unreachable-after",
        "0",
    ]);
    run.assert_success();
    assert_eq!(summary["failures"]["connect"], 4, "{summary}");
}
