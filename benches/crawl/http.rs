//! The bundled HTTP/1.1 server, run by the bench binary in a child process of its own
//! (`--serve DIR PORT`, `--serve-delay MS PORT` or `--serve-planted DIR PORT`), so areq is
//! measured against a server that is not part of the measuring process.
//!
//! One thread per connection with keep-alive: areq opens at most `-c` connections, and each
//! thread answers request after request on its connection. GET and HEAD only, no request
//! bodies. The process exits when its stdin closes, so it dies with the bench even when the
//! bench is killed. The delay mode can log every request it answers (`HOST PATH`, one a line)
//! to a file, so a workload can count what was fetched at the server.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::linkcheck_site::{self, Route};

/// Longest request line or header line accepted, in bytes.
const MAX_LINE: usize = 8 * 1024;
/// Most header lines accepted in one request.
const MAX_HEADERS: usize = 100;
/// An idle keep-alive connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// The small page every delay-mode URL answers with: three links, two of them relative, so
/// each page yields the same three records.
pub const DELAY_BODY: &str =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>delay</title>\
    </head><body><a href=\"/next\">next</a> <a href=\"sibling\">sibling</a> \
    <a href=\"https://example.com/\">external</a></body></html>\n";
/// Records areq writes for one delay-mode page.
pub const DELAY_LINKS: u64 = 3;

/// What the server answers.
#[derive(Debug)]
pub enum Mode {
    /// Files under this directory.
    Static(PathBuf),
    /// [`DELAY_BODY`] for every path, after this many milliseconds; each request logged to
    /// the file, when there is one.
    Delay(Duration, Option<Mutex<File>>),
    /// The link-checking site under this directory: files, and the answers of the paths its
    /// generator planted (statuses, redirects, a path that hangs; see [`linkcheck_site::route`]).
    Planted(PathBuf),
}

/// Parses `--serve DIR PORT`, `--serve-delay MS PORT [LOG]` or `--serve-planted DIR PORT`
/// from the bench's own arguments.
pub fn mode_from_args(args: &[OsString]) -> Option<(Mode, u16)> {
    let [flag, value, port, rest @ ..] = args else {
        return None;
    };
    let port = port.to_str()?.parse().ok()?;
    match flag.to_str()? {
        "--serve" => Some((Mode::Static(PathBuf::from(value)), port)),
        "--serve-planted" => Some((Mode::Planted(PathBuf::from(value)), port)),
        "--serve-delay" => {
            let millis = value.to_str()?.parse().ok()?;
            let log = match rest.first() {
                Some(path) => Some(Mutex::new(
                    OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .ok()?,
                )),
                None => None,
            };
            Some((Mode::Delay(Duration::from_millis(millis), log), port))
        }
        _ => None,
    }
}

/// Serves until stdin closes, then exits the process.
pub fn serve(mode: Mode, port: u16) -> ! {
    // The delay server answers on every address, so 127.1.x.y reach it as distinct hosts.
    let ip = match mode {
        Mode::Static(_) | Mode::Planted(_) => "127.0.0.1",
        Mode::Delay(..) => "0.0.0.0",
    };
    let listener = match TcpListener::bind((ip, port)) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("bench server: cannot listen on {ip}:{port}: {err}");
            std::process::exit(1);
        }
    };
    thread::spawn(exit_when_stdin_closes);
    let mode = Arc::new(mode);
    // Runs until the process exits; each accepted connection gets a thread.
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let mode = Arc::clone(&mode);
        thread::spawn(move || {
            // A client going away mid-response is normal when areq exits.
            let _ = handle_connection(stream, &mode);
        });
    }
    std::process::exit(0)
}

/// The parent holds our stdin open for as long as it wants the server.
fn exit_when_stdin_closes() {
    let mut sink = [0u8; 64];
    let mut stdin = io::stdin().lock();
    while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
    std::process::exit(0);
}

/// One parsed request: what the server needs of it.
struct Request {
    head_only: bool,
    path: String,
    /// The `Host` header, empty when there is none.
    host: String,
    keep_alive: bool,
}

fn handle_connection(stream: TcpStream, mode: &Mode) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut response = Vec::with_capacity(128 * 1024);
    while let Some(request) = read_request(&mut reader)? {
        response.clear();
        respond(&request, mode, &mut response);
        writer.write_all(&response)?;
        if !request.keep_alive {
            break;
        }
    }
    Ok(())
}

/// The next request on the connection, or `None` when the client closed it.
fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if read_line(reader, &mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_ascii_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or("/").to_owned();
    let mut keep_alive = parts.next() != Some("HTTP/1.0");
    let mut host = String::new();
    for _ in 0..MAX_HEADERS {
        line.clear();
        if read_line(reader, &mut line)? == 0 {
            return Ok(None);
        }
        let header = line.trim_end();
        if header.is_empty() {
            let head_only = method == "HEAD";
            return Ok(Some(Request {
                head_only,
                path,
                host,
                keep_alive,
            }));
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("host") {
                host = value.trim().to_owned();
            } else if name.eq_ignore_ascii_case("connection") {
                let value = value.trim();
                keep_alive = if value.eq_ignore_ascii_case("close") {
                    false
                } else {
                    keep_alive || value.eq_ignore_ascii_case("keep-alive")
                };
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "too many headers",
    ))
}

/// One line of at most [`MAX_LINE`] bytes; 0 at end of stream.
fn read_line(reader: &mut impl BufRead, line: &mut String) -> io::Result<usize> {
    let read = reader.take(MAX_LINE as u64).read_line(line)?;
    if read == MAX_LINE && !line.ends_with('\n') {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
    }
    Ok(read)
}

/// Appends the whole response (head and body) for `request` to `out`.
fn respond(request: &Request, mode: &Mode, out: &mut Vec<u8>) {
    let mut location = None;
    let (status, body) = match mode {
        Mode::Delay(delay, log) => {
            if !delay.is_zero() {
                thread::sleep(*delay);
            }
            if let Some(log) = log {
                // One write a line, so lines of concurrent requests never mix.
                let line = format!("{} {}\n", request.host, request.path);
                let mut file = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let _ = file.write_all(line.as_bytes());
            }
            ("200 OK", Some(DELAY_BODY.as_bytes().to_vec()))
        }
        Mode::Static(root) => file_answer(root, &request.path),
        Mode::Planted(root) => {
            let path = request.path.split(['?', '#']).next().unwrap_or_default();
            match linkcheck_site::route(path) {
                Some(Route::Status(410)) => ("410 Gone", None),
                Some(Route::Status(_)) => ("404 Not Found", None),
                Some(Route::Redirect(to)) => {
                    location = Some(to);
                    ("301 Moved Permanently", None)
                }
                Some(Route::Hang) => {
                    thread::sleep(linkcheck_site::HANG);
                    (
                        "200 OK",
                        Some(b"<!DOCTYPE html><title>late</title>\n".to_vec()),
                    )
                }
                None => file_answer(root, &request.path),
            }
        }
    };
    let length = body.as_ref().map_or(0, Vec::len);
    let connection = if request.keep_alive {
        "keep-alive"
    } else {
        "close"
    };
    let content_type = match mode {
        Mode::Planted(_) => content_type(&request.path),
        Mode::Static(_) | Mode::Delay(..) => "text/html",
    };
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\
         Connection: {connection}\r\n"
    );
    if matches!(mode, Mode::Planted(_)) {
        // LinkChecker paces a host to at most 10 requests a second unless its answers carry
        // this header; the other checkers do not pace, so all run unpaced.
        head.push_str("LinkChecker: unpaced\r\n");
    }
    if let Some(location) = location {
        head.push_str(&format!("Location: {location}\r\n"));
    }
    head.push_str("\r\n");
    out.extend_from_slice(head.as_bytes());
    if let (Some(body), false) = (body, request.head_only) {
        out.extend_from_slice(&body);
    }
}

/// The file under `root` with its status, or a 404.
fn file_answer(root: &Path, path: &str) -> (&'static str, Option<Vec<u8>>) {
    match read_file(root, path) {
        Some(body) => ("200 OK", Some(body)),
        None => ("404 Not Found", None),
    }
}

/// The type of a file of the link-checking site: `text/html`, except for its image and
/// robots.txt.
fn content_type(path: &str) -> &'static str {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if path.ends_with(".gif") {
        "image/gif"
    } else if path.ends_with(".txt") {
        "text/plain"
    } else {
        "text/html"
    }
}

/// The file `path` (query ignored) names under `root`; `None` when missing or when the path
/// tries to leave the root.
fn read_file(root: &Path, path: &str) -> Option<Vec<u8>> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let relative = path.strip_prefix('/')?;
    if relative
        .split('/')
        .any(|part| part == ".." || part.contains('\\'))
    {
        return None;
    }
    let relative = if relative.is_empty() || relative.ends_with('/') {
        format!("{relative}index.html")
    } else {
        relative.to_owned()
    };
    std::fs::read(root.join(relative)).ok()
}
