//! levfarm-report: a backtest as one self-contained HTML page.
//!
//! [`render_html`] turns a [`BacktestReport`] (plain data; [`from_backtest`] fills it from a
//! backtest's output)
//! into a single document with headline numbers, four interactive SVG charts (equity against
//! the alternatives, PnL decomposition, debt ratio against the liquidation threshold, price
//! with the liquidation band) and the tables behind them. The page makes no external requests:
//! its CSS, a small vanilla-JS chart library and the data are inline, so it works offline.
//!
//! Long series are decimated before embedding ([`decimate_indices`], min/max buckets that
//! keep every extreme), so 41,000 hourly samples give a page of a few hundred kilobytes. The
//! same input always gives the same bytes.
//!
//! [`render_risk_html`] does the same for a Monte Carlo risk study ([`RiskReport`], which
//! [`from_risk`] fills from a run): a table of
//! every configuration of a grid (liquidation probability with its interval, loss
//! probabilities, net APY quantiles, VaR and CVaR), liquidation probability and net APY against
//! leverage, and for one configuration at a time (picked in the page) the equity fan and the
//! histograms of final equity and time to liquidation.
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
mod from_results;
mod model;
mod page;
mod payload;
mod portfolio_page;
mod risk_model;
mod risk_page;
mod risk_payload;
mod stress_page;
mod tables;

pub use decimate::{decimate_indices, decimate_optional_indices};
pub use format::number;
pub use from_results::{from_backtest, from_portfolio, from_risk};
pub use model::{Action, BacktestReport, PnlItem, Series, SummaryRow};
pub use page::AXES_JS;
pub use payload::{escape_for_script, MAX_POINTS_PER_SERIES};
pub use portfolio_page::{Grid, PortfolioReport, PositionRow, PORTFOLIO_CHART_IDS};
pub use risk_model::{Fan, Histogram, RiskReport, RiskRow};
pub use risk_page::RISK_CHART_IDS;
pub use risk_payload::{MAX_FAN_POINTS, MAX_HISTOGRAM_BINS};
pub use stress_page::{StressReport, Sweep};
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

/// Renders a Monte Carlo risk report as one HTML document, as self-contained as
/// [`render_html`]'s: facts, recommendations, a table of every configuration, liquidation
/// probability and net APY against leverage (one line per group of rows that share their
/// settings other than `position.leverage`), and the focus row's equity fan and histograms,
/// with a picker that switches the focus row in the browser (every row's fan and histograms
/// are embedded, compacted to [`MAX_FAN_POINTS`] and [`MAX_HISTOGRAM_BINS`]).
///
/// Text is HTML-escaped and the data JSON is script-safe; non-finite numbers show as a dash
/// and are skipped in the charts; empty or mismatched inputs render without panicking. The
/// same report gives the same bytes.
///
/// ```
/// use levfarm_report::{render_risk_html, Fan, Histogram, RiskReport, RiskRow};
///
/// let row = |leverage: f64, liquidation: f64| RiskRow {
///     label: format!("{leverage}x"),
///     settings: vec![("position.leverage".into(), leverage.to_string())],
///     leverage,
///     paths: 2_000,
///     liquidation_probability: liquidation,
///     liquidation_ci: (liquidation * 0.8, liquidation * 1.2),
///     loss_probability: 0.3,
///     wipeout_probability: 0.0,
///     mean_apy: 0.12,
///     median_apy: 0.1,
///     quantiles: vec![(0.05, -0.4), (0.95, 0.5)],
///     var95: 0.4,
///     cvar95: 0.6,
///     var99: 0.7,
///     cvar99: 0.8,
///     mean_days_to_liquidation: Some(140.0),
///     median_days_to_liquidation: Some(120.0),
/// };
/// let report = RiskReport {
///     title: "ETH-USDC leveraged LP: one year ahead".into(),
///     subtitle: "GBM, 60% volatility".into(),
///     facts: vec![("Paths".into(), "2,000 per configuration".into())],
///     rows: vec![row(2.0, 0.02), row(3.0, 0.1234)],
///     focus: 1,
///     fans: vec![Fan::default(), Fan {
///         days: vec![0.0, 182.5, 365.0],
///         levels: vec![0.05, 0.5, 0.95],
///         bands: vec![vec![1.0, 0.3, 0.0], vec![1.0, 1.05, 1.1], vec![1.0, 1.6, 2.2]],
///         mean: vec![1.0, 1.02, 1.08],
///     }],
///     outcome_histograms: vec![Histogram {
///         label: "Final equity / initial equity".into(),
///         edges: vec![0.0, 0.5, 1.0, 1.5],
///         counts: vec![200, 500, 1_300],
///     }],
///     liquidation_time_histograms: vec![],
///     recommendations: vec!["Highest leverage with liquidation probability \u{2264} 5%: 2x".into()],
///     annualised: true,
///     notes: vec![],
/// };
/// let page = render_risk_html(&report);
/// assert!(page.starts_with("<!DOCTYPE html>"));
/// assert!(page.contains("id=\"chart-fan\""));
/// assert!(page.contains(">12.3%<"));
/// ```
pub fn render_risk_html(report: &RiskReport) -> String {
    risk_page::render(report)
}

/// Renders a portfolio's backtest as one HTML document, as self-contained as [`render_html`]'s:
/// the positions, the equity of each and in total against the capital concentrated in each
/// (the one chart), the allocation, the profit and loss by position, the diversification
/// comparison, the positions' correlation and their share of the worst days, and the
/// joint-move grid as heat maps. The same report gives the same bytes.
pub fn render_portfolio_html(report: &PortfolioReport) -> String {
    portfolio_page::render(report)
}

/// Renders a stress test (`levfarm stress --report`) as one self-contained HTML document: the
/// book's headline figures, the shocks' debt at risk, liquidated and left as bad debt as bars,
/// the shocks', windows' and Monte Carlo windows' figures in tables, the paths' bad debt as a
/// histogram, and a sweep's combinations against the loss budget. Its charts are inline SVG,
/// so it needs no script at all. The same report gives the same bytes.
pub fn render_stress_html(report: &StressReport) -> String {
    stress_page::render(report)
}
