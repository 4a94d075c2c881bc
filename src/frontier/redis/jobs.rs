//! Jobs as the scripts store them, and what the take script answers.

use std::time::Duration;

use url::Url;

use super::super::{Children, FrontierError, Job};
use crate::seen::UrlKey;

/// What the take script answered.
pub(super) struct Answer {
    pub(super) job: Option<(String, String)>,
    /// The crawl's page budget is spent: nothing more will be taken.
    pub(super) spent: bool,
    /// Nothing may start until a page ends somewhere (no politeness gap to wait for).
    pub(super) busy: bool,
    pub(super) wait: Duration,
    pub(super) queued: usize,
    pub(super) leased: usize,
}

impl Answer {
    pub(super) fn parse(values: &[redis::Value]) -> Result<Answer, FrontierError> {
        let text = |at: usize| -> Result<String, FrontierError> {
            values
                .get(at)
                .and_then(|value| redis::from_redis_value_ref::<String>(value).ok())
                .ok_or_else(|| FrontierError(format!("redis: unexpected answer {values:?}")))
        };
        let number = |at: usize| -> Result<i64, FrontierError> {
            values
                .get(at)
                .and_then(|value| redis::from_redis_value_ref::<i64>(value).ok())
                .ok_or_else(|| FrontierError(format!("redis: unexpected answer {values:?}")))
        };
        let count = |value: i64| usize::try_from(value).unwrap_or(0);
        match text(0)?.as_str() {
            "job" => Ok(Answer {
                job: Some((text(1)?, text(2)?)),
                spent: false,
                busy: false,
                wait: Duration::ZERO,
                queued: count(number(3)?),
                leased: count(number(4)?),
            }),
            kind => Ok(Answer {
                job: None,
                spent: kind == "spent",
                busy: kind == "busy",
                wait: Duration::from_millis(count(number(1)?) as u64),
                queued: count(number(2)?),
                leased: count(number(3)?),
            }),
        }
    }
}

/// A job to push, as the scripts take it: a seed's, or one of a page's children.
pub(super) struct NewJob<'a> {
    key: UrlKey,
    url: &'a Url,
    source: &'a str,
    depth: u32,
    origin: &'a str,
    seed_origin: &'a str,
}

impl<'a> NewJob<'a> {
    /// `job`, its URL's key computed here.
    pub(super) fn of(job: &'a Job) -> NewJob<'a> {
        NewJob {
            key: UrlKey::of(&job.url),
            url: &job.url,
            source: job.source(),
            depth: job.depth,
            origin: &job.origin,
            seed_origin: &job.seed_origin,
        }
    }

    /// Each of `children` that `wanted` keeps, with the key it came with.
    pub(super) fn children(
        children: &'a Children,
        wanted: impl Fn(&UrlKey) -> bool + 'a,
    ) -> impl Iterator<Item = NewJob<'a>> {
        let links = children.links.iter().filter(move |(_, key)| wanted(key));
        links.map(|(url, key)| NewJob {
            key: *key,
            url,
            source: url.as_str(),
            depth: children.depth,
            origin: &children.origin,
            seed_origin: &children.seed_origin,
        })
    }

    /// The key of the job's URL.
    pub(super) fn key(&self) -> UrlKey {
        self.key
    }

    fn host(&self) -> &'a str {
        self.url.host_str().unwrap_or_default()
    }
}

/// The script arguments for `jobs`: seen bucket, fingerprint, host and the job, each.
pub(super) fn job_args<'a>(jobs: impl Iterator<Item = NewJob<'a>>) -> Vec<Vec<u8>> {
    let mut args = Vec::with_capacity(jobs.size_hint().0 * 4);
    for job in jobs {
        let key = job.key.bits();
        let bucket = (key >> 112) as u16;
        let fingerprint = ((key >> 48) as u64).to_be_bytes();
        args.push(bucket.to_string().into_bytes());
        args.push(fingerprint.to_vec());
        args.push(job.host().as_bytes().to_vec());
        args.push(format_job(&job).into_bytes());
    }
    args
}

/// A job as stored: `HOST<TAB>DEPTH<TAB>ORIGIN<TAB>SEED_ORIGIN<TAB>SOURCE<TAB>URL` (no field
/// holds a tab). SOURCE is empty when it is the URL (a found link's), so the URL is stored
/// once.
fn format_job(job: &NewJob<'_>) -> String {
    let url = job.url.as_str();
    let source = if job.source == url { "" } else { job.source };
    format!(
        "{}\t{}\t{}\t{}\t{source}\t{url}",
        job.host(),
        job.depth,
        job.origin,
        job.seed_origin,
    )
}

pub(super) fn parse_job(text: &str) -> Result<Job, FrontierError> {
    let bad = || FrontierError(format!("redis: a stored job is malformed: {text:?}"));
    let mut fields = text.splitn(6, '\t');
    let (_host, depth, origin, seed_origin, source, url) = (
        fields.next().ok_or_else(bad)?,
        fields.next().ok_or_else(bad)?,
        fields.next().ok_or_else(bad)?,
        fields.next().ok_or_else(bad)?,
        fields.next().ok_or_else(bad)?,
        fields.next().ok_or_else(bad)?,
    );
    let url = Url::parse(url).map_err(|_| bad())?;
    Ok(Job {
        // A found link's SOURCE is its URL: no second copy.
        given: (!source.is_empty() && source != url.as_str()).then(|| source.to_owned()),
        url,
        depth: depth.parse().map_err(|_| bad())?,
        origin: origin.into(),
        seed_origin: seed_origin.into(),
        lease: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_through_their_stored_form() {
        let job = Job {
            given: Some("HTTP://Example.org/a/../b".into()),
            url: Url::parse("http://example.org/b?q=1").unwrap(),
            depth: 3,
            origin: "example.org".into(),
            seed_origin: "http://example.org".into(),
            lease: None,
        };
        assert_eq!(parse_job(&format_job(&NewJob::of(&job))).unwrap(), job);
        let children = Children {
            depth: 4,
            origin: "example.org".into(),
            seed_origin: "http://example.org".into(),
            links: vec![(job.url.clone(), UrlKey::of(&job.url))],
        };
        let child = NewJob::children(&children, |_| true).next().unwrap();
        let found = Job {
            given: None,
            depth: 4,
            ..job
        };
        assert_eq!(child.key, UrlKey::of(&found.url));
        assert_eq!(parse_job(&format_job(&child)).unwrap(), found);
        assert_eq!(
            format_job(&child),
            "example.org\t4\texample.org\thttp://example.org\t\thttp://example.org/b?q=1",
            "a found link's URL is stored once"
        );
        assert!(parse_job("host\tx\to\thttp://o\ts\thttp://a/").is_err());
        assert!(
            parse_job("host\t1\to\ts\thttp://a/").is_err(),
            "a field short"
        );
    }
}
