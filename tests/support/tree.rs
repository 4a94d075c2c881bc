//! The tree site: a generated site for recursive crawls whose every page has a known place.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::server::{Gate, Reply, TestServer};

/// Pages of the tree site: `/n/1` … `/n/PAGES`.
pub const PAGES: usize = 120;

/// A binary tree of pages: `/` links to `/n/1`, `/n/K` to `/n/2K` and `/n/2K+1` (while
/// they exist), back to `/`, to itself with a fragment, and off the host. Every page
/// answers after `delay`; robots.txt is missing.
pub fn tree_site(delay: Duration) -> TestServer {
    tree_site_with(delay, None)
}

/// The tree site that answers the first `pass` page requests (robots.txt aside) and holds
/// every later one behind `gate`: a crawl does `pass` pages, then stops with every request
/// it may have in flight held at the gate, until the test opens it.
pub fn gated_tree_site(delay: Duration, gate: &Gate, pass: usize) -> TestServer {
    tree_site_with(delay, Some((gate.clone(), pass)))
}

fn tree_site_with(delay: Duration, gate: Option<(Gate, usize)>) -> TestServer {
    let pages = AtomicUsize::new(0);
    TestServer::start(move |request| {
        let path = request.path.as_str();
        let links: Vec<String> = if path == "/" {
            vec!["/n/1".into()]
        } else if let Some(k) = path
            .strip_prefix("/n/")
            .and_then(|k| k.parse::<usize>().ok())
            .filter(|k| (1..=PAGES).contains(k))
        {
            let mut links: Vec<String> = [2 * k, 2 * k + 1]
                .into_iter()
                .filter(|child| *child <= PAGES)
                .map(|child| format!("/n/{child}"))
                .collect();
            links.extend([
                "/".into(),
                format!("/n/{k}#top"),
                "http://elsewhere.test/".into(),
            ]);
            links
        } else {
            return Reply::status(404);
        };
        let anchors: String = links
            .iter()
            .map(|link| format!("<a href=\"{link}\">{link}</a>"))
            .collect();
        let reply = Reply::html(format!("<!doctype html><body>{anchors}</body>")).delayed(delay);
        match &gate {
            Some((gate, pass)) if pages.fetch_add(1, Ordering::SeqCst) >= *pass => {
                reply.behind(gate)
            }
            _ => reply,
        }
    })
}

/// The set of lines of an output.
pub fn lines_of(text: &str) -> BTreeSet<String> {
    text.lines().map(str::to_owned).collect()
}

/// Waits (bounded) until the site has served at least `pages` requests.
pub fn wait_for_hits(site: &TestServer, pages: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while site.total_hits() < pages {
        assert!(
            Instant::now() < deadline,
            "the crawl never reached {pages} requests"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How many times each page (robots.txt aside) was requested.
pub fn page_hits(site: &TestServer) -> BTreeMap<String, usize> {
    let mut hits = BTreeMap::new();
    for request in site.requests() {
        if request.path != "/robots.txt" {
            *hits.entry(request.path).or_default() += 1;
        }
    }
    hits
}
