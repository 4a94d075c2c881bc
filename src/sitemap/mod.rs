//! `--sitemap`: the pages a site's sitemaps list join the crawl as seeds.
//!
//! A task between the input reader and the scheduler passes every seed on, and the first
//! time it sees an origin reads that origin's sitemaps: the `Sitemap:` lines of its
//! robots.txt, else `/sitemap.xml`. Index files are followed (at most [`MAX_INDEX_DEPTH`]
//! deep), each sitemap URL is read once in the run, gzip-compressed files are inflated, and
//! each file is held to sitemaps.org's limits ([`parse::MAX_ENTRIES`] entries, 50 MB
//! uncompressed, lower when `--max-body` is). The pages listed go through the same scope and
//! include/exclude rules as followed links, then on to the scheduler as depth-0 seeds, which
//! fetches each once like any other page. A broken or hostile file is a warning with a
//! reason; what was read before the break is kept.

mod parse;

use std::collections::{HashSet, VecDeque};
use std::io::Read;
use std::sync::Arc;

use flate2::read::GzDecoder;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

use crate::fetch::Fetcher;
use crate::input::Seed;
use crate::job::Lineage;
use crate::robots::RobotsCache;
use crate::scope::ScopeRules;

pub(crate) use parse::parse_sitemap;
use parse::Kind;
#[cfg(feature = "fuzzing")]
pub(crate) use parse::MAX_ENTRIES;

/// The largest sitemap file, uncompressed (sitemaps.org).
pub(crate) const MAX_SITEMAP_BYTES: u64 = 50 * 1024 * 1024;
/// How deep index files may nest (the standard allows one level; some sites nest more).
pub(crate) const MAX_INDEX_DEPTH: u32 = 3;
/// The most sitemap files read for one origin.
pub(crate) const MAX_FILES_PER_ORIGIN: usize = 1_000;

/// Reads sitemaps for the origins the seeds come from.
pub(crate) struct Sitemaps {
    /// The one HTTP client.
    pub(crate) fetcher: Fetcher,
    /// robots.txt per origin, shared with the page tasks so it is fetched once.
    pub(crate) robots: Arc<RobotsCache>,
    /// Which listed pages are crawled.
    pub(crate) scope: ScopeRules,
    /// The largest file read, uncompressed.
    pub(crate) max_bytes: u64,
}

/// One sitemap file to read.
struct Pending {
    url: Url,
    /// 0 for the files robots.txt names or `/sitemap.xml`, k + 1 for those an index at k lists.
    depth: u32,
    /// Named by robots.txt or an index, so a failure to read it is worth a warning.
    declared: bool,
}

impl Sitemaps {
    /// Moves the reader into a task between `input` and the channel it returns (of
    /// `capacity`). The task ends when `input` ends and every sitemap is read, or when the
    /// receiver is dropped.
    pub(crate) fn spawn(
        self,
        mut input: mpsc::Receiver<Seed>,
        capacity: usize,
    ) -> (mpsc::Receiver<Seed>, JoinHandle<()>) {
        let (seeds_tx, seeds_rx) = mpsc::channel(capacity.max(1));
        let task = tokio::spawn(async move {
            let mut origins = HashSet::new();
            let mut read = HashSet::new();
            while let Some(seed) = input.recv().await {
                let url = seed.url.clone();
                if seeds_tx.send(seed).await.is_err() {
                    return;
                }
                if origins.insert(url.origin().ascii_serialization())
                    && !self.read_origin(&url, &mut read, &seeds_tx).await
                {
                    return;
                }
            }
        });
        (seeds_rx, task)
    }

    /// Reads the sitemaps of `seed`'s origin and sends the pages they list. `read` holds the
    /// sitemap URLs read so far in the run. Returns false when the receiver is gone.
    async fn read_origin(
        &self,
        seed: &Url,
        read: &mut HashSet<Url>,
        seeds: &mpsc::Sender<Seed>,
    ) -> bool {
        let origin = self.scope.origin_of(seed);
        let seed_origin = seed.origin().ascii_serialization();
        let mut queue: VecDeque<Pending> = self.first_files(seed).await.into();
        let mut files = 0;
        while let Some(file) = queue.pop_front() {
            if !read.insert(file.url.clone()) {
                tracing::warn!(sitemap = %file.url, "sitemap skipped: already read (an index lists it again or lists itself)");
                continue;
            }
            if files == MAX_FILES_PER_ORIGIN {
                tracing::warn!(sitemap = %file.url, "sitemap skipped: more than {MAX_FILES_PER_ORIGIN} sitemap files for one site");
                break;
            }
            files += 1;
            // A sitemap file elsewhere than the seed's site is held to what is found below
            // the seed.
            let lineage = Lineage {
                seed_origin: &seed_origin,
                input: file.url.origin() == seed.origin(),
            };
            let parsed = match self.fetch(&file.url, lineage).await {
                Ok(parsed) => parsed,
                Err(reason) if file.declared => {
                    tracing::warn!(sitemap = %file.url, reason = %reason, "sitemap skipped");
                    continue;
                }
                Err(reason) => {
                    tracing::debug!(sitemap = %file.url, reason = %reason, "no sitemap");
                    continue;
                }
            };
            match (&parsed.problem, parsed.kind) {
                (Some(problem), Some(_)) => {
                    tracing::warn!(sitemap = %file.url, reason = %problem, "sitemap read in part");
                }
                (Some(problem), None) => {
                    tracing::warn!(sitemap = %file.url, reason = %problem, "sitemap skipped");
                }
                (None, _) => {}
            }
            let mut sent = 0;
            for loc in parsed.locs {
                let Ok(url) = file.url.join(&loc) else {
                    tracing::debug!(sitemap = %file.url, loc = %loc, "not a URL");
                    continue;
                };
                match parsed.kind {
                    Some(Kind::Index) if file.depth < MAX_INDEX_DEPTH => {
                        queue.push_back(Pending {
                            url,
                            depth: file.depth + 1,
                            declared: true,
                        });
                    }
                    Some(Kind::Index) => {
                        tracing::warn!(sitemap = %url, "sitemap skipped: indexes nest more than {MAX_INDEX_DEPTH} deep");
                    }
                    Some(Kind::Pages) if self.scope.check(&url, &origin).is_ok() => {
                        let seed = Seed {
                            line: 0,
                            source: loc,
                            url,
                        };
                        if seeds.send(seed).await.is_err() {
                            return false;
                        }
                        sent += 1;
                    }
                    _ => {
                        tracing::debug!(sitemap = %file.url, url = %url, "listed page not in scope")
                    }
                }
            }
            tracing::info!(sitemap = %file.url, pages = sent, "sitemap read");
        }
        true
    }

    /// The files robots.txt names for `seed`'s origin, else its `/sitemap.xml`.
    async fn first_files(&self, seed: &Url) -> Vec<Pending> {
        let seed_origin = seed.origin().ascii_serialization();
        let lineage = Lineage {
            seed_origin: &seed_origin,
            input: true,
        };
        let rules = self.robots.rules_for(seed, lineage).await;
        let declared: Vec<Pending> = rules
            .sitemaps()
            .iter()
            .filter_map(|text| seed.join(text.trim()).ok())
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .map(|url| Pending {
                url,
                depth: 0,
                declared: true,
            })
            .collect();
        if !declared.is_empty() {
            return declared;
        }
        seed.join("/sitemap.xml")
            .map(|url| Pending {
                url,
                depth: 0,
                declared: false,
            })
            .into_iter()
            .collect()
    }

    /// Fetches and parses one file, off the event loop; `Err` says why it has nothing.
    async fn fetch(&self, url: &Url, lineage: Lineage<'_>) -> Result<parse::Parsed, String> {
        let (status, body) = self
            .fetcher
            .fetch_bytes(url, self.max_bytes.saturating_add(1), lineage)
            .await
            .map_err(|err| err.to_string())?;
        if !(200..300).contains(&status) {
            return Err(format!("HTTP {status}"));
        }
        let max = self.max_bytes;
        tokio::task::spawn_blocking(move || {
            decode_sitemap(&body, max).map(|xml| parse_sitemap(&xml))
        })
        .await
        .map_err(|err| format!("parser failed: {err}"))?
    }
}

/// The XML of a fetched file: inflated when it is gzip (whatever its headers say), at most
/// `max` bytes.
pub(crate) fn decode_sitemap(body: &[u8], max: u64) -> Result<Vec<u8>, String> {
    let too_big = || format!("larger than {max} bytes uncompressed");
    if !body.starts_with(&[0x1f, 0x8b]) {
        return match body.len() as u64 > max {
            true => Err(too_big()),
            false => Ok(body.to_vec()),
        };
    }
    let mut xml = Vec::new();
    GzDecoder::new(body)
        .take(max.saturating_add(1))
        .read_to_end(&mut xml)
        .map_err(|err| format!("broken gzip: {err}"))?;
    if xml.len() as u64 > max {
        return Err(too_big());
    }
    Ok(xml)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_is_inflated_and_held_to_the_limit_uncompressed() {
        assert_eq!(
            decode_sitemap(&gzip(b"<urlset/>"), 100).unwrap(),
            b"<urlset/>"
        );
        assert_eq!(decode_sitemap(b"<urlset/>", 100).unwrap(), b"<urlset/>");
        let bomb = gzip(&vec![b' '; 1_000_000]);
        assert!(bomb.len() < 10_000);
        assert_eq!(
            decode_sitemap(&bomb, 100_000).unwrap_err(),
            "larger than 100000 bytes uncompressed"
        );
        assert!(decode_sitemap(&[0x1f, 0x8b, 0, 1, 2], 100)
            .unwrap_err()
            .starts_with("broken gzip"));
        assert!(decode_sitemap(&[b'x'; 101], 100).is_err());
    }
}
