//! Validated settings for one run. Built once from the command line by `cli`; no clap types
//! travel past this module.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::HeaderMap;
use url::Url;

use crate::politeness::Politeness;
use crate::scope::ScopeRules;

/// Default number of requests in flight overall.
pub const DEFAULT_CONCURRENCY: usize = 64;
/// Default number of requests in flight to one host.
pub const DEFAULT_PER_HOST: usize = 8;
/// Default whole-request timeout in seconds, body included.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// Default connect timeout in seconds.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;
/// Default number of redirects followed before a page fails.
pub const DEFAULT_MAX_REDIRECTS: usize = 10;
/// Default cap on the decompressed body size read from one page.
pub const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;
/// Default number of retries after a transient failure.
pub const DEFAULT_RETRIES: u32 = 2;
/// Default cap in seconds on one wait before a retry, `Retry-After` included.
pub const DEFAULT_MAX_RETRY_WAIT_SECS: u64 = 30;
/// Default number of requests in a row without an answer that give a host up.
pub const DEFAULT_UNREACHABLE_AFTER: u32 = 3;
/// Default input list.
pub const DEFAULT_INPUT: &str = "urls.txt";
/// Default output file.
pub const DEFAULT_OUTPUT: &str = "foundurls.txt";

/// The `User-Agent` sent when none is given.
pub fn default_user_agent() -> String {
    format!("areq/{}", env!("CARGO_PKG_VERSION"))
}

/// Where the URL list comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSource {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    File(PathBuf),
    /// A URL given on the command line.
    Url {
        /// The argument as typed: the SOURCE column of its records.
        typed: String,
        /// The URL it parses as.
        url: Url,
    },
}

/// Where the link records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// Standard output (`-`).
    Stdout,
    /// A file, created or truncated.
    File(PathBuf),
}

impl OutputTarget {
    /// The name used in messages: `-` or the path as given.
    pub fn display_name(&self) -> String {
        match self {
            OutputTarget::Stdout => "-".into(),
            OutputTarget::File(path) => path.display().to_string(),
        }
    }
}

/// The record format of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `source_url<TAB>parsed_url` lines, after a header line.
    #[default]
    Tsv,
    /// One `{"source":…,"url":…}` object per line.
    Jsonl,
}

/// Which links a page yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkOptions {
    /// Keep every scheme (mailto:, tel:, javascript:, …), not only http and https.
    pub all_schemes: bool,
    /// Remove `#fragment` from links, so `a#x` and `a#y` are one link.
    pub strip_fragments: bool,
    /// Which attributes hold links (`--links`).
    pub attributes: LinkAttributes,
    /// Also find each page's fragment targets, its elements' `id`s and its `<a>`s' `name`s
    /// (`--check-fragments`).
    pub anchors: bool,
}

/// Which attributes of a page hold its links (`--links`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkAttributes {
    /// Every element's `href`, as `document.links` lists them.
    #[default]
    Href,
    /// `href`, and the attributes that make a browser fetch or show another URL: `src`,
    /// `srcset`, `poster`, `data`, `action`, `formaction`, `cite`, `background`,
    /// `longdesc`, and `<meta http-equiv=refresh>`; each link says where it was found.
    All,
}

/// How pages are fetched.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Whole-request timeout, body included.
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Redirects followed before the page fails.
    pub max_redirects: usize,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Extra headers (`-H`), sent with the requests `header_scope` names.
    pub headers: HeaderMap,
    /// Which requests the `-H` headers go with.
    pub header_scope: HeaderScope,
    /// Which addresses requests may connect to.
    pub addresses: AddressOptions,
    /// Cap on the decompressed body bytes read from one page.
    pub max_body: u64,
    /// Retries after a transient failure (connect error, reset, timeout, 429, 502, 503, 504).
    pub retries: u32,
    /// Cap on one wait before a retry, `Retry-After` included, and on the gap a struggling
    /// host is given.
    pub max_retry_wait: Duration,
    /// Requests in a row without an answer (connect, DNS, timeout) that give a host up: its
    /// other requests fail at once; 0: never.
    pub unreachable_after: u32,
    /// Resolvers asked instead of the system's (`--dns-server`); empty: resolv.conf's.
    pub dns_servers: Vec<SocketAddr>,
    /// Which certificates are trusted.
    pub tls: TlsOptions,
    /// Which proxy requests go through.
    pub proxy: ProxyChoice,
}

/// Which requests the `-H` headers go with (`--header-scope`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HeaderScope {
    /// Requests to the origin (scheme, host, port) of the input URL the page descends from.
    #[default]
    Input,
    /// Every request, except credentials on a redirect to another origin.
    All,
}

/// Which addresses requests may connect to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressOptions {
    /// Links and redirects may reach non-public addresses whatever their input URL resolved
    /// to (`--allow-private`).
    pub allow_private: bool,
    /// Ranges no request may reach, input URLs included (`--deny-net`).
    pub deny: Vec<ipnet::IpNet>,
}

/// Which TLS certificates are trusted, besides the platform's and the bundled roots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM files of extra root certificates (`--ca-cert`).
    pub ca_certs: Vec<PathBuf>,
    /// Do not verify certificates at all (`--insecure`).
    pub insecure: bool,
}

/// Which proxy requests go through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxyChoice {
    /// The one the environment names (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`).
    #[default]
    Environment,
    /// None (`--no-proxy`).
    Off,
    /// This one, for every request except to the hosts `NO_PROXY` lists (`--proxy`).
    Url(Url),
}

/// How a recursive crawl spreads (all inert at depth 0, except the politeness gap).
#[derive(Debug, Clone, Default)]
pub struct CrawlOptions {
    /// Follow links this many levels below the input pages (0: only the input pages).
    pub depth: u32,
    /// Which links are followed.
    pub scope: ScopeRules,
    /// Stop starting pages after this many, in the whole run.
    pub max_pages: Option<u64>,
    /// Obey robots.txt, and robots `<meta>` tags and `X-Robots-Tag` headers that say
    /// `nofollow` (recursive mode without `--ignore-robots`).
    pub robots: bool,
    /// Do not follow links marked `rel="nofollow"` (`--respect-nofollow`).
    pub respect_nofollow: bool,
    /// Crawl the pages each seed origin's sitemaps list, as seeds (`--sitemap`).
    pub sitemap: bool,
    /// Minimum gap between request starts to one host (`--delay`, `--rate`).
    pub host_gap: Duration,
    /// Write the host-level link graph here, in Graphviz DOT.
    pub graph: Option<PathBuf>,
}

/// A crawl shared by several workers through Redis (`--redis`, `--crawl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedCrawl {
    /// The Redis URL.
    pub redis: String,
    /// The crawl's name.
    pub name: String,
    /// How long a worker holds a page before others may take it over.
    pub lease: Duration,
    /// Times a page's lease may expire before the page is given up.
    pub max_stalls: usize,
}

/// Everything one run needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The URL lists and URLs, in the order given.
    pub inputs: Vec<InputSource>,
    /// Where records go.
    pub output: OutputTarget,
    /// Record format.
    pub format: Format,
    /// Write the TSV header line.
    pub header: bool,
    /// Requests in flight overall (at least 1).
    pub concurrency: usize,
    /// Requests in flight per host (at least 1).
    pub per_host: usize,
    /// Which links to keep.
    pub links: LinkOptions,
    /// How to fetch.
    pub fetch: FetchOptions,
    /// How a recursive crawl spreads.
    pub crawl: CrawlOptions,
    /// Give every link its status (`--check`).
    pub check: bool,
    /// Exit with status 3 when any page failed, or with `check` any link is broken.
    pub fail_on_error: bool,
    /// Skip pages the output's `.done` companion lists, append the rest.
    pub resume: bool,
    /// Join a shared crawl instead of crawling alone.
    pub shared: Option<SharedCrawl>,
    /// Also write the summary as JSON here.
    pub summary_json: Option<PathBuf>,
}

impl Config {
    /// The rules every host is held to: `--per-host`, the gap from `--delay`/`--rate`, and,
    /// when robots.txt is obeyed, one request to a new host before the others (so its
    /// Crawl-delay applies from the second request on).
    pub(crate) fn politeness(&self) -> Politeness {
        Politeness {
            per_host: self.per_host,
            gap: self.crawl.host_gap,
            probe_first: self.crawl.robots,
        }
    }
}
