//! [`RedisFrontier`]: one crawl shared by several workers through Redis (or Valkey).
//!
//! Every key of a crawl starts with `areq:{NAME}:`, one hash tag, so a crawl lives in one
//! slot of a Redis Cluster (for now: one crawl is one node's memory and one Redis thread's
//! work). Every script call declares the crawl's settings key in `KEYS`, by which a Cluster
//! client sends it to the node owning that slot. The state and what changes it:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `settings` | hash | depth, scope, patterns, politeness: a worker with others is refused |
//! | `seen:B` | hash | 65,536 buckets of 8-byte URL fingerprints (80 bits with the bucket) |
//! | `hosts` | list | hosts with queued jobs, in serving order (round-robin) |
//! | `q:HOST` | list | a host's queued jobs, breadth-first |
//! | `host:HOST` | hash | in flight, last request start (ms), gap (ms), probed |
//! | `leases` | sorted set | lease id → expiry (ms, Redis time) |
//! | `leased` | hash | lease id → job |
//! | `robots` | hash | origin → robots.txt verdict, fetched once per crawl |
//! | `stats`, `depths`, `workers`, `hostset` | hash, hash, hash, set | crawl-wide counts |
//!
//! Each change is one Lua script, so it is atomic: two workers can never both take the last
//! slot of a host, and a host's send turns are kept in Redis time across all workers. A page
//! costs about two round trips (a take, and a finish that also takes the next job), plus a
//! send turn per request to a host with a gap and lease renewals every third of `--lease`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::Script;
use tokio::sync::Notify;

mod connection;
mod jobs;
mod known;
mod shared;
mod status;
mod wake;

pub(crate) use shared::{RedisRobots, RedisTurns};
pub(crate) use status::{forget, show_status};

use self::connection::{
    connect, crawl_prefix, is_transient, redis_error, settings_key, worker_name, RedisConnection,
};
use self::jobs::{job_args, parse_job, Answer, NewJob};
use self::known::KnownSeen;
use self::wake::Waker;
use super::{Ended, Frontier, FrontierError, Next};
use crate::config::{Config, LinkAttributes, SharedCrawl};
use crate::job::Job;
use crate::politeness::{Pacer, Politeness};
use crate::scope::Scope;
use crate::seen::{UrlKey, FINGERPRINT_SCHEME};

/// How long a worker with nothing to start waits before it asks again, unless another
/// worker's script wakes it first (a page finished, links queued: see `wake` in common.lua).
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

/// Script arguments, as Redis takes them: each value's text.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$($value.to_string().into_bytes()),*]
    };
}

/// The settings a crawl is created with; every worker that joins must bring the same. Each
/// is written out explicitly, so the stored form does not move with a type's `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CrawlSettings(Vec<(&'static str, String)>);

impl CrawlSettings {
    /// What decides which pages a crawl fetches, what they yield, and how politely: a worker
    /// that differs in any of them would crawl another crawl.
    pub(crate) fn of(config: &Config) -> CrawlSettings {
        let crawl = &config.crawl;
        let patterns = |list: &[regex::Regex]| {
            list.iter()
                .map(regex::Regex::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let scope = match crawl.scope.scope {
            Scope::Host => "host",
            Scope::Domain => "domain",
            Scope::Any => "any",
        };
        let max_stalls = config.shared.as_ref().map_or(0, |shared| shared.max_stalls);
        CrawlSettings(vec![
            ("fingerprint", FINGERPRINT_SCHEME.to_owned()),
            ("depth", crawl.depth.to_string()),
            ("scope", scope.to_owned()),
            ("include", patterns(&crawl.scope.include)),
            ("exclude", patterns(&crawl.scope.exclude)),
            ("robots", crawl.robots.to_string()),
            ("per-host", config.per_host.to_string()),
            ("gap-ms", crawl.host_gap.as_millis().to_string()),
            ("user-agent", config.fetch.user_agent.clone()),
            ("max-body", config.fetch.max_body.to_string()),
            (
                "max-pages",
                crawl.max_pages.map_or("none".into(), |max| max.to_string()),
            ),
            ("max-stalls", max_stalls.to_string()),
            ("respect-nofollow", crawl.respect_nofollow.to_string()),
            (
                "links",
                match config.links.attributes {
                    LinkAttributes::Href => "href",
                    LinkAttributes::All => "all",
                }
                .to_owned(),
            ),
            (
                "allow-private",
                config.fetch.addresses.allow_private.to_string(),
            ),
            (
                "deny-net",
                config
                    .fetch
                    .addresses
                    .deny
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ])
    }
}

/// The Lua scripts, loaded once.
struct Scripts {
    push: Script,
    pop: Script,
    finish: Script,
    leases: Script,
}

impl Scripts {
    fn new() -> Scripts {
        let script = |body: &str| Script::new(&[include_str!("common.lua"), body].concat());
        Scripts {
            push: script(include_str!("push.lua")),
            pop: script(include_str!("pop.lua")),
            finish: script(include_str!("finish.lua")),
            leases: script(include_str!("leases.lua")),
        }
    }
}

/// A crawl's frontier in Redis, shared by every worker that joins the crawl.
pub(crate) struct RedisFrontier {
    redis: RedisConnection,
    /// `areq:{NAME}:`.
    prefix: String,
    /// This worker's name in lease ids and counts.
    worker: String,
    /// The crawl's epoch as this worker joined it: every script checks it, so a crawl gone
    /// from Redis is an error, not a finished crawl.
    epoch: String,
    politeness: Politeness,
    /// This process's pacer: what this worker learned of each host's pace goes to Redis.
    pacer: Arc<Pacer>,
    lease: Duration,
    /// Times a page's lease may expire before it is given up.
    max_stalls: usize,
    /// Pages started crawl-wide, at most (`--max-pages`; 0: no limit).
    budget: u64,
    scripts: Scripts,
    /// Leases this worker holds.
    held: HashSet<Arc<str>>,
    renew_at: Instant,
    /// The last call's id: a call sent again after its reply was lost keeps its id, and
    /// Redis answers it as it did the first time.
    calls: u64,
    /// When Redis first failed to answer, if it has not answered since: the worker gives
    /// it one `--lease` from then, whatever the calls made meanwhile.
    failing_since: Option<Instant>,
    /// Jobs queued crawl-wide, and leases held crawl-wide, as last seen.
    queued: usize,
    leased: usize,
    /// The crawl's page budget is spent, as last seen: what is queued stays queued.
    spent: bool,
    /// Wake-ups while this worker has nothing to start.
    waker: Waker,
    /// URLs this worker knows the crawl has seen: pushing them again is skipped.
    known: KnownSeen,
    /// What the last finish took ahead for the next pop: a job, or the answer that none may
    /// start yet.
    ahead: Option<Next>,
}

impl RedisFrontier {
    /// Connects to the Redis at `url` and joins the crawl `name`, creating it with
    /// `settings` or checking that they match the stored ones.
    pub(crate) async fn join(
        shared: &SharedCrawl,
        settings: &CrawlSettings,
        politeness: Politeness,
        pacer: Arc<Pacer>,
        budget: Option<u64>,
    ) -> Result<RedisFrontier, FrontierError> {
        let (url, name) = (&shared.redis, &shared.name);
        let mut redis = connect(url).await?;
        let prefix = crawl_prefix(name);
        warn_about_eviction(&mut redis, url, &prefix).await;
        let script = Script::new(include_str!("settings.lua"));
        let mut check = script.prepare_invoke();
        check.key(settings_key(&prefix)).arg(new_epoch());
        for (key, value) in &settings.0 {
            check.arg(*key).arg(value);
        }
        let answer: Vec<String> = check
            .invoke_async(&mut redis)
            .await
            .map_err(|err| redis_error(url, &err))?;
        let Some((epoch, mismatches)) = answer.split_first() else {
            return Err(FrontierError(format!("redis at {url}: empty answer")));
        };
        if !mismatches.is_empty() {
            let stored: Vec<String> = mismatches
                .chunks(2)
                .map(|pair| {
                    let ours = settings
                        .0
                        .iter()
                        .find(|(key, _)| *key == pair[0])
                        .map_or("", |(_, value)| value.as_str());
                    format!("{} is {} there, {} here", pair[0], pair[1], ours)
                })
                .collect();
            return Err(FrontierError(format!(
                "crawl {name} exists with other settings: {}",
                stored.join("; ")
            )));
        }
        Ok(RedisFrontier {
            redis,
            prefix,
            worker: worker_name(),
            epoch: epoch.clone(),
            politeness,
            pacer,
            lease: shared.lease,
            max_stalls: shared.max_stalls,
            budget: budget.unwrap_or(0),
            scripts: Scripts::new(),
            held: HashSet::new(),
            renew_at: Instant::now() + renewal(shared.lease),
            calls: 0,
            failing_since: None,
            queued: 0,
            leased: 0,
            spent: false,
            known: KnownSeen::default(),
            waker: Waker::start(url, format!("{}wake", crawl_prefix(name))),
            ahead: None,
        })
    }

    /// The take script's arguments: worker (the lease id prefix), per-host limit, probe
    /// first, default gap (ms), lease time (ms), hosts to look at, stalls before a job is
    /// given up, page budget (0: none), heartbeat grace (ms).
    fn take_args(&self) -> Vec<Vec<u8>> {
        let Politeness {
            per_host,
            gap,
            probe_first,
        } = self.politeness;
        args![
            self.worker,
            per_host,
            u8::from(probe_first),
            gap.as_millis(),
            self.lease.as_millis(),
            HOSTS_PER_TAKE,
            self.max_stalls,
            self.budget,
            HEARTBEAT_GRACE.as_millis(),
        ]
    }

    /// What a take answered, as the scheduler's [`Next`]; a job taken is now held.
    fn next_from(&mut self, answer: &[redis::Value]) -> Result<Next, FrontierError> {
        let answer = Answer::parse(answer)?;
        self.queued = answer.queued;
        self.leased = answer.leased;
        self.spent = answer.spent;
        Ok(match answer.job {
            Some((lease, job)) => {
                self.waker.idle(false);
                let mut job = parse_job(&job)?;
                self.known.insert(UrlKey::of(&job.url));
                let lease: Arc<str> = lease.into();
                self.held.insert(Arc::clone(&lease));
                job.lease = Some(lease);
                Next::Ready(job)
            }
            None if answer.leased == 0 && (answer.queued == 0 || answer.spent) => Next::Empty,
            None if answer.busy => {
                self.waker.idle(true);
                Next::WaitUntil(Instant::now() + IDLE_POLL)
            }
            None => Next::WaitUntil(Instant::now() + answer.wait),
        })
    }

    /// Runs `script` with the arguments every script starts with (prefix, epoch, a new call
    /// id) and then `args`. While Redis is away the call is sent again, with the same id, until
    /// one `--lease` has passed since Redis first failed (by then the leases this worker held
    /// are lost anyway): then every call fails at once, and the worker stops.
    async fn invoke<T: redis::FromRedisValue>(
        &mut self,
        script: fn(&Scripts) -> &Script,
        args: &[Vec<u8>],
    ) -> Result<T, FrontierError> {
        self.calls += 1;
        let call = self.calls.to_string();
        let mut wait = Duration::from_millis(100);
        loop {
            if let Some(since) = self.failing_since {
                if since.elapsed() >= self.lease {
                    return Err(FrontierError(format!(
                        "redis: no answer for {:.0?}, one --lease",
                        since.elapsed()
                    )));
                }
            }
            let mut invocation = script(&self.scripts).prepare_invoke();
            invocation
                .key(settings_key(&self.prefix))
                .arg(&self.prefix)
                .arg(&self.epoch)
                .arg(&call)
                .arg(args);
            match invocation.invoke_async(&mut self.redis).await {
                Ok(value) => {
                    self.failing_since = None;
                    return Ok(value);
                }
                Err(err) if err.code() == Some(CRAWL_GONE) => {
                    return Err(FrontierError(format!(
                        "the crawl is gone from redis: {}",
                        err.detail().unwrap_or_default()
                    )));
                }
                Err(err) if is_transient(&err) => {
                    self.failing_since.get_or_insert_with(Instant::now);
                    tracing::warn!(error = %err, "redis unavailable; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
                Err(err) => return Err(FrontierError(format!("redis: {err}"))),
            }
        }
    }
}

/// The error code a script answers when the crawl it was called for is gone (common.lua).
const CRAWL_GONE: &str = "AREQ_GONE";

/// How often leases are renewed: a third of `--lease`, or every heartbeat when that is
/// sooner.
fn renewal(lease: Duration) -> Duration {
    (lease / 3).min(HEARTBEAT)
}

/// A new crawl's epoch: random, so a crawl forgotten and made anew is another crawl.
fn new_epoch() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// Warns when Redis may evict keys under memory pressure: a crawl whose keys are evicted
/// loses pages. Asks the server holding the crawl (in a Cluster, the node owning its slot).
/// Redis may refuse `CONFIG` (managed services): then nothing is said.
async fn warn_about_eviction(redis: &mut RedisConnection, url: &str, prefix: &str) {
    let policy: Result<Vec<String>, _> = redis
        .query_at(
            redis::cmd("CONFIG").arg("GET").arg("maxmemory-policy"),
            &settings_key(prefix),
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
        let jobs: Vec<NewJob<'_>> = jobs.iter().map(NewJob::of).collect();
        let keys: Vec<UrlKey> = jobs.iter().map(NewJob::key).collect();
        let mut args = args![self.worker];
        args.extend(job_args(jobs.into_iter()));
        let new: usize = self.invoke(|scripts| &scripts.push, &args).await?;
        for key in keys {
            self.known.insert(key);
        }
        self.queued += new;
        Ok(new)
    }

    async fn pop(&mut self, _now: Instant) -> Result<Next, FrontierError> {
        if let Some(next) = self.ahead.take() {
            return Ok(next);
        }
        let args = self.take_args();
        let answer: Vec<redis::Value> = self.invoke(|scripts| &scripts.pop, &args).await?;
        self.next_from(&answer)
    }

    async fn finished(&mut self, ended: Ended<'_>) -> Result<(), FrontierError> {
        let Some(lease) = ended.job.lease.clone() else {
            return Err(FrontierError("a job without a lease ended".into()));
        };
        self.held.remove(&lease);
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
        // One job ahead at most: one not yet started is not taken over.
        let take_next = ended.take_next && !matches!(self.ahead, Some(Next::Ready(_)));
        let mut args = args![
            lease,
            host,
            ago,
            delay,
            self.politeness.gap.as_millis(),
            ended.outcome,
            ended.links,
            ended.job.depth,
            u8::from(take_next),
        ];
        args.extend(self.take_args());
        // Links this worker knows the crawl has seen cost no write: the seen set only grows.
        let known = &self.known;
        let children: Vec<NewJob<'_>> =
            NewJob::children(&ended.children, |key| !known.contains(key)).collect();
        let pushed: Vec<UrlKey> = children.iter().map(NewJob::key).collect();
        args.extend(job_args(children.into_iter()));
        let answer: Vec<redis::Value> = self.invoke(|scripts| &scripts.finish, &args).await?;
        for key in pushed {
            self.known.insert(key);
        }
        let new = answer
            .first()
            .and_then(|value| redis::from_redis_value_ref::<usize>(value).ok())
            .unwrap_or(0);
        self.queued += new;
        if take_next && answer.len() > 1 {
            self.ahead = Some(self.next_from(&answer[1..])?);
        }
        Ok(())
    }

    async fn hand_back(&mut self, mut jobs: Vec<Job>) -> Result<(), FrontierError> {
        if let Some(Next::Ready(job)) = self.ahead.take() {
            jobs.push(job);
        }
        let leases: Vec<Arc<str>> = jobs.into_iter().filter_map(|job| job.lease).collect();
        if leases.is_empty() {
            return Ok(());
        }
        for lease in &leases {
            self.held.remove(lease);
        }
        let mut args = args![self.worker, 0, 0];
        args.extend(leases.iter().map(|lease| lease.as_bytes().to_vec()));
        let _ours: usize = self.invoke(|scripts| &scripts.leases, &args).await?;
        Ok(())
    }

    fn upkeep_due(&self) -> Option<Instant> {
        (!self.held.is_empty()).then_some(self.renew_at)
    }

    async fn upkeep(&mut self) -> Result<(), FrontierError> {
        self.renew_at = Instant::now() + renewal(self.lease);
        if self.held.is_empty() {
            return Ok(());
        }
        let mut args = args![
            self.worker,
            self.lease.as_millis(),
            HEARTBEAT_GRACE.as_millis()
        ];
        args.extend(self.held.iter().map(|lease| lease.as_bytes().to_vec()));
        let _renewed: usize = self.invoke(|scripts| &scripts.leases, &args).await?;
        Ok(())
    }

    fn len(&self) -> usize {
        self.queued
    }

    fn is_drained(&self) -> bool {
        (self.queued == 0 || self.spent) && self.leased == 0
    }

    fn wakes(&self) -> Option<Arc<Notify>> {
        Some(self.waker.woken())
    }
}
