//! The operator's commands on a shared crawl's Redis: `areq status` (the keys it reads, and
//! the report it makes of them) and `areq forget` (deleting every key of a crawl).

use std::collections::BTreeMap;
use std::fmt::Write;

use redis::AsyncCommands;

use super::connection::{connect, crawl_prefix, settings_key, RedisConnection};
use crate::error::FatalError;

/// An operator's command on crawl `name` failed for `reason`.
fn failure(name: &str, reason: String) -> FatalError {
    FatalError::SharedCrawl {
        name: name.to_owned(),
        reason,
    }
}

/// Connects to the Redis at `url` for a command on crawl `name`: the connection, and the
/// crawl's key prefix.
async fn open_crawl(url: &str, name: &str) -> Result<(RedisConnection, String), FatalError> {
    let redis = connect(url).await.map_err(|err| failure(name, err.0))?;
    Ok((redis, crawl_prefix(name)))
}

/// Prints the state of crawl `name` kept in the Redis at `url`: whether it is finished, what
/// is queued and in flight, and the crawl-wide counts.
pub(crate) async fn show_status(url: &str, name: &str) -> Result<String, FatalError> {
    let failed = |reason: String| failure(name, reason);
    let (mut redis, prefix) = open_crawl(url, name).await?;
    let read_failed = |err: redis::RedisError| failure(name, format!("redis: {err}"));
    let settings: BTreeMap<String, String> = redis
        .hgetall(settings_key(&prefix))
        .await
        .map_err(read_failed)?;
    if settings.is_empty() {
        return Err(failed("no such crawl in this Redis".into()));
    }
    let stats: BTreeMap<String, i64> = redis
        .hgetall(format!("{prefix}stats"))
        .await
        .map_err(read_failed)?;
    let depths: BTreeMap<u32, i64> = redis
        .hgetall(format!("{prefix}depths"))
        .await
        .map_err(read_failed)?;
    let workers: BTreeMap<String, i64> = redis
        .hgetall(format!("{prefix}workers"))
        .await
        .map_err(read_failed)?;
    let leased: i64 = redis
        .zcard(format!("{prefix}leases"))
        .await
        .map_err(read_failed)?;
    let hosts: i64 = redis
        .scard(format!("{prefix}hostset"))
        .await
        .map_err(read_failed)?;
    let abandoned: Vec<String> = redis
        .lrange(format!("{prefix}abandoned"), 0, ABANDONED_SHOWN - 1)
        .await
        .map_err(read_failed)?;
    let stat = |key: &str| stats.get(key).copied().unwrap_or(0);
    let queued = stat("queued");
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
    let by_depth = list(&mut depths.iter().map(|(depth, n)| format!("{depth}: {n}")));
    let _ = writeln!(text, "  pages by depth: {by_depth}");
    let by_worker = list(&mut workers.iter().map(|(worker, n)| format!("{worker}: {n}")));
    let _ = writeln!(text, "  pages by worker: {by_worker}");
    let settings = list(
        &mut settings
            .iter()
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
    let (mut redis, prefix) = open_crawl(url, name).await?;
    let read_failed = |err: redis::RedisError| failure(name, format!("redis: {err}"));
    let exists: bool = redis
        .exists(settings_key(&prefix))
        .await
        .map_err(read_failed)?;
    if !exists {
        return Err(failed("no such crawl in this Redis".into()));
    }
    let leased: i64 = redis
        .zcard(format!("{prefix}leases"))
        .await
        .map_err(read_failed)?;
    if leased > 0 && !force {
        return Err(failed(format!(
            "{leased} pages are held by workers: stop them first, or give --force"
        )));
    }
    // The settings go first, so a worker still running fails at its next call instead of
    // crawling on in a half-deleted crawl.
    let mut deleted: u64 = redis
        .del(settings_key(&prefix))
        .await
        .map_err(read_failed)?;
    // Every key of the crawl starts with the prefix; its glob characters are escaped.
    let pattern: String = prefix
        .chars()
        .flat_map(|c| match c {
            '*' | '?' | '[' | ']' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .chain(['*'])
        .collect();
    // In a Cluster, SCAN goes to the node owning the crawl's slot: all of its keys are there.
    let home = settings_key(&prefix);
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis
            .query_at(
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000),
                &home,
            )
            .await
            .map_err(read_failed)?;
        if !keys.is_empty() {
            let n: u64 = redis::cmd("UNLINK")
                .arg(&keys)
                .query_async(&mut redis)
                .await
                .map_err(read_failed)?;
            deleted += n;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}
