//! `--check`: every link's status as a third field (and `link_status` in JSONL), each
//! distinct link requested once a run, counted at the server.

use std::time::{Duration, Instant};

use crate::support::cmd::{finish, send_signal, Areq};
use crate::support::dns::DnsServer;
use crate::support::server::{Gate, Reply, TestServer};

/// A port nothing listens on: connecting is refused.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// An HTML page linking to each of `links`, in order.
fn page_linking(links: &[String]) -> Reply {
    let anchors: String = links
        .iter()
        .map(|link| format!("<a href=\"{link}\">x</a>\n"))
        .collect();
    Reply::html(format!("<!doctype html><body>{anchors}</body>"))
}

/// The server of the planted breakage: `/` links to every kind of link.
fn broken_site() -> (TestServer, Vec<String>) {
    let refused = format!("http://127.0.0.1:{}/dead", closed_port());
    let links = vec![
        "/ok".to_string(),
        "/gone".to_string(),
        "/removed".to_string(),
        "/moved".to_string(),
        "/loop".to_string(),
        refused,
        "http://nxhost.test/".to_string(),
        "/slow".to_string(),
        "mailto:someone@example.com".to_string(),
    ];
    let page = page_linking(&links);
    let server = TestServer::start(move |request| match request.path.as_str() {
        "/" => page.clone(),
        "/ok" => Reply::html("<p>fine</p>"),
        "/gone" => Reply::status(404),
        "/removed" => Reply::status(410),
        "/moved" => Reply::redirect(301, "/gone"),
        "/loop" => Reply::redirect(302, "/loop2"),
        "/loop2" => Reply::redirect(302, "/loop"),
        "/slow" => Reply::Hang(Duration::from_secs(5)),
        _ => Reply::status(500),
    });
    (server, links)
}

fn broken_run(areq: &Areq, server: &TestServer, dns: &DnsServer, extra: &[&str]) -> String {
    areq.input(&[server.url("/")]);
    let mut args = vec![
        "urls.txt",
        "-o",
        "out",
        "--check",
        "--all-schemes",
        "--retries",
        "0",
        "--timeout",
        "1",
        "--dns-server",
    ];
    let dns_addr = dns.addr();
    args.push(&dns_addr);
    args.extend_from_slice(extra);
    let (run, _) = areq.run_with_summary(&args);
    assert!(matches!(run.code(), 0 | 3), "{}", run.stderr);
    areq.read("out")
}

#[test]
fn tsv_gives_each_link_its_final_status_or_failure_reason_as_a_third_field() {
    let (server, links) = broken_site();
    let dns = DnsServer::start(Duration::ZERO);
    let areq = Areq::new();
    let out = broken_run(&areq, &server, &dns, &[]);
    let page = server.url("/");
    let abs = |link: &str| {
        if link.starts_with('/') {
            server.url(link)
        } else {
            link.to_string()
        }
    };
    let statuses = [
        "200",
        "404",
        "410",
        "404",
        "redirects",
        "connect",
        "dns",
        "timeout",
        "-",
    ];
    let mut want = String::from("source_url\tparsed_url\tstatus\n");
    for (link, status) in links.iter().zip(statuses) {
        want.push_str(&format!("{page}\t{}\t{status}\n", abs(link)));
    }
    assert_eq!(out, want);
    // One request per link (the refused port took none); /gone twice: its own check, and
    // the hop /moved redirects to.
    for path in ["/ok", "/removed", "/moved", "/loop", "/loop2", "/slow"] {
        assert_eq!(server.hits(path), 1, "{path}");
    }
    assert_eq!(server.hits("/gone"), 2);
    let summary = areq.summary();
    assert_eq!(summary["links"]["checked"], 8, "{summary}");
    assert_eq!(summary["links"]["broken"], 7);
    assert_eq!(
        summary["links"]["broken_by_status"],
        serde_json::json!({
            "404": 2, "410": 1, "redirects": 1, "connect": 1, "dns": 1, "timeout": 1
        })
    );
}

#[test]
fn jsonl_records_carry_link_status_and_the_text_summary_counts_broken_links() {
    let (server, _) = broken_site();
    let dns = DnsServer::start(Duration::ZERO);
    let areq = Areq::new();
    let out = broken_run(&areq, &server, &dns, &["--format", "jsonl"]);
    let records: Vec<serde_json::Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let status_of = |url: &str| {
        records
            .iter()
            .find(|record| record["url"] == url)
            .unwrap_or_else(|| panic!("no record for {url} in {out}"))["link_status"]
            .clone()
    };
    assert_eq!(status_of(&server.url("/ok")), "200");
    assert_eq!(status_of(&server.url("/moved")), "404");
    assert_eq!(status_of("http://nxhost.test/"), "dns");
    assert_eq!(status_of("mailto:someone@example.com"), "-");
    assert_eq!(records[0]["status"], 200, "the page's own status stays");

    let run = areq.run(&[
        "urls.txt",
        "-o",
        "out",
        "--check",
        "--retries",
        "0",
        "--timeout",
        "1",
        "--dns-server",
        &dns.addr(),
    ]);
    assert!(
        run.stderr
            .contains("links: 8 checked, 7 broken (404: 2, 410: 1, connect: 1, dns: 1, redirects: 1, timeout: 1)\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn fail_on_error_exits_3_for_a_broken_link_and_0_when_every_link_works() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/good" => page_linking(&["/a".into(), "/b".into()]),
        "/bad" => page_linking(&["/a".into(), "/missing".into()]),
        "/a" | "/b" => Reply::html("ok"),
        _ => Reply::status(404),
    });
    let areq = Areq::new();
    areq.input(&[server.url("/good")]);
    let args = ["urls.txt", "-o", "out", "--check", "--fail-on-error"];
    assert_eq!(areq.run(&args).code(), 0);
    areq.input(&[server.url("/bad")]);
    let run = areq.run(&args);
    assert_eq!(run.code(), 3, "{}", run.stderr);
    assert!(
        areq.read("out").contains("/missing\t404\n"),
        "{}",
        areq.read("out")
    );
    // Without --check, a broken link is not looked at.
    assert_eq!(
        areq.run(&["urls.txt", "-o", "out", "--fail-on-error"])
            .code(),
        0
    );
}

#[test]
fn a_link_carried_by_100_pages_is_requested_once() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/shared" => Reply::html("shared").delayed(Duration::from_millis(100)),
        path if path.starts_with("/p/") => page_linking(&[
            "/shared".into(),
            "/shared#part".into(),
            format!("{path}/own"),
        ]),
        _ => Reply::html("own"),
    });
    let areq = Areq::new();
    let pages: Vec<String> = (0..100).map(|i| server.url(&format!("/p/{i}"))).collect();
    areq.input(&pages);
    areq.run(&["urls.txt", "-o", "out", "--check", "-c", "16"])
        .assert_success();
    assert_eq!(server.hits("/shared"), 1, "one check for every page");
    assert_eq!(server.hits("/p/7/own"), 1);
    let out = areq.read("out");
    let shared = format!("\t{}\t200\n", server.url("/shared"));
    assert_eq!(out.matches(&shared).count(), 100, "{out}");
    let fragment = format!("\t{}#part\t200\n", server.url("/shared"));
    assert_eq!(out.matches(&fragment).count(), 100);
    let summary = areq
        .run_with_summary(&["urls.txt", "-o", "out", "--check", "-q"])
        .1;
    assert_eq!(
        summary["links"]["checked"], 101,
        "each distinct link counted once"
    );
}

#[test]
fn a_page_the_crawl_fetched_gives_its_status_to_links_to_it() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/first" => Reply::html("no links"),
        "/second" => page_linking(&["/first".into(), "/second".into()]),
        "/missing" => Reply::status(404),
        _ => page_linking(&["/missing".into()]),
    });
    let areq = Areq::new();
    // One page at a time: /first and /missing are fetched as pages before /second and
    // /third link to them.
    areq.input(&[
        server.url("/first"),
        server.url("/missing"),
        server.url("/second"),
        server.url("/third"),
    ]);
    areq.run(&["urls.txt", "-o", "out", "--check", "-c", "1"])
        .assert_success();
    for path in ["/first", "/second", "/missing", "/third"] {
        assert_eq!(server.hits(path), 1, "{path}");
    }
    let out = areq.read("out");
    assert!(
        out.contains(&format!("\t{}\t200\n", server.url("/first"))),
        "{out}"
    );
    assert!(
        out.contains(&format!("\t{}\t200\n", server.url("/second"))),
        "{out}"
    );
    assert!(
        out.contains(&format!("\t{}\t404\n", server.url("/missing"))),
        "{out}"
    );

    // Recursive: a link back to a page crawled before is not requested again.
    let site = TestServer::start(|request| match request.path.as_str() {
        "/" => page_linking(&["/child".into()]),
        "/child" => page_linking(&["/".into(), "/leaf.pdf".into()]),
        "/robots.txt" => Reply::status(404),
        _ => Reply::with_type(200, "application/pdf", "%PDF"),
    });
    let areq = Areq::new();
    areq.input(&[site.url("/")]);
    areq.run(&["urls.txt", "-o", "out", "--check", "-d", "1"])
        .assert_success();
    assert_eq!(site.hits("/"), 1, "the seed, fetched once");
    assert_eq!(site.hits("/leaf.pdf"), 1, "a file: one check");
    let out = areq.read("out");
    assert!(
        out.contains(&format!("{}\t{}\t200\n", site.url("/child"), site.url("/"))),
        "{out}"
    );
}

#[test]
fn a_link_robots_txt_disallows_is_robots_and_not_requested() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/robots.txt" => Reply::text("User-agent: *\nDisallow: /private\n"),
        "/" => page_linking(&["/private/x".into(), "/public".into()]),
        _ => Reply::html("page"),
    });
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    areq.run(&["urls.txt", "-o", "out", "--check", "-d", "1"])
        .assert_success();
    assert_eq!(server.hits("/private/x"), 0);
    assert_eq!(server.hits("/robots.txt"), 1);
    let out = areq.read("out");
    assert!(
        out.contains(&format!("\t{}\trobots\n", server.url("/private/x"))),
        "{out}"
    );
    assert!(out.contains(&format!("\t{}\t200\n", server.url("/public"))));
}

#[test]
fn a_check_is_a_get_whose_body_is_not_read_so_a_server_refusing_head_is_checked_right() {
    let server = TestServer::start(|request| {
        match (request.method.as_str(), request.path.as_str()) {
            ("HEAD", _) => Reply::status(405),
            (_, "/") => page_linking(&["/no-head".into(), "/endless".into()]),
            (_, "/no-head") => Reply::html("fine"),
            // Headers at once, then a body that would take 20 s to arrive.
            _ => Reply::Trickle {
                head: b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 1000\r\n\r\n"
                    .to_vec(),
                chunks: vec![vec![b'x'; 100]; 10],
                pause: Duration::from_secs(2),
            },
        }
    });
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    let started = Instant::now();
    areq.run(&["urls.txt", "-o", "out", "--check", "--timeout", "5"])
        .assert_success();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the body was read: {:?}",
        started.elapsed()
    );
    let out = areq.read("out");
    assert!(
        out.contains(&format!("\t{}\t200\n", server.url("/no-head"))),
        "{out}"
    );
    assert!(
        out.contains(&format!("\t{}\t200\n", server.url("/endless"))),
        "{out}"
    );
    assert!(server
        .requests()
        .iter()
        .all(|request| request.method == "GET"));
}

#[test]
fn checks_count_under_the_global_and_per_host_limits() {
    let links: Vec<String> = (0..12).map(|i| format!("/l/{i}")).collect();
    let page = page_linking(&links);
    let server = TestServer::start(move |request| match request.path.as_str() {
        "/" => page.clone(),
        _ => Reply::html("x").delayed(Duration::from_millis(150)),
    });
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    areq.run(&["urls.txt", "-o", "out", "--check", "-c", "1"])
        .assert_success();
    assert_eq!(server.max_in_flight(), 1, "-c 1: one request at a time");

    let server = TestServer::start(move |request| match request.path.as_str() {
        "/" => page_linking(&links),
        _ => Reply::html("x").delayed(Duration::from_millis(150)),
    });
    areq.input(&[server.url("/")]);
    areq.run(&[
        "urls.txt",
        "-o",
        "out",
        "--check",
        "-c",
        "8",
        "--per-host",
        "2",
    ])
    .assert_success();
    assert_eq!(
        server.max_in_flight(),
        2,
        "--per-host 2, checked two at a time"
    );
    assert_eq!(server.total_hits(), 13);
}

#[test]
fn checks_carry_the_h_headers_only_to_the_input_urls_origin() {
    let other = TestServer::start_on(std::net::Ipv4Addr::new(127, 0, 0, 2), |_| {
        Reply::html("elsewhere")
    });
    let elsewhere = other.url("/x");
    let server = TestServer::start(move |request| match request.path.as_str() {
        "/" => page_linking(&["/same".into(), elsewhere.clone()]),
        _ => Reply::html("same"),
    });
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    areq.run(&[
        "urls.txt",
        "-o",
        "out",
        "--check",
        "-H",
        "Authorization: Bearer s3cret",
    ])
    .assert_success();
    let out = areq.read("out");
    assert!(
        out.contains(&format!("\t{}\t200\n", other.url("/x"))),
        "{out}"
    );
    let same = server.requests();
    let checked = same.iter().find(|request| request.path == "/same").unwrap();
    assert_eq!(checked.header("authorization"), Some("Bearer s3cret"));
    let requests = other.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("authorization"), None);
}

#[test]
fn a_hosts_pages_and_link_checks_together_stay_within_per_host() {
    // The root links to pages the crawl fetches; each of them links to images it only checks,
    // all on one host and all slow to answer: while some pages are fetched, the others' images
    // are checked, and together they share the host's two slots.
    let pages: Vec<String> = (0..6).map(|i| format!("/p/{i}")).collect();
    let root = page_linking(&pages);
    let server = TestServer::start(move |request| {
        let path = request.path.as_str();
        match path {
            "/" => root.clone(),
            "/robots.txt" => Reply::status(404),
            _ if path.starts_with("/i/") => {
                Reply::with_type(200, "image/png", "png").delayed(Duration::from_millis(150))
            }
            _ => {
                let images: Vec<String> = (0..4).map(|k| format!("/i{path}/{k}.png")).collect();
                page_linking(&images).delayed(Duration::from_millis(150))
            }
        }
    });
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    areq.run(&[
        "urls.txt",
        "-o",
        "out",
        "--check",
        "-d",
        "1",
        "-c",
        "16",
        "--per-host",
        "2",
    ])
    .assert_success();
    assert_eq!(
        server.max_in_flight(),
        2,
        "--per-host 2 held for the crawl's pages and its link checks together"
    );
    for page in &pages {
        assert_eq!(
            server.hits(page),
            1,
            "{page} crawled, and not checked besides"
        );
        for k in 0..4 {
            let image = format!("/i{page}/{k}.png");
            assert_eq!(server.hits(&image), 1, "{image} checked once");
        }
    }
}

/// Each `SOURCE<TAB>LINK<TAB>STATUS` line of `out`, counted.
fn record_counts(out: &str) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for line in out.lines().skip(1) {
        *counts.entry(line.to_string()).or_default() += 1;
    }
    counts
}

#[test]
fn each_page_of_a_recursive_check_crawl_is_requested_once() {
    // Every page links to the root, to its siblings and to its own children, which the crawl
    // fetches later: a page waits for their fetches instead of checking them.
    let server = TestServer::start(|request| {
        let path = request.path.as_str();
        match path {
            "/robots.txt" => Reply::status(404),
            "/missing" => Reply::status(404),
            _ if path.ends_with(".png") => Reply::with_type(200, "image/png", "png"),
            _ => {
                let base = path.trim_end_matches('/');
                let depth = base.matches('/').count();
                let mut links = vec!["/".to_string(), "/missing".into(), format!("{base}/i.png")];
                if depth < 3 {
                    links.extend((0..3).map(|k| format!("{base}/{k}")));
                }
                if let Some((parent, _)) = base.rsplit_once('/') {
                    links.extend((0..3).map(|k| format!("{parent}/{k}")));
                }
                page_linking(&links)
            }
        }
    });
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    areq.run(&["urls.txt", "-o", "out", "--check", "-d", "5", "-c", "4"])
        .assert_success();
    let requests = server.requests();
    let mut paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(paths.len(), 2 + 40 + 40, "{paths:?}");
    for pair in paths.windows(2) {
        assert_ne!(pair[0], pair[1], "requested twice");
    }
    let out = areq.read("out");
    let counts = record_counts(&out);
    assert!(counts.values().all(|&count| count == 1), "{out}");
    let root = server.url("/");
    assert_eq!(
        counts.get(&format!("{}\t{root}\t200", server.url("/0/1/2"))),
        Some(&1),
        "{out}"
    );
    assert_eq!(
        counts.get(&format!(
            "{}\t{}\t404",
            server.url("/2"),
            server.url("/missing")
        )),
        Some(&1)
    );
    assert!(
        counts
            .keys()
            .all(|line| line.ends_with("\t200") || line.ends_with("\t404")),
        "{out}"
    );
}

#[test]
fn pages_finding_the_parking_area_full_check_their_links_and_write_every_record_once() {
    // -c 1 parks 64 pages at most: the root waits for its 100 pages, each of which waits for
    // its own leaf, queued behind the others; the pages after the 63rd find no room and check
    // their leaf, which the crawl then fetches too.
    let pages: Vec<String> = (0..100).map(|i| format!("/p/{i}")).collect();
    let root = page_linking(&pages);
    let server = TestServer::start(move |request| {
        let path = request.path.as_str();
        match path {
            "/" => root.clone(),
            "/robots.txt" => Reply::status(404),
            _ if path.starts_with("/p/") => page_linking(&[path.replace("/p/", "/q/")]),
            _ => Reply::html("leaf"),
        }
    });
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    areq.run(&["urls.txt", "-o", "out", "--check", "-d", "2", "-c", "1"])
        .assert_success();
    let out = areq.read("out");
    let counts = record_counts(&out);
    assert_eq!(counts.len(), 200, "{out}");
    assert!(counts.values().all(|&count| count == 1), "{out}");
    for i in 0..100 {
        let (page, leaf) = (
            server.url(&format!("/p/{i}")),
            server.url(&format!("/q/{i}")),
        );
        assert!(counts.contains_key(&format!("{}\t{page}\t200", server.url("/"))));
        assert!(
            counts.contains_key(&format!("{page}\t{leaf}\t200")),
            "{out}"
        );
        assert_eq!(
            server.hits(&format!("/p/{i}")),
            1,
            "/p/{i}: the root waited for it"
        );
        assert!((1..=2).contains(&server.hits(&format!("/q/{i}"))));
    }
    let leaves: usize = (0..100).map(|i| server.hits(&format!("/q/{i}"))).sum();
    assert!(leaves > 100, "the area was full for some pages: {leaves}");
    assert!(leaves < 200, "the others waited for their leaf: {leaves}");
}

/// A site whose root links to `/a`, `/b` and `/c`, each linking back to the root; `/b`
/// answers behind `gate`, when there is one.
fn gated_site(gate: Option<Gate>) -> TestServer {
    TestServer::start(move |request| match request.path.as_str() {
        "/" => page_linking(&["/a".into(), "/b".into(), "/c".into()]),
        "/robots.txt" => Reply::status(404),
        "/b" => match &gate {
            Some(gate) => page_linking(&["/".into()]).behind(gate),
            None => page_linking(&["/".into()]),
        },
        _ => page_linking(&["/".into()]),
    })
}

#[test]
fn a_parked_page_stopped_by_ctrl_c_is_not_written_and_resume_writes_it_once() {
    const CRAWL: &[&str] = &["urls.txt", "-o", "out.tsv", "--check", "-d", "1", "-c", "4"];
    let plain = gated_site(None);
    let areq = Areq::new();
    areq.input(&[plain.url("/")]);
    areq.run(CRAWL).assert_success();
    let expected = areq.read("out.tsv").replace(&plain.url(""), "{SITE}");

    // The root parks until /a, /b and /c answer; /b is held, and the run stopped there.
    let gate = Gate::new();
    let site = gated_site(Some(gate.clone()));
    let areq = Areq::new();
    areq.input(&[site.url("/")]);
    let child = areq.spawn(CRAWL);
    areq.wait_for_lines("out.tsv.done", 2);
    gate.wait_until_held(1);
    send_signal(&child, libc::SIGINT);
    let stopped = finish(child);
    gate.open();
    assert_eq!(stopped.code(), 130, "{}", stopped.stderr);
    let out = areq.read("out.tsv");
    let root = format!("{}\t", site.url("/"));
    assert!(
        !out.lines().any(|line| line.starts_with(&root)),
        "the parked root wrote nothing: {out}"
    );
    assert_eq!(out.lines().count(), 1 + 2, "/a and /c: {out}");

    areq.run(&[CRAWL, &["--resume"]].concat()).assert_success();
    let out = areq.read("out.tsv").replace(&site.url(""), "{SITE}");
    let mut lines: Vec<&str> = out.lines().collect();
    let mut want: Vec<&str> = expected.lines().collect();
    lines.sort_unstable();
    want.sort_unstable();
    assert_eq!(
        lines, want,
        "each record once, as an uninterrupted run writes them"
    );
    assert_eq!(
        site.hits("/a"),
        2,
        "done before: checked by the resumed root"
    );
    assert_eq!(site.hits("/b"), 2, "stopped in flight: fetched again");
}

#[test]
fn a_parked_page_checks_its_links_itself_once_the_page_budget_is_spent() {
    let pages: Vec<String> = (0..50).map(|i| format!("/p/{i}")).collect();
    let root = page_linking(&pages);
    let server = TestServer::start(move |request| match request.path.as_str() {
        "/" => root.clone(),
        "/robots.txt" => Reply::status(404),
        _ => Reply::html("page"),
    });
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    let started = Instant::now();
    areq.run(&[
        "urls.txt",
        "-o",
        "out",
        "--check",
        "-d",
        "1",
        "--max-pages",
        "5",
    ])
    .assert_success();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the root did not wait for pages that will not be fetched: {:?}",
        started.elapsed()
    );
    let out = areq.read("out");
    let counts = record_counts(&out);
    assert_eq!(counts.len(), 50, "{out}");
    assert!(counts.keys().all(|line| line.ends_with("\t200")), "{out}");
    for page in &pages {
        assert_eq!(server.hits(page), 1, "{page}: fetched or checked, once");
    }
}
