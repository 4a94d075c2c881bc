//! The other link checkers areq is compared with, when installed: linkinator (npm), LinkChecker
//! (PyPI, Debian) and lychee (crates.io). Each is told to do what areq does, as far as it has
//! the knob: check every link, external ones too, `CONCURRENCY` requests at a time, one attempt
//! with the same timeout, fragments checked, output in a format the bench reads
//! (`findings.rs`). linkinator and LinkChecker crawl the site from its root; lychee does not
//! crawl, so it gets the list of every page.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::findings::{self, Findings};

/// A link checker other than areq.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// `linkinator URL --recurse --format json`.
    Linkinator,
    /// `linkchecker -f RC --check-extern -o csv URL`.
    LinkChecker,
    /// `lychee --files-from PAGES --format json`.
    Lychee,
}

/// What every checker is given.
pub struct Job<'a> {
    /// The site's root, `http://127.0.0.1:PORT/`.
    pub root: &'a str,
    /// A file listing every page URL (for checkers that do not crawl).
    pub pages: &'a Path,
    /// Requests in flight.
    pub concurrency: usize,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// A directory for the checker's config file.
    pub work: &'a Path,
}

impl Peer {
    /// Every peer, in report order.
    pub const ALL: [Peer; 3] = [Peer::Linkinator, Peer::LinkChecker, Peer::Lychee];

    /// Its program name.
    pub fn program(self) -> &'static str {
        match self {
            Peer::Linkinator => "linkinator",
            Peer::LinkChecker => "linkchecker",
            Peer::Lychee => "lychee",
        }
    }

    /// How it is installed, for the note when it is not.
    pub fn install(self) -> &'static str {
        match self {
            Peer::Linkinator => "npm install -g linkinator",
            Peer::LinkChecker => "pip install LinkChecker (or apt-get install linkchecker)",
            Peer::Lychee => "cargo install lychee --locked",
        }
    }

    /// Its program on `PATH`, or `None`.
    pub fn find(self) -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(self.program()))
            .find(|candidate| candidate.is_file())
    }

    /// `linkinator 7.6.1`, from its `--version`.
    pub fn label(self, program: &Path) -> String {
        let output = Command::new(program).arg("--version").output();
        let text = output
            .map(|out| {
                let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&out.stderr));
                text
            })
            .unwrap_or_default();
        let version = text
            .split_whitespace()
            .find(|word| word.starts_with(|c: char| c.is_ascii_digit()) && word.contains('.'));
        let name = match self {
            Peer::Linkinator => "linkinator",
            Peer::LinkChecker => "LinkChecker",
            Peer::Lychee => "lychee",
        };
        match version {
            Some(version) => format!("{name} {version}"),
            None => name.to_owned(),
        }
    }

    /// Its arguments for `job`.
    pub fn args(self, job: &Job<'_>) -> Vec<OsString> {
        let c = job.concurrency.to_string();
        let secs = job.timeout.as_secs_f64();
        let args: Vec<String> = match self {
            Peer::Linkinator => vec![
                job.root.to_owned(),
                "--recurse".into(),
                "--format".into(),
                "json".into(),
                "--concurrency".into(),
                c,
                "--timeout".into(),
                job.timeout.as_millis().to_string(),
                "--check-fragments".into(),
            ],
            Peer::LinkChecker => vec![
                "-f".into(),
                linkchecker_config(job).display().to_string(),
                "--check-extern".into(),
                "--no-status".into(),
                "-o".into(),
                "csv".into(),
                job.root.to_owned(),
            ],
            Peer::Lychee => vec![
                "--files-from".into(),
                job.pages.display().to_string(),
                "--format".into(),
                "json".into(),
                "--max-concurrency".into(),
                c.clone(),
                "--host-concurrency".into(),
                c,
                // lychee waits 50 ms between requests to a host by default; areq waits none.
                "--host-request-interval".into(),
                "0ms".into(),
                "--timeout".into(),
                format!("{}", secs.ceil() as u64),
                "--max-retries".into(),
                "0".into(),
                "--max-redirects".into(),
                "10".into(),
                "--include-fragments".into(),
                "--no-progress".into(),
            ],
        };
        args.into_iter().map(OsString::from).collect()
    }

    /// Exit codes that only say it found broken links.
    pub fn found_broken_codes(self) -> &'static [i32] {
        match self {
            Peer::Linkinator | Peer::LinkChecker => &[1],
            Peer::Lychee => &[2],
        }
    }

    /// Its broken links, from what it wrote to stdout.
    pub fn findings(self, output: &str) -> Findings {
        match self {
            Peer::Linkinator => findings::linkinator_json(output),
            Peer::LinkChecker => findings::linkchecker_csv(output),
            Peer::Lychee => findings::lychee_json(output),
        }
    }

    /// The flags that matter, for the row.
    pub fn describe(self, job: &Job<'_>) -> String {
        let c = job.concurrency;
        let t = job.timeout.as_secs_f64();
        match self {
            Peer::Linkinator => format!(
                "ROOT --recurse --check-fragments --concurrency {c} --timeout {}",
                job.timeout.as_millis()
            ),
            Peer::LinkChecker => format!(
                "ROOT --check-extern, threads={c} timeout={t} AnchorCheck \
                 maxrequestspersecond=100000"
            ),
            Peer::Lychee => format!(
                "--files-from PAGES --include-fragments --max-concurrency {c} \
                 --host-concurrency {c} --host-request-interval 0ms --timeout {t} \
                 --max-retries 0 --max-redirects 10"
            ),
        }
    }
}

/// LinkChecker's config: its threads and timeout, its anchor check on, its pacing lifted (the
/// bundled server sends the `LinkChecker` header that lets it go above 10 requests a second).
/// Written world-readable: as root, LinkChecker drops to `nobody` before reading it.
fn linkchecker_config(job: &Job<'_>) -> PathBuf {
    let path = job.work.join("linkcheckerrc");
    let text = format!(
        "[checking]\nthreads={}\ntimeout={}\nmaxrequestspersecond=100000\n\n[AnchorCheck]\n",
        job.concurrency,
        job.timeout.as_secs_f64()
    );
    fs::write(&path, text).expect("cannot write LinkChecker's config");
    path
}
