//! The progress bar: live counters the scheduler updates, drawn on stderr by a ticker.
//!
//! The bar shows only when asked (by default: stderr is a terminal and not `-q`). Log lines go
//! through [`BarWriter`], which lifts the bar while a line prints, so the two never interleave.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

/// How often the bar is redrawn from the counters.
const TICK: Duration = Duration::from_millis(100);

/// What the bar shows, updated by the scheduler as pages start and finish.
#[derive(Debug, Default)]
pub struct ProgressCounters {
    /// Pages started or queued so far.
    pub known: AtomicU64,
    /// Pages finished, whatever their outcome.
    pub done: AtomicU64,
    /// Pages in progress now.
    pub in_flight: AtomicU64,
    /// Pages failed.
    pub failed: AtomicU64,
    /// Links found.
    pub links: AtomicU64,
}

impl ProgressCounters {
    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// The bar and the counters it draws.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    counters: Arc<ProgressCounters>,
}

impl Progress {
    /// A bar on stderr. With `force`, it draws even when stderr is not a terminal.
    pub fn new(force: bool) -> Progress {
        let target = if force {
            ProgressDrawTarget::term_like(Box::new(console::Term::stderr()))
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {pos}/{len} pages  {msg}  {per_sec:.dim}  ETA {eta}",
            )
            // The template is a constant that parses.
            .expect("progress template"),
        );
        Progress {
            bar,
            counters: Arc::default(),
        }
    }

    /// The counters to update.
    pub fn counters(&self) -> Arc<ProgressCounters> {
        Arc::clone(&self.counters)
    }

    /// A writer for log lines that prints them above the bar.
    pub fn writer(&self) -> BarWriter {
        BarWriter {
            bar: self.bar.clone(),
        }
    }

    /// Starts redrawing the bar from the counters until [`Progress::finish`].
    pub fn start(&self) -> JoinHandle<()> {
        let progress = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            loop {
                tick.tick().await;
                progress.redraw();
            }
        })
    }

    fn redraw(&self) {
        let c = &self.counters;
        let done = ProgressCounters::get(&c.done);
        self.bar
            .set_length(ProgressCounters::get(&c.known).max(done));
        self.bar.set_position(done);
        self.bar.set_message(format!(
            "{} in flight  {} failed  {} links",
            ProgressCounters::get(&c.in_flight),
            ProgressCounters::get(&c.failed),
            ProgressCounters::get(&c.links),
        ));
        self.bar.tick();
    }

    /// Removes the bar, so the summary prints on a clean line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Writes log lines to stderr with the bar lifted.
#[derive(Clone)]
pub struct BarWriter {
    bar: ProgressBar,
}

impl Write for BarWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bar.suspend(|| io::stderr().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BarWriter {
    type Writer = BarWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
