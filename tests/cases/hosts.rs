//! Many hosts and slow DNS: open sockets follow the concurrency, not the number of hosts;
//! the open-file limit is raised or the concurrency fitted to it; names are looked up once,
//! concurrently, and a name that does not resolve fails only its own pages, with `dns`.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::cmd::{Areq, Run};
use crate::support::dns::DnsServer;
use crate::support::hosts::{loopback_hosts, HostsServer};
use crate::support::limited::run_with_open_files;

/// Connections the server may see open beyond `-c`: the few idle hosts kept alive, and
/// connections being closed.
const SLACK: usize = 8;

/// The run's `--summary-json`, parsed.
fn summary(areq: &Areq) -> Value {
    serde_json::from_str(&areq.read("summary.json")).expect("summary.json is JSON")
}

fn pages(summary: &Value, field: &str) -> u64 {
    summary["pages"][field].as_u64().expect("a page count")
}

fn assert_all_ok(run: &Run, areq: &Areq, expected: u64) {
    run.assert_success();
    let summary = summary(areq);
    assert_eq!(pages(&summary, "ok"), expected, "stderr:\n{}", run.stderr);
    assert_eq!(pages(&summary, "failed"), 0, "stderr:\n{}", run.stderr);
}

#[test]
fn two_thousand_hosts_under_an_open_file_limit_of_256_all_succeed() {
    let hosts = loopback_hosts(2000);
    let server = HostsServer::start_on(&hosts);
    let areq = Areq::new();
    let urls: Vec<String> = hosts.iter().map(|host| server.url(host, "/")).collect();
    areq.input(&urls);
    let run = run_with_open_files(
        &areq,
        256,
        &[
            "urls.txt",
            "-o",
            "out.tsv",
            "-c",
            "64",
            "--summary-json",
            "summary.json",
        ],
    );
    assert_all_ok(&run, &areq, 2000);
    assert!(
        !run.stderr.contains("open-file limit"),
        "256 descriptors carry -c 64: {}",
        run.stderr
    );
    assert_eq!(server.requests(), 2000);
    assert_eq!(server.distinct_hosts(), 2000);
    assert!(
        server.max_open() <= 64 + SLACK,
        "{} connections open at once with -c 64",
        server.max_open()
    );
}

#[test]
fn a_concurrency_the_open_file_limit_cannot_carry_is_lowered_with_one_warning() {
    let hosts = loopback_hosts(600);
    let server = HostsServer::start_on(&hosts);
    let areq = Areq::new();
    let urls: Vec<String> = hosts.iter().map(|host| server.url(host, "/")).collect();
    areq.input(&urls);
    let args = [
        "urls.txt",
        "-o",
        "out.tsv",
        "-c",
        "1000",
        "--summary-json",
        "summary.json",
    ];
    let run = run_with_open_files(&areq, 256, &args);
    assert_all_ok(&run, &areq, 600);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains("open-file limit"))
        .collect();
    assert_eq!(warnings.len(), 1, "stderr:\n{}", run.stderr);
    assert!(
        warnings[0].contains("(256) allows 64 requests in flight, not 1000"),
        "{}",
        warnings[0]
    );
    assert!(
        server.max_open() <= 64 + SLACK,
        "{} connections open at once with -c lowered to 64",
        server.max_open()
    );
}

#[test]
fn a_host_with_many_pages_keeps_its_connections_alive() {
    let server = HostsServer::start();
    let areq = Areq::new();
    let urls: Vec<String> = (0..200)
        .map(|i| server.url("127.0.0.1", &format!("/p{i}")))
        .collect();
    areq.input(&urls);
    let run = areq.run(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--per-host",
        "4",
        "--summary-json",
        "summary.json",
    ]);
    assert_all_ok(&run, &areq, 200);
    assert!(
        server.connections() <= 8,
        "{} connections for 200 pages of one host at --per-host 4",
        server.connections()
    );
}

/// 500 names under `.test`, four pages each, through a resolver that answers in 100 ms.
#[test]
fn each_name_is_looked_up_once_and_lookups_run_concurrently() {
    let dns = DnsServer::start(Duration::from_millis(100));
    let server = HostsServer::start();
    let areq = Areq::new();
    let names: Vec<String> = (0..500).map(|i| format!("h{i}.test")).collect();
    let urls: Vec<String> = names
        .iter()
        .flat_map(|name| (0..4).map(move |page| (name.clone(), page)))
        .map(|(name, page)| server.url(&name, &format!("/p{page}")))
        .collect();
    areq.input(&urls);
    let started = Instant::now();
    let run = areq.run(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "-c",
        "64",
        "--dns-server",
        &dns.addr(),
        "--summary-json",
        "summary.json",
    ]);
    let took = started.elapsed();
    assert_all_ok(&run, &areq, 2000);
    for name in &names {
        assert_eq!(dns.queries(name, "A"), 1, "A queries for {name}");
        assert!(dns.queries(name, "AAAA") <= 1, "AAAA queries for {name}");
    }
    assert!(
        dns.max_names_in_flight() <= 64,
        "{} lookups in flight with -c 64",
        dns.max_names_in_flight()
    );
    // One lookup at a time would take 500 × 100 ms = 50 s; concurrently, about a second.
    assert!(
        took < Duration::from_secs(20),
        "2000 pages over 500 names took {took:?}"
    );
}

#[test]
fn a_name_that_times_out_or_does_not_exist_fails_its_pages_with_dns_and_the_rest_go_on() {
    let dns = DnsServer::start(Duration::from_millis(20));
    let server = HostsServer::start();
    let areq = Areq::new();
    let mut urls = Vec::new();
    for page in 0..3 {
        urls.push(server.url("silent.test", &format!("/p{page}")));
        urls.push(server.url("nx.test", &format!("/p{page}")));
    }
    for i in 0..20 {
        urls.push(server.url(&format!("ok{i}.test"), "/"));
    }
    areq.input(&urls);
    let started = Instant::now();
    let run = areq.run(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--connect-timeout",
        "1",
        "--dns-server",
        &dns.addr(),
        "--summary-json",
        "summary.json",
    ]);
    let took = started.elapsed();
    assert_eq!(run.code(), 0, "stderr:\n{}", run.stderr);
    let summary = summary(&areq);
    assert_eq!(pages(&summary, "ok"), 20, "stderr:\n{}", run.stderr);
    assert_eq!(pages(&summary, "failed"), 6, "stderr:\n{}", run.stderr);
    assert_eq!(summary["failures"]["dns"], 6, "stderr:\n{}", run.stderr);
    assert!(
        run.stderr
            .contains("lookup of silent.test timed out after 750 ms"),
        "stderr:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("no such host nx.test"),
        "stderr:\n{}",
        run.stderr
    );
    // The three pages of a name share one lookup: not 3 × 750 ms, and asked once.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(dns.queries("nx.test", "A"), 1);
}

#[test]
fn a_resolver_that_is_down_fails_pages_with_dns() {
    // A UDP port nobody listens on: queries are refused at once.
    let down = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = down.local_addr().unwrap().to_string();
    drop(down);
    let server = HostsServer::start();
    let areq = Areq::new();
    areq.input(&[server.url("a.test", "/"), server.url("127.0.0.1", "/")]);
    let run = areq.run(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--connect-timeout",
        "1",
        "--dns-server",
        &addr,
        "--summary-json",
        "summary.json",
    ]);
    assert_eq!(run.code(), 0, "stderr:\n{}", run.stderr);
    let summary = summary(&areq);
    assert_eq!(pages(&summary, "ok"), 1, "an address needs no lookup");
    assert_eq!(summary["failures"]["dns"], 1, "stderr:\n{}", run.stderr);
}

#[test]
fn a_dns_server_that_is_not_an_address_is_a_usage_error() {
    let areq = Areq::new();
    let run = areq.run(&["urls.txt", "--dns-server", "dns.example"]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr
            .contains("invalid value 'dns.example' for '--dns-server <ADDR[:PORT]>'"),
        "{}",
        run.stderr
    );
}
