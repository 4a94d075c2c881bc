//! The `areq` binary: parse the command line, set up logging, run on a current-thread runtime,
//! map the result to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use areq::cli::{Cli, Command, ProgressArg};
use areq::progress::Progress;
use areq::Shutdown;

/// Exit status when pages failed and `--fail-on-error` was given.
const EXIT_PAGES_FAILED: u8 = 3;
/// Exit status after Ctrl-C, as shells report death by SIGINT.
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    areq::limits::tune_allocator();
    let cli = Cli::parse();
    if let Some(Command::Status { redis, crawl }) = cli.command {
        return print_status(&redis, &crawl);
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
    let result = runtime.block_on(async {
        tokio::spawn(stop_on_ctrl_c(shutdown.clone()));
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
                ExitCode::from(EXIT_INTERRUPTED)
            } else if fail_on_error && summary.pages_failed() > 0 {
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
    let shown = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the runtime: {err}"))
        .and_then(|runtime| {
            runtime
                .block_on(areq::status::show(redis, crawl))
                .map_err(|err| err.to_string())
        });
    match shown {
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

/// File I/O and standard input run on blocking threads (parsing has its own pool).
fn blocking_threads() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from) + 2
}

/// The first Ctrl-C stops the run gracefully; a second one stops it at the next page
/// boundary.
async fn stop_on_ctrl_c(shutdown: Shutdown) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    tracing::warn!(
        "interrupted: stopping after the pages already done; Ctrl-C again to quit at once"
    );
    shutdown.graceful.cancel();
    if tokio::signal::ctrl_c().await.is_ok() {
        shutdown.now.cancel();
    }
}
