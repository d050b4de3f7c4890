//! Leveraged position commands: open, add collateral, borrow more, close (partial or full),
//! reinvest.

use alloy_primitives::U256;

use super::amm_ops::StakeMove;
use super::{Event, Market, V3Entry};
use crate::amm::v3::V3PositionKey;
use crate::amm::ZapResult;
use crate::math::{Bps, CheckedOps};
use crate::position::config::ADD_COLLATERAL_MARGIN_BPS;
use crate::position::valuation::plan_swap;
use crate::position::{
    range, BorrowSide, ExitMode, LeverageConfig, Position, PositionHealth, TickRange,
};
use crate::types::{Amount, Holder, Name, Venue};
use crate::Error;

impl Market {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn open_position(
        &mut self,
        venue: &Venue,
        owner: &str,
        pool_id: &str,
        range: Option<TickRange>,
        equity: [U256; 2],
        borrow: [U256; 2],
        min_lp: Option<U256>,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let tokens = self.pool_tokens(pool_id)?;
        self.leverage_at(venue, pool_id)?;
        match (range, self.v3_pools.get(pool_id)) {
            (Some(range), Some(entry)) => {
                entry.pool.check_ticks(range.tick_lower, range.tick_upper)?
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(Error::invalid(format!(
                    "{pool_id} is a constant-product pool: open_position, not open_range_position"
                )))
            }
            (None, Some(_)) => {
                return Err(Error::invalid(format!(
                    "{pool_id} is a v3 pool: open_range_position with tick_lower and tick_upper"
                )))
            }
        }
        if equity.iter().chain(&borrow).all(|a| a.is_zero()) {
            return Err(Error::invalid("open_position needs some equity or borrowing"));
        }
        if equity == [U256::ZERO; 2] {
            return Err(Error::invalid(
                "open_position needs equity: a position cannot be all debt",
            ));
        }
        let id = self.next_position;
        self.next_position += 1;
        let holder = Holder::Position(id);
        let position = Position {
            id,
            owner: owner.into(),
            pool: pool_id.into(),
            lp: U256::ZERO,
            range,
            opened_at: self.time,
            open: true,
            venue: venue.clone(),
        };
        self.positions.insert(id, position);
        self.accrue_tokens(venue, &[&tokens[0], &tokens[1]], ev)?;
        for i in 0..2 {
            self.transfer(&Holder::Account(owner.into()), &holder, &tokens[i], equity[i], ev)?;
            self.borrow_for(venue, &holder, &tokens[i], borrow[i], ev)?;
        }
        let amounts = [equity[0].add_or(borrow[0], "open")?, equity[1].add_or(borrow[1], "open")?];
        let lp = self.zap_position(id, amounts, ev)?;
        if let Some(min) = min_lp.filter(|m| lp < *m) {
            return Err(Error::Slippage { got: lp, min });
        }
        self.sweep_to_owner(id, ev)?;
        let health = self.check_work(id)?;
        ev.push(Event::PositionOpened {
            position: id,
            owner: owner.into(),
            pool: pool_id.into(),
            lp: Amount(lp),
            range,
            health: Box::new(health),
        });
        Ok(())
    }

    /// What to borrow to open `equity` (raw units of the pool's two tokens) at
    /// `leverage_bps`: debt worth `E·(L − 1)` at the oracle, in token0, token1, or split so
    /// that token0's debt covers up to the half of the position that the liquidity holds in
    /// it (near neutral), each rounded down. The one sizing rule that the backtester, the
    /// service and quotes use.
    pub fn borrow_for_opening(
        &self,
        pool: &str,
        equity: [U256; 2],
        leverage_bps: u64,
        side: BorrowSide,
    ) -> Result<[U256; 2], Error> {
        let tokens = self.pool_tokens(pool)?;
        let quotes = [self.quote(&tokens[0])?, self.quote(&tokens[1])?];
        let value = quotes[0].value(equity[0])?.add_or(quotes[1].value(equity[1])?, "equity")?;
        if leverage_bps < 10_000 {
            return Err(Error::invalid(format!("leverage {leverage_bps} bps is below 1x")));
        }
        let debt =
            crate::math::mul_div(value, U256::from(leverage_bps - 10_000), U256::from(10_000u64))?;
        let values = match side {
            BorrowSide::Token0 => [debt, U256::ZERO],
            BorrowSide::Token1 => [U256::ZERO, debt],
            BorrowSide::Both => {
                let half = value.add_or(debt, "position value")? / U256::from(2u64);
                [half.min(debt), debt.saturating_sub(half)]
            }
        };
        let mut borrow = [U256::ZERO; 2];
        for i in 0..2 {
            if !values[i].is_zero() {
                if quotes[i].price_wad.is_zero() {
                    return Err(Error::NoPrice { token: tokens[i].to_string() });
                }
                borrow[i] = crate::math::mul_div(values[i], quotes[i].unit, quotes[i].price_wad)?;
            }
        }
        Ok(borrow)
    }

    pub(super) fn add_collateral(
        &mut self,
        caller: &str,
        id: u64,
        amounts: [U256; 2],
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let position = self.owned_position(caller, id)?;
        let tokens = self.pool_tokens(&position.pool)?;
        if amounts == [U256::ZERO; 2] {
            return Err(Error::invalid("add_collateral needs amount0 or amount1"));
        }
        self.accrue_tokens(&position.venue, &[&tokens[0], &tokens[1]], ev)?;
        let before = self.position_health(id)?;
        for i in 0..2 {
            self.transfer(
                &Holder::Account(caller.into()),
                &Holder::Position(id),
                &tokens[i],
                amounts[i],
                ev,
            )?;
        }
        let lp = self.zap_position(id, amounts, ev)?;
        self.sweep_to_owner(id, ev)?;
        let after = self.position_health(id)?;
        if after.value <= before.value {
            return Err(Error::invalid(format!(
                "add_collateral must raise the position's value: {} before, {} after",
                before.value, after.value
            )));
        }
        let kill = self.leverage_for(&position)?.kill_factor_bps.0;
        let limit = kill.saturating_sub(ADD_COLLATERAL_MARGIN_BPS);
        if !after.within(limit)? {
            return Err(Error::AddCollateralMargin {
                debt_ratio_bps: after.debt_ratio_bps,
                kill_factor_bps: kill,
                margin_bps: ADD_COLLATERAL_MARGIN_BPS,
            });
        }
        ev.push(Event::CollateralAdded { position: id, lp: Amount(lp), health: Box::new(after) });
        Ok(())
    }

    /// Borrows more into an open position and zaps it into the position's liquidity, in
    /// place: the raise in leverage that closing and reopening would give, without the exit's
    /// swaps. The result must be within the work factor, as an opening must.
    pub(super) fn borrow_more(
        &mut self,
        caller: &str,
        id: u64,
        borrow: [U256; 2],
        min_lp: Option<U256>,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let position = self.owned_position(caller, id)?;
        let tokens = self.pool_tokens(&position.pool)?;
        if borrow == [U256::ZERO; 2] {
            return Err(Error::invalid("borrow_more needs borrow0 or borrow1"));
        }
        self.accrue_tokens(&position.venue, &[&tokens[0], &tokens[1]], ev)?;
        let holder = Holder::Position(id);
        for i in 0..2 {
            self.borrow_for(&position.venue, &holder, &tokens[i], borrow[i], ev)?;
        }
        let lp = self.zap_position(id, borrow, ev)?;
        if let Some(min) = min_lp.filter(|m| lp < *m) {
            return Err(Error::Slippage { got: lp, min });
        }
        self.sweep_to_owner(id, ev)?;
        let health = self.check_work(id)?;
        ev.push(Event::BorrowedMore {
            position: id,
            borrowed0: Amount(borrow[0]),
            borrowed1: Amount(borrow[1]),
            lp: Amount(lp),
            health: Box::new(health),
        });
        Ok(())
    }

    pub(super) fn close_position(
        &mut self,
        caller: &str,
        id: u64,
        lp: Option<U256>,
        max_repay: [Option<U256>; 2],
        mode: ExitMode,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let position = self.owned_position(caller, id)?;
        let tokens = self.pool_tokens(&position.pool)?;
        let lp_out = lp.unwrap_or(position.lp);
        if lp_out.is_zero() || lp_out > position.lp {
            return Err(Error::invalid(format!(
                "close_position lp must be within 1..={}, got {lp_out}",
                position.lp
            )));
        }
        self.accrue_tokens(&position.venue, &[&tokens[0], &tokens[1]], ev)?;
        let before = self.position_health(id)?;
        let holdings = self.unwind(id, lp_out, ev)?;
        let debt = self.position_debt(self.position(id)?)?;
        let targets = [0, 1].map(|i| max_repay[i].map_or(debt[i], |m| m.min(debt[i])));
        let holdings = self.exit_swap(id, holdings, targets, mode, ev)?;
        let repaid = [0, 1].map(|i| holdings[i].min(targets[i]));
        for i in 0..2 {
            self.repay_for(&position.venue, &Holder::Position(id), &tokens[i], repaid[i], ev)?;
        }
        let fully = self.position(id)?.lp.is_zero();
        let health = if fully {
            let left = [debt[0] - repaid[0], debt[1] - repaid[1]];
            if let Some(i) = (0..2).find(|&i| !left[i].is_zero()) {
                if max_repay[i].is_some_and(|m| m < debt[i]) {
                    return Err(Error::invalid("removing all LP must repay the whole debt: drop max_repay or close part of the LP"));
                }
                return Err(Error::Underwater {
                    position: id,
                    token: tokens[i].to_string(),
                    available: holdings[i],
                    debt: debt[i],
                });
            }
            if let Some(p) = self.positions.get_mut(&id) {
                p.open = false;
            }
            None
        } else {
            Some(self.check_partial_close(id, &before)?)
        };
        let returned = self.sweep_to_owner(id, ev)?;
        if fully {
            self.pay_out_rewards(id, ev)?;
            self.end_orders(id, "the position closed", ev);
        }
        ev.push(Event::PositionClosed {
            position: id,
            lp_removed: Amount(lp_out),
            repaid0: Amount(repaid[0]),
            repaid1: Amount(repaid[1]),
            returned0: Amount(returned[0]),
            returned1: Amount(returned[1]),
            fully,
            health: health.map(Box::new),
        });
        Ok(())
    }

    /// Harvests the position's farm rewards, pays the caller the bounty on them, sells the
    /// rest into a pool token and zaps it back into the position; a range position's fees are
    /// collected and go back in with them.
    pub(super) fn reinvest(
        &mut self,
        caller: &str,
        id: u64,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let position = self.open_position_ref(id)?.clone();
        let holder = Holder::Position(id);
        let fees = self.collect_fees(&position, ev)?;
        let mut amounts = fees;
        let (mut rewards, mut bounty) = (U256::ZERO, U256::ZERO);
        let reward = self.farm_of(&position.pool)?.map(|f| f.reward_token.clone());
        if let Some(reward) = reward {
            self.harvest_position(&position, ev)?;
            // Rewards harvested before (on a stake move) wait in the balance too; fees in the
            // reward token, when it is one of the pool's, are not rewards.
            let tokens = self.pool_tokens(&position.pool)?;
            let fee_side = tokens.iter().position(|t| *t == reward).map_or(U256::ZERO, |i| fees[i]);
            rewards = self.ledger.balance(&holder, &reward) - fee_side;
            if !rewards.is_zero() {
                bounty = self.leverage_for(&position)?.reinvest_bounty_bps.of_floor(rewards)?;
                self.transfer(&holder, &Holder::Account(caller.into()), &reward, bounty, ev)?;
                let (side, amount) =
                    self.sell_rewards_into(&position.pool, &holder, &reward, rewards - bounty, ev)?;
                amounts[side] = amounts[side].add_or(amount, "reinvest")?;
            }
        }
        if amounts == [U256::ZERO; 2] {
            return Err(Error::invalid(format!(
                "position {id} has no fees or rewards to reinvest"
            )));
        }
        let lp = self.zap_position(id, amounts, ev)?;
        self.sweep_to_owner(id, ev)?;
        ev.push(Event::Reinvested {
            position: id,
            caller: caller.into(),
            rewards: Amount(rewards),
            bounty: Amount(bounty),
            fees: position.range.map(|_| fees.map(Amount)),
            lp_added: Amount(lp),
        });
        Ok(())
    }

    /// Pokes a range position and collects its fees into its balance; zero for a
    /// constant-product position, whose fees stay in the reserves.
    pub(super) fn collect_fees(
        &mut self,
        position: &Position,
        ev: &mut Vec<Event>,
    ) -> Result<[U256; 2], Error> {
        let Some(range) = position.range else { return Ok([U256::ZERO; 2]) };
        let holder = Holder::Position(position.id);
        let ticks = (range.tick_lower, range.tick_upper);
        let before = self.pool_balances(&holder, &position.pool)?;
        self.v3_burn(&holder, &position.pool, ticks, Some(Amount(U256::ZERO)), ev)?;
        self.v3_collect(&holder, &position.pool, ticks, (None, None), ev)?;
        let after = self.pool_balances(&holder, &position.pool)?;
        Ok([after[0] - before[0], after[1] - before[1]])
    }

    /// Harvests the position's farm rewards into its balance; what was harvested.
    pub(super) fn harvest_position(
        &mut self,
        position: &Position,
        ev: &mut Vec<Event>,
    ) -> Result<U256, Error> {
        let holder = Holder::Position(position.id);
        let now = self.time;
        let Some(farm) = self.farm_slot_mut(&position.pool)?.as_mut() else {
            return Ok(U256::ZERO);
        };
        let harvested = farm.harvest(&holder, now)?;
        let reward = farm.reward_token.clone();
        self.pay_rewards(&position.pool, &holder, &reward, harvested, ev)?;
        Ok(harvested)
    }

    /// Turns `amount` of the reward token into one of `pool_id`'s tokens: directly when it is
    /// one, else through the first pool (by id) that pairs it with one. Returns (side, amount).
    fn sell_rewards_into(
        &mut self,
        pool_id: &str,
        holder: &Holder,
        reward: &str,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(usize, U256), Error> {
        let tokens = self.pool_tokens(pool_id)?;
        if let Some(side) = tokens.iter().position(|t| t == reward) {
            return Ok((side, amount));
        }
        let route = self.pools.iter().find_map(|(id, p)| {
            let other = p.side(reward).map(|s| p.tokens()[1 - s].to_string())?;
            let side = tokens.iter().position(|t| *t == other)?;
            Some((id.clone(), p.side(reward) == Some(0), side))
        });
        let (route_id, zero_for_one, side) = route.ok_or_else(|| {
            Error::invalid(format!(
                "no pool sells reward token {reward} for {} or {}",
                tokens[0], tokens[1]
            ))
        })?;
        let out = self.swap_for(holder, &route_id, zero_for_one, amount, ev)?;
        Ok((side, out))
    }

    /// Zaps `amounts` (held by the position) into its pool and stakes what that adds: LP on
    /// a constant-product pool, liquidity in its range on a v3 pool. Returns what was added.
    pub(super) fn zap_position(
        &mut self,
        id: u64,
        amounts: [U256; 2],
        ev: &mut Vec<Event>,
    ) -> Result<U256, Error> {
        if self.position(id)?.range.is_some() {
            return Ok(U256::from(self.range_zap(id, amounts, ev)?.liquidity));
        }
        Ok(self.zap_constant_product(id, amounts, ev)?.liquidity)
    }

    fn zap_constant_product(
        &mut self,
        id: u64,
        amounts: [U256; 2],
        ev: &mut Vec<Event>,
    ) -> Result<ZapResult, Error> {
        let pool_id = self.position(id)?.pool.clone();
        let holder = Holder::Position(id);
        let pool = self.pool_mut(&pool_id)?;
        let zap = pool.amm.zap_in(amounts[0], amounts[1])?;
        let tokens = [pool.token0.clone(), pool.token1.clone()];
        for i in 0..2 {
            self.ledger.debit(&holder, &tokens[i], amounts[i])?;
        }
        self.ledger.credit(&holder, &tokens[0], zap.leftover0)?;
        self.ledger.credit(&holder, &tokens[1], zap.leftover1)?;
        if !zap.swap_amount_in.is_zero() {
            let (i, o) = if zap.swap_zero_for_one { (0, 1) } else { (1, 0) };
            ev.push(Event::Swapped {
                holder: holder.clone(),
                pool: pool_id.clone(),
                token_in: tokens[i].clone(),
                amount_in: Amount(zap.swap_amount_in),
                token_out: tokens[o].clone(),
                amount_out: Amount(zap.swap_amount_out),
            });
        }
        if !zap.protocol_fee_liquidity.is_zero() {
            self.ledger.credit(
                &Holder::Treasury,
                &super::ledger::lp_token(&pool_id),
                zap.protocol_fee_liquidity,
            )?;
            ev.push(Event::ProtocolFeeMinted {
                pool: pool_id.clone(),
                liquidity: Amount(zap.protocol_fee_liquidity),
            });
        }
        ev.push(Event::LiquidityAdded {
            holder: holder.clone(),
            pool: pool_id.clone(),
            amount0: Amount(zap.amount0_added),
            amount1: Amount(zap.amount1_added),
            liquidity: Amount(zap.liquidity),
        });
        let position = self
            .positions
            .get_mut(&id)
            .ok_or_else(|| Error::unknown("position", id.to_string()))?;
        position.lp = position.lp.add_or(zap.liquidity, "position lp")?;
        self.move_stake(&pool_id, &holder, zap.liquidity, StakeMove::Stake, ev)?;
        Ok(zap)
    }

    /// Unstakes and burns `lp` of the position (on a v3 pool: burns that much liquidity and
    /// collects it with every fee owed); the tokens land in its ledger balance.
    pub(crate) fn unwind(
        &mut self,
        id: u64,
        lp: U256,
        ev: &mut Vec<Event>,
    ) -> Result<[U256; 2], Error> {
        if self.position(id)?.range.is_some() {
            return self.range_unwind(id, lp, ev);
        }
        let pool_id = self.position(id)?.pool.clone();
        let holder = Holder::Position(id);
        self.move_stake(&pool_id, &holder, lp, StakeMove::Unstake, ev)?;
        let position = self
            .positions
            .get_mut(&id)
            .ok_or_else(|| Error::unknown("position", id.to_string()))?;
        position.lp -= lp;
        self.burn_lp(&pool_id, &holder, lp, ev)?;
        self.pool_balances(&holder, &pool_id)
    }

    /// Swaps the position's holdings toward `debt` as `mode` says; returns the new holdings.
    pub(crate) fn exit_swap(
        &mut self,
        id: u64,
        have: [U256; 2],
        debt: [U256; 2],
        mode: ExitMode,
        ev: &mut Vec<Event>,
    ) -> Result<[U256; 2], Error> {
        let position = self.position(id)?;
        let (pool_id, ranged) = (position.pool.clone(), position.range.is_some());
        let holder = Holder::Position(id);
        if ranged {
            // Through the v3 pool's swap loop, planned on a quote of it.
            let pool = &self.v3_pool(&pool_id)?.pool;
            let Some(swap) = range::plan_exit_swap(pool, have, debt, mode)? else {
                return Ok(have);
            };
            let exact = (Some(Amount(swap.amount_in)), None);
            self.v3_swap(&holder, &pool_id, swap.zero_for_one, exact, None, ev)?;
        } else {
            let pool = self.pool(&pool_id)?;
            let reserves = [pool.amm.reserve0, pool.amm.reserve1];
            let Some(swap) = plan_swap(reserves, have, debt, mode, pool.amm.fee)? else {
                return Ok(have);
            };
            self.swap_for(&holder, &pool_id, swap.zero_for_one, swap.amount_in, ev)?;
        }
        self.pool_balances(&holder, &pool_id)
    }

    /// Hands the position's leftover pool tokens to its owner; returns what moved.
    pub(crate) fn sweep_to_owner(
        &mut self,
        id: u64,
        ev: &mut Vec<Event>,
    ) -> Result<[U256; 2], Error> {
        let position = self.position(id)?.clone();
        let tokens = self.pool_tokens(&position.pool)?;
        let (from, to) = (Holder::Position(id), Holder::Account(position.owner.clone()));
        let mut moved = [U256::ZERO; 2];
        for i in 0..2 {
            moved[i] = self.ledger.balance(&from, &tokens[i]);
            self.transfer(&from, &to, &tokens[i], moved[i], ev)?;
        }
        Ok(moved)
    }

    /// Hands a closed position's unreinvested farm rewards to its owner.
    pub(crate) fn pay_out_rewards(&mut self, id: u64, ev: &mut Vec<Event>) -> Result<(), Error> {
        let position = self.position(id)?.clone();
        let Some(reward) = self.farm_of(&position.pool)?.map(|f| f.reward_token.clone()) else {
            return Ok(());
        };
        let from = Holder::Position(id);
        let amount = self.ledger.balance(&from, &reward);
        self.transfer(&from, &Holder::Account(position.owner), &reward, amount, ev)
    }

    /// Minimum debt and work factor: what any open or adjustment must leave.
    fn check_work(&self, id: u64) -> Result<PositionHealth, Error> {
        let position = self.position(id)?;
        let leverage = self.leverage_for(position)?;
        let health = self.position_health(id)?;
        for (i, token) in self.pool_tokens(&position.pool)?.into_iter().enumerate() {
            if !health.debt[i].is_zero() && health.debt[i] < leverage.min_debt {
                return Err(Error::DebtBelowMinimum {
                    token: token.to_string(),
                    debt: health.debt[i],
                    min_debt: leverage.min_debt,
                });
            }
        }
        let work = leverage.work_factor_bps;
        if !health.within(work.0)? {
            return Err(Error::DebtRatioTooHigh {
                debt_ratio_bps: health.debt_ratio_bps,
                work_factor_bps: work.0,
            });
        }
        Ok(health)
    }

    /// A partial close must leave the position within the work factor, or at least no more
    /// indebted than it was: deleveraging a position that drifted past the work factor is
    /// always allowed, taking equity out of it is not.
    pub(super) fn check_partial_close(
        &self,
        id: u64,
        before: &PositionHealth,
    ) -> Result<PositionHealth, Error> {
        match self.check_work(id) {
            Err(Error::DebtRatioTooHigh { debt_ratio_bps, .. })
                if debt_ratio_bps <= before.debt_ratio_bps =>
            {
                self.position_health(id)
            }
            other => other,
        }
    }

    pub(super) fn owned_position(&self, caller: &str, id: u64) -> Result<Position, Error> {
        let position = self.open_position_ref(id)?;
        if position.owner != caller {
            return Err(Error::NotOwner { position: id, caller: caller.into() });
        }
        Ok(position.clone())
    }

    pub(crate) fn open_position_ref(&self, id: u64) -> Result<&Position, Error> {
        let position = self.position(id)?;
        if !position.open {
            return Err(Error::PositionClosed { position: id });
        }
        Ok(position)
    }

    /// The two tokens of a pool of either kind.
    pub(crate) fn pool_tokens(&self, pool_id: &str) -> Result<[Name; 2], Error> {
        if let Some(pool) = self.pools.get(pool_id) {
            return Ok([pool.token0.clone(), pool.token1.clone()]);
        }
        let entry = self.v3_pool(pool_id)?;
        Ok([entry.token0.clone(), entry.token1.clone()])
    }

    /// The leverage rules a position follows: its venue's on its pool.
    pub(crate) fn leverage_for(&self, position: &Position) -> Result<&LeverageConfig, Error> {
        self.leverage_at(&position.venue, &position.pool)
    }

    /// The leverage rules of a pool of either kind at `venue`: the pool's own at the main
    /// venue (a v3 pool created without them has none), the venue's elsewhere.
    pub(crate) fn leverage_at(
        &self,
        venue: &Venue,
        pool_id: &str,
    ) -> Result<&LeverageConfig, Error> {
        if !venue.is_main() {
            self.pool_tokens(pool_id)?;
            return self.venue_leverage.get(venue).and_then(|p| p.get(pool_id)).ok_or_else(|| {
                Error::invalid(format!(
                    "venue {venue} offers no leverage on pool {pool_id}: set_venue_leverage first"
                ))
            });
        }
        if let Some(pool) = self.pools.get(pool_id) {
            return Ok(&pool.leverage);
        }
        self.v3_pool(pool_id)?.leverage.as_ref().ok_or_else(|| {
            Error::invalid(format!(
                "v3 pool {pool_id} has no leverage rules: create it with \"leverage\" to open \
                 positions on it"
            ))
        })
    }

    /// A range position's v3 pool and its key there; `None` for a constant-product position.
    pub(crate) fn range_of(
        &self,
        position: &Position,
    ) -> Result<Option<(&V3Entry, V3PositionKey)>, Error> {
        let Some(range) = position.range else { return Ok(None) };
        let key = V3PositionKey {
            owner: Holder::Position(position.id),
            tick_lower: range.tick_lower,
            tick_upper: range.tick_upper,
        };
        Ok(Some((self.v3_pool(&position.pool)?, key)))
    }
}

/// A share in bps of an amount, rounded down.
pub(crate) fn share(bps: Bps, amount: U256) -> Result<U256, Error> {
    Ok(bps.of_floor(amount)?)
}
