//! Word-level fast paths for the 256-bit products and quotients the engine does most.
//!
//! Almost every quotient in a step has a divisor that is a single 64-bit word once its
//! trailing zero bits are taken out: `10^k = 2^k·5^k` up to 10^27 (wad, ray, token units),
//! basis points, seconds per year, LP supplies and most reserves. Those take the
//! reciprocal division of Möller and Granlund ("Improved division by invariant integers",
//! IEEE Trans. Computers 2011, algorithm 4): four word steps of two multiplications each,
//! instead of the general long division. Values below 2^128 use native `u128` arithmetic.
//! Everything else falls through to `ruint`, and the tests check every path against it.

use alloy_primitives::U256;

/// The low 128 bits.
#[inline]
fn low(limbs: &[u64; 4]) -> u128 {
    u128::from(limbs[0]) | (u128::from(limbs[1]) << 64)
}

/// The full 256-bit product of two 128-bit values.
#[inline]
fn widening_mul(a: u128, b: u128) -> [u64; 4] {
    let (a0, a1) = (a as u64 as u128, a >> 64);
    let (b0, b1) = (b as u64 as u128, b >> 64);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    // Each term below 2^64, so the middle sum stays below 2^66.
    let mid = (p00 >> 64) + (p01 as u64 as u128) + (p10 as u64 as u128);
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    [p00 as u64, mid as u64, high as u64, (high >> 64) as u64]
}

/// `a · b`, or `None` when it does not fit in 256 bits.
#[inline]
pub(crate) fn checked_mul(a: U256, b: U256) -> Option<U256> {
    let (x, y) = (a.as_limbs(), b.as_limbs());
    if (x[2] | x[3] | y[2] | y[3]) == 0 {
        return Some(U256::from_limbs(widening_mul(low(x), low(y))));
    }
    a.checked_mul(b)
}

/// `⌊n / d⌋`, and whether `d` left a remainder. `d` must not be zero.
#[inline]
pub(crate) fn div_rem(n: U256, d: U256) -> (U256, bool) {
    let (x, y) = (n.as_limbs(), d.as_limbs());
    if (x[2] | x[3] | y[2] | y[3]) == 0 {
        let (n, d) = (low(x), low(y));
        let q = n / d;
        return (U256::from(q), n - q * d != 0);
    }
    if (y[1] | y[2] | y[3]) == 0 {
        let (q, r) = div_rem_word(x, y[0], 0);
        return (q, r != 0);
    }
    // A divisor of two or more words may be 2^t times one word (10^19 to 10^27 are):
    // ⌊n / (2^t·m)⌋ = ⌊⌊n / 2^t⌋ / m⌋, and the remainder is zero only if both are.
    let t = y[0].trailing_zeros();
    if (1..64).contains(&t) && (y[2] | y[3]) == 0 && (y[1] >> t) == 0 {
        let m = (y[0] >> t) | (y[1] << (64 - t));
        let dropped = x[0] & ((1 << t) - 1);
        let shifted = [
            (x[0] >> t) | (x[1] << (64 - t)),
            (x[1] >> t) | (x[2] << (64 - t)),
            (x[2] >> t) | (x[3] << (64 - t)),
            x[3] >> t,
        ];
        let (q, r) = div_rem_word(&shifted, m, 0);
        return (q, r != 0 || dropped != 0);
    }
    let (q, r) = n.div_rem(d);
    (q, !r.is_zero())
}

/// `⌊n / d⌋` for a non-zero `d`.
#[inline]
pub(crate) fn div(n: U256, d: U256) -> U256 {
    div_rem(n, d).0
}

/// Long division of four words by one non-zero word `d`, `top` being a fifth, highest word
/// below `d`: the quotient and the remainder.
fn div_rem_word(x: &[u64; 4], d: u64, top: u64) -> (U256, u64) {
    // Normalize: shift divisor and dividend left until the divisor's top bit is set.
    let s = d.leading_zeros();
    let d = d << s;
    let v = reciprocal(d);
    // `w >> 1 >> (63 - s)` is `w >> (64 - s)`, and 0 when s = 0, without a shift by 64.
    let carry = |w: u64| (w >> 1) >> (63 - s);
    let mut r = (top << s) | carry(x[3]);
    let mut q = [0u64; 4];
    for i in (0..4).rev() {
        let below = if i > 0 { carry(x[i - 1]) } else { 0 };
        let (qi, ri) = div_2by1(r, (x[i] << s) | below, d, v);
        q[i] = qi;
        r = ri;
    }
    (U256::from_limbs(q), r >> s)
}

/// `⌊(2^128 − 1) / d⌋ − 2^64` for a normalized `d` (top bit set).
#[inline]
fn reciprocal(d: u64) -> u64 {
    ((u128::from(!d) << 64 | u128::from(u64::MAX)) / u128::from(d)) as u64
}

/// `(u1·2^64 + u0) / d` for a normalized `d` with reciprocal `v` and `u1 < d`
/// (Möller–Granlund algorithm 4): quotient and remainder.
#[inline(always)]
fn div_2by1(u1: u64, u0: u64, d: u64, v: u64) -> (u64, u64) {
    let q = u128::from(v) * u128::from(u1) + ((u128::from(u1) << 64) | u128::from(u0));
    let mut q1 = ((q >> 64) as u64).wrapping_add(1);
    let q0 = q as u64;
    let mut r = u0.wrapping_sub(q1.wrapping_mul(d));
    if r > q0 {
        q1 = q1.wrapping_sub(1);
        r = r.wrapping_add(d);
    }
    if r >= d {
        q1 += 1;
        r -= d;
    }
    (q1, r)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::math::{u, RAY, WAD};

    /// A value of any magnitude: random limbs shifted right by a random amount.
    fn any_magnitude() -> impl Strategy<Value = U256> {
        (any::<[u64; 4]>(), 0usize..256).prop_map(|(limbs, shift)| U256::from_limbs(limbs) >> shift)
    }

    /// Divisors of every shape the fast paths distinguish, including powers of ten.
    fn divisor() -> impl Strategy<Value = U256> {
        prop_oneof![
            any_magnitude(),
            (0u32..=38).prop_map(|k| U256::from(10u128.pow(k))),
            (any::<u64>(), 0usize..200).prop_map(|(m, t)| U256::from(m) << t),
            any::<u64>().prop_map(U256::from),
        ]
        .prop_filter("non-zero", |d| !d.is_zero())
    }

    fn check_div(n: U256, d: U256) {
        let (q, r) = n.div_rem(d);
        assert_eq!(div_rem(n, d), (q, !r.is_zero()), "{n} / {d}");
    }

    proptest! {
        #[test]
        fn division_agrees_with_ruint(n in any_magnitude(), d in divisor()) {
            check_div(n, d);
        }

        #[test]
        fn multiplication_agrees_with_ruint(a in any_magnitude(), b in any_magnitude()) {
            prop_assert_eq!(checked_mul(a, b), a.checked_mul(b));
        }
    }

    #[test]
    fn powers_of_ten_table() {
        for k in 0..=77u8 {
            assert_eq!(crate::math::pow10(k), U256::from(10u8).pow(U256::from(k)), "10^{k}");
        }
        assert!(U256::from(10u8).checked_pow(U256::from(78u8)).is_none());
    }

    #[test]
    fn division_edges() {
        let max = U256::MAX;
        for d in [u(1), u(2), u(3), u(u128::from(u64::MAX)), u(1 << 64), WAD, RAY, max, max >> 1] {
            for n in [U256::ZERO, u(1), d - u(1), d, d + u(1).min(max - d), max, max - u(1)] {
                check_div(n, d);
            }
        }
        // The shifted path: 2^t times an odd word, and the bits it drops.
        let d = RAY;
        check_div(d * u(7) + u(1), d);
        check_div(d * u(7) + (U256::from(1u8) << 27), d);
        check_div(max, U256::from(u64::MAX) << 63);
        assert_eq!(div_rem(u(10), u(4)), (u(2), true));
        assert_eq!(div_rem(max, max), (u(1), false));
    }
}
