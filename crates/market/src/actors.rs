//! The actors outside the position: other borrowers, traders, the farm's reward token.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What other borrowers do: the utilization they keep the pools at, besides the position's own
/// debt (which moves the rate on top).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum UtilizationModel {
    /// A fixed share of the supply is borrowed.
    Constant { value: f64 },
    /// Aave v2's daily utilization of a token (`bundled:aave_v2_utilization` covers
    /// 2020-12 to 2022-07), per lending pool symbol. Outside the history, and in its launch
    /// days, a mean-reverting process fitted to it carries it on (see `extended`).
    History { path: String, symbols: BTreeMap<String, String> },
    /// A mean-reverting process (Ornstein-Uhlenbeck on the log-odds), seeded.
    MeanReverting { mean: f64, speed_per_year: f64, volatility: f64, seed: u64 },
    /// Utilization per bar from a CSV file with a time column: `columns` maps a lent token to
    /// its column (`{ USDC = "usdc" }`), each value a share in [0, 1). A bar takes the last
    /// row at or before its time (the first row before the file starts); a lent token without
    /// a column has no other borrowers. For hourly lending data, or to replay one path.
    Bars { path: String, columns: BTreeMap<String, String> },
}

/// Trading volume that pays the pool's fees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum VolumeModel {
    /// No volume beyond the arbitrage.
    None,
    /// Each day a share of the pool's value trades, spread evenly over the bars.
    Turnover { daily: f64 },
    /// Volume in proportion to the bar's absolute return times the pool's value
    /// (`volume = multiplier · |ln(p/p₋₁)| · TVL`) plus a floor of daily turnover.
    Volatility { multiplier: f64, daily_floor: f64 },
    /// Daily volume in the stable token from a file: a CSV with a time column and `column`.
    /// Days outside the file's range trade `default_daily` of the pool's value.
    /// `pair` picks one pair's rows from a file that holds several (a `pair` column).
    /// `depth_column` names the observed pool's value (`reserveUSD`): each day's volume is then
    /// scaled by the simulated pool's value over it, so that the simulated pool turns over what
    /// the observed one did. Without it the volume is taken in absolute dollars, whatever the
    /// simulated pool's size, and the results say so.
    File {
        path: String,
        column: String,
        default_daily: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pair: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        depth_column: Option<String>,
        /// Observed volume includes the arbitrage that follows the price, which levfarm's own
        /// arbitrageur already trades each bar: subtract that flow, bar by bar (to no less than
        /// nothing), so that it is not paid for twice.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        net_arbitrage: bool,
    },
    /// Volume per bar from a file whose rows are the price history's bars (a time column,
    /// values in the numeraire per bar): `column` for the whole of it (half each way), or
    /// `buy_column` and `sell_column` for traders buying the asset and selling it. A bar
    /// without a row trades `default_daily` of the pool's value a day, half each way.
    /// `depth_column` and `net_arbitrage` as for `file`.
    Bars {
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        column: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        buy_column: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sell_column: Option<String>,
        default_daily: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        depth_column: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        net_arbitrage: bool,
    },
}

/// The farm's rewards and the reward token's price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RewardSpec {
    pub token: String,
    /// Emission sized so that rewards pay this APR on the pool's value at the start.
    pub apr: f64,
    /// The reward token's price at the start, in the stable token.
    pub price: f64,
    pub price_path: RewardPricePath,
}

/// How the reward token's price moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum RewardPricePath {
    Constant,
    /// Falls continuously by this share per year (0.5 halves it each year).
    Decay {
        per_year: f64,
    },
    /// From a file with a time column and `column`.
    File {
        path: String,
        column: String,
    },
}

/// Median daily volume over reserves of Uniswap v2 USDC/WETH in May 2022 (the bundled
/// subgraph snapshots): the default share of the pool that trades each day.
pub const DEFAULT_DAILY_TURNOVER: f64 = 0.10;

impl Default for RewardSpec {
    fn default() -> Self {
        Self {
            token: "FARM".into(),
            apr: 0.05,
            price: 1.0,
            price_path: RewardPricePath::Decay { per_year: 0.5 },
        }
    }
}
