//! A keep-alive HTTP/1.1 server for many hosts at once, counting open connections.
//!
//! It listens on one ephemeral port of every address (`0.0.0.0`), so `127.1.x.y:PORT`
//! reaches it as thousands of distinct hosts (Linux routes all of 127.0.0.0/8 to loopback),
//! and so does any test name a test resolver maps to 127.0.0.1. Unlike [`super::server`] it
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
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A connection with no request for this long is closed by the server.
const IDLE_TIMEOUT: Duration = Duration::from_secs(15);
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
    /// Starts listening on an ephemeral port of every address.
    pub fn start() -> HostsServer {
        let listener = TcpListener::bind("0.0.0.0:0").expect("bind 0.0.0.0:0");
        let port = listener.local_addr().expect("local addr").port();
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (counts, stop) = (Arc::clone(&counts), Arc::clone(&stop));
            thread::spawn(move || accept_loop(&listener, &counts, &stop))
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
}

impl Drop for HostsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for stream in self.counts.streams.lock().unwrap().values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: &TcpListener, counts: &Arc<Counts>, stop: &AtomicBool) {
    for (id, stream) in listener.incoming().enumerate() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let Ok(copy) = stream.try_clone() else {
            continue;
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
