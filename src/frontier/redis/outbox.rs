//! Pages this worker finished that Redis has not been told of yet: they are acknowledged in
//! batches, so a page costs a share of one script call instead of a call of its own.
//!
//! A batch goes out when it is full, when it is [`WINDOW`] old, or at once when no other page
//! of this worker is in flight (nothing would join it). Until then the pages' leases stay held
//! and renewed: a worker that dies with a batch unsent has its pages fetched again by the
//! others, as it would if it died while fetching them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::seen::UrlKey;

/// The most pages one batch holds.
pub(super) const BATCH: usize = 32;

/// How long a page may wait for others to join its batch.
pub(super) const WINDOW: Duration = Duration::from_millis(2);

/// A page ended, as finish.lua takes it.
pub(super) struct Page {
    /// The partition its job was taken from.
    pub(super) home: u16,
    /// Its lease, as the worker holds it (`PARTITION:ID`).
    pub(super) lease: Arc<str>,
    /// Lease id, host, ms since the host's last request, Crawl-delay (ms), outcome, links,
    /// depth, the lease of the job taken ahead its slot went to.
    pub(super) args: Vec<Vec<u8>>,
    /// Its slot went to a job taken ahead: it freed no place.
    pub(super) handed_over: bool,
}

/// Where in a page's `args` (see [`Page::args`]) its host is.
const HOST_ARG: usize = 1;
/// Where in a page's `args` the lease of the job taken ahead its slot went to is.
const SUCCESSOR_ARG: usize = 7;

impl Page {
    /// The host of the page.
    fn host(&self) -> &[u8] {
        &self.args[HOST_ARG]
    }

    /// Hands the page's slot to the job taken ahead whose lease id is `id`.
    pub(super) fn hand_over(&mut self, id: &str) {
        self.args[SUCCESSOR_ARG] = id.as_bytes().to_vec();
        self.handed_over = true;
    }
}

/// A batch to send: the pages, and the links they found, by partition.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) pages: Vec<Page>,
    /// Links found in the partition of the page that found them: queued with its
    /// acknowledgement, in the same call (push.lua's arguments).
    pub(super) home_links: HashMap<u16, Vec<Vec<u8>>>,
    /// Links of other partitions: pushed there before any page of the batch is acknowledged.
    pub(super) links_elsewhere: HashMap<u16, Vec<Vec<u8>>>,
    /// How many links `home_links` holds.
    pub(super) home_link_count: u64,
    /// The keys of all the links: known to the crawl once the batch is sent.
    pub(super) keys: Vec<UrlKey>,
}

/// Pages ended and not yet sent, and since when the oldest waits.
#[derive(Default)]
pub(super) struct Outbox {
    batch: Batch,
    since: Option<Instant>,
}

impl Outbox {
    /// Adds a page that ended, with its links' keys and encoded arguments, each with its
    /// partition.
    pub(super) fn add(&mut self, page: Page, links: Vec<(u16, UrlKey, Vec<Vec<u8>>)>) {
        self.since.get_or_insert_with(Instant::now);
        for (n, key, args) in links {
            self.batch.keys.push(key);
            if n == page.home {
                self.batch.home_link_count += 1;
                self.batch.home_links.entry(n).or_default().extend(args);
            } else {
                self.batch
                    .links_elsewhere
                    .entry(n)
                    .or_default()
                    .extend(args);
            }
        }
        self.batch.pages.push(page);
    }

    pub(super) fn len(&self) -> usize {
        self.batch.pages.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.batch.pages.is_empty()
    }

    /// Whether the page holding `lease` waits here.
    pub(super) fn holds(&self, lease: &str) -> bool {
        self.batch.pages.iter().any(|page| &*page.lease == lease)
    }

    /// When the batch is due if nothing joins it.
    pub(super) fn due_at(&self) -> Option<Instant> {
        self.since.map(|since| since + WINDOW)
    }

    /// Whether the batch should go now, with `running` other pages of this worker in flight.
    pub(super) fn is_due(&self, running: usize) -> bool {
        !self.is_empty()
            && (self.len() >= BATCH
                || running == 0
                || self.due_at().is_some_and(|at| at <= Instant::now()))
    }

    /// Hands the slots of the pages that gave theirs to no job to jobs taken ahead that came
    /// since: `successor` starts the next job taken ahead of a host, if any, and returns its
    /// lease id. A page holds its slot until its batch goes, so handing it over late is the
    /// same as handing it over when the page ended.
    pub(super) fn hand_over_late(&mut self, mut successor: impl FnMut(&[u8]) -> Option<String>) {
        for page in self.batch.pages.iter_mut().filter(|page| !page.handed_over) {
            if let Some(id) = successor(page.host()) {
                page.hand_over(&id);
            }
        }
    }

    /// The batch, leaving the outbox empty.
    pub(super) fn take(&mut self) -> Batch {
        self.since = None;
        std::mem::take(&mut self.batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(lease: &str, host: &str, successor: &str) -> Page {
        let args = [lease, host, "-1", "0", "ok", "3", "1", successor];
        Page {
            home: 0,
            lease: format!("0:{lease}").into(),
            args: args.iter().map(|arg| arg.as_bytes().to_vec()).collect(),
            handed_over: !successor.is_empty(),
        }
    }

    #[test]
    fn pages_that_handed_their_slot_to_no_job_hand_it_to_a_job_that_came_later() {
        let mut outbox = Outbox::default();
        outbox.add(page("w:1", "a", ""), Vec::new());
        outbox.add(page("w:2", "a", "w:7"), Vec::new());
        outbox.add(page("w:3", "b", ""), Vec::new());
        outbox.add(page("w:4", "a", ""), Vec::new());
        // One job came for host a, none for b.
        let mut jobs_of_a = vec!["w:9".to_owned()];
        let mut asked = Vec::new();
        outbox.hand_over_late(|host| {
            asked.push(String::from_utf8_lossy(host).into_owned());
            match host {
                b"a" => jobs_of_a.pop(),
                _ => None,
            }
        });
        // Only the pages that had handed their slot to no job were asked for.
        assert_eq!(asked, ["a", "b", "a"]);
        let pages = outbox.take().pages;
        let successors: Vec<&[u8]> = pages
            .iter()
            .map(|page| &page.args[SUCCESSOR_ARG][..])
            .collect();
        assert_eq!(successors, [&b"w:9"[..], b"w:7", b"", b""]);
        let handed: Vec<bool> = pages.iter().map(|page| page.handed_over).collect();
        assert_eq!(handed, [true, true, false, false]);
    }
}
