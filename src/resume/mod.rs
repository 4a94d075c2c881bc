//! Resuming an interrupted run.
//!
//! While a run writes to a file, it keeps a companion `FILE.done`: after each batch of pages is
//! written and flushed to FILE, one line per page, `END_OFFSET<TAB>SOURCE`, where END_OFFSET is
//! the length of FILE once that page's block was written. A page is complete exactly when it
//! has such a line. The companion is removed when the run finishes; it stays behind after
//! Ctrl-C, a crash or `kill -9`.
//!
//! `--resume` reads the companion, cuts FILE back to the last recorded offset (dropping any
//! block written but not recorded, and any partial line), skips the recorded sources and
//! appends the rest: compared as a set of lines, the result equals an uninterrupted run's.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

mod rebuild;

pub(crate) use rebuild::{rebuild, Rebuilt, Walk};

use crate::error::FatalError;
use crate::seen::fingerprint_text;

/// `FILE.done` for output FILE.
pub(crate) fn done_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".done");
    PathBuf::from(name)
}

/// What an earlier run completed.
#[derive(Debug, Default)]
pub(crate) struct Completed {
    sources: HashSet<u128>,
    /// FILE's length after the last complete page.
    pub(crate) end_offset: u64,
}

impl Completed {
    /// Whether the page with this SOURCE was completed.
    pub(crate) fn contains(&self, source: &str) -> bool {
        self.sources.contains(&fingerprint_text(source))
    }

    /// How many pages were completed.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.sources.len()
    }
}

impl Completed {
    /// The pages a `.done` text lists (for tests of what reads it).
    #[cfg(test)]
    pub(crate) fn from_done(text: &str) -> Completed {
        parse_done(text.as_bytes())
    }
}

/// What `--resume` finds for `output`.
#[derive(Debug)]
pub(crate) enum ResumePoint {
    /// No output yet: start afresh.
    Fresh,
    /// The output was finished by an earlier run (it has no `.done` companion).
    Finished,
    /// An interrupted run to continue.
    Continue(Completed),
}

/// Reads the companion of `output` (see the module docs).
pub(crate) async fn load(output: &Path) -> Result<ResumePoint, FatalError> {
    let done = done_path(output);
    let read_error = |path: &Path, source| FatalError::ResumeRead {
        path: path.to_owned(),
        source,
    };
    if !exists(output).await.map_err(|e| read_error(output, e))? {
        return Ok(ResumePoint::Fresh);
    }
    let text = match tokio::fs::read(&done).await {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(ResumePoint::Finished),
        Err(err) => return Err(read_error(&done, err)),
    };
    Ok(ResumePoint::Continue(parse_done(&text)))
}

/// A finished output that a shared crawl's worker appends to: nothing of it is cut.
pub(crate) async fn appending(output: &Path) -> Result<Completed, FatalError> {
    let meta = tokio::fs::metadata(output)
        .await
        .map_err(|source| FatalError::OutputOpen {
            path: output.to_owned(),
            source,
        })?;
    Ok(Completed {
        end_offset: meta.len(),
        ..Completed::default()
    })
}

/// Parses `END_OFFSET<TAB>SOURCE` lines; a last line without its newline (cut by a crash) and
/// malformed lines are ignored.
fn parse_done(text: &[u8]) -> Completed {
    let mut completed = Completed::default();
    let complete_lines = match text.iter().rposition(|&b| b == b'\n') {
        Some(end) => &text[..end],
        None => return completed,
    };
    for line in complete_lines.split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let Some((offset, source)) = line.split_once('\t') else {
            continue;
        };
        let Ok(offset) = offset.parse::<u64>() else {
            continue;
        };
        completed.end_offset = completed.end_offset.max(offset);
        completed.sources.insert(fingerprint_text(source));
    }
    completed
}

async fn exists(path: &Path) -> io::Result<bool> {
    match tokio::fs::metadata(path).await {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

/// The companion being written.
pub(crate) struct DoneLog {
    path: PathBuf,
    /// Reused between batches.
    file: tokio::fs::File,
    buf: Vec<u8>,
}

impl DoneLog {
    /// Creates the companion of `output`, or opens it for appending when resuming.
    pub(crate) async fn open(output: &Path, append: bool) -> Result<DoneLog, FatalError> {
        let path = done_path(output);
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&path)
            .await
            .map_err(|source| FatalError::OutputOpen {
                path: path.clone(),
                source,
            })?;
        Ok(DoneLog {
            path,
            file,
            buf: Vec::new(),
        })
    }

    /// Records pages as complete: `(end_offset, source)` each, after their blocks were
    /// written and flushed.
    pub(crate) async fn record<'a>(
        &mut self,
        pages: impl Iterator<Item = (u64, &'a str)>,
    ) -> Result<(), FatalError> {
        self.buf.clear();
        for (offset, source) in pages {
            self.buf
                .extend_from_slice(format!("{offset}\t{source}\n").as_bytes());
        }
        let written = async {
            self.file.write_all(&self.buf).await?;
            self.file.flush().await
        };
        written.await.map_err(|source| FatalError::OutputWrite {
            path: self.path.display().to_string(),
            source,
        })
    }
}

/// Removes the companion of `output`: the run finished, nothing is left to resume.
pub(crate) async fn forget(output: &Path) -> Result<(), FatalError> {
    let path = done_path(output);
    match tokio::fs::remove_file(&path).await {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(FatalError::OutputWrite {
            path: path.display().to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_lines_give_sources_and_the_last_offset() {
        let completed = parse_done(b"120\thttp://a/\n340\thttp://b/\nbad line\n400\thttp://c/");
        assert!(completed.contains("http://a/"));
        assert!(completed.contains("http://b/"));
        assert!(
            !completed.contains("http://c/"),
            "a cut last line is not complete"
        );
        assert_eq!(completed.end_offset, 340);
        assert_eq!(completed.len(), 2);
    }

    #[test]
    fn the_companion_sits_beside_the_output() {
        assert_eq!(
            done_path(Path::new("out/links.tsv")),
            PathBuf::from("out/links.tsv.done")
        );
    }
}
