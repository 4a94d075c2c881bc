//! Many hosts and slow DNS: the same pages over one host and over a thousand loopback hosts
//! (`127.1.x.y`, which Linux routes to loopback), pages/s and peak RSS side by side; and
//! pages over 500 names through a DNS server that answers in 100 ms, against
//! `ceil(names / -c) × delay` plus the time the same pages take without DNS.
//!
//! The DNS server is a thread of the bench: UDP on 127.0.0.1, an A record (127.0.0.1) for
//! every name under `.test` and no AAAA records, each answer sent `delay` after its query.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::http::DELAY_LINKS;
use crate::measure::{median, run_areq, Output};
use crate::report::{count, mebibytes, seconds, Row};
use crate::server::Server;
use crate::workloads::{check_lines, common, repeat, write_urls};

/// How often the DNS threads look at their stop flag.
const POLL: Duration = Duration::from_millis(50);

/// Pages/s and peak RSS of `pages_per_host` pages on each of `hosts` loopback hosts, and of
/// the same number of pages on one host. Returns the two rows and the pages/s of one host.
pub fn many_hosts(
    hosts: usize,
    pages_per_host: usize,
    runs: usize,
    work: &Path,
) -> (Vec<Row>, f64) {
    let server = Server::start_delay(Duration::ZERO).expect("cannot start the fast server");
    let port = server.port();
    let pages = hosts * pages_per_host;
    let expected = pages as u64 * DELAY_LINKS + 1;
    let mut rows = Vec::new();
    let mut one_host = (0.0, 0.0);
    for spread in [1, hosts] {
        let list = work.join("hosts-urls.txt");
        write_urls(&list, pages, |i| {
            let host = i % spread;
            format!(
                "http://127.1.{}.{}:{port}/h/{i}",
                host / 250,
                host % 250 + 1
            )
        })
        .expect("cannot write URLs");
        let args = [
            list.as_os_str(),
            "-c".as_ref(),
            "64".as_ref(),
            "-q".as_ref(),
        ];
        let label = format!("{} host(s)", count(spread as u64));
        let results = repeat(&label, runs, || {
            let run = run_areq(&args, Output::Pipe, Duration::from_secs(300));
            check_lines(&run, expected, &label);
            run
        });
        let wall = median(results.iter().map(|r| r.wall.as_secs_f64()));
        let peak = median(results.iter().map(|r| r.max_rss_kib as f64));
        let rate = pages as f64 / wall;
        let mut row = Row {
            workload: format!("hosts: {} pages over {label}", count(pages as u64)),
            input: format!("{} pages per host, -c 64", count((pages / spread) as u64)),
            rate: format!("{rate:.0} pages/s, peak {}", mebibytes(peak)),
            ..common(&results)
        };
        if spread == 1 {
            one_host = (rate, peak);
        } else {
            row.floor = format!(
                "one host: {:.0} pages/s, {}",
                one_host.0,
                mebibytes(one_host.1)
            );
            row.ratio = format!("{:.2}x RSS", peak / one_host.1);
        }
        rows.push(row);
    }
    (rows, one_host.0)
}

/// `names × pages_per_name` pages through a DNS server answering in `delay`, at `-c
/// concurrency`, against `ceil(names / concurrency) × delay` plus the pages at `fetch_rate`.
pub fn slow_dns(
    names: usize,
    pages_per_name: usize,
    delay: Duration,
    concurrency: usize,
    fetch_rate: f64,
    runs: usize,
    work: &Path,
) -> Row {
    let server = Server::start_delay(Duration::ZERO).expect("cannot start the fast server");
    let dns = DnsServer::start(delay);
    let port = server.port();
    let pages = names * pages_per_name;
    let list = work.join("dns-urls.txt");
    write_urls(&list, pages, |i| {
        format!("http://n{}.test:{port}/d/{i}", i % names)
    })
    .expect("cannot write URLs");
    let c = concurrency.to_string();
    let dns_addr = dns.addr.to_string();
    let args = [
        list.as_os_str(),
        "-c".as_ref(),
        c.as_ref(),
        "--dns-server".as_ref(),
        dns_addr.as_ref(),
        "-q".as_ref(),
    ];
    let expected = pages as u64 * DELAY_LINKS + 1;
    let results = repeat("slow dns", runs, || {
        let run = run_areq(&args, Output::Pipe, Duration::from_secs(300));
        check_lines(&run, expected, "slow dns");
        run
    });
    drop(dns);
    let wall = median(results.iter().map(|r| r.wall.as_secs_f64()));
    let lookups = names.div_ceil(concurrency) as f64 * delay.as_secs_f64();
    let floor = lookups + pages as f64 / fetch_rate;
    Row {
        workload: format!("slow DNS: {} ms per lookup", delay.as_millis()),
        input: format!(
            "{} pages over {} names, -c {c}",
            count(pages as u64),
            count(names as u64)
        ),
        rate: format!("{:.0} pages/s", pages as f64 / wall),
        floor: format!(
            "{} (ceil({names}/{c}) × {} ms + fetch)",
            seconds(floor),
            delay.as_millis()
        ),
        ratio: format!("{:.2}x", wall / floor),
        ..common(&results)
    }
}

/// A reply waiting for its due time.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: Instant,
    to: SocketAddr,
    bytes: Vec<u8>,
}

/// The DNS server; stops when dropped.
struct DnsServer {
    addr: SocketAddr,
    queue: Arc<(Mutex<BinaryHeap<Reverse<Due>>>, Condvar)>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl DnsServer {
    fn start(delay: Duration) -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("cannot bind the DNS server");
        socket
            .set_read_timeout(Some(POLL))
            .expect("udp read timeout");
        let addr = socket.local_addr().expect("udp local addr");
        let sender = socket.try_clone().expect("clone udp socket");
        let queue = Arc::new((Mutex::new(BinaryHeap::new()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let receive = {
            let (queue, stop) = (Arc::clone(&queue), Arc::clone(&stop));
            thread::spawn(move || {
                let mut buf = [0_u8; 512];
                while !stop.load(Ordering::SeqCst) {
                    let Ok((len, to)) = socket.recv_from(&mut buf) else {
                        continue;
                    };
                    let Some(bytes) = answer(&buf[..len]) else {
                        continue;
                    };
                    let at = Instant::now() + delay;
                    queue.0.lock().unwrap().push(Reverse(Due { at, to, bytes }));
                    queue.1.notify_all();
                }
            })
        };
        let send = {
            let (queue, stop) = (Arc::clone(&queue), Arc::clone(&stop));
            thread::spawn(move || {
                let mut due = queue.0.lock().unwrap();
                while !stop.load(Ordering::SeqCst) {
                    let now = Instant::now();
                    let wait = match due.peek() {
                        Some(Reverse(next)) if next.at <= now => None,
                        Some(Reverse(next)) => Some((next.at - now).min(POLL)),
                        None => Some(POLL),
                    };
                    if let Some(wait) = wait {
                        due = queue.1.wait_timeout(due, wait).unwrap().0;
                        continue;
                    }
                    let Reverse(next) = due.pop().expect("peeked");
                    let _ = sender.send_to(&next.bytes, next.to);
                }
            })
        };
        DnsServer {
            addr,
            queue,
            stop,
            threads: vec![receive, send],
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.queue.1.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// The reply to a one-question query: 127.0.0.1 for an A query, no records otherwise.
fn answer(query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 || query[4..6] != [0, 1] {
        return None;
    }
    let mut end = 12;
    loop {
        let len = usize::from(*query.get(end)?);
        end += 1 + len;
        if len == 0 {
            break;
        }
    }
    let kind = u16::from_be_bytes([*query.get(end)?, *query.get(end + 1)?]);
    end += 4;
    let a = kind == 1;
    let mut out = Vec::with_capacity(end + 16);
    out.extend_from_slice(&query[..2]);
    out.extend_from_slice(&[0x81, 0x80, 0, 1, 0, u8::from(a), 0, 0, 0, 0]);
    out.extend_from_slice(query.get(12..end)?);
    if a {
        out.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x01, 0x2C, 0, 4, 127, 0, 0, 1]);
    }
    Some(out)
}
