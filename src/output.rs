//! The output: record formatting (pure) and the writer task, the sole owner of the sink.
//!
//! Each page's records arrive as one buffer and are written with whole-page boundaries, so
//! pages never interleave and no line is ever partial. A reader that goes away (`| head`) ends
//! the writer quietly; the crawler sees the closed channel and stops.

use std::io;

use serde::Serialize;
use std::io::SeekFrom;

use tokio::io::{AsyncSeekExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Mutex, MutexGuard};
use tokio::task::JoinHandle;
use url::Url;

use crate::config::{Format, OutputTarget};
use crate::error::FatalError;
use crate::resume::DoneLog;

/// The TSV header line.
pub const TSV_HEADER: &str = "source_url\tparsed_url\n";

/// Pages queued for the writer beyond those being written; bounds memory when output is slow.
const QUEUED_PAGES: usize = 64;

/// Buffers smaller than this are gathered into one write.
const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// Held by the writer while a batch is being written and flushed, so the output only ever
/// ends on a page boundary when it is not held. See [`page_boundary`].
static WRITE_GATE: Mutex<()> = Mutex::const_new(());

/// Waits until no batch is being written and keeps it so while the guard lives: the output
/// then ends on a complete page. A forced exit (second Ctrl-C) takes this first.
pub async fn page_boundary() -> MutexGuard<'static, ()> {
    WRITE_GATE.lock().await
}

/// A page's records, formatted and ready for the writer. Every completed page sends one,
/// even with no records, so it can be marked complete for `--resume`.
#[derive(Debug, Default)]
pub struct Records {
    /// The page's SOURCE.
    pub source: String,
    /// The formatted records, whole lines.
    pub bytes: Vec<u8>,
    /// How many records `bytes` holds.
    pub count: usize,
}

/// What the records of one page share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageMeta<'a> {
    /// The SOURCE column.
    pub source: &'a str,
    /// The page's crawl depth (JSONL only).
    pub depth: u32,
    /// The page's final HTTP status (JSONL only).
    pub status: u16,
}

#[derive(Serialize)]
struct JsonRecord<'a> {
    source: &'a str,
    url: &'a str,
    depth: u32,
    status: u16,
}

/// Appends the records of one page to `buf`; returns how many were written.
///
/// A field holding a tab or line break would break the format; the URL parser never produces
/// one and input lines holding one are rejected, so such a record cannot occur, and is
/// skipped if it ever did.
pub fn format_page(format: Format, page: PageMeta<'_>, links: &[Url], buf: &mut Vec<u8>) -> usize {
    let source = page.source;
    if has_separator(source) {
        return 0;
    }
    let mut written = 0;
    for link in links.iter().map(Url::as_str) {
        if has_separator(link) {
            continue;
        }
        match format {
            Format::Tsv => {
                buf.extend_from_slice(source.as_bytes());
                buf.push(b'\t');
                buf.extend_from_slice(link.as_bytes());
            }
            Format::Jsonl => {
                let record = JsonRecord {
                    source,
                    url: link,
                    depth: page.depth,
                    status: page.status,
                };
                // Writing into a Vec cannot fail and the record has only string fields.
                serde_json::to_writer(&mut *buf, &record).expect("serialising to memory");
            }
        }
        buf.push(b'\n');
        written += 1;
    }
    written
}

fn has_separator(field: &str) -> bool {
    field.contains(['\t', '\n', '\r'])
}

/// An opened output, ready for [`spawn_writer`].
pub struct Sink {
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
    pub async fn open(target: &OutputTarget, resume_at: Option<u64>) -> Result<Sink, FatalError> {
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

    /// Whether nothing has been written yet (so a header is due).
    pub fn is_empty(&self) -> bool {
        self.offset == 0
    }
}

/// What the writer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterReport {
    /// Records written and flushed.
    pub records: u64,
    /// The reader of the output went away (broken pipe); later pages were dropped.
    pub reader_gone: bool,
}

/// Starts the writer task. Send each page's formatted records as one buffer; drop every
/// sender to finish, then await the handle.
pub fn spawn_writer(
    sink: Sink,
    header: Option<&'static str>,
) -> (
    mpsc::Sender<Records>,
    JoinHandle<Result<WriterReport, FatalError>>,
) {
    let (pages_tx, pages_rx) = mpsc::channel(QUEUED_PAGES);
    let handle = tokio::spawn(write_pages(sink, header, pages_rx));
    (pages_tx, handle)
}

async fn write_pages(
    mut sink: Sink,
    header: Option<&'static str>,
    mut pages: mpsc::Receiver<Records>,
) -> Result<WriterReport, FatalError> {
    let mut report = WriterReport::default();
    if let Some(header) = header {
        if !sink.write_batch(header.as_bytes()).await? {
            report.reader_gone = true;
            return Ok(report);
        }
    }
    let mut batch = Vec::with_capacity(WRITE_BATCH_BYTES);
    // (end offset, source) of each page in the batch, for the `.done` companion.
    let mut ends: Vec<(u64, String)> = Vec::new();
    while let Some(page) = pages.recv().await {
        let mut records = 0;
        let mut next = Some(page);
        while let Some(page) = next.take() {
            records += page.count;
            batch.extend_from_slice(&page.bytes);
            ends.push((sink.offset + batch.len() as u64, page.source));
            if batch.len() < WRITE_BATCH_BYTES {
                next = pages.try_recv().ok();
            }
        }
        if !batch.is_empty() && !sink.write_batch(&batch).await? {
            report.reader_gone = true;
            return Ok(report);
        }
        if let Some(done) = &mut sink.done {
            done.record(ends.iter().map(|(end, source)| (*end, source.as_str())))
                .await?;
        }
        report.records += records as u64;
        batch.clear();
        ends.clear();
    }
    Ok(report)
}

impl Sink {
    /// Writes and flushes whole pages under the write gate. Returns `false` when the reader
    /// of the output went away.
    async fn write_batch(&mut self, batch: &[u8]) -> Result<bool, FatalError> {
        let written = async {
            let _writing = WRITE_GATE.lock().await;
            self.writer.write_all(batch).await?;
            // A file's write completes in the background; flushing waits for it, so the
            // gate is released only when the batch is really written.
            self.writer.flush().await
        };
        match written.await {
            Ok(()) => {
                self.offset += batch.len() as u64;
                Ok(true)
            }
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                tracing::debug!(output = %self.name, "output reader went away");
                Ok(false)
            }
            Err(source) => Err(FatalError::OutputWrite {
                path: self.name.clone(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<Url> {
        list.iter().map(|u| Url::parse(u).unwrap()).collect()
    }

    fn meta(source: &str) -> PageMeta<'_> {
        PageMeta {
            source,
            depth: 1,
            status: 200,
        }
    }

    #[test]
    fn tsv_is_source_tab_link_per_line() {
        let mut buf = Vec::new();
        let n = format_page(
            Format::Tsv,
            meta("http://s/"),
            &urls(&["http://a/", "http://b/x"]),
            &mut buf,
        );
        assert_eq!(n, 2);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "http://s/\thttp://a/\nhttp://s/\thttp://b/x\n"
        );
    }

    #[test]
    fn jsonl_is_one_object_per_line_with_escaping() {
        let mut buf = Vec::new();
        format_page(
            Format::Jsonl,
            meta("http://s/\"q\""),
            &urls(&["http://a/"]),
            &mut buf,
        );
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"source\":\"http://s/\\\"q\\\"\",\"url\":\"http://a/\",\"depth\":1,\"status\":200}\n"
        );
    }

    #[test]
    fn a_source_with_a_tab_writes_nothing() {
        let mut buf = Vec::new();
        assert_eq!(
            format_page(Format::Tsv, meta("a\tb"), &urls(&["http://a/"]), &mut buf),
            0
        );
        assert!(buf.is_empty());
    }
}
