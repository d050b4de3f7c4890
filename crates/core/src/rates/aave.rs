//! Aave v3.1+ `DefaultReserveInterestRateStrategyV2` (aave-dao/aave-v3-origin), variable leg only.
//!
//! ```text
//! usage = debt.rayDiv(available + debt)                          (every step half up)
//! usage <= optimal: borrow = base + slope1.rayMul(usage).rayDiv(optimal)
//! usage >  optimal: excess = (usage - optimal).rayDiv(RAY - optimal)
//!                   borrow = base + slope1 + slope2.rayMul(excess)
//! supply = borrow.rayMul(debt.rayDiv(available + debt + unbacked))
//!                .percentMul(1e4 - reserve_factor)
//! ```
//! With no debt the contract returns `(supply 0, borrow base)` without computing usage.

use serde::{Deserialize, Serialize};

use super::error::ensure;
use super::{supply_rate, InterestRateModel, RateError, RateInputs, Rates};
use crate::math::{ray_div, ray_mul, CheckedOps, Ray, RAY, U256};

const MODEL: &str = "aave";
/// `MIN_OPTIMAL_POINT`: 1%.
const MIN_OPTIMAL_POINT_BPS: u32 = 100;
/// `MAX_OPTIMAL_POINT`: 99%.
const MAX_OPTIMAL_POINT_BPS: u32 = 9_900;
/// `MAX_BORROW_RATE`: base + slope1 + slope2 may not pass 1000%.
const MAX_BORROW_RATE_BPS: u64 = 100_000;

/// The four parameters of Aave's `InterestRateData`, in basis points as the contract stores them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AaveRateModel {
    /// The usage at which the curve turns from slope1 to slope2 (`optimalUsageRatio`).
    pub optimal_usage_ratio_bps: u32,
    /// Borrow rate at zero usage (`baseVariableBorrowRate`).
    pub base_variable_borrow_rate_bps: u32,
    /// Rate added between 0 and optimal usage (`variableRateSlope1`).
    pub variable_rate_slope1_bps: u32,
    /// Rate added between optimal and 100% usage (`variableRateSlope2`).
    pub variable_rate_slope2_bps: u32,
}

impl AaveRateModel {
    /// The checks of `_setInterestRateParams`: optimal usage in [1%, 99%], slope1 <= slope2,
    /// base + slope1 + slope2 <= 1000%.
    pub fn validate(&self) -> Result<(), RateError> {
        let optimal = self.optimal_usage_ratio_bps;
        let in_range = (MIN_OPTIMAL_POINT_BPS..=MAX_OPTIMAL_POINT_BPS).contains(&optimal);
        let reason = "must be within [100, 9900] (INVALID_OPTIMAL_USAGE_RATIO)";
        ensure(in_range, MODEL, "optimal_usage_ratio_bps", optimal, reason)?;
        let (slope1, slope2) = (self.variable_rate_slope1_bps, self.variable_rate_slope2_bps);
        let reason = "must not exceed variable_rate_slope2_bps (SLOPE_2_MUST_BE_GTE_SLOPE_1)";
        ensure(slope1 <= slope2, MODEL, "variable_rate_slope1_bps", slope1, reason)?;
        let max_rate =
            u64::from(self.base_variable_borrow_rate_bps) + u64::from(slope1) + u64::from(slope2);
        let (field, reason) =
            ("base + slope1 + slope2 bps", "must not exceed 100000 (INVALID_MAXRATE)");
        ensure(max_rate <= MAX_BORROW_RATE_BPS, MODEL, field, max_rate, reason)
    }

    /// The variable borrow rate at `usage`, on top of the base rate.
    fn slope_rate(&self, usage: U256) -> Result<U256, RateError> {
        let optimal = Ray::from_bps(self.optimal_usage_ratio_bps).0;
        let slope1 = Ray::from_bps(self.variable_rate_slope1_bps).0;
        if usage <= optimal {
            // slope1.rayMul(usage).rayDiv(optimal), each step half up
            return Ok(ray_div(ray_mul(slope1, usage)?, optimal)?);
        }
        let slope2 = Ray::from_bps(self.variable_rate_slope2_bps).0;
        let excess_usage = ray_div(usage - optimal, RAY.sub_or(optimal, "aave_excess_usage")?)?;
        Ok(slope1.add_or(ray_mul(slope2, excess_usage)?, "aave_borrow_rate")?)
    }
}

impl InterestRateModel for AaveRateModel {
    fn rates(&self, inputs: &RateInputs) -> Result<Rates, RateError> {
        let base = Ray::from_bps(self.base_variable_borrow_rate_bps);
        if inputs.total_debt.is_zero() {
            return Ok(Rates { borrow_rate: base, supply_rate: Ray::ZERO, utilization: Ray::ZERO });
        }
        let utilization = inputs.borrow_usage()?;
        let borrow_rate =
            Ray(base.0.add_or(self.slope_rate(utilization.0)?, "aave_borrow_rate")?);
        let supply_rate = supply_rate(borrow_rate, inputs)?;
        Ok(Rates { borrow_rate, supply_rate, utilization })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::Bps;

    /// The parameters of aave-v3-origin's `RateStrategy.calculateRates.t.sol`.
    fn model() -> AaveRateModel {
        AaveRateModel {
            optimal_usage_ratio_bps: 8000,
            base_variable_borrow_rate_bps: 100,
            variable_rate_slope1_bps: 400,
            variable_rate_slope2_bps: 6000,
        }
    }

    fn at(debt: u64, available: u64) -> Rates {
        let inputs = RateInputs {
            total_debt: U256::from(debt),
            available_liquidity: U256::from(available),
            unbacked: U256::ZERO,
            reserve_factor: Bps(1000),
        };
        model().rates(&inputs).unwrap()
    }

    #[test]
    fn below_at_and_above_optimal() {
        // 40%: 1% + 4% * 0.4 / 0.8 = 3%; supply 3% * 0.4 * 0.9 = 1.08%
        assert_eq!(at(40, 60).borrow_rate, Ray::from_bps(300));
        assert_eq!(at(40, 60).supply_rate, Ray::from_bps(108));
        // 80%: 1% + 4% = 5%
        assert_eq!(at(80, 20).borrow_rate, Ray::from_bps(500));
        // 90%: excess (0.9 - 0.8) / (1 - 0.8) = 0.5; 1% + 4% + 60% * 0.5 = 35%
        assert_eq!(at(90, 10).borrow_rate, Ray::from_bps(3500));
        // 100%: 1% + 4% + 60% = 65%; supply 65% * 0.9 = 58.5%
        assert_eq!(at(100, 0).borrow_rate, Ray::from_bps(6500));
        assert_eq!(at(100, 0).supply_rate, Ray::from_bps(5850));
        assert_eq!(at(100, 0).utilization, Ray::ONE);
    }

    #[test]
    fn no_debt_pays_the_base_rate_and_no_supply_rate() {
        let rates = at(0, 1_000);
        assert_eq!(rates.borrow_rate, Ray::from_bps(100));
        assert_eq!((rates.supply_rate, rates.utilization), (Ray::ZERO, Ray::ZERO));
    }

    #[test]
    fn validate_names_the_field_and_value() {
        assert_eq!(model().validate(), Ok(()));
        let zero_optimal = AaveRateModel { optimal_usage_ratio_bps: 0, ..model() };
        let err = zero_optimal.validate().unwrap_err().to_string();
        assert!(err.contains("optimal_usage_ratio_bps = 0"), "{err}");
        let full_optimal = AaveRateModel { optimal_usage_ratio_bps: 10_000, ..model() };
        assert!(full_optimal.validate().is_err());
        let steep_slope1 = AaveRateModel { variable_rate_slope1_bps: 7000, ..model() };
        assert!(steep_slope1.validate().unwrap_err().to_string().contains("slope1_bps = 7000"));
        let too_high = AaveRateModel { variable_rate_slope2_bps: 99_600, ..model() };
        assert!(too_high.validate().unwrap_err().to_string().contains("100100"));
    }

    #[test]
    fn unvalidated_zero_optimal_is_an_error_not_a_panic() {
        // usage 1 / (1 + 1e30) is 0 in ray, so usage <= optimal = 0 and the rayDiv divides by zero
        let bad = AaveRateModel { optimal_usage_ratio_bps: 0, ..model() };
        let inputs = RateInputs {
            total_debt: U256::from(1),
            available_liquidity: U256::from(10).pow(U256::from(30)),
            unbacked: U256::ZERO,
            reserve_factor: Bps(0),
        };
        assert!(matches!(bad.rates(&inputs), Err(RateError::Math(_))));
    }
}
