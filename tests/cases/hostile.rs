//! Servers that stall, lie, loop, flood and reset: each is one failed (or truncated) page with
//! a precise reason, the run goes on, and the output stays well-formed.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::cmd::{Areq, Run};
use crate::support::server::{Reply, TestServer};

const GOOD_PAGE: &str = "<a href=\"/found\">ok</a>";

/// Serves `/good` normally and everything else with `bad`.
fn server_with(bad: impl Fn(&str) -> Reply + Send + Sync + 'static) -> TestServer {
    TestServer::start(move |request| match request.path.as_str() {
        "/good" => Reply::html(GOOD_PAGE),
        path => bad(path),
    })
}

/// Runs areq on `/bad` then `/good` of `server` with `flags`; asserts the good page made it.
/// Returns the run and its JSON summary.
fn run_bad_and_good(server: &TestServer, flags: &[&str]) -> (Run, serde_json::Value) {
    let areq = Areq::new();
    areq.input(&[server.url("/bad"), server.url("/good")]);
    let mut args = vec!["urls.txt", "-o", "out.tsv", "--no-header"];
    args.extend_from_slice(flags);
    let (run, summary) = areq.run_with_summary(&args);
    run.assert_success();
    assert_eq!(
        areq.read("out.tsv"),
        format!("{}\t{}\n", server.url("/good"), server.url("/found")),
        "the good page is written whatever the bad one did; stderr:\n{}",
        run.stderr
    );
    (run, summary)
}

fn assert_stderr_has(run: &Run, wants: &[&str]) {
    for want in wants {
        assert!(
            run.stderr.contains(want),
            "missing {want:?} in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_503_twice_then_200_succeeds_on_the_third_attempt() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&attempts);
    let server = TestServer::start(move |_| match counter.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::status(503),
        1 => Reply::status(503).with_header("Retry-After", "0"),
        _ => Reply::html(GOOD_PAGE),
    });
    let areq = Areq::new();
    areq.input(&[server.url("/flaky")]);
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--no-header"]);
    run.assert_success();
    assert_eq!(server.hits("/flaky"), 3);
    assert_eq!(areq.read("out.tsv").lines().count(), 1);
    assert_eq!(summary["pages"]["ok"], 1);
    assert_eq!(summary["pages"]["failed"], 0);
}

#[test]
fn client_errors_and_500_are_never_retried_but_429_502_504_are() {
    let server = TestServer::start(|request| {
        let code: u16 = request.path[1..].parse().expect("a status path");
        Reply::status(code).with_header("Retry-After", "0")
    });
    let areq = Areq::new();
    let codes = [400, 403, 404, 410, 500, 429, 502, 504];
    areq.input(&codes.map(|code| server.url(&format!("/{code}"))));
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--retries", "2"]);
    run.assert_success();
    for code in [400, 403, 404, 410, 500] {
        assert_eq!(server.hits(&format!("/{code}")), 1, "{code} is final");
    }
    for code in [429, 502, 504] {
        assert_eq!(
            server.hits(&format!("/{code}")),
            3,
            "{code} is retried twice"
        );
    }
    assert_eq!(summary["pages"]["ok"], 0);
    assert_eq!(summary["pages"]["failed"], 8);
}

/// The gaps between the requests for `path`, in order, timed by when the kernel received
/// each (see `Request::sent`).
fn arrival_gaps(server: &TestServer, path: &str) -> Vec<Duration> {
    let times: Vec<Instant> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .map(|r| r.sent)
        .collect();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn retry_after_is_honoured_and_capped_by_max_retry_wait() {
    let server = TestServer::start(|_| Reply::status(429).with_header("Retry-After", "2"));
    let areq = Areq::new();
    areq.input(&[server.url("/busy")]);
    areq.run(&["urls.txt", "-o", "out.tsv", "--retries", "1"])
        .assert_success();
    let gaps = arrival_gaps(&server, "/busy");
    assert_eq!(gaps.len(), 1);
    assert!(
        gaps[0] >= Duration::from_secs(2),
        "waited as asked: {gaps:?}"
    );

    let areq = Areq::new();
    let server = TestServer::start(|_| Reply::status(429).with_header("Retry-After", "2"));
    areq.input(&[server.url("/busy")]);
    areq.run(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--retries",
        "1",
        "--max-retry-wait",
        "0.1",
    ])
    .assert_success();
    let gaps = arrival_gaps(&server, "/busy");
    assert_eq!(gaps.len(), 1);
    assert!(gaps[0] >= Duration::from_millis(100), "{gaps:?}");
    // Honouring the header would take 2 s; the cap makes it 0.1 s plus a request.
    assert!(gaps[0] < Duration::from_secs(1), "the cap wins: {gaps:?}");
}

#[test]
fn retry_after_as_an_http_date_is_honoured() {
    let server = TestServer::start(|_| {
        let at = std::time::SystemTime::now() + Duration::from_secs(3);
        Reply::status(503).with_header("Retry-After", &httpdate::fmt_http_date(at))
    });
    let areq = Areq::new();
    areq.input(&[server.url("/busy")]);
    areq.run(&["urls.txt", "-o", "out.tsv", "--retries", "1"])
        .assert_success();
    let gaps = arrival_gaps(&server, "/busy");
    assert_eq!(gaps.len(), 1);
    // The date has whole seconds, so it lies 2 to 3 s ahead; backoff alone would be < 0.5 s.
    assert!(gaps[0] >= Duration::from_millis(1900), "{gaps:?}");
}

#[test]
fn backoff_doubles_from_half_a_second_with_jitter_between_half_and_all() {
    const PAGES: usize = 4;
    let server = TestServer::start(|_| Reply::status(502));
    let areq = Areq::new();
    let paths: Vec<String> = (0..PAGES).map(|i| format!("/flaky/{i}")).collect();
    areq.input(&paths.iter().map(|p| server.url(p)).collect::<Vec<_>>());
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--retries", "3"]);
    run.assert_success();
    assert_eq!(
        summary["failures"],
        serde_json::json!({ "http 502": PAGES })
    );
    // Retry k waits between half and all of 0.5 s * 2^(k-1). The server sees each wait plus
    // a round trip, so the lower bounds are exact and the upper bounds allow for a loaded
    // machine; the bands of retry 1 and retry 3 do not overlap, so a schedule that does not
    // double fails.
    let slack = Duration::from_millis(400);
    let mut fractions = Vec::new();
    for path in &paths {
        let gaps = arrival_gaps(&server, path);
        assert_eq!(gaps.len(), 3, "{path}: one attempt and three retries");
        for (retry, gap) in gaps.iter().enumerate() {
            let full = Duration::from_millis(500) * 2u32.pow(retry as u32);
            assert!(
                *gap >= full / 2 && *gap <= full + slack,
                "{path}: retry {} waited {gap:?}, not within [{:?}, {full:?}]",
                retry + 1,
                full / 2
            );
            fractions.push(gap.as_secs_f64() / full.as_secs_f64());
        }
    }
    // Jitter: twelve waits that are all the same fraction of their backoff are not random.
    let lowest = fractions.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = fractions.iter().copied().fold(0.0, f64::max);
    assert!(
        highest - lowest > 0.04,
        "no jitter: every wait is {lowest:.3}..{highest:.3} of its backoff"
    );
}

#[test]
fn max_retry_wait_caps_the_backoff() {
    let server = TestServer::start(|_| Reply::status(503));
    let areq = Areq::new();
    areq.input(&[server.url("/flaky")]);
    areq.run(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--retries",
        "3",
        "--max-retry-wait",
        "0.1",
    ])
    .assert_success();
    let gaps = arrival_gaps(&server, "/flaky");
    assert_eq!(gaps.len(), 3, "{gaps:?}");
    // Uncapped, the third wait alone is at least 1 s.
    for gap in &gaps {
        assert!(*gap < Duration::from_millis(700), "{gaps:?}");
    }
}

#[test]
fn a_server_that_never_answers_and_one_that_trickles_both_end_at_the_timeout() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/never" => Reply::Hang(Duration::from_secs(30)),
        "/trickle" => Reply::Trickle {
            head: b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
                .to_vec(),
            chunks: vec![b"<".to_vec(); 60],
            pause: Duration::from_secs(1),
        },
        _ => Reply::html(GOOD_PAGE),
    });
    let areq = Areq::new();
    areq.input(&[
        server.url("/never"),
        server.url("/trickle"),
        server.url("/good"),
    ]);
    let started = Instant::now();
    let (run, summary) = areq.run_with_summary(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--timeout",
        "2",
        "--retries",
        "0",
    ]);
    run.assert_success();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded by --timeout"
    );
    assert_eq!(summary["pages"]["ok"], 1);
    assert_eq!(summary["failures"], serde_json::json!({ "timeout": 2 }));
    assert_eq!(areq.read("out.tsv").lines().count(), 2);
}

/// The start of a huge page: a link first, then an open paragraph the padding fills.
fn big_page_head() -> Vec<u8> {
    b"<!doctype html><a href=\"/early\">early</a><p>".to_vec()
}

#[test]
fn a_200_mb_body_stops_at_max_body_and_what_was_read_is_parsed() {
    let server = TestServer::start(|_| {
        let mut head =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 209715246\r\n\r\n"
                .to_vec();
        head.extend_from_slice(&big_page_head());
        Reply::Repeat {
            head,
            chunk: vec![b'x'; 1024 * 1024],
            times: 200,
        }
    });
    let areq = Areq::new();
    areq.input(&[server.url("/huge")]);
    let (run, summary) = areq.run_with_summary(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--no-header",
        "--max-body",
        "1048576",
    ]);
    run.assert_success();
    assert_eq!(summary["pages"]["truncated"], 1);
    assert_eq!(summary["pages"]["ok"], 1);
    assert_eq!(summary["bytes_read"], 1_048_576);
    assert_eq!(
        server.replies_to("/huge", 1),
        [false],
        "the rest of the body is not read: areq hung up"
    );
    assert_eq!(
        areq.read("out.tsv"),
        format!("{}\t{}\n", server.url("/huge"), server.url("/early"))
    );
    assert_stderr_has(
        &run,
        &[
            "pages: 1 ok, 0 failed, 0 skipped (not HTML), 1 truncated\n",
            ", 1.0 MiB read in",
        ],
    );
}

/// A gzip stream that inflates to `mib` MiB of zeros, a few KiB a MiB: the same
/// sync-flushed deflate segment repeated (each refers only to its own bytes).
fn gzip_bomb(prefix: &[u8], mib: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let segment = |data: &[u8]| {
        let mut deflate = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(data.len() / 100 + 1024);
        deflate
            .compress_vec(data, &mut out, FlushCompress::Sync)
            .expect("deflate");
        out
    };
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    gz.extend(segment(prefix));
    let zeros = segment(&vec![0u8; 1024 * 1024]);
    for _ in 0..mib {
        gz.extend_from_slice(&zeros);
    }
    gz.extend_from_slice(&[0x03, 0x00]); // a final, empty fixed block
    gz.extend_from_slice(&[0; 8]); // CRC and size: never reached, the cap stops first
    gz
}

#[test]
fn a_gzip_bomb_stops_at_max_body_counted_after_decompression() {
    let bomb = gzip_bomb(&big_page_head(), 1024);
    assert!(
        bomb.len() < 8 * 1024 * 1024,
        "a few MB on the wire: {}",
        bomb.len()
    );
    let server = TestServer::start(move |_| {
        Reply::with_type(200, "text/html", bomb.clone()).with_header("Content-Encoding", "gzip")
    });
    let areq = Areq::new();
    areq.input(&[server.url("/bomb")]);
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--no-header"]);
    run.assert_success();
    assert_eq!(summary["pages"]["truncated"], 1);
    assert_eq!(
        summary["bytes_read"],
        10 * 1024 * 1024,
        "the default cap, decompressed"
    );
    assert_eq!(
        areq.read("out.tsv"),
        format!("{}\t{}\n", server.url("/bomb"), server.url("/early"))
    );
    assert_stderr_has(&run, &[", 10.0 MiB read in"]);
}

/// Serves `raw` as the answer for `/bad`: that page must fail as a broken response, and
/// `/good` must still be written.
fn assert_broken_response(raw: &'static [u8]) {
    let server = server_with(move |_| Reply::Raw(raw.to_vec()));
    let (run, summary) = run_bad_and_good(&server, &[]);
    assert_stderr_has(&run, &["broken response"]);
    assert_eq!(summary["failures"], serde_json::json!({ "protocol": 1 }));
}

#[test]
fn a_content_length_longer_than_the_body_is_a_broken_response() {
    assert_broken_response(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<a href=/x>",
    );
}

#[test]
fn a_chunked_body_cut_off_mid_way_is_a_broken_response() {
    assert_broken_response(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n\
          10\r\n<a href=/x>",
    );
}

#[test]
fn invalid_chunked_encoding_is_a_broken_response() {
    assert_broken_response(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n\
          zz\r\nnot hex\r\n0\r\n\r\n",
    );
}

#[test]
fn garbage_instead_of_http_is_a_broken_response() {
    assert_broken_response(b"SSH-2.0-OpenSSH_9.2\r\n\x00\x01\x02 garbage");
}

#[test]
fn a_reset_or_a_close_before_any_response_is_retried_then_fails_as_reset() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/reset" => Reply::Reset,
        "/close" => Reply::Close,
        _ => Reply::html(GOOD_PAGE),
    });
    let areq = Areq::new();
    areq.input(&[
        server.url("/reset"),
        server.url("/close"),
        server.url("/good"),
    ]);
    let (run, summary) = areq.run_with_summary(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--retries",
        "1",
        "--max-retry-wait",
        "0.1",
    ]);
    run.assert_success();
    assert_eq!(server.hits("/reset"), 2);
    assert_eq!(server.hits("/close"), 2);
    assert_eq!(summary["pages"]["ok"], 1);
    assert_eq!(summary["failures"], serde_json::json!({ "reset": 2 }));
}

#[test]
fn invalid_utf8_is_decoded_with_replacement_and_the_page_still_yields_links() {
    let server = server_with(|_| {
        Reply::with_type(
            200,
            "text/html; charset=utf-8",
            b"\xc3\x28 <a href=\"/after\xff\">x</a>".to_vec(),
        )
    });
    let areq = Areq::new();
    areq.assert_one_record(&server.url("/bad"), &server.url("/after%EF%BF%BD"));
}

#[test]
fn hostile_hrefs_never_break_a_record() {
    let long = "a".repeat(100 * 1024);
    let page = format!(
        "<a href=\"/tab\there\">1</a><a href='/lf\nhere'>2</a><a href=\"/cr\rhere\">3</a>\
         <a href=\"/ent&#9;&#10;&#13;ities\">4</a><a href=\"/{long}\">5</a>\
         <a href=\"/nul\u{0}x\">6</a><a href=\"/ctl\u{1}\u{7f}x\">7</a>"
    );
    let server = server_with(move |_| Reply::html(page.clone()));
    let areq = Areq::new();
    areq.input(&[server.url("/bad")]);
    areq.run(&["urls.txt", "-o", "out.tsv", "--no-header"])
        .assert_success();
    let out = areq.read("out.tsv");
    assert!(out.ends_with('\n'));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 7, "{}", &out[..out.len().min(500)]);
    for line in &lines {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 2, "{}", &line[..line.len().min(200)]);
        assert!(!line.contains('\r'));
    }
    assert!(lines[0].ends_with("/tabhere"));
    assert!(lines[3].ends_with("/entities"));
    assert_eq!(
        lines[4].len(),
        server.url("/bad").len() + 1 + server.url("/").len() + long.len()
    );
}

#[test]
fn a_page_with_50000_links_is_written_whole() {
    let mut page = String::from("<!doctype html><body>");
    for i in 0..50_000 {
        page.push_str(&format!("<a href=\"/p/{i}\">{i}</a>\n"));
    }
    let server = server_with(move |_| Reply::html(page.clone()));
    let areq = Areq::new();
    areq.input(&[server.url("/bad")]);
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--no-header"]);
    run.assert_success();
    let out = areq.read("out.tsv");
    assert_eq!(out.lines().count(), 50_000);
    assert!(out.ends_with(&format!("\t{}\n", server.url("/p/49999"))));
    assert_eq!(summary["links_written"], 50_000);
}

#[test]
fn empty_comment_only_and_binary_inputs_warn_and_exit_0_with_a_header_only() {
    let areq = Areq::new();
    for (name, contents) in [
        ("empty.txt", &b""[..]),
        ("comments.txt", b"# nothing\n\n   # here either\n"),
    ] {
        areq.write(name, contents);
        let run = areq.run(&[name, "-o", "out.tsv"]);
        run.assert_success();
        assert_stderr_has(
            &run,
            &[
                &format!("{name}: no URLs to fetch"),
                "summary: 0 URLs read,",
            ],
        );
        assert_eq!(areq.read("out.tsv"), "source_url\tparsed_url\n");
    }
    let mut garbage = Vec::new();
    for i in 0..=255u8 {
        garbage.extend_from_slice(&[i, i.wrapping_mul(7), 0xff, 0]);
    }
    garbage.extend_from_slice(b"\n\x89PNG\r\n\x1a\n\x00\x00");
    let mut file = std::fs::File::create(areq.path("binary.bin")).unwrap();
    file.write_all(&garbage).unwrap();
    let run = areq.run(&["binary.bin", "-o", "out.tsv"]);
    run.assert_success();
    assert_stderr_has(
        &run,
        &[
            "binary.bin:1: skipped: not valid UTF-8",
            "binary.bin:2: skipped",
        ],
    );
}

#[test]
fn an_output_that_is_a_directory_exits_1_before_fetching() {
    let server = server_with(|_| Reply::html(GOOD_PAGE));
    let areq = Areq::new();
    areq.input(&[server.url("/good")]);
    std::fs::create_dir(areq.path("outdir")).unwrap();
    let run = areq.run(&["urls.txt", "-o", "outdir"]);
    assert_eq!(run.code(), 1);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert_stderr_has(&run, &["cannot create output outdir"]);
    assert_eq!(server.total_hits(), 0);
}
