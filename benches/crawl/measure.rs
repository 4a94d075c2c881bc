//! Running areq (the binary under test, the baseline) or another crawler as a child process and
//! measuring it: wall time, CPU time (user + sys) and peak RSS of the child from `wait4(2)`'s
//! `rusage`, and the number of output lines.
//!
//! The peak RSS a parent sees for a child includes the parent's own resident set at the time
//! of the fork (Linux keeps the high-water mark across `execve`), and the bench holds the whole
//! site in memory at times. So areq is not spawned by the bench itself but by a small helper:
//! this binary re-executed as `--measure RESULT PROGRAM ARGS…`, which is a few MiB when it forks
//! areq, waits for it with `wait4` and writes the status and `rusage` to RESULT.
//!
//! The helper and areq are tied to their parents (`PR_SET_PDEATHSIG`), so killing the bench
//! ends them too.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::process::{self, describe_status, reap, spawn_tied, SIGKILL};

/// The helper's flag: `--measure RESULT PROGRAM ARGS…`.
pub const MEASURE_FLAG: &str = "--measure";

/// What one run of areq cost.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Spawn to exit.
    pub wall: Duration,
    /// User plus system CPU time of the child.
    pub cpu: Duration,
    /// Peak resident set size of the child, in KiB.
    pub max_rss_kib: u64,
    /// Lines of output written.
    pub lines: u64,
}

/// Where the measured program writes its records.
#[derive(Debug, Clone, Copy)]
pub enum Output<'a> {
    /// `-o FILE`; the lines are counted from the file after the run.
    File(&'a Path),
    /// `-o -`; the lines are counted from the pipe as they come.
    Pipe,
    /// No `-o` and no records (a program other than areq); stdout is discarded, 0 lines.
    Nothing,
    /// No `-o` (a program other than areq): stdout goes to this file, read by the caller; 0
    /// lines (its format is the program's own).
    Stdout(&'a Path),
}

/// Runs the areq under test as `areq ARGS -o OUTPUT` (see [`run_program`]).
pub fn run_areq<S: AsRef<OsStr>>(args: &[S], output: Output<'_>, timeout: Duration) -> Run {
    run_program(
        Path::new(env!("CARGO_BIN_EXE_areq")),
        args,
        output,
        timeout,
        &[],
    )
}

/// Runs `PROGRAM ARGS -o OUTPUT` through the helper, killing it after `timeout`. Panics when it
/// fails (exits with other than 0 or one of `also_ok`), times out or leaves a partial last
/// line: a benchmark of a broken run means nothing.
pub fn run_program<S: AsRef<OsStr>>(
    program: &Path,
    args: &[S],
    output: Output<'_>,
    timeout: Duration,
    also_ok: &[i32],
) -> Run {
    try_run_program(program, args, output, timeout, also_ok).unwrap_or_else(|err| panic!("{err}"))
}

/// [`run_program`], returning why a run failed or timed out instead of panicking (for
/// programs other than areq, whose failure leaves their row out).
pub fn try_run_program<S: AsRef<OsStr>>(
    program: &Path,
    args: &[S],
    output: Output<'_>,
    timeout: Duration,
    also_ok: &[i32],
) -> Result<Run, String> {
    let report = tempfile::Builder::new()
        .prefix("areq-bench-rusage")
        .tempfile()
        .expect("cannot create a temp file");
    let text = || args_text(program, args);
    let mut command = helper_command(program, args, output, report.path());
    let mut child = spawn_tied(&mut command, SIGKILL).expect("cannot start the measuring helper");
    let counter = child
        .stdout
        .take()
        .map(|stdout| thread::spawn(move || count_lines(stdout)));
    let stderr = child
        .stderr
        .take()
        .map(|stderr| thread::spawn(move || read_tail(stderr)));
    let helper_status = wait_or_kill(child, timeout)
        .ok_or_else(|| format!("{} did not finish within {timeout:?}", text()))?;
    let errors = stderr
        .map(|reader| reader.join().expect("stderr reader panicked"))
        .and_then(Result::ok)
        .unwrap_or_default();
    if !helper_status.success() {
        return Err(format!(
            "the measuring helper failed ({helper_status}): {}\nstderr: {errors}",
            text()
        ));
    }
    let measured = fs::read_to_string(report.path())
        .ok()
        .and_then(|text| Measured::parse(&text))
        .ok_or("the measuring helper wrote no result")?;
    let exited = (measured.status & 0x7f == 0).then_some((measured.status >> 8) & 0xff);
    if !exited.is_some_and(|code| code == 0 || also_ok.contains(&code)) {
        return Err(format!(
            "{} failed ({})\nstderr: {errors}",
            text(),
            describe_status(measured.status)
        ));
    }
    let lines = match (counter, output) {
        (Some(counter), _) => counter.join().expect("line counter panicked"),
        (None, Output::File(path)) => File::open(path).and_then(count_lines),
        (None, Output::Nothing | Output::Stdout(_)) => Ok(0),
        (None, Output::Pipe) => unreachable!("a pipe always has a counter"),
    }
    .map_err(|err| format!("bad output of {}: {err}", text()))?;
    Ok(Run {
        wall: Duration::from_micros(measured.wall_us),
        cpu: Duration::from_micros(measured.cpu_us),
        max_rss_kib: measured.max_rss_kib,
        lines,
    })
}

/// `BENCH --measure REPORT PROGRAM ARGS -o OUTPUT`, with stdout piped when the program writes
/// its records there.
fn helper_command<S: AsRef<OsStr>>(
    program: &Path,
    args: &[S],
    output: Output<'_>,
    report: &Path,
) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("no path to this binary"));
    command
        .arg(MEASURE_FLAG)
        .arg(report)
        .arg(program)
        .args(args);
    match output {
        Output::File(path) => command.arg("-o").arg(path).stdout(Stdio::null()),
        Output::Pipe => command.arg("-o").arg("-").stdout(Stdio::piped()),
        Output::Nothing => command.stdout(Stdio::null()),
        Output::Stdout(path) => {
            command.stdout(File::create(path).expect("cannot create the output"))
        }
    };
    command.stdin(Stdio::null()).stderr(Stdio::piped());
    command
}

/// The helper's exit status, or `None` after killing it (and so areq) at `timeout`.
fn wait_or_kill(mut child: Child, timeout: Duration) -> Option<ExitStatus> {
    let pid = child.id();
    let (sender, receiver) = mpsc::channel();
    // Waited for on a thread of its own, so this one can time out.
    thread::spawn(move || {
        // The receiver is gone only when the bench already gave up on this run.
        let _ = sender.send(child.wait());
    });
    match receiver.recv_timeout(timeout) {
        Ok(status) => Some(status.expect("waiting for the helper failed")),
        Err(_) => {
            // Still running, so not reaped and the pid is still the helper's: kill it, and areq
            // dies with it (PR_SET_PDEATHSIG); give the waiter a moment to reap it.
            process::signal(pid, SIGKILL);
            let _ = receiver.recv_timeout(Duration::from_secs(10));
            None
        }
    }
}

/// What the helper reports about its child: `status wall_us cpu_us max_rss_kib`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Measured {
    status: i32,
    wall_us: u64,
    cpu_us: u64,
    max_rss_kib: u64,
}

impl Measured {
    fn format(&self) -> String {
        format!(
            "{} {} {} {}\n",
            self.status, self.wall_us, self.cpu_us, self.max_rss_kib
        )
    }

    fn parse(text: &str) -> Option<Self> {
        let mut fields = text.split_ascii_whitespace();
        Some(Self {
            status: fields.next()?.parse().ok()?,
            wall_us: fields.next()?.parse().ok()?,
            cpu_us: fields.next()?.parse().ok()?,
            max_rss_kib: fields.next()?.parse().ok()?,
        })
    }
}

/// The helper: `--measure RESULT PROGRAM ARGS…` (the flag already taken off `args`). Runs
/// PROGRAM with this process's stdin, stdout and stderr, then writes what it cost to RESULT.
pub fn measure_main(args: &[OsString]) -> ! {
    let [result, program, rest @ ..] = args else {
        eprintln!("bench: usage: {MEASURE_FLAG} RESULT PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    match measure_child(program, rest) {
        Ok(measured) => match fs::write(result, measured.format()) {
            Ok(()) => std::process::exit(0),
            Err(err) => eprintln!("bench: cannot write {}: {err}", result.to_string_lossy()),
        },
        Err(err) => eprintln!("bench: cannot run {}: {err}", program.to_string_lossy()),
    }
    std::process::exit(1)
}

fn measure_child(program: &OsStr, args: &[OsString]) -> io::Result<Measured> {
    let mut command = Command::new(program);
    command.args(args);
    let started = Instant::now();
    let child = spawn_tied(&mut command, SIGKILL)?;
    let exit = reap(child.id())?;
    let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    Ok(Measured {
        status: exit.status,
        wall_us: micros(exit.at - started),
        cpu_us: micros(exit.cpu),
        max_rss_kib: exit.max_rss_kib,
    })
}

/// `areq ARGS…`, or the program's file name with its arguments, for messages.
fn args_text<S: AsRef<OsStr>>(program: &Path, args: &[S]) -> String {
    let name = program
        .file_name()
        .map_or_else(|| program.to_string_lossy(), |name| name.to_string_lossy());
    let args: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    format!("{name} {}", args.join(" "))
}

/// Newlines in `reader`; an error if the data does not end with one (a partial line).
pub fn count_lines(mut reader: impl Read) -> io::Result<u64> {
    let mut buffer = vec![0u8; 256 * 1024];
    let mut lines = 0u64;
    let mut last = b'\n';
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        lines += buffer[..read].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buffer[read - 1];
    }
    if last != b'\n' {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "output ends in a partial line",
        ));
    }
    Ok(lines)
}

/// The last 16 KiB of a stream (areq's error messages, if any).
fn read_tail(mut reader: impl Read) -> io::Result<String> {
    let mut text = Vec::new();
    reader.read_to_end(&mut text)?;
    let start = text.len().saturating_sub(16 * 1024);
    Ok(String::from_utf8_lossy(&text[start..]).into_owned())
}

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}
