//! The progress bar: live counters the scheduler updates, drawn on stderr by a ticker.
//!
//! The bar shows only when asked (by default: stderr is a terminal and not `-q`). Log lines go
//! through [`BarWriter`], which lifts the bar while a line prints, so the two never interleave.
//!
//! It says only what it knows. When the input's URLs are counted ahead (regular files and URL
//! arguments, a single pass), it shows `done/total pages` and an ETA; when they cannot be
//! (stdin), `done pages` and no ETA; when the crawl finds its pages as it goes (`--depth`,
//! `--sitemap`), `done/known` and no ETA, since the total only grows. The rate is whole pages
//! a second since the start.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::input::count_inputs;

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
    /// Input URLs that will not be fetched: duplicates, pages a resumed run had done.
    pub skipped: AtomicU64,
    /// The pages the run will fetch, once counted ahead (before `skipped`).
    pub total: OnceLock<u64>,
    /// The crawl finds pages as it goes (`--depth`, `--sitemap`): no total can be known.
    pub growing: AtomicBool,
    /// What can be known ahead is known: the bar may draw (so it never shows a total that
    /// is not the real one, even for a moment).
    pub ready: AtomicBool,
}

impl ProgressCounters {
    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Says what the bar can know of `config`'s run: whether its total grows and, when it
    /// does not and the inputs can be counted, their count. The count runs on a blocking
    /// thread, so the crawl starts at once; the bar shows when it is done.
    pub(crate) fn expect(counters: &Arc<ProgressCounters>, config: &Config) {
        if config.crawl.depth > 0 || config.crawl.sitemap {
            counters.growing.store(true, Ordering::Relaxed);
            counters.ready.store(true, Ordering::Relaxed);
            return;
        }
        let (inputs, max_pages) = (config.inputs.clone(), config.crawl.max_pages);
        let counters = Arc::clone(counters);
        tokio::task::spawn_blocking(move || {
            if let Some(urls) = count_inputs(&inputs) {
                let _ = counters
                    .total
                    .set(max_pages.map_or(urls, |max| urls.min(max)));
            }
            counters.ready.store(true, Ordering::Relaxed);
        });
    }

    /// What the bar shows now, `done` pages being done.
    fn view(&self, done: u64) -> View {
        if self.growing.load(Ordering::Relaxed) {
            return View::Known(ProgressCounters::get(&self.known).max(done));
        }
        let Some(total) = self.total.get() else {
            return View::Uncounted;
        };
        let total = total
            .saturating_sub(ProgressCounters::get(&self.skipped))
            .max(done);
        // Until a page is done there is no rate, so no ETA worth showing.
        match done {
            0 => View::Total(total),
            _ => View::Estimated(total),
        }
    }
}

/// The three shapes of the bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    /// Not known yet, maybe never: `done pages`, no ETA.
    Uncounted,
    /// The real total, before any page is done: `done/total pages`.
    Total(u64),
    /// The real total, and pages done to reckon a rate: `done/total pages` and an ETA.
    Estimated(u64),
    /// The pages found so far: `done/known`, no ETA.
    Known(u64),
}

impl View {
    fn template(self) -> &'static str {
        match self {
            View::Uncounted => "{spinner} {pos} pages  {msg}",
            View::Total(_) => "{spinner} {pos}/{len} pages  {msg}",
            View::Estimated(_) => "{spinner} {pos}/{len} pages  {msg}  ETA {eta}",
            View::Known(_) => "{spinner} {pos}/{len} known  {msg}",
        }
    }

    fn same_shape(self, other: View) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

/// The bar and the counters it draws.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    counters: Arc<ProgressCounters>,
    /// Draw even when stderr is not a terminal.
    force: bool,
}

/// What the ticker remembers between redraws.
struct Ticker {
    started: Instant,
    shape: Option<View>,
}

impl Progress {
    /// A bar on stderr. With `force`, it draws even when stderr is not a terminal.
    pub fn new(force: bool) -> Progress {
        // Hidden until the run says what it knows, so it never shows a false total.
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        Progress {
            bar,
            counters: Arc::default(),
            force,
        }
    }

    /// Where the bar draws once it shows.
    fn target(&self) -> ProgressDrawTarget {
        if self.force {
            ProgressDrawTarget::term_like(Box::new(console::Term::stderr()))
        } else {
            ProgressDrawTarget::stderr()
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
            let mut ticker = Ticker {
                started: Instant::now(),
                shape: None,
            };
            let mut tick = tokio::time::interval(TICK);
            loop {
                tick.tick().await;
                progress.redraw(&mut ticker);
            }
        })
    }

    fn redraw(&self, ticker: &mut Ticker) {
        let c = &self.counters;
        if !c.ready.load(Ordering::Relaxed) {
            return;
        }
        let done = ProgressCounters::get(&c.done);
        let view = c.view(done);
        match view {
            View::Total(len) | View::Estimated(len) | View::Known(len) => self.bar.set_length(len),
            View::Uncounted => self.bar.unset_length(),
        }
        self.bar.set_position(done);
        self.bar.set_message(format!(
            "{} in flight  {} failed  {} links  {} pages/s",
            ProgressCounters::get(&c.in_flight),
            ProgressCounters::get(&c.failed),
            ProgressCounters::get(&c.links),
            whole_rate(done, ticker.started.elapsed()),
        ));
        if !ticker.shape.is_some_and(|shape| shape.same_shape(view)) {
            // The templates are constants that parse.
            let style = ProgressStyle::with_template(view.template()).expect("progress template");
            self.bar.set_style(style);
        }
        if ticker.shape.is_none() {
            self.bar.set_draw_target(self.target());
        }
        ticker.shape = Some(view);
        self.bar.tick();
    }

    /// Removes the bar, so the summary prints on a clean line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Pages a second over `elapsed`, rounded down to a whole number.
fn whole_rate(done: u64, elapsed: Duration) -> u64 {
    let secs = elapsed.as_secs_f64();
    if secs < 0.001 {
        return 0;
    }
    (done as f64 / secs) as u64
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_says_only_what_is_known() {
        let counters = ProgressCounters::default();
        counters.known.store(7, Ordering::Relaxed);
        assert_eq!(counters.view(3), View::Uncounted);
        counters.total.set(10).unwrap();
        counters.skipped.store(2, Ordering::Relaxed);
        assert_eq!(counters.view(3), View::Estimated(8));
        assert_eq!(
            counters.view(0),
            View::Total(8),
            "no ETA before a page is done"
        );
        assert_eq!(counters.view(9), View::Estimated(9), "never less than done");
        counters.growing.store(true, Ordering::Relaxed);
        assert_eq!(counters.view(3), View::Known(7));
        for view in [View::Uncounted, View::Total(8), View::Known(7)] {
            assert!(!view.template().contains("ETA"), "{view:?}");
        }
        assert!(View::Estimated(8).template().contains("ETA"));
    }

    #[test]
    fn the_rate_is_whole_pages_a_second() {
        assert_eq!(whole_rate(329, Duration::from_secs(10)), 32);
        assert_eq!(whole_rate(5, Duration::ZERO), 0);
    }
}
