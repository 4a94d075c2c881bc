//! Link extraction on one core, in memory: the tree builder (`tree_links`, the reference and the
//! extractor before the speed work) against the default path (`extract_links`, the streaming
//! scanner with its fallback), over every page of the site. `extract_links` is also the parse
//! floor the throughput workload compares with.
//!
//! First both must find the same links in the same order on every page; the bench fails on the
//! first page where they differ, naming it.

use std::hint::black_box;
use std::time::Instant;

use areq::config::LinkOptions;
use areq::extract::{extract_links, tree_links};
use encoding_rs::UTF_8;
use url::Url;

use crate::measure::median;
use crate::report::{count, seconds, verdict, Row};
use crate::site;
use crate::workloads::{progress, rates, runs_cell, Floor, SiteRun};

/// Least speedup of `extract_links` over `tree_links`, in pages per second.
pub const FLOOR: f64 = 2.3;

/// The two extraction rows (tree builder, default path with its speedup) and the parse floor.
pub fn extraction(site: &SiteRun<'_>, runs: usize) -> (Vec<Row>, Floor) {
    let pages = site::load_pages(site.dir, site.manifest.pages, site.origin)
        .expect("cannot read the generated site");
    let links = check_same_links(&pages);
    assert_eq!(
        links as u64 + 1,
        site.manifest.expected_lines,
        "the link count differs from the one recorded at generation"
    );
    let (mut tree_walls, mut walls) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let tree = time_pass(&pages, tree_links);
        let default = time_pass(&pages, extract_links);
        progress(&format!(
            "extraction run {run}/{runs}: tree_links {}, extract_links {}",
            seconds(tree),
            seconds(default)
        ));
        tree_walls.push(tree);
        walls.push(default);
    }
    drop(pages);
    let (tree, default) = (median(tree_walls.clone()), median(walls.clone()));
    let pages = site.manifest.pages as f64;
    let bytes = site.manifest.bytes as f64;
    let input = format!("{} pages", count(site.manifest.pages as u64));
    let speedup = tree / default;
    let rows = vec![
        Row {
            workload: "extraction: tree_links (tree builder), 1 thread, in memory".to_owned(),
            input: input.clone(),
            wall: seconds(tree),
            rate: rates(pages / tree, bytes / tree),
            cpu: seconds(tree),
            runs: runs_cell(&tree_walls),
            ..Row::default()
        },
        Row {
            workload: "parse floor: extract_links, 1 thread, in memory".to_owned(),
            input: format!("{input}, same links as tree_links on every page"),
            wall: seconds(default),
            rate: rates(pages / default, bytes / default),
            cpu: seconds(default),
            floor: format!("floor ≥ {FLOOR}x tree_links"),
            ratio: verdict(&format!("{speedup:.2}x"), speedup >= FLOOR),
            runs: runs_cell(&walls),
            ..Row::default()
        },
    ];
    let floor = Floor {
        wall: default,
        pages_per_second: pages / default,
    };
    (rows, floor)
}

/// The signature `tree_links` and `extract_links` share.
type Extractor = fn(&str, &Url, &'static encoding_rs::Encoding, &LinkOptions) -> Vec<Url>;

/// Seconds for one extractor over every page, default options.
fn time_pass(pages: &[(Url, String)], extract: Extractor) -> f64 {
    let options = LinkOptions::default();
    let started = Instant::now();
    for (url, html) in pages {
        black_box(extract(black_box(html), url, UTF_8, &options));
    }
    started.elapsed().as_secs_f64()
}

/// Panics at the first page where `extract_links` and `tree_links` differ; else the number of
/// links they found on all pages.
fn check_same_links(pages: &[(Url, String)]) -> usize {
    let options = LinkOptions::default();
    let mut links = 0;
    for (url, html) in pages {
        let reference = tree_links(html, url, UTF_8, &options);
        let found = extract_links(html, url, UTF_8, &options);
        if let Some(difference) = first_difference(&reference, &found) {
            panic!("extract_links and tree_links differ on {url}: {difference}");
        }
        links += found.len();
    }
    progress(&format!(
        "extraction: extract_links and tree_links agree on all {} pages",
        count(pages.len() as u64)
    ));
    links
}

/// Where two link lists first differ, in words; `None` when they are equal.
pub fn first_difference(reference: &[Url], found: &[Url]) -> Option<String> {
    let position = reference
        .iter()
        .zip(found)
        .position(|(a, b)| a != b)
        .or_else(|| (reference.len() != found.len()).then(|| reference.len().min(found.len())))?;
    let at = |links: &[Url]| {
        links
            .get(position)
            .map_or_else(|| "nothing".to_owned(), |url| url.to_string())
    };
    Some(format!(
        "link {} is {} by tree_links but {} by extract_links ({} and {} links)",
        position + 1,
        at(reference),
        at(found),
        reference.len(),
        found.len()
    ))
}
