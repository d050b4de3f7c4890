//! levfarm-report's portfolio page: determinism, escaping, the heat maps and bars from the
//! figures given, and the page in a real headless browser.

#[path = "support/browser.rs"]
mod browser;

use levfarm_report::{
    render_portfolio_html, Grid, PortfolioReport, PositionRow, Series, SummaryRow,
    PORTFOLIO_CHART_IDS,
};

const NASTY: &str = "</script><script>alert(1)</script>";

/// Three positions over 400 hourly bars, with a 3×3 joint-move grid.
fn sample() -> PortfolioReport {
    let n = 400;
    let times: Vec<i64> = (0..n).map(|i| 1_600_000_000 + 3_600 * i as i64).collect();
    let wave = |a: f64, f: f64| -> Vec<f64> {
        (0..n).map(|i| a * (1.0 + 0.2 * (i as f64 * f).sin())).collect()
    };
    let names = ["ETH 2x", "BTC 2x", "ETH/BTC 1.5x"];
    let position = |i: usize, w: f64| PositionRow {
        name: names[i].into(),
        pair: ["WETH/USDC", "WBTC/USDC", "WETH/WBTC"][i].into(),
        venue: ["main", "beta", "main"][i].into(),
        weight: w,
        leverage: "2x".into(),
        final_equity: 20_000.0 * w * 2.5,
        pnl: 1_000.0 * (i as f64 - 1.0),
        net_apy: 0.1,
        max_drawdown: 0.3,
        liquidated: i == 1,
        bars_near_kill: 12,
    };
    let curves = [wave(20_000.0, 0.02), wave(20_000.0, 0.03), wave(10_000.0, 0.05)];
    let total: Vec<f64> = (0..n).map(|i| curves.iter().map(|c| c[i]).sum()).collect();
    let mut equity = vec![Series { name: "Portfolio".into(), values: total }];
    equity.extend(
        curves.iter().zip(names).map(|(c, n)| Series { name: n.into(), values: c.clone() }),
    );
    equity.push(Series { name: "All in ETH 2x".into(), values: wave(50_000.0, 0.02) });
    PortfolioReport {
        title: "Three positions".into(),
        subtitle: "synthetic".into(),
        facts: vec![("Capital".into(), "50,000.00".into())],
        positions: vec![
            position(0, 0.4),
            position(1, 0.4),
            position(2, 0.2),
            PositionRow { name: "portfolio".into(), weight: 1.0, ..position(0, 1.0) },
        ],
        times,
        equity,
        pnl: vec![("trading fees".into(), vec![10.0, 20.0, 5.0, 35.0])],
        comparison: vec![SummaryRow {
            name: "Portfolio".into(),
            final_equity: 51_000.0,
            pnl: 1_000.0,
            net_apy: 0.05,
            max_drawdown: 0.2,
            liquidated: false,
            note: String::new(),
        }],
        correlation: vec![
            vec![1.0, 0.82, -0.25],
            vec![0.82, 1.0, f64::NAN],
            vec![-0.25, f64::NAN, 1.0],
        ],
        worst_days: (0.95, 12, 0.04, vec![0.02, 0.015, 0.005]),
        grid: Some(Grid {
            assets: vec!["WETH".into(), "WBTC".into()],
            moves: vec![-0.5, 0.0, 0.5],
            cells: vec![
                vec![
                    (-0.6, vec!["ETH 2x".into(), "BTC 2x".into()]),
                    (-0.3, vec!["ETH 2x".into()]),
                    (-0.1, vec![]),
                ],
                vec![(-0.25, vec![]), (-0.003, vec![]), (0.2, vec![])],
                vec![(0.1, vec![]), (0.25, vec![]), (0.45, vec![])],
            ],
        }),
        notes: vec!["a note".into()],
        sources: vec!["WETH: bundled:ETHUSD_1h".into()],
    }
}

#[test]
fn the_page_is_deterministic_and_shows_the_figures_given() {
    let page = render_portfolio_html(&sample());
    assert_eq!(page, render_portfolio_html(&sample()));
    assert!(page.starts_with("<!DOCTYPE html>"));
    // The correlation heat map: each value, a dash where there is none, red for positive
    // and blue for negative.
    assert!(page.contains("style=\"background:rgba(220,38,38,0.451)\">0.82</td>"), "0.82's cell");
    assert!(page.contains("style=\"background:rgba(29,78,216,0.138)\">-0.25</td>"), "-0.25's cell");
    assert!(page.contains("background:#f8fafc\">\u{2013}</td>"));
    // The grid: the change, one star per position past its kill factor, named in the title.
    assert!(
        page.contains("title=\"past the kill factor: ETH 2x, BTC 2x\">-60.0%\u{2217}\u{2217}</td>")
    );
    assert!(page.contains(">+45.0%</td>"));
    // The contributions: shares of the worst days' loss, 50%, 37.5%, 12.5%.
    for share in ["50.0%", "37.5%", "12.5%"] {
        assert!(page.contains(&format!("<td class=\"num\">{share}</td>")), "{share}");
    }
    // The allocation's bars at the weights.
    assert!(page.contains("width:40%\"></div>") && page.contains("width:20%\"></div>"));
}

#[test]
fn names_are_escaped_everywhere() {
    let mut r = sample();
    r.title = NASTY.into();
    r.positions[0].name = NASTY.into();
    r.equity[1].name = NASTY.into();
    if let Some(g) = r.grid.as_mut() {
        g.cells[0][0].1 = vec![NASTY.into()];
    }
    let page = render_portfolio_html(&r);
    assert_eq!(page.matches("<script").count(), 2, "only the page's own two scripts");
    assert!(!page.contains("alert(1)</script>"));
}

#[test]
fn the_page_renders_in_headless_chromium_without_errors() {
    let Some(chromium) = browser::chromium() else { return };
    let dir = browser::fresh_dir("portfolio-render");
    for (name, report) in [("sample", sample()), ("empty", PortfolioReport::default())] {
        let page_path = dir.join(format!("{name}.html"));
        std::fs::write(&page_path, render_portfolio_html(&report)).unwrap();
        let run = browser::run(&chromium, &dir, &page_path, &["--dump-dom".into()]);
        assert!(run.success, "{name}: chromium failed:\n{}", run.stderr);
        let problems = browser::console_problems(&run.stderr);
        assert!(problems.is_empty(), "{name}: console problems:\n{}", problems.join("\n"));
        assert!(browser::body_ready(&run.stdout), "{name}: body has no data-ready=\"1\"");
        for id in PORTFOLIO_CHART_IDS {
            assert!(browser::chart_has_svg(&run.stdout, id), "{name}: no <svg> in #{id}");
        }
        if name == "sample" {
            // One line per series, the concentrated alternative dashed.
            let dom = &run.stdout;
            let start = dom.find("id=\"chart-equity\"").unwrap();
            let chart = &dom[start..];
            let chart = &chart[..chart.find("</svg>").unwrap()];
            assert_eq!(chart.matches("stroke-linejoin=\"round\"").count(), 5);
            assert_eq!(chart.matches("stroke-dasharray=\"5 4\"").count(), 1);
        }
    }
    let shot = dir.join("portfolio.png");
    let run = browser::run(
        &chromium,
        &dir,
        &dir.join("sample.html"),
        &[format!("--screenshot={}", shot.display()), "--window-size=1280,2600".into()],
    );
    assert!(run.success && shot.exists(), "no screenshot:\n{}", run.stderr);
}

const INTERACTION: &str = r##"<script>
(function () {
  var bad = [];
  var eq = document.getElementById("chart-equity"), paths = eq.querySelectorAll("svg path[fill=none]").length;
  eq.querySelector(".legend .item[data-i='4']").click();
  if (eq.querySelectorAll("svg path[fill=none]").length !== paths - 1) bad.push("legend click did not hide a line");
  document.querySelector("#chart-equity .legend .btn").click();
  if (!document.querySelector("#chart-equity svg")) bad.push("no svg after the log toggle");
  var ov = eq.querySelector(".ov"), r = ov.getBoundingClientRect();
  ov.dispatchEvent(new PointerEvent("pointermove", { clientX: r.left + r.width * 0.4, clientY: r.top + 10, bubbles: true }));
  var tip = eq.querySelector(".tip");
  if (tip.style.display !== "block" || tip.textContent.indexOf("Portfolio") < 0) bad.push("no tooltip with the portfolio");
  document.body.setAttribute("data-interaction", bad.length ? bad.join("; ") : "ok");
})();
</script></body>"##;

#[test]
fn the_equity_chart_answers_hover_legend_clicks_and_the_log_toggle() {
    let Some(chromium) = browser::chromium() else { return };
    browser::assert_interaction(
        &chromium,
        "portfolio-interaction",
        &render_portfolio_html(&sample()),
        INTERACTION,
    );
}
