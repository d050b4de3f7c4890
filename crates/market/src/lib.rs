//! levfarm-market: the market a scenario describes, shared by every use (backtest, risk,
//! quote, the service and the command line).
//!
//! - [`MarketSpec`]: the tokens with their declared decimals, the AMM pool, the lending venues
//!   (each with its lending pools and its leverage rules on the pool), and the actors outside
//!   the position ([`actors`]): other borrowers' utilization, traders' volume, the farm's
//!   reward token.
//! - [`MarketSpec::validate`]: what the types cannot check, each refusal naming its key.
//!
//! The description is data: building it into the exact engine is the simulator's `World`.

pub mod actors;
pub mod pool;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use actors::{
    RewardPricePath, RewardSpec, UtilizationModel, VolumeModel, DEFAULT_DAILY_TURNOVER,
};
pub use pool::{
    default_rate_model, CollateralSpec, LendingSpec, LeverageSpec, LiquidationSpec, PoolKind,
    PoolSpec, STABLECOINS,
};

/// The pool a position uses unless it names another: `[market.pool]`.
pub const MAIN_POOL: &str = "main";

/// The venue a position uses unless it names another: the market's own lending pools and
/// leverage rules (`[market.lending]`, `[market.leverage]`).
pub const MAIN_VENUE: &str = "main";

/// Decimals of tokens that need no declaration: the contracts' own values on Ethereum
/// mainnet (`FARM`, the default reward token, is levfarm's stand-in with 18).
pub const WELL_KNOWN: [(&str, u8); 7] =
    [("WETH", 18), ("WBTC", 8), ("USDC", 6), ("USDT", 6), ("DAI", 18), ("FARM", 18), ("ETH", 18)];

/// A token's declared properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Decimals of the token's raw unit, as its contract declares (0 to 36).
    pub decimals: u8,
}

/// A lending venue besides the main one: its own lending pools, and its own leverage rules on
/// the pool (the main venue's when omitted).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct VenueSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leverage: Option<LeverageSpec>,
    pub lending: BTreeMap<String, LendingSpec>,
    /// The venue's own smart-contract hazard in Monte Carlo (`risk.hazard` when omitted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hazard: Option<Hazard>,
}

/// A loss event at the protocol (exploit, oracle failure), a Poisson process per path.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Hazard {
    /// Probability of an event within a year.
    pub probability_per_year: f64,
    /// Share of the position's value an event takes; the owner keeps what is left after the
    /// debt (lenders bear any shortfall).
    pub severity: f64,
}

impl Default for Hazard {
    fn default() -> Self {
        Self { probability_per_year: 0.02, severity: 0.5 }
    }
}

impl Hazard {
    /// Checks the probability and the severity; the error's field is the hazard's own key.
    pub fn check(&self) -> Result<(), Invalid> {
        let finite = f64::is_finite;
        if !(finite(self.probability_per_year) && (0.0..1.0).contains(&self.probability_per_year)) {
            return Err(Invalid::at(
                "probability_per_year",
                format!("{} must be in [0, 1)", self.probability_per_year),
            ));
        }
        if !(finite(self.severity) && (0.0..=1.0).contains(&self.severity)) {
            return Err(Invalid::at(
                "severity",
                format!("{} must be between 0 and 1", self.severity),
            ));
        }
        Ok(())
    }
}

/// A description that cannot be used: the dotted key and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    fn at(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The market the position lives in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MarketSpec {
    /// The volatile token (token0 of the pool); its price is the history's.
    pub asset: String,
    /// The stable token (token1), priced at 1.
    pub stable: String,
    /// Declared decimals by symbol. A well-known token ([`WELL_KNOWN`]) needs none; any other
    /// token the market uses must be declared: nothing assumes 18 or 6.
    pub tokens: BTreeMap<String, TokenSpec>,
    /// The main pool (`main`): the asset against the stable token.
    pub pool: PoolSpec,
    /// Further pools by name: over the same pair (another fee tier, the other kind) or over
    /// another (`pair = ["WBTC", "USDC"]`). A position names its pool. The arbitrageur keeps
    /// every pool at the oracle.
    pub pools: BTreeMap<String, PoolSpec>,
    /// Leverage rules of the pool at the main venue.
    pub leverage: LeverageSpec,
    /// The main venue's lending pools, one per token symbol.
    pub lending: BTreeMap<String, LendingSpec>,
    /// Further lending venues by name, each with its own lending pools and leverage rules on
    /// the pool. A position names its venue; `main` is the one above.
    pub venues: BTreeMap<String, VenueSpec>,
    pub utilization: UtilizationModel,
    pub volume: VolumeModel,
    pub rewards: RewardSpec,
}

impl Default for MarketSpec {
    fn default() -> Self {
        // Aave v3's USDC and WETH pools, with their reserve factors.
        let pool = |token: &str, reserve_factor_bps| {
            let spec = LendingSpec {
                supply: 50_000_000.0,
                rate_model: Some(default_rate_model(token)),
                reserve_factor_bps,
                collateral: None,
            };
            (token.to_string(), spec)
        };
        let lending = BTreeMap::from([pool("USDC", 1000), pool("WETH", 1500)]);
        Self {
            asset: "WETH".into(),
            stable: "USDC".into(),
            tokens: BTreeMap::new(),
            pool: PoolSpec::default(),
            pools: BTreeMap::new(),
            leverage: LeverageSpec::default(),
            lending,
            venues: BTreeMap::new(),
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

impl MarketSpec {
    /// The declared decimals of `symbol`: the `tokens` table, else [`WELL_KNOWN`].
    pub fn decimals(&self, symbol: &str) -> Result<u8, Invalid> {
        if let Some(token) = self.tokens.get(symbol) {
            return Ok(token.decimals);
        }
        WELL_KNOWN.iter().find(|(s, _)| *s == symbol).map(|(_, d)| *d).ok_or_else(|| {
            Invalid::at(
                format!("market.tokens.{symbol}"),
                format!(
                    "{symbol} is not a well-known token: declare its decimals \
                     ([market.tokens.{symbol}] decimals = ...)"
                ),
            )
        })
    }

    /// Every token of the market with its decimals: the pools' ([`Self::pool_tokens`]), then
    /// the reward token.
    pub fn token_decimals(&self) -> Result<Vec<(&str, u8)>, Invalid> {
        let mut tokens = self.pool_tokens();
        tokens.push(&self.rewards.token);
        tokens.into_iter().map(|t| Ok((t, self.decimals(t)?))).collect()
    }

    /// A pool's two tokens, `[token0, token1]`: its `pair`, or the market's asset and stable
    /// token.
    pub fn pair_of<'a>(&'a self, pool: &'a PoolSpec) -> [&'a str; 2] {
        match &pool.pair {
            Some([t0, t1]) => [t0, t1],
            None => [&self.asset, &self.stable],
        }
    }

    /// Every token of the market's pools, each once: the asset and the stable token first,
    /// then the other pairs' in the order [`Self::pools`] lists them.
    pub fn pool_tokens(&self) -> Vec<&str> {
        let mut tokens: Vec<&str> = vec![&self.asset, &self.stable];
        for (_, pool) in self.pools() {
            for token in self.pair_of(pool) {
                if !tokens.contains(&token) {
                    tokens.push(token);
                }
            }
        }
        tokens
    }

    /// The pools by name, the main one first.
    pub fn pools(&self) -> Vec<(&str, &PoolSpec)> {
        let mut all = vec![(MAIN_POOL, &self.pool)];
        all.extend(self.pools.iter().map(|(n, p)| (n.as_str(), p)));
        all
    }

    /// A pool by name.
    pub fn pool_named(&self, name: &str) -> Option<&PoolSpec> {
        self.pools().into_iter().find(|(n, _)| *n == name).map(|(_, p)| p)
    }

    /// The venues by name, the main one first, each with its leverage rules and lending pools.
    pub fn venues(&self) -> Vec<(&str, &LeverageSpec, &BTreeMap<String, LendingSpec>)> {
        let mut all = vec![(MAIN_VENUE, &self.leverage, &self.lending)];
        for (name, venue) in &self.venues {
            all.push((name, venue.leverage.as_ref().unwrap_or(&self.leverage), &venue.lending));
        }
        all
    }

    /// A pool's value, fee and background liquidity, each refusal naming its key.
    fn check_pool(pool: &PoolSpec, key: &dyn Fn(&str) -> String) -> Result<(), Invalid> {
        if !(pool.tvl.is_finite() && (1.0..=1e13).contains(&pool.tvl)) {
            return Err(Invalid::at(
                key("tvl"),
                format!("{} must be between 1 and 1e13 (numeraire)", pool.tvl),
            ));
        }
        if pool.fee_bps == 0 || pool.fee_bps >= 10_000 {
            return Err(Invalid::at(
                key("fee_bps"),
                format!("{} must be between 1 and 9999", pool.fee_bps),
            ));
        }
        if pool.kind == PoolKind::V3 && ![1, 5, 30, 100].contains(&pool.fee_bps) {
            return Err(Invalid::at(
                key("fee_bps"),
                format!("{} is not a v3 fee tier (1, 5, 30 or 100)", pool.fee_bps),
            ));
        }
        if !(0..=1_774_544).contains(&pool.liquidity_width_ticks) {
            return Err(Invalid::at(
                key("liquidity_width_ticks"),
                format!(
                    "{} must be between 0 (full range) and 1774544",
                    pool.liquidity_width_ticks
                ),
            ));
        }
        Ok(())
    }

    /// A venue's leverage rules and lending pools, by name.
    pub fn venue(&self, name: &str) -> Option<(&LeverageSpec, &BTreeMap<String, LendingSpec>)> {
        self.venues().into_iter().find(|(n, _, _)| *n == name).map(|(_, l, p)| (l, p))
    }

    /// Checks what the types cannot: ranges, orderings, symbols, declared decimals.
    pub fn validate(&self) -> Result<(), Invalid> {
        let fail = |field: &str, message: String| Err(Invalid::at(field, message));
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let fraction = |v: f64| v.is_finite() && (0.0..1.0).contains(&v);
        let m = self;
        for name in m.pools.keys() {
            if name == MAIN_POOL || name == "POOL" || name == "REWARD-ROUTE" {
                return fail(
                    &format!("market.pools.{name}"),
                    format!("{name:?} is taken (main is [market.pool]); name the pool otherwise"),
                );
            }
            if let Err(message) = check_symbol(name) {
                return fail(&format!("market.pools.{name}"), message);
            }
        }
        for (name, pool) in m.pools() {
            let key = |field: &str| match name {
                MAIN_POOL => format!("market.pool.{field}"),
                _ => format!("market.pools.{name}.{field}"),
            };
            Self::check_pool(pool, &key)?;
            if let Some([t0, t1]) = &pool.pair {
                for symbol in [t0, t1] {
                    if let Err(message) = check_symbol(symbol) {
                        return fail(&key("pair"), message);
                    }
                    if *symbol == m.rewards.token {
                        return fail(
                            &key("pair"),
                            format!("{symbol} is the farm's reward token; pools are over others"),
                        );
                    }
                    self.decimals(symbol)?;
                }
                if t0 == t1 {
                    return fail(
                        &key("pair"),
                        format!("a pool's two tokens differ, got {t0} twice"),
                    );
                }
                if name == MAIN_POOL && (t0 != &m.asset || t1 != &m.stable) {
                    return fail(
                        &key("pair"),
                        format!(
                            "the main pool is over market.asset and market.stable ({} and {}); \
                             put another pair in [market.pools]",
                            m.asset, m.stable
                        ),
                    );
                }
            }
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
        for (symbol, token) in &m.tokens {
            if let Err(message) = check_symbol(symbol) {
                return fail(&format!("market.tokens.{symbol}"), message);
            }
            if token.decimals > 36 {
                return fail(
                    &format!("market.tokens.{symbol}.decimals"),
                    format!("{} must be between 0 and 36", token.decimals),
                );
            }
        }
        self.token_decimals()?;
        for name in m.venues.keys() {
            if name == MAIN_VENUE {
                return fail(
                    "market.venues.main",
                    "`main` is the venue of [market.lending] and [market.leverage]; name \
                     another venue otherwise"
                        .into(),
                );
            }
            if let Err(message) = check_symbol(name) {
                return fail(&format!("market.venues.{name}"), message);
            }
        }
        for (name, venue) in &m.venues {
            if let Some(Err(e)) = venue.hazard.map(|h| h.check()) {
                return fail(&format!("market.venues.{name}.hazard.{}", e.field), e.message);
            }
        }
        for (venue, leverage, lending) in m.venues() {
            let at = |key: &str| match venue {
                MAIN_VENUE => format!("market.{key}"),
                _ => format!("market.venues.{venue}.{key}"),
            };
            check_leverage(leverage, &at("leverage"))?;
            for (token, spec) in lending {
                let key = at(&format!("lending.{token}"));
                let tokens = m.pool_tokens();
                if !tokens.contains(&token.as_str()) {
                    return fail(
                        &key,
                        format!("lending pools are for the pools' tokens: {}", tokens.join(", ")),
                    );
                }
                if !positive(spec.supply) || spec.supply > 1e13 {
                    return fail(
                        &format!("{key}.supply"),
                        format!("{} must be above 0 and at most 1e13", spec.supply),
                    );
                }
                if let Err(e) = spec.rate_model_for(token).validate() {
                    return fail(&format!("{key}.rate_model"), e.to_string());
                }
                if let Err(e) = spec.config(token).validate() {
                    return fail(&engine_key(&key, &e), e.to_string());
                }
            }
        }
        match &m.utilization {
            UtilizationModel::Bars { columns, .. } => {
                if columns.is_empty() {
                    return fail(
                        "market.utilization.columns",
                        "name at least one lending pool's column (`{ USDC = \"usdc\" }`)".into(),
                    );
                }
                let lent: std::collections::BTreeSet<&str> = m
                    .venues()
                    .into_iter()
                    .flat_map(|(_, _, lending)| lending.keys().map(String::as_str))
                    .collect();
                if let Some(token) = columns.keys().find(|t| !lent.contains(t.as_str())) {
                    return fail(
                        &format!("market.utilization.columns.{token}"),
                        format!(
                            "{token} is lent at no venue; the lending pools are for {}",
                            lent.into_iter().collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
            }
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
            VolumeModel::File { default_daily, .. } | VolumeModel::Bars { default_daily, .. }
                if !(default_daily.is_finite() && (0.0..=50.0).contains(default_daily)) =>
            {
                return fail(
                    "market.volume.default_daily",
                    format!("{default_daily} must be between 0 and 50"),
                );
            }
            VolumeModel::Bars { column, buy_column, sell_column, .. } => {
                match (column, buy_column, sell_column) {
                    (Some(_), None, None) | (None, Some(_), Some(_)) => {}
                    _ => {
                        return fail(
                            "market.volume.column",
                            "give `column` (the whole volume) or both `buy_column` and \
                             `sell_column`"
                                .into(),
                        )
                    }
                }
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
        Ok(())
    }
}

/// A venue's leverage rules, checked as the engine would, each refusal naming its key.
fn check_leverage(l: &LeverageSpec, key: &str) -> Result<(), Invalid> {
    if l.work_factor_bps == 0 || l.kill_factor_bps >= 10_000 {
        return Err(Invalid::at(
            key,
            format!(
                "need 0 < work_factor_bps ({}) < kill_factor_bps ({}) < 10000",
                l.work_factor_bps, l.kill_factor_bps
            ),
        ));
    }
    if let LiquidationSpec::CloseFactor { small_value, .. } = l.liquidation {
        if !(small_value.is_finite() && (0.0..=1e12).contains(&small_value)) {
            return Err(Invalid::at(
                format!("{key}.liquidation.small_value"),
                format!("{small_value} must be between 0 and 1e12"),
            ));
        }
    }
    // The engine's own rules, checked here so that a value it would refuse is named by its
    // key before any engine command runs.
    if let Err(e) = l.config().validate() {
        return Err(Invalid::at(engine_key(key, &e), e.to_string()));
    }
    if l.valuation != "exit" && l.valuation != "oracle" {
        return Err(Invalid::at(
            format!("{key}.valuation"),
            format!("{:?}: use \"exit\" or \"oracle\"", l.valuation),
        ));
    }
    Ok(())
}

/// The key of the field an engine configuration error names, under `prefix`: a liquidation
/// style's fields under `liquidation`, a lending pool's collateral settings under `collateral`.
pub fn engine_key(prefix: &str, error: &levfarm_core::Error) -> String {
    let levfarm_core::Error::InvalidConfig { field, .. } = error else {
        return prefix.to_string();
    };
    let section = match *field {
        "close_factor_bps"
        | "full_below_health_bps"
        | "bonus_bps"
        | "max_share_bps"
        | "penalty_bps" => "liquidation.",
        "ltv_bps"
        | "liquidation_threshold_bps"
        | "liquidation_bonus_bps"
        | "liquidation_protocol_fee_bps" => "collateral.",
        _ => "",
    };
    format!("{prefix}.{section}{field}")
}

/// A token symbol or venue name: 1 to 16 letters, digits, `.`, `-` or `_`.
pub fn check_symbol(symbol: &str) -> Result<(), String> {
    let ok = (1..=16).contains(&symbol.len())
        && symbol.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!("{symbol:?} must be 1 to 16 letters, digits, '.', '-' or '_'"))
    }
}
