//! Sitemap files: plain or gzip XML, urlset or index, under a size cap.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    areq::fuzzing::sitemap(data, 1 << 20);
});
