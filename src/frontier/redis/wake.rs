//! Wake-ups instead of polling: a worker with nothing to start blocks on the crawl's wake
//! list (`BLPOP`, on a connection of its own, which in a Cluster goes to the node owning the
//! crawl's slot), where the scripts push a token when work
//! appears while someone waits (a page finished and freed its host's slot, links queued, a
//! lease taken back). One token wakes one worker, so a freed slot does not stampede them all.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::connection::{open, RedisConnection, RESPONSE_TIMEOUT};

/// How long one `BLPOP` blocks before the worker looks again whether it is still idle.
const BLOCK: Duration = Duration::from_secs(1);

/// A worker's wake-ups: a task blocking on the wake list while the worker is idle.
pub(super) struct Waker {
    idle: watch::Sender<bool>,
    woken: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Waker {
    /// Starts waiting on the list `key` of the Redis at `url` whenever the worker is idle.
    pub(super) fn start(url: &str, key: String) -> Waker {
        let (idle, idle_rx) = watch::channel(false);
        let woken = Arc::new(Notify::new());
        let task = tokio::spawn(listen(url.to_owned(), key, idle_rx, Arc::clone(&woken)));
        Waker { idle, woken, task }
    }

    /// Whether the worker has nothing to start (it then listens for a token).
    pub(super) fn idle(&self, idle: bool) {
        self.idle
            .send_if_modified(|now| std::mem::replace(now, idle) != idle);
    }

    /// Notified when a token arrives.
    pub(super) fn woken(&self) -> Arc<Notify> {
        Arc::clone(&self.woken)
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Takes tokens off the wake list while the worker is idle. A Redis that fails means no
/// wake-ups: the worker then asks again on its own after a while, and its frontier's calls
/// report the failure.
async fn listen(url: String, key: String, mut idle: watch::Receiver<bool>, woken: Arc<Notify>) {
    let mut connection: Option<RedisConnection> = None;
    loop {
        while !*idle.borrow_and_update() {
            if idle.changed().await.is_err() {
                return;
            }
        }
        let blocked = match &mut connection {
            Some(redis) => {
                redis::cmd("BLPOP")
                    .arg(&key)
                    .arg(BLOCK.as_secs())
                    .query_async::<Option<(String, String)>>(redis)
                    .await
            }
            None => match open(&url, BLOCK + RESPONSE_TIMEOUT).await {
                Ok(redis) => {
                    connection = Some(redis);
                    continue;
                }
                Err(err) => Err(err),
            },
        };
        match blocked {
            Ok(Some(_)) => woken.notify_one(),
            Ok(None) => {}
            Err(err) => {
                tracing::debug!(error = %err, "no wake-ups from redis for now");
                connection = None;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
