//! Runs Debian's headless Chromium on a page and reads back the DOM, the console and a
//! screenshot.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::Duration;

pub const CHROMIUM: &str = "/usr/bin/chromium";
const POLL: Duration = Duration::from_millis(100);
/// 60 s in polls (the workspace forbids reading the clock; counting polls is enough here).
const TIMEOUT_POLLS: u32 = 600;
/// Numbers each run's fresh profile directory.
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// `None`, after one line on the terminal saying why, when `LEVFARM_SKIP_BROWSER=1` or when
/// Chromium is missing; under `CI` a missing Chromium fails the test instead.
pub fn chromium() -> Option<PathBuf> {
    if std::env::var("LEVFARM_SKIP_BROWSER").as_deref() == Ok("1") {
        skipped("LEVFARM_SKIP_BROWSER=1");
        return None;
    }
    let path = PathBuf::from(CHROMIUM);
    if !path.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{CHROMIUM} not found: CI must run the browser tests (`apt-get install chromium`)"
        );
        skipped(&format!("{CHROMIUM} not found (`apt-get install chromium` runs them)"));
        return None;
    }
    Some(path)
}

/// Says on the terminal, past the test harness's capture, that a browser test did not run.
fn skipped(why: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("a browser test").to_string();
    let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
}

/// A fresh, empty directory under Cargo's test temp dir.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("levfarm-report").join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// What one Chromium run left behind.
#[derive(Debug)]
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs Chromium headless on `page` with `extra` arguments, in a fresh profile under `dir`.
pub fn run(chromium: &Path, dir: &Path, page: &Path, extra: &[String]) -> Run {
    let profile = dir.join(format!("profile-{}", RUNS.fetch_add(1, Ordering::Relaxed)));
    let _ = fs::remove_dir_all(&profile);
    let (out_path, err_path) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        // Files, not pipes: a dumped DOM is larger than a pipe buffer and would block the child.
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {}: {e}", chromium.display()));
    let mut polls = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if polls == TIMEOUT_POLLS {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s on {}", page.display());
        }
        polls += 1;
        sleep(POLL);
    };
    Run {
        success: status.success(),
        stdout: fs::read_to_string(out_path).unwrap(),
        stderr: fs::read_to_string(err_path).unwrap(),
    }
}

/// Lines of Chromium's stderr that report a problem in the page.
///
/// Found by experiment with Chromium 148: every page console message is logged as
/// `[pid:tid:date:INFO:CONSOLE:line] "message", source: file:///... (line)`, whatever its
/// level (`console.log` and `console.error` look the same), and uncaught exceptions, syntax
/// errors and rejected promises as the same kind of line with a message starting `Uncaught`.
/// The report page writes nothing to the console, so any console line is a problem.
pub fn console_problems(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught") || l.contains("console.error"))
        .collect()
}

/// The dumped DOM has `data-ready="1"` on `<body>`.
pub fn body_ready(dom: &str) -> bool {
    dom.find("<body")
        .and_then(|at| dom[at..].find('>').map(|end| &dom[at..at + end]))
        .is_some_and(|tag| tag.contains("data-ready=\"1\""))
}

/// The element with `id` has an `<svg` before the next chart or section ends.
pub fn chart_has_svg(dom: &str, id: &str) -> bool {
    let Some(at) = dom.find(&format!("id=\"{id}\"")) else { return false };
    let rest = &dom[at..];
    let end = rest.find("</section>").unwrap_or(rest.len());
    rest[..end].contains("<svg")
}

/// Renders `page` with `script` injected before `</body>` and checks that Chromium ran it
/// without console problems and that the script marked `<body>` with
/// `data-interaction="ok"`.
pub fn assert_interaction(chromium: &Path, name: &str, page: &str, script: &str) {
    let dir = fresh_dir(name);
    let page_path = dir.join("page.html");
    std::fs::write(&page_path, page.replacen("</body>", script, 1)).unwrap();
    let run = run(chromium, &dir, &page_path, &["--dump-dom".into()]);
    assert!(run.success, "chromium failed:\n{}", run.stderr);
    let problems = console_problems(&run.stderr);
    assert!(problems.is_empty(), "console problems:\n{}", problems.join("\n"));
    let body = &run.stdout[run.stdout.find("<body").unwrap()..];
    let body = &body[..body.find('>').unwrap()];
    assert!(body.contains("data-interaction=\"ok\""), "{body}");
}
