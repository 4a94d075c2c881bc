//! Latency against a slow server and peak memory for long URL lists, and the helpers every
//! workload shares (repeated runs, the common cells of a row, URL lists). Each workload runs
//! `runs` times and reports medians as a table row.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use crate::http::DELAY_LINKS;
use crate::measure::{median, run_areq, Output, Run};
use crate::report::{count, mebibytes, seconds, Row};
use crate::server::Server;
use crate::site::Manifest;

/// Most peak-RSS growth per extra URL, in bytes, still called flat: well below any per-URL
/// record (a 16-byte fingerprint already needs more), above the noise of peak RSS.
const FLAT_BYTES_PER_URL: f64 = 8.0;

/// What the throughput workload needs to know about the site and its server.
pub struct SiteRun<'a> {
    /// The site's directory.
    pub dir: &'a Path,
    /// Its manifest (page count, bytes, expected output lines).
    pub manifest: &'a Manifest,
    /// `http://127.0.0.1:PORT` of the server serving it.
    pub origin: &'a str,
}

/// The parse floor, measured.
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    /// Median seconds for the whole site on one thread.
    pub wall: f64,
    /// Pages per second on one thread.
    pub pages_per_second: f64,
}

/// `urls` pages that each take `delay` on one host, `concurrency` at a time, against the floor
/// `ceil(urls / concurrency) × delay`.
pub fn latency(urls: usize, delay: Duration, concurrency: usize, runs: usize, work: &Path) -> Row {
    let server = Server::start_delay(delay).expect("cannot start the delay server");
    let origin = server.origin();
    let list = work.join("latency-urls.txt");
    write_urls(&list, urls, |i| format!("{origin}/slow/{i}")).expect("cannot write URLs");
    let c = concurrency.to_string();
    let args = [
        list.as_os_str(),
        "-c".as_ref(),
        c.as_ref(),
        "--per-host".as_ref(),
        c.as_ref(),
        "-q".as_ref(),
    ];
    let expected = urls as u64 * DELAY_LINKS + 1;
    let results = repeat("latency", runs, || {
        let run = run_areq(&args, Output::Pipe, Duration::from_secs(120));
        check_lines(&run, expected, "latency");
        run
    });
    drop(server);
    let floor = urls.div_ceil(concurrency) as f64 * delay.as_secs_f64();
    let wall = median(results.iter().map(|r| r.wall.as_secs_f64()));
    Row {
        workload: format!("latency: {} ms pages, one host", delay.as_millis()),
        input: format!("{} URLs, -c {c} --per-host {c}", count(urls as u64)),
        rate: format!("{:.0} pages/s", urls as f64 / wall),
        floor: format!(
            "{} (ceil({urls}/{c}) × {} ms)",
            seconds(floor),
            delay.as_millis()
        ),
        ratio: format!("{:.2}x", wall / floor),
        ..common(&results)
    }
}

/// Peak RSS for each list length in `sizes` against an instant server; the second and later
/// rows compare their peak with the first. Returns the rows and notes saying whether memory
/// stayed flat and what the server cost.
pub fn memory(sizes: &[usize], runs: usize, work: &Path) -> (Vec<Row>, Vec<String>) {
    let mut server = Server::start_delay(Duration::ZERO).expect("cannot start the fast server");
    let origin = server.origin();
    let mut rows = Vec::new();
    let mut peaks = Vec::new();
    for &size in sizes {
        let list = work.join("memory-urls.txt");
        write_urls(&list, size, |i| format!("{origin}/p/{i}")).expect("cannot write URLs");
        let args = [
            list.as_os_str(),
            "-c".as_ref(),
            "64".as_ref(),
            "--per-host".as_ref(),
            "64".as_ref(),
            "-q".as_ref(),
        ];
        let expected = size as u64 * DELAY_LINKS + 1;
        let label = format!("memory {}", count(size as u64));
        let timeout = Duration::from_secs(120 + size as u64 / 200);
        let results = repeat(&label, runs, || {
            let run = run_areq(&args, Output::Pipe, timeout);
            check_lines(&run, expected, &label);
            run
        });
        let _ = fs::remove_file(&list);
        let peak = median(results.iter().map(|r| r.max_rss_kib as f64));
        let wall = median(results.iter().map(|r| r.wall.as_secs_f64()));
        let mut row = Row {
            workload: "memory: distinct URLs, instant server".to_owned(),
            input: format!("{} URLs, -c 64 --per-host 64", count(size as u64)),
            rate: format!("{:.0} pages/s", size as f64 / wall),
            ..common(&results)
        };
        if let Some(&(first_size, first_peak)) = peaks.first() {
            row.floor = format!("peak at {} URLs", count(first_size as u64));
            row.ratio = format!("{:.2}x", peak / first_peak);
        }
        peaks.push((size, peak));
        rows.push(row);
    }
    let requests = sizes.iter().sum::<usize>() * runs;
    let mut notes = vec![flatness(&peaks)];
    notes.extend(server_cpu("fast server (memory)", server.stop(), requests));
    (rows, notes)
}

/// A note on the CPU a server used for `requests` requests.
pub fn server_cpu(name: &str, cpu: Option<Duration>, requests: usize) -> Option<String> {
    let cpu = cpu?.as_secs_f64();
    Some(format!(
        "{name}: {} of CPU for {} requests ({:.0} µs a request)",
        seconds(cpu),
        count(requests as u64),
        cpu * 1e6 / requests.max(1) as f64
    ))
}

/// Whether peak memory stayed flat from the shortest list to the longest.
fn flatness(peaks: &[(usize, f64)]) -> String {
    let (Some(&(small, low)), Some(&(large, high))) = (peaks.first(), peaks.last()) else {
        return String::new();
    };
    let ratio = high / low;
    let growth = (high - low) / (large - small).max(1) as f64 * 1024.0;
    let verdict = if growth <= FLAT_BYTES_PER_URL {
        "flat"
    } else {
        "NOT flat, memory grows with the input"
    };
    format!(
        "memory: peak RSS {} at {} URLs → {} at {} URLs ({ratio:.2}x, {growth:.1} bytes per extra \
         URL): {verdict} (flat means at most {FLAT_BYTES_PER_URL} bytes per extra URL)",
        mebibytes(low),
        count(small as u64),
        mebibytes(high),
        count(large as u64),
    )
}

/// Runs `once` `runs` times, logging each run's wall time.
pub fn repeat(label: &str, runs: usize, mut once: impl FnMut() -> Run) -> Vec<Run> {
    (1..=runs)
        .map(|run| {
            let result = once();
            log_run(label, run, runs, &result);
            result
        })
        .collect()
}

/// Runs each contender once a round, `runs` rounds (`once(i)` runs contender `i`), so a drift in
/// the machine's load touches them alike; logs each run and returns each contender's runs.
pub fn interleave(
    labels: &[&str],
    runs: usize,
    mut once: impl FnMut(usize) -> Run,
) -> Vec<Vec<Run>> {
    let mut results = vec![Vec::new(); labels.len()];
    for run in 1..=runs {
        for (i, label) in labels.iter().enumerate() {
            let result = once(i);
            log_run(label, run, runs, &result);
            results[i].push(result);
        }
    }
    results
}

fn log_run(label: &str, run: usize, runs: usize, result: &Run) {
    progress(&format!(
        "{label} run {run}/{runs}: {}, cpu {}, peak {}",
        seconds(result.wall.as_secs_f64()),
        seconds(result.cpu.as_secs_f64()),
        mebibytes(result.max_rss_kib as f64)
    ));
}

/// The cells every areq row has: median wall, CPU and peak RSS, and the list of runs.
pub fn common(results: &[Run]) -> Row {
    let walls: Vec<f64> = results.iter().map(|r| r.wall.as_secs_f64()).collect();
    let cpu = median(results.iter().map(|r| r.cpu.as_secs_f64()));
    Row {
        wall: seconds(median(walls.iter().copied())),
        cpu: seconds(cpu),
        rss: mebibytes(median(results.iter().map(|r| r.max_rss_kib as f64))),
        runs: runs_cell(&walls),
        ..Row::default()
    }
}

/// Fails the benchmark when areq wrote a different number of lines than expected.
pub fn check_lines(run: &Run, expected: u64, label: &str) {
    assert_eq!(
        run.lines, expected,
        "{label}: areq wrote {} lines, expected {expected} (header included)",
        run.lines
    );
}

/// `123 pages/s, 4.5 MB/s`.
pub fn rates(pages_per_second: f64, bytes_per_second: f64) -> String {
    format!(
        "{pages_per_second:.0} pages/s, {:.1} MB/s",
        bytes_per_second / 1e6
    )
}

/// `1.23, 1.25, 1.31 s`: the wall time of every run.
pub fn runs_cell(walls: &[f64]) -> String {
    walls
        .iter()
        .map(|&wall| format!("{wall:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
        + " s"
}

/// Writes `n` URLs, one a line.
pub fn write_urls(path: &Path, n: usize, url: impl Fn(usize) -> String) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for i in 0..n {
        writeln!(out, "{}", url(i))?;
    }
    out.flush()
}

/// A progress line on stderr (stdout carries only the report).
pub fn progress(message: &str) {
    eprintln!("bench: {message}");
}
