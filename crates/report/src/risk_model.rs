//! The plain data a Monte Carlo risk report shows. The caller fills it from the simulated
//! paths; nothing here computes.

use serde::{Deserialize, Serialize};

/// Everything a Monte Carlo risk report shows: one row per configuration of a grid (typically
/// leverage times a protection setting), and for each row optional charts of its paths.
///
/// `fans`, `outcome_histograms` and `liquidation_time_histograms` are meant to be indexed like
/// `rows`; a missing or empty entry is drawn as "no data". Non-finite numbers are shown as a
/// dash and skipped in the charts. The renderer never panics on a mismatch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RiskReport {
    /// Headline, e.g. "3x long ETH on ETH-USDC: liquidation risk over one year".
    pub title: String,
    /// Model and engine line under the title.
    pub subtitle: String,
    /// Label/value pairs shown at the top (model, paths, horizon, seed, ...).
    pub facts: Vec<(String, String)>,
    /// One row per configuration of the grid.
    pub rows: Vec<RiskRow>,
    /// The configuration whose fan chart and histograms are drawn (index into rows).
    pub focus: usize,
    /// Per row, optional: equity fan, as multiples of the initial equity.
    pub fans: Vec<Fan>,
    /// Per row: distribution of final equity as a multiple of the initial equity.
    pub outcome_histograms: Vec<Histogram>,
    /// Per row: histogram of time to liquidation in days (liquidated paths only).
    pub liquidation_time_histograms: Vec<Histogram>,
    /// Text of the leverage recommendation(s), e.g. "Highest leverage with liquidation
    /// probability ≤ 5%: 2.4x".
    pub recommendations: Vec<String>,
    /// Whether the horizon is long enough to annualise (90 days). When it is not, the rows'
    /// `mean_apy`, `median_apy` and `quantiles` hold returns over the horizon and the page
    /// says so.
    pub annualised: bool,
    /// Caveats shown at the end of the page.
    pub notes: Vec<String>,
}

/// The statistics of one configuration over all its simulated paths.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RiskRow {
    /// Row name, e.g. "3x, deleverage 0.78→0.6".
    pub label: String,
    /// The grid's settings for this row as (key, value) pairs, e.g. ("position.leverage","3").
    /// Rows whose settings differ only in `position.leverage` are drawn as one line.
    pub settings: Vec<(String, String)>,
    /// Leverage of the position, e.g. 3.0 (the x axis of the leverage charts).
    pub leverage: f64,
    /// Number of simulated paths.
    pub paths: u64,
    /// Share of paths liquidated before the horizon, as a fraction (0.12 = 12%).
    pub liquidation_probability: f64,
    /// 95% Wilson interval of `liquidation_probability`, as (low, high) fractions.
    pub liquidation_ci: (f64, f64),
    /// Share of paths that end with any loss, as a fraction.
    pub loss_probability: f64,
    /// Share of paths that lose all of the initial equity (99.9% or more), as a fraction.
    pub wipeout_probability: f64,
    /// Mean net annualised yield over the paths, as a fraction.
    pub mean_apy: f64,
    /// Median net annualised yield over the paths, as a fraction.
    pub median_apy: f64,
    /// Quantiles of the net APY as (probability, net APY), e.g. (0.05, -0.4).
    pub quantiles: Vec<(f64, f64)>,
    /// 95% value at risk: the loss exceeded by 5% of paths, as a fraction of the initial
    /// equity (positive = loss).
    pub var95: f64,
    /// 95% conditional value at risk: the mean loss of the worst 5% of paths, as a fraction of
    /// the initial equity (positive = loss).
    pub cvar95: f64,
    /// 99% value at risk, as a fraction of the initial equity (positive = loss).
    pub var99: f64,
    /// 99% conditional value at risk, as a fraction of the initial equity (positive = loss).
    pub cvar99: f64,
    /// Mean days to liquidation over the liquidated paths; `None` when none was liquidated.
    pub mean_days_to_liquidation: Option<f64>,
    /// Median days to liquidation over the liquidated paths; `None` when none was liquidated.
    pub median_days_to_liquidation: Option<f64>,
}

/// Quantiles of the equity over time, across the paths of one configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Fan {
    /// Time of each point, in days since the start.
    pub days: Vec<f64>,
    /// Quantile levels, e.g. [0.05, 0.25, 0.5, 0.75, 0.95]
    pub levels: Vec<f64>,
    /// `bands[i][j]`: equity multiple at `levels[i]`, time `days[j]`
    pub bands: Vec<Vec<f64>>,
    /// Mean equity multiple at each time of `days`.
    pub mean: Vec<f64>,
}

/// Counts of values in consecutive bins.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Histogram {
    /// What is counted, shown under the x axis, e.g. "Final equity / initial equity".
    pub label: String,
    /// Bin edges, len = counts.len() + 1
    pub edges: Vec<f64>,
    /// Number of paths in each bin.
    pub counts: Vec<u64>,
}
