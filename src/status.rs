//! `areq status` and `areq forget`: an operator's view of a shared crawl, and its clean-up.

use crate::error::FatalError;

/// Prints the state of crawl `name` kept in the Redis at `url`: whether it is finished, what
/// is queued and in flight, and the crawl-wide counts.
pub async fn show(url: &str, name: &str) -> Result<String, FatalError> {
    crate::frontier::show_status(url, name).await
}

/// Deletes every key of crawl `name` kept in the Redis at `url`; refuses while workers hold
/// pages of it, unless `force`. Returns how many keys were deleted.
pub async fn forget(url: &str, name: &str, force: bool) -> Result<u64, FatalError> {
    crate::frontier::forget(url, name, force).await
}
