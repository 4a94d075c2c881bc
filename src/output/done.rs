//! The `FILE.done` companion of an output file: its name, its format, writing it as pages are
//! flushed, reading it back and removing it.
//!
//! While a run writes to a file, it keeps the companion: after each batch of pages is written
//! and flushed to FILE, one line per page, `END_OFFSET<TAB>SOURCE`, where END_OFFSET is the
//! length of FILE once that page's block was written. A page is complete exactly when it has
//! such a line. The companion is removed when the run finishes; it stays behind after Ctrl-C,
//! a crash or `kill -9`, for `--resume` to read.

use std::io;
use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

use crate::error::FatalError;

/// `FILE.done` for output FILE.
fn done_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".done");
    PathBuf::from(name)
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

/// A companion as read back.
#[derive(Debug)]
pub(crate) struct DoneList {
    text: Vec<u8>,
}

impl DoneList {
    /// Reads the companion of `output`; `None` when it has none.
    pub(crate) async fn read(output: &Path) -> Result<Option<DoneList>, FatalError> {
        let path = done_path(output);
        match tokio::fs::read(&path).await {
            Ok(text) => Ok(Some(DoneList { text })),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(FatalError::ResumeRead { path, source }),
        }
    }

    /// A companion holding `text` (for tests of what reads it).
    #[cfg(test)]
    pub(crate) fn from_text(text: &str) -> DoneList {
        DoneList {
            text: text.as_bytes().to_vec(),
        }
    }

    /// The complete pages it lists, `(end_offset, source)` each, in the order written. A
    /// last line without its newline (cut by a crash) and malformed lines are skipped.
    pub(crate) fn pages(&self) -> impl Iterator<Item = (u64, &str)> {
        // Without a newline there is no complete line: the one empty line left is malformed.
        let complete_lines = match self.text.iter().rposition(|&b| b == b'\n') {
            Some(end) => &self.text[..end],
            None => &[],
        };
        complete_lines.split(|&b| b == b'\n').filter_map(|line| {
            let line = std::str::from_utf8(line).ok()?;
            let (offset, source) = line.split_once('\t')?;
            Some((offset.parse::<u64>().ok()?, source))
        })
    }
}

/// Removes the companion of `output`: the run finished, nothing is left to resume.
pub(crate) async fn remove_done(output: &Path) -> Result<(), FatalError> {
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
    fn done_lines_give_offsets_and_sources_without_a_cut_last_line() {
        let done = DoneList::from_text("120\thttp://a/\n340\thttp://b/\nbad line\n400\thttp://c/");
        let pages: Vec<_> = done.pages().collect();
        assert_eq!(pages, [(120, "http://a/"), (340, "http://b/")]);
        assert_eq!(DoneList::from_text("400\thttp://c/").pages().count(), 0);
        assert_eq!(DoneList::from_text("").pages().count(), 0);
    }

    #[test]
    fn the_companion_sits_beside_the_output() {
        assert_eq!(
            done_path(Path::new("out/links.tsv")),
            PathBuf::from("out/links.tsv.done")
        );
    }

    #[tokio::test]
    async fn the_companion_is_written_appended_to_read_back_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("links.tsv");
        assert!(DoneList::read(&output).await.unwrap().is_none());
        let mut done = DoneLog::open(&output, false).await.unwrap();
        let first = [(10, "http://a/"), (25, "http://b/")];
        done.record(first.into_iter()).await.unwrap();
        drop(done);
        let mut done = DoneLog::open(&output, true).await.unwrap();
        done.record([(40, "http://c/")].into_iter()).await.unwrap();
        drop(done);
        let list = DoneList::read(&output).await.unwrap().expect("a companion");
        let pages: Vec<_> = list.pages().collect();
        assert_eq!(
            pages,
            [(10, "http://a/"), (25, "http://b/"), (40, "http://c/")]
        );
        // A run that does not resume starts it afresh.
        drop(DoneLog::open(&output, false).await.unwrap());
        let list = DoneList::read(&output).await.unwrap().expect("a companion");
        assert_eq!(list.pages().count(), 0);
        remove_done(&output).await.unwrap();
        assert!(DoneList::read(&output).await.unwrap().is_none());
        remove_done(&output)
            .await
            .expect("nothing to remove is no error");
    }

    #[tokio::test]
    async fn a_companion_that_cannot_be_read_or_removed_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("links.tsv");
        // A directory where the companion belongs.
        std::fs::create_dir(done_path(&output)).unwrap();
        assert!(DoneList::read(&output).await.is_err());
        assert!(remove_done(&output).await.is_err());
    }
}
