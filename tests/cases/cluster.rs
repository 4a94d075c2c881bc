//! One crawl kept in a real 3-master Redis Cluster: workers entering through different nodes
//! (most of them not the node owning the crawl's slot), with a `redis://` URL (the Cluster
//! detected) or a `redis+cluster://` one, a crawl of many hosts spread over every master,
//! and `areq status` and `areq forget` from any node.

use std::collections::BTreeSet;
use std::process::Child;
use std::time::Duration;

use super::shared::{single_process_lines, union, CRAWL};
use crate::support::cmd::{finish, Areq, Run};
use crate::support::hosts::{loopback_hosts, HostsServer};
use crate::support::redis::{RedisCluster, RedisServer};
use crate::support::server::TestServer;
use crate::support::tree::{lines_of, page_hits, tree_site, PAGES};

/// The key every script of crawl `name` is routed by.
fn settings_key(name: &str) -> String {
    format!("areq:{{{name}}}:settings")
}

/// A name for a crawl whose slot is on each node in turn.
fn names_on_each_node(cluster: &RedisCluster) -> Vec<String> {
    (0..cluster.nodes().len())
        .map(|node| {
            (0..)
                .map(|n| format!("spread-{n}"))
                .find(|name| cluster.owner_of(&settings_key(name)) == node)
                .expect("some name hashes to every node")
        })
        .collect()
}

/// The URL entering the Cluster through `node`: node 0 is named as a Cluster
/// (`redis+cluster://`), the others by a plain `redis://` URL, which the worker finds to be
/// a Cluster node.
pub(super) fn entry_url(node: &RedisServer, index: usize) -> String {
    let url = node.url();
    if index == 0 {
        url.replacen("redis://", "redis+cluster://", 1)
    } else {
        url
    }
}

/// Starts a worker of crawl `name` entering through `url`, in a directory of its own, with
/// the shared frontier's decisions logged: calls whose failure a worker shrugs off (a send
/// turn, a robots.txt verdict, a wake-up) are there.
fn worker(url: &str, name: &str, site: &TestServer, extra: &[&str]) -> (Areq, Child) {
    let areq = Areq::new();
    areq.input(&[site.url("/")]);
    let mut args: Vec<&str> = CRAWL.to_vec();
    args.extend(["--redis", url, "--crawl", name]);
    args.extend(extra);
    let env = [(
        "RUST_LOG".to_owned(),
        "areq::frontier::redis=debug".to_owned(),
    )];
    let child = areq.spawn_with_env(&args, &env);
    (areq, child)
}

/// Asserts that a worker found the Cluster and that none of its calls went to a node that
/// refused it.
fn assert_routed(run: &Run, name: &str) {
    assert!(
        run.stderr.contains("connected to redis cluster=true"),
        "{name}: the worker took the Cluster for one server:\n{}",
        run.stderr
    );
    for failed in [
        "send turn not taken",
        "robots.txt verdict not",
        "no wake-ups from redis",
    ] {
        assert!(
            !run.stderr.contains(failed),
            "{name}: {failed}:\n{}",
            run.stderr
        );
    }
}

/// A crawl under way: its name, its site, and its workers.
type Crawl<'a> = (&'a String, TestServer, Vec<(Areq, Child)>);

fn status(url: &str, name: &str) -> Run {
    Areq::new().run(&["status", "--redis", url, "--crawl", name])
}

#[test]
fn workers_entering_a_cluster_through_nodes_not_owning_the_crawls_slot_fetch_every_page_once() {
    let delay = Duration::from_millis(15);
    let expected = single_process_lines(delay);
    let cluster = RedisCluster::start();
    let names = names_on_each_node(&cluster);
    // Three crawls at once, each with a worker on every node: for each crawl, two workers
    // enter through a node that does not own its slot. A rate makes every request take a
    // send turn.
    let crawls: Vec<Crawl> = names
        .iter()
        .map(|name| {
            let site = tree_site(delay);
            let workers = cluster
                .nodes()
                .iter()
                .enumerate()
                .map(|(i, node)| worker(&entry_url(node, i), name, &site, &["--rate", "500"]))
                .collect();
            (name, site, workers)
        })
        .collect();
    for (name, site, workers) in crawls {
        let mut dirs = Vec::new();
        for (areq, child) in workers {
            let run = finish(child);
            run.assert_success();
            assert_routed(&run, name);
            dirs.push(areq);
        }
        let hits = page_hits(&site);
        assert_eq!(
            hits.len(),
            PAGES + 1,
            "{name}: every page fetched: {hits:?}"
        );
        assert!(
            hits.values().all(|&n| n == 1),
            "{name}: no page fetched twice: {hits:?}"
        );
        assert_eq!(site.hits("/robots.txt"), 1, "{name}: robots.txt once");
        assert_eq!(
            union(&dirs.iter().collect::<Vec<_>>(), &site),
            expected,
            "{name}"
        );

        // The same answer from every node, whichever owns the crawl.
        let answers: Vec<String> = cluster
            .nodes()
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let run = status(&entry_url(node, i), name);
                run.assert_success();
                run.stdout
            })
            .collect();
        assert!(
            answers[0].starts_with(&format!("crawl {name}: finished\n")),
            "{}",
            answers[0]
        );
        assert!(
            answers[0].contains(&format!("pages: {} ok, 0 failed", PAGES + 1)),
            "{}",
            answers[0]
        );
        assert!(
            answers.iter().all(|answer| *answer == answers[0]),
            "{name}: status differs between nodes: {answers:#?}"
        );
    }
}

/// Crawls 200 hosts, three pages deep each, from `urls.txt` with the `--redis` arguments
/// `shared` (none: one process alone); returns the directory the run wrote in.
fn many_hosts_worker(server: &HostsServer, hosts: &[String], shared: &[&str]) -> (Areq, Child) {
    let areq = Areq::new();
    let urls: Vec<String> = hosts.iter().map(|host| server.url(host, "/")).collect();
    areq.input(&urls);
    let mut args = vec![
        "urls.txt",
        "-o",
        "out.tsv",
        "--no-header",
        "-d",
        "2",
        "-c",
        "20",
    ];
    args.extend(shared);
    let child = areq.spawn(&args);
    (areq, child)
}

#[test]
fn a_crawl_of_many_hosts_spreads_its_keys_over_every_master_and_fetches_each_page_once() {
    let hosts = loopback_hosts(200);
    let alone = HostsServer::start_on(&hosts);
    let (areq, child) = many_hosts_worker(&alone, &hosts, &[]);
    finish(child).assert_success();
    let port = alone.port().to_string();
    let expected = lines_of(&areq.read("out.tsv").replace(&port, "{PORT}"));
    assert_eq!(expected.len(), 200 * 3, "three pages a host, one link each");

    let cluster = RedisCluster::start();
    let server = HostsServer::start_on(&hosts);
    let workers: Vec<(Areq, Child)> = cluster
        .nodes()
        .iter()
        .map(|node| {
            let url = node.url();
            many_hosts_worker(&server, &hosts, &["--redis", &url, "--crawl", "hosts"])
        })
        .collect();
    let mut union = BTreeSet::new();
    let mut shares = Vec::new();
    for (areq, child) in workers {
        finish(child).assert_success();
        let lines = lines_of(
            &areq
                .read("out.tsv")
                .replace(&server.port().to_string(), "{PORT}"),
        );
        shares.push(lines.len());
        union.extend(lines);
    }
    assert_eq!(
        union, expected,
        "the workers together wrote what one process wrote"
    );
    // robots.txt and three pages on every host, each once.
    let requests = server.requests_by_host();
    assert_eq!(requests.len(), 200);
    assert!(
        requests.values().all(|&n| n == 4),
        "each page fetched once: {requests:?}"
    );
    assert!(
        shares.iter().filter(|&&n| n > 0).count() >= 2,
        "the work was shared: {shares:?}"
    );

    let per_node = cluster.crawl_keys_per_node("hosts");
    let total: usize = per_node.iter().sum();
    assert!(
        per_node.iter().all(|&n| n * 2 <= total),
        "no master holds more than half of the crawl's {total} keys: {per_node:?}"
    );
    let answers: Vec<String> = cluster
        .nodes()
        .iter()
        .map(|node| {
            let run = status(&node.url(), "hosts");
            run.assert_success();
            run.stdout
        })
        .collect();
    assert!(
        answers[0].contains("pages: 600 ok, 0 failed"),
        "{}",
        answers[0]
    );
    assert!(
        answers.iter().all(|answer| *answer == answers[0]),
        "status differs between nodes: {answers:#?}"
    );
}

#[test]
fn forget_from_any_node_deletes_every_key_of_the_crawl_and_only_its_keys() {
    let cluster = RedisCluster::start();
    let names = names_on_each_node(&cluster);
    let site = tree_site(Duration::ZERO);
    for (i, name) in names.iter().enumerate() {
        // Each crawl made through a node that does not own its slot.
        let entry = &cluster.nodes()[(i + 1) % names.len()];
        let (_areq, child) = worker(&entry.url(), name, &site, &["--max-pages", "5"]);
        finish(child).assert_success();
        assert!(
            cluster.crawl_keys(name).len() > 3,
            "{name}: the crawl left its keys"
        );
    }
    for (i, name) in names.iter().enumerate() {
        // Forgotten through yet another node than the one that made it.
        let entry = &cluster.nodes()[(i + 2) % names.len()];
        let url = entry_url(entry, (i + 2) % names.len());
        let run = Areq::new().run(&["forget", "--redis", &url, "--crawl", name]);
        run.assert_success();
        assert_eq!(
            cluster.crawl_keys(name),
            Vec::<String>::new(),
            "{name}: no key left on any node"
        );
        for (later, other) in names.iter().enumerate().skip(i + 1) {
            assert!(
                !cluster.crawl_keys(other).is_empty(),
                "forgetting {name} kept crawl {later}"
            );
        }
        for node in cluster.nodes() {
            let run = status(&node.url(), name);
            assert_eq!(run.code(), 1, "{}", run.stdout);
            assert!(
                run.stderr.contains(&format!("crawl {name}: no such crawl")),
                "{}",
                run.stderr
            );
        }
    }
}

#[test]
fn a_cluster_url_for_a_server_that_is_not_a_cluster_is_one_clear_line() {
    let redis = RedisServer::start();
    let url = redis.url().replacen("redis://", "redis+cluster://", 1);
    let site = tree_site(Duration::ZERO);
    let areq = Areq::new();
    areq.input(&[site.url("/")]);
    let run = areq.run(&["urls.txt", "-o", "out.tsv", "--redis", &url, "--crawl", "x"]);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with(&format!("areq: crawl x: redis at {url}")),
        "{}",
        run.stderr
    );
    assert!(!areq.path("out.tsv").exists(), "nothing written");
}
