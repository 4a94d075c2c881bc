//! The progress bar, seen on a real terminal: areq runs inside tmux and the test reads the
//! screen.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::cmd::Areq;
use crate::support::server::{Gate, Reply, TestServer};

/// A private tmux server, killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(dir: &std::path::Path, command: &str) -> Tmux {
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.is_ok_and(|out| out.status.success()),
            "these tests need tmux (.ci/run installs it)"
        );
        let socket = format!("areq-test-{}-{}", std::process::id(), unique_suffix());
        let tmux = Tmux { socket };
        let dir = dir.to_str().expect("temp dir is UTF-8");
        tmux.run(&[
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "20",
            "-c",
            dir,
            command,
        ]);
        tmux
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p"])
    }

    /// Polls the screen until `found` holds (at most 20 s); returns that screen.
    fn wait_for(&self, what: &str, found: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if found(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

fn unique_suffix() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u8(0);
    hasher.finish() as u32
}

fn slow_site(pages: usize) -> (TestServer, Areq) {
    let server = TestServer::start(|_| {
        Reply::html("<a href=\"/x\">x</a><a href=\"/y\">y</a>").delayed(Duration::from_millis(120))
    });
    let areq = Areq::new();
    areq.input(
        &(0..pages)
            .map(|i| server.url(&format!("/p/{i}")))
            .collect::<Vec<_>>(),
    );
    (server, areq)
}

#[test]
fn a_terminal_shows_the_bar_while_running_and_a_clean_summary_after() {
    let (_server, areq) = slow_site(40);
    let command = format!(
        "{} urls.txt -o out.tsv -c 2; echo areq-exited-$?; sleep 60",
        env!("CARGO_BIN_EXE_areq")
    );
    let tmux = Tmux::start(areq.dir(), &command);
    let running = tmux.wait_for("the progress bar", |s| s.contains("/40 pages"));
    assert!(running.contains("in flight"), "{running}");
    assert!(running.contains("links"), "{running}");
    let done = tmux.wait_for("the end of the run", |s| s.contains("areq-exited-0"));
    assert!(done.contains("summary: 40 URLs read"), "{done}");
    assert!(
        !done.contains("in flight"),
        "the bar is cleared at the end:\n{done}"
    );
}

#[test]
fn log_lines_print_above_the_bar_without_breaking_it() {
    let (server, areq) = slow_site(20);
    let mut urls: Vec<String> = (0..20).map(|i| server.url(&format!("/p/{i}"))).collect();
    urls.insert(3, "not a url".into());
    areq.input(&urls);
    let command = format!(
        "{} urls.txt -o out.tsv -c 2; echo areq-exited-$?; sleep 60",
        env!("CARGO_BIN_EXE_areq")
    );
    let tmux = Tmux::start(areq.dir(), &command);
    let running = tmux.wait_for("the bar under a warning", |s| {
        s.contains("/20 pages") && s.contains("urls.txt:4: skipped")
    });
    let warning = running
        .lines()
        .position(|l| l.contains("urls.txt:4"))
        .unwrap();
    let bar = running
        .lines()
        .position(|l| l.contains("/20 pages"))
        .unwrap();
    assert!(
        warning < bar,
        "the warning prints above the bar:\n{running}"
    );
    assert!(!running
        .lines()
        .any(|l| l.contains("pages") && l.contains("skipped")));
}

#[test]
fn no_bar_when_stderr_is_not_a_terminal_unless_forced() {
    let (_server, areq) = slow_site(3);
    let run = areq.run(&["urls.txt", "-o", "out.tsv"]);
    run.assert_success();
    assert!(!run.stderr.contains("in flight"), "{}", run.stderr);
    let run = areq.run(&["urls.txt", "-o", "out.tsv", "--progress", "always"]);
    run.assert_success();
    assert!(run.stderr.contains("in flight"), "{}", run.stderr);
}

/// Runs areq with `flags` on a terminal over a run of about 1.5 s, watching the screen
/// every 50 ms (the bar redraws every 100 ms); returns every screen seen, the last one
/// after the exit.
fn screens_of_a_run(flags: &str) -> Vec<String> {
    let (_server, areq) = slow_site(12);
    let command = format!(
        "{} urls.txt -o out.tsv -c 1 {flags}; echo areq-exited-$?; sleep 60",
        env!("CARGO_BIN_EXE_areq")
    );
    let tmux = Tmux::start(areq.dir(), &command);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut screens = Vec::new();
    loop {
        let screen = tmux.screen();
        let exited = screen.contains("areq-exited-");
        screens.push(screen);
        if exited {
            return screens;
        }
        assert!(
            Instant::now() < deadline,
            "the run never ended: {screens:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn quiet_shows_no_bar_on_a_terminal() {
    let screens = screens_of_a_run("-q");
    assert!(
        screens.len() > 5,
        "the run was watched: {} screens",
        screens.len()
    );
    let last = screens.last().unwrap();
    assert!(last.contains("areq-exited-0"), "{last}");
    for screen in &screens {
        assert!(!screen.contains("in flight"), "a bar with -q:\n{screen}");
        assert!(!screen.contains("summary"), "a summary with -q:\n{screen}");
    }
}

#[test]
fn progress_never_shows_no_bar_on_a_terminal() {
    let screens = screens_of_a_run("--progress never");
    assert!(
        screens.len() > 5,
        "the run was watched: {} screens",
        screens.len()
    );
    let last = screens.last().unwrap();
    assert!(last.contains("areq-exited-0"), "{last}");
    assert!(last.contains("summary: 12 URLs read"), "{last}");
    for screen in &screens {
        assert!(
            !screen.contains("in flight"),
            "a bar with --progress never:\n{screen}"
        );
    }
}

/// The bar's line on a screen, if it shows.
fn bar_line(screen: &str) -> Option<&str> {
    screen.lines().find(|l| l.contains("in flight"))
}

/// The number just before `pages/s` on the bar.
fn rate_shown(bar: &str) -> &str {
    bar.split("pages/s")
        .next()
        .and_then(|before| before.split_whitespace().last())
        .unwrap_or_default()
}

#[test]
fn a_counted_file_shows_its_real_total_from_the_first_screen_and_an_eta_once_pages_are_done() {
    let (_server, areq) = slow_site(60);
    let command = format!(
        "{} urls.txt -o out.tsv -c 2; echo areq-exited-$?; sleep 60",
        env!("CARGO_BIN_EXE_areq")
    );
    let tmux = Tmux::start(areq.dir(), &command);
    let first = tmux.wait_for("the bar", |s| bar_line(s).is_some());
    let bar = bar_line(&first).unwrap();
    assert!(
        bar.contains("/60 pages"),
        "the real total from the start: {bar}"
    );
    let later = tmux.wait_for("a rate", |s| {
        bar_line(s).is_some_and(|bar| rate_shown(bar) != "0")
    });
    let bar = bar_line(&later).unwrap();
    assert!(bar.contains("/60 pages"), "{bar}");
    assert!(
        bar.contains("ETA"),
        "pages are done, so there is an ETA: {bar}"
    );
    let rate = rate_shown(bar);
    assert!(
        !rate.is_empty() && rate.chars().all(|c| c.is_ascii_digit()),
        "whole pages/s: {bar}"
    );
    tmux.wait_for("the end of the run", |s| s.contains("areq-exited-0"));
}

#[test]
fn stdin_shows_counts_and_no_eta() {
    let (_server, areq) = slow_site(30);
    let command = format!(
        "cat urls.txt | {} - -o out.tsv -c 2; echo areq-exited-$?; sleep 60",
        env!("CARGO_BIN_EXE_areq")
    );
    let tmux = Tmux::start(areq.dir(), &command);
    let running = tmux.wait_for("the bar with pages done", |s| {
        bar_line(s).is_some_and(|bar| bar.contains(" pages ") && !bar.contains(" 0 pages "))
    });
    let bar = bar_line(&running).unwrap();
    assert!(!bar.contains("ETA"), "{bar}");
    let count = bar.split(" pages ").next().unwrap_or_default();
    assert!(!count.contains('/'), "no total: {bar}");
    tmux.wait_for("the end of the run", |s| s.contains("areq-exited-0"));
}

#[test]
fn a_recursive_crawl_says_known_and_shows_no_eta() {
    // The links found wait at the gate until the test has seen the bar.
    let gate = Gate::new();
    let held = gate.clone();
    let server = TestServer::start(move |request| {
        let page = Reply::html("<a href=\"/x\">x</a><a href=\"/y\">y</a>");
        match request.path.as_str() {
            "/p/0" => page,
            _ => page.behind(&held),
        }
    });
    let areq = Areq::new();
    areq.input(&[server.url("/p/0")]);
    let command = format!(
        "{} urls.txt -o out.tsv -c 1 -d 1 --ignore-robots; echo areq-exited-$?; sleep 60",
        env!("CARGO_BIN_EXE_areq")
    );
    let tmux = Tmux::start(areq.dir(), &command);
    gate.wait_until_held(1);
    let running = tmux.wait_for("the bar with the three pages known", |s| {
        bar_line(s).is_some_and(|bar| bar.contains("/3 known "))
    });
    gate.open();
    let bar = bar_line(&running).unwrap();
    assert!(!bar.contains("ETA"), "{bar}");
    tmux.wait_for("the end of the run", |s| s.contains("areq-exited-0"));
}
