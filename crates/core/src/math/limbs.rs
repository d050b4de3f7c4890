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
    wide_checked_mul(a, b)
}

#[cold]
fn wide_checked_mul(a: U256, b: U256) -> Option<U256> {
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
    match Divisor::of(y) {
        Some(divisor) => divisor.div_rem(x),
        None => wide_div_rem(n, d),
    }
}

#[cold]
fn wide_div_rem(n: U256, d: U256) -> (U256, bool) {
    let (q, r) = n.div_rem(d);
    (q, !r.is_zero())
}

/// `⌊n / d⌋` for a non-zero `d`.
#[inline]
pub(crate) fn div(n: U256, d: U256) -> U256 {
    div_rem(n, d).0
}

/// A divisor `2^shift · m` with `m` one word, ready for reciprocal division: `m` shifted
/// left by `norm` until its top bit is set, and that word's reciprocal.
#[derive(Debug, Clone, Copy)]
struct Divisor {
    shift: u32,
    norm: u32,
    d: u64,
    v: u64,
}

/// The divisors of every step (wad, ray, a year of seconds, USDC's unit), prepared once.
const COMMON: [([u64; 2], Divisor); 4] = [
    ([1_000_000_000_000_000_000, 0], Divisor::new(1_000_000_000_000_000_000)),
    ([0x9fd0803ce8000000, 0x33b2e3c], Divisor::new(1_000_000_000_000_000_000_000_000_000)),
    ([31_536_000, 0], Divisor::new(31_536_000)),
    ([1_000_000, 0], Divisor::new(1_000_000)),
];

impl Divisor {
    /// Prepares `x`, which must be `2^shift · m` with `m` below 2^64 and `shift` below 64.
    const fn new(x: u128) -> Self {
        let shift = x.trailing_zeros();
        let m = (x >> shift) as u64;
        let norm = m.leading_zeros();
        let d = m << norm;
        Self { shift, norm, d, v: reciprocal(d) }
    }

    /// The prepared form of a divisor of any size, when it has one.
    #[inline]
    fn of(y: &[u64; 4]) -> Option<Self> {
        if (y[2] | y[3]) != 0 {
            return None;
        }
        for (value, divisor) in &COMMON {
            if y[0] == value[0] && y[1] == value[1] {
                return Some(*divisor);
            }
        }
        if y[1] == 0 {
            return Some(Self::new(u128::from(y[0])));
        }
        // Two words: 10^19 to 10^27 are 2^k·5^k with 5^k below 2^64.
        let shift = y[0].trailing_zeros();
        if shift == 0 || shift == 64 || (y[1] >> shift) != 0 {
            return None;
        }
        Some(Self::new(low(y)))
    }

    /// `⌊x / self⌋` and whether a remainder was left.
    #[inline]
    fn div_rem(&self, x: &[u64; 4]) -> (U256, bool) {
        let t = self.shift;
        if t == 0 {
            let (q, r) = self.div_rem_odd(x);
            return (q, r != 0);
        }
        // ⌊n / (2^t·m)⌋ = ⌊⌊n / 2^t⌋ / m⌋; the remainder is zero only if both are.
        let dropped = x[0] & ((1 << t) - 1);
        let shifted = [
            (x[0] >> t) | (x[1] << (64 - t)),
            (x[1] >> t) | (x[2] << (64 - t)),
            (x[2] >> t) | (x[3] << (64 - t)),
            x[3] >> t,
        ];
        let (q, r) = self.div_rem_odd(&shifted);
        (q, r != 0 || dropped != 0)
    }

    /// Long division of four words by the one-word `m`: quotient and remainder.
    #[inline]
    fn div_rem_odd(&self, x: &[u64; 4]) -> (U256, u64) {
        let (s, d, v) = (self.norm, self.d, self.v);
        // `w >> 1 >> (63 - s)` is `w >> (64 - s)`, and 0 when s = 0, without a shift by 64.
        let carry = |w: u64| (w >> 1) >> (63 - s);
        let mut r = carry(x[3]);
        let mut q = [0u64; 4];
        for i in (0..4).rev() {
            let below = if i > 0 { carry(x[i - 1]) } else { 0 };
            let (qi, ri) = div_2by1(r, (x[i] << s) | below, d, v);
            q[i] = qi;
            r = ri;
        }
        (U256::from_limbs(q), r >> s)
    }
}

/// `⌊(2^128 − 1) / d⌋ − 2^64` for a normalized `d` (top bit set).
const fn reciprocal(d: u64) -> u64 {
    (((!d as u128) << 64 | u64::MAX as u128) / d as u128) as u64
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
        // The prepared common divisors are the values they stand for.
        for (value, divisor) in COMMON {
            let fresh = Divisor::new(u128::from(value[0]) | (u128::from(value[1]) << 64));
            assert_eq!(
                (divisor.shift, divisor.norm, divisor.d, divisor.v),
                (fresh.shift, fresh.norm, fresh.d, fresh.v)
            );
            check_div(max, U256::from_limbs([value[0], value[1], 0, 0]));
        }
        assert_eq!(COMMON[1].0, [RAY.as_limbs()[0], RAY.as_limbs()[1]]);
    }
}
