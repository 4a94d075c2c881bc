//! robots.txt: fetched once per origin and cached for the run, obeyed in recursive mode.
//!
//! Following RFC 9309: a robots.txt that is missing (4xx) allows everything; one that cannot
//! be fetched because the server errs (5xx) or stalls (timeout) disallows the whole origin for
//! the run, with a warning. Other network failures allow, so the page fetch itself reports
//! the real error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use texting_robots::Robot;
use tokio::sync::OnceCell;
use url::Url;

use crate::error::FetchError;
use crate::fetch::Fetcher;

/// The most of a robots.txt that is read, as RFC 9309 asks parsers to handle.
const MAX_ROBOTS_BYTES: u64 = 512 * 1024;

/// What one origin's robots.txt says.
#[derive(Debug)]
pub(crate) enum Rules {
    /// No usable robots.txt: everything is allowed.
    AllowAll,
    /// The robots.txt could not be had (5xx, timeout): nothing is allowed.
    DisallowAll,
    /// The parsed file, for our user agent.
    Parsed(Box<Robot>),
}

impl Rules {
    /// Whether `url` may be fetched.
    pub(crate) fn allows(&self, url: &Url) -> bool {
        match self {
            Rules::AllowAll => true,
            Rules::DisallowAll => false,
            Rules::Parsed(robot) => robot.allowed(url.as_str()),
        }
    }

    /// The sitemap URLs its `Sitemap:` lines name, as written.
    pub(crate) fn sitemaps(&self) -> &[String] {
        match self {
            Rules::Parsed(robot) => &robot.sitemaps,
            _ => &[],
        }
    }

    /// The `Crawl-delay` for our user agent, if any.
    pub(crate) fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Rules::Parsed(robot) => robot
                .delay
                .filter(|secs| secs.is_finite() && *secs > 0.0)
                .map(|secs| Duration::from_secs_f32(secs.min(3600.0))),
            _ => None,
        }
    }
}

impl Rules {
    /// Parses a robots.txt body for the crawler called `agent` (a product token).
    pub(crate) fn parse(agent: &str, body: &[u8]) -> Result<Rules, String> {
        Robot::new(agent, body)
            .map(|robot| Rules::Parsed(Box::new(robot)))
            .map_err(|err| err.to_string())
    }
}

/// The product token of a User-Agent, which robots.txt groups are matched on:
/// `areq/0.1 (+https://example.org/bot)` → `areq`.
pub(crate) fn product_token(user_agent: &str) -> &str {
    user_agent
        .split(|c: char| c == '/' || c.is_whitespace())
        .next()
        .unwrap_or(user_agent)
}

/// The rules for one URL, and whether this check fetched them.
pub(crate) struct RobotsCheck {
    /// The rules of the URL's origin.
    pub(crate) rules: Arc<Rules>,
    /// When this check sent the robots.txt request, if it was the first for the origin.
    pub(crate) fetched_at: Option<Instant>,
}

/// One robots.txt fetch per origin, shared by every page task of that origin.
pub(crate) struct RobotsCache {
    agent: String,
    fetcher: Fetcher,
    origins: Mutex<HashMap<String, Arc<OnceCell<Arc<Rules>>>>>,
}

impl RobotsCache {
    /// A cache matching rules against `user_agent`'s product token.
    pub(crate) fn new(user_agent: &str, fetcher: Fetcher) -> RobotsCache {
        RobotsCache {
            agent: product_token(user_agent).to_owned(),
            fetcher,
            origins: Mutex::new(HashMap::new()),
        }
    }

    /// The rules for `url`'s origin, fetching its robots.txt on first use.
    pub(crate) async fn check(&self, url: &Url) -> RobotsCheck {
        let origin = url.origin().ascii_serialization();
        let cell = {
            // Held only to clone the cell out; never across an await.
            let mut origins = self.origins.lock().expect("robots cache lock poisoned");
            Arc::clone(origins.entry(origin.clone()).or_default())
        };
        let mut fetched_at = None;
        let rules = cell
            .get_or_init(|| {
                fetched_at = Some(Instant::now());
                self.fetch_rules(origin)
            })
            .await
            .clone();
        RobotsCheck { rules, fetched_at }
    }

    async fn fetch_rules(&self, origin: String) -> Arc<Rules> {
        let Ok(robots_url) = Url::parse(&format!("{origin}/robots.txt")) else {
            return Arc::new(Rules::AllowAll);
        };
        let rules = match self
            .fetcher
            .fetch_bytes(&robots_url, MAX_ROBOTS_BYTES)
            .await
        {
            Ok((status, body)) if (200..300).contains(&status) => {
                match Rules::parse(&self.agent, &body) {
                    Ok(rules) => rules,
                    Err(err) => {
                        tracing::debug!(url = %robots_url, error = %err, "robots.txt unreadable; allowing all");
                        Rules::AllowAll
                    }
                }
            }
            Ok((status, _)) if status >= 500 => {
                tracing::warn!(url = %robots_url, status, "robots.txt unavailable; not crawling this host");
                Rules::DisallowAll
            }
            Ok(_) => Rules::AllowAll,
            Err(FetchError::Timeout) => {
                tracing::warn!(url = %robots_url, "robots.txt timed out; not crawling this host");
                Rules::DisallowAll
            }
            Err(err) => {
                tracing::debug!(url = %robots_url, error = %err, "robots.txt not fetched; allowing all");
                Rules::AllowAll
            }
        };
        Arc::new(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A robots.txt whose `areq` group and `*` group disagree.
    const TWO_GROUPS: &[u8] =
        b"User-agent: *\nDisallow: /\n\nUser-agent: areq\nDisallow: /private\nCrawl-delay: 0.5\n";

    #[test]
    fn the_product_token_is_the_user_agent_up_to_its_first_slash_or_space() {
        assert_eq!(product_token("areq/0.1.0"), "areq");
        assert_eq!(product_token("areq (+https://example.org/bot)"), "areq");
        assert_eq!(product_token("MyCrawler/2.0 (compatible)"), "MyCrawler");
        assert_eq!(product_token("plain"), "plain");
    }

    #[test]
    fn rules_follow_the_group_of_our_product_token_not_the_star_group() {
        let url = |path: &str| Url::parse(&format!("http://h{path}")).unwrap();
        let ours = Rules::parse(
            product_token("areq/0.1.0 (+https://example.org)"),
            TWO_GROUPS,
        )
        .unwrap();
        assert!(ours.allows(&url("/public")));
        assert!(!ours.allows(&url("/private/x")));
        assert_eq!(ours.crawl_delay(), Some(Duration::from_millis(500)));

        let other = Rules::parse(product_token("other/1.0"), TWO_GROUPS).unwrap();
        assert!(!other.allows(&url("/public")), "the * group disallows all");
        assert_eq!(other.crawl_delay(), None);
        assert!(!Rules::DisallowAll.allows(&url("/")));
        assert!(Rules::AllowAll.allows(&url("/")));
    }
}
