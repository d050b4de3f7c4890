//! The axes module that the reports and the service's dashboard share (`assets/axes.js`), run
//! in node as the dashboard loads it (an ES module) and checked against worked calendars.
//!
//! Needs `node`. Without it the node checks say so and pass, except under CI, where they fail.

use std::process::Command;

/// Runs `body` in node after importing the module as `axes`, and returns what it printed.
fn node(body: &str) -> Option<String> {
    let available =
        Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !available {
        assert!(std::env::var_os("CI").is_none(), "CI must provide node");
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "skipped the axes module's node checks: needs node");
        return None;
    }
    // The module's own text as a data: URL, imported as the dashboard imports it.
    let encoded: String = levfarm_report::AXES_JS
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let script = format!("import * as axes from 'data:text/javascript,{encoded}';\n{body}");
    let run = Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .output()
        .expect("node runs");
    let said = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "{said}{}", String::from_utf8_lossy(&run.stderr));
    Some(said)
}

/// `timeTicks(t0, t1, maxN)`'s labels, as node prints them.
fn labels(t0: &str, t1: &str, max_n: u32) -> Option<Vec<String>> {
    let body = format!(
        "const s = (t) => Date.parse(t) / 1000;\n\
         console.log(JSON.stringify(axes.timeTicks(s({t0:?}), s({t1:?}), {max_n}).map((k) => k.label)));"
    );
    node(&body).map(|out| serde_json::from_str(out.trim()).expect("a JSON list of labels"))
}

#[test]
fn time_ticks_fall_on_calendar_boundaries() {
    // 50 minutes from 10:07 with at most 8 ticks: 1 and 5 minutes give too many (50, 10), 15
    // minutes gives 10:15, 10:30, 10:45; no New Year among them, so the first carries the year.
    let Some(short) = labels("2020-03-12T10:07:00Z", "2020-03-12T10:57:00Z", 8) else { return };
    assert_eq!(short, ["10:15 2020", "10:30", "10:45"]);
    // Three days of hours: 72 h over 8 ticks is 12-hour steps; midnights read as dates.
    let days = labels("2020-03-11T00:00:00Z", "2020-03-14T00:00:00Z", 8).expect("node ran");
    assert_eq!(days, ["Mar 11 2020", "12:00", "Mar 12", "12:00", "Mar 13", "12:00", "Mar 14"]);
    // Three years: six-month steps on the first of January and July, New Years as the year.
    let years = labels("2018-05-15T00:00:00Z", "2021-05-15T00:00:00Z", 8).expect("node ran");
    assert_eq!(years, ["Jul", "2019", "Jul", "2020", "Jul", "2021"]);
}

#[test]
fn value_ticks_are_nice_multiples() {
    let body = "console.log(JSON.stringify([axes.niceStep(97, 5), axes.linTicks(0.3, 2.2, 4), \
                axes.logTicks(1, 1000).ticks, axes.logTicks(1, 100).ticks]));";
    let Some(out) = node(body) else { return };
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    // 97 / 5 = 19.4 → 20; 1.9 / 4 = 0.475 → 0.5, from the first multiple above 0.3;
    // two decades take 1-2-5 per decade, three take 1-3.
    let numbers =
        |v: &serde_json::Value| -> Vec<f64> { serde_json::from_value(v.clone()).expect("numbers") };
    assert_eq!(v[0].as_f64(), Some(20.0));
    assert_eq!(numbers(&v[1]["ticks"]), [0.5, 1.0, 1.5, 2.0]);
    assert_eq!(numbers(&v[2]), [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0]);
    assert_eq!(numbers(&v[3]), [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]);
}
