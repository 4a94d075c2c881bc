//! The two link paths against each other: the default one (`extract_links`: the streaming
//! scanner, or the tree builder when the scanner is unsure of a page) must find exactly the
//! links the tree builder alone finds (`tree_links`), in the same order, on thousands of
//! generated tag soup documents and on every HTML fixture; and the same `rel="nofollow"` marks
//! and named `<meta>` tags (robots directives), outside templates, and with
//! `--check-fragments` the same fragment targets (`id`s and `<a name>`s, outside templates)
//! (`findings` and `tree_findings`).
//!
//! A mismatch is reported with its seed and document index (`case(seed, index)` makes the
//! document again), the document itself, and a shrunk document that still shows it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path as FsPath, PathBuf};

use areq::config::{LinkAttributes, LinkOptions};
use areq::extract::{
    extract_links, findings, for_each_link, tree_findings, tree_links, Findings, Path,
};
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use fastrand::Rng;
use url::Url;

use crate::support::shrink::shrink;
use crate::support::soup;

/// The fixed seeds: each makes `DOCUMENTS_PER_SEED` documents.
const SEEDS: [u64; 4] = [1, 0x5eed, 0xa4e9_2026, 0xdead_beef_cafe];
const DOCUMENTS_PER_SEED: usize = 1000;
/// Mismatches shrunk, and of those, the ones printed in full (distinct once shrunk); the rest
/// are only counted.
const SHRUNK: usize = 10;
const SHOWN: usize = 4;

/// Page URLs the links resolve against.
const PAGES: [&str; 3] = [
    "http://example.com/dir/page.html?q=1#top",
    "https://h.test/",
    "http://[::1]:8080/a/b/",
];

/// Every combination of the link options, with `href` links and with every link attribute,
/// without and with fragment targets.
const OPTIONS: [LinkOptions; 16] = {
    let mut options = [LinkOptions {
        all_schemes: false,
        strip_fragments: false,
        attributes: LinkAttributes::Href,
        anchors: false,
    }; 16];
    let mut at = 0;
    while at < 16 {
        options[at].all_schemes = at & 1 != 0;
        options[at].strip_fragments = at & 2 != 0;
        if at & 4 != 0 {
            options[at].attributes = LinkAttributes::All;
        }
        options[at].anchors = at & 8 != 0;
        at += 1;
    }
    options
};

/// One generated document and how it is extracted.
struct Case {
    seed: u64,
    index: usize,
    html: String,
    plain: bool,
    page: Url,
    encoding: &'static Encoding,
    /// The default options, `--links all`, fragment targets (`--check-fragments`), and for
    /// one document in three another combination too.
    options: Vec<LinkOptions>,
}

/// Document `index` of `seed`, the same on every run.
fn case(seed: u64, index: usize) -> Case {
    let mut rng = Rng::with_seed(seed ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let soup = soup::document(&mut rng);
    let page = Url::parse(PAGES[rng.usize(..PAGES.len())]).expect("a valid page URL");
    let encoding = if rng.u32(..5) == 0 {
        WINDOWS_1252
    } else {
        UTF_8
    };
    let mut options = vec![LinkOptions::default(), OPTIONS[4], OPTIONS[8]];
    if rng.u32(..3) == 0 {
        let other = [1, 2, 3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15];
        options.push(OPTIONS[other[rng.usize(..other.len())]]);
    }
    Case {
        seed,
        index,
        html: soup.html,
        plain: soup.plain,
        page,
        encoding,
        options,
    }
}

/// The fixed seeds, then as many more as `AREQ_SOUP_SEEDS` asks for (a longer run by hand:
/// `AREQ_SOUP_SEEDS=100 cargo test --test cli differential` makes 100,000 more documents).
fn seeds() -> Vec<u64> {
    let more: u64 = std::env::var("AREQ_SOUP_SEEDS")
        .ok()
        .and_then(|more| more.parse().ok())
        .unwrap_or(0);
    SEEDS
        .into_iter()
        .chain((0..more).map(|n| 0x1_0000 + n))
        .collect()
}

fn cases() -> impl Iterator<Item = Case> {
    seeds()
        .into_iter()
        .flat_map(|seed| (0..DOCUMENTS_PER_SEED).map(move |index| case(seed, index)))
}

/// What each path found on one page, as strings; a panic is an answer too.
#[derive(Debug, PartialEq)]
struct Answers {
    default: Result<Vec<String>, String>,
    tree: Result<Vec<String>, String>,
}

/// What one path finds on a page, as lines: the links (the plain list), then each link with
/// its `rel="nofollow"` mark, each named `<meta>` tag, and each fragment target.
fn lines(links: Vec<Url>, found: Findings) -> Vec<String> {
    let links = links.into_iter().map(String::from);
    let marked = found
        .links
        .into_iter()
        .zip(found.vias)
        .map(|((link, nofollow), via)| format!("{link} nofollow={nofollow} via={via:?}"));
    let metas = found
        .metas
        .into_iter()
        .map(|(name, content)| format!("<meta name={name:?} content={content:?}>"));
    let anchors = found
        .anchors
        .into_iter()
        .map(|anchor| format!("#{anchor:?}"));
    links.chain(marked).chain(metas).chain(anchors).collect()
}

/// One path: its plain links and its findings.
type Extract = (
    fn(&str, &Url, &'static Encoding, &LinkOptions) -> Vec<Url>,
    fn(&str, &Url, &'static Encoding, &LinkOptions) -> Findings,
);

/// Runs both paths on `html`.
fn answers(html: &str, page: &Url, encoding: &'static Encoding, options: &LinkOptions) -> Answers {
    let run = |(links, found): Extract| {
        catch_unwind(AssertUnwindSafe(|| {
            lines(
                links(html, page, encoding, options),
                found(html, page, encoding, options),
            )
        }))
        .map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into())
        })
    };
    Answers {
        default: run((extract_links, findings)),
        tree: run((tree_links, tree_findings)),
    }
}

/// One document on which the paths part ways.
struct Mismatch {
    what: String,
    html: String,
    page: Url,
    encoding: &'static Encoding,
    options: LinkOptions,
}

impl Mismatch {
    /// A small document that still shows the mismatch (the document itself if a path
    /// panicked: shrinking would print the panic over and over).
    fn shrunk(&self) -> String {
        let (page, encoding, options) = (&self.page, self.encoding, &self.options);
        let differs = |html: &str| {
            let found = answers(html, page, encoding, options);
            found.default.is_ok() && found.tree.is_ok() && found.default != found.tree
        };
        if differs(&self.html) {
            shrink(&self.html, differs)
        } else {
            self.html.clone()
        }
    }

    /// The report: the document as generated and `small`, with what each path found there.
    fn report(&self, small: &str) -> String {
        let (page, encoding, options) = (&self.page, self.encoding, &self.options);
        let found = answers(small, page, encoding, options);
        let path = catch_unwind(AssertUnwindSafe(|| {
            for_each_link(small, page, encoding, options, |_| {})
        }));
        format!(
            "{}: page {page}, encoding {}, {options:?}\n  document: {:?}\n  shrunk:   {:?}\n  \
             path {path:?}\n  extract_links: {:?}\n  tree_links:    {:?}\n",
            self.what,
            encoding.name(),
            self.html,
            small,
            found.default,
            found.tree,
        )
    }
}

/// Every mismatch of `html` over `options`, named by `what`.
fn mismatches(
    what: &str,
    html: &str,
    page: &Url,
    encoding: &'static Encoding,
    options: &[LinkOptions],
) -> Vec<Mismatch> {
    options
        .iter()
        .filter(|options| {
            let found = answers(html, page, encoding, options);
            found.default != found.tree
        })
        .map(|options| Mismatch {
            what: what.to_owned(),
            html: html.to_owned(),
            page: page.clone(),
            encoding,
            options: *options,
        })
        .collect()
}

/// Panics if there are mismatches, showing the first few that shrink to distinct documents.
fn assert_none(found: Vec<Mismatch>, out_of: usize) {
    if found.is_empty() {
        return;
    }
    let mut shown: Vec<(String, String)> = Vec::new();
    for mismatch in found.iter().take(SHRUNK) {
        let small = mismatch.shrunk();
        if shown.len() < SHOWN && shown.iter().all(|(seen, _)| *seen != small) {
            let report = mismatch.report(&small);
            shown.push((small, report));
        }
    }
    let shown: String = shown.into_iter().map(|(_, report)| report).collect();
    panic!(
        "extract_links and tree_links differ on {} of {out_of} extractions; the first that \
         shrink to distinct documents:\n{shown}",
        found.len()
    );
}

#[test]
fn generated_tag_soup_yields_the_same_links_on_both_paths() {
    let mut found = Vec::new();
    let mut extractions = 0;
    for case in cases() {
        extractions += case.options.len();
        let what = format!("seed {:#x}, document {}", case.seed, case.index);
        found.extend(mismatches(
            &what,
            &case.html,
            &case.page,
            case.encoding,
            &case.options,
        ));
    }
    assert_none(found, extractions);
}

/// Every `.html` file under `dir`, recursively.
fn html_files(dir: &FsPath) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a readable fixtures dir") {
        let path = entry.expect("a dir entry").path();
        if path.is_dir() {
            files.extend(html_files(&path));
        } else if path
            .extension()
            .is_some_and(|ext| ext == "html" || ext == "htm")
        {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn every_fixture_page_yields_the_same_links_on_both_paths() {
    let root = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let files = html_files(&root);
    assert!(files.len() >= 4, "fixtures found: {files:?}");
    let mut found = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).expect("a readable fixture");
        // The windows-1252 fixtures are not UTF-8; their encoding matters for queries.
        let (html, encoding) = match String::from_utf8(bytes) {
            Ok(html) => (html, UTF_8),
            Err(err) => {
                let (html, _) = WINDOWS_1252.decode_without_bom_handling(err.as_bytes());
                (html.into_owned(), WINDOWS_1252)
            }
        };
        let name = file.strip_prefix(&root).expect("under fixtures/").display();
        let page = Url::parse(&format!("http://example.com/{name}")).expect("a page URL");
        found.extend(mismatches(
            &format!("fixtures/{name}"),
            &html,
            &page,
            encoding,
            &OPTIONS,
        ));
    }
    assert_none(found, files.len() * OPTIONS.len());
}

/// The generated documents are plain often enough that the streaming path, once it takes
/// pages, takes at least a quarter of them; the tree builder's path must not be the answer to
/// every page, or the test above would compare the tree builder with itself.
#[test]
fn the_streaming_path_takes_a_fair_share_of_the_tag_soup() {
    let (mut total, mut stream, mut plain, mut plain_stream) = (0, 0, 0, 0);
    let mut unsure = std::collections::BTreeMap::<String, usize>::new();
    let runs = cases().flat_map(|case| {
        let options = [case.options[0], case.options[1], case.options[2]];
        options.map(|options| {
            (
                case.html.clone(),
                case.page.clone(),
                case.encoding,
                case.plain,
                options,
            )
        })
    });
    for (html, page, encoding, case_plain, options) in runs {
        let path = for_each_link(&html, &page, encoding, &options, |_| {});
        total += 1;
        plain += usize::from(case_plain);
        match path {
            Path::Stream => {
                stream += 1;
                plain_stream += usize::from(case_plain);
            }
            Path::Tree(why) => *unsure.entry(why.to_string()).or_default() += 1,
        }
    }
    assert!(
        stream * 4 >= total,
        "the streaming path took {stream} of {total} documents ({plain_stream} of the \
         {plain} plain ones); the tree builder took the others for: {unsure:?}"
    );
}
