//! Which workloads run: `AREQ_BENCH_ONLY` names groups (comma-separated), all by default;
//! `AREQ_BENCH_DOCS` turns the Rust docs workloads on (`1`) or off (`0`), which otherwise run
//! in the full bench only, being long.

use std::collections::BTreeSet;

/// A group of workloads, run or left out together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// Extraction, throughput and the site crawl, each against the baseline.
    Site,
    /// Slow pages on one host.
    Latency,
    /// Peak RSS for long URL lists.
    Memory,
    /// Many hosts and slow DNS.
    Hosts,
    /// The shared crawl through Redis.
    Shared,
    /// The Rust docs: the differential and the crawl against the baseline and wget2.
    Docs,
    /// Link checking (`--check`) of a site with planted breakage, against other link checkers.
    Linkcheck,
}

const NAMES: &[(&str, Group)] = &[
    ("site", Group::Site),
    ("latency", Group::Latency),
    ("memory", Group::Memory),
    ("hosts", Group::Hosts),
    ("shared", Group::Shared),
    ("docs", Group::Docs),
    ("linkcheck", Group::Linkcheck),
];

/// The groups to run.
#[derive(Debug, Clone)]
pub struct Selection {
    groups: BTreeSet<Group>,
    /// The docs were left out only because the bench runs in quick mode.
    docs_left_for_quick: bool,
}

impl Selection {
    /// From `AREQ_BENCH_ONLY` and `AREQ_BENCH_DOCS`; panics on an unknown group name.
    pub fn from_env(quick: bool) -> Self {
        let only = std::env::var("AREQ_BENCH_ONLY").unwrap_or_default();
        let named: BTreeSet<Group> = only
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| {
                NAMES
                    .iter()
                    .find(|(known, _)| *known == name)
                    .map(|(_, group)| *group)
                    .unwrap_or_else(|| {
                        let known: Vec<&str> = NAMES.iter().map(|(known, _)| *known).collect();
                        panic!(
                            "AREQ_BENCH_ONLY: unknown group {name:?} (groups: {})",
                            known.join(", ")
                        )
                    })
            })
            .collect();
        let mut groups = if named.is_empty() {
            NAMES.iter().map(|(_, group)| *group).collect()
        } else {
            named.clone()
        };
        let asked = std::env::var("AREQ_BENCH_DOCS");
        let docs = match asked.as_deref() {
            Ok("1") => true,
            Ok("0") => false,
            // Naming the group asks for it, quick or not.
            _ => !quick || named.contains(&Group::Docs),
        };
        let docs_left_for_quick = !docs && groups.contains(&Group::Docs) && asked.is_err();
        if !docs {
            groups.remove(&Group::Docs);
        }
        Selection {
            groups,
            docs_left_for_quick,
        }
    }

    /// Whether `group` runs.
    pub fn runs(&self, group: Group) -> bool {
        self.groups.contains(&group)
    }

    /// Whether the docs would have run but for quick mode.
    pub fn docs_left_for_quick(&self) -> bool {
        self.docs_left_for_quick
    }

    /// `site, docs`: the groups that run.
    pub fn describe(&self) -> String {
        let names: Vec<&str> = NAMES
            .iter()
            .filter(|(_, group)| self.runs(*group))
            .map(|(name, _)| *name)
            .collect();
        names.join(", ")
    }
}
