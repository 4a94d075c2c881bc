//! robots.txt: fetched once per origin and cached, obeyed in recursive mode.
//!
//! Following RFC 9309: a robots.txt that is missing (4xx) allows everything; one that cannot
//! be fetched because the server errs (5xx) or stalls (timeout) is unreachable, which the RFC
//! treats as temporary: the whole origin is disallowed, with a warning, until robots.txt is
//! asked again a while later ([`RobotsCache::new`]'s `recheck`). Other network failures
//! allow, so the page fetch itself reports the real error. A file fetched is kept for at most
//! a day; a shared crawl stores only what was fetched, never an unreachable verdict. A
//! robots.txt whose address the request may not reach (see `fetch::reach`) is not fetched and
//! nothing is remembered: the page fails as `blocked`, and a page allowed to reach the host
//! fetches the file later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use texting_robots::Robot;
use tokio::sync::OnceCell;
use url::Url;

use crate::fetch::{FetchError, Fetcher};
use crate::job::{origin_text, Lineage};
use crate::shared::SharedRobots;

/// The most of a robots.txt that is read, as RFC 9309 asks parsers to handle.
const MAX_ROBOTS_BYTES: u64 = 512 * 1024;

/// How long a robots.txt fetched is obeyed before it is fetched again (RFC 9309 asks
/// crawlers not to use a cached copy for more than 24 hours).
const KEPT_FOR: Duration = Duration::from_secs(24 * 60 * 60);

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
    /// No usable file (4xx): everything is allowed.
    AllowAll,
    /// The server erred or stalled: nothing is allowed for now, and robots.txt is asked
    /// again later. Never stored for other workers.
    Unreachable,
    /// The file, and when it was fetched (seconds since the Unix epoch).
    File { body: Vec<u8>, fetched: u64 },
}

impl Verdict {
    fn rules(&self, agent: &str, origin: &str) -> Rules {
        match self {
            Verdict::AllowAll => Rules::AllowAll,
            Verdict::Unreachable => Rules::DisallowAll,
            Verdict::File { body, .. } => Rules::parse(agent, body).unwrap_or_else(|err| {
                tracing::debug!(origin, error = %err, "robots.txt unreadable; allowing all");
                Rules::AllowAll
            }),
        }
    }

    /// How long this verdict holds from now: a day from the fetch for a file, `recheck` for
    /// an unreachable robots.txt, the run for the rest.
    fn holds_for(&self, recheck: Duration) -> Option<Duration> {
        match self {
            Verdict::AllowAll => None,
            Verdict::Unreachable => Some(recheck),
            Verdict::File { fetched, .. } => Some(
                KEPT_FOR.saturating_sub(Duration::from_secs(unix_now().saturating_sub(*fetched))),
            ),
        }
    }

    /// What a shared crawl stores: `allow`, or `file SECS` and a line break before the
    /// file's bytes; nothing for an unreachable robots.txt.
    fn encode(&self) -> Option<Vec<u8>> {
        match self {
            Verdict::AllowAll => Some(b"allow".to_vec()),
            Verdict::Unreachable => None,
            Verdict::File { body, fetched } => {
                Some([format!("file {fetched}\n").as_bytes(), body].concat())
            }
        }
    }

    /// A stored verdict, unless it is one to fetch again (a file older than a day, or a
    /// form this version does not store).
    fn decode(stored: &[u8]) -> Option<Verdict> {
        if stored == b"allow" {
            return Some(Verdict::AllowAll);
        }
        let rest = stored.strip_prefix(b"file ")?;
        let line = rest.iter().position(|&b| b == b'\n')?;
        let fetched: u64 = std::str::from_utf8(&rest[..line]).ok()?.parse().ok()?;
        let verdict = Verdict::File {
            body: rest[line + 1..].to_vec(),
            fetched,
        };
        (unix_now().saturating_sub(fetched) < KEPT_FOR.as_secs()).then_some(verdict)
    }
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// An origin's rules, and until when they hold (`None`: for the run).
struct Cached {
    rules: Arc<Rules>,
    until: Option<Instant>,
}

/// One robots.txt fetch per origin, shared by every page task of that origin, and with a
/// shared crawl's store, by every worker of the crawl.
pub(crate) struct RobotsCache {
    agent: String,
    fetcher: Fetcher,
    origins: Mutex<HashMap<String, Arc<OnceCell<Cached>>>>,
    store: Option<Arc<dyn SharedRobots>>,
    /// How long an unreachable robots.txt disallows its origin before it is asked again.
    recheck: Duration,
}

impl RobotsCache {
    /// A cache matching rules against `user_agent`'s product token, sharing what it fetches
    /// through `store` when given, and asking an unreachable robots.txt again after
    /// `recheck`.
    pub(crate) fn new(
        user_agent: &str,
        fetcher: Fetcher,
        store: Option<Arc<dyn SharedRobots>>,
        recheck: Duration,
    ) -> RobotsCache {
        RobotsCache {
            agent: product_token(user_agent).to_owned(),
            fetcher,
            origins: Mutex::new(HashMap::new()),
            store,
            recheck,
        }
    }

    /// The rules for `url`'s origin, fetching its robots.txt on first use (for a page of
    /// `lineage`), and again once what was fetched no longer holds.
    pub(crate) async fn rules_for(&self, url: &Url, lineage: Lineage<'_>) -> Arc<Rules> {
        let origin = origin_text(url).into_owned();
        let cell = {
            // Held only to clone the cell out; never across an await.
            let mut origins = self.origins.lock().expect("robots cache lock poisoned");
            let cell = origins.entry(origin.clone()).or_default();
            let expired = cell
                .get()
                .and_then(|cached| cached.until)
                .is_some_and(|until| until <= Instant::now());
            if expired {
                *cell = Arc::default();
            }
            Arc::clone(cell)
        };
        let cached = cell
            .get_or_try_init(|| async {
                let verdict = self.verdict(&origin, lineage).await?;
                Ok::<_, FetchError>(Cached {
                    until: verdict
                        .holds_for(self.recheck)
                        .map(|holds| Instant::now() + holds),
                    rules: Arc::new(verdict.rules(&self.agent, &origin)),
                })
            })
            .await;
        match cached {
            Ok(cached) => Arc::clone(&cached.rules),
            Err(_) => Arc::new(Rules::AllowAll),
        }
    }

    /// The origin's verdict: a shared crawl's stored one, or fetched (and then stored).
    /// `Err` only when robots.txt's address may not be reached.
    async fn verdict(&self, origin: &str, lineage: Lineage<'_>) -> Result<Verdict, FetchError> {
        let stored = match &self.store {
            Some(store) => store.load(origin).await,
            None => None,
        };
        if let Some(verdict) = stored.as_deref().and_then(Verdict::decode) {
            return Ok(verdict);
        }
        let verdict = self.fetch(origin, lineage).await?;
        if let (Some(store), Some(encoded)) = (&self.store, verdict.encode()) {
            store.save(origin, &encoded).await;
        }
        Ok(verdict)
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
            Ok((status, body)) if (200..300).contains(&status) => Verdict::File {
                body,
                fetched: unix_now(),
            },
            Ok((status, _)) if status >= 500 => {
                tracing::warn!(url = %robots_url, status, "robots.txt unavailable; not crawling this host for now");
                Verdict::Unreachable
            }
            Ok(_) => Verdict::AllowAll,
            Err(FetchError::Timeout) => {
                tracing::warn!(url = %robots_url, "robots.txt timed out; not crawling this host for now");
                Verdict::Unreachable
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
        let fetched = unix_now() - 60;
        for verdict in [
            Verdict::AllowAll,
            Verdict::File {
                body: TWO_GROUPS.to_vec(),
                fetched,
            },
            Verdict::File {
                body: Vec::new(),
                fetched,
            },
        ] {
            let stored = verdict.encode().expect("stored");
            assert_eq!(Verdict::decode(&stored), Some(verdict));
        }
        assert_eq!(Verdict::decode(b"garbage"), None);
        assert_eq!(
            Verdict::decode(b"disallow"),
            None,
            "an older form is fetched again"
        );
        assert_eq!(Verdict::decode(b"file\nUser-agent: *\n"), None);
    }

    #[test]
    fn an_unreachable_robots_txt_is_temporary_and_never_stored() {
        let recheck = Duration::from_secs(30);
        assert_eq!(Verdict::Unreachable.encode(), None);
        assert_eq!(Verdict::Unreachable.holds_for(recheck), Some(recheck));
        assert_eq!(Verdict::AllowAll.holds_for(recheck), None);
    }

    #[test]
    fn a_fetched_file_is_kept_for_a_day_from_its_fetch() {
        let day = KEPT_FOR.as_secs();
        let file = |age: u64| Verdict::File {
            body: TWO_GROUPS.to_vec(),
            fetched: unix_now() - age,
        };
        let left = file(3600).holds_for(Duration::ZERO).unwrap();
        assert!(left <= Duration::from_secs(day - 3600) && left > Duration::from_secs(day - 3700));
        let stale = file(day + 1);
        assert_eq!(
            Verdict::decode(&stale.encode().unwrap()),
            None,
            "fetched again"
        );
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
