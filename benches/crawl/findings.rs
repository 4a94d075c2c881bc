//! What each link checker reported as broken, read from its own output format into one shape:
//! (source page, link, status class). Links are compared as the `url` crate writes them, so
//! `with%20space` and `with space` are one link.

use std::collections::BTreeMap;

use url::Url;

use crate::linkcheck_site::Class;

/// Broken links a checker reported: (source, link) to the class of its status.
pub type Findings = BTreeMap<(String, String), Class>;

/// A URL as the `url` crate writes it, or the text as given when it does not parse.
pub fn normalize(text: &str) -> String {
    Url::parse(text.trim()).map_or_else(|_| text.trim().to_owned(), String::from)
}

/// A source page's URL as [`normalize`] writes it, without its fragment: the page is the same
/// whichever of its anchors a checker reached it by (LinkChecker names the parent by the link
/// it followed, `p1.html#sec2`).
pub fn page(text: &str) -> String {
    match Url::parse(text.trim()) {
        Ok(mut url) => {
            url.set_fragment(None);
            url.into()
        }
        Err(_) => text.trim().to_owned(),
    }
}

/// areq's TSV (`source<TAB>link<TAB>status`): every record whose status is neither 2xx nor `-`.
pub fn areq_tsv(text: &str) -> Findings {
    let mut found = Findings::new();
    for line in text.lines().skip(1) {
        let mut fields = line.split('\t');
        let (Some(source), Some(link), Some(status)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if status == "-" || status.starts_with('2') {
            continue;
        }
        let class = match status {
            "redirects" => Class::Redirects,
            "connect" | "host unreachable" => Class::Connect,
            "dns" => Class::Dns,
            "timeout" => Class::Timeout,
            "fragment-missing" => Class::Fragment,
            "robots" => Class::Robots,
            other => other
                .parse()
                .map_or_else(|_| Class::Other(other.to_owned()), Class::Status),
        };
        found.insert((page(source), normalize(link)), class);
    }
    found
}

/// linkinator's `--format json`: `{"links": [{"url", "status", "state", "parent"}]}`, broken
/// when `state` is `BROKEN`. Its JSON gives no reason beside the status (0 when there was no
/// answer), so a failure without a status is classed by the link alone where it can only be
/// one thing (a fragment on a page that answered 200), else `no status`.
pub fn linkinator_json(text: &str) -> Findings {
    let mut found = Findings::new();
    let json: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    for link in json["links"].as_array().into_iter().flatten() {
        if link["state"] != "BROKEN" {
            continue;
        }
        let url = link["url"].as_str().unwrap_or_default();
        let parent = link["parent"].as_str().unwrap_or_default();
        let status = link["status"].as_u64().unwrap_or(0) as u16;
        let class = match status {
            0 => Class::Other("no status".to_owned()),
            200 if url.contains('#') => Class::Fragment,
            code => Class::Status(code),
        };
        found.insert((page(parent), normalize(url)), class);
    }
    found
}

/// LinkChecker's `-o csv`: `;`-separated, `"`-quoted (a quoted field may hold line breaks),
/// `#` comment lines, a header naming the columns; broken when `valid` is `False`.
pub fn linkchecker_csv(text: &str) -> Findings {
    let mut found = Findings::new();
    let body: String = text
        .lines()
        .skip_while(|line| line.starts_with('#'))
        .flat_map(|line| [line, "\n"])
        .collect();
    let mut rows = csv_records(&body).into_iter();
    let Some(columns) = rows.next() else {
        return found;
    };
    let column = |name: &str| columns.iter().position(|c| c == name);
    let (Some(url), Some(parent), Some(result), Some(valid)) = (
        column("url"),
        column("parentname"),
        column("result"),
        column("valid"),
    ) else {
        return found;
    };
    for fields in rows {
        if fields.len() <= url.max(parent).max(result).max(valid) || fields[valid] != "False" {
            continue;
        }
        let class = classify(&fields[result]);
        found.insert((page(&fields[parent]), normalize(&fields[url])), class);
    }
    found
}

/// lychee's `--format json`: `{"error_map": {SOURCE: [{"url", "status": {"text", "code"}}]}}`,
/// and `timeout_map` alike for the links that timed out.
pub fn lychee_json(text: &str) -> Findings {
    let mut found = Findings::new();
    let json: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    for map in ["error_map", "timeout_map"] {
        let Some(errors) = json[map].as_object() else {
            continue;
        };
        for (source, links) in errors {
            for link in links.as_array().into_iter().flatten() {
                let url = link["url"].as_str().unwrap_or_default();
                let status = &link["status"];
                let text = status["text"].as_str().unwrap_or_default();
                let class = match status["code"].as_u64() {
                    Some(code) if !text.to_ascii_lowercase().contains("redirect") => {
                        Class::Status(code as u16)
                    }
                    _ if map == "timeout_map" => Class::Timeout,
                    _ => classify(text),
                };
                found.insert((page(source), normalize(url)), class);
            }
        }
    }
    found
}

/// A checker's failure text to a class: an HTTP status at its start, else the first cause it
/// names, checked from the most specific (a DNS failure also says "connection").
pub fn classify(text: &str) -> Class {
    let lower = text.to_ascii_lowercase();
    if let Some(code) = lower
        .split_whitespace()
        .find_map(|word| word.parse::<u16>().ok())
        .filter(|code| (100..600).contains(code) && !lower.contains("redirect"))
    {
        return Class::Status(code);
    }
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&["timed out", "timeout"]) {
        Class::Timeout
    } else if has(&[
        "resolve",
        "name resolution",
        "enotfound",
        "dns",
        "not known",
    ]) {
        Class::Dns
    } else if has(&["redirect"]) {
        Class::Redirects
    } else if has(&["refused", "connect"]) {
        Class::Connect
    } else if has(&["fragment", "anchor"]) {
        Class::Fragment
    } else if has(&["robots"]) {
        Class::Robots
    } else {
        Class::Other(text.chars().take(60).collect())
    }
}

/// Records of `;`-separated CSV with `"` quoting (`""` inside quotes is a quote; line breaks
/// inside quotes belong to the field).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().expect("never empty").push('"');
            }
            ('"', _) => quoted = !quoted,
            (';', false) => fields.push(String::new()),
            ('\n', false) => {
                records.push(std::mem::replace(&mut fields, vec![String::new()]));
            }
            ('\r', false) => {}
            (c, _) => fields.last_mut().expect("never empty").push(c),
        }
    }
    if fields.len() > 1 || !fields[0].is_empty() {
        records.push(fields);
    }
    records
}
