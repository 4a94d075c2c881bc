//! Fetching: failed pages, which responses are parsed and which are left unread, headers sent,
//! timeouts, redirects, the summary, exit codes, log levels.

use std::time::{Duration, Instant};

use crate::support::cmd::Areq;
use crate::support::server::{Reply, StalledListener, TestServer};
use crate::support::site;

#[test]
fn not_found_and_server_errors_give_no_lines_and_the_run_goes_on() {
    let server = site::start();
    let areq = Areq::new();
    areq.input(&[
        server.url("/missing.html"),
        server.url("/boom"),
        server.url("/site/dir/base.html"),
    ]);
    let run = areq.run(&["urls.txt", "-o", "out.tsv", "--no-header"]);
    run.assert_success();
    let out = areq.read("out.tsv");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out
        .lines()
        .all(|l| l.starts_with(&server.url("/site/dir/base.html"))));
    assert!(run.stderr.contains("HTTP 404 Not Found"), "{}", run.stderr);
    assert!(
        run.stderr.contains("HTTP 500 Internal Server Error"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("failed: http 404: 1, http 500: 1"),
        "{}",
        run.stderr
    );
}

#[test]
fn non_html_responses_are_skipped_unread() {
    let server = site::start();
    let areq = Areq::new();
    areq.input(&[server.url("/site/notes.txt")]);
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--no-header"]);
    run.assert_success();
    assert_eq!(areq.read("out.tsv"), "");
    assert!(
        run.stderr
            .contains("pages: 0 ok, 0 failed, 1 skipped (not HTML)"),
        "{}",
        run.stderr
    );
    assert_eq!(summary["pages"]["skipped_not_html"], 1);
    assert_eq!(summary["bytes_read"], 0, "nothing of it was read");
}

#[test]
fn a_large_non_html_body_is_not_read_the_connection_is_closed_early() {
    let server = TestServer::start(|_| Reply::Repeat {
        head: b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                Content-Length: 67108864\r\n\r\n"
            .to_vec(),
        chunk: vec![0; 1024 * 1024],
        times: 64,
    });
    let areq = Areq::new();
    areq.input(&[server.url("/video.bin")]);
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv"]);
    run.assert_success();
    assert_eq!(summary["pages"]["skipped_not_html"], 1);
    assert_eq!(
        server.replies_to("/video.bin", 1),
        [false],
        "areq hung up before the 64 MiB body was all sent"
    );
}

#[test]
fn a_response_without_content_type_is_parsed_as_html() {
    let server = TestServer::start(|_| Reply::Full {
        status: 200,
        headers: Vec::new(),
        body: b"<a href=\"/sniffed\">x</a>".to_vec(),
    });
    let areq = Areq::new();
    areq.assert_one_record(&server.url("/untyped"), &server.url("/sniffed"));
}

#[test]
fn xhtml_is_parsed() {
    let server = TestServer::start(|_| {
        Reply::with_type(
            200,
            "application/xhtml+xml; charset=utf-8",
            "<?xml version=\"1.0\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\
             <body><a href=\"/next.xhtml\">next</a></body></html>",
        )
    });
    let areq = Areq::new();
    areq.assert_one_record(&server.url("/page.xhtml"), &server.url("/next.xhtml"));
}

#[test]
fn the_summary_counts_every_kind_of_outcome() {
    let server = site::start();
    let areq = Areq::new();
    areq.write(
        "urls.txt",
        format!(
            "{}\n{}\n{}\n{}\nnot a url\n{}\n",
            server.url("/site/dir/links.html"),
            server.url("/site/dir/base.html"),
            server.url("/site/notes.txt"),
            server.url("/missing"),
            server.url("/site/dir/base.html"),
        ),
    );
    let run = areq.run(&["urls.txt", "-o", "out.tsv"]);
    run.assert_success();
    let links = 11 + 2;
    for want in [
        "summary: 6 URLs read, 1 invalid, 1 duplicate".to_string(),
        "pages: 2 ok, 1 failed, 1 skipped (not HTML), 0 truncated".to_string(),
        "failed: http 404: 1".to_string(),
        format!("output: {links} links written"),
    ] {
        // The whole line, or its start up to a comma: "1 ok" must not pass for "11 ok".
        let found = run
            .stderr
            .lines()
            .map(str::trim_start)
            .any(|line| line == want || line.starts_with(&format!("{want},")));
        assert!(found, "no line {want:?} in:\n{}", run.stderr);
    }
    assert_eq!(areq.read("out.tsv").lines().count(), 1 + links);
}

#[test]
fn fail_on_error_exits_3_when_a_page_failed() {
    let server = site::start();
    let areq = Areq::new();
    areq.input(&[server.url("/missing"), server.url("/site/dir/base.html")]);
    assert_eq!(areq.run(&["urls.txt", "-o", "out.tsv"]).code(), 0);
    assert_eq!(
        areq.run(&["urls.txt", "-o", "out.tsv", "--fail-on-error"])
            .code(),
        3
    );
    areq.input(&[server.url("/site/dir/base.html")]);
    assert_eq!(
        areq.run(&["urls.txt", "-o", "out.tsv", "--fail-on-error"])
            .code(),
        0
    );
}

#[test]
fn user_agent_and_extra_headers_are_sent() {
    let server = site::start();
    let areq = Areq::new();
    areq.input(&[server.url("/site/dir/base.html")]);
    areq.run(&["urls.txt", "-o", "out.tsv"]).assert_success();
    areq.run(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "-A",
        "probe/1.0",
        "-H",
        "X-Token: secret",
        "-H",
        "X-Second: also sent",
    ])
    .assert_success();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let default_agent = format!("areq/{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        requests[0].header("user-agent"),
        Some(default_agent.as_str())
    );
    assert_eq!(requests[1].header("user-agent"), Some("probe/1.0"));
    assert_eq!(requests[1].header("x-token"), Some("secret"));
    assert_eq!(
        requests[1].header("x-second"),
        Some("also sent"),
        "-H repeats"
    );
    assert!(requests[0]
        .header("accept")
        .unwrap()
        .starts_with("text/html"));
}

#[test]
fn a_server_that_never_answers_fails_at_the_timeout_while_the_rest_goes_on() {
    let server = TestServer::fixtures_with(|request| {
        (request.path == "/hang").then(|| Reply::Hang(Duration::from_secs(20)))
    });
    let areq = Areq::new();
    areq.input(&[server.url("/hang"), server.url("/site/dir/base.html")]);
    let started = std::time::Instant::now();
    let (run, summary) = areq.run_with_summary(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--timeout",
        "1",
        "--retries",
        "1",
    ]);
    run.assert_success();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded by --timeout"
    );
    assert_eq!(server.hits("/hang"), 2, "a timeout is retried");
    assert_eq!(summary["failures"], serde_json::json!({ "timeout": 1 }));
    assert_eq!(summary["pages"]["ok"], 1);
    assert_eq!(areq.read("out.tsv").lines().count(), 3);
}

#[test]
fn connect_timeout_ends_a_connection_that_is_never_established() {
    let stalled = StalledListener::start();
    assert!(
        !stalled.accepts_within(Duration::from_millis(200)),
        "the listener's queue is full, so connecting hangs"
    );
    let areq = Areq::new();
    areq.input(&[stalled.url("/")]);
    let started = Instant::now();
    let (run, summary) = areq.run_with_summary(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--connect-timeout",
        "1",
        "--timeout",
        "30",
        "--retries",
        "0",
    ]);
    run.assert_success();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1),
        "waited for the connect timeout: {took:?}"
    );
    assert!(
        took < Duration::from_secs(10),
        "ended by --connect-timeout 1, not --timeout 30: {took:?}"
    );
    assert_eq!(summary["failures"], serde_json::json!({ "timeout": 1 }));
}

#[test]
fn redirect_loops_and_long_chains_fail_as_redirects() {
    let server = site::start();
    let areq = Areq::new();
    areq.input(&[server.url("/loop"), server.url("/chain/3")]);
    let (run, summary) =
        areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--max-redirects", "2"]);
    run.assert_success();
    assert_eq!(summary["failures"], serde_json::json!({ "redirects": 2 }));
    assert_eq!(
        server.hits("/loop"),
        1,
        "a loop is caught at once, and not retried"
    );
    assert_eq!(server.hits("/chain/3"), 1);
    assert_eq!(server.hits("/chain/1"), 1, "two redirects followed");
    assert_eq!(server.hits("/chain/0"), 0, "the third is not");

    let (run, summary) =
        areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--max-redirects", "4"]);
    run.assert_success();
    assert_eq!(summary["pages"]["ok"], 1);
    assert_eq!(summary["pages"]["failed"], 1);
}

#[test]
fn a_refused_connection_is_retried_then_fails_as_connect() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let areq = Areq::new();
    areq.input(&[format!("http://127.0.0.1:{port}/")]);
    let started = Instant::now();
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--retries", "2"]);
    run.assert_success();
    assert_eq!(summary["failures"], serde_json::json!({ "connect": 1 }));
    // Retried twice: backoffs of at least 0.25 s and 0.5 s. Not retried, it takes a few ms.
    assert!(
        started.elapsed() >= Duration::from_millis(750),
        "a connect error is retried: {:?}",
        started.elapsed()
    );
}

#[test]
fn verbose_logs_a_line_per_page_and_quiet_logs_nothing_but_errors() {
    let server = site::start();
    let areq = Areq::new();
    areq.input(&[server.url("/site/dir/base.html"), server.url("/missing")]);
    let run = areq.run(&["urls.txt", "-o", "out.tsv", "-v"]);
    run.assert_success();
    let page_line = run
        .stderr
        .lines()
        .find(|l| l.contains("page done"))
        .unwrap_or_else(|| panic!("no page line in:\n{}", run.stderr));
    for field in ["status=200", "links=2", "bytes=", "ms="] {
        assert!(
            page_line.contains(field),
            "{field} missing from {page_line:?}"
        );
    }
    assert!(
        page_line.contains(&server.url("/site/dir/base.html")),
        "{page_line}"
    );

    let quiet = areq.run(&["urls.txt", "-o", "out.tsv", "-q"]);
    quiet.assert_success();
    assert_eq!(quiet.stderr, "", "no warnings and no summary with -q");
}

#[test]
fn rust_log_overrides_verbose_and_quiet() {
    let server = site::start();
    let areq = Areq::new();
    areq.input(&[server.url("/site/dir/base.html")]);
    let env = |spec: &str| vec![("RUST_LOG".to_owned(), spec.to_owned())];
    let page_lines = |run: &crate::support::cmd::Run| {
        run.stderr
            .lines()
            .filter(|l| l.contains("page done"))
            .count()
    };

    let quiet = areq.run_with_env(&["urls.txt", "-o", "out.tsv", "-q"], &env("areq=info"));
    quiet.assert_success();
    assert_eq!(
        page_lines(&quiet),
        1,
        "RUST_LOG wins over -q:\n{}",
        quiet.stderr
    );

    let verbose = areq.run_with_env(&["urls.txt", "-o", "out.tsv", "-vv"], &env("error"));
    verbose.assert_success();
    assert_eq!(
        page_lines(&verbose),
        0,
        "RUST_LOG wins over -vv:\n{}",
        verbose.stderr
    );
    assert!(
        verbose.stderr.starts_with("summary:"),
        "only the summary, no log lines:\n{}",
        verbose.stderr
    );
}

#[test]
fn very_verbose_shows_the_hrefs_dropped_as_invalid() {
    let server = TestServer::start(|_| {
        Reply::html("<a href=\"http://bad host/\">1</a><a href=\"http://[oops/\">2</a><a href=\"/ok\">3</a>")
    });
    let areq = Areq::new();
    areq.input(&[server.url("/page")]);
    let run = areq.run(&["urls.txt", "-o", "out.tsv", "--no-header", "-vv"]);
    run.assert_success();
    assert_eq!(
        areq.read("out.tsv"),
        format!("{}\t{}\n", server.url("/page"), server.url("/ok"))
    );
    for href in ["http://bad host/", "http://[oops/"] {
        assert!(
            run.stderr
                .lines()
                .any(|l| l.contains("href dropped") && l.contains(href)),
            "{href} not shown:\n{}",
            run.stderr
        );
    }
    let run = areq.run(&["urls.txt", "-o", "out.tsv", "--no-header", "-v"]);
    run.assert_success();
    assert!(!run.stderr.contains("href dropped"), "{}", run.stderr);
}
