//! The stress test's page, for a protocol's risk designer: the book, the liquidations at risk
//! and the bad debt of each shock as bars, the shocks', windows' and Monte Carlo windows'
//! figures in tables, the paths' bad debt as a histogram, and a sweep's grid with the row that
//! keeps the budget. Charts are inline SVG drawn here: the page reads without JavaScript.

use levfarm_risk::stress::PathsOutput;
use levfarm_sim::stress::{ShockOutcome, StressOutput, StressRow};

use crate::format::{self, html};
use crate::page::{card, footer_with, kpi, open_document, wrap};
use crate::tables;

/// A stress run as the page shows it: any of its parts.
#[derive(Debug, Clone, Default)]
pub struct StressReport<'a> {
    /// The page's title.
    pub title: String,
    /// The line under the title.
    pub subtitle: String,
    /// Settings as label and value.
    pub facts: Vec<(String, String)>,
    /// The book's shocks and windows.
    pub output: Option<&'a StressOutput>,
    /// The Monte Carlo windows.
    pub paths: Option<&'a PathsOutput>,
    /// A sweep's rows, each one's Monte Carlo windows (when run), the budget and the row within
    /// it with the highest open limit.
    pub sweep: Option<Sweep<'a>>,
    /// What the reader should know about the inputs.
    pub notes: Vec<String>,
    /// Where the prices come from.
    pub sources: Vec<String>,
}

/// A sweep as the page shows it.
#[derive(Debug, Clone)]
pub struct Sweep<'a> {
    /// Every combination, in grid order.
    pub rows: &'a [StressRow],
    /// Each row's Monte Carlo windows, in the same order (empty without `--paths`).
    pub paths: &'a [PathsOutput],
    /// The loss budget, a share of the book's debt.
    pub budget: f64,
    /// The index of the row within the budget with the highest open limit.
    pub best: Option<usize>,
}

const BLUE: &str = "#1d4ed8";
const RED: &str = "#dc2626";
const AMBER: &str = "#d97706";

/// The whole page as one string.
pub(crate) fn render(r: &StressReport) -> String {
    let mut out = open_document(&r.title);
    out.push_str(&format!(
        "<header class=\"head\">\n<div class=\"eyebrow\">levfarm \u{b7} stress test</div>\n\
         <h1>{}</h1>\n<p class=\"sub\">{}</p>\n{}</header>\n",
        html(&r.title),
        html(&r.subtitle),
        kpis(r)
    ));
    if let Some(o) = r.output {
        if !o.shocks.is_empty() {
            out.push_str(&card(
                "Shocks",
                "The oracle's move, the debt of the positions it put past their kill factor (at \
                 risk) and the bad debt the liquidations left, as shares of the book's debt.",
                &shock_chart(&o.shocks, o.debt + o.borrowers_debt),
            ));
            out.push_str(&card(
                "Shocks in figures",
                "Cascade: rounds of kills in one minute, each after the previous one's selling.",
                &wrap(&outcomes_table(
                    o.shocks
                        .iter()
                        .map(|s| (format::signed_points(s.shock).replace(" pp", "%"), s)),
                    o.debt + o.borrowers_debt,
                )),
            ));
        }
        if !o.windows.is_empty() {
            out.push_str(&card(
                "Windows of history",
                "Each window opens its own book at the close before it and runs at minute steps.",
                &wrap(&windows_table(o)),
            ));
        }
    }
    if let Some(p) = r.paths {
        out.push_str(&card(
            "Monte Carlo windows",
            &format!(
                "{} paths of {} hours ({}), on the {}: the distribution of each path's bad debt.",
                format::number(p.head.spec.paths as f64, 0),
                p.head.spec.hours,
                p.head.model,
                p.head.engine
            ),
            &format!("{}{}", wrap(&paths_table(p)), histogram(p)),
        ));
    }
    if let Some(s) = &r.sweep {
        out.push_str(&card(
            "Sweep",
            &format!(
                "Each combination's worst bad debt (over the shocks, the windows and the paths' \
                 EVaR99) against the budget of {} of the debt; the highlighted row is the one \
                 within it with the highest open limit.",
                format::percent(s.budget)
            ),
            &format!("{}{}", heat_map(s), wrap(&sweep_table(s))),
        ));
    }
    out.push_str(&card("Settings", "", &wrap(&tables::facts(&r.facts))));
    if !r.notes.is_empty() {
        out.push_str(&card("Notes", "", &tables::list("notes", &r.notes)));
    }
    out.push_str(&footer_with(&r.sources));
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// A share of the debt: small ones with three decimals, so that 0.004% does not read 0.0%.
fn pct(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.01 {
        format!("{}%", format::number(v * 100.0, 3))
    } else {
        format::percent(v)
    }
}

fn share(x: f64, of: f64) -> f64 {
    if of > 0.0 {
        x / of
    } else {
        0.0
    }
}

fn kpis(r: &StressReport) -> String {
    let mut k = Vec::new();
    if let Some(o) = r.output {
        k.push(kpi(
            "Book",
            "",
            &format!("{} positions", format::number(o.opened as f64, 0)),
            &if o.borrowers > 0 {
                format!(
                    "debt {}; {} plain borrowers owing {}",
                    format::money(o.debt),
                    format::number(o.borrowers as f64, 0),
                    format::money(o.borrowers_debt)
                )
            } else {
                format!("debt {}, equity {}", format::money(o.debt), format::money(o.equity))
            },
        ));
        let worst = o.worst_bad_debt();
        k.push(kpi(
            "Worst bad debt",
            if worst > 0.0 { "bad" } else { "good" },
            &pct(worst),
            "of the book's debt, over the shocks and windows",
        ));
        let all = o.shocks.iter().chain(o.windows.iter().map(|w| &w.outcome));
        let deepest = all.map(|s| s.rounds.len()).max().unwrap_or(0);
        k.push(kpi(
            "Deepest cascade",
            if deepest > 1 { "bad" } else { "" },
            &format!("{deepest} round{}", if deepest == 1 { "" } else { "s" }),
            "of kills in one minute",
        ));
    }
    if let Some(p) = r.paths {
        k.push(kpi(
            "EVaR99",
            if p.bad_debt.evar99 > 0.0 { "bad" } else { "good" },
            &format::money(p.bad_debt.evar99),
            &format!(
                "{} of the debt; VaR95 {}",
                pct(p.bad_debt.evar99_share),
                format::money(p.bad_debt.var95)
            ),
        ));
    }
    if let Some(s) = &r.sweep {
        let best = s.best.and_then(|i| s.rows.get(i));
        k.push(kpi(
            "Within the budget",
            if best.is_some() { "good" } else { "bad" },
            &best.map_or("none".into(), |b| {
                format!("work factor {}", format::percent(f64::from(b.work_factor_bps) / 1e4))
            }),
            &best.map_or("no combination keeps it".into(), settings),
        ));
    }
    if k.is_empty() {
        return String::new();
    }
    format!("<div class=\"kpis\">{}</div>\n", k.concat())
}

fn settings(row: &StressRow) -> String {
    row.settings.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ")
}

fn num(v: String) -> String {
    format!("<td class=\"num\">{v}</td>")
}

/// The shared columns of a shock's or a window's outcome.
const OUTCOME_HEAD: &str = "<th class=\"num\">Low</th><th class=\"num\">At risk</th>\
    <th class=\"num\">Debt at risk</th><th class=\"num\">Liquidated</th>\
    <th class=\"num\">Debt liquidated</th><th class=\"num\">Cascade</th>\
    <th class=\"num\">Bad debt</th><th class=\"num\">of the debt</th>\
    <th class=\"num\">Liquidators paid</th><th class=\"num\">Left unpaid</th>\
    <th class=\"num\">Utilization peak</th>";

fn outcome_cells(o: &ShockOutcome, debt: f64) -> String {
    [
        num(format::price(o.price)),
        num(format::number(o.at_risk as f64, 0)),
        num(format::money(o.at_risk_debt)),
        num(format::number(o.liquidated as f64, 0)),
        num(format::money(o.liquidated_debt)),
        num(o.rounds.len().to_string()),
        format!(
            "<td class=\"num {}\">{}</td>",
            if o.bad_debt > 0.0 { "neg" } else { "" },
            format::money(o.bad_debt)
        ),
        num(pct(share(o.bad_debt, debt))),
        num(format::money(o.liquidators_paid)),
        num(format::number((o.unprofitable + o.capital_limited + o.waiting) as f64, 0)),
        num(format::percent(o.utilization_peak)),
    ]
    .concat()
}

fn outcomes_table<'a>(rows: impl Iterator<Item = (String, &'a ShockOutcome)>, debt: f64) -> String {
    let mut out = format!(
        "<table class=\"data\"><thead><tr><th>Shock</th>{OUTCOME_HEAD}</tr></thead><tbody>"
    );
    for (name, o) in rows {
        out.push_str(&format!("<tr><td>{}</td>{}</tr>", html(&name), outcome_cells(o, debt)));
    }
    out.push_str("</tbody></table>");
    out
}

fn windows_table(o: &StressOutput) -> String {
    let mut out = format!(
        "<table class=\"data\"><thead><tr><th>Window</th><th>From</th><th>To</th>\
         <th class=\"num\">Start</th><th class=\"num\">Positions</th><th class=\"num\">Debt</th>\
         {OUTCOME_HEAD}</tr></thead><tbody>"
    );
    for w in &o.windows {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td>{}{}{}{}</tr>",
            html(&w.window.name),
            html(&w.from),
            html(&w.to),
            num(format::price(w.start)),
            num(format::number(w.opened as f64, 0)),
            num(format::money(w.debt)),
            outcome_cells(&w.outcome, w.debt + w.borrowers_debt)
        ));
    }
    out.push_str("</tbody></table>");
    out
}

fn paths_table(p: &PathsOutput) -> String {
    let b = &p.bad_debt;
    let mut out = String::from(
        "<table class=\"data\"><thead><tr><th></th><th class=\"num\">Mean</th>\
         <th class=\"num\">VaR95</th><th class=\"num\">EVaR99</th><th class=\"num\">Max</th>\
         <th class=\"num\">P(any)</th></tr></thead><tbody>",
    );
    out.push_str(&format!(
        "<tr class=\"primary\"><td>Bad debt</td>{}{}{}{}{}</tr>",
        num(format::money(b.mean)),
        num(format::money(b.var95)),
        num(format::money(b.evar99)),
        num(format::money(b.max)),
        num(format::percent(b.p_any)),
    ));
    out.push_str(&format!(
        "<tr><td>of the debt</td>{}{}{}{}<td></td></tr>",
        num(pct(b.mean_share)),
        num(pct(b.var95_share)),
        num(pct(b.evar99_share)),
        num(pct(share(b.max, p.head.debt))),
    ));
    out.push_str("</tbody></table>");
    out.push_str(&tables::facts(&[
        (
            "Book".into(),
            format!("{} positions, debt {}", p.head.opened, format::money(p.head.debt)),
        ),
        (
            "Liquidations a path".into(),
            format!(
                "mean {}, 95th percentile {}",
                format::number(p.liquidated_mean, 1),
                format::number(p.liquidated_p95, 0)
            ),
        ),
        (
            "Debt liquidated a path".into(),
            format!("mean {}", format::money(p.liquidated_debt_mean)),
        ),
        (
            "Cascades".into(),
            format!(
                "deepest {} round{}; two rounds or more in {} of the paths",
                p.depth_max,
                if p.depth_max == 1 { "" } else { "s" },
                format::percent(p.p_cascade)
            ),
        ),
        (
            "Liquidators' pay a path".into(),
            format!("mean {}", format::money(p.liquidators_paid_mean)),
        ),
        ("5% low".into(), format!("{} from the start", format::percent(p.low_p5 - 1.0))),
    ]));
    out
}

/// Bars over categories: for each label, one bar per series (values as shares, drawn to the
/// largest), with the value over each bar.
fn bars(
    labels: &[String],
    series: &[(&str, &str, Vec<f64>)],
    show: impl Fn(f64) -> String,
) -> String {
    let (w, h, left, bottom, top) = (860.0, 260.0, 40.0, 40.0, 24.0);
    let n = labels.len().max(1) as f64;
    let k = series.len().max(1) as f64;
    let max = series.iter().flat_map(|s| s.2.iter().copied()).fold(0.0f64, f64::max);
    let scale = if max > 0.0 { (h - bottom - top) / max } else { 0.0 };
    let slot = (w - left) / n;
    let bar = (slot * 0.7 / k).min(60.0);
    let mut svg = format!(
        "<svg viewBox=\"0 0 {w} {h}\" role=\"img\" style=\"width:100%;height:auto;max-width:{w}px\" \
         xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui,sans-serif\" font-size=\"12\">\
         <line x1=\"{left}\" y1=\"{y0}\" x2=\"{w}\" y2=\"{y0}\" stroke=\"#94a3b8\"/>",
        y0 = h - bottom
    );
    for (i, label) in labels.iter().enumerate() {
        let x0 = left + slot * i as f64 + (slot - bar * k) / 2.0;
        for (j, (_, color, values)) in series.iter().enumerate() {
            let v = values.get(i).copied().unwrap_or(0.0);
            let bh = (v * scale).max(0.0);
            let x = x0 + bar * j as f64;
            let y = h - bottom - bh;
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#334155\">{}</text>",
                bar - 2.0,
                x + bar / 2.0 - 1.0,
                y - 4.0,
                html(&show(v))
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#0f172a\">{}</text>",
            left + slot * (i as f64 + 0.5),
            h - bottom + 18.0,
            html(label)
        ));
    }
    let mut x = left;
    for (name, color, _) in series.iter().filter(|s| !s.0.is_empty()) {
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"4\" width=\"12\" height=\"12\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"14\" fill=\"#0f172a\">{}</text>",
            x + 16.0,
            html(name)
        ));
        x += 24.0 + 7.0 * name.chars().count() as f64;
    }
    svg.push_str("</svg>");
    svg
}

fn shock_chart(shocks: &[ShockOutcome], debt: f64) -> String {
    let labels: Vec<String> =
        shocks.iter().map(|s| format::signed_points(s.shock).replace(" pp", "%")).collect();
    bars(
        &labels,
        &[
            ("debt at risk", AMBER, shocks.iter().map(|s| share(s.at_risk_debt, debt)).collect()),
            (
                "debt liquidated",
                BLUE,
                shocks.iter().map(|s| share(s.liquidated_debt, debt)).collect(),
            ),
            ("bad debt", RED, shocks.iter().map(|s| share(s.bad_debt, debt)).collect()),
        ],
        format::percent,
    )
}

/// The paths' bad debt (or, with none on any path, their liquidations) in twelve bins.
fn histogram(p: &PathsOutput) -> String {
    let bad = p.rows.iter().any(|r| r.bad_debt > 0.0);
    let values: Vec<f64> =
        p.rows.iter().map(|r| if bad { r.bad_debt } else { r.liquidated as f64 }).collect();
    let max = values.iter().copied().fold(0.0f64, f64::max);
    let bins = 12usize;
    let width = if max > 0.0 { max / bins as f64 } else { 1.0 };
    let mut counts = vec![0.0; bins];
    for v in &values {
        let b = ((v / width) as usize).min(bins - 1);
        counts[b] += 1.0;
    }
    let n = values.len().max(1) as f64;
    let labels: Vec<String> = (0..bins)
        .map(|b| {
            let lo = b as f64 * width;
            let decimals = if bad && width < 10.0 { 2 } else { 0 };
            format!("{}\u{2013}", format::number(lo, decimals))
        })
        .collect();
    let what = if bad {
        "Paths by their bad debt (numeraire)"
    } else {
        "Paths by their liquidations (no path left bad debt)"
    };
    format!(
        "<h3 class=\"hint\">{}</h3>{}",
        html(what),
        bars(&labels, &[("", BLUE, counts.iter().map(|c| c / n).collect())], |v| {
            format::percent(v)
        })
    )
}

fn sweep_table(s: &Sweep) -> String {
    let keys: Vec<&str> = s
        .rows
        .first()
        .map(|r| r.settings.iter().map(|(k, _)| k.as_str()).collect())
        .unwrap_or_default();
    let mut out = String::from("<table class=\"data\"><thead><tr>");
    for k in &keys {
        out.push_str(&format!("<th>{}</th>", html(k)));
    }
    out.push_str(
        "<th class=\"num\">Work factor</th><th class=\"num\">Kill factor</th>\
         <th class=\"num\">Positions</th><th class=\"num\">Worst bad debt</th><th></th>\
         <th class=\"num\">EVaR99</th></tr></thead><tbody>",
    );
    for (i, r) in s.rows.iter().enumerate() {
        let class = if s.best == Some(i) { " class=\"primary\"" } else { "" };
        out.push_str(&format!("<tr{class}>"));
        for (_, v) in &r.settings {
            out.push_str(&format!("<td>{}</td>", html(v)));
        }
        let over = r.worst_bad_debt > s.budget;
        let fill = (share(r.worst_bad_debt, s.budget.max(1e-12)) * 50.0).min(100.0);
        out.push_str(&format!(
            "{}{}{}<td class=\"num {}\">{}</td><td><div style=\"background:#eef2f6;height:0.7em;\
             width:10em;display:inline-block;vertical-align:middle;position:relative\"><div \
             style=\"background:{};height:100%;width:{fill:.1}%\"></div><div style=\"position:\
             absolute;left:50%;top:-2px;bottom:-2px;border-left:1px dashed #0f172a\"></div></div></td>{}</tr>",
            num(format::percent(f64::from(r.work_factor_bps) / 1e4)),
            num(format::percent(f64::from(r.kill_factor_bps) / 1e4)),
            num(format::number(r.output.opened as f64, 0)),
            if over { "neg" } else { "" },
            pct(r.worst_bad_debt),
            if over { RED } else { BLUE },
            num(s.paths.get(i).map_or(format::DASH.into(), |p| format::money(p.bad_debt.evar99))),
        ));
    }
    out.push_str("</tbody></table>");
    out
}

/// With two swept keys, the worst bad debt as a grid: the first key down, the second across,
/// each cell shaded by its share of the budget (red past it).
fn heat_map(s: &Sweep) -> String {
    let keys: Vec<&str> = match s.rows.first() {
        Some(r) if r.settings.len() == 2 => r.settings.iter().map(|(k, _)| k.as_str()).collect(),
        _ => return String::new(),
    };
    let mut down: Vec<&str> = Vec::new();
    let mut across: Vec<&str> = Vec::new();
    for r in s.rows {
        if !down.contains(&r.settings[0].1.as_str()) {
            down.push(&r.settings[0].1);
        }
        if !across.contains(&r.settings[1].1.as_str()) {
            across.push(&r.settings[1].1);
        }
    }
    let mut out = format!(
        "<div class=\"table-wrap\"><table class=\"data heat\" style=\"width:auto\"><thead><tr><th>{} \u{2193} {} \u{2192}</th>",
        html(keys[0]),
        html(keys[1])
    );
    for a in &across {
        out.push_str(&format!("<th class=\"num\">{}</th>", html(a)));
    }
    out.push_str("</tr></thead><tbody>");
    for d in &down {
        out.push_str(&format!("<tr><th>{}</th>", html(d)));
        for a in &across {
            let found = s
                .rows
                .iter()
                .enumerate()
                .find(|(_, r)| r.settings[0].1 == *d && r.settings[1].1 == *a);
            let Some((i, r)) = found else {
                out.push_str(&format!("<td class=\"num\">{}</td>", format::DASH));
                continue;
            };
            let over = r.worst_bad_debt > s.budget;
            let alpha = (share(r.worst_bad_debt, s.budget.max(1e-12)) * 0.5).min(1.0) * 0.55;
            let rgb = if over { "220,38,38" } else { "21,128,61" };
            let best = if s.best == Some(i) { " \u{2605}" } else { "" };
            out.push_str(&format!(
                "<td class=\"num\" style=\"background:rgba({rgb},{:.3})\">{}{best}</td>",
                if over { alpha.max(0.12) } else { 0.55 - alpha },
                pct(r.worst_bad_debt)
            ));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}
