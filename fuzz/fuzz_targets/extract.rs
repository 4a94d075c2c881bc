//! The link extractor, every path: the first byte picks the options (all schemes, fragments
//! stripped), the page URL and the page encoding; the rest is the HTML.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, rest)) = data.split_first() else {
        return;
    };
    let Ok(html) = std::str::from_utf8(rest) else {
        return;
    };
    let (options, page, encoding) = areq::fuzzing::link_knobs(knobs);
    areq::fuzzing::extract(html, &page, encoding, &options);
});
