//! The open-file limit: raised as far as the system allows at start, and the concurrency
//! it can carry; and the allocator's settings that keep memory near what is in use.
//!
//! Every request in flight holds a socket, a lookup briefly holds two more (A and AAAA), and
//! the run itself holds a few dozen files (standard streams, output, the runtime's own).
//! Rather than let pages fail with "Too many open files", the soft `RLIMIT_NOFILE` is raised
//! to the hard limit (as nginx and Go's runtime do), and if even that cannot carry `-c`, the
//! concurrency is lowered to what it can, with one warning.

/// Allocations at least this large get pages of their own, returned to the system when freed.
const MMAP_THRESHOLD: libc::c_int = 256 * 1024;
/// Allocator arenas: one is shared by the event loop, the rest by the parse threads.
const MALLOC_ARENAS: libc::c_int = 2;

/// Keeps peak memory near the memory in use, with glibc's allocator.
///
/// glibc raises its mmap threshold each time a large block is freed (up to 32 MB), so after
/// the first big page, multi-megabyte bodies come from the heap and their memory stays there,
/// once per thread arena. A fixed threshold returns every large body to the system when its
/// page is done, and two arenas bound what the parse threads hold. Elsewhere a no-op.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters, and takes the allocator's own locks.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
    }
}

/// Descriptors set aside for everything but requests in flight: standard streams, the
/// output and input files, the runtime, idle kept-alive connections, robots.txt.
pub const RESERVED_FDS: u64 = 64;
/// Descriptors one request in flight may hold at once: its connection, or the two sockets
/// of its A and AAAA lookups, and one to spare for a redirect to another host.
pub const FDS_PER_REQUEST: u64 = 3;

/// Raises the soft open-file limit to the hard one. Returns the soft limit now in force, or
/// `None` when it is unlimited or cannot be read.
pub fn raise_open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = limit.rlim_max;
        } else {
            tracing::debug!(
                soft = limit.rlim_cur,
                hard = limit.rlim_max,
                "cannot raise the open-file limit"
            );
        }
    }
    // rlim_t is u64 on Linux but not on every Unix.
    #[allow(clippy::unnecessary_cast)]
    (limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur as u64)
}

/// The most requests in flight that `open_files` descriptors carry (at least 1).
pub fn concurrency_allowed(open_files: u64) -> usize {
    let requests = open_files.saturating_sub(RESERVED_FDS) / FDS_PER_REQUEST;
    usize::try_from(requests).unwrap_or(usize::MAX).max(1)
}

/// Raises the open-file limit and returns the concurrency to use: `wanted`, or less with
/// one warning when the limit cannot carry it.
pub fn fit_concurrency(wanted: usize) -> usize {
    let Some(open_files) = raise_open_file_limit() else {
        return wanted;
    };
    let allowed = concurrency_allowed(open_files);
    if allowed >= wanted {
        return wanted;
    }
    tracing::warn!(
        "the open-file limit ({open_files}) allows {allowed} requests in flight, not {wanted}: \
         using --concurrency {allowed} (raise the hard limit with `ulimit -Hn` to go higher)"
    );
    allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_carries_requests_after_the_reserve() {
        assert_eq!(concurrency_allowed(256), 64);
        assert_eq!(concurrency_allowed(1024), 320);
        assert_eq!(concurrency_allowed(10), 1);
        assert_eq!(concurrency_allowed(0), 1);
    }

    #[test]
    fn raising_leaves_a_usable_limit() {
        if let Some(limit) = raise_open_file_limit() {
            assert!(limit >= 3, "at least the standard streams fit");
        }
    }
}
