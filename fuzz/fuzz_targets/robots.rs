//! robots.txt: the first line is the User-Agent, the next lines up to a blank one are paths
//! to check, the rest is the robots.txt body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(2, "\n\n");
    let head = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let mut lines = head.lines();
    let agent = lines.next().unwrap_or("areq/0.1");
    let paths: Vec<&str> = lines.take(8).collect();
    areq::fuzzing::robots(agent, body.as_bytes(), &paths);
    areq::fuzzing::robots("areq/0.1", data, &["/", "/private/x"]);
});
