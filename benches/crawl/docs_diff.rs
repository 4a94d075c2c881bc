//! The differential over the Rust docs: every `.html` file through `tree_links` (the reference)
//! and through `for_each_link` (the default path `extract_links` takes), each page with the
//! http URL it is served at. Links of every scheme are kept (`--all-schemes`): equal lists then
//! mean equal lists under the default options too, which only filter them.
//!
//! Reports the pages whose links differ (there must be none; the first few are named), the
//! share of pages that took the tree builder's path and why, and the pages/s of each path.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use areq::config::LinkOptions;
use areq::extract::{for_each_link, tree_links, Path as LinkPath, Unsure};
use encoding_rs::UTF_8;

use crate::docs::{page_url, DIFF_ORIGIN};
use crate::extraction::first_difference;
use crate::report::{count, seconds, verdict, Row};
use crate::workloads::progress;

/// How many differing pages are named in the notes.
const NAMED: usize = 5;

/// What the differential found.
#[derive(Debug, Default)]
struct Tally {
    pages: usize,
    bytes: u64,
    tree_seconds: f64,
    default_seconds: f64,
    /// Pages that took the tree builder's path, by reason.
    tree_path: HashMap<Unsure, usize>,
    /// Pages whose links differ, with how.
    differing: Vec<(PathBuf, String)>,
    differing_count: usize,
}

/// The differential's row and its notes.
pub fn differential(dir: &Path, files: &[PathBuf]) -> (Row, Vec<String>) {
    let options = LinkOptions {
        all_schemes: true,
        ..LinkOptions::default()
    };
    let started = Instant::now();
    let mut tally = Tally::default();
    for (i, relative) in files.iter().enumerate() {
        let file = dir.join(relative);
        let bytes =
            fs::read(&file).unwrap_or_else(|err| panic!("cannot read {}: {err}", file.display()));
        let html = String::from_utf8_lossy(&bytes);
        let url = page_url(DIFF_ORIGIN, relative);
        let before = Instant::now();
        let reference = tree_links(&html, &url, UTF_8, &options);
        let between = Instant::now();
        let mut found = Vec::new();
        let path = for_each_link(&html, &url, UTF_8, &options, |link| found.push(link));
        tally.default_seconds += between.elapsed().as_secs_f64();
        tally.tree_seconds += (between - before).as_secs_f64();
        tally.pages += 1;
        tally.bytes += bytes.len() as u64;
        if let LinkPath::Tree(reason) = path {
            *tally.tree_path.entry(reason).or_default() += 1;
        }
        if let Some(difference) = first_difference(&reference, &found) {
            tally.differing_count += 1;
            if tally.differing.len() < NAMED {
                tally.differing.push((relative.clone(), difference));
            }
        }
        if (i + 1) % 10_000 == 0 {
            progress(&format!(
                "docs differential: {} of {} pages",
                count(i as u64 + 1),
                count(files.len() as u64)
            ));
        }
    }
    let wall = started.elapsed().as_secs_f64();
    (row(&tally, wall), notes(&tally))
}

fn row(tally: &Tally, wall: f64) -> Row {
    let pages = tally.pages as f64;
    Row {
        workload: "docs: tree_links vs extract_links, every page, 1 thread".to_owned(),
        input: format!(
            "{} pages, {:.0} MB, all schemes",
            count(tally.pages as u64),
            tally.bytes as f64 / 1e6
        ),
        wall: seconds(wall),
        rate: format!(
            "tree_links {:.0} pages/s, extract_links {:.0} pages/s ({:.2}x)",
            pages / tally.tree_seconds,
            pages / tally.default_seconds,
            tally.tree_seconds / tally.default_seconds
        ),
        cpu: seconds(wall),
        floor: "0 pages differ".to_owned(),
        ratio: verdict(
            &format!("{} differ", count(tally.differing_count as u64)),
            tally.differing_count == 0,
        ),
        ..Row::default()
    }
}

fn notes(tally: &Tally) -> Vec<String> {
    let tree: usize = tally.tree_path.values().sum();
    let mut reasons: Vec<(&Unsure, &usize)> = tally.tree_path.iter().collect();
    reasons.sort_by(|a, b| {
        b.1.cmp(a.1)
            .then_with(|| a.0.to_string().cmp(&b.0.to_string()))
    });
    let breakdown: Vec<String> = reasons
        .iter()
        .map(|(reason, pages)| format!("{reason}: {}", count(**pages as u64)))
        .collect();
    let mut notes = vec![format!(
        "docs differential: {:.1}% of pages ({} of {}) took the tree builder's path{}",
        100.0 * tree as f64 / tally.pages.max(1) as f64,
        count(tree as u64),
        count(tally.pages as u64),
        if breakdown.is_empty() {
            String::new()
        } else {
            format!(" ({})", breakdown.join(", "))
        }
    )];
    if tally.differing_count > 0 {
        let named: Vec<String> = tally
            .differing
            .iter()
            .map(|(path, how)| format!("{}: {how}", path.display()))
            .collect();
        notes.push(format!(
            "docs differential: {} pages differ, first {}: {}",
            count(tally.differing_count as u64),
            named.len(),
            named.join("; ")
        ));
    }
    notes
}
