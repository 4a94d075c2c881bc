//! One pooled HTTP client per host in progress, so open sockets follow the concurrency, not
//! the number of hosts.
//!
//! A single client keeps an idle connection to every host it ever talked to until its idle
//! timeout, so a list of a thousand sites holds a thousand sockets open and runs out of file
//! descriptors. Here each host gets its own client (sharing the crawl's resolver), taken for
//! the length of one request. While any request to a host is in flight its client, and with
//! it keep-alive, stays. When its last request ends the client joins an idle list; only the
//! most recently used idle clients are kept, at most [`IDLE_HOSTS_KEPT`] of them, and those
//! before the last hold at most [`IDLE_CONNECTIONS_KEPT`] connections between them (a client
//! may hold as many as it ever had requests in flight at once); dropping an older one closes
//! its connections. The host that went idle last keeps all of its connections: a host whose
//! pages come in waves (a crawl of one site, whose next pages wait for links the last ones
//! found) is idle for a moment between them, and would otherwise reconnect for every wave.
//! So at most `-c` connections are busy and at most `-c` plus a handful idle, whatever the
//! number of hosts.
//!
//! A host has a client for each [`Reach`] it is asked with: a client held to public
//! addresses resolves through a checking resolver, and its connections are its own.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use crate::fetch::reach::Reach;

/// Idle hosts whose connections are kept open, in case they are asked again soon.
const IDLE_HOSTS_KEPT: usize = 2;
/// Connections the idle hosts kept before the last may hold between them, counting for each
/// host the most requests it had in flight at once.
const IDLE_CONNECTIONS_KEPT: usize = 8;

/// Builds one more client with the crawl's settings, for requests held to a [`Reach`].
pub(crate) type BuildClient = dyn Fn(Reach) -> reqwest::Result<reqwest::Client> + Send + Sync;

/// A host and the reach its client's requests are held to.
type Key = (Box<str>, Reach);

/// The clients of the hosts in progress.
pub(crate) struct HostClients {
    build: Box<BuildClient>,
    state: Mutex<State>,
}

impl std::fmt::Debug for HostClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("HostClients")
            .field("hosts", &state.hosts.len())
            .field("idle", &state.idle_count)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    hosts: HashMap<Key, Entry>,
    /// Hosts as they became idle, oldest first, with the tick they did; an item whose tick
    /// is not its host's `idle_since` any more is stale and skipped.
    idle: VecDeque<(Key, u64)>,
    /// Hosts with no request in flight.
    idle_count: usize,
    /// The connections they may hold: the sum of their `peak`s.
    idle_connections: usize,
    tick: u64,
}

struct Entry {
    client: reqwest::Client,
    in_flight: usize,
    /// The most requests in flight at once: as many connections as the client may hold.
    peak: usize,
    idle_since: u64,
}

/// A host's client, taken for one request; giving it back may close idle connections.
pub(crate) struct Lease {
    clients: Arc<HostClients>,
    key: Key,
    /// The host's client (a cheap handle on its pool).
    pub(crate) client: reqwest::Client,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.clients.release(&self.key);
    }
}

impl HostClients {
    /// No hosts yet; `build` makes each host's client.
    pub(crate) fn new(build: Box<BuildClient>) -> HostClients {
        HostClients {
            build,
            state: Mutex::new(State::default()),
        }
    }

    /// Takes `host`'s client for one request held to `reach`, building it if the host has
    /// none.
    pub(crate) fn lease(self: &Arc<Self>, host: &str, reach: Reach) -> reqwest::Result<Lease> {
        let key: Key = (host.into(), reach);
        if let Some(client) = self.take_existing(&key) {
            return Ok(self.lease_of(key, client));
        }
        // Built outside the lock; on a current-thread runtime nobody can race us to it.
        let client = (self.build)(reach)?;
        let mut state = self.lock();
        let entry = state.hosts.entry(key.clone()).or_insert(Entry {
            client,
            in_flight: 0,
            peak: 0,
            idle_since: 0,
        });
        entry.in_flight += 1;
        entry.peak = entry.peak.max(entry.in_flight);
        let client = entry.client.clone();
        drop(state);
        Ok(self.lease_of(key, client))
    }

    /// How many hosts have a client, busy or idle.
    #[cfg(test)]
    fn hosts(&self) -> usize {
        self.lock().hosts.len()
    }

    fn lease_of(self: &Arc<Self>, key: Key, client: reqwest::Client) -> Lease {
        Lease {
            clients: Arc::clone(self),
            key,
            client,
        }
    }

    fn take_existing(&self, key: &Key) -> Option<reqwest::Client> {
        let mut state = self.lock();
        let entry = state.hosts.get_mut(key)?;
        let was_idle = entry.in_flight == 0;
        let idle_peak = entry.peak;
        entry.in_flight += 1;
        entry.peak = entry.peak.max(entry.in_flight);
        let client = entry.client.clone();
        if was_idle {
            state.idle_count -= 1;
            state.idle_connections -= idle_peak;
        }
        Some(client)
    }

    fn release(&self, key: &Key) {
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        let Some(entry) = state.hosts.get_mut(key) else {
            return;
        };
        entry.in_flight -= 1;
        if entry.in_flight > 0 {
            return;
        }
        entry.idle_since = tick;
        let peak = entry.peak;
        state.idle_count += 1;
        state.idle_connections += peak;
        state.idle.push_back((key.clone(), tick));
        // The host idle last keeps its connections: the cap is for those before it.
        state.evict_over(IDLE_HOSTS_KEPT, IDLE_CONNECTIONS_KEPT + peak);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Drops the oldest idle hosts' clients (closing their connections) until at most `keep`
    /// are idle, holding at most `connections` between them.
    fn evict_over(&mut self, keep: usize, connections: usize) {
        while self.idle_count > keep || self.idle_connections > connections {
            let Some((key, tick)) = self.idle.pop_front() else {
                break;
            };
            let current = self
                .hosts
                .get(&key)
                .is_some_and(|entry| entry.in_flight == 0 && entry.idle_since == tick);
            if current {
                if let Some(entry) = self.hosts.remove(&key) {
                    self.idle_count -= 1;
                    self.idle_connections -= entry.peak;
                }
            }
        }
        // Stale items pile up when hosts go idle and busy again without being evicted.
        if self.idle.len() > 4 * (self.hosts.len() + keep) {
            let hosts = &self.hosts;
            self.idle.retain(|(key, tick)| {
                hosts
                    .get(key)
                    .is_some_and(|entry| entry.in_flight == 0 && entry.idle_since == *tick)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients() -> Arc<HostClients> {
        Arc::new(HostClients::new(Box::new(|_| {
            reqwest::Client::builder().build()
        })))
    }

    fn lease(clients: &Arc<HostClients>, host: &str) -> Lease {
        clients.lease(host, Reach::Any).unwrap()
    }

    #[test]
    fn a_busy_host_keeps_its_client_and_idle_ones_are_capped() {
        let clients = clients();
        let busy = lease(&clients, "busy.example");
        let leases: Vec<Lease> = (0..20)
            .map(|i| lease(&clients, &format!("h{i}.example")))
            .collect();
        assert_eq!(clients.hosts(), 21);
        drop(leases);
        assert_eq!(clients.hosts(), 1 + IDLE_HOSTS_KEPT);
        let again = lease(&clients, "busy.example");
        drop(busy);
        drop(again);
        assert_eq!(clients.hosts(), IDLE_HOSTS_KEPT);
        assert!(clients
            .lock()
            .hosts
            .contains_key(&("busy.example".into(), Reach::Any)));
    }

    /// Takes `n` leases of `host` at once and ends them: the host goes idle with a peak of
    /// `n` connections.
    fn idle_with(clients: &Arc<HostClients>, host: &str, n: usize) {
        let leases: Vec<Lease> = (0..n).map(|_| lease(clients, host)).collect();
        drop(leases);
    }

    fn has_client(clients: &Arc<HostClients>, host: &str) -> bool {
        clients
            .lock()
            .hosts
            .contains_key(&(host.into(), Reach::Any))
    }

    #[test]
    fn idle_hosts_before_the_last_are_capped_by_the_connections_they_may_hold() {
        let clients = clients();
        idle_with(&clients, "wide.example", IDLE_CONNECTIONS_KEPT + 1);
        idle_with(&clients, "other.example", IDLE_CONNECTIONS_KEPT);
        assert!(!has_client(&clients, "wide.example"), "9 do not fit in 8");
        assert!(has_client(&clients, "other.example"));
        let state = clients.lock();
        assert_eq!(state.idle_count, 1);
        assert_eq!(state.idle_connections, IDLE_CONNECTIONS_KEPT);
    }

    #[test]
    fn the_host_idle_last_keeps_all_its_connections() {
        let clients = clients();
        idle_with(&clients, "small.example", 2);
        idle_with(&clients, "site.example", 64);
        assert!(
            has_client(&clients, "site.example"),
            "a wave's connections stay"
        );
        assert!(has_client(&clients, "small.example"), "2 fit in 8");
        idle_with(&clients, "next.example", 1);
        assert!(!has_client(&clients, "site.example"), "64 do not fit in 8");
        assert!(has_client(&clients, "next.example"));
        assert_eq!(clients.lock().idle_count, 1, "the oldest go first");
    }

    #[test]
    fn a_host_leased_twice_is_idle_only_after_both_end() {
        let clients = clients();
        let first = lease(&clients, "a.example");
        let second = lease(&clients, "a.example");
        drop(first);
        assert_eq!(clients.lock().idle_count, 0);
        drop(second);
        assert_eq!(clients.lock().idle_count, 1);
        for i in 0..100 {
            drop(lease(&clients, "a.example"));
            drop(lease(&clients, &format!("b{i}.example")));
        }
        let state = clients.lock();
        assert_eq!(state.idle_count, IDLE_HOSTS_KEPT);
        assert!(state.idle.len() <= 4 * (state.hosts.len() + IDLE_HOSTS_KEPT) + 1);
    }
}
