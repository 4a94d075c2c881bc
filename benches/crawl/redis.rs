//! The Redis servers the shared-crawl workloads run against, started here: a standalone
//! `redis-server` without persistence, and a 3-master Redis Cluster of them on loopback. Both
//! are stopped when dropped. What the workloads read of them (`INFO`, `INFO commandstats`,
//! keys and their memory) goes through the `redis` crate's plain blocking connection.

use std::collections::{BTreeMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use redis::{Connection, Value};
use tempfile::TempDir;

use crate::process::{spawn_tied, SIGTERM};
use crate::server::free_port;

/// How long a server or a Cluster may take to be ready.
const READY: Duration = Duration::from_secs(15);

/// A redis-server for the bench, without persistence, in a temp dir of its own.
pub struct Redis {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    _dir: TempDir,
}

impl Redis {
    /// A standalone server; `None` when redis-server cannot be started.
    pub fn start() -> Option<Redis> {
        Redis::start_with(&[])
    }

    /// A server with extra `redis-server` arguments.
    fn start_with(extra: &[&str]) -> Option<Redis> {
        let dir = tempfile::Builder::new()
            .prefix("areq-bench-redis")
            .tempdir()
            .ok()?;
        let port = free_port().ok()?;
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // It dies with the bench, however the bench ends.
        let child = spawn_tied(&mut command, SIGTERM).ok()?;
        let redis = Redis {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + READY;
        while redis.connection().is_none() {
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }

    /// The process id of redis-server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `redis://127.0.0.1:PORT`, database 0.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A new connection; panics when there is none.
    pub fn connect(&self) -> Connection {
        self.connection().expect("connect to the bench's redis")
    }

    /// A new connection that answers PING, or `None`.
    fn connection(&self) -> Option<Connection> {
        let mut connection = redis::Client::open(self.url())
            .ok()?
            .get_connection_with_timeout(Duration::from_secs(5))
            .ok()?;
        connection
            .set_read_timeout(Some(Duration::from_secs(60)))
            .ok()?;
        redis::cmd("PING").query::<String>(&mut connection).ok()?;
        Some(connection)
    }

    /// Runs `cmd` on this server; panics when it fails (a bench reading Redis wrong means
    /// nothing).
    pub fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        let mut connection = self.connect();
        cmd.query(&mut connection)
            .unwrap_or_else(|err| panic!("redis {:?}: {err}", cmd.args_iter().next()))
    }

    /// `INFO section` as field → value.
    pub fn info(&self, section: &str) -> BTreeMap<String, String> {
        let text: String = self.query(redis::cmd("INFO").arg(section));
        text.lines()
            .filter_map(|line| line.split_once(':'))
            .map(|(field, value)| (field.to_owned(), value.trim().to_owned()))
            .collect()
    }

    /// A number from `INFO section`, by field name (0 when absent).
    pub fn stat(&self, section: &str, field: &str) -> f64 {
        self.info(section)
            .get(field)
            .and_then(|value| value.parse().ok())
            .unwrap_or(0.0)
    }

    /// CPU seconds redis-server has used (`used_cpu_sys` + `used_cpu_user`).
    pub fn cpu(&self) -> f64 {
        let info = self.info("cpu");
        let field = |name: &str| {
            info.get(name)
                .and_then(|value| value.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        field("used_cpu_sys") + field("used_cpu_user")
    }

    /// `INFO memory`'s `used_memory`, in bytes.
    pub fn used_memory(&self) -> f64 {
        self.stat("memory", "used_memory")
    }

    /// Calls so far of each command, from `INFO commandstats` (which counts the commands
    /// scripts run too).
    pub fn command_calls(&self) -> BTreeMap<String, u64> {
        self.info("commandstats")
            .into_iter()
            .filter_map(|(field, value)| {
                let command = field.strip_prefix("cmdstat_")?.to_owned();
                let calls = value
                    .split("calls=")
                    .nth(1)?
                    .split(',')
                    .next()?
                    .parse()
                    .ok()?;
                Some((command, calls))
            })
            .collect()
    }

    /// The commands among `commands` that Redis flags `write` (`COMMAND INFO`).
    pub fn writing(&self, commands: &[&str]) -> HashSet<String> {
        if commands.is_empty() {
            return HashSet::new();
        }
        let mut cmd = redis::cmd("COMMAND");
        cmd.arg("INFO");
        for command in commands {
            // A subcommand's stat is `config|get`: its container's flags are not its own, so
            // it is asked as a whole.
            cmd.arg(command.replace('|', " "));
        }
        let reply: Value = self.query(&cmd);
        let Value::Array(infos) = reply else {
            return HashSet::new();
        };
        commands
            .iter()
            .zip(infos)
            .filter(|(_, info)| {
                let Value::Array(fields) = info else {
                    return false;
                };
                let Some(Value::Array(flags)) = fields.get(2) else {
                    return false;
                };
                flags.iter().any(|flag| {
                    matches!(flag, Value::SimpleString(text) if text == "write")
                        || matches!(flag, Value::BulkString(bytes) if bytes == b"write")
                })
            })
            .map(|(command, _)| (*command).to_owned())
            .collect()
    }

    /// The keys matching glob `pattern` (on a Cluster node: the node's own keys).
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = self.query(redis::cmd("KEYS").arg(pattern));
        keys.sort();
        keys
    }

    /// Every key of crawl `name` here: its own (`areq:{NAME}:…`) and its partitions'
    /// (`areq:{NAME:N}:…`).
    pub fn crawl_keys(&self, name: &str) -> Vec<String> {
        let mut keys = self.keys(&format!("areq:{{{name}}}:*"));
        keys.extend(self.keys(&format!("areq:{{{name}:*}}:*")));
        keys.sort();
        keys
    }

    /// `MEMORY USAGE` of each key, summed, in bytes.
    pub fn memory_usage(&self, keys: &[String]) -> u64 {
        let mut connection = self.connect();
        let mut total = 0;
        for batch in keys.chunks(1000) {
            let mut pipe = redis::pipe();
            for key in batch {
                pipe.cmd("MEMORY")
                    .arg("USAGE")
                    .arg(key)
                    .arg("SAMPLES")
                    .arg(0);
            }
            let sizes: Vec<Option<u64>> = pipe.query(&mut connection).expect("MEMORY USAGE");
            total += sizes.into_iter().flatten().sum::<u64>();
        }
        total
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Write commands run (scripts' included) between two readings of `INFO commandstats`, and
/// the calls of each command that changed, writes first.
pub struct Writes {
    /// Write commands run in all.
    pub total: u64,
    /// Each command that ran, with its calls and whether it writes, most calls first.
    pub by_command: Vec<(String, u64, bool)>,
}

impl Writes {
    /// What ran on `redis` between `before` and `after` (two [`Redis::command_calls`]).
    pub fn between(
        redis: &Redis,
        before: &BTreeMap<String, u64>,
        after: &BTreeMap<String, u64>,
    ) -> Writes {
        let ran: Vec<(String, u64)> = after
            .iter()
            .map(|(command, calls)| {
                let earlier = before.get(command).copied().unwrap_or(0);
                (command.clone(), calls.saturating_sub(earlier))
            })
            .filter(|(_, calls)| *calls > 0)
            .collect();
        let names: Vec<&str> = ran.iter().map(|(command, _)| command.as_str()).collect();
        let writing = redis.writing(&names);
        let mut by_command: Vec<(String, u64, bool)> = ran
            .into_iter()
            .map(|(command, calls)| {
                let writes = writing.contains(&command);
                (command, calls, writes)
            })
            .collect();
        by_command.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)));
        Writes {
            total: by_command
                .iter()
                .filter(|(_, _, writes)| *writes)
                .map(|(_, calls, _)| calls)
                .sum(),
            by_command,
        }
    }

    /// `hincrby 12.0, zadd 3.1, …` a page: the write commands, per page.
    pub fn describe(&self, pages: f64) -> String {
        self.by_command
            .iter()
            .filter(|(_, _, writes)| *writes)
            .map(|(command, calls, _)| format!("{command} {:.2}", *calls as f64 / pages))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A 3-master Redis Cluster on free ports of 127.0.0.1 (no replicas, no persistence), made
/// with `redis-cli --cluster create`; its nodes are stopped when dropped.
pub struct RedisCluster {
    /// The masters, each an entry point to the whole Cluster.
    pub nodes: Vec<Redis>,
}

impl RedisCluster {
    /// Starts three nodes, makes them one Cluster over all 16,384 slots and waits until every
    /// node says `cluster_state:ok`; or says why it could not.
    pub fn start() -> Result<RedisCluster, String> {
        let mut nodes = Vec::new();
        for _ in 0..3 {
            // The bus port is chosen too: the default (port + 10,000) may be past 65,535.
            let bus = free_port()
                .map_err(|err| format!("no free port: {err}"))?
                .to_string();
            let node = Redis::start_with(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-port",
                &bus,
            ])
            .ok_or("a cluster node did not start")?;
            nodes.push(node);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("cannot run redis-cli: {err}"))?;
        if !created.status.success() {
            return Err(format!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&created.stdout).trim()
            ));
        }
        let cluster = RedisCluster { nodes };
        let deadline = Instant::now() + READY;
        while !cluster.is_ok() {
            if Instant::now() > deadline {
                return Err("the Cluster never said cluster_state:ok on every node".into());
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(cluster)
    }

    /// Whether every node says `cluster_state:ok`.
    fn is_ok(&self) -> bool {
        self.nodes.iter().all(|node| {
            let info: String = node.query(redis::cmd("CLUSTER").arg("INFO"));
            info.lines().any(|line| line.trim() == "cluster_state:ok")
        })
    }
}
