//! Errors: [`FatalError`] ends the run (exit 1); [`FetchError`] fails one page and is counted.

use std::fmt;
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
    /// The HTTP client could not be built (bad TLS setup, bad header).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Why one page produced no links. The variant is the summary's failure reason; the text is
/// the most specific message the HTTP stack gave, for the log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The final response had a non-2xx status.
    Status(u16),
    /// The request or body read took longer than `--timeout`, or connecting longer than
    /// `--connect-timeout`.
    Timeout,
    /// The host name did not resolve.
    Dns(String),
    /// TCP connect failed (refused, unreachable, reset while connecting).
    Connect(String),
    /// The TLS handshake failed (bad certificate, protocol error).
    Tls(String),
    /// The connection was reset or closed before a response arrived.
    Reset(String),
    /// More redirects than `--max-redirects`, or a redirect loop.
    Redirects(String),
    /// The connection broke or the server spoke broken HTTP while sending the response.
    Protocol(String),
}

impl FetchError {
    /// Classifies a reqwest error by its kind and source chain.
    pub(crate) fn from_reqwest(err: &reqwest::Error) -> FetchError {
        let detail = innermost_message(err);
        if err.is_timeout() {
            return FetchError::Timeout;
        }
        if err.is_redirect() {
            return FetchError::Redirects(detail);
        }
        let chain = error_chain(err).to_ascii_lowercase();
        if chain.contains("dns error") || chain.contains("failed to lookup address") {
            FetchError::Dns(detail)
        } else if chain.contains("certificate")
            || chain.contains("tls handshake")
            || chain.contains("invalidcontenttype")
            || chain.contains("peer sent no certificates")
            || chain.contains("received fatal alert")
            || (err.is_connect() && chain.contains("tls"))
        {
            FetchError::Tls(detail)
        } else if err.is_connect() {
            FetchError::Connect(detail)
        } else if chain.contains("connection reset")
            || chain.contains("connection closed before message completed")
        {
            FetchError::Reset(detail)
        } else {
            FetchError::Protocol(detail)
        }
    }

    /// The short reason used as a summary key (`http 404`, `timeout`, ...).
    pub fn reason(&self) -> String {
        match self {
            FetchError::Status(code) => format!("http {code}"),
            FetchError::Timeout => "timeout".into(),
            FetchError::Dns(_) => "dns".into(),
            FetchError::Connect(_) => "connect".into(),
            FetchError::Tls(_) => "tls".into(),
            FetchError::Reset(_) => "reset".into(),
            FetchError::Redirects(_) => "redirects".into(),
            FetchError::Protocol(_) => "protocol".into(),
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Status(code) => {
                let reason = reqwest::StatusCode::from_u16(*code)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("unknown status");
                write!(f, "HTTP {code} {reason}")
            }
            FetchError::Timeout => f.write_str("timed out"),
            FetchError::Dns(detail) => write!(f, "host name did not resolve: {detail}"),
            FetchError::Connect(detail) => write!(f, "could not connect: {detail}"),
            FetchError::Tls(detail) => write!(f, "TLS failed: {detail}"),
            FetchError::Reset(detail) => write!(f, "connection reset: {detail}"),
            FetchError::Redirects(detail) => write!(f, "redirects: {detail}"),
            FetchError::Protocol(detail) => write!(f, "broken response: {detail}"),
        }
    }
}

/// All messages of an error's source chain, joined by `: `.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// The message of the deepest error in the chain: the most specific one.
fn innermost_message(err: &dyn std::error::Error) -> String {
    let mut current: &dyn std::error::Error = err;
    while let Some(inner) = current.source() {
        current = inner;
    }
    current.to_string()
}
