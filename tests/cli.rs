//! Integration tests: the built `areq` binary, run as a user runs it, against HTTP servers
//! the tests start on 127.0.0.1.

mod cases;
mod support;
