use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use crate::math::Bps;
use crate::Error;

/// Which value the work and kill checks compare the debt with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Valuation {
    /// What closing now would realise after price impact and fees (Alpaca's `health`).
    #[default]
    Exit,
    /// The fair LP price `2·sqrt(r0·p0·r1·p1)/supply` (Alpha Homora's oracle), which a flash
    /// loan cannot move.
    Oracle,
}

/// How a position past its kill factor is liquidated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum LiquidationStyle {
    /// The whole position (Alpaca's `kill`, Alpha Homora): its LP is sold to repay the debt,
    /// `kill_prize_bps` and `kill_treasury_bps` of what it realises paid first.
    #[default]
    Kill,
    /// Aave v3's close factor: a liquidation repays at most `close_factor_bps` of the debt
    /// while the health factor (`value · kill_factor / debt`) is above `full_below_health_bps`,
    /// and all of it below; the liquidator seizes LP worth the repayment plus `bonus_bps`.
    /// Aave v3.3's rule for small positions: with the value or the debt under `small_value`
    /// (numeraire, 1e18), the whole debt may be repaid, and a partial liquidation may not
    /// leave less than half of it of either: then the whole is.
    CloseFactor {
        close_factor_bps: Bps,
        full_below_health_bps: Bps,
        bonus_bps: Bps,
        #[serde(with = "crate::types::dec")]
        small_value: U256,
    },
    /// Soft liquidation (Kamino): each liquidation repays at most `max_share_bps` of the debt,
    /// the liquidator seizing LP worth it plus a small `penalty_bps`.
    Soft { max_share_bps: Bps, penalty_bps: Bps },
}

impl LiquidationStyle {
    /// Aave v3.3's constants: a 50% close factor, all of the debt below a 0.95 health factor,
    /// and small positions under 2,000 of value or debt; with a 5% bonus.
    pub fn aave(bonus_bps: u32) -> Self {
        LiquidationStyle::CloseFactor {
            close_factor_bps: Bps(5000),
            full_below_health_bps: Bps(9500),
            bonus_bps: Bps(bonus_bps),
            small_value: crate::math::WAD * U256::from(2_000u64),
        }
    }

    pub fn is_kill(&self) -> bool {
        *self == LiquidationStyle::Kill
    }
}

/// The leverage rules of one pool (Alpaca's WorkerConfig plus the vault's kill bounty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeverageConfig {
    /// Open limit: opening or adjusting needs `value · work_factor ≥ debt · 1e4`.
    pub work_factor_bps: Bps,
    /// Liquidation threshold: liquidatable when `value · kill_factor < debt · 1e4`.
    pub kill_factor_bps: Bps,
    /// Bounty to the liquidator, as a share of what the liquidation realises.
    #[serde(default)]
    pub kill_prize_bps: Bps,
    /// Fee to the treasury, as a share of what the liquidation realises.
    #[serde(default)]
    pub kill_treasury_bps: Bps,
    /// Bounty to whoever reinvests farm rewards, as a share of the rewards.
    #[serde(default)]
    pub reinvest_bounty_bps: Bps,
    /// Smallest debt a position may keep in each token (raw units), as Alpaca's `minDebtSize`.
    #[serde(default, with = "crate::types::dec")]
    pub min_debt: U256,
    #[serde(default)]
    pub valuation: Valuation,
    /// How a position past the kill factor is liquidated: killed whole unless set.
    #[serde(default, skip_serializing_if = "LiquidationStyle::is_kill")]
    pub liquidation: LiquidationStyle,
}

/// Alpaca's add-collateral rule keeps the debt ratio this far below the kill factor.
pub const ADD_COLLATERAL_MARGIN_BPS: u32 = 100;

impl LeverageConfig {
    /// Alpaca's volatile-pair defaults: work 70%, kill 83.33%, 1% prize, 4% treasury,
    /// 9% reinvest bounty.
    pub fn alpaca() -> Self {
        Self {
            work_factor_bps: Bps(7000),
            kill_factor_bps: Bps(8333),
            kill_prize_bps: Bps(100),
            kill_treasury_bps: Bps(400),
            reinvest_bounty_bps: Bps(900),
            min_debt: U256::ZERO,
            valuation: Valuation::Exit,
            liquidation: LiquidationStyle::Kill,
        }
    }

    /// Rejects rules the protocols would not accept.
    pub fn validate(&self) -> Result<(), Error> {
        let fail = |field, value: u32, reason| {
            Err(Error::InvalidConfig { field, value: value.to_string(), reason })
        };
        if self.work_factor_bps.0 >= self.kill_factor_bps.0 {
            return fail("work_factor_bps", self.work_factor_bps.0, "must be below kill_factor_bps, or a position could be liquidated the moment it opens");
        }
        if self.kill_factor_bps.0 > 10_000 {
            return fail("kill_factor_bps", self.kill_factor_bps.0, "must be at most 10000");
        }
        // Alpaca: killBps + killTreasuryBps <= maxKillBps < 1000
        if u64::from(self.kill_prize_bps.0) + u64::from(self.kill_treasury_bps.0) >= 1000 {
            return fail(
                "kill_prize_bps",
                self.kill_prize_bps.0,
                "kill_prize_bps + kill_treasury_bps must stay below 1000 (10%)",
            );
        }
        match self.liquidation {
            LiquidationStyle::Kill => {}
            LiquidationStyle::CloseFactor {
                close_factor_bps,
                full_below_health_bps,
                bonus_bps,
                ..
            } => {
                if close_factor_bps.0 == 0 || close_factor_bps.0 > 10_000 {
                    return fail("close_factor_bps", close_factor_bps.0, "must be 1 to 10000");
                }
                if full_below_health_bps.0 > 10_000 {
                    return fail(
                        "full_below_health_bps",
                        full_below_health_bps.0,
                        "must be at most 10000 (a health factor of 1)",
                    );
                }
                // Aave: liquidation threshold × bonus must stay under 100%, or seizing the
                // bonus would leave the position worse off than before.
                let seized = u64::from(self.kill_factor_bps.0) * (10_000 + u64::from(bonus_bps.0));
                if seized >= 100_000_000 {
                    return fail(
                        "bonus_bps",
                        bonus_bps.0,
                        "kill_factor × (1 + bonus) must stay below 100%",
                    );
                }
            }
            LiquidationStyle::Soft { max_share_bps, penalty_bps } => {
                if max_share_bps.0 == 0 || max_share_bps.0 > 10_000 {
                    return fail("max_share_bps", max_share_bps.0, "must be 1 to 10000");
                }
                if penalty_bps.0 >= 1000 {
                    return fail("penalty_bps", penalty_bps.0, "must stay below 1000 (10%)");
                }
            }
        }
        if self.reinvest_bounty_bps.0 > 3000 {
            return fail(
                "reinvest_bounty_bps",
                self.reinvest_bounty_bps.0,
                "must be at most 3000 (Alpaca's hard cap)",
            );
        }
        Ok(())
    }

    /// Largest leverage the work factor allows: `1 / (1 − work_factor)`, in bps of 1x.
    pub fn max_leverage_bps(&self) -> u64 {
        // validate keeps the work factor below the kill factor, at most 10000; a rule that was
        // never validated still gets an answer rather than a panic.
        let headroom = 10_000u32.saturating_sub(self.work_factor_bps.0).max(1);
        100_000_000 / u64::from(headroom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the prize and the treasury fee were summed in 32 bits, so 4294967295 + 1
    /// wrapped to 0 and a pool whose positions could never be liquidated was accepted.
    #[test]
    fn kill_prize_plus_treasury_does_not_wrap() {
        for (prize, treasury) in [(u32::MAX, 1), (1 << 31, 1 << 31), (999, 1), (1, u32::MAX)] {
            let rules = LeverageConfig {
                kill_prize_bps: Bps(prize),
                kill_treasury_bps: Bps(treasury),
                ..LeverageConfig::alpaca()
            };
            assert!(
                matches!(
                    rules.validate(),
                    Err(Error::InvalidConfig { field: "kill_prize_bps", .. })
                ),
                "{prize} + {treasury}"
            );
        }
    }

    #[test]
    fn max_leverage_from_the_work_factor() {
        // 1 / (1 - 0.70) = 3.33x; 1 / (1 - 0.80) = 5x
        assert_eq!(LeverageConfig::alpaca().max_leverage_bps(), 33_333);
        let five = LeverageConfig {
            work_factor_bps: Bps(8000),
            kill_factor_bps: Bps(8500),
            ..LeverageConfig::alpaca()
        };
        assert_eq!(five.max_leverage_bps(), 50_000);
    }

    #[test]
    fn work_factor_must_sit_below_kill_factor() {
        let bad = LeverageConfig { work_factor_bps: Bps(8333), ..LeverageConfig::alpaca() };
        assert!(matches!(
            bad.validate(),
            Err(Error::InvalidConfig { field: "work_factor_bps", .. })
        ));
        assert!(LeverageConfig::alpaca().validate().is_ok());
    }
}
