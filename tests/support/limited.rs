//! Running areq with a low open-file limit, as on a machine with `ulimit -n 256`.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use super::cmd::{finish, Areq, Run};

/// Runs areq with `args` in `areq`'s temp dir, its soft and hard `RLIMIT_NOFILE` both set
/// to `open_files` (so raising the soft limit gains nothing).
pub fn run_with_open_files(areq: &Areq, open_files: u64, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_areq"));
    command
        .args(args)
        .current_dir(areq.dir())
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let limit = libc::rlimit {
        rlim_cur: open_files as libc::rlim_t,
        rlim_max: open_files as libc::rlim_t,
    };
    // SAFETY: between fork and exec the closure only calls setrlimit, which is
    // async-signal-safe, and touches no memory but its own copy of `limit`.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    finish(command.spawn().expect("start areq"))
}
