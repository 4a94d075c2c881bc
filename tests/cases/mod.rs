//! The integration test cases, one file per area.

mod differential;
mod fetching;
mod harness;
mod host_health;
mod hostile;
mod hosts;
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
mod recursive_resume;
mod shared;
mod site;
mod sitemap;
mod tls;
mod tree;
mod vhosts;
