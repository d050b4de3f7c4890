//! Uniswap v3's math, from the `uniswap-v3-sdk` crate (a port of v3-core's `TickMath`,
//! `SqrtPriceMath`, `SwapMath`, `FullMath` and `LiquidityMath`), behind plain integer types and
//! this engine's error. v3-periphery's `LiquidityAmounts` is written out here: the SDK's
//! `max_liquidity_for_amounts` is the JavaScript SDK's formula, which rounds differently.
//!
//! Prices are `sqrtPriceX96` (a Q64.96 square root of token1 per token0) held in a `U256`;
//! ticks are `i32`; liquidity is `u128`, as in the contracts.

use alloy_primitives::aliases::I24;
use alloy_primitives::{I256, U160, U256};
use uniswap_v3_sdk::prelude as sdk;

use super::V3Error;
use crate::math::{mul_div, Q96};

/// The lowest and highest ticks of v3-core's `TickMath`.
pub const MIN_TICK: i32 = sdk::MIN_TICK_I32;
pub const MAX_TICK: i32 = sdk::MAX_TICK_I32;

/// `getSqrtRatioAtTick(MIN_TICK)` and `getSqrtRatioAtTick(MAX_TICK)`.
pub fn min_sqrt_price() -> U256 {
    U256::from(sdk::MIN_SQRT_RATIO)
}

/// See [`min_sqrt_price`].
pub fn max_sqrt_price() -> U256 {
    U256::from(sdk::MAX_SQRT_RATIO)
}

fn i24(tick: i32) -> Result<I24, V3Error> {
    if !(MIN_TICK..=MAX_TICK).contains(&tick) {
        return Err(V3Error::TickOutOfRange { tick });
    }
    I24::try_from(tick).map_err(|_| V3Error::TickOutOfRange { tick })
}

fn u160(sqrt_price: U256) -> Result<U160, V3Error> {
    U160::checked_from_limbs_slice(sqrt_price.as_limbs())
        .ok_or(V3Error::SqrtPriceOutOfRange { sqrt_price })
}

/// `TickMath.getSqrtRatioAtTick`: `sqrt(1.0001^tick) · 2^96`, rounded up.
pub fn sqrt_price_at_tick(tick: i32) -> Result<U256, V3Error> {
    Ok(U256::from(sdk::get_sqrt_ratio_at_tick(i24(tick)?)?))
}

/// `TickMath.getTickAtSqrtRatio`: the greatest tick whose price is at most `sqrt_price`.
/// Defined on `[MIN_SQRT_RATIO, MAX_SQRT_RATIO)`.
pub fn tick_at_sqrt_price(sqrt_price: U256) -> Result<i32, V3Error> {
    let sqrt = u160(sqrt_price)?;
    if sqrt < sdk::MIN_SQRT_RATIO || sqrt >= sdk::MAX_SQRT_RATIO {
        return Err(V3Error::SqrtPriceOutOfRange { sqrt_price });
    }
    Ok(sdk::get_tick_at_sqrt_ratio(sqrt)?.as_i32())
}

/// `SqrtPriceMath.getNextSqrtPriceFromInput`: the price after `amount_in` of token0
/// (`zero_for_one`) or token1 goes in; rounds so the pool never gives more.
pub fn next_sqrt_price_from_input(
    sqrt_price: U256,
    liquidity: u128,
    amount_in: U256,
    zero_for_one: bool,
) -> Result<U256, V3Error> {
    let next =
        sdk::get_next_sqrt_price_from_input(u160(sqrt_price)?, liquidity, amount_in, zero_for_one)?;
    Ok(U256::from(next))
}

/// `SqrtPriceMath.getNextSqrtPriceFromOutput`: the price after `amount_out` of token1
/// (`zero_for_one`) or token0 comes out.
pub fn next_sqrt_price_from_output(
    sqrt_price: U256,
    liquidity: u128,
    amount_out: U256,
    zero_for_one: bool,
) -> Result<U256, V3Error> {
    let next = sdk::get_next_sqrt_price_from_output(
        u160(sqrt_price)?,
        liquidity,
        amount_out,
        zero_for_one,
    )?;
    Ok(U256::from(next))
}

/// `SqrtPriceMath.getAmount0Delta`: token0 between two prices for `liquidity`.
pub fn amount0_delta(a: U256, b: U256, liquidity: u128, round_up: bool) -> Result<U256, V3Error> {
    Ok(sdk::get_amount_0_delta(u160(a)?, u160(b)?, liquidity, round_up)?)
}

/// `SqrtPriceMath.getAmount1Delta`: token1 between two prices for `liquidity`.
pub fn amount1_delta(a: U256, b: U256, liquidity: u128, round_up: bool) -> Result<U256, V3Error> {
    Ok(sdk::get_amount_1_delta(u160(a)?, u160(b)?, liquidity, round_up)?)
}

/// One step of a swap (`SwapMath.computeSwapStep`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwapStep {
    /// The price after the step, not past the target.
    pub sqrt_price_next: U256,
    pub amount_in: U256,
    pub amount_out: U256,
    /// Taken from the input on top of `amount_in`.
    pub fee_amount: U256,
}

/// `SwapMath.computeSwapStep` of v3-core: swap within one price range towards
/// `sqrt_price_target`. `amount_remaining` is positive for exact input, negative for exact
/// output; `fee_pips` is in hundredths of a basis point (3000 = 0.3%).
///
/// Written out over the SDK's `SqrtPriceMath` rather than calling its `compute_swap_step`: the
/// SDK follows v4-core for an exact-input step that stops short of its target (the input is the
/// whole remainder less the fee), where v3-core recomputes the input from the prices and takes
/// the rest as fee. The reference row "entire input amount taken as fee" tells them apart.
pub fn compute_swap_step(
    sqrt_price: U256,
    sqrt_price_target: U256,
    liquidity: u128,
    amount_remaining: I256,
    fee_pips: u32,
) -> Result<SwapStep, V3Error> {
    if fee_pips >= 1_000_000 {
        return Err(V3Error::FeeTooHigh { fee_pips });
    }
    let (current, target) = (sqrt_price, sqrt_price_target);
    let fee = U256::from(fee_pips);
    let fee_complement = U256::from(1_000_000 - fee_pips);
    let zero_for_one = current >= target;
    let exact_in = !amount_remaining.is_negative();
    let remaining = amount_remaining.unsigned_abs();
    let amount_in_between = |a: U256, b: U256| {
        if zero_for_one {
            amount0_delta(b, a, liquidity, true)
        } else {
            amount1_delta(a, b, liquidity, true)
        }
    };
    let amount_out_between = |a: U256, b: U256| {
        if zero_for_one {
            amount1_delta(b, a, liquidity, false)
        } else {
            amount0_delta(a, b, liquidity, false)
        }
    };
    let (next, mut amount_in, mut amount_out);
    if exact_in {
        let remaining_less_fee = mul_div(remaining, fee_complement, U256::from(1_000_000))?;
        amount_in = amount_in_between(current, target)?;
        next = if remaining_less_fee >= amount_in {
            target
        } else {
            next_sqrt_price_from_input(current, liquidity, remaining_less_fee, zero_for_one)?
        };
        amount_out = U256::ZERO;
    } else {
        amount_out = amount_out_between(current, target)?;
        next = if remaining >= amount_out {
            target
        } else {
            next_sqrt_price_from_output(current, liquidity, remaining, zero_for_one)?
        };
        amount_in = U256::ZERO;
    }
    let max = target == next;
    if !max || !exact_in {
        amount_in = amount_in_between(current, next)?;
    }
    if !max || exact_in {
        amount_out = amount_out_between(current, next)?;
    }
    if !exact_in && amount_out > remaining {
        amount_out = remaining;
    }
    let fee_amount = if exact_in && next != target {
        // The input rounds up from a price reached with the remainder less the fee: never more.
        remaining.checked_sub(amount_in).ok_or(crate::math::MathError::Underflow {
            op: "compute_swap_step",
            a: remaining,
            b: amount_in,
        })?
    } else {
        crate::math::mul_div_rounding_up(amount_in, fee, fee_complement)?
    };
    Ok(SwapStep { sqrt_price_next: next, amount_in, amount_out, fee_amount })
}

/// `LiquidityMath.addDelta`: `x + y`, refusing to underflow or overflow a `uint128`.
pub fn add_delta(x: u128, y: i128) -> Result<u128, V3Error> {
    Ok(sdk::add_delta(x, y)?)
}

fn sorted(a: U256, b: U256) -> (U256, U256) {
    if a > b {
        (b, a)
    } else {
        (a, b)
    }
}

fn to_u128(liquidity: U256) -> Result<u128, V3Error> {
    u128::try_from(liquidity).map_err(|_| V3Error::LiquidityOverflow { liquidity })
}

/// `LiquidityAmounts.getLiquidityForAmount0`: `amount0 · (√a·√b/Q96) / (√b − √a)`, down.
pub fn liquidity_for_amount0(a: U256, b: U256, amount0: U256) -> Result<u128, V3Error> {
    let (a, b) = sorted(a, b);
    let intermediate = mul_div(a, b, Q96)?;
    to_u128(mul_div(amount0, intermediate, b - a)?)
}

/// `LiquidityAmounts.getLiquidityForAmount1`: `amount1 · Q96 / (√b − √a)`, down.
pub fn liquidity_for_amount1(a: U256, b: U256, amount1: U256) -> Result<u128, V3Error> {
    let (a, b) = sorted(a, b);
    to_u128(mul_div(amount1, Q96, b - a)?)
}

/// `LiquidityAmounts.getLiquidityForAmounts`: the most liquidity the two amounts can back in
/// the range `[a, b]` at the price `sqrt_price`.
pub fn liquidity_for_amounts(
    sqrt_price: U256,
    a: U256,
    b: U256,
    amount0: U256,
    amount1: U256,
) -> Result<u128, V3Error> {
    let (a, b) = sorted(a, b);
    if sqrt_price <= a {
        liquidity_for_amount0(a, b, amount0)
    } else if sqrt_price < b {
        let l0 = liquidity_for_amount0(sqrt_price, b, amount0)?;
        let l1 = liquidity_for_amount1(a, sqrt_price, amount1)?;
        Ok(l0.min(l1))
    } else {
        liquidity_for_amount1(a, b, amount1)
    }
}

/// `LiquidityAmounts.getAmountsForLiquidity`: the tokens behind `liquidity` in `[a, b]` at
/// `sqrt_price`, rounded down.
pub fn amounts_for_liquidity(
    sqrt_price: U256,
    a: U256,
    b: U256,
    liquidity: u128,
) -> Result<[U256; 2], V3Error> {
    let (a, b) = sorted(a, b);
    if sqrt_price <= a {
        Ok([amount0_delta(a, b, liquidity, false)?, U256::ZERO])
    } else if sqrt_price < b {
        Ok([
            amount0_delta(sqrt_price, b, liquidity, false)?,
            amount1_delta(a, sqrt_price, liquidity, false)?,
        ])
    } else {
        Ok([U256::ZERO, amount1_delta(a, b, liquidity, false)?])
    }
}
