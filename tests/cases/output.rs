//! The output contract: header, TSV lines, JSONL, stdout, page blocks.

use crate::cases::site::{self, links_page_links, tsv_lines};
use crate::support::cmd::Areq;

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
