//! The shared crawl (`--redis`): one worker on Redis against the in-memory frontier on the
//! static site's list and on a recursive crawl of the Rust docs (`shared_docs.rs`), workers
//! 1, 2, 4 and 8 against a slow server (where the limit is concurrency, not this machine's
//! cores), three workers on a 3-master Redis Cluster (`shared_cluster.rs`), and Redis's
//! memory per seen URL and per queued job (`shared_memory.rs`). Each against real
//! `redis-server`s started here; without one the rows are left out with a note.

use std::ffi::OsString;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::http::DELAY_LINKS;
use crate::measure::{median, run_areq, Output, Run};
use crate::redis::Redis;
use crate::report::{count, verdict, Row};
use crate::server::{Choice, Server};
use crate::workloads::{check_lines, common, progress, rates, repeat, write_urls, SiteRun};

/// Workers of the scaling workload, and the least pages/s each count should reach, as a
/// multiple of one worker's (1 for one worker itself).
const SCALING: [(usize, f64); 4] = [(1, 1.0), (2, 1.9), (4, 3.7), (8, 7.0)];

/// Most Redis memory a crawled URL may take once its crawl is done, every key counted.
const CRAWLED_TARGET_BYTES: f64 = 32.0;

/// What the shared-crawl workloads need.
#[derive(Debug, Clone)]
pub struct SharedSettings {
    /// Runs of each workload.
    pub runs: usize,
    /// URLs of the scaling workload.
    pub scaling_urls: usize,
    /// How long each of its pages takes.
    pub scaling_delay: Duration,
    /// Each worker's `-c`.
    pub scaling_concurrency: usize,
    /// Distinct URLs of the memory workload (crawled).
    pub memory_urls: usize,
    /// Pages, and distinct links on each, of the seen-set workload: the links are seen and
    /// queued, not fetched.
    pub link_pages: (usize, usize),
    /// `-d` of the docs crawls (unbounded in the full bench).
    pub docs_depth: u32,
    /// Hosts, and seeds on each, of the Cluster workload.
    pub cluster_hosts: (usize, usize),
    /// Which server serves the static pages.
    pub server: Choice,
}

/// All shared-crawl rows, with notes; none (and a note) without redis-server.
pub fn shared(
    site: &SiteRun<'_>,
    settings: &SharedSettings,
    work: &Path,
) -> (Vec<Row>, Vec<String>) {
    let Some(redis) = Redis::start() else {
        return (
            Vec::new(),
            vec!["shared crawl: no redis-server on PATH; rows left out".into()],
        );
    };
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let (pair, note) = one_worker(site, &redis, settings.runs, work);
    rows.extend(pair);
    notes.push(note);
    let (docs, docs_notes) = crate::shared_docs::docs_pair(&redis, settings, work);
    rows.extend(docs);
    notes.extend(docs_notes);
    let (scaling, note) = scaling(&redis, settings, work);
    rows.extend(scaling);
    notes.push(note);
    let (cluster, cluster_notes) = crate::shared_cluster::cluster(settings, work);
    rows.extend(cluster);
    notes.extend(cluster_notes);
    let (row, note) = seen_memory(&redis, settings.memory_urls, work);
    rows.push(row);
    notes.push(note);
    let (memory, memory_notes) = crate::shared_memory::seen_and_queued(&redis, settings, work);
    rows.extend(memory);
    notes.extend(memory_notes);
    (rows, notes)
}

/// `LIST -c CONCURRENCY --per-host PER_HOST -q EXTRA…`.
fn args(list: &Path, concurrency: usize, per_host: usize, extra: &[String]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        list.into(),
        "-c".into(),
        concurrency.to_string().into(),
        "--per-host".into(),
        per_host.to_string().into(),
        "-q".into(),
    ];
    args.extend(extra.iter().map(OsString::from));
    args
}

/// `--redis URL --crawl NAME`.
pub fn shared_args(url: &str, crawl: &str) -> Vec<String> {
    vec!["--redis".into(), url.into(), "--crawl".into(), crawl.into()]
}

/// The static site as a list, in memory and then through Redis with one worker.
fn one_worker(site: &SiteRun<'_>, redis: &Redis, runs: usize, work: &Path) -> (Vec<Row>, String) {
    let list = work.join("shared-site-urls.txt");
    write_urls(&list, site.manifest.pages, |i| {
        crate::site::page_url(site.origin, i)
    })
    .expect("cannot write the URL list");
    let output = work.join("shared-out.tsv");
    let pages = site.manifest.pages as f64;
    let once = |extra: Vec<String>| {
        let run = run_areq(
            &args(&list, 64, 64, &extra),
            Output::File(&output),
            Duration::from_secs(600),
        );
        check_lines(&run, site.manifest.expected_lines, "shared site");
        let _ = std::fs::remove_file(&output);
        let _ = std::fs::remove_file(output.with_extension("tsv.done"));
        run
    };
    let memory = repeat("site list, memory frontier", runs, || once(Vec::new()));
    let (mut redis_cpu, mut calls) = (Vec::new(), Vec::new());
    let mut crawl = 0;
    let shared = repeat("site list, redis frontier", runs, || {
        crawl += 1;
        let (cpu, scripts) = (redis.cpu(), script_calls(redis));
        let run = once(shared_args(&redis.url(), &format!("site-{crawl}")));
        redis_cpu.push(redis.cpu() - cpu);
        calls.push(script_calls(redis) - scripts);
        run
    });
    let wall = |results: &[Run]| median(results.iter().map(|r| r.wall.as_secs_f64()));
    let (memory_wall, shared_wall) = (wall(&memory), wall(&shared));
    let row = |label: &str, results: &[Run], wall: f64| Row {
        workload: format!("shared: static site list, {label}"),
        input: format!(
            "{} pages, -c 64 --per-host 64",
            count(site.manifest.pages as u64)
        ),
        rate: rates(pages / wall, site.manifest.bytes as f64 / wall),
        ..common(results)
    };
    let mut redis_row = row("1 worker, Redis frontier", &shared, shared_wall);
    redis_row.floor = format!("{:.0} pages/s (memory frontier)", pages / memory_wall);
    redis_row.ratio = format!("{:.2}x", memory_wall / shared_wall);
    let rows = vec![row("memory frontier", &memory, memory_wall), redis_row];
    let note = format!(
        "shared, one worker: {:.2} Redis round trips (script calls) a page, {:.0} µs of Redis \
         CPU a page",
        median(calls.iter().copied()) / pages,
        median(redis_cpu.iter().copied()) * 1e6 / pages,
    );
    (rows, note)
}

/// Script calls so far (`evalsha` and `eval`): one round trip each.
pub fn script_calls(redis: &Redis) -> f64 {
    let calls = redis.command_calls();
    let of = |command: &str| calls.get(command).copied().unwrap_or(0) as f64;
    of("evalsha") + of("eval")
}

/// Workers 1, 2, 4 and 8 of one crawl against a server whose pages take `scaling_delay`:
/// pages/s of each, and its ratio to one worker's.
fn scaling(redis: &Redis, settings: &SharedSettings, work: &Path) -> (Vec<Row>, String) {
    let server =
        Server::start_delay(settings.scaling_delay).expect("cannot start the delay server");
    let origin = server.origin();
    let list = work.join("shared-slow-urls.txt");
    let urls = settings.scaling_urls;
    write_urls(&list, urls, |i| format!("{origin}/slow/{i}")).expect("cannot write URLs");
    let c = settings.scaling_concurrency;
    let most = SCALING.iter().map(|(workers, _)| workers).max().copied();
    // Politeness is crawl-wide: the host takes every worker's requests at once.
    let per_host = c * most.unwrap_or(1);
    let delay = settings.scaling_delay.as_secs_f64();
    let mut rows = Vec::new();
    let mut one_worker = 0.0;
    let mut ratios = Vec::new();
    let mut crawl = 0;
    for (workers, target) in SCALING {
        let mut walls = Vec::new();
        let mut results = Vec::new();
        for run in 1..=settings.runs {
            crawl += 1;
            let name = format!("slow-{crawl}");
            let started = Instant::now();
            let handles: Vec<_> = (0..workers)
                .map(|worker| {
                    let args = args(&list, c, per_host, &shared_args(&redis.url(), &name));
                    let output = work.join(format!("slow-{crawl}-{worker}.tsv"));
                    thread::spawn(move || {
                        let run = run_areq(&args, Output::File(&output), Duration::from_secs(600));
                        let _ = std::fs::remove_file(&output);
                        run
                    })
                })
                .collect();
            let runs: Vec<Run> = handles
                .into_iter()
                .map(|handle| handle.join().expect("a worker's measurement panicked"))
                .collect();
            let wall = started.elapsed().as_secs_f64();
            let lines: u64 = runs.iter().map(|r| r.lines).sum();
            assert_eq!(
                lines,
                urls as u64 * DELAY_LINKS + workers as u64,
                "{workers} workers wrote every page once (plus a header each)"
            );
            progress(&format!(
                "shared {workers} worker(s) run {run}: {wall:.2} s"
            ));
            walls.push(wall);
            results.extend(runs);
        }
        let wall = median(walls.iter().copied());
        let rate = urls as f64 / wall;
        let floor = urls.div_ceil(c * workers) as f64 * delay;
        let (floor_cell, ratio_cell) = if workers == 1 {
            one_worker = rate;
            (
                format!("{floor:.2} s (ceil({urls}/{c}) × delay)"),
                format!("{:.2}x the floor's wall", wall / floor),
            )
        } else {
            let ratio = rate / one_worker;
            ratios.push(format!("{workers} workers {ratio:.2}x (target {target}x)"));
            (
                format!("target ≥ {target}x one worker's {one_worker:.0} pages/s"),
                verdict(&format!("{ratio:.2}x"), ratio >= target),
            )
        };
        rows.push(Row {
            workload: format!(
                "shared: {workers} worker(s), {} ms pages",
                settings.scaling_delay.as_millis()
            ),
            input: format!(
                "{} URLs, -c {c} each, --per-host {per_host}; wall floor {floor:.2} s",
                count(urls as u64)
            ),
            wall: format!("{wall:.2} s"),
            rate: format!("{rate:.0} pages/s"),
            floor: floor_cell,
            ratio: ratio_cell,
            runs: walls
                .iter()
                .map(|w| format!("{w:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
                + " s",
            ..common(&results)
        });
    }
    let note = format!(
        "shared scaling: pages/s over one worker's: {} (CPU and RSS cells are per worker; the \
         wall floor is ceil(URLs / (-c × workers)) × delay)",
        ratios.join(", ")
    );
    (rows, note)
}

/// Redis memory (INFO used_memory) before and after a crawl of `urls` distinct URLs: what
/// a URL costs once the crawl is done, every key of the crawl counted.
fn seen_memory(redis: &Redis, urls: usize, work: &Path) -> (Row, String) {
    let server = Server::start_delay(Duration::ZERO).expect("cannot start the fast server");
    let origin = server.origin();
    let list = work.join("shared-memory-urls.txt");
    write_urls(&list, urls, |i| format!("{origin}/p/{i}")).expect("cannot write URLs");
    let before = redis.used_memory();
    let args = args(&list, 64, 64, &shared_args(&redis.url(), "memory"));
    let run = run_areq(
        &args,
        Output::Pipe,
        Duration::from_secs(120 + urls as u64 / 100),
    );
    check_lines(&run, urls as u64 * DELAY_LINKS + 1, "shared memory");
    let after = redis.used_memory();
    let per_url = (after - before) / urls as f64;
    let row = Row {
        workload: "shared: Redis memory per crawled URL (used_memory)".to_owned(),
        input: format!("{} distinct URLs, 1 worker, -c 64", count(urls as u64)),
        rate: format!("{:.0} pages/s", urls as f64 / run.wall.as_secs_f64()),
        floor: format!("target ≤ {CRAWLED_TARGET_BYTES} bytes a URL"),
        ratio: verdict(
            &format!("{per_url:.1} bytes a URL"),
            per_url <= CRAWLED_TARGET_BYTES,
        ),
        ..common(&[run])
    };
    let note = format!(
        "shared memory: Redis used_memory grew {:.1} MB for {} URLs: {per_url:.1} bytes a URL",
        (after - before) / 1e6,
        count(urls as u64)
    );
    (row, note)
}
