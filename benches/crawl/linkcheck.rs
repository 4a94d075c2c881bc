//! Link checking against other link checkers: the site of `linkcheck_site.rs` (1,000 pages with
//! planted breakage of every kind), served by the bundled server, checked whole by areq
//! (`--check --links all`, recursive from the root) and by each installed peer (`peers.rs`).
//! Each checker's broken set (source, link, status class) is compared with the planted set:
//! found, found with another status, missed, and extra, per kind. Rows: wall, CPU and peak RSS
//! of each; target: areq at least [`SPEED_TARGET`] times faster than the fastest peer.

use std::collections::BTreeMap;
use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use url::Url;

use crate::findings::{self, Findings};
use crate::linkcheck_site::{self, Kind, Plant, DEAD_PORT};
use crate::measure::{median, run_program, try_run_program, Output, Run};
use crate::peers::{Job, Peer};
use crate::report::{count, megabytes, seconds, verdict, Row};
use crate::server::Server;
use crate::workloads::{common, progress, write_urls};

/// Pages of the link-checking site.
pub const PAGES: usize = 1_000;
/// areq's wall time must be at most the fastest peer's over this.
pub const SPEED_TARGET: f64 = 3.0;
/// Requests in flight, for every checker that has the knob.
const CONCURRENCY: usize = 64;
/// Whole-request timeout of every checker: short, as the hanging path costs each one of them.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Longest a checker may take before its row is left out.
const GIVE_UP: Duration = Duration::from_secs(240);

/// One checker's results.
struct Checked {
    label: String,
    flags: String,
    runs: Vec<Run>,
    found: Findings,
}

/// The link-checking rows and notes. `runs` rounds of areq; peers run once each (they take
/// much longer), and a peer that is not installed or fails is left out with a note.
pub fn linkcheck(target: &Path, runs: usize, work: &Path) -> (Vec<Row>, Vec<String>) {
    let home = target.join("bench-linkcheck");
    let dir = home.join("site");
    if dir.exists() {
        fs::remove_dir_all(&dir).expect("cannot remove the old link-checking site");
    }
    let site = linkcheck_site::generate(&dir, PAGES).expect("cannot generate the site");
    let mut notes = Vec::new();
    if TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], DEAD_PORT)),
        Duration::from_secs(1),
    )
    .is_ok()
    {
        notes.push(format!(
            "linkcheck: something listens on 127.0.0.1:{DEAD_PORT}, so the dead-host links are \
             not dead here"
        ));
    }
    let mut server = Server::start_planted(&dir).expect("cannot start the link-checking server");
    let root = format!("{}/", server.origin());
    let origin = Url::parse(&root).expect("the origin is a URL");
    progress(&format!(
        "linkcheck: {} pages, {} links, {} planted, at {root}",
        site.pages,
        count(site.links as u64),
        site.planted.len()
    ));
    let pages = work.join("linkcheck-pages.txt");
    write_urls(&pages, site.pages, |i| {
        format!("{}{}", server.origin(), linkcheck_site::page_path(i))
    })
    .expect("cannot write the page list");
    let job = Job {
        root: &root,
        pages: &pages,
        concurrency: CONCURRENCY,
        timeout: TIMEOUT,
        work: &home,
    };
    if !has_check_fragments(Path::new(env!("CARGO_BIN_EXE_areq"))) {
        notes.push(
            "linkcheck: this areq has no --check-fragments, so it checks no fragment and misses \
             the missing-fragment links"
                .to_owned(),
        );
    }
    let mut checked = vec![run_areq(&job, runs, work)];
    for peer in Peer::ALL {
        match run_peer(peer, &job, work) {
            Ok(result) => checked.push(result),
            Err(note) => {
                progress(&note);
                notes.push(note);
            }
        }
    }
    server.stop();
    let planted = planted_set(&site.planted, &origin);
    let rows = rows(&checked, &planted, site.pages, site.links);
    notes.extend(kind_notes(&checked, &site.planted, &planted));
    for result in &checked {
        notes.push(differences(result, &planted));
    }
    notes.push(format!(
        "linkcheck: every checker waits out the hanging link ({} timeout) at least once, so no \
         wall time is below it; timeout, concurrency and redirects are the same for all where \
         a checker has the knob; lychee does not crawl, so it is given the list of every page",
        seconds(TIMEOUT.as_secs_f64())
    ));
    (rows, notes)
}

/// Whether the areq under test has `--check-fragments`.
fn has_check_fragments(binary: &Path) -> bool {
    Command::new(binary)
        .arg("--help")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("--check-fragments"))
}

fn run_areq(job: &Job<'_>, runs: usize, work: &Path) -> Checked {
    let binary = Path::new(env!("CARGO_BIN_EXE_areq"));
    let c = job.concurrency.to_string();
    let timeout = job.timeout.as_secs_f64().to_string();
    let mut args: Vec<&str> = vec![
        job.root,
        "-d",
        "1000000",
        "--check",
        "--links",
        "all",
        "-c",
        &c,
        "--per-host",
        &c,
        "--timeout",
        &timeout,
        "--retries",
        "0",
        "-q",
    ];
    if has_check_fragments(binary) {
        args.push("--check-fragments");
    }
    let output = work.join("linkcheck-areq.tsv");
    let mut all = Vec::new();
    let mut found = Findings::new();
    for run in 1..=runs {
        let result = run_program(binary, &args, Output::File(&output), GIVE_UP, &[]);
        log(&format!("areq run {run}/{runs}"), &result);
        all.push(result);
        found = findings::areq_tsv(&fs::read_to_string(&output).expect("areq wrote no output"));
    }
    let _ = fs::remove_file(&output);
    Checked {
        label: "areq".to_owned(),
        flags: args[1..].join(" ").replace(job.root, "ROOT"),
        runs: all,
        found,
    }
}

fn run_peer(peer: Peer, job: &Job<'_>, work: &Path) -> Result<Checked, String> {
    let Some(program) = peer.find() else {
        return Err(format!(
            "linkcheck: {} is not installed ({}), so its row is left out",
            peer.program(),
            peer.install()
        ));
    };
    let label = peer.label(&program);
    let output = work.join(format!("linkcheck-{}.out", peer.program()));
    let run = try_run_program(
        &program,
        &peer.args(job),
        Output::Stdout(&output),
        GIVE_UP,
        peer.found_broken_codes(),
    )
    .map_err(|err| {
        let first = err.lines().next().unwrap_or_default().to_owned();
        format!("linkcheck: {label} left out: {first}")
    })?;
    log(&label, &run);
    let text = fs::read_to_string(&output).unwrap_or_default();
    let _ = fs::remove_file(&output);
    Ok(Checked {
        label,
        flags: peer.describe(job),
        runs: vec![run],
        found: peer.findings(&text),
    })
}

fn log(label: &str, run: &Run) {
    progress(&format!(
        "linkcheck {label}: {}, cpu {}, peak {}",
        seconds(run.wall.as_secs_f64()),
        seconds(run.cpu.as_secs_f64()),
        megabytes(run.max_rss_kib as f64)
    ));
}

/// The planted set: (source, link) to its kind, as URLs written by the `url` crate.
fn planted_set(plants: &[Plant], origin: &Url) -> BTreeMap<(String, String), Kind> {
    plants
        .iter()
        .map(|plant| {
            let (source, link) = plant.resolve(origin);
            ((source.to_string(), link.to_string()), plant.kind)
        })
        .collect()
}

/// Per checker: (found, found with another status, missed, extra).
fn score(found: &Findings, planted: &BTreeMap<(String, String), Kind>) -> [usize; 4] {
    let mut tally = [0; 4];
    for (pair, kind) in planted {
        match found.get(pair) {
            Some(class) if *class == kind.class() => tally[0] += 1,
            Some(_) => tally[1] += 1,
            None => tally[2] += 1,
        }
    }
    tally[3] = found
        .keys()
        .filter(|pair| !planted.contains_key(*pair))
        .count();
    tally
}

fn wall(result: &Checked) -> f64 {
    median(result.runs.iter().map(|r| r.wall.as_secs_f64()))
}

fn rows(
    checked: &[Checked],
    planted: &BTreeMap<(String, String), Kind>,
    pages: usize,
    links: usize,
) -> Vec<Row> {
    let fastest_peer = checked[1..]
        .iter()
        .min_by(|a, b| wall(a).total_cmp(&wall(b)));
    let mut rows = Vec::new();
    for (i, result) in checked.iter().enumerate() {
        let [found, other, missed, extra] = score(&result.found, planted);
        let mut row = Row {
            workload: format!("linkcheck: {}", result.label),
            input: format!(
                "{} pages, {} links, {} planted; {}",
                count(pages as u64),
                count(links as u64),
                planted.len(),
                result.flags
            ),
            rate: format!("found {found}, other status {other}, missed {missed}, extra {extra}"),
            ..common(&result.runs)
        };
        if i == 0 {
            if let Some(peer) = fastest_peer {
                let ratio = wall(peer) / wall(result);
                row.floor = format!("target ≥ {SPEED_TARGET}x faster than {}", peer.label);
                row.ratio = verdict(&format!("{ratio:.2}x"), ratio >= SPEED_TARGET);
            }
        } else {
            row.floor = "areq's speedup over it".to_owned();
            row.ratio = format!("{:.2}x", wall(result) / wall(&checked[0]));
        }
        rows.push(row);
    }
    rows
}

/// One note per kind: how many of its planted links each checker found.
fn kind_notes(
    checked: &[Checked],
    plants: &[Plant],
    planted: &BTreeMap<(String, String), Kind>,
) -> Vec<String> {
    let mut notes = Vec::new();
    for kind in Kind::ALL {
        let total = plants.iter().filter(|p| p.kind == kind).count();
        let cells: Vec<String> = checked
            .iter()
            .map(|result| {
                let mut found = 0;
                let mut other = BTreeMap::<String, usize>::new();
                for (pair, _) in planted.iter().filter(|(_, k)| **k == kind) {
                    match result.found.get(pair) {
                        Some(class) if *class == kind.class() => found += 1,
                        Some(class) => *other.entry(class.to_string()).or_default() += 1,
                        None => {}
                    }
                }
                let mut cell = format!("{} {found}", result.label);
                if !other.is_empty() {
                    let other: Vec<String> =
                        other.iter().map(|(c, n)| format!("{n} as {c}")).collect();
                    cell.push_str(&format!(" (+{})", other.join(", ")));
                }
                cell
            })
            .collect();
        notes.push(format!(
            "linkcheck, {} (expected status {}, {total} planted): {}",
            kind.name(),
            kind.class(),
            cells.join("; ")
        ));
    }
    notes
}

/// What a checker missed and reported beyond the planted set, by kind and class, with an
/// example of each.
fn differences(result: &Checked, planted: &BTreeMap<(String, String), Kind>) -> String {
    let mut missed = BTreeMap::<&str, (usize, String)>::new();
    for ((source, link), kind) in planted {
        let class = result.found.get(&(source.clone(), link.clone()));
        if class != Some(&kind.class()) {
            let entry = missed.entry(kind.name()).or_insert((0, String::new()));
            entry.0 += 1;
            if entry.1.is_empty() {
                let said = class.map_or_else(|| "not reported".to_owned(), |c| c.to_string());
                entry.1 = format!("{link} on {source}: {said}");
            }
        }
    }
    let mut extra = BTreeMap::<String, (usize, String)>::new();
    for ((source, link), class) in &result.found {
        if !planted.contains_key(&(source.clone(), link.clone())) {
            let entry = extra.entry(class.to_string()).or_insert((0, String::new()));
            entry.0 += 1;
            if entry.1.is_empty() {
                entry.1 = format!("{link} on {source}");
            }
        }
    }
    let list = |map: Vec<(String, (usize, String))>| {
        if map.is_empty() {
            "none".to_owned()
        } else {
            map.iter()
                .map(|(what, (n, example))| format!("{what} ×{n} (e.g. {example})"))
                .collect::<Vec<_>>()
                .join("; ")
        }
    };
    let missed = missed.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    format!(
        "linkcheck, {}: missed or other status: {}. Extra: {}",
        result.label,
        list(missed),
        list(extra.into_iter().collect())
    )
}
