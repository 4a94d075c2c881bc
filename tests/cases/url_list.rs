//! The URL list: comments, bad lines, duplicates (fragments aside), stdin, and inputs that cannot
//! be read.

use crate::support::cmd::Areq;
use crate::support::site;

#[test]
fn bad_lines_are_warned_with_file_and_line_and_the_run_goes_on() {
    let server = site::start();
    let areq = Areq::new();
    let good = server.url("/site/dir/base.html");
    areq.write(
        "urls.txt",
        format!(
            "\u{feff}# a comment\r\n\r\n{good}\r\n/relative/path\nftp://example.com/x\n\
             mailto:a@example.com\nhttp://exa mple.com/\n  {good}  \n"
        ),
    );
    let run = areq.run(&["urls.txt", "-o", "out.tsv"]);
    run.assert_success();
    for (line, why) in [
        (4, "not an absolute URL"),
        (5, "scheme ftp: is not http or https"),
        (6, "scheme mailto: is not http or https"),
        (7, "contains whitespace or control characters"),
    ] {
        let want = format!("urls.txt:{line}: skipped: {why}");
        assert!(
            run.stderr.contains(&want),
            "missing {want:?} in:\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr
            .contains("summary: 6 URLs read, 4 invalid, 1 duplicate\n"),
        "{}",
        run.stderr
    );
    assert_eq!(
        server.hits("/site/dir/base.html"),
        1,
        "a duplicate is fetched once"
    );
    assert_eq!(areq.read("out.tsv").lines().count(), 3);
}

#[test]
fn dash_reads_the_list_from_stdin() {
    let server = site::start();
    let areq = Areq::new();
    let stdin = format!("{}\n", server.url("/site/dir/base.html"));
    let run = areq.run_with_stdin(&["-", "-o", "-", "--no-header"], stdin.as_bytes());
    run.assert_success();
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
}

#[test]
fn a_missing_input_exits_1_and_leaves_an_existing_output_untouched() {
    let areq = Areq::new();
    areq.write("foundurls.txt", "precious\n");
    let run = areq.run(&["missing.txt"]);
    assert_eq!(run.code(), 1);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert!(run.stderr.contains("missing.txt"), "{}", run.stderr);
    assert_eq!(areq.read("foundurls.txt"), "precious\n");
}

#[test]
fn a_missing_input_does_not_create_the_output() {
    let areq = Areq::new();
    let run = areq.run(&["missing.txt", "-o", "out.tsv"]);
    assert_eq!(run.code(), 1);
    assert!(!areq.path("out.tsv").exists());
}

#[test]
fn a_directory_as_input_exits_1_with_one_line() {
    let areq = Areq::new();
    std::fs::create_dir(areq.path("list")).unwrap();
    let run = areq.run(&["list", "-o", "out.tsv"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr.contains("list: is a directory"),
        "{}",
        run.stderr
    );
    assert!(!areq.path("out.tsv").exists());
}

#[test]
fn an_output_in_a_missing_directory_exits_1_before_fetching() {
    let server = site::start();
    let areq = Areq::new();
    areq.input(&[server.url("/site/dir/base.html")]);
    let run = areq.run(&["urls.txt", "-o", "no/such/dir/out.tsv"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr
            .contains("cannot create output no/such/dir/out.tsv"),
        "{}",
        run.stderr
    );
    assert_eq!(server.total_hits(), 0);
}

#[test]
fn usage_errors_exit_2() {
    let areq = Areq::new();
    for args in [
        &["-c", "0"][..],
        &["--header", "no colon here"],
        &["--timeout", "soon"],
        &["--format", "xml"],
        &["--no-such-flag"],
    ] {
        let run = areq.run(args);
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr);
    }
}

#[test]
fn a_url_listed_twice_is_fetched_once_whatever_its_fragment() {
    let server = site::start();
    let areq = Areq::new();
    let page = server.url("/site/dir/base.html");
    areq.input(&[
        page.clone(),
        format!("{page}#top"),
        format!("{page}#other"),
        format!("{page}?copy"),
    ]);
    let (run, summary) = areq.run_with_summary(&["urls.txt", "-o", "out.tsv", "--no-header"]);
    run.assert_success();
    assert_eq!(server.hits("/site/dir/base.html"), 1);
    assert_eq!(
        server.hits("/site/dir/base.html?copy"),
        1,
        "a query makes it another URL"
    );
    assert_eq!(summary["urls"]["read"], 4);
    assert_eq!(summary["urls"]["duplicate"], 2);
    let sources: std::collections::BTreeSet<String> = areq
        .read("out.tsv")
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        sources.into_iter().collect::<Vec<_>>(),
        [page.clone(), format!("{page}?copy")],
        "the first spelling is the source"
    );
}

#[test]
fn an_input_that_exists_but_cannot_be_read_exits_1_and_leaves_the_output_untouched() {
    // Reading a process's own memory at offset 0 fails (EIO) for any user, root included.
    let areq = Areq::new();
    areq.write("out.tsv", "precious\n");
    let run = areq.run(&["/proc/self/mem", "-o", "out.tsv"]);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert!(run.stderr.contains("/proc/self/mem"), "{}", run.stderr);
    assert_eq!(
        areq.read("out.tsv"),
        "precious\n",
        "a bad input never touches the output"
    );
}
