//! A minimal forward proxy on 127.0.0.1 that records what it relays: absolute-form requests
//! (`GET http://host/path`) are sent on in origin form, `CONNECT host:port` opens a tunnel.
//! It speaks SOCKS5 too (no authentication, `CONNECT` only), recorded as `SOCKS5 host:port`.
//! It relays only to 127.0.0.1; anything else is refused (and recorded).
//!
//! One thread per connection; every read and write has a timeout, and the accept loop stops
//! when the proxy is dropped.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Timeout of one socket read or write.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// A running proxy; stops accepting when dropped.
pub struct ForwardProxy {
    addr: SocketAddr,
    relayed: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl ForwardProxy {
    /// Starts the proxy.
    pub fn start() -> ForwardProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let relayed = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopping) = (Arc::clone(&relayed), Arc::clone(&stop));
        let accept = thread::Builder::new()
            .name("test-proxy-accept".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let log = Arc::clone(&log);
                    let _ = thread::Builder::new()
                        .name("test-proxy-conn".into())
                        .spawn(move || relay(stream, &log));
                }
            })
            .expect("spawn proxy");
        ForwardProxy {
            addr,
            relayed,
            stop,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`, as `--proxy` or `HTTP_PROXY` takes it.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `socks5://127.0.0.1:PORT`, the same proxy spoken to in SOCKS5.
    pub fn socks_url(&self) -> String {
        format!("socks5://{}", self.addr)
    }

    /// The request lines relayed (or refused) so far, as `METHOD TARGET`.
    pub fn relayed(&self) -> Vec<String> {
        self.relayed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).is_ok();
        if let (Some(accept), true) = (self.accept.take(), woke) {
            let _ = accept.join();
        }
    }
}

fn relay(mut client: TcpStream, log: &Mutex<Vec<String>>) {
    let _ = client.set_read_timeout(Some(IO_TIMEOUT));
    let _ = client.set_write_timeout(Some(IO_TIMEOUT));
    let mut first = [0u8; 1];
    if client.peek(&mut first).is_ok() && first[0] == 5 {
        return relay_socks5(client, log);
    }
    let Some((head, early)) = read_head(&mut client) else {
        return;
    };
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut request_line = text.split("\r\n").next().unwrap_or("").split(' ');
    let (method, target) = (
        request_line.next().unwrap_or(""),
        request_line.next().unwrap_or(""),
    );
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(format!("{method} {target}"));
    if method.eq_ignore_ascii_case("CONNECT") {
        let Some(upstream) = connect_loopback(target) else {
            let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            return;
        };
        if client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .is_ok()
        {
            splice(client, upstream, &early);
        }
        return;
    }
    let Some((authority, path)) = target
        .strip_prefix("http://")
        .map(|rest| rest.split_at(rest.find('/').unwrap_or(rest.len())))
    else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let Some(mut upstream) = connect_loopback(authority) else {
        let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let path = if path.is_empty() { "/" } else { path };
    let rest = text.split_once("\r\n").map_or("", |(_, rest)| rest);
    let version = text
        .split("\r\n")
        .next()
        .unwrap_or("")
        .rsplit(' ')
        .next()
        .unwrap_or("HTTP/1.1");
    let forwarded = format!("{method} {path} {version}\r\n{rest}");
    if upstream.write_all(forwarded.as_bytes()).is_ok() {
        splice(client, upstream, &early);
    }
}

/// A SOCKS5 `CONNECT` without authentication, to an IPv4 address or a name.
fn relay_socks5(mut client: TcpStream, log: &Mutex<Vec<String>>) {
    let mut greeting = [0u8; 2];
    if client.read_exact(&mut greeting).is_err() {
        return;
    }
    let mut methods = vec![0u8; usize::from(greeting[1])];
    if client.read_exact(&mut methods).is_err() || client.write_all(&[5, 0]).is_err() {
        return;
    }
    let mut request = [0u8; 4];
    if client.read_exact(&mut request).is_err() {
        return;
    }
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            if client.read_exact(&mut ip).is_err() {
                return;
            }
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            let _ = client.read_exact(&mut len);
            let mut name = vec![0u8; usize::from(len[0])];
            if client.read_exact(&mut name).is_err() {
                return;
            }
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => return,
    };
    let mut port = [0u8; 2];
    if client.read_exact(&mut port).is_err() {
        return;
    }
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(format!("SOCKS5 {target}"));
    let upstream = (request[1] == 1)
        .then(|| connect_loopback(&target))
        .flatten();
    let Some(upstream) = upstream else {
        let _ = client.write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
        return;
    };
    if client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).is_ok() {
        splice(client, upstream, &[]);
    }
}

/// Connects to `authority` if it is `127.0.0.1:PORT`.
fn connect_loopback(authority: &str) -> Option<TcpStream> {
    let addr: SocketAddr = authority.parse().ok()?;
    if !addr.ip().is_loopback() {
        return None;
    }
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).ok()?;
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    Some(stream)
}

/// Copies both ways until each side has closed (or a timeout), after sending `early` (bytes
/// the client sent after its head) upstream.
fn splice(client: TcpStream, mut upstream: TcpStream, early: &[u8]) {
    if upstream.write_all(early).is_err() {
        return;
    }
    let (Ok(client_reader), Ok(upstream_writer)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let up = thread::spawn(move || copy_then_close(client_reader, upstream_writer));
    copy_then_close(upstream, client);
    let _ = up.join();
}

fn copy_then_close(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

/// Reads the request head; returns it and any bytes read past it.
fn read_head(stream: &mut TcpStream) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let early = buf.split_off(end + 4);
            return Some((buf, early));
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
