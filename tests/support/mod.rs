//! Shared helpers for the integration tests: loopback HTTP and HTTPS servers, a forward proxy,
//! and a runner for the binary.

pub mod cmd;
pub mod dns;
pub mod env;
pub mod hosts;
pub mod limited;
pub mod proxy;
pub mod redis;
pub mod server;
pub mod tls;
