//! What the workers of a shared crawl share besides the frontier, kept in its Redis: send
//! turns at each host ([`RedisTurns`]) and robots.txt verdicts ([`RedisRobots`]).

use std::sync::Arc;
use std::time::Duration;

use redis::Script;

use super::connection::RedisConnection;
use super::partition::Layout;
use super::RedisFrontier;
use crate::shared::{BoxFuture, SharedRobots, SharedTurns};

/// Send turns at each host for the whole crawl, kept in Redis time, so `--delay`, `--rate`
/// and Crawl-delay hold between any two workers' requests to a host (see turn.lua).
#[derive(Clone)]
pub(crate) struct RedisTurns {
    redis: RedisConnection,
    layout: Arc<Layout>,
    epoch: String,
    script: Arc<Script>,
}

impl std::fmt::Debug for RedisTurns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTurns")
            .field("crawl", &self.layout.crawl_prefix())
            .finish()
    }
}

impl RedisTurns {
    /// The turns of the crawl `frontier` belongs to.
    pub(crate) fn of(frontier: &RedisFrontier) -> RedisTurns {
        RedisTurns {
            redis: frontier.caller.redis.clone(),
            layout: Arc::clone(&frontier.caller.layout),
            epoch: frontier.caller.epoch.clone(),
            script: Arc::new(Script::new(
                &[
                    include_str!("replies.lua"),
                    include_str!("common.lua"),
                    include_str!("turn.lua"),
                ]
                .concat(),
            )),
        }
    }

    /// Takes the next turn at `host`, whose gap this worker knows to be `gap`; returns how
    /// long to wait before sending. A Redis that fails means no wait: the request then goes
    /// by this worker's own pacing, and the frontier's next call reports the failure.
    async fn take_turn(&self, host: &str, gap: Duration) -> Duration {
        let mut redis = self.redis.clone();
        let n = self.layout.partition_of(host);
        let wait = self
            .script
            .prepare_invoke()
            .key(self.layout.epoch_key(n))
            .arg(self.layout.prefix(n))
            .arg(&self.epoch)
            .arg("")
            .arg("")
            .arg(host)
            .arg(gap.as_millis() as u64)
            .invoke_async::<u64>(&mut redis)
            .await;
        match wait {
            Ok(ms) => Duration::from_millis(ms),
            Err(err) => {
                tracing::debug!(error = %err, "send turn not taken in redis");
                Duration::ZERO
            }
        }
    }
}

/// robots.txt verdicts of a shared crawl, one per origin, so the crawl fetches each once;
/// each kept in the partition of its origin's host.
pub(crate) struct RedisRobots {
    redis: RedisConnection,
    layout: Arc<Layout>,
}

impl RedisRobots {
    /// The store of the crawl `frontier` belongs to.
    pub(crate) fn of(frontier: &RedisFrontier) -> RedisRobots {
        RedisRobots {
            redis: frontier.caller.redis.clone(),
            layout: Arc::clone(&frontier.caller.layout),
        }
    }

    /// The key holding the verdict for `origin` (`scheme://host[:port]`).
    fn key(&self, origin: &str) -> String {
        let host = url::Url::parse(origin)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_default();
        let n = self.layout.partition_of(&host);
        format!("{}robots", self.layout.prefix(n))
    }

    /// The stored verdict for `origin`, if any worker stored one. A failing Redis means
    /// "none": the worker then fetches robots.txt itself.
    async fn load_verdict(&self, origin: &str) -> Option<Vec<u8>> {
        let mut redis = self.redis.clone();
        redis::cmd("HGET")
            .arg(self.key(origin))
            .arg(origin)
            .query_async::<Option<Vec<u8>>>(&mut redis)
            .await
            .unwrap_or_else(|err| {
                tracing::debug!(error = %err, "robots.txt verdict not read from redis");
                None
            })
    }

    /// Stores the verdict for `origin` unless another worker stored one first.
    async fn save_verdict(&self, origin: &str, verdict: &[u8]) {
        let mut redis = self.redis.clone();
        let saved = redis::cmd("HSETNX")
            .arg(self.key(origin))
            .arg(origin)
            .arg(verdict)
            .query_async::<i64>(&mut redis)
            .await;
        if let Err(err) = saved {
            tracing::debug!(error = %err, "robots.txt verdict not stored in redis");
        }
    }
}

impl SharedTurns for RedisTurns {
    fn turn<'a>(&'a self, host: &'a str, gap: Duration) -> BoxFuture<'a, Duration> {
        Box::pin(self.take_turn(host, gap))
    }
}

impl SharedRobots for RedisRobots {
    fn load<'a>(&'a self, origin: &'a str) -> BoxFuture<'a, Option<Vec<u8>>> {
        Box::pin(self.load_verdict(origin))
    }

    fn save<'a>(&'a self, origin: &'a str, verdict: &'a [u8]) -> BoxFuture<'a, ()> {
        Box::pin(self.save_verdict(origin, verdict))
    }
}
