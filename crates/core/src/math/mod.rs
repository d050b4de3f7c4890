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
mod limbs;
mod percentage;
mod wad_ray;

pub(crate) use error::CheckedOps;
pub use error::MathError;
pub use full_math::{
    div_rounding_up, mul_div, mul_div_rounding_up, mul_sqrt_ratio, sqrt, sqrt_product,
};
pub(crate) use limbs::{checked_mul, div, div_rem};
pub use percentage::{percent_div, percent_mul, Bps, PERCENTAGE_FACTOR};
pub use wad_ray::{ray_div, ray_mul, wad_div, wad_mul, Ray, Wad, HALF_RAY, HALF_WAD, RAY, WAD};

pub use alloy_primitives::U256;

/// 2^96, Uniswap v3's `FixedPoint96.Q96`: the scale of `sqrtPriceX96`.
pub const Q96: U256 = U256::from_limbs([0, 1 << 32, 0, 0]);
/// 2^128, Uniswap v3's `FixedPoint128.Q128`: the scale of fee growth.
pub const Q128: U256 = U256::from_limbs([0, 0, 1, 0]);

/// Seconds in Aave's and Alpaca's year (365 days, leap years ignored).
pub const SECONDS_PER_YEAR: u64 = 365 * 24 * 3600;

/// `10^k` for `k` up to 77 (the largest power of ten below 2^256), from a table.
///
/// # Panics
///
/// Panics for `k > 77`; token decimals are at most 36.
pub fn pow10(k: u8) -> U256 {
    POW10[usize::from(k)]
}

const POW10: [U256; 78] = {
    let mut table = [U256::ZERO; 78];
    let mut limbs = [1u64, 0, 0, 0];
    let mut k = 0;
    while k < 78 {
        table[k] = U256::from_limbs(limbs);
        // limbs *= 10, word by word with the carry.
        let mut carry = 0u128;
        let mut i = 0;
        while i < 4 {
            let wide = limbs[i] as u128 * 10 + carry;
            limbs[i] = wide as u64;
            carry = wide >> 64;
            i += 1;
        }
        k += 1;
    }
    table
};

/// `U256::from(x)`, short for tests across the crate.
#[cfg(test)]
pub(crate) fn u(x: u128) -> U256 {
    U256::from(x)
}
