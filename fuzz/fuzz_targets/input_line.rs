//! Input lists and arguments: line classification, and the up-front count against the lines.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    areq::fuzzing::input(data);
});
