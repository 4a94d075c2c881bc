//! One crawl over a 3-master Redis Cluster on loopback: three workers, each entering through
//! a different node (`redis://127.0.0.1:PORT`), crawl 200 hosts (`127.1.x.y`, all the bundled
//! delay server, which logs every request). One row, checked four ways: every page fetched
//! once (counted at the server), the union of the workers' outputs equal to a single-process
//! crawl of the same seeds, the share of the crawl's keys on the fullest master (target ≤ 50%),
//! and `areq status` saying the same through every node.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

use crate::measure::{run_areq, Output, Run};
use crate::redis::RedisCluster;
use crate::report::{count, verdict, Row};
use crate::server::Server;
use crate::shared::{shared_args, SharedSettings};
use crate::workloads::{common, progress, write_urls};

/// Most of the crawl's keys any one master may hold.
pub const SHARE_TARGET: f64 = 0.5;
/// How long each page takes at the server.
const DELAY: Duration = Duration::from_millis(20);
/// `-d` of the crawl: a seed, its links, theirs.
const DEPTH: &str = "3";
/// Workers, one a node.
const WORKERS: usize = 3;
/// Longest one crawl may take.
const TIMEOUT: Duration = Duration::from_secs(600);

/// The Cluster row with its notes; none, with a note, when no Cluster can be made.
pub fn cluster(settings: &SharedSettings, work: &Path) -> (Vec<Row>, Vec<String>) {
    let cluster = match RedisCluster::start() {
        Ok(cluster) => cluster,
        Err(reason) => {
            let note = format!("shared Cluster row left out: {reason}");
            progress(&note);
            return (Vec::new(), vec![note]);
        }
    };
    let (hosts, per_host) = settings.cluster_hosts;
    let log = work.join("cluster-requests.log");
    let server = Server::start_delay_logged(DELAY, &log).expect("cannot start the delay server");
    let port = server.port();
    let seeds = work.join("cluster-seeds.txt");
    write_urls(&seeds, hosts * per_host, |i| {
        let host = i % hosts;
        format!(
            "http://127.1.{}.{}:{port}/h/{}",
            host / 250,
            host % 250 + 1,
            i / hosts
        )
    })
    .expect("cannot write the seeds");
    let args = |extra: &[String]| -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![seeds.clone().into()];
        for arg in ["-d", DEPTH, "-c", "20", "--per-host", "4", "-q"] {
            args.push(arg.into());
        }
        args.extend(extra.iter().map(OsString::from));
        args
    };

    progress("shared cluster: single-process reference crawl");
    let reference_out = work.join("cluster-reference.tsv");
    run_areq(&args(&[]), Output::File(&reference_out), TIMEOUT);
    let reference = records(std::slice::from_ref(&reference_out));
    let logged_before = read_log(&log).len();

    let name = "cluster";
    let outputs: Vec<PathBuf> = (0..WORKERS)
        .map(|i| work.join(format!("cluster-{i}.tsv")))
        .collect();
    let handles: Vec<_> = cluster
        .nodes
        .iter()
        .zip(&outputs)
        .map(|(node, output)| {
            let args = args(&shared_args(&node.url(), name));
            let output = output.clone();
            thread::spawn(move || run_areq(&args, Output::File(&output), TIMEOUT))
        })
        .collect();
    let runs: Vec<Run> = handles
        .into_iter()
        .map(|handle| handle.join().expect("a worker's measurement panicked"))
        .collect();
    let wall = runs.iter().map(|r| r.wall).max().unwrap_or_default();

    // Every page fetched once, at the server (robots.txt apart: once per host at most is
    // asked of the crawl's shared verdicts, but two workers may fetch it at once).
    let requests: Vec<String> = read_log(&log).split_off(logged_before);
    let mut fetched: BTreeMap<&str, usize> = BTreeMap::new();
    for request in &requests {
        *fetched.entry(request.as_str()).or_default() += 1;
    }
    let robots = |line: &&str| line.ends_with(" /robots.txt");
    let pages: Vec<(&str, usize)> = fetched
        .iter()
        .filter(|(line, _)| !robots(line))
        .map(|(line, n)| (*line, *n))
        .collect();
    let twice: Vec<&str> = pages.iter().filter(|(_, n)| *n > 1).map(|p| p.0).collect();
    let robots_fetches: usize = fetched
        .iter()
        .filter(|(line, _)| robots(line))
        .map(|(_, n)| n)
        .sum();
    let once = twice.is_empty();

    // The union of the outputs against the single process's.
    let union = records(&outputs);
    let same_output = union == reference;

    // Keys per master.
    let per_node: Vec<usize> = cluster
        .nodes
        .iter()
        .map(|node| node.crawl_keys(name).len())
        .collect();
    let total: usize = per_node.iter().sum();
    let share = per_node.iter().copied().max().unwrap_or(0) as f64 / total.max(1) as f64;

    // `areq status` through every node.
    let statuses: Vec<String> = cluster
        .nodes
        .iter()
        .map(|node| status(&node.url(), name))
        .collect();
    let same_status = statuses.windows(2).all(|pair| pair[0] == pair[1]);

    let checks = [
        (once, "every page fetched once"),
        (same_output, "outputs' union = single process"),
        (same_status, "status identical from every node"),
    ];
    let failed: Vec<&str> = checks
        .iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, what)| *what)
        .collect();
    let row = Row {
        workload: format!("shared: Redis Cluster, 3 masters, {WORKERS} workers (one a node)"),
        input: format!(
            "{} hosts × {per_host} seeds, -d {DEPTH} -c 20 --per-host 4, {} ms pages: {} pages \
             fetched ({} twice), {} records = single process: {}, status same on every node: {}",
            hosts,
            DELAY.as_millis(),
            count(pages.len() as u64),
            twice.len(),
            count(union.len() as u64),
            yes(same_output),
            yes(same_status),
        ),
        wall: format!("{:.2} s", wall.as_secs_f64()),
        rate: format!("{:.0} pages/s", pages.len() as f64 / wall.as_secs_f64()),
        floor: format!(
            "target ≤ {:.0}% of the keys on the fullest master; every check passes",
            SHARE_TARGET * 100.0
        ),
        ratio: verdict(
            &format!(
                "{:.1}% ({} of {} keys: {})",
                share * 100.0,
                per_node.iter().copied().max().unwrap_or(0),
                total,
                per_node
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(" / ")
            ),
            share <= SHARE_TARGET && failed.is_empty(),
        ),
        ..common(&runs)
    };
    let mut notes = vec![format!(
        "shared Cluster: {} page requests for {} distinct pages, robots.txt fetched {robots_fetches} \
         times for {hosts} hosts; checks failed: {}",
        count(requests.len() as u64 - robots_fetches as u64),
        count(pages.len() as u64),
        if failed.is_empty() {
            "none".to_owned()
        } else {
            failed.join(", ")
        }
    )];
    if !twice.is_empty() {
        notes.push(format!(
            "shared Cluster: fetched more than once: {}",
            twice.iter().take(5).copied().collect::<Vec<_>>().join(", ")
        ));
    }
    if !same_output {
        let missing = reference.iter().filter(|r| !union.contains(r)).count();
        let extra = union.iter().filter(|r| !reference.contains(r)).count();
        notes.push(format!(
            "shared Cluster: the outputs' union has {} records, the single process {} ({missing} \
             missing, {extra} not in it)",
            count(union.len() as u64),
            count(reference.len() as u64)
        ));
    }
    if !same_status {
        notes.push(format!(
            "shared Cluster: areq status differs between nodes: {:?}",
            statuses
        ));
    }
    for output in outputs.iter().chain([&reference_out]) {
        let _ = fs::remove_file(output);
    }
    (vec![row], notes)
}

/// The records of `outputs` (header lines left out), sorted: equal lists mean each record
/// was written as often.
fn records(outputs: &[PathBuf]) -> Vec<String> {
    let mut lines: Vec<String> = outputs
        .iter()
        .flat_map(|path| {
            let text = fs::read_to_string(path).expect("a worker wrote no output");
            text.lines().skip(1).map(str::to_owned).collect::<Vec<_>>()
        })
        .collect();
    lines.sort();
    lines
}

/// The server's request log, a line a request.
fn read_log(log: &Path) -> Vec<String> {
    fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `areq status --redis URL --crawl NAME`'s output.
fn status(url: &str, name: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_areq"))
        .args(["status", "--redis", url, "--crawl", name])
        .output()
        .expect("cannot run areq status");
    assert!(
        output.status.success(),
        "areq status failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn yes(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "NO"
    }
}
