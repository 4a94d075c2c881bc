//! Gives one process a core of its own: it is pinned to the machine's last CPU, and the bench
//! (so every program it starts from then on) and the other processes named to the rest, with
//! `taskset`. The shared docs crawl uses it to run Redis as if on a machine of its own, the
//! setting a shared crawl is deployed in, beside the run where all share every core.

use std::fs;
use std::process::{Command, Stdio};

/// While alive, `alone` has the last CPU and the others every other one; dropped, every
/// process pinned gets every CPU back.
pub struct CoreOfItsOwn {
    pinned: Vec<u32>,
    every_cpu: String,
}

impl CoreOfItsOwn {
    /// Pins `alone` (with its threads and child processes) to the last CPU, and `others` and
    /// this bench to the rest. Errs with the reason when the machine has one CPU or `taskset`
    /// fails (it is missing, say).
    pub fn pin(alone: u32, others: &[u32]) -> Result<CoreOfItsOwn, String> {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        if cpus < 2 {
            return Err("one CPU: no core to spare".to_owned());
        }
        let mut pinned = CoreOfItsOwn {
            pinned: Vec::new(),
            every_cpu: format!("0-{}", cpus - 1),
        };
        let last = (cpus - 1).to_string();
        let rest = match cpus {
            2 => "0".to_owned(),
            _ => format!("0-{}", cpus - 2),
        };
        for pid in process_tree(alone) {
            pinned.set(pid, &last)?;
        }
        let mut rest_of_them = vec![std::process::id()];
        rest_of_them.extend(others.iter().flat_map(|&pid| process_tree(pid)));
        for pid in rest_of_them {
            pinned.set(pid, &rest)?;
        }
        Ok(pinned)
    }

    fn set(&mut self, pid: u32, cpus: &str) -> Result<(), String> {
        taskset(pid, cpus)?;
        self.pinned.push(pid);
        Ok(())
    }
}

impl Drop for CoreOfItsOwn {
    fn drop(&mut self) {
        for &pid in &self.pinned {
            // A process that is gone needs no CPU back.
            let _ = taskset(pid, &self.every_cpu);
        }
    }
}

/// `taskset -a -p -c CPUS PID`: every thread of `pid` on `cpus`.
fn taskset(pid: u32, cpus: &str) -> Result<(), String> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .map_err(|err| format!("taskset: {err}"))?;
    match status.success() {
        true => Ok(()),
        false => Err(format!("taskset -a -p -c {cpus} {pid} failed ({status})")),
    }
}

/// `pid` and its descendants (nginx's workers under its master, say).
fn process_tree(pid: u32) -> Vec<u32> {
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let tasks = fs::read_dir(format!("/proc/{}/task", tree[i]));
        for task in tasks.into_iter().flatten().flatten() {
            let children = fs::read_to_string(task.path().join("children")).unwrap_or_default();
            tree.extend(
                children
                    .split_whitespace()
                    .filter_map(|pid| pid.parse::<u32>().ok()),
            );
        }
        i += 1;
    }
    tree
}
