//! Concurrency limits, measured by the server.

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
