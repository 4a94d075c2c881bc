//! Recursive crawling across several hosts and origins. The test server is areq's HTTP proxy
//! here, so made-up host names under `.test` all reach it (see `support::server`): robots.txt
//! per origin, scope per seed, `--scope domain`, the order of requests across hosts, politeness
//! per host, the summary's top hosts.

use std::time::Duration;

use crate::support::cmd::{Areq, Run};
use crate::support::server::{Reply, Request, TestServer};

/// An HTML page linking to `links`, in order.
fn anchors<S: AsRef<str>>(links: &[S]) -> Reply {
    let body: String = links
        .iter()
        .map(|l| format!("<a href=\"{0}\">{0}</a>\n", l.as_ref()))
        .collect();
    Reply::html(format!("<!doctype html><body>{body}</body>"))
}

/// A proxy whose robots.txt are all missing (404) and whose pages come from `pages`, keyed by
/// absolute URL (`None`: 404).
fn proxy(pages: impl Fn(&str) -> Option<Vec<&'static str>> + Send + Sync + 'static) -> TestServer {
    TestServer::start(move |request: &Request| {
        if request.path.ends_with("/robots.txt") {
            return Reply::status(404);
        }
        match pages(&request.path) {
            Some(links) => anchors(&links),
            None => Reply::status(404),
        }
    })
}

/// Runs areq through `server` on `seeds` with `flags` (and a JSON summary); asserts success.
fn crawl(server: &TestServer, seeds: &[&str], flags: &[&str]) -> (Areq, Run, serde_json::Value) {
    let areq = Areq::new();
    areq.input(&seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let mut args = vec!["urls.txt", "-o", "out.tsv"];
    args.extend_from_slice(flags);
    let (run, summary) = areq.run_with_summary_and_env(&args, &server.proxy_env());
    run.assert_success();
    (areq, run, summary)
}

/// The URLs the server was asked for, robots.txt aside, in arrival order.
fn page_requests(server: &TestServer) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| !p.ends_with("/robots.txt"))
        .collect()
}

#[test]
fn scope_domain_follows_the_seeds_registrable_domain_and_host_does_not() {
    let site = |url: &str| match url {
        "http://www.shop.test/" => Some(vec![
            "http://blog.shop.test/",
            "http://other.test/",
            "/about",
        ]),
        _ => Some(vec![]),
    };
    let server = proxy(site);
    let (_, _, summary) = crawl(
        &server,
        &["http://www.shop.test/"],
        &["-d", "1", "--scope", "domain"],
    );
    let mut fetched = page_requests(&server);
    fetched.sort();
    assert_eq!(
        fetched,
        [
            "http://blog.shop.test/",
            "http://www.shop.test/",
            "http://www.shop.test/about"
        ]
    );
    assert_eq!(summary["pages"]["skipped_scope"], 1);
    assert_eq!(summary["hosts"], 2);

    let server = proxy(site);
    let (_, _, summary) = crawl(&server, &["http://www.shop.test/"], &["-d", "1"]);
    let mut fetched = page_requests(&server);
    fetched.sort();
    assert_eq!(
        fetched,
        ["http://www.shop.test/", "http://www.shop.test/about"]
    );
    assert_eq!(summary["pages"]["skipped_scope"], 2);
}

#[test]
fn scope_is_relative_to_the_seed_each_link_descends_from() {
    let server = proxy(|url| match url {
        "http://a.test/" => Some(vec!["http://b.test/from-a", "/x"]),
        "http://b.test/" => Some(vec!["http://a.test/from-b", "/y"]),
        _ => Some(vec![]),
    });
    let (_, _, summary) = crawl(
        &server,
        &["http://a.test/", "http://b.test/"],
        &["-d", "1", "--ignore-robots"],
    );
    let mut fetched = page_requests(&server);
    fetched.sort();
    assert_eq!(
        fetched,
        [
            "http://a.test/",
            "http://a.test/x",
            "http://b.test/",
            "http://b.test/y"
        ],
        "each seed's pages stay on that seed's host, though both hosts are seeds"
    );
    assert_eq!(summary["pages"]["skipped_scope"], 2);
}

#[test]
fn robots_txt_is_fetched_once_per_origin_and_obeyed_per_origin() {
    let server = TestServer::start(|request| {
        let url = request.path.as_str();
        if url.ends_with("/robots.txt") {
            return Reply::text("User-agent: *\nDisallow: /3\n");
        }
        let root = url.split('/').take(3).collect::<Vec<_>>().join("/");
        match url.strip_prefix(&root) {
            Some("/") => anchors(&["/1", "/2", "/3", "/1"]),
            _ => anchors(&["/"]),
        }
    });
    let origins = ["http://a.test", "http://a.test:8080", "http://b.test"];
    let seeds: Vec<String> = origins.iter().map(|o| format!("{o}/")).collect();
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    let (_, _, summary) = crawl(&server, &seeds, &["-d", "2", "-c", "4"]);
    let requests = server.requests();
    for origin in origins {
        let robots = format!("{origin}/robots.txt");
        assert_eq!(server.hits(&robots), 1, "{robots} fetched once");
        for page in ["/", "/1", "/2"] {
            assert_eq!(server.hits(&format!("{origin}{page}")), 1, "{origin}{page}");
        }
        assert_eq!(
            server.hits(&format!("{origin}/3")),
            0,
            "{origin}/3 disallowed"
        );
        let first = requests
            .iter()
            .position(|r| r.path.starts_with(&format!("{origin}/")))
            .unwrap();
        assert_eq!(
            requests[first].path, robots,
            "robots.txt comes before any page of {origin}"
        );
    }
    assert_eq!(summary["pages"]["skipped_robots"], 3);
}

#[test]
fn hosts_are_served_round_robin_and_each_host_breadth_first() {
    let server = TestServer::start(|request| {
        let url = request.path.as_str();
        let path = &url[url.find(".test").unwrap() + 5..];
        let reply = match path {
            "/" => anchors(&["/1", "/2", "/3"]),
            "/1" | "/2" | "/3" => anchors(&[format!("{path}/x")]),
            _ => anchors::<&str>(&[]),
        };
        // The first root stays in flight long enough for the second seed to be queued.
        match path {
            "/" => reply.delayed(Duration::from_millis(200)),
            _ => reply,
        }
    });
    crawl(
        &server,
        &["http://a.test/", "http://b.test/"],
        &["-d", "2", "-c", "1", "--ignore-robots"],
    );
    let order: Vec<String> = page_requests(&server)
        .iter()
        .map(|url| url.trim_start_matches("http://").replace(".test", ""))
        .collect();
    assert_eq!(
        order,
        [
            "a/", "b/", "a/1", "b/1", "a/2", "b/2", "a/3", "b/3", "a/1/x", "b/1/x", "a/2/x",
            "b/2/x", "a/3/x", "b/3/x"
        ]
    );
}

#[test]
fn summary_json_names_the_top_ten_hosts_most_first() {
    // Host hN serves N + 1 seeds, so h11 has the most pages and h0, h1 fall off the list.
    let server = proxy(|_| Some(vec![]));
    let seeds: Vec<String> = (0..12)
        .flat_map(|host| (0..=host).map(move |page| format!("http://h{host}.test/{page}")))
        .collect();
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    let (_, _, summary) = crawl(&server, &seeds, &["-c", "8"]);
    assert_eq!(summary["hosts"], 12);
    let want: Vec<serde_json::Value> = (2..12)
        .rev()
        .map(|host| serde_json::json!({ "host": format!("h{host}.test"), "pages": host + 1 }))
        .collect();
    assert_eq!(summary["top_hosts_by_pages"], serde_json::Value::from(want));
}

#[test]
fn delay_is_kept_per_host_and_does_not_hold_back_other_hosts() {
    let server = proxy(|_| Some(vec![]));
    let seeds = [
        "http://a.test/1",
        "http://a.test/2",
        "http://b.test/1",
        "http://b.test/2",
    ];
    crawl(&server, &seeds, &["--delay", "400"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    let sent = |url: &str| {
        requests
            .iter()
            .find(|r| r.path == url)
            .unwrap_or_else(|| panic!("{url} not fetched"))
            .sent
    };
    for host in ["a", "b"] {
        let gap = sent(&format!("http://{host}.test/2")) - sent(&format!("http://{host}.test/1"));
        assert!(
            gap + Duration::from_millis(5) >= Duration::from_millis(400),
            "{host}.test: {gap:?}"
        );
    }
    let (a, b) = (sent("http://a.test/1"), sent("http://b.test/1"));
    let apart = a.max(b) - a.min(b);
    assert!(
        apart < Duration::from_millis(300),
        "the first request to each host goes out at once, not a delay apart: {apart:?}"
    );
}
