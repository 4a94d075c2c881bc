//! Links' statuses shared by the workers of a crawl (`--check`): [`RedisChecks`], kept in each
//! link's host's partition (`checked`: fingerprint → status, or a worker's claim while it
//! checks the link; see claim.lua and publish.lua).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::calls::{Call, Caller, Which};
use super::RedisFrontier;
use crate::seen::UrlKey;
use crate::shared::{BoxFuture, SharedChecks, SharedStatus};

/// The statuses of a crawl's links, through the crawl's Redis. A claim lives one `--lease`
/// and is renewed every third of it while this worker holds it unpublished, so a worker that
/// dies holds up the others' wait for at most one `--lease`.
pub(crate) struct RedisChecks {
    inner: Arc<Inner>,
    /// Renews the claims held.
    renewal: JoinHandle<()>,
}

struct Inner {
    caller: Caller,
    /// How long a claim lives unless renewed: the crawl's `--lease`.
    lifetime: Duration,
    /// The claims this worker holds and has not published yet, each with its partition.
    claims: Mutex<HashMap<UrlKey, u16>>,
}

impl RedisChecks {
    /// The statuses of the crawl `frontier` belongs to, asked as its worker. Starts the
    /// renewal of this worker's claims (stopped when dropped).
    pub(crate) fn of(frontier: &RedisFrontier) -> RedisChecks {
        let caller = &frontier.caller;
        let inner = Arc::new(Inner {
            caller: Caller::new(
                caller.redis.clone(),
                Arc::clone(&caller.layout),
                caller.worker.clone(),
                caller.epoch.clone(),
                caller.patience,
            ),
            lifetime: frontier.lease,
            claims: Mutex::new(HashMap::new()),
        });
        let renewal = tokio::spawn(Arc::clone(&inner).renew_claims());
        RedisChecks { inner, renewal }
    }
}

impl Drop for RedisChecks {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

impl Inner {
    /// Every third of a claim's lifetime, asks again about the links this worker holds
    /// unpublished claims on, in one round trip: asking renews them. A claim lost meanwhile
    /// (its status published by a page's fetch, or it lapsed and another worker took it) is
    /// no longer renewed. Runs until the checker is dropped.
    async fn renew_claims(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.lifetime / 3).await;
            let held: Vec<(UrlKey, u16)> = lock(&self.claims)
                .iter()
                .map(|(key, n)| (*key, *n))
                .collect();
            if held.is_empty() {
                continue;
            }
            match self.claim(&held).await {
                Ok(answers) => {
                    let mut claims = lock(&self.claims);
                    for ((key, _), answer) in held.iter().zip(answers) {
                        if answer != SharedStatus::Mine {
                            claims.remove(key);
                        }
                    }
                }
                Err(err) => tracing::debug!(error = %err, "link claims not renewed in redis"),
            }
        }
    }

    /// Runs claim.lua on `links` (key, partition), one call per partition, all in one round
    /// trip; the answers in order.
    async fn claim(&self, links: &[(UrlKey, u16)]) -> Result<Vec<SharedStatus>, String> {
        let mut by_partition: HashMap<u16, Vec<usize>> = HashMap::new();
        for (i, (_, n)) in links.iter().enumerate() {
            by_partition.entry(*n).or_default().push(i);
        }
        let mut order = Vec::with_capacity(by_partition.len());
        let mut calls = Vec::with_capacity(by_partition.len());
        for (n, indices) in by_partition {
            let mut args = vec![self.lifetime.as_millis().to_string().into_bytes()];
            args.extend(indices.iter().map(|&i| fingerprint(links[i].0)));
            calls.push(Call::partition(Which::Claim, n, args));
            order.push(indices);
        }
        let values = self
            .caller
            .run_repeatable(calls)
            .await
            .map_err(|err| err.0)?;
        let mut answers = vec![SharedStatus::Mine; links.len()];
        for (indices, value) in order.into_iter().zip(values) {
            let items: Vec<redis::Value> =
                redis::from_redis_value(value).map_err(|err| format!("redis: {err}"))?;
            if items.len() != indices.len() {
                return Err(format!(
                    "redis: {} answers to {} links",
                    items.len(),
                    indices.len()
                ));
            }
            for (i, item) in indices.into_iter().zip(items) {
                answers[i] = parse_answer(item)?;
            }
        }
        Ok(answers)
    }
}

/// A link's fingerprint as the `checked` hash keys it: its 16 bytes.
fn fingerprint(key: UrlKey) -> Vec<u8> {
    key.bits().to_be_bytes().to_vec()
}

/// One link's answer from claim.lua.
fn parse_answer(item: redis::Value) -> Result<SharedStatus, String> {
    match item {
        redis::Value::Int(ms) => Ok(SharedStatus::Theirs(
            Duration::from_millis(ms.max(0) as u64),
        )),
        redis::Value::BulkString(bytes) => match bytes.strip_prefix(b"s") {
            Some(status) => Ok(SharedStatus::Known(
                String::from_utf8_lossy(status).into_owned(),
            )),
            None if bytes == b"mine" => Ok(SharedStatus::Mine),
            None => Err(format!(
                "redis: unexpected link answer {:?}",
                String::from_utf8_lossy(&bytes)
            )),
        },
        other => Err(format!("redis: unexpected link answer {other:?}")),
    }
}

impl SharedChecks for RedisChecks {
    fn look_up<'a>(
        &'a self,
        links: &'a [(UrlKey, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<SharedStatus>, String>> {
        Box::pin(async move {
            let layout = &self.inner.caller.layout;
            let placed: Vec<(UrlKey, u16)> = links
                .iter()
                .map(|(key, host)| (*key, layout.partition_of(host)))
                .collect();
            let answers = self.inner.claim(&placed).await?;
            let mut claims = lock(&self.inner.claims);
            for ((key, n), answer) in placed.iter().zip(&answers) {
                if *answer == SharedStatus::Mine {
                    claims.insert(*key, *n);
                }
            }
            Ok(answers)
        })
    }

    fn publish<'a>(
        &'a self,
        key: UrlKey,
        host: &'a str,
        status: &'a str,
        broken: bool,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let n = self.inner.caller.layout.partition_of(host);
            let args = vec![
                fingerprint(key),
                status.as_bytes().to_vec(),
                if broken { b"1".to_vec() } else { b"0".to_vec() },
            ];
            let call = Call::partition(Which::Publish, n, args);
            if let Err(err) = self.inner.caller.run_repeatable(vec![call]).await {
                tracing::debug!(error = %err, "link status not published in redis");
            }
            lock(&self.inner.claims).remove(&key);
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|err| err.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_answers_read_as_statuses_claims_or_waits() {
        let bulk = |text: &str| redis::Value::BulkString(text.as_bytes().to_vec());
        assert_eq!(
            parse_answer(bulk("s404")),
            Ok(SharedStatus::Known("404".into()))
        );
        assert_eq!(
            parse_answer(bulk("shost unreachable")),
            Ok(SharedStatus::Known("host unreachable".into()))
        );
        assert_eq!(parse_answer(bulk("mine")), Ok(SharedStatus::Mine));
        assert_eq!(
            parse_answer(redis::Value::Int(1500)),
            Ok(SharedStatus::Theirs(Duration::from_millis(1500)))
        );
        assert!(parse_answer(bulk("c123 w")).is_err());
    }
}
