//! The integration test cases, one file per area.

mod fetching;
mod hostile;
mod input;
mod interrupt;
mod limits;
mod links;
mod output;
mod recursive;
mod site;
