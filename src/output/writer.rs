//! The writer task, the sole owner of the output.
//!
//! Each page's records arrive as one buffer and are written with whole-page boundaries, so
//! pages never interleave and no line is ever partial. A reader that goes away (`| head`) ends
//! the writer quietly; the crawler sees the closed channel and stops. Told to stop at once
//! (the second Ctrl-C), the writer stops at the next page boundary.

use std::io;
use std::io::SeekFrom;
use std::time::Duration;

use tokio::io::{AsyncSeekExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::done::DoneLog;
use super::format::header_line;
use super::Records;
use crate::config::{Format, OutputTarget};
use crate::error::FatalError;

/// Pages queued for the writer beyond those being written; bounds memory when output is slow.
const QUEUED_PAGES: usize = 64;

/// Buffers smaller than this are gathered into one write.
const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// How long a batch being written may still take once the writer is told to stop at once;
/// past that the output is stuck (a reader that stopped reading) and the batch is abandoned.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// An opened output, ready for [`spawn_writer`].
pub(crate) struct Sink {
    name: String,
    writer: Box<dyn AsyncWrite + Unpin + Send>,
    /// Bytes in the output so far (for a file, its length).
    offset: u64,
    /// The `FILE.done` companion, for a file.
    done: Option<DoneLog>,
}

impl Sink {
    /// Creates (or truncates) the output file with its `.done` companion, or takes stdout.
    /// With `resume_at`, keeps the file's first `resume_at` bytes and appends after them.
    /// Fails before any fetching if the path cannot be written.
    pub(crate) async fn open(
        target: &OutputTarget,
        resume_at: Option<u64>,
    ) -> Result<Sink, FatalError> {
        let path = match target {
            OutputTarget::Stdout => {
                return Ok(Sink {
                    name: target.display_name(),
                    writer: Box::new(tokio::io::stdout()),
                    offset: 0,
                    done: None,
                })
            }
            OutputTarget::File(path) => path,
        };
        let open_error = |source| FatalError::OutputOpen {
            path: path.clone(),
            source,
        };
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(resume_at.is_none())
            .open(path)
            .await
            .map_err(open_error)?;
        let offset = resume_at.unwrap_or(0);
        if resume_at.is_some() {
            file.set_len(offset).await.map_err(open_error)?;
            file.seek(SeekFrom::Start(offset))
                .await
                .map_err(open_error)?;
        }
        // Only a regular file can be resumed; `/dev/null` or a FIFO gets no companion.
        let regular = file.metadata().await.is_ok_and(|meta| meta.is_file());
        let done = match regular {
            true => Some(DoneLog::open(path, resume_at.is_some()).await?),
            false => None,
        };
        Ok(Sink {
            name: target.display_name(),
            writer: Box::new(file),
            offset,
            done,
        })
    }

    /// The header line to write before the first record: `format`'s (with the status field
    /// when `checked`), when `wanted`, and only into an empty output (one resumed or appended
    /// to has its header already).
    pub(crate) fn header(
        &self,
        format: Format,
        wanted: bool,
        checked: bool,
    ) -> Option<&'static str> {
        header_line(format, wanted, checked).filter(|_| self.offset == 0)
    }
}

/// What the writer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct WriterReport {
    /// Records written and flushed.
    pub(crate) records: u64,
    /// The reader of the output went away (broken pipe); later pages were dropped.
    pub(crate) reader_gone: bool,
    /// Told to stop at once, the writer stopped at a page boundary; queued pages were dropped.
    pub(crate) stopped: bool,
}

/// How writing one batch ended.
enum Written {
    /// Written and flushed.
    All,
    /// The reader of the output went away.
    ReaderGone,
    /// Told to stop at once, and the batch did not finish within [`STOP_GRACE`].
    Abandoned,
}

/// Starts the writer task. Send each page's formatted records as one buffer; drop every
/// sender to finish, then await the handle. Cancelling `stop` makes the writer stop at the
/// next page boundary, dropping the pages still queued.
pub(crate) fn spawn_writer(
    sink: Sink,
    header: Option<&'static str>,
    stop: CancellationToken,
) -> (
    mpsc::Sender<Records>,
    JoinHandle<Result<WriterReport, FatalError>>,
) {
    let (pages_tx, pages_rx) = mpsc::channel(QUEUED_PAGES);
    let writer = PageWriter { sink, stop };
    let handle = tokio::spawn(writer.run(header, pages_rx));
    (pages_tx, handle)
}

/// The writer task's state.
struct PageWriter {
    sink: Sink,
    stop: CancellationToken,
}

impl PageWriter {
    async fn run(
        mut self,
        header: Option<&'static str>,
        mut pages: mpsc::Receiver<Records>,
    ) -> Result<WriterReport, FatalError> {
        let mut report = WriterReport::default();
        if let Some(header) = header {
            if !note(self.write_batch(header.as_bytes()).await?, &mut report) {
                return Ok(report);
            }
        }
        let mut batch = Vec::with_capacity(WRITE_BATCH_BYTES);
        // (end offset, source) of each page in the batch, for the `.done` companion, and
        // whoever waits for the batch to be flushed.
        let mut ends: Vec<(u64, String)> = Vec::new();
        let mut waiting = Vec::new();
        loop {
            let page = tokio::select! {
                biased;
                () = self.stop.cancelled() => {
                    report.stopped = true;
                    return Ok(report);
                }
                page = pages.recv() => match page {
                    Some(page) => page,
                    None => return Ok(report),
                },
            };
            let mut records = 0;
            let mut next = Some(page);
            while let Some(page) = next.take() {
                records += page.count;
                batch.extend_from_slice(&page.bytes);
                ends.push((self.sink.offset + batch.len() as u64, page.source));
                waiting.extend(page.flushed);
                if batch.len() < WRITE_BATCH_BYTES {
                    next = pages.try_recv().ok();
                }
            }
            if !batch.is_empty() && !note(self.write_batch(&batch).await?, &mut report) {
                return Ok(report);
            }
            if let Some(done) = &mut self.sink.done {
                done.record(ends.iter().map(|(end, source)| (*end, source.as_str())))
                    .await?;
            }
            report.records += records as u64;
            for flushed in waiting.drain(..) {
                // A page task that stopped waiting needs no answer.
                let _ = flushed.send(());
            }
            batch.clear();
            ends.clear();
        }
    }

    /// Writes and flushes whole pages. Once told to stop, a batch gets [`STOP_GRACE`] more
    /// to finish.
    async fn write_batch(&mut self, batch: &[u8]) -> Result<Written, FatalError> {
        let sink = &mut self.sink;
        let stop = &self.stop;
        let write = async {
            sink.writer.write_all(batch).await?;
            // A file's write completes in the background; flushing waits for it.
            sink.writer.flush().await
        };
        let grace_over = async {
            stop.cancelled().await;
            tokio::time::sleep(STOP_GRACE).await;
        };
        let result = tokio::select! {
            result = write => result,
            () = grace_over => return Ok(Written::Abandoned),
        };
        match result {
            Ok(()) => {
                sink.offset += batch.len() as u64;
                Ok(Written::All)
            }
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                tracing::debug!(output = %sink.name, "output reader went away");
                Ok(Written::ReaderGone)
            }
            Err(source) => Err(FatalError::OutputWrite {
                path: sink.name.clone(),
                source,
            }),
        }
    }
}

/// Notes how a batch ended in `report`; returns whether to go on writing.
fn note(written: Written, report: &mut WriterReport) -> bool {
    match written {
        Written::All => true,
        Written::ReaderGone => {
            report.reader_gone = true;
            false
        }
        Written::Abandoned => {
            report.stopped = true;
            false
        }
    }
}
