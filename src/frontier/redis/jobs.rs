//! Jobs as the scripts store them, and what the take script answers.

use std::time::Duration;

use super::super::{FrontierError, Job};
use crate::seen::UrlKey;

/// What the take script answered.
pub(super) struct Answer {
    pub(super) job: Option<(String, String)>,
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
                wait: Duration::ZERO,
                queued: count(number(3)?),
                leased: count(number(4)?),
            }),
            _ => Ok(Answer {
                job: None,
                wait: Duration::from_millis(count(number(1)?) as u64),
                queued: count(number(2)?),
                leased: count(number(3)?),
            }),
        }
    }
}

/// The script arguments for `jobs`, each given with its URL's key: seen bucket, fingerprint,
/// host and the job, each.
pub(super) fn job_args<'a>(jobs: impl ExactSizeIterator<Item = (&'a Job, UrlKey)>) -> Vec<Vec<u8>> {
    let mut args = Vec::with_capacity(jobs.len() * 4);
    for (job, key) in jobs {
        let key = key.bits();
        let bucket = (key >> 112) as u16;
        let fingerprint = ((key >> 48) as u64).to_be_bytes();
        args.push(bucket.to_string().into_bytes());
        args.push(fingerprint.to_vec());
        args.push(job.host().as_bytes().to_vec());
        args.push(format_job(job).into_bytes());
    }
    args
}

/// A job as stored: `HOST<TAB>DEPTH<TAB>ORIGIN<TAB>SOURCE<TAB>URL` (no field holds a tab).
fn format_job(job: &Job) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        job.host(),
        job.depth,
        job.origin,
        job.source(),
        job.url
    )
}

pub(super) fn parse_job(text: &str) -> Result<Job, FrontierError> {
    let bad = || FrontierError(format!("redis: a stored job is malformed: {text:?}"));
    let mut fields = text.splitn(5, '\t');
    let (_host, depth, origin, source, url) = (
        fields.next().ok_or_else(bad)?,
        fields.next().ok_or_else(bad)?,
        fields.next().ok_or_else(bad)?,
        fields.next().ok_or_else(bad)?,
        fields.next().ok_or_else(bad)?,
    );
    let url = url::Url::parse(url).map_err(|_| bad())?;
    Ok(Job {
        // A found link's SOURCE is its URL: no second copy.
        given: (source != url.as_str()).then(|| source.to_owned()),
        url,
        depth: depth.parse().map_err(|_| bad())?,
        origin: origin.into(),
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
            url: url::Url::parse("http://example.org/b?q=1").unwrap(),
            depth: 3,
            origin: "example.org".into(),
            lease: None,
        };
        assert_eq!(parse_job(&format_job(&job)).unwrap(), job);
        let found = Job { given: None, ..job };
        assert_eq!(parse_job(&format_job(&found)).unwrap(), found);
        assert!(parse_job("host\tx\to\ts\thttp://a/").is_err());
    }
}
