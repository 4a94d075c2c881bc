//! Shared helpers for the integration tests: loopback HTTP and HTTPS servers, a forward proxy,
//! a runner for the binary, the fixture site and the tree site, and generated tag soup with a
//! shrinker for the differential tests.

pub mod cmd;
pub mod dns;
pub mod env;
pub mod hosts;
pub mod limited;
pub mod proxy;
pub mod redis;
pub mod server;
pub mod shrink;
pub mod site;
pub mod soup;
pub mod tls;
pub mod tree;
