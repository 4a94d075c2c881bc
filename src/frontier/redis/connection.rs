//! Reaching a crawl's Redis: the connection (one server or a Cluster, behind one type), its
//! errors, key names and worker names.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{Cmd, FromRedisValue, Pipeline, RedisFuture, RedisResult, Value};

use super::super::FrontierError;

/// How long a Redis command may take before the connection counts as lost.
pub(super) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long connecting to one server may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// The crawl's settings hash (with its epoch) under its crawl prefix (`areq:{NAME}:`).
pub(super) fn settings_key(prefix: &str) -> String {
    format!("{prefix}settings")
}

/// A connection to the Redis keeping a crawl: one server (Redis, Valkey), or a Cluster, whose
/// client sends each command to the node owning its key's slot and follows `MOVED` and
/// `ASK`. Both reconnect by themselves; the frontier code does not tell them apart.
#[derive(Clone)]
pub(crate) enum RedisConnection {
    /// One server.
    Single(ConnectionManager),
    /// A Redis Cluster, entered through any of its nodes.
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConnection::Single(redis) => redis.req_packed_command(cmd),
            RedisConnection::Cluster(redis) => redis.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConnection::Single(redis) => redis.req_packed_commands(pipeline, offset, count),
            RedisConnection::Cluster(redis) => redis.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConnection::Single(redis) => redis.get_db(),
            RedisConnection::Cluster(redis) => redis.get_db(),
        }
    }
}

impl RedisConnection {
    /// Sends `cmd`, a command that names no key (`SCAN`, `CONFIG GET`), to the server holding
    /// `key`: in a Cluster, the master owning the key's slot, where a crawl's keys are.
    pub(super) async fn query_at<T: FromRedisValue>(
        &mut self,
        cmd: &Cmd,
        key: &str,
    ) -> RedisResult<T> {
        match self {
            RedisConnection::Single(redis) => cmd.query_async(redis).await,
            RedisConnection::Cluster(redis) => {
                let route = Route::with_key(key, SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                let value = redis.route_command(cmd.clone(), routing).await?;
                Ok(redis::from_redis_value(value)?)
            }
        }
    }
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
pub(crate) async fn connect(url: &str) -> Result<RedisConnection, FrontierError> {
    let redis = open(url, RESPONSE_TIMEOUT)
        .await
        .map_err(|err| redis_error(url, &err))?;
    let cluster = matches!(redis, RedisConnection::Cluster(_));
    tracing::debug!(cluster, "connected to redis");
    Ok(redis)
}

/// Connects to the Redis at `url`, with replies allowed `response_timeout`. A
/// `redis+cluster://` URL (or `rediss+`, `valkey+`, `valkeys+`) is a Cluster; any other is
/// asked: a server answering `cluster_enabled:1` to `INFO cluster` is a node of a Cluster,
/// which is then entered through it.
pub(super) async fn open(url: &str, response_timeout: Duration) -> RedisResult<RedisConnection> {
    if let Some(node) = cluster_node_url(url) {
        return open_cluster(&node, response_timeout).await;
    }
    let client = redis::Client::open(url)?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
        .set_response_timeout(Some(response_timeout))
        .set_number_of_retries(2);
    let mut single = ConnectionManager::new_with_config(client, config).await?;
    // A server that refuses INFO (renamed or denied) is taken for a single one: a Cluster
    // behind such rules is named with a `redis+cluster://` URL.
    let info: RedisResult<String> = redis::cmd("INFO")
        .arg("cluster")
        .query_async(&mut single)
        .await;
    match info {
        Ok(info) if cluster_enabled(&info) => open_cluster(url, response_timeout).await,
        Ok(_) => Ok(RedisConnection::Single(single)),
        Err(err) if is_transient(&err) => Err(err),
        Err(_) => Ok(RedisConnection::Single(single)),
    }
}

/// Enters the Cluster that the node at `url` belongs to: the client learns the slots from
/// it, then sends each command to the slot's owner.
async fn open_cluster(url: &str, response_timeout: Duration) -> RedisResult<RedisConnection> {
    let cluster = ClusterClient::builder([url])
        .connection_timeout(CONNECTION_TIMEOUT)
        .response_timeout(response_timeout)
        .retries(2)
        .build()?
        .get_async_connection()
        .await?;
    Ok(RedisConnection::Cluster(cluster))
}

/// The node URL of a `…+cluster://` URL: the same with the plain scheme.
fn cluster_node_url(url: &str) -> Option<String> {
    ["redis", "rediss", "valkey", "valkeys"]
        .into_iter()
        .find_map(|scheme| {
            url.strip_prefix(scheme)
                .and_then(|rest| rest.strip_prefix("+cluster://"))
                .map(|rest| format!("{scheme}://{rest}"))
        })
}

/// Whether `INFO cluster` answered by a node of a Cluster.
fn cluster_enabled(info: &str) -> bool {
    info.lines().any(|line| line.trim() == "cluster_enabled:1")
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

/// Redis went away, is busy loading, or its Cluster is failing over or moving a slot: worth
/// waiting for. A Cluster client follows `MOVED` and `ASK` itself; one that reaches the caller
/// is a slot whose master it cannot reach (down, or not yet replaced by a replica).
pub(super) fn is_transient(err: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_timeout()
        || err.is_connection_refusal()
        || matches!(
            err.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::Moved
                        | ServerErrorKind::Ask
                )
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_url_names_a_node_with_the_plain_scheme() {
        assert_eq!(
            cluster_node_url("redis+cluster://:pw@10.0.0.1:7000/0").as_deref(),
            Some("redis://:pw@10.0.0.1:7000/0")
        );
        assert_eq!(
            cluster_node_url("rediss+cluster://node.internal:6380").as_deref(),
            Some("rediss://node.internal:6380")
        );
        assert_eq!(cluster_node_url("redis://10.0.0.1:7000/0"), None);
        assert_eq!(cluster_node_url("redis+unix:///run/redis.sock"), None);
    }

    #[test]
    fn info_cluster_tells_a_cluster_node() {
        assert!(cluster_enabled("# Cluster\r\ncluster_enabled:1\r\n"));
        assert!(!cluster_enabled("# Cluster\r\ncluster_enabled:0\r\n"));
        assert!(!cluster_enabled(""));
    }
}
