//! `UniswapV3Pool` with its `Tick`, `TickBitmap` and `Position` libraries, on exact integers.
//!
//! Left out on purpose: the price oracle (observations, seconds and tick cumulatives), which no
//! leveraged-farming number depends on, and the protocol fee, which is off in deployed pools
//! unless governance turns it on.

use std::collections::BTreeMap;

use imbl::OrdMap;

use alloy_primitives::{I256, U256};
use serde::{Deserialize, Serialize};

use super::math::{self, MAX_TICK, MIN_TICK};
use super::V3Error;
use crate::math::{mul_div, Q128};
use crate::types::Holder;

/// `Tick.Info` without the oracle fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TickInfo {
    /// Total liquidity of the positions that use this tick as a bound.
    pub liquidity_gross: u128,
    /// Liquidity added when the price crosses the tick left to right.
    pub liquidity_net: i128,
    /// Fee growth per unit of liquidity on the other side of the tick from the current tick,
    /// Q128.128 and wrapping, as the contract keeps it.
    pub fee_growth_outside0: U256,
    pub fee_growth_outside1: U256,
}

/// Who owns a position, and its range: `Position.get`'s key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct V3PositionKey {
    pub owner: Holder,
    pub tick_lower: i32,
    pub tick_upper: i32,
}

/// `Position.Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PositionInfo {
    pub liquidity: u128,
    /// Fee growth inside the range at the last update, Q128.128.
    pub fee_growth_inside0_last: U256,
    pub fee_growth_inside1_last: U256,
    /// Fees and burned principal owed to the owner, collected by [`V3Pool::collect`].
    pub tokens_owed0: u128,
    pub tokens_owed1: u128,
}

/// What a swap did, with every number the contract's `Swap` event carries and more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapOutcome {
    /// The pool's change in token0 and token1: positive in, negative out.
    pub amount0: I256,
    pub amount1: I256,
    pub sqrt_price_before: U256,
    pub tick_before: i32,
    pub sqrt_price_after: U256,
    pub tick_after: i32,
    /// In-range liquidity after the swap.
    pub liquidity_after: u128,
    /// Fees paid to liquidity providers, in the input token.
    pub fee_amount: U256,
    pub fee_growth_global0: U256,
    pub fee_growth_global1: U256,
    /// Initialized ticks crossed, in order.
    pub ticks_crossed: Vec<i32>,
    /// `computeSwapStep` calls (initialized ticks, bitmap word boundaries, the limit).
    pub steps: u32,
}

/// A Uniswap v3 pool: one fee tier and tick spacing, the current price and tick, in-range
/// liquidity, global fee growth, ticks, the tick bitmap and positions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V3Pool {
    /// Fee in hundredths of a basis point (500, 3000, 10000).
    pub fee_pips: u32,
    pub tick_spacing: i32,
    pub max_liquidity_per_tick: u128,
    pub sqrt_price: U256,
    pub tick: i32,
    /// Liquidity in range at the current price.
    pub liquidity: u128,
    pub fee_growth_global0: U256,
    pub fee_growth_global1: U256,
    /// Tokens the pool holds: principal, uncollected fees and owed tokens.
    pub balance0: U256,
    pub balance1: U256,
    ticks: OrdMap<i32, TickInfo>,
    /// Word position to 256 bits, one per compressed tick (`tick / tick_spacing`).
    bitmap: BTreeMap<i16, U256>,
    positions: OrdMap<V3PositionKey, PositionInfo>,
}

/// The fee tiers Uniswap v3's factory enables, with their tick spacings.
pub const FEE_TIERS: [(u32, i32); 4] = [(100, 1), (500, 10), (3000, 60), (10000, 200)];

impl V3Pool {
    /// `UniswapV3Factory.createPool` then `initialize(sqrtPriceX96)`.
    pub fn new(fee_pips: u32, tick_spacing: i32, sqrt_price: U256) -> Result<Self, V3Error> {
        if fee_pips >= 1_000_000 {
            return Err(V3Error::FeeTooHigh { fee_pips });
        }
        if !(1..16384).contains(&tick_spacing) {
            return Err(V3Error::InvalidTickSpacing { tick_spacing });
        }
        let tick = math::tick_at_sqrt_price(sqrt_price)?;
        Ok(Self {
            fee_pips,
            tick_spacing,
            max_liquidity_per_tick: max_liquidity_per_tick(tick_spacing),
            sqrt_price,
            tick,
            liquidity: 0,
            fee_growth_global0: U256::ZERO,
            fee_growth_global1: U256::ZERO,
            balance0: U256::ZERO,
            balance1: U256::ZERO,
            ticks: OrdMap::new(),
            bitmap: BTreeMap::new(),
            positions: OrdMap::new(),
        })
    }

    /// An initialized tick, if any.
    pub fn tick_info(&self, tick: i32) -> Option<&TickInfo> {
        self.ticks.get(&tick)
    }

    /// Initialized ticks, in order.
    pub fn ticks(&self) -> impl Iterator<Item = (&i32, &TickInfo)> {
        self.ticks.iter()
    }

    /// A position, if it exists.
    pub fn position(&self, key: &V3PositionKey) -> Option<&PositionInfo> {
        self.positions.get(key)
    }

    /// Every position, in key order.
    pub fn positions(&self) -> impl Iterator<Item = (&V3PositionKey, &PositionInfo)> {
        self.positions.iter()
    }

    /// `mint`: adds `amount` of liquidity to the owner's position in `[lower, upper)`; returns
    /// the tokens the pool must receive, rounded up. Nothing changes on error.
    pub fn mint(&mut self, key: &V3PositionKey, amount: u128) -> Result<[U256; 2], V3Error> {
        if amount == 0 {
            return Err(V3Error::ZeroAmount);
        }
        let delta = i128::try_from(amount)
            .map_err(|_| V3Error::LiquidityOverflow { liquidity: U256::from(amount) })?;
        let mut next = self.clone();
        let amounts = next.modify_position(key, delta)?;
        let [a0, a1] = amounts.map(|a| a.unsigned_abs());
        next.balance0 = checked_add(next.balance0, a0)?;
        next.balance1 = checked_add(next.balance1, a1)?;
        *self = next;
        Ok([a0, a1])
    }

    /// `burn`: removes `amount` of liquidity (zero to poke the fees owed) and adds the
    /// principal, rounded down, to the tokens owed; returns that principal.
    pub fn burn(&mut self, key: &V3PositionKey, amount: u128) -> Result<[U256; 2], V3Error> {
        let mut next = self.clone();
        let amounts = next.burn_on_copy(key, amount)?;
        *self = next;
        Ok(amounts)
    }

    /// [`Self::burn`] without its copy: on error the pool may be left half changed, so this is
    /// for a pool that is itself a throwaway copy (valuing an exit, for instance).
    pub(crate) fn burn_on_copy(
        &mut self,
        key: &V3PositionKey,
        amount: u128,
    ) -> Result<[U256; 2], V3Error> {
        let delta = i128::try_from(amount)
            .map_err(|_| V3Error::LiquidityOverflow { liquidity: U256::from(amount) })?;
        let amounts = self.modify_position(key, -delta)?;
        let [a0, a1] = amounts.map(|a| a.unsigned_abs());
        if !a0.is_zero() || !a1.is_zero() {
            let position = self.positions.get_mut(key).ok_or(V3Error::NoPosition)?;
            // The contract casts to uint128 and lets the owed amounts wrap; principal that
            // large cannot exist, so the casts here are checked instead.
            position.tokens_owed0 = position.tokens_owed0.wrapping_add(to_u128(a0)?);
            position.tokens_owed1 = position.tokens_owed1.wrapping_add(to_u128(a1)?);
        }
        Ok([a0, a1])
    }

    /// `collect`: pays out up to the requested amounts of what the position is owed.
    pub fn collect(
        &mut self,
        key: &V3PositionKey,
        requested0: u128,
        requested1: u128,
    ) -> Result<[u128; 2], V3Error> {
        let position = self.positions.get_mut(key).ok_or(V3Error::NoPosition)?;
        let amount0 = requested0.min(position.tokens_owed0);
        let amount1 = requested1.min(position.tokens_owed1);
        // The pool holds at least what it owes; checked all the same, before any change.
        let balance0 = self.balance0.checked_sub(U256::from(amount0));
        let balance1 = self.balance1.checked_sub(U256::from(amount1));
        let (Some(balance0), Some(balance1)) = (balance0, balance1) else {
            return Err(overflow("v3 collect beyond the pool's balance"));
        };
        position.tokens_owed0 -= amount0;
        position.tokens_owed1 -= amount1;
        (self.balance0, self.balance1) = (balance0, balance1);
        // Nothing left to earn or collect: forget it. Its last fee growth does not matter, as a
        // later mint into the range multiplies it by zero liquidity.
        if position.liquidity == 0 && position.tokens_owed0 == 0 && position.tokens_owed1 == 0 {
            self.positions.remove(key);
        }
        Ok([amount0, amount1])
    }

    /// `swap`: `amount_specified > 0` is an exact input, `< 0` an exact output, of token0 when
    /// `zero_for_one`; the price stops at `sqrt_price_limit`. Each step ends at the next
    /// initialized tick, at the edge of the current bitmap word, at the limit, or where the
    /// amount runs out, as the contract's loop does. Nothing changes on error.
    pub fn swap(
        &mut self,
        zero_for_one: bool,
        amount_specified: I256,
        sqrt_price_limit: U256,
    ) -> Result<SwapOutcome, V3Error> {
        let (outcome, crossings) =
            self.run_swap(zero_for_one, amount_specified, sqrt_price_limit)?;
        let balance0 = apply_signed(self.balance0, outcome.amount0)?;
        let balance1 = apply_signed(self.balance1, outcome.amount1)?;
        // Every check has passed: commit. Crossing flips each tick's outside growth to the
        // global growth at the moment of the crossing.
        for (tick_crossed, growth) in crossings {
            let (cross0, cross1) = if zero_for_one {
                (growth, self.fee_growth_global1)
            } else {
                (self.fee_growth_global0, growth)
            };
            if let Some(info) = self.ticks.get_mut(&tick_crossed) {
                info.fee_growth_outside0 = cross0.wrapping_sub(info.fee_growth_outside0);
                info.fee_growth_outside1 = cross1.wrapping_sub(info.fee_growth_outside1);
            }
        }
        self.sqrt_price = outcome.sqrt_price_after;
        self.tick = outcome.tick_after;
        self.liquidity = outcome.liquidity_after;
        self.fee_growth_global0 = outcome.fee_growth_global0;
        self.fee_growth_global1 = outcome.fee_growth_global1;
        (self.balance0, self.balance1) = (balance0, balance1);
        Ok(outcome)
    }

    /// What [`Self::swap`] would do, without doing it: the amounts, the price and tick after,
    /// the fee. Exit plans and the optimal split for a range ask this many times per command.
    pub fn quote_swap(
        &self,
        zero_for_one: bool,
        amount_specified: I256,
        sqrt_price_limit: U256,
    ) -> Result<SwapOutcome, V3Error> {
        self.run_swap(zero_for_one, amount_specified, sqrt_price_limit).map(|(outcome, _)| outcome)
    }

    /// The swap loop on a read-only pool: the outcome, and each initialized tick crossed with
    /// the global fee growth (of the input token) at that moment.
    fn run_swap(
        &self,
        zero_for_one: bool,
        amount_specified: I256,
        sqrt_price_limit: U256,
    ) -> Result<(SwapOutcome, Vec<(i32, U256)>), V3Error> {
        if amount_specified.is_zero() {
            return Err(V3Error::ZeroAmount);
        }
        let limit_ok = if zero_for_one {
            sqrt_price_limit < self.sqrt_price && sqrt_price_limit > math::min_sqrt_price()
        } else {
            sqrt_price_limit > self.sqrt_price && sqrt_price_limit < math::max_sqrt_price()
        };
        if !limit_ok {
            return Err(V3Error::PriceLimit {
                limit: sqrt_price_limit,
                sqrt_price: self.sqrt_price,
            });
        }
        let exact_input = amount_specified.is_positive();
        let mut remaining = amount_specified;
        let mut calculated = I256::ZERO;
        let mut sqrt_price = self.sqrt_price;
        let mut tick = self.tick;
        let mut liquidity = self.liquidity;
        let mut fee_growth_global =
            if zero_for_one { self.fee_growth_global0 } else { self.fee_growth_global1 };
        let mut crossings = Vec::new();
        let mut fee_total = U256::ZERO;
        let mut steps = 0u32;

        while !remaining.is_zero() && sqrt_price != sqrt_price_limit {
            steps += 1;
            let start = sqrt_price;
            let (next, initialized) =
                self.next_initialized_tick_within_one_word(tick, zero_for_one);
            let tick_next = next.clamp(MIN_TICK, MAX_TICK);
            let sqrt_price_next = math::sqrt_price_at_tick(tick_next)?;
            let past_limit = if zero_for_one {
                sqrt_price_next < sqrt_price_limit
            } else {
                sqrt_price_next > sqrt_price_limit
            };
            let target = if past_limit { sqrt_price_limit } else { sqrt_price_next };
            let step =
                math::compute_swap_step(sqrt_price, target, liquidity, remaining, self.fee_pips)?;
            sqrt_price = step.sqrt_price_next;
            let paid = signed(checked_add(step.amount_in, step.fee_amount)?)?;
            let received = signed(step.amount_out)?;
            if exact_input {
                remaining = checked_sub_signed(remaining, paid)?;
                calculated = checked_sub_signed(calculated, received)?;
            } else {
                remaining = checked_add_signed(remaining, received)?;
                calculated = checked_add_signed(calculated, paid)?;
            }
            fee_total = checked_add(fee_total, step.fee_amount)?;
            if liquidity > 0 {
                let growth = mul_div(step.fee_amount, Q128, U256::from(liquidity))?;
                fee_growth_global = fee_growth_global.wrapping_add(growth);
            }
            if sqrt_price == sqrt_price_next {
                if initialized {
                    crossings.push((tick_next, fee_growth_global));
                    let net = self.ticks.get(&tick_next).map_or(0, |t| t.liquidity_net);
                    let net = if zero_for_one { net.checked_neg() } else { Some(net) };
                    let net = net.ok_or(V3Error::LiquidityDelta { liquidity, delta: i128::MIN })?;
                    liquidity = math::add_delta(liquidity, net)
                        .map_err(|_| V3Error::LiquidityDelta { liquidity, delta: net })?;
                }
                tick = if zero_for_one { tick_next - 1 } else { tick_next };
            } else if sqrt_price != start {
                tick = math::tick_at_sqrt_price(sqrt_price)?;
            }
        }

        let (g0, g1) = if zero_for_one {
            (fee_growth_global, self.fee_growth_global1)
        } else {
            (self.fee_growth_global0, fee_growth_global)
        };
        let specified_used = checked_sub_signed(amount_specified, remaining)?;
        let (amount0, amount1) = if zero_for_one == exact_input {
            (specified_used, calculated)
        } else {
            (calculated, specified_used)
        };
        // The pool must be able to pay the output; checked here so that a quote fails as the
        // swap would.
        apply_signed(self.balance0, amount0)?;
        apply_signed(self.balance1, amount1)?;
        let ticks_crossed = crossings.iter().map(|c| c.0).collect();
        let outcome = SwapOutcome {
            amount0,
            amount1,
            sqrt_price_before: self.sqrt_price,
            tick_before: self.tick,
            sqrt_price_after: sqrt_price,
            tick_after: tick,
            liquidity_after: liquidity,
            fee_amount: fee_total,
            fee_growth_global0: g0,
            fee_growth_global1: g1,
            ticks_crossed,
            steps,
        };
        Ok((outcome, crossings))
    }

    /// Fee growth inside `[lower, upper)` per unit of liquidity (`Tick.getFeeGrowthInside`),
    /// wrapping as the contract's unchecked arithmetic does.
    pub fn fee_growth_inside(&self, lower: i32, upper: i32) -> [U256; 2] {
        let info = |t: i32| self.ticks.get(&t).copied().unwrap_or_default();
        let (lo, hi) = (info(lower), info(upper));
        let globals = [self.fee_growth_global0, self.fee_growth_global1];
        let outside_lo = [lo.fee_growth_outside0, lo.fee_growth_outside1];
        let outside_hi = [hi.fee_growth_outside0, hi.fee_growth_outside1];
        [0, 1].map(|i| {
            let below = if self.tick >= lower {
                outside_lo[i]
            } else {
                globals[i].wrapping_sub(outside_lo[i])
            };
            let above = if self.tick < upper {
                outside_hi[i]
            } else {
                globals[i].wrapping_sub(outside_hi[i])
            };
            globals[i].wrapping_sub(below).wrapping_sub(above)
        })
    }

    /// Fees the position has earned and not yet been credited, plus what it is owed.
    pub fn owed_with_pending_fees(&self, key: &V3PositionKey) -> Result<[u128; 2], V3Error> {
        let Some(p) = self.positions.get(key) else { return Ok([0, 0]) };
        let inside = self.fee_growth_inside(key.tick_lower, key.tick_upper);
        let last = [p.fee_growth_inside0_last, p.fee_growth_inside1_last];
        let owed = [p.tokens_owed0, p.tokens_owed1];
        let mut out = [0u128; 2];
        for i in 0..2 {
            let fees = mul_div(inside[i].wrapping_sub(last[i]), U256::from(p.liquidity), Q128)?;
            out[i] = owed[i].wrapping_add(truncate_u128(fees));
        }
        Ok(out)
    }

    /// `_modifyPosition`: the position and ticks updated, in-range liquidity adjusted; the
    /// token amounts owed to the pool (positive, rounded up) or by it (negative, rounded down).
    fn modify_position(&mut self, key: &V3PositionKey, delta: i128) -> Result<[I256; 2], V3Error> {
        let (lower, upper) = (key.tick_lower, key.tick_upper);
        self.check_ticks(lower, upper)?;
        self.update_position(key, delta)?;
        if delta == 0 {
            return Ok([I256::ZERO; 2]);
        }
        let (sqrt_lower, sqrt_upper) =
            (math::sqrt_price_at_tick(lower)?, math::sqrt_price_at_tick(upper)?);
        let amounts = if self.tick < lower {
            [amount0_signed(sqrt_lower, sqrt_upper, delta)?, I256::ZERO]
        } else if self.tick < upper {
            let amounts = [
                amount0_signed(self.sqrt_price, sqrt_upper, delta)?,
                amount1_signed(sqrt_lower, self.sqrt_price, delta)?,
            ];
            self.liquidity = math::add_delta(self.liquidity, delta)
                .map_err(|_| V3Error::LiquidityDelta { liquidity: self.liquidity, delta })?;
            amounts
        } else {
            [I256::ZERO, amount1_signed(sqrt_lower, sqrt_upper, delta)?]
        };
        Ok(amounts)
    }

    /// A valid range for this pool: ordered, within the tick bounds, on the spacing.
    pub fn check_ticks(&self, lower: i32, upper: i32) -> Result<(), V3Error> {
        if lower >= upper {
            return Err(V3Error::TicksMisordered { lower, upper });
        }
        for tick in [lower, upper] {
            if !(MIN_TICK..=MAX_TICK).contains(&tick) {
                return Err(V3Error::TickOutOfRange { tick });
            }
            if tick % self.tick_spacing != 0 {
                return Err(V3Error::TickNotSpaced { tick, tick_spacing: self.tick_spacing });
            }
        }
        Ok(())
    }

    /// `_updatePosition`: ticks, bitmap, the position's fees; clears ticks left unused.
    fn update_position(&mut self, key: &V3PositionKey, delta: i128) -> Result<(), V3Error> {
        let (lower, upper) = (key.tick_lower, key.tick_upper);
        let mut flipped = [false, false];
        if delta != 0 {
            flipped[0] = self.update_tick(lower, delta, false)?;
            flipped[1] = self.update_tick(upper, delta, true)?;
            for (tick, flip) in [(lower, flipped[0]), (upper, flipped[1])] {
                if flip {
                    self.flip_tick(tick);
                }
            }
        }
        let inside = self.fee_growth_inside(lower, upper);
        let position = self.positions.entry(key.clone()).or_default();
        let liquidity_next = if delta == 0 {
            if position.liquidity == 0 {
                return Err(V3Error::NoPosition);
            }
            position.liquidity
        } else {
            math::add_delta(position.liquidity, delta)
                .map_err(|_| V3Error::LiquidityDelta { liquidity: position.liquidity, delta })?
        };
        let liquidity = U256::from(position.liquidity);
        let owed0 =
            mul_div(inside[0].wrapping_sub(position.fee_growth_inside0_last), liquidity, Q128)?;
        let owed1 =
            mul_div(inside[1].wrapping_sub(position.fee_growth_inside1_last), liquidity, Q128)?;
        position.liquidity = liquidity_next;
        position.fee_growth_inside0_last = inside[0];
        position.fee_growth_inside1_last = inside[1];
        // `uint128(...)` casts and wrapping sums, as in `Position.update`.
        position.tokens_owed0 = position.tokens_owed0.wrapping_add(truncate_u128(owed0));
        position.tokens_owed1 = position.tokens_owed1.wrapping_add(truncate_u128(owed1));
        if delta < 0 {
            for (tick, flip) in [(lower, flipped[0]), (upper, flipped[1])] {
                if flip {
                    self.ticks.remove(&tick);
                }
            }
        }
        Ok(())
    }

    /// `Tick.update`: returns whether the tick flipped between used and unused.
    fn update_tick(&mut self, tick: i32, delta: i128, upper: bool) -> Result<bool, V3Error> {
        let (current, g0, g1) = (self.tick, self.fee_growth_global0, self.fee_growth_global1);
        let max = self.max_liquidity_per_tick;
        let info = self.ticks.entry(tick).or_default();
        let before = info.liquidity_gross;
        let after = math::add_delta(before, delta)
            .map_err(|_| V3Error::LiquidityDelta { liquidity: before, delta })?;
        if after > max {
            return Err(V3Error::TickLiquidityAboveMax { tick, max });
        }
        let flipped = (after == 0) != (before == 0);
        if before == 0 && tick <= current {
            // By convention all growth before initialization happened below the tick.
            info.fee_growth_outside0 = g0;
            info.fee_growth_outside1 = g1;
        }
        info.liquidity_gross = after;
        let net = if upper {
            info.liquidity_net.checked_sub(delta)
        } else {
            info.liquidity_net.checked_add(delta)
        };
        info.liquidity_net = net.ok_or(V3Error::LiquidityDelta { liquidity: before, delta })?;
        Ok(flipped)
    }

    /// One word of the tick bitmap.
    #[cfg(test)]
    pub(super) fn bitmap_word(&self, word: i16) -> U256 {
        self.bitmap.get(&word).copied().unwrap_or_default()
    }

    /// `TickBitmap.flipTick`.
    fn flip_tick(&mut self, tick: i32) {
        let (word, bit) = bitmap_position(tick / self.tick_spacing);
        let entry = self.bitmap.entry(word).or_default();
        *entry ^= U256::from(1u8) << bit;
        if entry.is_zero() {
            self.bitmap.remove(&word);
        }
    }

    /// `TickBitmap.nextInitializedTickWithinOneWord`: the next initialized tick at or left of
    /// `tick` (`lte`) or right of it, within the same 256-tick word of compressed ticks; when
    /// none is there, the word's edge, uninitialized.
    fn next_initialized_tick_within_one_word(&self, tick: i32, lte: bool) -> (i32, bool) {
        let spacing = self.tick_spacing;
        let mut compressed = tick / spacing;
        if tick < 0 && tick % spacing != 0 {
            compressed -= 1;
        }
        if lte {
            let (word, bit) = bitmap_position(compressed);
            let bits = self.bitmap.get(&word).copied().unwrap_or_default();
            // All bits at or right of `bit`.
            let mask = (U256::from(1u8) << bit) - U256::from(1u8) + (U256::from(1u8) << bit);
            let masked = bits & mask;
            if masked.is_zero() {
                ((compressed - i32::from(bit)) * spacing, false)
            } else {
                let msb = 255 - masked.leading_zeros() as i32;
                ((compressed - (i32::from(bit) - msb)) * spacing, true)
            }
        } else {
            let (word, bit) = bitmap_position(compressed + 1);
            let bits = self.bitmap.get(&word).copied().unwrap_or_default();
            // All bits at or left of `bit`.
            let mask = !((U256::from(1u8) << bit) - U256::from(1u8));
            let masked = bits & mask;
            if masked.is_zero() {
                ((compressed + 1 + (255 - i32::from(bit))) * spacing, false)
            } else {
                let lsb = masked.trailing_zeros() as i32;
                ((compressed + 1 + (lsb - i32::from(bit))) * spacing, true)
            }
        }
    }
}

/// `Tick.tickSpacingToMaxLiquidityPerTick`.
pub fn max_liquidity_per_tick(tick_spacing: i32) -> u128 {
    let min = (MIN_TICK / tick_spacing) * tick_spacing;
    let max = (MAX_TICK / tick_spacing) * tick_spacing;
    let num_ticks = ((max - min) / tick_spacing) as u128 + 1;
    u128::MAX / num_ticks
}

/// `TickBitmap.position`: the word (`compressed >> 8`, arithmetic) and the bit in it.
pub(super) fn bitmap_position(compressed: i32) -> (i16, u8) {
    ((compressed >> 8) as i16, (compressed & 0xff) as u8)
}

/// `SqrtPriceMath.getAmount0Delta(int128)`: up when adding liquidity, down and negative when
/// removing.
fn amount0_signed(a: U256, b: U256, delta: i128) -> Result<I256, V3Error> {
    let amount = math::amount0_delta(a, b, delta.unsigned_abs(), delta > 0)?;
    let amount = signed(amount)?;
    Ok(if delta < 0 { -amount } else { amount })
}

fn amount1_signed(a: U256, b: U256, delta: i128) -> Result<I256, V3Error> {
    let amount = math::amount1_delta(a, b, delta.unsigned_abs(), delta > 0)?;
    let amount = signed(amount)?;
    Ok(if delta < 0 { -amount } else { amount })
}

fn signed(x: U256) -> Result<I256, V3Error> {
    I256::try_from(x).map_err(|_| overflow("int256"))
}

fn overflow(op: &'static str) -> V3Error {
    V3Error::Math(crate::math::MathError::Overflow { op, a: U256::ZERO, b: U256::ZERO })
}

fn checked_add(a: U256, b: U256) -> Result<U256, V3Error> {
    a.checked_add(b).ok_or(V3Error::Math(crate::math::MathError::Overflow { op: "v3 add", a, b }))
}

fn checked_add_signed(a: I256, b: I256) -> Result<I256, V3Error> {
    a.checked_add(b).ok_or_else(|| overflow("v3 swap amount"))
}

fn checked_sub_signed(a: I256, b: I256) -> Result<I256, V3Error> {
    a.checked_sub(b).ok_or_else(|| overflow("v3 swap amount"))
}

/// A balance moved by a signed pool delta (positive in, negative out).
fn apply_signed(balance: U256, delta: I256) -> Result<U256, V3Error> {
    if delta.is_negative() {
        balance.checked_sub(delta.unsigned_abs()).ok_or_else(|| overflow("v3 pool balance"))
    } else {
        checked_add(balance, delta.unsigned_abs())
    }
}

fn to_u128(x: U256) -> Result<u128, V3Error> {
    u128::try_from(x).map_err(|_| V3Error::LiquidityOverflow { liquidity: x })
}

/// Solidity's `uint128(x)`: the low 128 bits.
fn truncate_u128(x: U256) -> u128 {
    let limbs = x.as_limbs();
    u128::from(limbs[0]) | (u128::from(limbs[1]) << 64)
}
