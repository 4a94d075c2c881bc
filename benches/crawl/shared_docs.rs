//! One worker on a standalone Redis against the in-memory frontier, crawling the Rust docs
//! recursively from their `index.html` with the docs crawl's flags (`-d` unbounded `-c 64
//! --per-host 64`), runs interleaved. Rows: pages/s of each with the worker's CPU, the ratio
//! (target ≥ 0.85x), Redis CPU a page (`INFO cpu`, target ≤ 25 µs) and Redis write commands a
//! page (`INFO commandstats`, which counts the commands scripts run; target ≤ 3). Then the
//! pair again with Redis on a core of its own and the crawl and its server on the others (see
//! [`crate::pinning`]): one row, the ratio when Redis's CPU is not taken from the crawl's, as
//! when Redis runs on a machine of its own.

use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::docs;
use crate::measure::{median, run_areq, Output, Run};
use crate::pinning::CoreOfItsOwn;
use crate::redis::{Redis, Writes};
use crate::report::{count, verdict, Row};
use crate::server::Server;
use crate::shared::{script_calls, shared_args, SharedSettings};
use crate::speed::{read_reached, Reached};
use crate::workloads::{common, interleave, progress, write_urls};

/// Least pages/s of one worker on Redis, over the memory frontier's.
pub const RATE_TARGET: f64 = 0.85;
/// Most Redis CPU a page, in µs.
pub const CPU_TARGET_US: f64 = 25.0;
/// Most Redis write commands a page.
pub const WRITES_TARGET: f64 = 3.0;
/// Longest one crawl of the docs may take.
const TIMEOUT: Duration = Duration::from_secs(1200);

/// What Redis did during one crawl on it.
struct OnRedis {
    cpu: f64,
    scripts: f64,
    writes: Writes,
}

/// The crawls of one placement, interleaved: on the memory frontier and on Redis.
struct Pair {
    results: Vec<Vec<Run>>,
    reached: [Vec<Reached>; 2],
    on_redis: Vec<OnRedis>,
}

impl Pair {
    /// Median pages fetched by the memory (0) or Redis (1) crawl.
    fn pages(&self, i: usize) -> f64 {
        median(self.reached[i].iter().map(|r| r.fetched as f64))
    }

    /// Median pages/s of the memory (0) or Redis (1) crawl.
    fn rate(&self, i: usize) -> f64 {
        self.pages(i) / median(self.results[i].iter().map(|r| r.wall.as_secs_f64()))
    }

    /// Median worker CPU a page of the memory (0) or Redis (1) crawl, in seconds.
    fn worker_cpu(&self, i: usize) -> f64 {
        median(self.results[i].iter().map(|r| r.cpu.as_secs_f64())) / self.pages(i)
    }

    /// Pages/s of one worker on Redis over the memory frontier's.
    fn ratio(&self) -> f64 {
        self.rate(1) / self.rate(0)
    }
}

/// The docs crawl's rows on the memory frontier and on Redis, all sharing every core, then
/// again with Redis on a core of its own (as on a machine of its own); none, with a note,
/// without the docs.
pub fn docs_pair(redis: &Redis, settings: &SharedSettings, work: &Path) -> (Vec<Row>, Vec<String>) {
    let dir = match docs::docs_dir() {
        Ok(dir) => dir,
        Err(reason) => {
            let note = format!("shared docs crawl left out: {reason}");
            progress(&note);
            return (Vec::new(), vec![note]);
        }
    };
    let server = match Server::start_static(&dir, settings.server) {
        Ok(server) => server,
        Err(err) => {
            return (
                Vec::new(),
                vec![format!("shared docs crawl: no server ({err})")],
            )
        }
    };
    let seeds = work.join("shared-docs-seed.txt");
    let seed = format!("{}/index.html", server.origin());
    write_urls(&seeds, 1, |_| seed.clone()).expect("cannot write the seed");
    let mut turn = 0;
    let mut crawl_pair =
        |labels: &[&str; 2]| run_pair(redis, settings, work, &seeds, labels, &mut turn);
    let shared = crawl_pair(&["shared docs crawl, memory", "shared docs crawl, redis"]);
    let (mut rows, mut notes) = shared_rows(&shared, settings.docs_depth);
    match CoreOfItsOwn::pin(redis.pid(), &[server.pid()]) {
        Ok(pinned) => {
            let alone = crawl_pair(&[
                "shared docs crawl, memory (Redis's core spared)",
                "shared docs crawl, redis on a core of its own",
            ]);
            drop(pinned);
            rows.push(alone_row(&alone));
        }
        Err(reason) => {
            notes.push(format!(
                "shared docs crawl with Redis on a core of its own left out: {reason}"
            ));
        }
    }
    (rows, notes)
}

/// Crawls the docs from `seeds` on the memory frontier and on Redis, `settings.runs` times
/// each, interleaved.
fn run_pair(
    redis: &Redis,
    settings: &SharedSettings,
    work: &Path,
    seeds: &Path,
    labels: &[&str; 2],
    turn: &mut usize,
) -> Pair {
    let mut reached: [Vec<Reached>; 2] = [Vec::new(), Vec::new()];
    let mut on_redis = Vec::new();
    let results = interleave(labels, settings.runs, |i| {
        *turn += 1;
        let output = work.join(format!("shared-docs-{turn}.tsv"));
        let summary = work.join(format!("shared-docs-{turn}.json"));
        let mut args = crawl_args(seeds, settings.docs_depth, &summary);
        let (cpu, scripts, calls) = (redis.cpu(), script_calls(redis), redis.command_calls());
        if i == 1 {
            args.extend(
                shared_args(&redis.url(), &format!("docs-{turn}"))
                    .into_iter()
                    .map(OsString::from),
            );
        }
        let run = run_areq(&args, Output::File(&output), TIMEOUT);
        if i == 1 {
            on_redis.push(OnRedis {
                cpu: redis.cpu() - cpu,
                scripts: script_calls(redis) - scripts,
                writes: Writes::between(redis, &calls, &redis.command_calls()),
            });
        }
        reached[i].push(read_reached(&summary));
        let _ = fs::remove_file(&output);
        let _ = fs::remove_file(&summary);
        run
    });
    Pair {
        results,
        reached,
        on_redis,
    }
}

/// The rows of the crawls sharing every core: pages/s of each, the ratio against its target,
/// Redis CPU and writes a page.
fn shared_rows(pair: &Pair, depth: u32) -> (Vec<Row>, Vec<String>) {
    let (memory_pages, redis_pages) = (pair.pages(0), pair.pages(1));
    let input = format!(
        "{} pages fetched, -d {} -c 64 --per-host 64",
        count(memory_pages as u64),
        depth_text(depth)
    );
    let row = |i: usize, label: &str| Row {
        workload: format!("shared: docs crawl, {label}"),
        input: input.clone(),
        rate: format!(
            "{:.0} pages/s; worker CPU {:.0} µs a page",
            pair.rate(i),
            pair.worker_cpu(i) * 1e6
        ),
        ..common(&pair.results[i])
    };
    let ratio = pair.ratio();
    let mut redis_row = row(1, "1 worker, standalone Redis");
    redis_row.floor = format!(
        "target ≥ {RATE_TARGET}x the memory frontier's {:.0} pages/s",
        pair.rate(0)
    );
    redis_row.ratio = verdict(&format!("{ratio:.2}x"), ratio >= RATE_TARGET);
    let on_redis = &pair.on_redis;
    let per_page = |value: f64| value / redis_pages;
    let cpu_us = per_page(median(on_redis.iter().map(|r| r.cpu))) * 1e6;
    let writes = per_page(median(on_redis.iter().map(|r| r.writes.total as f64)));
    let scripts = per_page(median(on_redis.iter().map(|r| r.scripts)));
    let redis_cpu_row = Row {
        workload: "shared: docs crawl, Redis CPU a page".to_owned(),
        input: "the Redis crawl above; INFO cpu used_cpu_sys + used_cpu_user, before and after"
            .to_owned(),
        floor: format!("target ≤ {CPU_TARGET_US} µs"),
        ratio: verdict(&format!("{cpu_us:.1} µs"), cpu_us <= CPU_TARGET_US),
        ..Row::default()
    };
    let writes_row = Row {
        workload: "shared: docs crawl, Redis writes a page".to_owned(),
        input: "the Redis crawl above; write commands in INFO commandstats (scripts' included)"
            .to_owned(),
        floor: format!("target ≤ {WRITES_TARGET}"),
        ratio: verdict(&format!("{writes:.1}"), writes <= WRITES_TARGET),
        ..Row::default()
    };
    let mut notes = Vec::new();
    if (memory_pages - redis_pages).abs() > 0.0 {
        notes.push(format!(
            "shared docs crawl: NOT the same pages: {} fetched on the memory frontier, {} on Redis",
            count(memory_pages as u64),
            count(redis_pages as u64)
        ));
    }
    if let Some(last) = on_redis.last() {
        notes.push(format!(
            "shared docs crawl on Redis: {scripts:.2} script calls (round trips) a page; write \
             commands a page (last run): {}",
            last.writes.describe(redis_pages)
        ));
    }
    (
        vec![
            row(0, "memory frontier"),
            redis_row,
            redis_cpu_row,
            writes_row,
        ],
        notes,
    )
}

/// The row of the crawls with Redis on a core of its own: the ratio, what the protocol costs
/// when Redis's CPU is not taken from the crawl's.
fn alone_row(pair: &Pair) -> Row {
    let ratio = pair.ratio();
    Row {
        workload: "shared: docs crawl, 1 worker, Redis on a core of its own".to_owned(),
        input: "the crawls above again, Redis pinned to the last CPU, areq and the server to the \
                others (taskset)"
            .to_owned(),
        rate: format!(
            "{:.0} pages/s on Redis, {:.0} on the memory frontier",
            pair.rate(1),
            pair.rate(0)
        ),
        floor: format!("target ≥ {RATE_TARGET}x, as above"),
        ratio: verdict(&format!("{ratio:.2}x"), ratio >= RATE_TARGET),
        ..common(&pair.results[1])
    }
}

/// `SEEDS -d DEPTH -c 64 --per-host 64 --summary-json SUMMARY -q`: the docs crawl's flags.
fn crawl_args(seeds: &Path, depth: u32, summary: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![seeds.into(), "-d".into(), depth.to_string().into()];
    for arg in ["-c", "64", "--per-host", "64", "--summary-json"] {
        args.push(arg.into());
    }
    args.push(summary.into());
    args.push("-q".into());
    args
}

/// `unbounded` for the depth that stands for it, else the number.
fn depth_text(depth: u32) -> String {
    if depth >= 1_000_000 {
        "unbounded".to_owned()
    } else {
        depth.to_string()
    }
}
