//! A recursive crawl of the Rust docs served over HTTP (nginx when installed), from their
//! `index.html`: areq, the baseline and wget2 in the same run, rounds interleaved. Rows: wall,
//! CPU, peak RSS and pages of each; targets: areq within 1.3x of wget2's wall time, and areq's
//! peak RSS at most 100 MB.
//!
//! wget2 is run to do what areq does: fetch every HTML page once, parse it and follow its links
//! on the same host, obeying robots.txt, 64 requests at a time, writing nothing that stays:
//! `wget2 --no-config -r -l inf --max-threads=64 --robots --filter-urls --reject=EXTS
//! --delete-after -P TMP -q --stats-site=csv:FILE URL`. `--reject` lists the path endings areq
//! never fetches in a crawl, and `--filter-urls` applies it to URLs before any request (else
//! wget2 asks with HEAD); `--delete-after` removes each page once parsed; the stats file lists
//! every request, for the page count.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::contenders::Contenders;
use crate::measure::{median, run_program, Output, Run};
use crate::report::{count, megabytes, verdict, Row};
use crate::server::{Choice, Server};
use crate::speed::{crawl_args, median_reached, median_wall, read_reached, Reached};
use crate::workloads::{common, interleave, progress, server_cpu, write_urls};

/// Most wall time of areq's crawl, over wget2's.
pub const WALL_TARGET: f64 = 1.3;
/// Most peak RSS of areq's crawl, in MB (10^6 bytes).
pub const RSS_TARGET_MB: f64 = 100.0;
/// Page counts this close (a share of the larger) are comparable.
const COMPARABLE: f64 = 0.02;
/// The path endings areq never fetches in a crawl (`src/scope.rs`), for wget2's `--reject`.
const NOT_HTML: &str = "7z,avi,bmp,bz2,css,csv,doc,docx,eot,exe,flac,gif,gz,ico,iso,jpeg,jpg,js,\
                        json,m4a,mjs,mkv,mov,mp3,mp4,mpeg,ogg,otf,pdf,png,ppt,pptx,rar,rss,svg,\
                        tar,tgz,tif,tiff,ttf,txt,wav,webm,webp,woff,woff2,xls,xlsx,xml,xz,zip";
/// wget2's exit status when a server answered with an error (a 404), which is no failure here.
const WGET2_SERVER_ERROR: i32 = 8;
/// Longest a crawl of the docs may take.
const TIMEOUT: Duration = Duration::from_secs(1200);

/// Who crawls: an areq binary or wget2.
enum Crawler<'a> {
    Areq(&'a Path),
    Wget2(&'a Path),
}

/// Pages wget2 requested (robots.txt aside) and how many answered 200.
#[derive(Debug, Clone, Copy, Default)]
struct Requested {
    fetched: u64,
    ok: u64,
}

/// The docs crawl's rows and notes; the wget2 rows and comparison are left out, with a note,
/// when wget2 is not installed.
pub fn docs_crawl(
    dir: &Path,
    contenders: &Contenders<'_>,
    choice: Choice,
    runs: usize,
    work: &Path,
) -> (Vec<Row>, Vec<String>) {
    let mut server = match Server::start_static(dir, choice) {
        Ok(server) => server,
        Err(err) => return (Vec::new(), vec![format!("docs crawl: no server ({err})")]),
    };
    let seed_url = format!("{}/index.html", server.origin());
    let seeds = work.join("docs-seed.txt");
    write_urls(&seeds, 1, |_| seed_url.clone()).expect("cannot write the seed");
    let wget2 = find_on_path("wget2");
    let mut crawlers: Vec<(String, Crawler<'_>)> = contenders
        .each()
        .map(|(label, binary)| (label.to_owned(), Crawler::Areq(binary)))
        .collect();
    let mut notes = Vec::new();
    match &wget2 {
        Some(path) => crawlers.push((wget2_version(path), Crawler::Wget2(path))),
        None => {
            let note = "docs crawl: wget2 is not installed, so areq's wall time is not compared \
                        with it";
            progress(note);
            notes.push(note.to_owned());
        }
    }
    let labels: Vec<String> = crawlers
        .iter()
        .map(|(label, _)| format!("docs crawl, {label}"))
        .collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let mut reached: Vec<Vec<Reached>> = vec![Vec::new(); crawlers.len()];
    let mut requested = Vec::new();
    let mut turn = 0;
    let results = interleave(&labels, runs, |i| {
        turn += 1;
        match crawlers[i].1 {
            Crawler::Areq(binary) => {
                let (run, pages) = run_areq_crawl(binary, &seeds, work, turn);
                reached[i].push(pages);
                run
            }
            Crawler::Wget2(path) => {
                let (run, pages) = run_wget2(path, &seed_url, work, turn);
                requested.push(pages);
                run
            }
        }
    });
    let requests: usize = reached
        .iter()
        .flatten()
        .map(|r| r.fetched as usize)
        .sum::<usize>()
        + requested.iter().map(|r| r.fetched as usize).sum::<usize>();
    notes.extend(server_cpu(
        &format!("docs server ({})", server.name),
        server.stop(),
        requests,
    ));
    let mut rows = Vec::new();
    let wget2_wall = wget2
        .as_ref()
        .map(|_| median_wall(&results[crawlers.len() - 1]));
    for (i, (label, crawler)) in crawlers.iter().enumerate() {
        let runs = &results[i];
        rows.push(match crawler {
            Crawler::Areq(_) => areq_row(label, runs, &reached[i], i == 0, &results[0], wget2_wall),
            Crawler::Wget2(_) => wget2_row(label, runs, &requested),
        });
    }
    rows.push(rss_row(&results[0]));
    notes.push(compare_counts(&crawlers, &reached, &requested));
    (rows, notes)
}

/// One areq crawl of the docs, its output removed once counted.
fn run_areq_crawl(binary: &Path, seeds: &Path, work: &Path, turn: usize) -> (Run, Reached) {
    let output = work.join(format!("docs-{turn}.tsv"));
    let summary = work.join(format!("docs-{turn}.json"));
    let run = run_program(
        binary,
        &crawl_args(seeds, &summary),
        Output::File(&output),
        TIMEOUT,
        &[],
    );
    let pages = read_reached(&summary);
    let _ = fs::remove_file(&output);
    let _ = fs::remove_file(&summary);
    (run, pages)
}

/// One wget2 crawl of the docs from `url`, its downloads and stats removed once counted.
fn run_wget2(wget2: &Path, url: &str, work: &Path, turn: usize) -> (Run, Requested) {
    let downloads = work.join(format!("wget2-{turn}"));
    let stats = work.join(format!("wget2-{turn}.csv"));
    let mut stats_arg = std::ffi::OsString::from("--stats-site=csv:");
    stats_arg.push(&stats);
    let mut args: Vec<std::ffi::OsString> = [
        "--no-config",
        "-r",
        "-l",
        "inf",
        "--max-threads=64",
        "--robots",
        "--filter-urls",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.push(format!("--reject={NOT_HTML}").into());
    args.extend([
        "--delete-after".into(),
        "-P".into(),
        downloads.clone().into(),
    ]);
    args.extend(["-q".into(), stats_arg, url.into()]);
    let run = run_program(
        wget2,
        &args,
        Output::Nothing,
        TIMEOUT,
        &[WGET2_SERVER_ERROR],
    );
    let text = fs::read_to_string(&stats).expect("wget2 wrote no stats");
    let _ = fs::remove_file(&stats);
    let _ = fs::remove_dir_all(&downloads);
    (run, count_requests(&text))
}

/// GET requests in wget2's `--stats-site` CSV, robots.txt aside. Its columns are `ID, ParentID,
/// URL, Status, Link, Method, Size, SizeDecompressed, TransferTime, ResponseTime, Encoding,
/// Verification`; a URL may hold commas, so the fields are taken from the right.
fn count_requests(csv: &str) -> Requested {
    let mut requested = Requested::default();
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.rsplitn(10, ',').collect();
        let [_, _, _, _, _, _, method, _link, status, rest] = fields[..] else {
            continue;
        };
        if method != "1" || rest.ends_with("/robots.txt") {
            continue;
        }
        requested.fetched += 1;
        requested.ok += u64::from(status == "200");
    }
    requested
}

fn areq_row(
    label: &str,
    runs: &[Run],
    reached: &[Reached],
    under_test: bool,
    new: &[Run],
    wget2_wall: Option<f64>,
) -> Row {
    let (fetched, parsed) = median_reached(reached);
    let bytes = median(reached.iter().map(|r| r.bytes as f64));
    let wall = median_wall(runs);
    let mut row = Row {
        workload: format!("docs crawl: {label}, recursive from index.html"),
        input: format!(
            "{} pages fetched ({} HTML, {:.0} MB), -d unbounded -c 64 --per-host 64",
            count(fetched as u64),
            count(parsed as u64),
            bytes / 1e6
        ),
        rate: format!("{:.0} pages/s", fetched / wall),
        ..common(runs)
    };
    if under_test {
        if let Some(wget2_wall) = wget2_wall {
            let ratio = wall / wget2_wall;
            row.floor = format!("target ≤ {WALL_TARGET}x wget2's wall");
            row.ratio = verdict(&format!("{ratio:.2}x"), ratio <= WALL_TARGET);
        }
    } else {
        row.floor = "areq's speedup over it (no floor)".to_owned();
        row.ratio = format!("{:.2}x", wall / median_wall(new));
    }
    row
}

fn wget2_row(label: &str, runs: &[Run], requested: &[Requested]) -> Row {
    let fetched = median(requested.iter().map(|r| r.fetched as f64));
    let ok = median(requested.iter().map(|r| r.ok as f64));
    let wall = median_wall(runs);
    Row {
        workload: format!("docs crawl: {label}, recursive from index.html"),
        input: format!(
            "{} pages fetched ({} answered 200), -r -l inf --max-threads=64",
            count(fetched as u64),
            count(ok as u64)
        ),
        rate: format!("{:.0} pages/s", fetched / wall),
        ..common(runs)
    }
}

fn rss_row(new: &[Run]) -> Row {
    let peak_kib = median(new.iter().map(|r| r.max_rss_kib as f64));
    Row {
        workload: "docs crawl: areq's peak RSS".to_owned(),
        input: "the crawl above".to_owned(),
        rss: megabytes(peak_kib),
        floor: format!("target ≤ {RSS_TARGET_MB:.0} MB"),
        ratio: verdict(
            &megabytes(peak_kib),
            peak_kib * 1024.0 / 1e6 <= RSS_TARGET_MB,
        ),
        ..Row::default()
    }
}

/// A note with every crawler's page count, and whether they are comparable.
fn compare_counts(
    crawlers: &[(String, Crawler<'_>)],
    reached: &[Vec<Reached>],
    requested: &[Requested],
) -> String {
    let mut counts = Vec::new();
    for (i, (label, crawler)) in crawlers.iter().enumerate() {
        let pages = match crawler {
            Crawler::Areq(_) => median_reached(&reached[i]).0,
            Crawler::Wget2(_) => median(requested.iter().map(|r| r.fetched as f64)),
        };
        counts.push((label.as_str(), pages));
    }
    let most = counts.iter().map(|c| c.1).fold(0.0, f64::max);
    let least = counts.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    let verdict = if most - least <= COMPARABLE * most {
        format!("comparable (within {:.0}%)", COMPARABLE * 100.0)
    } else {
        format!(
            "NOT comparable (more than {:.0}% apart)",
            COMPARABLE * 100.0
        )
    };
    let listed: Vec<String> = counts
        .iter()
        .map(|(label, pages)| format!("{label} {}", count(*pages as u64)))
        .collect();
    format!(
        "docs crawl: pages fetched (robots.txt aside): {}: {verdict}",
        listed.join(", ")
    )
}

/// `PROGRAM` in a directory of `PATH`.
fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `wget2 1.99.1`, from `wget2 --version`.
fn wget2_version(wget2: &Path) -> String {
    let output = Command::new(wget2).arg("--version").output();
    let text = output
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    let version = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("GNU Wget2 "))
        .and_then(|rest| rest.split_whitespace().next());
    match version {
        Some(version) => format!("wget2 {version}"),
        None => "wget2".to_owned(),
    }
}
