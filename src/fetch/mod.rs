//! Fetching pages: HTTP clients (one per host in progress, see [`clients`]) sharing one TLS
//! configuration and the crawl's resolver (see [`dns`]), requests paced per host by the
//! process's [`Pacer`] at the moment they are sent, redirects followed hop by hop, capped
//! body reads. Why a fetch failed is a [`FetchError`] (see [`failure`]); which failures are
//! tried again, and when, is [`retry`]. Each request carries its [`Lineage`], the input URL
//! it descends from, which decides whether the `-H` headers go with it and which addresses
//! it may connect to (see [`reach`]).

mod body;
mod clients;
mod dns;
mod failure;
mod health;
mod proxy;
mod reach;
pub(crate) mod retry;
mod tls;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION,
    PROXY_AUTHORIZATION, WWW_AUTHENTICATE,
};
use reqwest::redirect;
use url::Url;

use crate::config::{FetchOptions, HeaderScope};
use crate::error::FatalError;
use crate::fetch::body::read_capped;
use crate::fetch::clients::{HostClients, Lease};
use crate::fetch::dns::Resolver;
use crate::fetch::health::HostHealth;
use crate::fetch::proxy::{proxy_hosts, Route};
use crate::fetch::reach::{Addresses, Guarded, Reach};
use crate::fetch::retry::{retry_after, Failure};
use crate::job::{origin_text, Lineage};
use crate::politeness::Pacer;

pub(crate) use failure::FetchError;

/// What browsers ask for; `-H 'Accept: …'` replaces it.
const ACCEPT_HTML: &str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";

/// A fetched HTML page, its body not yet decoded.
#[derive(Debug)]
pub(crate) struct Page {
    /// The URL after redirects: the base for relative links.
    pub(crate) final_url: Url,
    /// The final status (2xx).
    pub(crate) status: u16,
    /// The Content-Type header, if any (its charset decodes the body).
    pub(crate) content_type: Option<String>,
    /// Every `X-Robots-Tag` header, in order (robots directives for the page).
    pub(crate) robots_tags: Vec<String>,
    /// The body, at most `--max-body` bytes after decompression.
    pub(crate) body: Vec<u8>,
    /// The body was longer than `--max-body` and was cut there.
    pub(crate) truncated: bool,
}

/// The result of a successful request.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// An HTML page to parse.
    Html(Page),
    /// A 2xx response that is not HTML; its body is not read.
    NotHtml {
        /// The final status (2xx).
        status: u16,
        /// The media type that was served.
        content_type: String,
    },
}

/// Fetches pages through pooled clients, one per host in progress (see [`clients`]), all
/// sharing one resolver (see [`dns`]).
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    clients: Arc<HostClients>,
    /// Sent with the requests `header_scope` names: `-H` headers and `Accept`.
    headers: HeaderMap,
    /// Sent with the others: `Accept`.
    plain_headers: HeaderMap,
    header_scope: HeaderScope,
    addresses: Addresses,
    resolver: Arc<Resolver>,
    max_body: u64,
    max_redirects: usize,
    /// For a request and its redirects together, body included.
    timeout: Duration,
    pacer: Arc<Pacer>,
    /// Which hosts still answer.
    health: Arc<HostHealth>,
}

impl Fetcher {
    /// Sets up the clients: rustls, compression, the timeouts, the crawl's resolver, and
    /// `host_gap` between two request starts to one host. One client is built at once, so a
    /// bad setting fails here. TLS trusts what `--ca-cert`/`--insecure` say; requests go
    /// through the proxy `--proxy`/`--no-proxy` or the environment name.
    pub(crate) fn new(options: &FetchOptions, host_gap: Duration) -> Result<Fetcher, FatalError> {
        let mut plain_headers = HeaderMap::new();
        plain_headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_HTML));
        let mut headers = options.headers.clone();
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_HTML));
        }
        let resolver = Arc::new(Resolver::new(&options.dns_servers, options.connect_timeout));
        let addresses = Addresses::new(&options.addresses);
        let tls = tls::client_config(&options.tls)?;
        let route = Route::of(&options.proxy)?;
        let proxies: Arc<[String]> = proxy_hosts(&options.proxy).into();
        let (user_agent, connect_timeout) = (options.user_agent.clone(), options.connect_timeout);
        let (build_resolver, build_addresses) = (Arc::clone(&resolver), addresses.clone());
        let build = move |reach: Reach| {
            let builder = reqwest::Client::builder()
                .use_preconfigured_tls(tls.clone())
                .user_agent(user_agent.clone())
                .connect_timeout(connect_timeout)
                // Followed here, so each hop waits its turn at its host.
                .redirect(redirect::Policy::none());
            let builder = if build_addresses.checks(reach) {
                builder.dns_resolver(Arc::new(Guarded {
                    resolver: Arc::clone(&build_resolver),
                    addresses: build_addresses.clone(),
                    reach,
                    proxies: Arc::clone(&proxies),
                }))
            } else {
                builder.dns_resolver(Arc::clone(&build_resolver))
            };
            route.apply(builder).build()
        };
        build(Reach::Public).map_err(|err| FatalError::Client(err.to_string()))?;
        Ok(Fetcher {
            clients: Arc::new(HostClients::new(Box::new(build))),
            headers,
            plain_headers,
            header_scope: options.header_scope,
            addresses,
            resolver,
            max_body: options.max_body,
            max_redirects: options.max_redirects,
            timeout: options.timeout,
            pacer: Arc::new(Pacer::new(host_gap).with_max_backoff(options.max_retry_wait)),
            health: Arc::new(HostHealth::new(options.unreachable_after)),
        })
    }

    /// The pacer every request waits its turn at: the process's one owner of politeness.
    pub(crate) fn pacer(&self) -> Arc<Pacer> {
        Arc::clone(&self.pacer)
    }

    /// Raises `host`'s gap between request starts (robots.txt `Crawl-delay`).
    pub(crate) fn slow_down(&self, host: &str, gap: Duration) {
        self.pacer.slow_down(host, gap);
    }

    /// Sends a GET and waits for the response head, following up to `--max-redirects`
    /// redirects (a loop fails at once). Every hop waits its turn at its host; `--timeout`
    /// bounds the hops together, not counting those waits. The `-H` headers go only where
    /// [`Fetcher::headers_for`] says; each hop connects only where its reach allows (an
    /// input URL anywhere, its redirects and what is found below it as [`reach`] says).
    /// The final hop's host client is leased with the response: hold it until the body is
    /// read.
    async fn send(
        &self,
        url: &Url,
        lineage: Lineage<'_>,
    ) -> Result<(Lease, reqwest::Response), FetchError> {
        let mut current = url.clone();
        let mut visited: Vec<Url> = Vec::new();
        let mut budget = self.timeout;
        let mut reach = if lineage.input {
            Reach::Any
        } else {
            self.below_input(lineage).await
        };
        loop {
            if let Some(blocked) = self.addresses.refuses_host(&current, reach) {
                return Err(FetchError::Blocked(blocked.to_string()));
            }
            let host = current.host_str().unwrap_or_default();
            let lease = self
                .clients
                .lease(host, reach)
                .map_err(|err| FetchError::from_reqwest(&err))?;
            let headers = self.headers_for(&current, url, lineage);
            self.admit(&current)?;
            // The turn last, right before the request goes (a new host's client is built
            // above, which takes a while).
            self.pacer.turn(host).await;
            let started = Instant::now();
            let response = lease
                .client
                .get(current.clone())
                .headers(headers)
                .timeout(budget)
                .send()
                .await;
            let response = response.map_err(|err| FetchError::from_reqwest(&err));
            self.heard(&current, started, &response);
            let response = response?;
            budget = budget.saturating_sub(started.elapsed());
            let Some(next) = redirect_target(&response, &current) else {
                return Ok((lease, response));
            };
            if visited.len() >= self.max_redirects {
                let max = self.max_redirects;
                return Err(FetchError::Redirects(format!("more than {max} redirects")));
            }
            if lineage.input && visited.is_empty() {
                reach = self.below_input(lineage).await;
            }
            visited.push(current);
            if visited.contains(&next) {
                return Err(FetchError::Redirects("redirect loop".into()));
            }
            current = next;
        }
    }

    /// What the redirects of an input URL and the links found below it may reach.
    async fn below_input(&self, lineage: Lineage<'_>) -> Reach {
        self.addresses
            .below_input(lineage.seed_origin, &self.resolver)
            .await
    }

    /// The headers of a request to `current`, a hop of the request for `url`. With
    /// `--header-scope input`, the `-H` headers go only to the input URL's origin; with
    /// `all`, everywhere, but credentials are not sent on to another origin by a redirect.
    fn headers_for(&self, current: &Url, url: &Url, lineage: Lineage<'_>) -> HeaderMap {
        match self.header_scope {
            HeaderScope::Input if origin_text(current) == lineage.seed_origin => {
                self.headers.clone()
            }
            HeaderScope::Input => self.plain_headers.clone(),
            HeaderScope::All => {
                let mut headers = self.headers.clone();
                if current.origin() != url.origin() {
                    for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, WWW_AUTHENTICATE] {
                        headers.remove(name);
                    }
                }
                headers
            }
        }
    }

    /// GETs `url` once, following redirects. Non-2xx final statuses are errors (with the
    /// server's `Retry-After`); HTML bodies are read up to the size cap.
    pub(crate) async fn fetch(&self, url: &Url, lineage: Lineage<'_>) -> Result<Fetched, Failure> {
        let (_lease, response) = self.send_for_success(url, lineage).await?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        if let Some(content_type) = &content_type {
            if !is_html(content_type) {
                return Ok(Fetched::NotHtml {
                    status: status.as_u16(),
                    content_type: media_type(content_type).to_owned(),
                });
            }
        }
        let final_url = response.url().clone();
        let robots_tags = response
            .headers()
            .get_all("x-robots-tag")
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        let (body, truncated) = read_capped(response, self.max_body).await?;
        Ok(Fetched::Html(Page {
            final_url,
            status: status.as_u16(),
            content_type,
            robots_tags,
            body,
            truncated,
        }))
    }

    /// GETs `url` once, following redirects, for its final status alone (`--check`): the
    /// body is not read. Non-2xx final statuses are errors (with the server's `Retry-After`),
    /// as for a page.
    pub(crate) async fn check(&self, url: &Url, lineage: Lineage<'_>) -> Result<u16, Failure> {
        let (_lease, response) = self.send_for_success(url, lineage).await?;
        Ok(response.status().as_u16())
    }

    /// [`Fetcher::send`], with a final status other than 2xx as an error that carries the
    /// server's `Retry-After`: what a page fetch and a link check both ask.
    async fn send_for_success(
        &self,
        url: &Url,
        lineage: Lineage<'_>,
    ) -> Result<(Lease, reqwest::Response), Failure> {
        let (lease, response) = self.send(url, lineage).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(Failure {
                error: FetchError::Status(status.as_u16()),
                retry_after: retry_after(response.headers()),
            });
        }
        Ok((lease, response))
    }

    /// GETs `url` once and returns its final status and, for a 2xx, up to `max` bytes of its
    /// body whatever its type (for robots.txt).
    pub(crate) async fn fetch_bytes(
        &self,
        url: &Url,
        max: u64,
        lineage: Lineage<'_>,
    ) -> Result<(u16, Vec<u8>), FetchError> {
        let (_lease, response) = self.send(url, lineage).await?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Ok((status, Vec::new()));
        }
        let (body, _) = read_capped(response, max).await?;
        Ok((status, body))
    }
}

/// Where a redirect response sends us: a 301, 302, 303, 307 or 308 with a `Location` that
/// resolves to an http(s) URL.
fn redirect_target(response: &reqwest::Response, current: &Url) -> Option<Url> {
    if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    let next = current.join(location.trim()).ok()?;
    matches!(next.scheme(), "http" | "https").then_some(next)
}

/// The media type of a Content-Type value as written (case kept), without parameters and
/// surrounding whitespace.
fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// Only HTML and XHTML are parsed. A response without Content-Type is treated as HTML, as
/// browsers sniff it.
fn is_html(content_type: &str) -> bool {
    let media = media_type(content_type);
    media.eq_ignore_ascii_case("text/html") || media.eq_ignore_ascii_case("application/xhtml+xml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_media_types_are_recognised() {
        assert!(is_html("text/html"));
        assert!(is_html("Text/HTML; charset=utf-8"));
        assert!(is_html("application/xhtml+xml"));
        assert!(!is_html("text/plain"));
        assert!(!is_html("application/json; charset=utf-8"));
        assert_eq!(media_type("image/png ; q=1"), "image/png");
    }
}
