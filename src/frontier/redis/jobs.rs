//! Jobs as the scripts store them, and what the take script answers.

use std::time::Duration;

use url::Url;

use super::super::{Children, FrontierError, Job};
use crate::job::origin_text;
use crate::seen::UrlKey;

/// What a partition's take script answered.
pub(super) struct Taken {
    /// The jobs taken with a host slot each: each one's lease id in the partition, and the
    /// job as leased (`HOST<TAB>JOB`).
    pub(super) jobs: Vec<(String, String)>,
    /// The jobs taken ahead, without a slot (see common.lua's `ahead_key`), as `jobs`.
    pub(super) ahead: Vec<(String, String)>,
    /// The partition has nothing queued and nothing leased.
    pub(super) empty: bool,
    /// Nothing of the partition may start until a page of it ends (no politeness gap to
    /// wait for).
    pub(super) busy: bool,
    pub(super) wait: Duration,
    /// Jobs queued in the partition.
    pub(super) queued: usize,
    /// The partition's version (see common.lua).
    pub(super) version: u64,
    /// Jobs of workers taken for dead that this call put back in the queue.
    pub(super) requeued: u64,
}

impl Taken {
    /// `{'jobs', queued, leased, version, requeued, jobs with a slot, (lease id, job)…}` (those
    /// with a slot first) or `{kind, ms, queued, leased, version, requeued}` (see common.lua's
    /// `take`); the leases held are not kept.
    pub(super) fn parse(values: &[redis::Value]) -> Result<Taken, FrontierError> {
        let unexpected = || FrontierError(format!("redis: unexpected answer {values:?}"));
        let text = |at: usize| -> Result<String, FrontierError> {
            values
                .get(at)
                .and_then(|value| redis::from_redis_value_ref::<String>(value).ok())
                .ok_or_else(unexpected)
        };
        let number = |at: usize| -> Result<u64, FrontierError> {
            values
                .get(at)
                .and_then(|value| redis::from_redis_value_ref::<i64>(value).ok())
                .map(|value| u64::try_from(value).unwrap_or(0))
                .ok_or_else(unexpected)
        };
        let kind = text(0)?;
        let taken = kind == "jobs";
        // Jobs have no wait before their counts: {'jobs', queued, …} against {kind, ms, …}.
        let counts = if taken { 1 } else { 2 };
        let mut jobs = Vec::new();
        let mut ahead = Vec::new();
        if taken {
            let first = counts + 5;
            if values.len() <= first || !(values.len() - first).is_multiple_of(2) {
                return Err(unexpected());
            }
            let slotted = number(counts + 4)? as usize;
            for (i, at) in (first..values.len()).step_by(2).enumerate() {
                let job = (text(at)?, text(at + 1)?);
                match i < slotted {
                    true => jobs.push(job),
                    false => ahead.push(job),
                }
            }
        }
        Ok(Taken {
            jobs,
            ahead,
            empty: kind == "empty",
            busy: kind == "busy",
            wait: match taken {
                true => Duration::ZERO,
                false => Duration::from_millis(number(1)?),
            },
            queued: number(counts)? as usize,
            version: number(counts + 2)?,
            requeued: number(counts + 3)?,
        })
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
        wanted: impl Fn(&UrlKey) -> bool,
    ) -> Vec<NewJob<'a>> {
        let links = children.links.iter().filter(|(_, key)| wanted(key));
        links
            .map(|(url, key)| NewJob {
                key: *key,
                url,
                source: url.as_str(),
                depth: children.depth,
                origin: &children.origin,
                seed_origin: &children.seed_origin,
            })
            .collect()
    }

    /// The key of the job's URL.
    pub(super) fn key(&self) -> UrlKey {
        self.key
    }

    /// The host of the job's URL.
    pub(super) fn host(&self) -> &'a str {
        self.url.host_str().unwrap_or_default()
    }
}

/// The script arguments for `jobs`: bucket seed, fingerprint, host and the job, each.
pub(super) fn job_args<'a>(jobs: impl Iterator<Item = NewJob<'a>>) -> Vec<Vec<u8>> {
    let mut args = Vec::with_capacity(jobs.size_hint().0 * 4);
    for job in jobs {
        let (seed, fingerprint) = seen_fields(job.key);
        args.push(binary_digits(seed).to_vec());
        args.push(fingerprint.to_vec());
        args.push(job.host().as_bytes().to_vec());
        args.push(format_job(&job).into_bytes());
    }
    args
}

/// How the seen set holds a URL key (see common.lua): a 32-bit seed its bucket comes from,
/// and the 10 bytes stored in the bucket, which start with the seed (a bucket is split by
/// it). With the host's partition they keep 80 bits of the key.
fn seen_fields(key: UrlKey) -> (u32, [u8; 10]) {
    let bits = key.bits();
    let kept = (bits >> 48).to_be_bytes();
    let mut field = [0; 10];
    field.copy_from_slice(&kept[6..]);
    ((bits >> 96) as u32, field)
}

/// How the seen set names its buckets, stored with a crawl: a worker that named them
/// otherwise would not find the crawl's seen URLs.
pub(super) const SEEN_LAYOUT: &str = "linear hashing, 80 bits";

/// A bucket seed as the seen set takes it: 32 binary digits, most significant first, so a
/// bucket's name is the seed's last digits.
fn binary_digits(seed: u32) -> [u8; 32] {
    let mut digits = [b'0'; 32];
    for (place, digit) in digits.iter_mut().rev().enumerate() {
        *digit = b'0' + ((seed >> place) & 1) as u8;
    }
    digits
}

/// The stored ORIGIN of a job whose scope key is empty (`--scope any`): `/` is in no host.
const NO_ORIGIN: &str = "/";

/// A job as queued: `DEPTH<TAB>ORIGIN<TAB>SEED_ORIGIN<TAB>SOURCE<TAB>URL` (no field holds a
/// tab), in its host's queue, so the host is not stored again. What the URL already says is
/// left empty: ORIGIN when it is the URL's host (`/` when it is empty), SEED_ORIGIN when it is the URL's origin, and
/// SOURCE when it is the URL (a found link's). A job of a one-site crawl costs its URL and a
/// few bytes.
fn format_job(job: &NewJob<'_>) -> String {
    let url = job.url.as_str();
    let source = if job.source == url { "" } else { job.source };
    let origin = match job.origin {
        same if same == job.host() => "",
        "" => NO_ORIGIN,
        other => other,
    };
    let seed_origin = if *job.seed_origin == *origin_text(job.url) {
        ""
    } else {
        job.seed_origin
    };
    format!("{}\t{origin}\t{seed_origin}\t{source}\t{url}", job.depth)
}

/// The job a take leased, as stored with its host: `HOST<TAB>JOB` (see [`format_job`]).
pub(super) fn parse_job(leased: &str) -> Result<Job, FrontierError> {
    let bad = || FrontierError(format!("redis: a stored job is malformed: {leased:?}"));
    let mut fields = leased.splitn(6, '\t');
    let mut next = || fields.next().ok_or_else(bad);
    let (host, depth, origin, seed_origin, source, url) =
        (next()?, next()?, next()?, next()?, next()?, next()?);
    let url = Url::parse(url).map_err(|_| bad())?;
    if url.host_str().unwrap_or_default() != host {
        return Err(bad());
    }
    let origin = match origin {
        "" => host,
        NO_ORIGIN => "",
        other => other,
    };
    let seed_origin = match seed_origin {
        "" => origin_text(&url).into_owned(),
        given => given.to_owned(),
    };
    Ok(Job {
        // A found link's SOURCE is its URL: no second copy.
        given: (!source.is_empty() && source != url.as_str()).then(|| source.to_owned()),
        depth: depth.parse().map_err(|_| bad())?,
        origin: origin.into(),
        seed_origin: seed_origin.into(),
        url,
        lease: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job as a take leases it: with its host in front.
    fn leased(job: &NewJob<'_>) -> String {
        format!("{}\t{}", job.host(), format_job(job))
    }

    #[test]
    fn a_take_answer_lists_the_jobs_with_a_slot_before_those_taken_ahead() {
        let text = |s: &str| redis::Value::BulkString(s.as_bytes().to_vec());
        let answer = [
            text("jobs"),
            redis::Value::Int(5),
            redis::Value::Int(3),
            redis::Value::Int(9),
            redis::Value::Int(0),
            redis::Value::Int(1),
            text("w:1"),
            text("a\tslotted"),
            text("w:2"),
            text("a\tahead"),
        ];
        let taken = Taken::parse(&answer).unwrap();
        assert_eq!(taken.jobs, vec![("w:1".into(), "a\tslotted".into())]);
        assert_eq!(taken.ahead, vec![("w:2".into(), "a\tahead".into())]);
        assert_eq!((taken.queued, taken.version, taken.requeued), (5, 9, 0));

        let mut wait = vec![text("wait")];
        wait.extend([4, 7, 2, 11, 1].map(redis::Value::Int));
        let taken = Taken::parse(&wait).unwrap();
        assert!(taken.jobs.is_empty() && taken.ahead.is_empty());
        assert_eq!(taken.wait, Duration::from_millis(4));
        assert_eq!((taken.queued, taken.version, taken.requeued), (7, 11, 1));
    }

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
        assert_eq!(parse_job(&leased(&NewJob::of(&job))).unwrap(), job);
        let children = Children {
            depth: 4,
            origin: "example.org".into(),
            seed_origin: "http://example.org".into(),
            links: vec![(job.url.clone(), UrlKey::of(&job.url))],
        };
        let child = NewJob::children(&children, |_| true).remove(0);
        let found = Job {
            given: None,
            depth: 4,
            ..job.clone()
        };
        assert_eq!(child.key, UrlKey::of(&found.url));
        assert_eq!(parse_job(&leased(&child)).unwrap(), found);
        assert_eq!(
            format_job(&child),
            "4\t\t\t\thttp://example.org/b?q=1",
            "what the URL says is not stored again"
        );
        for (origin, seed_origin) in [
            ("", "http://seed.example:8080"),
            ("example.com", "https://x"),
        ] {
            let other = Job {
                origin: origin.into(),
                seed_origin: seed_origin.into(),
                ..job.clone()
            };
            assert_eq!(parse_job(&leased(&NewJob::of(&other))).unwrap(), other);
        }
        assert!(parse_job("example.org\tx\t\t\t\thttp://example.org/").is_err());
        assert!(
            parse_job("example.org\t1\t\t\thttp://example.org/").is_err(),
            "a field short"
        );
        assert!(
            parse_job("other.org\t1\t\t\t\thttp://example.org/").is_err(),
            "a job in another host's queue"
        );
    }

    #[test]
    fn a_seed_in_binary_ends_with_its_bucket_at_every_width() {
        assert_eq!(&binary_digits(0), &[b'0'; 32]);
        assert_eq!(&binary_digits(u32::MAX), &[b'1'; 32]);
        assert!(binary_digits(0b1101).ends_with(b"01101"));
        let seed = 0x9e37_79b9;
        let digits = binary_digits(seed);
        for width in 4..32 {
            let tail = std::str::from_utf8(&digits[32 - width..]).unwrap();
            let bucket = u64::from_str_radix(tail, 2).unwrap();
            assert_eq!(bucket, u64::from(seed) % (1 << width), "width {width}");
        }
    }

    #[test]
    fn the_seen_set_keeps_80_bits_of_a_key_led_by_the_bucket_seed() {
        let key = UrlKey::of(&Url::parse("http://example.org/").unwrap());
        let (seed, field) = seen_fields(key);
        let bits = key.bits();
        assert_eq!(u128::from(seed), bits >> 96);
        assert_eq!(field[..4], seed.to_be_bytes());
        let mut kept = [0; 16];
        kept[6..].copy_from_slice(&field);
        assert_eq!(u128::from_be_bytes(kept), bits >> 48);
    }
}
