//! A backtest scenario: the data, the market, the position and its protection, in TOML.
//!
//! Every field has a default, so an empty file is the bundled default: three-times long ETH
//! on a constant-product ETH/USDC pool over the bundled 2018-2023 hourly history. Unknown
//! keys are refused, and every error names the line and column ([`Scenario::from_toml`]).

use std::collections::BTreeMap;

use levfarm_core::rates::RateModel;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::data::GapPolicy;
use crate::risk_spec::RiskSpec;

/// A whole backtest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// A short name for tables and reports.
    pub name: String,
    pub data: DataSpec,
    pub market: MarketSpec,
    pub position: PositionSpec,
    pub protection: ProtectionSpec,
    /// How fast and how reliably the protection's keepers act, against the liquidators.
    pub keepers: KeeperSpec,
    pub costs: CostSpec,
    pub report: ReportSpec,
    /// Monte Carlo settings for `levfarm risk`.
    pub risk: RiskSpec,
}

/// Where the price history comes from and which part of it to use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DataSpec {
    /// A CSV or Parquet file (time and close columns), or `bundled:ETHUSD_1h`.
    pub prices: String,
    /// Price column, when it is not `close`.
    pub column: Option<String>,
    /// Missing bars: `error` refuses them, `fill` carries the last close forward.
    #[schemars(with = "String")]
    pub gaps: GapPolicy,
    /// First bar to use: a date (`2022-05-01`), an ISO 8601 time, or Unix seconds.
    pub start: Option<String>,
    /// Last bar to use, in the same forms.
    pub end: Option<String>,
}

/// The market the position lives in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MarketSpec {
    /// The volatile token (token0 of the pool); its price is the history's.
    pub asset: String,
    /// The stable token (token1), priced at 1.
    pub stable: String,
    pub pool: PoolSpec,
    /// Leverage rules of the pool.
    pub leverage: LeverageSpec,
    /// One lending pool per token symbol.
    pub lending: BTreeMap<String, LendingSpec>,
    pub utilization: UtilizationModel,
    pub volume: VolumeModel,
    pub rewards: RewardSpec,
}

/// The AMM pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PoolSpec {
    /// `constant_product` (Uniswap v2 style) or `v3` (concentrated liquidity).
    pub kind: PoolKind,
    /// Swap fee in basis points (v3: 5, 30 or 100).
    pub fee_bps: u32,
    /// Value locked at the start, in the stable token, split evenly between the two tokens.
    pub tvl: f64,
    /// v3 only: the width, in ticks, of the background liquidity around the price
    /// (0 = full range).
    pub liquidity_width_ticks: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    ConstantProduct,
    V3,
}

/// The pool's leverage rules (Alpaca's worker config), in basis points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LeverageSpec {
    /// Opening needs debt ≤ value · work factor.
    pub work_factor_bps: u32,
    /// Liquidatable when debt > value · kill factor.
    pub kill_factor_bps: u32,
    /// Liquidator's bounty, of what the liquidation realises.
    pub kill_prize_bps: u32,
    /// Treasury's fee, of what the liquidation realises.
    pub kill_treasury_bps: u32,
    /// Keeper's bounty, of the rewards it reinvests.
    pub reinvest_bounty_bps: u32,
    /// `exit` (after price impact) or `oracle` (fair LP price).
    pub valuation: String,
}

/// A lending pool: its depositors' supply and its rate model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LendingSpec {
    /// Value supplied by lenders at the start, in the stable token.
    pub supply: f64,
    /// The rate model, as in `levfarm exec`'s `create_lending_pool`
    /// (`{ kind = "aave", optimal_usage_ratio_bps = 9000, ... }`).
    #[schemars(with = "serde_json::Value")]
    pub rate_model: RateModel,
    #[serde(default)]
    pub reserve_factor_bps: u32,
}

impl LeverageSpec {
    /// The engine's leverage rules these settings describe (no minimum debt).
    pub fn config(&self) -> levfarm_core::position::LeverageConfig {
        use levfarm_core::math::Bps;
        levfarm_core::position::LeverageConfig {
            work_factor_bps: Bps(self.work_factor_bps),
            kill_factor_bps: Bps(self.kill_factor_bps),
            kill_prize_bps: Bps(self.kill_prize_bps),
            kill_treasury_bps: Bps(self.kill_treasury_bps),
            reinvest_bounty_bps: Bps(self.reinvest_bounty_bps),
            min_debt: alloy_primitives::U256::ZERO,
            valuation: if self.valuation == "oracle" {
                levfarm_core::position::Valuation::Oracle
            } else {
                levfarm_core::position::Valuation::Exit
            },
        }
    }
}

impl LendingSpec {
    /// The engine's lending pool settings these describe.
    pub fn config(&self) -> levfarm_core::lending::LendingConfig {
        let mut config = levfarm_core::lending::LendingConfig::new(self.rate_model.clone());
        config.reserve_factor_bps = levfarm_core::math::Bps(self.reserve_factor_bps);
        config
    }
}

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

/// The leveraged position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PositionSpec {
    /// Equity put in, in the stable token.
    pub equity: f64,
    /// Position value over equity at opening: 1 borrows nothing.
    pub leverage: f64,
    /// What is borrowed: `stable` (long the asset), `asset` (short it) or `both` (near
    /// neutral, two liquidation prices).
    pub borrow: BorrowSide,
    /// v3 only: the range's width in ticks, centred on the price at opening.
    pub range_width_ticks: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BorrowSide {
    Stable,
    Asset,
    Both,
}

/// Protection orders the position carries. They run every bar before any liquidator can,
/// in the order listed here.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProtectionSpec {
    /// Close everything when the asset's price falls to this level.
    pub stop_loss_price: Option<f64>,
    /// Close everything when equity has lost this share since opening (0.5 = half).
    pub stop_loss_equity: Option<f64>,
    /// Close everything when the asset's price rises to this level.
    pub take_profit_price: Option<f64>,
    /// Close everything when equity has gained this share since opening (1.0 = doubled).
    pub take_profit_equity: Option<f64>,
    /// Close everything when the asset's price gives back this share from its best since
    /// opening: from its high for a long or neutral position, from its low for a short
    /// (`borrow = "asset"`).
    pub trailing_stop_price: Option<f64>,
    /// Close everything when equity falls this share below its high since opening.
    pub trailing_stop_equity: Option<f64>,
    /// Close everything this many days after opening.
    pub time_limit_days: Option<f64>,
    /// Add equity from a reserve when the debt ratio passes a trigger.
    pub top_up: Option<TopUp>,
    /// Repay debt from the position when the debt ratio passes a trigger.
    pub deleverage: Option<Deleverage>,
    /// Bring leverage back to a target when it drifts out of a band.
    pub rebalance: Option<Rebalance>,
    /// Reinvest farm rewards (and a range's fees) every this many hours.
    pub compound_hours: Option<u64>,
    /// Range positions: re-centre the range when the price leaves it.
    pub recenter: bool,
}

/// Auto-deleverage: when debt/value reaches `trigger`, remove liquidity and repay debt until
/// debt/value is `target`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deleverage {
    pub trigger: f64,
    pub target: f64,
}

/// Top-up: when debt/value reaches `trigger`, add stable tokens from a reserve of `reserve`
/// until debt/value is `target` or the reserve is spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUp {
    pub trigger: f64,
    pub target: f64,
    pub reserve: f64,
}

/// Rebalance: keep leverage within `target · (1 ± band)`: deleverage above the band; below
/// it, close and reopen at the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rebalance {
    pub target_leverage: f64,
    pub band: f64,
}

/// The keepers that carry out protection orders. Liquidators watch continuously; keepers act
/// `latency_secs` after a trigger is met and now and then fail. Within a bar whose price passes
/// both a protection trigger and the kill factor, the one that comes first acts (see
/// `docs/backtest.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KeeperSpec {
    /// Seconds from a trigger being met to the keeper's transaction: a few blocks.
    pub latency_secs: u64,
    /// The share of bars in which a keeper's transaction fails or never lands (0 to 1).
    pub failure_rate: f64,
    /// Race protection against the liquidators along each bar's path through its high or low
    /// (where the data has them). Off: everything acts at the close, protection first.
    pub intrabar: bool,
    /// Which bars the failures fall on: a keeper fails in a bar when a hash of (seed, bar time,
    /// position) falls under the rate.
    pub seed: u64,
}

impl Default for KeeperSpec {
    fn default() -> Self {
        KeeperSpec { latency_secs: 60, failure_rate: 0.02, intrabar: true, seed: 0 }
    }
}

/// What actions cost besides the pool's fees and price impact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CostSpec {
    /// Gas per protection action, in the stable token, paid by the position's owner.
    pub gas_per_action: f64,
}

/// What the results record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSpec {
    /// Liquidation prices are solved after each action and at least every seven times this
    /// many bars (they cost a search each, and drift only with interest and fees).
    pub liquidation_price_every: u64,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            name: "3x long ETH, auto-deleverage".into(),
            data: DataSpec::default(),
            market: MarketSpec::default(),
            position: PositionSpec::default(),
            protection: ProtectionSpec {
                deleverage: Some(Deleverage { trigger: 0.78, target: 0.6 }),
                compound_hours: Some(24),
                ..ProtectionSpec::default()
            },
            keepers: KeeperSpec::default(),
            costs: CostSpec::default(),
            report: ReportSpec::default(),
            risk: RiskSpec::default(),
        }
    }
}

impl Default for DataSpec {
    fn default() -> Self {
        Self {
            prices: crate::data::BUNDLED_ETH_USD.into(),
            column: None,
            gaps: GapPolicy::Fill,
            start: None,
            end: None,
        }
    }
}

impl Default for MarketSpec {
    fn default() -> Self {
        let aave = |optimal, base, slope1, slope2| {
            serde_json::from_value::<RateModel>(serde_json::json!({
                "kind": "aave",
                "optimal_usage_ratio_bps": optimal,
                "base_variable_borrow_rate_bps": base,
                "variable_rate_slope1_bps": slope1,
                "variable_rate_slope2_bps": slope2,
            }))
            .expect("the default rate models are valid")
        };
        let lending = BTreeMap::from([
            (
                "USDC".to_string(),
                LendingSpec {
                    supply: 50_000_000.0,
                    rate_model: aave(9000, 0, 400, 6000),
                    reserve_factor_bps: 1000,
                },
            ),
            (
                "WETH".to_string(),
                LendingSpec {
                    supply: 50_000_000.0,
                    rate_model: aave(8000, 0, 330, 8000),
                    reserve_factor_bps: 1500,
                },
            ),
        ]);
        Self {
            asset: "WETH".into(),
            stable: "USDC".into(),
            pool: PoolSpec::default(),
            leverage: LeverageSpec::default(),
            lending,
            utilization: UtilizationModel::History {
                path: "bundled:aave_v2_utilization".into(),
                symbols: BTreeMap::from([
                    ("USDC".to_string(), "USDC".to_string()),
                    ("WETH".to_string(), "WETH".to_string()),
                ]),
            },
            volume: VolumeModel::Turnover { daily: DEFAULT_DAILY_TURNOVER },
            rewards: RewardSpec::default(),
        }
    }
}

/// Median daily volume over reserves of Uniswap v2 USDC/WETH in May 2022 (the bundled
/// subgraph snapshots): the default share of the pool that trades each day.
pub const DEFAULT_DAILY_TURNOVER: f64 = 0.10;

impl Default for PoolSpec {
    fn default() -> Self {
        Self {
            kind: PoolKind::ConstantProduct,
            fee_bps: 30,
            tvl: 100_000_000.0,
            liquidity_width_ticks: 0,
        }
    }
}

impl Default for LeverageSpec {
    fn default() -> Self {
        Self {
            work_factor_bps: 7000,
            kill_factor_bps: 8333,
            kill_prize_bps: 100,
            kill_treasury_bps: 400,
            reinvest_bounty_bps: 900,
            valuation: "exit".into(),
        }
    }
}

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

impl Default for PositionSpec {
    fn default() -> Self {
        Self {
            equity: 10_000.0,
            leverage: 3.0,
            borrow: BorrowSide::Stable,
            range_width_ticks: 4000,
        }
    }
}

impl Default for CostSpec {
    fn default() -> Self {
        Self { gas_per_action: 5.0 }
    }
}

impl Default for ReportSpec {
    fn default() -> Self {
        Self { liquidation_price_every: 24 }
    }
}

/// A scenario that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The TOML did not parse or did not fit the schema; the message has line and column.
    #[error("{source_name}: {message}")]
    Parse { source_name: String, message: String },
    /// A value parsed but makes no sense.
    #[error("{source_name}: {field}: {message}")]
    Invalid { source_name: String, field: String, message: String },
}

impl Scenario {
    /// Parses a scenario file's text. `source_name` (the file name) starts every error.
    pub fn from_toml(source_name: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            source_name: source_name.into(),
            message: located(text, &e),
        })?;
        shape(text, &scenario).map_err(|(field, message)| ScenarioError::Invalid {
            source_name: match line_of_key(text, &field) {
                Some(line) => format!("{source_name}:{line}"),
                None => source_name.to_string(),
            },
            field,
            message,
        })?;
        scenario.validate(source_name).map_err(|e| match e {
            ScenarioError::Invalid { source_name, field, message } => {
                // FILE:LINE where the file sets the key (or its table); FILE alone for a
                // default the file does not mention.
                let source_name = match line_of_key(text, &field) {
                    Some(line) => format!("{source_name}:{line}"),
                    None => source_name,
                };
                ScenarioError::Invalid { source_name, field, message }
            }
            other => other,
        })?;
        Ok(scenario)
    }

    /// Sets `key` (dotted, e.g. `position.leverage`) to `value` (TOML syntax, e.g. `3` or
    /// `"asset"`; a bare word is taken as a string; `none` removes an optional setting) and
    /// checks the result, as `--sweep` and `--set` do.
    pub fn with_value(&self, key: &str, value: &str) -> Result<Scenario, ScenarioError> {
        let invalid = |message: String| ScenarioError::Invalid {
            source_name: "--sweep/--set".into(),
            field: key.into(),
            message,
        };
        let tree = toml::Value::try_from(self).map_err(|e| invalid(e.to_string()))?;
        let parsed = match toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
        {
            // A date such as 2022-01-05 is TOML's datetime; the scenario takes dates as text.
            Some(toml::Value::Datetime(d)) => toml::Value::String(d.to_string()),
            Some(v) => v,
            None => toml::Value::String(value.to_string()),
        };
        let parts: Vec<&str> = key.split('.').collect();
        // `none` drops an optional setting (a protection order, a window bound); where the
        // key takes the word itself (`market.volume.model = "none"`), it is that word.
        let attempts: &[Option<toml::Value>] = if value == "none" {
            &[None, Some(toml::Value::String("none".into()))]
        } else {
            &[Some(parsed)]
        };
        let mut outcome = Err(invalid("no value".into()));
        for attempt in attempts {
            outcome = set_in(tree.clone(), &parts, attempt.clone()).map_err(invalid);
            if outcome.is_ok() {
                break;
            }
        }
        let mut scenario = outcome?;
        // The name described the file's settings; say which one was changed.
        if key != "name" {
            scenario.name = format!("{}, with {key} = {value}", scenario.name);
        }
        scenario.validate("--sweep/--set")?;
        Ok(scenario)
    }

    /// Checks what the types cannot: ranges, orderings, required pools.
    pub fn validate(&self, source_name: &str) -> Result<(), ScenarioError> {
        let fail = |field: &str, message: String| {
            Err(ScenarioError::Invalid {
                source_name: source_name.into(),
                field: field.into(),
                message,
            })
        };
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let fraction = |v: f64| v.is_finite() && (0.0..1.0).contains(&v);
        let m = &self.market;
        let p = &self.position;
        if !positive(p.equity) || p.equity > 1e12 {
            return fail(
                "position.equity",
                format!("{} must be above 0 and at most 1e12", p.equity),
            );
        }
        if !(p.leverage.is_finite() && (1.0..=20.0).contains(&p.leverage)) {
            return fail("position.leverage", format!("{} must be between 1 and 20", p.leverage));
        }
        if !(m.pool.tvl.is_finite() && (1.0..=1e13).contains(&m.pool.tvl)) {
            return fail(
                "market.pool.tvl",
                format!("{} must be between 1 and 1e13 (numeraire)", m.pool.tvl),
            );
        }
        if m.pool.fee_bps == 0 || m.pool.fee_bps >= 10_000 {
            return fail(
                "market.pool.fee_bps",
                format!("{} must be between 1 and 9999", m.pool.fee_bps),
            );
        }
        if m.pool.kind == PoolKind::V3 && ![1, 5, 30, 100].contains(&m.pool.fee_bps) {
            return fail(
                "market.pool.fee_bps",
                format!("{} is not a v3 fee tier (1, 5, 30 or 100)", m.pool.fee_bps),
            );
        }
        if m.asset == m.stable || m.asset.is_empty() || m.stable.is_empty() {
            return fail("market.asset", "asset and stable must be two different symbols".into());
        }
        for (key, symbol) in [
            ("market.asset", &m.asset),
            ("market.stable", &m.stable),
            ("market.rewards.token", &m.rewards.token),
        ] {
            if let Err(message) = check_symbol(symbol) {
                return fail(key, message);
            }
        }
        if m.rewards.token == m.asset || m.rewards.token == m.stable {
            return fail("market.rewards.token", "must differ from the pool's two tokens".into());
        }
        let l = &m.leverage;
        if l.work_factor_bps == 0 || l.kill_factor_bps >= 10_000 {
            return fail(
                "market.leverage",
                format!(
                    "need 0 < work_factor_bps ({}) < kill_factor_bps ({}) < 10000",
                    l.work_factor_bps, l.kill_factor_bps
                ),
            );
        }
        // The engine's own rules, checked here so that a value it would refuse is named by
        // its key before any engine command runs.
        if let Err(e) = l.config().validate() {
            return fail(&engine_key("market.leverage", &e), e.to_string());
        }
        if l.valuation != "exit" && l.valuation != "oracle" {
            return fail(
                "market.leverage.valuation",
                format!("{:?}: use \"exit\" or \"oracle\"", l.valuation),
            );
        }
        let needs: &[&str] = match p.borrow {
            _ if p.leverage == 1.0 => &[],
            BorrowSide::Stable => &[&m.stable],
            BorrowSide::Asset => &[&m.asset],
            BorrowSide::Both => &[&m.asset, &m.stable],
        };
        for token in needs {
            if !m.lending.contains_key(*token) {
                return fail(
                    "market.lending",
                    format!(
                        "the position borrows {token} but there is no [market.lending.{token}]"
                    ),
                );
            }
        }
        for (token, spec) in &m.lending {
            if token != &m.asset && token != &m.stable {
                return fail(
                    &format!("market.lending.{token}"),
                    format!("lending pools are for {} or {}", m.asset, m.stable),
                );
            }
            if !positive(spec.supply) || spec.supply > 1e13 {
                return fail(
                    &format!("market.lending.{token}.supply"),
                    format!("{} must be above 0 and at most 1e13", spec.supply),
                );
            }
            if let Err(e) = spec.rate_model.validate() {
                return fail(&format!("market.lending.{token}.rate_model"), e.to_string());
            }
            if let Err(e) = spec.config().validate() {
                return fail(&engine_key(&format!("market.lending.{token}"), &e), e.to_string());
            }
        }
        match &m.utilization {
            UtilizationModel::Constant { value } if !fraction(*value) => {
                return fail("market.utilization.value", format!("{value} must be in [0, 1)"));
            }
            UtilizationModel::MeanReverting { mean, speed_per_year, volatility, .. }
                if !(fraction(*mean)
                    && positive(*speed_per_year)
                    && volatility.is_finite()
                    && *volatility >= 0.0) =>
            {
                return fail(
                    "market.utilization",
                    "mean in (0, 1), speed_per_year > 0 and volatility ≥ 0".into(),
                );
            }
            _ => {}
        }
        match &m.volume {
            VolumeModel::Turnover { daily }
                if !(daily.is_finite() && *daily >= 0.0 && *daily <= 50.0) =>
            {
                return fail("market.volume.daily", format!("{daily} must be between 0 and 50"));
            }
            VolumeModel::Volatility { multiplier, daily_floor }
                if !(multiplier.is_finite()
                    && *multiplier >= 0.0
                    && daily_floor.is_finite()
                    && *daily_floor >= 0.0) =>
            {
                return fail("market.volume", "multiplier and daily_floor must be ≥ 0".into());
            }
            VolumeModel::File { default_daily, .. }
                if !(default_daily.is_finite() && (0.0..=50.0).contains(default_daily)) =>
            {
                return fail(
                    "market.volume.default_daily",
                    format!("{default_daily} must be between 0 and 50"),
                );
            }
            _ => {}
        }
        let r = &m.rewards;
        if !(r.apr.is_finite() && (0.0..=100.0).contains(&r.apr)) {
            return fail("market.rewards.apr", format!("{} must be between 0 and 100", r.apr));
        }
        if !positive(r.price) || r.price > 1e12 {
            return fail(
                "market.rewards.price",
                format!("{} must be above 0 and at most 1e12", r.price),
            );
        }
        if let RewardPricePath::Decay { per_year } = r.price_path {
            if !fraction(per_year) {
                return fail(
                    "market.rewards.price_path.per_year",
                    format!("{per_year} must be in [0, 1)"),
                );
            }
        }
        let pr = &self.protection;
        let max_ratio = l.kill_factor_bps as f64 / 1e4;
        let ratio_pair = |name: &str, trigger: f64, target: f64| -> Result<(), ScenarioError> {
            if !(fraction(target)
                && target < trigger
                && trigger.is_finite()
                && trigger <= max_ratio)
            {
                return fail(
                    name,
                    format!(
                        "need 0 ≤ target ({target}) < trigger ({trigger}) ≤ the kill factor ({max_ratio})"
                    ),
                );
            }
            Ok(())
        };
        if let Some(d) = &pr.deleverage {
            ratio_pair("protection.deleverage", d.trigger, d.target)?;
        }
        if let Some(t) = &pr.top_up {
            ratio_pair("protection.top_up", t.trigger, t.target)?;
            if !positive(t.reserve) || t.reserve > 1e12 {
                return fail(
                    "protection.top_up.reserve",
                    format!("{} must be above 0 and at most 1e12", t.reserve),
                );
            }
        }
        if let Some(r) = &pr.rebalance {
            if !(r.target_leverage.is_finite()
                && r.target_leverage > 1.0
                && fraction(r.band)
                && r.band > 0.0)
            {
                return fail("protection.rebalance", "target_leverage > 1 and 0 < band < 1".into());
            }
        }
        for (name, v) in [
            ("protection.stop_loss_price", pr.stop_loss_price),
            ("protection.take_profit_price", pr.take_profit_price),
            ("protection.take_profit_equity", pr.take_profit_equity),
        ] {
            if let Some(v) = v {
                if !positive(v) || v > 1e15 {
                    return fail(name, format!("{v} must be above 0 and at most 1e15"));
                }
            }
        }
        for (name, v) in [
            ("protection.stop_loss_equity", pr.stop_loss_equity),
            ("protection.trailing_stop_price", pr.trailing_stop_price),
            ("protection.trailing_stop_equity", pr.trailing_stop_equity),
        ] {
            if let Some(v) = v {
                // Whole basis points: the engine's orders hold them so.
                if !(fraction(v) && v >= 1e-4) {
                    return fail(name, format!("{v} must be in [0.0001, 1)"));
                }
            }
        }
        if let Some(days) = pr.time_limit_days {
            if !(positive(days) && days <= 36_600.0) {
                return fail(
                    "protection.time_limit_days",
                    format!("{days} must be above 0 and at most 36600 (100 years)"),
                );
            }
        }
        let k = &self.keepers;
        if k.latency_secs > 86_400 {
            return fail(
                "keepers.latency_secs",
                format!("{} must be at most 86400 (a day)", k.latency_secs),
            );
        }
        if !fraction(k.failure_rate) {
            return fail("keepers.failure_rate", format!("{} must be in [0, 1)", k.failure_rate));
        }
        if let Some(h) = pr.compound_hours.filter(|h| !(1..=MAX_HOURS).contains(h)) {
            return fail(
                "protection.compound_hours",
                format!("{h} must be between 1 and {MAX_HOURS} (100 years)"),
            );
        }
        if !(0..=1_774_544).contains(&m.pool.liquidity_width_ticks) {
            return fail(
                "market.pool.liquidity_width_ticks",
                format!(
                    "{} must be between 0 (full range) and 1774544",
                    m.pool.liquidity_width_ticks
                ),
            );
        }
        if m.pool.kind == PoolKind::V3 && !(1..=1_774_544).contains(&p.range_width_ticks) {
            return fail(
                "position.range_width_ticks",
                format!("{} must be between 1 and 1774544", p.range_width_ticks),
            );
        }
        let gas = self.costs.gas_per_action;
        if !(gas.is_finite() && (0.0..=1e6).contains(&gas)) {
            return fail("costs.gas_per_action", format!("{gas} must be between 0 and 1e6"));
        }
        let every = self.report.liquidation_price_every;
        if !(1..=MAX_HOURS).contains(&every) {
            return fail(
                "report.liquidation_price_every",
                format!("{every} must be between 1 and {MAX_HOURS} bars"),
            );
        }
        self.risk.validate(&fail)
    }

    /// The JSON schema of scenario files.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default()
    }
}

/// The longest interval in hours (or bars) a setting may name: 100 years of hours. Longer is
/// a mistyped number, and would overflow the seconds it becomes.
pub const MAX_HOURS: u64 = 24 * 365 * 100;

/// A token symbol: 1 to 16 letters, digits, `.`, `-` or `_`.
fn check_symbol(symbol: &str) -> Result<(), String> {
    let ok = (1..=16).contains(&symbol.len())
        && symbol.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!("{symbol:?} must be 1 to 16 letters, digits, '.', '-' or '_'"))
    }
}

/// The scenario `tree` with the setting at `parts` replaced by `value` (`None` removes it),
/// parsed back.
fn set_in(
    mut tree: toml::Value,
    parts: &[&str],
    value: Option<toml::Value>,
) -> Result<Scenario, String> {
    let mut node = &mut tree;
    for (i, part) in parts.iter().enumerate() {
        let table = node
            .as_table_mut()
            .ok_or_else(|| format!("{} is not a table", parts[..i].join(".")))?;
        if i + 1 == parts.len() {
            match &value {
                None => {
                    table.remove(*part);
                }
                Some(v) => {
                    table.insert(part.to_string(), v.clone());
                }
            }
            break;
        }
        node =
            table.entry(part.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
    }
    let text = toml::to_string(&tree).map_err(|e| e.to_string())?;
    let scenario: Scenario = toml::from_str(&text).map_err(|e| e.message().to_string())?;
    if let Ok(read) = toml::Value::try_from(&scenario) {
        same_shape(&tree, &read, "").map_err(|(field, m)| format!("{field}: {m}"))?;
    }
    Ok(scenario)
}

/// The scenario key of the field an engine configuration error names, under `prefix`.
fn engine_key(prefix: &str, error: &levfarm_core::Error) -> String {
    match error {
        levfarm_core::Error::InvalidConfig { field, .. } => format!("{prefix}.{field}"),
        _ => prefix.to_string(),
    }
}

/// Refuses a file whose values have another shape than the settings they fill: a table's
/// fields with defaults also deserialize from an array, so `hazard = []` would silently mean
/// "the defaults". The file is walked beside the scenario it gave, re-serialized.
fn shape(text: &str, scenario: &Scenario) -> Result<(), (String, String)> {
    let (Ok(given), Ok(read)) = (text.parse::<toml::Table>(), toml::Table::try_from(scenario))
    else {
        return Ok(());
    };
    same_shape(&toml::Value::Table(given), &toml::Value::Table(read), "")
}

fn same_shape(given: &toml::Value, read: &toml::Value, path: &str) -> Result<(), (String, String)> {
    use toml::Value as V;
    let at = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    match (given, read) {
        (V::Table(g), V::Table(r)) => {
            for (k, v) in g {
                if let Some(rv) = r.get(k) {
                    same_shape(v, rv, &at(k))?;
                }
            }
            Ok(())
        }
        (V::Array(_), V::Table(_)) => {
            Err((path.to_string(), "is a table of settings, not an array".into()))
        }
        _ => Ok(()),
    }
}

/// The line where `text` sets the dotted `key`, or the deepest table of it that it names.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let root = DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let mut at = None;
    for part in key.split('.') {
        let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref() == part) else { break };
        at = Some(k.span().start);
        match v.get_ref() {
            DeValue::Table(t) => table = t,
            _ => break,
        }
    }
    at.map(|start| text[..start.min(text.len())].matches('\n').count() + 1)
}

/// A TOML error as `line L, column C: message`, from the error's byte span.
fn located(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().to_string();
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// The commented example scenario `levfarm init` writes: the bundled default, every field
/// explained.
pub const EXAMPLE_TOML: &str = include_str!("example.toml");
