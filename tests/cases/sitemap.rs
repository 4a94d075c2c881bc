//! `--sitemap`: robots.txt `Sitemap:` lines, else `/sitemap.xml`; index files, gzip, scope,
//! and broken or hostile files that are warnings, never crashes.

use std::io::Write;
use std::net::Ipv4Addr;

use flate2::write::GzEncoder;

use crate::support::cmd::{Areq, Run};
use crate::support::server::{Reply, Request, TestServer};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn urlset(locs: &[String]) -> String {
    let entries: String = locs
        .iter()
        .map(|loc| format!("<url><loc>{loc}</loc></url>\n"))
        .collect();
    format!("<?xml version=\"1.0\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n{entries}</urlset>\n")
}

fn index(locs: &[String]) -> String {
    let entries: String = locs
        .iter()
        .map(|loc| format!("<sitemap><loc>{loc}</loc></sitemap>\n"))
        .collect();
    format!("<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{entries}</sitemapindex>")
}

fn xml(body: impl Into<Vec<u8>>) -> Reply {
    Reply::with_type(200, "application/xml", body)
}

/// `http://HOST` as the request addressed it, for absolute `<loc>`s.
fn base(req: &Request) -> String {
    format!("http://{}", req.header("host").unwrap_or_default())
}

fn assert_stderr_has(run: &Run, want: &str) {
    assert!(
        run.stderr.contains(want),
        "missing {want:?} in:\n{}",
        run.stderr
    );
}

/// robots.txt names an index; the index lists a plain and a gzip sitemap. The plain one also
/// lists `elsewhere`, a page of another host, and `/p1` written in a form that parses to
/// something else ([`p1_as_written`]).
fn site_with_an_index(elsewhere: String) -> TestServer {
    TestServer::start(move |req| {
        let b = base(req);
        match req.path.as_str() {
            "/robots.txt" => Reply::text("User-agent: *\nAllow: /\nSitemap: /maps/index.xml\n"),
            "/maps/index.xml" => xml(index(&[
                format!("{b}/maps/plain.xml"),
                format!("{b}/maps/packed.xml.gz"),
            ])),
            "/maps/plain.xml" => xml(urlset(&[
                format!("{b}/"),
                p1_as_written(&b),
                format!("{b}/p2?a=1&amp;b=2"),
                elsewhere.clone(),
                format!("{b}/private/x"),
            ])),
            "/maps/packed.xml.gz" => Reply::with_type(
                200,
                "application/gzip",
                gzip(urlset(&[format!("{b}/p3")]).as_bytes()),
            ),
            _ => Reply::html("<a href=\"/linked\">linked</a>"),
        }
    })
}

/// How the sitemap of the site at `base` (`http://HOST:PORT`) writes `/p1`: an upper-case
/// scheme and a dot segment, which parsing turns into `{base}/p1`.
fn p1_as_written(base: &str) -> String {
    format!("{}/x/../p1", base.replacen("http://", "HTTP://", 1))
}

/// A server on another loopback host, which a crawl of the site must not reach.
fn another_host() -> TestServer {
    TestServer::start_on(Ipv4Addr::new(127, 0, 0, 2), |_| {
        Reply::html("<p>elsewhere</p>")
    })
}

#[test]
fn robots_sitemaps_and_their_index_add_pages_as_seeds_fetched_once() {
    let other = another_host();
    let server = site_with_an_index(other.url("/x"));
    let areq = Areq::new();
    let seed = server.url("/");
    let (run, summary) = areq.run_with_summary(&[
        &seed,
        "--sitemap",
        "--exclude",
        "/private/",
        "-o",
        "-",
        "--no-header",
    ]);
    run.assert_success();
    for path in [
        "/robots.txt",
        "/maps/index.xml",
        "/maps/plain.xml",
        "/maps/packed.xml.gz",
        "/",
        "/p1",
        "/p2?a=1&b=2",
        "/p3",
    ] {
        assert_eq!(server.hits(path), 1, "{path}: {}", run.stderr);
    }
    assert_eq!(server.hits("/private/x"), 0, "--exclude applies");
    assert_eq!(server.hits("/linked"), 0, "depth 0 follows no links");
    assert_eq!(
        other.total_hits(),
        0,
        "a page of another host is out of scope: {}",
        run.stderr
    );
    assert_eq!(summary["pages"]["failed"], 0, "{}", run.stderr);
    assert_eq!(summary["pages"]["ok"], 4, "{}", run.stderr);
    let sources: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert!(
        sources.contains(&server.url("/p3").as_str()),
        "{}",
        run.stdout
    );
    let p1 = p1_as_written(&server.url(""));
    assert!(
        sources.contains(&p1.as_str()),
        "SOURCE is the <loc> as written, {p1}:\n{}",
        run.stdout
    );
    assert!(
        !sources.contains(&server.url("/p1").as_str()),
        "not the URL parsed from it:\n{}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().count(), 4, "{}", run.stdout);
}

#[test]
fn without_sitemap_lines_the_origin_sitemap_xml_is_read() {
    let server = TestServer::start(|req| match req.path.as_str() {
        "/robots.txt" => Reply::status(404),
        "/sitemap.xml" => xml(urlset(&[format!("{}/from-sitemap", base(req))])),
        _ => Reply::html("<p>page</p>"),
    });
    let areq = Areq::new();
    let run = areq.run(&[&server.url("/"), "--sitemap", "-o", "out.tsv"]);
    run.assert_success();
    assert_eq!(server.hits("/sitemap.xml"), 1);
    assert_eq!(server.hits("/from-sitemap"), 1, "{}", run.stderr);
}

#[test]
fn no_sitemap_at_all_is_quiet_and_the_seed_is_still_fetched() {
    let server = TestServer::start(|req| match req.path.as_str() {
        "/" => Reply::html("<p>home</p>"),
        _ => Reply::status(404),
    });
    let areq = Areq::new();
    let run = areq.run(&[&server.url("/"), "--sitemap", "-o", "out.tsv"]);
    run.assert_success();
    assert_eq!(server.hits("/"), 1);
    assert!(!run.stderr.contains("WARN"), "{}", run.stderr);
}

#[test]
fn recursive_crawls_share_one_robots_txt_fetch_with_the_sitemap_reader() {
    let server = site_with_an_index(another_host().url("/x"));
    let areq = Areq::new();
    let run = areq.run(&[&server.url("/"), "--sitemap", "-d", "1", "-o", "out.tsv"]);
    run.assert_success();
    assert_eq!(server.hits("/robots.txt"), 1, "{}", run.stderr);
    assert_eq!(server.hits("/linked"), 1, "{}", run.stderr);
    assert_eq!(server.hits("/p3"), 1);
}

#[test]
fn broken_and_hostile_sitemaps_are_warnings_with_reasons() {
    let server = TestServer::start(|req| {
        let b = base(req);
        match req.path.as_str() {
            "/robots.txt" => Reply::text(
                "Sitemap: /loop.xml\nSitemap: /broken.xml\nSitemap: /bomb.xml.gz\n\
                 Sitemap: /missing.xml\nSitemap: /page.html\n",
            ),
            "/loop.xml" => xml(index(&[format!("{b}/loop.xml")])),
            "/broken.xml" => xml(format!(
                "<urlset><url><loc>{b}/before-the-break</loc></url><url><loc>x</lo></urlset>"
            )),
            "/bomb.xml.gz" => Reply::with_type(200, "application/gzip", gzip(&vec![b' '; 1 << 20])),
            "/missing.xml" => Reply::status(404),
            _ => Reply::html("<p>a page</p>"),
        }
    });
    let areq = Areq::new();
    let run = areq.run(&[
        &server.url("/"),
        "--sitemap",
        "--max-body",
        "100000",
        "-o",
        "out.tsv",
    ]);
    run.assert_success();
    assert_stderr_has(
        &run,
        "sitemap skipped: already read (an index lists it again or lists itself)",
    );
    assert_stderr_has(&run, "sitemap read in part");
    assert_stderr_has(&run, "reason=invalid XML at byte");
    assert_stderr_has(&run, "reason=larger than 100000 bytes uncompressed");
    assert_stderr_has(&run, "reason=HTTP 404");
    assert_stderr_has(
        &run,
        "reason=the root element <p> is not <urlset> or <sitemapindex>",
    );
    assert_eq!(server.hits("/loop.xml"), 1);
    assert_eq!(server.hits("/before-the-break"), 1, "{}", run.stderr);
    assert_eq!(server.hits("/"), 1);
}
