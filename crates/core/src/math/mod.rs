//! Exact fixed-point arithmetic on `U256`, with the rounding of the reference contracts.
//!
//! | function | result | rounding |
//! |---|---|---|
//! | [`mul_div`] | `a * b / d` over a 512-bit product | down |
//! | [`mul_div_rounding_up`] | `a * b / d` over a 512-bit product | up |
//! | [`ray_mul`], [`ray_div`] | Aave `WadRayMath` on 1e27 | half up |
//! | [`wad_mul`], [`wad_div`] | Aave `WadRayMath` on 1e18 | half up |
//! | [`percent_mul`], [`percent_div`] | Aave `PercentageMath` on 1e4 | half up |
//! | [`sqrt`] | integer square root | down |
//! | [`interest`] | Aave linear and compounded interest factors | as Aave |
//!
//! Every function that can overflow or divide by zero returns [`MathError`]; nothing panics.

mod error;
mod full_math;
pub mod interest;
mod percentage;
mod wad_ray;

pub(crate) use error::CheckedOps;
pub use error::MathError;
pub use full_math::{div_rounding_up, mul_div, mul_div_rounding_up, sqrt};
pub use percentage::{percent_div, percent_mul, Bps, PERCENTAGE_FACTOR};
pub use wad_ray::{ray_div, ray_mul, wad_div, wad_mul, Ray, Wad, HALF_RAY, HALF_WAD, RAY, WAD};

pub use alloy_primitives::U256;

/// Seconds in Aave's and Alpaca's year (365 days, leap years ignored).
pub const SECONDS_PER_YEAR: u64 = 365 * 24 * 3600;

/// `U256::from(x)`, short for tests across the crate.
#[cfg(test)]
pub(crate) fn u(x: u128) -> U256 {
    U256::from(x)
}
