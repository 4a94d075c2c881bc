//! Failure reasons come from the failure's type: a TLS handshake with a server that speaks
//! plain HTTP fails as `tls`, not as `connect`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::cmd::Areq;

/// A listener that answers every connection at once with a plain HTTP error, as an HTTP
/// server does to bytes it cannot parse (a TLS ClientHello), until `stop` is set or ten
/// seconds have passed. Returns the port and a count of the connections accepted.
fn plain_http_answerer(stop: Arc<AtomicBool>) -> (u16, thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut accepted = 0;
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    accepted += 1;
                    // Read the ClientHello first: closing a socket with unread bytes resets
                    // the connection, and the client would see a reset, not a bad answer.
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut hello = [0u8; 4096];
                    let _ = stream.read(&mut hello);
                    let _ =
                        stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
                    let _ = stream.shutdown(std::net::Shutdown::Write);
                    // Wait for the client to hang up (or the timeout) before closing.
                    while matches!(stream.read(&mut hello), Ok(n) if n > 0) {}
                }
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
        accepted
    });
    (port, handle)
}

#[test]
fn https_to_a_plain_http_server_is_a_tls_failure_that_is_not_retried() {
    let stop = Arc::new(AtomicBool::new(false));
    let (port, answerer) = plain_http_answerer(Arc::clone(&stop));
    let url = format!("https://127.0.0.1:{port}/page");
    let areq = Areq::new();
    areq.input(std::slice::from_ref(&url));
    let run = areq.run(&["urls.txt", "-o", "out.tsv", "--retries", "2"]);
    stop.store(true, Ordering::Relaxed);
    run.assert_success();
    assert!(
        run.stderr.contains("failed: tls: 1\n"),
        "the reason is tls: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "page{{url={url}}}: page failed error=TLS failed: "
        )),
        "the log line names the URL and says TLS: {}",
        run.stderr
    );
    assert_eq!(
        answerer.join().unwrap(),
        1,
        "a TLS failure is final, not retried"
    );
}
