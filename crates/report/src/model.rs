//! The plain data a report shows. The caller fills it from a backtest; nothing here computes.

use serde::{Deserialize, Serialize};

/// Everything a backtest report shows. Plain data; the caller fills it from a backtest.
///
/// Per-sample vectors (`equity[i].values`, `price`, `liquidation_*`, `debt_ratio`) are meant to
/// be as long as `times`; the renderer uses the common prefix and never panics on a mismatch.
/// Non-finite numbers are drawn as gaps and shown as a dash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BacktestReport {
    /// Headline, e.g. "3x long ETH on ETH-USDC, 2018-05-15 to 2023-01-17".
    pub title: String,
    /// Data source and engine line under the title.
    pub subtitle: String,
    /// Settings table: leverage, pool, fee, rate model, protections, as (name, value).
    pub facts: Vec<(String, String)>,
    /// First row is the leveraged position, then the alternatives.
    pub summary: Vec<SummaryRow>,
    /// Unix seconds, one per sample.
    pub times: Vec<i64>,
    /// Equity per sample; the first series is the position, then the alternatives.
    pub equity: Vec<Series>,
    /// The external price per sample.
    pub price: Vec<f64>,
    /// Price below which the position is liquidatable; `None` when there is none.
    pub liquidation_lower: Vec<Option<f64>>,
    /// Price above which the position is liquidatable (two-sided debt); else `None`.
    pub liquidation_upper: Vec<Option<f64>>,
    /// Debt / value per sample; `None` while no position is open.
    pub debt_ratio: Vec<Option<f64>>,
    /// Debt ratio at which the position is liquidated (e.g. 0.8333).
    pub kill_factor: f64,
    /// Debt ratio up to which a position may be opened (e.g. 0.70).
    pub work_factor: f64,
    /// Protection trigger levels on the debt-ratio chart, e.g. ("auto-deleverage", 0.75).
    pub triggers: Vec<(String, f64)>,
    /// PnL decomposition in order (fees, rewards, interest, IL, ...); sums to `pnl_total`.
    pub pnl: Vec<PnlItem>,
    /// Total PnL.
    pub pnl_total: f64,
    /// Protection actions, liquidations, re-centres, compounds.
    pub actions: Vec<Action>,
    /// Caveats shown under the tables.
    pub notes: Vec<String>,
    /// Data attribution lines, shown in the footer as text.
    pub sources: Vec<String>,
}

/// One named line on the equity chart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Series {
    /// Legend name, e.g. "Hold 50/50".
    pub name: String,
    /// One value per sample of [`BacktestReport::times`].
    pub values: Vec<f64>,
}

/// One strategy's row in the summary table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SummaryRow {
    /// Strategy name.
    pub name: String,
    /// Equity at the end of the backtest.
    pub final_equity: f64,
    /// Final equity minus initial equity.
    pub pnl: f64,
    /// Net annualised yield, as a fraction (0.12 = 12%).
    pub net_apy: f64,
    /// Maximum peak-to-trough loss, as a fraction (0.35 = 35%).
    pub max_drawdown: f64,
    /// Whether the strategy was liquidated.
    pub liquidated: bool,
    /// Free text shown in the last column.
    pub note: String,
}

/// One line of the PnL decomposition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PnlItem {
    /// Component name, e.g. "Trading fees".
    pub name: String,
    /// Signed contribution to the total.
    pub value: f64,
}

/// Something the strategy or the protocol did at a point in time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Action {
    /// Unix seconds.
    pub time: i64,
    /// One of "deleverage", "stop_loss", "take_profit", "top_up", "compound", "recenter",
    /// "rebalance", "liquidation", "open", "close"; other kinds are drawn in grey.
    pub kind: String,
    /// External price at the action.
    pub price: f64,
    /// One-line human text with the numbers.
    pub label: String,
}
