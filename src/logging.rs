//! Log setup: tracing to stderr, level from -v/-q, `RUST_LOG` wins when set.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::progress::Progress;

/// The filter for a verbosity: -1 errors only, 0 warnings, 1 a line per page, 2 debug,
/// 3 trace. Other crates stay at warnings until trace.
fn default_filter(verbosity: i8) -> &'static str {
    match verbosity {
        i8::MIN..=-1 => "error",
        0 => "warn",
        1 => "warn,areq=info",
        2 => "warn,areq=debug",
        _ => "debug,areq=trace",
    }
}

/// Installs the global subscriber. Call once, before the run. With a progress bar, log
/// lines print above it.
pub fn init(verbosity: i8, progress: Option<&Progress>) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::new(spec),
        _ => EnvFilter::new(default_filter(verbosity)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time();
    match progress {
        Some(progress) => builder.with_writer(progress.writer()).init(),
        None => builder.with_writer(std::io::stderr).init(),
    }
}
