//! Full-precision `a * b / d` and the integer square root.

use alloy_primitives::{U256, U512};

use super::MathError;

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
    if let Some(product) = a.checked_mul(b) {
        return Ok(product / denominator);
    }
    let wide = a.widening_mul::<256, 4, 512, 8>(b) / U512::from(denominator);
    narrow(wide).ok_or(MathError::overflow("mul_div", a, b))
}

/// `ceil(a * b / denominator)` with a 512-bit intermediate product.
pub fn mul_div_rounding_up(a: U256, b: U256, denominator: U256) -> Result<U256, MathError> {
    if denominator.is_zero() {
        return Err(MathError::DivisionByZero { op: "mul_div_rounding_up", a });
    }
    if a.is_zero() || b.is_zero() {
        return Ok(U256::ZERO);
    }
    if let Some(product) = a.checked_mul(b) {
        return div_rounding_up(product, denominator);
    }
    let product = a.widening_mul::<256, 4, 512, 8>(b);
    let den = U512::from(denominator);
    let (quotient, remainder) = product.div_rem(den);
    let quotient = quotient + U512::from(!remainder.is_zero() as u8);
    narrow(quotient).ok_or(MathError::overflow("mul_div_rounding_up", a, b))
}

/// `ceil(a / b)`.
pub fn div_rounding_up(a: U256, b: U256) -> Result<U256, MathError> {
    if b.is_zero() {
        return Err(MathError::DivisionByZero { op: "div_rounding_up", a });
    }
    let (quotient, remainder) = a.div_rem(b);
    Ok(quotient + U256::from(!remainder.is_zero() as u8))
}

/// `floor(sqrt(x))`, the Babylonian `Math.sqrt` of Uniswap v2 and Alpaca.
pub fn sqrt(x: U256) -> U256 {
    x.root(2)
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
    }
}
