//! Which links of a page a recursive crawl follows, decided on the parse thread as the links
//! are found, where each is a parsed URL already: the scheduler gets back only the jobs to
//! push, each with its seen-set key, and the keys of the links it refused.
//!
//! Each link goes through the cheap steps first: its fragment is dropped; a link that is not
//! http(s) or names a file (`.pdf`, `.png`, …) goes no further; then its key is computed, and
//! a link whose fragment was dropped goes no further if the page had it already (`#a`, `#b`
//! and `#c` are one link: the page itself, often); then scope (the seed's host or registrable
//! domain), and last the `--include` and `--exclude` regexes. The page's other links are
//! distinct already, and what is left over (`page` and `page#a`) the scheduler's sets catch.

use std::sync::Arc;

use url::Url;

use crate::frontier::{Child, Job};
use crate::scope::{may_be_a_page, ScopeRules};
use crate::seen::{SeenSet, UrlKey};

/// The follow rules as one page applies them to its links, as they are found.
#[derive(Debug)]
pub(crate) struct Follower {
    rules: Arc<ScopeRules>,
    /// The scope key of the page's seed, which its links share.
    origin: Arc<str>,
    /// The depth of the page's links: one below the page.
    depth: u32,
    /// The links offered so far with a fragment, without it.
    unfragmented: SeenSet,
    followed: Followed,
}

/// What following one page's links came to.
#[derive(Debug, Default)]
pub(crate) struct Followed {
    /// Jobs for the links to follow, in the order found.
    pub(crate) children: Vec<Child>,
    /// The keys of the links scope or the patterns refused: the scheduler counts each refused
    /// link once in the run.
    pub(crate) refused: Vec<UrlKey>,
}

impl Follower {
    /// The rules for the links of `parent`'s page.
    pub(crate) fn new(rules: Arc<ScopeRules>, parent: &Job) -> Follower {
        Follower {
            rules,
            origin: Arc::clone(&parent.origin),
            depth: parent.depth + 1,
            unfragmented: SeenSet::default(),
            followed: Followed::default(),
        }
    }

    /// Decides whether `link`, found on the page, is followed.
    pub(crate) fn offer(&mut self, mut link: Url) {
        let fragment = link.fragment().is_some();
        if fragment {
            link.set_fragment(None);
        }
        if !may_be_a_page(&link) {
            return;
        }
        let key = UrlKey::of(&link);
        if fragment && !self.unfragmented.insert_key(key) {
            return;
        }
        if self.rules.admits(&link, &self.origin).is_err() {
            tracing::debug!(link = %link, "out of scope");
            self.followed.refused.push(key);
            return;
        }
        let job = Job {
            given: None,
            url: link,
            depth: self.depth,
            origin: Arc::clone(&self.origin),
            lease: None,
        };
        self.followed.children.push(Child { job, key });
    }

    /// What the page's links came to.
    pub(crate) fn finish(self) -> Followed {
        self.followed
    }
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;
    use crate::scope::Scope;

    fn parent(url: &str, depth: u32) -> Job {
        Job {
            given: Some(url.into()),
            url: Url::parse(url).unwrap(),
            depth,
            origin: Arc::from("a"),
            lease: None,
        }
    }

    fn follow(rules: ScopeRules, links: &[&str]) -> Followed {
        let mut follower = Follower::new(Arc::new(rules), &parent("http://a/", 2));
        for link in links {
            follower.offer(Url::parse(link).unwrap());
        }
        follower.finish()
    }

    fn urls(followed: &Followed) -> Vec<&str> {
        let children = followed.children.iter();
        children.map(|child| child.job.url.as_str()).collect()
    }

    #[test]
    fn children_are_the_links_in_scope_without_fragments_one_level_down() {
        let followed = follow(
            ScopeRules::default(),
            &[
                "http://a/x#top",
                "http://a/y",
                "http://a/x#bottom",
                "http://a/z",
            ],
        );
        assert_eq!(urls(&followed), ["http://a/x", "http://a/y", "http://a/z"]);
        for child in &followed.children {
            assert_eq!(child.key, UrlKey::of(&child.job.url));
            assert_eq!(child.job.source(), child.job.url.as_str());
            assert_eq!((child.job.depth, &*child.job.origin), (3, "a"));
            assert_eq!((&child.job.given, &child.job.lease), (&None, &None));
        }
        assert!(followed.refused.is_empty());
    }

    #[test]
    fn links_out_of_scope_or_refused_by_a_pattern_come_back_as_keys() {
        let rules = ScopeRules {
            scope: Scope::Host,
            include: Vec::new(),
            exclude: vec![Regex::new(r"\?print=").unwrap()],
        };
        let links = [
            "http://b/elsewhere#one",
            "http://b/elsewhere#again",
            "http://a/page?print=1",
            "http://a/kept",
        ];
        let followed = follow(rules, &links);
        assert_eq!(urls(&followed), ["http://a/kept"]);
        let refused = [links[0], links[2]].map(|link| UrlKey::of(&Url::parse(link).unwrap()));
        assert_eq!(followed.refused, refused);
    }

    #[test]
    fn files_and_other_schemes_are_neither_followed_nor_refused() {
        let links = [
            "http://a/paper.pdf",
            "http://b/logo.png",
            "mailto:x@a",
            "ftp://a/x",
        ];
        let followed = follow(ScopeRules::default(), &links);
        assert!(followed.children.is_empty());
        assert!(followed.refused.is_empty(), "not counted as out of scope");
    }
}
