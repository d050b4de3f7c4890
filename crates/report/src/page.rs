//! The document: head, headline numbers, chart slots, tables, footer, and the inline assets.

use crate::format::{self, html};
use crate::model::{BacktestReport, SummaryRow};
use crate::payload;
use crate::tables::{self, sign_class};

pub(crate) const CSS: &str = include_str!("assets/report.css");
pub(crate) const JS: &str = include_str!("assets/report.js");
/// The axes module the reports share with the service's dashboard (an ES module there).
pub const AXES_JS: &str = include_str!("assets/axes.js");

/// The page's script: the axes module as plain functions in one scope with the chart code,
/// so the page stays a single offline file.
pub(crate) fn script() -> String {
    let axes: String = AXES_JS
        .lines()
        .map(|line| line.strip_prefix("export ").unwrap_or(line))
        .fold(String::with_capacity(AXES_JS.len()), |mut out, line| {
            out.push_str(line);
            out.push('\n');
            out
        });
    format!("(function () {{\n{axes}\n{JS}}})();\n")
}

/// The document up to the page's first section: head with the inline style, title escaped.
pub(crate) fn open_document(title: &str) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light\">\n<title>{}</title>\n<style>\n{CSS}</style>\n\
         </head>\n<body>\n<main class=\"page\">\n",
        html(title)
    ));
    out
}

/// The whole page as one string.
pub fn render(report: &BacktestReport) -> String {
    let mut out = open_document(&report.title);
    out.push_str(&header(report));
    out.push_str(
        "<noscript><p class=\"noscript\">The charts need JavaScript, which is off in this \
         browser. Every figure is also in the tables below.</p></noscript>\n",
    );
    out.push_str(&charts());
    out.push_str(&tables_section(report));
    out.push_str(&footer(report));
    out.push_str("</main>\n<script type=\"application/json\" id=\"data\">");
    out.push_str(&payload::script_json(report));
    out.push_str(&format!("</script>\n<script>\n{}</script>\n</body>\n</html>\n", script()));
    out
}

fn header(report: &BacktestReport) -> String {
    let period = match (report.times.first(), report.times.last()) {
        (Some(&first), Some(&last)) => format!(
            "{} \u{2192} {} \u{b7} {} samples",
            format::iso_date(first),
            format::iso_date(last),
            format::number(report.times.len() as f64, 0)
        ),
        _ => "No samples".to_string(),
    };
    format!(
        "<header class=\"head\">\n<div class=\"eyebrow\">levfarm \u{b7} backtest report</div>\n\
         <h1>{}</h1>\n<p class=\"sub\">{}</p>\n<p class=\"period\">{}</p>\n{}</header>\n",
        html(&report.title),
        html(&report.subtitle),
        html(&period),
        kpis(report)
    )
}

fn kpis(report: &BacktestReport) -> String {
    let Some(position) = report.summary.first() else {
        return String::new();
    };
    let liquidations = report.actions.iter().filter(|a| a.kind == "liquidation").count();
    let liquidated = if position.liquidated {
        let first = report.actions.iter().find(|a| a.kind == "liquidation");
        let when =
            first.map_or(String::new(), |a| format!(" \u{b7} first {}", format::iso_date(a.time)));
        let events = if liquidations == 1 {
            "1 liquidation".to_string()
        } else {
            format!("{liquidations} liquidations")
        };
        kpi("Liquidated", "bad", "Yes", &format!("{events}{when}"))
    } else {
        kpi("Liquidated", "good", "No", "position survived the whole period")
    };
    let mut cards = vec![
        kpi(
            "Final equity",
            "",
            &format::money(position.final_equity),
            &format!("PnL {}", format::signed_money(position.pnl)),
        ),
        if position.net_apy.is_finite() {
            kpi(
                "Net APY",
                sign_class(position.net_apy),
                &format::percent(position.net_apy),
                "annualised, after all costs",
            )
        } else {
            // Under 90 days an annual rate would mislead: the return over the window.
            let back = window_return(position);
            kpi(
                "Return",
                sign_class(back),
                &format::percent(back),
                "over the window, after all costs; not annualised (under 90 days)",
            )
        },
        kpi("Max drawdown", "", &format::percent(position.max_drawdown), "peak to trough"),
        liquidated,
    ];
    cards.push(versus_best(position, &report.summary[1..]));
    format!("<section class=\"kpis\">{}</section>\n", cards.concat())
}

/// The position against the best alternative: by net APY, or by the return over the window
/// where the window is too short to annualise.
fn versus_best(position: &SummaryRow, alternatives: &[SummaryRow]) -> String {
    let annual = position.net_apy.is_finite();
    let figure = |r: &SummaryRow| if annual { r.net_apy } else { window_return(r) };
    let best = alternatives
        .iter()
        .filter(|a| figure(a).is_finite())
        .max_by(|a, b| figure(a).total_cmp(&figure(b)));
    let Some(best) = best else {
        return kpi("Vs best alternative", "", format::DASH, "no alternatives");
    };
    let gap = figure(position) - figure(best);
    let sub = format!(
        "{} vs {} ({}) \u{b7} equity {}",
        if annual { "APY" } else { "Return" },
        best.name,
        format::percent(figure(best)),
        format::signed_money(position.final_equity - best.final_equity)
    );
    kpi("Vs best alternative", sign_class(gap), &format::signed_points(gap), &sub)
}

/// The return over the window: PnL over what was put in.
fn window_return(r: &SummaryRow) -> f64 {
    let put_in = r.final_equity - r.pnl;
    if put_in > 0.0 {
        r.pnl / put_in
    } else {
        f64::NAN
    }
}

pub(crate) fn kpi(label: &str, class: &str, value: &str, sub: &str) -> String {
    format!(
        "<div class=\"kpi\"><div class=\"kpi-label\">{}</div><div class=\"kpi-value {class}\">{}</div>\
         <div class=\"kpi-sub\">{}</div></div>",
        html(label),
        html(value),
        html(sub)
    )
}

fn charts() -> String {
    [
        card(
            "Equity",
            "The position against the alternatives. Markers are the position's actions.",
            &slot("chart-equity"),
        ),
        "<div class=\"grid2\">\n".to_string(),
        card(
            "PnL decomposition",
            "Where the profit and loss came from, from zero to the total.",
            &slot("chart-pnl"),
        ),
        card(
            "Debt ratio",
            "Debt over position value against the liquidation threshold and triggers.",
            &slot("chart-debt-ratio"),
        ),
        "</div>\n".to_string(),
        card(
            "Price and liquidation band",
            "The position is liquidatable beyond the dashed lines.",
            &slot("chart-price"),
        ),
    ]
    .concat()
}

pub(crate) fn slot(id: &str) -> String {
    format!("<div class=\"chart\" id=\"{id}\"></div>")
}

pub(crate) fn card(title: &str, hint: &str, body: &str) -> String {
    let hint = if hint.is_empty() {
        String::new()
    } else {
        format!("<p class=\"hint\">{}</p>", html(hint))
    };
    format!(
        "<section class=\"card\"><div class=\"card-head\"><h2>{}</h2>{hint}</div>{body}</section>\n",
        html(title)
    )
}

fn tables_section(report: &BacktestReport) -> String {
    let actions_hint = if report.actions.len() > tables::ACTIONS_FULL_LIMIT {
        format!(
            "{} actions; the first and last 100 are listed.",
            format::number(report.actions.len() as f64, 0)
        )
    } else {
        format!("{} actions.", format::number(report.actions.len() as f64, 0))
    };
    let mut out = card("Summary", "", &wrap(&tables::summary(&report.summary)));
    out.push_str("<div class=\"grid2\">\n");
    out.push_str(&card("Settings", "", &wrap(&tables::facts(&report.facts))));
    out.push_str(&card("PnL components", "", &wrap(&tables::pnl(&report.pnl, report.pnl_total))));
    out.push_str("</div>\n");
    out.push_str(&card("Actions", &actions_hint, &wrap(&tables::actions(&report.actions))));
    if !report.notes.is_empty() {
        out.push_str(&card("Notes", "", &tables::list("notes", &report.notes)));
    }
    out
}

pub(crate) fn wrap(table: &str) -> String {
    format!("<div class=\"table-wrap\">{table}</div>")
}

fn footer(report: &BacktestReport) -> String {
    footer_with(&report.sources)
}

/// The pages' footer: the data's sources, and what the file is.
pub(crate) fn footer_with(sources: &[String]) -> String {
    let sources = if sources.is_empty() {
        String::new()
    } else {
        format!("<h3>Sources</h3>{}", tables::list("sources", sources))
    };
    format!(
        "<footer class=\"foot\">{sources}<p>Generated by levfarm-report. A self-contained file: \
         no data leaves this page.</p></footer>\n"
    )
}
