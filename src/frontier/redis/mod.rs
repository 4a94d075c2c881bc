//! [`RedisFrontier`]: one crawl shared by several workers through Redis (or Valkey), a single
//! server or a Cluster.
//!
//! A crawl is split by host into partitions (see [`partition`]), each under a hash tag of its
//! own, so a Cluster spreads them over its masters. Per partition (`areq:{NAME:N}:`):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `epoch` | string | the crawl's epoch: every script in the partition checks it |
//! | `seen:L:B` | hash | the partition's seen set: 8-byte URL fingerprints, level L, bucket B |
//! | `hosts` | list | hosts with queued jobs, in serving order (round-robin) |
//! | `q:HOST` | list | a host's queued jobs, breadth-first |
//! | `host:HOST` | hash | in flight (and per worker), last request start (ms), gap (ms), probed |
//! | `leases:WORKER` | hash | a worker's leases: lease id → job |
//! | `ahead:WORKER` | hash | jobs a worker took ahead, leased without a host slot: lease id → job |
//! | `alive`, `waiting` | sorted sets | workers' deadlines (heartbeat and leases); workers waiting for this partition's work |
//! | `robots` | hash | origin → robots.txt verdict, fetched once per crawl |
//! | `checked` | hash | `--check`: link fingerprint → status, or a worker's claim while it checks |
//! | `stats`, `depths`, `workers`, `hostset` | hash, hash, hash, set | counts, version, seen count |
//! | `stalls`, `abandoned`, `reply:WORKER` | hash, list, string | stalled jobs; given up; the last answer |
//!
//! And once per crawl (`areq:{NAME}:`): `settings` (with the epoch and the partition count),
//! `active` (partitions that may hold work, by version), `waiting` and `wake` (idle workers
//! and their wake-up tokens), `budget` (pages started, for `--max-pages`), `reply:WORKER`.
//!
//! Each change is one Lua script in one partition, so it is atomic: two workers can never
//! both take the last slot of a host, and a host's send turns are kept in Redis time across
//! all workers. A worker serves the active partitions in turn. A page whose links belong to
//! other partitions pushes them there first, all at once, then acknowledges the page in its
//! own: a worker dying between the two loses nothing (the page is fetched again) and
//! duplicates nothing (the seen sets take the links once). Pages are acknowledged in
//! batches (see [`outbox`]), and each batch's call takes the next jobs for every free place,
//! so a one-site crawl costs a fraction of a script call a page. Batches go from a task of
//! their own while the worker goes on (see [`sending`]): a page that ends starts the next job
//! its worker took ahead of the same host, in its slot, without waiting for Redis (see
//! common.lua's `ahead_key`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Script arguments, as Redis takes them: each value's text.
// Before the modules: they use it too.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$($value.to_string().into_bytes()),*]
    };
}

mod ahead;
mod calls;
mod checks;
mod connection;
mod jobs;
mod known;
mod outbox;
pub(crate) mod partition;
mod sending;
mod settings;
mod shared;
mod status;
mod wake;

pub(crate) use checks::RedisChecks;
pub(crate) use settings::CrawlSettings;
pub(crate) use shared::{RedisRobots, RedisTurns};
pub(crate) use status::{forget, show_status};

use self::ahead::{HeldJob, TakenAhead};
use self::calls::{Call, Caller, Which};
use self::connection::{connect, settings_key, worker_name, RedisConnection};
use self::jobs::{job_args, parse_job, NewJob, Taken};
use self::known::KnownSeen;
use self::outbox::{Outbox, Page};
use self::partition::Layout;
use self::sending::Sending;
use self::wake::Waker;
use super::{Ended, Frontier, FrontierError, Next};
use crate::config::SharedCrawl;
use crate::job::Job;
use crate::politeness::{Pacer, Politeness};
use crate::seen::UrlKey;

/// How long a worker with nothing to start waits before it asks again, unless another
/// worker wakes it first (a page finished, links queued).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// How often a worker holding pages beats its heartbeat (and renews its leases, when
/// `--lease` is longer than three beats).
const HEARTBEAT: Duration = Duration::from_secs(1);

/// How long a worker may miss its heartbeat before the others take it for dead and take
/// back its pages, long before its leases would expire.
const HEARTBEAT_GRACE: Duration = Duration::from_secs(3);

/// How many hosts one take looks at before it answers "ask again soon": a bound on the
/// work one call does in Redis, however many hosts are at their limit.
const HOSTS_PER_TAKE: usize = 64;

/// How many partitions one pop asks in turn before it answers "wait".
const PARTITIONS_PER_POP: usize = 8;

/// How often a worker reads the active set again, to serve partitions other workers filled.
const ACTIVE_REFRESH: Duration = Duration::from_secs(1);

/// How long after an end check that found work a worker checks again at the soonest: a
/// worker whose input still comes (seeds every worker lists, all seen already) asks for the
/// next page after each batch it pushes, and reading every partition each time would keep
/// Redis busy with end checks while the crawl ends.
const END_CHECK_EVERY: Duration = Duration::from_millis(200);

/// How many waiting workers a worker that found the crawl ended wakes (as many as one
/// `wake` wakes): each of them checks the end for itself and wakes as many more.
const END_WAKES: u64 = 16;

/// How long a worker that found nothing counts as waiting for a wake-up: long enough that
/// an idle worker, asking again every [`IDLE_POLL`], tells the crawl every other time.
const IDLE_FOR: Duration = Duration::from_millis(2500);

/// The most jobs a worker holds taken ahead, and never more than its places (`-c`): enough to
/// start the next page in every slot that frees while a batch's call is out (see common.lua's
/// `ahead_key`).
const TAKE_AHEAD: usize = 64;

/// What a worker last saw of a partition.
#[derive(Debug, Clone, Copy, Default)]
struct View {
    queued: usize,
}

/// A crawl's frontier in Redis, shared by every worker that joins the crawl.
pub(crate) struct RedisFrontier {
    caller: Arc<Caller>,
    politeness: Politeness,
    /// This process's pacer: what this worker learned of each host's pace goes to Redis.
    pacer: Arc<Pacer>,
    lease: Duration,
    /// Times a page's lease may expire before it is given up.
    max_stalls: usize,
    /// Whether the crawl has a page budget (`--max-pages`), kept in the crawl's slot.
    budgeted: bool,
    /// Leases this worker holds, each with its partition.
    held: HashMap<Arc<str>, u16>,
    renew_at: Instant,
    /// The partitions this worker serves in turn (the active set, as last read).
    rotation: VecDeque<u16>,
    rotation_read: Option<Instant>,
    /// What this worker last saw of each partition it served.
    views: HashMap<u16, View>,
    /// Pages of the budget to give back (jobs handed back or taken back from dead workers).
    unreserve: u64,
    /// Other workers waiting for work, as last seen, and when.
    waiting: (u64, Option<Instant>),
    /// Until when the crawl counts this worker as waiting for a wake-up.
    idle_until: Option<Instant>,
    /// Until when a pop need not ask Redis, and the wake-up tokens taken when it was set:
    /// the last pop found nothing to start before then, and nothing changed since (no token
    /// came, this worker pushed, finished or gave back nothing). The scheduler pops again
    /// whenever it wakes up (a heartbeat, a page's end); this keeps those pops off Redis.
    quiet: Option<(Instant, u64)>,
    /// The crawl had nothing left anywhere at the last end check, and nothing was pushed
    /// since.
    drained: bool,
    /// When this worker may run the crawl's end check again.
    end_check_at: Option<Instant>,
    /// The crawl's page budget is spent: what is queued stays queued.
    spent: bool,
    /// Wake-ups while this worker has nothing to start.
    waker: Waker,
    /// URLs this worker knows the crawl has seen: pushing them again is skipped.
    known: KnownSeen,
    /// Jobs taken and not yet handed out, each with its partition and lease (held).
    ready: VecDeque<HeldJob>,
    /// Jobs taken ahead: each goes to `ready` when a page of its host ends here, in that
    /// page's slot.
    ahead: TakenAhead,
    /// The most places the scheduler had free at once: its `-c`, once it has been idle.
    places: usize,
    /// Pages ended and not yet acknowledged (their leases are still held).
    outbox: Outbox,
    /// The calls on their way (a batch, or the lease renewals), until their answers are
    /// taken in.
    sending: Option<Sending>,
}

impl RedisFrontier {
    /// Connects to the Redis at `shared.redis` and joins the crawl `shared.name`, creating it
    /// with `settings` or checking that they match the stored ones.
    pub(crate) async fn join(
        shared: &SharedCrawl,
        settings: &CrawlSettings,
        politeness: Politeness,
        pacer: Arc<Pacer>,
        budget: Option<u64>,
    ) -> Result<RedisFrontier, FrontierError> {
        let (url, name) = (&shared.redis, &shared.name);
        let mut redis = connect(url).await?;
        let joined = settings::join_crawl(&mut redis, url, name, settings).await?;
        let layout = Arc::new(joined.layout);
        warn_about_eviction(&mut redis, url, &layout).await;
        let waker = Waker::start(url, format!("{}wake", layout.crawl_prefix()));
        let caller = Arc::new(Caller::new(
            redis,
            layout,
            worker_name(),
            joined.epoch,
            shared.lease,
        ));
        Ok(RedisFrontier {
            caller,
            politeness,
            pacer,
            lease: shared.lease,
            max_stalls: shared.max_stalls,
            budgeted: budget.is_some(),
            held: HashMap::new(),
            renew_at: Instant::now() + renewal(shared.lease),
            rotation: VecDeque::new(),
            rotation_read: None,
            views: HashMap::new(),
            unreserve: 0,
            waiting: (0, None),
            idle_until: None,
            quiet: None,
            drained: false,
            end_check_at: None,
            spent: false,
            known: KnownSeen::default(),
            waker,
            ready: VecDeque::new(),
            ahead: TakenAhead::default(),
            places: 0,
            outbox: Outbox::default(),
            sending: None,
        })
    }

    fn layout(&self) -> &Layout {
        &self.caller.layout
    }

    /// The take script's arguments: jobs wanted, per-host limit, probe first, default gap
    /// (ms), lease time (ms), hosts to look at, stalls before a job is given up, heartbeat
    /// grace (ms), jobs wanted ahead (when `ahead`, up to [`TAKE_AHEAD`] held; none with a
    /// page budget, which is spent breadth-first: a job taken ahead would wait for a page of
    /// its host to end while jobs taken after it start in free places, and each page started
    /// costs a call for the budget anyway).
    fn take_args(&self, want: usize, ahead: bool) -> Vec<Vec<u8>> {
        let Politeness {
            per_host,
            gap,
            probe_first,
        } = self.politeness;
        args![
            want,
            per_host,
            u8::from(probe_first),
            gap.as_millis(),
            self.lease.as_millis(),
            HOSTS_PER_TAKE,
            self.max_stalls,
            HEARTBEAT_GRACE.as_millis(),
            match ahead && !self.budgeted {
                true => TAKE_AHEAD.min(self.places).saturating_sub(self.ahead.len()),
                false => 0,
            },
        ]
    }

    /// Notes what a take in partition `n` saw.
    fn saw(&mut self, n: u16, taken: &Taken) {
        if self.budgeted {
            self.unreserve += taken.requeued;
        }
        let view = View {
            queued: taken.queued,
        };
        if taken.empty {
            self.views.remove(&n);
        } else {
            self.views.insert(n, view);
        }
    }

    /// When a pop that found nothing to start asks again: in `wait`, unless a wake-up comes
    /// or this worker changes the crawl first.
    fn quiet_for(&mut self, wait: Duration) -> Instant {
        let until = Instant::now() + wait;
        self.quiet = Some((until, self.waker.tokens()));
        until
    }

    /// Reads the active set again when this worker has served every partition it knew, or
    /// when it is a while since it did. Starts the rotation at a random place, so workers
    /// spread over the partitions.
    async fn refresh_rotation(&mut self) -> Result<(), FrontierError> {
        let fresh = self
            .rotation_read
            .is_some_and(|at| at.elapsed() < ACTIVE_REFRESH);
        if fresh && !self.rotation.is_empty() {
            return Ok(());
        }
        let key = format!("{}active", self.layout().crawl_prefix());
        let mut redis = self.caller.redis.clone();
        let active: Vec<u16> = redis::cmd("ZRANGE")
            .arg(&key)
            .arg(0)
            .arg(-1)
            .query_async(&mut redis)
            .await
            .map_err(|err| FrontierError(format!("redis: {err}")))?;
        self.rotation_read = Some(Instant::now());
        self.rotation = active.into();
        if !self.rotation.is_empty() {
            let start = fastrand::usize(..self.rotation.len());
            self.rotation.rotate_left(start);
        }
        Ok(())
    }

    /// The crawl-slot call for what this worker has to tell it: `ops`, the pages of the
    /// budget to give back, and a wake-up for `woken` waiting workers when some wait (or it
    /// is a while since this worker looked). None when there is nothing to tell.
    fn crawl_call(&mut self, mut ops: Vec<Vec<u8>>, woken: u64) -> Option<Call> {
        if self.unreserve > 0 {
            ops.extend(args!["unreserve", self.unreserve]);
            self.unreserve = 0;
        }
        let (waiting, seen_at) = self.waiting;
        let stale = seen_at.is_none_or(|at| at.elapsed() >= IDLE_POLL);
        if woken > 0 && (waiting > 0 || stale) {
            ops.extend(args!["wake", woken]);
        }
        (!ops.is_empty()).then(|| Call::crawl(ops))
    }

    /// Notes the crawl slot's answer: how many workers wait; returns the pages of the budget
    /// granted.
    fn crawl_answered(&mut self, answer: &redis::Value) -> u64 {
        let numbers: Vec<u64> = redis::from_redis_value_ref(answer).unwrap_or_default();
        self.waiting = (numbers.first().copied().unwrap_or(0), Some(Instant::now()));
        numbers.get(1).copied().unwrap_or(0)
    }

    /// Runs `calls` and then, in the same round trip, the crawl-slot call `ops` makes (if
    /// any); returns the calls' answers.
    async fn run_with_crawl(
        &mut self,
        mut calls: Vec<Call>,
        ops: Vec<Vec<u8>>,
        woken: u64,
    ) -> Result<(Vec<redis::Value>, u64), FrontierError> {
        self.settle().await?;
        let crawl = self.crawl_call(ops, woken);
        let with_crawl = crawl.is_some();
        calls.extend(crawl);
        let mut answers = self.caller.run_all(calls).await?;
        let granted = match with_crawl {
            true => answers
                .pop()
                .map_or(0, |answer| self.crawl_answered(&answer)),
            false => 0,
        };
        Ok((answers, granted))
    }

    /// Notes the jobs a take in partition `n` answered: held now, ready to hand out or
    /// taken ahead.
    fn received(&mut self, n: u16, taken: &mut Taken) {
        for (id, leased) in taken.jobs.drain(..) {
            let lease = self.hold(n, &id);
            self.ready.push_back((n, lease, leased));
        }
        for (id, leased) in taken.ahead.drain(..) {
            let lease = self.hold(n, &id);
            self.ahead.add((n, lease, leased));
        }
    }

    /// Holds the lease `id` a take in partition `n` answered; returns it as the worker holds
    /// it (`PARTITION:ID`).
    fn hold(&mut self, n: u16, id: &str) -> Arc<str> {
        let lease: Arc<str> = format!("{n}:{id}").into();
        self.held.insert(Arc::clone(&lease), n);
        lease
    }

    /// The next job taken ahead, if any; with a budget, one page of it taken first. When the
    /// budget is spent, every job taken ahead is handed back and the answer is `Empty`.
    async fn next_ready(&mut self) -> Result<Option<Next>, FrontierError> {
        let Some((_, lease, leased)) = self.ready.pop_front() else {
            return Ok(None);
        };
        self.waker.idle(false);
        self.idle_until = None;
        let mut job = parse_job(&leased)?;
        self.known.insert(UrlKey::of(&job.url));
        job.lease = Some(Arc::clone(&lease));
        self.ahead.started(job.host());
        if self.budgeted {
            let (_, granted) = self.run_with_crawl(vec![], args!["reserve", 1], 0).await?;
            if granted == 0 {
                self.ahead.over(job.host());
                self.spent = true;
                let mut leases = vec![lease];
                leases.extend(self.ready.drain(..).map(|(_, lease, _)| lease));
                leases.extend(self.ahead.drain());
                self.give_back(leases, 0).await?;
                return Ok(Some(Next::Empty));
            }
        }
        Ok(Some(Next::Ready(job)))
    }

    /// Pages of this worker in flight: leases held for neither a job ready or taken ahead nor
    /// a page waiting in the outbox.
    fn running(&self) -> usize {
        self.held.len() - self.ready.len() - self.ahead.len() - self.outbox.len()
    }

    /// Hands `leases` back to their partitions; gives `unreserve` pages of the budget back
    /// too.
    async fn give_back(
        &mut self,
        leases: Vec<Arc<str>>,
        unreserve: u64,
    ) -> Result<(), FrontierError> {
        self.settle().await?;
        self.quiet = None;
        let mut by_partition: HashMap<u16, Vec<Arc<str>>> = HashMap::new();
        for lease in leases {
            if let Some(n) = self.held.remove(&lease) {
                by_partition.entry(n).or_default().push(lease);
            }
        }
        if self.budgeted {
            self.unreserve += unreserve;
        }
        let calls: Vec<Call> = by_partition
            .into_iter()
            .map(|(n, leases)| {
                let mut args = args![0, 0];
                args.extend(
                    leases
                        .iter()
                        .map(|lease| lease_id(lease).as_bytes().to_vec()),
                );
                Call::partition(Which::Leases, n, args)
            })
            .collect();
        self.run_with_crawl(calls, vec![], 0).await?;
        Ok(())
    }

    /// The crawl's end check, when the active set is empty: every partition read twice, and
    /// done only when both reads find every partition empty at the same version. A version
    /// grows at every change, so the partitions did not change between their two reads, and
    /// all were empty at once at the end of the first pass: no page was in flight anywhere,
    /// so none can queue more. Partitions found holding work (a worker died between filling
    /// one and marking it active) go back into the active set.
    async fn end_check(&mut self) -> Result<bool, FrontierError> {
        let first = self.probe_all().await?;
        let busy: Vec<Vec<u8>> = first
            .iter()
            .enumerate()
            .filter(|(_, probe)| probe.1 + probe.2 > 0)
            .flat_map(|(n, probe)| args!["activate", format!("{n}:{}", probe.0)])
            .collect();
        if !busy.is_empty() {
            self.run_with_crawl(vec![], busy, 0).await?;
            return Ok(false);
        }
        let second = self.probe_all().await?;
        Ok(first == second)
    }

    /// Every partition's {version, queued, leased}: on a single server in one call, in a
    /// Cluster one call a partition (each at its master).
    async fn probe_all(&mut self) -> Result<Vec<(u64, u64, u64)>, FrontierError> {
        self.settle().await?;
        if matches!(self.caller.redis, RedisConnection::Single(_)) {
            let counts: Vec<u64> = self.caller.run(Call::probe_all()).await?;
            let probes: Vec<(u64, u64, u64)> = counts
                .chunks_exact(3)
                .map(|probe| (probe[0], probe[1], probe[2]))
                .collect();
            if probes.len() != usize::from(self.layout().partitions()) {
                return Err(FrontierError(format!(
                    "redis: the end check read {} partitions of {}",
                    probes.len(),
                    self.layout().partitions()
                )));
            }
            return Ok(probes);
        }
        let calls = self
            .layout()
            .all()
            .map(|n| Call::partition(Which::Probe, n, vec![]))
            .collect();
        let answers = self.caller.run_all(calls).await?;
        answers
            .iter()
            .map(|answer| {
                redis::from_redis_value_ref::<(u64, u64, u64)>(answer)
                    .map_err(|err| FrontierError(format!("redis: {err}")))
            })
            .collect()
    }

    /// Pushes jobs to their partitions (push.lua's arguments, by partition), all at once,
    /// and marks the partitions that got new ones active. Returns how many were new.
    async fn push_to_partitions(
        &mut self,
        jobs: HashMap<u16, Vec<Vec<u8>>>,
        ops: &mut Vec<Vec<u8>>,
    ) -> Result<u64, FrontierError> {
        let (partitions, calls): (Vec<u16>, Vec<Call>) = jobs
            .into_iter()
            .map(|(n, args)| (n, Call::partition(Which::Push, n, args)))
            .unzip();
        let answers = self.caller.run_all(calls).await?;
        let mut new = 0;
        for (n, answer) in partitions.into_iter().zip(answers) {
            let (added, version): (u64, u64) = redis::from_redis_value(answer)
                .map_err(|err| FrontierError(format!("redis: {err}")))?;
            if added > 0 {
                new += added;
                ops.extend(args!["activate", format!("{n}:{version}")]);
                self.views.entry(n).or_default().queued += added as usize;
            }
        }
        Ok(new)
    }
}

/// The lease id a script knows, from a worker's `PARTITION:ID`.
fn lease_id(lease: &str) -> &str {
    lease.split_once(':').map_or(lease, |(_, id)| id)
}

/// How often leases are renewed: a third of `--lease`, or every heartbeat when that is
/// sooner.
fn renewal(lease: Duration) -> Duration {
    (lease / 3).min(HEARTBEAT)
}

/// Warns when Redis may evict keys under memory pressure: a crawl whose keys are evicted
/// loses pages. Asks the server holding the crawl's settings (in a Cluster, one node; the
/// masters are usually configured alike). Redis may refuse `CONFIG` (managed services): then
/// nothing is said.
async fn warn_about_eviction(redis: &mut RedisConnection, url: &str, layout: &Layout) {
    let policy: Result<Vec<String>, _> = redis
        .query_at(
            redis::cmd("CONFIG").arg("GET").arg("maxmemory-policy"),
            &settings_key(&layout.crawl_prefix()),
        )
        .await;
    if let Ok(policy) = policy {
        if let Some(policy) = policy.get(1).filter(|policy| *policy != "noeviction") {
            tracing::warn!(
                redis = %url,
                policy = %policy,
                "redis may evict keys under memory pressure, losing pages of the crawl: set maxmemory-policy noeviction"
            );
        }
    }
}

impl Frontier for RedisFrontier {
    async fn push(&mut self, jobs: Vec<Job>) -> Result<usize, FrontierError> {
        if jobs.is_empty() {
            return Ok(0);
        }
        self.settle().await?;
        self.quiet = None;
        let layout = Arc::clone(&self.caller.layout);
        let mut by_partition: HashMap<u16, Vec<Vec<u8>>> = HashMap::new();
        let mut keys = Vec::with_capacity(jobs.len());
        for job in &jobs {
            let new_job = NewJob::of(job);
            keys.push(new_job.key());
            by_partition
                .entry(layout.partition_of(job.host()))
                .or_default()
                .extend(job_args(std::iter::once(new_job)));
        }
        let mut ops = Vec::new();
        let new = self.push_to_partitions(by_partition, &mut ops).await?;
        self.run_with_crawl(vec![], ops, new).await?;
        for key in keys {
            self.known.insert(key);
        }
        // Even links seen before: another worker may have queued them after this one found
        // the crawl empty (seeds every worker lists, pushed while it started).
        self.drained = false;
        Ok(new as usize)
    }

    async fn pop(&mut self, _now: Instant, room: usize) -> Result<Next, FrontierError> {
        self.places = self.places.max(room);
        if let Some(next) = self.next_ready().await? {
            return Ok(next);
        }
        if !self.settled() {
            // The batch's answers wake the scheduler.
            return Ok(Next::Busy);
        }
        self.settle().await?;
        let stranded = self.ahead.take_stranded();
        if !stranded.is_empty() {
            self.give_back(stranded, 0).await?;
        }
        if let Some(next) = self.next_ready().await? {
            return Ok(next);
        }
        if !self.outbox.is_empty() {
            // The pages ended go in one batch, at once: pages that end while it is on its way
            // make the next. Its call takes the next jobs.
            self.send(room, true).await?;
            return Ok(Next::Busy);
        }
        if self.drained || self.spent {
            return Ok(Next::Empty);
        }
        if let Some((until, tokens)) = self.quiet {
            if Instant::now() < until && self.waker.tokens() == tokens {
                return Ok(Next::WaitUntil(until));
            }
            self.quiet = None;
        }
        let mut ops = Vec::new();
        let mut earliest: Option<Duration> = None;
        let mut asked: Vec<u16> = Vec::with_capacity(PARTITIONS_PER_POP);
        let mut all_empty = true;
        while asked.len() < PARTITIONS_PER_POP {
            if asked.is_empty() || self.rotation.is_empty() {
                self.refresh_rotation().await?;
            }
            // Each partition is asked once a pop: one that had nothing is not asked again.
            let Some(n) = self.rotation.pop_front() else {
                break;
            };
            if asked.contains(&n) {
                self.rotation.push_front(n);
                break;
            }
            asked.push(n);
            let answer: Vec<redis::Value> = self
                .caller
                .run(Call::partition(Which::Pop, n, self.take_args(room, true)))
                .await?;
            let mut taken = Taken::parse(&answer)?;
            self.saw(n, &taken);
            if !taken.jobs.is_empty() {
                self.rotation.push_back(n);
                if !ops.is_empty() || self.unreserve > 0 {
                    self.run_with_crawl(vec![], ops, 0).await?;
                }
                self.received(n, &mut taken);
                return Ok(self.next_ready().await?.unwrap_or(Next::Empty));
            }
            if taken.empty {
                ops.extend(args!["retire", format!("{n}:{}", taken.version)]);
                continue;
            }
            all_empty = false;
            self.rotation.push_back(n);
            if !taken.busy {
                earliest = Some(earliest.map_or(taken.wait, |at| at.min(taken.wait)));
            }
        }
        // Every active partition was asked and found empty, or none was active: the crawl
        // may be over (the last page just ended, say).
        let asked_all = asked.len() < PARTITIONS_PER_POP;
        if all_empty && asked_all && self.held.is_empty() {
            if let Some(at) = self.end_check_at.filter(|at| *at > Instant::now()) {
                if !ops.is_empty() {
                    self.run_with_crawl(vec![], ops, 0).await?;
                }
                return Ok(Next::WaitUntil(at));
            }
            self.end_check_at = Some(Instant::now() + END_CHECK_EVERY);
            if self.end_check().await? {
                self.drained = true;
                // The workers waiting for work would otherwise learn of the end only when
                // their wait lapses: wake them to check for themselves (whatever this worker
                // last heard of how many wait).
                ops.extend(args!["wake", END_WAKES]);
                self.run_with_crawl(vec![], ops, 0).await?;
                return Ok(Next::Empty);
            }
        }
        if let Some(wait) = earliest {
            self.run_with_crawl(vec![], ops, 0).await?;
            return Ok(Next::WaitUntil(self.quiet_for(wait)));
        }
        // Nothing may start anywhere until a page ends or links come: wait for a wake-up.
        let lapsing = self
            .idle_until
            .is_none_or(|until| until < Instant::now() + IDLE_POLL + IDLE_POLL / 5);
        if lapsing {
            ops.extend(args!["idle", IDLE_FOR.as_millis()]);
            self.idle_until = Some(Instant::now() + IDLE_FOR);
        }
        self.run_with_crawl(vec![], ops, 0).await?;
        self.waker.idle(true);
        Ok(Next::WaitUntil(self.quiet_for(IDLE_POLL)))
    }

    async fn finished(&mut self, ended: Ended<'_>) -> Result<(), FrontierError> {
        self.quiet = None;
        let Some(lease) = ended.job.lease.clone() else {
            return Err(FrontierError("a job without a lease ended".into()));
        };
        let Some(&home) = self.held.get(&lease) else {
            return Err(FrontierError(format!("lease {lease} is not held")));
        };
        if self.outbox.holds(&lease) {
            return Err(FrontierError(format!("lease {lease} ended twice")));
        }
        let host = ended.job.host();
        // robots.txt or the page, whichever went last: the host's gap counts from there.
        let ago = self
            .pacer
            .last_request(host)
            .map_or(-1, |sent| sent.elapsed().as_millis() as i64);
        let delay = self
            .pacer
            .crawl_delay(host)
            .map_or(0, |gap| gap.as_millis() as u64);
        // The page's slot goes to the next job of its host taken ahead, which starts at once.
        let successor = self.ahead.ended(host);
        let args = args![
            lease_id(&lease),
            host,
            ago,
            delay,
            ended.outcome,
            ended.links,
            ended.job.depth,
            successor
                .as_ref()
                .map_or("", |(_, lease, _)| lease_id(lease)),
        ];
        let handed_over = successor.is_some();
        if let Some(job) = successor {
            self.ready.push_front(job);
        }
        // Links this worker knows the crawl has seen cost no write: the seen set only grows.
        let layout = Arc::clone(&self.caller.layout);
        let known = &self.known;
        let links = NewJob::children(&ended.children, |key| !known.contains(key))
            .into_iter()
            .map(|job| {
                let n = layout.partition_of(job.host());
                (n, job.key(), job_args(std::iter::once(job)))
            })
            .collect();
        self.outbox.add(
            Page {
                home,
                lease,
                args,
                handed_over,
            },
            links,
        );
        Ok(())
    }

    async fn hand_back(&mut self, jobs: Vec<Job>) -> Result<(), FrontierError> {
        for job in &jobs {
            self.ahead.over(job.host());
        }
        self.flush(0).await?;
        let handed: Vec<Arc<str>> = jobs.into_iter().filter_map(|job| job.lease).collect();
        let unreserve = handed.len() as u64;
        let mut leases = handed;
        // Jobs ready or taken ahead had no page of the budget yet.
        leases.extend(self.ready.drain(..).map(|(_, lease, _)| lease));
        leases.extend(self.ahead.drain());
        self.give_back(leases, unreserve).await
    }

    fn upkeep_due(&self) -> Option<Instant> {
        let renew = (!self.held.is_empty() && self.sending.is_none()).then_some(self.renew_at);
        // A batch's answers are taken in as soon as they come; the outbox goes when no batch
        // is on its way.
        let batch = match &self.sending {
            None => self.outbox.due_at(),
            Some(sending) if sending.answered() => Some(Instant::now()),
            Some(_) => None,
        };
        [renew, batch].into_iter().flatten().min()
    }

    async fn upkeep(&mut self) -> Result<(), FrontierError> {
        if self.sending.is_some() {
            if self.settled() {
                // The scheduler pops next, and the pop sends the outbox with the places free.
                self.settle().await?;
            }
        } else if self.outbox.is_due(self.running()) {
            // No place was free to take a job with (or the scheduler would have asked).
            self.send(0, true).await?;
        }
        if self.renew_at > Instant::now() || self.sending.is_some() {
            // Renewed once no call is on its way (that call's end wakes the scheduler).
            return Ok(());
        }
        self.renew_at = Instant::now() + renewal(self.lease);
        // One deadline a worker and partition covers all its leases there: no lease id is sent.
        let partitions: HashSet<u16> = self.held.values().copied().collect();
        let calls: Vec<Call> = partitions
            .into_iter()
            .map(|n| {
                let args = args![self.lease.as_millis(), HEARTBEAT_GRACE.as_millis()];
                Call::partition(Which::Leases, n, args)
            })
            .collect();
        // Sent like a batch, so that a slow Redis holds up no page.
        self.send_calls(calls, None);
        Ok(())
    }

    fn len(&self) -> usize {
        // Once the budget is spent nothing queued is for this worker: counting it would keep
        // the scheduler from reading the rest of its input, and so from ever ending.
        if self.spent {
            return 0;
        }
        self.ready.len()
            + self.ahead.len()
            + self.views.values().map(|view| view.queued).sum::<usize>()
    }

    fn is_drained(&self) -> bool {
        (self.drained || self.spent) && self.held.is_empty()
    }

    fn wakes(&self) -> Option<Arc<Notify>> {
        Some(self.waker.woken())
    }
}
