//! Which links a page yields and how they are resolved.

use crate::support::cmd::Areq;
use crate::support::server::{Reply, TestServer};
use crate::support::site::{self, links_page_links, tsv_lines};

/// Runs areq on one URL of the fixture site with `flags`; returns (base, records without the
/// header).
fn links_of(path: &str, flags: &[&str]) -> (String, String) {
    let server = site::start();
    let areq = Areq::new();
    areq.input(&[server.url(path)]);
    let mut args = vec!["urls.txt", "-o", "out.tsv", "--no-header"];
    args.extend_from_slice(flags);
    areq.run(&args).assert_success();
    (server.url(""), areq.read("out.tsv"))
}

#[test]
fn relative_parent_protocol_relative_and_root_links_resolve_in_document_order() {
    let (base, out) = links_of("/site/dir/links.html", &[]);
    let source = format!("{base}/site/dir/links.html");
    // Comments, scripts, styles, titles, textareas and data-href hold no links; the second
    // sibling.html is a duplicate; entities are decoded; mailto/tel/javascript/ftp are dropped.
    assert_eq!(out, tsv_lines(&source, &links_page_links(&base)));
}

#[test]
fn all_schemes_keeps_mailto_tel_javascript_and_ftp_in_place() {
    let (base, out) = links_of("/site/dir/links.html", &["--all-schemes"]);
    let mut want = links_page_links(&base);
    let at = want.iter().position(|l| l.ends_with("#part")).unwrap() + 1;
    for (i, extra) in [
        "mailto:someone@example.com",
        "tel:+15550100",
        "javascript:void(0)",
        "ftp://files.example.com/pub/",
    ]
    .iter()
    .enumerate()
    {
        want.insert(at + i, extra.to_string());
    }
    assert_eq!(
        out,
        tsv_lines(&format!("{base}/site/dir/links.html"), &want)
    );
}

#[test]
fn strip_fragments_merges_links_that_differ_only_in_fragment() {
    let (base, out) = links_of("/site/dir/links.html", &["--strip-fragments"]);
    let want: Vec<String> = links_page_links(&base)
        .into_iter()
        .filter(|l| !l.contains('#'))
        .flat_map(|l| {
            // `#top` becomes the page itself, right after the external link.
            if l == "https://example.com/Upper" {
                vec![l, format!("{base}/site/dir/links.html")]
            } else {
                vec![l]
            }
        })
        .collect();
    assert_eq!(
        out,
        tsv_lines(&format!("{base}/site/dir/links.html"), &want)
    );
}

#[test]
fn base_href_is_the_base_and_only_the_first_counts() {
    let (base, out) = links_of("/site/dir/base.html", &[]);
    let source = format!("{base}/site/dir/base.html");
    let want = [
        format!("{base}/other/place/page.html"),
        format!("{base}/other/up.html"),
    ];
    assert_eq!(out, tsv_lines(&source, &want));
}

#[test]
fn links_resolve_against_the_url_after_redirects_and_source_is_the_input() {
    let (base, out) = links_of("/old/start", &[]);
    assert_eq!(
        out,
        format!("{base}/old/start\t{base}/site/new/next.html\n")
    );
}

#[test]
fn windows_1252_declared_in_the_header_decodes_e_acute() {
    let (base, out) = links_of("/site/cp1252-header.html", &[]);
    // The path is always UTF-8; the query uses the page's encoding, as browsers do.
    assert_eq!(
        out,
        format!("{base}/site/cp1252-header.html\t{base}/site/caf%C3%A9.html?q=caf%E9\n")
    );
}

#[test]
fn windows_1252_declared_in_a_meta_tag_decodes_e_acute() {
    let (base, out) = links_of("/site/cp1252-meta.html", &[]);
    assert_eq!(
        out,
        format!("{base}/site/cp1252-meta.html\t{base}/site/caf%C3%A9.html?q=caf%E9\n")
    );
}

#[test]
fn a_bom_wins_over_the_content_type_charset() {
    let server = TestServer::start(|_| {
        let mut body = b"\xef\xbb\xbf".to_vec();
        body.extend_from_slice("<a href=\"/caf?q=café\">x</a>".as_bytes());
        Reply::with_type(200, "text/html; charset=windows-1252", body)
    });
    let areq = Areq::new();
    // Read as UTF-8 (the BOM), é is one character and the query is UTF-8 too; read as
    // windows-1252 it would be two characters, Ã©.
    areq.assert_one_record(&server.url("/bom"), &server.url("/caf?q=caf%C3%A9"));
}
