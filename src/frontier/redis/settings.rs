//! A crawl's settings: what every worker that joins must bring, compared at join, and the
//! joining itself (the crawl made when new, with its epoch in every partition).

use futures_util::future::join_all;
use redis::Script;

use super::connection::{redis_error, settings_key, RedisConnection};
use super::jobs::SEEN_LAYOUT;
use super::partition::{crawl_prefix, Layout, NEW_CRAWL_PARTITIONS};
use super::FrontierError;
use crate::config::{Config, LinkAttributes};
use crate::scope::Scope;
use crate::seen::FINGERPRINT_SCHEME;

/// The settings a crawl is created with; every worker that joins must bring the same. Each
/// is written out explicitly, so the stored form does not move with a type's `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CrawlSettings(Vec<(&'static str, String)>);

impl CrawlSettings {
    /// What decides which pages a crawl fetches, what they yield, and how politely: a worker
    /// that differs in any of them would crawl another crawl.
    pub(crate) fn of(config: &Config) -> CrawlSettings {
        let crawl = &config.crawl;
        let patterns = |list: &[regex::Regex]| {
            list.iter()
                .map(regex::Regex::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let scope = match crawl.scope.scope {
            Scope::Host => "host",
            Scope::Domain => "domain",
            Scope::Any => "any",
        };
        let max_stalls = config.shared.as_ref().map_or(0, |shared| shared.max_stalls);
        CrawlSettings(vec![
            ("fingerprint", FINGERPRINT_SCHEME.to_owned()),
            ("seen-layout", SEEN_LAYOUT.to_owned()),
            ("depth", crawl.depth.to_string()),
            ("scope", scope.to_owned()),
            ("include", patterns(&crawl.scope.include)),
            ("exclude", patterns(&crawl.scope.exclude)),
            ("robots", crawl.robots.to_string()),
            ("per-host", config.per_host.to_string()),
            ("gap-ms", crawl.host_gap.as_millis().to_string()),
            ("user-agent", config.fetch.user_agent.clone()),
            ("max-body", config.fetch.max_body.to_string()),
            (
                "max-pages",
                crawl.max_pages.map_or("none".into(), |max| max.to_string()),
            ),
            ("max-stalls", max_stalls.to_string()),
            ("respect-nofollow", crawl.respect_nofollow.to_string()),
            // Workers with --check share the links' statuses; one without would leave pages
            // without them.
            ("check", config.check.to_string()),
            (
                "links",
                match config.links.attributes {
                    LinkAttributes::Href => "href",
                    LinkAttributes::All => "all",
                }
                .to_owned(),
            ),
            (
                "allow-private",
                config.fetch.addresses.allow_private.to_string(),
            ),
            (
                "deny-net",
                config
                    .fetch
                    .addresses
                    .deny
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ])
    }
}

/// The crawl `name` as this worker joined it: its epoch and layout.
pub(super) struct JoinedCrawl {
    pub(super) epoch: String,
    pub(super) layout: Layout,
}

/// Joins crawl `name` in the Redis at `url` (named in errors): creates it with `settings`
/// when it is new, or checks that they match the stored ones. A new crawl's epoch is written
/// into each of its partitions before the crawl counts as ready, by whoever finds it not
/// ready (its maker may have died halfway), so a partition whose epoch is missing later was
/// lost, not new.
pub(super) async fn join_crawl(
    redis: &mut RedisConnection,
    url: &str,
    name: &str,
    settings: &CrawlSettings,
) -> Result<JoinedCrawl, FrontierError> {
    let key = settings_key(&crawl_prefix(name));
    let script = Script::new(include_str!("settings.lua"));
    let mut check = script.prepare_invoke();
    check.key(&key).arg(new_epoch()).arg(NEW_CRAWL_PARTITIONS);
    for (field, value) in &settings.0 {
        check.arg(*field).arg(value);
    }
    let answer: Vec<String> = check
        .invoke_async(redis)
        .await
        .map_err(|err| redis_error(url, &err))?;
    let [epoch, partitions, ready, mismatches @ ..] = answer.as_slice() else {
        return Err(FrontierError(format!(
            "redis at {url}: unexpected answer {answer:?}"
        )));
    };
    if !mismatches.is_empty() {
        let stored: Vec<String> = mismatches
            .chunks(2)
            .map(|pair| {
                let ours = settings
                    .0
                    .iter()
                    .find(|(field, _)| *field == pair[0])
                    .map_or("", |(_, value)| value.as_str());
                format!("{} is {} there, {} here", pair[0], pair[1], ours)
            })
            .collect();
        return Err(FrontierError(format!(
            "crawl {name} exists with other settings: {}",
            stored.join("; ")
        )));
    }
    let partitions: u16 =
        partitions.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
            FrontierError(format!("crawl {name}: stored partitions {partitions:?}"))
        })?;
    let layout = Layout::new(name, partitions);
    if ready != "1" {
        let writes = layout.all().map(|n| {
            let mut redis = redis.clone();
            let key = layout.epoch_key(n);
            async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(epoch)
                    .arg("NX")
                    .query_async::<()>(&mut redis)
                    .await
            }
        });
        for written in join_all(writes).await {
            written.map_err(|err| redis_error(url, &err))?;
        }
        redis::cmd("HSET")
            .arg(&key)
            .arg("ready")
            .arg(1)
            .query_async::<()>(redis)
            .await
            .map_err(|err| redis_error(url, &err))?;
    }
    Ok(JoinedCrawl {
        epoch: epoch.clone(),
        layout,
    })
}

/// A new crawl's epoch: random, so a crawl forgotten and made anew is another crawl.
fn new_epoch() -> String {
    format!("{:016x}", fastrand::u64(..))
}
