//! How a worker's calls go to Redis while it goes on: the outbox's batch (the pages that
//! ended, their links, the next jobs) and the lease renewals are sent from a task of their
//! own, one call on its way at a time (a call sent again after a lost answer is replayed
//! only if it was the worker's last), and the answers are taken in when they come.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::calls::{Call, Which};
use super::jobs::Taken;
use super::outbox::Page;
use super::{lease_id, FrontierError, RedisFrontier};
use crate::seen::UrlKey;

/// Calls on their way from a task of their own (see [`RedisFrontier::send`]): a batch, or the
/// lease renewals.
pub(super) struct Sending {
    task: JoinHandle<Result<Vec<redis::Value>, FrontierError>>,
    /// What the batch's answers are taken in with; none for the renewals.
    batch: Option<SentBatch>,
}

impl Sending {
    /// Whether the answers came (or the task failed): taking them in waits for nothing.
    pub(super) fn answered(&self) -> bool {
        self.task.is_finished()
    }
}

/// What a batch sent needs to take its answers in.
pub(super) struct SentBatch {
    /// The partitions of the batch's calls, in order; the crawl-slot call follows them when
    /// `with_crawl`.
    homes: Vec<u16>,
    with_crawl: bool,
    /// The leases of the pages the batch acknowledges.
    acked: Vec<Arc<str>>,
    /// The keys of the links the batch queues: known to the crawl once it is answered.
    keys: Vec<UrlKey>,
    /// How many links of other partitions were new, pushed before the batch went.
    new_elsewhere: u64,
}

impl RedisFrontier {
    /// Sends the outbox (see [`RedisFrontier::send`]) and waits for its answers.
    pub(super) async fn flush(&mut self, room: usize) -> Result<(), FrontierError> {
        self.settle().await?;
        self.send(room, false).await?;
        self.settle().await
    }

    /// Whether no batch is on its way, or its answers came: another call may go.
    pub(super) fn settled(&self) -> bool {
        self.sending.as_ref().is_none_or(Sending::answered)
    }

    /// Sends the outbox: the links its pages found in other partitions first, all at once,
    /// then each partition's pages with the links found there, in one call a partition,
    /// which also takes jobs for the `room` places this worker has free (each partition as
    /// many as its pages freed, the first the rest) and, when `ahead`, jobs ahead. The pages'
    /// calls go from a task of their own: the scheduler goes on starting pages (jobs taken
    /// ahead, in the slots of pages that ended) while Redis answers, and the answers wake it.
    /// No call may be on its way (see [`RedisFrontier::settle`]).
    pub(super) async fn send(&mut self, room: usize, ahead: bool) -> Result<(), FrontierError> {
        if self.outbox.is_empty() {
            return Ok(());
        }
        self.quiet = None;
        let batch = self.outbox.take();
        // Links of other partitions are queued first: if this worker dies before the pages
        // are acknowledged, the pages are fetched again and their links are not lost.
        let mut ops = Vec::new();
        let new_elsewhere = self
            .push_to_partitions(batch.links_elsewhere, &mut ops)
            .await?;
        let mut homes: Vec<u16> = Vec::new();
        let mut pages: HashMap<u16, Vec<Page>> = HashMap::new();
        for page in batch.pages {
            if !pages.contains_key(&page.home) {
                homes.push(page.home);
            }
            pages.entry(page.home).or_default().push(page);
        }
        let mut home_links = batch.home_links;
        // A page whose slot went to a job taken ahead freed no place.
        let freed = |ended: &[Page]| ended.iter().filter(|page| !page.handed_over).count();
        let mut spare = room.saturating_sub(pages.values().map(|ended| freed(ended)).sum());
        let mut ahead = ahead;
        let mut acked = Vec::new();
        let mut calls = Vec::with_capacity(homes.len() + 1);
        for n in &homes {
            let ended = pages.remove(n).unwrap_or_default();
            let want = if room == 0 {
                0
            } else {
                freed(&ended) + std::mem::take(&mut spare)
            };
            let mut args = args![self.politeness.gap.as_millis(), ended.len()];
            args.extend(self.take_args(want, std::mem::take(&mut ahead)));
            for page in ended {
                args.extend(page.args);
                acked.push(page.lease);
            }
            args.extend(home_links.remove(n).unwrap_or_default());
            calls.push(Call::partition(Which::Finish, *n, args));
        }
        // The freed slots and the links may be work for waiting workers.
        let woken = acked.len() as u64 + new_elsewhere + batch.home_link_count;
        let crawl = self.crawl_call(ops, woken);
        let with_crawl = crawl.is_some();
        calls.extend(crawl);
        let sent = SentBatch {
            homes,
            with_crawl,
            acked,
            keys: batch.keys,
            new_elsewhere,
        };
        self.send_calls(calls, Some(sent));
        Ok(())
    }

    /// Sends `calls` from a task of their own, whose end wakes the scheduler. No call may be
    /// on its way (see [`RedisFrontier::settle`]).
    pub(super) fn send_calls(&mut self, calls: Vec<Call>, batch: Option<SentBatch>) {
        let caller = Arc::clone(&self.caller);
        let answered = self.waker.woken();
        let task = tokio::spawn(async move {
            let answers = caller.run_all(calls).await;
            answered.notify_one();
            answers
        });
        self.sending = Some(Sending { task, batch });
    }

    /// Waits for the answers of the calls on their way, if any, and takes a batch's in: the
    /// pages acknowledged, the jobs taken. Every other call of this worker waits for this.
    pub(super) async fn settle(&mut self) -> Result<(), FrontierError> {
        let Some(sending) = self.sending.take() else {
            return Ok(());
        };
        let mut answers = sending.task.await.map_err(|err| {
            FrontierError(format!("redis: the task sending calls failed: {err}"))
        })??;
        let Some(sending) = sending.batch else {
            return Ok(());
        };
        if sending.with_crawl {
            if let Some(answer) = answers.pop() {
                self.crawl_answered(&answer);
            }
        }
        for lease in sending.acked {
            self.held.remove(&lease);
        }
        for key in sending.keys {
            self.known.insert(key);
        }
        let mut new = sending.new_elsewhere;
        for (n, answer) in sending.homes.into_iter().zip(answers) {
            let answer: Vec<redis::Value> = redis::from_redis_value(answer)
                .map_err(|err| FrontierError(format!("redis: {err}")))?;
            let new_here = answer
                .first()
                .and_then(|value| redis::from_redis_value_ref::<u64>(value).ok())
                .unwrap_or(0);
            new += new_here;
            if answer.len() > 2 {
                let mut taken = Taken::parse(&answer[2..])?;
                self.saw(n, &taken);
                self.received(n, &mut taken);
            } else if let Some(view) = self.views.get_mut(&n) {
                view.queued += new_here as usize;
            }
        }
        if new > 0 {
            self.drained = false;
        }
        // Pages that ended while the batch was on its way found no job taken ahead to hand
        // their slots to; the jobs it brought take them now, instead of being stranded.
        let (ahead, ready) = (&mut self.ahead, &mut self.ready);
        self.outbox.hand_over_late(|host| {
            let job = ahead.next_at(std::str::from_utf8(host).ok()?)?;
            let id = lease_id(&job.1).to_owned();
            ready.push_back(job);
            Some(id)
        });
        self.ahead.strand_idle(&self.ready);
        Ok(())
    }
}
