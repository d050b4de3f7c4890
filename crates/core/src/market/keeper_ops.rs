//! Protection orders in the market: placing and cancelling them, and the keepers that run
//! them and then the liquidators ([`crate::orders`] has the decision and its order).
//!
//! A keeper run never fails as a whole: an order whose action the engine refuses is skipped
//! with the reason in an `order_skipped` event, and the market is as it was before that order.

use alloy_primitives::{I256, U256};

use super::{Event, Market};
use crate::math::{mul_div, WAD};
use crate::orders::{Ask, Order, OrderKind, OrderStatus, Seen, MAX_ORDERS_PER_POSITION};
use crate::position::{ExitMode, PositionHealth};
use crate::types::{Amount, Holder, Name};
use crate::Error;

/// Basis points in one.
const BPS: u64 = 10_000;

/// What an action did: a line for its event, or why it did nothing.
enum Outcome {
    Acted(String),
    Nothing(String),
}

impl Market {
    /// All orders ever placed, by id.
    pub fn orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.values()
    }

    /// One order.
    pub fn order(&self, id: u64) -> Option<&Order> {
        self.orders.get(&id)
    }

    /// The active orders in the order keepers run them: positions by id, then each position's
    /// orders by class and id (see [`crate::orders`]).
    pub fn keeper_sequence(&self) -> Vec<u64> {
        let mut active: Vec<(u64, u8, u64)> = self
            .orders
            .values()
            .filter(|o| o.status == OrderStatus::Active)
            .map(|o| (o.position, o.kind.rank(), o.id))
            .collect();
        active.sort_unstable();
        active.into_iter().map(|(_, _, id)| id).collect()
    }

    /// The pool's price, token0 in token1, 1e18, rounded down: what price triggers compare.
    pub fn pool_price(&self, pool: &str) -> Result<U256, Error> {
        let tokens = self.pool_tokens(pool)?;
        let (q0, q1) = (self.quote(&tokens[0])?, self.quote(&tokens[1])?);
        if q1.price_wad.is_zero() {
            return Err(Error::NoPrice { token: tokens[1].to_string() });
        }
        Ok(mul_div(q0.price_wad, WAD, q1.price_wad)?)
    }

    /// A position's own equity at the oracle, numeraire 1e18: its liquidity's tokens at the
    /// oracle price, fees owed and farm rewards, less its debt, each rounded down.
    pub fn position_equity(&self, id: u64) -> Result<I256, Error> {
        let inventory = self.position_inventory(id)?;
        let reward = match &inventory.rewards {
            Some((token, amount)) if !amount.is_zero() => Some((self.quote(token)?, *amount)),
            _ => None,
        };
        inventory.equity(reward)
    }

    /// What a keeper sees of an open position, computing only what `kind` needs: a debt
    /// ratio and leverage of 0 (and no debt) where it watches neither, no equity where it
    /// does not watch equity, a price of 0 where it watches only the clock.
    pub fn seen(&self, id: u64, kind: Option<&OrderKind>) -> Result<Seen, Error> {
        let position = self.open_position_ref(id)?;
        // A valuation only for the orders that watch the debt ratio or leverage.
        let needs_health = kind.is_none_or(|k| {
            matches!(
                k,
                OrderKind::Deleverage { .. }
                    | OrderKind::TopUp { .. }
                    | OrderKind::Rebalance { .. }
            )
        });
        let needs_price = kind
            .is_none_or(|k| !matches!(k, OrderKind::Compound { .. } | OrderKind::TimeLimit { .. }));
        let health = if needs_health { Some(self.position_health(id)?) } else { None };
        let out_of_range = match self.range_of(position)? {
            Some((entry, _)) => position.range.is_some_and(|r| !r.contains(entry.pool.tick)),
            None => false,
        };
        let price = if needs_price { self.pool_price(&position.pool)? } else { U256::ZERO };
        let equity = match kind {
            Some(k) if k.needs_equity() => Some(self.position_equity(id)?),
            _ => None,
        };
        Ok(Seen {
            time: self.time,
            price,
            equity,
            debt_ratio_bps: health.as_ref().map_or(0, |h| h.debt_ratio_bps),
            leverage_bps: health.as_ref().map_or(0, |h| h.leverage_bps),
            has_debt: health.as_ref().is_some_and(|h| !h.debt_value.is_zero()),
            out_of_range,
        })
    }

    pub(super) fn place_order(
        &mut self,
        caller: &str,
        id: u64,
        kind: &OrderKind,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let position = self.owned_position(caller, id)?;
        kind.check().map_err(|(field, why)| Error::invalid(format!("order {field}: {why}")))?;
        let tokens = self.pool_tokens(&position.pool)?;
        let named = match kind {
            OrderKind::StopLoss { exit_to, .. }
            | OrderKind::TakeProfit { exit_to, .. }
            | OrderKind::TrailingStop { exit_to, .. }
            | OrderKind::TimeLimit { exit_to, .. } => exit_to.as_ref(),
            OrderKind::TopUp { token, .. } => token.as_ref(),
            _ => None,
        };
        if let Some(token) = named.filter(|t| !tokens.contains(t)) {
            return Err(Error::invalid(format!(
                "order token {token} is not one of position {id}'s pool tokens ({} and {})",
                tokens[0], tokens[1]
            )));
        }
        match kind {
            OrderKind::Recenter { .. } if position.range.is_none() => {
                return Err(Error::invalid(format!(
                    "position {id} is not a range position: only those can be re-centred"
                )))
            }
            OrderKind::TimeLimit { at, .. } if *at < self.time => {
                return Err(Error::invalid(format!(
                    "order time limit {at} is before the market's time {}",
                    self.time
                )))
            }
            _ => {}
        }
        let active = self
            .orders
            .values()
            .filter(|o| o.position == id && o.status == OrderStatus::Active)
            .count();
        if active >= MAX_ORDERS_PER_POSITION {
            return Err(Error::invalid(format!(
                "position {id} holds {active} active orders, the most one may"
            )));
        }
        let seen = self.seen(id, Some(kind))?;
        let order_id = self.orders.keys().next_back().map_or(1, |k| k + 1);
        self.orders.insert(order_id, Order::new(order_id, id, kind.clone(), &seen));
        ev.push(Event::OrderPlaced { order: order_id, position: id, kind: kind.name().into() });
        Ok(())
    }

    pub(super) fn cancel_order(
        &mut self,
        caller: &str,
        order_id: u64,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let order = self.active_order(order_id)?;
        let owner = &self.position(order.position)?.owner;
        if owner != caller {
            return Err(Error::NotOwner { position: order.position, caller: caller.into() });
        }
        let position = order.position;
        if let Some(o) = self.orders.get_mut(&order_id) {
            o.status = OrderStatus::Cancelled;
        }
        ev.push(Event::OrderCancelled { order: order_id, position });
        Ok(())
    }

    /// Every active order in the keepers' order, then every liquidation due.
    pub(super) fn run_keepers(&mut self, keeper: &str, ev: &mut Vec<Event>) -> Result<(), Error> {
        for order in self.keeper_sequence() {
            // An earlier order may have closed the position and ended this one.
            if self.orders.get(&order).is_some_and(|o| o.status == OrderStatus::Active) {
                self.run_order(keeper, order, ev)?;
            }
        }
        let open: Vec<u64> = self.positions.values().filter(|p| p.open).map(|p| p.id).collect();
        for id in open {
            self.liquidate_if_due(keeper, id, ev);
        }
        Ok(())
    }

    /// Liquidates the position when it is past its kill factor; a refusal is an event.
    pub(crate) fn liquidate_if_due(&mut self, keeper: &str, id: u64, ev: &mut Vec<Event>) -> bool {
        let due = match self.position_health(id) {
            Ok(health) => self
                .position(id)
                .and_then(|p| self.leverage_for(p))
                .map(|l| health.debt_ratio_bps > u64::from(l.kill_factor_bps.0)),
            Err(e) => Err(e),
        };
        let refused = |reason: String| Event::LiquidationSkipped { position: id, reason };
        match due {
            Ok(false) => false,
            Ok(true) => {
                let mut next = self.clone();
                let mut events = Vec::new();
                match next.liquidate(keeper, id, &mut events) {
                    Ok(()) => {
                        *self = next;
                        ev.append(&mut events);
                        true
                    }
                    Err(e) => {
                        ev.push(refused(format!("the engine refused: {e}")));
                        false
                    }
                }
            }
            Err(e) => {
                ev.push(refused(format!("no health: {e}")));
                false
            }
        }
    }

    /// Runs one active order: follows what it watches, and when it is due, acts on a copy of
    /// the market that replaces this one only if the action succeeded.
    pub(super) fn run_order(
        &mut self,
        keeper: &str,
        order_id: u64,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let order = self.active_order(order_id)?;
        let (position, kind) = (order.position, order.kind.clone());
        let seen = match self.seen(position, Some(&kind)) {
            Ok(seen) => seen,
            Err(e) => {
                let reason = format!("cannot see position {position}: {e}");
                self.skipped(order_id, reason, true, ev);
                return Ok(());
            }
        };
        let Some(order) = self.orders.get_mut(&order_id) else { return Ok(()) };
        order.observe(&seen);
        let Some(ask) = order.due(&seen) else { return Ok(()) };
        let why = order.why(&seen);
        if ask == Ask::Compound {
            order.last_run = seen.time;
        }
        let order = order.clone();
        let mut next = self.clone();
        if let Some(o) = next.orders.get_mut(&order_id) {
            if kind.exits() {
                // Done before it acts, so that closing the position ends only the others.
                o.status = OrderStatus::Done;
            }
        }
        let mut events = Vec::new();
        match next.act(keeper, &order, ask, &mut events) {
            Ok(Outcome::Acted(detail)) => {
                *self = next;
                ev.append(&mut events);
                let detail = format!("{why}: {detail}");
                if let Some(o) = self.orders.get_mut(&order_id) {
                    o.fired += 1;
                    o.note = Some(detail.clone());
                    if o.reserve_left.is_some_and(|r| r.0.is_zero()) {
                        o.status = OrderStatus::Done;
                    }
                }
                ev.push(Event::OrderActed {
                    order: order_id,
                    position,
                    kind: kind.name().into(),
                    detail,
                });
            }
            Ok(Outcome::Nothing(reason)) => {
                self.skipped(order_id, format!("{why}, but {reason}"), false, ev);
            }
            Err(e) => {
                self.skipped(order_id, format!("{why}, but the engine refused: {e}"), true, ev);
            }
        }
        Ok(())
    }

    /// An order that exists and is active; otherwise why not.
    fn active_order(&self, order_id: u64) -> Result<&Order, Error> {
        let order = self
            .orders
            .get(&order_id)
            .ok_or_else(|| Error::Unknown { kind: "order", name: order_id.to_string() })?;
        if order.status != OrderStatus::Active {
            return Err(Error::invalid(format!(
                "order {order_id} is {:?}, not active",
                order.status
            )));
        }
        Ok(order)
    }

    /// Notes on the order why it did nothing, and says so in an `order_skipped` event.
    fn skipped(&mut self, order_id: u64, reason: String, refused: bool, ev: &mut Vec<Event>) {
        let Some(o) = self.orders.get_mut(&order_id) else { return };
        o.note = Some(reason.clone());
        let (position, kind) = (o.position, o.kind.name().into());
        ev.push(Event::OrderSkipped { order: order_id, position, kind, reason, refused });
    }

    /// Ends the active orders of a position that closed.
    pub(crate) fn end_orders(&mut self, position: u64, reason: &str, ev: &mut Vec<Event>) {
        let ending: Vec<u64> = self
            .orders
            .values()
            .filter(|o| o.position == position && o.status == OrderStatus::Active)
            .map(|o| o.id)
            .collect();
        for id in ending {
            if let Some(order) = self.orders.get_mut(&id) {
                order.status = OrderStatus::Ended;
                order.note = Some(reason.into());
                ev.push(Event::OrderEnded { order: id, position, reason: reason.into() });
            }
        }
    }

    /// Carries out what a due order asks, as the position's owner (the keeper only for the
    /// reinvest bounty).
    fn act(
        &mut self,
        keeper: &str,
        order: &Order,
        ask: Ask,
        ev: &mut Vec<Event>,
    ) -> Result<Outcome, Error> {
        let id = order.position;
        let position = self.open_position_ref(id)?.clone();
        let owner = position.owner.clone();
        let tokens = self.pool_tokens(&position.pool)?;
        match ask {
            Ask::Exit => {
                let exit_to = match &order.kind {
                    OrderKind::StopLoss { exit_to, .. }
                    | OrderKind::TakeProfit { exit_to, .. }
                    | OrderKind::TrailingStop { exit_to, .. }
                    | OrderKind::TimeLimit { exit_to, .. } => exit_to.clone(),
                    _ => None,
                };
                let side = exit_to.map_or(1, |t| usize::from(tokens[0] != t));
                self.close_position(&owner, id, None, [None, None], ExitMode::ConvertToDebt, ev)?;
                let returned = match ev.iter().rev().find_map(|e| match e {
                    Event::PositionClosed { returned0, returned1, .. } => {
                        Some([returned0.0, returned1.0])
                    }
                    _ => None,
                }) {
                    Some(r) => r,
                    None => return Err(Error::invalid("closing reported nothing")),
                };
                let other = 1 - side;
                let sold = if returned[other].is_zero() {
                    String::new()
                } else {
                    self.sell(&owner, &position.pool, &tokens[other], returned[other], ev)?;
                    let sold = self.units(returned[other], &tokens[other])?;
                    format!(", {sold} sold for {}", tokens[side])
                };
                Ok(Outcome::Acted(format!("closed{sold}")))
            }
            Ask::Deleverage { target_bps } => {
                let health = self.position_health(id)?;
                let ppm = deleverage_ppm(&health, target_bps);
                if ppm.is_zero() {
                    return Ok(Outcome::Nothing("the debt ratio is already at the target".into()));
                }
                let all = ppm >= U256::from(990_000u64);
                let lp = if all {
                    position.lp
                } else {
                    mul_div(position.lp, ppm, U256::from(1_000_000u64))?
                };
                if lp.is_zero() {
                    return Ok(Outcome::Nothing(
                        "that share of the position is no liquidity".into(),
                    ));
                }
                let lp_arg = if all { None } else { Some(lp) };
                self.close_position(&owner, id, lp_arg, [None, None], ExitMode::ConvertToDebt, ev)?;
                Ok(Outcome::Acted(if all {
                    "removed all the liquidity to repay the debt: the position is closed".into()
                } else {
                    format!(
                        "removed {}.{:04}% of the liquidity to repay debt, toward {}",
                        ppm / U256::from(10_000u64),
                        ppm % U256::from(10_000u64),
                        crate::orders::pct(target_bps)
                    )
                }))
            }
            Ask::TopUp { target_bps } => {
                let token = match &order.kind {
                    OrderKind::TopUp { token, .. } => token.clone(),
                    _ => None,
                }
                .unwrap_or_else(|| tokens[1].clone());
                let side = usize::from(tokens[0] != token);
                let quote = self.quote(&token)?;
                let health = self.position_health(id)?;
                // Adding x of value makes the ratio D / (V + x).
                let wanted_value = (health.debt_value * U256::from(BPS))
                    .div_ceil(U256::from(target_bps.max(1)))
                    .saturating_sub(health.value);
                let wanted =
                    mul_div(wanted_value, quote.unit, quote.price_wad.max(U256::from(1u64)))?;
                let wallet = self.balance(&Holder::Account(owner.clone()), &token);
                let reserve = order.reserve_left.map_or(U256::ZERO, |r| r.0);
                let amount = wanted.min(wallet).min(reserve);
                // Less than one whole token is dust, not a top-up: a keeper would pay gas to add
                // nothing, and a zap that small mints no liquidity.
                if amount < quote.unit {
                    return Ok(Outcome::Nothing(if wallet < quote.unit {
                        format!("the wallet holds less than one {token}")
                    } else if reserve < quote.unit {
                        "the reserve is spent".into()
                    } else {
                        format!("less than one {token} would reach the target")
                    }));
                }
                let mut amounts = [U256::ZERO; 2];
                amounts[side] = amount;
                self.add_collateral(&owner, id, amounts, ev)?;
                if let Some(o) = self.orders.get_mut(&order.id) {
                    o.reserve_left = Some(Amount(reserve - amount));
                }
                Ok(Outcome::Acted(format!(
                    "added {} from the wallet, toward {}",
                    self.units(amount, &token)?,
                    crate::orders::pct(target_bps)
                )))
            }
            Ask::Raise { target_leverage_bps } => {
                let borrow = self.borrow_for_leverage(id, target_leverage_bps)?;
                let Some(side) = (0..2).find(|&i| !borrow[i].is_zero()) else {
                    return Ok(Outcome::Nothing("nothing to borrow".into()));
                };
                self.borrow_more(&owner, id, borrow, None, ev)?;
                Ok(Outcome::Acted(format!(
                    "borrowed {} more into the position, toward {}x",
                    self.units(borrow[side], &tokens[side])?,
                    crate::orders::leverage_text(target_leverage_bps)
                )))
            }
            Ask::Compound => {
                let inventory = self.position_inventory(id)?;
                let rewards = inventory.rewards.as_ref().is_some_and(|r| !r.1.is_zero());
                if !rewards && inventory.owed.iter().all(|o| o.is_zero()) {
                    return Ok(Outcome::Nothing("there are no rewards or fees to reinvest".into()));
                }
                self.reinvest(keeper, id, ev)?;
                let line = ev.iter().rev().find_map(|e| match e {
                    Event::Reinvested { rewards, bounty, lp_added, .. } => Some(format!(
                        "reinvested {rewards} reward units (bounty {bounty}) into {lp_added} liquidity"
                    )),
                    _ => None,
                });
                Ok(Outcome::Acted(line.unwrap_or_else(|| "reinvested".into())))
            }
            Ask::Recenter => {
                let width = match &order.kind {
                    OrderKind::Recenter { width } => *width,
                    _ => None,
                };
                self.recenter(&owner, id, width, ev)?;
                let tick = self.v3_pool(&position.pool)?.pool.tick;
                Ok(Outcome::Acted(format!("re-centred on tick {tick}")))
            }
        }
    }

    /// What to borrow into a position to bring its leverage to `target_leverage_bps`: the value
    /// `L·E − V` (the pool's valuation), in the token it owes most of (token1 when it owes
    /// nothing), rounded down. Zero when it is already there.
    pub fn borrow_for_leverage(
        &self,
        id: u64,
        target_leverage_bps: u64,
    ) -> Result<[U256; 2], Error> {
        let position = self.open_position_ref(id)?;
        let tokens = self.pool_tokens(&position.pool)?;
        let health = self.position_health(id)?;
        let equity = health.value.saturating_sub(health.debt_value);
        let wanted = mul_div(equity, U256::from(target_leverage_bps), U256::from(BPS))?
            .saturating_sub(health.value);
        let quotes = [self.quote(&tokens[0])?, self.quote(&tokens[1])?];
        let owed = [quotes[0].value(health.debt[0])?, quotes[1].value(health.debt[1])?];
        let side = usize::from(owed[1] >= owed[0]);
        let quote = quotes[side];
        if quote.price_wad.is_zero() {
            return Err(Error::NoPrice { token: tokens[side].to_string() });
        }
        let mut borrow = [U256::ZERO; 2];
        borrow[side] = mul_div(wanted, quote.unit, quote.price_wad)?;
        Ok(borrow)
    }

    /// An amount in whole units of its token, exact: `1500.25 USDC`.
    pub fn units(&self, amount: U256, token: &str) -> Result<String, Error> {
        let unit = self.token(token)?.decimals;
        Ok(format!("{} {token}", crate::types::whole_units(amount, unit)))
    }

    /// Sells `amount` of `token` for the pool's other token, as `account`.
    fn sell(
        &mut self,
        account: &str,
        pool: &str,
        token: &Name,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        if self.v3_pools.contains_key(pool) {
            let zero_for_one = self.pool_tokens(pool)?[0] == *token;
            let holder = Holder::Account(account.into());
            self.v3_swap(&holder, pool, zero_for_one, (Some(Amount(amount)), None), None, ev)
                .map(drop)
        } else {
            self.swap(account, pool, token, amount, None, ev)
        }
    }
}

/// Millionths of the position to remove, repaying debt with all of it, to bring debt/value
/// to `target_bps`: removing a share f leaves `(D − fV) / ((1 − f)V) = t`, so
/// `f = (D − tV) / (V(1 − t))`, rounded up. Zero when the ratio is already at or below.
pub fn deleverage_ppm(health: &PositionHealth, target_bps: u64) -> U256 {
    let (d, v) = (health.debt_value, health.value);
    let t = U256::from(target_bps.min(BPS - 1));
    let bps = U256::from(BPS);
    let over = d * bps;
    let under = t * v;
    if v.is_zero() || over <= under {
        return U256::ZERO;
    }
    let num = (over - under) * U256::from(1_000_000u64);
    let den = v * (bps - t);
    num.div_ceil(den).min(U256::from(1_000_000u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::debt_ratio_for_leverage;

    fn health(debt: u64, value: u64) -> PositionHealth {
        let (d, v) = (U256::from(debt) * WAD, U256::from(value) * WAD);
        PositionHealth {
            value_oracle: v,
            value_exit: v,
            debt: [U256::ZERO, d],
            debt_value: d,
            value: v,
            debt_ratio_bps: 0,
            leverage_bps: 0,
        }
    }

    #[test]
    fn deleveraging_share_solves_the_ratio_exactly() {
        // D = 70, V = 100, target 50%: f = (70 − 50)/(100·0.5) = 0.4.
        assert_eq!(deleverage_ppm(&health(70, 100), 5_000), U256::from(400_000u64));
        // Already at or below the target: nothing.
        assert_eq!(deleverage_ppm(&health(40, 100), 5_000), U256::ZERO);
        // Rounded up: D = 2, V = 3, target 0: f = 2/3 → 666,667 ppm.
        assert_eq!(deleverage_ppm(&health(2, 3), 0), U256::from(666_667u64));
    }

    #[test]
    fn leverage_and_debt_ratio_agree() {
        assert_eq!(debt_ratio_for_leverage(30_000), 6_666);
        assert_eq!(debt_ratio_for_leverage(20_000), 5_000);
        assert_eq!(debt_ratio_for_leverage(10_000), 0);
    }
}
