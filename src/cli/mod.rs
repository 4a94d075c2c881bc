//! The command line: flags exactly as typed ([`Cli`]), turned into a validated [`Config`] once.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod choices;
mod network;
mod values;

use clap::{CommandFactory, Parser};
use reqwest::header::HeaderValue;

use crate::config::{
    default_user_agent, Config, CrawlOptions, FetchOptions, Format, HeaderScope, LinkAttributes,
    LinkOptions, OutputTarget, SharedCrawl, DEFAULT_CONCURRENCY, DEFAULT_CONNECT_TIMEOUT_SECS,
    DEFAULT_INPUT, DEFAULT_MAX_BODY, DEFAULT_MAX_REDIRECTS, DEFAULT_MAX_RETRY_WAIT_SECS,
    DEFAULT_OUTPUT, DEFAULT_PER_HOST, DEFAULT_RETRIES, DEFAULT_TIMEOUT_SECS,
    DEFAULT_UNREACHABLE_AFTER,
};
use crate::scope::{Scope, ScopeRules};
pub use choices::{Command, FormatArg, HeaderScopeArg, LinksArg, ProgressArg, ScopeArg};
pub use network::NetworkArgs;
use values::{
    input_source, parse_count, parse_crawl_name, parse_dns_server, parse_headers, parse_patterns,
    parse_rate, parse_seconds, usage_error,
};

/// Fetch every URL of a list concurrently and write the links found on each page.
///
/// Reads one URL per line from each INPUT (or takes INPUT as a URL), fetches the pages through
/// one shared HTTP client with bounded concurrency, and writes `source_url<TAB>parsed_url`
/// records for every distinct link of every page. Logs and the end-of-run summary go to stderr.
#[derive(Debug, Parser)]
#[command(
    name = "areq",
    version,
    about,
    long_about = None,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Print shell completions or the man page instead of crawling
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Files with one URL per line (`#` starts a comment), `-` for stdin, or http(s) URLs
    #[arg(value_name = "INPUT", default_value = DEFAULT_INPUT)]
    pub inputs: Vec<PathBuf>,

    /// Output file (created or truncated); `-` writes to stdout
    #[arg(short, long, value_name = "FILE", default_value = DEFAULT_OUTPUT, help_heading = OUTPUT)]
    pub output: PathBuf,

    /// Record format: tsv, or jsonl ({"source","url","depth","status"} per line)
    #[arg(long, value_enum, default_value_t = FormatArg::Tsv, hide_possible_values = true,
          help_heading = OUTPUT)]
    pub format: FormatArg,

    /// Do not write the `source_url<TAB>parsed_url` header line
    #[arg(long, help_heading = OUTPUT)]
    pub no_header: bool,

    /// Continue an interrupted run: skip pages FILE.done lists as complete, append the rest
    #[arg(long, help_heading = OUTPUT)]
    pub resume: bool,

    /// Also write the summary as JSON to FILE
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub summary_json: Option<PathBuf>,

    /// Keep links of every scheme (mailto:, tel:, ftp:, javascript:, …), not only http(s)
    #[arg(long, help_heading = LINKS)]
    pub all_schemes: bool,

    /// Remove #fragments from links, so `page#a` and `page#b` are one link
    #[arg(long, help_heading = LINKS)]
    pub strip_fragments: bool,

    /// Which attributes hold links: href (every element's), or all (also src, srcset, poster,
    /// data, action, formaction, cite, background, longdesc, meta refresh; JSONL says `via`;
    /// only frames, iframes and refreshes among them are followed)
    #[arg(long, value_enum, value_name = "WHICH", default_value_t = LinksArg::Href,
          hide_possible_values = true, help_heading = LINKS)]
    pub links: LinksArg,

    /// Check every link: a third field, its status (HTTP status after redirects, or why it
    /// failed: dns, connect, timeout, robots, …; `-` if not http(s)); each link requested once
    #[arg(long, help_heading = LINKS)]
    pub check: bool,

    /// Also check each link's #fragment in its HTML page: fragment-missing when no element
    /// has that id (or `<a name>`); implies --check
    #[arg(long, conflicts_with_all = ["redis", "strip_fragments"], help_heading = LINKS)]
    pub check_fragments: bool,

    /// Requests in flight overall
    #[arg(short, long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY,
          value_parser = parse_count, help_heading = FETCHING)]
    pub concurrency: usize,

    /// Requests in flight to one host
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PER_HOST,
          value_parser = parse_count, help_heading = FETCHING)]
    pub per_host: usize,

    /// Whole-request timeout in seconds, body included
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_TIMEOUT_SECS as f64,
          value_parser = parse_seconds, help_heading = FETCHING)]
    pub timeout: f64,

    /// Connect timeout in seconds
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_CONNECT_TIMEOUT_SECS as f64,
          value_parser = parse_seconds, help_heading = FETCHING)]
    pub connect_timeout: f64,

    /// Retries after a transient failure: connect error, reset, timeout, 429, 502, 503, 504
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RETRIES, help_heading = FETCHING)]
    pub retries: u32,

    /// Longest wait before one retry, in seconds; caps the server's Retry-After too, and the
    /// gap between requests to a host that answers 429 or 503
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_MAX_RETRY_WAIT_SECS as f64,
          value_parser = parse_seconds, help_heading = FETCHING)]
    pub max_retry_wait: f64,

    /// Give a host up after N requests in a row got no answer (connect, DNS, timeout): its
    /// other pages fail at once as `host unreachable` (0: never)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_UNREACHABLE_AFTER,
          help_heading = FETCHING)]
    pub unreachable_after: u32,

    /// Redirects followed before a page fails
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_REDIRECTS, help_heading = FETCHING)]
    pub max_redirects: usize,

    /// Largest body read from one page, in bytes after decompression; the rest is not read
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BODY,
          value_parser = clap::value_parser!(u64).range(1..), help_heading = FETCHING)]
    pub max_body: u64,

    /// User-Agent header [default: areq/VERSION]
    #[arg(short = 'A', long, value_name = "STRING", help_heading = FETCHING)]
    pub user_agent: Option<String>,

    /// Extra request header, repeatable; sent only to the input URLs' origins (see
    /// --header-scope)
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'", help_heading = FETCHING)]
    pub headers: Vec<String>,

    /// Where -H headers go: input (the origin of the input URL a page descends from), all
    /// (every host fetched)
    #[arg(long, value_enum, value_name = "WHERE", default_value_t = HeaderScopeArg::Input,
          hide_possible_values = true, help_heading = FETCHING)]
    pub header_scope: HeaderScopeArg,

    /// Ask this DNS resolver instead of the system's (repeatable; port 53 unless given)
    #[arg(long = "dns-server", value_name = "ADDR[:PORT]", value_parser = parse_dns_server,
          help_heading = FETCHING)]
    pub dns_servers: Vec<SocketAddr>,
    /// TLS and proxy flags.
    #[command(flatten)]
    pub network: NetworkArgs,

    /// Follow links this many levels below the input pages (0: only the input pages)
    #[arg(short, long, value_name = "N", default_value_t = 0, help_heading = RECURSIVE)]
    pub depth: u32,

    /// Which links are followed: same host as the input URL, same registrable domain, or any
    #[arg(long, value_enum, default_value_t = ScopeArg::Host, hide_possible_values = true,
          help_heading = RECURSIVE)]
    pub scope: ScopeArg,

    /// Follow only links whose URL matches this regex (repeatable: any may match)
    #[arg(long, value_name = "REGEX", help_heading = RECURSIVE)]
    pub include: Vec<String>,

    /// Never follow links whose URL matches this regex (repeatable)
    #[arg(long, value_name = "REGEX", help_heading = RECURSIVE)]
    pub exclude: Vec<String>,

    /// Fetch at most this many pages in the whole run
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..),
          help_heading = RECURSIVE)]
    pub max_pages: Option<u64>,

    /// Also crawl the pages listed by each input site's sitemaps (robots.txt `Sitemap:` lines,
    /// else /sitemap.xml), as input URLs
    #[arg(long, help_heading = RECURSIVE)]
    pub sitemap: bool,

    /// Do not fetch or obey robots.txt, nor robots meta tags and X-Robots-Tag headers that say
    /// nofollow (all obeyed by default when --depth > 0)
    #[arg(long, help_heading = RECURSIVE)]
    pub ignore_robots: bool,

    /// Do not follow links marked rel="nofollow" (followed by default: it is a hint)
    #[arg(long, help_heading = RECURSIVE)]
    pub respect_nofollow: bool,

    /// At most this many requests per second to one host
    #[arg(long, value_name = "R", value_parser = parse_rate, help_heading = RECURSIVE)]
    pub rate: Option<f64>,

    /// Wait at least this many milliseconds between requests to one host
    #[arg(long, value_name = "MS", default_value_t = 0, help_heading = RECURSIVE)]
    pub delay: u64,

    /// Write the host-to-host link graph to FILE in Graphviz DOT
    #[arg(long, value_name = "FILE", help_heading = RECURSIVE)]
    pub graph: Option<PathBuf>,

    /// Join the crawl --crawl NAME kept in this Redis or Valkey (a Redis Cluster: any node), with
    /// every worker given it
    #[arg(long, value_name = "URL", requires = "crawl_name", conflicts_with = "resume",
          help_heading = SHARED)]
    pub redis: Option<String>,

    /// The shared crawl's name (with --redis): workers with the same NAME share one crawl
    #[arg(long = "crawl", value_name = "NAME", requires = "redis", help_heading = SHARED)]
    pub crawl_name: Option<String>,

    /// Seconds a worker holds a page before others may take it over; renewed while it works
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = parse_seconds,
          help_heading = SHARED)]
    pub lease: f64,

    /// Times a page's lease may expire (its worker died or stalled) before the page is given
    /// up as abandoned
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = parse_count,
          help_heading = SHARED)]
    pub max_stalls: usize,

    /// Show a progress bar on stderr: never, auto (when stderr is a terminal), always
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto, hide_possible_values = true,
          value_name = "WHEN", help_heading = RUN)]
    pub progress: ProgressArg,

    /// Exit with status 3 if any page failed, or with --check any link is broken
    #[arg(long, help_heading = RUN)]
    pub fail_on_error: bool,

    /// More log output: -v a line per page, -vv debug, -vvv trace
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet",
          help_heading = RUN)]
    pub verbose: u8,

    /// Errors only: no warnings, no summary, no progress bar
    #[arg(short, long, help_heading = RUN)]
    pub quiet: bool,
}

const OUTPUT: &str = "Output";
const LINKS: &str = "Links";
const FETCHING: &str = "Fetching";
const RECURSIVE: &str = "Recursive crawling";
const SHARED: &str = "Shared crawl (several workers, one crawl)";
const RUN: &str = "Run";

const EXAMPLES: &str = "\
Examples:
  areq urls.txt -o foundurls.txt
  areq https://example.org -d 1 -o -
  areq urls.txt -o - -c 16 --per-host 2 | cut -f2 | sort -u
  grep example.org urls.txt | areq - -o links.jsonl --format jsonl
  areq seeds.txt -d 2 --scope domain --rate 2 -o site.tsv --graph hosts.dot
  areq seeds.txt -d 5 --redis redis://127.0.0.1/0 --crawl docs -o part-1.tsv
  areq completions bash > /etc/bash_completion.d/areq";

impl Cli {
    /// Whether to draw the progress bar, given whether stderr is a terminal.
    pub fn show_progress(&self, stderr_is_terminal: bool) -> bool {
        match self.progress {
            ProgressArg::Never => false,
            ProgressArg::Auto => stderr_is_terminal && !self.quiet,
            ProgressArg::Always => true,
        }
    }

    /// Writes the completion script or man page for `command` to `out`.
    pub fn print(command: Command, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut cli = Cli::command();
        match command {
            Command::Completions { shell } => {
                clap_complete::generate(shell, &mut cli, "areq", out);
                Ok(())
            }
            Command::Man => clap_mangen::Man::new(cli).render(out),
            Command::Status { .. } | Command::Forget { .. } => Ok(()),
        }
    }

    /// Log verbosity: -1 quiet, 0 default, 1.. more.
    pub fn verbosity(&self) -> i8 {
        if self.quiet {
            -1
        } else {
            self.verbose.min(3) as i8
        }
    }

    /// Validates the flags into a [`Config`]. Errors are clap errors so they print as usage
    /// errors and exit 2.
    pub fn into_config(self) -> Result<Config, clap::Error> {
        if self.resume && self.output.as_os_str() == "-" {
            return Err(usage_error(
                "'--resume' continues a run that wrote to a file, not to stdout".into(),
            ));
        }
        if self.resume && self.depth > 0 && self.inputs.iter().any(|input| input.as_os_str() == "-")
        {
            return Err(usage_error(
                "'--resume' with '--depth' reads the seeds again: give them in a file, not stdin"
                    .into(),
            ));
        }
        let shared = match (self.redis, self.crawl_name) {
            (Some(redis), Some(name)) => Some(SharedCrawl {
                redis,
                name: parse_crawl_name(&name)?,
                lease: Duration::from_secs_f64(self.lease),
                max_stalls: self.max_stalls,
            }),
            _ => None,
        };
        let headers = parse_headers(&self.headers)?;
        let include = parse_patterns("--include", &self.include)?;
        let exclude = parse_patterns("--exclude", &self.exclude)?;
        let rate_gap = self
            .rate
            .map_or(Duration::ZERO, |rate| Duration::from_secs_f64(1.0 / rate));
        let user_agent = self.user_agent.unwrap_or_else(default_user_agent);
        if HeaderValue::from_str(&user_agent).is_err() {
            return Err(usage_error(format!(
                "invalid value '{user_agent}' for '--user-agent': not a valid header value"
            )));
        }
        Ok(Config {
            inputs: self
                .inputs
                .into_iter()
                .map(input_source)
                .collect::<Result<_, _>>()?,
            output: if self.output.as_os_str() == "-" {
                OutputTarget::Stdout
            } else {
                OutputTarget::File(self.output)
            },
            format: match self.format {
                FormatArg::Tsv => Format::Tsv,
                FormatArg::Jsonl => Format::Jsonl,
            },
            header: !self.no_header,
            concurrency: self.concurrency,
            per_host: self.per_host,
            links: LinkOptions {
                all_schemes: self.all_schemes,
                strip_fragments: self.strip_fragments,
                attributes: match self.links {
                    LinksArg::Href => LinkAttributes::Href,
                    LinksArg::All => LinkAttributes::All,
                },
                anchors: self.check_fragments,
            },
            fetch: FetchOptions {
                timeout: Duration::from_secs_f64(self.timeout),
                connect_timeout: Duration::from_secs_f64(self.connect_timeout),
                max_redirects: self.max_redirects,
                user_agent,
                headers,
                header_scope: match self.header_scope {
                    HeaderScopeArg::Input => HeaderScope::Input,
                    HeaderScopeArg::All => HeaderScope::All,
                },
                addresses: self.network.addresses(),
                max_body: self.max_body,
                retries: self.retries,
                max_retry_wait: Duration::from_secs_f64(self.max_retry_wait),
                unreachable_after: self.unreachable_after,
                dns_servers: self.dns_servers,
                tls: self.network.tls(),
                proxy: self.network.proxy(),
            },
            crawl: CrawlOptions {
                depth: self.depth,
                scope: ScopeRules {
                    scope: match self.scope {
                        ScopeArg::Host => Scope::Host,
                        ScopeArg::Domain => Scope::Domain,
                        ScopeArg::Any => Scope::Any,
                    },
                    include,
                    exclude,
                },
                max_pages: self.max_pages,
                robots: self.depth > 0 && !self.ignore_robots,
                respect_nofollow: self.respect_nofollow,
                sitemap: self.sitemap,
                host_gap: rate_gap.max(Duration::from_millis(self.delay)),
                graph: self.graph,
            },
            check: self.check || self.check_fragments,
            fail_on_error: self.fail_on_error,
            resume: self.resume,
            shared,
            summary_json: self.summary_json,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    use super::*;
    use crate::config::InputSource;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        let mut argv = vec!["areq"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv)?.into_config()
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.inputs, [InputSource::File("urls.txt".into())]);
        assert_eq!(config.output, OutputTarget::File("foundurls.txt".into()));
        assert_eq!(config.concurrency, 64);
        assert_eq!(config.per_host, 8);
        assert_eq!(config.fetch.timeout, Duration::from_secs(30));
        assert_eq!(
            config.fetch.user_agent,
            format!("areq/{}", env!("CARGO_PKG_VERSION"))
        );
        assert!(config.header);
        assert!(!config.crawl.robots && !config.crawl.respect_nofollow);
    }

    #[test]
    fn robots_are_obeyed_when_recursive_and_rel_nofollow_only_when_asked() {
        let config = parse(&["-d", "1"]).unwrap();
        assert!(config.crawl.robots && !config.crawl.respect_nofollow);
        let config = parse(&["-d", "1", "--ignore-robots", "--respect-nofollow"]).unwrap();
        assert!(!config.crawl.robots && config.crawl.respect_nofollow);
    }

    #[test]
    fn dash_means_standard_streams() {
        let config = parse(&["-", "-o", "-"]).unwrap();
        assert_eq!(config.inputs, [InputSource::Stdin]);
        assert_eq!(config.output, OutputTarget::Stdout);
    }

    #[test]
    fn headers_are_parsed_and_bad_ones_are_usage_errors() {
        let config = parse(&["-H", "X-Token: abc", "-H", "Accept:text/html"]).unwrap();
        assert_eq!(config.fetch.headers["x-token"], "abc");
        assert_eq!(config.fetch.headers["accept"], "text/html");
        let err = parse(&["-H", "no colon"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidValue);
        assert!(err.to_string().contains("--header"));
    }

    #[test]
    fn dns_servers_take_an_address_and_an_optional_port() {
        let config = parse(&[
            "--dns-server",
            "127.0.0.1:5353",
            "--dns-server",
            "10.0.0.1",
            "--dns-server",
            "[::1]:54",
            "--dns-server",
            "::1",
        ])
        .unwrap();
        let servers: Vec<String> = config
            .fetch
            .dns_servers
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            servers,
            ["127.0.0.1:5353", "10.0.0.1:53", "[::1]:54", "[::1]:53"]
        );
        for bad in ["dns.example", "127.0.0.1:", "1.2.3.4:99999", ""] {
            let err = parse(&["--dns-server", bad]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ValueValidation, "{bad}");
            assert!(err.to_string().contains("--dns-server"), "{err}");
        }
    }

    #[test]
    fn zero_concurrency_and_timeouts_are_rejected() {
        assert!(parse(&["-c", "0"]).is_err());
        assert!(parse(&["--per-host", "0"]).is_err());
        assert!(parse(&["--timeout", "0"]).is_err());
        assert!(parse(&["--timeout", "abc"]).is_err());
        assert_eq!(
            parse(&["--timeout", "0.5"]).unwrap().fetch.timeout,
            Duration::from_millis(500)
        );
    }
}
