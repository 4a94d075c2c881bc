//! The output: record formats ([`mod@format`]), the writer task that owns the sink
//! ([`writer`]) and the `.done` companion of an output file ([`done`]).

mod done;
mod format;
mod writer;

pub(crate) use done::{remove_done, DoneList};

#[cfg(test)]
pub(crate) use format::links_by_source;
pub(crate) use format::{navigable_links_by_source, PageMeta, PageRecords, Records};
pub(crate) use writer::{spawn_writer, Sink, WriterReport};
