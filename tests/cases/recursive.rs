//! Recursive crawling on a generated local site: depth, each page once, scope, robots.txt (its
//! product token, a new host's first request), politeness gaps measured at the server, the page
//! budget, a link trap, the graph, and Ctrl-C mid-crawl.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::cmd::{finish, send_signal, Areq, Run};
use crate::support::server::{Reply, TestServer};

/// The site. `/cal/N` is an endless calendar: each month links to the next.
/// `off` is the base URL of the same server under another host name (`localhost`).
fn page(path: &str, off: &str) -> Option<String> {
    let links: Vec<String> = match path {
        "/" => vec![
            "/a".into(),
            "/b".into(),
            "/a#section".into(),
            "/".into(),
            format!("{off}/off"),
            "/cal/1".into(),
            "/private/secret".into(),
            "/report.pdf".into(),
        ],
        "/a" => vec!["/b".into(), "/a".into(), "/".into(), "/a/deeper".into()],
        "/b" => vec!["/a".into(), "/c".into()],
        "/c" => vec!["/".into()],
        "/a/deeper" => vec!["/a/deepest".into()],
        "/a/deepest" | "/private/secret" | "/off" => vec![],
        _ => {
            let month: u32 = path.strip_prefix("/cal/")?.parse().ok()?;
            vec![format!("/cal/{}", month + 1)]
        }
    };
    let anchors: String = links
        .iter()
        .map(|l| format!("<a href=\"{l}\">{l}</a>\n"))
        .collect();
    Some(format!(
        "<!doctype html><title>{path}</title><body>{anchors}</body>"
    ))
}

/// Serves the site with `robots` as /robots.txt, each page after `delay`.
fn site(robots: Reply, delay: Duration) -> TestServer {
    let off = Arc::new(Mutex::new(String::new()));
    let off_in_handler = Arc::clone(&off);
    let server = TestServer::start(move |request| {
        if request.path == "/robots.txt" {
            return robots.clone();
        }
        let off = off_in_handler.lock().unwrap().clone();
        match page(&request.path, &off) {
            Some(html) => Reply::html(html).delayed(delay),
            None => Reply::status(404),
        }
    });
    *off.lock().unwrap() = format!("http://localhost:{}", server.addr().port());
    server
}

fn robots_txt(text: &str) -> Reply {
    Reply::text(text.to_owned())
}

const DISALLOW_PRIVATE: &str = "User-agent: *\nDisallow: /private\n";

fn crawl(server: &TestServer, flags: &[&str]) -> (Areq, Run) {
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    let mut args = vec!["urls.txt", "-o", "out.tsv"];
    args.extend_from_slice(flags);
    let run = areq.run(&args);
    run.assert_success();
    (areq, run)
}

fn assert_fetched_once(server: &TestServer, paths: &[&str]) {
    for path in paths {
        assert_eq!(server.hits(path), 1, "{path} fetched once");
    }
}

fn assert_not_fetched(server: &TestServer, paths: &[&str]) {
    for path in paths {
        assert_eq!(server.hits(path), 0, "{path} not fetched");
    }
}

#[test]
fn depth_limits_the_crawl_and_each_page_is_fetched_once() {
    let server = site(robots_txt(DISALLOW_PRIVATE), Duration::ZERO);
    let (areq, _) = crawl(
        &server,
        &[
            "-d",
            "2",
            "--ignore-robots",
            "--summary-json",
            "summary.json",
        ],
    );
    assert_fetched_once(
        &server,
        &[
            "/",
            "/a",
            "/b",
            "/cal/1",
            "/private/secret",
            "/c",
            "/a/deeper",
            "/cal/2",
        ],
    );
    assert_not_fetched(
        &server,
        &["/a/deepest", "/cal/3", "/off", "/report.pdf", "/robots.txt"],
    );
    assert_eq!(
        areq.summary()["pages"]["by_depth"],
        serde_json::json!({ "0": 1, "1": 4, "2": 3 })
    );
    // Discovered pages are SOURCE as discovered (fragment removed); the .pdf is written, not fetched.
    let out = areq.read("out.tsv");
    let source_c = format!("{}\t{}\n", server.url("/b"), server.url("/c"));
    assert!(out.contains(&source_c), "{out}");
    assert!(out.contains(&format!("\t{}\n", server.url("/report.pdf"))));
    assert!(out.contains(&format!(
        "{}\t{}\n",
        server.url("/"),
        server.url("/a#section")
    )));
}

#[test]
fn depth_zero_is_a_single_pass() {
    let server = site(robots_txt(DISALLOW_PRIVATE), Duration::ZERO);
    crawl(&server, &[]);
    assert_eq!(server.total_hits(), 1, "only the seed, and no robots.txt");
}

#[test]
fn host_scope_stays_on_the_seed_host_and_any_scope_leaves_it() {
    let server = site(robots_txt(""), Duration::ZERO);
    let (areq, _) = crawl(&server, &["-d", "1", "--summary-json", "summary.json"]);
    assert_not_fetched(&server, &["/off"]);
    assert_eq!(areq.summary()["pages"]["skipped_scope"], 1);

    let server = site(robots_txt(""), Duration::ZERO);
    crawl(&server, &["-d", "1", "--scope", "any"]);
    assert_fetched_once(&server, &["/off"]);
}

#[test]
fn include_and_exclude_filter_followed_links() {
    let server = site(robots_txt(""), Duration::ZERO);
    crawl(
        &server,
        &["-d", "3", "--include", "/(a|b|c)$", "--exclude", "/b$"],
    );
    assert_fetched_once(&server, &["/", "/a"]);
    assert_not_fetched(&server, &["/b", "/c", "/cal/1", "/a/deeper"]);
}

#[test]
fn robots_txt_is_fetched_once_and_obeyed_unless_ignored() {
    let server = site(robots_txt(DISALLOW_PRIVATE), Duration::ZERO);
    let (areq, _) = crawl(&server, &["-d", "2", "--summary-json", "summary.json"]);
    assert_eq!(server.hits("/robots.txt"), 1);
    assert_not_fetched(&server, &["/private/secret"]);
    assert_fetched_once(&server, &["/", "/a", "/b", "/c"]);
    assert_eq!(areq.summary()["pages"]["skipped_robots"], 1);

    let server = site(robots_txt(DISALLOW_PRIVATE), Duration::ZERO);
    crawl(&server, &["-d", "2", "--ignore-robots"]);
    assert_fetched_once(&server, &["/private/secret"]);
}

#[test]
fn a_missing_robots_txt_allows_and_a_failing_one_disallows_the_host() {
    let server = site(Reply::status(404), Duration::ZERO);
    crawl(&server, &["-d", "1"]);
    assert_fetched_once(&server, &["/", "/private/secret"]);

    let server = site(Reply::status(503), Duration::ZERO);
    let (areq, run) = crawl(&server, &["-d", "1", "--retries", "0"]);
    assert_not_fetched(&server, &["/"]);
    assert!(
        run.stderr.contains("not crawling this host"),
        "{}",
        run.stderr
    );
    assert_eq!(areq.read("out.tsv"), "source_url\tparsed_url\n");
}

#[test]
fn a_robots_txt_that_times_out_disallows_the_host() {
    let server = site(Reply::Hang(Duration::from_secs(10)), Duration::ZERO);
    let (_, run) = crawl(&server, &["-d", "1", "--timeout", "1", "--retries", "0"]);
    assert_eq!(server.hits("/robots.txt"), 1);
    assert_not_fetched(&server, &["/"]);
    assert!(
        run.stderr.contains("robots.txt timed out"),
        "{}",
        run.stderr
    );
}

#[test]
fn max_pages_and_depth_both_stop_the_endless_calendar() {
    let server = site(robots_txt(""), Duration::ZERO);
    let areq = Areq::new();
    areq.input(&[server.url("/cal/1")]);
    let (run, summary) = areq.run_with_summary(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "-d",
        "100000",
        "--max-pages",
        "25",
    ]);
    run.assert_success();
    assert_eq!(server.total_hits() - server.hits("/robots.txt"), 25);
    assert_eq!(summary["pages"]["skipped_budget"], 1, "/cal/26 was queued");

    let server = site(robots_txt(""), Duration::ZERO);
    areq.input(&[server.url("/cal/1")]);
    areq.run(&["urls.txt", "-o", "out.tsv", "-d", "5"])
        .assert_success();
    assert_fetched_once(&server, &["/cal/1", "/cal/6"]);
    assert_not_fetched(&server, &["/cal/7"]);
}

/// The gaps between the requests the server saw, in order; robots.txt too when
/// `with_robots`. Each is timed by when the kernel received it (see `Request::sent`).
fn request_gaps(server: &TestServer, with_robots: bool) -> Vec<Duration> {
    let times: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| with_robots || r.path != "/robots.txt")
        .map(|r| r.sent)
        .collect();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// A request may look early by the jitter of a new connection's setup, at most this much.
const SETUP_JITTER: Duration = Duration::from_millis(5);

#[test]
fn rate_holds_between_every_request_to_a_host_robots_txt_included() {
    let server = site(robots_txt(""), Duration::ZERO);
    let areq = Areq::new();
    areq.input(&[server.url("/cal/1")]);
    areq.run(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "-d",
        "5",
        "--rate",
        "10",
        "--per-host",
        "4",
    ])
    .assert_success();
    assert_eq!(server.hits("/robots.txt"), 1);
    let gaps = request_gaps(&server, true);
    assert_eq!(gaps.len(), 6, "robots.txt and six months: {gaps:?}");
    // 10 a second is 100 ms between two requests to the host, whichever they are.
    for gap in &gaps {
        assert!(
            *gap + SETUP_JITTER >= Duration::from_millis(100),
            "{gaps:?}"
        );
    }
}

#[test]
fn delay_holds_between_every_request_to_a_host() {
    let server = TestServer::start(|_| Reply::html("<a href=\"/x\">x</a>"));
    let areq = Areq::new();
    areq.input(
        &(0..5)
            .map(|i| server.url(&format!("/p/{i}")))
            .collect::<Vec<_>>(),
    );
    areq.run(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--delay",
        "150",
        "--per-host",
        "8",
    ])
    .assert_success();
    assert_eq!(server.total_hits(), 5);
    let gaps = request_gaps(&server, true);
    assert_eq!(gaps.len(), 4);
    for gap in &gaps {
        assert!(
            *gap + SETUP_JITTER >= Duration::from_millis(150),
            "{gaps:?}"
        );
    }
}

#[test]
fn a_delay_counts_from_the_answer_when_the_answer_comes_later() {
    // Every answer takes longer than the delay: by the time it comes, the delay since the
    // request was sent is over, yet the next request must still wait the delay after it.
    let delay = Duration::from_millis(250);
    let server =
        TestServer::start(|_| Reply::html("<p>slow</p>").delayed(Duration::from_millis(400)));
    let areq = Areq::new();
    areq.input(
        &(0..3)
            .map(|i| server.url(&format!("/p/{i}")))
            .collect::<Vec<_>>(),
    );
    areq.run(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--delay",
        "250",
        "--per-host",
        "1",
    ])
    .assert_success();
    let requests = server.requests();
    let answers = server.answers();
    assert_eq!(requests.len(), 3, "three pages, one at a time");
    assert_eq!(answers.len(), 3);
    for (request, (path, answered)) in requests[1..].iter().zip(&answers) {
        let after = request
            .sent
            .checked_duration_since(*answered)
            .unwrap_or_default();
        assert!(
            after + SETUP_JITTER >= delay,
            "{} went {after:?} after the answer to {path}, under --delay 250",
            request.path
        );
    }
}

#[test]
fn delay_holds_for_retries_too() {
    // A retry is a request to the host like any other.
    let server = TestServer::start(|_| Reply::status(503).with_header("Retry-After", "0"));
    let areq = Areq::new();
    areq.input(&[server.url("/flaky")]);
    areq.run(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--delay",
        "300",
        "--retries",
        "2",
    ])
    .assert_success();
    let gaps = request_gaps(&server, true);
    assert_eq!(gaps.len(), 2, "one attempt and two retries");
    for gap in &gaps {
        assert!(
            *gap + SETUP_JITTER >= Duration::from_millis(300),
            "{gaps:?}"
        );
    }
}

#[test]
fn delay_holds_for_redirects_too() {
    // Following a redirect to the same host is another request to it.
    let server = TestServer::start(|request| match request.path.as_str() {
        "/old" => Reply::redirect(301, "/new"),
        _ => Reply::html("<a href=\"/x\">x</a>"),
    });
    let areq = Areq::new();
    areq.input(&[server.url("/old")]);
    areq.run(&["urls.txt", "-o", "out.tsv", "--delay", "300"])
        .assert_success();
    let gaps = request_gaps(&server, true);
    assert_eq!(gaps.len(), 1, "the redirect and its target");
    assert!(
        gaps[0] + SETUP_JITTER >= Duration::from_millis(300),
        "{gaps:?}"
    );
}

#[test]
fn crawl_delay_in_robots_txt_spaces_requests() {
    let server = site(
        robots_txt("User-agent: *\nCrawl-delay: 0.25\n"),
        Duration::ZERO,
    );
    crawl(&server, &["-d", "1", "--per-host", "8"]);
    // The Crawl-delay is known once robots.txt is read, so it holds between pages.
    let gaps = request_gaps(&server, false);
    assert_eq!(gaps.len(), 4, "the seed and its four pages: {gaps:?}");
    for gap in &gaps {
        assert!(
            *gap + SETUP_JITTER >= Duration::from_millis(250),
            "{gaps:?}"
        );
    }
}

#[test]
fn crawl_delay_counts_from_the_robots_txt_request_too() {
    // Regression: with no --delay the robots.txt request went unrecorded, and the first page
    // followed it 252 ms later under a Crawl-delay of 0.3 s.
    let server = site(
        robots_txt("User-agent: *\nCrawl-delay: 0.3\n"),
        Duration::ZERO,
    );
    crawl(&server, &["-d", "1", "--max-pages", "2"]);
    let requests = server.requests();
    assert_eq!(requests[0].path, "/robots.txt");
    let gaps = request_gaps(&server, true);
    assert_eq!(gaps.len(), 2, "robots.txt and two pages: {gaps:?}");
    for gap in &gaps {
        assert!(
            *gap + SETUP_JITTER >= Duration::from_millis(300),
            "{gaps:?}"
        );
    }
}

#[test]
fn graph_writes_host_edges_in_dot() {
    let server = site(robots_txt(""), Duration::ZERO);
    let (areq, _) = crawl(&server, &["-d", "1", "--graph", "hosts.dot"]);
    let dot = areq.read("hosts.dot");
    assert!(dot.starts_with("digraph links {"), "{dot}");
    assert!(
        dot.contains("\"127.0.0.1\" -> \"localhost\" [label=1];"),
        "{dot}"
    );
}

#[test]
fn ctrl_c_mid_crawl_leaves_a_complete_file() {
    let server = site(robots_txt(""), Duration::from_millis(100));
    let areq = Areq::new();
    areq.input(&[server.url("/cal/1")]);
    let child = areq.spawn(&["urls.txt", "-o", "out.tsv", "-d", "1000"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while server.hits("/cal/4") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the crawl never reached /cal/4"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    send_signal(&child, libc::SIGINT);
    let run = finish(child);
    assert_eq!(run.code(), 130, "{}", run.stderr);
    let out = areq.read("out.tsv");
    assert!(out.ends_with('\n'));
    assert!(out.lines().all(|l| l.split('\t').count() == 2), "{out}");
    assert!(
        out.contains(&format!("\t{}\n", server.url("/cal/4"))),
        "{out}"
    );
    assert_eq!(server.hits("/cal/10"), 0, "stopped");
}

#[test]
fn robots_txt_is_matched_on_the_product_token_of_the_user_agent() {
    // The `areq` group and the `*` group disagree: each agent obeys its own.
    let robots = "User-agent: *\nDisallow: /a\n\nUser-agent: areq\nDisallow: /b\n";
    let server = site(robots_txt(robots), Duration::ZERO);
    crawl(&server, &["-d", "1"]);
    assert_fetched_once(&server, &["/", "/a"]);
    assert_not_fetched(&server, &["/b"]);

    let server = site(robots_txt(robots), Duration::ZERO);
    crawl(
        &server,
        &["-d", "1", "-A", "areq/9.9 (+https://areq.test/bot)"],
    );
    assert_fetched_once(&server, &["/", "/a"]);
    assert_not_fetched(&server, &["/b"]);

    let server = site(robots_txt(robots), Duration::ZERO);
    crawl(&server, &["-d", "1", "-A", "otherbot/2.0"]);
    assert_fetched_once(&server, &["/", "/b"]);
    assert_not_fetched(&server, &["/a"]);
}

#[test]
fn a_new_host_gets_one_request_first_then_the_rest_at_once() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/robots.txt" => Reply::status(404),
        _ => Reply::html("<p>no links</p>").delayed(Duration::from_millis(200)),
    });
    let areq = Areq::new();
    areq.input(
        &(0..6)
            .map(|i| server.url(&format!("/p/{i}")))
            .collect::<Vec<_>>(),
    );
    areq.run(&["urls.txt", "-o", "out.tsv", "-d", "1", "--per-host", "8"])
        .assert_success();
    let pages: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path != "/robots.txt")
        .collect();
    assert_eq!(pages.len(), 6);
    assert_eq!(pages[0].path, "/p/0");
    for later in &pages[1..] {
        assert!(
            later.sent - pages[0].sent >= Duration::from_millis(200),
            "{} started before the first request to the host ended",
            later.path
        );
    }
    assert_eq!(server.max_in_flight(), 5, "the other five together");
}

#[test]
fn repeated_include_follows_links_matching_any_of_them() {
    let server = site(robots_txt(""), Duration::ZERO);
    crawl(
        &server,
        &["-d", "1", "--include", "/a$", "--include", "/b$"],
    );
    assert_fetched_once(&server, &["/", "/a", "/b"]);
    assert_not_fetched(&server, &["/cal/1", "/private/secret"]);
}

#[test]
fn repeated_exclude_drops_links_matching_any_of_them() {
    let server = site(robots_txt(""), Duration::ZERO);
    crawl(
        &server,
        &["-d", "1", "--exclude", "/a$", "--exclude", "/cal/"],
    );
    assert_fetched_once(&server, &["/", "/b", "/private/secret"]);
    assert_not_fetched(&server, &["/a", "/cal/1"]);
}
