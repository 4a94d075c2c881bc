//! The CPU work for one fetched page: decode the body, find the links, format the records.
//! Pure and synchronous, so the page task runs it on a blocking thread, off the event loop.

use url::Url;

use crate::config::{Format, LinkOptions};
use crate::decode::decode_html;
use crate::extract::for_each_link;
use crate::fetch::Page;
use crate::output::{PageMeta, PageRecords};

/// Decodes `page`, extracts its links and formats each one's record as it is found. Returns
/// the records and, with `keep_links`, the links themselves (for following and the graph).
pub(crate) fn page_records(
    page: &Page,
    meta: PageMeta<'_>,
    links: &LinkOptions,
    format: Format,
    keep_links: bool,
) -> (PageRecords, Vec<Url>) {
    let (html, encoding) = decode_html(&page.body, page.content_type.as_deref());
    let mut records = PageRecords::new(format, meta);
    let mut kept = Vec::new();
    for_each_link(&html, &page.final_url, encoding, links, |link| {
        records.push(link.as_str());
        if keep_links {
            kept.push(link);
        }
    });
    (records, kept)
}
