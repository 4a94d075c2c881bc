//! The results: a markdown table with the machine it ran on, printed and written to a file.

use std::fmt::Write as _;
use std::fs;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// One line of the results table. Every cell is preformatted text.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// What ran.
    pub workload: String,
    /// Its input and flags.
    pub input: String,
    /// Median wall time.
    pub wall: String,
    /// Median rate(s).
    pub rate: String,
    /// Median CPU time of the child.
    pub cpu: String,
    /// Median peak RSS of the child.
    pub rss: String,
    /// What the result is compared against.
    pub floor: String,
    /// Result over floor (or the other way round, as labelled).
    pub ratio: String,
    /// Wall time of every run.
    pub runs: String,
}

/// Where and how the benchmark ran.
#[derive(Debug, Clone)]
pub struct Context {
    /// `quick` or `full`, with run counts.
    pub mode: String,
    /// The static server (`nginx 1.22.1` or `bundled`).
    pub static_server: String,
    /// The generated site in one line.
    pub site: String,
    /// The baseline areq compared with, or `none`.
    pub baseline: String,
    /// `/proc/loadavg` when the benchmark started: other work on the machine skews results.
    pub load_at_start: String,
}

/// The whole report as markdown: a header with the machine, the table, then `notes`.
pub fn render(context: &Context, rows: &[Row], notes: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# areq crawl benchmark\n");
    for (key, value) in machine(context) {
        let _ = writeln!(out, "- {key}: {value}");
    }
    out.push('\n');
    let header = [
        "Workload",
        "Input",
        "Wall (median)",
        "Rate",
        "CPU user+sys",
        "Peak RSS",
        "Floor",
        "Ratio",
        "Runs (wall)",
    ];
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for row in rows {
        let cells = [
            &row.workload,
            &row.input,
            &row.wall,
            &row.rate,
            &row.cpu,
            &row.rss,
            &row.floor,
            &row.ratio,
            &row.runs,
        ];
        let cells: Vec<&str> = cells.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    if !notes.is_empty() {
        out.push('\n');
        for note in notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    out
}

fn cell(text: &str) -> &str {
    if text.is_empty() {
        "–"
    } else {
        text
    }
}

fn machine(context: &Context) -> Vec<(&'static str, String)> {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    vec![
        ("date", utc_now()),
        ("mode", context.mode.clone()),
        ("areq", areq_version()),
        ("cpu", format!("{cores} × {}", cpu_model())),
        ("memory", memory_total()),
        ("kernel", kernel()),
        ("load average at start", context.load_at_start.clone()),
        ("static server", context.static_server.clone()),
        (
            "delay/fast server",
            "bundled (thread per connection, keep-alive)".to_owned(),
        ),
        ("site", context.site.clone()),
        ("baseline", context.baseline.clone()),
    ]
}

/// `areq 0.1.0`, from the binary under test.
fn areq_version() -> String {
    Command::new(env!("CARGO_BIN_EXE_areq"))
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|version| !version.is_empty())
        .unwrap_or_else(|| format!("areq {}", env!("CARGO_PKG_VERSION")))
}

fn cpu_model() -> String {
    let info = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map_or_else(
            || "unknown model".to_owned(),
            |(_, model)| model.trim().to_owned(),
        )
}

fn memory_total() -> String {
    let info = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = info
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        });
    kib.map_or_else(
        || "unknown".to_owned(),
        |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0),
    )
}

/// The 1, 5 and 15 minute load averages, now.
pub fn load_average() -> String {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let fields: Vec<&str> = text.split_whitespace().take(3).collect();
    if fields.is_empty() {
        "unknown".to_owned()
    } else {
        format!("{} (1, 5, 15 min)", fields.join(" "))
    }
}

fn kernel() -> String {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("Linux {}", release.trim())
}

/// The current time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        of_day / 3600,
        of_day % 3600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Day and month are within 1..=31 and 1..=12 by construction.
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `1.23 s` / `456 ms`.
pub fn seconds(value: f64) -> String {
    if value < 1.0 {
        format!("{:.0} ms", value * 1000.0)
    } else {
        format!("{value:.2} s")
    }
}

/// `12.3 MiB`, from KiB.
pub fn mebibytes(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

/// `12,345` for counts.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A measured value and whether it met its floor or target: `2.51x: met`, `1.02x: MISSED`.
pub fn verdict(measured: &str, met: bool) -> String {
    let word = if met { "met" } else { "MISSED" };
    format!("{measured}: {word}")
}

/// `38.1 MB`, from KiB (MB = 10^6 bytes, as targets are stated).
pub fn megabytes(kib: f64) -> String {
    format!("{:.1} MB", kib * 1024.0 / 1e6)
}
