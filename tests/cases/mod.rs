//! The integration test cases, one file per area.

mod check;
mod differential;
mod fetching;
mod guarded;
mod harness;
mod host_health;
mod hostile;
mod hosts;
mod interrupt;
mod limits;
mod links;
mod long_runs;
mod many_inputs;
mod nofollow;
mod output;
mod progress;
mod proxy;
mod reasons;
mod recursive;
mod recursive_resume;
mod shared;
mod sitemap;
mod tls;
mod url_list;
mod vhosts;
