//! The portfolio document: the allocation, equity of each position and in total against the
//! capital concentrated in each, the profit and loss by position, the diversification
//! comparison, the positions' correlation and their share of the worst days as heat maps and
//! bars, and the joint-move grid as a heat map. One chart (the equity), drawn by the page's
//! script; everything else is HTML that reads without it.

use serde::Serialize;

use crate::format::{self, html};
use crate::model::{Series, SummaryRow};
use crate::page::{card, open_document, script, slot, wrap};
use crate::payload::{escape_for_script, round, MAX_POINTS_PER_SERIES};
use crate::tables::{self, sign_class};

/// A portfolio's backtest as the page shows it (plain data; [`crate::from_portfolio`] fills it).
#[derive(Debug, Clone, Default)]
pub struct PortfolioReport {
    /// The page's title and the line under it.
    pub title: String,
    /// The line under the title.
    pub subtitle: String,
    /// Settings and outcomes as label and value.
    pub facts: Vec<(String, String)>,
    /// Each position, then the portfolio as the last row.
    pub positions: Vec<PositionRow>,
    /// Bar times (Unix seconds) and the equity curves on them: the portfolio first, then each
    /// position, then each concentrated alternative.
    pub times: Vec<i64>,
    /// The equity curves, in the numeraire.
    pub equity: Vec<Series>,
    /// Parts of the profit and loss: the name, each position's value, the portfolio's.
    pub pnl: Vec<(String, Vec<f64>)>,
    /// The portfolio and the same capital held otherwise.
    pub comparison: Vec<SummaryRow>,
    /// The positions' returns' correlation matrix, positions in order.
    pub correlation: Vec<Vec<f64>>,
    /// The worst days' share kept, their count, the portfolio's mean loss over them and each
    /// position's part (shares of the capital).
    pub worst_days: (f64, usize, f64, Vec<f64>),
    /// The joint-move grid, when quoted.
    pub grid: Option<Grid>,
    /// What the reader should know about the inputs.
    pub notes: Vec<String>,
    /// Where the prices come from.
    pub sources: Vec<String>,
}

/// One row of the positions' table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PositionRow {
    /// The position's name (`portfolio` for the total).
    pub name: String,
    /// Its pool's tokens, `WETH/USDC`.
    pub pair: String,
    /// Its lending venue.
    pub venue: String,
    /// Its target share of the capital.
    pub weight: f64,
    /// Its leverage and side, as shown.
    pub leverage: String,
    /// Its equity at the end, in the numeraire.
    pub final_equity: f64,
    /// Its profit and loss, in the numeraire.
    pub pnl: f64,
    /// Its net APY (NaN under 90 days).
    pub net_apy: f64,
    /// Its largest fall from a peak, as a share.
    pub max_drawdown: f64,
    /// Whether it was liquidated (the total's: any position).
    pub liquidated: bool,
    /// Bars within 10% of the kill factor (the total's: any position).
    pub bars_near_kill: u64,
}

/// The portfolio's equity change after instant joint moves of two assets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid {
    /// The assets moved: rows, then columns.
    pub assets: Vec<String>,
    /// The moves of each, as fractions.
    pub moves: Vec<f64>,
    /// `cells[i][j]`: the change against the capital and the positions past their kill factor.
    pub cells: Vec<Vec<(f64, Vec<String>)>>,
}

/// Chart containers of the portfolio page.
pub const PORTFOLIO_CHART_IDS: [&str; 1] = ["chart-equity"];

/// The whole page as one string.
pub fn render(r: &PortfolioReport) -> String {
    let mut out = open_document(&r.title);
    let facts = tables::facts(&r.facts);
    out.push_str(&format!(
        "<header class=\"head\">\n<div class=\"eyebrow\">levfarm \u{b7} portfolio backtest</div>\n\
         <h1>{}</h1>\n<p class=\"sub\">{}</p>\n</header>\n",
        html(&r.title),
        html(&r.subtitle)
    ));
    out.push_str(
        "<noscript><p class=\"noscript\">The equity chart needs JavaScript, which is off in this \
         browser. Every figure is also in the tables below.</p></noscript>\n",
    );
    out.push_str(&card(
        "Positions",
        "Each position and the portfolio (the last row).",
        &wrap(&positions(&r.positions)),
    ));
    out.push_str(&card(
        "Equity",
        "The portfolio, each position, and the whole capital in each position alone. Click a \
         legend entry to hide a line.",
        &slot("chart-equity"),
    ));
    out.push_str("<div class=\"grid2\">\n");
    out.push_str(&card(
        "Allocation",
        "Target weights and where each position ended.",
        &wrap(&allocation(&r.positions)),
    ));
    out.push_str(&card("Settings", "", &wrap(&facts)));
    out.push_str("</div>\n");
    out.push_str(&card(
        "Profit and loss by position",
        "Each part of the decomposition; the positions' sum to the portfolio's exactly.",
        &wrap(&pnl(&r.positions, &r.pnl)),
    ));
    out.push_str(&card(
        "Diversification",
        "The portfolio against the same capital held otherwise.",
        &wrap(&tables::summary(&r.comparison)),
    ));
    out.push_str("<div class=\"grid2\">\n");
    out.push_str(&card(
        "Correlation",
        "Of the positions' bar-by-bar equity returns (rebalancing bars left out).",
        &wrap(&correlation(&r.positions, &r.correlation)),
    ));
    let (level, days, cvar, _) = &r.worst_days;
    out.push_str(&card(
        "Risk contributions",
        &format!(
            "The portfolio's worst {:.0}% of days ({days}): a mean loss of {} of the capital, \
             and each position's part of it.",
            (1.0 - level) * 100.0,
            format::percent(*cvar)
        ),
        &wrap(&contributions(&r.positions, &r.worst_days)),
    ));
    out.push_str("</div>\n");
    if let Some(g) = &r.grid {
        out.push_str(&card(
            "Joint moves",
            "The portfolio's equity change against the capital after instant moves of both \
             assets from the last bar's prices; \u{2217} marks a position past its kill factor.",
            &wrap(&grid(g)),
        ));
    }
    if !r.notes.is_empty() {
        out.push_str(&card("Notes", "", &tables::list("notes", &r.notes)));
    }
    out.push_str(&crate::page::footer_with(&r.sources));
    out.push_str("</main>\n<script type=\"application/json\" id=\"data\">");
    out.push_str(&payload(r));
    out.push_str(&format!("</script>\n<script>\n{}</script>\n</body>\n</html>\n", script()));
    out
}

/// A fraction as a signed percentage: `+12.5%`.
fn signed_percent(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return format::DASH.to_string();
    }
    let sign = if v > 0.0 { "+" } else { "" };
    format!("{sign}{}%", format::number(v * 100.0, decimals))
}

fn num(v: String) -> String {
    format!("<td class=\"num\">{v}</td>")
}

fn positions(rows: &[PositionRow]) -> String {
    let mut out = String::from(
        "<table class=\"data\"><thead><tr><th>Position</th><th>Pair</th><th>Venue</th>\
         <th class=\"num\">Weight</th><th>Leverage</th><th class=\"num\">Final equity</th>\
         <th class=\"num\">PnL</th><th class=\"num\">Net APY</th><th class=\"num\">Max drawdown</th>\
         <th>Liquidated</th><th class=\"num\" title=\"Bars within 10% of the kill factor\">Bars near kill</th>\
         </tr></thead><tbody>",
    );
    for (i, p) in rows.iter().enumerate() {
        let class = if i + 1 == rows.len() { " class=\"primary\"" } else { "" };
        out.push_str(&format!(
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td>{}<td class=\"num {}\">{}</td>{}{}<td>{}</td>{}</tr>",
            html(&p.name),
            html(&p.pair),
            html(&p.venue),
            num(format::percent(p.weight)),
            html(&p.leverage),
            num(format::money(p.final_equity)),
            sign_class(p.pnl),
            format::signed_money(p.pnl),
            num(format::percent(p.net_apy)),
            num(format::percent(p.max_drawdown)),
            if p.liquidated { "yes" } else { "no" },
            num(format::number(p.bars_near_kill as f64, 0)),
        ));
    }
    out.push_str("</tbody></table>");
    out
}

/// A horizontal bar of `share` (0 to 1) of the cell's width.
fn bar(share: f64, color: &str) -> String {
    let w = (share.clamp(0.0, 1.0) * 100.0 * 10.0).round() / 10.0;
    format!(
        "<div style=\"background:#eef2f6;height:0.7em;width:10em;display:inline-block;vertical-align:middle\">\
         <div style=\"background:{color};height:100%;width:{w}%\"></div></div>"
    )
}

fn allocation(rows: &[PositionRow]) -> String {
    let Some((total, positions)) = rows.split_last() else { return String::new() };
    let mut out = String::from(
        "<table class=\"data\"><thead><tr><th>Position</th><th class=\"num\">Target</th><th></th>\
         <th class=\"num\">At the end</th></tr></thead><tbody>",
    );
    for p in positions {
        let end = if total.final_equity > 0.0 { p.final_equity / total.final_equity } else { 0.0 };
        out.push_str(&format!(
            "<tr><td>{}</td>{}<td>{}</td>{}</tr>",
            html(&p.name),
            num(format::percent(p.weight)),
            bar(p.weight, "#1d4ed8"),
            num(format::percent(end)),
        ));
    }
    out.push_str("</tbody></table>");
    out
}

fn pnl(rows: &[PositionRow], parts: &[(String, Vec<f64>)]) -> String {
    let mut out = String::from("<table class=\"data\"><thead><tr><th>Part</th>");
    for p in rows {
        out.push_str(&format!("<th class=\"num\">{}</th>", html(&p.name)));
    }
    out.push_str("</tr></thead><tbody>");
    for (name, values) in parts {
        out.push_str(&format!("<tr><td>{}</td>", html(name)));
        for v in values {
            out.push_str(&format!(
                "<td class=\"num {}\">{}</td>",
                sign_class(*v),
                format::signed_money(*v)
            ));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// A heat map's cell colour: red for positive values, blue for negative, stronger with `|v|`
/// up to `full`.
fn heat(v: f64, full: f64, positive: (u8, u8, u8), negative: (u8, u8, u8)) -> String {
    if !v.is_finite() {
        return "background:#f8fafc".into();
    }
    let a = (v.abs() / full).clamp(0.0, 1.0) * 0.55;
    let (r, g, b) = if v >= 0.0 { positive } else { negative };
    format!("background:rgba({r},{g},{b},{a:.3})")
}

fn correlation(rows: &[PositionRow], m: &[Vec<f64>]) -> String {
    let names: Vec<&str> = rows.iter().take(m.len()).map(|p| p.name.as_str()).collect();
    let mut out = String::from("<table class=\"data heat\"><thead><tr><th></th>");
    for n in &names {
        out.push_str(&format!("<th class=\"num\">{}</th>", html(n)));
    }
    out.push_str("</tr></thead><tbody>");
    for (n, row) in names.iter().zip(m) {
        out.push_str(&format!("<tr><th>{}</th>", html(n)));
        for c in row {
            let text = if c.is_finite() { format!("{c:.2}") } else { format::DASH.into() };
            out.push_str(&format!(
                "<td class=\"num\" style=\"{}\">{text}</td>",
                heat(*c, 1.0, (220, 38, 38), (29, 78, 216))
            ));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

fn contributions(
    rows: &[PositionRow],
    (_, _, cvar, parts): &(f64, usize, f64, Vec<f64>),
) -> String {
    let mut out = String::from(
        "<table class=\"data\"><thead><tr><th>Position</th><th class=\"num\">Loss on the worst days</th>\
         <th class=\"num\">Share</th><th></th></tr></thead><tbody>",
    );
    for (p, c) in rows.iter().zip(parts) {
        let share = if *cvar > 0.0 { c / cvar } else { f64::NAN };
        out.push_str(&format!(
            "<tr><td>{}</td>{}{}<td>{}</td></tr>",
            html(&p.name),
            num(format::percent(*c)),
            num(format::percent(share)),
            bar(share, "#dc2626"),
        ));
    }
    out.push_str(&format!(
        "<tr class=\"primary\"><td>portfolio</td>{}{}<td></td></tr></tbody></table>",
        num(format::percent(*cvar)),
        num(format::percent(1.0))
    ));
    out
}

fn grid(g: &Grid) -> String {
    let two = g.assets.len() > 1;
    let corner = if two {
        format!("{} \u{2193} {} \u{2192}", g.assets[0], g.assets[1])
    } else {
        g.assets.first().cloned().unwrap_or_default()
    };
    let mut out = format!("<table class=\"data heat\"><thead><tr><th>{}</th>", html(&corner));
    if two {
        for m in &g.moves {
            out.push_str(&format!("<th class=\"num\">{}</th>", signed_percent(*m, 0)));
        }
    } else {
        out.push_str("<th class=\"num\">Change</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for (m, row) in g.moves.iter().zip(&g.cells) {
        out.push_str(&format!("<tr><th class=\"num\">{}</th>", signed_percent(*m, 0)));
        for (change, liquidatable) in row {
            let title = if liquidatable.is_empty() {
                String::new()
            } else {
                format!(" title=\"past the kill factor: {}\"", html(&liquidatable.join(", ")))
            };
            out.push_str(&format!(
                "<td class=\"num\" style=\"{}\"{title}>{}{}</td>",
                heat(*change, 0.5, (21, 128, 61), (220, 38, 38)),
                signed_percent(*change, 1),
                "\u{2217}".repeat(liquidatable.len())
            ));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

#[derive(Serialize)]
struct Payload<'a> {
    kind: &'static str,
    equity: Vec<SeriesJson<'a>>,
}

#[derive(Serialize)]
struct SeriesJson<'a> {
    name: &'a str,
    dt: Vec<i64>,
    v: Vec<Option<f64>>,
}

fn payload(r: &PortfolioReport) -> String {
    let equity = r
        .equity
        .iter()
        .map(|s| {
            let n = r.times.len().min(s.values.len());
            let kept = crate::decimate::decimate_indices(&s.values[..n], MAX_POINTS_PER_SERIES);
            let mut previous = 0i64;
            let dt = kept
                .iter()
                .map(|&i| {
                    let d = r.times[i].saturating_sub(previous);
                    previous = r.times[i];
                    d
                })
                .collect();
            SeriesJson { name: &s.name, dt, v: kept.iter().map(|&i| round(s.values[i])).collect() }
        })
        .collect();
    let json = serde_json::to_string(&Payload { kind: "portfolio", equity })
        .unwrap_or_else(|_| "{}".to_string());
    escape_for_script(&json)
}
