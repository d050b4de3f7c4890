//! An AMM pool and a venue's leverage rules and lending pools, as a scenario describes them.

use levfarm_core::rates::RateModel;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The AMM pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PoolSpec {
    /// The pool's two tokens, `[token0, token1]`: its price is token0's in token1. The
    /// market's `[asset, stable]` when omitted; another pair (`["WBTC", "USDC"]`) needs each
    /// of its tokens priced (`[data.tokens.WBTC]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pair: Option<[String; 2]>,
    /// `constant_product` (Uniswap v2 style) or `v3` (concentrated liquidity).
    pub kind: PoolKind,
    /// Swap fee in basis points (v3: 5, 30 or 100).
    pub fee_bps: u32,
    /// Value locked at the start, in the numeraire, split evenly between the two tokens.
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
    /// How a position past the kill factor is liquidated: `{ style = "kill" }` (the default),
    /// `{ style = "close_factor", ... }` (Aave v3) or `{ style = "soft", ... }` (Kamino).
    pub liquidation: LiquidationSpec,
}

/// A liquidation style, as the scenario file gives it (see the engine's
/// [`levfarm_core::position::LiquidationStyle`]).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum LiquidationSpec {
    /// The whole position, with the kill prize and the treasury's fee.
    #[default]
    Kill,
    /// Aave v3.3: 50% of the debt at most while the health factor is above 0.95, all of it
    /// below or for a position under `small_value` (numeraire) of value or debt; a 5% bonus.
    CloseFactor {
        #[serde(default = "close_factor")]
        close_factor_bps: u32,
        #[serde(default = "full_below_health")]
        full_below_health_bps: u32,
        #[serde(default = "bonus")]
        bonus_bps: u32,
        #[serde(default = "small_value")]
        small_value: f64,
    },
    /// Kamino's soft liquidation: 10% of the debt at most a liquidation, a 0.1% penalty.
    Soft {
        #[serde(default = "max_share")]
        max_share_bps: u32,
        #[serde(default = "penalty")]
        penalty_bps: u32,
    },
}

fn close_factor() -> u32 {
    5000
}
fn full_below_health() -> u32 {
    9500
}
fn bonus() -> u32 {
    500
}
fn small_value() -> f64 {
    2000.0
}
fn max_share() -> u32 {
    1000
}
fn penalty() -> u32 {
    10
}

impl LiquidationSpec {
    /// The engine's style; a small value past what 1e18-scaled 128 bits hold is capped there
    /// (the scenario's check refuses any above 1e12 first).
    pub fn style(&self) -> levfarm_core::position::LiquidationStyle {
        use levfarm_core::math::Bps;
        use levfarm_core::position::LiquidationStyle as S;
        match *self {
            LiquidationSpec::Kill => S::Kill,
            LiquidationSpec::CloseFactor {
                close_factor_bps,
                full_below_health_bps,
                bonus_bps,
                small_value,
            } => S::CloseFactor {
                close_factor_bps: Bps(close_factor_bps),
                full_below_health_bps: Bps(full_below_health_bps),
                bonus_bps: Bps(bonus_bps),
                small_value: alloy_primitives::U256::from(
                    (small_value.clamp(0.0, 1e12) * 1e18) as u128,
                ),
            },
            LiquidationSpec::Soft { max_share_bps, penalty_bps } => {
                S::Soft { max_share_bps: Bps(max_share_bps), penalty_bps: Bps(penalty_bps) }
            }
        }
    }
}

/// A lending pool: its depositors' supply and its rate model. Both may be left out:
/// `[market.lending] USDC = {}` is a pool of 50 million with Aave v3's model for its kind of
/// token ([`default_rate_model`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LendingSpec {
    /// Value supplied by lenders at the start, in the numeraire (50 million when left out).
    #[serde(default = "default_supply")]
    pub supply: f64,
    /// The rate model, as in `levfarm exec`'s `create_lending_pool`
    /// (`{ kind = "aave", optimal_usage_ratio_bps = 9000, ... }`); when left out, Aave v3's
    /// model for the token's kind ([`default_rate_model`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>")]
    pub rate_model: Option<RateModel>,
    #[serde(default)]
    pub reserve_factor_bps: u32,
    /// The token as collateral for plain borrowers (Aave's reserve settings); not collateral
    /// when left out. `levfarm stress --borrowers` needs it on the asset's pool, and takes
    /// [`CollateralSpec::default`] (Aave v3's WETH) where the scenario gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collateral: Option<CollateralSpec>,
}

/// A lending pool's token as collateral, in bps: the loan-to-value a borrower may reach, the
/// liquidation threshold past which it may be liquidated, the liquidation bonus (100% plus the
/// bonus: 10500 is 5%) and the protocol's share of the bonus. Aave v3's WETH on Ethereum when
/// left out: 80.5%, 83%, 5%, 10%.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CollateralSpec {
    pub ltv_bps: u32,
    pub liquidation_threshold_bps: u32,
    pub liquidation_bonus_bps: u32,
    pub liquidation_protocol_fee_bps: u32,
}

impl Default for CollateralSpec {
    fn default() -> Self {
        Self {
            ltv_bps: 8050,
            liquidation_threshold_bps: 8300,
            liquidation_bonus_bps: 10_500,
            liquidation_protocol_fee_bps: 1000,
        }
    }
}

fn default_supply() -> f64 {
    50_000_000.0
}

/// The stablecoins [`default_rate_model`] lends on the stable curve.
pub const STABLECOINS: [&str; 3] = ["USDC", "USDT", "DAI"];

/// Aave v3's variable rate model for `token`'s kind: for a stablecoin ([`STABLECOINS`]) its
/// USDC curve (optimal usage 90%, slopes 4% and 60%), for any other token its WETH curve
/// (optimal usage 80%, slopes 3.3% and 80%), both from a base of 0.
pub fn default_rate_model(token: &str) -> RateModel {
    let (optimal, slope1, slope2) =
        if STABLECOINS.contains(&token) { (9000, 400, 6000) } else { (8000, 330, 8000) };
    RateModel::Aave(levfarm_core::rates::AaveRateModel {
        optimal_usage_ratio_bps: optimal,
        base_variable_borrow_rate_bps: 0,
        variable_rate_slope1_bps: slope1,
        variable_rate_slope2_bps: slope2,
    })
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
            liquidation: self.liquidation.style(),
        }
    }
}

impl LendingSpec {
    /// The rate model of `token`'s pool: the one given, or [`default_rate_model`].
    pub fn rate_model_for(&self, token: &str) -> RateModel {
        self.rate_model.clone().unwrap_or_else(|| default_rate_model(token))
    }

    /// The engine's settings of `token`'s lending pool.
    pub fn config(&self, token: &str) -> levfarm_core::lending::LendingConfig {
        use levfarm_core::math::Bps;
        let mut config = levfarm_core::lending::LendingConfig::new(self.rate_model_for(token));
        config.reserve_factor_bps = Bps(self.reserve_factor_bps);
        if let Some(c) = self.collateral {
            config.ltv_bps = Bps(c.ltv_bps);
            config.liquidation_threshold_bps = Bps(c.liquidation_threshold_bps);
            config.liquidation_bonus_bps = Bps(c.liquidation_bonus_bps);
            config.liquidation_protocol_fee_bps = Bps(c.liquidation_protocol_fee_bps);
        }
        config
    }
}

impl Default for PoolSpec {
    fn default() -> Self {
        Self {
            pair: None,
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
            liquidation: LiquidationSpec::Kill,
        }
    }
}
