//! Resuming an interrupted run.
//!
//! A run writing to a file keeps a companion listing the pages it completed (see
//! [`crate::output`]). `--resume` reads it, cuts FILE back to the last recorded offset
//! (dropping any block written but not recorded, and any partial line), skips the recorded
//! sources and appends the rest: compared as a set of lines, the result equals an
//! uninterrupted run's.
//!
//! [`start`] decides how a run starts from what it finds; a recursive crawl's frontier is
//! rebuilt from the output by [`mod@rebuild`].

use std::collections::HashSet;
use std::io;
use std::path::Path;

mod rebuild;

pub(crate) use rebuild::Rebuilt;
use rebuild::{rebuild, Walk};

use crate::config::{Config, OutputTarget};
use crate::error::FatalError;
use crate::follow::FollowRules;
use crate::input::InputReader;
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

/// How a run starts, given what an earlier run left in its output.
#[derive(Debug)]
pub(crate) enum Start {
    /// From nothing: no earlier run to continue.
    Fresh,
    /// Not at all: `--resume` of an output whose run finished (warned already), so the run
    /// has nothing to do.
    Finished,
    /// After an earlier run: its complete pages are skipped and the output is appended to.
    Continue {
        /// What the earlier run completed, and where its output ends.
        completed: Completed,
        /// The frontier of a recursive crawl, rebuilt from the output; a shared crawl's
        /// frontier is kept in Redis instead.
        rebuilt: Option<Rebuilt>,
    },
}

/// Decides how the run of `config` starts (`shared`: it joined a shared crawl). A run
/// continues from its output file with `--resume`, and a shared crawl's worker always does,
/// appending to an output an earlier worker's run finished. Only a recursive crawl of its
/// own rebuilds its frontier from the output.
pub(crate) async fn start(config: &Config, shared: bool) -> Result<Start, FatalError> {
    let path = match &config.output {
        OutputTarget::File(path) if config.resume || shared => path,
        _ => return Ok(Start::Fresh),
    };
    let completed = match load(path).await? {
        ResumePoint::Fresh => return Ok(Start::Fresh),
        ResumePoint::Finished if shared => appending(path).await?,
        ResumePoint::Finished => {
            tracing::warn!(
                "{}: nothing to resume, the run that wrote it finished",
                path.display()
            );
            return Ok(Start::Finished);
        }
        ResumePoint::Continue(completed) => completed,
    };
    let rebuilt = match config.crawl.depth > 0 && !shared {
        true => {
            let walk = Walk {
                max_depth: config.crawl.depth,
                follow: &FollowRules::new(config.crawl.scope.clone()),
                format: config.format,
            };
            let seeds = InputReader::all_seeds(&config.inputs).await?;
            Some(rebuild(path, &completed, seeds, &walk).await?)
        }
        false => None,
    };
    Ok(Start::Continue { completed, rebuilt })
}

/// What `--resume` finds for `output`.
#[derive(Debug)]
enum ResumePoint {
    /// No output yet: start afresh.
    Fresh,
    /// The output was finished by an earlier run (it has no `.done` companion).
    Finished,
    /// An interrupted run to continue.
    Continue(Completed),
}

/// What an earlier run left in `output`, told by the output's `.done` companion.
async fn load(output: &Path) -> Result<ResumePoint, FatalError> {
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
async fn appending(output: &Path) -> Result<Completed, FatalError> {
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

    #[tokio::test]
    async fn the_output_and_its_companion_tell_how_a_run_starts() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("links.tsv");
        assert!(!exists(&output).await.unwrap());
        assert!(matches!(load(&output).await.unwrap(), ResumePoint::Fresh));
        std::fs::write(&output, "http://a/\thttp://a/x\n").unwrap();
        assert!(exists(&output).await.unwrap());
        assert!(matches!(
            load(&output).await.unwrap(),
            ResumePoint::Finished
        ));
        assert_eq!(appending(&output).await.unwrap().end_offset, 21);
        std::fs::write(dir.path().join("links.tsv.done"), "21\thttp://a/\n").unwrap();
        let ResumePoint::Continue(completed) = load(&output).await.unwrap() else {
            panic!("an interrupted run continues");
        };
        assert_eq!((completed.end_offset, completed.len()), (21, 1));
        forget(&output).await.unwrap();
        assert!(matches!(
            load(&output).await.unwrap(),
            ResumePoint::Finished
        ));
        // Under a file, a path can be neither there nor missing: an error.
        assert!(exists(&output.join("x")).await.is_err());
        assert!(load(&output.join("x")).await.is_err());
    }
}
