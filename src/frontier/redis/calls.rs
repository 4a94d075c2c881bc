//! Calling the crawl's scripts: each call names the partition (or the crawl's own slot) it
//! runs in, and a batch of calls to different partitions goes out at once, in one round trip,
//! with one call id, sent again as a whole while Redis is away. Calls whose scripts answer the
//! same when sent again (link statuses) go without a call id, from any task at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use redis::Script;

use super::connection::{is_transient, settings_key, RedisConnection};
use super::partition::Layout;
use super::FrontierError;

/// The crawl's scripts, loaded once. Each partition script starts with common.lua.
pub(super) struct Scripts {
    push: Script,
    pop: Script,
    finish: Script,
    leases: Script,
    probe: Script,
    claim: Script,
    publish: Script,
    probe_all: Script,
    crawl: Script,
}

impl Scripts {
    pub(super) fn new() -> Scripts {
        let script = |body: &str| {
            Script::new(
                &[
                    include_str!("replies.lua"),
                    include_str!("common.lua"),
                    body,
                ]
                .concat(),
            )
        };
        Scripts {
            push: script(include_str!("push.lua")),
            pop: script(include_str!("pop.lua")),
            finish: script(include_str!("finish.lua")),
            leases: script(include_str!("leases.lua")),
            probe: script(include_str!("probe.lua")),
            claim: script(include_str!("claim.lua")),
            publish: script(include_str!("publish.lua")),
            probe_all: Script::new(include_str!("probe_all.lua")),
            crawl: Script::new(&[include_str!("replies.lua"), include_str!("crawl.lua")].concat()),
        }
    }
}

/// Which script a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Which {
    /// push.lua in a partition: queue jobs not seen before.
    Push,
    /// pop.lua in a partition: take a job.
    Pop,
    /// finish.lua in a partition: a page ended.
    Finish,
    /// leases.lua in a partition: renew or hand back leases.
    Leases,
    /// probe.lua in a partition: what it holds (the end check).
    Probe,
    /// claim.lua in a partition: links' statuses, the unknown ones claimed (`--check`).
    Claim,
    /// publish.lua in a partition: links' statuses published (`--check`).
    Publish,
    /// probe_all.lua on a single server: what every partition holds, in one call.
    ProbeAll,
    /// crawl.lua in the crawl's own slot: the active set, wake-ups, the budget.
    Crawl,
}

/// Where a call runs: a partition, the crawl's own slot, or every partition at once (on a
/// single server only: a Cluster refuses a call naming keys of several slots).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    Partition(u16),
    Crawl,
    Everywhere,
}

/// One script call: its script, where it runs, and its arguments after the four every script
/// starts with (prefix, epoch, call id, worker).
#[derive(Debug)]
pub(super) struct Call {
    pub(super) which: Which,
    pub(super) place: Place,
    pub(super) args: Vec<Vec<u8>>,
}

impl Call {
    /// A call of `which` in partition `n`.
    pub(super) fn partition(which: Which, n: u16, args: Vec<Vec<u8>>) -> Call {
        Call {
            which,
            place: Place::Partition(n),
            args,
        }
    }

    /// A call of probe_all.lua: what every partition holds (single server only).
    pub(super) fn probe_all() -> Call {
        Call {
            which: Which::ProbeAll,
            place: Place::Everywhere,
            args: Vec::new(),
        }
    }

    /// A call of crawl.lua with `ops` (name, argument pairs).
    pub(super) fn crawl(ops: Vec<Vec<u8>>) -> Call {
        Call {
            which: Which::Crawl,
            place: Place::Crawl,
            args: ops,
        }
    }
}

/// What a worker needs to call the scripts: the connection, the layout, who it is, and how
/// long it gives a Redis that does not answer.
pub(super) struct Caller {
    pub(super) redis: RedisConnection,
    pub(super) layout: std::sync::Arc<Layout>,
    pub(super) worker: String,
    pub(super) epoch: String,
    pub(super) scripts: Scripts,
    /// How long Redis may fail to answer before the worker stops: one `--lease`, counted from
    /// its first failure, whatever calls are made meanwhile.
    pub(super) patience: Duration,
    /// The last batch's call id.
    calls: AtomicU64,
    /// When Redis first failed to answer, if it has not answered since.
    failing_since: Mutex<Option<Instant>>,
}

/// The error code a script answers when the crawl it was called for is gone (common.lua).
const CRAWL_GONE: &str = "AREQ_GONE";

impl Caller {
    pub(super) fn new(
        redis: RedisConnection,
        layout: std::sync::Arc<Layout>,
        worker: String,
        epoch: String,
        patience: Duration,
    ) -> Caller {
        Caller {
            redis,
            layout,
            worker,
            epoch,
            scripts: Scripts::new(),
            patience,
            calls: AtomicU64::new(0),
            failing_since: Mutex::new(None),
        }
    }

    /// Runs one call; see [`Caller::run_all`].
    pub(super) async fn run<T: redis::FromRedisValue>(
        &self,
        call: Call,
    ) -> Result<T, FrontierError> {
        let mut answers = self.run_all(vec![call]).await?;
        let answer = answers.pop().unwrap_or(redis::Value::Nil);
        redis::from_redis_value(answer).map_err(|err| FrontierError(format!("redis: {err}")))
    }

    /// Runs `calls` at once (each in its own partition: one call per partition and batch, so
    /// one kept answer per worker and partition replays it) and returns their answers in
    /// order. While Redis is away the whole batch is sent again, with the same call id (the
    /// calls that were answered answer the same again), until one `--lease` has passed since
    /// Redis first failed: then every call fails at once, and the worker stops.
    /// One batch at a time: a worker waits for a batch's answers before it sends the next.
    pub(super) async fn run_all(
        &self,
        calls: Vec<Call>,
    ) -> Result<Vec<redis::Value>, FrontierError> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let call_id = (self.calls.fetch_add(1, Ordering::Relaxed) + 1).to_string();
        let failing = || {
            self.failing_since
                .lock()
                .unwrap_or_else(|err| err.into_inner())
        };
        let mut failing_since = *failing();
        let answers = self
            .send_until_answered(&calls, &call_id, &mut failing_since)
            .await;
        *failing() = failing_since;
        answers
    }

    /// Runs `calls` at once, as [`Caller::run_all`] does, without a call id: their scripts
    /// answer the same when sent again, so any task may make them while others are in flight
    /// (no kept answer to replay). While Redis is away they are sent again until one `--lease`
    /// has passed since this batch first failed.
    pub(super) async fn run_repeatable(
        &self,
        calls: Vec<Call>,
    ) -> Result<Vec<redis::Value>, FrontierError> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        self.send_until_answered(&calls, "", &mut None).await
    }

    /// Sends `calls` with `call_id` until Redis answers them all, or until one `--lease` has
    /// passed since `failing_since` (when Redis first failed, kept by the caller).
    async fn send_until_answered(
        &self,
        calls: &[Call],
        call_id: &str,
        failing_since: &mut Option<Instant>,
    ) -> Result<Vec<redis::Value>, FrontierError> {
        let mut wait = Duration::from_millis(100);
        loop {
            if let Some(since) = *failing_since {
                if since.elapsed() >= self.patience {
                    return Err(FrontierError(format!(
                        "redis: no answer for {:.0?}, one --lease",
                        since.elapsed()
                    )));
                }
            }
            let sent = calls.iter().map(|call| self.send(call, call_id));
            let answers = join_all(sent).await;
            let mut values = Vec::with_capacity(answers.len());
            let mut transient = None;
            for answer in answers {
                match answer {
                    Ok(value) => values.push(value),
                    Err(err) if err.code() == Some(CRAWL_GONE) => {
                        return Err(FrontierError(format!(
                            "the crawl is gone from redis: {}",
                            err.detail().unwrap_or_default()
                        )));
                    }
                    Err(err) if is_transient(&err) => transient = Some(err),
                    Err(err) => return Err(FrontierError(format!("redis: {err}"))),
                }
            }
            let Some(err) = transient else {
                *failing_since = None;
                return Ok(values);
            };
            failing_since.get_or_insert_with(Instant::now);
            tracing::warn!(error = %err, "redis unavailable; retrying");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }

    /// Sends one call, on its own clone of the connection, so a batch's calls are in flight
    /// together.
    async fn send(&self, call: &Call, call_id: &str) -> redis::RedisResult<redis::Value> {
        let (script, keys, prefix) = match call.place {
            Place::Partition(n) => (
                self.script(call.which),
                vec![self.layout.epoch_key(n)],
                self.layout.prefix(n).to_owned(),
            ),
            Place::Crawl => {
                let prefix = self.layout.crawl_prefix();
                (&self.scripts.crawl, vec![settings_key(&prefix)], prefix)
            }
            Place::Everywhere => (
                self.script(call.which),
                self.layout
                    .all()
                    .map(|n| self.layout.epoch_key(n))
                    .collect(),
                self.layout.crawl_prefix(),
            ),
        };
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        invocation
            .arg(prefix)
            .arg(&self.epoch)
            .arg(call_id)
            .arg(&self.worker)
            .arg(&call.args);
        let mut redis = self.redis.clone();
        invocation.invoke_async(&mut redis).await
    }

    fn script(&self, which: Which) -> &Script {
        let scripts = &self.scripts;
        match which {
            Which::Push => &scripts.push,
            Which::Pop => &scripts.pop,
            Which::Finish => &scripts.finish,
            Which::Leases => &scripts.leases,
            Which::Probe => &scripts.probe,
            Which::Claim => &scripts.claim,
            Which::Publish => &scripts.publish,
            Which::ProbeAll => &scripts.probe_all,
            Which::Crawl => &scripts.crawl,
        }
    }
}
