//! The operator's commands on a shared crawl's Redis: `areq status` (the keys it reads in
//! every partition, and the report it makes of their sums) and `areq forget` (deleting every
//! key of a crawl).

use std::collections::BTreeMap;
use std::fmt::Write;

use futures_util::future::join_all;
use redis::{AsyncCommands, FromRedisValue};

use super::connection::{connect, settings_key, RedisConnection};
use super::partition::{crawl_prefix, slot_of, Layout};
use crate::error::FatalError;

/// An operator's command on crawl `name` failed for `reason`.
fn failure(name: &str, reason: String) -> FatalError {
    FatalError::SharedCrawl {
        name: name.to_owned(),
        reason,
    }
}

/// Connects to the Redis at `url` for a command on crawl `name`: the connection, the crawl's
/// settings, and its layout. A crawl with no settings there is an error.
async fn open_crawl(
    url: &str,
    name: &str,
) -> Result<(RedisConnection, BTreeMap<String, String>, Layout), FatalError> {
    let mut redis = connect(url).await.map_err(|err| failure(name, err.0))?;
    let settings: BTreeMap<String, String> = redis
        .hgetall(settings_key(&crawl_prefix(name)))
        .await
        .map_err(|err| failure(name, format!("redis: {err}")))?;
    if settings.is_empty() {
        return Err(failure(name, "no such crawl in this Redis".into()));
    }
    let partitions = settings
        .get("partitions")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    Ok((redis, settings, Layout::new(name, partitions)))
}

/// Runs the command `command` makes of each partition's prefix, all at once; their answers
/// in partition order.
async fn in_every_partition<T: FromRedisValue>(
    redis: &RedisConnection,
    layout: &Layout,
    command: impl Fn(&str) -> redis::Cmd,
) -> redis::RedisResult<Vec<T>> {
    let calls = layout.all().map(|n| {
        let mut redis = redis.clone();
        let cmd = command(layout.prefix(n));
        async move { cmd.query_async::<T>(&mut redis).await }
    });
    join_all(calls).await.into_iter().collect()
}

/// Adds each count of `maps` up, key by key.
fn summed<K: Ord>(maps: Vec<BTreeMap<K, i64>>) -> BTreeMap<K, i64> {
    let mut sums = BTreeMap::new();
    for map in maps {
        for (key, n) in map {
            *sums.entry(key).or_insert(0) += n;
        }
    }
    sums
}

/// Prints the state of crawl `name` kept in the Redis at `url`: whether it is finished, what
/// is queued and in flight, and the crawl-wide counts (each partition's, added up).
pub(crate) async fn show_status(url: &str, name: &str) -> Result<String, FatalError> {
    let (redis, settings, layout) = open_crawl(url, name).await?;
    let read_failed = |err: redis::RedisError| failure(name, format!("redis: {err}"));
    let hash = |suffix: &'static str| {
        move |prefix: &str| {
            redis::cmd("HGETALL")
                .arg(format!("{prefix}{suffix}"))
                .clone()
        }
    };
    let stats = summed::<String>(
        in_every_partition(&redis, &layout, hash("stats"))
            .await
            .map_err(read_failed)?,
    );
    let depths = summed::<u32>(
        in_every_partition(&redis, &layout, hash("depths"))
            .await
            .map_err(read_failed)?,
    );
    let workers = summed::<String>(
        in_every_partition(&redis, &layout, hash("workers"))
            .await
            .map_err(read_failed)?,
    );
    let count = |command: &'static str, suffix: &'static str| {
        move |prefix: &str| redis::cmd(command).arg(format!("{prefix}{suffix}")).clone()
    };
    let hosts: i64 = in_every_partition::<i64>(&redis, &layout, count("SCARD", "hostset"))
        .await
        .map_err(read_failed)?
        .into_iter()
        .sum();
    let abandoned: Vec<String> = in_every_partition::<Vec<String>>(&redis, &layout, |prefix| {
        redis::cmd("LRANGE")
            .arg(format!("{prefix}abandoned"))
            .arg(0)
            .arg(ABANDONED_SHOWN - 1)
            .clone()
    })
    .await
    .map_err(read_failed)?
    .into_iter()
    .flatten()
    .take(ABANDONED_SHOWN as usize)
    .collect();
    let stat = |key: &str| stats.get(key).copied().unwrap_or(0);
    let queued = stat("queued");
    let leased = stat("leased");
    let state = if queued == 0 && leased == 0 {
        "finished"
    } else {
        "running"
    };
    let mut text = String::new();
    let list = |map: &mut dyn Iterator<Item = String>| map.collect::<Vec<_>>().join(", ");
    // Writing to a String cannot fail.
    let _ = writeln!(text, "crawl {name}: {state}");
    let _ = writeln!(
        text,
        "  frontier: {queued} queued, {leased} in flight, {} leases expired, {} late acks, \
         {} abandoned",
        stat("leases_expired"),
        stat("late_acks"),
        stat("abandoned")
    );
    let _ = writeln!(
        text,
        "  pages: {} ok, {} failed, {} skipped (not HTML), {} robots; {} links; {hosts} hosts",
        stat("ok"),
        stat("failed"),
        stat("not_html"),
        stat("robots"),
        stat("links")
    );
    if settings.get("check").is_some_and(|check| check == "true") {
        let _ = writeln!(
            text,
            "  links: {} checked, {} broken",
            stat("links_checked"),
            stat("links_broken")
        );
    }
    let by_depth = list(&mut depths.iter().map(|(depth, n)| format!("{depth}: {n}")));
    let _ = writeln!(text, "  pages by depth: {by_depth}");
    let by_worker = list(&mut workers.iter().map(|(worker, n)| format!("{worker}: {n}")));
    let _ = writeln!(text, "  pages by worker: {by_worker}");
    let _ = writeln!(text, "  seen: {} URLs", stat("seen"));
    let settings = list(
        &mut settings
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "epoch" | "ready"))
            .map(|(key, value)| format!("{key} {value:?}")),
    );
    let _ = writeln!(text, "  settings: {settings}");
    for job in &abandoned {
        // The stored job ends with its URL.
        let url = job.rsplit('\t').next().unwrap_or(job);
        let _ = writeln!(text, "  abandoned: {url}");
    }
    Ok(text)
}

/// How many abandoned pages `areq status` lists by URL.
const ABANDONED_SHOWN: isize = 20;

/// Deletes every key of crawl `name` in the Redis at `url`. Refuses while workers hold
/// pages of it, unless `force`. Returns how many keys were deleted.
pub(crate) async fn forget(url: &str, name: &str, force: bool) -> Result<u64, FatalError> {
    let failed = |reason: String| failure(name, reason);
    let (mut redis, _, layout) = open_crawl(url, name).await?;
    let read_failed = |err: redis::RedisError| failure(name, format!("redis: {err}"));
    let leased: i64 = in_every_partition::<Option<i64>>(&redis, &layout, |prefix| {
        redis::cmd("HGET")
            .arg(format!("{prefix}stats"))
            .arg("leased")
            .clone()
    })
    .await
    .map_err(read_failed)?
    .into_iter()
    .flatten()
    .sum();
    if leased > 0 && !force {
        return Err(failed(format!(
            "{leased} pages are held by workers: stop them first, or give --force"
        )));
    }
    // The settings go first, so a worker still running fails at its next call instead of
    // crawling on in a half-deleted crawl; then each partition's epoch, for the same reason.
    let crawl = crawl_prefix(name);
    let mut deleted: u64 = redis.del(settings_key(&crawl)).await.map_err(read_failed)?;
    let epochs: Vec<u64> = in_every_partition(&redis, &layout, |prefix| {
        redis::cmd("DEL").arg(format!("{prefix}epoch")).clone()
    })
    .await
    .map_err(read_failed)?;
    deleted += epochs.into_iter().sum::<u64>();
    let prefixes: Vec<&str> = std::iter::once(crawl.as_str())
        .chain(layout.all().map(|n| layout.prefix(n)))
        .collect();
    let keys = match &redis {
        RedisConnection::Single(_) => scan(&mut redis, name).await,
        RedisConnection::Cluster(_) => keys_in_slots(&mut redis, &prefixes).await,
    }
    .map_err(read_failed)?;
    let ours = keys
        .into_iter()
        .filter(|key| prefixes.iter().any(|prefix| key.starts_with(prefix)));
    // One key a command: a Cluster refuses keys of several slots in one.
    let unlinked = join_all(ours.map(|key| {
        let mut redis = redis.clone();
        async move {
            redis::cmd("UNLINK")
                .arg(key)
                .query_async::<u64>(&mut redis)
                .await
        }
    }))
    .await;
    for n in unlinked {
        deleted += n.map_err(read_failed)?;
    }
    Ok(deleted)
}

/// The keys of a single Redis that may be crawl `name`'s: `areq:{NAME}:…` and
/// `areq:{NAME:N}:…` (the caller keeps the ones under the crawl's prefixes).
async fn scan(redis: &mut RedisConnection, name: &str) -> redis::RedisResult<Vec<String>> {
    // The name's glob characters are escaped.
    let escaped: String = name
        .chars()
        .flat_map(|c| match c {
            '*' | '?' | '[' | ']' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let pattern = format!("areq:{{{escaped}[:}}]*");
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(redis)
            .await?;
        keys.extend(found);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

/// The keys of a Cluster in the slots of `prefixes` (each slot asked at its master; other
/// crawls' keys may share a slot).
async fn keys_in_slots(
    redis: &mut RedisConnection,
    prefixes: &[&str],
) -> redis::RedisResult<Vec<String>> {
    let mut slots: Vec<(u16, &str)> = prefixes
        .iter()
        .map(|prefix| (slot_of(prefix), *prefix))
        .collect();
    slots.sort_unstable();
    slots.dedup_by_key(|(slot, _)| *slot);
    let mut keys = Vec::new();
    for (slot, prefix) in slots {
        let found: Vec<String> = redis
            .query_at(
                redis::cmd("CLUSTER")
                    .arg("GETKEYSINSLOT")
                    .arg(slot)
                    .arg(1_000_000),
                prefix,
            )
            .await?;
        keys.extend(found);
    }
    Ok(keys)
}
