//! Reading a response body with a size cap, counted after decompression.

use crate::fetch::FetchError;

/// Never trust a Content-Length for more up-front allocation than this.
const MAX_PREALLOCATION: u64 = 1024 * 1024;

/// Reads the (decompressed) body up to `max` bytes; says whether it was cut there. The rest
/// is never read: dropping the response closes the connection.
pub(super) async fn read_capped(
    mut response: reqwest::Response,
    max: u64,
) -> Result<(Vec<u8>, bool), FetchError> {
    let capacity = response.content_length().unwrap_or(0).min(max);
    let mut body = Vec::with_capacity(capacity.min(MAX_PREALLOCATION) as usize);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| FetchError::from_reqwest(&err))?
    {
        let room = max - body.len() as u64;
        if chunk.len() as u64 > room {
            body.extend_from_slice(&chunk[..room as usize]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}
