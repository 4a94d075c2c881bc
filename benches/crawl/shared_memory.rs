//! Redis memory per seen URL and per queued job at a million URLs, without fetching a million
//! pages: a generated site of pages that each carry many distinct links (1,000 pages × 1,000
//! links) under one index page linking them all, crawled by one worker from the index with
//! `-d 2 --max-pages PAGES+1`. The pages are on one host, whose queue is first in, first out:
//! the index queues every page before any is fetched, so the pages are taken before any of
//! their links, and the budget ends the crawl once they are done: each of their links is seen
//! and queued, never fetched. (A list of the pages would not do: the list is read as the
//! frontier runs low, so links of the first pages would be queued before the last pages.) Then the seen set's keys (`seen:*`) and the queues' (`q:*`)
//! are weighed with `MEMORY USAGE` and divided by `areq status`'s counts (`seen: N URLs`,
//! `N queued`); `INFO memory`'s used_memory before and after is reported too.

use std::ffi::OsString;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::measure::{run_areq, Output};
use crate::redis::Redis;
use crate::report::{count, verdict, Row};
use crate::server::Server;
use crate::shared::{shared_args, SharedSettings};
use crate::workloads::{common, progress, write_urls};

/// Most Redis memory a seen URL may take, in bytes.
pub const SEEN_TARGET_BYTES: f64 = 20.0;
/// Most Redis memory a queued job may take beyond its URL's length, in bytes.
pub const JOB_TARGET_BYTES: f64 = 40.0;
/// The crawl's name.
const NAME: &str = "links";

/// The seen-set and queue rows, with a note.
pub fn seen_and_queued(
    redis: &Redis,
    settings: &SharedSettings,
    work: &Path,
) -> (Vec<Row>, Vec<String>) {
    let (pages, links) = settings.link_pages;
    let root = work.join("links-site");
    write_site(&root, pages, links).expect("cannot write the links site");
    let server =
        Server::start_static(&root, settings.server).expect("cannot start the static server");
    let origin = server.origin();
    let list = work.join("links-index.txt");
    write_urls(&list, 1, |_| format!("{origin}/l/index.html")).expect("cannot write the seed");
    let budget = (pages + 1).to_string();
    let mut args: Vec<OsString> = vec![list.clone().into()];
    for arg in [
        "-d",
        "2",
        "--max-pages",
        &budget,
        "-c",
        "64",
        "--per-host",
        "64",
    ] {
        args.push(arg.into());
    }
    args.push("-q".into());
    args.extend(
        shared_args(&redis.url(), NAME)
            .into_iter()
            .map(OsString::from),
    );
    let before = redis.used_memory();
    progress(&format!(
        "shared memory: {} pages × {} links",
        count(pages as u64),
        count(links as u64)
    ));
    let run = run_areq(&args, Output::Pipe, Duration::from_secs(1800));
    let after = redis.used_memory();
    let status = status(&redis.url());
    let seen = status_count(&status, "seen: ", " URLs");
    let queued = status_count(&status, "frontier: ", " queued");
    let listed_first = status.contains(&format!("pages by depth: 0: 1, 1: {pages}\n"));

    let keys = redis.crawl_keys(NAME);
    let of = |kind: &str| -> Vec<String> {
        keys.iter()
            .filter(|key| {
                key.split_once("}:")
                    .is_some_and(|(_, rest)| rest.starts_with(kind))
            })
            .cloned()
            .collect()
    };
    let (seen_keys, queue_keys) = (of("seen:"), of("q:"));
    let seen_bytes = redis.memory_usage(&seen_keys) as f64;
    let queue_bytes = redis.memory_usage(&queue_keys) as f64;
    let all_bytes = redis.memory_usage(&keys) as f64;
    let per_seen = seen_bytes / seen.max(1) as f64;
    let per_job = queue_bytes / queued.max(1) as f64;
    let url_length = mean_link_length(&origin, pages, links);
    let input = format!(
        "index + {} pages × {} links, -d 2 --max-pages {budget}: {} seen, {} queued",
        count(pages as u64),
        count(links as u64),
        count(seen),
        count(queued)
    );
    let seen_row = Row {
        workload: "shared: Redis memory per seen URL (seen:* keys)".to_owned(),
        input: input.clone(),
        rate: format!(
            "{} in {} keys",
            megabytes(seen_bytes),
            count(seen_keys.len() as u64)
        ),
        floor: format!("target ≤ {SEEN_TARGET_BYTES} bytes a URL"),
        ratio: verdict(
            &format!("{per_seen:.1} bytes a URL"),
            per_seen <= SEEN_TARGET_BYTES,
        ),
        ..common(&[run])
    };
    let job_row = Row {
        workload: "shared: Redis memory per queued job (q:* keys)".to_owned(),
        input,
        rate: format!(
            "{} in {} keys",
            megabytes(queue_bytes),
            count(queue_keys.len() as u64)
        ),
        floor: format!("target ≤ URL length ({url_length:.1} bytes) + {JOB_TARGET_BYTES}"),
        ratio: verdict(
            &format!(
                "{per_job:.1} bytes a job (URL + {:.1})",
                per_job - url_length
            ),
            per_job <= url_length + JOB_TARGET_BYTES,
        ),
        ..Row::default()
    };
    let mut notes = vec![format!(
        "shared memory at scale: used_memory grew {} for {} seen URLs and {} queued jobs; the \
         crawl's {} keys weigh {} (MEMORY USAGE), of which seen:* {} and q:* {}",
        megabytes(after - before),
        count(seen),
        count(queued),
        count(keys.len() as u64),
        megabytes(all_bytes),
        megabytes(seen_bytes),
        megabytes(queue_bytes),
    )];
    if !listed_first {
        notes.push(format!(
            "shared memory at scale: NOT every page under the index was fetched before the \
             budget ran out (status: {})",
            status.trim().replace('\n', "; ")
        ));
    }
    let _ = fs::remove_dir_all(&root);
    (vec![seen_row, job_row], notes)
}

/// `/l/I.html` under `origin`.
fn page_url(origin: &str, i: usize) -> String {
    format!("{origin}/l/{i}.html")
}

/// Link `j` of page `i`.
fn link_path(i: usize, j: usize) -> String {
    format!("/l/{i}/page-{j}.html")
}

/// The site: an index linking `pages` pages, each with `links` distinct links of its own.
fn write_site(root: &Path, pages: usize, links: usize) -> std::io::Result<()> {
    let dir = root.join("l");
    fs::create_dir_all(&dir)?;
    let mut index = BufWriter::new(fs::File::create(dir.join("index.html"))?);
    write!(index, "<!DOCTYPE html><html><body>")?;
    for i in 0..pages {
        writeln!(index, "<a href=\"{}\">{i}</a>", page_url("", i))?;
    }
    writeln!(index, "</body></html>")?;
    index.flush()?;
    for i in 0..pages {
        let mut out = BufWriter::new(fs::File::create(dir.join(format!("{i}.html")))?);
        write!(
            out,
            "<!DOCTYPE html><html><head><title>{i}</title></head><body>"
        )?;
        for j in 0..links {
            writeln!(out, "<a href=\"{}\">{j}</a>", link_path(i, j))?;
        }
        writeln!(out, "</body></html>")?;
        out.flush()?;
    }
    Ok(())
}

/// The mean length of a link's URL, in bytes.
fn mean_link_length(origin: &str, pages: usize, links: usize) -> f64 {
    let total: usize = (0..pages)
        .flat_map(|i| (0..links).map(move |j| origin.len() + link_path(i, j).len()))
        .sum();
    total as f64 / (pages * links).max(1) as f64
}

/// `areq status` of the crawl.
fn status(url: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_areq"))
        .args(["status", "--redis", url, "--crawl", NAME])
        .output()
        .expect("cannot run areq status");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The number between `before` and `after` in `areq status`'s output (0 when absent).
fn status_count(status: &str, before: &str, after: &str) -> u64 {
    status
        .split_once(before)
        .and_then(|(_, rest)| rest.split_once(after))
        .and_then(|(number, _)| number.trim().parse().ok())
        .unwrap_or(0)
}

/// `12.3 MB`, from bytes.
fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}
