//! The URL list: streamed line by line from a file or stdin, so memory does not grow with it.
//!
//! Each line is trimmed (a UTF-8 BOM and CRLF are fine); blank lines and `#` comments are
//! skipped; anything that is not an absolute http(s) URL is warned about with `FILE:LINE` and
//! counted as invalid.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

use crate::config::InputSource;
use crate::error::FatalError;

/// Lines longer than this are not URLs anyone means; they are skipped as invalid without
/// being held in memory.
pub(crate) const MAX_LINE_BYTES: usize = 64 * 1024;

/// One URL to fetch, as read from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seed {
    /// 1-based line number in the input.
    pub(crate) line: u64,
    /// The line as written, trimmed: the SOURCE column of the output.
    pub(crate) source: String,
    /// The parsed URL.
    pub(crate) url: Url,
}

/// What one input line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// Blank or a `#` comment.
    Skip,
    /// An absolute http(s) URL.
    Url(Url),
    /// Anything else, with the reason.
    Invalid(String),
}

/// Classifies one input line (without its line terminator).
pub(crate) fn parse_line(raw: &[u8]) -> Line {
    let Ok(text) = std::str::from_utf8(raw) else {
        return Line::Invalid("not valid UTF-8".into());
    };
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() || text.starts_with('#') {
        return Line::Skip;
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Line::Invalid("contains whitespace or control characters".into());
    }
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Line::Invalid("not an absolute URL".into())
        }
        Err(err) => return Line::Invalid(format!("not a valid URL: {err}")),
    };
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Line::Url(url),
        "http" | "https" => Line::Invalid("URL has no host".into()),
        other => Line::Invalid(format!("scheme {other}: is not http or https")),
    }
}

/// Counts of what the input held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InputCounts {
    /// Lines that were neither blank nor comments.
    pub(crate) read: u64,
    /// Of those, lines that were not usable URLs.
    pub(crate) invalid: u64,
}

/// Streams [`Seed`]s from the input, warning about invalid lines as it goes.
pub(crate) struct InputReader {
    name: String,
    reader: Box<dyn AsyncBufRead + Unpin + Send>,
    line_no: u64,
    buf: Vec<u8>,
    counts: Arc<InputCounters>,
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
    /// Opens the input and reads its first block. A missing, unreadable or directory path is
    /// a fatal error.
    pub(crate) async fn open(source: &InputSource) -> Result<InputReader, FatalError> {
        let name = source.display_name();
        let reader: Box<dyn AsyncBufRead + Unpin + Send> = match source {
            InputSource::Stdin => Box::new(BufReader::new(tokio::io::stdin())),
            InputSource::File(path) => {
                let input_error = |source| FatalError::Input {
                    path: name.clone(),
                    source,
                };
                let meta = tokio::fs::metadata(path).await.map_err(input_error)?;
                if meta.is_dir() {
                    return Err(FatalError::InputIsDirectory(path.clone()));
                }
                let file = tokio::fs::File::open(path).await.map_err(input_error)?;
                let mut reader = BufReader::with_capacity(64 * 1024, file);
                // Read the first block now: a file that opens but cannot be read fails here,
                // before the output is touched.
                reader.fill_buf().await.map_err(input_error)?;
                Box::new(reader)
            }
        };
        Ok(InputReader {
            name,
            reader,
            line_no: 0,
            buf: Vec::new(),
            counts: Arc::default(),
            silent: false,
        })
    }

    /// Every usable URL of the input, as (SOURCE, URL), read without warnings: the seeds a
    /// resumed recursive crawl walks from (the run's own reading warns).
    pub(crate) async fn all_seeds(source: &InputSource) -> Result<Vec<(String, Url)>, FatalError> {
        let mut reader = InputReader::open(source).await?;
        reader.silent = true;
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

    /// The next usable URL, or `None` at the end of the input.
    pub(crate) async fn next_seed(&mut self) -> Result<Option<Seed>, FatalError> {
        loop {
            let Some(too_long) = self.read_line().await? else {
                if self.counts.read.load(Ordering::Relaxed) == 0 && !self.silent {
                    tracing::warn!("{}: no URLs to fetch", self.name);
                }
                return Ok(None);
            };
            let line = if too_long {
                Line::Invalid(format!("longer than {MAX_LINE_BYTES} bytes"))
            } else {
                parse_line(&self.buf)
            };
            match line {
                Line::Skip => continue,
                Line::Invalid(why) => {
                    self.counts.read.fetch_add(1, Ordering::Relaxed);
                    self.counts.invalid.fetch_add(1, Ordering::Relaxed);
                    if !self.silent {
                        tracing::warn!("{}:{}: skipped: {why}", self.name, self.line_no);
                    }
                }
                Line::Url(url) => {
                    self.counts.read.fetch_add(1, Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(raw: &str) -> String {
        match parse_line(raw.as_bytes()) {
            Line::Invalid(why) => why,
            other => panic!("{raw:?} should be invalid, got {other:?}"),
        }
    }

    #[test]
    fn blank_lines_and_comments_are_skipped() {
        for raw in ["", "   ", "\r", "# a comment", "  #indented", "\u{feff}"] {
            assert_eq!(parse_line(raw.as_bytes()), Line::Skip, "{raw:?}");
        }
    }

    #[test]
    fn urls_are_trimmed_of_bom_crlf_and_spaces() {
        let want = Url::parse("https://example.com/a").unwrap();
        for raw in [
            "https://example.com/a",
            "\u{feff}https://example.com/a\r",
            "  https://example.com/a \t",
        ] {
            assert_eq!(
                parse_line(raw.as_bytes()),
                Line::Url(want.clone()),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn non_http_relative_and_spaced_lines_are_invalid_with_a_reason() {
        assert_eq!(invalid("/relative/path"), "not an absolute URL");
        assert_eq!(
            invalid("ftp://example.com/"),
            "scheme ftp: is not http or https"
        );
        assert_eq!(
            invalid("mailto:a@example.com"),
            "scheme mailto: is not http or https"
        );
        assert_eq!(
            invalid("https://exa mple.com/"),
            "contains whitespace or control characters"
        );
        assert_eq!(
            invalid("https://a.com/\tb"),
            "contains whitespace or control characters"
        );
        assert!(invalid("http://[::1").starts_with("not a valid URL"));
        assert_eq!(
            match parse_line(b"\xff\xfe garbage") {
                Line::Invalid(why) => why,
                other => panic!("{other:?}"),
            },
            "not valid UTF-8"
        );
    }
}
