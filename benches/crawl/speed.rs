//! The static site as a list and as a recursive crawl, areq against the kept baseline (see
//! `baseline.rs`) in the same run, runs interleaved: throughput over every page against the
//! parse floor and the baseline, areq's peak RSS on the list, the crawl's speedup over the
//! baseline, and what a page of the crawl costs in CPU next to a page of the list.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::contenders::Contenders;
use crate::measure::{median, run_areq, run_program, Output, Run};
use crate::report::{count, megabytes, seconds, verdict, Row};
use crate::site;
use crate::workloads::{check_lines, common, interleave, rates, write_urls, Floor, SiteRun};

/// Least speedup of areq over the baseline on the site's list, in pages per second.
pub const LIST_FLOOR: f64 = 1.7;
/// Most peak RSS of areq on the site's list, in MB (10^6 bytes).
pub const LIST_RSS_TARGET_MB: f64 = 40.0;
/// Least speedup of areq over the baseline on the recursive crawl of the site.
pub const CRAWL_FLOOR: f64 = 2.0;
/// How far the crawl's CPU per page may be from the list's: within 10%.
pub const CPU_PER_PAGE_TOLERANCE: f64 = 0.10;
/// Fewest URLs in the list of 404s, so the process's start is small next to them.
const MISSING_PAGES: usize = 10_000;

/// What the list run tells the crawl run: areq's CPU seconds per page.
#[derive(Debug, Clone, Copy)]
pub struct ListCost {
    /// Median CPU seconds over pages.
    pub cpu_per_page: f64,
}

/// Every page of the site as a list, checked against the expected number of lines, by areq and
/// the baseline. Returns the rows, a note on areq's CPU next to the parse floor, and areq's cost.
pub fn throughput(
    site: &SiteRun<'_>,
    floor: &Floor,
    contenders: &Contenders<'_>,
    runs: usize,
    work: &Path,
) -> (Vec<Row>, String, ListCost) {
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
    let results = contenders.run("throughput", runs, |binary| {
        let run = run_program(
            binary,
            &args,
            Output::File(&output),
            Duration::from_secs(600),
            &[],
        );
        check_lines(&run, site.manifest.expected_lines, "throughput");
        // The output is checked; it only takes space now.
        let _ = fs::remove_file(&output);
        run
    });
    let pages = site.manifest.pages as f64;
    let input = format!(
        "{} pages, {:.0} MB, -c 64 --per-host 64",
        count(site.manifest.pages as u64),
        site.manifest.bytes as f64 / 1e6
    );
    let new = &results[0];
    let (wall, cpu) = (median_wall(new), median_cpu(new));
    let per_second = pages / wall;
    let mut rows = vec![Row {
        workload: "throughput: static site".to_owned(),
        input: input.clone(),
        rate: rates(per_second, site.manifest.bytes as f64 / wall),
        floor: format!("{:.0} pages/s (parse floor)", floor.pages_per_second),
        ratio: format!("{:.2}x", per_second / floor.pages_per_second),
        ..common(new)
    }];
    if let (Some(label), Some(old)) = (contenders.baseline_label(), results.get(1)) {
        let old_wall = median_wall(old);
        let speedup = old_wall / wall;
        rows.push(Row {
            workload: format!("throughput: static site, {label}"),
            input: input.clone(),
            rate: rates(pages / old_wall, site.manifest.bytes as f64 / old_wall),
            floor: format!("floor: areq ≥ {LIST_FLOOR}x its pages/s"),
            ratio: verdict(&format!("{speedup:.2}x"), speedup >= LIST_FLOOR),
            ..common(old)
        });
    }
    rows.push(rss_row(new, &input));
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
    let cost = ListCost {
        cpu_per_page: cpu / pages,
    };
    (rows, note, cost)
}

/// areq's peak RSS on the list against its target.
fn rss_row(results: &[Run], input: &str) -> Row {
    let peak_kib = median(results.iter().map(|r| r.max_rss_kib as f64));
    let megabytes_peak = peak_kib * 1024.0 / 1e6;
    Row {
        workload: "throughput: static site, areq's peak RSS".to_owned(),
        input: input.to_owned(),
        rss: megabytes(peak_kib),
        floor: format!("target ≤ {LIST_RSS_TARGET_MB:.0} MB"),
        ratio: verdict(&megabytes(peak_kib), megabytes_peak <= LIST_RSS_TARGET_MB),
        ..Row::default()
    }
}

/// Pages a recursive crawl fetched (any status) and parsed (HTML), from `--summary-json`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reached {
    /// Pages fetched, whatever their status.
    pub fetched: u64,
    /// HTML pages parsed.
    pub parsed: u64,
    /// Body bytes read.
    pub bytes: u64,
}

/// A recursive crawl of the whole site from its index page (`-d` unbounded, robots.txt obeyed),
/// as a user would crawl a site, by areq and the baseline. Every page of the site must be
/// fetched; links that point outside the generated pages (404s) or at a page under another
/// query string count as pages too, so the rate is all pages fetched per second, from areq's
/// `--summary-json`. Also areq's CPU per HTML page against the list's. Returns the rows and the
/// number of requests the server answered.
pub fn site_crawl(
    site: &SiteRun<'_>,
    contenders: &Contenders<'_>,
    list: ListCost,
    runs: usize,
    work: &Path,
) -> (Vec<Row>, u64) {
    let seeds = work.join("site-seed.txt");
    write_urls(&seeds, 1, |_| site::page_url(site.origin, 0)).expect("cannot write the seed");
    let output = work.join("crawl.tsv");
    let summary = work.join("crawl-summary.json");
    let args = crawl_args(&seeds, &summary);
    let mut reached: Vec<Vec<Reached>> = vec![Vec::new(), Vec::new()];
    let mut turn = 0;
    let results = contenders.run("site crawl", runs, |binary| {
        let run = run_program(
            binary,
            &args,
            Output::File(&output),
            Duration::from_secs(900),
            &[],
        );
        let pages = read_reached(&summary);
        assert!(
            pages.parsed >= site.manifest.pages as u64,
            "site crawl reached {} pages of {}",
            pages.parsed,
            site.manifest.pages
        );
        assert!(
            run.lines >= site.manifest.expected_lines,
            "site crawl wrote too few lines"
        );
        reached[turn % contenders.len()].push(pages);
        turn += 1;
        let _ = fs::remove_file(&output);
        run
    });
    let new = &results[0];
    let (fetched, parsed) = median_reached(&reached[0]);
    let wall = median_wall(new);
    let mut rows = vec![Row {
        workload: "site crawl: recursive from the index".to_owned(),
        input: format!(
            "1 seed, -d unbounded: {} pages fetched, {} of them HTML (the rest 404s)",
            count(fetched as u64),
            count(parsed as u64)
        ),
        rate: crawl_rate(fetched, parsed, wall),
        ..common(new)
    }];
    if let (Some(label), Some(old)) = (contenders.baseline_label(), results.get(1)) {
        let (old_fetched, old_parsed) = median_reached(&reached[1]);
        let old_wall = median_wall(old);
        let speedup = (fetched / wall) / (old_fetched / old_wall);
        rows.push(Row {
            workload: format!("site crawl: recursive from the index, {label}"),
            input: format!(
                "the same, {} pages fetched, {} HTML",
                count(old_fetched as u64),
                count(old_parsed as u64)
            ),
            rate: crawl_rate(old_fetched, old_parsed, old_wall),
            floor: format!("floor: areq ≥ {CRAWL_FLOOR}x its pages/s"),
            ratio: verdict(&format!("{speedup:.2}x"), speedup >= CRAWL_FLOOR),
            ..common(old)
        });
    }
    let (row, missing_requests) = cpu_per_page_row(site, new, fetched, parsed, list, runs, work);
    rows.push(row);
    let requests = reached.iter().flatten().map(|r| r.fetched).sum::<u64>() + missing_requests;
    (rows, requests)
}

/// areq's CPU per HTML page of the crawl against its CPU per page of the list. The crawl also
/// fetches many links that are 404s, which the list has none of, so their cost is taken out at
/// the rate areq fetches 404s in a list of its own (as many URLs as the site has pages, none of
/// them there): like for like, what is left is what following links adds to a page. Returns the
/// row and the number of 404s requested.
fn cpu_per_page_row(
    site: &SiteRun<'_>,
    crawl: &[Run],
    fetched: f64,
    parsed: f64,
    list: ListCost,
    runs: usize,
    work: &Path,
) -> (Row, u64) {
    let (missing, requests) = missing_cpu_per_page(site, runs, work);
    let crawl_cpu = median_cpu(crawl);
    let raw = crawl_cpu / parsed;
    let per_page = (crawl_cpu - (fetched - parsed) * missing) / parsed;
    let ratio = per_page / list.cpu_per_page;
    let row = Row {
        workload: "site crawl: areq's CPU per HTML page, against the list's".to_owned(),
        input: format!(
            "crawl CPU less its {} 404s at {:.0} µs each (a list of 404s), over its HTML pages; \
             {:.0} µs before taking the 404s out",
            count((fetched - parsed) as u64),
            missing * 1e6,
            raw * 1e6
        ),
        cpu: format!(
            "{:.0} µs a page (list: {:.0} µs)",
            per_page * 1e6,
            list.cpu_per_page * 1e6
        ),
        floor: format!(
            "target within {:.0}% ({:.2}–{:.2}x)",
            CPU_PER_PAGE_TOLERANCE * 100.0,
            1.0 - CPU_PER_PAGE_TOLERANCE,
            1.0 + CPU_PER_PAGE_TOLERANCE
        ),
        ratio: verdict(
            &format!("{ratio:.2}x"),
            (ratio - 1.0).abs() <= CPU_PER_PAGE_TOLERANCE,
        ),
        ..Row::default()
    };
    (row, requests)
}

/// areq's CPU seconds per page for a list of pages the site does not have (404s, not parsed),
/// and the number of requests that took.
fn missing_cpu_per_page(site: &SiteRun<'_>, runs: usize, work: &Path) -> (f64, u64) {
    let pages = site.manifest.pages.max(MISSING_PAGES);
    let urls = work.join("missing-urls.txt");
    write_urls(&urls, pages, |i| {
        format!("{}/missing/{i}.html", site.origin)
    })
    .expect("cannot write the URL list");
    let args = [
        urls.as_os_str(),
        "-c".as_ref(),
        "64".as_ref(),
        "--per-host".as_ref(),
        "64".as_ref(),
        "-q".as_ref(),
    ];
    let results = interleave(&["404 list, areq"], runs, |_| {
        let run = run_areq(&args, Output::Pipe, Duration::from_secs(300));
        check_lines(&run, 1, "404 list");
        run
    });
    let cpu = median_cpu(&results[0]) / pages as f64;
    (cpu, (pages * runs) as u64)
}

/// `SEEDS -d 1000000 -c 64 --per-host 64 --summary-json SUMMARY -q`: unbounded depth.
pub fn crawl_args(seeds: &Path, summary: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec![seeds.into()];
    for arg in [
        "-d",
        "1000000",
        "-c",
        "64",
        "--per-host",
        "64",
        "--summary-json",
    ] {
        args.push(arg.into());
    }
    args.push(summary.into());
    args.push("-q".into());
    args
}

/// The pages fetched and parsed, from areq's `--summary-json` file.
pub fn read_reached(summary: &Path) -> Reached {
    let text = fs::read_to_string(summary).expect("areq wrote no summary");
    let json: serde_json::Value = serde_json::from_str(&text).expect("summary is JSON");
    let pages = |key: &str| json["pages"][key].as_u64().unwrap_or(0);
    let ok = json["pages"]["ok"].as_u64().expect("pages.ok");
    Reached {
        fetched: ok + pages("failed") + pages("skipped_not_html"),
        parsed: ok,
        bytes: json["bytes_read"].as_u64().unwrap_or(0),
    }
}

/// Median pages fetched and parsed.
pub fn median_reached(reached: &[Reached]) -> (f64, f64) {
    (
        median(reached.iter().map(|r| r.fetched as f64)),
        median(reached.iter().map(|r| r.parsed as f64)),
    )
}

fn crawl_rate(fetched: f64, parsed: f64, wall: f64) -> String {
    format!(
        "{:.0} pages/s ({:.0} HTML pages/s)",
        fetched / wall,
        parsed / wall
    )
}

/// Median wall seconds.
pub fn median_wall(results: &[Run]) -> f64 {
    median(results.iter().map(|r| r.wall.as_secs_f64()))
}

/// Median CPU seconds.
pub fn median_cpu(results: &[Run]) -> f64 {
    median(results.iter().map(|r| r.cpu.as_secs_f64()))
}
