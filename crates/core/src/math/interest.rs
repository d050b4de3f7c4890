//! Aave interest factors (`MathUtils`), in ray.
//!
//! The lending pool uses [`linear_interest`] for the supply index and [`compounded_interest`],
//! the aave-v3-origin (v3.4+) formula `1 + x + x²/2 + x³/6` with `x = rate·Δt/year`, for the
//! borrow index. [`compounded_interest_binomial`] is the v3.0-v3.3 per-second binomial
//! expansion, kept for comparison with markets deployed on those versions.

use alloy_primitives::U256;

use super::error::CheckedOps;
use super::{div, ray_mul, MathError, Ray, RAY, SECONDS_PER_YEAR};

/// `RAY + rate * dt / YEAR` (Aave `calculateLinearInterest`).
pub fn linear_interest(rate: Ray, dt: u64) -> Result<Ray, MathError> {
    let accrued = div(rate.0.mul_or(U256::from(dt), "linear_interest")?, year());
    Ok(Ray(RAY.add_or(accrued, "linear_interest")?))
}

/// `RAY + x + x·(x/2 + x·(x/6))` with `x = rate * dt / YEAR` (aave-v3-origin `calculateCompoundedInterest`).
pub fn compounded_interest(rate: Ray, dt: u64) -> Result<Ray, MathError> {
    if dt == 0 {
        return Ok(Ray::ONE);
    }
    let x = div(rate.0.mul_or(U256::from(dt), "compounded_interest")?, year());
    let inner = (x >> 1usize).add_or(ray_mul(x, div(x, U256::from(6)))?, "compounded_interest")?;
    let sum = RAY.add_or(x, "compounded_interest")?;
    Ok(Ray(sum.add_or(ray_mul(x, inner)?, "compounded_interest")?))
}

/// Aave v3.0-v3.3 `calculateCompoundedInterest`: the three-term binomial expansion of
/// `(1 + rate/YEAR)^dt`.
pub fn compounded_interest_binomial(rate: Ray, dt: u64) -> Result<Ray, MathError> {
    if dt == 0 {
        return Ok(Ray::ONE);
    }
    let exp = U256::from(dt);
    let exp_minus_one = U256::from(dt - 1);
    let exp_minus_two = U256::from(dt.saturating_sub(2));
    let op = "compounded_interest_binomial";
    let base_power_two = ray_mul(rate.0, rate.0)? / (year() * year());
    let base_power_three = ray_mul(base_power_two, rate.0)? / year();
    let second = exp.mul_or(exp_minus_one, op)?.mul_or(base_power_two, op)? / U256::from(2);
    let third =
        exp.mul_or(exp_minus_one, op)?.mul_or(exp_minus_two, op)?.mul_or(base_power_three, op)?
            / U256::from(6);
    let first = rate.0.mul_or(exp, op)? / year();
    Ok(Ray(RAY.add_or(first, op)?.add_or(second, op)?.add_or(third, op)?))
}

fn year() -> U256 {
    U256::from(SECONDS_PER_YEAR)
}
