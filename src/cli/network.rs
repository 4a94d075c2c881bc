//! The TLS, proxy and address flags, flattened into [`Cli`](super::Cli) under their own
//! heading.

use std::path::PathBuf;

use url::Url;

use crate::config::{AddressOptions, ProxyChoice, TlsOptions};

/// Which certificates are trusted, which proxy is used, which addresses may be reached.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "TLS, proxies and addresses")]
pub struct NetworkArgs {
    /// Also trust the certificates in this PEM file (repeatable): CAs, or a server's own
    /// self-signed certificate; the system's roots and the bundled Mozilla roots are always
    /// trusted
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,

    /// Do not verify TLS certificates (a warning says so)
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Send every request through this proxy (http://, https://, socks5://, socks5h://),
    /// instead of the one HTTP_PROXY, HTTPS_PROXY or ALL_PROXY names; NO_PROXY still applies
    #[arg(long, value_name = "URL", value_parser = parse_proxy, conflicts_with = "no_proxy")]
    pub proxy: Option<Url>,

    /// Use no proxy, whatever HTTP_PROXY, HTTPS_PROXY and ALL_PROXY say
    #[arg(long)]
    pub no_proxy: bool,

    /// Let found links and redirects reach loopback, private and other non-public addresses
    /// even when their input URL resolved to a public one
    #[arg(long)]
    pub allow_private: bool,

    /// Never connect to an address in this range (CIDR or address, repeatable), input URLs
    /// included
    #[arg(long = "deny-net", value_name = "CIDR", value_parser = parse_net)]
    pub deny_nets: Vec<ipnet::IpNet>,
}

impl NetworkArgs {
    /// The trust settings.
    pub(super) fn tls(&self) -> TlsOptions {
        TlsOptions {
            ca_certs: self.ca_certs.clone(),
            insecure: self.insecure,
        }
    }

    /// The address rules.
    pub(super) fn addresses(&self) -> AddressOptions {
        AddressOptions {
            allow_private: self.allow_private,
            deny: self.deny_nets.clone(),
        }
    }

    /// The proxy, by precedence: `--proxy`, then `--no-proxy`, then the environment.
    pub(super) fn proxy(&self) -> ProxyChoice {
        match (&self.proxy, self.no_proxy) {
            (Some(url), _) => ProxyChoice::Url(url.clone()),
            (None, true) => ProxyChoice::Off,
            (None, false) => ProxyChoice::Environment,
        }
    }
}

/// Parses a `--deny-net` range: `10.0.0.0/8`, `fc00::/7`, or one address.
fn parse_net(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .map(|net| net.trunc())
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| "expected an address range such as 10.0.0.0/8 or fc00::/7".into())
}

/// Parses a `--proxy` URL: http, https, socks5 or socks5h, with a host.
fn parse_proxy(text: &str) -> Result<Url, String> {
    const EXPECTED: &str = "expected a URL such as http://HOST:PORT (http, https, socks5, socks5h)";
    let url = Url::parse(text).map_err(|err| format!("{err}; {EXPECTED}"))?;
    match url.scheme() {
        "http" | "https" | "socks5" | "socks5h" if url.host().is_some() => Ok(url),
        _ => Err(EXPECTED.into()),
    }
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("areq").chain(args.iter().copied()))
    }

    #[test]
    fn deny_net_takes_ranges_and_addresses() {
        let cli = parse(&[
            "--deny-net",
            "10.1.2.3/8",
            "--deny-net",
            "::1",
            "--allow-private",
        ])
        .unwrap();
        let addresses = cli.network.addresses();
        let nets: Vec<String> = addresses.deny.iter().map(ToString::to_string).collect();
        assert_eq!(nets, ["10.0.0.0/8", "::1/128"]);
        assert!(addresses.allow_private);
        for bad in ["10.0.0.0/33", "example.com", ""] {
            let err = parse(&["--deny-net", bad]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ValueValidation, "{bad}");
        }
    }

    #[test]
    fn proxy_flags_are_checked_and_exclusive() {
        let url = Url::parse("http://127.0.0.1:3128").unwrap();
        let cli = parse(&["--proxy", "http://127.0.0.1:3128"]).unwrap();
        assert_eq!(cli.network.proxy(), ProxyChoice::Url(url));
        assert_eq!(
            parse(&["--no-proxy"]).unwrap().network.proxy(),
            ProxyChoice::Off
        );
        assert_eq!(
            parse(&[]).unwrap().network.proxy(),
            ProxyChoice::Environment
        );
        for bad in ["127.0.0.1:3128", "localhost:3128", "ftp://h/", "http://"] {
            let err = parse(&["--proxy", bad]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ValueValidation, "{bad}");
        }
        let err = parse(&["--proxy", "http://h:1", "--no-proxy"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
    }

    #[test]
    fn ca_certs_repeat_and_insecure_has_a_short_flag() {
        let cli = parse(&["--ca-cert", "a.pem", "--ca-cert", "b.pem", "-k"]).unwrap();
        let tls = cli.network.tls();
        assert_eq!(
            tls.ca_certs,
            [PathBuf::from("a.pem"), PathBuf::from("b.pem")]
        );
        assert!(tls.insecure);
    }
}
