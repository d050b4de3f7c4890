//! levfarm-report's Monte Carlo risk page: determinism, escaping, the table's formatting,
//! degenerate inputs, the embedded data, and the page in a real headless browser.

#[path = "support/browser.rs"]
mod browser;

use levfarm_report::{
    render_risk_html, Fan, Histogram, RiskReport, RiskRow, MAX_FAN_POINTS, RISK_CHART_IDS,
};

const NASTY: &str = "</script><script>alert(1)</script>";
const PATHS: u64 = 10_000;
const LEVERAGES: [f64; 6] = [1.5, 2.0, 2.5, 3.0, 4.0, 5.0];
/// Normal quantiles of the fan levels 5%, 25%, 50%, 75%, 95%.
const LEVELS: [(f64, f64); 5] =
    [(0.05, -1.645), (0.25, -0.674), (0.5, 0.0), (0.75, 0.674), (0.95, 1.645)];

// ---- a realistic sample ---------------------------------------------------------------------

/// Six leverage rows from 1.5x to 5x with plausible figures, a weekly fan over one year (53
/// points) and histograms for every row; the focus is 3x.
fn sample() -> RiskReport {
    let liq = [0.004, 0.021, 0.058, 0.112, 0.243, 0.386];
    let loss = [0.31, 0.34, 0.37, 0.41, 0.47, 0.52];
    let wipe = [0.0, 0.0, 0.0008, 0.004, 0.012, 0.031];
    let mean = [0.142, 0.176, 0.198, 0.205, 0.187, 0.141];
    let median = [0.151, 0.193, 0.224, 0.241, 0.235, 0.198];
    let q05 = [-0.28, -0.45, -0.62, -0.78, -0.93, -0.99];
    let q95 = [0.52, 0.71, 0.89, 1.08, 1.42, 1.76];
    let days = [201.0, 176.0, 158.0, 139.0, 112.0, 88.0];
    let rows: Vec<RiskRow> = LEVERAGES
        .iter()
        .enumerate()
        .map(|(i, &lev)| RiskRow {
            label: format!("{lev}x, deleverage 0.78\u{2192}0.6"),
            settings: vec![
                ("position.leverage".into(), lev.to_string()),
                ("protection.deleverage_at".into(), "0.78".into()),
            ],
            leverage: lev,
            paths: PATHS,
            liquidation_probability: liq[i],
            liquidation_ci: wilson(liq[i], PATHS),
            loss_probability: loss[i],
            wipeout_probability: wipe[i],
            mean_apy: mean[i],
            median_apy: median[i],
            quantiles: vec![
                (0.01, q05[i] - 0.05),
                (0.05, q05[i]),
                (0.5, median[i]),
                (0.95, q95[i]),
            ],
            var95: -q05[i] * 0.97,
            cvar95: (-q05[i] * 1.2).min(1.0),
            var99: (-q05[i] * 1.3).min(1.0),
            cvar99: (-q05[i] * 1.45).min(1.03),
            mean_days_to_liquidation: (liq[i] > 0.0).then_some(days[i] + 14.0),
            median_days_to_liquidation: (liq[i] > 0.0).then_some(days[i]),
        })
        .collect();
    let fans = LEVERAGES.iter().zip(liq).map(|(&lev, p)| fan(lev, p, 53, 7.0)).collect();
    let outcome_histograms =
        LEVERAGES.iter().zip(liq).map(|(&lev, p)| outcome_histogram(lev, p)).collect();
    let liquidation_time_histograms =
        liq.iter().zip(days).map(|(&p, d)| liquidation_time_histogram(p, d)).collect();
    RiskReport {
        title: "ETH-USDC 0.3% leveraged LP: one year ahead".into(),
        subtitle: "Geometric Brownian motion, 72% annual volatility \u{b7} levfarm exact engine"
            .into(),
        facts: vec![
            ("Model".into(), "GBM, \u{3c3} 72%, drift 0".into()),
            ("Paths".into(), "10,000 per configuration".into()),
            ("Horizon".into(), "365 days, hourly steps".into()),
            ("Seed".into(), "42".into()),
            ("Protection".into(), "deleverage at 78% to 60%".into()),
        ],
        rows,
        focus: 3,
        fans,
        outcome_histograms,
        liquidation_time_histograms,
        recommendations: vec![
            "Highest leverage with liquidation probability \u{2264} 5%: 2.4x".into(),
            "Best median net APY: 3x (24.1%), with a 11.2% chance of liquidation".into(),
        ],
        annualised: true,
        notes: vec![
            "Probabilities are over simulated paths; the intervals are 95% Wilson intervals."
                .into(),
            "Net APY annualises the final equity; liquidated paths keep what was left.".into(),
        ],
    }
}

/// The 95% Wilson interval of a proportion `p` observed over `n` trials.
fn wilson(p: f64, n: u64) -> (f64, f64) {
    let (n, z) = (n as f64, 1.96f64);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Log-normal equity quantiles growing with leverage; quantiles that fall below the
/// liquidation level drop to what a liquidation leaves.
fn fan(lev: f64, liq: f64, points: usize, step: f64) -> Fan {
    let (mu, sigma) = (0.07 * lev, 0.18 * lev);
    let days: Vec<f64> = (0..points).map(|i| i as f64 * step).collect();
    let value = |z: f64, t: f64| {
        let m = ((mu - sigma * sigma / 2.0) * t + z * sigma * t.sqrt()).exp();
        if m < 1.0 - 0.85 / lev * 1.6 {
            0.12
        } else {
            m
        }
    };
    Fan {
        levels: LEVELS.iter().map(|l| l.0).collect(),
        bands: LEVELS
            .iter()
            .map(|&(_, z)| days.iter().map(|d| value(z, d / 365.0)).collect())
            .collect(),
        mean: days.iter().map(|d| (mu * d / 365.0).exp() * (1.0 - liq * d / 365.0)).collect(),
        days,
    }
}

/// Final equity multiples in bins of 0.1 from 0 to 4: a log-normal body plus the liquidated
/// paths near 0.12.
fn outcome_histogram(lev: f64, liq: f64) -> Histogram {
    let (mu, sigma) = (0.07 * lev, 0.18 * lev);
    let edges: Vec<f64> = (0..=40).map(|i| f64::from(i) * 0.1).collect();
    let survivors = PATHS as f64 * (1.0 - liq);
    let density = |x: f64| {
        let z = (x.ln() - (mu - sigma * sigma / 2.0)) / sigma;
        (-z * z / 2.0).exp() / (x * sigma * (2.0 * std::f64::consts::PI).sqrt())
    };
    let counts = edges
        .windows(2)
        .map(|w| {
            let mid = (w[0] + w[1]) / 2.0;
            let body = survivors * density(mid) * 0.1;
            let liquidated = if w[0] <= 0.12 && 0.12 < w[1] { PATHS as f64 * liq } else { 0.0 };
            (body + liquidated).round() as u64
        })
        .collect();
    Histogram { label: "Final equity / initial equity".into(), edges, counts }
}

/// Days to liquidation in two-week bins over the year, peaked near `median`.
fn liquidation_time_histogram(liq: f64, median: f64) -> Histogram {
    let edges: Vec<f64> = (0..=26).map(|i| f64::from(i) * 14.0).collect();
    let weights: Vec<f64> = edges
        .windows(2)
        .map(|w| {
            let x = (w[0] + w[1]) / 2.0 / median;
            x * (-x).exp()
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let counts = weights.iter().map(|w| (PATHS as f64 * liq * w / total).round() as u64).collect();
    Histogram { label: "Days to liquidation".into(), edges, counts }
}

// ---- determinism, escaping, self-containment ------------------------------------------------

#[test]
fn output_is_deterministic_and_compact() {
    let report = sample();
    let page = render_risk_html(&report);
    assert_eq!(page, render_risk_html(&report.clone()), "same input, same bytes");
    assert!(page.len() < 150_000, "{} bytes", page.len());
    for bad in ["src=\"http", "href=\"http", "@import", "url(http", " src=", "<link", "<img"] {
        assert!(!page.contains(bad), "page contains {bad:?}");
    }
}

#[test]
fn hostile_text_is_escaped_everywhere() {
    let mut report = sample();
    report.title = NASTY.into();
    report.subtitle = "a < b & c > \"d\"".into();
    report.facts = vec![("<b>Model</b>".into(), "GBM & 'jumps' <i>".into())];
    report.rows[0].label = NASTY.into();
    report.rows[1].label = "2x <img src=x onerror=alert(1)>".into();
    report.rows[2].settings.push(("<key>".into(), NASTY.into()));
    report.outcome_histograms[3].label = NASTY.into();
    report.recommendations = vec!["Use \u{2264} 2x <b>now</b> & \"then\"".into()];
    report.notes = vec!["<i>note</i>".into()];
    let page = render_risk_html(&report);
    // Exactly the two scripts of the page: the data and the chart code.
    assert_eq!(page.matches("<script").count(), 2, "{page}");
    assert_eq!(page.matches("</script>").count(), 2);
    assert!(!page.contains("<script>alert") && !page.contains("<img") && !page.contains("<i>"));
    assert!(page.contains("<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>"));
    assert!(page.contains("a &lt; b &amp; c &gt; &quot;d&quot;"));
    assert!(page
        .contains("<dt>&lt;b&gt;Model&lt;/b&gt;</dt><dd>GBM &amp; &#39;jumps&#39; &lt;i&gt;</dd>"));
    assert!(page.contains("<td>2x &lt;img src=x onerror=alert(1)&gt;</td>"));
    assert!(page.contains("<option value=\"1\">2x &lt;img src=x onerror=alert(1)&gt;</option>"));
    assert!(page.contains("<li>Use \u{2264} 2x &lt;b&gt;now&lt;/b&gt; &amp; &quot;then&quot;</li>"));
    assert!(page.contains("<li>&lt;i&gt;note&lt;/i&gt;</li>"));
    // The data element holds valid JSON that gives the text back exactly.
    let json = data_json(&page);
    assert!(!json.contains("</"), "no end tag can appear in the data");
    let data: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(data["rows"][0]["label"], NASTY);
    assert_eq!(data["outcomes"][3]["label"], NASTY);
    assert!(data["groups"].as_array().unwrap().iter().any(|g| g.as_str().unwrap().contains(NASTY)));
}

// ---- content --------------------------------------------------------------------------------

#[test]
fn the_page_has_its_sections_in_order_and_formats_the_table() {
    let mut report = sample();
    report.rows[3] = RiskRow {
        label: "3x, deleverage 0.78\u{2192}0.6".into(),
        settings: vec![("position.leverage".into(), "3".into())],
        leverage: 3.0,
        paths: PATHS,
        liquidation_probability: 0.1234,
        liquidation_ci: (0.1011, 0.1497),
        loss_probability: 0.4567,
        wipeout_probability: 0.0004,
        mean_apy: 0.2051,
        median_apy: -0.031,
        quantiles: vec![(0.05, -0.4), (0.95, 0.9)],
        var95: 0.35,
        cvar95: 0.5,
        var99: 0.75,
        cvar99: f64::NAN,
        mean_days_to_liquidation: Some(140.2),
        median_days_to_liquidation: Some(123.4),
    };
    let page = render_risk_html(&report);
    let row = table_row(&page, 3);
    assert!(row.starts_with("<tr class=\"primary\" data-row=\"3\">"), "the focus row: {row}");
    let cells = [
        "<td>3x, deleverage 0.78\u{2192}0.6</td>",
        "<td class=\"num liq\">12.3%<span class=\"ci\">10.1%\u{2013}15.0%</span></td>",
        "<td class=\"num\">45.7%</td>",
        "<td class=\"num\">&lt;0.1%</td>",
        "<td class=\"num pos\">20.5%</td>",
        "<td class=\"num neg\">-3.1%</td>",
        "<td class=\"num neg\">-40.0%</td>",
        "<td class=\"num pos\">90.0%</td>",
        "<td class=\"num\">35.0%</td>",
        "<td class=\"num\">50.0%</td>",
        "<td class=\"num\">75.0%</td>",
        "<td class=\"num\">\u{2013}</td>",
        "<td class=\"num\" title=\"mean 140 days\">123</td>",
    ];
    let mut at = 0;
    for cell in cells {
        let found = row[at..].find(cell).unwrap_or_else(|| panic!("{cell} not in order in {row}"));
        at += found + cell.len();
    }
    assert_eq!(row.matches("<td").count(), cells.len(), "{row}");
    assert!(page.contains("6 configurations, 10,000 simulated paths each."));
    // No liquidation: a dash for the days.
    let mut calm = sample();
    calm.rows[0].median_days_to_liquidation = None;
    calm.rows[0].mean_days_to_liquidation = None;
    assert!(
        table_row(&render_risk_html(&calm), 0).ends_with("<td class=\"num\">\u{2013}</td></tr>")
    );

    let order = [
        "<dl class=\"facts-strip\">",
        "<section class=\"recommend\"><h2>Recommendations</h2>",
        "<table class=\"data risk\">",
        "<div class=\"chart\" id=\"chart-liq-leverage\"></div>",
        "<div class=\"chart\" id=\"chart-apy-leverage\"></div>",
        "<select id=\"focus-select\">",
        "<div class=\"chart\" id=\"chart-fan\"></div>",
        "<div class=\"chart\" id=\"chart-outcome\"></div>",
        "<div class=\"chart\" id=\"chart-liq-time\"></div>",
        "<ul class=\"notes\">",
    ];
    let positions: Vec<usize> =
        order.iter().map(|s| page.find(s).unwrap_or_else(|| panic!("{s} missing"))).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert!(page.contains(">Liquidation probability against leverage</h2>"));
    assert!(page.contains(">Net APY against leverage</h2>"));
    assert!(page.contains("<option value=\"3\" selected>3x, deleverage 0.78\u{2192}0.6</option>"));
    assert_eq!(page.matches("<option").count(), 6);
    assert_eq!(RISK_CHART_IDS.len(), 5);
}

#[test]
fn the_data_carries_every_rows_charts_and_groups_by_non_leverage_settings() {
    let mut report = sample();
    // A second protection setting for the three highest leverages.
    for row in &mut report.rows[3..] {
        row.settings[1].1 = "off".into();
    }
    report.fans[0] = fan(1.5, 0.0, 1_000, 0.365);
    let data: serde_json::Value =
        serde_json::from_str(data_json(&render_risk_html(&report))).unwrap();
    assert_eq!(data["kind"], "risk");
    assert_eq!(data["focus"], 3);
    assert_eq!(data["groups"], serde_json::json!(["deleverage_at=0.78", "deleverage_at=off"]));
    let groups: Vec<u64> =
        data["rows"].as_array().unwrap().iter().map(|r| r["group"].as_u64().unwrap()).collect();
    assert_eq!(groups, [0, 0, 0, 1, 1, 1]);
    assert_eq!(data["rows"][2]["q05"], -0.62);
    for key in ["fans", "outcomes", "liq_times"] {
        assert_eq!(data[key].as_array().unwrap().len(), 6, "{key}");
    }
    // The 1,000-point fan is sampled down to MAX_FAN_POINTS, keeping both ends.
    let days = data["fans"][0]["days"].as_array().unwrap();
    assert_eq!(days.len(), MAX_FAN_POINTS);
    assert_eq!((days[0].as_f64(), days[MAX_FAN_POINTS - 1].as_f64()), (Some(0.0), Some(364.635)));
    assert_eq!(data["fans"][0]["bands"][4].as_array().unwrap().len(), MAX_FAN_POINTS);
    assert_eq!(data["fans"][1]["days"].as_array().unwrap().len(), 53);
    assert_eq!(data["fans"][1]["levels"], serde_json::json!([0.05, 0.25, 0.5, 0.75, 0.95]));
    assert_eq!(data["outcomes"][0]["edges"].as_array().unwrap().len(), 41);
}

#[test]
fn degenerate_inputs_render_without_panicking() {
    // Nothing at all.
    let page = render_risk_html(&RiskReport::default());
    assert!(page.contains("No configurations.") && page.contains("id=\"chart-fan\""));
    assert!(!page.contains("<select") && !page.contains("class=\"recommend\""));
    let data: serde_json::Value = serde_json::from_str(data_json(&page)).unwrap();
    assert!(data["focus"].is_null() && data["rows"].as_array().unwrap().is_empty());

    // Rows without charts, a focus past the end, non-finite numbers, mismatched lengths.
    let mut report = sample();
    report.focus = 99;
    report.fans.truncate(1);
    report.fans[0] = Fan {
        days: vec![0.0],
        levels: vec![0.5, f64::NAN, 0.05],
        bands: vec![vec![1.0], vec![2.0]],
        mean: vec![],
    };
    report.outcome_histograms = vec![Histogram::default(), degenerate_histogram()];
    report.liquidation_time_histograms.clear();
    let row = &mut report.rows[1];
    row.liquidation_probability = f64::NAN;
    row.liquidation_ci = (f64::NEG_INFINITY, f64::NAN);
    row.mean_apy = f64::INFINITY;
    row.leverage = f64::NAN;
    row.quantiles.clear();
    row.var99 = f64::NAN;
    row.median_days_to_liquidation = Some(f64::NAN);
    let page = render_risk_html(&report);
    assert!(table_row(&page, 0).starts_with("<tr class=\"primary\""), "focus falls back to row 0");
    let row = table_row(&page, 1);
    assert!(row.contains("<td class=\"num liq\">\u{2013}</td>"), "{row}");
    assert!(!row.contains("NaN") && !row.contains("inf"), "{row}");
    let data: serde_json::Value = serde_json::from_str(data_json(&page)).unwrap();
    assert_eq!(data["focus"], 0);
    assert!(data["rows"][1]["lev"].is_null() && data["rows"][1]["liq"].is_null());
    assert_eq!(
        data["fans"][0]["levels"],
        serde_json::json!([0.5]),
        "NaN level dropped, band-less level dropped"
    );
    assert!(data["fans"][1].is_null() && data["outcomes"][0].is_null());
    assert_eq!(data["outcomes"][1]["counts"], serde_json::json!([3, 0]));
    assert!(data["liq_times"][5].is_null());

    // One row, no settings, no facts.
    let mut one = sample();
    one.rows.truncate(1);
    one.rows[0].settings.clear();
    one.facts.clear();
    one.recommendations.truncate(1);
    let page = render_risk_html(&one);
    assert!(page.contains("1 configuration, 10,000 simulated paths each."));
    assert!(
        page.contains("<h2>Recommendation</h2>") && !page.contains("<dl class=\"facts-strip\">")
    );
}

/// Edges with a NaN and a count without its closing edge.
fn degenerate_histogram() -> Histogram {
    Histogram { label: String::new(), edges: vec![0.0, 1.0, f64::NAN], counts: vec![3, 0, 7] }
}

#[test]
fn rows_with_different_path_counts_get_a_paths_column() {
    let mut report = sample();
    report.rows[5].paths = 2_500;
    let page = render_risk_html(&report);
    assert!(page.contains("<th class=\"num\" rowspan=\"2\">Paths</th>"));
    assert!(table_row(&page, 5).contains("<td class=\"num\">2,500</td>"));
    assert!(page.contains(">6 configurations. Liquidation"));
}

// ---- in a real browser ----------------------------------------------------------------------

/// Switches the focus with the picker and clicks a table row; hovers the charts; sets
/// `data-interaction` on `<body>` to "ok" or to what went wrong.
const INTERACTION: &str = r##"<script>
(function () {
  var bad = [];
  function count(id, sel) { return document.querySelectorAll("#" + id + " " + sel).length; }
  function hover(id, at) {
    var el = document.getElementById(id), ov = el.querySelector(".ov"), r = ov.getBoundingClientRect();
    ov.dispatchEvent(new PointerEvent("pointermove", { clientX: r.left + r.width * at, clientY: r.top + 20, bubbles: true }));
    var tip = el.querySelector(".tip");
    if (tip.style.display !== "block" || !tip.textContent) bad.push("no tooltip in " + id);
    return tip.textContent;
  }
  var fan = document.querySelector("#chart-fan svg").innerHTML;
  var sel = document.getElementById("focus-select");
  sel.value = "5";
  sel.dispatchEvent(new Event("change"));
  if (document.querySelector("#chart-fan svg").innerHTML === fan) bad.push("fan did not change");
  if (!document.querySelector("tr[data-row='5']").classList.contains("primary")) bad.push("row 5 not marked");
  if (document.querySelector("tr[data-row='3']").classList.contains("primary")) bad.push("row 3 still marked");
  if (document.querySelector(".focus-label").textContent.indexOf("5x") !== 0) bad.push("focus label not updated");
  document.querySelector("tr[data-row='0']").click();
  if (sel.value !== "0") bad.push("row click did not move the picker");
  if (count("chart-outcome", "rect.bar") < 10) bad.push("few outcome bars after the switch");
  if (hover("chart-liq-leverage", 1).indexOf("5.00x") < 0) bad.push("liquidation tooltip not at 5x");
  if (hover("chart-fan", 0.5).indexOf("Day") < 0) bad.push("fan tooltip has no day");
  hover("chart-apy-leverage", 0.3);
  hover("chart-outcome", 0.2);
  document.body.setAttribute("data-interaction", bad.length ? bad.join("; ") : "ok");
})();
</script></body>"##;

#[test]
fn the_page_renders_in_headless_chromium_without_errors() {
    let Some(chromium) = browser::chromium() else { return };
    let dir = browser::fresh_dir("risk-render");
    let report = sample();
    let page_path = dir.join("risk.html");
    std::fs::write(&page_path, render_risk_html(&report)).unwrap();

    let run = browser::run(&chromium, &dir, &page_path, &["--dump-dom".into()]);
    assert!(run.success, "chromium failed:\n{}", run.stderr);
    let problems = browser::console_problems(&run.stderr);
    assert!(problems.is_empty(), "console problems:\n{}", problems.join("\n"));
    assert!(browser::body_ready(&run.stdout), "body has no data-ready=\"1\"");
    for id in RISK_CHART_IDS {
        assert!(browser::chart_has_svg(&run.stdout, id), "no <svg> in #{id}");
    }
    let dom = &run.stdout;
    // One error bar per row and one line per group; two fan bands (5-95%, 25-75%), the median
    // and the mean; one bar per non-empty bin of the focus row's histograms.
    assert_eq!(chart(dom, "chart-liq-leverage").matches("class=\"err\"").count(), 6);
    assert_eq!(chart(dom, "chart-liq-leverage").matches("class=\"line\"").count(), 1);
    assert_eq!(chart(dom, "chart-liq-leverage").matches("class=\"pt\"").count(), 6);
    assert_eq!(chart(dom, "chart-apy-leverage").matches("class=\"band\"").count(), 1);
    assert_eq!(chart(dom, "chart-apy-leverage").matches("class=\"line\"").count(), 2);
    assert_eq!(chart(dom, "chart-fan").matches("class=\"band\"").count(), 2);
    assert_eq!(chart(dom, "chart-fan").matches("class=\"line\"").count(), 2);
    assert_eq!(chart(dom, "chart-fan").matches("class=\"level\"").count(), 1, "break-even");
    let focus = report.focus;
    let bins = |h: &Histogram| h.counts.iter().filter(|&&c| c > 0).count();
    assert_eq!(
        chart(dom, "chart-outcome").matches("class=\"bar\"").count(),
        bins(&report.outcome_histograms[focus])
    );
    assert_eq!(
        chart(dom, "chart-liq-time").matches("class=\"bar\"").count(),
        bins(&report.liquidation_time_histograms[focus])
    );
    assert!(!dom.contains("class=\"empty\""), "a chart drew its empty or error message");

    let shot = dir.join("risk.png");
    let run = browser::run(
        &chromium,
        &dir,
        &page_path,
        &[format!("--screenshot={}", shot.display()), "--window-size=1280,2900".into()],
    );
    assert!(run.success && shot.exists(), "no screenshot:\n{}", run.stderr);
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/risk-report-screenshot.png");
    std::fs::copy(&shot, target).unwrap();
}

#[test]
fn the_focus_picker_and_hover_work_in_chromium() {
    let Some(chromium) = browser::chromium() else { return };
    browser::assert_interaction(
        &chromium,
        "risk-interaction",
        &render_risk_html(&sample()),
        INTERACTION,
    );
}

#[test]
fn degenerate_pages_render_in_chromium_without_errors() {
    let Some(chromium) = browser::chromium() else { return };
    let dir = browser::fresh_dir("risk-degenerate");
    let mut odd = sample();
    odd.rows[1].leverage = f64::NAN;
    odd.rows[2].liquidation_ci = (f64::NAN, 0.2);
    odd.fans =
        vec![Fan { days: vec![0.0], levels: vec![0.5], bands: vec![vec![1.0]], mean: vec![] }];
    odd.outcome_histograms = vec![degenerate_histogram()];
    odd.liquidation_time_histograms = vec![Histogram::default()];
    odd.focus = 0;
    for (name, report) in [("empty", RiskReport::default()), ("odd", odd)] {
        let page_path = dir.join(format!("{name}.html"));
        std::fs::write(&page_path, render_risk_html(&report)).unwrap();
        let run = browser::run(&chromium, &dir, &page_path, &["--dump-dom".into()]);
        assert!(run.success, "{name}: chromium failed:\n{}", run.stderr);
        let problems = browser::console_problems(&run.stderr);
        assert!(problems.is_empty(), "{name}: console problems:\n{}", problems.join("\n"));
        assert!(browser::body_ready(&run.stdout), "{name}: not ready");
        for id in RISK_CHART_IDS {
            assert!(browser::chart_has_svg(&run.stdout, id), "{name}: no <svg> in #{id}");
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

/// The `<tr>` of table row `i`.
fn table_row(page: &str, i: usize) -> &str {
    let at = page.find(&format!("data-row=\"{i}\">")).unwrap();
    let start = page[..at].rfind("<tr").unwrap();
    &page[start..start + page[start..].find("</tr>").unwrap() + "</tr>".len()]
}

/// The dumped DOM of the chart `id`, up to the end of its section.
fn chart<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom.find(&format!("id=\"{id}\"")).unwrap();
    let rest = &dom[at..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

/// A horizon under 90 days: the table and the leverage chart speak of returns over the
/// horizon, not of an annual rate.
#[test]
fn a_short_horizon_is_labelled_as_returns() {
    let mut report = sample();
    report.annualised = false;
    let page = levfarm_report::render_risk_html(&report);
    assert!(page.contains("Return over the horizon"), "no return header");
    assert!(page.contains("not annualised"));
    assert!(!page.contains(">Net APY<"), "an APY header on returns");
    assert!(levfarm_report::render_risk_html(&sample()).contains(">Net APY<"));
}
