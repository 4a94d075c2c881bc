//! How a shared crawl is laid out in Redis: its own keys, and its partitions.
//!
//! A crawl is split by host into [`Layout::partitions`] partitions, fixed when the crawl is
//! made and stored in its settings. A host's partition is `xxh3_64(host) mod P`, the hash the
//! fingerprints use, so every worker puts a host in the same one; everything about a host
//! lives there (its queue, pace, seen URLs, robots.txt verdict, leases). Each partition has a
//! hash tag of its own, `{NAME:N}`, so a Redis Cluster spreads a crawl's partitions, and its
//! memory and work, over its masters; a single Redis holds them all. What the crawl keeps
//! once (settings with the epoch, the active set, waiting workers, wake-ups, the page budget)
//! is under `{NAME}`.

/// Partitions a new crawl is made with: many more than any Cluster has masters, so they
/// spread evenly, and few enough that the crawl's end check reads them all in one round trip.
pub(crate) const NEW_CRAWL_PARTITIONS: u16 = 1024;

/// The key names of one crawl.
#[derive(Debug)]
pub(crate) struct Layout {
    name: String,
    /// `areq:{NAME:N}:` for each partition N.
    prefixes: Vec<String>,
}

impl Layout {
    /// The layout of crawl `name` with `partitions` partitions (at least one).
    pub(crate) fn new(name: &str, partitions: u16) -> Layout {
        Layout {
            name: name.to_owned(),
            prefixes: (0..partitions.max(1))
                .map(|n| format!("areq:{{{name}:{n}}}:"))
                .collect(),
        }
    }

    /// How many partitions the crawl has.
    pub(crate) fn partitions(&self) -> u16 {
        self.prefixes.len() as u16
    }

    /// Every partition, in order.
    pub(crate) fn all(&self) -> impl Iterator<Item = u16> {
        0..self.partitions()
    }

    /// The partition `host` lives in.
    pub(crate) fn partition_of(&self, host: &str) -> u16 {
        (xxhash_rust::xxh3::xxh3_64(host.as_bytes()) % u64::from(self.partitions())) as u16
    }

    /// The key prefix of partition `n`: `areq:{NAME:N}:`.
    pub(crate) fn prefix(&self, n: u16) -> &str {
        &self.prefixes[usize::from(n)]
    }

    /// The epoch key of partition `n`: every script in the partition names it in `KEYS`.
    pub(crate) fn epoch_key(&self, n: u16) -> String {
        format!("{}epoch", self.prefix(n))
    }

    /// The key prefix of what the crawl keeps once: `areq:{NAME}:`.
    pub(crate) fn crawl_prefix(&self) -> String {
        crawl_prefix(&self.name)
    }

    /// The Cluster slot of partition `n`.
    #[cfg(test)]
    pub(crate) fn slot(&self, n: u16) -> u16 {
        slot_of(self.prefix(n))
    }
}

/// The prefix of what crawl `name` keeps once (a NAME has no braces or colons: see
/// `parse_crawl_name`, so no crawl's keys look like another's partition).
pub(crate) fn crawl_prefix(name: &str) -> String {
    format!("areq:{{{name}}}:")
}

/// The Cluster slot of `key`: CRC16 (XMODEM) of its hash tag (the text between its first
/// `{` and the next `}`, when not empty), or of the whole key, modulo 16,384.
pub(crate) fn slot_of(key: &str) -> u16 {
    let key = key.as_bytes();
    let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = &key[open + 1..];
        let close = rest.iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &rest[..close])
    });
    let mut crc: u16 = 0;
    for &byte in tagged.unwrap_or(key) {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16_384
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::cluster_routing::Slot;

    #[test]
    fn slots_are_the_ones_a_cluster_computes() {
        for key in [
            "foo",
            "areq:{docs:7}:epoch",
            "{}x",
            "a{b}c{d}",
            "{",
            "",
            "123456789",
        ] {
            assert_eq!(Slot::new(slot_of(key)), Some(Slot::for_key(key)), "{key}");
        }
        // The Redis Cluster specification's example: CRC16 of "123456789" is 0x31C3.
        assert_eq!(slot_of("123456789"), 0x31C3);
    }

    #[test]
    fn a_partitions_keys_share_its_hash_tag_and_partitions_spread_over_slots() {
        let layout = Layout::new("docs-2026", 1024);
        assert_eq!(layout.prefix(7), "areq:{docs-2026:7}:");
        assert_eq!(layout.epoch_key(7), "areq:{docs-2026:7}:epoch");
        let slot = slot_of;
        for key in [
            "epoch",
            "q:example.com",
            "seen:0110",
            "leases:w-1",
            "reply:w-1",
        ] {
            assert_eq!(
                slot(&format!("{}{key}", layout.prefix(7))),
                layout.slot(7),
                "{key}"
            );
        }
        for key in ["settings", "active", "wake", "waiting", "budget"] {
            assert_eq!(
                slot(&format!("{}{key}", layout.crawl_prefix())),
                slot("docs-2026")
            );
        }
        let slots: std::collections::HashSet<u16> = layout.all().map(|n| layout.slot(n)).collect();
        assert!(slots.len() > 1000, "{} distinct slots", slots.len());
        // Three masters split the 16,384 slots in thirds: each gets about a third.
        let per_master = |range: std::ops::Range<u16>| {
            layout
                .all()
                .filter(|&n| range.contains(&layout.slot(n)))
                .count()
        };
        for range in [0..5461, 5461..10923, 10923..16384] {
            let share = per_master(range.clone());
            assert!((300..380).contains(&share), "{range:?}: {share}");
        }
    }

    #[test]
    fn a_host_has_one_partition_for_every_worker() {
        let layout = Layout::new("c", 1024);
        let n = layout.partition_of("docs.example.org");
        assert_eq!(
            n,
            Layout::new("other", 1024).partition_of("docs.example.org")
        );
        assert_eq!(
            u64::from(n),
            xxhash_rust::xxh3::xxh3_64(b"docs.example.org") % 1024
        );
        let used: std::collections::HashSet<u16> = (0..10_000)
            .map(|i| layout.partition_of(&format!("host{i}.example")))
            .collect();
        assert_eq!(used.len(), 1024, "10,000 hosts reach every partition");
    }
}
