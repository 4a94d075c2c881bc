//! Which failures are worth another try, and how long to wait before it: exponential backoff
//! with jitter, or the server's `Retry-After` when it gives one, never longer than
//! `--max-retry-wait`. [`Fetcher::fetch_with_retries`] is the loop that follows the policy.

use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use url::Url;

use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::job::Lineage;

/// The first backoff; each retry doubles it.
const BASE_DELAY: Duration = Duration::from_millis(500);

/// A failed attempt: the error, and the server's `Retry-After` if it sent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// Why the attempt failed.
    pub(crate) error: FetchError,
    /// How long the server asked us to wait, if it did.
    pub(crate) retry_after: Option<Duration>,
}

impl From<FetchError> for Failure {
    fn from(error: FetchError) -> Failure {
        Failure {
            error,
            retry_after: None,
        }
    }
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt.
    pub(crate) retries: u32,
    /// Cap on one wait.
    pub(crate) max_wait: Duration,
}

impl RetryPolicy {
    /// The policy `--retries` and `--max-retry-wait` set.
    pub(crate) fn of(options: &crate::config::FetchOptions) -> RetryPolicy {
        RetryPolicy {
            retries: options.retries,
            max_wait: options.max_retry_wait,
        }
    }

    /// The wait before retry number `retry` (1 for the first retry) after `failure`, or `None`
    /// when the failure is final.
    pub(crate) fn delay(&self, retry: u32, failure: &Failure) -> Option<Duration> {
        if retry > self.retries || !is_retryable(&failure.error) {
            return None;
        }
        let wait = match failure.retry_after {
            Some(asked) => asked,
            None => jitter(backoff(retry)),
        };
        Some(wait.min(self.max_wait))
    }
}

impl Fetcher {
    /// One fetch, retried by `policy` while the failure is transient. Each attempt waits its
    /// turn at the host, like any request.
    pub(crate) async fn fetch_with_retries(
        &self,
        url: &Url,
        lineage: Lineage<'_>,
        policy: &RetryPolicy,
    ) -> Result<Fetched, FetchError> {
        retrying(policy, || self.fetch(url, lineage)).await
    }

    /// One link check ([`Fetcher::check`]), retried as a page's fetch is.
    pub(crate) async fn check_with_retries(
        &self,
        url: &Url,
        lineage: Lineage<'_>,
        policy: &RetryPolicy,
    ) -> Result<u16, FetchError> {
        retrying(policy, || self.check(url, lineage)).await
    }
}

/// Runs `attempt` until it succeeds or `policy` says its failure is final.
async fn retrying<T, F, A>(policy: &RetryPolicy, mut attempt: A) -> Result<T, FetchError>
where
    A: FnMut() -> F,
    F: Future<Output = Result<T, Failure>>,
{
    let mut retry = 0;
    loop {
        let failure = match attempt().await {
            Ok(done) => return Ok(done),
            Err(failure) => failure,
        };
        retry += 1;
        let Some(wait) = policy.delay(retry, &failure) else {
            return Err(failure.error);
        };
        tracing::debug!(
            error = %failure.error,
            retry,
            wait_ms = wait.as_millis() as u64,
            "retry scheduled"
        );
        tokio::time::sleep(wait).await;
    }
}

/// Transient failures: the same request may well succeed a moment later. Other 4xx and 5xx
/// answers, DNS, TLS and redirect failures will not change.
pub(crate) fn is_retryable(error: &FetchError) -> bool {
    match error {
        FetchError::Status(code) => matches!(code, 429 | 502 | 503 | 504),
        FetchError::Timeout | FetchError::Connect(_) | FetchError::Reset(_) => true,
        FetchError::Dns(_)
        | FetchError::Blocked(_)
        | FetchError::Tls(_)
        | FetchError::Redirects(_)
        | FetchError::Protocol(_)
        | FetchError::Unreachable => false,
    }
}

/// `BASE_DELAY` doubled for each retry after the first.
fn backoff(retry: u32) -> Duration {
    BASE_DELAY.saturating_mul(1 << retry.saturating_sub(1).min(16))
}

/// A uniform pick in `[delay/2, delay]`, so clients that failed together do not retry together.
fn jitter(delay: Duration) -> Duration {
    delay.mul_f64(0.5 + fastrand::f64() / 2.0)
}

/// The `Retry-After` header as a wait: delay-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(value, SystemTime::now())
}

fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        retries: 2,
        max_wait: Duration::from_secs(30),
    };

    fn failure(error: FetchError) -> Failure {
        Failure::from(error)
    }

    #[test]
    fn transient_failures_are_retried_up_to_the_limit() {
        for error in [
            FetchError::Status(429),
            FetchError::Status(503),
            FetchError::Timeout,
            FetchError::Connect("refused".into()),
            FetchError::Reset("reset".into()),
        ] {
            assert!(
                POLICY.delay(1, &failure(error.clone())).is_some(),
                "{error:?}"
            );
            assert!(
                POLICY.delay(2, &failure(error.clone())).is_some(),
                "{error:?}"
            );
            assert!(
                POLICY.delay(3, &failure(error.clone())).is_none(),
                "{error:?}"
            );
        }
    }

    #[test]
    fn permanent_failures_are_never_retried() {
        for error in [
            FetchError::Status(404),
            FetchError::Status(400),
            FetchError::Status(500),
            FetchError::Dns("x".into()),
            FetchError::Tls("x".into()),
            FetchError::Redirects("x".into()),
            FetchError::Protocol("x".into()),
            FetchError::Unreachable,
        ] {
            assert_eq!(POLICY.delay(1, &failure(error.clone())), None, "{error:?}");
        }
    }

    #[test]
    fn the_waits_are_half_a_second_doubling_each_drawn_between_half_and_all() {
        let patient = RetryPolicy {
            retries: 4,
            max_wait: Duration::from_secs(30),
        };
        // The schedule the README states: 0.5 s, 1 s, 2 s, 4 s.
        for (retry, full_ms) in [(1, 500), (2, 1000), (3, 2000), (4, 4000)] {
            let full = Duration::from_millis(full_ms);
            let waits: Vec<Duration> = (0..200)
                .map(|_| patient.delay(retry, &failure(FetchError::Timeout)).unwrap())
                .collect();
            for wait in &waits {
                assert!(
                    *wait >= full / 2 && *wait <= full,
                    "retry {retry}: {wait:?} outside [{:?}, {full:?}]",
                    full / 2
                );
            }
            let (low, high) = (waits.iter().min().unwrap(), waits.iter().max().unwrap());
            assert!(
                *high - *low > full / 4,
                "retry {retry}: jitter spreads the waits, saw {low:?}..{high:?}"
            );
        }
        let capped = RetryPolicy {
            max_wait: Duration::from_millis(700),
            ..patient
        };
        for _ in 0..50 {
            assert!(capped.delay(4, &failure(FetchError::Timeout)).unwrap() <= capped.max_wait);
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let asked = Failure {
            error: FetchError::Status(429),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(POLICY.delay(1, &asked), Some(Duration::from_secs(7)));
        let greedy = Failure {
            retry_after: Some(Duration::from_secs(3600)),
            ..asked
        };
        assert_eq!(POLICY.delay(1, &greedy), Some(Duration::from_secs(30)));
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
