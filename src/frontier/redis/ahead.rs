//! The jobs a worker took ahead (see common.lua's `ahead_key`): leased to it without a host
//! slot, each started in the slot of a page of its host that ends at the worker. A job whose
//! host has no page in flight at the worker any more would never start: it is stranded, and
//! handed back.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// A job held by the worker: its partition, its lease (`PARTITION:ID`) and the job as leased
/// (`HOST<TAB>JOB`).
pub(super) type HeldJob = (u16, Arc<str>, String);

/// The host of a job as leased.
pub(super) fn host_of(leased: &str) -> &str {
    leased.split('\t').next().unwrap_or_default()
}

/// The jobs taken ahead, by host, and the pages in flight at each host.
#[derive(Default)]
pub(super) struct TakenAhead {
    by_host: HashMap<String, VecDeque<HeldJob>>,
    /// How many jobs `by_host` holds.
    held: usize,
    /// Pages of this worker in flight, by host.
    running_at: HashMap<String, usize>,
    /// Jobs taken ahead for hosts with no page in flight here, nor ready to start.
    stranded: Vec<Arc<str>>,
}

impl TakenAhead {
    /// How many jobs wait to start in a slot that frees (the stranded ones not counted).
    pub(super) fn len(&self) -> usize {
        self.held
    }

    /// Keeps a job a take answered as taken ahead.
    pub(super) fn add(&mut self, job: HeldJob) {
        let host = host_of(&job.2).to_owned();
        self.by_host.entry(host).or_default().push_back(job);
        self.held += 1;
    }

    /// A page of `host` started at this worker.
    pub(super) fn started(&mut self, host: &str) {
        *self.running_at.entry(host.to_owned()).or_default() += 1;
    }

    /// A page of `host` that started here is over: the next job of its host taken ahead, to
    /// start in its slot, if any.
    pub(super) fn ended(&mut self, host: &str) -> Option<HeldJob> {
        self.over(host);
        self.next_at(host)
    }

    /// The next job of `host` taken ahead, off this list, if any.
    pub(super) fn next_at(&mut self, host: &str) -> Option<HeldJob> {
        let jobs = self.by_host.get_mut(host)?;
        let job = jobs.pop_front();
        if jobs.is_empty() {
            self.by_host.remove(host);
        }
        self.held -= usize::from(job.is_some());
        job
    }

    /// A page of `host` that started here is over; one handed back, not ended, hands its
    /// slot to no job.
    pub(super) fn over(&mut self, host: &str) {
        if let Some(running) = self.running_at.get_mut(host) {
            *running -= 1;
            if *running == 0 {
                self.running_at.remove(host);
            }
        }
    }

    /// Strands the jobs of hosts with no page in flight here, nor among `ready` (jobs about to
    /// start): no page's end would start them.
    pub(super) fn strand_idle(&mut self, ready: &VecDeque<HeldJob>) {
        let starting: HashSet<&str> = ready.iter().map(|(_, _, leased)| host_of(leased)).collect();
        let idle: Vec<String> = self
            .by_host
            .keys()
            .filter(|host| {
                !self.running_at.contains_key(*host) && !starting.contains(host.as_str())
            })
            .cloned()
            .collect();
        for host in idle {
            let jobs = self.by_host.remove(&host).unwrap_or_default();
            self.held -= jobs.len();
            self.stranded
                .extend(jobs.into_iter().map(|(_, lease, _)| lease));
        }
    }

    /// The leases of the stranded jobs, to hand back.
    pub(super) fn take_stranded(&mut self) -> Vec<Arc<str>> {
        std::mem::take(&mut self.stranded)
    }

    /// The leases of every job taken ahead, stranded or not, off the worker's hands.
    pub(super) fn drain(&mut self) -> Vec<Arc<str>> {
        self.held = 0;
        let mut leases = self.take_stranded();
        leases.extend(
            self.by_host
                .drain()
                .flat_map(|(_, jobs)| jobs.into_iter().map(|(_, lease, _)| lease)),
        );
        leases
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(lease: &str, host: &str) -> HeldJob {
        (0, lease.into(), format!("{host}\tjob"))
    }

    #[test]
    fn a_page_that_ends_gets_the_next_job_of_its_host_and_idle_hosts_strand_theirs() {
        let mut ahead = TakenAhead::default();
        ahead.add(job("0:1", "a"));
        ahead.add(job("0:2", "a"));
        ahead.add(job("0:3", "b"));
        ahead.started("a");
        assert_eq!(ahead.ended("a").map(|job| job.1), Some("0:1".into()));
        assert_eq!(ahead.ended("c"), None);
        assert_eq!(ahead.len(), 2);
        // Host a has a job about to start; host b has nothing in flight.
        ahead.strand_idle(&VecDeque::from([job("0:9", "a")]));
        assert_eq!(ahead.take_stranded(), vec![Arc::<str>::from("0:3")]);
        assert_eq!(ahead.len(), 1);
        assert_eq!(ahead.drain(), vec![Arc::<str>::from("0:2")]);
        assert_eq!(ahead.len(), 0);
    }
}
