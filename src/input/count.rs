//! Counting the URLs of an input file ahead of the crawl, for a progress bar whose total is
//! the real one from the start. A fast scan on a blocking thread: lines are classified as the
//! reader classifies them, and nothing of them is kept.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use super::line::{parse_line, Line};
use super::MAX_LINE_BYTES;
use crate::config::InputSource;

/// How many URLs `inputs` hold, when all of them can be counted ahead: regular files and URL
/// arguments can, stdin and pipes cannot.
pub(crate) fn count_inputs(inputs: &[InputSource]) -> Option<u64> {
    inputs
        .iter()
        .map(|input| match input {
            InputSource::Stdin => None,
            InputSource::File(path) => count_urls(path),
            InputSource::Url { .. } => Some(1),
        })
        .sum()
}

/// How many lines of `path` hold a usable URL, or `None` when `path` is not a regular file
/// (a pipe, a terminal) or cannot be read: its total is not known ahead.
pub(crate) fn count_urls(path: &Path) -> Option<u64> {
    // Looked at before opening: opening a named pipe would wait for a writer, and read what
    // the crawl's own reader is owed.
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let file = File::open(path).ok()?;
    count_url_lines(BufReader::with_capacity(64 * 1024, file)).ok()
}

/// Counts the lines of `reader` that hold a usable URL. A line longer than
/// [`MAX_LINE_BYTES`] is invalid, as the reader finds it, and is not held in memory.
pub(crate) fn count_url_lines(mut reader: impl BufRead) -> io::Result<u64> {
    let mut urls = 0;
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let (part, found_newline) = match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => (&chunk[..at], true),
            None => (chunk, false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        too_long |= part.len() > room;
        line.extend_from_slice(&part[..part.len().min(room)]);
        let used = part.len() + usize::from(found_newline);
        reader.consume(used);
        if found_newline {
            urls += u64::from(is_url(&line, too_long));
            line.clear();
            too_long = false;
        }
    }
    if !line.is_empty() || too_long {
        urls += u64::from(is_url(&line, too_long));
    }
    Ok(urls)
}

fn is_url(line: &[u8], too_long: bool) -> bool {
    !too_long && matches!(parse_line(line), Line::Url(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lines_holding_urls_count() {
        let text =
            "# list\nhttps://a.example/\n\n  not a url\nhttp://b.example/x\r\nhttp://c.example";
        assert_eq!(count_url_lines(text.as_bytes()).unwrap(), 3);
        assert_eq!(count_url_lines(&b""[..]).unwrap(), 0);
    }

    #[test]
    fn an_overlong_line_does_not_count_even_if_it_starts_with_a_url() {
        let long = format!(
            "https://a.example/{}\nhttps://b.example/\n",
            "x".repeat(MAX_LINE_BYTES)
        );
        assert_eq!(count_url_lines(long.as_bytes()).unwrap(), 1);
    }

    #[test]
    fn a_named_pipe_is_not_opened_to_be_counted() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("list");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|status| status.success()), "mkfifo");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(count_urls(&fifo)));
        let counted = rx.recv_timeout(std::time::Duration::from_secs(5));
        assert_eq!(counted, Ok(None), "counting must not wait for a writer");
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let text = "https://a.example/\nhttps://b.example/\n# c\n";
        let reader = BufReader::with_capacity(3, text.as_bytes());
        assert_eq!(count_url_lines(reader).unwrap(), 2);
    }
}
