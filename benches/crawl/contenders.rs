//! The areq binaries a workload compares: the one under test, then the kept baseline when there
//! is one (see `baseline.rs`), run in interleaved rounds so a drift in the machine's load
//! touches both alike.

use std::path::Path;

use crate::baseline::Baseline;
use crate::measure::Run;
use crate::workloads::interleave;

/// The areq binaries to run: the one under test, then the baseline when there is one.
pub struct Contenders<'a> {
    binaries: Vec<&'a Path>,
    labels: Vec<String>,
}

impl<'a> Contenders<'a> {
    /// areq under test and, when given, the baseline.
    pub fn new(baseline: Option<&'a Baseline>) -> Self {
        let mut binaries = vec![Path::new(env!("CARGO_BIN_EXE_areq"))];
        let mut labels = vec!["areq".to_owned()];
        if let Some(baseline) = baseline {
            binaries.push(&baseline.binary);
            labels.push(format!("baseline areq {}", baseline.name));
        }
        Contenders { binaries, labels }
    }

    /// Each binary's runs, `runs` rounds interleaved; `workload` names them in progress lines.
    pub fn run(
        &self,
        workload: &str,
        runs: usize,
        mut once: impl FnMut(&Path) -> Run,
    ) -> Vec<Vec<Run>> {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|label| format!("{workload}, {label}"))
            .collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        interleave(&labels, runs, |i| once(self.binaries[i]))
    }

    /// `baseline areq 1264a87`, when there is a baseline.
    pub fn baseline_label(&self) -> Option<&str> {
        self.labels.get(1).map(String::as_str)
    }

    /// How many binaries there are: 1, or 2 with the baseline.
    pub fn len(&self) -> usize {
        self.binaries.len()
    }

    /// Each binary with its label: areq first, then the baseline.
    pub fn each(&self) -> impl Iterator<Item = (&str, &'a Path)> + '_ {
        self.labels
            .iter()
            .map(String::as_str)
            .zip(self.binaries.iter().copied())
    }
}
