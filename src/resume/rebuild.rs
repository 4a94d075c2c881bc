//! Resuming a recursive crawl: its frontier rebuilt from what the interrupted run left.
//!
//! The output holds every link each complete page found, and `FILE.done` says which pages
//! are complete. Walking breadth-first from the seeds through the complete pages, with the
//! run's depth limit and the crawl's own decision of which links are followed
//! ([`FollowRules::follows`]), gives back every URL the crawl had seen: the complete pages are
//! remembered as seen, the others are queued again at the depth they were found at.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use url::Url;

use super::Completed;
use crate::config::Format;
use crate::error::FatalError;
use crate::follow::FollowRules;
use crate::job::Job;
#[cfg(test)]
use crate::output::links_by_source;
use crate::output::navigable_links_by_source;
use crate::seen::SeenSet;

/// What the interrupted crawl had seen: pages it completed, and jobs it had yet to finish.
#[derive(Debug, Default)]
pub(crate) struct Rebuilt {
    /// URLs of the pages already complete, not to be fetched again.
    pub(crate) done: Vec<Url>,
    /// Jobs found but not complete, in breadth-first order.
    pub(crate) queued: Vec<Job>,
}

/// The crawl limits the walk follows, as the scheduler does.
#[derive(Debug)]
pub(crate) struct Walk<'a> {
    /// Depth below the seeds.
    pub(crate) max_depth: u32,
    /// Which links are followed.
    pub(crate) follow: &'a FollowRules,
    /// The output's record format.
    pub(crate) format: Format,
}

/// Rebuilds the frontier of the crawl that wrote `output` (up to `completed.end_offset`)
/// from `seeds` (SOURCE as written, URL). Seeds themselves are left to the input reader.
pub(crate) async fn rebuild(
    output: &Path,
    completed: &Completed,
    seeds: Vec<(String, Url)>,
    walk: &Walk<'_>,
) -> Result<Rebuilt, FatalError> {
    let bytes = tokio::fs::read(output)
        .await
        .map_err(|source| FatalError::ResumeRead {
            path: output.to_owned(),
            source,
        })?;
    let end = usize::try_from(completed.end_offset).map_or(bytes.len(), |end| end.min(bytes.len()));
    let links = navigable_links_by_source(&bytes[..end], walk.format);
    Ok(walk_from(seeds, &links, completed, walk))
}

/// The breadth-first walk through the complete pages.
fn walk_from(
    seeds: Vec<(String, Url)>,
    links: &HashMap<String, Vec<String>>,
    completed: &Completed,
    walk: &Walk<'_>,
) -> Rebuilt {
    let mut rebuilt = Rebuilt::default();
    let mut seen = SeenSet::default();
    let mut frontier: VecDeque<Job> = VecDeque::new();
    for (source, url) in seeds {
        if completed.contains(&source) && seen.insert(&url) {
            frontier.push_back(Job {
                origin: walk.follow.scope.origin_of(&url),
                seed_origin: url.origin().ascii_serialization().into(),
                given: Some(source),
                url,
                depth: 0,
                lease: None,
            });
        }
    }
    walk_through(
        &mut frontier,
        &mut rebuilt,
        &mut seen,
        links,
        completed,
        walk,
    );
    // Complete pages the walk did not reach: with `--check`, a page may be written before
    // the page that found it (which waited for its fetch, and was stopped). Each is below
    // the least deep page still queued, so it is walked from one level under it: none of
    // the links it found is lost (a few below the last depth may be followed).
    let depth = rebuilt
        .queued
        .iter()
        .map(|job| job.depth + 1)
        .min()
        .unwrap_or(1);
    let mut orphans: Vec<&String> = links
        .keys()
        .filter(|source| completed.contains(source))
        .collect();
    orphans.sort_unstable();
    for source in orphans {
        let Ok(url) = Url::parse(source) else {
            continue;
        };
        if seen.insert(&url) {
            frontier.push_back(Job {
                given: None,
                origin: walk.follow.scope.origin_of(&url),
                seed_origin: url.origin().ascii_serialization().into(),
                url,
                depth,
                lease: None,
            });
        }
    }
    walk_through(
        &mut frontier,
        &mut rebuilt,
        &mut seen,
        links,
        completed,
        walk,
    );
    rebuilt
}

/// Walks breadth-first from the pages in `frontier` through the complete pages.
fn walk_through(
    frontier: &mut VecDeque<Job>,
    rebuilt: &mut Rebuilt,
    seen: &mut SeenSet,
    links: &HashMap<String, Vec<String>>,
    completed: &Completed,
    walk: &Walk<'_>,
) {
    while let Some(page) = frontier.pop_front() {
        if !completed.contains(page.source()) {
            rebuilt.queued.push(page);
            continue;
        }
        if page.depth >= walk.max_depth {
            rebuilt.done.push(page.url);
            continue;
        }
        for link in links.get(page.source()).into_iter().flatten() {
            let Ok(mut url) = Url::parse(link) else {
                continue;
            };
            url.set_fragment(None);
            if walk.follow.follows(&url, &page.origin) && seen.insert(&url) {
                frontier.push_back(Job {
                    given: None,
                    url,
                    depth: page.depth + 1,
                    origin: Arc::clone(&page.origin),
                    seed_origin: Arc::clone(&page.seed_origin),
                    lease: None,
                });
            }
        }
        rebuilt.done.push(page.url);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn complete_pages_are_seen_and_the_links_they_found_are_queued_breadth_first() {
        // / found /a and /b; /a found /c and an off-host link; /b is not complete.
        let output = b"source_url\tparsed_url\n\
            HTTP://h/\thttp://h/a#top\nHTTP://h/\thttp://h/b\n\
            http://h/a\thttp://h/c\nhttp://h/a\thttp://other/x\nhttp://h/a\thttp://h/\n";
        let completed =
            Completed::from_done(&format!("{0}\tHTTP://h/\n{0}\thttp://h/a\n", output.len()));
        let links = links_by_source(output, Format::Tsv);
        let follow = FollowRules::default();
        let walk = Walk {
            max_depth: 3,
            follow: &follow,
            format: Format::Tsv,
        };
        let rebuilt = walk_from(
            vec![("HTTP://h/".into(), url("http://h/"))],
            &links,
            &completed,
            &walk,
        );
        assert_eq!(rebuilt.done, [url("http://h/"), url("http://h/a")]);
        let queued: Vec<(String, u32)> = rebuilt
            .queued
            .iter()
            .map(|job| (job.source().to_owned(), job.depth))
            .collect();
        assert_eq!(
            queued,
            [("http://h/b".to_string(), 1), ("http://h/c".to_string(), 2)]
        );
    }

    #[test]
    fn a_complete_page_found_by_a_page_not_complete_is_done_and_walked() {
        // / found /a (not complete); /a found /b, complete before it, which found /c.
        let output = b"http://h/\thttp://h/a\nhttp://h/b\thttp://h/c\n";
        let completed =
            Completed::from_done(&format!("21\thttp://h/\n{}\thttp://h/b\n", output.len()));
        let follow = FollowRules::default();
        let walk = Walk {
            max_depth: 3,
            follow: &follow,
            format: Format::Tsv,
        };
        let links = links_by_source(output, Format::Tsv);
        let rebuilt = walk_from(
            vec![("http://h/".into(), url("http://h/"))],
            &links,
            &completed,
            &walk,
        );
        assert_eq!(rebuilt.done, [url("http://h/"), url("http://h/b")]);
        let queued: Vec<(String, u32)> = rebuilt
            .queued
            .iter()
            .map(|job| (job.source().to_owned(), job.depth))
            .collect();
        assert_eq!(
            queued,
            [("http://h/a".to_string(), 1), ("http://h/c".to_string(), 3)]
        );
    }

    #[test]
    fn links_of_pages_at_the_last_depth_are_not_followed() {
        let output = b"http://h/\thttp://h/a\n";
        let completed = Completed::from_done(&format!("{}\thttp://h/\n", output.len()));
        let follow = FollowRules::default();
        let walk = Walk {
            max_depth: 0,
            follow: &follow,
            format: Format::Tsv,
        };
        let links = links_by_source(output, Format::Tsv);
        let rebuilt = walk_from(
            vec![("http://h/".into(), url("http://h/"))],
            &links,
            &completed,
            &walk,
        );
        assert_eq!(rebuilt.done, [url("http://h/")]);
        assert!(rebuilt.queued.is_empty());
    }
}
