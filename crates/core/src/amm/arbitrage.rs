//! Moving a pool to an external price: the input an arbitrageur who pays the fee would trade.
//!
//! With reserves `x` (token0), `y` (token1), `k = x*y`, fee kept `γ = n/d` and an external
//! price `P = N/D` (token1 per token0), no trade pays while the pool's price `y/x` lies in the
//! band `[γ·P, P/γ]`. Above it, selling `dx` of token0 earns `out(dx) - P·dx`, which is
//! largest where the marginal output `γ·k / (x + γ·dx)^2` equals `P`:
//!
//! ```text
//! x + γ·dx = sqrt(k·γ/P)   =>   dx = (sqrt(k·n·d·D/N) - x·d) / n
//! ```
//!
//! and below it, mirrored, `dy = (sqrt(k·n·d·N/D) - y·d) / n`. After either trade the pool's
//! price sits inside the band (at its edge, up to the fee the pool keeps and rounding).
//! The square root's argument is formed over 1024 bits, so no input can overflow it.

use alloy_primitives::aliases::U1024;
use serde::{Deserialize, Serialize};

use super::{get_amount_out, AmmError, ConstantProductPool};
use crate::math::{checked_mul, MathError, U256};

/// The swap that brings a pool's price to a target: sell `amount_in` of token0 when
/// `zero_for_one`, else of token1, for `amount_out` of the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapToPrice {
    /// Token0 in, token1 out.
    pub zero_for_one: bool,
    /// The input, rounded down from the exact optimum.
    #[serde(with = "crate::types::dec")]
    pub amount_in: U256,
    /// Its [`get_amount_out`] quote, what [`swap_exact_in`](ConstantProductPool::swap_exact_in)
    /// pays.
    #[serde(with = "crate::types::dec")]
    pub amount_out: U256,
}

impl ConstantProductPool {
    /// The swap that moves the pool to the price `target_num / target_den` of token0 in
    /// token1 (compare `reserve1 / reserve0`), as an arbitrageur paying the fee on input would;
    /// `None` when the pool is already within the fee's no-arbitrage band or the optimal trade
    /// rounds to zero input or output.
    ///
    /// `amount_in = floor((floor(sqrt(k·n·d·D/N)) - r_in·d) / n)` (`D/N` inverted for token1
    /// in), which is exactly the largest input `a` with `(r_in·d + n·a)^2·N <= k·n·d·D`: the
    /// last one after which the next unit's fee-adjusted marginal price has not passed the
    /// target. Rounded down, so the trade never overshoots. Read-only; apply it with
    /// [`swap_exact_in`](Self::swap_exact_in).
    pub fn swap_to_price(
        &self,
        target_num: U256,
        target_den: U256,
    ) -> Result<Option<SwapToPrice>, AmmError> {
        if target_num.is_zero() || target_den.is_zero() {
            return Err(AmmError::InvalidPrice { numerator: target_num, denominator: target_den });
        }
        let (x, y) = (self.reserve0, self.reserve1);
        if x.is_zero() || y.is_zero() {
            return Err(AmmError::InsufficientLiquidity { reserve_in: x, reserve_out: y });
        }
        let Some(zero_for_one) = self.arbitrage_direction(target_num, target_den) else {
            return Ok(None);
        };
        let (reserve_in, reserve_out) = self.oriented(zero_for_one);
        // The input token's price in the output token, as a ratio: D/N for token0, N/D for token1.
        let (ratio_num, ratio_den) =
            if zero_for_one { (target_den, target_num) } else { (target_num, target_den) };
        let amount_in =
            match narrow_amount_in(x, y, reserve_in, self.fee, ratio_num, ratio_den) {
                Some(amount_in) => amount_in,
                None => {
                    let (n, d) = (wide(self.fee.kept()), wide(self.fee.scale()));
                    let root =
                        (wide(x) * wide(y) * n * d * wide(ratio_num) / wide(ratio_den)).root(2);
                    // Outside the band root >= r_in·d; saturating keeps a boundary case at zero.
                    let amount_in = root.saturating_sub(wide(reserve_in) * d) / n;
                    U256::checked_from_limbs_slice(amount_in.as_limbs())
                        .ok_or(MathError::overflow("swap_to_price", x, y))?
                }
            };
        if amount_in.is_zero() {
            return Ok(None);
        }
        let amount_out = get_amount_out(amount_in, reserve_in, reserve_out, self.fee)?;
        if amount_out.is_zero() {
            return Ok(None);
        }
        Ok(Some(SwapToPrice { zero_for_one, amount_in, amount_out }))
    }

    /// `Some(true)` when `y/x > P/γ` (token0 dear in the pool: sell it), `Some(false)` when
    /// `y/x < γ·P`, `None` inside the band. Cross-multiplied: `y·n·D` vs `x·d·N`, `y·d·D` vs
    /// `x·n·N`.
    fn arbitrage_direction(&self, target_num: U256, target_den: U256) -> Option<bool> {
        if let Some(direction) = self.narrow_direction(target_num, target_den) {
            return direction;
        }
        let (x, y) = (wide(self.reserve0), wide(self.reserve1));
        let (n, d) = (wide(self.fee.kept()), wide(self.fee.scale()));
        let (num, den) = (wide(target_num), wide(target_den));
        if y * n * den > x * d * num {
            Some(true)
        } else if y * d * den < x * n * num {
            Some(false)
        } else {
            None
        }
    }
}

impl ConstantProductPool {
    /// [`Self::arbitrage_direction`] in 256 bits, or `None` when a product would not fit.
    fn narrow_direction(&self, num: U256, den: U256) -> Option<Option<bool>> {
        let (x, y) = (self.reserve0, self.reserve1);
        let (n, d) = (self.fee.kept(), self.fee.scale());
        let product = |a: U256, b: U256, c: U256| checked_mul(checked_mul(a, b)?, c);
        if product(y, n, den)? > product(x, d, num)? {
            Some(Some(true))
        } else if product(y, d, den)? < product(x, n, num)? {
            Some(Some(false))
        } else {
            Some(None)
        }
    }
}

/// The optimal input in 256 bits when every product fits, the same integer as the 1024-bit
/// path: `floor((floor(sqrt(floor(x·y·n·d·N/D))) − r_in·d) / n)`.
fn narrow_amount_in(
    x: U256,
    y: U256,
    reserve_in: U256,
    fee: super::SwapFee,
    ratio_num: U256,
    ratio_den: U256,
) -> Option<U256> {
    let (n, d) = (fee.kept(), fee.scale());
    // floor(x·y·n·d·N/D) over a 512-bit product: only the quotient has to fit.
    let k_fee = checked_mul(checked_mul(checked_mul(x, y)?, n)?, d)?;
    let radicand = crate::math::mul_div(k_fee, ratio_num, ratio_den).ok()?;
    let root = crate::math::sqrt(radicand);
    Some(crate::math::div(root.saturating_sub(checked_mul(reserve_in, d)?), n))
}

/// Widens to 1024 bits: products of up to three `U256` and a fee stay below 2^832.
fn wide(value: U256) -> U1024 {
    U1024::from_limbs_slice(value.as_limbs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amm::test_pool as pool;
    use crate::math::u;

    const E21: u128 = 1_000_000_000_000_000_000_000;

    #[test]
    fn buys_token0_when_it_is_cheap_in_the_pool() {
        // 1000e18/1000e18 (price 1) to price 2: 1 < 0.997 * 2, so token1 goes in:
        // dy = (sqrt(1e42 * 997 * 1000 * 2) - 1e21 * 1000) / 997
        //    = (1412090648648308271913325 - 1e24) / 997 = 413330640570018326894.
        let mut p = pool(E21, E21);
        let plan = p.swap_to_price(u(2), u(1)).unwrap().unwrap();
        assert!(!plan.zero_for_one);
        assert_eq!(plan.amount_in, u(413_330_640_570_018_326_894));
        assert_eq!(p.swap_exact_in(false, plan.amount_in).unwrap(), plan.amount_out);
        // After: 1413330640570018326894 / 708169833825631029044 = 1.99575, inside [1.994, 2.006].
        assert_eq!(p.price0_wad().unwrap().0, u(1_995_750_980_997_046_213));
        assert_eq!(p.swap_to_price(u(2), u(1)).unwrap(), None);
    }

    #[test]
    fn sells_token0_when_it_is_dear_and_mirrors() {
        // Price 1 to price 1/2 is the mirror image of the case above.
        let plan = pool(E21, E21).swap_to_price(u(1), u(2)).unwrap().unwrap();
        assert!(plan.zero_for_one);
        assert_eq!(plan.amount_in, u(413_330_640_570_018_326_894));
    }

    #[test]
    fn none_inside_the_fee_band() {
        // 1.002 * 0.997 = 0.999 <= 1 <= 1.002 / 0.997 = 1.005: no trade pays.
        assert_eq!(pool(E21, E21).swap_to_price(u(1002), u(1000)).unwrap(), None);
        assert_eq!(pool(E21, E21).swap_to_price(u(998), u(1000)).unwrap(), None);
        // A tiny pool whose optimal trade rounds to nothing.
        assert_eq!(pool(10, 10).swap_to_price(u(101), u(100)).unwrap(), None);
    }

    #[test]
    fn invalid_targets_and_empty_pools_are_errors() {
        assert!(matches!(
            pool(E21, E21).swap_to_price(u(0), u(1)),
            Err(AmmError::InvalidPrice { .. })
        ));
        assert!(matches!(
            pool(0, E21).swap_to_price(u(1), u(1)),
            Err(AmmError::InsufficientLiquidity { .. })
        ));
        // Extreme operands compute over 1024 bits instead of wrapping.
        let huge = pool(u128::MAX, 1).swap_to_price(U256::MAX, u(1));
        assert!(huge.is_ok(), "{huge:?}");
    }
}
