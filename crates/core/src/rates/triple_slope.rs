//! Alpaca `TripleSlopeModel` (alpaca-finance/bsc-alpaca-contract
//! `solidity/contracts/6/protocol/interest-models/TripleSlopeModel*.sol`), op for op.
//!
//! The contract works in percent scaled by 1e18 (`CEIL_SLOPE_x = pct * 1e18`) and rates per year
//! scaled by 1e18 (`MAX_INTEREST_SLOPE_x = pct * 1e16`), and returns a rate per second:
//!
//! ```text
//! utilization = debt * 100e18 / (debt + floating)                                   (floor)
//! u <  CEIL1: u * MAX1 / CEIL1 / 365 days                                           (floor, floor)
//! u <  CEIL2: MAX2 / 365 days                                                       (floor)
//! u <  CEIL3: (MAX2 + (u - CEIL2) * (MAX3 - MAX2) / (CEIL3 - CEIL2)) / 365 days     (floor, floor)
//! else:       MAX3 / 365 days                                                       (floor)
//! ```
//!
//! [`InterestRateModel::rates`] scales the per-second rate back to a year in ray, exactly:
//! `rate_per_second * 1e9 * 31_536_000`, so the second's truncation is kept, as Alpaca accrues it.

use serde::{Deserialize, Serialize};

use super::error::ensure;
use super::{supply_rate, InterestRateModel, RateError, RateInputs, Rates};
use crate::math::{CheckedOps, Ray, PERCENTAGE_FACTOR, SECONDS_PER_YEAR, U256};

const MODEL: &str = "triple_slope";
/// `100e18`: 100% on the contract's percent scale.
const ONE_HUNDRED_PERCENT_WAD: U256 = U256::from_limbs([0x6bc75e2d63100000, 0x5, 0, 0]);
/// Basis points to the contract's percent-times-1e18 (`CEIL_SLOPE_x`): `bps * 1e16`.
const CEIL_PER_BPS: u64 = 10_000_000_000_000_000;
/// Basis points to a 1e18-scaled yearly rate (`MAX_INTEREST_SLOPE_x`): `bps * 1e14`.
const MAX_INTEREST_PER_BPS: u64 = 100_000_000_000_000;
/// 1e18-scaled to 1e27-scaled.
const WAD_TO_RAY: u64 = 1_000_000_000;
/// Percent-times-1e18 to ray: `100e18 * 1e7 = 1e27`.
const PERCENT_WAD_TO_RAY: u64 = 10_000_000;

/// The six constants of an Alpaca triple-slope contract, in basis points.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TripleSlopeModel {
    /// End of the first slope (`CEIL_SLOPE_1`), e.g. 6000 for 60%.
    pub ceil_slope_1_bps: u32,
    /// End of the flat plateau (`CEIL_SLOPE_2`).
    pub ceil_slope_2_bps: u32,
    /// End of the steep slope (`CEIL_SLOPE_3`), 10000 in every deployed model.
    pub ceil_slope_3_bps: u32,
    /// Yearly rate reached at `ceil_slope_1` (`MAX_INTEREST_SLOPE_1`).
    pub max_interest_slope_1_bps: u32,
    /// Yearly rate of the plateau (`MAX_INTEREST_SLOPE_2`).
    pub max_interest_slope_2_bps: u32,
    /// Yearly rate at `ceil_slope_3` and above (`MAX_INTEREST_SLOPE_3`).
    pub max_interest_slope_3_bps: u32,
}

impl TripleSlopeModel {
    /// Ceilings in order, `0 < ceil1 <= ceil2 <= ceil3 <= 100%`, and `max2 <= max3`
    /// (the contract's `MAX_INTEREST_SLOPE_3.sub(MAX_INTEREST_SLOPE_2)` reverts otherwise).
    pub fn validate(&self) -> Result<(), RateError> {
        let (ceil1, ceil2, ceil3) =
            (self.ceil_slope_1_bps, self.ceil_slope_2_bps, self.ceil_slope_3_bps);
        let (max2, max3) = (self.max_interest_slope_2_bps, self.max_interest_slope_3_bps);
        ensure(ceil1 > 0, MODEL, "ceil_slope_1_bps", ceil1, "must be above 0")?;
        ensure(ceil2 >= ceil1, MODEL, "ceil_slope_2_bps", ceil2, "must not be below ceil_slope_1")?;
        ensure(ceil3 >= ceil2, MODEL, "ceil_slope_3_bps", ceil3, "must not be below ceil_slope_2")?;
        let within_full = ceil3 <= PERCENTAGE_FACTOR;
        ensure(within_full, MODEL, "ceil_slope_3_bps", ceil3, "must not exceed 10000")?;
        let reason = "must not be below max_interest_slope_2";
        ensure(max3 >= max2, MODEL, "max_interest_slope_3_bps", max3, reason)
    }

    /// The contract's `utilization`: `floor(debt * 100e18 / (debt + floating))`, 0 when both are 0.
    pub fn utilization_percent_wad(debt: U256, floating: U256) -> Result<U256, RateError> {
        if debt.is_zero() && floating.is_zero() {
            return Ok(U256::ZERO);
        }
        let total = debt.add_or(floating, "triple_slope_total")?;
        Ok(debt.mul_or(ONE_HUNDRED_PERCENT_WAD, "triple_slope_utilization")? / total)
    }

    /// `getInterestRate(debt, floating)`: the borrow rate per second, 1e18-scaled, as the contract.
    pub fn rate_per_second_wad(&self, debt: U256, floating: U256) -> Result<U256, RateError> {
        if debt.is_zero() && floating.is_zero() {
            return Ok(U256::ZERO);
        }
        let utilization = Self::utilization_percent_wad(debt, floating)?;
        Ok(self.rate_per_year_wad(utilization)? / U256::from(SECONDS_PER_YEAR))
    }

    /// The yearly rate before the contract's final `/ 365 days` (floor at each division).
    fn rate_per_year_wad(&self, u: U256) -> Result<U256, RateError> {
        let ceil = |bps: u32| U256::from(bps) * U256::from(CEIL_PER_BPS);
        let max = |bps: u32| U256::from(bps) * U256::from(MAX_INTEREST_PER_BPS);
        let (ceil1, ceil2, ceil3) =
            (ceil(self.ceil_slope_1_bps), ceil(self.ceil_slope_2_bps), ceil(self.ceil_slope_3_bps));
        let (max1, max2, max3) = (
            max(self.max_interest_slope_1_bps),
            max(self.max_interest_slope_2_bps),
            max(self.max_interest_slope_3_bps),
        );
        if u < ceil1 {
            return Ok(u.mul_or(max1, "triple_slope_1")? / ceil1);
        }
        if u < ceil2 {
            return Ok(max2);
        }
        if u < ceil3 {
            // u >= ceil2 here, so ceil3 > ceil2; max3 < max2 reverts in the contract
            let rise = max3.sub_or(max2, "triple_slope_3")?;
            let steep = (u - ceil2).mul_or(rise, "triple_slope_3")? / (ceil3 - ceil2);
            return Ok(max2.add_or(steep, "triple_slope_3")?);
        }
        Ok(max3)
    }
}

impl InterestRateModel for TripleSlopeModel {
    fn rates(&self, inputs: &RateInputs) -> Result<Rates, RateError> {
        let (debt, floating) = (inputs.total_debt, inputs.available_liquidity);
        let per_second = self.rate_per_second_wad(debt, floating)?;
        let per_year = U256::from(WAD_TO_RAY) * U256::from(SECONDS_PER_YEAR);
        let borrow_rate = Ray(per_second.mul_or(per_year, "triple_slope_annual")?);
        let utilization = Self::utilization_percent_wad(debt, floating)?;
        // <= 100e18 * 1e7 = 1e27: cannot overflow
        let utilization = Ray(utilization * U256::from(PERCENT_WAD_TO_RAY));
        Ok(Rates { borrow_rate, supply_rate: supply_rate(borrow_rate, inputs)?, utilization })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::Bps;

    /// `TripleSlopeModel.sol`: 0-20% up to 60%, 20% to 90%, 20-150% up to 100%.
    fn model() -> TripleSlopeModel {
        TripleSlopeModel {
            ceil_slope_1_bps: 6000,
            ceil_slope_2_bps: 9000,
            ceil_slope_3_bps: 10_000,
            max_interest_slope_1_bps: 2000,
            max_interest_slope_2_bps: 2000,
            max_interest_slope_3_bps: 15_000,
        }
    }

    fn per_second(debt: u64, floating: u64) -> u64 {
        model().rate_per_second_wad(U256::from(debt), U256::from(floating)).unwrap().to()
    }

    #[test]
    fn each_slope_as_the_contract_computes_it() {
        assert_eq!(ONE_HUNDRED_PERCENT_WAD, U256::from(100u128 * 10u128.pow(18)));
        // 30%: 30e18 * 0.2e18 / 60e18 = 0.1e18 per year; / 31_536_000 = 3_170_979_198.37 -> floor
        assert_eq!(per_second(30, 70), 3_170_979_198);
        // 89%: the 20% plateau, 0.2e18 / 31_536_000 = 6_341_958_396.75 -> floor
        assert_eq!(per_second(89, 11), 6_341_958_396);
        // 95%: 0.2e18 + 5e18 * 1.3e18 / 10e18 = 0.85e18; / 31_536_000 = 26_953_323_186.19
        assert_eq!(per_second(95, 5), 26_953_323_186);
        // 100%: u = CEIL_SLOPE_3, the last branch, 1.5e18 / 31_536_000 = 47_564_687_975.64
        assert_eq!(per_second(100, 0), 47_564_687_975);
        assert_eq!(per_second(0, 0), 0);
    }

    #[test]
    fn rates_annualise_the_truncated_per_second_rate() {
        let inputs = RateInputs {
            total_debt: U256::from(30),
            available_liquidity: U256::from(70),
            unbacked: U256::ZERO,
            reserve_factor: Bps(1000),
        };
        let rates = model().rates(&inputs).unwrap();
        // 3_170_979_198 * 1e9 * 31_536_000 = 0.099999999988128e27, just under 10%
        assert_eq!(rates.borrow_rate.0.to_string(), "99999999988128000000000000");
        assert_eq!(rates.utilization, Ray::from_bps(3000));
        // supply: borrow * 0.3 * 0.9 = 0.0269999999967945600e27
        assert_eq!(rates.supply_rate.0.to_string(), "26999999996794560000000000");
    }

    #[test]
    fn validate_checks_the_order_of_ceilings() {
        assert_eq!(model().validate(), Ok(()));
        let swapped = TripleSlopeModel { ceil_slope_2_bps: 5000, ..model() };
        assert!(swapped.validate().unwrap_err().to_string().contains("ceil_slope_2_bps = 5000"));
        let over = TripleSlopeModel { ceil_slope_3_bps: 10_001, ..model() };
        assert!(over.validate().unwrap_err().to_string().contains("ceil_slope_3_bps = 10001"));
        let falling = TripleSlopeModel { max_interest_slope_3_bps: 1000, ..model() };
        assert!(falling.validate().is_err());
        assert!(TripleSlopeModel { ceil_slope_1_bps: 0, ..model() }.validate().is_err());
        // unvalidated, the falling third slope errors where the contract reverts
        assert!(falling.rate_per_second_wad(U256::from(95), U256::from(5)).is_err());
        assert!(model().rate_per_second_wad(U256::MAX, U256::from(1)).is_err());
    }
}
