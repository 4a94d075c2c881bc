//! Which hosts still answer, and what each answer says of its host's load.
//!
//! [`HostHealth`] counts, per host and port, the requests in a row that got no answer at all
//! (no connection, no name, no response in time: [`FetchError::is_silence`]). After
//! `--unreachable-after` of them the host is given up: its requests fail at once as
//! [`FetchError::Unreachable`] instead of costing a timeout each. One probe goes through now
//! and then (after [`FIRST_PROBE_AFTER`], twice as long after each probe that fails), and an
//! answer brings the host back. Any answer, even an HTTP error, means the host is there.
//!
//! [`Fetcher::heard`] is where every request's answer is told to the health and the
//! [`Pacer`](crate::politeness::Pacer): a 429 or 503, or a run of timeouts, asks the pacer
//! to give the host room; other answers let it ease back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use url::Url;

use crate::fetch::retry::retry_after;
use crate::fetch::{FetchError, Fetcher};

/// How long a host given up waits before one request is let through to see if it is back.
const FIRST_PROBE_AFTER: Duration = Duration::from_secs(30);

/// The longest wait between two probes of a host that stays silent.
const LONGEST_PROBE_WAIT: Duration = Duration::from_secs(600);

/// Timeouts in a row from a host that count as a plea for room.
const TIMEOUTS_THAT_SLOW: u32 = 2;

/// Silent requests in a row per host and port, and the hosts given up.
#[derive(Debug)]
pub(crate) struct HostHealth {
    /// Silent requests in a row that give a host up; 0: never.
    give_up_after: u32,
    /// Only hosts whose last request went unanswered.
    hosts: Mutex<HashMap<String, Silence>>,
}

#[derive(Debug, Default)]
struct Silence {
    /// Requests in a row that got no answer.
    run: u32,
    given_up: Option<GivenUp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GivenUp {
    /// When one request may go to see whether the host is back.
    probe_at: Instant,
    /// How long the last wait for a probe was.
    wait: Duration,
    /// A probe is in flight: other requests still fail at once.
    probing: bool,
}

impl HostHealth {
    /// Gives a host up after `give_up_after` silent requests in a row (0: never).
    pub(crate) fn new(give_up_after: u32) -> HostHealth {
        HostHealth {
            give_up_after,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a request to `authority` may go at `now`: not while its host is given up,
    /// except one probe when its time has come.
    fn admit(&self, authority: &str, now: Instant) -> Result<(), FetchError> {
        let mut hosts = self.lock();
        let Some(given_up) = hosts.get_mut(authority).and_then(|s| s.given_up.as_mut()) else {
            return Ok(());
        };
        if given_up.probing || now < given_up.probe_at {
            return Err(FetchError::Unreachable);
        }
        given_up.probing = true;
        tracing::debug!(host = authority, "probing a host given up");
        Ok(())
    }

    /// `authority` answered: it is there, whatever it said.
    fn answered(&self, authority: &str) {
        let mut hosts = self.lock();
        if let Some(silence) = hosts.remove(authority) {
            if silence.given_up.is_some() {
                tracing::info!(host = authority, "host answers again");
            }
        }
    }

    /// A request to `authority` got no answer at `now`. Returns how many in a row have not.
    fn silent(&self, authority: &str, now: Instant) -> u32 {
        let mut hosts = self.lock();
        let silence = hosts.entry(authority.to_owned()).or_default();
        silence.run += 1;
        if self.give_up_after == 0 || silence.run < self.give_up_after {
            return silence.run;
        }
        match &mut silence.given_up {
            None => {
                tracing::warn!(
                    host = authority,
                    requests = silence.run,
                    "host unreachable; its other pages fail at once"
                );
                silence.given_up = Some(GivenUp {
                    probe_at: now + FIRST_PROBE_AFTER,
                    wait: FIRST_PROBE_AFTER,
                    probing: false,
                });
            }
            Some(given_up) if given_up.probing => {
                given_up.wait = given_up.wait.saturating_mul(2).min(LONGEST_PROBE_WAIT);
                given_up.probe_at = now + given_up.wait;
                given_up.probing = false;
            }
            Some(_) => {}
        }
        silence.run
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Silence>> {
        // Held only for a map operation, never across an await.
        self.hosts.lock().unwrap_or_else(|err| err.into_inner())
    }
}

/// The key a host's health is kept under: its name and port, so a dead service does not
/// give up the live ones on the same machine.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

impl Fetcher {
    /// Whether a request to `url` may go: not to a host given up (see [`HostHealth`]). A
    /// request refused goes nowhere, so the pages behind it need not wait for its turn.
    pub(super) fn admit(&self, url: &Url) -> Result<(), FetchError> {
        let admitted = self.health.admit(&authority(url), Instant::now());
        if admitted.is_err() {
            self.pacer.unplanned(url.host_str().unwrap_or_default());
        }
        admitted
    }

    /// What came of a request to `url` sent at `sent`, told to the host's health and pacer.
    pub(super) fn heard(
        &self,
        url: &Url,
        sent: Instant,
        response: &Result<reqwest::Response, FetchError>,
    ) {
        let host = url.host_str().unwrap_or_default();
        self.pacer.answered(host);
        match response {
            Ok(response) => {
                self.health.answered(&authority(url));
                match response.status().as_u16() {
                    429 | 503 => {
                        self.pacer
                            .struggling(host, sent, retry_after(response.headers()));
                    }
                    code if code < 500 => self.pacer.answered_ok(host, sent),
                    _ => {}
                }
            }
            Err(err) if err.is_silence() => {
                let run = self.health.silent(&authority(url), Instant::now());
                if *err == FetchError::Timeout && run >= TIMEOUTS_THAT_SLOW {
                    self.pacer.struggling(host, sent, None);
                }
            }
            // Reset, TLS, broken HTTP: something is there.
            Err(_) => self.health.answered(&authority(url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_is_given_up_after_a_run_of_silence_and_an_answer_breaks_the_run() {
        let health = HostHealth::new(3);
        let now = Instant::now();
        assert_eq!(health.silent("a:80", now), 1);
        assert_eq!(health.silent("a:80", now), 2);
        health.answered("a:80");
        assert_eq!(
            health.silent("a:80", now),
            1,
            "an answer starts the run again"
        );
        assert_eq!(health.silent("a:80", now), 2);
        assert_eq!(health.admit("a:80", now), Ok(()));
        assert_eq!(health.silent("a:80", now), 3);
        assert_eq!(health.admit("a:80", now), Err(FetchError::Unreachable));
        assert_eq!(
            health.admit("a:81", now),
            Ok(()),
            "another port is another host"
        );
        assert_eq!(health.admit("b:80", now), Ok(()));
    }

    #[test]
    fn a_host_given_up_is_probed_once_later_and_an_answer_brings_it_back() {
        let health = HostHealth::new(1);
        let now = Instant::now();
        health.silent("a:80", now);
        let probe = now + FIRST_PROBE_AFTER;
        assert_eq!(
            health.admit("a:80", probe - Duration::from_millis(1)),
            Err(FetchError::Unreachable)
        );
        assert_eq!(health.admit("a:80", probe), Ok(()), "the probe");
        assert_eq!(
            health.admit("a:80", probe),
            Err(FetchError::Unreachable),
            "one at a time"
        );
        // The probe fails too: the next one waits twice as long.
        health.silent("a:80", probe);
        let next = probe + FIRST_PROBE_AFTER * 2;
        assert_eq!(
            health.admit("a:80", next - Duration::from_millis(1)),
            Err(FetchError::Unreachable)
        );
        assert_eq!(health.admit("a:80", next), Ok(()));
        health.answered("a:80");
        assert_eq!(health.admit("a:80", next), Ok(()));
        assert_eq!(health.admit("a:80", next), Ok(()), "back for good");
    }

    #[test]
    fn zero_never_gives_a_host_up() {
        let health = HostHealth::new(0);
        let now = Instant::now();
        for run in 1..=10 {
            assert_eq!(health.silent("a:80", now), run);
        }
        assert_eq!(health.admit("a:80", now), Ok(()));
    }

    #[test]
    fn the_key_is_the_host_and_its_port() {
        let key = |url: &str| authority(&Url::parse(url).unwrap());
        assert_eq!(key("http://a.test/x"), "a.test:80");
        assert_eq!(key("https://a.test/x"), "a.test:443");
        assert_eq!(key("http://127.0.0.1:8080/"), "127.0.0.1:8080");
    }
}
