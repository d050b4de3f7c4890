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
