//! [`RedisFrontier`]: one crawl shared by several workers through Redis (or Valkey).
//!
//! Every key of a crawl starts with `areq:{NAME}:`, one hash tag, so a crawl lives in one
//! slot of a Redis Cluster. The state and what changes it:
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

use redis::aio::ConnectionManager;
use redis::Script;

mod connection;
mod jobs;
mod shared;
mod status;

pub(crate) use shared::{RedisRobots, RedisTurns};
pub(crate) use status::show_status;

use self::connection::{connect, crawl_prefix, is_transient, redis_error, worker_name};
use self::jobs::{job_args, parse_job, Answer, NewJob};
use super::{Ended, Frontier, FrontierError, Next};
use crate::config::Config;
use crate::job::Job;
use crate::politeness::{Pacer, Politeness};

/// How often a worker with nothing to start asks again while others hold work.
const SHARED_POLL: Duration = Duration::from_millis(50);

/// How many hosts one take looks at before it answers "wait".
const HOSTS_PER_TAKE: usize = 256;

/// The settings a crawl is created with; every worker that joins must bring the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CrawlSettings(Vec<(&'static str, String)>);

impl CrawlSettings {
    /// What decides which pages a crawl fetches and how politely.
    pub(crate) fn of(config: &Config) -> CrawlSettings {
        let crawl = &config.crawl;
        let patterns = |list: &[regex::Regex]| {
            list.iter()
                .map(regex::Regex::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        };
        CrawlSettings(vec![
            ("depth", crawl.depth.to_string()),
            ("scope", format!("{:?}", crawl.scope.scope).to_lowercase()),
            ("include", patterns(&crawl.scope.include)),
            ("exclude", patterns(&crawl.scope.exclude)),
            ("robots", crawl.robots.to_string()),
            ("per-host", config.per_host.to_string()),
            ("gap-ms", crawl.host_gap.as_millis().to_string()),
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
    redis: ConnectionManager,
    /// `areq:{NAME}:`.
    prefix: String,
    /// This worker's name in lease ids and counts.
    worker: String,
    politeness: Politeness,
    /// This process's pacer: what this worker learned of each host's pace goes to Redis.
    pacer: Arc<Pacer>,
    lease: Duration,
    scripts: Scripts,
    /// Leases this worker holds.
    held: HashSet<Arc<str>>,
    renew_at: Instant,
    /// Jobs queued crawl-wide, and leases held crawl-wide, as last seen.
    queued: usize,
    leased: usize,
    /// What the last finish took ahead for the next pop: a job, or the answer that none may
    /// start yet.
    ahead: Option<Next>,
}

impl RedisFrontier {
    /// Connects to the Redis at `url` and joins the crawl `name`, creating it with
    /// `settings` or checking that they match the stored ones.
    pub(crate) async fn join(
        url: &str,
        name: &str,
        settings: &CrawlSettings,
        politeness: Politeness,
        pacer: Arc<Pacer>,
        lease: Duration,
    ) -> Result<RedisFrontier, FrontierError> {
        let mut redis = connect(url).await?;
        let prefix = crawl_prefix(name);
        let script = Script::new(include_str!("settings.lua"));
        let mut check = script.prepare_invoke();
        check.arg(&prefix);
        for (key, value) in &settings.0 {
            check.arg(*key).arg(value);
        }
        let mismatches: Vec<String> = check
            .invoke_async(&mut redis)
            .await
            .map_err(|err| redis_error(url, &err))?;
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
            politeness,
            pacer,
            lease,
            scripts: Scripts::new(),
            held: HashSet::new(),
            renew_at: Instant::now() + lease / 3,
            queued: 0,
            leased: 0,
            ahead: None,
        })
    }

    /// The take script's arguments: lease id prefix, per-host limit, probe first, default
    /// gap (ms), lease time (ms), hosts to look at.
    fn take_args(&self) -> Vec<String> {
        let Politeness {
            per_host,
            gap,
            probe_first,
        } = self.politeness;
        vec![
            self.worker.clone(),
            per_host.to_string(),
            u8::from(probe_first).to_string(),
            gap.as_millis().to_string(),
            self.lease.as_millis().to_string(),
            HOSTS_PER_TAKE.to_string(),
        ]
    }

    /// What a take answered, as the scheduler's [`Next`]; a job taken is now held.
    fn next_from(&mut self, answer: &[redis::Value]) -> Result<Next, FrontierError> {
        let answer = Answer::parse(answer)?;
        self.queued = answer.queued;
        self.leased = answer.leased;
        Ok(match answer.job {
            Some((lease, job)) => {
                let mut job = parse_job(&job)?;
                let lease: Arc<str> = lease.into();
                self.held.insert(Arc::clone(&lease));
                job.lease = Some(lease);
                Next::Ready(job)
            }
            None if answer.queued == 0 && answer.leased == 0 => Next::Empty,
            None => Next::WaitUntil(Instant::now() + answer.wait.max(SHARED_POLL)),
        })
    }

    /// Runs a script invocation, retrying while Redis is away for up to one lease time: by
    /// then the leases this worker held are lost anyway, and the worker stops.
    async fn invoke<T: redis::FromRedisValue>(
        &mut self,
        script: impl Fn(&Scripts) -> redis::ScriptInvocation<'_>,
    ) -> Result<T, FrontierError> {
        let started = Instant::now();
        let mut wait = Duration::from_millis(100);
        loop {
            let invocation = script(&self.scripts);
            match invocation.invoke_async(&mut self.redis).await {
                Ok(value) => return Ok(value),
                Err(err) if is_transient(&err) && started.elapsed() < self.lease => {
                    tracing::warn!(error = %err, "redis unavailable; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
                Err(err) => return Err(FrontierError(format!("redis: {err}"))),
            }
        }
    }
}

impl Frontier for RedisFrontier {
    async fn push(&mut self, jobs: Vec<Job>) -> Result<usize, FrontierError> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let prefix = self.prefix.clone();
        let args = job_args(jobs.iter().map(NewJob::of));
        let new: usize = self
            .invoke(|scripts| {
                let mut call = scripts.push.prepare_invoke();
                call.arg(&prefix).arg(&args);
                call
            })
            .await?;
        self.queued += new;
        Ok(new)
    }

    async fn pop(&mut self, _now: Instant) -> Result<Next, FrontierError> {
        if let Some(next) = self.ahead.take() {
            return Ok(next);
        }
        let prefix = self.prefix.clone();
        let take = self.take_args();
        let answer: Vec<redis::Value> = self
            .invoke(|scripts| {
                let mut call = scripts.pop.prepare_invoke();
                call.arg(&prefix).arg(&take);
                call
            })
            .await?;
        self.next_from(&answer)
    }

    async fn finished(&mut self, ended: Ended<'_>) -> Result<(), FrontierError> {
        let Some(lease) = ended.job.lease.clone() else {
            return Err(FrontierError("a job without a lease ended".into()));
        };
        self.held.remove(&lease);
        let prefix = self.prefix.clone();
        let worker = self.worker.clone();
        let host = ended.job.host().to_owned();
        // robots.txt or the page, whichever went last: the host's gap counts from there.
        let ago = self
            .pacer
            .last_request(&host)
            .map_or(-1, |sent| sent.elapsed().as_millis() as i64);
        let delay = self
            .pacer
            .crawl_delay(&host)
            .map_or(0, |gap| gap.as_millis() as u64);
        let default_gap = self.politeness.gap.as_millis() as u64;
        let children = job_args(NewJob::children(&ended.children));
        let take = self.take_args();
        // One job ahead at most: one not yet started is not taken over.
        let take_next = ended.take_next && !matches!(self.ahead, Some(Next::Ready(_)));
        let answer: Vec<redis::Value> = self
            .invoke(|scripts| {
                let mut call = scripts.finish.prepare_invoke();
                call.arg(&prefix)
                    .arg(&*lease)
                    .arg(&host)
                    .arg(ago)
                    .arg(delay)
                    .arg(default_gap)
                    .arg(ended.outcome)
                    .arg(ended.links)
                    .arg(ended.job.depth)
                    .arg(&worker)
                    .arg(u8::from(take_next))
                    .arg(&take)
                    .arg(&children);
                call
            })
            .await?;
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
        let prefix = self.prefix.clone();
        let ids: Vec<&str> = leases.iter().map(|lease| &**lease).collect();
        let _ours: usize = self
            .invoke(|scripts| {
                let mut call = scripts.leases.prepare_invoke();
                call.arg(&prefix).arg(0).arg(&ids);
                call
            })
            .await?;
        Ok(())
    }

    fn upkeep_due(&self) -> Option<Instant> {
        (!self.held.is_empty()).then_some(self.renew_at)
    }

    async fn upkeep(&mut self) -> Result<(), FrontierError> {
        self.renew_at = Instant::now() + self.lease / 3;
        if self.held.is_empty() {
            return Ok(());
        }
        let prefix = self.prefix.clone();
        let lease_ms = self.lease.as_millis() as u64;
        let ids: Vec<String> = self.held.iter().map(|lease| lease.to_string()).collect();
        let _renewed: usize = self
            .invoke(|scripts| {
                let mut call = scripts.leases.prepare_invoke();
                call.arg(&prefix).arg(lease_ms).arg(&ids);
                call
            })
            .await?;
        Ok(())
    }

    fn len(&self) -> usize {
        self.queued
    }

    fn is_drained(&self) -> bool {
        self.queued == 0 && self.leased == 0
    }
}
