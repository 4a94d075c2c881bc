//! Running the built `areq` binary as a user would: in its own temp dir, with a scrubbed
//! environment, bounded in time.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// No single run may take longer than this; a hung run is killed and the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A temp dir to run areq in.
pub struct Areq {
    dir: tempfile::TempDir,
}

/// What one run left behind.
#[derive(Debug)]
pub struct Run {
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// The exit code, or 128 + the signal number if killed by a signal (as shells report it).
    pub fn shell_code(&self) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        self.status
            .code()
            .or_else(|| self.status.signal().map(|s| 128 + s))
            .expect("an exit code or a signal")
    }

    /// The exit code (panics if killed by a signal).
    pub fn code(&self) -> i32 {
        self.status.code().expect("areq was killed by a signal")
    }

    /// Asserts exit 0, printing stderr otherwise.
    pub fn assert_success(&self) -> &Run {
        assert_eq!(self.code(), 0, "areq failed; stderr:\n{}", self.stderr);
        self
    }
}

impl Areq {
    /// A fresh temp dir.
    pub fn new() -> Areq {
        Areq {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The temp dir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file in the temp dir.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// Writes `urls.txt` with one URL per line.
    pub fn input(&self, urls: &[String]) -> PathBuf {
        self.write("urls.txt", urls.join("\n") + "\n")
    }

    /// Reads a file from the temp dir.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect("read file")
    }

    /// Waits until the file `name` in the temp dir has at least `count` lines; panics after
    /// 20 s.
    pub fn wait_for_lines(&self, name: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let lines = || std::fs::read_to_string(self.path(name)).map_or(0, |t| t.lines().count());
        while lines() < count {
            assert!(
                Instant::now() < deadline,
                "{name} never reached {count} lines: it has {}",
                lines()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Crawls the one page `page` (`urls.txt -o out.tsv --no-header`) and checks it exits 0
    /// having written exactly one record: `page`, then `link`.
    pub fn assert_one_record(&self, page: &str, link: &str) {
        self.input(&[page.to_owned()]);
        self.run(&["urls.txt", "-o", "out.tsv", "--no-header"])
            .assert_success();
        assert_eq!(self.read("out.tsv"), format!("{page}\t{link}\n"));
    }

    /// Runs areq with `args` in the temp dir.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, b"")
    }

    /// Runs areq with `args` and these environment variables (the rest is still scrubbed).
    pub fn run_with_env(&self, args: &[&str], env: &[(String, String)]) -> Run {
        let mut child = self.spawn_with_env(args, env);
        drop(child.stdin.take());
        finish(child)
    }

    /// Runs areq with `args` plus `--summary-json summary.json`; returns the run and the
    /// parsed summary (panics if areq wrote none).
    pub fn run_with_summary(&self, args: &[&str]) -> (Run, serde_json::Value) {
        self.run_with_summary_and_env(args, &[])
    }

    /// [`Areq::run_with_summary`] with these environment variables.
    pub fn run_with_summary_and_env(
        &self,
        args: &[&str],
        env: &[(String, String)],
    ) -> (Run, serde_json::Value) {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--summary-json", "summary.json"]);
        let run = self.run_with_env(&all, env);
        let summary = self.summary();
        (run, summary)
    }

    /// The `summary.json` a run left in the temp dir, parsed.
    pub fn summary(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.path("summary.json"))
            .unwrap_or_else(|err| panic!("read summary.json: {err}"));
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("parse summary.json: {err}"))
    }

    /// Runs areq with `args`, feeding `stdin`.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut child = self.spawn(args);
        let mut input = child.stdin.take().expect("stdin");
        let stdin = stdin.to_vec();
        let feeder = thread::spawn(move || {
            let _ = input.write_all(&stdin);
        });
        let run = finish(child);
        let _ = feeder.join();
        run
    }

    /// Starts areq with `args` (all three standard streams piped) and returns at once; pair
    /// with [`finish`].
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.spawn_with_env(args, &[])
    }

    /// [`Areq::spawn`] with these environment variables.
    pub fn spawn_with_env(&self, args: &[&str], env: &[(String, String)]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_areq"))
            .args(args)
            .current_dir(self.dir())
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start areq")
    }

    /// Runs areq with `args`, reads `lines` lines of its stdout, then closes the pipe as
    /// `| head -n LINES` does. Returns the lines read, when the pipe was closed, and how the
    /// run ended.
    pub fn run_reading_lines(&self, args: &[&str], lines: usize) -> (Vec<String>, Instant, Run) {
        let mut child = self.spawn(args);
        drop(child.stdin.take());
        let stdout = child.stdout.take().expect("stdout");
        let mut read = Vec::new();
        let mut reader = BufReader::new(stdout);
        while read.len() < lines {
            let mut line = String::new();
            if reader.read_line(&mut line).expect("read stdout") == 0 {
                break;
            }
            read.push(line);
        }
        drop(reader);
        let closed = Instant::now();
        (read, closed, finish(child))
    }
}

/// Sends `signal` (such as `libc::SIGINT`) to a running areq, as `kill -SIG PID` would, without
/// needing the `kill` program.
pub fn send_signal(child: &Child, signal: i32) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    // SAFETY: kill(2) only reads its two integer arguments; `pid` is our own child, which is
    // not yet reaped while `child` is borrowed here, so the pid cannot have been reused.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        sent,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

/// Waits (at most [`RUN_LIMIT`]) for a spawned areq and collects what it printed.
pub fn finish(child: Child) -> Run {
    finish_within(child, RUN_LIMIT)
}

/// Whether a spawned areq is still running.
pub fn is_running(child: &mut Child) -> bool {
    child.try_wait().expect("wait for areq").is_none()
}

/// Waits at most `limit` for a spawned areq (then kills it and panics) and collects what it
/// printed.
pub fn finish_within(mut child: Child, limit: Duration) -> Run {
    let stdout = child.stdout.take().map(drain);
    let stderr = drain(child.stderr.take().expect("stderr"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for areq") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("areq ran longer than {limit:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Run {
        status,
        stdout: stdout.map_or_else(String::new, |s| s.join().expect("stdout reader")),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
