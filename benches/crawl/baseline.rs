//! The kept baseline: areq's release binary built from a pinned commit, the last one before the
//! speed work (its extractor is the html5ever tree builder), so every run compares the binary
//! under test with the same old one on the same machine, in the same run.
//!
//! The source is taken from git (`git archive`) into `TARGET/bench-baseline/src` and built with
//! `cargo build --release --locked` into `TARGET/bench-baseline/target`, once: a stamp file
//! naming the commit marks a finished build, which later runs reuse. `AREQ_BENCH_BASELINE`
//! names a binary to use instead. Without git or the commit (not a git checkout, a shallow
//! clone), or when the build fails, there is no baseline and its rows are left out with the
//! reason.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::workloads::progress;

/// The baseline commit: the last one before the speed work.
pub const COMMIT: &str = "1264a87";

/// The baseline binary to compare with.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The areq binary.
    pub binary: PathBuf,
    /// What it is, for the report: `1264a87` or the path given.
    pub name: String,
}

/// The baseline: `AREQ_BENCH_BASELINE` if set, else the pinned commit's build under `target`
/// (made now if missing). `Err` holds the reason there is none.
pub fn baseline(target: &Path) -> Result<Baseline, String> {
    if let Some(path) = std::env::var_os("AREQ_BENCH_BASELINE").filter(|path| !path.is_empty()) {
        let binary = PathBuf::from(path);
        if !binary.is_file() {
            panic!(
                "AREQ_BENCH_BASELINE={} is not a file",
                binary.to_string_lossy()
            );
        }
        let name = binary.display().to_string();
        return Ok(Baseline { binary, name });
    }
    let name = COMMIT.to_owned();
    let dir = target.join("bench-baseline");
    let binary = dir.join("target").join("release").join("areq");
    let stamp = dir.join("built-from");
    // A finished build is reused as it is, git or not.
    if binary.is_file() && fs::read_to_string(&stamp).is_ok_and(|text| text.starts_with(COMMIT)) {
        return Ok(Baseline { binary, name });
    }
    let commit = resolve_commit()?;
    progress(&format!(
        "baseline: building areq {COMMIT} into {} (once; a few minutes)",
        dir.display()
    ));
    let source = dir.join("src");
    extract_source(&commit, &source).map_err(|err| format!("cannot check out {COMMIT}: {err}"))?;
    build(&source, &dir.join("target")).map_err(|err| format!("cannot build {COMMIT}: {err}"))?;
    if !binary.is_file() {
        return Err(format!("building {COMMIT} made no {}", binary.display()));
    }
    fs::write(&stamp, format!("{commit}\n"))
        .map_err(|err| format!("cannot write {}: {err}", stamp.display()))?;
    Ok(Baseline { binary, name })
}

/// The full hash of [`COMMIT`] in the repository the bench is built from.
fn resolve_commit() -> Result<String, String> {
    let output = git()
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("{COMMIT}^{{commit}}"))
        .stderr(Stdio::null())
        .output()
        .map_err(|err| format!("git is not available ({err})"))?;
    let hash = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || hash.is_empty() {
        return Err(format!(
            "commit {COMMIT} is not in a git checkout here (not a git checkout, or a shallow clone)"
        ));
    }
    Ok(hash)
}

/// `git -C REPOSITORY`, the repository holding this bench.
fn git() -> Command {
    let mut command = Command::new("git");
    command.arg("-C").arg(env!("CARGO_MANIFEST_DIR"));
    command
}

/// The tree of `commit` in `dest`, fresh: `git archive`, unpacked by `tar`.
fn extract_source(commit: &str, dest: &Path) -> io::Result<()> {
    if dest.exists() {
        fs::remove_dir_all(dest)?;
    }
    fs::create_dir_all(dest)?;
    let archive = dest.with_extension("tar");
    let status = git()
        .args(["archive", "--format=tar", "-o"])
        .arg(&archive)
        .arg(commit)
        .status()?;
    if !status.success() {
        return Err(io::Error::other(format!("git archive: {status}")));
    }
    let status = Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(dest)
        .status()?;
    let _ = fs::remove_file(&archive);
    if !status.success() {
        return Err(io::Error::other(format!("tar: {status}")));
    }
    Ok(())
}

/// `cargo build --release --locked --bin areq` in `source`, into `target`. Cargo's output goes
/// to stderr with the bench's progress; stdout carries only the report.
fn build(source: &Path, target: &Path) -> io::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--bin",
            "areq",
            "--target-dir",
        ])
        .arg(target)
        .current_dir(source)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("cargo build: {status}")))
    }
}
