//! What a crawl keeps in bounds, counted at the servers: the `-H` headers go only to the
//! input URLs' origins unless `--header-scope all`; `--deny-net` ranges are never connected
//! to, whether a link names them by address, by a name resolving into them, or by redirect.
//! (The default refusal of private addresses below a public input URL cannot be played on
//! loopback, where every test server is; its address classes are unit-tested.)

use serde_json::Value;

use crate::support::cmd::Areq;
use crate::support::dns::DnsServer;
use crate::support::server::{Reply, Request, TestServer};

/// The `-H` flags every test here passes: a credential, a cookie and a plain header.
const HEADERS: [&str; 6] = [
    "-H",
    "Authorization: Bearer s3cret",
    "-H",
    "Cookie: session=1",
    "-H",
    "X-Token: t",
];

/// Which of the `-H` headers `request` carried.
fn carried(request: &Request) -> Vec<&'static str> {
    ["authorization", "cookie", "x-token"]
        .into_iter()
        .filter(|name| request.header(name).is_some())
        .collect()
}

/// A server whose `/` links to `links` and whose other pages are empty HTML.
fn linking(links: Vec<String>) -> TestServer {
    TestServer::start(move |request| match request.path.as_str() {
        "/" => Reply::html(
            links
                .iter()
                .map(|link| format!("<a href=\"{link}\">x</a>"))
                .collect::<String>(),
        ),
        _ => Reply::html("<p>leaf</p>"),
    })
}

fn failures(summary: &Value, reason: &str) -> u64 {
    summary["failures"][reason].as_u64().unwrap_or(0)
}

#[test]
fn header_credentials_stay_with_the_input_origin_in_a_recursive_crawl() {
    let other = TestServer::start(|_| Reply::html("<p>elsewhere</p>"));
    let seed = linking(vec![other.url("/b"), "/a2".into()]);
    let areq = Areq::new();
    let url = seed.url("/");
    let mut args = vec![url.as_str(), "-d", "1", "--scope", "any", "-o", "out.tsv"];
    args.extend_from_slice(&HEADERS);
    areq.run(&args).assert_success();
    let (at_seed, at_other) = (seed.requests(), other.requests());
    assert_eq!(seed.hits("/a2"), 1);
    assert_eq!(other.hits("/b"), 1, "the other host is crawled");
    for request in &at_seed {
        let want = ["authorization", "cookie", "x-token"];
        assert_eq!(carried(request), want, "{}", request.path);
    }
    for request in &at_other {
        assert_eq!(carried(request), Vec::<&str>::new(), "{}", request.path);
    }

    // --header-scope all widens them to every host.
    let areq = Areq::new();
    args.extend_from_slice(&["--header-scope", "all"]);
    areq.run(&args).assert_success();
    let requests = other.requests();
    let page = requests.iter().rfind(|r| r.path == "/b").expect("/b again");
    assert_eq!(carried(page), ["authorization", "cookie", "x-token"]);
}

#[test]
fn every_input_origin_gets_the_headers_and_a_redirect_elsewhere_none() {
    let other = TestServer::start(|_| Reply::html("<p>landed</p>"));
    let landing = other.url("/landing");
    let seed = TestServer::start(move |_| Reply::redirect(302, &landing));
    let areq = Areq::new();
    areq.input(&[seed.url("/go"), other.url("/direct")]);
    let mut args = vec!["urls.txt", "-o", "out.tsv"];
    args.extend_from_slice(&HEADERS);
    areq.run(&args).assert_success();
    let requests = other.requests();
    let find = |path: &str| {
        requests
            .iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("{path} not requested: {requests:?}"))
    };
    assert_eq!(
        carried(find("/direct")),
        ["authorization", "cookie", "x-token"]
    );
    assert_eq!(carried(find("/landing")), Vec::<&str>::new());
    assert_eq!(
        carried(&seed.requests()[0]),
        ["authorization", "cookie", "x-token"]
    );
}

#[test]
fn deny_net_keeps_links_by_address_by_name_and_by_redirect_away_and_inputs_too() {
    let dns = DnsServer::start(std::time::Duration::ZERO);
    let denied = TestServer::start_on(std::net::Ipv4Addr::new(127, 0, 0, 2), |_| {
        Reply::html("<p>inside</p>")
    });
    let port = denied.addr().port();
    let by_name = |path: &str| format!("http://two.test:{port}{path}");
    let (to_name, to_ip) = (by_name("/redirected"), denied.url("/redirected-ip"));
    let page = [
        denied.url("/ip"),
        by_name("/name"),
        "/hop".into(),
        "/hop-ip".into(),
    ]
    .iter()
    .map(|link| format!("<a href=\"{link}\">x</a>"))
    .collect::<String>();
    let front = TestServer::start(move |request| match request.path.as_str() {
        "/" => Reply::html(page.clone()),
        "/hop" => Reply::redirect(302, &to_name),
        "/hop-ip" => Reply::redirect(302, &to_ip),
        _ => Reply::status(404),
    });
    let areq = Areq::new();
    areq.input(&[front.url("/"), by_name("/input")]);
    let dns_server = dns.addr().to_string();
    let base = [
        "urls.txt",
        "-d",
        "1",
        "--scope",
        "any",
        "--retries",
        "0",
        "--dns-server",
        dns_server.as_str(),
        "-o",
        "out.tsv",
    ];
    let mut args = base.to_vec();
    args.extend_from_slice(&["--deny-net", "127.0.0.2/32"]);
    let (run, summary) = areq.run_with_summary(&args);
    run.assert_success();
    assert_eq!(denied.total_hits(), 0, "{:?}", denied.requests());
    assert_eq!(failures(&summary, "blocked"), 5, "stderr:\n{}", run.stderr);
    assert!(run.stderr.contains("blocked: 5"), "{}", run.stderr);
    assert!(run.stderr.contains("address blocked"), "{}", run.stderr);

    // The same crawl without --deny-net reaches every one of them.
    let areq = Areq::new();
    areq.input(&[front.url("/"), by_name("/input")]);
    let (run, summary) = areq.run_with_summary(&base);
    run.assert_success();
    assert_eq!(failures(&summary, "blocked"), 0, "stderr:\n{}", run.stderr);
    for path in ["/ip", "/name", "/redirected", "/redirected-ip", "/input"] {
        assert_eq!(denied.hits(path), 1, "{path}: {:?}", denied.requests());
    }
}
