//! Server-rendered tables: they carry every figure, so the page is useful without JavaScript.

use crate::format::{self, html};
use crate::model::{Action, PnlItem, SummaryRow};

/// Above this many actions the table shows only the first and last [`ACTIONS_EDGE`].
pub const ACTIONS_FULL_LIMIT: usize = 200;
/// Rows shown at each end of a long actions table.
pub const ACTIONS_EDGE: usize = 100;

/// The strategies side by side; the first row (the position) is emphasised.
pub fn summary(rows: &[SummaryRow]) -> String {
    let mut out = String::from(
        "<table class=\"data\"><thead><tr><th>Strategy</th><th class=\"num\">Final equity</th>\
         <th class=\"num\">PnL</th><th class=\"num\">Net APY</th><th class=\"num\">Max drawdown</th>\
         <th>Liquidated</th><th>Note</th></tr></thead><tbody>",
    );
    for (i, row) in rows.iter().enumerate() {
        let class = if i == 0 { " class=\"primary\"" } else { "" };
        out.push_str(&format!(
            "<tr{class}><td>{}</td><td class=\"num\">{}</td><td class=\"num {}\">{}</td>\
             <td class=\"num {}\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"note\">{}</td></tr>",
            html(&row.name),
            format::money(row.final_equity),
            sign_class(row.pnl),
            format::signed_money(row.pnl),
            sign_class(row.net_apy),
            format::percent(row.net_apy),
            format::percent(row.max_drawdown),
            liquidated_pill(row.liquidated),
            html(&row.note),
        ));
    }
    out.push_str("</tbody></table>");
    out
}

/// The settings as a two-column key/value table.
pub fn facts(facts: &[(String, String)]) -> String {
    let mut out = String::from("<table class=\"data facts\"><tbody>");
    for (name, value) in facts {
        out.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", html(name), html(value)));
    }
    out.push_str("</tbody></table>");
    out
}

/// The PnL decomposition with its total, for readers without the chart.
pub fn pnl(items: &[PnlItem], total: f64) -> String {
    let mut out = String::from(
        "<table class=\"data\"><thead><tr><th>Component</th><th class=\"num\">PnL</th></tr></thead><tbody>",
    );
    for item in items {
        out.push_str(&format!(
            "<tr><td>{}</td><td class=\"num {}\">{}</td></tr>",
            html(&item.name),
            sign_class(item.value),
            format::signed_money(item.value)
        ));
    }
    out.push_str(&format!(
        "</tbody><tfoot><tr><th>Total</th><td class=\"num {}\">{}</td></tr></tfoot></table>",
        sign_class(total),
        format::signed_money(total)
    ));
    out
}

/// Every action, or the first and last [`ACTIONS_EDGE`] with a row counting the skipped ones.
pub fn actions(actions: &[Action]) -> String {
    let mut out = String::from(
        "<table class=\"data actions\"><thead><tr><th>Time (UTC)</th><th>Kind</th>\
         <th class=\"num\">Price</th><th>Detail</th></tr></thead><tbody>",
    );
    if actions.len() > ACTIONS_FULL_LIMIT {
        let skipped = actions.len() - 2 * ACTIONS_EDGE;
        actions[..ACTIONS_EDGE].iter().for_each(|a| out.push_str(&action_row(a)));
        out.push_str(&format!(
            "<tr class=\"skipped\"><td colspan=\"4\">\u{2026} {} more actions not shown \u{2026}</td></tr>",
            format::number(skipped as f64, 0)
        ));
        actions[actions.len() - ACTIONS_EDGE..].iter().for_each(|a| out.push_str(&action_row(a)));
    } else if actions.is_empty() {
        out.push_str("<tr class=\"skipped\"><td colspan=\"4\">No actions.</td></tr>");
    } else {
        actions.iter().for_each(|a| out.push_str(&action_row(a)));
    }
    out.push_str("</tbody></table>");
    out
}

fn action_row(a: &Action) -> String {
    format!(
        "<tr><td class=\"time\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
        format::iso_utc(a.time),
        kind_pill(&a.kind),
        format::price(a.price),
        html(&a.label)
    )
}

/// A coloured label for an action kind; unknown kinds get the neutral colour.
pub fn kind_pill(kind: &str) -> String {
    let known = [
        "deleverage",
        "stop_loss",
        "take_profit",
        "top_up",
        "compound",
        "recenter",
        "rebalance",
        "liquidation",
        "open",
        "close",
    ];
    let class = if known.contains(&kind) { kind } else { "other" };
    format!("<span class=\"pill k-{class}\">{}</span>", html(&kind.replace('_', " ")))
}

/// A bulleted list of text lines, or nothing when empty.
pub fn list(class: &str, lines: &[String]) -> String {
    let items: String = lines.iter().map(|l| format!("<li>{}</li>", html(l))).collect();
    format!("<ul class=\"{class}\">{items}</ul>")
}

fn liquidated_pill(liquidated: bool) -> &'static str {
    if liquidated {
        "<span class=\"pill bad\">yes</span>"
    } else {
        "<span class=\"pill good\">no</span>"
    }
}

/// `pos`, `neg` or nothing, to colour a signed figure.
pub fn sign_class(v: f64) -> &'static str {
    if v > 0.0 {
        "pos"
    } else if v < 0.0 {
        "neg"
    } else {
        ""
    }
}
