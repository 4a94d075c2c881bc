//! The subcommands and the fixed choices some flags take.

use clap::ValueEnum;

/// What `areq COMMAND` does instead of crawling.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Print a shell completion script to stdout
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout
    Man,
    /// Show the progress of a shared crawl (--redis URL --crawl NAME)
    Status {
        /// The Redis or Valkey that keeps the crawl (a Redis Cluster: any node)
        #[arg(long, value_name = "URL")]
        redis: String,
        /// The crawl's name
        #[arg(long = "crawl", value_name = "NAME")]
        crawl: String,
    },
    /// Delete a shared crawl's keys from its Redis (--redis URL --crawl NAME)
    Forget {
        /// The Redis or Valkey that keeps the crawl (a Redis Cluster: any node)
        #[arg(long, value_name = "URL")]
        redis: String,
        /// The crawl's name
        #[arg(long = "crawl", value_name = "NAME")]
        crawl: String,
        /// Delete it even while workers hold pages of it
        #[arg(long)]
        force: bool,
    },
}

/// When the progress bar shows (`--progress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressArg {
    /// Never
    Never,
    /// When stderr is a terminal and not --quiet
    Auto,
    /// Always, even into a pipe or file
    Always,
}

/// The scopes accepted by `--scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// The same host as the input URL
    Host,
    /// The same registrable domain (public suffix list)
    Domain,
    /// Anywhere
    Any,
}

/// The record formats accepted by `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Tab-separated `source_url<TAB>parsed_url`
    Tsv,
    /// JSON lines: `{"source":…,"url":…}`
    Jsonl,
}

/// Where `-H` headers go (`--header-scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HeaderScopeArg {
    /// Only to the origin of the input URL each page descends from
    Input,
    /// To every host fetched (credentials still dropped on a redirect to another origin)
    All,
}

/// The attributes `--links` takes links from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LinksArg {
    /// Every element's href
    Href,
    /// Also src, srcset, poster, data, action, formaction, cite, background, longdesc, and
    /// meta refresh
    All,
}
