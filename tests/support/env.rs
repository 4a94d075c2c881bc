//! Running areq with chosen environment variables (on top of the scrubbed environment), for
//! the settings that come from the environment: proxies, `SSL_CERT_FILE`.

#![allow(dead_code)]

use std::process::{Command, Stdio};

use crate::support::cmd::{finish, Areq, Run};

impl Areq {
    /// Runs areq with `args` and exactly the environment variables `env`.
    pub fn run_with_vars(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let child = Command::new(env!("CARGO_BIN_EXE_areq"))
            .args(args)
            .current_dir(self.dir())
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start areq");
        finish(child)
    }
}
