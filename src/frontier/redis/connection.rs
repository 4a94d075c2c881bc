//! Reaching a crawl's Redis: the connection, its errors, key names and worker names.

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::super::FrontierError;

/// How long a Redis command may take before the connection counts as lost.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The key prefix of crawl `name`: one hash tag for all of its keys.
pub(crate) fn crawl_prefix(name: &str) -> String {
    format!("areq:{{{name}}}:")
}

/// The crawl's settings hash (with its epoch) under `prefix`: the key every script call
/// declares in `KEYS`, so a Cluster sends the call to the node owning the crawl's slot.
pub(super) fn settings_key(prefix: &str) -> String {
    format!("{prefix}settings")
}

/// A name for this worker in lease ids and per-worker counts: host name and process id,
/// plus a random part so a restarted process is a new worker.
pub(super) fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "worker".into());
    format!("{host}-{}-{:04x}", std::process::id(), fastrand::u16(..))
}

/// Connects, failing at once (not after retries) when Redis cannot be reached or refuses us.
pub(crate) async fn connect(url: &str) -> Result<ConnectionManager, FrontierError> {
    let client = redis::Client::open(url).map_err(|err| redis_error(url, &err))?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(2);
    ConnectionManager::new_with_config(client, config)
        .await
        .map_err(|err| redis_error(url, &err))
}

/// A Redis error, naming the server (without its password).
pub(super) fn redis_error(url: &str, err: &redis::RedisError) -> FrontierError {
    let shown = match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => url.to_owned(),
    };
    FrontierError(format!("redis at {shown}: {err}"))
}

/// Redis went away (or is busy loading): worth waiting for.
pub(super) fn is_transient(err: &redis::RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_timeout()
        || err.is_connection_refusal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_a_crawl_shares_one_hash_tag() {
        assert_eq!(crawl_prefix("docs-2026"), "areq:{docs-2026}:");
    }
}
