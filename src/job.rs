//! The crawl's core data: a page to fetch ([`Job`]) and the links a page's crawl follows
//! ([`Children`]), as the scheduler, the page task, the frontier and `--resume` pass them on.

use std::borrow::Cow;
use std::sync::Arc;

use url::Url;

use crate::seen::UrlKey;

/// One page to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
    /// The SOURCE as given where the URL came in: the input line as written, a sitemap's
    /// `<loc>`. `None` for a link found on a page, whose SOURCE is its URL as first
    /// discovered (see [`Job::source`]), so the job holds no second copy of it.
    pub(crate) given: Option<String>,
    /// The URL to GET.
    pub(crate) url: Url,
    /// 0 for input URLs, k + 1 for links found on a page at depth k.
    pub(crate) depth: u32,
    /// The scope key of the seed this job descends from (its host or registrable domain).
    pub(crate) origin: Arc<str>,
    /// The origin (`scheme://host[:port]`) of the seed this job descends from: where the `-H`
    /// headers go, and whose address decides which addresses the job may reach.
    pub(crate) seed_origin: Arc<str>,
    /// A shared frontier's lease on the job, once handed out: the job is someone's until the
    /// lease is released or expires.
    pub(crate) lease: Option<Arc<str>>,
}

/// The origin of `url` as [`url::Origin::ascii_serialization`] writes it
/// (`scheme://host[:port]`), sliced from the URL's own text when that starts the same (a
/// special scheme with a host, no user info), so that no text is formatted.
pub(crate) fn origin_text(url: &Url) -> Cow<'_, str> {
    let tuple = matches!(url.scheme(), "http" | "https" | "ws" | "wss" | "ftp");
    if tuple && url.has_host() && url.username().is_empty() && url.password().is_none() {
        Cow::Borrowed(&url[..url::Position::BeforePath])
    } else {
        Cow::Owned(url.origin().ascii_serialization())
    }
}

impl Job {
    /// What the output's SOURCE column says for this page.
    pub(crate) fn source(&self) -> &str {
        self.given.as_deref().unwrap_or(self.url.as_str())
    }

    /// The seed this job descends from, as its requests carry it.
    pub(crate) fn lineage(&self) -> Lineage<'_> {
        Lineage {
            seed_origin: &self.seed_origin,
            input: self.depth == 0,
        }
    }

    /// The host key politeness is counted by.
    pub(crate) fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }
}

/// The links a page's crawl follows, ready for the frontier: each link's URL with its key,
/// computed where the link was parsed, and what their jobs share. The frontier checks each key
/// against the seen set, without hashing the URL again, and makes a job only of a link it had
/// not seen.
#[derive(Debug, Default)]
pub(crate) struct Children {
    /// The depth of their jobs: one below the page's.
    pub(crate) depth: u32,
    /// The scope key of the seed the page descends from.
    pub(crate) origin: Arc<str>,
    /// The origin of the seed the page descends from.
    pub(crate) seed_origin: Arc<str>,
    /// Each link's URL, without its fragment, and [`UrlKey::of`] it, in the order found.
    pub(crate) links: Vec<(Url, UrlKey)>,
}

impl Children {
    /// The job for `url`, one of the links: its SOURCE is the URL itself.
    pub(crate) fn job(&self, url: Url) -> Job {
        Job {
            given: None,
            url,
            depth: self.depth,
            origin: Arc::clone(&self.origin),
            seed_origin: Arc::clone(&self.seed_origin),
            lease: None,
        }
    }
}

/// The input URL a request descends from: it decides whether the `-H` headers go with the
/// request and which addresses the request may connect to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lineage<'a> {
    /// The origin of the input URL (`scheme://host[:port]`).
    pub(crate) seed_origin: &'a str,
    /// The request is for the input URL itself, not for something found below it.
    pub(crate) input: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_sliced_from_its_url_is_the_origin_serialized() {
        let urls = [
            "http://example.com/a?b#c",
            "https://example.com:443/",
            "https://example.com:8443/x",
            "http://127.0.0.1:18080/std/index.html",
            "http://[::1]:8080/",
            "http://bücher.example/",
            "http://user:pw@example.com/",
            "http://user@example.com:81/",
            "ftp://example.com/file",
            "file:///etc/hosts",
            "mailto:a@example.com",
        ];
        for text in urls {
            let url = Url::parse(text).unwrap();
            assert_eq!(
                origin_text(&url),
                url.origin().ascii_serialization(),
                "{text}"
            );
        }
    }
}
