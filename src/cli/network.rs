//! The TLS and proxy flags, flattened into [`Cli`](super::Cli) under their own heading.

use std::path::PathBuf;

use url::Url;

use crate::config::{ProxyChoice, TlsOptions};

/// Which certificates are trusted and which proxy is used.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "TLS and proxies")]
pub struct NetworkArgs {
    /// Also trust the CA certificates in this PEM file (repeatable); the system's roots and the
    /// bundled Mozilla roots are always trusted
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
}

impl NetworkArgs {
    /// The trust settings.
    pub(super) fn tls(&self) -> TlsOptions {
        TlsOptions {
            ca_certs: self.ca_certs.clone(),
            insecure: self.insecure,
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
