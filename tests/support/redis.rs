//! A real `redis-server` for the shared-crawl tests, on a free port of 127.0.0.1, with no
//! persistence, stopped when dropped, and a small RESP client to read and change what it
//! holds; and a real 3-master Redis Cluster of them ([`RedisCluster`]). A shared-crawl test
//! takes a [`SharedRedis`], either of them, and `on_both!` runs it against each. The README's
//! test command installs redis-server and redis-cli when the machine lacks them.

#![allow(dead_code)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::cmd::send_signal;

/// A running redis-server.
pub struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server with default settings.
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// Starts a server with extra `redis-server` arguments (such as `--requirepass`).
    pub fn start_with(extra: &[&str]) -> RedisServer {
        let dir = tempfile::tempdir().expect("temp dir for redis");
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (the README's test command installs it)");
        let server = RedisServer {
            child,
            port,
            _dir: dir,
        };
        server.wait_until_ready();
        server
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Sends one inline command and returns the raw reply (for checks the binary cannot
    /// make, such as memory use).
    pub fn command(&self, command: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        stream
            .write_all(format!("{command}\r\n").as_bytes())
            .expect("send to redis");
        let mut reply = vec![0u8; 64 * 1024];
        let n = stream.read(&mut reply).expect("read from redis");
        String::from_utf8_lossy(&reply[..n]).into_owned()
    }

    /// Runs one command (its arguments sent as they are, so keys with spaces or braces need
    /// no quoting) and returns the reply; panics if Redis takes longer than 5 s.
    pub fn query(&self, args: &[&str]) -> Value {
        self.query_within(args, Duration::from_secs(5))
    }

    /// [`RedisServer::query`], waiting at most `limit` for the reply (`DEBUG SLEEP`).
    pub fn query_within(&self, args: &[&str], limit: Duration) -> Value {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        stream.set_read_timeout(Some(limit)).expect("read timeout");
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
        }
        (&stream).write_all(&request).expect("send to redis");
        read_value(&mut BufReader::new(stream))
    }

    /// Whether the server answers a `PING` within `limit` (a `DEBUG SLEEP` holds it).
    pub fn answers_within(&self, limit: Duration) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(limit));
        let mut reply = [0u8; 16];
        stream.write_all(b"PING\r\n").is_ok() && stream.read(&mut reply).is_ok_and(|n| n > 0)
    }

    /// The fields and values of hash `key` (empty if there is none).
    pub fn hgetall(&self, key: &str) -> BTreeMap<String, String> {
        let items = self.query(&["HGETALL", key]).items();
        items
            .chunks(2)
            .map(|pair| (pair[0].text(), pair[1].text()))
            .collect()
    }

    /// The keys matching glob `pattern`, sorted.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .query(&["KEYS", pattern])
            .items()
            .iter()
            .map(Value::text)
            .collect();
        keys.sort();
        keys
    }

    /// Every key of crawl `name`: its own (`areq:{NAME}:…`) and its partitions'
    /// (`areq:{NAME:N}:…`), sorted.
    pub fn crawl_keys(&self, name: &str) -> Vec<String> {
        let mut keys = self.keys(&format!("areq:{{{name}}}:*"));
        keys.extend(self.partition_keys(name, "*"));
        keys.sort();
        keys
    }

    /// Key `suffix` of crawl `name` in each of its partitions that has it
    /// (`areq:{NAME:N}:SUFFIX`), sorted.
    pub fn partition_keys(&self, name: &str, suffix: &str) -> Vec<String> {
        self.keys(&format!("areq:{{{name}:*}}:{suffix}"))
    }

    /// `command` (`ZCARD`, `SCARD`, `LLEN`) of key `suffix` in every partition of crawl
    /// `name`, added up.
    pub fn sum(&self, name: &str, command: &str, suffix: &str) -> i64 {
        self.partition_keys(name, suffix)
            .iter()
            .map(|key| self.int(&[command, key]))
            .sum()
    }

    /// A crawl-wide count: field `field` of every partition's `stats`, added up.
    pub fn stat(&self, name: &str, field: &str) -> i64 {
        self.partition_keys(name, "stats")
            .iter()
            .filter_map(|key| self.hgetall(key).get(field).map(|n| n.parse::<i64>()))
            .map(|n| n.expect("a count"))
            .sum()
    }

    /// An integer reply, such as `ZCARD`'s.
    pub fn int(&self, args: &[&str]) -> i64 {
        match self.query(args) {
            Value::Int(n) => n,
            other => panic!("{args:?}: not an integer: {other:?}"),
        }
    }

    /// Stops the server now (kill -9), as a crashed Redis would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Freezes the server (SIGSTOP): it keeps its connections and answers nothing until
    /// [`RedisServer::resume`], as a stalled Redis would.
    pub fn pause(&self) {
        send_signal(&self.child, libc::SIGSTOP);
    }

    /// Thaws a server [`RedisServer::pause`] froze (SIGCONT).
    pub fn resume(&self) {
        send_signal(&self.child, libc::SIGCONT);
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let mut reply = [0u8; 64];
                let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
                if stream.write_all(b"PING\r\n").is_ok() {
                    if let Ok(n) = stream.read(&mut reply) {
                        // `+PONG`, or `-NOAUTH` from a server that wants a password.
                        if n > 0 {
                            return;
                        }
                    }
                }
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not start", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One RESP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A nil bulk string or array.
    Nil,
    /// `+OK` and the like.
    Status(String),
    /// An error reply.
    Error(String),
    /// An integer.
    Int(i64),
    /// A bulk string (read as UTF-8, lossily).
    Bulk(String),
    /// An array.
    Array(Vec<Value>),
}

impl Value {
    /// The text of a string or integer reply; panics on others.
    pub fn text(&self) -> String {
        match self {
            Value::Status(text) | Value::Bulk(text) => text.clone(),
            Value::Int(n) => n.to_string(),
            other => panic!("not a string: {other:?}"),
        }
    }

    /// The items of an array reply (none for nil); panics on others.
    pub fn items(&self) -> Vec<Value> {
        match self {
            Value::Array(items) => items.clone(),
            Value::Nil => Vec::new(),
            other => panic!("not an array: {other:?}"),
        }
    }
}

fn read_value(reader: &mut impl BufRead) -> Value {
    let mut line = String::new();
    reader.read_line(&mut line).expect("read from redis");
    let line = line.trim_end_matches("\r\n");
    let (kind, rest) = line.split_at(1.min(line.len()));
    let number = || rest.parse::<i64>().expect("a RESP length or integer");
    match kind {
        "+" => Value::Status(rest.to_owned()),
        "-" => Value::Error(rest.to_owned()),
        ":" => Value::Int(number()),
        "$" if number() < 0 => Value::Nil,
        "$" => {
            let mut bytes = vec![0u8; number() as usize + 2];
            reader.read_exact(&mut bytes).expect("read a bulk string");
            bytes.truncate(bytes.len() - 2);
            Value::Bulk(String::from_utf8_lossy(&bytes).into_owned())
        }
        "*" if number() < 0 => Value::Nil,
        "*" => Value::Array((0..number()).map(|_| read_value(reader)).collect()),
        _ => panic!("not a RESP reply: {line:?}"),
    }
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A 3-master Redis Cluster on free ports of 127.0.0.1 (no replicas, no persistence), made
/// with `redis-cli --cluster create`, its nodes stopped when dropped.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three nodes, makes them one Cluster over all 16,384 slots, and waits (bounded)
    /// until every node says the Cluster is ok. Panics when any of it fails: a test that
    /// needs a Cluster never passes without one.
    pub fn start() -> RedisCluster {
        RedisCluster::start_with(&[])
    }

    /// [`RedisCluster::start`], each node started with `extra` `redis-server` arguments too
    /// (such as `--enable-debug-command`).
    pub fn start_with(extra: &[&str]) -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                // The bus port is chosen too: the default (port + 10,000) may be past 65,535.
                let bus = free_port().to_string();
                let mut args = vec![
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-port",
                    &bus,
                ];
                args.extend(extra);
                RedisServer::start_with(&args)
            })
            .collect();
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
            .expect("run redis-cli (the README's test command installs it)");
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&created.stdout),
            String::from_utf8_lossy(&created.stderr)
        );
        let cluster = RedisCluster { nodes };
        cluster.wait_until_ok();
        cluster
    }

    /// The nodes, each an entry point to the whole Cluster.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// Which node owns the slot of `key` (the others answer `MOVED`).
    pub fn owner_of(&self, key: &str) -> usize {
        let owners: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| {
                !self.nodes[i]
                    .command(&format!("EXISTS {key}"))
                    .starts_with("-MOVED")
            })
            .collect();
        assert_eq!(owners.len(), 1, "one owner of {key}: {owners:?}");
        owners[0]
    }

    /// The keys matching `pattern` on every node.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut keys = Vec::new();
        for node in &self.nodes {
            let reply = node.command(&format!("KEYS {pattern}"));
            // `*N`, then `$LEN` and the key for each.
            keys.extend(
                reply
                    .lines()
                    .skip(1)
                    .filter(|line| !line.starts_with('$'))
                    .map(str::to_owned),
            );
        }
        keys.sort();
        keys
    }

    /// Every key of crawl `name` on every node, sorted.
    pub fn crawl_keys(&self, name: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .nodes
            .iter()
            .flat_map(|node| node.crawl_keys(name))
            .collect();
        keys.sort();
        keys
    }

    /// Kills node `at` (kill -9): its slots have no master until it comes back.
    pub fn kill_node(&mut self, at: usize) {
        self.nodes[at].kill();
    }

    /// How many keys of crawl `name` (its own and its partitions') each node holds.
    pub fn crawl_keys_per_node(&self, name: &str) -> Vec<usize> {
        self.nodes
            .iter()
            .map(|node| node.crawl_keys(name).len())
            .collect()
    }

    fn wait_until_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let states: Vec<String> = self
                .nodes
                .iter()
                .map(|node| node.command("CLUSTER INFO"))
                .collect();
            if states.iter().all(|info| info.contains("cluster_state:ok")) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster never became ok: {states:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs the test function `name(redis: SharedRedis)` twice: `name::single_server`, against
/// one redis-server, and `name::cluster`, against a 3-master Cluster. String literals after
/// the name are `redis-server` arguments every server is started with
/// (`on_both!(name, "--enable-debug-command", "local")`).
macro_rules! on_both {
    ($name:ident $(, $arg:literal)* $(,)?) => {
        mod $name {
            use crate::support::redis::SharedRedis;

            #[test]
            fn single_server() {
                super::$name(SharedRedis::single_with(&[$($arg),*]));
            }

            #[test]
            fn cluster() {
                super::$name(SharedRedis::cluster_with(&[$($arg),*]));
            }
        }
    };
}
pub(crate) use on_both;

/// What a shared-crawl test runs against: one redis-server, or a 3-master Cluster whose
/// nodes the workers enter through in turn (most of them not owning the keys they use).
pub struct SharedRedis {
    single: Option<RedisServer>,
    cluster: Option<RedisCluster>,
    /// The node the next worker or command enters through.
    next: Cell<usize>,
}

impl SharedRedis {
    /// One redis-server.
    pub fn single() -> SharedRedis {
        SharedRedis::single_with(&[])
    }

    /// A 3-master Cluster.
    pub fn cluster() -> SharedRedis {
        SharedRedis::cluster_with(&[])
    }

    /// One redis-server started with `extra` arguments.
    pub fn single_with(extra: &[&str]) -> SharedRedis {
        SharedRedis {
            single: Some(RedisServer::start_with(extra)),
            cluster: None,
            next: Cell::new(0),
        }
    }

    /// A 3-master Cluster whose every node is started with `extra` arguments.
    pub fn cluster_with(extra: &[&str]) -> SharedRedis {
        SharedRedis {
            single: None,
            cluster: Some(RedisCluster::start_with(extra)),
            next: Cell::new(0),
        }
    }

    /// Every server: the one, or the Cluster's nodes.
    pub fn servers(&self) -> &[RedisServer] {
        match (&self.single, &self.cluster) {
            (Some(single), _) => std::slice::from_ref(single),
            (None, Some(cluster)) => cluster.nodes(),
            (None, None) => unreachable!("a SharedRedis has a server"),
        }
    }

    /// The `--redis` URL of the next entry point: each call enters through the next node.
    pub fn url(&self) -> String {
        let servers = self.servers();
        let at = self.next.get();
        self.next.set(at + 1);
        servers[at % servers.len()].url()
    }

    /// A crawl-wide count: field `field` of every partition's `stats`, on every server.
    pub fn stat(&self, name: &str, field: &str) -> i64 {
        self.servers()
            .iter()
            .map(|server| server.stat(name, field))
            .sum()
    }

    /// Whether this is a Cluster.
    pub fn is_cluster(&self) -> bool {
        self.cluster.is_some()
    }

    /// The server holding `key`: the one, or the Cluster node owning its slot.
    pub fn owner(&self, key: &str) -> &RedisServer {
        match &self.cluster {
            Some(cluster) => &cluster.nodes()[cluster.owner_of(key)],
            None => &self.servers()[0],
        }
    }

    /// The fields and values of hash `key`, read on the server holding it.
    pub fn hgetall(&self, key: &str) -> BTreeMap<String, String> {
        self.owner(key).hgetall(key)
    }

    /// Key `suffix` of crawl `name` in each of its partitions that has it, on every server,
    /// sorted.
    pub fn partition_keys(&self, name: &str, suffix: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .servers()
            .iter()
            .flat_map(|server| server.partition_keys(name, suffix))
            .collect();
        keys.sort();
        keys
    }

    /// `command` (`ZCARD`, `SCARD`, `LLEN`) of key `suffix` in every partition of crawl
    /// `name`, added up over the servers (each server reads the keys it holds).
    pub fn sum(&self, name: &str, command: &str, suffix: &str) -> i64 {
        self.servers()
            .iter()
            .map(|server| server.sum(name, command, suffix))
            .sum()
    }

    /// Every key of crawl `name` on every server, sorted.
    pub fn crawl_keys(&self, name: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .servers()
            .iter()
            .flat_map(|server| server.crawl_keys(name))
            .collect();
        keys.sort();
        keys
    }

    /// Freezes every server (see [`RedisServer::pause`]).
    pub fn pause(&self) {
        self.servers().iter().for_each(RedisServer::pause);
    }

    /// Thaws every server [`SharedRedis::pause`] froze.
    pub fn resume(&self) {
        self.servers().iter().for_each(RedisServer::resume);
    }

    /// Stops every server now (kill -9): the one, or each node of the Cluster.
    pub fn kill(&mut self) {
        if let Some(single) = &mut self.single {
            single.kill();
        }
        if let Some(cluster) = &mut self.cluster {
            for node in &mut cluster.nodes {
                node.kill();
            }
        }
    }

    /// An integer answer to `command` added up over the servers; a server that does not own
    /// the key (`MOVED`) adds nothing.
    pub fn int_sum(&self, command: &str) -> u64 {
        self.servers()
            .iter()
            .filter_map(|server| {
                server
                    .command(command)
                    .trim()
                    .strip_prefix(':')?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    }

    /// Field `calls` of `INFO commandstats` for the commands `pick` chooses, added up over the
    /// servers (commands scripts call included).
    pub fn calls(&self, pick: impl Fn(&str) -> bool) -> u64 {
        self.servers()
            .iter()
            .flat_map(|server| {
                server
                    .command("INFO commandstats")
                    .lines()
                    .filter_map(|line| {
                        let (command, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                        let calls = rest.strip_prefix("calls=")?.split(',').next()?;
                        pick(command).then(|| calls.parse::<u64>().ok())?
                    })
                    .collect::<Vec<u64>>()
            })
            .sum()
    }
}
