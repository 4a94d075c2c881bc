//! Which addresses a request may connect to.
//!
//! An input URL goes wherever it points: a user who names a private address means it. What
//! it leads to (the links found below it, and its redirects) is held to public addresses
//! when the input URL's host resolved to public ones only, so a page on the web cannot
//! send the crawl to `127.0.0.1`, `10.0.0.5` or `169.254.169.254` inside the operator's
//! network. `--allow-private` lifts that; `--deny-net` ranges are refused to every request.
//!
//! The check is made where the connection is made: a client held to public addresses
//! resolves through [`Guarded`], which drops the refused addresses of each answer, so a
//! name that resolves to a private address (DNS rebinding included) is refused as surely as
//! a link written as one. Such clients are separate from the others, so a connection opened
//! for an input URL is never reused for a link. A host written as an address is not
//! resolved; [`Addresses::refuses_host`] checks it before the request.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::config::AddressOptions;
use crate::fetch::dns::Resolver;

/// Which addresses a request may connect to; `--deny-net` ranges are refused either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Reach {
    /// Any address: an input URL, or what descends from one that resolved to a non-public
    /// address.
    Any,
    /// Public addresses only: what descends from an input URL that resolved to public ones.
    Public,
}

/// Why a request was not made: its address is refused. The page fails with reason
/// `blocked`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Blocked(pub(crate) String);

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Blocked {}

/// The run's address rules.
#[derive(Debug, Clone, Default)]
pub(crate) struct Addresses {
    allow_private: bool,
    deny: Arc<[IpNet]>,
}

impl Addresses {
    /// The rules `options` set.
    pub(crate) fn new(options: &AddressOptions) -> Addresses {
        Addresses {
            allow_private: options.allow_private,
            deny: options.deny.as_slice().into(),
        }
    }

    /// Whether `reach` lets a request connect to `ip`.
    pub(crate) fn refuses(&self, ip: IpAddr, reach: Reach) -> bool {
        self.deny.iter().any(|net| net.contains(&ip))
            || (reach == Reach::Public && !self.allow_private && !is_public(ip))
    }

    /// Whether a request to `url` is refused before any lookup: its host is an address
    /// `reach` does not let it connect to.
    pub(crate) fn refuses_host(&self, url: &Url, reach: Reach) -> Option<Blocked> {
        let ip = match url.host()? {
            Host::Ipv4(ip) => IpAddr::V4(ip),
            Host::Ipv6(ip) => IpAddr::V6(ip),
            Host::Domain(_) => return None,
        };
        self.refuses(ip, reach)
            .then(|| refusal(&ip.to_string(), ip))
    }

    /// Whether clients need a resolver that checks answers: only when something can be
    /// refused.
    pub(crate) fn checks(&self, reach: Reach) -> bool {
        !self.deny.is_empty() || (reach == Reach::Public && !self.allow_private)
    }

    /// What the links and redirects of an input URL at `seed_origin` may reach: public
    /// addresses only when its host resolves to public ones only. A host that does not
    /// resolve counts as public, the stricter answer.
    pub(crate) async fn below_input(&self, seed_origin: &str, resolver: &Resolver) -> Reach {
        if self.allow_private {
            return Reach::Any;
        }
        let Ok(seed) = Url::parse(seed_origin) else {
            return Reach::Public;
        };
        let public = match seed.host() {
            Some(Host::Ipv4(ip)) => is_public(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => is_public(IpAddr::V6(ip)),
            Some(Host::Domain(name)) => match resolver.addresses(name).await {
                Ok(ips) => ips.iter().all(|ip| is_public(*ip)),
                Err(_) => true,
            },
            None => true,
        };
        if public {
            Reach::Public
        } else {
            Reach::Any
        }
    }
}

/// The message of a refusal.
fn refusal(host: &str, ip: IpAddr) -> Blocked {
    Blocked(format!("{host} is at {ip}, an address not to be reached"))
}

/// The resolver of a client whose answers are checked: refused addresses are dropped, and a
/// name left with none fails as [`Blocked`]. The proxies' own names are not checked (a
/// proxy the user set up is meant to be reached).
pub(crate) struct Guarded {
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) addresses: Addresses,
    pub(crate) reach: Reach,
    /// The proxies' host names.
    pub(crate) proxies: Arc<[String]>,
}

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let resolving = self.resolver.resolve(name);
        if self.proxies.contains(&host) {
            return resolving;
        }
        let (addresses, reach) = (self.addresses.clone(), self.reach);
        Box::pin(async move {
            let all: Vec<SocketAddr> = resolving.await?.collect();
            let allowed: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|addr| !addresses.refuses(addr.ip(), reach))
                .collect();
            match (allowed.is_empty(), all.first()) {
                (true, Some(first)) => {
                    tracing::debug!(host, ip = %first.ip(), "address refused");
                    Err(Box::new(refusal(&host, first.ip())) as _)
                }
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// Whether `ip` is a public, globally reachable unicast address: not loopback, private
/// (RFC 1918), shared (CGNAT), link-local, unique-local, documentation, benchmarking,
/// multicast, reserved or unspecified. An IPv6 address that carries an IPv4 one (mapped,
/// compatible, NAT64, 6to4) is judged by the IPv4 address.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0 // "this network", 0.0.0.0 included
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (b & 0xfe) == 18) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (segments[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || (segments[0] & 0xff00) == 0xff00 // multicast
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || (segments[0] == 0x0100 && segments[1..4] == [0, 0, 0]) // discard 100::/64
        || segments[..6] == [0; 6]; // IPv4-compatible ::/96 (deprecated)
    !refused
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped `::ffff:a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d`, 6to4 `2002:AABB:CCDD::`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let from = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(from(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(from(hi, lo)),
        [0x2002, hi, lo, ..] => Some(from(hi, lo)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public(text.parse().unwrap())
    }

    #[test]
    fn non_public_v4_classes_are_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.5",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.0.0.2",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!public(ip), "{ip}");
        }
    }

    #[test]
    fn public_v4_addresses_pass_including_the_neighbours_of_refused_ranges() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ] {
            assert!(public(ip), "{ip}");
        }
    }

    #[test]
    fn non_public_v6_classes_are_refused() {
        for ip in [
            "::",
            "::1",
            "fc00::1",
            "fd12:3456:789a::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "100::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.5",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:5",
            "2002:c0a8:101::1",
        ] {
            assert!(!public(ip), "{ip}");
        }
    }

    #[test]
    fn public_v6_addresses_pass() {
        for ip in [
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "fbff::1",
            "fe7f::1",
        ] {
            assert!(public(ip), "{ip}");
        }
    }

    #[test]
    fn deny_ranges_refuse_every_reach_and_allow_private_lifts_only_the_default() {
        let rules = |allow_private, deny: &[&str]| {
            Addresses::new(&AddressOptions {
                allow_private,
                deny: deny.iter().map(|net| net.parse().unwrap()).collect(),
            })
        };
        let (loopback, public_ip): (IpAddr, IpAddr) =
            ("127.0.0.1".parse().unwrap(), "8.8.8.8".parse().unwrap());
        let default = rules(false, &[]);
        assert!(default.refuses(loopback, Reach::Public));
        assert!(!default.refuses(loopback, Reach::Any));
        assert!(!default.refuses(public_ip, Reach::Public));
        assert!(!default.checks(Reach::Any));
        let open = rules(true, &[]);
        assert!(!open.refuses(loopback, Reach::Public));
        assert!(!open.checks(Reach::Public));
        let denied = rules(true, &["8.8.8.0/24"]);
        assert!(denied.refuses(public_ip, Reach::Any));
        assert!(denied.checks(Reach::Any));
        let url = Url::parse("http://8.8.8.8/").unwrap();
        assert!(denied.refuses_host(&url, Reach::Any).is_some());
        let url = Url::parse("http://[::1]:8080/").unwrap();
        assert!(default.refuses_host(&url, Reach::Public).is_some());
        assert!(default.refuses_host(&url, Reach::Any).is_none());
        let url = Url::parse("http://localhost/").unwrap();
        assert!(
            default.refuses_host(&url, Reach::Public).is_none(),
            "names resolve at connect"
        );
    }

    fn resolver() -> Resolver {
        Resolver::new(&[], std::time::Duration::from_secs(2))
    }

    #[tokio::test]
    async fn what_is_below_an_input_depends_on_where_the_input_resolved() {
        let (default, open) = (
            Addresses::default(),
            Addresses {
                allow_private: true,
                ..Addresses::default()
            },
        );
        let resolver = resolver();
        for (seed, reach) in [
            ("http://8.8.8.8", Reach::Public),
            ("https://[2606:4700:4700::1111]:8443", Reach::Public),
            ("http://127.0.0.1:8080", Reach::Any),
            ("http://10.0.0.5", Reach::Any),
            ("http://[::1]", Reach::Any),
            ("http://localhost:8080", Reach::Any),
            ("http://nx.invalid", Reach::Public),
        ] {
            assert_eq!(default.below_input(seed, &resolver).await, reach, "{seed}");
            assert_eq!(
                open.below_input(seed, &resolver).await,
                Reach::Any,
                "{seed}"
            );
        }
    }

    #[tokio::test]
    async fn a_name_resolving_to_a_refused_address_fails_as_blocked_at_connect() {
        let guarded = |reach| Guarded {
            resolver: Arc::new(resolver()),
            addresses: Addresses::default(),
            reach,
            proxies: Arc::from([]),
        };
        let name = || "localhost".parse::<Name>().unwrap();
        let err = match guarded(Reach::Public).resolve(name()).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(err) => err,
        };
        assert!(err.is::<Blocked>(), "{err}");
        let addrs: Vec<_> = guarded(Reach::Any).resolve(name()).await.unwrap().collect();
        assert!(
            addrs.iter().all(|addr| addr.ip().is_loopback()),
            "{addrs:?}"
        );
        let proxied = Guarded {
            proxies: Arc::from(["localhost".to_owned()]),
            ..guarded(Reach::Public)
        };
        assert!(proxied.resolve(name()).await.is_ok(), "a proxy is reached");
    }
}
