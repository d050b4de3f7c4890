//! levfarm-report: decimation, escaping, self-containment, tables, determinism, and the page
//! in a real headless browser.

mod support;

use levfarm_report::{
    decimate_indices, decimate_optional_indices, render_html, Action, BacktestReport, Series,
};
use support::browser;

const CHART_IDS: [&str; 4] = ["chart-equity", "chart-pnl", "chart-debt-ratio", "chart-price"];

// ---- decimation -----------------------------------------------------------------------------

#[test]
fn decimation_keeps_global_extremes_and_both_ends() {
    let values: Vec<f64> = (0..support::HOURS).map(support::price_at).collect();
    let (argmin, argmax) = (arg(&values, |a, b| a < b), arg(&values, |a, b| a > b));
    let kept = decimate_indices(&values, 2_000);
    assert!(kept.len() <= 2_000 && kept.len() > 1_500, "{} points", kept.len());
    assert!(kept.windows(2).all(|w| w[0] < w[1]), "ascending, no duplicates");
    // The one-hour crash wick is a local extreme only; it survives as its bucket's minimum.
    for must in [0, values.len() - 1, argmin, argmax, support::WICK_HOUR] {
        assert!(kept.contains(&must), "index {must} dropped");
    }
}

#[test]
fn decimation_of_a_gappy_series_keeps_extremes_and_gaps() {
    let report = support::report();
    let kept = decimate_optional_indices(&report.debt_ratio, 2_000);
    assert!(kept.len() <= 2_000);
    // The position is closed for three weeks after the liquidation: both edges of the gap stay.
    let closed = report.debt_ratio.iter().position(Option::is_none).unwrap();
    let reopened = closed + report.debt_ratio[closed..].iter().position(Option::is_some).unwrap();
    assert!(reopened - closed >= 21 * 24, "the fixture has a gap");
    for edge in [closed - 1, closed, reopened - 1, reopened] {
        assert!(kept.contains(&edge), "gap edge {edge} dropped");
    }
    let some: Vec<f64> = report.debt_ratio.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    let max = arg(&some, |a, b| a > b);
    assert!(kept.contains(&max));
}

#[test]
fn decimation_returns_short_input_unchanged() {
    let values = [3.0, 1.0, 4.0, 1.0, 5.0];
    assert_eq!(decimate_indices(&values, 2_000), vec![0, 1, 2, 3, 4]);
    assert_eq!(decimate_indices(&[], 2_000), Vec::<usize>::new());
    let gappy = [Some(1.0), None, Some(2.0)];
    assert_eq!(decimate_optional_indices(&gappy, 3), vec![0, 1, 2]);
}

fn arg(values: &[f64], better: impl Fn(f64, f64) -> bool) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v.is_finite() && (!values[best].is_finite() || better(v, values[best])) {
            best = i;
        }
    }
    best
}

// ---- escaping and self-containment ----------------------------------------------------------

#[test]
fn a_label_cannot_break_out_of_the_data_script() {
    let mut report = small_report();
    report.title = support::NASTY.into();
    report.actions[0].label = support::NASTY.into();
    report.equity[0].name = support::NASTY.into();
    let page = render_html(&report);
    // Exactly the two scripts of the page: the data and the chart code.
    assert_eq!(page.matches("<script").count(), 2, "{page}");
    assert_eq!(page.matches("</script>").count(), 2);
    assert!(!page.contains("<script>alert"));
    // The data element holds valid JSON that gives the label back exactly.
    let json = data_json(&page);
    assert!(!json.contains("</"), "no end tag can appear in the data");
    let data: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(data["actions"][0]["label"], support::NASTY);
    assert_eq!(data["equity"][0]["name"], support::NASTY);
    // Server-rendered text is HTML-escaped.
    assert!(page.contains("<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>"));
}

#[test]
fn html_in_text_fields_is_escaped() {
    let mut report = small_report();
    report.facts =
        vec![("<b>Leverage</b>".into(), "3x & \"more\" <img src=x onerror=alert(1)>".into())];
    report.notes = vec!["<i>note</i>".into()];
    report.subtitle = "a < b > c".into();
    let page = render_html(&report);
    assert!(page.contains("<th>&lt;b&gt;Leverage&lt;/b&gt;</th>"));
    assert!(page.contains("3x &amp; &quot;more&quot; &lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("<li>&lt;i&gt;note&lt;/i&gt;</li>"));
    assert!(page.contains("a &lt; b &gt; c"));
    assert!(!page.contains("<img") && !page.contains("<b>") && !page.contains("<i>"));
}

#[test]
fn the_page_makes_no_external_requests() {
    let page = render_html(&support::report());
    for bad in
        ["src=\"http", "href=\"http", "@import", "url(http", " src=", "<link", "<iframe", "<img"]
    {
        assert!(!page.contains(bad), "page contains {bad:?}");
    }
    // The only URL is the text of a source line in the footer.
    let sources_at = page.find("<ul class=\"sources\">").unwrap();
    let sources_end = sources_at + page[sources_at..].find("</ul>").unwrap();
    let outside = format!("{}{}", &page[..sources_at], &page[sources_end..]);
    assert!(!outside.contains("http://") && !outside.contains("https://"));
    assert!(page[sources_at..sources_end].contains("https://example.org/data"));
}

// ---- content --------------------------------------------------------------------------------

#[test]
fn headline_numbers_and_tables_are_formatted() {
    let mut report = small_report();
    report.summary[0] = row("3x leveraged LP", 14_210.554, 0.0741, 0.612, true);
    report.summary[1] = row("Hold 50/50", 12_100.0, 0.0409, 0.58, false);
    report.summary[2] = row("Hold ETH", 1_234_567.891, 0.1003, 0.81, false);
    report.summary.truncate(3);
    report.actions = vec![Action {
        time: 1_526_342_400,
        kind: "stop_loss".into(),
        price: 1_234.567_8,
        label: "x".into(),
    }];
    report.pnl =
        vec![levfarm_report::PnlItem { name: "Liquidation costs".into(), value: -1_202.0 }];
    let page = render_html(&report);
    for id in CHART_IDS {
        assert!(page.contains(&format!("<div class=\"chart\" id=\"{id}\"></div>")), "{id}");
    }
    assert!(page.contains("<body>") && page.contains("<noscript>"));
    assert!(page.contains(">14,210.55<"), "final equity with separators");
    assert!(page.contains("PnL +4,210.55"), "signed PnL");
    assert!(page.contains("1,234,568"), "no decimals above a million");
    assert!(page.contains(">7.4%<") && page.contains(">61.2%<"), "APY and drawdown as %");
    // Best alternative by APY is "Hold ETH" at 10.03%: 7.41% - 10.03% = -2.62 pp.
    assert!(page.contains(">-2.6 pp<") && page.contains("APY vs Hold ETH (10.0%)"));
    assert!(page.contains("2018-05-15 \u{2192} 2018-05-16 \u{b7} 48 samples"));
    assert!(
        page.contains("<td class=\"time\">2018-05-15T00:00:00Z</td>"),
        "action times in ISO UTC"
    );
    assert!(page.contains("<span class=\"pill k-stop_loss\">stop loss</span>"));
    assert!(page.contains(">1,234.57<"), "price");
    assert!(page.contains(">-1,202.00<") && page.contains("Liquidation costs"));
}

fn row(
    name: &str,
    final_equity: f64,
    net_apy: f64,
    max_drawdown: f64,
    liquidated: bool,
) -> levfarm_report::SummaryRow {
    levfarm_report::SummaryRow {
        name: name.into(),
        final_equity,
        pnl: final_equity - 10_000.0,
        net_apy,
        max_drawdown,
        liquidated,
        note: String::new(),
    }
}

#[test]
fn long_action_lists_show_the_first_and_last_hundred() {
    let mut report = small_report();
    report.actions = (0..450)
        .map(|i| Action {
            time: i * 3_600,
            kind: "compound".into(),
            price: 1.0,
            label: format!("action #{i};"),
        })
        .collect();
    let page = render_html(&report);
    let table = &page[page.find("<table class=\"data actions\">").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert!(table.contains("action #0;") && table.contains("action #99;"));
    assert!(!table.contains("action #100;") && !table.contains("action #349;"));
    assert!(table.contains("action #350;") && table.contains("action #449;"));
    assert!(table.contains("250 more actions not shown"));
    assert_eq!(table.matches("<tr><td class=\"time\">").count(), 200);
    // Every action is still a marker in the chart data.
    let data: serde_json::Value = serde_json::from_str(data_json(&page)).unwrap();
    assert_eq!(data["actions"].as_array().unwrap().len(), 450);
}

#[test]
fn bad_and_empty_inputs_render_without_panicking() {
    let mut report = small_report();
    report.price = vec![f64::NAN, f64::INFINITY];
    report.equity.push(Series { name: "short".into(), values: vec![1.0] });
    report.debt_ratio = vec![];
    report.kill_factor = f64::NAN;
    report.summary[0].net_apy = f64::NAN;
    let page = render_html(&report);
    assert!(page.contains("id=\"chart-price\""));
    let data: serde_json::Value = serde_json::from_str(data_json(&page)).unwrap();
    assert_eq!(data["price"]["v"], serde_json::json!([null, null]));
    assert!(data["kill"].is_null());

    let empty = BacktestReport {
        summary: vec![],
        times: vec![],
        equity: vec![],
        actions: vec![],
        ..small_report()
    };
    let page = render_html(&empty);
    assert!(page.contains("No samples") && page.contains("No actions."));
}

#[test]
fn output_is_deterministic_and_small() {
    let report = support::report();
    let page = render_html(&report);
    assert_eq!(page, render_html(&report.clone()), "same input, same bytes");
    assert!(page.len() < 600_000, "41,000 samples x 5 series gave {} bytes", page.len());
    let data: serde_json::Value = serde_json::from_str(data_json(&page)).unwrap();
    for series in data["equity"].as_array().unwrap() {
        assert!(series["v"].as_array().unwrap().len() <= 2_000);
    }
}

// ---- in a real browser ----------------------------------------------------------------------

#[test]
fn the_page_renders_in_headless_chromium_without_errors() {
    let Some(chromium) = browser::chromium() else { return };
    let dir = browser::fresh_dir("render");
    let page_path = dir.join("report.html");
    std::fs::write(&page_path, render_html(&support::report())).unwrap();

    let run = browser::run(&chromium, &dir, &page_path, &["--dump-dom".into()]);
    assert!(run.success, "chromium failed:\n{}", run.stderr);
    let problems = browser::console_problems(&run.stderr);
    assert!(problems.is_empty(), "console problems:\n{}", problems.join("\n"));
    assert!(
        browser::body_ready(&run.stdout),
        "body has no data-ready=\"1\": the script did not finish"
    );
    for id in CHART_IDS {
        assert!(browser::chart_has_svg(&run.stdout, id), "no <svg> in #{id}");
    }
    assert!(!run.stdout.contains("<script>alert"), "the nasty label stayed text");

    let shot = dir.join("report.png");
    let run = browser::run(
        &chromium,
        &dir,
        &page_path,
        &[format!("--screenshot={}", shot.display()), "--window-size=1280,2400".into()],
    );
    assert!(run.success && shot.exists(), "no screenshot:\n{}", run.stderr);
    let target =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/report-screenshot.png");
    std::fs::copy(&shot, target).unwrap();
}

/// Clicks a legend item and the log-scale buttons, then hovers every line chart; sets
/// `data-interaction` on `<body>` to "ok" or to what went wrong.
const INTERACTION: &str = r##"<script>
(function () {
  var bad = [];
  function hover(id) {
    var el = document.getElementById(id), ov = el.querySelector(".ov"), r = ov.getBoundingClientRect();
    ov.dispatchEvent(new PointerEvent("pointermove", { clientX: r.left + r.width * 0.4, clientY: r.top + 10, bubbles: true }));
    var tip = el.querySelector(".tip");
    if (tip.style.display !== "block" || tip.textContent.indexOf("UTC") < 0) bad.push("no tooltip in " + id);
  }
  var eq = document.getElementById("chart-equity"), paths = eq.querySelectorAll("svg path[fill=none]").length;
  eq.querySelector(".legend .item[data-i='1']").click();
  if (eq.querySelectorAll("svg path[fill=none]").length !== paths - 1) bad.push("legend click did not hide a line");
  if (!eq.querySelector(".legend .item[data-i='1']").classList.contains("off")) bad.push("legend item not marked off");
  ["chart-equity", "chart-price"].forEach(function (id) {
    document.querySelector("#" + id + " .legend .btn").click();
    if (!document.querySelector("#" + id + " svg")) bad.push("no svg after log toggle in " + id);
  });
  ["chart-equity", "chart-debt-ratio", "chart-price"].forEach(hover);
  document.body.setAttribute("data-interaction", bad.length ? bad.join("; ") : "ok");
})();
</script></body>"##;

#[test]
fn the_charts_answer_hover_legend_clicks_and_the_log_toggle() {
    let Some(chromium) = browser::chromium() else { return };
    browser::assert_interaction(
        &chromium,
        "interaction",
        &render_html(&support::report()),
        INTERACTION,
    );
}

#[test]
fn the_browser_check_flags_a_broken_page() {
    let Some(chromium) = browser::chromium() else { return };
    let dir = browser::fresh_dir("broken");
    let good = render_html(&small_report());
    let broken = [
        // An exception inside one chart: caught, drawn as a message, and re-thrown.
        (
            "chart",
            good.replacen("function drawPnl(el) {", "function drawPnl(el) { null.boom();", 1),
        ),
        // An exception at the top level of the page.
        (
            "top-level",
            good.replacen("</body>", "<script>throw new Error(\"deliberate\")</script></body>", 1),
        ),
    ];
    for (name, html) in broken {
        assert_ne!(html, good, "the {name} injection did not apply");
        let page_path = dir.join(format!("{name}.html"));
        std::fs::write(&page_path, html).unwrap();
        let run = browser::run(&chromium, &dir, &page_path, &["--dump-dom".into()]);
        assert!(run.success);
        let problems = browser::console_problems(&run.stderr);
        assert!(
            problems.iter().any(|l| l.contains("Uncaught")),
            "{name}: not flagged:\n{}",
            run.stderr
        );
        if name == "chart" {
            assert!(
                !browser::body_ready(&run.stdout),
                "a failed chart must not mark the page ready"
            );
        }
    }
}

// ---- helpers --------------------------------------------------------------------------------

/// The text of the `<script type="application/json" id="data">` element.
fn data_json(page: &str) -> &str {
    let open = "<script type=\"application/json\" id=\"data\">";
    let start = page.find(open).unwrap() + open.len();
    &page[start..start + page[start..].find("</script>").unwrap()]
}

fn small_report() -> BacktestReport {
    let mut report = support::report();
    report.times.truncate(48);
    report.price.truncate(48);
    report.equity.iter_mut().for_each(|s| s.values.truncate(48));
    report.liquidation_lower.truncate(48);
    report.liquidation_upper.truncate(48);
    report.debt_ratio.truncate(48);
    report.actions.truncate(1);
    report.actions[0].label = "Opened".into();
    report
}

/// Regression: a window under 90 days has no APY (NaN); the headline showed a dash and the
/// comparison with the alternatives said "no alternatives". The page shows the return over the
/// window and compares returns.
#[test]
fn a_short_window_shows_its_return_and_compares_returns() {
    let mut report = small_report();
    for row in &mut report.summary {
        row.net_apy = f64::NAN;
    }
    // 10,000 put in, 9,400 at the end: -6.0%; the best alternative (by return) is named.
    report.summary[0].final_equity = 9_400.0;
    report.summary[0].pnl = -600.0;
    let best = report.summary[1..]
        .iter()
        .max_by(|a, b| {
            (a.pnl / (a.final_equity - a.pnl)).total_cmp(&(b.pnl / (b.final_equity - b.pnl)))
        })
        .unwrap()
        .name
        .clone();
    let page = render_html(&report);
    assert!(page.contains(">Return<") && page.contains("-6.0%"), "no return headline");
    assert!(page.contains("not annualised"));
    assert!(page.contains(&format!("Return vs {best}")), "no comparison of returns with {best}");
    assert!(!page.contains("no alternatives"));
}

#[test]
fn the_report_page_carries_the_axes_without_export_words() {
    let page = render_html(&small_report());
    let script = page.rsplit("<script>").next().expect("the page's script");
    assert!(script.contains("function timeTicks(t0, t1, maxN)"), "the axes are inlined");
    assert!(!script.contains("export "), "a classic script has no export");
    // And every axes function the dashboard imports is exported by the module.
    for name in ["timeTicks", "linTicks", "logTicks", "niceStep", "dateStr", "pad2"] {
        assert!(levfarm_report::AXES_JS.contains(&format!("export function {name}(")), "{name}");
    }
}
