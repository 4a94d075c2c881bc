//! The one shared HTTP client, and fetching one page with it.

mod body;
mod proxy;
mod resolve;
pub(crate) mod retry;
mod tls;

use std::sync::Arc;

use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::redirect;
use url::Url;

use crate::config::FetchOptions;
use crate::error::{FatalError, FetchError};
use crate::fetch::body::read_capped;
use crate::fetch::resolve::SystemResolver;
use crate::fetch::retry::{retry_after, Failure};

pub(crate) use resolve::DnsFailure;

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

/// Fetches pages through one shared, pooled client.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    max_body: u64,
}

impl Fetcher {
    /// Builds the client: rustls, compression, the timeouts, redirect limit and headers, the
    /// trusted roots and the proxy.
    pub(crate) fn new(options: &FetchOptions) -> Result<Fetcher, FatalError> {
        let mut headers = options.headers.clone();
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_HTML));
        }
        let builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(options.user_agent.clone())
            .default_headers(headers)
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .redirect(redirect_policy(options.max_redirects))
            .dns_resolver(Arc::new(SystemResolver));
        let builder = proxy::route(tls::trust(builder, &options.tls)?, &options.proxy)?;
        let client = builder
            .build()
            .map_err(|err| FatalError::Client(err.to_string()))?;
        Ok(Fetcher {
            client,
            max_body: options.max_body,
        })
    }

    /// Sends one GET and waits for the response head, following redirects.
    async fn send(&self, url: &Url) -> Result<reqwest::Response, FetchError> {
        self.client
            .get(url.clone())
            .send()
            .await
            .map_err(|err| FetchError::from_reqwest(&err))
    }

    /// GETs `url` once, following redirects. Non-2xx final statuses are errors (with the
    /// server's `Retry-After`); HTML bodies are read up to the size cap.
    pub(crate) async fn fetch(&self, url: &Url) -> Result<Fetched, Failure> {
        let response = self.send(url).await?;
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
            content_type,
            body,
            truncated,
        }))
    }

    /// GETs `url` once and returns its final status and, for a 2xx, up to `max` bytes of its
    /// body whatever its type (for robots.txt).
    pub(crate) async fn fetch_bytes(
        &self,
        url: &Url,
        max: u64,
    ) -> Result<(u16, Vec<u8>), FetchError> {
        let response = self.send(url).await?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Ok((status, Vec::new()));
        }
        let (body, _) = read_capped(response, max).await?;
        Ok((status, body))
    }
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
