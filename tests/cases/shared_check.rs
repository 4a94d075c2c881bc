//! `--check` in a shared crawl: a link's status is shared by the workers through Redis, so
//! each link is checked once per crawl, whichever worker meets it. Counted at the server (an
//! HTTP proxy here, so the off-site hosts under `.test` reach it), on a single Redis and on a
//! Cluster, with a worker killed while it checks a link.

use std::collections::BTreeSet;
use std::process::Child;
use std::time::Duration;

use super::cluster::entry_url;
use crate::support::cmd::{finish, finish_within, Areq, Run};
use crate::support::redis::{RedisCluster, RedisServer};
use crate::support::server::{Gate, Reply, Request, TestServer};
use crate::support::tree::lines_of;

/// Pages of the site: `/p/1` … `/p/PAGES`.
const PAGES: usize = 12;

/// The site's seed.
const SEED: &str = "http://site.test/";

/// The links every page carries off the site (checked, never crawled), with their statuses.
const OFF_SITE: &[(&str, &str)] = &[
    ("http://ext.test/ok", "200"),
    ("http://ext.test/gone", "404"),
    ("http://ext.test/removed", "410"),
    ("http://ext.test/moved", "200"),
    ("http://cdn.test/broken", "500"),
];

/// An HTML page linking to `links`, in order.
fn page_linking(links: &[String]) -> Reply {
    let anchors: String = links
        .iter()
        .map(|link| format!("<a href=\"{link}\">x</a>\n"))
        .collect();
    Reply::html(format!("<!doctype html><body>{anchors}</body>"))
}

/// The site, keyed by absolute URL (the server is areq's proxy): the seed links to every
/// page; each page to the next, to the seed, to a missing page, to every off-site link and to
/// an off-site link of its own. Pages answer after `delay`, so the work spreads over the
/// workers.
fn site(delay: Duration) -> TestServer {
    TestServer::start(move |request: &Request| {
        let url = request.path.as_str();
        if url.ends_with("/robots.txt") {
            return Reply::status(404);
        }
        match url {
            SEED => {
                let pages: Vec<String> = (1..=PAGES).map(|k| format!("/p/{k}")).collect();
                page_linking(&pages).delayed(delay)
            }
            "http://ext.test/ok" | "http://ext.test/new" => Reply::html("<p>fine</p>"),
            "http://ext.test/gone" | "http://site.test/missing" => Reply::status(404),
            "http://ext.test/removed" => Reply::status(410),
            "http://ext.test/moved" => Reply::redirect(301, "http://ext.test/new"),
            "http://cdn.test/broken" => Reply::status(500),
            _ if url.starts_with("http://ext.test/only/") => Reply::html("<p>one page's</p>"),
            _ => match url
                .strip_prefix("http://site.test/p/")
                .and_then(|k| k.parse::<usize>().ok())
                .filter(|k| (1..=PAGES).contains(k))
            {
                Some(k) => {
                    let mut links = vec![
                        format!("/p/{}", k % PAGES + 1),
                        "/".into(),
                        "/missing".into(),
                        format!("http://ext.test/only/{k}"),
                    ];
                    links.extend(OFF_SITE.iter().map(|(link, _)| link.to_string()));
                    page_linking(&links).delayed(delay)
                }
                None => Reply::status(404),
            },
        }
    })
}

/// The common flags of a checked crawl of the site.
const CRAWL: &[&str] = &[
    "urls.txt",
    "-o",
    "out.tsv",
    "--no-header",
    "-d",
    "2",
    "-c",
    "4",
    "--check",
    "--retries",
    "0",
];

/// Starts a worker of crawl `name` through the Redis at `url`, in a directory of its own, with
/// the link statuses' Redis calls and the link checker's decisions logged.
fn worker(url: &str, name: &str, site: &TestServer, seed: &str, extra: &[&str]) -> (Areq, Child) {
    let areq = Areq::new();
    areq.input(&[seed.to_owned()]);
    let mut args: Vec<&str> = CRAWL.to_vec();
    args.extend(["--redis", url, "--crawl", name]);
    args.extend(extra);
    let mut env = site.proxy_env();
    env.push((
        "RUST_LOG".to_owned(),
        "areq::frontier::redis=debug,areq::check=debug".to_owned(),
    ));
    let child = areq.spawn_with_env(&args, &env);
    (areq, child)
}

/// The records of one process checking the site alone (no Redis).
fn single_process_lines() -> BTreeSet<String> {
    let site = site(Duration::ZERO);
    let areq = Areq::new();
    areq.input(&[SEED.to_owned()]);
    let run = areq.run_with_env(CRAWL, &site.proxy_env());
    assert!(matches!(run.code(), 0), "{}", run.stderr);
    lines_of(&areq.read("out.tsv"))
}

/// Asserts that no call about links' statuses failed in `run`.
fn assert_shared_calls_answered(run: &Run) {
    for failed in [
        "link status not published",
        "link claims not renewed",
        "link statuses not read",
    ] {
        assert!(!run.stderr.contains(failed), "{failed}:\n{}", run.stderr);
    }
}

/// Runs three workers of crawl `name` entering through `urls` (in turn) to the end, and checks
/// what they did: every off-site link requested once in all, every page fetched, each
/// worker's records right, and together the records one process writes.
fn three_workers_check_each_link_once(urls: &[String], name: &str) {
    let expected = single_process_lines();
    let site = site(Duration::from_millis(100));
    let workers: Vec<(Areq, Child)> = (0..3)
        .map(|i| worker(&urls[i % urls.len()], name, &site, SEED, &[]))
        .collect();
    let mut outputs = Vec::new();
    for (areq, child) in workers {
        let run = finish(child);
        run.assert_success();
        assert_shared_calls_answered(&run);
        outputs.push(areq.read("out.tsv"));
    }
    let mut links: Vec<String> = OFF_SITE.iter().map(|(link, _)| link.to_string()).collect();
    links.push("http://ext.test/new".into());
    links.extend((1..=PAGES).map(|k| format!("http://ext.test/only/{k}")));
    for link in &links {
        assert_eq!(site.hits(link), 1, "{link} requested once in all");
    }
    // A page may also be checked once, by a worker that met a link to it before its fetch
    // answered (a shared crawl does not park), never more.
    let mut pages = vec![SEED.to_owned(), "http://site.test/missing".into()];
    pages.extend((1..=PAGES).map(|k| format!("http://site.test/p/{k}")));
    for page in &pages {
        let hits = site.hits(page);
        assert!((1..=2).contains(&hits), "{page}: {hits} requests");
    }
    let mut union = BTreeSet::new();
    let mut written = 0;
    for out in &outputs {
        for line in out.lines() {
            assert!(
                expected.contains(line),
                "a record one process does not write: {line}"
            );
        }
        written += out.lines().count();
        union.extend(lines_of(out));
    }
    assert_eq!(union, expected);
    assert_eq!(written, expected.len(), "no record written twice");
    let busy = outputs.iter().filter(|out| !out.is_empty()).count();
    assert!(
        busy >= 2,
        "the work was shared: {busy} workers wrote records"
    );
    // Every off-site link's status, as each worker wrote it, whoever checked it.
    for (link, status) in OFF_SITE {
        let written = outputs
            .iter()
            .flat_map(|out| out.lines())
            .filter(|line| line.split('\t').nth(1) == Some(link))
            .count();
        assert_eq!(written, PAGES, "{link}: one record per page");
        assert!(
            expected.contains(&format!("http://site.test/p/1\t{link}\t{status}")),
            "{link}: {status}"
        );
    }
}

#[test]
fn three_workers_on_one_redis_check_each_link_once_and_write_what_one_process_writes() {
    let redis = RedisServer::start();
    three_workers_check_each_link_once(&[redis.url()], "links");
    assert!(
        !redis.partition_keys("links", "checked").is_empty(),
        "statuses kept in the links' partitions"
    );
    let run = Areq::new().run(&["status", "--redis", &redis.url(), "--crawl", "links"]);
    run.assert_success();
    // 14 pages crawled (the seed, 12 pages, the missing one) and 17 off-site links, each once;
    // broken: the missing page, 404, 410, 500.
    assert!(
        run.stdout.contains("  links: 31 checked, 4 broken\n"),
        "{}",
        run.stdout
    );
    let run = Areq::new().run(&["forget", "--redis", &redis.url(), "--crawl", "links"]);
    run.assert_success();
    assert_eq!(redis.crawl_keys("links"), Vec::<String>::new());
}

#[test]
fn three_workers_entering_a_cluster_through_different_nodes_check_each_link_once() {
    let cluster = RedisCluster::start();
    let urls: Vec<String> = cluster
        .nodes()
        .iter()
        .enumerate()
        .map(|(i, node)| entry_url(node, i))
        .collect();
    three_workers_check_each_link_once(&urls, "cluster-links");
    let checked: Vec<String> = cluster
        .keys("areq:{cluster-links:*}:checked")
        .into_iter()
        .collect();
    assert!(
        checked.len() >= 3,
        "statuses in several partitions: {checked:?}"
    );
}

#[test]
fn a_worker_killed_while_it_checks_a_link_holds_up_the_others_for_one_lease_at_most() {
    let gate = Gate::new();
    let held = gate.clone();
    let slow = "http://slow.test/x";
    let site = TestServer::start(move |request: &Request| match request.path.as_str() {
        "http://site.test/a" | "http://other.test/b" => page_linking(&[slow.to_owned()]),
        url if url == slow => Reply::html("<p>late</p>").behind(&held),
        _ => Reply::status(404),
    });
    let redis = RedisServer::start();
    // The second worker's page is on a host of its own: the dead worker's page holds its host
    // (a first request to a host goes alone) until its lease is taken back.
    let lease = ["--lease", "5"];
    let (_first, mut first_child) =
        worker(&redis.url(), "dies", &site, "http://site.test/a", &lease);
    // The first worker has claimed the link and is checking it: its request waits here.
    gate.wait_until_held(1);
    first_child.kill().expect("kill -9 the first worker");
    first_child.wait().expect("reap the first worker");
    gate.open();
    let (second, second_child) = worker(&redis.url(), "dies", &site, "http://other.test/b", &lease);
    let run = finish_within(second_child, Duration::from_secs(60));
    run.assert_success();
    assert_shared_calls_answered(&run);
    assert!(
        run.stderr
            .contains("link being checked by another worker; waiting"),
        "the dead worker's claim held until it lapsed:\n{}",
        run.stderr
    );
    // The second worker waited for the dead one's claim to lapse, then checked the link
    // itself; it also fetched again the page the dead worker held.
    assert_eq!(site.hits(slow), 2);
    assert_eq!(
        lines_of(&second.read("out.tsv")),
        lines_of(&format!(
            "http://site.test/a\t{slow}\t200\nhttp://other.test/b\t{slow}\t200\n"
        ))
    );
}

#[test]
fn a_worker_with_check_joining_a_crawl_without_it_is_one_clear_line() {
    let site = site(Duration::ZERO);
    let redis = RedisServer::start();
    let areq = Areq::new();
    areq.input(&[SEED.to_owned()]);
    let url = redis.url();
    let plain = [
        "urls.txt", "-o", "out.tsv", "-d", "0", "--redis", &url, "--crawl", "plain",
    ];
    areq.run_with_env(&plain, &site.proxy_env())
        .assert_success();
    let mut checked = plain.to_vec();
    checked.push("--check");
    let run = areq.run_with_env(&checked, &site.proxy_env());
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("exists with other settings: check is false there, true here"),
        "{}",
        run.stderr
    );
}
