//! Shared helpers for the integration tests: a loopback HTTP server and a runner for the binary.

pub mod cmd;
pub mod dns;
pub mod hosts;
pub mod limited;
pub mod redis;
pub mod server;
