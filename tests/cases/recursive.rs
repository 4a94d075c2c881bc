//! Recursive crawling on a generated local site: depth, each page once, scope, robots.txt,
//! politeness, the page budget, a link trap, the graph, and Ctrl-C mid-crawl.

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
    let (areq, run) = crawl(&server, &["-d", "2", "--ignore-robots"]);
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
    assert!(
        run.stderr.contains("pages by depth 0: 1, 1: 4, 2: 3"),
        "{}",
        run.stderr
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
    let (_, run) = crawl(&server, &["-d", "1"]);
    assert_not_fetched(&server, &["/off"]);
    assert!(run.stderr.contains("1 scope"), "{}", run.stderr);

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
    let (_, run) = crawl(&server, &["-d", "2"]);
    assert_eq!(server.hits("/robots.txt"), 1);
    assert_not_fetched(&server, &["/private/secret"]);
    assert_fetched_once(&server, &["/", "/a", "/b", "/c"]);
    assert!(run.stderr.contains("1 robots"), "{}", run.stderr);

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
    let run = areq.run(&[
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
    assert!(run.stderr.contains("1 budget"), "{}", run.stderr);

    let server = site(robots_txt(""), Duration::ZERO);
    areq.input(&[server.url("/cal/1")]);
    areq.run(&["urls.txt", "-o", "out.tsv", "-d", "5"])
        .assert_success();
    assert_fetched_once(&server, &["/cal/1", "/cal/6"]);
    assert_not_fetched(&server, &["/cal/7"]);
}

/// The gaps between the starts of the page requests the server saw, in order.
fn request_gaps(server: &TestServer) -> Vec<Duration> {
    let times: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path != "/robots.txt")
        .map(|r| r.received)
        .collect();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn rate_spaces_requests_to_a_host() {
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
    let gaps = request_gaps(&server);
    assert_eq!(gaps.len(), 5);
    // 10 per second is 100 ms between starts. The server sees each request a little after
    // areq starts it (a new connection each time), so one gap may look a few ms short; the
    // whole span may not.
    for gap in &gaps {
        assert!(*gap >= Duration::from_millis(80), "{gaps:?}");
    }
    let span: Duration = gaps.iter().sum();
    assert!(span >= Duration::from_millis(490), "{gaps:?}");
}

#[test]
fn crawl_delay_in_robots_txt_spaces_requests() {
    let server = site(
        robots_txt("User-agent: *\nCrawl-delay: 0.25\n"),
        Duration::ZERO,
    );
    crawl(&server, &["-d", "1", "--per-host", "8"]);
    let gaps = request_gaps(&server);
    assert!(gaps.len() >= 4, "{gaps:?}");
    for gap in &gaps {
        assert!(*gap >= Duration::from_millis(220), "{gaps:?}");
    }
    let span: Duration = gaps.iter().sum();
    let floor = Duration::from_millis(250) * gaps.len() as u32;
    assert!(span + Duration::from_millis(10) >= floor, "{gaps:?}");
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
    while server.hits("/cal/4") == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    send_signal(&child, "INT");
    let run = finish(child);
    assert_eq!(run.code(), 130, "{}", run.stderr);
    let out = areq.read("out.tsv");
    assert!(out.ends_with('\n'));
    assert!(out.lines().all(|l| l.split('\t').count() == 2), "{out}");
    assert!(server.hits("/cal/40") == 0, "stopped");
}
