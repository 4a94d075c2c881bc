//! The crawl's counts, kept by the scheduler as pages end: outcomes, statuses, depths, hosts.
//! The [`Summary`](crate::summary::Summary) is built from them at the end of the run.

use std::collections::{BTreeMap, HashMap};

use crate::fetch::FetchError;
use crate::job::Job;
use crate::page::Outcome;

/// What the pages of a crawl came to, so far.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Pages ended, whatever their outcome.
    pub(crate) ended: u64,
    /// HTML pages fetched and parsed.
    pub(crate) pages_ok: u64,
    /// Of those, pages cut at `--max-body`.
    pub(crate) pages_truncated: u64,
    /// Pages that failed, by reason.
    pub(crate) failures: BTreeMap<String, u64>,
    /// 2xx responses that were not HTML.
    pub(crate) skipped_not_html: u64,
    /// Pages robots.txt disallows.
    pub(crate) skipped_robots: u64,
    /// Distinct links not followed: off scope or filtered.
    pub(crate) skipped_scope: u64,
    /// Pages whose links were not followed because the page says `nofollow`.
    pub(crate) skipped_nofollow: u64,
    /// Records formatted for the output.
    pub(crate) links: u64,
    /// HTML body bytes read.
    pub(crate) bytes_read: u64,
    /// Final HTTP statuses by code.
    pub(crate) statuses: BTreeMap<u16, u64>,
    /// Pages fetched (whatever their outcome) by depth.
    pub(crate) pages_by_depth: BTreeMap<u32, u64>,
    /// Input URLs listed before (fetched once).
    pub(crate) urls_duplicate: u64,
    /// Input URLs an interrupted run already completed.
    pub(crate) urls_resumed: u64,
    /// Pages and failures per host fetched from.
    pub(crate) hosts: HostTally,
}

impl Tally {
    /// Counts one ended page.
    pub(crate) fn record(&mut self, job: &Job, outcome: &Outcome) {
        if matches!(outcome, Outcome::Stopped) {
            // Not ended: it goes back to the frontier.
            return;
        }
        self.ended += 1;
        match outcome {
            Outcome::Stopped => {}
            Outcome::Robots => {
                self.skipped_robots += 1;
                return;
            }
            Outcome::Parsed {
                status,
                links,
                bytes,
                truncated,
            } => {
                self.record_status(*status);
                self.pages_ok += 1;
                self.pages_truncated += u64::from(*truncated);
                self.bytes_read += bytes;
                self.links += links;
            }
            Outcome::NotHtml { status } => {
                self.record_status(*status);
                self.skipped_not_html += 1;
            }
            Outcome::Failed(err) => self.record_failure(err),
        }
        let failed = matches!(outcome, Outcome::Failed(_));
        self.hosts.record(job.host(), failed);
        *self.pages_by_depth.entry(job.depth).or_default() += 1;
    }

    /// Counts a page task that died (a bug), as a failure of its own kind.
    pub(crate) fn record_internal_error(&mut self) {
        self.ended += 1;
        *self.failures.entry("internal error".into()).or_default() += 1;
    }

    /// Failed pages, all reasons together.
    pub(crate) fn pages_failed(&self) -> u64 {
        self.failures.values().sum()
    }

    fn record_failure(&mut self, err: &FetchError) {
        *self.failures.entry(err.reason()).or_default() += 1;
        if let FetchError::Status(code) = err {
            self.record_status(*code);
        }
    }

    fn record_status(&mut self, status: u16) {
        *self.statuses.entry(status).or_default() += 1;
    }
}

/// Pages and failures per host.
#[derive(Debug, Default)]
pub(crate) struct HostTally {
    hosts: HashMap<String, HostCounts>,
}

/// One host's counts.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct HostCounts {
    /// Pages fetched (whatever their outcome).
    pub(crate) pages: u64,
    /// Of those, pages that failed.
    pub(crate) failures: u64,
}

impl HostTally {
    /// Counts one page of `host`.
    fn record(&mut self, host: &str, failed: bool) {
        let counts = match self.hosts.get_mut(host) {
            Some(counts) => counts,
            None => self.hosts.entry(host.to_owned()).or_default(),
        };
        counts.pages += 1;
        counts.failures += u64::from(failed);
    }

    /// How many distinct hosts were counted.
    pub(crate) fn len(&self) -> usize {
        self.hosts.len()
    }

    /// The `n` hosts with the highest non-zero `key`, highest first, ties by name.
    pub(crate) fn top(&self, n: usize, key: impl Fn(&HostCounts) -> u64) -> Vec<(String, u64)> {
        let mut ranked: Vec<(String, u64)> = self
            .hosts
            .iter()
            .map(|(host, counts)| (host.clone(), key(counts)))
            .filter(|(_, count)| *count > 0)
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked.truncate(n);
        ranked
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use url::Url;

    use super::*;

    fn job(url: &str, depth: u32) -> Job {
        Job {
            given: Some(url.into()),
            url: Url::parse(url).unwrap(),
            depth,
            origin: Arc::from(""),
            seed_origin: Arc::from(""),
            lease: None,
        }
    }

    fn parsed(links: u64) -> Outcome {
        Outcome::Parsed {
            status: 200,
            links,
            bytes: 10,
            truncated: false,
        }
    }

    #[test]
    fn outcomes_are_counted_by_kind_depth_status_and_host() {
        let mut tally = Tally::default();
        tally.record(&job("http://a/1", 0), &parsed(3));
        tally.record(
            &job("http://a/2", 1),
            &Outcome::Failed(FetchError::Status(404)),
        );
        tally.record(&job("http://b/1", 1), &Outcome::Failed(FetchError::Timeout));
        tally.record(&job("http://b/2", 1), &Outcome::NotHtml { status: 200 });
        tally.record(&job("http://c/1", 1), &Outcome::Robots);

        assert_eq!(tally.ended, 5);
        assert_eq!((tally.pages_ok, tally.links, tally.bytes_read), (1, 3, 10));
        assert_eq!(tally.pages_failed(), 2);
        assert_eq!(
            tally.failures,
            BTreeMap::from([("http 404".to_string(), 1), ("timeout".to_string(), 1)])
        );
        assert_eq!(tally.statuses, BTreeMap::from([(200, 2), (404, 1)]));
        assert_eq!(tally.pages_by_depth, BTreeMap::from([(0, 1), (1, 3)]));
        assert_eq!(tally.skipped_robots, 1, "a disallowed page is not fetched");
        assert_eq!(tally.hosts.len(), 2, "no request went to c");
        assert_eq!(
            tally.hosts.top(10, |counts| counts.pages),
            [("a".to_string(), 2), ("b".to_string(), 2)]
        );
        assert_eq!(
            tally.hosts.top(1, |counts| counts.failures),
            [("a".to_string(), 1)]
        );
    }
}
