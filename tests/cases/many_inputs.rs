//! Several inputs on the command line: files, `-` and URLs typed as arguments.

use crate::support::cmd::Areq;
use crate::support::server::{Reply, TestServer};
use crate::support::site;

/// A server whose every page links to `/next`.
fn one_link_site() -> TestServer {
    TestServer::start(|req| match req.path.as_str() {
        "/robots.txt" => Reply::status(404),
        _ => Reply::html("<a href=\"/next\">next</a>"),
    })
}

#[test]
fn a_url_argument_is_fetched_with_no_list_file() {
    let server = one_link_site();
    let areq = Areq::new();
    let url = server.url("/start");
    let run = areq.run(&[&url, "-o", "-", "--no-header"]);
    run.assert_success();
    assert_eq!(run.stdout, format!("{url}\t{}\n", server.url("/next")));
    assert_eq!(server.hits("/start"), 1);
}

#[test]
fn several_url_arguments_are_crawled_recursively() {
    let (a, b) = (one_link_site(), one_link_site());
    let areq = Areq::new();
    let run = areq.run(&[
        &a.url("/"),
        &b.url("/"),
        "-d",
        "1",
        "-o",
        "-",
        "--no-header",
    ]);
    run.assert_success();
    for server in [&a, &b] {
        assert_eq!(server.hits("/"), 1, "{}", run.stderr);
        assert_eq!(server.hits("/next"), 1, "{}", run.stderr);
    }
    assert!(run.stderr.contains("2 URLs read"), "{}", run.stderr);
}

#[test]
fn files_stdin_and_urls_mix_and_warnings_name_the_right_file() {
    let server = site::start();
    let areq = Areq::new();
    let page = |path: &str| server.url(&format!("/site/dir/{path}"));
    areq.write("a.txt", format!("{}\nrelative/a\n", page("base.html")));
    areq.write(
        "b.txt",
        format!("# b\n\nftp://example.com/\n{}\n", page("links.html")),
    );
    let stdin = format!("{}\nrelative/b\n", server.url("/site/new/landing.html"));
    let url = server.url("/site/index.html");
    let run = areq.run_with_stdin(
        &["a.txt", "b.txt", "-", &url, "-o", "out.tsv"],
        stdin.as_bytes(),
    );
    run.assert_success();
    for want in [
        "a.txt:2: skipped: not an absolute URL",
        "b.txt:3: skipped: scheme ftp: is not http or https",
        "-:2: skipped: not an absolute URL",
        "7 URLs read, 3 invalid",
    ] {
        assert!(
            run.stderr.contains(want),
            "missing {want:?} in:\n{}",
            run.stderr
        );
    }
    for path in [
        "/site/dir/base.html",
        "/site/dir/links.html",
        "/site/new/landing.html",
        "/site/index.html",
    ] {
        assert_eq!(server.hits(path), 1, "{path}: {}", run.stderr);
    }
    let out = areq.read("out.tsv");
    assert!(
        out.lines().any(|l| l.starts_with(&format!("{url}\t"))),
        "{out}"
    );
}

#[test]
fn a_file_named_like_a_url_is_read_as_a_file() {
    let server = one_link_site();
    let areq = Areq::new();
    std::fs::create_dir_all(areq.path("http:")).unwrap();
    areq.write("http:/x", format!("{}\n", server.url("/from-file")));
    let run = areq.run(&["http://x", "-o", "-", "--no-header"]);
    run.assert_success();
    assert_eq!(server.hits("/from-file"), 1, "{}", run.stderr);
    let run = areq.run(&["./https://missing", "-o", "-"]);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot read input ./https://missing"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_invalid_url_argument_is_a_usage_error_naming_it() {
    let areq = Areq::new();
    for (arg, why) in [
        ("ftp://example.com/", "scheme ftp: is not http or https"),
        ("http://[::1/", "not a valid URL"),
    ] {
        let run = areq.run(&["urls.txt", arg, "-o", "out.tsv"]);
        assert_eq!(run.code(), 2, "{arg}: {}", run.stderr);
        let want = format!("invalid URL '{arg}' for '[INPUT]...': {why}");
        assert!(run.stderr.contains(&want), "{arg}: {}", run.stderr);
        assert!(!areq.path("out.tsv").exists(), "no output is created");
    }
}

#[test]
fn a_missing_second_input_fails_before_anything_is_fetched() {
    let server = one_link_site();
    let areq = Areq::new();
    areq.input(&[server.url("/a")]);
    let run = areq.run(&["urls.txt", "missing.txt", "-o", "out.tsv"]);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot read input missing.txt"),
        "{}",
        run.stderr
    );
    assert_eq!(server.total_hits(), 0);
}
