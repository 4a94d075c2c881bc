//! Host name lookups for the client, with failures of a type of their own, so a failed
//! lookup is told from a failed connect by its type rather than by its message.

use std::error::Error;
use std::fmt;
use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The system's resolver (`getaddrinfo`, on tokio's blocking pool): `/etc/hosts` and
/// `resolv.conf` apply.
#[derive(Debug, Default)]
pub(super) struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str();
            match tokio::net::lookup_host((host, 0)).await {
                Ok(addrs) => {
                    let addrs: Vec<SocketAddr> = addrs.collect();
                    Ok(Box::new(addrs.into_iter()) as Addrs)
                }
                Err(err) => {
                    Err(Box::new(DnsFailure(err.to_string())) as Box<dyn Error + Send + Sync>)
                }
            }
        })
    }
}

/// A host name that did not resolve, with the resolver's message.
#[derive(Debug)]
pub(crate) struct DnsFailure(pub(crate) String);

impl fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for DnsFailure {}
