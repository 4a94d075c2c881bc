//! The CPU work for one fetched page: decode the body, find the links, format the records.
//! Pure and synchronous, so the page task runs it on a blocking thread, off the event loop.

use url::Url;

use crate::config::{Format, LinkOptions};
use crate::decode::decode_html;
use crate::extract::extract_links;
use crate::fetch::Page;
use crate::output::{format_page, PageMeta, Records};

/// Decodes `page`, extracts its links and formats them as records. Returns the records and
/// the links themselves (for following and the graph).
pub(crate) fn page_records(
    page: &Page,
    meta: PageMeta<'_>,
    links: &LinkOptions,
    format: Format,
) -> (Records, Vec<Url>) {
    let (html, encoding) = decode_html(&page.body, page.content_type.as_deref());
    let found = extract_links(&html, &page.final_url, encoding, links);
    let mut bytes = Vec::with_capacity(found.len() * (meta.source.len() + 64));
    let count = format_page(format, meta, &found, &mut bytes);
    let records = Records {
        source: meta.source.to_owned(),
        bytes,
        count,
        flushed: None,
    };
    (records, found)
}
