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

    /// The batch, leaving the outbox empty.
    pub(super) fn take(&mut self) -> Batch {
        self.since = None;
        std::mem::take(&mut self.batch)
    }
}
