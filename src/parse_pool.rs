//! A pool of threads for parsing, one per core, apart from tokio's blocking pool.
//!
//! Parsing is CPU work; file I/O and standard input wait on tokio's blocking pool. Sharing
//! that pool let a burst of parses hold every blocking thread while the output or input
//! waited behind them. Here parses queue for their own threads and nothing else does. The
//! run owns its pool; the threads end when it is dropped.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use tokio::sync::oneshot;

/// One queued piece of work.
type Job = Box<dyn FnOnce() + Send>;

/// Parse threads, one per core, taking jobs from one queue.
#[derive(Debug)]
pub(crate) struct ParsePool {
    queue: Mutex<mpsc::Sender<Job>>,
}

/// A parse that panicked (or a pool that could not start a thread).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ParseFailed(String);

impl ParsePool {
    /// Starts one thread per core.
    pub(crate) fn start() -> ParsePool {
        ParsePool { queue: start() }
    }

    /// Runs `job` on a parse thread and waits for its result without blocking the event
    /// loop.
    pub(crate) async fn run<F, R>(&self, job: F) -> Result<R, ParseFailed>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        run(&self.queue, job).await
    }
}

async fn run<F, R>(queue: &Mutex<mpsc::Sender<Job>>, job: F) -> Result<R, ParseFailed>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (done, result) = oneshot::channel();
    let task: Job = Box::new(move || {
        let outcome = catch_unwind(AssertUnwindSafe(job)).map_err(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "parse panicked".into());
            ParseFailed(message)
        });
        // The page task may be gone (the run was stopped); nothing waits for the result.
        let _ = done.send(outcome);
    });
    let sent = queue
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send(task);
    if sent.is_err() {
        return Err(ParseFailed("no parse thread is running".into()));
    }
    result
        .await
        .unwrap_or_else(|_| Err(ParseFailed("parse thread stopped".into())))
}

/// How many parse threads: one per core.
fn threads() -> usize {
    thread::available_parallelism().map_or(2, usize::from)
}

/// Starts the threads, all taking jobs from one queue.
fn start() -> Mutex<mpsc::Sender<Job>> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for index in 0..threads() {
        let receiver = Arc::clone(&receiver);
        let spawned = thread::Builder::new()
            .name(format!("areq-parse-{index}"))
            .spawn(move || work(&receiver));
        if let Err(err) = spawned {
            tracing::warn!(error = %err, "cannot start a parse thread");
        }
    }
    Mutex::new(sender)
}

/// Runs jobs until the queue closes.
fn work(receiver: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let next = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        match next {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_off_the_event_loop_and_panics_are_caught() {
        let here = thread::current().id();
        let pool = Arc::new(ParsePool::start());
        let there = pool.run(move || thread::current().id()).await.unwrap();
        assert_ne!(here, there);
        let err = pool
            .run(|| -> u8 { panic!("broken page") })
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "broken page");
        let mut jobs = tokio::task::JoinSet::new();
        for i in 0..50_u32 {
            let pool = Arc::clone(&pool);
            jobs.spawn(async move { pool.run(move || i * 2).await });
        }
        let mut results: Vec<u32> = jobs
            .join_all()
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        results.sort_unstable();
        assert_eq!(results, (0..50).map(|i| i * 2).collect::<Vec<_>>());
    }
}
