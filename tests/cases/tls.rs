//! HTTPS against a loopback server whose certificate a private CA made in the test signed:
//! refused by default as `tls` with the reason in the log line, trusted with `--ca-cert` or
//! through `SSL_CERT_FILE` (the platform's roots), unverified with `-k`; HTTP/2 by ALPN. A
//! self-signed development certificate given with `--ca-cert` is the server's own.

use crate::support::cmd::{Areq, Run};
use crate::support::tls::{Leaf, TestCa, TlsServer};

/// A page linking to `/next`.
fn page(_path: &str) -> String {
    "<a href=\"/next\">next</a>".into()
}

fn assert_stderr_has(run: &Run, want: &str) {
    assert!(
        run.stderr.contains(want),
        "missing {want:?} in:\n{}",
        run.stderr
    );
}

/// One https page fetched with `extra` flags, in a dir that holds the CA as `ca.pem`.
fn fetch(server: &TlsServer, ca: &TestCa, extra: &[&str]) -> Run {
    let areq = Areq::new();
    areq.write("ca.pem", ca.pem());
    let url = server.url("/");
    let mut args = vec![url.as_str(), "-o", "-", "--no-header", "--retries", "0"];
    args.extend_from_slice(extra);
    areq.run(&args)
}

#[test]
fn a_private_ca_is_refused_by_default_as_tls_with_the_reason() {
    let ca = TestCa::new();
    let server = TlsServer::start(ca.leaf(&["127.0.0.1"]), page);
    let run = fetch(&server, &ca, &[]);
    run.assert_success();
    assert_stderr_has(&run, "failed: tls: 1\n");
    assert_stderr_has(&run, "TLS failed: invalid peer certificate: UnknownIssuer");
    assert_eq!(run.stdout, "");
    assert!(server.seen().is_empty(), "no request gets through");
}

#[test]
fn ca_cert_trusts_the_private_ca_and_http2_is_negotiated() {
    let ca = TestCa::new();
    let server = TlsServer::start(ca.leaf(&["127.0.0.1"]), page);
    let run = fetch(&server, &ca, &["--ca-cert", "ca.pem"]);
    run.assert_success();
    assert_eq!(
        run.stdout,
        format!("{}\t{}\n", server.url("/"), server.url("/next"))
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].version, "HTTP/2.0", "ALPN chose h2");
}

#[test]
fn insecure_skips_verification_and_says_so_once() {
    let ca = TestCa::new();
    let server = TlsServer::start(ca.leaf(&["127.0.0.1"]), page);
    let run = fetch(&server, &ca, &["-k"]);
    run.assert_success();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stderr);
    let warning = "TLS certificates are not verified (--insecure)";
    assert_eq!(run.stderr.matches(warning).count(), 1, "{}", run.stderr);
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn the_platform_roots_are_trusted_and_honour_ssl_cert_file() {
    let ca = TestCa::new();
    let server = TlsServer::start(ca.leaf(&["127.0.0.1"]), page);
    let areq = Areq::new();
    let ca_file = areq.write("system-ca.pem", ca.pem());
    let url = server.url("/");
    let args = [url.as_str(), "-o", "-", "--no-header", "--retries", "0"];
    let run = areq.run_with_vars(&args, &[("SSL_CERT_FILE", ca_file.to_str().unwrap())]);
    run.assert_success();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn an_expired_certificate_and_a_wrong_name_fail_as_tls_with_their_reasons() {
    let ca = TestCa::new();
    let expired = TlsServer::start(ca.expired_leaf(&["127.0.0.1"]), page);
    let run = fetch(&expired, &ca, &["--ca-cert", "ca.pem"]);
    assert_stderr_has(&run, "failed: tls: 1\n");
    assert_stderr_has(&run, "certificate expired");

    let elsewhere = TlsServer::start(ca.leaf(&["example.invalid"]), page);
    let run = fetch(&elsewhere, &ca, &["--ca-cert", "ca.pem"]);
    assert_stderr_has(&run, "failed: tls: 1\n");
    assert_stderr_has(&run, "certificate not valid for name");
}

#[test]
fn an_unreadable_or_empty_ca_cert_file_exits_1_naming_it() {
    let areq = Areq::new();
    areq.write("urls.txt", "https://127.0.0.1:1/\n");
    areq.write("junk.pem", "not a certificate\n");
    for (file, why) in [
        (
            "missing.pem",
            "cannot use CA certificate missing.pem: No such file",
        ),
        (
            "junk.pem",
            "cannot use CA certificate junk.pem: no PEM certificate in it",
        ),
    ] {
        let run = areq.run(&["urls.txt", "--ca-cert", file, "-o", "out.tsv"]);
        assert_eq!(run.code(), 1, "{file}: {}", run.stderr);
        assert_stderr_has(&run, why);
    }
}

/// One https page at `url`, `pem` given as `--ca-cert`.
fn fetch_trusting(url: &str, pem: &str) -> Run {
    let areq = Areq::new();
    areq.write("cert.pem", pem);
    areq.run(&[
        url,
        "-o",
        "-",
        "--no-header",
        "--retries",
        "0",
        "--ca-cert",
        "cert.pem",
    ])
}

#[test]
fn a_self_signed_ca_certificate_given_with_ca_cert_is_accepted_as_the_servers_own() {
    // What `openssl req -x509 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1` makes:
    // self-signed, basicConstraints CA:TRUE. webpki alone refuses it (CaUsedAsEndEntity).
    let (leaf, pem) = Leaf::self_signed_ca(&["127.0.0.1"]);
    let server = TlsServer::start(leaf, page);
    let run = fetch_trusting(&server.url("/"), &pem);
    run.assert_success();
    assert_eq!(
        run.stdout,
        format!("{}\t{}\n", server.url("/"), server.url("/next"))
    );
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn a_self_signed_certificate_is_trusted_only_for_its_names_and_only_when_given() {
    let (leaf, pem) = Leaf::self_signed_ca(&["127.0.0.1"]);
    let server = TlsServer::start(leaf, page);
    // The same certificate, the server named otherwise: the name check stays on.
    let run = fetch_trusting(&server.localhost_url("/"), &pem);
    run.assert_success();
    assert_stderr_has(&run, "failed: tls: 1\n");
    assert_stderr_has(&run, "certificate not valid for name");
    // Another self-signed certificate given: this one is not trusted.
    let (_, other) = Leaf::self_signed_ca(&["127.0.0.1"]);
    let run = fetch_trusting(&server.url("/"), &other);
    assert_stderr_has(&run, "failed: tls: 1\n");
    assert!(server.seen().is_empty(), "{:?}", server.seen());
}
