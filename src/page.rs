//! The CPU work for one fetched page: decode the body, find the links, format the records.
//! Pure and synchronous, so the crawler runs it on a blocking thread, off the event loop.

use crate::config::{Format, LinkOptions};
use crate::extract::extract_links;
use crate::fetch::body::decode_html;
use crate::fetch::Page;
use url::Url;

use crate::output::{format_page, PageMeta, Records};

/// Decodes `page`, extracts its links and formats them as records. Returns the records and
/// the links themselves (for following and the graph).
pub fn page_records(
    page: &Page,
    meta: PageMeta<'_>,
    links: &LinkOptions,
    format: Format,
) -> (Records, Vec<Url>) {
    let (html, encoding) = decode_html(&page.body, page.charset.as_deref());
    let found = extract_links(&html, &page.final_url, encoding, links);
    let mut bytes = Vec::with_capacity(found.len() * (meta.source.len() + 64));
    let count = format_page(format, meta, &found, &mut bytes);
    let source = meta.source.to_owned();
    (
        Records {
            source,
            bytes,
            count,
        },
        found,
    )
}
