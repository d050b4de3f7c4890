//! Compound v2 `JumpRateModelV2` (compound-finance/compound-protocol `BaseJumpRateModelV2.sol`),
//! restated as annual ray rates: the engine accrues per second, so there are no blocks.
//!
//! Compound sets `multiplierPerBlock = multiplierPerYear * 1e18 / (blocksPerYear * kink)` and
//! `jumpMultiplierPerBlock = jumpMultiplierPerYear / blocksPerYear`, so per year:
//!
//! ```text
//! util = debt * RAY / (debt + available)              (floor, as Compound; reserves taken as 0)
//! util <= kink: borrow = base + util * multiplier / kink                      (floor)
//! util >  kink: borrow = base + multiplier + (util - kink) * jump / RAY       (floor)
//! ```
//!
//! `multiplier` is the rate added across `[0, kink]`; `jump` is a slope per 100% of
//! utilization, not divided by `1 - kink`: at 100% the rate is
//! `base + multiplier + (1 - kink) * jump`.
//! The supply rate is [`supply_rate`](super::supply_rate), Aave's combination.

use serde::{Deserialize, Serialize};

use super::error::ensure;
use super::{supply_rate, InterestRateModel, RateError, RateInputs, Rates};
use crate::math::{mul_div, CheckedOps, Ray, PERCENTAGE_FACTOR, RAY};

const MODEL: &str = "jump_rate";

/// Compound's four per-year parameters, in basis points.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct JumpRateModel {
    /// Borrow rate at zero utilization (`baseRatePerYear`).
    pub base_rate_bps: u32,
    /// Rate added between 0 and the kink, so the rate at the kink is base + this
    /// (`multiplierPerYear`).
    pub multiplier_bps: u32,
    /// Rate added per 100% of utilization above the kink (`jumpMultiplierPerYear`).
    pub jump_multiplier_bps: u32,
    /// Utilization where the jump starts (`kink`).
    pub kink_bps: u32,
}

impl JumpRateModel {
    /// The kink must lie in (0, 100%]: Compound divides by it.
    pub fn validate(&self) -> Result<(), RateError> {
        let kink = self.kink_bps;
        let in_range = (1..=PERCENTAGE_FACTOR).contains(&kink);
        ensure(in_range, MODEL, "kink_bps", kink, "must be within [1, 10000]")
    }

    /// Compound's `utilizationRate` in ray: `floor(debt * RAY / (debt + available))`;
    /// 0 without debt.
    pub fn utilization(inputs: &RateInputs) -> Result<Ray, RateError> {
        if inputs.total_debt.is_zero() {
            return Ok(Ray::ZERO);
        }
        let total = inputs.total_debt.add_or(inputs.available_liquidity, "jump_rate_util")?;
        Ok(Ray(mul_div(inputs.total_debt, RAY, total)?))
    }

    /// Compound's `getBorrowRate`, per year in ray, at utilization `util`.
    pub fn borrow_rate(&self, util: Ray) -> Result<Ray, RateError> {
        let base = Ray::from_bps(self.base_rate_bps).0;
        let multiplier = Ray::from_bps(self.multiplier_bps).0;
        let kink = Ray::from_bps(self.kink_bps).0;
        let rate = if util.0 <= kink {
            base.add_or(mul_div(util.0, multiplier, kink)?, "jump_rate_borrow")?
        } else {
            let jump = Ray::from_bps(self.jump_multiplier_bps).0;
            let above_kink = mul_div(util.0 - kink, jump, RAY)?;
            base.add_or(multiplier, "jump_rate_borrow")?.add_or(above_kink, "jump_rate_borrow")?
        };
        Ok(Ray(rate))
    }
}

impl InterestRateModel for JumpRateModel {
    fn rates(&self, inputs: &RateInputs) -> Result<Rates, RateError> {
        let utilization = Self::utilization(inputs)?;
        let borrow_rate = self.borrow_rate(utilization)?;
        Ok(Rates { borrow_rate, supply_rate: supply_rate(borrow_rate, inputs)?, utilization })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::{Bps, U256};

    /// Compound's mainnet `JumpRateModelV2` "Base200bps_Slope2000bps_Jump20000bps_Kink90".
    fn base200_slope2000_jump20000_kink90() -> JumpRateModel {
        JumpRateModel {
            base_rate_bps: 200,
            multiplier_bps: 2000,
            jump_multiplier_bps: 20_000,
            kink_bps: 9000,
        }
    }

    fn at(debt: u64, cash: u64, reserve_factor_bps: u32) -> Rates {
        let inputs = RateInputs {
            total_debt: U256::from(debt),
            available_liquidity: U256::from(cash),
            unbacked: U256::ZERO,
            reserve_factor: Bps(reserve_factor_bps),
        };
        base200_slope2000_jump20000_kink90().rates(&inputs).unwrap()
    }

    #[test]
    fn named_mainnet_model_at_0_45_90_95_100_percent() {
        // 0%: base only, 2%; nothing borrowed so suppliers earn nothing
        assert_eq!(at(0, 100, 0).borrow_rate, Ray::from_bps(200));
        assert_eq!(at(0, 100, 0).supply_rate, Ray::ZERO);
        // 45%: 2% + 0.45 * 20% / 0.9 = 2% + 10% = 12%; supply 12% * 0.45 = 5.4%
        assert_eq!(at(45, 55, 0).borrow_rate, Ray::from_bps(1200));
        assert_eq!(at(45, 55, 0).supply_rate, Ray::from_bps(540));
        // 90%, the kink: 2% + 20% = 22%
        assert_eq!(at(90, 10, 0).borrow_rate, Ray::from_bps(2200));
        // 95%: 22% + (0.95 - 0.9) * 200% = 22% + 10% = 32%; RF 25%: 32% * 0.95 * 0.75 = 22.8%
        assert_eq!(at(95, 5, 0).borrow_rate, Ray::from_bps(3200));
        assert_eq!(at(95, 5, 2500).supply_rate, Ray::from_bps(2280));
        // 100%: 22% + 0.1 * 200% = 42%
        assert_eq!(at(100, 0, 0).borrow_rate, Ray::from_bps(4200));
        assert_eq!(at(100, 0, 0).utilization, Ray::ONE);
    }

    #[test]
    fn utilization_rounds_down_like_compound() {
        // 2 / 3 = 0.666...6|67 in ray; Compound floors to ...666
        assert_eq!(at(2, 1, 0).utilization.0.to_string(), "666666666666666666666666666");
        // 2% + floor(0.666..666e27 * 0.2e27 / 0.9e27) = 2% + 0.148148...148e27
        assert_eq!(at(2, 1, 0).borrow_rate.0.to_string(), "168148148148148148148148148");
    }

    #[test]
    fn validate_rejects_a_zero_or_over_full_kink() {
        assert_eq!(base200_slope2000_jump20000_kink90().validate(), Ok(()));
        let zero = JumpRateModel { kink_bps: 0, ..base200_slope2000_jump20000_kink90() };
        assert!(zero.validate().unwrap_err().to_string().contains("kink_bps = 0"));
        let over = JumpRateModel { kink_bps: 10_001, ..base200_slope2000_jump20000_kink90() };
        assert!(over.validate().is_err());
        // unvalidated, a zero kink is a division-by-zero error rather than a panic
        assert!(zero.borrow_rate(Ray::ZERO).is_err());
    }
}
