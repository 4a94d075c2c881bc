//! Parsers for flag values, and usage errors that name the flag and the value.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::CommandFactory;
use regex::Regex;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::Cli;
use crate::config::InputSource;
use crate::input::{classify_argument, Argument};

/// Parses a count that must be at least 1.
pub(super) fn parse_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_COUNT).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from 1 to {MAX_COUNT}")),
    }
}

/// The largest `-c`/`--per-host` accepted: far above what any machine's sockets allow.
const MAX_COUNT: usize = 1_000_000;

/// Parses a positive number of seconds (fractions allowed).
pub(super) fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 => Ok(secs),
        _ => Err("expected a number of seconds greater than 0 and at most 86400".into()),
    }
}

/// The port DNS servers listen on.
const DNS_PORT: u16 = 53;

/// Parses `ADDR[:PORT]`: an IPv4 or IPv6 address (`[::1]:5353` with a port), port 53 by
/// default.
pub(super) fn parse_dns_server(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, DNS_PORT))
        .map_err(|_| "expected an IP address, optionally with :PORT".into())
}

/// Parses a positive request rate.
pub(super) fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.001 => Ok(rate),
        _ => Err("expected requests per second, at least 0.001".into()),
    }
}

/// Compiles repeated regex flags, naming the flag and pattern in the error.
pub(super) fn parse_patterns(flag: &str, patterns: &[String]) -> Result<Vec<Regex>, clap::Error> {
    patterns
        .iter()
        .map(|pattern| {
            Regex::new(pattern).map_err(|err| {
                let why = err
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .to_owned();
                usage_error(format!("invalid value '{pattern}' for '{flag}': {why}"))
            })
        })
        .collect()
}

/// Parses repeated `-H 'Name: value'` flags.
pub(super) fn parse_headers(raw: &[String]) -> Result<HeaderMap, clap::Error> {
    let mut headers = HeaderMap::new();
    for line in raw {
        let invalid =
            |why: &str| usage_error(format!("invalid value '{line}' for '--header': {why}"));
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid("expected 'NAME: VALUE'"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| invalid("not a valid header name"))?;
        let value =
            HeaderValue::from_str(value.trim()).map_err(|_| invalid("not a valid header value"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// Checks a shared crawl's name: it becomes Redis hash tags, `{NAME}` and `{NAME:N}` for its
/// partitions, so it holds no braces, and no colon (a crawl `a:1` would be partition 1 of
/// crawl `a`).
pub(super) fn parse_crawl_name(name: &str) -> Result<String, clap::Error> {
    let fine = !name.is_empty()
        && name.len() <= 200
        && !name.contains(|c: char| {
            matches!(c, '{' | '}' | ':') || c.is_whitespace() || c.is_control()
        });
    match fine {
        true => Ok(name.to_owned()),
        false => Err(usage_error(format!(
            "invalid value '{name}' for '--crawl': expected 1 to 200 characters, no spaces, braces or colons"
        ))),
    }
}

/// An INPUT argument: a file, `-`, or a URL, which must be a usable one.
pub(super) fn input_source(arg: PathBuf) -> Result<InputSource, clap::Error> {
    let Some(text) = arg.to_str() else {
        return Ok(InputSource::File(arg));
    };
    match classify_argument(text, || arg.exists()) {
        Ok(Argument::Stdin) => Ok(InputSource::Stdin),
        Ok(Argument::File) => Ok(InputSource::File(arg)),
        Ok(Argument::Url(url)) => Ok(InputSource::Url {
            typed: text.to_owned(),
            url,
        }),
        Err(why) => Err(usage_error(format!(
            "invalid URL '{text}' for '[INPUT]...': {why}"
        ))),
    }
}

/// A usage error (exit 2) with `message`.
pub(super) fn usage_error(message: String) -> clap::Error {
    Cli::command().error(ErrorKind::InvalidValue, message)
}
