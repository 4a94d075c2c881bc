//! The default link path (the streaming scanner, or the tree builder when the scanner is
//! unsure of the page) against the tree builder alone: the same links, in the same order, with
//! the same `rel="nofollow"` marks, `<meta>` tags and fragment targets, for any HTML. The first byte picks the options, the page URL and the page encoding; the rest is
//! the HTML.
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
    areq::fuzzing::extract_differential(html, &page, encoding, &options);
});
