//! A keep-alive HTTP/1.1 server for many hosts at once, counting open connections.
//!
//! It listens on one ephemeral port of 127.0.0.1 (where a test resolver maps test names) and
//! on the same port of each loopback address the test names, so `127.1.x.y:PORT` reaches it
//! as thousands of distinct hosts (Linux routes all of 127.0.0.0/8 to loopback) while nothing
//! listens beyond loopback. Unlike [`super::server`] it
//! keeps each connection open for more requests until the client closes it, as real servers
//! do, so a client's idle pooled connections show up in [`HostsServer::max_open`]. A
//! connection the client closed stops counting when the next one is accepted, even if its
//! thread has not run yet to see the end: the count is what the kernel says, not how busy
//! the machine is. Every page is a small HTML page with one link. One thread per
//! connection; every read is bounded, and dropping the server stops the accept loop and
//! closes what is still open.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A connection with no request for this long is closed by the server.
const IDLE_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the accept loop looks at the stop flag, in milliseconds.
const ACCEPT_POLL_MS: i32 = 50;
/// Longest request head line accepted.
const MAX_LINE: usize = 8 * 1024;

/// What the server counts.
#[derive(Default)]
struct Counts {
    open: AtomicUsize,
    max_open: AtomicUsize,
    connections: AtomicUsize,
    requests: AtomicUsize,
    /// Requests per `Host` header value.
    hosts: Mutex<HashMap<String, usize>>,
    /// Open connections, to close them when the server is dropped.
    streams: Mutex<HashMap<usize, TcpStream>>,
}

/// A running server; stops when dropped.
pub struct HostsServer {
    port: u16,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl HostsServer {
    /// Starts listening on an ephemeral port of 127.0.0.1.
    pub fn start() -> HostsServer {
        HostsServer::start_on(&[])
    }

    /// Starts listening on an ephemeral port of 127.0.0.1 and the same port of each of
    /// `addresses` (loopback addresses such as `127.1.0.1`).
    pub fn start_on(addresses: &[String]) -> HostsServer {
        raise_open_file_limit();
        let first = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = first.local_addr().expect("local addr").port();
        let mut listeners = vec![first];
        for address in addresses {
            let ip: Ipv4Addr = address.parse().expect("an IPv4 address");
            assert!(ip.is_loopback(), "{ip} is not a loopback address");
            listeners.push(TcpListener::bind((ip, port)).expect("bind a loopback address"));
        }
        for listener in &listeners {
            listener
                .set_nonblocking(true)
                .expect("non-blocking listener");
        }
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (counts, stop) = (Arc::clone(&counts), Arc::clone(&stop));
            thread::spawn(move || accept_loop(&listeners, &counts, &stop))
        };
        HostsServer {
            port,
            counts,
            stop,
            accept: Some(accept),
        }
    }

    /// The port, the same on every address.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://HOST:PORT/PATH`.
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }

    /// The most connections that were open at once.
    pub fn max_open(&self) -> usize {
        self.counts.max_open.load(Ordering::SeqCst)
    }

    /// Connections accepted in all.
    pub fn connections(&self) -> usize {
        self.counts.connections.load(Ordering::SeqCst)
    }

    /// Requests answered in all.
    pub fn requests(&self) -> usize {
        self.counts.requests.load(Ordering::SeqCst)
    }

    /// How many distinct `Host` values were asked for.
    pub fn distinct_hosts(&self) -> usize {
        self.counts.hosts.lock().unwrap().len()
    }

    /// Distinct `Host` values, as a set.
    pub fn hosts(&self) -> HashSet<String> {
        self.counts.hosts.lock().unwrap().keys().cloned().collect()
    }

    /// Requests answered for each `Host` value.
    pub fn requests_by_host(&self) -> HashMap<String, usize> {
        self.counts.hosts.lock().unwrap().clone()
    }
}

/// `count` distinct loopback hosts: 127.1.0.1, 127.1.0.2, … (250 per third octet).
pub fn loopback_hosts(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("127.1.{}.{}", i / 250, i % 250 + 1))
        .collect()
}

impl Drop for HostsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for stream in self.counts.streams.lock().unwrap().values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Raises this process's soft limit of open files to the hard one: a listener per address
/// and a connection per client can pass a default soft limit of 1024.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read or write the one live `rlimit` passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Accepts on every listener (non-blocking, watched with poll(2)) until told to stop.
fn accept_loop(listeners: &[TcpListener], counts: &Arc<Counts>, stop: &AtomicBool) {
    let mut fds: Vec<libc::pollfd> = listeners
        .iter()
        .map(|listener| libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let mut id = 0;
    while !stop.load(Ordering::SeqCst) {
        // SAFETY: `fds` is a live array of `fds.len()` pollfds over listeners this function
        // borrows; the timeout bounds the wait, so the stop flag is seen.
        let ready =
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ACCEPT_POLL_MS) };
        if ready <= 0 {
            continue;
        }
        for (listener, fd) in listeners.iter().zip(&fds) {
            if fd.revents == 0 {
                continue;
            }
            while let Ok((stream, _)) = listener.accept() {
                id += 1;
                accept(stream, id, counts);
            }
        }
    }
}

/// Counts a new connection and serves it on a thread of its own.
fn accept(stream: TcpStream, id: usize, counts: &Arc<Counts>) {
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let Ok(copy) = stream.try_clone() else {
        return;
    };
    {
        let mut streams = counts.streams.lock().unwrap();
        forget_closed(&mut streams, counts);
        streams.insert(id, copy);
        let open = counts.open.fetch_add(1, Ordering::SeqCst) + 1;
        counts.max_open.fetch_max(open, Ordering::SeqCst);
    }
    counts.connections.fetch_add(1, Ordering::SeqCst);
    let counts = Arc::clone(counts);
    thread::spawn(move || {
        let _ = serve(stream, &counts);
        if counts.streams.lock().unwrap().remove(&id).is_some() {
            counts.open.fetch_sub(1, Ordering::SeqCst);
        }
    });
}

/// Stops counting the connections the client has closed, whether or not their threads have
/// run since: the count is the kernel's, not the scheduler's.
fn forget_closed(streams: &mut HashMap<usize, TcpStream>, counts: &Counts) {
    streams.retain(|_, stream| {
        let mut byte = 0_u8;
        // SAFETY: a one-byte peek into a live local, on a socket this map owns a handle of;
        // MSG_DONTWAIT makes it non-blocking for this call only.
        let read = unsafe {
            libc::recv(
                stream.as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        let closed = read == 0;
        if closed {
            counts.open.fetch_sub(1, Ordering::SeqCst);
        }
        !closed
    });
}

/// Answers requests on one connection until the client closes it (or goes quiet).
fn serve(stream: TcpStream, counts: &Counts) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let Some((path, host)) = read_head(&mut reader)? else {
            return Ok(());
        };
        counts.requests.fetch_add(1, Ordering::SeqCst);
        *counts.hosts.lock().unwrap().entry(host).or_default() += 1;
        let body = format!("<html><body><a href=\"{path}/next\">next</a></body></html>");
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        writer.write_all(head.as_bytes())?;
        writer.write_all(body.as_bytes())?;
    }
}

/// Reads one request head; `None` at a clean end of the connection. Returns the path and
/// the `Host` header.
fn read_head<R: BufRead>(reader: &mut R) -> std::io::Result<Option<(String, String)>> {
    let mut line = String::new();
    let mut path = None;
    let mut host = String::new();
    loop {
        line.clear();
        let read = Read::take(&mut *reader, MAX_LINE as u64).read_line(&mut line)?;
        if read == 0 {
            return Ok(None);
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            if path.is_none() {
                continue;
            }
            return Ok(path.map(|path| (path, host)));
        }
        match &path {
            None => {
                let target = trimmed.split(' ').nth(1).unwrap_or("/");
                path = Some(target.trim_end_matches('/').to_owned());
            }
            Some(_) => {
                if let Some((name, value)) = trimmed.split_once(':') {
                    if name.eq_ignore_ascii_case("host") {
                        host = value.trim().to_owned();
                    }
                }
            }
        }
    }
}
