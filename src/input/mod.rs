//! The URL list: the inputs in the order given (files, stdin, URLs typed on the command line),
//! files streamed line by line so memory does not grow with them.
//!
//! Each line is trimmed (a UTF-8 BOM and CRLF are fine); blank lines and `#` comments are
//! skipped; anything that is not an absolute http(s) URL is warned about with `FILE:LINE` and
//! counted as invalid. [`mod@line`] classifies lines and command-line arguments; [`count`]
//! counts the URLs of the inputs ahead, for the progress bar.

mod count;
mod line;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

use crate::config::InputSource;
use crate::error::FatalError;

pub(crate) use count::count_inputs;
#[cfg(feature = "fuzzing")]
pub(crate) use count::count_url_lines;
pub(crate) use line::{classify_argument, parse_line, Argument, Line};

/// Lines longer than this are not URLs anyone means; they are skipped as invalid without
/// being held in memory.
pub(crate) const MAX_LINE_BYTES: usize = 64 * 1024;

/// One URL to fetch, as read from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seed {
    /// 1-based line number in its input file (0 for a URL given as an argument).
    pub(crate) line: u64,
    /// The line as written, trimmed: the SOURCE column of the output.
    pub(crate) source: String,
    /// The parsed URL.
    pub(crate) url: Url,
}

/// Counts of what the input held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InputCounts {
    /// Lines that were neither blank nor comments.
    pub(crate) read: u64,
    /// Of those, lines that were not usable URLs.
    pub(crate) invalid: u64,
}

/// Streams [`Seed`]s from the inputs, one after the other, warning about invalid lines as
/// it goes.
pub(crate) struct InputReader {
    sources: VecDeque<Opened>,
    counts: Arc<InputCounters>,
}

/// One input, opened.
enum Opened {
    /// A URL given on the command line.
    Url(Url, String),
    /// A file or stdin, read line by line.
    Lines(LineReader),
}

/// Reads one file (or stdin) line by line.
struct LineReader {
    name: String,
    reader: Box<dyn AsyncBufRead + Unpin + Send>,
    line_no: u64,
    buf: Vec<u8>,
    /// Lines that were neither blank nor comments, in this file.
    read: u64,
    /// Read without warnings (a second reading of the same input).
    silent: bool,
}

/// Live counts, readable while the reader runs in its own task.
#[derive(Debug, Default)]
pub(crate) struct InputCounters {
    read: AtomicU64,
    invalid: AtomicU64,
}

impl InputCounters {
    /// What has been read so far.
    pub(crate) fn snapshot(&self) -> InputCounts {
        InputCounts {
            read: self.read.load(Ordering::Relaxed),
            invalid: self.invalid.load(Ordering::Relaxed),
        }
    }
}

impl InputReader {
    /// Opens every input, in order, before anything is read: a missing, unreadable or
    /// directory path is a fatal error.
    pub(crate) async fn open(inputs: &[InputSource]) -> Result<InputReader, FatalError> {
        let mut sources = VecDeque::with_capacity(inputs.len());
        for source in inputs {
            sources.push_back(match source {
                InputSource::Url { typed, url } => Opened::Url(url.clone(), typed.clone()),
                InputSource::Stdin => Opened::Lines(LineReader::new(
                    "-".into(),
                    Box::new(BufReader::new(tokio::io::stdin())),
                )),
                InputSource::File(path) => Opened::Lines(LineReader::open(path).await?),
            });
        }
        Ok(InputReader {
            sources,
            counts: Arc::default(),
        })
    }

    /// Every usable URL of the inputs, as (SOURCE, URL), read without warnings: the seeds a
    /// resumed recursive crawl walks from (the run's own reading warns).
    pub(crate) async fn all_seeds(
        inputs: &[InputSource],
    ) -> Result<Vec<(String, Url)>, FatalError> {
        let mut reader = InputReader::open(inputs).await?;
        for source in &mut reader.sources {
            if let Opened::Lines(lines) = source {
                lines.silent = true;
            }
        }
        let mut seeds = Vec::new();
        while let Some(seed) = reader.next_seed().await? {
            seeds.push((seed.source, seed.url));
        }
        Ok(seeds)
    }

    /// The live counts of what this reader has read.
    pub(crate) fn counters(&self) -> Arc<InputCounters> {
        Arc::clone(&self.counts)
    }

    /// Moves the reader into a task that sends seeds through a channel of `capacity`, so
    /// reading waits while the crawler is busy. The task ends at the end of the input or when
    /// the receiver is dropped.
    pub(crate) fn spawn(
        mut self,
        capacity: usize,
    ) -> (mpsc::Receiver<Seed>, JoinHandle<Result<(), FatalError>>) {
        let (seeds_tx, seeds_rx) = mpsc::channel(capacity.max(1));
        let task = tokio::spawn(async move {
            while let Some(seed) = self.next_seed().await? {
                if seeds_tx.send(seed).await.is_err() {
                    break;
                }
            }
            Ok(())
        });
        (seeds_rx, task)
    }

    /// The next usable URL, or `None` at the end of the last input.
    pub(crate) async fn next_seed(&mut self) -> Result<Option<Seed>, FatalError> {
        while let Some(source) = self.sources.front_mut() {
            let seed = match source {
                Opened::Url(url, source) => {
                    self.counts.read.fetch_add(1, Ordering::Relaxed);
                    Some(Seed {
                        line: 0,
                        source: std::mem::take(source),
                        url: url.clone(),
                    })
                }
                Opened::Lines(lines) => lines.next_seed(&self.counts).await?,
            };
            if seed.is_none() || matches!(source, Opened::Url(..)) {
                self.sources.pop_front();
            }
            if seed.is_some() {
                return Ok(seed);
            }
        }
        Ok(None)
    }
}

impl LineReader {
    /// Opens a file.
    async fn open(path: &Path) -> Result<LineReader, FatalError> {
        let name = path.display().to_string();
        let input_error = |source| FatalError::Input {
            path: name.clone(),
            source,
        };
        let meta = tokio::fs::metadata(path).await.map_err(input_error)?;
        if meta.is_dir() {
            return Err(FatalError::InputIsDirectory(path.to_owned()));
        }
        let file = tokio::fs::File::open(path).await.map_err(input_error)?;
        let mut reader = BufReader::with_capacity(64 * 1024, file);
        // Read the first block now: a file that opens but cannot be read fails here, before
        // the output is touched.
        reader.fill_buf().await.map_err(input_error)?;
        Ok(LineReader::new(name, Box::new(reader)))
    }

    /// Reads `reader`, called `name` in messages.
    fn new(name: String, reader: Box<dyn AsyncBufRead + Unpin + Send>) -> LineReader {
        LineReader {
            name,
            reader,
            line_no: 0,
            buf: Vec::new(),
            read: 0,
            silent: false,
        }
    }

    /// The next usable URL of this file, or `None` at its end.
    async fn next_seed(&mut self, counts: &InputCounters) -> Result<Option<Seed>, FatalError> {
        loop {
            let Some(too_long) = self.read_line().await? else {
                if self.read == 0 && !self.silent {
                    tracing::warn!("{}: no URLs to fetch", self.name);
                }
                return Ok(None);
            };
            let line = if too_long {
                Line::Invalid(format!("longer than {MAX_LINE_BYTES} bytes"))
            } else {
                parse_line(&self.buf)
            };
            if line != Line::Skip {
                self.read += 1;
                counts.read.fetch_add(1, Ordering::Relaxed);
            }
            match line {
                Line::Skip => continue,
                Line::Invalid(why) => {
                    counts.invalid.fetch_add(1, Ordering::Relaxed);
                    if !self.silent {
                        tracing::warn!("{}:{}: skipped: {why}", self.name, self.line_no);
                    }
                }
                Line::Url(url) => {
                    let source = String::from_utf8_lossy(&self.buf)
                        .trim_start_matches('\u{feff}')
                        .trim()
                        .to_owned();
                    return Ok(Some(Seed {
                        line: self.line_no,
                        source,
                        url,
                    }));
                }
            }
        }
    }

    /// Reads the next line into `self.buf` (without its `\n`). Returns `None` at the end of
    /// input, `Some(true)` when the line was longer than [`MAX_LINE_BYTES`] (its bytes past the
    /// cap are dropped unread into memory).
    async fn read_line(&mut self) -> Result<Option<bool>, FatalError> {
        self.buf.clear();
        let mut too_long = false;
        let mut saw_any = false;
        loop {
            let chunk = self
                .reader
                .fill_buf()
                .await
                .map_err(|source| FatalError::Input {
                    path: self.name.clone(),
                    source,
                })?;
            if chunk.is_empty() {
                break;
            }
            saw_any = true;
            let (part, found_newline) = match memchr_newline(chunk) {
                Some(at) => (&chunk[..at], true),
                None => (chunk, false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.buf.len());
            if part.len() > room {
                too_long = true;
            }
            self.buf.extend_from_slice(&part[..part.len().min(room)]);
            let used = part.len() + usize::from(found_newline);
            self.reader.consume(used);
            if found_newline {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.line_no += 1;
        Ok(Some(too_long))
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}
