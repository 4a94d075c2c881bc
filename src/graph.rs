//! The host-level link graph of a crawl (`--graph FILE.dot`): which hosts link to which, and
//! how often, in Graphviz DOT.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

use url::Url;

/// The links of one page counted by their host, as the page is parsed.
#[derive(Debug, Default)]
pub(crate) struct HostLinks {
    counts: HashMap<String, u64>,
}

impl HostLinks {
    /// Counts `link` (a link without a host, `mailto:` say, is no edge).
    pub(crate) fn add(&mut self, link: &Url) {
        let Some(host) = link.host_str() else {
            return;
        };
        match self.counts.get_mut(host) {
            Some(count) => *count += 1,
            None => {
                self.counts.insert(host.to_owned(), 1);
            }
        }
    }
}

/// Host → host link counts, plus every host crawled.
#[derive(Debug, Default)]
pub(crate) struct HostGraph {
    hosts: BTreeSet<String>,
    edges: BTreeMap<(String, String), u64>,
}

impl HostGraph {
    /// Adds the links found on one page of `page_host`. Links within the host are not edges.
    pub(crate) fn add_page(&mut self, page_host: &str, links: HostLinks) {
        if !self.hosts.contains(page_host) {
            self.hosts.insert(page_host.to_owned());
        }
        for (host, count) in links.counts {
            if host != page_host {
                *self.edges.entry((page_host.to_owned(), host)).or_default() += count;
            }
        }
    }

    /// The graph in DOT: crawled hosts as boxes, edges labelled with link counts.
    pub(crate) fn to_dot(&self) -> String {
        let mut dot = String::from("digraph links {\n  rankdir=LR;\n  node [shape=box];\n");
        for host in &self.hosts {
            // Writing to a String cannot fail.
            let _ = writeln!(dot, "  {};", quote(host));
        }
        for ((from, to), count) in &self.edges {
            let _ = writeln!(dot, "  {} -> {} [label={count}];", quote(from), quote(to));
        }
        dot.push_str("}\n");
        dot
    }
}

fn quote(host: &str) -> String {
    format!("\"{}\"", host.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_count_links_between_distinct_hosts() {
        let mut graph = HostGraph::default();
        let count = |links: &[&str]| {
            let mut counts = HostLinks::default();
            for link in links {
                counts.add(&Url::parse(link).unwrap());
            }
            counts
        };
        let links = [
            "http://a/x",
            "http://b/1",
            "mailto:x@b",
            "http://b/2",
            "http://c/",
        ];
        graph.add_page("a", count(&links));
        graph.add_page("b", count(&links[..1]));
        assert_eq!(
            graph.to_dot(),
            "digraph links {\n  rankdir=LR;\n  node [shape=box];\n  \"a\";\n  \"b\";\n  \
             \"a\" -> \"b\" [label=2];\n  \"a\" -> \"c\" [label=1];\n  \"b\" -> \"a\" [label=1];\n}\n"
        );
    }
}
