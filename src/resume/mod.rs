//! Resuming an interrupted run.
//!
//! A run writing to a file keeps a companion listing the pages it completed (see
//! [`crate::output`]). `--resume` reads it, cuts FILE back to the last recorded offset
//! (dropping any block written but not recorded, and any partial line), skips the recorded
//! sources and appends the rest: compared as a set of lines, the result equals an
//! uninterrupted run's.

use std::collections::HashSet;
use std::io;
use std::path::Path;

mod rebuild;

pub(crate) use rebuild::{rebuild, Rebuilt, Walk};

use crate::error::FatalError;
use crate::output::{remove_done, DoneList};
use crate::seen::fingerprint_text;

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

    /// The pages a `.done` text lists (for tests of what reads it).
    #[cfg(test)]
    pub(crate) fn from_done(text: &str) -> Completed {
        Completed::listed(&DoneList::from_text(text))
    }

    /// The pages the companion lists, and the offset after the last of them.
    fn listed(done: &DoneList) -> Completed {
        let mut completed = Completed::default();
        for (offset, source) in done.pages() {
            completed.end_offset = completed.end_offset.max(offset);
            completed.sources.insert(fingerprint_text(source));
        }
        completed
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

/// What an earlier run left in `output`, told by the output's `.done` companion.
pub(crate) async fn load(output: &Path) -> Result<ResumePoint, FatalError> {
    let exists = exists(output)
        .await
        .map_err(|source| FatalError::ResumeRead {
            path: output.to_owned(),
            source,
        })?;
    if !exists {
        return Ok(ResumePoint::Fresh);
    }
    Ok(match DoneList::read(output).await? {
        Some(done) => ResumePoint::Continue(Completed::listed(&done)),
        None => ResumePoint::Finished,
    })
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

async fn exists(path: &Path) -> io::Result<bool> {
    match tokio::fs::metadata(path).await {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

/// Removes the companion of `output`: the run finished, nothing is left to resume.
pub(crate) async fn forget(output: &Path) -> Result<(), FatalError> {
    remove_done(output).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_lines_give_sources_and_the_last_offset() {
        let completed =
            Completed::from_done("120\thttp://a/\n340\thttp://b/\nbad line\n400\thttp://c/");
        assert!(completed.contains("http://a/"));
        assert!(completed.contains("http://b/"));
        assert!(
            !completed.contains("http://c/"),
            "a cut last line is not complete"
        );
        assert_eq!(completed.end_offset, 340);
        assert_eq!(completed.len(), 2);
    }
}
