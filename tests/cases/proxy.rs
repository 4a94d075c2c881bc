//! Proxies: `--proxy`, the `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` environment, `--no-proxy`.
//! A loopback forward proxy records what it relays, so each test proves which way the
//! traffic went.

use crate::support::cmd::Areq;
use crate::support::proxy::ForwardProxy;
use crate::support::server::{Reply, TestServer};
use crate::support::tls::{TestCa, TlsServer};

fn site() -> TestServer {
    TestServer::start(|_| Reply::html("<a href=\"/next\">next</a>"))
}

#[test]
fn proxy_relays_http_as_an_absolute_form_get() {
    let (server, proxy) = (site(), ForwardProxy::start());
    let areq = Areq::new();
    let url = server.url("/page");
    let run = areq.run(&[&url, "--proxy", &proxy.url(), "-o", "-", "--no-header"]);
    run.assert_success();
    assert_eq!(run.stdout, format!("{url}\t{}\n", server.url("/next")));
    assert_eq!(proxy.relayed(), [format!("GET {url}")]);
    assert_eq!(server.hits("/page"), 1);
}

#[test]
fn proxy_tunnels_https_with_connect() {
    let ca = TestCa::new();
    let server = TlsServer::start(ca.leaf(&["127.0.0.1"]), |_| "<a href=\"/x\">x</a>".into());
    let proxy = ForwardProxy::start();
    let areq = Areq::new();
    areq.write("ca.pem", ca.pem());
    let url = server.url("/");
    let proxy_url = proxy.url();
    let args = [
        &url,
        "--proxy",
        &proxy_url,
        "--ca-cert",
        "ca.pem",
        "-o",
        "-",
        "--no-header",
    ];
    let run = areq.run(&args);
    run.assert_success();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stderr);
    assert_eq!(proxy.relayed(), [format!("CONNECT {}", server.addr())]);
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn a_socks5_proxy_carries_the_connection() {
    let (server, proxy) = (site(), ForwardProxy::start());
    let areq = Areq::new();
    let url = server.url("/socks");
    let run = areq.run(&[
        &url,
        "--proxy",
        &proxy.socks_url(),
        "-o",
        "-",
        "--no-header",
    ]);
    run.assert_success();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stderr);
    assert_eq!(proxy.relayed(), [format!("SOCKS5 {}", server.addr())]);
}

#[test]
fn the_environment_names_the_proxy_unless_no_proxy_is_given() {
    let (server, proxy) = (site(), ForwardProxy::start());
    let areq = Areq::new();
    let url = server.url("/env");
    let env = [("HTTP_PROXY", proxy.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = areq.run_with_vars(&[&url, "-o", "-", "--no-header"], &env);
    run.assert_success();
    assert_eq!(proxy.relayed(), [format!("GET {url}")], "{}", run.stderr);

    let run = areq.run_with_vars(&[&url, "-o", "-", "--no-header", "--no-proxy"], &env);
    run.assert_success();
    assert_eq!(proxy.relayed().len(), 1, "--no-proxy went direct");
    assert_eq!(server.hits("/env"), 2);
}

#[test]
fn no_proxy_hosts_bypass_the_proxy_flag_too() {
    let (server, proxy) = (site(), ForwardProxy::start());
    let areq = Areq::new();
    let url = server.url("/direct");
    let args = [
        url.as_str(),
        "--proxy",
        &proxy.url(),
        "-o",
        "-",
        "--no-header",
    ];
    let run = areq.run_with_vars(&args, &[("NO_PROXY", "127.0.0.1")]);
    run.assert_success();
    assert!(proxy.relayed().is_empty(), "{:?}", proxy.relayed());
    assert_eq!(server.hits("/direct"), 1);
}

#[test]
fn a_bad_proxy_url_is_a_usage_error_naming_it() {
    let areq = Areq::new();
    for bad in ["127.0.0.1:3128", "ftp://127.0.0.1/", "http://"] {
        let run = areq.run(&["urls.txt", "--proxy", bad]);
        assert_eq!(run.code(), 2, "{bad}: {}", run.stderr);
        let want = format!("invalid value '{bad}' for '--proxy <URL>'");
        assert!(run.stderr.contains(&want), "{bad}: {}", run.stderr);
    }
    let run = areq.run(&["urls.txt", "--proxy", "http://127.0.0.1:1", "--no-proxy"]);
    assert_eq!(run.code(), 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
}
