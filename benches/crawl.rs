//! The crawl benchmark: `cargo bench --bench crawl` (full, 15–20 minutes) or
//! `AREQ_BENCH_QUICK=1 cargo bench --bench crawl` (smoke check, about a minute once built).
//!
//! It generates a deterministic synthetic site under the target dir, serves it from a separate
//! process on 127.0.0.1 (nginx when installed, else this binary re-executed as a small server),
//! and measures areq against floors taken in the same run, and against a kept baseline: areq's
//! release binary built once from a pinned commit, the last before the speed work:
//!
//! 1. extraction on one core: `tree_links` against `extract_links` over every page, which must
//!    find the same links in the same order; `extract_links` is the parse floor;
//! 2. throughput over every page of the site, against the parse floor and the baseline (the
//!    output is checked line for line against the expected count), and areq's peak RSS;
//! 3. a recursive crawl of the whole site from its index page, against the baseline, and its CPU
//!    per page against the list's;
//! 4. latency: pages that each take 100 ms, against `ceil(urls / concurrency) × 100 ms`;
//! 5. memory: peak RSS for a short and a long list of distinct URLs, which should be flat;
//! 6. many hosts: the same pages over one host and over a thousand, pages/s and peak RSS;
//!    and slow DNS: 500 names through a resolver answering in 100 ms, against
//!    `ceil(names / -c) × 100 ms` plus the fetch time;
//! 7. the shared crawl through Redis, when `redis-server` is installed: one worker against the
//!    memory frontier (the site's list, and the Rust docs crawled), workers 1 to 8, a 3-master
//!    Cluster, and Redis's memory per seen URL and per queued job at a million URLs;
//! 8. the Rust docs, when installed (full mode, or `AREQ_BENCH_DOCS=1`): `tree_links` against
//!    the default path on every page, and a crawl by areq, the baseline and wget2;
//! 9. link checking (`--check`) of a site with planted breakage by areq and by linkinator,
//!    LinkChecker and lychee when installed: what each finds and misses, and their speed.
//!
//! The table goes to stdout and to `target/bench-results.md`; progress goes to stderr.
//! `AREQ_BENCH_SERVER=auto|nginx|bundled` picks the static server (default `auto`),
//! `AREQ_BENCH_ONLY=site,docs,linkcheck,…` runs some workloads only, `AREQ_BENCH_BASELINE=FILE` names
//! the baseline binary. See `benches/README.md`.

#[path = "crawl/baseline.rs"]
mod baseline;
#[path = "crawl/contenders.rs"]
mod contenders;
#[path = "crawl/docs.rs"]
mod docs;
#[path = "crawl/docs_crawl.rs"]
mod docs_crawl;
#[path = "crawl/docs_diff.rs"]
mod docs_diff;
#[path = "crawl/extraction.rs"]
mod extraction;
#[path = "crawl/findings.rs"]
mod findings;
#[path = "crawl/hosts.rs"]
mod hosts;
#[path = "crawl/http.rs"]
mod http;
#[path = "crawl/linkcheck.rs"]
mod linkcheck;
#[path = "crawl/linkcheck_site.rs"]
mod linkcheck_site;
#[path = "crawl/measure.rs"]
mod measure;
#[path = "crawl/peers.rs"]
mod peers;
#[path = "crawl/pinning.rs"]
mod pinning;
#[path = "crawl/process.rs"]
mod process;
#[path = "crawl/redis.rs"]
mod redis;
#[path = "crawl/report.rs"]
mod report;
#[path = "crawl/rng.rs"]
mod rng;
#[path = "crawl/select.rs"]
mod select;
#[path = "crawl/server.rs"]
mod server;
#[path = "crawl/shared.rs"]
mod shared;
#[path = "crawl/shared_cluster.rs"]
mod shared_cluster;
#[path = "crawl/shared_docs.rs"]
mod shared_docs;
#[path = "crawl/shared_memory.rs"]
mod shared_memory;
#[path = "crawl/site.rs"]
mod site;
#[path = "crawl/speed.rs"]
mod speed;
#[path = "crawl/workloads.rs"]
mod workloads;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use baseline::Baseline;
use contenders::Contenders;
use report::Context;
use select::{Group, Selection};
use server::{Choice, Server};
use workloads::{progress, SiteRun};

/// Sizes and repetitions of one benchmark run.
#[derive(Debug, Clone)]
struct Settings {
    quick: bool,
    /// Runs of every workload; the median is reported.
    runs: usize,
    /// Pages of the synthetic site.
    pages: usize,
    /// URLs, delay and concurrency of the latency workload.
    latency_urls: usize,
    latency_delay: Duration,
    latency_concurrency: usize,
    /// List lengths of the memory workload, shortest first.
    memory_sizes: Vec<usize>,
    /// Runs of the memory workload (the long list takes the longest of all).
    memory_runs: usize,
    /// Hosts and pages per host of the many-hosts workload.
    hosts: (usize, usize),
    /// Names, pages per name and lookup delay of the slow-DNS workload.
    dns: (usize, usize, Duration),
    server: Choice,
    /// The shared-crawl workloads.
    shared: shared::SharedSettings,
    /// Rounds of the docs crawl (areq, the baseline and wget2 each once a round).
    docs_runs: usize,
    /// Which workloads run.
    select: Selection,
}

impl Settings {
    /// Full unless `AREQ_BENCH_QUICK` is set to something other than `0` or empty.
    fn from_env() -> Self {
        let quick = std::env::var("AREQ_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let server = Choice::from_env();
        let select = Selection::from_env(quick);
        if quick {
            Settings {
                quick,
                runs: 1,
                pages: 1_000,
                latency_urls: 1_000,
                latency_delay: Duration::from_millis(100),
                latency_concurrency: 100,
                memory_sizes: vec![20_000, 100_000],
                memory_runs: 1,
                hosts: (200, 10),
                dns: (500, 4, Duration::from_millis(100)),
                server,
                shared: shared::SharedSettings {
                    runs: 1,
                    scaling_urls: 1_600,
                    scaling_delay: Duration::from_millis(100),
                    scaling_concurrency: 20,
                    memory_urls: 20_000,
                    link_pages: (100, 1_000),
                    docs_depth: 2,
                    cluster_hosts: (200, 2),
                    server,
                },
                docs_runs: 1,
                select,
            }
        } else {
            Settings {
                quick,
                runs: 3,
                pages: 10_000,
                latency_urls: 1_000,
                latency_delay: Duration::from_millis(100),
                latency_concurrency: 100,
                memory_sizes: vec![100_000, 1_000_000],
                memory_runs: 3,
                hosts: (1_000, 10),
                dns: (500, 4, Duration::from_millis(100)),
                server,
                shared: shared::SharedSettings {
                    runs: 3,
                    scaling_urls: 8_000,
                    scaling_delay: Duration::from_millis(100),
                    scaling_concurrency: 20,
                    memory_urls: 100_000,
                    link_pages: (1_000, 1_000),
                    docs_depth: 1_000_000,
                    cluster_hosts: (200, 10),
                    server,
                },
                docs_runs: 3,
                select,
            }
        }
    }

    fn describe(&self) -> String {
        let mode = if self.quick { "quick" } else { "full" };
        format!(
            "{mode} ({} run(s) per workload, {} for memory, {} for the docs crawl; medians \
             reported); workloads: {}",
            self.runs,
            self.memory_runs,
            self.docs_runs,
            self.select.describe()
        )
    }
}

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args
        .first()
        .is_some_and(|flag| flag == measure::MEASURE_FLAG)
    {
        measure::measure_main(&args[1..]);
    }
    if let Some((mode, port)) = http::mode_from_args(&args) {
        http::serve(mode, port);
    }
    let settings = Settings::from_env();
    let started = Instant::now();
    let load_at_start = report::load_average();
    let target = target_dir();
    let work = tempfile::Builder::new()
        .prefix("areq-bench")
        .tempdir()
        .expect("cannot create a temp dir");
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let baseline = if settings.select.runs(Group::Site) || settings.select.runs(Group::Docs) {
        find_baseline(&target, &mut notes)
    } else {
        None
    };
    let contenders = Contenders::new(baseline.as_ref());

    let site_needed = settings.select.runs(Group::Site) || settings.select.runs(Group::Shared);
    let site = site_needed.then(|| {
        let dir = target.join(if settings.quick {
            "bench-site-quick"
        } else {
            "bench-site"
        });
        progress(&format!(
            "site: {} pages in {}",
            settings.pages,
            dir.display()
        ));
        let manifest = site::ensure_site(&dir, settings.pages).expect("cannot generate the site");
        (dir, manifest)
    });
    let mut static_server = "not used".to_owned();
    if let (Some((dir, manifest)), true) = (&site, settings.select.runs(Group::Site)) {
        let (name, site_rows, site_notes) =
            site_workloads(dir, manifest, &contenders, &settings, work.path());
        static_server = name;
        rows.extend(site_rows);
        notes.extend(site_notes);
    }
    if settings.select.runs(Group::Latency) {
        rows.push(workloads::latency(
            settings.latency_urls,
            settings.latency_delay,
            settings.latency_concurrency,
            settings.runs,
            work.path(),
        ));
    }
    if settings.select.runs(Group::Memory) {
        let (memory_rows, memory_notes) =
            workloads::memory(&settings.memory_sizes, settings.memory_runs, work.path());
        rows.extend(memory_rows);
        notes.extend(memory_notes);
    }
    if settings.select.runs(Group::Hosts) {
        let (hosts, per_host) = settings.hosts;
        let (host_rows, fetch_rate) =
            hosts::many_hosts(hosts, per_host, settings.runs, work.path());
        rows.extend(host_rows);
        let (names, per_name, delay) = settings.dns;
        rows.push(hosts::slow_dns(
            names,
            per_name,
            delay,
            64,
            fetch_rate,
            settings.runs,
            work.path(),
        ));
    }
    if let (Some((dir, manifest)), true) = (&site, settings.select.runs(Group::Shared)) {
        let server =
            Server::start_static(dir, settings.server).expect("cannot start the static server");
        if static_server == "not used" {
            static_server = server.name.clone();
        }
        let origin = server.origin();
        let site_run = SiteRun {
            dir,
            manifest,
            origin: &origin,
        };
        let (shared_rows, shared_notes) = shared::shared(&site_run, &settings.shared, work.path());
        rows.extend(shared_rows);
        notes.extend(shared_notes);
    }
    if settings.select.runs(Group::Docs) {
        let (docs_rows, docs_notes) = docs_workloads(&contenders, &settings, work.path());
        rows.extend(docs_rows);
        notes.extend(docs_notes);
    } else if settings.select.docs_left_for_quick() {
        progress("docs: left out in quick mode (AREQ_BENCH_DOCS=1 runs them)");
    }
    if settings.select.runs(Group::Linkcheck) {
        let (check_rows, check_notes) = linkcheck::linkcheck(&target, settings.runs, work.path());
        rows.extend(check_rows);
        notes.extend(check_notes);
    }

    let context = Context {
        mode: settings.describe(),
        static_server,
        site: site.as_ref().map_or_else(
            || "not used".to_owned(),
            |(_, manifest)| describe_site(manifest),
        ),
        baseline: baseline.as_ref().map_or_else(
            || "none".to_owned(),
            |baseline| format!("areq {} ({})", baseline.name, baseline.binary.display()),
        ),
        load_at_start,
    };
    let manifest = site.as_ref().map(|(_, manifest)| manifest);
    let notes = all_notes(&settings.select, manifest, notes, started.elapsed());
    let text = report::render(&context, &rows, &notes);
    print!("{text}");
    let results = target.join("bench-results.md");
    fs::write(&results, &text).expect("cannot write the results");
    progress(&format!("results written to {}", results.display()));
}

/// The baseline, or `None` with its reason printed once and kept as a note.
fn find_baseline(target: &Path, notes: &mut Vec<String>) -> Option<Baseline> {
    match baseline::baseline(target) {
        Ok(baseline) => {
            progress(&format!(
                "baseline: areq {} at {}",
                baseline.name,
                baseline.binary.display()
            ));
            Some(baseline)
        }
        Err(reason) => {
            let note = format!("baseline rows left out: {reason}");
            progress(&note);
            notes.push(note);
            None
        }
    }
}

/// Extraction, throughput and the site crawl, against the baseline when there is one. Returns
/// the static server's name, the rows and the notes.
fn site_workloads(
    dir: &Path,
    manifest: &site::Manifest,
    contenders: &Contenders<'_>,
    settings: &Settings,
    work: &Path,
) -> (String, Vec<report::Row>, Vec<String>) {
    let mut server =
        Server::start_static(dir, settings.server).expect("cannot start the static server");
    progress(&format!(
        "static server: {} at {}",
        server.name,
        server.origin()
    ));
    let origin = server.origin();
    let site_run = SiteRun {
        dir,
        manifest,
        origin: &origin,
    };
    let (mut rows, floor) = extraction::extraction(&site_run, settings.runs);
    let (list_rows, note, list_cost) =
        speed::throughput(&site_run, &floor, contenders, settings.runs, work);
    rows.extend(list_rows);
    let mut notes = vec![note];
    let (crawl_rows, crawl_requests) =
        speed::site_crawl(&site_run, contenders, list_cost, settings.runs, work);
    rows.extend(crawl_rows);
    // Each binary's throughput runs fetch every page once.
    let list_requests = manifest.pages * settings.runs * contenders.each().count();
    let requests = list_requests + crawl_requests as usize;
    let name = format!("static server ({}, throughput and site crawl)", server.name);
    notes.extend(workloads::server_cpu(&name, server.stop(), requests));
    (server.name.clone(), rows, notes)
}

/// The Rust docs: the differential, then the crawl against the baseline and wget2; left out
/// with a printed reason when the docs are not installed.
fn docs_workloads(
    contenders: &Contenders<'_>,
    settings: &Settings,
    work: &Path,
) -> (Vec<report::Row>, Vec<String>) {
    let dir = match docs::docs_dir() {
        Ok(dir) => dir,
        Err(reason) => {
            let note = format!("docs rows left out: {reason}");
            progress(&note);
            return (Vec::new(), vec![note]);
        }
    };
    let files = docs::html_files(&dir).expect("cannot list the docs");
    progress(&format!(
        "docs: {} pages in {}",
        report::count(files.len() as u64),
        dir.display()
    ));
    let (row, mut notes) = docs_diff::differential(&dir, &files);
    let mut rows = vec![row];
    let (crawl_rows, crawl_notes) =
        docs_crawl::docs_crawl(&dir, contenders, settings.server, settings.docs_runs, work);
    rows.extend(crawl_rows);
    notes.extend(crawl_notes);
    (rows, notes)
}

/// The target directory: the one holding the profile directory of the areq binary under test.
fn target_dir() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_areq"));
    binary
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("the areq binary lives in TARGET/PROFILE/")
}

fn describe_site(manifest: &site::Manifest) -> String {
    format!(
        "{} pages, {:.1} MB, {:.1} KB mean ({:.1}–{:.1} KB), {:.0} hrefs a page, {} expected \
         output lines (generator v{}, seed {:#x})",
        report::count(manifest.pages as u64),
        manifest.bytes as f64 / 1e6,
        manifest.bytes as f64 / manifest.pages as f64 / 1e3,
        manifest.min_page as f64 / 1e3,
        manifest.max_page as f64 / 1e3,
        manifest.hrefs as f64 / manifest.pages as f64,
        report::count(manifest.expected_lines),
        manifest.version,
        manifest.seed,
    )
}

fn all_notes(
    select: &Selection,
    manifest: Option<&site::Manifest>,
    findings: Vec<String>,
    elapsed: Duration,
) -> Vec<String> {
    let mut notes = Vec::new();
    if let (Some(manifest), true) = (manifest, select.runs(Group::Site)) {
        notes.push(format!(
            "every areq run on the site's list wrote exactly the expected number of lines ({} \
             for the site)",
            report::count(manifest.expected_lines)
        ));
        notes.push(
            "throughput ratio = areq pages/s over the single-thread parse floor; areq parses on \
             blocking threads, so it can exceed 1.0x with more than one core, while the server \
             shares the same cores"
                .to_owned(),
        );
    }
    if select.runs(Group::Latency) {
        notes.push("latency ratio = median wall over the floor; 1.00x is perfect".to_owned());
    }
    notes.extend([
        "CPU and peak RSS are areq's own (or the baseline's, or wget2's: the child process, from \
         wait4 rusage); MB = 10^6 bytes, MiB = 2^20 bytes"
            .to_owned(),
        "floors and targets: a floor is what a result must reach, a target what it should; \
         each is marked met or MISSED; speedups over the baseline are pages/s of areq over \
         pages/s of the baseline, measured in the same run with runs interleaved"
            .to_owned(),
    ]);
    notes.extend(findings);
    notes.push(format!(
        "the benchmark took {}",
        report::seconds(elapsed.as_secs_f64())
    ));
    notes
}
