//! A small, deliberately dumb HTTP/1.1 test server built on `std::net` only.
//!
//! It listens on an ephemeral port of 127.0.0.1, answers exactly one request
//! per connection (one thread per connection) and records what it saw, so
//! tests can check which URLs were fetched and how many requests were being
//! served at the same time. Besides normal responses it can misbehave on
//! purpose (garbage bytes, slow bodies, hanging or dropped connections).
//! Every wait is bounded, and the accept loop stops when the server is dropped.
//!
//! A handler that panics (say, an assertion placed inside it) answers 500 and the panic is
//! kept: dropping the server panics with it, so the test fails.
//!
//! The server is also an HTTP proxy: a request line with an absolute URL
//! (`GET http://a.test/x HTTP/1.1`) is recorded with that URL as its `path`. Running areq
//! with [`TestServer::proxy_env`] sends every `http://` request here, so made-up host names
//! (`*.test`) reach the server without any DNS lookup and nothing leaves 127.0.0.1.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Largest request head accepted, in bytes.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body read and discarded, in bytes.
const MAX_BODY: u64 = 16 * 1024 * 1024;
/// Timeout of a single socket read or write, and of reading a whole head.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed incoming request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method, e.g. `GET`.
    pub method: String,
    /// Path and query exactly as sent in the request line.
    pub path: String,
    /// Header names and values in the order received (values trimmed).
    pub headers: Vec<(String, String)>,
    /// When the request head was fully read.
    pub received: Instant,
    /// When its connection was accepted (one request per connection).
    pub accepted: Instant,
    /// When the kernel received the request's first bytes: when the client sent it, free of
    /// any delay in scheduling the server's threads (falls back to `accepted` if the kernel
    /// gave no timestamp). Gaps between requests are measured with this.
    pub sent: Instant,
}

impl Request {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The host the request was for: from an absolute URL in the request line (proxy
    /// requests), else from the `Host` header, without the port.
    pub fn host(&self) -> String {
        let authority = match self.path.split_once("://") {
            Some((_, rest)) => rest.split('/').next().unwrap_or_default(),
            None => self.header("host").unwrap_or_default(),
        };
        match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host.to_owned(),
            _ => authority.to_owned(),
        }
    }
}

/// What the server does for one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A normal response: status, headers, body. The server adds
    /// `Content-Length` (unless the handler set one itself, which is then sent
    /// as-is, so it can lie) and `Connection: close` (unless set).
    Full {
        /// Status code.
        status: u16,
        /// Extra headers, sent in order.
        headers: Vec<(String, String)>,
        /// Body (not sent for `HEAD` requests).
        body: Vec<u8>,
    },
    /// Wait this long, then apply the inner reply.
    Delayed(Duration, Box<Reply>),
    /// Write these bytes verbatim to the socket, then close.
    Raw(Vec<u8>),
    /// Write `head` at once, then each chunk after sleeping `pause` before it;
    /// stop silently if the client goes away.
    Trickle {
        /// Bytes written immediately (status line, headers, blank line).
        head: Vec<u8>,
        /// Body pieces, each written after a pause.
        chunks: Vec<Vec<u8>>,
        /// Pause before each chunk.
        pause: Duration,
    },
    /// Never answer; hold the socket open for at most this long (less if the
    /// client closes first), then close.
    Hang(Duration),
    /// Close the connection at once without writing anything.
    Close,
    /// Abort the connection with a TCP reset (RST) instead of an orderly close.
    Reset,
    /// Write `head`, then `chunk` `times` times: a large body that is never all in memory.
    Repeat {
        /// Bytes written first (status line, headers, blank line).
        head: Vec<u8>,
        /// The body piece written over and over.
        chunk: Vec<u8>,
        /// How many times.
        times: usize,
    },
}

impl Reply {
    /// A 200 response with `Content-Type: text/html; charset=utf-8`.
    pub fn html(body: impl Into<Vec<u8>>) -> Reply {
        Reply::with_type(200, "text/html; charset=utf-8", body)
    }

    /// A 200 response with `Content-Type: text/plain; charset=utf-8`.
    pub fn text(body: impl Into<Vec<u8>>) -> Reply {
        Reply::with_type(200, "text/plain; charset=utf-8", body)
    }

    /// A response with the given status, content type and body.
    pub fn with_type(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body: body.into(),
        }
    }

    /// That status with a plain-text body like `404 Not Found` (empty for
    /// 1xx, 204 and 304).
    pub fn status(code: u16) -> Reply {
        let body = match code {
            100..=199 | 204 | 304 => String::new(),
            _ => format!("{code} {}", reason(code)),
        };
        Reply::with_type(code, "text/plain; charset=utf-8", body)
    }

    /// A redirect with the given status and `Location` header, empty body.
    pub fn redirect(code: u16, location: &str) -> Reply {
        let reply = Reply::Full {
            status: code,
            headers: Vec::new(),
            body: Vec::new(),
        };
        reply.with_header("Location", location)
    }

    /// Appends a header to a `Full` reply (also inside `Delayed`); other
    /// variants are returned unchanged.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        let mut target = &mut self;
        while let Reply::Delayed(_, inner) = target {
            target = inner;
        }
        if let Reply::Full { headers, .. } = target {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }

    /// Wraps this reply so it is sent after `delay`.
    pub fn delayed(self, delay: Duration) -> Reply {
        Reply::Delayed(delay, Box::new(self))
    }
}

/// The reason phrase for common status codes, else `Unknown`.
pub fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// State shared between the server handle and its threads.
struct Shared {
    handler: Box<Handler>,
    stop: AtomicBool,
    hits: Mutex<HashMap<String, usize>>,
    log: Mutex<Vec<Request>>,
    total: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// `(path, whether the client stayed until the reply was complete)` of every reply
    /// carried out, in order.
    replies: Mutex<Vec<(String, bool)>>,
    /// Messages of handler panics.
    panics: Mutex<Vec<String>>,
}

/// Decrements the in-flight count when dropped (also on panic).
struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running test server; stops accepting connections when dropped.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Start a server whose every request is answered by `handler`.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> TestServer {
        TestServer::start_on("127.0.0.1", handler)
    }

    /// Start a server on `ip` (a loopback address such as 127.0.0.2) whose every request is
    /// answered by `handler`.
    pub fn start_on(
        ip: &str,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind((ip, 0)).expect("bind test server");
        enable_receive_timestamps(&listener);
        let addr = listener.local_addr().expect("test server address");
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            stop: AtomicBool::new(false),
            hits: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            total: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            replies: Mutex::new(Vec::new()),
            panics: Mutex::new(Vec::new()),
        });
        let state = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("test-server-accept".into())
            .spawn(move || accept_loop(listener, state))
            .expect("spawn accept thread");
        TestServer {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// Start a server that serves files from the crate's `fixtures/` directory.
    pub fn fixtures() -> TestServer {
        TestServer::start(serve_file)
    }

    /// Like `fixtures()` but consulting `routes` first: if it returns
    /// `Some(reply)` that is used, else the file.
    pub fn fixtures_with(
        routes: impl Fn(&Request) -> Option<Reply> + Send + Sync + 'static,
    ) -> TestServer {
        TestServer::start(move |req| routes(req).unwrap_or_else(|| serve_file(req)))
    }

    /// `http://ADDRESS:PORT` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many requests have been received for this exact path (path and
    /// query as in the request line).
    pub fn hits(&self, path: &str) -> usize {
        lock(&self.shared.hits).get(path).copied().unwrap_or(0)
    }

    /// Total requests received.
    pub fn total_hits(&self) -> usize {
        self.shared.total.load(Ordering::SeqCst)
    }

    /// All requests received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.log).clone()
    }

    /// How many requests are being handled right now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// The maximum number of requests handled at the same time (from the end
    /// of the request head until the reply was written or the connection
    /// dropped).
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// The environment that makes areq use this server as its HTTP proxy (see the module
    /// docs).
    pub fn proxy_env(&self) -> Vec<(String, String)> {
        vec![("http_proxy".to_owned(), self.url(""))]
    }

    /// Waits (at most 10 s) until `count` replies to `path` have been carried out, and says
    /// for each whether the client stayed until it was complete (`false`: the client closed
    /// the connection before the whole reply was written).
    pub fn replies_to(&self, path: &str, count: usize) -> Vec<bool> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let done: Vec<bool> = lock(&self.shared.replies)
                .iter()
                .filter(|(p, _)| p == path)
                .map(|(_, whole)| *whole)
                .collect();
            if done.len() >= count {
                return done;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {count} replies to {path} were carried out",
                done.len()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Panics if a handler panicked, with the handlers' panic messages.
    pub fn assert_no_handler_panicked(&self) {
        let panics = lock(&self.shared.panics).clone();
        assert!(
            panics.is_empty(),
            "a test server handler panicked: {}",
            panics.join("; ")
        );
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept; join only if the wake-up got through.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).is_ok();
        if let Some(handle) = self.accept.take() {
            if woke {
                let _ = handle.join();
            }
        }
        if !thread::panicking() {
            self.assert_no_handler_panicked();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let accepted = Instant::now();
        let Ok(stream) = conn else {
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let state = Arc::clone(&shared);
        // If the thread cannot be spawned the stream is dropped (closed).
        let _ = thread::Builder::new()
            .name("test-server-conn".into())
            .spawn(move || handle_connection(stream, accepted, &state));
    }
}

fn handle_connection(mut stream: TcpStream, accepted: Instant, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let Some((head, early_body, arrived)) = read_head(&mut stream) else {
        return;
    };
    let sent = arrived.unwrap_or(accepted);
    let Some(req) = parse_head(&head, accepted, sent) else {
        if put(
            &mut stream,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        ) {
            finish(stream);
        }
        return;
    };
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let guard = InFlight(shared);
    shared.total.fetch_add(1, Ordering::SeqCst);
    *lock(&shared.hits).entry(req.path.clone()).or_insert(0) += 1;
    lock(&shared.log).push(req.clone());

    let length = req
        .header("content-length")
        .and_then(|v| v.parse::<u64>().ok());
    let remaining = length.unwrap_or(0).saturating_sub(early_body as u64);
    let _ = io::copy(
        &mut (&mut stream).take(remaining.min(MAX_BODY)),
        &mut io::sink(),
    );

    let reply = catch_unwind(AssertUnwindSafe(|| (shared.handler)(&req))).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a non-string panic".to_owned());
        lock(&shared.panics).push(format!("{} {}: {message}", req.method, req.path));
        Reply::status(500)
    });
    let graceful = send(
        &mut stream,
        reply,
        req.method.eq_ignore_ascii_case("HEAD"),
        guard,
    );
    lock(&shared.replies).push((req.path.clone(), graceful));
    if graceful {
        finish(stream);
    }
}

/// Reads up to and including the blank line; returns the head, how many body bytes were
/// read along with it, and when the kernel received its first bytes (if it said).
fn read_head(stream: &mut TcpStream) -> Option<(Vec<u8>, usize, Option<Instant>)> {
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let mut arrived = None;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let extra = buf.len() - (end + 4);
            buf.truncate(end + 4);
            return Some((buf, extra, arrived));
        }
        if buf.len() > MAX_HEAD || Instant::now() > deadline {
            return None;
        }
        let read = if buf.is_empty() {
            read_with_timestamp(stream, &mut chunk).map(|(n, at)| {
                arrived = at;
                n
            })
        } else {
            stream.read(&mut chunk)
        };
        match read {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// `SOL_SOCKET` and `SO_TIMESTAMPNS` (also the control message type) on Linux.
const SOL_SOCKET: i32 = 1;
const SO_TIMESTAMPNS: i32 = 35;

/// Asks the kernel to timestamp data received on the connections `listener` accepts (they
/// inherit the option): `SO_TIMESTAMPNS`.
fn enable_receive_timestamps(listener: &TcpListener) {
    use std::os::fd::AsRawFd;
    set_socket_option(listener.as_raw_fd(), SO_TIMESTAMPNS, &1i32);
}

/// `setsockopt(fd, SOL_SOCKET, name, value)`, for a live socket `fd`; errors are ignored
/// (the tests that depend on the option fail on their own).
fn set_socket_option<T>(fd: i32, name: i32, value: &T) {
    extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, value: *const u8, len: u32) -> i32;
    }
    // SAFETY: `value` is a valid `T` of the size passed, for the duration of the call; the
    // callers pass live socket fds and the option's C type as `T`.
    unsafe {
        setsockopt(
            fd,
            SOL_SOCKET,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as u32,
        );
    }
}

/// One `recvmsg` into `buf`; returns the bytes read and, when the kernel attached its
/// receive timestamp, that moment as an `Instant`.
fn read_with_timestamp(stream: &TcpStream, buf: &mut [u8]) -> io::Result<(usize, Option<Instant>)> {
    use std::os::fd::AsRawFd;
    use std::time::SystemTime;

    #[repr(C)]
    struct IoVec {
        base: *mut u8,
        len: usize,
    }
    #[repr(C)]
    struct MsgHdr {
        name: *mut u8,
        name_len: u32,
        iov: *mut IoVec,
        iov_len: usize,
        control: *mut u8,
        control_len: usize,
        flags: i32,
    }
    #[repr(C)]
    struct CmsgHdr {
        len: usize,
        level: i32,
        kind: i32,
    }
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn recvmsg(fd: i32, msg: *mut MsgHdr, flags: i32) -> isize;
    }

    let mut iov = IoVec {
        base: buf.as_mut_ptr(),
        len: buf.len(),
    };
    let mut control = [0u64; 16];
    let mut msg = MsgHdr {
        name: std::ptr::null_mut(),
        name_len: 0,
        iov: &mut iov,
        iov_len: 1,
        control: control.as_mut_ptr().cast(),
        control_len: std::mem::size_of_val(&control),
        flags: 0,
    };
    // SAFETY: `msg` points at a live iovec over `buf` and at `control`, both valid for the
    // lengths given, for the duration of the call.
    let read = unsafe { recvmsg(stream.as_raw_fd(), &mut msg, 0) };
    if read < 0 {
        return Err(io::Error::last_os_error());
    }
    let (now_instant, now_system) = (Instant::now(), SystemTime::now());
    // The first control message is the timestamp when there is one: a header, then (aligned
    // to 8 bytes, which the header's 16 already are) a timespec of wall-clock time.
    let header_len = std::mem::size_of::<CmsgHdr>();
    let mut arrived = None;
    if msg.control_len >= header_len + std::mem::size_of::<Timespec>() {
        // SAFETY: the kernel wrote at least a header and a timespec into `control`, which
        // is 8-byte aligned.
        let (header, stamp) = unsafe {
            let base = control.as_ptr().cast::<u8>();
            (
                &*base.cast::<CmsgHdr>(),
                &*base.add(header_len).cast::<Timespec>(),
            )
        };
        if header.level == SOL_SOCKET && header.kind == SO_TIMESTAMPNS {
            let at = SystemTime::UNIX_EPOCH
                + Duration::new(
                    stamp.sec.max(0) as u64,
                    stamp.nsec.clamp(0, 999_999_999) as u32,
                );
            let ago = now_system.duration_since(at).unwrap_or_default();
            arrived = now_instant.checked_sub(ago);
        }
    }
    Ok((read as usize, arrived))
}

fn parse_head(head: &[u8], accepted: Instant, sent: Instant) -> Option<Request> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let mut parts = lines.next()?.split(' ');
    let (method, path, version) = (parts.next()?, parts.next()?, parts.next()?);
    if method.is_empty() || path.is_empty() || !version.starts_with("HTTP/") {
        return None;
    }
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    Some(Request {
        method: method.to_string(),
        path: path.to_string(),
        headers,
        received: Instant::now(),
        accepted,
        sent,
    })
}

/// Carries out `reply`; returns whether the socket should be closed gracefully.
///
/// A `Full` reply stops counting as in flight just *before* it is written: once the client can
/// see the response it may start its next request, and that one must not overlap this one in
/// the count, or the measured maximum could exceed the client's real concurrency.
fn send(stream: &mut TcpStream, reply: Reply, head_only: bool, in_flight: InFlight<'_>) -> bool {
    match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
            let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
            let (has_length, has_connection) = (has("content-length"), has("connection"));
            for (name, value) in &headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            if !has_length {
                out.push_str(&format!("Content-Length: {}\r\n", body.len()));
            }
            if !has_connection {
                out.push_str("Connection: close\r\n");
            }
            out.push_str("\r\n");
            let mut bytes = out.into_bytes();
            if !head_only {
                bytes.extend_from_slice(&body);
            }
            drop(in_flight);
            put(stream, &bytes)
        }
        Reply::Delayed(delay, inner) => {
            thread::sleep(delay);
            send(stream, *inner, head_only, in_flight)
        }
        Reply::Raw(bytes) => put(stream, &bytes),
        Reply::Trickle {
            head,
            chunks,
            pause,
        } => {
            let mut ok = put(stream, &head);
            for chunk in chunks {
                if !ok {
                    break;
                }
                thread::sleep(pause);
                ok = put(stream, &chunk);
            }
            ok
        }
        Reply::Hang(limit) => {
            let deadline = Instant::now() + limit;
            let mut buf = [0u8; 1024];
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
                    return true;
                }
                match stream.read(&mut buf) {
                    Ok(0) => return false,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock
                                | io::ErrorKind::TimedOut
                                | io::ErrorKind::Interrupted
                        ) => {}
                    Err(_) => return false,
                }
            }
        }
        Reply::Close => false,
        Reply::Reset => {
            reset_on_close(stream);
            false
        }
        Reply::Repeat { head, chunk, times } => {
            let mut ok = put(stream, &head);
            for _ in 0..times {
                if !ok {
                    break;
                }
                ok = put(stream, &chunk);
            }
            ok
        }
    }
}

/// Writes and flushes `bytes`; false if the client went away.
fn put(stream: &mut TcpStream, bytes: &[u8]) -> bool {
    stream
        .write_all(bytes)
        .and_then(|()| stream.flush())
        .is_ok()
}

/// Half-closes the socket and briefly drains what the client still sends, so
/// the close is a FIN rather than a reset that could eat the response.
fn finish(mut stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// Serves a file from `fixtures/` under the crate root.
fn serve_file(req: &Request) -> Reply {
    let path = req.path.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') || path.contains("..") || path.contains('\\') {
        return Reply::status(400);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut file = root.join(path.trim_start_matches('/'));
    if file.is_dir() {
        file.push("index.html");
    }
    let Ok(body) = std::fs::read(&file) else {
        return Reply::status(404);
    };
    let content_type = match file.extension().and_then(|e| e.to_str()) {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("txt") => "text/plain",
        Some("json") => "application/json",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    };
    Reply::with_type(200, content_type, body)
}

/// Sets SO_LINGER to zero seconds, so closing the socket sends RST instead of FIN.
fn reset_on_close(stream: &TcpStream) {
    use std::os::fd::AsRawFd;

    #[repr(C)]
    struct Linger {
        l_onoff: i32,
        l_linger: i32,
    }
    const SO_LINGER: i32 = 13;
    let linger = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    set_socket_option(stream.as_raw_fd(), SO_LINGER, &linger);
}

/// A listening socket that never accepts and whose accept queue is full, so a new
/// connection to it is never established: the kernel drops the client's SYNs.
pub struct StalledListener {
    listener: TcpListener,
    /// Connections that fill the queue; kept open for as long as the listener lives.
    _fillers: Vec<TcpStream>,
}

impl StalledListener {
    /// Binds 127.0.0.1:0 with an accept queue of one, and fills it.
    pub fn start() -> StalledListener {
        use std::os::fd::AsRawFd;
        extern "C" {
            fn listen(fd: i32, backlog: i32) -> i32;
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind stalled listener");
        // SAFETY: the fd is a live, bound socket owned by `listener`; listening again only
        // changes its backlog.
        let shrunk = unsafe { listen(listener.as_raw_fd(), 0) };
        assert_eq!(shrunk, 0, "listen(fd, 0)");
        let addr = listener.local_addr().expect("stalled listener address");
        let fillers = (0..2)
            .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok())
            .collect::<Vec<_>>();
        assert!(!fillers.is_empty(), "the accept queue could not be filled");
        StalledListener {
            listener,
            _fillers: fillers,
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        let addr = self
            .listener
            .local_addr()
            .expect("stalled listener address");
        format!("http://{addr}{path}")
    }

    /// Whether a new connection gets through within `wait` (it should not).
    pub fn accepts_within(&self, wait: Duration) -> bool {
        let addr = self
            .listener
            .local_addr()
            .expect("stalled listener address");
        TcpStream::connect_timeout(&addr, wait).is_ok()
    }
}
