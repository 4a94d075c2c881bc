//! The output contract: header, TSV lines, JSONL, stdout, page blocks, source_url as written,
//! and a write error.

use std::time::Duration;

use crate::support::cmd::Areq;
use crate::support::server::{Reply, TestServer};
use crate::support::site::{self, links_page_links, tsv_lines};

#[test]
fn tsv_has_the_header_then_one_line_per_link() {
    let server = site::start();
    let areq = Areq::new();
    areq.input(&[server.url("/site/dir/base.html")]);
    areq.run(&["urls.txt", "-o", "found.tsv"]).assert_success();
    let base = server.url("");
    assert_eq!(
        areq.read("found.tsv"),
        format!(
            "source_url\tparsed_url\n\
             {base}/site/dir/base.html\t{base}/other/place/page.html\n\
             {base}/site/dir/base.html\t{base}/other/up.html\n"
        )
    );
}

#[test]
fn defaults_read_urls_txt_and_write_foundurls_txt() {
    let server = site::start();
    let areq = Areq::new();
    areq.input(&[server.url("/site/dir/base.html")]);
    areq.run(&[]).assert_success();
    let out = areq.read("foundurls.txt");
    assert!(out.starts_with("source_url\tparsed_url\n"), "{out}");
    assert_eq!(out.lines().count(), 3, "{out}");
}

#[test]
fn dash_writes_to_stdout_and_nothing_else_goes_there() {
    let server = site::start();
    let areq = Areq::new();
    areq.input(&[server.url("/site/dir/links.html")]);
    let run = areq.run(&["urls.txt", "-o", "-"]);
    run.assert_success();
    let base = server.url("");
    let want = String::from("source_url\tparsed_url\n")
        + &tsv_lines(
            &format!("{base}/site/dir/links.html"),
            &links_page_links(&base),
        );
    assert_eq!(run.stdout, want);
    assert!(run.stderr.contains("summary"), "the summary goes to stderr");
    assert!(!areq.path("foundurls.txt").exists());
}

#[test]
fn jsonl_writes_one_parsable_object_per_link_with_depth_and_status_and_no_header() {
    let server = site::start();
    let areq = Areq::new();
    areq.input(&[server.url("/site/dir/links.html")]);
    areq.run(&["urls.txt", "-o", "out.jsonl", "--format", "jsonl"])
        .assert_success();
    let base = server.url("");
    let source = format!("{base}/site/dir/links.html");
    let records: Vec<(String, String)> = areq
        .read("out.jsonl")
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let object = value.as_object().expect("an object");
            assert_eq!(object.len(), 4, "{line}");
            assert_eq!(object["depth"], 0, "{line}");
            assert_eq!(object["status"], 200, "{line}");
            (
                object["source"].as_str().unwrap().to_owned(),
                object["url"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = links_page_links(&base)
        .into_iter()
        .map(|link| (source.clone(), link))
        .collect();
    assert_eq!(records, want);
}

#[test]
fn pages_are_written_as_whole_blocks_that_never_interleave() {
    let server = site::start();
    let areq = Areq::new();
    // The same page under 40 distinct URLs (queries differ), fetched 16 at a time.
    let urls: Vec<String> = (0..40)
        .map(|i| server.url(&format!("/site/dir/links.html?copy={i}")))
        .collect();
    areq.input(&urls);
    areq.run(&[
        "urls.txt",
        "-o",
        "out.tsv",
        "--no-header",
        "-c",
        "16",
        "--per-host",
        "16",
    ])
    .assert_success();
    let out = areq.read("out.tsv");
    let per_page = links_page_links(&server.url("")).len();
    let sources: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(sources.len(), 40 * per_page);
    for block in sources.chunks(per_page) {
        assert!(
            block.iter().all(|s| *s == block[0]),
            "interleaved block: {block:?}"
        );
    }
    let mut distinct: Vec<&str> = sources.iter().step_by(per_page).copied().collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 40);
}

#[test]
fn source_url_is_the_input_line_as_written_and_parsed_url_is_canonical() {
    // Through the server as a proxy, so default ports and odd host spellings reach it.
    let server = TestServer::start(|_| Reply::html("<a href=\"Found/../found?q=1\">x</a>"));
    let areq = Areq::new();
    let lines = [
        "HTTP://Site.TEST:80/p/../a",
        "http://site.test/b?x=1#frag",
        "http://SITE.test:80/./c/",
    ];
    areq.write(
        "urls.txt",
        format!("{}\n  {}  \n{}\n", lines[0], lines[1], lines[2]),
    );
    let run = areq.run_with_env(
        &["urls.txt", "-o", "out.tsv", "--no-header"],
        &server.proxy_env(),
    );
    run.assert_success();
    let mut fetched: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    fetched.sort();
    assert_eq!(
        fetched,
        [
            "http://site.test/a",
            "http://site.test/b?x=1",
            "http://site.test/c/"
        ]
    );
    let mut out: Vec<String> = areq.read("out.tsv").lines().map(str::to_owned).collect();
    out.sort();
    assert_eq!(
        out,
        [
            format!("{}\thttp://site.test/found?q=1", lines[0]),
            format!("{}\thttp://site.test/c/found?q=1", lines[2]),
            format!("{}\thttp://site.test/found?q=1", lines[1]),
        ]
    );
}

#[test]
fn jsonl_gives_each_page_its_depth_and_final_status() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/" => Reply::html("<a href=\"/child\">child</a>"),
        "/child" => Reply::with_type(203, "text/html", "<a href=\"/grandchild\">g</a>"),
        _ => Reply::status(404),
    });
    let areq = Areq::new();
    areq.input(&[server.url("/")]);
    areq.run(&[
        "urls.txt",
        "-o",
        "out.jsonl",
        "--format",
        "jsonl",
        "-d",
        "1",
        "--ignore-robots",
    ])
    .assert_success();
    let records: Vec<serde_json::Value> = areq
        .read("out.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(
        records,
        [
            serde_json::json!({
                "source": server.url("/"), "url": server.url("/child"), "depth": 0, "status": 200
            }),
            serde_json::json!({
                "source": server.url("/child"), "url": server.url("/grandchild"),
                "depth": 1, "status": 203
            }),
        ]
    );
    assert_eq!(server.hits("/grandchild"), 0, "depth 1 stops there");
}

#[test]
fn a_meta_charset_counts_only_in_the_first_1024_bytes() {
    // The link's query holds é as the byte E9: windows-1252 makes it %E9, UTF-8 makes it
    // U+FFFD.
    let page = |padding: usize| {
        let mut body = format!("<!--{}-->", "x".repeat(padding)).into_bytes();
        body.extend_from_slice(b"<meta charset=\"windows-1252\"><a href=\"/caf?q=caf\xe9\">x</a>");
        body
    };
    let server = TestServer::start(move |request| match request.path.as_str() {
        "/early" => Reply::with_type(200, "text/html", page(900)),
        _ => Reply::with_type(200, "text/html", page(1100)),
    });
    let areq = Areq::new();
    areq.assert_one_record(&server.url("/early"), &server.url("/caf?q=caf%E9"));
    areq.assert_one_record(&server.url("/late"), &server.url("/caf?q=caf%EF%BF%BD"));
}

#[test]
fn a_write_error_mid_run_exits_1_with_one_line() {
    let server = site::start();
    let areq = Areq::new();
    areq.input(
        &(0..50)
            .map(|i| server.url(&format!("/site/dir/links.html?copy={i}")))
            .collect::<Vec<_>>(),
    );
    let run = areq.run(&["urls.txt", "-o", "/dev/full", "--no-header", "-c", "2"]);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("areq:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(errors[0].contains("/dev/full"), "{}", run.stderr);
    assert!(
        server.total_hits() < 50,
        "the run stopped at the error: {} pages fetched",
        server.total_hits()
    );
}

#[test]
fn pages_appear_in_the_order_they_finish() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/slow" => Reply::html("<a href=\"/s\">s</a>").delayed(Duration::from_millis(300)),
        _ => Reply::html("<a href=\"/f\">f</a>"),
    });
    let areq = Areq::new();
    areq.input(&[server.url("/slow"), server.url("/fast")]);
    areq.run(&["urls.txt", "-o", "out.tsv", "--no-header"])
        .assert_success();
    assert_eq!(
        areq.read("out.tsv"),
        format!(
            "{}\t{}\n{}\t{}\n",
            server.url("/fast"),
            server.url("/f"),
            server.url("/slow"),
            server.url("/s")
        )
    );
}
