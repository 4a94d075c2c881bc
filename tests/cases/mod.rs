//! The integration test cases, one file per area.

mod fetching;
mod hostile;
mod input;
mod inputs;
mod interrupt;
mod limits;
mod links;
mod long_runs;
mod output;
mod progress;
mod proxy;
mod reasons;
mod recursive;
mod site;
mod sitemap;
mod tls;
