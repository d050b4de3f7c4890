//! Leveraged range positions on a Uniswap v3 pool: the optimal split of a deposit for a range,
//! both valuations, the exit plan, and the pool moved to another price.
//!
//! The position is a v3 position owned by [`crate::types::Holder::Position`] in
//! `[tick_lower, tick_upper)`. What it is worth:
//!
//! - **oracle**: the tokens its liquidity holds at the oracle's price (`LiquidityAmounts` at the
//!   square root of the oracle price ratio, not at the pool's price, which a flash loan can
//!   move), plus the fees it is owed, valued at the oracle (Alpha Homora's and Kamino's way for
//!   concentrated liquidity);
//! - **exit**: burn the liquidity and collect principal and fees on a copy of the pool, convert
//!   toward the debt as a liquidation would ([`plan_exit_swap`]) through the pool's own swap
//!   loop, and value what is left at the oracle.
//!
//! Out of range the position holds one token only and earns no fees: both follow from the
//! pool's own bookkeeping, nothing here special-cases them.

use alloy_primitives::{I256, U256};
use serde::{Deserialize, Serialize};

use super::valuation::{holdings_value, ExitMode, PlannedSwap, PositionHealth, Quote};
use super::Valuation;
use crate::amm::v3::{math, V3Pool, V3PositionKey};
use crate::math::{mul_div, sqrt, CheckedOps, Q128, WAD};
use crate::Error;

/// A position's price range in ticks, `[tick_lower, tick_upper)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TickRange {
    pub tick_lower: i32,
    pub tick_upper: i32,
}

impl TickRange {
    /// The range's bounds as `sqrtPriceX96`.
    pub fn sqrt_prices(&self) -> Result<(U256, U256), Error> {
        Ok((math::sqrt_price_at_tick(self.tick_lower)?, math::sqrt_price_at_tick(self.tick_upper)?))
    }

    /// Whether the pool's current tick is inside the range, where the position earns fees.
    pub fn contains(&self, tick: i32) -> bool {
        self.tick_lower <= tick && tick < self.tick_upper
    }

    /// The range of `width` ticks (rounded down to the spacing, at least one spacing) that
    /// has `tick` as near its middle as the spacing allows.
    pub fn centred(tick: i32, width: i32, spacing: i32) -> Result<Self, Error> {
        let width = (width / spacing).max(1) * spacing;
        let lower = (tick - width / 2).div_euclid(spacing) * spacing;
        let (min, max) = (
            math::MIN_TICK.div_euclid(spacing) * spacing + spacing,
            math::MAX_TICK.div_euclid(spacing) * spacing,
        );
        if width > max - min {
            return Err(Error::invalid(format!(
                "a range {width} ticks wide does not fit between the lowest and highest ticks"
            )));
        }
        let lower = lower.clamp(min, max - width);
        Ok(Self { tick_lower: lower, tick_upper: lower + width })
    }

    /// The range between two prices of token0 in token1 (whole tokens, 1e18 fixed point;
    /// `units` are `10^decimals` of token0 and token1), snapped outward to the spacing: the
    /// lower tick rounded down, the upper one up, so that both prices lie inside. Bounds need
    /// not be symmetric around the price, nor contain it.
    pub fn between(
        lower: crate::price::Price,
        upper: crate::price::Price,
        units: [U256; 2],
        spacing: i32,
    ) -> Result<Self, Error> {
        if lower.0.is_zero() || lower >= upper {
            return Err(Error::invalid(format!(
                "a range needs 0 < lower ({lower}) < upper ({upper})"
            )));
        }
        let sqrt_of = |price: crate::price::Price| {
            let q0 = Quote { price_wad: price.0, unit: units[0] };
            let q1 = Quote { price_wad: WAD, unit: units[1] };
            oracle_sqrt_price([q0, q1])
        };
        let (min, max) = (
            math::MIN_TICK.div_euclid(spacing) * spacing + spacing,
            math::MAX_TICK.div_euclid(spacing) * spacing,
        );
        let low = math::tick_at_sqrt_price(sqrt_of(lower)?)?;
        let s_up = sqrt_of(upper)?;
        let mut high = math::tick_at_sqrt_price(s_up)?;
        if math::sqrt_price_at_tick(high)? < s_up {
            high += 1;
        }
        let tick_lower = (low.div_euclid(spacing) * spacing).clamp(min, max - spacing);
        let tick_upper =
            (-((-high).div_euclid(spacing)) * spacing).clamp(tick_lower + spacing, max);
        Ok(Self { tick_lower, tick_upper })
    }
}

/// `2^192`: a price ratio scaled so that its square root is a Q64.96.
const Q192: U256 = U256::from_limbs([0, 0, 0, 1]);

/// The oracle's price of token0 in token1, raw units, as a `sqrtPriceX96` within the range
/// v3 allows: `sqrt(p0·unit1 / (p1·unit0)) · 2^96`, rounded down.
pub fn oracle_sqrt_price(quotes: [Quote; 2]) -> Result<U256, Error> {
    let num = quotes[0].price_wad.mul_or(quotes[1].unit, "oracle sqrt price")?;
    let den = quotes[1].price_wad.mul_or(quotes[0].unit, "oracle sqrt price")?;
    // Q192 keeps 96 fractional bits; a ratio above 2^64 does not fit it, so Q128 then.
    let root = match mul_div(num, Q192, den) {
        Ok(ratio) => sqrt(ratio),
        Err(_) => sqrt(mul_div(num, Q128, den)?) << 32,
    };
    Ok(root.clamp(math::min_sqrt_price(), math::max_sqrt_price() - U256::from(1)))
}

/// Tokens behind `liquidity` in `range` at `sqrt_price`, rounded down.
pub fn range_amounts(
    range: TickRange,
    sqrt_price: U256,
    liquidity: u128,
) -> Result<[U256; 2], Error> {
    let (a, b) = range.sqrt_prices()?;
    Ok(math::amounts_for_liquidity(sqrt_price, a, b, liquidity)?)
}

/// What minting `liquidity` in `range` at `sqrt_price` costs, rounded up as the pool's `mint`
/// rounds it.
pub fn range_amounts_up(
    range: TickRange,
    sqrt_price: U256,
    liquidity: u128,
) -> Result<[U256; 2], Error> {
    let (a, b) = range.sqrt_prices()?;
    Ok(if sqrt_price <= a {
        [math::amount0_delta(a, b, liquidity, true)?, U256::ZERO]
    } else if sqrt_price < b {
        [
            math::amount0_delta(sqrt_price, b, liquidity, true)?,
            math::amount1_delta(a, sqrt_price, liquidity, true)?,
        ]
    } else {
        [U256::ZERO, math::amount1_delta(a, b, liquidity, true)?]
    })
}

/// An amount too large for any swap to need: an exact input that only the price limit stops.
fn unbounded() -> I256 {
    I256::ONE << 200
}

fn exact(amount: U256) -> Result<I256, Error> {
    I256::try_from(amount).map_err(|_| Error::invalid("swap amount above 2^255"))
}

/// The farthest price limit in the swap's direction.
fn edge(zero_for_one: bool) -> U256 {
    if zero_for_one {
        math::min_sqrt_price() + U256::from(1)
    } else {
        math::max_sqrt_price() - U256::from(1)
    }
}

/// The swap of an exact `amount_in`, quoted on `pool`: `None` when nothing would come out.
pub fn quote_sell(
    pool: &V3Pool,
    zero_for_one: bool,
    amount_in: U256,
) -> Result<Option<PlannedSwap>, Error> {
    if amount_in.is_zero() {
        return Ok(None);
    }
    let out = pool.quote_swap(zero_for_one, exact(amount_in)?, edge(zero_for_one))?;
    let (paid, got) =
        if zero_for_one { (out.amount0, out.amount1) } else { (out.amount1, out.amount0) };
    if got.is_zero() {
        return Ok(None);
    }
    Ok(Some(PlannedSwap {
        zero_for_one,
        amount_in: paid.unsigned_abs(),
        amount_out: got.unsigned_abs(),
    }))
}

/// The exit's swap on a v3 pool, with [`ExitMode`]'s rules as on a constant-product pool:
/// sell all of the token not owed (single debt, convert), or buy exactly the shortfall when the
/// surplus pays for it and else sell the whole surplus.
pub fn plan_exit_swap(
    pool: &V3Pool,
    have: [U256; 2],
    debt: [U256; 2],
    mode: ExitMode,
) -> Result<Option<PlannedSwap>, Error> {
    let single_debt = debt[0].is_zero() != debt[1].is_zero();
    if mode == ExitMode::ConvertToDebt && single_debt {
        let zero_for_one = debt[1] > U256::ZERO;
        return quote_sell(pool, zero_for_one, have[usize::from(!zero_for_one)]);
    }
    for (short, long) in [(0usize, 1usize), (1, 0)] {
        if have[short] < debt[short] && have[long] > debt[long] {
            let (shortfall, surplus) = (debt[short] - have[short], have[long] - debt[long]);
            let zero_for_one = long == 0;
            let out = pool.quote_swap(zero_for_one, -exact(shortfall)?, edge(zero_for_one))?;
            let (paid, got) =
                if zero_for_one { (out.amount0, out.amount1) } else { (out.amount1, out.amount0) };
            if got.unsigned_abs() == shortfall && paid.unsigned_abs() <= surplus {
                return Ok(Some(PlannedSwap {
                    zero_for_one,
                    amount_in: paid.unsigned_abs(),
                    amount_out: shortfall,
                }));
            }
            return quote_sell(pool, zero_for_one, surplus);
        }
    }
    Ok(None)
}

/// Liquidity that `amount0` backs in `[max(s, a), b)`, or `u128::MAX` where the range needs
/// no token0 at `s`, saturating.
fn liquidity_of0(s: U256, a: U256, b: U256, amount0: U256) -> u128 {
    if s >= b {
        return u128::MAX;
    }
    math::liquidity_for_amount0(s.max(a), b, amount0).unwrap_or(u128::MAX)
}

/// Liquidity that `amount1` backs in `[a, min(s, b))`, or `u128::MAX` where none is needed.
fn liquidity_of1(s: U256, a: U256, b: U256, amount1: U256) -> u128 {
    if s <= a {
        return u128::MAX;
    }
    math::liquidity_for_amount1(a, s.min(b), amount1).unwrap_or(u128::MAX)
}

/// The swap that turns `have` into the mix that mints the most liquidity in `range`, at the
/// price the swap itself leaves: bisection on the amount in, each candidate quoted through the
/// pool's swap loop (ticks crossed, fees paid), so that the split is exact for this pool and
/// not only for a constant-product approximation of it.
pub fn optimal_split(
    pool: &V3Pool,
    range: TickRange,
    have: [U256; 2],
) -> Result<Option<PlannedSwap>, Error> {
    let (a, b) = range.sqrt_prices()?;
    let s = pool.sqrt_price;
    let (l0, l1) = (liquidity_of0(s, a, b, have[0]), liquidity_of1(s, a, b, have[1]));
    let zero_for_one = match l0.cmp(&l1) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => return Ok(None),
    };
    let i = usize::from(!zero_for_one);
    // (liquidity backed by the input side, by the output side, the swap) after selling `x`.
    let after = |x: U256| -> Result<(u128, u128, Option<PlannedSwap>), Error> {
        let (mut s, mut swap) = (pool.sqrt_price, None);
        if !x.is_zero() {
            let out = pool.quote_swap(zero_for_one, exact(x)?, edge(zero_for_one))?;
            let (paid, got) =
                if zero_for_one { (out.amount0, out.amount1) } else { (out.amount1, out.amount0) };
            s = out.sqrt_price_after;
            swap = (!got.is_zero()).then_some(PlannedSwap {
                zero_for_one,
                amount_in: paid.unsigned_abs(),
                amount_out: got.unsigned_abs(),
            });
        }
        let h = match swap {
            Some(sw) => sw.apply(have)?,
            None => have,
        };
        let (l0, l1) = (liquidity_of0(s, a, b, h[0]), liquidity_of1(s, a, b, h[1]));
        Ok(if zero_for_one { (l0, l1, swap) } else { (l1, l0, swap) })
    };
    // Invariant: selling `lo` leaves an excess of the input token, selling `hi` does not.
    let (mut lo, mut hi) = (U256::ZERO, have[i]);
    let (l_in, l_out, _) = after(hi)?;
    if l_in >= l_out {
        return quote_sell(pool, zero_for_one, hi);
    }
    while hi - lo > U256::from(1) {
        let mid = lo + (hi - lo) / U256::from(2);
        let (l_in, l_out, _) = after(mid)?;
        if l_in >= l_out {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // The most liquidity is at the crossing: the output side binds at `lo`, the input at `hi`.
    let (_, at_lo, swap_lo) = after(lo)?;
    let (at_hi, _, swap_hi) = after(hi)?;
    Ok(if at_hi > at_lo { swap_hi } else { swap_lo })
}

/// What a range position holds, is worth and owes at one moment.
pub fn assess_range(
    pool: &V3Pool,
    key: &V3PositionKey,
    debt: [U256; 2],
    quotes: [Quote; 2],
    valuation: Valuation,
) -> Result<PositionHealth, Error> {
    let range = TickRange { tick_lower: key.tick_lower, tick_upper: key.tick_upper };
    let liquidity = pool.position(key).map_or(0, |p| p.liquidity);
    let fees = pool.owed_with_pending_fees(key)?.map(U256::from);
    let principal = range_amounts(range, oracle_sqrt_price(quotes)?, liquidity)?;
    let at_oracle =
        [principal[0].add_or(fees[0], "value")?, principal[1].add_or(fees[1], "value")?];
    let value_oracle = holdings_value(at_oracle, quotes)?;
    let (exited, removed) = burned(pool, key, liquidity)?;
    let holdings = match plan_exit_swap(&exited, removed, debt, ExitMode::ConvertToDebt)? {
        Some(swap) => swap.apply(removed)?,
        None => removed,
    };
    let value_exit = holdings_value(holdings, quotes)?;
    PositionHealth::valued(value_oracle, value_exit, debt, quotes, valuation)
}

/// A copy of `pool` with the position's `liquidity` burned, and everything the position is
/// then owed (principal, rounded down, and fees).
pub fn burned(
    pool: &V3Pool,
    key: &V3PositionKey,
    liquidity: u128,
) -> Result<(V3Pool, [U256; 2]), Error> {
    let mut copy = pool.clone();
    if pool.position(key).is_some() {
        copy.burn_on_copy(key, liquidity)?;
    }
    let owed = copy.owed_with_pending_fees(key)?.map(U256::from);
    Ok((copy, owed))
}

/// The trade an arbitrageur makes against the oracle: its direction and price limit, or
/// `None` when the pool's price is already within the fee of the oracle's. Selling token0
/// pays while `price·(1 − fee) > oracle`, buying it while `price / (1 − fee) < oracle`, so the
/// pool ends at `oracle / (1 − fee)` or `oracle · (1 − fee)`.
pub fn arbitrage_target(pool: &V3Pool, quotes: [Quote; 2]) -> Result<Option<(bool, U256)>, Error> {
    let target = oracle_sqrt_price(quotes)?;
    // sqrt(1 − fee) in 1e18.
    let keep = sqrt(U256::from(1_000_000 - pool.fee_pips) * crate::math::pow10(30));
    let (above, below) = (mul_div(target, WAD, keep)?, mul_div(target, keep, WAD)?);
    let s = pool.sqrt_price;
    let (zero_for_one, limit) = if s > above {
        (true, above.max(math::min_sqrt_price() + U256::from(1)))
    } else if s < below {
        (false, below.min(edge(false)))
    } else {
        return Ok(None);
    };
    Ok((limit != s).then_some((zero_for_one, limit)))
}

/// `pool` after arbitrage against `quotes` ([`arbitrage_target`]), through the pool's swap
/// loop (ticks crossed, fees paid to the liquidity in range).
pub fn arbitraged(pool: &V3Pool, quotes: [Quote; 2]) -> Result<V3Pool, Error> {
    let mut copy = pool.clone();
    if let Some((zero_for_one, limit)) = arbitrage_target(pool, quotes)? {
        copy.swap(zero_for_one, unbounded(), limit)?;
    }
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Holder;

    fn key(lower: i32, upper: i32) -> V3PositionKey {
        V3PositionKey { owner: Holder::Account("lp".into()), tick_lower: lower, tick_upper: upper }
    }

    /// WETH (18 decimals) in USDC (6): the price at a tick, in dollars per WETH.
    fn dollars_at(tick: i32) -> f64 {
        1.0001f64.powi(tick) * 1e12
    }

    #[test]
    fn a_range_between_two_prices_snaps_outward_to_the_spacing() {
        let units = [U256::from(10u64).pow(U256::from(18)), U256::from(1_000_000u64)];
        let wad = |v: u64| crate::price::Price(U256::from(v) * WAD);
        let r = TickRange::between(wad(1800), wad(2500), units, 60).unwrap();
        assert_eq!((r.tick_lower % 60, r.tick_upper % 60), (0, 0));
        // The widest initializable bounds with both prices inside, no wider.
        assert!(dollars_at(r.tick_lower) <= 1800.0 && 1800.0 < dollars_at(r.tick_lower + 60));
        assert!(dollars_at(r.tick_upper - 60) < 2500.0 && 2500.0 <= dollars_at(r.tick_upper));
        // Asymmetric around 2000 (tick -200312): more room above than below.
        assert!(r.tick_upper - (-200_312) > -200_312 - r.tick_lower);
        // A price at a spaced tick (to the rounding of a price: just above it for a lower
        // bound, just below for an upper one) is its bound, not one spacing further out.
        let at = |tick: i32, up: u8| {
            let q192 = U256::from(1u8) << 192;
            let s = math::sqrt_price_at_tick(tick).unwrap();
            let raw = mul_div(s * s, WAD, q192).unwrap() + U256::from(up);
            crate::price::Price(mul_div(raw, units[0], units[1]).unwrap())
        };
        let exact = TickRange::between(at(-201_000, 1), at(-199_980, 0), units, 60).unwrap();
        assert_eq!((exact.tick_lower, exact.tick_upper), (-201_000, -199_980));
        assert!(TickRange::between(wad(2500), wad(1800), units, 60).is_err());
        assert!(TickRange::between(wad(0), wad(1800), units, 60).is_err());
    }

    /// A 0.3% pool at tick 0 with full-range and narrow liquidity, deep enough that a
    /// deposit's swap moves the price by a few ticks.
    fn pool() -> V3Pool {
        let mut pool = V3Pool::new(3000, 60, math::sqrt_price_at_tick(0).unwrap()).unwrap();
        pool.mint(&key(-887220, 887220), 10u128.pow(21)).unwrap();
        pool.mint(&key(-600, 600), 10u128.pow(22)).unwrap();
        pool
    }

    /// Liquidity minted in `range` after selling `x` of the input token from `have`.
    fn minted_after(pool: &V3Pool, range: TickRange, have: [U256; 2], zfo: bool, x: U256) -> u128 {
        let mut h = have;
        let mut s = pool.sqrt_price;
        if !x.is_zero() {
            let out = pool.quote_swap(zfo, I256::try_from(x).unwrap(), edge(zfo)).unwrap();
            let (i, o) = if zfo { (0, 1) } else { (1, 0) };
            let (paid, got) =
                if zfo { (out.amount0, out.amount1) } else { (out.amount1, out.amount0) };
            h[i] -= paid.unsigned_abs();
            h[o] += got.unsigned_abs();
            s = out.sqrt_price_after;
        }
        let (a, b) = range.sqrt_prices().unwrap();
        math::liquidity_for_amounts(s, a, b, h[0], h[1]).unwrap()
    }

    #[test]
    fn the_optimal_split_mints_more_than_any_other_split() {
        let pool = pool();
        let e18 = U256::from(10u64.pow(18));
        let cases = [
            // One-sided deposits into a range around the price, a range above it, and below.
            (
                TickRange { tick_lower: -1200, tick_upper: 1200 },
                [U256::from(1000) * e18, U256::ZERO],
            ),
            (
                TickRange { tick_lower: -1200, tick_upper: 1200 },
                [U256::ZERO, U256::from(1000) * e18],
            ),
            (
                TickRange { tick_lower: -120, tick_upper: 2400 },
                [U256::from(30) * e18, U256::from(900) * e18],
            ),
            (
                TickRange { tick_lower: 600, tick_upper: 1800 },
                [U256::from(5) * e18, U256::from(50) * e18],
            ),
            (
                TickRange { tick_lower: -1800, tick_upper: -600 },
                [U256::from(50) * e18, U256::from(5) * e18],
            ),
        ];
        for (range, have) in cases {
            let swap = optimal_split(&pool, range, have).unwrap().expect("a swap is needed");
            let zfo = swap.zero_for_one;
            let best = minted_after(&pool, range, have, zfo, swap.amount_in);
            assert!(best > 0, "{range:?}");
            // Selling a little more or a little less, or nothing, mints no more.
            let x = swap.amount_in;
            let input = have[usize::from(!zfo)];
            for other in
                [x / U256::from(2), x - x / U256::from(1000), x - U256::from(1)].into_iter().chain(
                    [x + U256::from(1), x + x / U256::from(1000)]
                        .into_iter()
                        .filter(|o| *o <= input),
                )
            {
                let got = minted_after(&pool, range, have, zfo, other);
                assert!(got <= best, "{range:?}: selling {other} mints {got} > {best} at {x}");
            }
            // Out of range on the side it needs, the whole other token is sold.
            if range.tick_lower > pool.tick {
                assert!(!zfo && x == have[1], "{range:?}: {swap:?}");
            }
            if range.tick_upper <= pool.tick {
                assert!(zfo && x == have[0], "{range:?}: {swap:?}");
            }
        }
    }

    #[test]
    fn a_deposit_already_in_the_range_mix_needs_no_swap() {
        let pool = pool();
        let range = TickRange { tick_lower: -1200, tick_upper: 1200 };
        // The tokens behind some liquidity at the current price are the range's own mix.
        let mix = range_amounts(range, pool.sqrt_price, 10u128.pow(20)).unwrap();
        let split = optimal_split(&pool, range, mix).unwrap();
        // At most a unit or two of rounding is worth trading.
        assert!(split.is_none_or(|s| s.amount_in <= U256::from(2)), "{split:?}");
    }

    #[test]
    fn centred_ranges_sit_on_the_spacing_around_the_tick() {
        assert_eq!(
            TickRange::centred(-200312, 1200, 60).unwrap(),
            TickRange { tick_lower: -200940, tick_upper: -199740 }
        );
        // A width off the spacing rounds down to it; too narrow becomes one spacing.
        assert_eq!(
            TickRange::centred(0, 130, 60).unwrap(),
            TickRange { tick_lower: -60, tick_upper: 60 }
        );
        assert_eq!(
            TickRange::centred(5, 10, 60).unwrap(),
            TickRange { tick_lower: -60, tick_upper: 0 }
        );
        // Near the edge of the tick range the range is pushed inside it.
        let edge = TickRange::centred(887_000, 1200, 60).unwrap();
        assert_eq!(edge.tick_upper, 887_220);
        assert!(TickRange::centred(0, 2_000_000, 60).is_err());
    }

    #[test]
    fn the_oracle_price_becomes_the_pools_sqrt_price() {
        let q = |price: u64, decimals: u8| Quote {
            price_wad: U256::from(price) * WAD,
            unit: crate::math::pow10(decimals),
        };
        // 1 TKA = 1 TKB with equal decimals is sqrt(1) · 2^96.
        assert_eq!(oracle_sqrt_price([q(5, 18), q(5, 18)]).unwrap(), crate::math::Q96);
        // WETH at 2000 USDC: tick -200312, as v3 would be initialized.
        let s = oracle_sqrt_price([q(2000, 18), q(1, 6)]).unwrap();
        assert_eq!(math::tick_at_sqrt_price(s).unwrap(), -200312);
        // USDC per WETH the other way round (token0 USDC): a ratio above 2^64 takes the
        // Q128 path and still lands on the mirrored tick.
        let s = oracle_sqrt_price([q(1, 6), q(2000, 18)]).unwrap();
        assert_eq!(math::tick_at_sqrt_price(s).unwrap(), 200311);
    }
}
