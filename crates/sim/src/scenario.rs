//! A backtest scenario: the data, the market, the position and its protection, in TOML.
//!
//! Every field has a default, so an empty file is the bundled default: three-times long ETH
//! on a constant-product ETH/USDC pool over the bundled 2018-2023 hourly history. Unknown
//! keys are refused, and every error names the line and column ([`Scenario::from_toml`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::data::GapPolicy;
use crate::portfolio::{portfolio_shape, PortfolioSpec};
use crate::risk_spec::RiskSpec;
pub use levfarm_market::{
    check_symbol, default_rate_model, CollateralSpec, LendingSpec, LeverageSpec, LiquidationSpec,
    MarketSpec, PoolKind, PoolSpec, RewardPricePath, RewardSpec, TokenSpec, UtilizationModel,
    VenueSpec, VolumeModel, DEFAULT_DAILY_TURNOVER, MAIN_POOL, MAIN_VENUE,
};

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
    /// Several positions sharing one capital, in place of `[position]` and `[protection]`
    /// (see [`crate::portfolio`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portfolio: Option<PortfolioSpec>,
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
    /// The stable token's (token1's) own price history, when it is not priced at 1: a
    /// volatile/volatile pool such as WETH/WBTC (`bundled:BTCUSD_1h`). The run keeps the bars
    /// both histories have; amounts stay in the numeraire (dollars), converted at each token's
    /// price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stable_prices: Option<String>,
    /// Its price column, when it is not `close`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stable_column: Option<String>,
    /// The price histories of the other pairs' tokens, by symbol, in the numeraire: a pool
    /// over another pair (`pair = ["WBTC", "USDC"]`) needs each of its tokens priced
    /// (`[data.tokens.WBTC] prices = "bundled:BTCUSD_1h"`). Every history runs on one clock:
    /// the run keeps the bars all of them have.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tokens: std::collections::BTreeMap<String, TokenHistory>,
}

/// A price history's file (or bundled name) and its column, when it is not `close`.
pub type History<'a> = (&'a str, Option<&'a str>);

/// One token's price history in the numeraire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenHistory {
    /// A CSV or Parquet file (time and close columns), or a bundled name.
    pub prices: String,
    /// Its price column, when it is not `close`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
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
    /// v3 only: the range's bounds as multiples of the pool's price at opening
    /// (`{ lower = 0.8, upper = 1.3 }`), snapped outward to the tick spacing; when given, it
    /// replaces `range_width_ticks`, and re-centring keeps the range's width.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<RangeBounds>,
    /// The pool the position provides liquidity to: `main` (`[market.pool]`) or a
    /// `[market.pools.NAME]`.
    pub pool: String,
    /// The lending venue that lends to the position and whose leverage rules it follows:
    /// `main` (`[market.lending]`, `[market.leverage]`) or a `[market.venues.NAME]`.
    pub venue: String,
}

/// A range's bounds as multiples of the price at opening: not necessarily symmetric, nor
/// around the price.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeBounds {
    pub lower: f64,
    pub upper: f64,
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
            portfolio: None,
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
            stable_prices: None,
            stable_column: None,
            tokens: std::collections::BTreeMap::new(),
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
            range: None,
            pool: MAIN_POOL.into(),
            venue: MAIN_VENUE.into(),
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
        shape(text, &scenario).and_then(|()| portfolio_shape(text)).map_err(
            |(field, message)| ScenarioError::Invalid {
                source_name: match line_of_key(text, &field) {
                    Some(line) => format!("{source_name}:{line}"),
                    None => source_name.to_string(),
                },
                field,
                message,
            },
        )?;
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

    /// The pool the position is in.
    pub fn pool(&self) -> &PoolSpec {
        self.market.pool_named(&self.position.pool).unwrap_or(&self.market.pool)
    }

    /// The position's pool's two tokens, `[token0, token1]`: borrowing `asset` borrows token0,
    /// `stable` token1.
    pub fn pair(&self) -> [&str; 2] {
        self.market.pair_of(self.pool())
    }

    /// Where `token`'s price history is, and its column: `data.prices` for the market's asset,
    /// `data.stable_prices` or `data.tokens` for the others. `None` for a token priced at 1
    /// (the market's stable token without a history).
    pub fn history_of(&self, token: &str) -> Option<History<'_>> {
        let d = &self.data;
        if token == self.market.asset {
            return Some((&d.prices, d.column.as_deref()));
        }
        if token == self.market.stable {
            if let Some(path) = &d.stable_prices {
                return Some((path, d.stable_column.as_deref()));
            }
        }
        d.tokens.get(token).map(|h| (h.prices.as_str(), h.column.as_deref()))
    }

    /// The key of `token`'s price history, for messages: `data.prices`, `data.stable_prices`
    /// or `data.tokens.TOKEN`.
    pub fn history_key(&self, token: &str) -> String {
        if token == self.market.asset {
            "data.prices".into()
        } else if token == self.market.stable && self.data.stable_prices.is_some() {
            "data.stable_prices".into()
        } else {
            format!("data.tokens.{token}")
        }
    }

    /// The tokens of the market's pools other than the position's pair, in
    /// [`MarketSpec::pool_tokens`]'s order.
    pub fn other_tokens(&self) -> Vec<&str> {
        let pair = self.pair();
        self.market.pool_tokens().into_iter().filter(|t| !pair.contains(t)).collect()
    }

    /// The other tokens with a price history: the ones a run prices beside its own pair, in
    /// the order of [`crate::data::PriceSeries::others`] and [`crate::world::World::others`].
    pub fn priced_others(&self) -> Vec<&str> {
        self.other_tokens().into_iter().filter(|t| self.history_of(t).is_some()).collect()
    }

    /// Where the run's prices come from: the position's pair, then [`Self::priced_others`],
    /// each with its history (none for a token at 1). Two scenarios with the same sources run
    /// on the same loaded prices.
    pub fn price_sources(&self) -> Vec<(&str, Option<History<'_>>)> {
        let [t0, t1] = self.pair();
        [t0, t1].into_iter().chain(self.priced_others()).map(|t| (t, self.history_of(t))).collect()
    }

    /// The leverage rules the position follows: its venue's.
    pub fn leverage(&self) -> &LeverageSpec {
        self.market.venue(&self.position.venue).map_or(&self.market.leverage, |(l, _)| l)
    }

    /// Checks what the types cannot: ranges, orderings, required pools.
    pub fn validate(&self, source_name: &str) -> Result<(), ScenarioError> {
        // A portfolio's positions are each checked as a scenario of their own, with the
        // shared sections; its own `[position]` is not used.
        if self.portfolio.is_some() {
            return self.validate_portfolio(source_name);
        }
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
        if let Err(e) = m.validate() {
            return fail(&e.field, e.message);
        }
        let Some(pool) = m.pool_named(&p.pool) else {
            return fail(
                "position.pool",
                format!("{:?} is not a pool: use {MAIN_POOL:?} or one of [market.pools]", p.pool),
            );
        };
        let Some((leverage, lending)) = m.venue(&p.venue) else {
            return fail(
                "position.venue",
                format!(
                    "{:?} is not a venue: use {MAIN_VENUE:?} or one of [market.venues]",
                    p.venue
                ),
            );
        };
        let tokens = m.pool_tokens();
        for token in self.data.tokens.keys() {
            let key = format!("data.tokens.{token}");
            if *token == m.asset {
                return fail(&key, format!("{token} is market.asset: its history is data.prices"));
            }
            if *token == m.stable && self.data.stable_prices.is_some() {
                return fail(&key, format!("{token}'s history is already data.stable_prices"));
            }
            if !tokens.contains(&token.as_str()) {
                return fail(
                    &key,
                    format!("{token} is in no pool; the pools' tokens are {}", tokens.join(", ")),
                );
            }
        }
        for (name, pool) in m.pools() {
            let [t0, t1] = m.pair_of(pool);
            for token in [t0, t1] {
                // Only the market's stable token may go without a history: it is priced at 1.
                if self.history_of(token).is_none() && (token != m.stable || token == t0) {
                    let key = match name {
                        MAIN_POOL => "market.pool.pair".to_string(),
                        _ => format!("market.pools.{name}.pair"),
                    };
                    let message = if token == m.stable {
                        format!(
                            "{token} is priced at 1, so it is the pool's second token, the one \
                             prices are in: [\"{t1}\", \"{t0}\"]"
                        )
                    } else {
                        format!(
                            "{token} has no price history: add [data.tokens.{token}] \
                             prices = \"...\" (a CSV or Parquet file, or a bundled name)"
                        )
                    };
                    return fail(&key, message);
                }
            }
        }
        let [token0, token1] = self.pair();
        let needs: &[&str] = match p.borrow {
            _ if p.leverage == 1.0 => &[],
            BorrowSide::Stable => &[token1],
            BorrowSide::Asset => &[token0],
            BorrowSide::Both => &[token0, token1],
        };
        for token in needs {
            if !lending.contains_key(*token) {
                let table = match p.venue.as_str() {
                    MAIN_VENUE => format!("market.lending.{token}"),
                    venue => format!("market.venues.{venue}.lending.{token}"),
                };
                return fail(
                    "market.lending",
                    format!("the position borrows {token} but there is no [{table}]"),
                );
            }
        }
        let pr = &self.protection;
        let max_ratio = leverage.kill_factor_bps as f64 / 1e4;
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
        if let Some(b) = p.range {
            if pool.kind != PoolKind::V3 {
                return fail("position.range", "a range needs a v3 pool (its kind)".into());
            }
            if !(b.lower.is_finite()
                && b.upper.is_finite()
                && 1e-6 <= b.lower
                && b.lower < b.upper
                && b.upper <= 1e6)
            {
                return fail(
                    "position.range",
                    format!("need 1e-6 ≤ lower ({}) < upper ({}) ≤ 1e6, multiples of the price at opening", b.lower, b.upper),
                );
            }
        }
        if pool.kind == PoolKind::V3 && !(1..=1_774_544).contains(&p.range_width_ticks) {
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
        // `positions[1]`: the array's element, a table of its own.
        let (name, index) = match part.strip_suffix(']').and_then(|p| p.split_once('[')) {
            Some((name, i)) => (name, i.parse::<usize>().ok()),
            None => (part, None),
        };
        let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref() == name) else { break };
        at = Some(k.span().start);
        let value = match (v.get_ref(), index) {
            (DeValue::Array(a), Some(i)) => match a.get(i) {
                Some(element) => {
                    at = Some(element.span().start);
                    element.get_ref()
                }
                None => break,
            },
            (value, _) => value,
        };
        match value {
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
