//! The crawl benchmark: `cargo bench --bench crawl` (full, ~10 minutes) or
//! `AREQ_BENCH_QUICK=1 cargo bench --bench crawl` (smoke check, well under a minute).
//!
//! It generates a deterministic synthetic site under the target dir, serves it from a separate
//! process on 127.0.0.1 (nginx when installed, else this binary re-executed as a small server),
//! and measures areq against floors taken in the same run:
//!
//! 1. throughput over every page of the site, against the single-core parse rate of areq's own
//!    `extract_links` (the output is checked line for line against the expected count);
//! 2. a recursive crawl of the whole site from its index page (pages/s);
//! 3. latency: pages that each take 100 ms, against `ceil(urls / concurrency) × 100 ms`;
//! 4. memory: peak RSS for a short and a long list of distinct URLs, which should be flat;
//! 5. many hosts: the same pages over one host and over a thousand, pages/s and peak RSS;
//!    and slow DNS: 500 names through a resolver answering in 100 ms, against
//!    `ceil(names / -c) × 100 ms` plus the fetch time.
//!
//! The table goes to stdout and to `target/bench-results.md`; progress goes to stderr.
//! `AREQ_BENCH_SERVER=auto|nginx|bundled` picks the static server (default `auto`).
//! See `bench/README.md`.

#[path = "crawl/hosts.rs"]
mod hosts;
#[path = "crawl/http.rs"]
mod http;
#[path = "crawl/measure.rs"]
mod measure;
#[path = "crawl/process.rs"]
mod process;
#[path = "crawl/report.rs"]
mod report;
#[path = "crawl/rng.rs"]
mod rng;
#[path = "crawl/server.rs"]
mod server;
#[path = "crawl/shared.rs"]
mod shared;
#[path = "crawl/site.rs"]
mod site;
#[path = "crawl/workloads.rs"]
mod workloads;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use report::Context;
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
}

impl Settings {
    /// Full unless `AREQ_BENCH_QUICK` is set to something other than `0` or empty.
    fn from_env() -> Self {
        let quick = std::env::var("AREQ_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let server = Choice::from_env();
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
                    scaling_urls: 400,
                    scaling_delay: Duration::from_millis(100),
                    scaling_concurrency: 20,
                    memory_urls: 20_000,
                    layout_urls: 200_000,
                },
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
                    scaling_urls: 2_000,
                    scaling_delay: Duration::from_millis(100),
                    scaling_concurrency: 20,
                    memory_urls: 100_000,
                    layout_urls: 1_000_000,
                },
            }
        }
    }

    fn describe(&self) -> String {
        let mode = if self.quick { "quick" } else { "full" };
        format!(
            "{mode} ({} run(s) per workload, {} for memory; medians reported)",
            self.runs, self.memory_runs
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

    let site_name = if settings.quick {
        "bench-site-quick"
    } else {
        "bench-site"
    };
    let site_dir = target.join(site_name);
    progress(&format!(
        "site: {} pages in {}",
        settings.pages,
        site_dir.display()
    ));
    let manifest = site::ensure_site(&site_dir, settings.pages).expect("cannot generate the site");

    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut server =
        Server::start_static(&site_dir, settings.server).expect("cannot start the static server");
    progress(&format!(
        "static server: {} at {}",
        server.name,
        server.origin()
    ));
    let static_server = server.name.clone();
    let origin = server.origin();
    let site_run = SiteRun {
        dir: &site_dir,
        manifest: &manifest,
        origin: &origin,
    };
    let (floor_row, floor) = workloads::parse_floor(&site_run, settings.runs);
    rows.push(floor_row);
    let (row, note) = workloads::throughput(&site_run, &floor, settings.runs, work.path());
    rows.push(row);
    notes.push(note);
    rows.push(workloads::site_crawl(&site_run, settings.runs, work.path()));
    // The throughput runs and the site crawls each fetch every page (the crawl a few more).
    let requests = 2 * manifest.pages * settings.runs;
    let name = format!("static server ({static_server}, throughput and site crawl)");
    notes.extend(workloads::server_cpu(&name, server.stop(), requests));

    rows.push(workloads::latency(
        settings.latency_urls,
        settings.latency_delay,
        settings.latency_concurrency,
        settings.runs,
        work.path(),
    ));
    let (memory_rows, memory_notes) =
        workloads::memory(&settings.memory_sizes, settings.memory_runs, work.path());
    rows.extend(memory_rows);
    notes.extend(memory_notes);
    let (hosts, per_host) = settings.hosts;
    let (host_rows, fetch_rate) = hosts::many_hosts(hosts, per_host, settings.runs, work.path());
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

    let server =
        Server::start_static(&site_dir, settings.server).expect("cannot restart the static server");
    let origin = server.origin();
    let site_run = SiteRun {
        dir: &site_dir,
        manifest: &manifest,
        origin: &origin,
    };
    let (shared_rows, shared_notes) = shared::shared(&site_run, &settings.shared, work.path());
    rows.extend(shared_rows);
    notes.extend(shared_notes);
    drop(server);

    let context = Context {
        mode: settings.describe(),
        static_server,
        site: describe_site(&manifest),
        load_at_start,
    };
    let notes = all_notes(&manifest, notes, started.elapsed());
    let text = report::render(&context, &rows, &notes);
    print!("{text}");
    let results = target.join("bench-results.md");
    fs::write(&results, &text).expect("cannot write the results");
    progress(&format!("results written to {}", results.display()));
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

fn all_notes(manifest: &site::Manifest, findings: Vec<String>, elapsed: Duration) -> Vec<String> {
    let mut notes = vec![
        format!(
            "every areq run wrote exactly the expected number of lines ({} for the site)",
            report::count(manifest.expected_lines)
        ),
        "throughput ratio = areq pages/s over the single-thread parse floor; areq parses on \
         blocking threads, so it can exceed 1.0x with more than one core, while the server \
         shares the same cores"
            .to_owned(),
        "latency ratio = median wall over the floor; 1.00x is perfect".to_owned(),
        "CPU and peak RSS are areq's own (the child process, from wait4 rusage); MB = 10^6 bytes"
            .to_owned(),
    ];
    notes.extend(findings);
    notes.push(format!(
        "the benchmark took {}",
        report::seconds(elapsed.as_secs_f64())
    ));
    notes
}
