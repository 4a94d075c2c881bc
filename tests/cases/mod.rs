//! The integration test cases, one file per area.

mod fetching;
mod hostile;
mod hosts;
mod input;
mod interrupt;
mod limits;
mod links;
mod long_runs;
mod output;
mod progress;
mod recursive;
mod site;
