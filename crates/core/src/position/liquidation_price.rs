//! Liquidation prices: where token0's oracle price (token1's held fixed) makes the position
//! liquidatable, ignoring interest still to accrue.
//!
//! Both are expressed as a multiplier `m` (1e18 = today) on token0's price. The pool is moved
//! with it along `x·y = k` (`r0/√m`, `r1·√m`), as arbitrage would move it less the fees the
//! arbitrage pays into the pool (which raise `k` and so push the true price slightly further
//! out: about 0.3% of value over an 80% move at a 0.25% fee).
//!
//! - [`closed_form`]: single-token debt under the oracle valuation, from `V(m) = 2·√(u0·u1·m)`:
//!   debt in token1 (long token0) liquidates below `m = (d1/(2·KF))² / (u0·u1)`; debt in token0
//!   (short) above `m = (2·KF)²·u0·u1 / d0²`.
//! - [`solve`]: any debt and either valuation, by exact integer bisection on the engine's own
//!   kill check; with debt in both tokens there are two prices, one on each side.
//! - [`solve_range`]: the same for a range position on a v3 pool, the pool arbitraged to the
//!   moved oracle by swaps.

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use super::range;
use super::valuation::{assess, Quote};
use super::Valuation;
use crate::amm::v3::{V3Pool, V3PositionKey};
use crate::amm::ConstantProductPool;
use crate::math::{mul_div, mul_sqrt_ratio, MathError, WAD};
use crate::Error;

/// Token0 prices (numeraire per whole token, 1e18) below and above which the position is
/// liquidatable; `None` where no price on that side liquidates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LiquidationPrices {
    #[serde(with = "opt_dec")]
    pub lower: Option<U256>,
    #[serde(with = "opt_dec")]
    pub upper: Option<U256>,
}

/// Largest price move searched: 1e12 times up.
fn max_multiplier() -> U256 {
    WAD * U256::from(1_000_000_000_000u64)
}

/// Closed-form liquidation prices for single-token debt under the oracle valuation.
/// `values` are the numeraire values of the position's two underlying amounts and
/// `debt_values` the numeraire values of its debts.
///
/// No product of two values is formed in 256 bits (two values of a deep pool multiply past
/// 2^256): each side divides as it multiplies. A multiplier or price too large for 256 bits
/// is a price no market reaches, reported as none on that side.
pub fn closed_form(
    price0_wad: U256,
    values: [U256; 2],
    debt_values: [U256; 2],
    kill_factor_bps: u32,
) -> Result<LiquidationPrices, Error> {
    // 2·KF scaled by 1e9, so that squaring it gives the 1e18 of a multiplier:
    // 2 · (kf / 1e4) · 1e9 = 2 · kf · 1e5.
    let two_kf_e9 = U256::from(kill_factor_bps) * U256::from(200_000u64);
    let [u0, u1] = values;
    let mut out = LiquidationPrices::default();
    if debt_values[0].is_zero() && !debt_values[1].is_zero() && !u0.is_zero() && !u1.is_zero() {
        // m = (d1 / 2KF)² / (u0 · u1): t = d1 · 1e9 / (2KF), m = ⌊⌊t² / u0⌋ / u1⌋ in 1e18.
        // With no kill factor every price liquidates; the check below leaves that side open.
        if let Some(t) = (!two_kf_e9.is_zero())
            .then(|| mul_div(debt_values[1], U256::from(1_000_000_000_000_000_000u64), two_kf_e9))
            .transpose()?
        {
            let m = mul_div(t, t, u0).map(|x| x / u1);
            out.lower = match m {
                Ok(m) if m < WAD => Some(mul_div(price0_wad, m, WAD)?),
                _ => None, // at or past the kill factor already
            };
        }
    }
    if debt_values[1].is_zero() && !debt_values[0].is_zero() && !two_kf_e9.is_zero() {
        // m = (2KF)² · u0 · u1 / d0²: w = u0 · 2KF·1e9 / d0, m = w · u1 · 2KF·1e9 / d0.
        let m = mul_div(u0, two_kf_e9, debt_values[0]).and_then(|w| {
            let b = u1.checked_mul(two_kf_e9).ok_or(MathError::overflow(
                "liquidation price",
                u1,
                two_kf_e9,
            ))?;
            mul_div(w, b, debt_values[0])
        });
        out.upper = match m {
            Ok(m) if m > WAD => mul_div(price0_wad, m, WAD).ok(),
            _ => None,
        };
    }
    Ok(out)
}

/// Liquidation prices by bisection on the kill check itself.
pub fn solve(
    pool: &ConstantProductPool,
    lp: U256,
    debt: [U256; 2],
    quotes: [Quote; 2],
    valuation: Valuation,
    kill_factor_bps: u32,
) -> Result<LiquidationPrices, Error> {
    search(quotes, debt, |m| {
        let (moved, moved_quotes) = moved(pool, quotes, m)?;
        let health = assess(&moved, lp, debt, moved_quotes, valuation)?;
        Ok(!health.within(kill_factor_bps)?)
    })
}

/// Liquidation prices of a range position: the oracle moves, the pool follows it as the
/// market's `arbitrage` would (through its own swap loop, crossing ticks, paying fees into the
/// range while it is in range, stopping within the fee of the oracle), and the kill check
/// runs on the result, so that a price found here is where `set_price` then `arbitrage` then
/// `liquidate` starts to succeed.
pub fn solve_range(
    pool: &V3Pool,
    key: &V3PositionKey,
    debt: [U256; 2],
    quotes: [Quote; 2],
    valuation: Valuation,
    kill_factor_bps: u32,
) -> Result<LiquidationPrices, Error> {
    search(quotes, debt, |m| {
        let moved_quotes = moved_quotes(quotes, m)?;
        let moved = range::arbitraged(pool, moved_quotes)?;
        let health = range::assess_range(&moved, key, debt, moved_quotes, valuation)?;
        Ok(!health.within(kill_factor_bps)?)
    })
}

/// The multipliers on token0's price, below and above today's, past which `liquidatable`
/// holds, as prices.
fn search(
    quotes: [Quote; 2],
    debt: [U256; 2],
    liquidatable: impl Fn(U256) -> Result<bool, Error>,
) -> Result<LiquidationPrices, Error> {
    if debt == [U256::ZERO; 2] || liquidatable(WAD)? {
        return Ok(LiquidationPrices::default());
    }
    let (lowest, dies) = reach(U256::from(1), &liquidatable)?;
    let lower = if dies { Some(boundary(lowest, WAD, &liquidatable)?) } else { None };
    let (highest, dies) = reach(max_multiplier(), &liquidatable)?;
    let upper = if dies { Some(boundary(highest, WAD, &liquidatable)?) } else { None };
    let price = |m: U256| mul_div(quotes[0].price_wad, m, WAD);
    Ok(LiquidationPrices {
        lower: lower.map(price).transpose()?,
        upper: upper.map(price).transpose()?,
    })
}

/// The multiplier nearest `extreme` at which the position can be assessed, and whether it is
/// liquidatable there. A deep pool moved a trillion times over can leave what the engine can
/// represent (a v3 position owed more than 2^128 units at the edge of the tick range): the
/// search then ends where the arithmetic does, found by bisection towards today's price, where
/// the assessment is known to answer.
fn reach(
    extreme: U256,
    liquidatable: &impl Fn(U256) -> Result<bool, Error>,
) -> Result<(U256, bool), Error> {
    if let Ok(dies) = liquidatable(extreme) {
        return Ok((extreme, dies));
    }
    let (mut failing, mut answering) = (extreme, WAD);
    loop {
        let gap = failing.abs_diff(answering);
        if gap <= U256::from(1) {
            return Ok((answering, liquidatable(answering)?));
        }
        let mid = failing.min(answering) + gap / U256::from(2);
        if liquidatable(mid).is_ok() {
            answering = mid;
        } else {
            failing = mid;
        }
    }
}

/// Bisects between a liquidatable `bad` and a safe `good` multiplier; returns the safe-most
/// liquidatable multiplier (the boundary, within one unit).
fn boundary(
    mut bad: U256,
    mut good: U256,
    liquidatable: &impl Fn(U256) -> Result<bool, Error>,
) -> Result<U256, Error> {
    loop {
        let gap = if bad > good { bad - good } else { good - bad };
        if gap <= U256::from(1) {
            return Ok(bad);
        }
        let mid = if bad > good { good + gap / U256::from(2) } else { bad + gap / U256::from(2) };
        if liquidatable(mid)? {
            bad = mid;
        } else {
            good = mid;
        }
    }
}

/// The pool and quotes after token0's price moves by `m` (1e18 = unchanged).
fn moved(
    pool: &ConstantProductPool,
    quotes: [Quote; 2],
    m: U256,
) -> Result<(ConstantProductPool, [Quote; 2]), Error> {
    let mut moved = pool.clone();
    moved.reserve0 = mul_sqrt_ratio(pool.reserve0, WAD, m)?;
    moved.reserve1 = mul_sqrt_ratio(pool.reserve1, m, WAD)?;
    Ok((moved, moved_quotes(quotes, m)?))
}

/// The quotes with token0's price times `m` (1e18 = unchanged).
fn moved_quotes(quotes: [Quote; 2], m: U256) -> Result<[Quote; 2], Error> {
    let mut q = quotes;
    q[0].price_wad = mul_div(quotes[0].price_wad, m, WAD)?;
    Ok(q)
}

mod opt_dec {
    use alloy_primitives::U256;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::types::Amount;

    pub fn serialize<S: Serializer>(v: &Option<U256>, s: S) -> Result<S::Ok, S::Error> {
        v.map(Amount).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<U256>, D::Error> {
        Ok(Option::<Amount>::deserialize(d)?.map(|a| a.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amm::SwapFee;

    /// Regression ("liquidation prices cannot be computed in a deep pool"): moving a pool of
    /// `2^112 - 1` units by the search's extremes squared the reserve and multiplied by 1e18
    /// in 256 bits, which overflowed from about 3.4e29 units. Worked: `r0 / √m` and `r1 · √m`
    /// at m = 1e-18 (one unit in 1e18) and m = 1e12.
    #[test]
    fn the_search_moves_a_uint112_pool_to_either_extreme() {
        let mut pool = ConstantProductPool::new(SwapFee::UNISWAP_V2, None);
        let r = (U256::from(1) << 112) - U256::from(1);
        (pool.reserve0, pool.reserve1) = (r, r);
        let unit = U256::from(10u64).pow(U256::from(18));
        let quotes = [Quote { price_wad: WAD, unit }, Quote { price_wad: WAD, unit }];
        let (low, _) = moved(&pool, quotes, U256::from(1)).unwrap();
        // r · 1e9 exactly; r / 1e9 floored.
        assert_eq!(low.reserve0, r * U256::from(1_000_000_000u64));
        assert_eq!(low.reserve1, r / U256::from(1_000_000_000u64));
        let (high, q) = moved(&pool, quotes, max_multiplier()).unwrap();
        assert_eq!(high.reserve0, r / U256::from(1_000_000u64));
        assert_eq!(high.reserve1, r * U256::from(1_000_000u64));
        assert_eq!(q[0].price_wad, WAD * U256::from(1_000_000_000_000u64));
    }
}
