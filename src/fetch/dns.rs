//! Host name resolution for the whole crawl: an async resolver (hickory) behind one cache.
//!
//! reqwest's default resolver runs `getaddrinfo` on the blocking pool, a few lookups at a
//! time, and caches nothing; with a slow resolver the crawl queues behind it. Here every
//! lookup is async, so as many run at once as pages are being started (at most `-c`). Each
//! name is asked once per TTL: concurrent pages of one host share the lookup in flight, and
//! answers, failures included, are kept for the rest of the crawl (failures only briefly).
//!
//! `/etc/hosts` and the system's resolv.conf are honoured, unless `--dns-server` names the
//! resolvers to ask instead. A lookup has its own deadline, shorter than the connect
//! timeout, so a resolver that does not answer fails the page with reason `dns`, not
//! `timeout`.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, TokioResolver};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::OnceCell;

/// The longest a lookup may take (resolv.conf's default per-try timeout).
const MAX_LOOKUP_TIME: Duration = Duration::from_secs(5);
/// How long a failed lookup is remembered, so a dead host's other pages fail at once.
const NEGATIVE_TTL: Duration = Duration::from_secs(10);
/// Answers kept at most; expired ones go first, then whatever is over.
const MAX_CACHED: usize = 10_000;

/// Why a name did not resolve; the message names the host. reqwest reports it as the source
/// of its connect error, and the page fails with reason `dns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LookupError(String);

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LookupError {}

/// The addresses of a name, or why there are none.
type Answer = Result<Arc<[IpAddr]>, LookupError>;

/// The crawl's resolver; cheap to share (`Arc`), given to every HTTP client.
pub(crate) struct Resolver {
    shared: Arc<Shared>,
}

struct Shared {
    resolver: TokioResolver,
    deadline: Duration,
    cache: Mutex<HashMap<Box<str>, Slot>>,
}

/// An answer and the instant it expires.
type Expiring = (Answer, Instant);

/// A name's place in the cache.
enum Slot {
    /// Being looked up; later askers wait on the same cell.
    Pending(Arc<OnceCell<Expiring>>),
    /// Answered; good until the instant.
    Ready(Answer, Instant),
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("deadline", &self.shared.deadline)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver asking `servers` (each over UDP, with TCP for long answers), or the ones
    /// resolv.conf names when `servers` is empty. A lookup gives up after the shorter of
    /// five seconds and three quarters of `connect_timeout`.
    pub(crate) fn new(servers: &[SocketAddr], connect_timeout: Duration) -> Resolver {
        let deadline = MAX_LOOKUP_TIME.min(connect_timeout.mul_f64(0.75));
        let (config, mut options) = if servers.is_empty() {
            system_config()
        } else {
            (given_servers(servers), ResolverOpts::default())
        };
        // Two tries within the deadline; the outer timeout below is the hard bound.
        options.timeout = (deadline / 2).max(Duration::from_millis(10));
        options.attempts = 1;
        options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        options.use_hosts_file = ResolveHosts::Always;
        let resolver =
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
                .with_options(options)
                .build();
        Resolver {
            shared: Arc::new(Shared {
                resolver,
                deadline,
                cache: Mutex::new(HashMap::new()),
            }),
        }
    }
}

impl Resolver {
    /// The addresses of `host`, through the cache.
    pub(crate) async fn addresses(&self, host: &str) -> Answer {
        self.shared.lookup(host).await
    }
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let ips = shared.lookup(name.as_str()).await?;
            let addrs: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

impl Shared {
    async fn lookup(&self, host: &str) -> Answer {
        let cell = match self.cached(host) {
            Ok(answer) => return answer,
            Err(cell) => cell,
        };
        let (answer, until) = cell.get_or_init(|| self.ask(host)).await.clone();
        self.store(host, &cell, &answer, until);
        answer
    }

    /// A live answer for `host`, or the cell to wait on (joining a lookup in flight or
    /// starting one).
    fn cached(&self, host: &str) -> Result<Answer, Arc<OnceCell<Expiring>>> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        match cache.get(host) {
            Some(Slot::Ready(answer, until)) if *until > Instant::now() => {
                return Ok(answer.clone())
            }
            Some(Slot::Pending(cell)) => return Err(Arc::clone(cell)),
            _ => {}
        }
        let cell = Arc::new(OnceCell::new());
        cache.insert(host.into(), Slot::Pending(Arc::clone(&cell)));
        Err(cell)
    }

    /// Replaces the pending slot of `host` by its answer (once; later finishers find it
    /// done), and trims the cache when it has grown past [`MAX_CACHED`].
    fn store(&self, host: &str, cell: &Arc<OnceCell<Expiring>>, answer: &Answer, until: Instant) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let ours = matches!(cache.get(host), Some(Slot::Pending(c)) if Arc::ptr_eq(c, cell));
        if !ours {
            return;
        }
        cache.insert(host.into(), Slot::Ready(answer.clone(), until));
        if cache.len() > MAX_CACHED {
            trim(&mut cache, Instant::now());
        }
    }

    /// Asks the resolver, within the deadline. A good answer lives as long as its records'
    /// TTL says; a failure [`NEGATIVE_TTL`].
    async fn ask(&self, host: &str) -> Expiring {
        let failed = |error| (Err(error), Instant::now() + NEGATIVE_TTL);
        match tokio::time::timeout(self.deadline, self.resolver.lookup_ip(host)).await {
            Ok(Ok(lookup)) => {
                let ips: Arc<[IpAddr]> = lookup.iter().collect();
                if ips.is_empty() {
                    return failed(LookupError(format!("{host} has no address records")));
                }
                (Ok(ips), lookup.valid_until())
            }
            Ok(Err(err)) => failed(lookup_error(host, &err)),
            Err(_) => failed(LookupError(format!(
                "lookup of {host} timed out after {} ms",
                self.deadline.as_millis()
            ))),
        }
    }
}

/// Drops expired answers, then, if still too many, any answered ones (lookups in flight stay).
fn trim(cache: &mut HashMap<Box<str>, Slot>, now: Instant) {
    cache.retain(|_, slot| !matches!(slot, Slot::Ready(_, until) if *until <= now));
    let mut excess = cache.len().saturating_sub(MAX_CACHED / 2);
    cache.retain(|_, slot| {
        if excess > 0 && matches!(slot, Slot::Ready(..)) {
            excess -= 1;
            false
        } else {
            true
        }
    });
}

/// One line for a failed lookup, naming the host.
fn lookup_error(host: &str, err: &ResolveError) -> LookupError {
    let message = if err.is_nx_domain() {
        format!("no such host {host}")
    } else if err.is_no_records_found() {
        format!("{host} has no address records")
    } else {
        format!("lookup of {host} failed: {err}")
    };
    LookupError(message)
}

/// resolv.conf's servers, search list and options; with none readable, `/etc/hosts` only.
fn system_config() -> (ResolverConfig, ResolverOpts) {
    match hickory_resolver::system_conf::read_system_conf() {
        Ok(system) => system,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the system's resolver configuration; only /etc/hosts resolves");
            (ResolverConfig::new(), ResolverOpts::default())
        }
    }
}

/// A configuration asking exactly `servers`, in order.
fn given_servers(servers: &[SocketAddr]) -> ResolverConfig {
    let mut config = ResolverConfig::new();
    for &server in servers {
        for protocol in [Protocol::Udp, Protocol::Tcp] {
            config.add_name_server(NameServerConfig::new(server, protocol));
        }
    }
    config
}
