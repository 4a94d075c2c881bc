//! The CPU work for one fetched page: decode the body, find the links, and as each is found,
//! format its record and, in a recursive crawl, decide whether it is followed (after what the
//! page says about following its links). Pure and synchronous, so the page task runs it on a
//! parse thread, off the event loop, and no list of the page's links is kept.

use url::Url;

use crate::config::{Format, LinkAttributes, LinkOptions};
use crate::decode::decode_html;
use crate::extract::scan;
use crate::fetch::Page;
use crate::follow::{Followed, Follower};
use crate::fragment::Anchors;
use crate::graph::HostLinks;
use crate::nofollow::page_says_nofollow;
use crate::output::{PageMeta, PageRecords};

/// What a page's links are wanted for besides its records.
#[derive(Debug, Default)]
pub(crate) struct LinkUses {
    /// Following them (the page is above `--depth`), by these rules.
    pub(crate) follow: Option<Follower>,
    /// Counting them by host (`--graph`).
    pub(crate) graph: bool,
    /// Keeping them for `--check`: their records are formatted once their statuses are
    /// known, not here.
    pub(crate) check: bool,
}

/// What a page's links came to besides its records: empty where they were not wanted.
#[derive(Debug, Default)]
pub(crate) struct PageLinks {
    /// The links to follow and those refused.
    pub(crate) followed: Followed,
    /// The links by host.
    pub(crate) hosts: HostLinks,
    /// With `--check`, every link in order, whether all its elements say `rel="nofollow"`,
    /// and with `--links all` where it was found: their records are still to be formatted.
    pub(crate) to_check: Vec<(Url, bool, Option<&'static str>)>,
    /// With `--check-fragments`, what the page's fragments can point at.
    pub(crate) anchors: Option<Anchors>,
}

/// Decodes `page`, extracts its links and, as each is found, formats its record (or keeps
/// the link, to be checked first) and hands it to the `uses`.
pub(crate) fn parse_page(
    page: &Page,
    meta: PageMeta<'_>,
    options: &LinkOptions,
    format: Format,
    uses: LinkUses,
) -> (PageRecords, PageLinks) {
    let (html, encoding) = decode_html(&page.body, page.content_type.as_deref());
    let mut records = PageRecords::new(format, meta);
    let LinkUses {
        mut follow,
        graph,
        check,
    } = uses;
    let mut hosts = HostLinks::default();
    let mut to_check = Vec::new();
    let scanned = scan(&html, options);
    let with_via = options.attributes == LinkAttributes::All;
    if let Some(follow) = &mut follow {
        let nofollow = follow
            .robots_agent()
            .is_some_and(|agent| page_says_nofollow(agent, &page.robots_tags, scanned.metas()));
        if nofollow {
            follow.stop();
        }
    }
    scanned.for_each_link(&page.final_url, encoding, options, |link| {
        let via = with_via.then_some(link.via.name);
        if check {
            to_check.push((link.url.clone(), link.nofollow, via));
        } else {
            records.push(link.url.as_str(), link.nofollow, via, None);
        }
        if graph {
            hosts.add(&link.url);
        }
        // An embedded resource or a form's target is checked, not followed.
        if let (Some(follow), true) = (&mut follow, link.navigates) {
            follow.offer(link.url, link.fingerprint, link.nofollow);
        }
    });
    let anchors = options
        .anchors
        .then(|| Anchors::of(scanned.anchors(), page.truncated));
    let links = PageLinks {
        followed: follow.map(Follower::finish).unwrap_or_default(),
        hosts,
        to_check,
        anchors,
    };
    (records, links)
}
