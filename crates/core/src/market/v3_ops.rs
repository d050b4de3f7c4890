//! Uniswap v3 commands: pools, range liquidity (mint, burn, collect), swaps.
//!
//! Each command is atomic on its own: the pool's change is computed on a copy, the ledger is
//! checked, and only then do both change.

use alloy_primitives::{I256, U256};

use super::event::{V3Liquidity, V3Swapped};
use super::{Event, Market};
use crate::amm::v3::{math, SwapOutcome, V3Pool, V3PositionKey, FEE_TIERS};
use crate::farm::Farm;
use crate::math::CheckedOps;
use crate::position::LeverageConfig;
use crate::types::{Amount, Holder, Name, SignedAmount};
use crate::Error;

/// A Uniswap v3 pool with the market's tokens, and, where leveraged range positions may open
/// on it, its leverage rules and farm.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct V3Entry {
    pub token0: Name,
    pub token1: Name,
    pub pool: V3Pool,
    pub leverage: Option<LeverageConfig>,
    /// Rewards per unit of staked liquidity (a MasterChef on the positions' liquidity), paid
    /// whether or not the range is in range.
    pub farm: Option<Farm>,
    /// Where `token0` and `token1` sit in the market's token list.
    pub(super) token_ids: [usize; 2],
}

/// `pool`'s JSON-facing liquidity: a `u128`, refused above.
fn liquidity(field: &'static str, amount: Amount) -> Result<u128, Error> {
    u128::try_from(amount.0).map_err(|_| Error::InvalidConfig {
        field,
        value: amount.0.to_string(),
        reason: "must fit in 128 bits",
    })
}

fn exactly_one<T: Copy>(
    a: Option<T>,
    b: Option<T>,
    fields: &'static str,
) -> Result<(Option<T>, Option<T>), Error> {
    if a.is_some() == b.is_some() {
        return Err(Error::invalid(format!("give exactly one of {fields}")));
    }
    Ok((a, b))
}

impl Market {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn create_v3_pool(
        &mut self,
        id: &str,
        token0: &str,
        token1: &str,
        fee_pips: u32,
        tick_spacing: Option<i32>,
        price: (Option<Amount>, Option<i32>),
        leverage: Option<&LeverageConfig>,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        self.check_new_pool(id, token0, token1)?;
        if let Some(leverage) = leverage {
            leverage.validate()?;
        }
        let spacing = match tick_spacing {
            Some(spacing) => spacing,
            None => FEE_TIERS.iter().find(|(fee, _)| *fee == fee_pips).map(|t| t.1).ok_or_else(
                || {
                    Error::invalid(format!(
                        "fee_pips {fee_pips} is not a factory tier (100, 500, 3000, 10000): \
                         give tick_spacing"
                    ))
                },
            )?,
        };
        let sqrt_price = match price {
            (Some(sqrt), None) => sqrt.0,
            (None, Some(tick)) => math::sqrt_price_at_tick(tick)?,
            _ => return Err(Error::invalid("give exactly one of sqrt_price_x96, tick")),
        };
        let pool = V3Pool::new(fee_pips, spacing, sqrt_price)?;
        ev.push(Event::V3PoolCreated {
            pool: id.into(),
            token0: token0.into(),
            token1: token1.into(),
            fee_pips,
            tick_spacing: spacing,
            sqrt_price_x96: Amount(pool.sqrt_price),
            tick: pool.tick,
        });
        let entry = V3Entry {
            token0: token0.into(),
            token1: token1.into(),
            pool,
            leverage: leverage.cloned(),
            farm: None,
            token_ids: [self.token_id(token0)?, self.token_id(token1)?],
        };
        self.v3_pools.insert(id.into(), entry);
        Ok(())
    }

    pub(crate) fn v3_pool(&self, id: &str) -> Result<&V3Entry, Error> {
        self.v3_pools.get(id).ok_or_else(|| Error::unknown("v3 pool", id))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn v3_mint(
        &mut self,
        holder: &Holder,
        id: &str,
        ticks: (i32, i32),
        amount: Option<Amount>,
        desired: (Option<Amount>, Option<Amount>),
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let entry = self.v3_pool(id)?;
        let key = V3PositionKey { owner: holder.clone(), tick_lower: ticks.0, tick_upper: ticks.1 };
        let amount = match (amount, desired) {
            (Some(l), (None, None)) => liquidity("liquidity", l)?,
            (None, (a0, a1)) if a0.is_some() || a1.is_some() => {
                let p = &entry.pool;
                let (a, b) =
                    (math::sqrt_price_at_tick(ticks.0)?, math::sqrt_price_at_tick(ticks.1)?);
                let (a0, a1) = (a0.unwrap_or_default().0, a1.unwrap_or_default().0);
                math::liquidity_for_amounts(p.sqrt_price, a, b, a0, a1)?
            }
            _ => return Err(Error::invalid("give liquidity, or amount0 and/or amount1, not both")),
        };
        let mut pool = entry.pool.clone();
        let paid = pool.mint(&key, amount)?;
        let (t0, t1) = (entry.token0.clone(), entry.token1.clone());
        // Both checked before either moves: this command changes the market in place.
        self.ledger.require(holder, &t0, paid[0])?;
        self.ledger.require(holder, &t1, paid[1])?;
        self.ledger.debit(holder, &t0, paid[0])?;
        self.ledger.debit(holder, &t1, paid[1])?;
        self.set_v3_pool(id, pool);
        ev.push(Event::V3Minted(liquidity_event(id, &key, amount, paid)));
        Ok(())
    }

    pub(super) fn v3_burn(
        &mut self,
        holder: &Holder,
        id: &str,
        ticks: (i32, i32),
        amount: Option<Amount>,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let entry = self.v3_pool(id)?;
        let key = V3PositionKey { owner: holder.clone(), tick_lower: ticks.0, tick_upper: ticks.1 };
        let held = entry.pool.position(&key).map_or(0, |p| p.liquidity);
        let amount = match amount {
            Some(a) => liquidity("liquidity", a)?,
            None => held,
        };
        let mut pool = entry.pool.clone();
        let out = pool.burn(&key, amount)?;
        self.set_v3_pool(id, pool);
        ev.push(Event::V3Burned(liquidity_event(id, &key, amount, out)));
        Ok(())
    }

    pub(super) fn v3_collect(
        &mut self,
        holder: &Holder,
        id: &str,
        ticks: (i32, i32),
        max: (Option<Amount>, Option<Amount>),
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let entry = self.v3_pool(id)?;
        let key = V3PositionKey { owner: holder.clone(), tick_lower: ticks.0, tick_upper: ticks.1 };
        // Above 2^128 asks for everything, as `type(uint128).max` does.
        let cap =
            |m: Option<Amount>| m.map_or(u128::MAX, |m| u128::try_from(m.0).unwrap_or(u128::MAX));
        let mut pool = entry.pool.clone();
        let got = pool.collect(&key, cap(max.0), cap(max.1))?;
        let (t0, t1) = (entry.token0.clone(), entry.token1.clone());
        let got = got.map(U256::from);
        for (token, amount) in [(&t0, got[0]), (&t1, got[1])] {
            self.ledger.balance(holder, token).add_or(amount, "collect")?;
        }
        self.ledger.credit(holder, &t0, got[0])?;
        self.ledger.credit(holder, &t1, got[1])?;
        self.set_v3_pool(id, pool);
        ev.push(Event::V3Collected {
            pool: id.into(),
            owner: holder.clone(),
            tick_lower: ticks.0,
            tick_upper: ticks.1,
            amount0: Amount(got[0]),
            amount1: Amount(got[1]),
        });
        Ok(())
    }

    /// A swap on a v3 pool by `holder`; returns what it did.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn v3_swap(
        &mut self,
        holder: &Holder,
        id: &str,
        zero_for_one: bool,
        exact: (Option<Amount>, Option<Amount>),
        limit: Option<Amount>,
        ev: &mut Vec<Event>,
    ) -> Result<SwapOutcome, Error> {
        let entry = self.v3_pool(id)?;
        let specified = match exactly_one(exact.0, exact.1, "amount_in, amount_out")? {
            (Some(a), _) => signed("amount_in", a.0)?,
            (_, Some(a)) => -signed("amount_out", a.0)?,
            _ => return Err(Error::invalid("give exactly one of amount_in, amount_out")),
        };
        let limit = match limit {
            Some(l) => l.0,
            None if zero_for_one => math::min_sqrt_price() + U256::from(1),
            None => math::max_sqrt_price() - U256::from(1),
        };
        let mut pool = entry.pool.clone();
        let out = pool.swap(zero_for_one, specified, limit)?;
        let (t0, t1) = (entry.token0.clone(), entry.token1.clone());
        let (paid, got) = if zero_for_one {
            ((&t0, out.amount0), (&t1, out.amount1))
        } else {
            ((&t1, out.amount1), (&t0, out.amount0))
        };
        // The input side is positive, the output side zero or negative.
        self.ledger.exchange(
            holder,
            (paid.0, paid.1.unsigned_abs()),
            (got.0, got.1.unsigned_abs()),
        )?;
        self.set_v3_pool(id, pool);
        ev.push(Event::V3Swapped(Box::new(V3Swapped {
            pool: id.into(),
            holder: holder.clone(),
            zero_for_one,
            amount0: SignedAmount(out.amount0),
            amount1: SignedAmount(out.amount1),
            sqrt_price_x96_before: Amount(out.sqrt_price_before),
            tick_before: out.tick_before,
            sqrt_price_x96: Amount(out.sqrt_price_after),
            tick: out.tick_after,
            liquidity: Amount(U256::from(out.liquidity_after)),
            fee_amount: Amount(out.fee_amount),
            fee_growth_global0_x128: Amount(out.fee_growth_global0),
            fee_growth_global1_x128: Amount(out.fee_growth_global1),
            ticks_crossed: out.ticks_crossed.clone(),
        })));
        Ok(out)
    }

    fn set_v3_pool(&mut self, id: &str, pool: V3Pool) {
        if let Some(entry) = self.v3_pools.get_mut(id) {
            entry.pool = pool;
        }
    }
}

fn liquidity_event(
    id: &str,
    key: &V3PositionKey,
    liquidity: u128,
    amounts: [U256; 2],
) -> V3Liquidity {
    V3Liquidity {
        pool: id.into(),
        owner: key.owner.clone(),
        tick_lower: key.tick_lower,
        tick_upper: key.tick_upper,
        liquidity: Amount(U256::from(liquidity)),
        amount0: Amount(amounts[0]),
        amount1: Amount(amounts[1]),
    }
}

fn signed(field: &'static str, amount: U256) -> Result<I256, Error> {
    I256::try_from(amount).ok().filter(|a| !a.is_zero()).ok_or_else(|| Error::InvalidConfig {
        field,
        value: amount.to_string(),
        reason: "must be above zero and below 2^255",
    })
}
