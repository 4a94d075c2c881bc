//! The `areq` binary: parse the command line, set up logging, run on a current-thread runtime,
//! map the result to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use clap::Parser;

use areq::cli::{Cli, Command, ProgressArg};
use areq::progress::Progress;
use areq::Shutdown;

/// Exit status when pages failed and `--fail-on-error` was given.
const EXIT_PAGES_FAILED: u8 = 3;
/// Exit status after Ctrl-C (SIGINT) or SIGTERM: 128 + the signal's number, as shells report
/// death by that signal.
const EXIT_SIGINT: u8 = 130;
const EXIT_SIGTERM: u8 = 143;

fn main() -> ExitCode {
    areq::limits::tune_allocator();
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Status { redis, crawl }) => return print_status(redis, crawl),
        Some(Command::Forget {
            redis,
            crawl,
            force,
        }) => return forget(redis, crawl, *force),
        _ => {}
    }
    if let Some(command) = cli.command {
        return match Cli::print(command, &mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("areq: cannot write to stdout: {err}");
                ExitCode::FAILURE
            }
        };
    }
    let verbosity = cli.verbosity();
    let progress = cli
        .show_progress(std::io::stderr().is_terminal())
        .then(|| Progress::new(cli.progress == ProgressArg::Always));
    let config = cli.into_config().unwrap_or_else(|err| err.exit());
    areq::logging::init(verbosity, progress.as_ref());
    let fail_on_error = config.fail_on_error;

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(blocking_threads())
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("areq: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = Shutdown::default();
    let stopped_by = Arc::new(AtomicU8::new(EXIT_SIGINT));
    let result = runtime.block_on(async {
        tokio::spawn(stop_on_signals(shutdown.clone(), Arc::clone(&stopped_by)));
        let ticker = progress.as_ref().map(Progress::start);
        let counters = progress.as_ref().map(Progress::counters);
        let result = areq::run(config, shutdown, counters).await;
        if let (Some(ticker), Some(progress)) = (ticker, &progress) {
            ticker.abort();
            progress.finish();
        }
        result
    });
    // Do not wait for a blocking read of a terminal that will never finish.
    runtime.shutdown_background();
    match result {
        Ok(summary) => {
            if verbosity >= 0 {
                eprint!("{summary}");
            }
            if summary.interrupted {
                ExitCode::from(stopped_by.load(Ordering::Relaxed))
            } else if fail_on_error && (summary.pages_failed() > 0 || summary.links_broken() > 0) {
                ExitCode::from(EXIT_PAGES_FAILED)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(err) => {
            eprintln!("areq: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `areq status`: prints a shared crawl's progress.
fn print_status(redis: &str, crawl: &str) -> ExitCode {
    match block_on(areq::status::show(redis, crawl)) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("areq: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `areq forget`: deletes a shared crawl's keys.
fn forget(redis: &str, crawl: &str, force: bool) -> ExitCode {
    match block_on(areq::status::forget(redis, crawl, force)) {
        Ok(keys) => {
            eprintln!("areq: crawl {crawl} forgotten ({keys} keys deleted)");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("areq: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one operator command on a current-thread runtime.
fn block_on<T>(
    command: impl std::future::Future<Output = Result<T, areq::error::FatalError>>,
) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the runtime: {err}"))
        .and_then(|runtime| runtime.block_on(command).map_err(|err| err.to_string()))
}

/// File I/O and standard input run on blocking threads (parsing has its own pool).
fn blocking_threads() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from) + 2
}

/// The first Ctrl-C or SIGTERM (`docker stop`, systemd, Kubernetes) stops the run
/// gracefully, and records which came for the exit status; a second one stops it at the
/// next page boundary.
async fn stop_on_signals(shutdown: Shutdown, stopped_by: Arc<AtomicU8>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return;
    };
    let mut next = async || {
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted.ok().map(|()| EXIT_SIGINT),
            terminated = term.recv() => terminated.map(|()| EXIT_SIGTERM),
        }
    };
    let Some(first) = next().await else {
        return;
    };
    stopped_by.store(first, Ordering::Relaxed);
    tracing::warn!(
        "interrupted: stopping after the pages already done; Ctrl-C again to quit at once"
    );
    shutdown.graceful.cancel();
    if next().await.is_some() {
        shutdown.now.cancel();
    }
}
