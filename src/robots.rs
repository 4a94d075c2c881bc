//! robots.txt: fetched once per origin and cached for the run, obeyed in recursive mode.
//!
//! Following RFC 9309: a robots.txt that is missing (4xx) allows everything; one that cannot
//! be fetched because the server errs (5xx) or stalls (timeout) disallows the whole origin for
//! the run, with a warning. Other network failures allow, so the page fetch itself reports
//! the real error. A robots.txt whose address the request may not reach (see
//! `fetch::reach`) is not fetched and nothing is remembered: the page fails as `blocked`, and
//! a page allowed to reach the host fetches the file later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use texting_robots::Robot;
use tokio::sync::OnceCell;
use url::Url;

use crate::fetch::{FetchError, Fetcher, Lineage};
use crate::shared::SharedRobots;

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

/// What fetching an origin's robots.txt came to, before it is read for one user agent: the
/// form a shared crawl stores, so every worker obeys the same file fetched once.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    AllowAll,
    DisallowAll,
    File(Vec<u8>),
}

impl Verdict {
    fn rules(&self, agent: &str, origin: &str) -> Rules {
        match self {
            Verdict::AllowAll => Rules::AllowAll,
            Verdict::DisallowAll => Rules::DisallowAll,
            Verdict::File(body) => Rules::parse(agent, body).unwrap_or_else(|err| {
                tracing::debug!(origin, error = %err, "robots.txt unreadable; allowing all");
                Rules::AllowAll
            }),
        }
    }

    /// `allow`, `disallow`, or `file` and a line break before the file's bytes.
    fn encode(&self) -> Vec<u8> {
        match self {
            Verdict::AllowAll => b"allow".to_vec(),
            Verdict::DisallowAll => b"disallow".to_vec(),
            Verdict::File(body) => [b"file\n".as_slice(), body].concat(),
        }
    }

    fn decode(stored: &[u8]) -> Option<Verdict> {
        match stored {
            b"allow" => Some(Verdict::AllowAll),
            b"disallow" => Some(Verdict::DisallowAll),
            _ => stored
                .strip_prefix(b"file\n")
                .map(|body| Verdict::File(body.to_vec())),
        }
    }
}

/// One robots.txt fetch per origin, shared by every page task of that origin, and with a
/// shared crawl's store, by every worker of the crawl.
pub(crate) struct RobotsCache {
    agent: String,
    fetcher: Fetcher,
    origins: Mutex<HashMap<String, Arc<OnceCell<Arc<Rules>>>>>,
    store: Option<Arc<dyn SharedRobots>>,
}

impl RobotsCache {
    /// A cache matching rules against `user_agent`'s product token, sharing what it fetches
    /// through `store` when given.
    pub(crate) fn new(
        user_agent: &str,
        fetcher: Fetcher,
        store: Option<Arc<dyn SharedRobots>>,
    ) -> RobotsCache {
        RobotsCache {
            agent: product_token(user_agent).to_owned(),
            fetcher,
            origins: Mutex::new(HashMap::new()),
            store,
        }
    }

    /// The rules for `url`'s origin, fetching its robots.txt on first use (for a page of
    /// `lineage`).
    pub(crate) async fn rules_for(&self, url: &Url, lineage: Lineage<'_>) -> Arc<Rules> {
        let origin = url.origin().ascii_serialization();
        let cell = {
            // Held only to clone the cell out; never across an await.
            let mut origins = self.origins.lock().expect("robots cache lock poisoned");
            Arc::clone(origins.entry(origin.clone()).or_default())
        };
        let rules = cell
            .get_or_try_init(|| async {
                let stored = match &self.store {
                    Some(store) => store.load(&origin).await,
                    None => None,
                };
                let verdict = match stored.as_deref().and_then(Verdict::decode) {
                    Some(verdict) => verdict,
                    None => {
                        let verdict = self.fetch(&origin, lineage).await?;
                        if let Some(store) = &self.store {
                            store.save(&origin, &verdict.encode()).await;
                        }
                        verdict
                    }
                };
                Ok::<_, FetchError>(Arc::new(verdict.rules(&self.agent, &origin)))
            })
            .await;
        match rules {
            Ok(rules) => Arc::clone(rules),
            Err(_) => Arc::new(Rules::AllowAll),
        }
    }

    /// Fetches the origin's robots.txt (RFC 9309's answers to its failures: see the module
    /// docs). `Err` only when its address may not be reached.
    async fn fetch(&self, origin: &str, lineage: Lineage<'_>) -> Result<Verdict, FetchError> {
        let Ok(robots_url) = Url::parse(&format!("{origin}/robots.txt")) else {
            return Ok(Verdict::AllowAll);
        };
        let verdict = match self
            .fetcher
            .fetch_bytes(&robots_url, MAX_ROBOTS_BYTES, lineage)
            .await
        {
            Ok((status, body)) if (200..300).contains(&status) => Verdict::File(body),
            Ok((status, _)) if status >= 500 => {
                tracing::warn!(url = %robots_url, status, "robots.txt unavailable; not crawling this host");
                Verdict::DisallowAll
            }
            Ok(_) => Verdict::AllowAll,
            Err(FetchError::Timeout) => {
                tracing::warn!(url = %robots_url, "robots.txt timed out; not crawling this host");
                Verdict::DisallowAll
            }
            Err(err @ FetchError::Blocked(_)) => return Err(err),
            Err(err) => {
                tracing::debug!(url = %robots_url, error = %err, "robots.txt not fetched; allowing all");
                Verdict::AllowAll
            }
        };
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A robots.txt whose `areq` group and `*` group disagree.
    const TWO_GROUPS: &[u8] =
        b"User-agent: *\nDisallow: /\n\nUser-agent: areq\nDisallow: /private\nCrawl-delay: 0.5\n";

    #[test]
    fn verdicts_survive_being_stored() {
        for verdict in [
            Verdict::AllowAll,
            Verdict::DisallowAll,
            Verdict::File(TWO_GROUPS.to_vec()),
            Verdict::File(Vec::new()),
        ] {
            assert_eq!(Verdict::decode(&verdict.encode()), Some(verdict));
        }
        assert_eq!(Verdict::decode(b"garbage"), None);
    }

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
