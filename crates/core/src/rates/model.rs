//! The trait every rate model implements, its inputs and outputs, and the shared supply side.

use serde::{Deserialize, Serialize};

use super::RateError;
use crate::math::{percent_mul, ray_div, ray_mul, Bps, CheckedOps, Ray, PERCENTAGE_FACTOR, U256};

/// A pool's state as a rate model sees it. Amounts are raw token units of the pool's asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateInputs {
    /// Everything borrowed, interest included.
    pub total_debt: U256,
    /// Cash that can still be borrowed (Aave's virtual balance after this action's flows,
    /// Compound's cash net of reserves, Alpaca's `floating`).
    pub available_liquidity: U256,
    /// Aave portal supply minted without backing: dilutes suppliers, not borrowers. Zero elsewhere.
    pub unbacked: U256,
    /// The protocol's cut of interest; suppliers share the rest.
    pub reserve_factor: Bps,
}

/// Annual rates in ray, and the utilization that produced the borrow rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rates {
    /// What borrowers pay per year (simple, not compounded).
    pub borrow_rate: Ray,
    /// What suppliers earn per year: see [`supply_rate`].
    pub supply_rate: Ray,
    /// Debt over debt plus available liquidity, in the model's own rounding.
    pub utilization: Ray,
}

/// A function from pool state to annual borrow and supply rates.
pub trait InterestRateModel {
    /// The rates for `inputs`. Errors on overflow or an invalid reserve factor; never panics.
    fn rates(&self, inputs: &RateInputs) -> Result<Rates, RateError>;
}

impl RateInputs {
    /// Aave's `borrowUsageRatio`: `total_debt.rayDiv(total_debt + available_liquidity)`,
    /// rounding half up; 0 when there is no debt.
    pub fn borrow_usage(&self) -> Result<Ray, RateError> {
        usage(self.total_debt, self.available_liquidity, U256::ZERO)
    }

    /// Aave's `supplyUsageRatio`: `total_debt.rayDiv(total_debt + available_liquidity + unbacked)`,
    /// rounding half up; 0 when there is no debt.
    pub fn supply_usage(&self) -> Result<Ray, RateError> {
        usage(self.total_debt, self.available_liquidity, self.unbacked)
    }
}

/// Aave's liquidity rate, used by every model:
/// `borrow_rate.rayMul(supply_usage).percentMul(1e4 - reserve_factor)`, both steps half up.
pub fn supply_rate(borrow_rate: Ray, inputs: &RateInputs) -> Result<Ray, RateError> {
    let reserve_factor_bps = inputs.reserve_factor.0;
    let suppliers_share = PERCENTAGE_FACTOR.checked_sub(reserve_factor_bps);
    let suppliers_share = suppliers_share
        .ok_or(RateError::ReserveFactorAboveOneHundredPercent { reserve_factor_bps })?;
    let paid_on_supply = ray_mul(borrow_rate.0, inputs.supply_usage()?.0)?;
    Ok(Ray(percent_mul(paid_on_supply, Bps(suppliers_share))?))
}

fn usage(debt: U256, available: U256, unbacked: U256) -> Result<Ray, RateError> {
    if debt.is_zero() {
        return Ok(Ray::ZERO);
    }
    let total = debt.add_or(available, "usage")?.add_or(unbacked, "usage")?;
    Ok(Ray(ray_div(debt, total)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(debt: u128, available: u128, unbacked: u128, rf: u32) -> RateInputs {
        RateInputs {
            total_debt: U256::from(debt),
            available_liquidity: U256::from(available),
            unbacked: U256::from(unbacked),
            reserve_factor: Bps(rf),
        }
    }

    #[test]
    fn supply_rate_is_borrow_times_supply_usage_times_suppliers_share() {
        // 5% borrow at 80% usage, RF 10%: 0.05 * 0.8 * 0.9 = 0.036
        let got = supply_rate(Ray::from_bps(500), &inputs(80, 20, 0, 1000)).unwrap();
        assert_eq!(got, Ray::from_bps(360));
        // unbacked 60 dilutes usage to 80 / 160 = 0.5: 0.05 * 0.5 * 0.9 = 0.0225
        let got = supply_rate(Ray::from_bps(500), &inputs(80, 20, 60, 1000)).unwrap();
        assert_eq!(got, Ray::from_bps(225));
    }

    #[test]
    fn usage_rounds_half_up_and_is_zero_without_debt() {
        // 2 / 3 = 0.666...6|67 in ray
        let two_thirds = inputs(2, 1, 0, 0).borrow_usage().unwrap();
        assert_eq!(two_thirds.0.to_string(), "666666666666666666666666667");
        assert_eq!(inputs(0, 0, 0, 0).borrow_usage().unwrap(), Ray::ZERO);
        assert_eq!(inputs(5, 0, 0, 0).borrow_usage().unwrap(), Ray::ONE);
    }

    #[test]
    fn bad_reserve_factor_and_overflow_are_errors() {
        let err = supply_rate(Ray::ONE, &inputs(1, 1, 0, 10_001)).unwrap_err();
        assert_eq!(
            err,
            RateError::ReserveFactorAboveOneHundredPercent { reserve_factor_bps: 10_001 }
        );
        let mut huge = inputs(1, 0, 0, 0);
        huge.available_liquidity = U256::MAX;
        assert!(matches!(huge.borrow_usage(), Err(RateError::Math(_))));
    }
}
