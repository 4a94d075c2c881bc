//! `areq status`: the progress of a shared crawl, as its frontier reports it.

use crate::error::FatalError;

/// Prints the state of crawl `name` kept in the Redis at `url`: whether it is finished, what
/// is queued and in flight, and the crawl-wide counts.
pub async fn show(url: &str, name: &str) -> Result<String, FatalError> {
    crate::frontier::show_status(url, name).await
}
