//! The Rust toolchain's HTML documentation as a real site: ~48,600 pages of rustdoc and mdBook
//! output, where they are installed (`$(rustc --print sysroot)/share/doc/rust/html`). Finding
//! them and listing their pages; the workloads are in `docs_diff.rs` and `docs_crawl.rs`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use url::Url;

/// The origin every page's URL is given in the differential: the form the docs are served
/// under, on a fixed port so results do not depend on the one found free.
pub const DIFF_ORIGIN: &str = "http://127.0.0.1:8000";

/// The docs' root directory, or why there is none.
pub fn docs_dir() -> Result<PathBuf, String> {
    let output = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map_err(|err| format!("no rustc to ask for the sysroot ({err})"))?;
    if !output.status.success() {
        return Err(format!("rustc --print sysroot failed: {}", output.status));
    }
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let dir = Path::new(&sysroot).join("share/doc/rust/html");
    if !dir.join("index.html").is_file() {
        return Err(format!(
            "the toolchain has no HTML docs ({} has no index.html; `rustup component add \
             rust-docs` installs them)",
            dir.display()
        ));
    }
    Ok(dir)
}

/// Every `.html` file under `dir`, as paths relative to it, sorted.
pub fn html_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in fs::read_dir(dir.join(&relative))? {
            let entry = entry?;
            let path = relative.join(entry.file_name());
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|ext| ext == "html") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The URL a file is served at under `origin`, its path segments percent-encoded.
pub fn page_url(origin: &str, relative: &Path) -> Url {
    let mut url = Url::parse(origin).expect("the origin is a valid URL");
    {
        // An http URL always has path segments.
        let mut segments = url.path_segments_mut().expect("http URLs have paths");
        segments.clear();
        for part in relative.iter() {
            segments.push(&part.to_string_lossy());
        }
    }
    url
}
