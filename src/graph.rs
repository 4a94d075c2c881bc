//! The host-level link graph of a crawl (`--graph FILE.dot`): which hosts link to which, and
//! how often, in Graphviz DOT.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use url::Url;

/// Host → host link counts, plus every host crawled.
#[derive(Debug, Default)]
pub(crate) struct HostGraph {
    hosts: BTreeSet<String>,
    edges: BTreeMap<(String, String), u64>,
}

impl HostGraph {
    /// Adds the links found on one page of `page_host`. Links within the host are not edges.
    pub(crate) fn add_page(&mut self, page_host: &str, links: &[Url]) {
        if !self.hosts.contains(page_host) {
            self.hosts.insert(page_host.to_owned());
        }
        for host in links.iter().filter_map(Url::host_str) {
            if host != page_host {
                *self
                    .edges
                    .entry((page_host.to_owned(), host.to_owned()))
                    .or_default() += 1;
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
        let links: Vec<Url> = ["http://a/x", "http://b/1", "http://b/2", "http://c/"]
            .iter()
            .map(|u| Url::parse(u).unwrap())
            .collect();
        graph.add_page("a", &links);
        graph.add_page("b", &links[..1]);
        assert_eq!(
            graph.to_dot(),
            "digraph links {\n  rankdir=LR;\n  node [shape=box];\n  \"a\";\n  \"b\";\n  \
             \"a\" -> \"b\" [label=2];\n  \"a\" -> \"c\" [label=1];\n  \"b\" -> \"a\" [label=1];\n}\n"
        );
    }
}
