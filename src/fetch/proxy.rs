//! Which proxy requests go through. `--no-proxy`: none. `--proxy URL`: that one, for every
//! request except to the hosts `NO_PROXY` lists. Otherwise the environment: `HTTPS_PROXY` for
//! https URLs, `HTTP_PROXY` for http ones, `ALL_PROXY` for either when those are unset, and
//! `NO_PROXY` for the exceptions (the lowercase names work too).

use reqwest::{ClientBuilder, NoProxy, Proxy};
use url::Url;

use crate::config::ProxyChoice;
use crate::error::FatalError;

/// A proxy choice, checked once and applied to every host's client.
#[derive(Debug, Clone)]
pub(super) enum Route {
    /// The environment's (reqwest's default).
    Environment,
    /// None.
    Off,
    /// This one.
    Via(Box<Proxy>),
}

impl Route {
    /// The route `choice` names; a `--proxy` reqwest cannot use is an error naming it.
    pub(super) fn of(choice: &ProxyChoice) -> Result<Route, FatalError> {
        Ok(match choice {
            ProxyChoice::Environment => Route::Environment,
            ProxyChoice::Off => Route::Off,
            ProxyChoice::Url(url) => Route::Via(Box::new(
                Proxy::all(url.as_str())
                    .map_err(|err| FatalError::Client(format!("proxy {url}: {err}")))?
                    .no_proxy(NoProxy::from_env()),
            )),
        })
    }

    /// Sets the proxy of `builder`.
    pub(super) fn apply(&self, builder: ClientBuilder) -> ClientBuilder {
        match self {
            Route::Environment => builder,
            Route::Off => builder.no_proxy(),
            Route::Via(proxy) => builder.proxy((**proxy).clone()),
        }
    }
}

/// The host names of the proxies `choice` may send requests through: `--proxy`'s, or those
/// the environment names. A proxy is reached whatever its address (see `reach`).
pub(super) fn proxy_hosts(choice: &ProxyChoice) -> Vec<String> {
    let urls: Vec<String> = match choice {
        ProxyChoice::Off => Vec::new(),
        ProxyChoice::Url(url) => vec![url.to_string()],
        ProxyChoice::Environment => [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok())
        .collect(),
    };
    urls.iter()
        .filter_map(|text| {
            // reqwest takes `HOST:PORT` without a scheme as an http proxy.
            Url::parse(text)
                .ok()
                .filter(|url| url.has_host())
                .or_else(|| Url::parse(&format!("http://{text}")).ok())
        })
        .filter_map(|url| url.host_str().map(str::to_owned))
        .collect()
}
