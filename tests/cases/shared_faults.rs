//! A shared crawl under the faults production brings: Ctrl-C or SIGTERM with a slow reader,
//! Redis going away, emptied, stalled or evicting keys, workers killed, a page that kills
//! whoever fetches it, a robots.txt that fails once, workers with other settings, and an
//! operator forgetting a crawl. Each is measured at the HTTP server or in Redis. Each test
//! marked `on_both!` runs against one redis-server and against a 3-master Cluster, the fault
//! caused there for real: on every node, or on the node owning the key it strikes.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::AsRawFd;
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::cmd::{finish, finish_within, send_signal, Areq, Run};
use crate::support::redis::{on_both, SharedRedis, Value};
use crate::support::server::{Gate, Reply, TestServer};
use crate::support::tree::{gated_tree_site, lines_of, page_hits, tree_site, PAGES};

/// Starts one worker of crawl `name` in a directory of its own, with `seeds` as its input
/// and `args` (the output and crawl flags) before the shared-crawl flags, entering through
/// the next entry point of `redis` (on a Cluster, each worker through another node).
fn worker(redis: &SharedRedis, name: &str, seeds: &[String], args: &[&str]) -> (Areq, Child) {
    worker_at(&redis.url(), name, seeds, args)
}

/// [`worker`], entering through the server at `url`.
fn worker_at(url: &str, name: &str, seeds: &[String], args: &[&str]) -> (Areq, Child) {
    let areq = Areq::new();
    areq.input(seeds);
    let mut all = vec!["urls.txt", "--no-header"];
    all.extend(args);
    all.extend(["--redis", url, "--crawl", name]);
    let child = areq.spawn(&all);
    (areq, child)
}

/// `areq status` of crawl `name`.
fn status(redis: &SharedRedis, name: &str) -> Run {
    Areq::new().run(&["status", "--redis", &redis.url(), "--crawl", name])
}

/// `areq forget` of crawl `name`, with `extra` flags.
fn forget(redis: &SharedRedis, name: &str, extra: &[&str]) -> Run {
    let url = redis.url();
    let mut args = vec!["forget", "--redis", &url, "--crawl", name];
    args.extend(extra);
    Areq::new().run(&args)
}

/// Key `suffix` of what crawl `name` keeps once (not per partition).
fn key(name: &str, suffix: &str) -> String {
    format!("areq:{{{name}}}:{suffix}")
}

/// A crawl-wide count: every partition's `stats` field, added up over every server (0 when
/// absent).
fn stat(redis: &SharedRedis, name: &str, field: &str) -> i64 {
    redis.stat(name, field)
}

/// The leases held in crawl `name`, in all its partitions, on every server.
fn leases(redis: &SharedRedis, name: &str) -> i64 {
    redis.sum(name, "HLEN", "leases:*")
}

/// Lease id → `HOST<TAB>JOB` of every lease held in crawl `name`, each worker's `leases:W`
/// in each partition read on the server holding it.
fn leased(redis: &SharedRedis, name: &str) -> BTreeMap<String, String> {
    redis
        .servers()
        .iter()
        .flat_map(|server| {
            server
                .partition_keys(name, "leases:*")
                .iter()
                .flat_map(|key| server.hgetall(key))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Waits (at most 20 s) until `done` holds.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// The pages (first column) an output has records of.
fn sources(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter_map(|line| line.split('\t').next())
        .map(str::to_owned)
        .collect()
}

/// How many bytes wait unread in `pipe`.
fn unread_bytes(pipe: &impl AsRawFd) -> usize {
    let mut unread: libc::c_int = 0;
    // SAFETY: FIONREAD stores one c_int through the pointer, which points at `unread`; the fd
    // is a pipe this process owns and keeps open while borrowed.
    let asked = unsafe { libc::ioctl(pipe.as_raw_fd(), libc::FIONREAD, &mut unread) };
    assert_eq!(asked, 0, "FIONREAD: {}", std::io::Error::last_os_error());
    usize::try_from(unread).expect("a byte count")
}

/// Asserts that `out.tsv` in `areq`'s dir ends exactly where its `.done` says its last
/// complete page ends.
fn assert_ends_on_a_page_boundary(areq: &Areq) {
    let out = std::fs::read(areq.path("out.tsv")).unwrap_or_default();
    let done = areq.read("out.tsv.done");
    let end = done
        .lines()
        .filter_map(|line| line.split('\t').next()?.parse::<usize>().ok())
        .max()
        .unwrap_or(0);
    assert_eq!(
        end,
        out.len(),
        "the output ends where its last complete page ends"
    );
}

/// The process id in a lease id (`HOST-PID-RANDOM:SEQUENCE`).
fn pid_of_lease(lease: &str) -> u32 {
    let worker = lease.rsplit_once(':').map_or(lease, |(worker, _)| worker);
    worker
        .rsplit('-')
        .nth(1)
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no process id in lease {lease}"))
}

on_both!(ctrl_c_while_the_reader_lags_leaves_each_page_in_exactly_one_workers_output);
/// Issue 19, point 1: a worker stopped while its output's reader lags wrote records of pages
/// it handed back, and another worker wrote them again.
fn ctrl_c_while_the_reader_lags_leaves_each_page_in_exactly_one_workers_output(redis: SharedRedis) {
    const SEEDS: usize = 12;
    const LINKS: usize = 800;
    // Each page's records (about 180 KiB) are more than a pipe holds.
    let site = TestServer::start(|request| match request.path.as_str() {
        "/robots.txt" => Reply::status(404),
        path => Reply::html(
            (0..LINKS)
                .map(|i| format!("<a href=\"{path}/{i:0>170}\">{i}</a>"))
                .collect::<String>(),
        ),
    });
    let seeds: Vec<String> = (1..=SEEDS).map(|k| site.url(&format!("/p/{k}"))).collect();
    let single = Areq::new();
    single.input(&seeds);
    single
        .run(&["urls.txt", "-o", "out.tsv", "--no-header"])
        .assert_success();
    let expected = lines_of(&single.read("out.tsv"));

    let (_first_dir, first) = worker(&redis, "lagging", &seeds, &["-o", "-", "-c", "4"]);
    // Bytes in the pipe nobody reads: the writer is in the middle of a page bigger than the
    // pipe, a page whose records are queued and not yet flushed.
    let stdout = first.stdout.as_ref().expect("stdout");
    wait_until("the worker began writing a page", || {
        unread_bytes(stdout) > 0
    });
    send_signal(&first, libc::SIGINT);
    // The reader catches up only now.
    let stopped = finish(first);
    assert_eq!(stopped.code(), 130, "{}", stopped.stderr);

    let (second_dir, second) = worker(&redis, "lagging", &seeds, &["-o", "out.tsv", "-c", "4"]);
    finish(second).assert_success();
    let rest = second_dir.read("out.tsv");

    let (stopped_pages, rest_pages) = (sources(&stopped.stdout), sources(&rest));
    assert!(!stopped_pages.is_empty(), "the stopped worker wrote a page");
    let twice: Vec<&String> = stopped_pages.intersection(&rest_pages).collect();
    assert!(twice.is_empty(), "pages in both outputs: {twice:?}");
    let mut union = lines_of(&stopped.stdout);
    union.extend(lines_of(&rest));
    assert!(
        union == expected,
        "the outputs together are not one process's: {} lines against {}",
        union.len(),
        expected.len()
    );
}

on_both!(a_worker_gives_redis_one_lease_in_all_however_many_pages_end_during_the_outage);
/// Issue 19, point 2: after Redis failed, each page that ended meanwhile waited another
/// whole lease for it.
fn a_worker_gives_redis_one_lease_in_all_however_many_pages_end_during_the_outage(
    mut redis: SharedRedis,
) {
    let lease = Duration::from_secs(3);
    let gate = Gate::new();
    let site = gated_tree_site(Duration::ZERO, &gate, 15);
    let args = ["-o", "out.tsv", "-d", "10", "-c", "8", "--lease", "3"];
    let (_dir, child) = worker(&redis, "outage", &[site.url("/")], &args);
    gate.wait_until_held(8);
    // On a Cluster every node is killed: the pages' calls go to the node owning the host's
    // partition and the crawl-wide ones to the node owning the crawl's slot, and a node left
    // alive would answer what the worker sends it. With none answering, every call the
    // worker makes fails, as with one server gone: the lease it gives Redis is its patience
    // with all of them together.
    redis.kill();
    let killed = Instant::now();
    // Eight pages end while Redis is away, each with a frontier call to make.
    gate.open();
    let run = finish(child);
    let took = killed.elapsed();
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert!(
        took < 2 * lease,
        "stopped {took:?} after Redis went away, under --lease 3"
    );
    let answered = site
        .answers()
        .iter()
        .filter(|(path, _)| path != "/robots.txt")
        .count();
    // The held pages ended; the jobs the worker had taken ahead (at most one per place)
    // may start in their slots, leased to it as they are; nothing else starts.
    assert!(
        (15 + 8..=15 + 8 + 8).contains(&answered),
        "the held pages were answered in the outage, and at most the jobs taken ahead \
         started: {answered} answers"
    );
}

on_both!(a_page_that_ends_starts_a_job_taken_ahead_in_its_slot_without_waiting_for_redis);
/// A worker takes jobs ahead (at most one per place): a page that ends hands its host slot
/// to the next one of its host, which starts at once, without a Redis round trip. Caused for
/// real: Redis frozen, the pages in flight let go, and the site answers every job taken ahead
/// before Redis answers anything; then every page is fetched once. (Every place is a slot of
/// the one host: a free place would ask Redis for work, and that pop waits for Redis.)
fn a_page_that_ends_starts_a_job_taken_ahead_in_its_slot_without_waiting_for_redis(
    redis: SharedRedis,
) {
    const LEAVES: usize = 20;
    let gate = Gate::new();
    let site = TestServer::start({
        let gate = gate.clone();
        move |request| match request.path.as_str() {
            "/robots.txt" => Reply::status(404),
            "/" => Reply::html(
                (1..=LEAVES)
                    .map(|k| format!("<a href=\"/p/{k}\">{k}</a>"))
                    .collect::<String>(),
            ),
            _ => Reply::html("<p>leaf</p>").behind(&gate),
        }
    });
    let args = ["-o", "out.tsv", "-d", "1", "-c", "3", "--per-host", "3"];
    let (_dir, child) = worker(&redis, "ahead", &[site.url("/")], &args);
    // The call that acknowledged the first page took three pages (held) and three jobs ahead.
    gate.wait_until_held(3);
    assert_eq!(redis.sum("ahead", "HLEN", "ahead:*"), 3, "jobs taken ahead");
    let pages = || {
        site.answers()
            .iter()
            .filter(|(path, _)| path != "/robots.txt")
            .count()
    };
    redis.pause();
    gate.open();
    wait_until(
        "every job taken ahead started while Redis answered nothing",
        || pages() == 1 + 3 + 3,
    );
    redis.resume();
    finish(child).assert_success();
    assert_eq!(pages(), 1 + LEAVES, "every page once: {:?}", site.answers());
}

on_both!(a_crawl_flushed_from_redis_stops_every_worker_with_one_clear_line);
/// Issue 19, point 3: a Redis emptied mid-crawl read as a finished crawl (exit 0).
fn a_crawl_flushed_from_redis_stops_every_worker_with_one_clear_line(redis: SharedRedis) {
    let gate = Gate::new();
    let site = gated_tree_site(Duration::ZERO, &gate, 10);
    let args = ["-o", "out.tsv", "-d", "10", "-c", "2"];
    let workers: Vec<(Areq, Child)> = (0..2)
        .map(|_| worker(&redis, "flushed", &[site.url("/")], &args))
        .collect();
    gate.wait_until_held(4);
    // On a Cluster, FLUSHALL on every node: the crawl's settings, its partitions' epochs and
    // everything else are gone wherever they were kept.
    for server in redis.servers() {
        assert_eq!(server.query(&["FLUSHALL"]), Value::Status("OK".into()));
    }
    gate.open();
    for (_dir, child) in workers {
        let run = finish(child);
        assert_eq!(run.code(), 1, "{}", run.stderr);
        let said: Vec<&str> = run
            .stderr
            .lines()
            .filter(|line| line.contains("the crawl is gone from redis"))
            .collect();
        assert_eq!(said.len(), 1, "{}", run.stderr);
        assert_eq!(run.stderr.lines().last(), Some(said[0]), "{}", run.stderr);
    }
    assert!(
        page_hits(&site).len() < PAGES + 1,
        "the crawl stopped part-way"
    );
}

on_both!(
    a_call_sent_again_after_its_reply_was_lost_is_answered_once,
    "--enable-debug-command",
    "local"
);
/// Issue 19, point 4: a finish whose reply was lost was done twice when sent again: the
/// first take's lease sat orphaned until it expired, and a late ack was counted.
fn a_call_sent_again_after_its_reply_was_lost_is_answered_once(redis: SharedRedis) {
    let gate = Gate::new();
    let held = gate.clone();
    let site = TestServer::start(move |request| match request.path.as_str() {
        "/robots.txt" => Reply::status(404),
        "/a" => Reply::html("<p>a</p>").behind(&held),
        _ => Reply::html("<p>page</p>"),
    });
    // /0 first: the finish script is loaded in Redis before the call that is sent again
    // (a script not yet loaded is not run by the first send, whatever happens to it).
    let seeds: Vec<String> = ["/0", "/a", "/b", "/c"].map(|path| site.url(path)).to_vec();
    let args = ["-o", "out.tsv", "-d", "0", "-c", "1", "--lease", "30"];
    let (_dir, child) = worker(&redis, "resent", &seeds, &args);
    gate.wait_until_held(1);
    // The call /a's end makes goes to the host's partition: on a Cluster, the node owning its
    // slot is the one that sleeps (the others answer on).
    let partitions = redis.partition_keys("resent", "leases:*");
    assert_eq!(
        partitions.len(),
        1,
        "one host, one partition: {partitions:?}"
    );
    let sleeper = redis.owner(&partitions[0]);
    let (run, took) = thread::scope(|scope| {
        // Longer than the worker's 5 s response timeout: the call made meanwhile is sent
        // again, and Redis runs both once it wakes.
        let sleeping =
            scope.spawn(|| sleeper.query_within(&["DEBUG", "SLEEP", "7"], Duration::from_secs(30)));
        wait_until("redis sleeps", || {
            !sleeper.answers_within(Duration::from_millis(200))
        });
        let opened = Instant::now();
        gate.open();
        let run = finish(child);
        let took = opened.elapsed();
        assert_eq!(
            sleeping.join().expect("DEBUG SLEEP"),
            Value::Status("OK".into())
        );
        (run, took)
    });
    run.assert_success();
    for path in ["/0", "/a", "/b", "/c"] {
        assert_eq!(site.hits(path), 1, "{path} fetched once");
    }
    assert_eq!(
        stat(&redis, "resent", "late_acks"),
        0,
        "no call acted twice"
    );
    assert_eq!(stat(&redis, "resent", "leases_expired"), 0);
    assert_eq!(leases(&redis, "resent"), 0);
    assert!(
        took < Duration::from_secs(15),
        "ended {took:?} after the page, not after a lease expired"
    );
}

on_both!(a_robots_txt_that_failed_once_is_asked_again_by_the_next_worker);
/// Issue 19, point 5: one robots.txt 503 was stored for the crawl, and no later worker
/// crawled the site.
fn a_robots_txt_that_failed_once_is_asked_again_by_the_next_worker(redis: SharedRedis) {
    let robots_asked = AtomicUsize::new(0);
    let site = TestServer::start(move |request| match request.path.as_str() {
        "/robots.txt" if robots_asked.fetch_add(1, Ordering::SeqCst) == 0 => Reply::status(503),
        "/robots.txt" => Reply::status(404),
        "/" => Reply::html("<a href=\"/a\">a</a>"),
        "/b" => Reply::html("<a href=\"/c\">c</a>"),
        _ => Reply::html("<p>leaf</p>"),
    });
    let args = ["-o", "out.tsv", "-d", "1", "--retries", "0"];
    let (_first_dir, first) = worker(&redis, "robots", &[site.url("/")], &args);
    finish(first).assert_success();
    assert_eq!(site.hits("/robots.txt"), 1);
    assert!(page_hits(&site).is_empty(), "the site was skipped");

    // Another worker joins later with new seeds on the same site.
    let (_second_dir, second) = worker(&redis, "robots", &[site.url("/b")], &args);
    finish(second).assert_success();
    assert_eq!(site.hits("/robots.txt"), 2, "robots.txt asked again");
    assert_eq!(site.hits("/b"), 1);
    assert_eq!(site.hits("/c"), 1);
}

on_both!(a_crawl_whose_host_queue_is_deleted_mid_crawl_still_ends);
/// Issue 19, point 6: a host whose queue key vanished (evicted, deleted) made the take
/// script fail half-way, and the crawl never ended.
fn a_crawl_whose_host_queue_is_deleted_mid_crawl_still_ends(redis: SharedRedis) {
    let gate = Gate::new();
    // Enough pages pass for the queue to hold more than the jobs in flight and taken ahead.
    let site = gated_tree_site(Duration::ZERO, &gate, 20);
    let args = ["-o", "out.tsv", "-d", "10", "-c", "4"];
    let (_dir, child) = worker(&redis, "evicted", &[site.url("/")], &args);
    gate.wait_until_held(4);
    let queues = redis.partition_keys("evicted", "q:*");
    assert_eq!(queues.len(), 1, "one host, one queue: {queues:?}");
    // Deleted on the server holding it: on a Cluster, the node owning the partition's slot.
    assert_eq!(redis.owner(&queues[0]).int(&["DEL", &queues[0]]), 1);
    gate.open();
    finish(child).assert_success();
    let run = status(&redis, "evicted");
    assert!(
        run.stdout
            .starts_with("crawl evicted: finished\n  frontier: 0 queued, 0 in flight"),
        "{}",
        run.stdout
    );
    assert!(
        page_hits(&site).len() < PAGES + 1,
        "the deleted queue's pages were lost"
    );
}

on_both!(joining_a_redis_that_may_evict_keys_warns);
/// Issue 19, point 6: joining a Redis that may evict keys said nothing.
fn joining_a_redis_that_may_evict_keys_warns(redis: SharedRedis) {
    let site = TestServer::start(|_| Reply::html("<p>one</p>"));
    let args = ["-o", "out.tsv", "-d", "0"];
    for (policy, warned) in [("allkeys-lru", true), ("noeviction", false)] {
        // On a Cluster every master is set alike, as the README asks of one that keeps a
        // crawl, and the worker enters through a node that does not hold the crawl's settings.
        for server in redis.servers() {
            assert_eq!(
                server.query(&["CONFIG", "SET", "maxmemory-policy", policy]),
                Value::Status("OK".into())
            );
        }
        let name = format!("evictable-{policy}");
        let owner = redis.owner(&key(&name, "settings")).url();
        let entry = redis
            .servers()
            .iter()
            .map(|server| server.url())
            .find(|url| *url != owner)
            .unwrap_or(owner);
        let (_dir, child) = worker_at(&entry, &name, &[site.url("/")], &args);
        let run = finish(child);
        run.assert_success();
        assert_eq!(
            run.stderr.contains("maxmemory-policy noeviction"),
            warned,
            "{policy}: {}",
            run.stderr
        );
    }
}

on_both!(sigterm_hands_a_workers_leases_back_at_once_and_ends_on_a_page_boundary);
/// Issue 19, point 7: SIGTERM killed a worker like kill -9; its leases waited to expire.
fn sigterm_hands_a_workers_leases_back_at_once_and_ends_on_a_page_boundary(redis: SharedRedis) {
    let gate = Gate::new();
    let site = gated_tree_site(Duration::ZERO, &gate, 15);
    let args = ["-o", "out.tsv", "-d", "10", "-c", "4", "--lease", "30"];
    let (dir, child) = worker(&redis, "termed", &[site.url("/")], &args);
    gate.wait_until_held(4);
    assert_eq!(leases(&redis, "termed"), 4);
    send_signal(&child, libc::SIGTERM);
    let run = finish(child);
    assert_eq!(run.status.code(), Some(143), "{}", run.stderr);
    assert_eq!(
        leases(&redis, "termed"),
        0,
        "the leases were handed back, not left to expire"
    );
    assert_eq!(stat(&redis, "termed", "leases_expired"), 0);
    assert_ends_on_a_page_boundary(&dir);
    gate.open();
}

/// Issue 19, point 7: SIGTERM killed a single-process run mid-write, with no summary.
#[test]
fn sigterm_stops_a_single_process_run_as_ctrl_c_does() {
    let gate = Gate::new();
    let site = gated_tree_site(Duration::ZERO, &gate, 15);
    let areq = Areq::new();
    areq.input(&[site.url("/")]);
    let child = areq.spawn(&["urls.txt", "-o", "out.tsv", "--no-header", "-d", "10"]);
    gate.wait_until_held(8);
    send_signal(&child, libc::SIGTERM);
    let run = finish(child);
    assert_eq!(run.status.code(), Some(143), "{}", run.stderr);
    assert_ends_on_a_page_boundary(&areq);
    assert!(
        !areq.read("out.tsv").is_empty(),
        "pages done before it were written"
    );
    gate.open();
}

on_both!(a_dead_workers_page_is_fetched_again_within_seconds_not_after_its_lease);
/// Issue 19, point 8: the pages of a worker killed with kill -9 waited a whole lease.
fn a_dead_workers_page_is_fetched_again_within_seconds_not_after_its_lease(redis: SharedRedis) {
    let gate = Gate::new();
    let held = gate.clone();
    let asked = AtomicUsize::new(0);
    let site = TestServer::start(move |request| match request.path.as_str() {
        "/robots.txt" => Reply::status(404),
        _ if asked.fetch_add(1, Ordering::SeqCst) == 0 => Reply::html("<p>held</p>").behind(&held),
        _ => Reply::html("<p>again</p>"),
    });
    let args = ["-o", "out.tsv", "-d", "0", "--lease", "30"];
    let (_a_dir, mut a) = worker(&redis, "beats", &[site.url("/")], &args);
    gate.wait_until_held(1);
    wait_until("the worker holding the page beats", || {
        redis.sum("beats", "ZCARD", "alive") >= 1
    });
    let (_b_dir, b) = worker(&redis, "beats", &[site.url("/")], &args);
    a.kill().expect("kill -9 the worker");
    let _ = a.wait();
    let killed = Instant::now();
    wait_until("the page is fetched again", || site.hits("/") >= 2);
    let again = site
        .requests()
        .iter()
        .filter(|request| request.path == "/")
        .nth(1)
        .expect("a second request")
        .received;
    let after = again.saturating_duration_since(killed);
    assert!(
        after < Duration::from_secs(5),
        "fetched again {after:?} after its worker died, under --lease 30"
    );
    finish(b).assert_success();
    gate.open();
}

on_both!(a_page_whose_fetchers_die_twice_is_abandoned_and_listed);
/// Issue 19, point 9: a page that killed whoever fetched it was leased again forever.
fn a_page_whose_fetchers_die_twice_is_abandoned_and_listed(redis: SharedRedis) {
    let gate = Gate::new();
    let held = gate.clone();
    let site = TestServer::start(move |request| match request.path.as_str() {
        "/robots.txt" => Reply::status(404),
        "/poison" => Reply::html("<p>never in time</p>").behind(&held),
        _ => Reply::html("<p>fine</p>"),
    });
    let seeds: Vec<String> = ["/poison", "/a", "/b", "/c"]
        .map(|path| site.url(path))
        .to_vec();
    // One page at a time each: a worker fetching /poison holds no other page.
    let args = ["-o", "out.tsv", "-d", "0", "-c", "1", "--lease", "2"];
    let mut workers: Vec<(Areq, Child)> = (0..3)
        .map(|_| worker(&redis, "poison", &seeds, &args))
        .collect();
    for round in 1..=2 {
        gate.wait_until_held(round);
        // The worker holding /poison, found by its lease.
        let mut victim = None;
        wait_until("a running worker holds /poison", || {
            victim = leased(&redis, "poison")
                .iter()
                .filter(|(_, job)| job.ends_with("/poison"))
                .map(|(lease, _)| pid_of_lease(lease))
                .find_map(|pid| workers.iter().position(|(_, child)| child.id() == pid));
            victim.is_some()
        });
        let (_dir, mut child) = workers.remove(victim.expect("found above"));
        child.kill().expect("kill -9 the worker");
        let _ = child.wait();
    }
    // Were /poison taken a third time, it would now be answered.
    gate.open();
    let (_dir, last) = workers.pop().expect("a third worker");
    finish(last).assert_success();
    assert_eq!(site.hits("/poison"), 2, "given up after two stalls");
    for path in ["/a", "/b", "/c"] {
        assert_eq!(site.hits(path), 1, "{path}");
    }
    assert_eq!(stat(&redis, "poison", "abandoned"), 1);
    let run = status(&redis, "poison");
    assert!(
        run.stdout.starts_with("crawl poison: finished\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(" 1 abandoned"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("  abandoned: {}\n", site.url("/poison"))),
        "{}",
        run.stdout
    );
}

on_both!(a_crawl_made_with_another_fingerprint_scheme_refuses_the_worker);
/// Issue 19, point 10: the fingerprint scheme was not part of a crawl's settings.
fn a_crawl_made_with_another_fingerprint_scheme_refuses_the_worker(redis: SharedRedis) {
    let site = TestServer::start(|_| Reply::html("<p>one</p>"));
    let args = ["-o", "out.tsv", "-d", "0"];
    let (_dir, child) = worker(&redis, "scheme", &[site.url("/")], &args);
    finish(child).assert_success();
    let settings = key("scheme", "settings");
    assert_eq!(
        redis
            .hgetall(&settings)
            .get("fingerprint")
            .map(String::as_str),
        Some("xxh3-128")
    );
    // Changed on the server holding the settings: on a Cluster, the node owning their slot.
    assert_eq!(
        redis
            .owner(&settings)
            .query(&["HSET", &settings, "fingerprint", "siphash"]),
        Value::Int(0)
    );
    let (_dir, child) = worker(&redis, "scheme", &[site.url("/other")], &args);
    let run = finish(child);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("fingerprint is siphash there"),
        "{}",
        run.stderr
    );
    assert_eq!(site.hits("/other"), 0);
}

on_both!(a_worker_whose_budget_is_spent_reads_the_rest_of_its_list_and_ends);
/// Issue 19, point 11: `--max-pages` was a budget per worker, and a worker with another user
/// agent, body limit, budget or stall limit was let in.
fn a_worker_whose_budget_is_spent_reads_the_rest_of_its_list_and_ends(redis: SharedRedis) {
    // The list is read as the frontier runs low: once the budget was spent, the jobs still
    // queued kept the worker from reading the rest of its list, and it never ended.
    let site = TestServer::start(|request| match request.path.as_str() {
        "/robots.txt" => Reply::status(404),
        _ => Reply::html("<p>listed</p>"),
    });
    let seeds: Vec<String> = (0..400).map(|i| site.url(&format!("/{i}"))).collect();
    let args = ["-o", "out.tsv", "-d", "0", "-c", "4", "--max-pages", "20"];
    let (_dir, child) = worker(&redis, "listed", &seeds, &args);
    finish_within(child, Duration::from_secs(60)).assert_success();
    let fetched = site.requests().len() - site.hits("/robots.txt");
    assert_eq!(fetched, 20, "the budget held");
}

on_both!(a_budget_is_spent_breadth_first);
fn a_budget_is_spent_breadth_first(redis: SharedRedis) {
    // The index links 200 pages, each of which links 20 pages of the next level: a budget of
    // the index and its 200 pages fetches exactly those, as one process does. Jobs a worker
    // took ahead of the host and had not started when the budget ran out went back to the
    // queue while newer jobs of the next level had been started.
    let site = TestServer::start(|request| match request.path.as_str() {
        "/" => Reply::html(
            (0..200)
                .map(|i| format!(r#"<a href="/p{i}">p{i}</a>"#))
                .collect::<String>(),
        ),
        path if path.starts_with("/p") => Reply::html(
            (0..20)
                .map(|i| format!(r#"<a href="{path}/c{i}">c{i}</a>"#))
                .collect::<String>(),
        ),
        _ => Reply::html("<p>next level</p>"),
    });
    let args = ["-o", "out.tsv", "-d", "2", "-c", "16", "--max-pages", "201"];
    let (_dir, child) = worker(&redis, "breadth", &[site.url("/")], &args);
    finish(child).assert_success();
    let hits = page_hits(&site);
    let deeper: Vec<&String> = hits.keys().filter(|path| path.contains("/c")).collect();
    assert!(deeper.is_empty(), "pages of the next level: {deeper:?}");
    assert_eq!(hits.len(), 201, "the index and its 200 pages");
}

on_both!(max_pages_is_one_budget_for_the_crawl_and_settings_that_change_it_are_compared);
fn max_pages_is_one_budget_for_the_crawl_and_settings_that_change_it_are_compared(
    redis: SharedRedis,
) {
    let site = tree_site(Duration::from_millis(20));
    let base = ["-o", "out.tsv", "-d", "10", "-c", "4"];
    let args = [&base[..], &["--max-pages", "5"]].concat();
    let workers: Vec<(Areq, Child)> = (0..3)
        .map(|_| worker(&redis, "budget", &[site.url("/")], &args))
        .collect();
    for (_dir, child) in workers {
        finish(child).assert_success();
    }
    let pages: usize = page_hits(&site).values().sum();
    assert_eq!(pages, 5, "three workers, one budget of 5");

    for (flag, value, setting) in [
        ("--user-agent", "other/1.0", "user-agent"),
        ("--max-body", "1000", "max-body"),
        ("--max-pages", "6", "max-pages"),
        ("--max-stalls", "3", "max-stalls"),
    ] {
        let mut differing = base.to_vec();
        if flag != "--max-pages" {
            differing.extend(["--max-pages", "5"]);
        }
        differing.extend([flag, value]);
        let (_dir, child) = worker(&redis, "budget", &[site.url("/")], &differing);
        let run = finish(child);
        assert_eq!(run.code(), 1, "{flag}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("{setting} is ")),
            "{flag}: {}",
            run.stderr
        );
    }
    let pages_after: usize = page_hits(&site).values().sum();
    assert_eq!(pages_after, 5, "a refused worker fetches nothing");
}

on_both!(forget_deletes_one_crawls_keys_and_refuses_while_pages_are_held_unless_forced);
/// Issue 19, point 13: nothing removed a crawl's keys.
fn forget_deletes_one_crawls_keys_and_refuses_while_pages_are_held_unless_forced(
    redis: SharedRedis,
) {
    let site = TestServer::start(|_| Reply::html("<a href=\"/next\">next</a>"));
    let args = ["-o", "out.tsv", "-d", "1"];
    for name in ["kept", "done"] {
        let (_dir, child) = worker(&redis, name, &[site.url("/")], &args);
        finish(child).assert_success();
    }
    let kept = redis.crawl_keys("kept");
    assert!(!kept.is_empty());
    assert!(!redis.crawl_keys("done").is_empty());
    forget(&redis, "done", &[]).assert_success();
    assert_eq!(redis.crawl_keys("done"), Vec::<String>::new());
    assert_eq!(redis.crawl_keys("kept"), kept, "other crawls untouched");

    let gate = Gate::new();
    let held = gate.clone();
    let slow = TestServer::start(move |_| Reply::html("<p>held</p>").behind(&held));
    let (_dir, child) = worker(&redis, "busy", &[slow.url("/")], &["-o", "out.tsv"]);
    gate.wait_until_held(1);
    let run = forget(&redis, "busy", &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(leases(&redis, "busy"), 1);
    let shown = status(&redis, "busy");
    assert!(
        shown
            .stdout
            .contains(" 1 in flight, 0 leases expired, 0 late acks, 0 abandoned\n"),
        "{}",
        shown.stdout
    );
    forget(&redis, "busy", &["--force"]).assert_success();
    assert_eq!(redis.crawl_keys("busy"), Vec::<String>::new());
    gate.open();
    let run = finish(child);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("the crawl is gone from redis"),
        "{}",
        run.stderr
    );
    assert_eq!(
        redis.crawl_keys("busy"),
        Vec::<String>::new(),
        "the stopped worker wrote nothing back"
    );
    assert_eq!(redis.crawl_keys("kept"), kept);
}
