//! Shrinking a failing input: spans of it are deleted, halving in size, while it still fails,
//! so a mismatch found in a generated document is reported with a small document showing it.

/// How many candidates one shrink may try: enough for a few kilobytes, bounded for larger.
const TRIES: usize = 20_000;

/// A shorter text for which `fails` still holds, found by deleting spans of `text`.
pub fn shrink(text: &str, fails: impl Fn(&str) -> bool) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let mut tries = 0;
    loop {
        let before = chars.len();
        let mut span = (chars.len() / 2).max(1);
        while span >= 1 && tries < TRIES {
            let mut at = 0;
            while at + span <= chars.len() && tries < TRIES {
                tries += 1;
                let candidate: String = chars[..at].iter().chain(&chars[at + span..]).collect();
                if fails(&candidate) {
                    chars.drain(at..at + span);
                } else {
                    at += span;
                }
            }
            span /= 2;
        }
        if chars.len() == before || tries >= TRIES {
            return chars.into_iter().collect();
        }
    }
}
