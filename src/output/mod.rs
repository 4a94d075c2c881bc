//! The output: record formats ([`mod@format`]) and the writer task that owns the sink
//! ([`writer`]).

mod format;
mod writer;

pub(crate) use format::{PageMeta, PageRecords, Records, TSV_HEADER};
pub(crate) use writer::{spawn_writer, Sink, WriterReport};
