//! Positions: sizing a request into engine commands, the exact quote, opening, adjusting and
//! closing. Every action on a position is booked: the position is marked to the current
//! prices first (a profit-and-loss step), then the change in its equity less what the owner's
//! wallet paid in is the action's cost, so the parts always add up to equity less net
//! contributions.

use alloy_primitives::U256;
use levfarm_core::market::Event;
use levfarm_core::math::mul_div;
use levfarm_core::position::liquidation_price::LiquidationPrices;
use levfarm_core::position::{ExitMode, PositionHealth, TickRange};
use levfarm_core::types::{Amount, Name, Venue};
use levfarm_core::Command;
use levfarm_sim::book::{self, CostKind, Pnl};
use levfarm_sim::scenario::PoolKind;
use levfarm_sim::world::World;
use serde::Serialize;

use levfarm_core::market::deleverage_ppm;
use levfarm_core::orders::debt_ratio_for_leverage;

use super::{
    engine_name, holder, position_snapshot, quotes_of, Applied, Borrow, Notice, OpenSpec,
    OrderKind, OrderStatus, Reply, State, Tracked, ORDERS_PER_ACCOUNT,
};
use crate::Error;

const BPS: u64 = 10_000;

/// What opening would do, computed by opening on a copy of the market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuoteView {
    /// Raw units borrowed of token0 and token1.
    pub borrow: [Amount; 2],
    /// Value put in and the position's equity right after, 1e18 numeraire.
    pub equity_in: String,
    pub equity_after: String,
    /// Fees and price impact of the opening swaps, 1e18 numeraire (negative: a cost).
    pub opening_cost: String,
    pub health: PositionHealth,
    pub liquidation_prices: LiquidationPrices,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<TickRange>,
}

impl State {
    /// The amounts to borrow for `spec`: equity value times leverage less one, in the
    /// borrowed token, rounded down.
    fn size(&self, spec: &OpenSpec) -> Result<[Amount; 2], Error> {
        let max = self.settings.max_leverage_bps;
        if spec.leverage_bps < BPS as u32 || spec.leverage_bps > max {
            return Err(Error::invalid(
                "leverage",
                format!(
                    "between 1x and {}x (the market's limit), got {}x",
                    bps_text(max as u64),
                    bps_text(spec.leverage_bps as u64)
                ),
            ));
        }
        let side = match spec.borrow {
            Borrow::Asset => levfarm_core::position::BorrowSide::Token0,
            Borrow::Stable => levfarm_core::position::BorrowSide::Token1,
        };
        let equity = [spec.equity0.0, spec.equity1.0];
        if equity.iter().all(|e| e.is_zero()) {
            return Err(Error::invalid(
                "equity0",
                "put some equity in: equity0 (asset) or equity1 (stable), raw units",
            ));
        }
        // The engine's sizing, the one the backtester and quotes use.
        let (pool, _) = self.pool_of(spec)?;
        let borrow = self
            .world
            .market
            .borrow_for_opening(&pool, equity, u64::from(spec.leverage_bps), side)
            .map_err(|_| Error::invalid("equity", "amount too large"))?;
        Ok(borrow.map(Amount))
    }

    /// The engine command that opens `spec` for `account`.
    fn open_command(
        &self,
        account: u64,
        spec: &OpenSpec,
        borrow: [Amount; 2],
    ) -> Result<Command, Error> {
        let owner = engine_name(account);
        let venue = self.venue_of(spec)?;
        let (pool, kind) = self.pool_of(spec)?;
        Ok(match kind {
            PoolKind::ConstantProduct => {
                if spec.range_width_ticks.is_some()
                    || spec.range_lower.is_some()
                    || spec.range_upper.is_some()
                {
                    let field = if spec.range_width_ticks.is_some() {
                        "range_width_ticks"
                    } else {
                        "range_lower"
                    };
                    return Err(Error::invalid(
                        field,
                        "this market's pool is constant product: positions have no range",
                    ));
                }
                Command::OpenPosition {
                    owner,
                    pool,
                    equity0: spec.equity0,
                    equity1: spec.equity1,
                    borrow0: borrow[0],
                    borrow1: borrow[1],
                    min_lp: None,
                    venue,
                }
            }
            PoolKind::V3 => {
                let range = self.opening_range(spec, &pool)?;
                Command::OpenRangePosition {
                    owner,
                    pool,
                    tick_lower: range.tick_lower,
                    tick_upper: range.tick_upper,
                    equity0: spec.equity0,
                    equity1: spec.equity1,
                    borrow0: borrow[0],
                    borrow1: borrow[1],
                    min_liquidity: None,
                    venue,
                }
            }
        })
    }

    /// The range an opening on the v3 pool asks for: between two prices, `range_width_ticks`
    /// centred on the pool's tick, or the scenario's range.
    fn opening_range(&self, spec: &OpenSpec, pool: &str) -> Result<TickRange, Error> {
        let entry = self.world.market.v3_amm_pool(pool)?;
        let spacing = entry.pool.tick_spacing;
        match (spec.range_lower, spec.range_upper, spec.range_width_ticks) {
            (Some(lower), Some(upper), None) => {
                if lower.0.is_zero() || lower >= upper {
                    return Err(Error::invalid(
                        "range_lower",
                        format!("need 0 < range_lower ({lower}) < range_upper ({upper})"),
                    ));
                }
                let m = &self.world.market;
                let units = [m.quote(&entry.token0)?.unit, m.quote(&entry.token1)?.unit];
                TickRange::between(lower, upper, units, spacing)
                    .map_err(|e| Error::invalid("range_lower", e.to_string()))
            }
            (None, None, width) => {
                let scenario = &self.scenario.position;
                if width.is_none() && scenario.range.is_some() && pool == self.world.pool {
                    let range = levfarm_sim::backtest::opening_range(&self.world, scenario);
                    return range.map_err(|e| Error::invalid("range_width_ticks", e.to_string()));
                }
                let width = width.unwrap_or(scenario.range_width_ticks);
                if !(1..=1_774_544).contains(&width) {
                    return Err(Error::invalid("range_width_ticks", "between 1 and 1774544"));
                }
                Ok(TickRange::centred(entry.pool.tick, width, spacing)?)
            }
            (_, _, Some(_)) => Err(Error::invalid(
                "range_width_ticks",
                "give a width or range_lower and range_upper, not both",
            )),
            (lower, _, None) => Err(Error::invalid(
                if lower.is_some() { "range_upper" } else { "range_lower" },
                "give both range_lower and range_upper",
            )),
        }
    }

    /// The pool an opening names (its engine id and kind), checked against the market's; the
    /// default when omitted.
    fn pool_of(&self, spec: &OpenSpec) -> Result<(Name, PoolKind), Error> {
        let Some(name) = &spec.pool else { return Ok((self.world.pool.clone(), self.world.kind)) };
        let Some(pool) = self.scenario.market.pool_named(name) else {
            let known: Vec<&str> =
                self.scenario.market.pools().into_iter().map(|(p, _)| p).collect();
            return Err(Error::invalid(
                "pool",
                format!("{name:?} is not a pool of this market: {}", known.join(", ")),
            ));
        };
        Ok((levfarm_sim::world::pool_id(name), pool.kind))
    }

    /// The venue an opening names, checked against the market's; the default when omitted.
    fn venue_of(&self, spec: &OpenSpec) -> Result<Venue, Error> {
        let Some(name) = &spec.venue else { return Ok(self.world.venue.clone()) };
        if self.scenario.market.venue(name).is_none() {
            let known: Vec<&str> =
                self.scenario.market.venues().into_iter().map(|(v, _, _)| v).collect();
            return Err(Error::invalid(
                "venue",
                format!("{name:?} is not a venue of this market: {}", known.join(", ")),
            ));
        }
        Ok(Venue::from(name.as_str()))
    }

    fn opening_allowed(&self) -> Result<(), Error> {
        if self.settings.opening_halted {
            return Err(Error::Conflict("opening is halted by the market's operator".into()));
        }
        Ok(())
    }

    /// Opens on a copy of the market and reports the result; changes nothing.
    pub fn quote(&self, account: u64, spec: &OpenSpec) -> Result<QuoteView, Error> {
        self.account(account)?;
        let borrow = self.size(spec)?;
        let command = self.open_command(account, spec, borrow)?;
        let mut world = self.world.clone();
        let before = wallet_value(&world, account)?;
        world.run(command)?;
        let id = opened_id(&world)?;
        let after = position_equity(&world, id)?;
        let equity_in = before - wallet_value(&world, account)?;
        let m = &world.market;
        let view = QuoteView {
            borrow,
            equity_in: equity_in.to_string(),
            equity_after: after.to_string(),
            opening_cost: (after - equity_in).to_string(),
            health: m.position_health(id)?,
            liquidation_prices: m.liquidation_prices(id)?,
            range: m.positions().find(|p| p.id == id).and_then(|p| p.range),
        };
        Ok(view)
    }

    pub(super) fn open(&mut self, account: u64, spec: &OpenSpec) -> Result<Applied, Error> {
        self.account(account)?;
        self.opening_allowed()?;
        let borrow = self.size(spec)?;
        let command = self.open_command(account, spec, borrow)?;
        let before = wallet_value(&self.world, account)?;
        self.world.run(command)?;
        let id = opened_id(&self.world)?;
        let quotes = quotes_of(&self.world)?;
        let equity = position_equity(&self.world, id)?;
        let paid = before - wallet_value(&self.world, account)?;
        let mut pnl = Pnl::default();
        pnl.action(CostKind::Trading, paid, equity);
        let tracked = Tracked {
            account,
            opened_at: self.now(),
            contributed: paid,
            pnl,
            mark: Some(self.world.market.position_inventory(id)?),
            mark_quotes: quotes,
            history: Default::default(),
            closed: None,
            armed: [true; 2],
        };
        self.tracked.insert(id, tracked);
        self.record_point(id)?;
        Ok(self.position_applied(id, Reply::Position(id)))
    }

    pub(super) fn add_collateral(
        &mut self,
        account: u64,
        id: u64,
        amount0: Amount,
        amount1: Amount,
    ) -> Result<Applied, Error> {
        self.owned_open(account, id)?;
        if amount0.0.is_zero() && amount1.0.is_zero() {
            return Err(Error::invalid("amount0", "add some collateral: amount0 or amount1"));
        }
        let caller = engine_name(account);
        self.act(id, CostKind::Trading, |w| {
            w.run(Command::AddCollateral { caller, position: id, amount0, amount1 })?;
            Ok(())
        })?;
        Ok(self.position_applied(id, Reply::Position(id)))
    }

    pub(super) fn reduce(
        &mut self,
        account: u64,
        id: u64,
        share_bps: u32,
    ) -> Result<Applied, Error> {
        self.owned_open(account, id)?;
        if share_bps == 0 || share_bps > BPS as u32 {
            return Err(Error::invalid("share_bps", "between 1 and 10000 (all)"));
        }
        let lp = self.lp_share(id, U256::from(share_bps) * U256::from(100u64))?;
        self.remove(id, lp, CostKind::Trading, engine_name(account), "reduced")?;
        Ok(self.position_applied(id, Reply::Position(id)))
    }

    pub(super) fn close(&mut self, account: u64, id: u64) -> Result<Applied, Error> {
        self.owned_open(account, id)?;
        self.remove(id, None, CostKind::Trading, engine_name(account), "closed by its owner")?;
        Ok(self.position_applied(id, Reply::Position(id)))
    }

    /// Removes `lp` (all when `None`) and repays debt with it; books it as `kind`.
    pub(super) fn remove(
        &mut self,
        id: u64,
        lp: Option<U256>,
        kind: CostKind,
        caller: Name,
        how: &'static str,
    ) -> Result<(), Error> {
        self.act(id, kind, |w| Ok(w.run(close_command(caller, id, lp))?))?;
        self.close_if_gone(id, how, String::new());
        Ok(())
    }

    /// `ppm` millionths of the position's liquidity; `None` (everything) at 99% and more, so
    /// that no dust position is left behind.
    pub(super) fn lp_share(&self, id: u64, ppm: U256) -> Result<Option<U256>, Error> {
        let lp = self
            .world
            .market
            .positions()
            .find(|p| p.id == id)
            .map(|p| p.lp)
            .ok_or_else(|| Error::not_found(format!("position {id}")))?;
        if ppm >= U256::from(990_000u64) {
            return Ok(None);
        }
        let part = mul_div(lp, ppm, U256::from(1_000_000u64)).map_err(levfarm_core::Error::from)?;
        if part.is_zero() {
            return Err(Error::invalid(
                "share_bps",
                "that share of the position is no liquidity at all",
            ));
        }
        Ok(Some(part))
    }

    pub(super) fn set_leverage(
        &mut self,
        account: u64,
        id: u64,
        target: u32,
    ) -> Result<Applied, Error> {
        self.owned_open(account, id)?;
        let health = self.world.market.position_health(id)?;
        let current = health.leverage_bps;
        if target < BPS as u32 || target > self.settings.max_leverage_bps {
            return Err(Error::invalid(
                "leverage",
                format!("between 1x and {}x", bps_text(self.settings.max_leverage_bps as u64)),
            ));
        }
        if u64::from(target) < current {
            let ratio = debt_ratio_for_leverage(u64::from(target));
            let ppm = deleverage_ppm(&health, ratio);
            if ppm.is_zero() {
                return Ok(self.position_applied(id, Reply::Position(id)));
            }
            let lp = self.lp_share(id, ppm)?;
            self.remove(id, lp, CostKind::Trading, engine_name(account), "deleveraged to nothing")?;
            return Ok(self.position_applied(id, Reply::Position(id)));
        }
        if u64::from(target) == current {
            return Ok(self.position_applied(id, Reply::Position(id)));
        }
        self.opening_allowed()?;
        // Raised in place: the engine's sizing, borrowed into the same position.
        let borrow = self.world.market.borrow_for_leverage(id, u64::from(target))?;
        if borrow.iter().all(|b| b.is_zero()) {
            return Ok(self.position_applied(id, Reply::Position(id)));
        }
        let caller = engine_name(account);
        self.act(id, CostKind::Trading, |w| {
            w.run(Command::BorrowMore {
                caller,
                position: id,
                borrow0: Amount(borrow[0]),
                borrow1: Amount(borrow[1]),
                min_lp: None,
            })?;
            Ok(())
        })?;
        self.record_point(id)?;
        Ok(self.position_applied(id, Reply::Position(id)))
    }

    pub(super) fn place_order(
        &mut self,
        account: u64,
        id: u64,
        order: &OrderKind,
    ) -> Result<Applied, Error> {
        self.owned_open(account, id)?;
        order.check().map_err(|(field, why)| Error::invalid(field, why))?;
        if let OrderKind::Rebalance { target_leverage_bps, .. } = order {
            if *target_leverage_bps > self.settings.max_leverage_bps {
                return Err(Error::invalid(
                    "target_leverage_bps",
                    format!(
                        "at most the market's {}x",
                        bps_text(u64::from(self.settings.max_leverage_bps))
                    ),
                ));
            }
        }
        let active = self
            .world
            .market
            .orders()
            .filter(|o| o.status == OrderStatus::Active)
            .filter(|o| self.tracked.get(&o.position).is_some_and(|t| t.account == account))
            .count();
        if active >= ORDERS_PER_ACCOUNT {
            return Err(Error::Conflict(format!(
                "an account holds at most {ORDERS_PER_ACCOUNT} active orders"
            )));
        }
        // The service speaks Unix time; the engine's clock counts from genesis.
        let mut order = order.clone();
        if let OrderKind::TimeLimit { at, .. } = &mut order {
            let now = self.now();
            let unix = i64::try_from(*at).unwrap_or(i64::MAX);
            if unix < now {
                return Err(Error::invalid(
                    "at",
                    format!("{unix} is before the market's clock ({now})"),
                ));
            }
            *at = u64::try_from(unix - self.genesis_time).unwrap_or(0);
        }
        self.world.run(Command::PlaceOrder {
            caller: engine_name(account),
            position: id,
            order,
        })?;
        let placed = self.world.events().iter().find_map(|e| match e {
            Event::OrderPlaced { order, .. } => Some(*order),
            _ => None,
        });
        let placed = placed.ok_or_else(|| Error::Internal("the engine placed no order".into()))?;
        Ok(Applied { reply: Reply::Order(placed), notices: Vec::new() })
    }

    pub(super) fn cancel_order(&mut self, account: u64, order: u64) -> Result<Applied, Error> {
        let o = self.order(account, order)?;
        if o.status != OrderStatus::Active {
            return Err(Error::Conflict(format!("order {order} is no longer active")));
        }
        self.world.run(Command::CancelOrder { caller: engine_name(account), order })?;
        Ok(Applied { reply: Reply::Order(order), notices: Vec::new() })
    }

    /// The position, when it is `account`'s and open; not found otherwise, whoever owns it.
    fn owned_open(&self, account: u64, id: u64) -> Result<(), Error> {
        let tracked = self
            .tracked
            .get(&id)
            .filter(|t| t.account == account)
            .ok_or_else(|| Error::not_found(format!("position {id}")))?;
        if let Some(closed) = &tracked.closed {
            return Err(Error::Conflict(format!("position {id} is closed ({})", closed.how)));
        }
        Ok(())
    }

    /// Steps the position's profit and loss from its last mark to now.
    pub(super) fn mark(&mut self, id: u64) -> Result<(), Error> {
        let quotes = quotes_of(&self.world)?;
        let open = self.world.market.positions().any(|p| p.id == id && p.open);
        let Some(t) = self.tracked.get_mut(&id) else { return Ok(()) };
        if t.closed.is_some() || !open {
            return Ok(());
        }
        let now = self.world.market.position_inventory(id)?;
        let a = position_snapshot(t.mark_quotes, t.mark.clone());
        let b = position_snapshot(quotes, Some(now.clone()));
        t.pnl.step(&a, &b)?;
        t.mark = Some(now);
        t.mark_quotes = quotes;
        Ok(())
    }

    /// Runs `f` on the market for position `id` and books it as `kind`: marked first, then
    /// the change in equity less what the owner's wallet paid in. On error nothing changed.
    pub(super) fn act<T>(
        &mut self,
        id: u64,
        kind: CostKind,
        f: impl FnOnce(&mut World) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let account = self
            .tracked
            .get(&id)
            .map(|t| t.account)
            .ok_or_else(|| Error::not_found(format!("position {id}")))?;
        self.mark(id)?;
        let before_equity = position_equity(&self.world, id)?;
        let before_wallet = wallet_value(&self.world, account)?;
        let out = self.on_world(|s| f(&mut s.world))?;
        let after_equity = position_equity(&self.world, id)?;
        let paid = before_wallet - wallet_value(&self.world, account)?;
        let quotes = quotes_of(&self.world)?;
        let open = self.world.market.positions().any(|p| p.id == id && p.open);
        let mark = if open { Some(self.world.market.position_inventory(id)?) } else { None };
        if let Some(t) = self.tracked.get_mut(&id) {
            t.pnl.action(kind, before_equity + paid, after_equity);
            t.contributed += paid;
            t.mark = mark;
            t.mark_quotes = quotes;
        }
        Ok(out)
    }

    /// Runs `f`; when it fails, the market is as it was before.
    fn on_world<T>(&mut self, f: impl FnOnce(&mut State) -> Result<T, Error>) -> Result<T, Error> {
        let saved = self.world.clone();
        let out = f(self);
        if out.is_err() {
            self.world = saved;
        }
        out
    }

    /// Records the position as closed when the engine no longer has it open.
    pub(super) fn close_if_gone(&mut self, id: u64, how: &'static str, note: String) {
        let open = self.world.market.positions().any(|p| p.id == id && p.open);
        let now = self.now();
        if let Some(t) = self.tracked.get_mut(&id) {
            if !open && t.closed.is_none() {
                t.closed = Some(super::Closed { time: now, how: how.into(), note });
                t.mark = None;
            }
        }
    }

    /// The position's update for its owner and its wallet's.
    pub(super) fn position_applied(&self, id: u64, reply: Reply) -> Applied {
        let mut applied = Applied { reply, notices: Vec::new() };
        if let Some(t) = self.tracked.get(&id) {
            if let Ok(view) = self.position_view(t.account, id) {
                applied.notices.push(Notice {
                    account: Some(t.account),
                    kind: "position",
                    data: serde_json::to_value(view).unwrap_or_default(),
                });
            }
            let wallet = self.wallet_notice(t.account, Reply::Done);
            applied.notices.extend(wallet.notices);
        }
        applied
    }
}

/// Closes all of position `id` (`lp` omitted) or `lp` of it, repaying debt with everything
/// that is not owed (Alpaca's `StrategyLiquidate`).
fn close_command(caller: Name, id: u64, lp: Option<U256>) -> Command {
    Command::ClosePosition {
        caller,
        position: id,
        lp: lp.map(Amount),
        max_repay0: None,
        max_repay1: None,
        mode: ExitMode::ConvertToDebt,
    }
}

/// The id of the position the last command opened.
fn opened_id(world: &World) -> Result<u64, Error> {
    world
        .events()
        .iter()
        .find_map(|e| match e {
            Event::PositionOpened { position, .. } => Some(*position),
            _ => None,
        })
        .ok_or_else(|| Error::Internal("the engine opened no position".into()))
}

/// The position's own equity at the oracle (0 once closed), 1e18 numeraire.
pub(super) fn position_equity(world: &World, id: u64) -> Result<i128, Error> {
    if !world.market.positions().any(|p| p.id == id && p.open) {
        return Ok(0);
    }
    let snapshot = position_snapshot(quotes_of(world)?, Some(world.market.position_inventory(id)?));
    Ok(snapshot.position_equity()?.unwrap_or(0))
}

/// The account's wallet (asset, stable, reward) at the oracle, 1e18 numeraire.
pub(super) fn wallet_value(world: &World, account: u64) -> Result<i128, Error> {
    let q = quotes_of(world)?;
    let h = holder(account);
    let m = &world.market;
    let mut total = 0i128;
    for (token, quote) in [&world.asset, &world.stable, &world.reward].into_iter().zip(q) {
        total += book::value(m.balance(&h, token), quote)?;
    }
    Ok(total)
}

/// Basis points of 1x as text: 30000 → "3", 25000 → "2.5".
pub fn bps_text(bps: u64) -> String {
    levfarm_core::orders::leverage_text(bps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leverage_reads_as_text() {
        assert_eq!(bps_text(30_000), "3");
        assert_eq!(bps_text(25_000), "2.5");
        assert_eq!(bps_text(12_345), "1.2345");
    }
}
