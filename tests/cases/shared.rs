//! Several workers, one crawl, through a real redis-server and a real 3-master Cluster
//! (each test marked `on_both!` runs against both): every page once, the union of the
//! workers' outputs equal to one process's, politeness across workers, a worker killed
//! mid-crawl, a crawl stopped and started again, and the bad-input cases.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::support::cmd::{finish, send_signal, Areq, Run};
use crate::support::redis::{on_both, RedisCluster, RedisServer, SharedRedis};
use crate::support::server::{Gate, Reply, TestServer};
use crate::support::tree::{gated_tree_site, lines_of, page_hits, tree_site, wait_for_hits, PAGES};

/// The common flags of a recursive crawl of the tree site.
pub(super) const CRAWL: &[&str] = &[
    "urls.txt",
    "-o",
    "out.tsv",
    "--no-header",
    "-d",
    "10",
    "-c",
    "4",
];

/// Starts one worker of crawl `name` in a directory of its own, entering through the next
/// entry point of `redis`.
fn worker(redis: &SharedRedis, name: &str, site: &TestServer, extra: &[&str]) -> (Areq, Child) {
    worker_at(&redis.url(), name, site, extra)
}

/// Starts one worker of crawl `name` on the Redis at `url`.
fn worker_at(url: &str, name: &str, site: &TestServer, extra: &[&str]) -> (Areq, Child) {
    let areq = Areq::new();
    areq.input(&[site.url("/")]);
    let mut args: Vec<&str> = CRAWL.to_vec();
    args.extend(["--redis", url, "--crawl", name]);
    args.extend(extra);
    let child = areq.spawn(&args);
    (areq, child)
}

/// The lines of one process crawling the tree site alone.
pub(super) fn single_process_lines(delay: Duration) -> BTreeSet<String> {
    let site = tree_site(delay);
    let areq = Areq::new();
    areq.input(&[site.url("/")]);
    let run = areq.run(CRAWL);
    run.assert_success();
    let lines = lines_of(&areq.read("out.tsv"));
    // The reference rewritten to the port of the site the workers crawl: only the port
    // differs between runs.
    lines
        .into_iter()
        .map(|line| line.replace(&site.url(""), "{SITE}"))
        .collect()
}

/// The union of the workers' outputs, each cut at its last complete page (a worker killed
/// mid-write may leave a partial page after it), with the site's address replaced.
pub(super) fn union(workers: &[&Areq], site: &TestServer) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for areq in workers {
        let out = std::fs::read(areq.path("out.tsv")).unwrap_or_default();
        let complete = match std::fs::read_to_string(areq.path("out.tsv.done")) {
            Ok(done) => done
                .lines()
                .filter_map(|line| line.split('\t').next()?.parse::<usize>().ok())
                .max()
                .unwrap_or(0),
            Err(_) => out.len(),
        };
        let text = String::from_utf8_lossy(&out[..complete.min(out.len())]).into_owned();
        all.extend(lines_of(&text.replace(&site.url(""), "{SITE}")));
    }
    all
}

fn status(redis: &SharedRedis, name: &str) -> Run {
    Areq::new().run(&["status", "--redis", &redis.url(), "--crawl", name])
}

on_both!(three_workers_fetch_every_page_once_and_together_write_what_one_process_writes);
fn three_workers_fetch_every_page_once_and_together_write_what_one_process_writes(
    redis: SharedRedis,
) {
    let delay = Duration::from_millis(15);
    let expected = single_process_lines(delay);
    let site = tree_site(delay);
    let workers: Vec<(Areq, Child)> = (0..3).map(|_| worker(&redis, "tree", &site, &[])).collect();
    let mut dirs = Vec::new();
    for (areq, child) in workers {
        let run = finish(child);
        run.assert_success();
        dirs.push(areq);
    }
    let hits = page_hits(&site);
    assert_eq!(hits.len(), PAGES + 1, "every page was fetched: {hits:?}");
    assert!(
        hits.values().all(|&n| n == 1),
        "no page was fetched twice: {hits:?}"
    );
    assert_eq!(
        site.hits("/robots.txt"),
        1,
        "robots.txt once per crawl, not per worker"
    );
    assert_eq!(union(&dirs.iter().collect::<Vec<_>>(), &site), expected);
    for areq in &dirs {
        assert!(
            !areq.path("out.tsv.done").exists(),
            "a finished crawl leaves no .done behind"
        );
    }

    let run = status(&redis, "tree");
    run.assert_success();
    assert!(
        run.stdout.starts_with("crawl tree: finished\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("pages: {} ok, 0 failed", PAGES + 1)),
        "{}",
        run.stdout
    );
    let busy_workers = run
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("  pages by worker: "))
        .map_or(0, |list| list.split(", ").count());
    assert!(busy_workers >= 2, "the work was shared: {}", run.stdout);
}

on_both!(per_host_limits_and_the_rate_hold_across_all_workers_together);
fn per_host_limits_and_the_rate_hold_across_all_workers_together(redis: SharedRedis) {
    let site = tree_site(Duration::from_millis(30));
    let workers: Vec<(Areq, Child)> = (0..3)
        .map(|_| worker(&redis, "polite", &site, &["--per-host", "2"]))
        .collect();
    for (_areq, child) in workers {
        finish(child).assert_success();
    }
    assert_eq!(page_hits(&site).len(), PAGES + 1);
    assert_eq!(
        site.max_in_flight(),
        2,
        "three workers with -c 4 each never had more than 2 requests at the host"
    );

    let site = tree_site(Duration::ZERO);
    let gap = Duration::from_millis(100);
    let workers: Vec<(Areq, Child)> = (0..3)
        .map(|_| {
            worker(
                &redis,
                "rated",
                &site,
                &["--rate", "10", "--max-pages", "12"],
            )
        })
        .collect();
    for (_areq, child) in workers {
        finish(child).assert_success();
    }
    let mut starts: Vec<Instant> = site.requests().iter().map(|r| r.sent).collect();
    starts.sort();
    assert!(starts.len() >= 10, "{} requests", starts.len());
    // Turns are taken in Redis time just before each worker sends. What a worker does between
    // its turn and the bytes leaving (scheduling on a loaded machine) moves one request late
    // without moving the next turn, so one gap can look short by that delay; delays do not
    // add up. So: any two requests a gap apart at least, less one such delay, and the run as
    // a whole no faster than the rate allows.
    let late = Duration::from_millis(90);
    for pair in starts.windows(2) {
        let between = pair[1].duration_since(pair[0]);
        assert!(
            between + late >= gap,
            "two requests to the host {between:?} apart, under --rate 10 across workers"
        );
    }
    for three in starts.windows(3) {
        let between = three[2].duration_since(three[0]);
        assert!(
            between + late >= 2 * gap,
            "three requests to the host within {between:?}, under --rate 10 across workers"
        );
    }
    let span = starts[starts.len() - 1].duration_since(starts[0]);
    let least = gap * (starts.len() as u32 - 1);
    assert!(
        span + late >= least,
        "{} requests in {span:?}, under --rate 10 across workers",
        starts.len()
    );
}

on_both!(a_worker_killed_mid_crawl_leaves_its_pages_to_the_others);
fn a_worker_killed_mid_crawl_leaves_its_pages_to_the_others(redis: SharedRedis) {
    let delay = Duration::from_millis(20);
    let expected = single_process_lines(delay);
    let site = tree_site(delay);
    let lease = ["--lease", "2"];
    let (victim_dir, mut victim) = worker(&redis, "crash", &site, &lease);
    wait_for_hits(&site, 8);
    let others: Vec<(Areq, Child)> = (0..2)
        .map(|_| worker(&redis, "crash", &site, &lease))
        .collect();
    wait_for_hits(&site, 20);
    victim.kill().expect("kill -9 the worker");
    let _ = victim.wait();
    let mut dirs = vec![victim_dir];
    for (areq, child) in others {
        finish(child).assert_success();
        dirs.push(areq);
    }
    let hits = page_hits(&site);
    assert_eq!(hits.len(), PAGES + 1, "every page was fetched: {hits:?}");
    let again: usize = hits.values().map(|n| n - 1).sum();
    assert_eq!(union(&dirs.iter().collect::<Vec<_>>(), &site), expected);
    let run = status(&redis, "crash");
    let expired: usize = run
        .stdout
        .split(" leases expired")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        expired >= 1,
        "the dead worker's leases expired: {}",
        run.stdout
    );
    // A page is fetched again only when the lease of the worker that fetched it expired:
    // one of the -c 4 in flight, or one done but still in its unsent batch (at most 32).
    assert!(
        again <= expired && again <= 4 + 32,
        "only the pages the dead worker held were fetched again: {again}, {expired} expired"
    );
    assert!(
        run.stdout.starts_with("crawl crash: finished\n"),
        "{}",
        run.stdout
    );
}

on_both!(a_crawl_stopped_everywhere_goes_on_where_it_was_when_started_again);
fn a_crawl_stopped_everywhere_goes_on_where_it_was_when_started_again(redis: SharedRedis) {
    const BEFORE_STOP: usize = 30;
    let delay = Duration::from_millis(20);
    let expected = single_process_lines(delay);
    let gate = Gate::new();
    let site = gated_tree_site(delay, &gate, BEFORE_STOP);
    let first: Vec<(Areq, Child)> = (0..2)
        .map(|_| worker(&redis, "again", &site, &[]))
        .collect();
    // Both workers hold all they may (-c 4 each) at the gate: neither can finish before
    // its Ctrl-C.
    gate.wait_until_held(8);
    for (_, child) in &first {
        send_signal(child, libc::SIGINT);
    }
    let mut dirs = Vec::new();
    for (areq, child) in first {
        let run = finish(child);
        assert_eq!(run.code(), 130, "{}", run.stderr);
        dirs.push(areq);
    }
    gate.open();
    assert_eq!(page_hits(&site).len(), BEFORE_STOP + 8, "stopped mid-crawl");
    let run = status(&redis, "again");
    assert!(
        run.stdout.starts_with("crawl again: running\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(" 0 in flight"),
        "Ctrl-C hands leases back: {}",
        run.stdout
    );

    // What a worker killed mid-write leaves after its last complete page: a record block
    // its `.done` does not list, and half a line. The restart must cut both.
    let torn = format!(
        "{0}/n/1\t{0}/torn-block\n{0}/n/2\t{0}/torn-ha",
        site.url("")
    );
    for areq in &dirs {
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(areq.path("out.tsv"))
            .expect("open the output");
        out.write_all(torn.as_bytes()).expect("append a torn page");
    }

    // The same workers, the same command, later.
    let url = redis.url();
    let mut args: Vec<&str> = CRAWL.to_vec();
    args.extend(["--redis", &url, "--crawl", "again"]);
    let second: Vec<Child> = dirs.iter().map(|areq| areq.spawn(&args)).collect();
    for child in second {
        finish(child).assert_success();
    }
    let hits = page_hits(&site);
    assert_eq!(hits.len(), PAGES + 1);
    let again: usize = hits.values().map(|n| n - 1).sum();
    assert_eq!(
        again, 8,
        "exactly the pages in flight at Ctrl-C (2 workers, -c 4) were fetched twice"
    );
    for areq in &dirs {
        let out = areq.read("out.tsv");
        assert!(
            !out.contains("torn-"),
            "the restart cut the output back to its last complete page:\n{out}"
        );
        assert!(!areq.path("out.tsv.done").exists());
    }
    assert_eq!(union(&dirs.iter().collect::<Vec<_>>(), &site), expected);
}

#[test]
fn bad_redis_settings_are_one_clear_line_before_anything_is_fetched() {
    let site = tree_site(Duration::ZERO);
    let areq = Areq::new();
    areq.input(&[site.url("/")]);

    let closed = RedisServer::start();
    let gone = closed.url();
    drop(closed);
    let run = areq.run(&[
        "urls.txt", "-o", "out.tsv", "--redis", &gone, "--crawl", "x",
    ]);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with(&format!("areq: crawl x: redis at {gone}")),
        "{}",
        run.stderr
    );
    assert!(!areq.path("out.tsv").exists(), "nothing written");

    let locked = RedisServer::start_with(&["--requirepass", "sesame"]);
    let wrong = locked.url().replace("redis://", "redis://:guess@");
    let run = areq.run(&[
        "urls.txt", "-o", "out.tsv", "--redis", &wrong, "--crawl", "x",
    ]);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("redis at redis://:***@127.0.0.1"),
        "password hidden: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("guess"), "{}", run.stderr);

    let redis = RedisServer::start();
    let url = redis.url();
    let join = |depth: &str| {
        areq.run(&[
            "urls.txt",
            "-o",
            "out.tsv",
            "-d",
            depth,
            "--max-pages",
            "1",
            "--redis",
            &url,
            "--crawl",
            "settled",
        ])
    };
    join("2").assert_success();
    let run = join("3");
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("areq: crawl settled: crawl settled exists with other settings: depth is 2 there, 3 here"),
        "{}",
        run.stderr
    );

    for (args, why) in [
        (vec!["--redis", url.as_str()], "--crawl"),
        (
            vec!["--redis", url.as_str(), "--crawl", "has space"],
            "--crawl",
        ),
        (
            vec!["--redis", url.as_str(), "--crawl", "x", "--resume"],
            "--resume",
        ),
    ] {
        let mut all = vec!["urls.txt", "-o", "out.tsv"];
        all.extend(args);
        let run = areq.run(&all);
        assert_eq!(run.code(), 2, "{all:?}: {}", run.stderr);
        assert!(run.stderr.contains(why), "{all:?}: {}", run.stderr);
    }
    let run = Areq::new().run(&["status", "--redis", &url, "--crawl", "never-made"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr.contains("crawl never-made: no such crawl"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_redis_that_goes_away_mid_crawl_stops_the_worker_cleanly_after_a_lease_time() {
    let lease = Duration::from_secs(1);
    let mut redis = RedisServer::start();
    let gate = Gate::new();
    let site = gated_tree_site(Duration::from_millis(20), &gate, 15);
    let (areq, child) = worker_at(&redis.url(), "lost", &site, &["--lease", "1"]);
    gate.wait_until_held(4);
    redis.kill();
    // Measured from when Redis is gone: the worker cannot have seen it go earlier, so this
    // is at most how long it kept trying.
    let killed = Instant::now();
    gate.open();
    let run = finish(child);
    assert_gave_up_after_one_lease(&run, killed.elapsed(), lease);
    let out = areq.read("out.tsv");
    assert!(out.lines().count() > 10, "what was written stays: {out}");
    assert!(out.ends_with('\n'), "the output ends on a whole line");
    assert!(
        areq.path("out.tsv.done").exists(),
        "the .done companion stays, for the next start"
    );
}

#[test]
fn a_cluster_master_that_goes_away_mid_crawl_stops_the_worker_cleanly_after_a_lease_time() {
    // The master holding the site's partition dies; the worker's Cluster client is answered
    // `MOVED` to it by the others (or `CLUSTERDOWN` once they see it gone). Both are waited
    // out for one lease, as a standalone Redis that went away is.
    let lease = Duration::from_secs(2);
    let mut cluster = RedisCluster::start();
    let gate = Gate::new();
    let site = gated_tree_site(Duration::from_millis(20), &gate, 15);
    let leases = || cluster.keys("areq:{lost:*}:leases:*");
    let deadline = Instant::now() + Duration::from_secs(20);
    // The partition's master is found once the worker holds pages there.
    let (areq, child) = worker_at(&cluster.nodes()[0].url(), "lost", &site, &["--lease", "2"]);
    gate.wait_until_held(4);
    let key = loop {
        if let Some(key) = leases().into_iter().next() {
            break key;
        }
        assert!(Instant::now() < deadline, "the worker never leased a page");
        std::thread::sleep(Duration::from_millis(10));
    };
    let owner = cluster.owner_of(&key);
    cluster.kill_node(owner);
    let killed = Instant::now();
    gate.open();
    let run = finish(child);
    assert_gave_up_after_one_lease(&run, killed.elapsed(), lease);
    let out = areq.read("out.tsv");
    assert!(
        out.is_empty() || out.ends_with('\n'),
        "the output ends on a whole line"
    );
}

/// A worker whose Redis went away `took` before it ended: it kept trying for most of one
/// `lease`, not much longer, and said why in one line.
fn assert_gave_up_after_one_lease(run: &Run, took: Duration, lease: Duration) {
    assert_eq!(run.code(), 1, "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("areq: crawl lost: redis: "),
        "one line says why: {}",
        run.stderr
    );
    assert!(
        took >= lease * 3 / 4,
        "kept trying for most of a lease time before giving up: {took:?}\n{}",
        run.stderr
    );
    assert!(
        took < lease + Duration::from_secs(14),
        "gave up after about one lease time, not much later: {took:?}"
    );
}

on_both!(a_page_slower_than_its_lease_is_fetched_once_while_its_worker_renews_the_lease);
fn a_page_slower_than_its_lease_is_fetched_once_while_its_worker_renews_the_lease(
    redis: SharedRedis,
) {
    let slow = Duration::from_millis(2500);
    let site = TestServer::start(move |request| match request.path.as_str() {
        "/robots.txt" => Reply::status(404),
        _ => Reply::html("<p>slow</p>").delayed(slow),
    });
    // Two workers: had the lease of the page in flight lapsed, the idle one would take it.
    let workers: Vec<(Areq, Child)> = (0..2)
        .map(|_| worker(&redis, "renewed", &site, &["--lease", "1"]))
        .collect();
    for (_areq, child) in workers {
        finish(child).assert_success();
    }
    assert_eq!(
        site.hits("/"),
        1,
        "a page held 2.5 s under --lease 1 was fetched once"
    );
    let run = status(&redis, "renewed");
    assert!(
        run.stdout.contains(" 0 leases expired"),
        "no lease expired: {}",
        run.stdout
    );
}

on_both!(a_page_is_marked_done_only_once_its_records_are_flushed);
fn a_page_is_marked_done_only_once_its_records_are_flushed(redis: SharedRedis) {
    const LINKS: usize = 1000;
    // One page whose records (about 200 KiB) cannot all fit in a pipe nobody reads.
    let site = TestServer::start(|request| match request.path.as_str() {
        "/robots.txt" => Reply::status(404),
        _ => Reply::html(
            (0..LINKS)
                .map(|i| format!("<a href=\"/{i:0>180}\">{i}</a>"))
                .collect::<String>(),
        ),
    });
    let areq = Areq::new();
    areq.input(&[site.url("/")]);
    let url = redis.url();
    let child = areq.spawn(&[
        "urls.txt",
        "-o",
        "-",
        "--no-header",
        "-d",
        "0",
        "--redis",
        &url,
        "--crawl",
        "flushed",
    ]);
    let done = || redis.stat("flushed", "ok");
    site.replies_to("/", 1);
    // The page is fetched and its records wait on a full pipe: however long that lasts, the
    // page is not done in Redis.
    let watched = Instant::now() + Duration::from_secs(1);
    while Instant::now() < watched {
        assert_eq!(done(), 0, "marked done before its records were flushed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = finish(child);
    run.assert_success();
    assert_eq!(run.stdout.lines().count(), LINKS);
    assert_eq!(done(), 1, "done once flushed");
}

/// What `areq status` says each worker fetched, by worker.
fn pages_by_worker(status: &Run) -> Vec<u64> {
    status
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("  pages by worker: "))
        .map(|list| {
            list.split(", ")
                .filter_map(|entry| entry.rsplit(": ").next()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

on_both!(a_host_is_shared_by_the_workers_that_want_it_not_kept_by_the_first);
fn a_host_is_shared_by_the_workers_that_want_it_not_kept_by_the_first(redis: SharedRedis) {
    // Each worker could hold all four of the host's slots (-c 16): without fair shares the
    // first one keeps them, taking the next page in the same call as it finishes one.
    let gate = Gate::new();
    let site = gated_tree_site(Duration::from_millis(50), &gate, 0);
    let workers: Vec<(Areq, Child)> = (0..3)
        .map(|_| {
            let areq = Areq::new();
            areq.input(&[site.url("/")]);
            let url = redis.url();
            let child = areq.spawn(&[
                "urls.txt",
                "-o",
                "out.tsv",
                "-d",
                "10",
                "-c",
                "16",
                "--per-host",
                "4",
                "--redis",
                &url,
                "--crawl",
                "fair",
            ]);
            (areq, child)
        })
        .collect();
    // The first page is held until the other two workers have asked for work and wait for
    // it, so none joins late on a loaded machine.
    gate.wait_until_held(1);
    let deadline = Instant::now() + Duration::from_secs(20);
    while waiting_workers(&redis, "fair") < 2 {
        assert!(
            Instant::now() < deadline,
            "two workers waiting for work in redis"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    gate.open();
    for (_areq, child) in workers {
        finish(child).assert_success();
    }
    assert_eq!(site.max_in_flight(), 4, "the host's limit held");
    let run = status(&redis, "fair");
    run.assert_success();
    let shares = pages_by_worker(&run);
    assert_eq!(
        shares.len(),
        3,
        "every worker fetched pages: {}",
        run.stdout
    );
    let least = (PAGES as u64 + 1) / 10;
    assert!(
        shares.iter().all(|&pages| pages >= least),
        "each worker fetched at least a tenth of the host's pages: {}",
        run.stdout
    );
}

/// How many workers of crawl `name` wait for work (the crawl's `waiting` sorted set).
fn waiting_workers(redis: &SharedRedis, name: &str) -> u64 {
    redis.int_sum(&format!("ZCARD areq:{{{name}}}:waiting"))
}

/// How many script calls Redis has run so far.
fn script_calls(redis: &SharedRedis) -> u64 {
    redis.calls(|command| matches!(command, "evalsha" | "eval"))
}

on_both!(an_idle_worker_waits_for_a_wake_up_instead_of_polling_redis);
fn an_idle_worker_waits_for_a_wake_up_instead_of_polling_redis(redis: SharedRedis) {
    let gate = Gate::new();
    let held = gate.clone();
    let site = TestServer::start(move |request| match request.path.as_str() {
        "/" => Reply::html(r#"<a href="/slow">slow</a>"#),
        "/slow" => Reply::html("<p>done</p>").behind(&held),
        _ => Reply::status(404),
    });
    let busy = worker(&redis, "idle", &site, &[]);
    gate.wait_until_held(1);
    // The other worker joins with nothing to take: the only page left is in flight.
    let idle = worker(&redis, "idle", &site, &[]);
    // Both wait for work once the second has joined: the busy one has free slots too.
    let joined = Instant::now();
    while waiting_workers(&redis, "idle") < 2 {
        assert!(
            joined.elapsed() < Duration::from_secs(20),
            "the worker joined and waits"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = script_calls(&redis);
    let window = Duration::from_secs(2);
    std::thread::sleep(window);
    let calls = script_calls(&redis) - before;
    gate.open();
    finish(busy.1).assert_success();
    finish(idle.1).assert_success();
    // Polling every 50 ms was 40 takes in 2 s. Now each worker with a free slot asks its
    // partition once a second and tells the crawl it waits every other time (3 calls in 2 s
    // each), and the busy one beats its heartbeat once a second: 8, and one more where a
    // second boundary falls inside the window.
    assert!(
        calls <= 9,
        "{calls} script calls in {window:?} from one busy and one idle worker"
    );
    assert_eq!(site.hits("/slow"), 1);
}

on_both!(a_lone_worker_never_wakes_itself);
fn a_lone_worker_never_wakes_itself(redis: SharedRedis) {
    // A chain: each page links to the next only, so the worker finds nothing to take while
    // each page is in flight and waits for work, and each page that ends brings the next.
    // As long as the crawl's depth allows (-d 10).
    let chain = 10;
    let site = TestServer::start(move |request| {
        let at: usize = request.path.trim_start_matches('/').parse().unwrap_or(0);
        match at < chain {
            true => Reply::html(format!(r#"<a href="/{}">next</a>"#, at + 1)),
            false => Reply::html("<p>the end</p>"),
        }
    });
    let (_areq, child) = worker(&redis, "lone", &site, &[]);
    finish(child).assert_success();
    assert_eq!(page_hits(&site).len(), chain + 1);
    // A wake-up pushes tokens (LPUSH) and trims the list (LTRIM, used by nothing else): the
    // work a worker makes comes back to it with its own calls, so it wakes no one.
    let trims = redis.calls(|command| command == "ltrim");
    assert_eq!(trims, 0, "a lone worker pushed {trims} wake-ups");
}

on_both!(a_link_the_worker_knows_was_seen_costs_redis_no_write);
fn a_link_the_worker_knows_was_seen_costs_redis_no_write(redis: SharedRedis) {
    // Every page of the tree site links back to the root and to itself: without the worker's
    // cache each such link is another seen-set write in Redis.
    let site = tree_site(Duration::ZERO);
    let (_areq, child) = worker(&redis, "known", &site, &[]);
    finish(child).assert_success();
    assert_eq!(page_hits(&site).len(), PAGES + 1);
    let writes = redis.calls(|command| command == "hsetnx");
    assert!(
        writes <= PAGES as u64 + 1 + 8,
        "{writes} seen-set writes for {} distinct pages",
        PAGES + 1
    );
}

on_both!(the_seen_set_finds_every_url_once_while_its_buckets_split);
fn the_seen_set_finds_every_url_once_while_its_buckets_split(redis: SharedRedis) {
    // One host of 3,000 pages, each linking to four others spread over the site: two workers
    // push each other's URLs, so most links reach Redis's seen set after the bucket they
    // went to first has split (every 40 new URLs a bucket splits; at 3,000 URLs the names
    // are 6 and 7 binary digits wide).
    const PAGES: usize = 3_000;
    let site = TestServer::start(|request| {
        let Some(k) = request
            .path
            .strip_prefix("/p/")
            .and_then(|k| k.parse::<usize>().ok())
            .filter(|k| *k < PAGES)
        else {
            return Reply::status(404);
        };
        let links: String = [k + 1, 7 * k + 3, 13 * k + 5, k / 2]
            .into_iter()
            .map(|n| format!("<a href=\"/p/{0}\">{0}</a>", n % PAGES))
            .collect();
        Reply::html(format!("<!doctype html><body>{links}</body>"))
    });
    let url = redis.url();
    let args = [
        "urls.txt", "-o", "out.tsv", "-d", "100000", "-c", "8", "--redis", &url, "--crawl", "split",
    ];
    let workers: Vec<(Areq, Child)> = (0..2)
        .map(|_| {
            let areq = Areq::new();
            areq.input(&[site.url("/p/0")]);
            let child = areq.spawn(&args);
            (areq, child)
        })
        .collect();
    for (_areq, child) in workers {
        finish(child).assert_success();
    }

    let mut fetched = std::collections::BTreeMap::new();
    for request in site.requests() {
        *fetched.entry(request.path).or_insert(0) += 1;
    }
    fetched.remove("/robots.txt");
    assert_eq!(fetched.len(), PAGES, "every page was fetched");
    let twice: Vec<_> = fetched.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "pages fetched twice: {twice:?}");

    let seen = redis.stat("split", "seen");
    assert_eq!(seen, PAGES as i64, "the seen count is the pages'");
    let mut held = 0;
    let mut buckets = 0;
    for server in redis.servers() {
        for key in server.keys("areq:{split:*}:seen:*") {
            let size = server.int(&["HLEN", &key]);
            let encoding = server.query(&["OBJECT", "ENCODING", &key]).text();
            assert_eq!(encoding, "listpack", "{key} of {size} fingerprints");
            held += size;
            buckets += 1;
        }
    }
    assert_eq!(held, seen, "each seen URL is in one bucket");
    assert!(
        buckets >= PAGES / 128,
        "{buckets} buckets for {PAGES} fingerprints"
    );
}
