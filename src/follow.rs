//! Which links of a page a recursive crawl follows, decided on the parse thread as the links
//! are found, where each is a parsed URL already: the scheduler gets back only the links to
//! follow, each with its seen-set key, ready for the frontier, and how many links were refused
//! for the first time.
//!
//! Each link goes through the cheap steps first: its fragment is dropped; a link that is not
//! http(s) or names a file (`.pdf`, `.png`, …) goes no further; then its key is computed, and
//! a link whose fragment was dropped goes no further if the page had it already (`#a`, `#b`
//! and `#c` are one link: the page itself, often); then scope (the seed's host or registrable
//! domain), and last the `--include` and `--exclude` regexes. The page's other links are
//! distinct already; what is left over (`page` and `page#a`) the seen set and the refused set
//! catch.
//!
//! Before all that, what the page says about following (see [`crate::nofollow`]): a page that
//! says `nofollow` where robots are obeyed has none of its links followed, and a link with
//! `rel="nofollow"` is not followed under `--respect-nofollow`.

use std::sync::{Arc, Mutex, PoisonError};

use url::Url;

use crate::job::{Children, Job};
use crate::nofollow::NofollowRules;
use crate::scope::{may_be_a_page, ScopeRules};
use crate::seen::{SeenSet, UrlKey};

/// What the pages of a run share to follow their links: the rules, and the links refused so
/// far, so that each refused link is counted once in the run.
#[derive(Debug, Default)]
pub(crate) struct FollowRules {
    /// Which links are followed.
    pub(crate) scope: ScopeRules,
    /// Which of a page's nofollow hints are obeyed.
    pub(crate) nofollow: NofollowRules,
    /// Every link refused so far. A page takes the lock once, when its parse ends.
    refused: Mutex<SeenSet>,
}

impl FollowRules {
    /// The rules of a run that follows links by `scope`.
    pub(crate) fn new(scope: ScopeRules) -> FollowRules {
        FollowRules {
            scope,
            nofollow: NofollowRules::default(),
            refused: Mutex::default(),
        }
    }

    /// The same rules, obeying the page's nofollow hints as `nofollow` says.
    pub(crate) fn obeying(self, nofollow: NofollowRules) -> FollowRules {
        FollowRules { nofollow, ..self }
    }

    /// Whether `link`, without its fragment, found on a page descending from `origin`, is
    /// followed: the decision [`Follower::offer`] makes in steps, cheap ones first, for one
    /// link alone (as `--resume` walks the links an interrupted crawl wrote).
    pub(crate) fn follows(&self, link: &Url, origin: &str) -> bool {
        may_be_a_page(link) && self.scope.admits(link, origin).is_ok()
    }

    /// Records the links one page refused; returns how many no page had refused before.
    fn refuse(&self, keys: &[UrlKey]) -> u64 {
        if keys.is_empty() {
            return 0;
        }
        // A panic while the set was held leaves it whole: an insert is not half done.
        let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        keys.iter().filter(|key| refused.insert_key(**key)).count() as u64
    }
}

/// The follow rules as one page applies them to its links, as they are found.
#[derive(Debug)]
pub(crate) struct Follower {
    rules: Arc<FollowRules>,
    /// The links offered so far with a fragment, without it.
    unfragmented: SeenSet,
    /// The keys of the links refused, for the run's refused set.
    refused: Vec<UrlKey>,
    /// The links followed, at the depth below the page, sharing its seed's scope key.
    children: Children,
    /// The page said `nofollow`: none of its links is followed.
    stopped: bool,
}

/// What following one page's links came to.
#[derive(Debug, Default)]
pub(crate) struct Followed {
    /// The links to follow, in the order found.
    pub(crate) children: Children,
    /// Links scope or the patterns refused that no page of the run had refused before.
    pub(crate) refused: u64,
    /// The page said `nofollow` (robots `<meta>` or `X-Robots-Tag`): no link was followed.
    pub(crate) page_nofollow: bool,
}

impl Follower {
    /// The rules for the links of `parent`'s page.
    pub(crate) fn new(rules: Arc<FollowRules>, parent: &Job) -> Follower {
        Follower {
            rules,
            unfragmented: SeenSet::default(),
            refused: Vec::new(),
            children: Children {
                depth: parent.depth + 1,
                origin: Arc::clone(&parent.origin),
                seed_origin: Arc::clone(&parent.seed_origin),
                links: Vec::new(),
            },
            stopped: false,
        }
    }

    /// The product token the page's robots `<meta>` tags and `X-Robots-Tag` headers are
    /// read for, when they are obeyed.
    pub(crate) fn robots_agent(&self) -> Option<&str> {
        self.rules.nofollow.robots_agent.as_deref()
    }

    /// The page said `nofollow`: none of its links is followed from now on.
    pub(crate) fn stop(&mut self) {
        tracing::debug!("links not followed: the page says nofollow");
        self.stopped = true;
    }

    /// Decides whether `link`, found on the page, is followed. `fingerprint` is
    /// `fingerprint_text` of the link's text, as found: without a fragment, it is the link's
    /// key already. `nofollow`: every element linking there says `rel="nofollow"`.
    pub(crate) fn offer(&mut self, mut link: Url, fingerprint: u128, nofollow: bool) {
        if self.stopped {
            return;
        }
        if nofollow && self.rules.nofollow.respect_rel {
            tracing::debug!(link = %link, "not followed: rel=nofollow");
            return;
        }
        let fragment = link.fragment().is_some();
        if fragment {
            link.set_fragment(None);
        }
        if !may_be_a_page(&link) {
            return;
        }
        let key = if fragment {
            UrlKey::of(&link)
        } else {
            UrlKey::of_fingerprint(fingerprint)
        };
        debug_assert_eq!(key, UrlKey::of(&link), "{link}");
        if fragment && !self.unfragmented.insert_key(key) {
            return;
        }
        if self
            .rules
            .scope
            .admits(&link, &self.children.origin)
            .is_err()
        {
            tracing::debug!(link = %link, "out of scope");
            self.refused.push(key);
            return;
        }
        self.children.links.push((link, key));
    }

    /// What the page's links came to; the links it refused join the run's refused set.
    pub(crate) fn finish(self) -> Followed {
        Followed {
            refused: self.rules.refuse(&self.refused),
            children: self.children,
            page_nofollow: self.stopped,
        }
    }
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;
    use crate::nofollow::NofollowRules;
    use crate::scope::Scope;
    use crate::seen::fingerprint_text;

    fn parent(url: &str, depth: u32) -> Job {
        Job {
            given: Some(url.into()),
            url: Url::parse(url).unwrap(),
            depth,
            origin: Arc::from("a"),
            seed_origin: Arc::from("http://a"),
            lease: None,
        }
    }

    fn follow(rules: &Arc<FollowRules>, links: &[&str]) -> Followed {
        let mut follower = Follower::new(Arc::clone(rules), &parent("http://a/", 2));
        for link in links {
            let link = Url::parse(link).unwrap();
            let fingerprint = fingerprint_text(link.as_str());
            follower.offer(link, fingerprint, false);
        }
        follower.finish()
    }

    fn rules(scope: ScopeRules) -> Arc<FollowRules> {
        Arc::new(FollowRules::new(scope))
    }

    fn urls(followed: &Followed) -> Vec<&str> {
        let links = followed.children.links.iter();
        links.map(|(url, _)| url.as_str()).collect()
    }

    #[test]
    fn children_are_the_links_in_scope_without_fragments_one_level_down() {
        let followed = follow(
            &rules(ScopeRules::default()),
            &[
                "http://a/x#top",
                "http://a/y",
                "http://a/x#bottom",
                "http://a/z",
            ],
        );
        assert_eq!(urls(&followed), ["http://a/x", "http://a/y", "http://a/z"]);
        let children = &followed.children;
        assert_eq!((children.depth, &*children.origin), (3, "a"));
        for (url, key) in &children.links {
            assert_eq!(*key, UrlKey::of(url));
            let job = children.job(url.clone());
            assert_eq!(job.source(), url.as_str());
            assert_eq!((job.depth, &*job.origin), (3, "a"));
            assert_eq!((&job.given, &job.lease), (&None, &None));
        }
        assert_eq!(followed.refused, 0);
    }

    #[test]
    fn links_out_of_scope_or_refused_by_a_pattern_are_counted_once_a_run() {
        let rules = rules(ScopeRules {
            scope: Scope::Host,
            include: Vec::new(),
            exclude: vec![Regex::new(r"\?print=").unwrap()],
        });
        let links = [
            "http://b/elsewhere#one",
            "http://b/elsewhere#again",
            "http://a/page?print=1",
            "http://a/kept",
        ];
        let followed = follow(&rules, &links);
        assert_eq!(urls(&followed), ["http://a/kept"]);
        assert_eq!(followed.refused, 2);
        let again = [
            "http://b/elsewhere",
            "http://a/page?print=1",
            "http://b/new",
        ];
        assert_eq!(
            follow(&rules, &again).refused,
            1,
            "refused by an earlier page"
        );
    }

    #[test]
    fn files_and_other_schemes_are_neither_followed_nor_refused() {
        let links = [
            "http://a/paper.pdf",
            "http://b/logo.png",
            "mailto:x@a",
            "ftp://a/x",
        ];
        let followed = follow(&rules(ScopeRules::default()), &links);
        assert!(followed.children.links.is_empty());
        assert_eq!(followed.refused, 0, "not counted as out of scope");
    }

    #[test]
    fn follows_decides_a_link_alone_as_offer_does() {
        let rules = rules(ScopeRules {
            scope: Scope::Host,
            include: Vec::new(),
            exclude: vec![Regex::new(r"\?print=").unwrap()],
        });
        let links = [
            "http://a/kept",
            "http://a/kept#part",
            "http://b/elsewhere",
            "http://a/page?print=1",
            "http://a/paper.pdf",
            "mailto:x@a",
        ];
        for link in links {
            let offered = urls(&follow(&rules, &[link])).len() == 1;
            let mut alone = Url::parse(link).unwrap();
            alone.set_fragment(None);
            assert_eq!(rules.follows(&alone, "a"), offered, "{link}");
        }
    }

    /// Offers `http://a/x` marked `rel="nofollow"` and `http://a/y` not marked, with the page
    /// saying `nofollow` between the two when `stopped`.
    fn offer_marked(rules: &Arc<FollowRules>, stopped: bool) -> Followed {
        let mut follower = Follower::new(Arc::clone(rules), &parent("http://a/", 0));
        for (link, nofollow) in [("http://a/x", true), ("http://a/y", false)] {
            if stopped && !nofollow {
                follower.stop();
            }
            let link = Url::parse(link).unwrap();
            let fingerprint = fingerprint_text(link.as_str());
            follower.offer(link, fingerprint, nofollow);
        }
        follower.finish()
    }

    #[test]
    fn rel_nofollow_is_obeyed_only_under_respect_nofollow() {
        let ignoring = rules(ScopeRules::default());
        let followed = offer_marked(&ignoring, false);
        assert_eq!(urls(&followed), ["http://a/x", "http://a/y"]);
        assert!(!followed.page_nofollow);

        let respecting = Arc::new(
            FollowRules::new(ScopeRules::default()).obeying(NofollowRules {
                robots_agent: Some("areq".into()),
                respect_rel: true,
            }),
        );
        let followed = offer_marked(&respecting, false);
        assert_eq!(urls(&followed), ["http://a/y"]);
        assert_eq!(followed.refused, 0, "a nofollow link is not out of scope");
        let follower = Follower::new(Arc::clone(&respecting), &parent("http://a/", 0));
        assert_eq!(follower.robots_agent(), Some("areq"));
        let follower = Follower::new(ignoring, &parent("http://a/", 0));
        assert_eq!(follower.robots_agent(), None);
    }

    #[test]
    fn a_page_that_says_nofollow_follows_nothing_after_saying_it() {
        let followed = offer_marked(&rules(ScopeRules::default()), true);
        assert_eq!(urls(&followed), ["http://a/x"]);
        assert!(followed.page_nofollow);
    }
}
