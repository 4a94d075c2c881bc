//! The one shared HTTP client, and fetching one page with it.

pub mod body;
pub mod clients;
pub mod dns;
pub mod retry;
pub mod tls;

use std::sync::Arc;

use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::redirect;
use url::Url;

use crate::config::FetchOptions;
use crate::error::{FatalError, FetchError};
use crate::fetch::clients::{HostClients, Lease};
use crate::fetch::dns::Resolver;
use crate::fetch::retry::{retry_after, Failure};

/// What browsers ask for; `-H 'Accept: …'` replaces it.
const ACCEPT_HTML: &str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";

/// Never trust a Content-Length for more up-front allocation than this.
const MAX_PREALLOCATION: u64 = 1024 * 1024;

/// A fetched HTML page, its body not yet decoded.
#[derive(Debug)]
pub struct Page {
    /// The URL after redirects: the base for relative links.
    pub final_url: Url,
    /// The final status (2xx).
    pub status: u16,
    /// The `charset` parameter of Content-Type, if any.
    pub charset: Option<String>,
    /// The body, at most `--max-body` bytes after decompression.
    pub body: Vec<u8>,
    /// The body was longer than `--max-body` and was cut there.
    pub truncated: bool,
}

/// The result of a successful request.
#[derive(Debug)]
pub enum Fetched {
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
pub struct Fetcher {
    clients: Arc<HostClients>,
    max_body: u64,
}

impl Fetcher {
    /// Sets up the clients: rustls, compression, the timeouts, redirect limit, headers and
    /// the crawl's resolver. One is built at once, so a bad setting fails here.
    pub fn new(options: &FetchOptions) -> Result<Fetcher, FatalError> {
        let mut headers = options.headers.clone();
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_HTML));
        }
        let resolver = Arc::new(Resolver::new(&options.dns_servers, options.connect_timeout));
        let tls = tls::client_config().map_err(|err| FatalError::Client(err.to_string()))?;
        let options = options.clone();
        let build = move || {
            reqwest::Client::builder()
                .use_preconfigured_tls(tls.clone())
                .user_agent(options.user_agent.clone())
                .default_headers(headers.clone())
                .timeout(options.timeout)
                .connect_timeout(options.connect_timeout)
                .redirect(redirect_policy(options.max_redirects))
                .dns_resolver(Arc::clone(&resolver))
                .build()
        };
        build().map_err(|err| FatalError::Client(err.to_string()))?;
        Ok(Fetcher {
            clients: Arc::new(HostClients::new(Box::new(build))),
            max_body: options.max_body,
        })
    }

    /// Sends one GET with `url`'s host's client and waits for the response head, following
    /// redirects. The lease must be held until the body is read.
    async fn send(&self, url: &Url) -> Result<(Lease, reqwest::Response), FetchError> {
        let lease = self
            .clients
            .lease(url.host_str().unwrap_or_default())
            .map_err(|err| FetchError::from_reqwest(&err))?;
        let response = lease
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|err| FetchError::from_reqwest(&err))?;
        Ok((lease, response))
    }

    /// GETs `url` once, following redirects. Non-2xx final statuses are errors (with the
    /// server's `Retry-After`); HTML bodies are read up to the size cap.
    pub async fn fetch(&self, url: &Url) -> Result<Fetched, Failure> {
        let (_lease, response) = self.send(url).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(Failure {
                error: FetchError::Status(status.as_u16()),
                retry_after: retry_after(response.headers()),
            });
        }
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
        let (body, truncated) = read_capped(response, self.max_body).await?;
        Ok(Fetched::Html(Page {
            final_url,
            status: status.as_u16(),
            charset: content_type
                .as_deref()
                .and_then(body::charset_param)
                .map(str::to_owned),
            body,
            truncated,
        }))
    }

    /// GETs `url` once and returns its final status and, for a 2xx, up to `max` bytes of its
    /// body whatever its type (for robots.txt).
    pub async fn fetch_bytes(&self, url: &Url, max: u64) -> Result<(u16, Vec<u8>), FetchError> {
        let (_lease, response) = self.send(url).await?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Ok((status, Vec::new()));
        }
        let (body, _) = read_capped(response, max).await?;
        Ok((status, body))
    }
}

/// Reads the (decompressed) body up to `max` bytes; says whether it was cut there.
async fn read_capped(
    mut response: reqwest::Response,
    max: u64,
) -> Result<(Vec<u8>, bool), FetchError> {
    let capacity = response.content_length().unwrap_or(0).min(max);
    let mut body = Vec::with_capacity(capacity.min(MAX_PREALLOCATION) as usize);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| FetchError::from_reqwest(&err))?
    {
        let room = max - body.len() as u64;
        if chunk.len() as u64 > room {
            body.extend_from_slice(&chunk[..room as usize]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// Follows up to `max` redirects and fails at once on a loop.
fn redirect_policy(max: usize) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max {
            attempt.error(format!("more than {max} redirects"))
        } else if attempt.previous().contains(attempt.url()) {
            attempt.error("redirect loop")
        } else {
            attempt.follow()
        }
    })
}

/// The media type of a Content-Type value, lowercased, without parameters.
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
