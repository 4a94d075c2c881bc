//! Integration tests: the built `areq` binary against servers on 127.0.0.1.
mod support;
