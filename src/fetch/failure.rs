//! Why a fetch failed: [`FetchError`], one variant per failure reason in the summary, its
//! classification from the HTTP stack's errors, and the reason labels the summary counts by.
//! A new reason is a variant here plus its retry rule in [`super::retry`].

use std::fmt;
use std::io;

use crate::fetch::dns::LookupError;
use crate::fetch::reach::Blocked;

/// Why one page produced no links. The variant is the summary's failure reason; the text is
/// the most specific message the HTTP stack gave, for the log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// The final response had a non-2xx status.
    Status(u16),
    /// The request or body read took longer than `--timeout`, or connecting longer than
    /// `--connect-timeout`.
    Timeout,
    /// The host name did not resolve.
    Dns(String),
    /// The address is one the request may not reach (`--deny-net`, or a private address
    /// below an input URL that resolved to a public one).
    Blocked(String),
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
    /// The host was given up: its last requests got no answer (see [`super::health`]), so
    /// this one was not sent.
    Unreachable,
}

impl FetchError {
    /// Classifies a reqwest error by its kind and the types in its source chain.
    pub(crate) fn from_reqwest(err: &reqwest::Error) -> FetchError {
        let detail = innermost_message(err);
        if err.is_timeout() {
            return FetchError::Timeout;
        }
        if err.is_redirect() {
            return FetchError::Redirects(detail);
        }
        if causes(err).any(|cause| cause.is::<Blocked>()) {
            return FetchError::Blocked(detail);
        }
        if causes(err).any(|cause| cause.is::<LookupError>()) {
            return FetchError::Dns(detail);
        }
        if causes(err).any(is_tls_failure) {
            return FetchError::Tls(detail);
        }
        if err.is_connect() {
            return FetchError::Connect(detail);
        }
        let reading_body = err.is_body() || err.is_decode();
        if !reading_body && causes(err).any(is_closed_early) {
            return FetchError::Reset(detail);
        }
        FetchError::Protocol(detail)
    }

    /// The host did not answer at all: no connection, no name, or no response in time. A
    /// run of these gives the host up (see [`super::health`]); any other failure means
    /// something answered.
    pub(crate) fn is_silence(&self) -> bool {
        matches!(
            self,
            FetchError::Timeout | FetchError::Connect(_) | FetchError::Dns(_)
        )
    }

    /// The short reason used as a summary key (`http 404`, `timeout`, ...).
    pub(crate) fn reason(&self) -> String {
        match self {
            FetchError::Status(code) => format!("http {code}"),
            FetchError::Timeout => "timeout".into(),
            FetchError::Dns(_) => "dns".into(),
            FetchError::Blocked(_) => "blocked".into(),
            FetchError::Connect(_) => "connect".into(),
            FetchError::Tls(_) => "tls".into(),
            FetchError::Reset(_) => "reset".into(),
            FetchError::Redirects(_) => "redirects".into(),
            FetchError::Protocol(_) => "protocol".into(),
            FetchError::Unreachable => "host unreachable".into(),
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
            FetchError::Blocked(detail) => write!(f, "address blocked: {detail}"),
            FetchError::Connect(detail) => write!(f, "could not connect: {detail}"),
            FetchError::Tls(detail) => write!(f, "TLS failed: {detail}"),
            FetchError::Reset(detail) => write!(f, "connection reset: {detail}"),
            FetchError::Redirects(detail) => write!(f, "redirects: {detail}"),
            FetchError::Protocol(detail) => write!(f, "broken response: {detail}"),
            FetchError::Unreachable => {
                f.write_str("host unreachable: its last requests got no answer; not sent")
            }
        }
    }
}

/// An error and its sources, outermost first. An `io::Error` wrapping another error leads
/// to that error (its own `source` skips a level).
fn causes<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |cause| {
        match cause
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        }
    })
}

/// A TLS failure: a rustls error anywhere in the chain.
fn is_tls_failure(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause.is::<rustls::Error>()
}

/// The peer reset or closed the connection before a response head arrived.
fn is_closed_early(cause: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(http) = cause.downcast_ref::<hyper::Error>() {
        return http.is_incomplete_message();
    }
    cause.downcast_ref::<io::Error>().is_some_and(|io| {
        matches!(
            io.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
        )
    })
}

/// The message of the deepest error in the chain: the most specific one.
fn innermost_message(err: &(dyn std::error::Error + 'static)) -> String {
    causes(err)
        .last()
        .map_or_else(String::new, ToString::to_string)
}
