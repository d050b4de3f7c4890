//! levfarm-report: a backtest as one self-contained HTML page.
//!
//! [`render_html`] turns a [`BacktestReport`] (plain data the caller fills from a backtest)
//! into a single document with headline numbers, four interactive SVG charts (equity against
//! the alternatives, PnL decomposition, debt ratio against the liquidation threshold, price
//! with the liquidation band) and the tables behind them. The page makes no external requests:
//! its CSS, a small vanilla-JS chart library and the data are inline, so it works offline.
//!
//! Long series are decimated before embedding ([`decimate_indices`], min/max buckets that
//! keep every extreme), so 41,000 hourly samples give a page of a few hundred kilobytes. The
//! same input always gives the same bytes.
//!
//! ```
//! use levfarm_report::{render_html, BacktestReport, Series, SummaryRow};
//!
//! let report = BacktestReport {
//!     title: "3x long ETH on ETH-USDC".into(),
//!     subtitle: "synthetic prices".into(),
//!     facts: vec![("Leverage".into(), "3x".into())],
//!     summary: vec![SummaryRow {
//!         name: "Position".into(), final_equity: 1_100.0, pnl: 100.0, net_apy: 0.1,
//!         max_drawdown: 0.05, liquidated: false, note: String::new(),
//!     }],
//!     times: vec![0, 3600],
//!     equity: vec![Series { name: "Position".into(), values: vec![1_000.0, 1_100.0] }],
//!     price: vec![2_000.0, 2_100.0],
//!     liquidation_lower: vec![Some(1_500.0), Some(1_550.0)],
//!     liquidation_upper: vec![None, None],
//!     debt_ratio: vec![Some(0.66), Some(0.64)],
//!     kill_factor: 0.8333,
//!     work_factor: 0.7,
//!     triggers: vec![],
//!     pnl: vec![],
//!     pnl_total: 100.0,
//!     actions: vec![],
//!     notes: vec![],
//!     sources: vec![],
//! };
//! let page = render_html(&report);
//! assert!(page.starts_with("<!DOCTYPE html>"));
//! assert!(page.contains("id=\"chart-equity\""));
//! ```

#![warn(missing_docs)]

mod decimate;
mod format;
mod model;
mod page;
mod payload;
mod tables;

pub use decimate::{decimate_indices, decimate_optional_indices};
pub use model::{Action, BacktestReport, PnlItem, Series, SummaryRow};
pub use payload::{escape_for_script, MAX_POINTS_PER_SERIES};
pub use tables::{ACTIONS_EDGE, ACTIONS_FULL_LIMIT};

/// Renders the report as one HTML document: no external requests at all (no CDN, no fonts,
/// no images from the web), so it works offline and opens in any browser.
///
/// Text fields are HTML-escaped; the chart data is embedded as JSON in a
/// `<script type="application/json" id="data">` element with `<`, `>` and `&` escaped, so no
/// label can close the element. Deterministic: the same report gives the same bytes.
pub fn render_html(report: &BacktestReport) -> String {
    page::render(report)
}
