//! The link extractor, every path: the first byte picks the options (all schemes, fragments
//! stripped), the page URL and the page encoding; the rest is the HTML.
#![no_main]

use areq::config::LinkOptions;
use encoding_rs::{Encoding, SHIFT_JIS, UTF_8, WINDOWS_1252};
use libfuzzer_sys::fuzz_target;
use url::Url;

const PAGES: [&str; 4] = [
    "http://example.com/dir/page.html?q=1#top",
    "https://xn--caf-dma.example/",
    "http://[::1]:8080/a/b/",
    "http://192.168.0.1/",
];
const ENCODINGS: [&Encoding; 3] = [UTF_8, WINDOWS_1252, SHIFT_JIS];

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, rest)) = data.split_first() else {
        return;
    };
    let Ok(html) = std::str::from_utf8(rest) else {
        return;
    };
    let options = LinkOptions {
        all_schemes: knobs & 1 != 0,
        strip_fragments: knobs & 2 != 0,
    };
    let page = Url::parse(PAGES[usize::from(knobs >> 2) % PAGES.len()]).unwrap();
    let encoding = ENCODINGS[usize::from(knobs >> 4) % ENCODINGS.len()];
    areq::fuzzing::extract(html, &page, encoding, &options);
});
