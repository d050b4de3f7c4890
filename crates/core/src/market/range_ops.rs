//! Leveraged range positions on v3 pools: what differs from a constant-product position.
//!
//! Opening, adding collateral, closing, reinvesting and liquidating run the same handlers as
//! for constant-product positions (`position_ops`, `liquidation`); they call here to put
//! tokens into the range ([`Market::range_zap`]: the optimal split, one swap through the pool,
//! a mint), to take them out ([`Market::range_unwind`]: burn and collect principal and fees)
//! and `exit_swap` plans its conversion toward the debt with [`range::plan_exit_swap`].
//! Re-centring, collecting and arbitrage against the oracle are v3-only.

use alloy_primitives::{I256, U256};

use super::amm_ops::StakeMove;
use super::event::PositionRecentered;
use super::{Event, Market};
use crate::amm::v3::{math, SwapOutcome};
use crate::math::CheckedOps;
use crate::position::range::{self, TickRange};
use crate::position::valuation::holdings_value;
use crate::position::Position;
use crate::types::{Amount, Holder, SignedAmount};
use crate::Error;

/// What putting tokens into a range did.
#[derive(Debug)]
pub(super) struct RangeZap {
    pub liquidity: u128,
    /// The swap to the range's mix, if one was needed.
    pub swap: Option<SwapOutcome>,
}

/// An exact input no swap will use up: only its price limit stops it.
fn unbounded() -> Amount {
    Amount(U256::from(1) << 200)
}

impl Market {
    /// Puts `amounts`, held by the position, into its range: the optimal split's swap, then
    /// the most liquidity the result backs, staked in the pool's farm. Leftover dust stays
    /// in the position's balance for the caller to sweep.
    pub(super) fn range_zap(
        &mut self,
        id: u64,
        amounts: [U256; 2],
        ev: &mut Vec<Event>,
    ) -> Result<RangeZap, Error> {
        let position = self.position(id)?.clone();
        let range = expect_range(&position)?;
        let holder = Holder::Position(id);
        let pool_id = position.pool.as_str();
        let plan = range::optimal_split(&self.v3_pool(pool_id)?.pool, range, amounts)?;
        let mut have = amounts;
        let mut swap = None;
        if let Some(plan) = plan {
            let exact = (Some(Amount(plan.amount_in)), None);
            let out = self.v3_swap(&holder, pool_id, plan.zero_for_one, exact, None, ev)?;
            // The quote ran the same loop on the same pool: the plan is what happened.
            have = plan.apply(have)?;
            swap = Some(out);
        }
        let sqrt_price = self.v3_pool(pool_id)?.pool.sqrt_price;
        let (a, b) = range.sqrt_prices()?;
        let mut liquidity = math::liquidity_for_amounts(sqrt_price, a, b, have[0], have[1])?;
        // The mint rounds its amounts up, `LiquidityAmounts` rounds liquidity down: step down
        // in the rare case where the two roundings ask one unit more than the position holds.
        while liquidity > 0 {
            let need = range::range_amounts_up(range, sqrt_price, liquidity)?;
            if need[0] <= have[0] && need[1] <= have[1] {
                break;
            }
            liquidity -= 1;
        }
        if liquidity == 0 {
            return Err(Error::invalid(format!(
                "{} and {} of the pool's tokens add no liquidity to [{}, {})",
                have[0], have[1], range.tick_lower, range.tick_upper
            )));
        }
        let ticks = (range.tick_lower, range.tick_upper);
        let added = Amount(U256::from(liquidity));
        self.v3_mint(&holder, pool_id, ticks, Some(added), (None, None), ev)?;
        self.move_stake(pool_id, &holder, added.0, StakeMove::Stake, ev)?;
        self.position_mut(id)?.lp += added.0;
        Ok(RangeZap { liquidity, swap })
    }

    /// Unstakes and burns `liquidity` of the range and collects it with every fee owed; the
    /// tokens land in the position's balance, which is returned.
    pub(super) fn range_unwind(
        &mut self,
        id: u64,
        liquidity: U256,
        ev: &mut Vec<Event>,
    ) -> Result<[U256; 2], Error> {
        let position = self.position(id)?.clone();
        let range = expect_range(&position)?;
        let holder = Holder::Position(id);
        let ticks = (range.tick_lower, range.tick_upper);
        self.move_stake(&position.pool, &holder, liquidity, StakeMove::Unstake, ev)?;
        self.v3_burn(&holder, &position.pool, ticks, Some(Amount(liquidity)), ev)?;
        self.v3_collect(&holder, &position.pool, ticks, (None, None), ev)?;
        self.position_mut(id)?.lp -= liquidity;
        self.pool_balances(&holder, &position.pool)
    }

    /// Trades a v3 pool to the oracle price as an arbitrageur would: only while it pays after
    /// the fee, so the pool stops where its price net of the fee meets the oracle's.
    pub(super) fn v3_arbitrage(
        &mut self,
        account: &str,
        pool_id: &str,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let entry = self.v3_pool(pool_id)?;
        let quotes = [self.quote_of(entry.token_ids[0])?, self.quote_of(entry.token_ids[1])?];
        let Some((zero_for_one, limit)) = range::arbitrage_target(&entry.pool, quotes)? else {
            return Ok(());
        };
        let holder = Holder::Account(account.into());
        self.v3_swap(
            &holder,
            pool_id,
            zero_for_one,
            (Some(unbounded()), None),
            Some(Amount(limit)),
            ev,
        )
        .map(drop)
    }

    /// Moves a range position to a range of `width` ticks centred on the pool's tick.
    pub(super) fn recenter(
        &mut self,
        caller: &str,
        id: u64,
        width: Option<i32>,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let position = self.owned_position(caller, id)?;
        let from = expect_range(&position)?;
        let tokens = self.pool_tokens(&position.pool)?;
        self.accrue_tokens(&position.venue, &[&tokens[0], &tokens[1]], ev)?;
        let before = self.position_health(id)?;
        let kill = self.leverage_for(&position)?.kill_factor_bps.0;
        let pool = &self.v3_pool(&position.pool)?.pool;
        let width = width.unwrap_or(from.tick_upper - from.tick_lower);
        if width <= 0 {
            return Err(Error::invalid(format!("recenter width must be positive, got {width}")));
        }
        let to = TickRange::centred(pool.tick, width, pool.tick_spacing)?;
        if to == from {
            return Err(Error::invalid(format!(
                "position {id} is already centred: [{}, {}) around tick {}",
                from.tick_lower, from.tick_upper, pool.tick
            )));
        }
        let removed = self.range_unwind(id, position.lp, ev)?;
        self.position_mut(id)?.range = Some(to);
        let zap = self.range_zap(id, removed, ev)?;
        let returned = self.sweep_to_owner(id, ev)?;
        let after = self.position_health(id)?;
        if !after.within(kill)? {
            return Err(Error::invalid(format!(
                "re-centring position {id} would leave its debt ratio at {} bps, past the kill \
                 factor of {kill} bps",
                after.debt_ratio_bps
            )));
        }
        let quotes = [self.quote(&tokens[0])?, self.quote(&tokens[1])?];
        let returned_value = holdings_value(returned, quotes)?;
        let signed =
            |v: U256| I256::try_from(v).map_err(|_| Error::invalid("position value above 2^255"));
        let kept = after.value_oracle.add_or(returned_value, "recenter cost")?;
        let cost = signed(before.value_oracle)? - signed(kept)?;
        let swap = zap.swap.as_ref();
        let side = |s: &SwapOutcome, input: bool| {
            let [d0, d1] = [s.amount0, s.amount1];
            let first = if input { s.amount0.is_positive() } else { s.amount0.is_negative() };
            Amount(if first { d0.unsigned_abs() } else { d1.unsigned_abs() })
        };
        ev.push(Event::PositionRecentered(Box::new(PositionRecentered {
            position: id,
            from,
            to,
            liquidity_before: Amount(position.lp),
            liquidity_after: Amount(U256::from(zap.liquidity)),
            removed0: Amount(removed[0]),
            removed1: Amount(removed[1]),
            swap_zero_for_one: swap.map(|s| s.amount0.is_positive()),
            swap_amount_in: swap.map(|s| side(s, true)).unwrap_or_default(),
            swap_amount_out: swap.map(|s| side(s, false)).unwrap_or_default(),
            swap_fee: Amount(swap.map(|s| s.fee_amount).unwrap_or_default()),
            returned0: Amount(returned[0]),
            returned1: Amount(returned[1]),
            value_before: Amount(before.value_oracle),
            value_after: Amount(after.value_oracle),
            cost: SignedAmount(cost),
            health: after,
        })));
        Ok(())
    }

    /// Pays a position's fees (range positions: poke and collect) and its farm rewards to
    /// the owner. What it takes out of a range counts against the work factor as a partial
    /// close does.
    pub(super) fn collect_position(
        &mut self,
        caller: &str,
        id: u64,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let position = self.owned_position(caller, id)?;
        let tokens = self.pool_tokens(&position.pool)?;
        self.accrue_tokens(&position.venue, &[&tokens[0], &tokens[1]], ev)?;
        let before = self.position_health(id)?;
        let fees = self.collect_fees(&position, ev)?;
        let rewards = self.harvest_position(&position, ev)?;
        if fees == [U256::ZERO; 2] && rewards.is_zero() {
            return Err(Error::invalid(format!("position {id} has no fees or rewards to collect")));
        }
        self.sweep_to_owner(id, ev)?;
        self.pay_out_rewards(id, ev)?;
        let health = self.check_partial_close(id, &before)?;
        ev.push(Event::PositionCollected {
            position: id,
            fees0: Amount(fees[0]),
            fees1: Amount(fees[1]),
            rewards: Amount(rewards),
            health: Box::new(health),
        });
        Ok(())
    }

    /// `holder`'s balances of the pool's two tokens.
    pub(super) fn pool_balances(&self, holder: &Holder, pool_id: &str) -> Result<[U256; 2], Error> {
        let tokens = self.pool_tokens(pool_id)?;
        Ok([self.ledger.balance(holder, &tokens[0]), self.ledger.balance(holder, &tokens[1])])
    }

    fn position_mut(&mut self, id: u64) -> Result<&mut Position, Error> {
        self.positions.get_mut(&id).ok_or_else(|| Error::unknown("position", id.to_string()))
    }
}

fn expect_range(position: &Position) -> Result<TickRange, Error> {
    position.range.ok_or_else(|| {
        Error::invalid(format!("position {} is not a range position on a v3 pool", position.id))
    })
}
