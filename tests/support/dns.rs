//! A tiny DNS server over UDP on 127.0.0.1, for pointing areq at with `--dns-server`.
//!
//! It answers A queries for names under `.test` with 127.0.0.1 (TTL 300), or 127.0.0.2 for
//! names starting `two`, AAAA queries with no records, and every answer after a fixed delay, so a slow resolver can be played.
//! Names starting `nx` get NXDOMAIN; names starting `silent` get no answer at all. It
//! counts queries per name and type and the most names being answered at once. Replies are
//! sent by a second thread at their due time, so queries overlap as on a real resolver.
//! Dropping the server stops both threads.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often the threads look at the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// The A record's TTL.
const TTL_SECS: u32 = 300;
/// Record types.
const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;

/// A reply waiting for its due time.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: Instant,
    name: String,
    to: SocketAddr,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct State {
    /// Queries received per (name, type).
    queries: HashMap<(String, u16), usize>,
    /// Replies not yet sent, per name.
    pending: HashMap<String, usize>,
    max_names_in_flight: usize,
    queue: BinaryHeap<Reverse<Due>>,
}

/// A running DNS server; stops when dropped.
pub struct DnsServer {
    addr: SocketAddr,
    state: Arc<(Mutex<State>, Condvar)>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl DnsServer {
    /// Starts answering, each reply `delay` after its query.
    pub fn start(delay: Duration) -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind udp 127.0.0.1:0");
        socket
            .set_read_timeout(Some(POLL))
            .expect("udp read timeout");
        let addr = socket.local_addr().expect("udp local addr");
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let sender = socket.try_clone().expect("clone udp socket");
        let receive = {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            thread::spawn(move || receive_loop(&socket, delay, &state, &stop))
        };
        let send = {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            thread::spawn(move || send_loop(&sender, &state, &stop))
        };
        DnsServer {
            addr,
            state,
            stop,
            threads: vec![receive, send],
        }
    }

    /// `127.0.0.1:PORT`, for `--dns-server`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Queries received for `name` of record type `A` or `AAAA`.
    pub fn queries(&self, name: &str, record: &str) -> usize {
        let kind = if record == "AAAA" { TYPE_AAAA } else { TYPE_A };
        let state = self.state.0.lock().unwrap();
        state
            .queries
            .get(&(name.to_owned(), kind))
            .copied()
            .unwrap_or(0)
    }

    /// Queries received in all.
    pub fn total_queries(&self) -> usize {
        self.state.0.lock().unwrap().queries.values().sum()
    }

    /// The most distinct names whose answers were being waited for at once.
    pub fn max_names_in_flight(&self) -> usize {
        self.state.0.lock().unwrap().max_names_in_flight
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.state.1.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn receive_loop(
    socket: &UdpSocket,
    delay: Duration,
    state: &(Mutex<State>, Condvar),
    stop: &AtomicBool,
) {
    let mut buf = [0_u8; 512];
    while !stop.load(Ordering::SeqCst) {
        let Ok((len, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let Some(query) = parse_query(&buf[..len]) else {
            continue;
        };
        let mut guard = state.0.lock().unwrap();
        *guard
            .queries
            .entry((query.name.clone(), query.kind))
            .or_default() += 1;
        if query.name.starts_with("silent") {
            continue;
        }
        let pending = guard.pending.entry(query.name.clone()).or_default();
        *pending += 1;
        let in_flight = guard.pending.len();
        guard.max_names_in_flight = guard.max_names_in_flight.max(in_flight);
        let bytes = reply(&buf[..len], &query);
        guard.queue.push(Reverse(Due {
            at: Instant::now() + delay,
            name: query.name,
            to: from,
            bytes,
        }));
        state.1.notify_all();
    }
}

fn send_loop(socket: &UdpSocket, state: &(Mutex<State>, Condvar), stop: &AtomicBool) {
    let mut guard = state.0.lock().unwrap();
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        let wait = match guard.queue.peek() {
            Some(Reverse(due)) if due.at <= now => None,
            Some(Reverse(due)) => Some((due.at - now).min(POLL)),
            None => Some(POLL),
        };
        if let Some(wait) = wait {
            guard = state.1.wait_timeout(guard, wait).unwrap().0;
            continue;
        }
        let Reverse(due) = guard.queue.pop().expect("peeked");
        let _ = socket.send_to(&due.bytes, due.to);
        if let Some(pending) = guard.pending.get_mut(&due.name) {
            *pending -= 1;
            if *pending == 0 {
                guard.pending.remove(&due.name);
            }
        }
    }
}

/// The question of a query.
struct Query {
    /// Lowercase, without the trailing dot.
    name: String,
    kind: u16,
    /// Where the question section ends.
    end: usize,
}

fn parse_query(packet: &[u8]) -> Option<Query> {
    if packet.len() < 12 || u16::from_be_bytes([packet[4], packet[5]]) != 1 {
        return None;
    }
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*packet.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        let label = packet.get(at..at + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        at += len;
    }
    let kind = u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]);
    Some(Query {
        name: labels.join("."),
        kind,
        end: at + 4,
    })
}

/// The answer to `query`: one A record for a `.test` name (127.0.0.2 for names starting
/// `two`, else 127.0.0.1), none for AAAA or anything else, NXDOMAIN for names starting `nx`.
fn reply(packet: &[u8], query: &Query) -> Vec<u8> {
    let nxdomain = query.name.starts_with("nx") || !query.name.ends_with(".test");
    let answer = !nxdomain && query.kind == TYPE_A;
    let mut out = Vec::with_capacity(query.end + 16);
    out.extend_from_slice(&packet[..2]);
    // QR, RD and RA set; rcode 3 (NXDOMAIN) or 0.
    out.extend_from_slice(&[0x81, if nxdomain { 0x83 } else { 0x80 }]);
    out.extend_from_slice(&[0, 1, 0, u8::from(answer), 0, 0, 0, 0]);
    out.extend_from_slice(&packet[12..query.end]);
    if answer {
        out.extend_from_slice(&[0xC0, 0x0C]);
        out.extend_from_slice(&TYPE_A.to_be_bytes());
        out.extend_from_slice(&1_u16.to_be_bytes());
        out.extend_from_slice(&TTL_SECS.to_be_bytes());
        out.extend_from_slice(&4_u16.to_be_bytes());
        let last = if query.name.starts_with("two") { 2 } else { 1 };
        out.extend_from_slice(&[127, 0, 0, last]);
    }
    out
}
