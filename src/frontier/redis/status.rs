//! How `areq status` reads a shared crawl's progress from its Redis: the keys it reads, and
//! the report it makes of them.

use std::collections::BTreeMap;
use std::fmt::Write;

use redis::AsyncCommands;

use super::connection::{connect, crawl_prefix};
use crate::error::FatalError;

/// Prints the state of crawl `name` kept in the Redis at `url`: whether it is finished, what
/// is queued and in flight, and the crawl-wide counts.
pub(crate) async fn show_status(url: &str, name: &str) -> Result<String, FatalError> {
    let failed = |reason: String| FatalError::SharedCrawl {
        name: name.to_owned(),
        reason,
    };
    let mut redis = connect(url).await.map_err(|err| failed(err.0))?;
    let prefix = crawl_prefix(name);
    let read_failed = |err: redis::RedisError| failed(format!("redis: {err}"));
    let settings: BTreeMap<String, String> = redis
        .hgetall(format!("{prefix}settings"))
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
        "  frontier: {queued} queued, {leased} in flight, {} leases expired",
        stat("leases_expired")
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
    Ok(text)
}
