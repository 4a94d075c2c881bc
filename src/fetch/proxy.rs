//! Which proxy requests go through. `--no-proxy`: none. `--proxy URL`: that one, for every
//! request except to the hosts `NO_PROXY` lists. Otherwise the environment: `HTTPS_PROXY` for
//! https URLs, `HTTP_PROXY` for http ones, `ALL_PROXY` for either when those are unset, and
//! `NO_PROXY` for the exceptions (the lowercase names work too).

use reqwest::{ClientBuilder, NoProxy, Proxy};

use crate::config::ProxyChoice;
use crate::error::FatalError;

/// Sets the proxy of `builder` as `choice` says (the environment is reqwest's default).
pub(super) fn route(
    builder: ClientBuilder,
    choice: &ProxyChoice,
) -> Result<ClientBuilder, FatalError> {
    Ok(match choice {
        ProxyChoice::Environment => builder,
        ProxyChoice::Off => builder.no_proxy(),
        ProxyChoice::Url(url) => {
            let proxy = Proxy::all(url.as_str())
                .map_err(|err| FatalError::Client(format!("proxy {url}: {err}")))?
                .no_proxy(NoProxy::from_env());
            builder.proxy(proxy)
        }
    })
}
