//! The four measurements: the single-core parse floor, throughput over the static site, latency
//! against a slow server, and peak memory for long URL lists. Each one runs `runs` times and
//! reports medians as a table row.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::http::DELAY_LINKS;
use crate::measure::{median, run_areq, Output, Run};
use crate::report::{count, mebibytes, seconds, Row};
use crate::server::Server;
use crate::site::{self, Manifest};

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

/// The parse floor: areq's own `extract_links` over every page, in memory, on this one
/// thread. Also checks that the expected output recorded at generation holds for this origin.
pub fn parse_floor(site: &SiteRun<'_>, runs: usize) -> (Row, Floor) {
    let pages = site::load_pages(site.dir, site.manifest.pages, site.origin)
        .expect("cannot read the generated site");
    let mut walls = Vec::new();
    for run in 1..=runs {
        let started = Instant::now();
        let links: usize = pages
            .iter()
            .map(|(url, html)| site::count_links(html, url))
            .sum();
        let wall = started.elapsed().as_secs_f64();
        progress(&format!("parse floor run {run}/{runs}: {}", seconds(wall)));
        assert_eq!(
            links as u64 + 1,
            site.manifest.expected_lines,
            "the link count differs from the one recorded at generation"
        );
        walls.push(wall);
    }
    drop(pages);
    let wall = median(walls.iter().copied());
    let per_second = site.manifest.pages as f64 / wall;
    let row = Row {
        workload: "parse floor: extract_links, 1 thread, in memory".to_owned(),
        input: format!("{} pages", count(site.manifest.pages as u64)),
        wall: seconds(wall),
        rate: rates(per_second, site.manifest.bytes as f64 / wall),
        cpu: seconds(wall),
        runs: list(&walls),
        ..Row::default()
    };
    let floor = Floor {
        wall,
        pages_per_second: per_second,
    };
    (row, floor)
}

/// Every page of the site through areq, checked against the expected number of lines. Returns
/// the row and a note on how areq's CPU time compares with the parse floor.
pub fn throughput(site: &SiteRun<'_>, floor: &Floor, runs: usize, work: &Path) -> (Row, String) {
    let urls = work.join("site-urls.txt");
    write_urls(&urls, site.manifest.pages, |i| {
        site::page_url(site.origin, i)
    })
    .expect("cannot write the URL list");
    let output = work.join("out.tsv");
    let args = [
        urls.as_os_str(),
        "-c".as_ref(),
        "64".as_ref(),
        "--per-host".as_ref(),
        "64".as_ref(),
        "-q".as_ref(),
    ];
    let results = repeat("throughput", runs, || {
        let run = run_areq(&args, Output::File(&output), Duration::from_secs(600));
        check_lines(&run, site.manifest.expected_lines, "throughput");
        // The output is checked; it only takes space now.
        let _ = fs::remove_file(&output);
        run
    });
    let wall = median(results.iter().map(|r| r.wall.as_secs_f64()));
    let cpu = median(results.iter().map(|r| r.cpu.as_secs_f64()));
    let per_second = site.manifest.pages as f64 / wall;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let note = format!(
        "throughput: areq used {} of CPU for the site, where extract_links alone takes {} on one \
         thread, so link extraction is about {:.0}% of its CPU; it kept {:.2} cores busy (CPU / \
         wall), and {:.0}% of the {cores}-core ideal ({:.0} pages/s, server CPU not counted)",
        seconds(cpu),
        seconds(floor.wall),
        100.0 * floor.wall / cpu,
        cpu / wall,
        100.0 * per_second / (floor.pages_per_second * cores as f64),
        floor.pages_per_second * cores as f64,
    );
    let row = Row {
        workload: "throughput: static site".to_owned(),
        input: format!(
            "{} pages, {:.0} MB, -c 64 --per-host 64",
            count(site.manifest.pages as u64),
            site.manifest.bytes as f64 / 1e6
        ),
        rate: rates(per_second, site.manifest.bytes as f64 / wall),
        floor: format!("{:.0} pages/s (parse floor)", floor.pages_per_second),
        ratio: format!("{:.2}x", per_second / floor.pages_per_second),
        ..common(&results)
    };
    (row, note)
}

/// A recursive crawl of the whole site from its index page (`-d` unbounded, robots.txt obeyed),
/// as a user would crawl a site. Every page of the site must be fetched; links that point
/// outside the generated pages (404s) or at a page under another query string count as pages
/// too, so the rate is all pages fetched per second, from areq's `--summary-json`.
pub fn site_crawl(site: &SiteRun<'_>, runs: usize, work: &Path) -> Row {
    let seeds = work.join("site-seed.txt");
    write_urls(&seeds, 1, |_| site::page_url(site.origin, 0)).expect("cannot write the seed");
    let output = work.join("crawl.tsv");
    let summary = work.join("crawl-summary.json");
    let args = [
        seeds.as_os_str(),
        "-d".as_ref(),
        "1000000".as_ref(),
        "-c".as_ref(),
        "64".as_ref(),
        "--per-host".as_ref(),
        "64".as_ref(),
        "--summary-json".as_ref(),
        summary.as_os_str(),
        "-q".as_ref(),
    ];
    let mut fetched = Vec::new();
    let mut parsed = Vec::new();
    let results = repeat("site crawl", runs, || {
        let run = run_areq(&args, Output::File(&output), Duration::from_secs(900));
        let text = fs::read_to_string(&summary).expect("areq wrote no summary");
        let json: serde_json::Value = serde_json::from_str(&text).expect("summary is JSON");
        let ok = json["pages"]["ok"].as_u64().expect("pages.ok");
        assert!(
            ok >= site.manifest.pages as u64,
            "site crawl reached {ok} pages of {}",
            site.manifest.pages
        );
        assert!(
            run.lines >= site.manifest.expected_lines,
            "site crawl wrote too few lines"
        );
        let failed = json["pages"]["failed"].as_u64().unwrap_or(0);
        fetched.push(ok + failed + json["pages"]["skipped_not_html"].as_u64().unwrap_or(0));
        parsed.push(ok);
        let _ = fs::remove_file(&output);
        run
    });
    let wall = median(results.iter().map(|r| r.wall.as_secs_f64()));
    let pages = median(fetched.iter().map(|&n| n as f64));
    let html = median(parsed.iter().map(|&n| n as f64));
    Row {
        workload: "site crawl: recursive from the index".to_owned(),
        input: format!(
            "1 seed, -d unbounded: {} pages fetched, {} of them HTML (the rest 404s)",
            count(pages as u64),
            count(html as u64)
        ),
        rate: format!(
            "{:.0} pages/s ({:.0} HTML pages/s)",
            pages / wall,
            html / wall
        ),
        ..common(&results)
    }
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
            progress(&format!(
                "{label} run {run}/{runs}: {}, cpu {}, peak {}",
                seconds(result.wall.as_secs_f64()),
                seconds(result.cpu.as_secs_f64()),
                mebibytes(result.max_rss_kib as f64)
            ));
            result
        })
        .collect()
}

/// The cells every areq row has: median wall, CPU and peak RSS, and the list of runs.
pub fn common(results: &[Run]) -> Row {
    let walls: Vec<f64> = results.iter().map(|r| r.wall.as_secs_f64()).collect();
    let cpu = median(results.iter().map(|r| r.cpu.as_secs_f64()));
    Row {
        wall: seconds(median(walls.iter().copied())),
        cpu: seconds(cpu),
        rss: mebibytes(median(results.iter().map(|r| r.max_rss_kib as f64))),
        runs: list(&walls),
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

fn rates(pages_per_second: f64, bytes_per_second: f64) -> String {
    format!(
        "{pages_per_second:.0} pages/s, {:.1} MB/s",
        bytes_per_second / 1e6
    )
}

fn list(walls: &[f64]) -> String {
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
