//! The few Linux process calls std does not offer, declared against glibc directly (no `libc`
//! crate): `wait4` with its `rusage`, `kill`, `prctl(PR_SET_PDEATHSIG)` and `geteuid`.
//!
//! The `rusage` layout is the one of 64-bit Linux: two `timeval`s, then 14 `long`s.

use std::ffi::{c_int, c_long, c_ulong};
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
compile_error!("the crawl bench reads rusage as laid out on 64-bit Linux");

/// SIGKILL.
pub const SIGKILL: c_int = 9;
/// SIGTERM.
pub const SIGTERM: c_int = 15;
const PR_SET_PDEATHSIG: c_int = 1;

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct Timeval {
    sec: c_long,
    usec: c_long,
}

impl Timeval {
    fn duration(self) -> Duration {
        let micros = i128::from(self.sec) * 1_000_000 + i128::from(self.usec);
        Duration::from_micros(u64::try_from(micros).unwrap_or(0))
    }
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    /// Peak resident set size in KiB.
    maxrss: c_long,
    /// ixrss … nivcsw, unused here.
    rest: [c_long; 13],
}

extern "C" {
    fn wait4(pid: c_int, status: *mut c_int, options: c_int, rusage: *mut Rusage) -> c_int;
    fn kill(pid: c_int, signal: c_int) -> c_int;
    fn prctl(option: c_int, arg2: c_ulong, arg3: c_ulong, arg4: c_ulong, arg5: c_ulong) -> c_int;
    fn geteuid() -> u32;
}

/// How a reaped child ended and what it cost (its own usage plus that of the children it
/// reaped, such as nginx's workers).
#[derive(Debug, Clone, Copy)]
pub struct Exit {
    /// The raw wait status.
    pub status: c_int,
    /// When `wait4` returned.
    pub at: Instant,
    /// User plus system CPU time.
    pub cpu: Duration,
    /// Peak resident set size in KiB. It includes the parent's resident set at the fork, so
    /// only a small parent gives a meaningful number.
    pub max_rss_kib: u64,
}

/// Waits for child `pid` to exit, retrying on EINTR a bounded number of times.
pub fn reap(pid: u32) -> io::Result<Exit> {
    wait(pid, 0)?.ok_or_else(|| io::Error::other("wait4 returned without a child"))
}

/// The child's exit if it has exited, else `None` at once.
pub fn try_reap(pid: u32) -> io::Result<Option<Exit>> {
    wait(pid, WNOHANG)
}

const WNOHANG: c_int = 1;

fn wait(pid: u32, options: c_int) -> io::Result<Option<Exit>> {
    let pid = c_int::try_from(pid).map_err(io::Error::other)?;
    for _ in 0..1000 {
        let mut status: c_int = 0;
        let mut usage = Rusage::default();
        // SAFETY: both pointers are to live, writable values of the right C layout.
        let result = unsafe { wait4(pid, &mut status, options, &mut usage) };
        let at = Instant::now();
        if result == pid {
            return Ok(Some(Exit {
                status,
                at,
                cpu: usage.utime.duration() + usage.stime.duration(),
                max_rss_kib: u64::try_from(usage.maxrss).unwrap_or(0),
            }));
        }
        if result == 0 {
            return Ok(None);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Err(io::Error::other("wait4 kept being interrupted"))
}

/// `exit 1` or `signal 9`, from a wait status.
pub fn describe_status(status: c_int) -> String {
    let signal = status & 0x7f;
    if signal == 0 {
        format!("exit {}", (status >> 8) & 0xff)
    } else {
        format!("signal {signal}")
    }
}

/// Sends `signal` to child `pid`, which must not be reaped yet.
pub fn signal(pid: u32, signal: c_int) {
    if let Ok(pid) = c_int::try_from(pid) {
        // SAFETY: kill(2) on our own unreaped child's pid; a failure only means it is gone.
        unsafe { kill(pid, signal) };
    }
}

/// Spawns `command` so the child gets `signal` when this process dies, however it dies.
pub fn spawn_tied(command: &mut Command, signal: c_int) -> io::Result<Child> {
    let signal = c_ulong::try_from(signal).map_err(io::Error::other)?;
    // SAFETY: prctl(2) is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(move || {
            if prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0) == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        });
    }
    command.spawn()
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and has no side effects.
    unsafe { geteuid() == 0 }
}
