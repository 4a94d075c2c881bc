//! Wake-ups instead of polling: a worker with nothing to start blocks on the crawl's wake
//! list (`BLPOP`, on a connection of its own, which in a Cluster goes to the node owning the
//! crawl's slot), where the scripts push a token when work
//! appears while someone waits (a page finished and freed its host's slot, links queued, a
//! lease taken back). One token wakes one worker, so a freed slot does not stampede them all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::connection::{open, RedisConnection, RESPONSE_TIMEOUT};

/// How long one `BLPOP` blocks before the worker looks again whether it is still idle.
const BLOCK: Duration = Duration::from_secs(1);

/// A worker's wake-ups: a task blocking on the wake list while the worker is idle.
pub(super) struct Waker {
    wants: watch::Sender<Wants>,
    woken: Arc<Notify>,
    /// Tokens taken so far.
    tokens: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

/// Whether the worker wants a wake-up: each time it finds nothing to start it asks for one
/// more, so it takes one token per idle spell and leaves the rest to other idle workers.
#[derive(Debug, Clone, Copy, Default)]
struct Wants {
    /// How many times the worker found nothing to start.
    spells: u64,
    /// It is idle now.
    idle: bool,
}

impl Waker {
    /// Starts waiting on the list `key` of the Redis at `url` whenever the worker is idle.
    pub(super) fn start(url: &str, key: String) -> Waker {
        let (wants, wants_rx) = watch::channel(Wants::default());
        let woken = Arc::new(Notify::new());
        let tokens = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(listen(
            url.to_owned(),
            key,
            wants_rx,
            Arc::clone(&woken),
            Arc::clone(&tokens),
        ));
        Waker {
            wants,
            woken,
            tokens,
            task,
        }
    }

    /// Whether the worker has nothing to start: each time it has not, it listens for one
    /// token.
    pub(super) fn idle(&self, idle: bool) {
        self.wants.send_if_modified(|wants| {
            let changed = wants.idle != idle || idle;
            if idle {
                wants.spells += 1;
            }
            wants.idle = idle;
            changed
        });
    }

    /// Notified when a token arrives.
    pub(super) fn woken(&self) -> Arc<Notify> {
        Arc::clone(&self.woken)
    }

    /// How many tokens the worker has taken so far: a change means work appeared.
    pub(super) fn tokens(&self) -> u64 {
        self.tokens.load(Ordering::Acquire)
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Takes one token off the wake list for each time the worker found nothing to start, while
/// it is idle. A Redis that fails means no wake-ups: the worker then asks again on its own
/// after a while, and its frontier's calls report the failure.
async fn listen(
    url: String,
    key: String,
    mut wants: watch::Receiver<Wants>,
    woken: Arc<Notify>,
    tokens: Arc<AtomicU64>,
) {
    let mut connection: Option<RedisConnection> = None;
    let mut answered = 0;
    loop {
        loop {
            let now = *wants.borrow_and_update();
            if now.idle && now.spells > answered {
                break;
            }
            if wants.changed().await.is_err() {
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
            Ok(Some(_)) => {
                answered = wants.borrow().spells;
                tokens.fetch_add(1, Ordering::AcqRel);
                woken.notify_one();
            }
            Ok(None) => {}
            Err(err) => {
                tracing::debug!(error = %err, "no wake-ups from redis for now");
                connection = None;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
