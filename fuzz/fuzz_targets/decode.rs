//! Charset detection and decoding: the first line is the Content-Type (none when empty), the
//! rest the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&data[..0], data),
    };
    let content_type = std::str::from_utf8(head).ok().filter(|t| !t.is_empty());
    areq::fuzzing::decode(body, content_type);
    areq::fuzzing::decode(data, None);
});
