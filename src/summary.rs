//! The end-of-run report: counters and failure reasons, printed on stderr.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::check::LinkCounts;
use crate::crawl::CrawlReport;
use crate::input::InputCounts;
use crate::output::WriterReport;

/// How many hosts the top lists name.
const TOP_HOSTS: usize = 10;

/// What happened in one run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    /// Input lines that were neither blank nor comments.
    pub urls_read: u64,
    /// Of those, lines that were not usable URLs.
    pub urls_invalid: u64,
    /// Of those, URLs already read on an earlier line (fetched once).
    pub urls_duplicate: u64,
    /// Of those, URLs an interrupted run already completed (`--resume`).
    pub urls_resumed: u64,
    /// HTML pages fetched and parsed.
    pub pages_ok: u64,
    /// Of those, pages cut at `--max-body`.
    pub pages_truncated: u64,
    /// Pages that failed, by reason (`http 404`, `timeout`, ...).
    pub failures: BTreeMap<String, u64>,
    /// 2xx responses that were not HTML.
    pub skipped_not_html: u64,
    /// Records written to the output.
    pub links_written: u64,
    /// HTML body bytes read (after decompression).
    pub bytes_read: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The run was stopped by Ctrl-C or a closed output before the input was done.
    pub interrupted: bool,
    /// The run followed links (`--depth` > 0): the crawl line is shown.
    pub recursive: bool,
    /// Pages fetched (whatever their outcome) by depth.
    pub pages_by_depth: BTreeMap<u32, u64>,
    /// Distinct hosts fetched from.
    pub hosts: u64,
    /// Pages not fetched because robots.txt disallows them.
    pub skipped_robots: u64,
    /// Distinct links not followed: off scope or filtered by `--include`/`--exclude`.
    pub skipped_scope: u64,
    /// Pages whose links were not followed because the page says `nofollow` (robots
    /// `<meta>` or `X-Robots-Tag`).
    pub skipped_nofollow: u64,
    /// Pages queued but not fetched because `--max-pages` was reached.
    pub skipped_budget: u64,
    /// Final HTTP status of every page that got an answer, by code.
    pub statuses: BTreeMap<u16, u64>,
    /// The hosts with the most pages fetched (with `--summary-json`).
    pub top_hosts_by_pages: Vec<(String, u64)>,
    /// The hosts with the most failed pages (with `--summary-json`).
    pub top_hosts_by_failures: Vec<(String, u64)>,
    /// The hosts given room because they struggled (429, 503, a run of timeouts), by name.
    pub slowed_hosts: Vec<SlowedHost>,
    /// The links checked, with `--check`.
    pub links: Option<LinkCounts>,
}

/// A host whose gap between requests was raised because it struggled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowedHost {
    /// The host name.
    pub host: String,
    /// How many times its gap was raised.
    pub times: u64,
    /// The longest gap it was given.
    pub longest_gap: Duration,
}

impl Summary {
    /// The summary of a run, from what its three parts counted: the crawl, the input reader
    /// and the writer.
    pub(crate) fn new(crawl: CrawlReport, input: InputCounts, written: WriterReport) -> Summary {
        let CrawlReport {
            tally,
            interrupted,
            recursive,
            skipped_budget,
            elapsed,
            frontier_error: _,
        } = crawl;
        Summary {
            urls_read: input.read,
            urls_invalid: input.invalid,
            urls_duplicate: tally.urls_duplicate,
            urls_resumed: tally.urls_resumed,
            pages_ok: tally.pages_ok,
            pages_truncated: tally.pages_truncated,
            skipped_not_html: tally.skipped_not_html,
            links_written: written.records,
            bytes_read: tally.bytes_read,
            elapsed,
            // A reader that stops early (`| head`) is a normal way to end a run; a writer
            // told to stop at once is not.
            interrupted: (interrupted && !written.reader_gone) || written.stopped,
            recursive,
            hosts: tally.hosts.len() as u64,
            skipped_robots: tally.skipped_robots,
            skipped_scope: tally.skipped_scope,
            skipped_nofollow: tally.skipped_nofollow,
            skipped_budget,
            top_hosts_by_pages: tally.hosts.top(TOP_HOSTS, |counts| counts.pages),
            top_hosts_by_failures: tally.hosts.top(TOP_HOSTS, |counts| counts.failures),
            pages_by_depth: tally.pages_by_depth,
            statuses: tally.statuses,
            failures: tally.failures,
            slowed_hosts: Vec::new(),
            links: None,
        }
    }

    /// The summary as the JSON document `--summary-json` writes (schema in the README).
    pub fn to_json(&self) -> String {
        let top = |list: &[(String, u64)], field: &'static str| -> Vec<serde_json::Value> {
            list.iter()
                .map(|(host, count)| serde_json::json!({ "host": host, field: count }))
                .collect()
        };
        let by_depth: BTreeMap<String, u64> = self
            .pages_by_depth
            .iter()
            .map(|(depth, pages)| (depth.to_string(), *pages))
            .collect();
        let statuses: BTreeMap<String, u64> = self
            .statuses
            .iter()
            .map(|(code, count)| (code.to_string(), *count))
            .collect();
        let document = JsonSummary {
            schema: 1,
            interrupted: self.interrupted,
            elapsed_secs: self.elapsed.as_secs_f64(),
            pages_per_sec: self.pages_per_second(),
            urls: JsonUrls {
                read: self.urls_read,
                invalid: self.urls_invalid,
                duplicate: self.urls_duplicate,
                resumed: self.urls_resumed,
            },
            pages: JsonPages {
                ok: self.pages_ok,
                failed: self.pages_failed(),
                truncated: self.pages_truncated,
                skipped_not_html: self.skipped_not_html,
                skipped_robots: self.skipped_robots,
                skipped_scope: self.skipped_scope,
                skipped_nofollow: self.skipped_nofollow,
                skipped_budget: self.skipped_budget,
                by_depth,
            },
            failures: &self.failures,
            statuses,
            links_written: self.links_written,
            bytes_read: self.bytes_read,
            hosts: self.hosts,
            top_hosts_by_pages: top(&self.top_hosts_by_pages, "pages"),
            top_hosts_by_failures: top(&self.top_hosts_by_failures, "failures"),
            slowed_hosts: self
                .slowed_hosts
                .iter()
                .map(|slowed| {
                    serde_json::json!({
                        "host": slowed.host,
                        "times": slowed.times,
                        "longest_gap_secs": slowed.longest_gap.as_secs_f64(),
                    })
                })
                .collect(),
            links: self.links.as_ref().map(|links| JsonLinks {
                checked: links.checked,
                broken: links.broken_total(),
                broken_by_status: &links.broken,
            }),
        };
        // Only strings, numbers and maps with string keys: serialising cannot fail.
        serde_json::to_string_pretty(&document).expect("summary serialises") + "\n"
    }

    /// How many pages failed, all reasons together.
    pub fn pages_failed(&self) -> u64 {
        self.failures.values().sum()
    }

    /// How many checked links are broken (`--check`), all statuses together.
    pub fn links_broken(&self) -> u64 {
        self.links.as_ref().map_or(0, LinkCounts::broken_total)
    }

    /// The slowed hosts as the text report names them: the first few, each with its longest
    /// gap, then how many more.
    fn slowed_list(&self) -> String {
        let mut named: Vec<String> = self
            .slowed_hosts
            .iter()
            .take(TOP_HOSTS)
            .map(|slowed| {
                let secs = slowed.longest_gap.as_secs_f64();
                format!("{} (gap up to {secs:.1} s)", slowed.host)
            })
            .collect();
        let more = self.slowed_hosts.len().saturating_sub(TOP_HOSTS);
        if more > 0 {
            named.push(format!("and {more} more"));
        }
        named.join(", ")
    }

    /// Pages fetched per second of wall time (ok, failed and skipped alike).
    pub fn pages_per_second(&self) -> f64 {
        let pages = self.pages_ok + self.pages_failed() + self.skipped_not_html;
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            pages as f64 / secs
        } else {
            0.0
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.interrupted {
            " (interrupted)"
        } else {
            ""
        };
        write!(
            f,
            "summary{state}: {} URLs read, {} invalid, {} duplicate",
            self.urls_read, self.urls_invalid, self.urls_duplicate
        )?;
        if self.urls_resumed > 0 {
            write!(f, ", {} done before (resumed)", self.urls_resumed)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "  pages: {} ok, {} failed, {} skipped (not HTML), {} truncated",
            self.pages_ok,
            self.pages_failed(),
            self.skipped_not_html,
            self.pages_truncated
        )?;
        if !self.failures.is_empty() {
            let reasons: Vec<String> = self
                .failures
                .iter()
                .map(|(reason, count)| format!("{reason}: {count}"))
                .collect();
            writeln!(f, "  failed: {}", reasons.join(", "))?;
        }
        if !self.slowed_hosts.is_empty() {
            writeln!(f, "  slowed: {}", self.slowed_list())?;
        }
        if let Some(links) = &self.links {
            write!(
                f,
                "  links: {} checked, {} broken",
                links.checked,
                links.broken_total()
            )?;
            if !links.broken.is_empty() {
                let statuses: Vec<String> = broken_by_count(&links.broken)
                    .map(|(status, count)| format!("{status}: {count}"))
                    .collect();
                write!(f, " ({})", statuses.join(", "))?;
            }
            writeln!(f)?;
        }
        if self.recursive {
            let depths: Vec<String> = self
                .pages_by_depth
                .iter()
                .map(|(depth, pages)| format!("{depth}: {pages}"))
                .collect();
            writeln!(
                f,
                "  crawl: {} hosts, pages by depth {}; not fetched: {} robots, {} nofollow, \
                 {} scope, {} budget",
                self.hosts,
                depths.join(", "),
                self.skipped_robots,
                self.skipped_nofollow,
                self.skipped_scope,
                self.skipped_budget
            )?;
        }
        writeln!(
            f,
            "  output: {} links written, {} read in {:.2} s ({:.1} pages/s)",
            self.links_written,
            human_bytes(self.bytes_read),
            self.elapsed.as_secs_f64(),
            self.pages_per_second()
        )
    }
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    schema: u32,
    interrupted: bool,
    elapsed_secs: f64,
    pages_per_sec: f64,
    urls: JsonUrls,
    pages: JsonPages,
    failures: &'a BTreeMap<String, u64>,
    statuses: BTreeMap<String, u64>,
    links_written: u64,
    bytes_read: u64,
    hosts: u64,
    top_hosts_by_pages: Vec<serde_json::Value>,
    top_hosts_by_failures: Vec<serde_json::Value>,
    slowed_hosts: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<JsonLinks<'a>>,
}

#[derive(Serialize)]
struct JsonLinks<'a> {
    checked: u64,
    broken: u64,
    broken_by_status: &'a BTreeMap<String, u64>,
}

/// Broken links by status, the most common first (ties by status).
fn broken_by_count(broken: &BTreeMap<String, u64>) -> impl Iterator<Item = (&String, &u64)> {
    let mut sorted: Vec<(&String, &u64)> = broken.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    sorted.into_iter()
}

#[derive(Serialize)]
struct JsonUrls {
    read: u64,
    invalid: u64,
    duplicate: u64,
    resumed: u64,
}

#[derive(Serialize)]
struct JsonPages {
    ok: u64,
    failed: u64,
    truncated: u64,
    skipped_not_html: u64,
    skipped_robots: u64,
    skipped_scope: u64,
    skipped_nofollow: u64,
    skipped_budget: u64,
    by_depth: BTreeMap<String, u64>,
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_shown_in_order_of_reason() {
        let summary = Summary {
            failures: BTreeMap::from([
                ("timeout".to_string(), 1),
                ("http 500".to_string(), 1),
                ("http 404".to_string(), 2),
            ]),
            ..Summary::default()
        };
        assert_eq!(summary.pages_failed(), 4);
        let text = summary.to_string();
        assert!(
            text.contains("  failed: http 404: 2, http 500: 1, timeout: 1\n"),
            "{text}"
        );
    }

    #[test]
    fn slowed_hosts_are_named_with_their_longest_gap() {
        let slowed = |host: &str, ms| SlowedHost {
            host: host.into(),
            times: 2,
            longest_gap: Duration::from_millis(ms),
        };
        let summary = Summary {
            slowed_hosts: vec![slowed("a.test", 4000), slowed("b.test", 1500)],
            ..Summary::default()
        };
        let text = summary.to_string();
        assert!(
            text.contains("  slowed: a.test (gap up to 4.0 s), b.test (gap up to 1.5 s)\n"),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&summary.to_json()).unwrap();
        assert_eq!(json["slowed_hosts"][0]["host"], "a.test");
        assert_eq!(json["slowed_hosts"][0]["times"], 2);
        assert_eq!(json["slowed_hosts"][1]["longest_gap_secs"], 1.5);
        assert!(!Summary::default().to_string().contains("slowed"));
    }

    #[test]
    fn bytes_are_human_sized() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
