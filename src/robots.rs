//! robots.txt: fetched once per origin and cached for the run, obeyed in recursive mode.
//!
//! Following RFC 9309: a robots.txt that is missing (4xx) allows everything; one that cannot
//! be fetched because the server errs (5xx) or stalls (timeout) disallows the whole origin for
//! the run, with a warning. Other network failures allow, so the page fetch itself reports
//! the real error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use texting_robots::Robot;
use tokio::sync::OnceCell;
use url::Url;

use crate::error::FetchError;
use crate::fetch::Fetcher;

/// The most of a robots.txt that is read, as RFC 9309 asks parsers to handle.
const MAX_ROBOTS_BYTES: u64 = 512 * 1024;

/// What one origin's robots.txt says.
#[derive(Debug)]
pub enum Rules {
    /// No usable robots.txt: everything is allowed.
    AllowAll,
    /// The robots.txt could not be had (5xx, timeout): nothing is allowed.
    DisallowAll,
    /// The parsed file, for our user agent.
    Parsed(Box<Robot>),
}

impl Rules {
    /// Whether `url` may be fetched.
    pub fn allows(&self, url: &Url) -> bool {
        match self {
            Rules::AllowAll => true,
            Rules::DisallowAll => false,
            Rules::Parsed(robot) => robot.allowed(url.as_str()),
        }
    }

    /// The `Crawl-delay` for our user agent, if any.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Rules::Parsed(robot) => robot
                .delay
                .filter(|secs| secs.is_finite() && *secs > 0.0)
                .map(|secs| Duration::from_secs_f32(secs.min(3600.0))),
            _ => None,
        }
    }
}

/// One robots.txt fetch per origin, shared by every page task of that origin.
pub struct RobotsCache {
    agent: String,
    fetcher: Fetcher,
    origins: Mutex<HashMap<String, Arc<OnceCell<Arc<Rules>>>>>,
}

impl RobotsCache {
    /// A cache matching rules against `user_agent`'s product token (`areq/1.0` → `areq`).
    pub fn new(user_agent: &str, fetcher: Fetcher) -> RobotsCache {
        let agent = user_agent
            .split(|c: char| c == '/' || c.is_whitespace())
            .next()
            .unwrap_or(user_agent)
            .to_owned();
        RobotsCache {
            agent,
            fetcher,
            origins: Mutex::new(HashMap::new()),
        }
    }

    /// The rules for `url`'s origin, fetching its robots.txt on first use.
    pub async fn rules_for(&self, url: &Url) -> Arc<Rules> {
        let origin = url.origin().ascii_serialization();
        let cell = {
            // Held only to clone the cell out; never across an await.
            let mut origins = self.origins.lock().expect("robots cache lock poisoned");
            Arc::clone(origins.entry(origin.clone()).or_default())
        };
        cell.get_or_init(|| self.fetch_rules(origin)).await.clone()
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
                match Robot::new(&self.agent, &body) {
                    Ok(robot) => Rules::Parsed(Box::new(robot)),
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

    #[test]
    fn parsed_rules_allow_disallow_and_give_the_crawl_delay() {
        let robot = Robot::new(
            "areq",
            b"User-agent: *\nDisallow: /private\nCrawl-delay: 0.5\n\nUser-agent: other\nDisallow: /",
        )
        .unwrap();
        let rules = Rules::Parsed(Box::new(robot));
        assert!(rules.allows(&Url::parse("http://h/public").unwrap()));
        assert!(!rules.allows(&Url::parse("http://h/private/x").unwrap()));
        assert_eq!(rules.crawl_delay(), Some(Duration::from_millis(500)));
        assert!(!Rules::DisallowAll.allows(&Url::parse("http://h/").unwrap()));
    }
}
