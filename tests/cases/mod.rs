//! The integration test cases, one file per area.

mod fetching;
mod input;
mod limits;
mod links;
mod output;
mod site;
