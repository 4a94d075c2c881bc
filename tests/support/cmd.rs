//! Running the built `areq` binary as a user would: in its own temp dir, with a scrubbed
//! environment, bounded in time.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
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

    /// Runs areq with `args` in the temp dir.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, b"")
    }

    /// Runs areq with `args`, feeding `stdin`.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_areq"))
            .args(args)
            .current_dir(self.dir())
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start areq");
        let mut input = child.stdin.take().expect("stdin");
        let stdin = stdin.to_vec();
        let feeder = thread::spawn(move || {
            let _ = input.write_all(&stdin);
        });
        let stdout = drain(child.stdout.take().expect("stdout"));
        let stderr = drain(child.stderr.take().expect("stderr"));
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for areq") {
                break status;
            }
            if started.elapsed() > RUN_LIMIT {
                let _ = child.kill();
                panic!("areq ran longer than {RUN_LIMIT:?} with {args:?}");
            }
            thread::sleep(Duration::from_millis(10));
        };
        let _ = feeder.join();
        Run {
            status,
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
        }
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
