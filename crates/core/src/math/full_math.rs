//! Full-precision `a * b / d` and the integer square root.

use alloy_primitives::{U256, U512};

use super::{checked_mul, div, div_rem, MathError};

/// `floor(a * b / denominator)` with a 512-bit intermediate product.
///
/// Errors when `denominator` is zero or the quotient does not fit in 256 bits.
pub fn mul_div(a: U256, b: U256, denominator: U256) -> Result<U256, MathError> {
    if denominator.is_zero() {
        return Err(MathError::DivisionByZero { op: "mul_div", a });
    }
    if a.is_zero() || b.is_zero() {
        return Ok(U256::ZERO);
    }
    if let Some(product) = checked_mul(a, b) {
        return Ok(div(product, denominator));
    }
    let wide = a.widening_mul::<256, 4, 512, 8>(b) / U512::from(denominator);
    narrow(wide).ok_or_else(|| MathError::overflow("mul_div", a, b))
}

/// `ceil(a * b / denominator)` with a 512-bit intermediate product.
pub fn mul_div_rounding_up(a: U256, b: U256, denominator: U256) -> Result<U256, MathError> {
    if denominator.is_zero() {
        return Err(MathError::DivisionByZero { op: "mul_div_rounding_up", a });
    }
    if a.is_zero() || b.is_zero() {
        return Ok(U256::ZERO);
    }
    if let Some(product) = checked_mul(a, b) {
        let (quotient, inexact) = div_rem(product, denominator);
        return Ok(quotient + U256::from(inexact as u8));
    }
    let product = a.widening_mul::<256, 4, 512, 8>(b);
    let den = U512::from(denominator);
    let (quotient, remainder) = product.div_rem(den);
    let quotient = quotient + U512::from(!remainder.is_zero() as u8);
    narrow(quotient).ok_or_else(|| MathError::overflow("mul_div_rounding_up", a, b))
}

/// `ceil(a / b)`.
pub fn div_rounding_up(a: U256, b: U256) -> Result<U256, MathError> {
    if b.is_zero() {
        return Err(MathError::DivisionByZero { op: "div_rounding_up", a });
    }
    let (quotient, inexact) = div_rem(a, b);
    Ok(quotient + U256::from(inexact as u8))
}

/// `floor(sqrt(x))`, the integer square root of Uniswap v2's and Alpaca's `Math.sqrt`.
///
/// Exact: a floating-point estimate only seeds Newton's iteration `r ← ⌊(r + ⌊x/r⌋)/2⌋`,
/// which from any positive seed lands at or above `⌊√x⌋` and then decreases to it. The
/// 53-bit seed makes one division enough for roots below 2^100; the loop checks `r² ≤ x`
/// before it returns, so the result never depends on how good the seed was.
pub fn sqrt(x: U256) -> U256 {
    let limbs = x.as_limbs();
    if limbs[2] == 0 && limbs[3] == 0 {
        return U256::from(sqrt_u128(u128::from(limbs[0]) | (u128::from(limbs[1]) << 64)));
    }
    // x ≥ 2^128, so √x ≥ 2^64 and the seed is far from zero; it is at most 2^128.
    let seed = U256::from(f64::from(&x).sqrt() as u128).max(U256::from(1u8) << 64);
    let mut r: U256 = (seed + div(x, seed)) >> 1usize;
    // r ≥ ⌊√x⌋ now; while r² > x, a Newton step strictly lowers r and stays ≥ ⌊√x⌋.
    while r.checked_mul(r).is_none_or(|square| square > x) {
        r = (r + div(x, r)) >> 1usize;
    }
    r
}

/// `floor(√(a · b))` with the product over 512 bits: the geometric mean of two values that
/// multiply past 2^256 (the root always fits).
pub fn sqrt_product(a: U256, b: U256) -> U256 {
    match checked_mul(a, b) {
        Some(product) => sqrt(product),
        None => {
            let root = a.widening_mul::<256, 4, 512, 8>(b).root(2);
            narrow(root).unwrap_or(U256::MAX)
        }
    }
}

/// `floor(x · √(num / den))`, computed exactly as `floor(√(x² · num / den))` with the square,
/// the product and the root over 512 bits, so that a reserve near 2^112 moved by a large or
/// small factor neither squares out of 256 bits nor overflows on the way (the result is the
/// same as [`sqrt`] of [`mul_div`] wherever that fits).
///
/// Errors when `den` is zero or the result does not fit in 256 bits.
pub fn mul_sqrt_ratio(x: U256, num: U256, den: U256) -> Result<U256, MathError> {
    if den.is_zero() {
        return Err(MathError::DivisionByZero { op: "mul_sqrt_ratio", a: x });
    }
    if let Some(quotient) = checked_mul(x, x).and_then(|sq| mul_div(sq, num, den).ok()) {
        return Ok(sqrt(quotient));
    }
    let square = x.widening_mul::<256, 4, 512, 8>(x);
    let product = square
        .checked_mul(U512::from(num))
        .ok_or_else(|| MathError::overflow("mul_sqrt_ratio", x, num))?;
    narrow((product / U512::from(den)).root(2))
        .ok_or_else(|| MathError::overflow("mul_sqrt_ratio", x, num))
}

/// [`sqrt`] for values below 2^128, in native arithmetic.
fn sqrt_u128(x: u128) -> u128 {
    if x == 0 {
        return 0;
    }
    let seed = ((x as f64).sqrt() as u128).max(1);
    let mut r = (seed + x / seed) >> 1;
    while r.checked_mul(r).is_none_or(|square| square > x) {
        r = (r + x / r) >> 1;
    }
    r
}

fn narrow(x: U512) -> Option<U256> {
    let limbs = x.as_limbs();
    if limbs[4..].iter().any(|&l| l != 0) {
        return None;
    }
    Some(U256::from_limbs([limbs[0], limbs[1], limbs[2], limbs[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::u;

    #[test]
    fn mul_div_rounds_in_the_named_direction() {
        // 7 * 3 / 2 = 10.5
        assert_eq!(mul_div(u(7), u(3), u(2)).unwrap(), u(10));
        assert_eq!(mul_div_rounding_up(u(7), u(3), u(2)).unwrap(), u(11));
        // exact quotients do not round up
        assert_eq!(mul_div_rounding_up(u(8), u(3), u(2)).unwrap(), u(12));
    }

    #[test]
    fn mul_div_uses_a_512_bit_product() {
        // (2^256 - 1) * (2^256 - 1) / (2^256 - 1) = 2^256 - 1, which overflows a 256-bit product.
        assert_eq!(mul_div(U256::MAX, U256::MAX, U256::MAX).unwrap(), U256::MAX);
        assert_eq!(mul_div_rounding_up(U256::MAX, U256::MAX, U256::MAX).unwrap(), U256::MAX);
        // 2^255 * 6 / 4 = 3 * 2^254
        let half = U256::from(1) << 255;
        assert_eq!(mul_div(half, u(6), u(4)).unwrap(), (U256::from(3)) << 254);
    }

    #[test]
    fn sqrt_product_takes_the_root_of_a_512_bit_product() {
        // √(1e39 · 4e39) = 2e39, though the product 4e78 is past 2^256 ≈ 1.16e77.
        let e39 = U256::from(10u64).pow(U256::from(39u8));
        assert_eq!(sqrt_product(e39, e39 * u(4)), e39 * u(2));
        assert_eq!(sqrt_product(U256::MAX, U256::MAX), U256::MAX);
        assert_eq!(sqrt_product(u(2), u(8)), u(4));
        assert_eq!(sqrt_product(u(3), u(5)), u(3));
    }

    #[test]
    fn mul_sqrt_ratio_moves_a_deep_reserve_without_overflow() {
        // 2^112 · √(1e18 / 1) = 2^112 · 1e9: the square times 1e18 is about 2^284.
        let r = U256::from(1) << 112;
        let wad = u(1_000_000_000_000_000_000);
        assert_eq!(mul_sqrt_ratio(r, wad, u(1)).unwrap(), r * u(1_000_000_000));
        // 2^112 · √(1e30 / 1e18) = 2^112 · 1e6
        let big = wad * u(1_000_000_000_000);
        assert_eq!(mul_sqrt_ratio(r, big, wad).unwrap(), r * u(1_000_000));
        // where √(x²·n/d) fits 256 bits it is sqrt(mul_div(x², n, d)): 1000 · √(2/1) = 1414.2
        assert_eq!(mul_sqrt_ratio(u(1000), u(2), u(1)).unwrap(), u(1414));
        assert_eq!(mul_sqrt_ratio(u(1000), u(1), u(2)).unwrap(), u(707));
        assert!(matches!(
            mul_sqrt_ratio(U256::MAX, U256::MAX, u(1)),
            Err(MathError::Overflow { .. })
        ));
        assert!(matches!(mul_sqrt_ratio(u(1), u(1), u(0)), Err(MathError::DivisionByZero { .. })));
    }

    #[test]
    fn mul_div_reports_overflow_and_zero_denominator() {
        assert!(matches!(mul_div(U256::MAX, u(2), u(1)), Err(MathError::Overflow { .. })));
        assert!(matches!(mul_div(u(1), u(1), u(0)), Err(MathError::DivisionByZero { .. })));
        // floor fits but the rounded-up value does not
        let r = mul_div_rounding_up(U256::MAX, U256::MAX - u(1), U256::MAX - u(2));
        assert!(matches!(r, Err(MathError::Overflow { .. })));
    }

    #[test]
    fn sqrt_is_the_floor() {
        assert_eq!(sqrt(u(0)), u(0));
        assert_eq!(sqrt(u(15)), u(3));
        assert_eq!(sqrt(u(16)), u(4));
        // sqrt(1e18 * 1e17) = 316227766016837933.19..., the LP supply of a 1 BASE + 0.1 FARM pool
        assert_eq!(sqrt(u(100_000_000_000_000_000_000_000_000_000_000_000)), u(316227766016837933));
        let r = sqrt(U256::MAX);
        assert!(r * r <= U256::MAX && (r + u(1)).checked_mul(r + u(1)).is_none());
        // Perfect squares and their neighbours, where a seed off by one would show.
        for root in [1u128, 3, (1 << 52) + 1, u128::from(u64::MAX), (1 << 100) - 1, u128::MAX] {
            let root = U256::from(root);
            let square = root * root;
            assert_eq!(sqrt(square), root);
            assert_eq!(sqrt(square - u(1)), root - u(1));
            assert_eq!(sqrt(square + u(1)), root);
        }
        assert_eq!(sqrt(u(u128::MAX)), u(u128::from(u64::MAX)));
        assert_eq!(sqrt(U256::from(1u8) << 128), U256::from(1u8) << 64);
    }

    proptest::proptest! {
        #[test]
        fn sqrt_is_the_floor_at_every_magnitude(limbs: [u64; 4], shift in 0usize..256) {
            let x = U256::from_limbs(limbs) >> shift;
            let r = sqrt(x);
            proptest::prop_assert!(r * r <= x);
            let next = r + u(1);
            proptest::prop_assert!(next.checked_mul(next).is_none_or(|s| s > x));
            proptest::prop_assert_eq!(r, x.root(2));
        }
    }
}
