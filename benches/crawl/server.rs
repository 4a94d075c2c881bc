//! Servers as separate processes on 127.0.0.1: nginx for the static site when it is installed,
//! else the bundled server (this bench binary re-executed with `--serve`), and the bundled
//! server's delay mode. A [`Server`] stops its process when dropped, also during a panic; the
//! child also gets SIGTERM if the bench dies (`PR_SET_PDEATHSIG`), and the bundled server exits
//! when its stdin closes.

use std::fs;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::process::{self, spawn_tied, SIGTERM};

/// The nginx configuration, with `{{…}}` placeholders.
const NGINX_TEMPLATE: &str = include_str!("../nginx.conf.template");
/// How often and how long to try connecting before a server counts as not started.
const READY_TRIES: u32 = 200;
const READY_PAUSE: Duration = Duration::from_millis(25);
/// How long a server gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Which server serves the static site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// nginx if installed, else bundled.
    Auto,
    /// nginx; fail if it is missing.
    Nginx,
    /// The bundled server even when nginx is installed.
    Bundled,
}

impl Choice {
    /// From `AREQ_BENCH_SERVER` (`auto`, `nginx`, `bundled`; unset means `auto`).
    pub fn from_env() -> Self {
        match std::env::var("AREQ_BENCH_SERVER").as_deref() {
            Ok("nginx") => Choice::Nginx,
            Ok("bundled") => Choice::Bundled,
            Ok("auto") | Ok("") | Err(_) => Choice::Auto,
            Ok(other) => panic!("AREQ_BENCH_SERVER must be auto, nginx or bundled, not {other:?}"),
        }
    }
}

/// A running server process, stopped on drop.
pub struct Server {
    child: Child,
    /// Held open for the bundled server, which exits when it closes.
    stdin: Option<ChildStdin>,
    port: u16,
    /// What it is, for the report: `nginx 1.22.1` or `bundled`.
    pub name: String,
    /// nginx's prefix (config, pid, logs), removed after the process is gone.
    prefix: Option<TempDir>,
    /// CPU time the process used, once it is stopped and reaped.
    stopped: Option<Option<Duration>>,
}

impl Server {
    /// A static server for `root`, as `choice` says.
    pub fn start_static(root: &Path, choice: Choice) -> io::Result<Server> {
        let nginx = match choice {
            Choice::Bundled => None,
            Choice::Auto | Choice::Nginx => find_nginx(),
        };
        match (nginx, choice) {
            (Some(nginx), _) => match Self::start_nginx(&nginx, root) {
                Ok(server) => Ok(server),
                Err(err) if choice == Choice::Auto => {
                    eprintln!("bench: nginx did not start ({err}); using the bundled server");
                    Self::start_bundled(&["--serve".into(), path_arg(root)?])
                }
                Err(err) => Err(err),
            },
            (None, Choice::Nginx) => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "AREQ_BENCH_SERVER=nginx but nginx is not installed",
            )),
            (None, _) => Self::start_bundled(&["--serve".into(), path_arg(root)?]),
        }
    }

    /// The bundled server serving the link-checking site in `root`, with its planted routes.
    pub fn start_planted(root: &Path) -> io::Result<Server> {
        Self::start_bundled(&["--serve-planted".into(), path_arg(root)?])
    }

    /// The bundled server answering every path after `delay`.
    pub fn start_delay(delay: Duration) -> io::Result<Server> {
        Self::start_bundled(&["--serve-delay".into(), delay.as_millis().to_string()])
    }

    /// The bundled server answering every path after `delay`, logging each request it
    /// answers to `log` as `HOST PATH`, one a line.
    pub fn start_delay_logged(delay: Duration, log: &Path) -> io::Result<Server> {
        Self::start_bundled(&[
            "--serve-delay".into(),
            delay.as_millis().to_string(),
            path_arg(log)?,
        ])
    }

    /// The process id of the server (nginx's master, or the bundled server).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start_bundled(args: &[String]) -> io::Result<Server> {
        let port = free_port()?;
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(&args[..2])
            .arg(port.to_string())
            .args(&args[2..])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let mut child = spawn_tied(&mut command, SIGTERM)?;
        let stdin = child.stdin.take();
        let mut server = Server {
            child,
            stdin,
            port,
            name: "bundled".to_owned(),
            prefix: None,
            stopped: None,
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn start_nginx(nginx: &Path, root: &Path) -> io::Result<Server> {
        let port = free_port()?;
        let prefix = tempfile::Builder::new()
            .prefix("areq-bench-nginx")
            .tempdir()?;
        let config = nginx_config(prefix.path(), root, port)?;
        let config_path = prefix.path().join("nginx.conf");
        fs::write(&config_path, config)?;
        let mut command = Command::new(nginx);
        command
            .arg("-p")
            .arg(prefix.path())
            .arg("-e")
            .arg(prefix.path().join("error.log"))
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = spawn_tied(&mut command, SIGTERM)?;
        let mut server = Server {
            child,
            stdin: None,
            port,
            name: nginx_version(nginx),
            prefix: Some(prefix),
            stopped: None,
        };
        if let Err(err) = server.wait_ready() {
            let log = fs::read_to_string(server.prefix_file("error.log")).unwrap_or_default();
            return Err(io::Error::other(format!(
                "{err}; error.log: {}",
                log.trim()
            )));
        }
        Ok(server)
    }

    fn prefix_file(&self, name: &str) -> PathBuf {
        self.prefix
            .as_ref()
            .map(|prefix| prefix.path().join(name))
            .unwrap_or_default()
    }

    /// Connects until the server accepts, a bounded number of times.
    fn wait_ready(&mut self) -> io::Result<()> {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        for _ in 0..READY_TRIES {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!("server exited early: {status}")));
            }
            if TcpStream::connect_timeout(&address, READY_PAUSE).is_ok() {
                return Ok(());
            }
            thread::sleep(READY_PAUSE);
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("nothing listens on {address}"),
        ))
    }

    /// Stops the server: SIGTERM (and closed stdin), a bounded wait, then SIGKILL. Returns the
    /// CPU time it used over its life (`None` if it could not be reaped); later calls return
    /// the same.
    pub fn stop(&mut self) -> Option<Duration> {
        if let Some(cpu) = self.stopped {
            return cpu;
        }
        let cpu = self.terminate();
        self.stopped = Some(cpu);
        cpu
    }

    fn terminate(&mut self) -> Option<Duration> {
        self.stdin = None;
        process::signal(self.child.id(), SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            match process::try_reap(self.child.id()) {
                Ok(Some(exit)) => return Some(exit.cpu),
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(_) => return None,
            }
        }
        // Stopping is best effort; a failure here has nothing left to clean up.
        let _ = self.child.kill();
        process::reap(self.child.id()).ok().map(|exit| exit.cpu)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port that was free a moment ago: bind port 0, note the port, release it.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn path_arg(path: &Path) -> io::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "site path is not UTF-8"))
}

/// `nginx` on `PATH`, or in the sbin directories root's `PATH` usually has.
pub fn find_nginx() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// `nginx 1.22.1`, from `nginx -v`.
fn nginx_version(nginx: &Path) -> String {
    let output = Command::new(nginx).arg("-v").output();
    let text = output
        .map(|out| String::from_utf8_lossy(&out.stderr).into_owned())
        .unwrap_or_default();
    match text.trim().rsplit_once("nginx/") {
        Some((_, version)) => format!("nginx {version}"),
        None => "nginx".to_owned(),
    }
}

/// The template filled in for one run.
fn nginx_config(prefix: &Path, root: &Path, port: u16) -> io::Result<String> {
    for dir in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        fs::create_dir_all(prefix.join(dir))?;
    }
    // As root, nginx's workers would drop to `nobody`, who may not read the site.
    let user = if process::is_root() { "user root;" } else { "" };
    Ok(NGINX_TEMPLATE
        .replace("{{USER}}", user)
        .replace("{{WORKERS}}", "1")
        .replace("{{PREFIX}}", &path_arg(prefix)?)
        .replace("{{ROOT}}", &path_arg(root)?)
        .replace("{{PORT}}", &port.to_string()))
}
