//! A real `redis-server` for the shared-crawl tests, on a free port of 127.0.0.1, with no
//! persistence, stopped when dropped; and a real 3-master Redis Cluster of them
//! ([`RedisCluster`]). The README's test command installs redis-server and redis-cli when
//! the machine lacks them.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

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

    /// Stops the server now (kill -9), as a crashed Redis would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                // The bus port is chosen too: the default (port + 10,000) may be past 65,535.
                let bus = free_port().to_string();
                RedisServer::start_with(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-port",
                    &bus,
                ])
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
