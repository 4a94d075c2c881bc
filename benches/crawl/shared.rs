//! The shared crawl (`--redis`): one worker on Redis against the in-memory frontier on the
//! static site, workers 1, 2 and 4 against a slow server (where the limit is concurrency,
//! not this machine's cores), and Redis's memory per seen URL. Each against a real
//! `redis-server` started here; without one the rows are left out with a note.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::http::DELAY_LINKS;
use crate::measure::{median, run_areq, Output, Run};
use crate::report::{count, Row};
use crate::server::{free_port, Server};
use crate::workloads::{check_lines, common, progress, rates, repeat, write_urls, SiteRun};

/// A redis-server for the bench, without persistence.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Option<Redis> {
        let port = free_port().ok()?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis.info("server").is_none() {
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// `INFO section`, raw.
    fn info(&self, section: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        stream
            .write_all(format!("INFO {section}\r\n").as_bytes())
            .ok()?;
        let mut reply = String::new();
        let mut buf = [0u8; 16 * 1024];
        // One bulk reply: `$LEN\r\n…\r\n`.
        loop {
            let n = stream.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            reply.push_str(&String::from_utf8_lossy(&buf[..n]));
            let declared = reply
                .strip_prefix('$')
                .and_then(|rest| rest.split_once("\r\n"))
                .and_then(|(len, _)| len.parse::<usize>().ok());
            if declared.is_some_and(|len| reply.len() >= len) {
                break;
            }
        }
        Some(reply)
    }

    /// A number from `INFO section`, by field name.
    fn stat(&self, section: &str, field: &str) -> f64 {
        self.info(section)
            .and_then(|text| {
                text.lines()
                    .find_map(|line| line.strip_prefix(&format!("{field}:")))
                    .and_then(|value| value.trim().parse().ok())
            })
            .unwrap_or(0.0)
    }

    /// CPU seconds redis-server has used, from INFO.
    fn cpu(&self) -> f64 {
        self.stat("cpu", "used_cpu_sys") + self.stat("cpu", "used_cpu_user")
    }

    /// Script calls so far: one round trip each (commands scripts run inside count apart).
    fn script_calls(&self) -> f64 {
        let calls = |command: &str| -> f64 {
            self.info("commandstats")
                .and_then(|text| {
                    let line = text
                        .lines()
                        .find(|line| line.starts_with(&format!("cmdstat_{command}:")))?;
                    line.split("calls=").nth(1)?.split(',').next()?.parse().ok()
                })
                .unwrap_or(0.0)
        };
        calls("evalsha") + calls("eval")
    }

    /// Sends one command (RESP array of bulk strings) and reads its reply's first line.
    fn call(&self, stream: &mut TcpStream, args: &[&[u8]]) -> String {
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg);
            request.extend_from_slice(b"\r\n");
        }
        stream.write_all(&request).expect("write to redis");
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        while !reply.ends_with(b"\r\n") {
            stream.read_exact(&mut byte).expect("read from redis");
            reply.push(byte[0]);
        }
        String::from_utf8_lossy(&reply).trim().to_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    /// Fingerprints pushed into a seen set directly, through areq's own push script.
    pub layout_urls: usize,
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
    let (scaling, note) = scaling(&redis, settings, work);
    rows.extend(scaling);
    notes.push(note);
    let (row, note) = seen_memory(&redis, settings.memory_urls, work);
    rows.push(row);
    notes.push(note);
    notes.push(seen_layout(&redis, settings.layout_urls));
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

fn shared_args(redis: &Redis, crawl: &str) -> Vec<String> {
    vec![
        "--redis".into(),
        redis.url(),
        "--crawl".into(),
        crawl.into(),
    ]
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
        let (cpu, scripts) = (redis.cpu(), redis.script_calls());
        let run = once(shared_args(redis, &format!("site-{crawl}")));
        redis_cpu.push(redis.cpu() - cpu);
        calls.push(redis.script_calls() - scripts);
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

/// Workers 1, 2 and 4 of one crawl against a server whose pages take `scaling_delay`.
fn scaling(redis: &Redis, settings: &SharedSettings, work: &Path) -> (Vec<Row>, String) {
    let server =
        Server::start_delay(settings.scaling_delay).expect("cannot start the delay server");
    let origin = server.origin();
    let list = work.join("shared-slow-urls.txt");
    let urls = settings.scaling_urls;
    write_urls(&list, urls, |i| format!("{origin}/slow/{i}")).expect("cannot write URLs");
    let c = settings.scaling_concurrency;
    let mut rows = Vec::new();
    let mut rates_by_workers = Vec::new();
    let mut crawl = 0;
    for workers in [1usize, 2, 4] {
        let mut walls = Vec::new();
        let mut results = Vec::new();
        for run in 1..=settings.runs {
            crawl += 1;
            let name = format!("slow-{crawl}");
            let started = Instant::now();
            let handles: Vec<_> = (0..workers)
                .map(|worker| {
                    // Politeness is crawl-wide: the host takes all workers' requests at once.
                    let args = args(&list, c, c * 4, &shared_args(redis, &name));
                    let output = work.join(format!("slow-{crawl}-{worker}.tsv"));
                    thread::spawn(move || {
                        let run = run_areq(&args, Output::File(&output), Duration::from_secs(300));
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
        rates_by_workers.push(urls as f64 / wall);
        let floor = urls.div_ceil(c * workers) as f64 * settings.scaling_delay.as_secs_f64();
        rows.push(Row {
            workload: format!(
                "shared: {workers} worker(s), {} ms pages",
                settings.scaling_delay.as_millis()
            ),
            input: format!(
                "{} URLs, -c {c} each, --per-host {}",
                count(urls as u64),
                c * 4
            ),
            wall: format!("{wall:.2} s"),
            rate: format!("{:.0} pages/s", urls as f64 / wall),
            floor: format!("{floor:.2} s (ceil({urls}/({c}×{workers})) × delay)"),
            ratio: format!("{:.2}x", wall / floor),
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
        "shared scaling: pages/s with 2 workers is {:.2}x and with 4 workers {:.2}x that of one \
         worker (ideal 2x and 4x; CPU and RSS cells are per worker)",
        rates_by_workers[1] / rates_by_workers[0],
        rates_by_workers[2] / rates_by_workers[0],
    );
    (rows, note)
}

/// Redis memory (INFO used_memory) before and after a crawl of `urls` distinct URLs: what
/// the seen set costs a URL once the crawl is done.
fn seen_memory(redis: &Redis, urls: usize, work: &Path) -> (Row, String) {
    let server = Server::start_delay(Duration::ZERO).expect("cannot start the fast server");
    let origin = server.origin();
    let list = work.join("shared-memory-urls.txt");
    write_urls(&list, urls, |i| format!("{origin}/p/{i}")).expect("cannot write URLs");
    let before = redis.stat("memory", "used_memory");
    let args = args(&list, 64, 64, &shared_args(redis, "memory"));
    let run = run_areq(
        &args,
        Output::Pipe,
        Duration::from_secs(120 + urls as u64 / 100),
    );
    check_lines(&run, urls as u64 * DELAY_LINKS + 1, "shared memory");
    let after = redis.stat("memory", "used_memory");
    let per_url = (after - before) / urls as f64;
    let row = Row {
        workload: "shared: Redis memory per seen URL".to_owned(),
        input: format!("{} distinct URLs, 1 worker, -c 64", count(urls as u64)),
        rate: format!("{:.0} pages/s", urls as f64 / run.wall.as_secs_f64()),
        floor: "32 bytes a URL (target)".to_owned(),
        ratio: format!("{per_url:.1} bytes a URL"),
        ..common(&[run])
    };
    let note = format!(
        "shared memory: Redis used_memory grew {:.1} MB for {} URLs: {per_url:.1} bytes a URL",
        (after - before) / 1e6,
        count(urls as u64)
    );
    (row, note)
}

/// The seen set's layout at scale without crawling that many pages: `urls` random
/// fingerprints pushed through areq's own push script, the queued jobs then dropped, and
/// Redis's used_memory compared before and after.
fn seen_layout(redis: &Redis, urls: usize) -> String {
    let script = [
        include_str!("../../src/frontier/redis/common.lua"),
        include_str!("../../src/frontier/redis/push.lua"),
    ]
    .concat();
    let mut stream = TcpStream::connect(("127.0.0.1", redis.port)).expect("connect to redis");
    let prefix = b"areq:{layout}:".as_slice();
    let before = redis.stat("memory", "used_memory");
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        // xorshift64*: fingerprints as random as SipHash's
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let job = b"h\t1\th\thttp://h/a\thttp://h/a".as_slice();
    for batch in (0..urls).collect::<Vec<_>>().chunks(1000) {
        let keys: Vec<(String, [u8; 8])> = batch
            .iter()
            .map(|_| ((next() >> 48).to_string(), next().to_be_bytes()))
            .collect();
        let mut args: Vec<&[u8]> = vec![b"EVAL", script.as_bytes(), b"0", prefix];
        for (bucket, fingerprint) in &keys {
            args.extend([
                bucket.as_bytes(),
                fingerprint.as_slice(),
                b"h".as_slice(),
                job,
            ]);
        }
        let reply = redis.call(&mut stream, &args);
        assert!(reply.starts_with(':'), "push script failed: {reply}");
    }
    let queue = b"areq:{layout}:q:h".as_slice();
    redis.call(
        &mut stream,
        &[
            b"DEL",
            queue,
            b"areq:{layout}:hosts",
            b"areq:{layout}:stats",
        ],
    );
    let after = redis.stat("memory", "used_memory");
    format!(
        "shared seen-set layout: {} fingerprints pushed through the push script take {:.1} MB \
         of Redis memory, {:.1} bytes a URL (target at most 32)",
        count(urls as u64),
        (after - before) / 1e6,
        (after - before) / urls as f64
    )
}
