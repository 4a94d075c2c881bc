//! Run-ending errors: [`FatalError`] stops the whole run (exit 1). A page's own failure is a
//! `fetch::FetchError`, counted in the summary, not here.

use std::io;
use std::path::PathBuf;

/// An error that stops the whole run. `main` prints it as one line and exits 1.
#[derive(Debug, thiserror::Error)]
pub enum FatalError {
    /// The input list could not be opened or read.
    #[error("cannot read input {path}: {source}")]
    Input {
        /// The input path as given (`-` for stdin).
        path: String,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// The input path names a directory.
    #[error("cannot read input {0}: is a directory")]
    InputIsDirectory(PathBuf),
    /// The `FILE.done` companion of an output could not be read for `--resume`.
    #[error("cannot read {path} to resume: {source}")]
    ResumeRead {
        /// The companion's path.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// The output file could not be created.
    #[error("cannot create output {path}: {source}")]
    OutputOpen {
        /// The output path as given.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// Writing the output failed (disk full, device error). A closed pipe is not an error.
    #[error("cannot write output {path}: {source}")]
    OutputWrite {
        /// The output path as given (`-` for stdout).
        path: String,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// A shared crawl could not be joined, or its Redis went away for good mid-crawl.
    #[error("crawl {name}: {reason}")]
    SharedCrawl {
        /// The crawl's name (`--crawl`).
        name: String,
        /// What went wrong, naming the Redis server.
        reason: String,
    },
    /// A `--ca-cert` file could not be read or holds no certificate.
    #[error("cannot use CA certificate {}: {reason}", path.display())]
    CaCert {
        /// The file as given.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// The HTTP client could not be built (bad TLS setup, bad header).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}
