//! Aave `WadRayMath`: 1e18 (wad) and 1e27 (ray) fixed point, rounding half up.
//!
//! The free functions take plain `U256` because the contracts apply them to mixed operands
//! (`amount.rayMul(index)`); [`Ray`] and [`Wad`] carry the scale where a value is stored.

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use super::MathError;

/// 1e18.
pub const WAD: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
/// 5e17.
pub const HALF_WAD: U256 = U256::from_limbs([500_000_000_000_000_000, 0, 0, 0]);
/// 1e27.
pub const RAY: U256 = U256::from_limbs([0x9fd0803ce8000000, 0x33b2e3c, 0, 0]);
/// 5e26.
pub const HALF_RAY: U256 = U256::from_limbs([0x4fe8401e74000000, 0x19d971e, 0, 0]);
const WAD_RAY_RATIO: U256 = U256::from_limbs([1_000_000_000, 0, 0, 0]);

/// A 1e27 fixed-point number: rates, indices, ratios.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Ray(#[serde(with = "crate::types::dec")] pub U256);

/// A 1e18 fixed-point number: prices, health factors, ratios.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Wad(#[serde(with = "crate::types::dec")] pub U256);

impl Ray {
    pub const ZERO: Ray = Ray(U256::ZERO);
    pub const ONE: Ray = Ray(RAY);

    /// Basis points to ray: `bps * 1e23`.
    pub fn from_bps(bps: u32) -> Ray {
        Ray(U256::from(bps) * U256::from(100_000_000_000_000_000_000_000u128))
    }

    /// Ray to wad, rounding half up (Aave `rayToWad`).
    pub fn to_wad(self) -> Wad {
        let (q, r) = self.0.div_rem(WAD_RAY_RATIO);
        Wad(q + U256::from((r >= WAD_RAY_RATIO / U256::from(2)) as u8))
    }
}

impl Wad {
    pub const ZERO: Wad = Wad(U256::ZERO);
    pub const ONE: Wad = Wad(WAD);

    /// Wad to ray (Aave `wadToRay`).
    pub fn to_ray(self) -> Result<Ray, MathError> {
        self.0.checked_mul(WAD_RAY_RATIO).map(Ray).ok_or(MathError::overflow(
            "wad_to_ray",
            self.0,
            WAD_RAY_RATIO,
        ))
    }
}

/// `(a * b + HALF_RAY) / RAY` (Aave `rayMul`).
pub fn ray_mul(a: U256, b: U256) -> Result<U256, MathError> {
    half_up_mul(a, b, RAY, HALF_RAY, "ray_mul")
}

/// `(a * RAY + b / 2) / b` (Aave `rayDiv`).
pub fn ray_div(a: U256, b: U256) -> Result<U256, MathError> {
    half_up_div(a, b, RAY, "ray_div")
}

/// `(a * b + HALF_WAD) / WAD` (Aave `wadMul`).
pub fn wad_mul(a: U256, b: U256) -> Result<U256, MathError> {
    half_up_mul(a, b, WAD, HALF_WAD, "wad_mul")
}

/// `(a * WAD + b / 2) / b` (Aave `wadDiv`).
pub fn wad_div(a: U256, b: U256) -> Result<U256, MathError> {
    half_up_div(a, b, WAD, "wad_div")
}

pub(crate) fn half_up_mul(
    a: U256,
    b: U256,
    scale: U256,
    half: U256,
    op: &'static str,
) -> Result<U256, MathError> {
    let sum = super::checked_mul(a, b).and_then(|p| p.checked_add(half));
    sum.map(|s| super::div(s, scale)).ok_or_else(|| MathError::overflow(op, a, b))
}

pub(crate) fn half_up_div(
    a: U256,
    b: U256,
    scale: U256,
    op: &'static str,
) -> Result<U256, MathError> {
    if b.is_zero() {
        return Err(MathError::DivisionByZero { op, a });
    }
    let sum = super::checked_mul(a, scale).and_then(|p| p.checked_add(b >> 1usize));
    sum.map(|s| super::div(s, b)).ok_or_else(|| MathError::overflow(op, a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_what_they_say() {
        let ten = U256::from(10);
        assert_eq!(WAD, ten.pow(U256::from(18)));
        assert_eq!(RAY, ten.pow(U256::from(27)));
        assert_eq!(HALF_RAY * U256::from(2), RAY);
        assert_eq!(Ray::from_bps(10_000), Ray::ONE);
    }

    #[test]
    fn half_up_rounding() {
        // 1 * 0.5 ray = 0.5 wei, rounds half up to 1; 1 * 0.4999.. ray rounds down to 0.
        assert_eq!(ray_mul(U256::from(1), HALF_RAY).unwrap(), U256::from(1));
        assert_eq!(ray_mul(U256::from(1), HALF_RAY - U256::from(1)).unwrap(), U256::ZERO);
        // 2 / 3 in ray = 0.666..67e27 (half up on the last digit)
        let two_thirds = ray_div(U256::from(2), U256::from(3)).unwrap();
        assert_eq!(two_thirds.to_string(), "666666666666666666666666667");
        assert_eq!(Ray(U256::from(1_499_999_999u64)).to_wad(), Wad(U256::from(1)));
        assert_eq!(Ray(U256::from(1_500_000_000u64)).to_wad(), Wad(U256::from(2)));
    }

    #[test]
    fn overflow_and_zero_are_errors() {
        assert!(ray_mul(U256::MAX, U256::from(2)).is_err());
        assert!(ray_div(U256::from(1), U256::ZERO).is_err());
        assert!(wad_div(U256::MAX, U256::from(1)).is_err());
    }
}
