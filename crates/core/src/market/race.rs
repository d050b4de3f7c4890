//! The race inside a bar between a position's protection and the liquidators.
//!
//! Liquidators watch continuously; a protection order's keeper acts some seconds after its
//! trigger is met, and sometimes not at all. So within a bar whose price passes both a
//! protection trigger and the kill factor, who acts depends on the order of the two crossings
//! and on the keeper's latency. The bar's path is taken as: from the previous close straight
//! to the bar's adverse extreme (its low for a position liquidated by a fall, its high for one
//! liquidated by a rise) over the first half of the bar, then straight to the close over the
//! second half. Along it:
//!
//! - a protection order whose trigger (a price, a debt ratio's price, or the price at which
//!   the position's equity meets a stop's or a take-profit's level) is crossed at `t` acts at
//!   `t + latency`, at the price the path has then, if that is before the path crosses the
//!   kill factor and before the bar ends, and its keeper did not fail;
//! - otherwise, if the path crosses the kill factor, the liquidator acts there, at the kill
//!   factor's price.
//!
//! A time limit whose time falls inside the bar is due then, wherever the price is. Orders
//! that watch compounding or the range run at the close as before. An equity
//! trigger is found with the engine's own decision ([`crate::orders::Order::due`]) on the
//! position's equity at each candidate price (its tokens at that oracle price, less its debt).
//! With no intra-bar extreme (the caller passes none) there is no race: protection runs first
//! at the close, then liquidation, as the keepers always have.

use alloy_primitives::U256;

use super::Market;
use crate::math::{mul_div, mul_div_rounding_up, WAD};
use crate::orders::{debt_ratio_for_leverage, Order, OrderKind, OrderStatus, Trail, Trigger};
use crate::Error;

/// One bar of a position's market, as the race sees it: token0's oracle price at the previous
/// close, at the bar's low and high, and at its close (numeraire 1e18), and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarPath {
    pub from: U256,
    pub low: U256,
    pub high: U256,
    pub close: U256,
    pub seconds: u64,
}

/// The keepers' side of the race.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeeperTiming {
    /// Seconds from a trigger's crossing to the keeper's transaction.
    pub latency_secs: u64,
    /// The keeper missed this bar (its transaction failed or never came).
    pub failed: bool,
}

/// Who acts inside the bar, and at what token0 price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaceOutcome {
    /// Nothing is crossed before the close: the keepers at the close decide.
    Quiet,
    /// Order `order` acts at `price`, `at_secs` into the bar.
    Protection { order: u64, price: U256, at_secs: u64 },
    /// The liquidator acts at `price`, the kill factor's, `at_secs` into the bar.
    Liquidation { price: U256, at_secs: u64 },
}

impl BarPath {
    /// Seconds into the bar at which the adverse leg toward `extreme` reaches `price`: the
    /// first whole second at or past it, so that the path's price then has met the trigger.
    fn time_at(&self, extreme: U256, price: U256) -> u64 {
        let leg = self.seconds / 2;
        let span = self.from.abs_diff(extreme);
        if span.is_zero() {
            return 0;
        }
        let moved = self.from.abs_diff(price).min(span);
        u64::try_from(mul_div_rounding_up(U256::from(leg), moved, span).unwrap_or(U256::from(leg)))
            .unwrap_or(leg)
    }

    /// The path's price `t` seconds into the bar.
    fn price_at(&self, extreme: U256, t: u64) -> U256 {
        let leg = self.seconds / 2;
        let lerp = |a: U256, b: U256, num: u64, den: u64| {
            if den == 0 {
                return b;
            }
            let d = mul_div(a.abs_diff(b), U256::from(num), U256::from(den)).unwrap_or(U256::ZERO);
            if b < a {
                a - d
            } else {
                a + d
            }
        };
        if t <= leg {
            lerp(self.from, extreme, t, leg)
        } else {
            let rest = self.seconds - leg;
            lerp(extreme, self.close, (t - leg).min(rest), rest)
        }
    }
}

impl Market {
    /// Who acts first for position `id` inside a bar (see the module's documentation). The
    /// market is at the previous close, its clock at the bar's end.
    pub fn race(
        &self,
        id: u64,
        bar: &BarPath,
        keepers: &KeeperTiming,
    ) -> Result<RaceOutcome, Error> {
        let position = self.open_position_ref(id)?;
        let tokens = self.pool_tokens(&position.pool)?;
        let numeraire1 = self.quote(&tokens[1])?.price_wad;
        let kill_bps = u64::from(self.leverage_for(position)?.kill_factor_bps.0);
        // First, cheaply: does either extreme come near anything? The debt ratio at the
        // extreme against the lowest debt-ratio trigger and the kill factor, and the price
        // triggers against the extreme itself. Most bars stop here.
        let now = self.position_health(id)?;
        let (debt, now_ratio) = (now.debt, now.debt_ratio_bps);
        // Today's exit cost, bps of the fair value (none under the oracle valuation).
        let exit_cost_bps = if now.value == now.value_oracle || now.value_oracle.is_zero() {
            U256::ZERO
        } else {
            mul_div(
                now.value_oracle.saturating_sub(now.value),
                U256::from(10_000u64),
                now.value_oracle,
            )
            .unwrap_or(U256::from(10_000u64))
        };
        let mut ratio_floor = kill_bps;
        for order in
            self.orders.values().filter(|o| o.position == id && o.status == OrderStatus::Active)
        {
            if let Some(bps) = ratio_trigger(&order.kind) {
                ratio_floor = ratio_floor.min(bps);
            }
        }
        let mut legs = Vec::with_capacity(2);
        for down in [true, false] {
            let owes_adverse = if down { !debt[1].is_zero() } else { !debt[0].is_zero() };
            let extreme = if down { bar.low } else { bar.high };
            let price_hit =
                self.orders
                    .values()
                    .filter(|o| o.position == id && o.status == OrderStatus::Active)
                    .any(|o| {
                        self.price_trigger(&o.kind, o.best.map(|b| b.0), down, numeraire1)
                            .is_some_and(|p| {
                                if down {
                                    extreme <= p && p <= bar.from
                                } else {
                                    extreme >= p && p >= bar.from
                                }
                            })
                    });
            // A bound first, to spare the valuation on quiet bars: an LP position's value is
            // concave in the price and not negative at zero, so a fall by a factor λ leaves at
            // least λ of it, and its debt's value moves at most with the price; the ratio can
            // rise at most by the move's factor. On top, for the exit valuation, twice today's
            // exit cost and 2% more: the cost of selling what the position holds grows with
            // what it holds of the token to sell, at most all of it.
            let (near, far) = (bar.from.min(extreme), bar.from.max(extreme));
            let bound = if near.is_zero() {
                u64::MAX
            } else {
                let grown = mul_div(U256::from(now_ratio), far, near).unwrap_or(U256::MAX);
                let margin = U256::from(10_200u64) + U256::from(2u64) * exit_cost_bps;
                u64::try_from(mul_div(grown, margin, U256::from(10_000u64)).unwrap_or(U256::MAX))
                    .unwrap_or(u64::MAX)
            };
            let ratio_hit = owes_adverse
                && extreme != bar.from
                && bound >= ratio_floor
                && self.health_at_price(id, extreme)?.debt_ratio_bps >= ratio_floor;
            let mut equity_hit = false;
            for order in self.orders.values().filter(|o| {
                o.position == id && o.status == OrderStatus::Active && o.kind.needs_equity()
            }) {
                if extreme != bar.from && self.equity_due_at(id, order, extreme)? {
                    equity_hit = true;
                    break;
                }
            }
            if price_hit || ratio_hit || equity_hit {
                legs.push(down);
            }
        }
        // A time limit due inside the bar: its keeper races along the adverse leg (the low
        // for a position owing token1).
        let bar_start = self.time.saturating_sub(bar.seconds);
        let timed = |o: &Order| match o.kind {
            OrderKind::TimeLimit { at, .. } => Some(at.saturating_sub(bar_start)),
            _ => None,
        };
        let time_hit = self.orders.values().any(|o| {
            o.position == id
                && o.status == OrderStatus::Active
                && timed(o).is_some_and(|t| t < bar.seconds)
        });
        if legs.is_empty() && time_hit {
            legs.push(!debt[1].is_zero() || debt[0].is_zero());
        }
        if legs.is_empty() {
            return Ok(RaceOutcome::Quiet);
        }
        // Where the path first passes the kill factor, below (a position owing token1) or
        // above (owing token0): found on the same move the market makes, so that the
        // liquidator's command succeeds there.
        let kill_low =
            if debt[1].is_zero() { None } else { self.crossing(id, bar.from, bar.low, kill_bps)? };
        let kill_high =
            if debt[0].is_zero() { None } else { self.crossing(id, bar.from, bar.high, kill_bps)? };
        let (down, kill_price) = match (kill_low, kill_high) {
            (Some(p), _) => (true, Some(p)),
            (_, Some(p)) => (false, Some(p)),
            _ => (legs[0], None),
        };
        let extreme = if down { bar.low } else { bar.high };
        let crossed = |p: U256| {
            if down {
                p <= bar.from && p >= extreme
            } else {
                p >= bar.from && p <= extreme
            }
        };
        // The first protection trigger the leg crosses, in the keepers' order among ties.
        let mut first: Option<(u64, u64)> = None;
        for order_id in self.keeper_sequence() {
            let Some(order) = self.orders.get(&order_id).filter(|o| o.position == id) else {
                continue;
            };
            if order.status != OrderStatus::Active {
                continue;
            }
            // A debt-ratio or equity trigger already met (its keeper missed the last close) is
            // due at once.
            if let Some(t) = timed(order).filter(|t| *t < bar.seconds) {
                if first.is_none_or(|(_, best)| t < best) {
                    first = Some((order_id, t));
                }
                continue;
            }
            let met = ratio_trigger(&order.kind).is_some_and(|bps| now_ratio >= bps)
                || (order.kind.needs_equity() && self.equity_due_at(id, order, bar.from)?);
            let trigger = if met {
                Some(bar.from)
            } else if order.kind.needs_equity() {
                self.equity_crossing(id, order, bar.from, extreme)?
            } else {
                self.trigger_price(id, bar, &order.kind, order.best.map(|b| b.0), down, numeraire1)?
            };
            let Some(trigger) = trigger else {
                continue;
            };
            if !crossed(trigger) {
                continue;
            }
            let t = if met { 0 } else { bar.time_at(extreme, trigger) };
            if first.is_none_or(|(_, best)| t < best) {
                first = Some((order_id, t));
            }
        }
        let kill_time = kill_price.map(|p| (p, bar.time_at(extreme, p)));
        if let Some((order, t)) = first.filter(|_| !keepers.failed) {
            let acts = t.saturating_add(keepers.latency_secs);
            let in_time = kill_time.is_none_or(|(_, tk)| acts < tk) && acts < bar.seconds;
            if in_time {
                return Ok(RaceOutcome::Protection {
                    order,
                    price: bar.price_at(extreme, acts),
                    at_secs: acts,
                });
            }
        }
        Ok(match kill_time {
            Some((price, at_secs)) => RaceOutcome::Liquidation { price, at_secs },
            None => RaceOutcome::Quiet,
        })
    }

    /// The token0 price (numeraire 1e18) at which an order's trigger is met on a leg down
    /// (`down`) or up; `None` for orders that watch something else or the other side.
    fn trigger_price(
        &self,
        id: u64,
        bar: &BarPath,
        kind: &OrderKind,
        best: Option<alloy_primitives::I256>,
        down: bool,
        numeraire1: U256,
    ) -> Result<Option<U256>, Error> {
        if let Some(bps) = ratio_trigger(kind) {
            return self.crossing(id, bar.from, if down { bar.low } else { bar.high }, bps);
        }
        Ok(self.price_trigger(kind, best, down, numeraire1))
    }

    /// The price nearest `from`, between it and `extreme`, at which the position's debt ratio
    /// is past `bps` with the pool arbitraged there ([`Market::health_at_price`]); `None` when
    /// it is not past at `extreme`. Bisection to the unit.
    fn crossing(
        &self,
        id: u64,
        from: U256,
        extreme: U256,
        bps: u64,
    ) -> Result<Option<U256>, Error> {
        first_past(from, extreme, |p| Ok(self.health_at_price(id, p)?.debt_ratio_bps > bps))
    }

    /// Whether `order`, which watches equity, is due with token0 at `price0`: the engine's
    /// decision on the position's equity there (its liquidity's tokens and fees at that oracle
    /// price, its rewards, less its debt).
    fn equity_due_at(&self, id: u64, order: &Order, price0: U256) -> Result<bool, Error> {
        let mut inventory = self.position_inventory(id)?;
        inventory.quotes[0].price_wad = price0;
        let reward = match &inventory.rewards {
            Some((token, amount)) if !amount.is_zero() => Some((self.quote(token)?, *amount)),
            _ => None,
        };
        let mut seen = self.seen(id, Some(&order.kind))?;
        seen.equity = Some(inventory.equity(reward)?);
        Ok(order.due(&seen).is_some())
    }

    /// The price nearest `from`, between it and `extreme`, at which `order`'s equity trigger
    /// is met; `None` when it is not met at `extreme`. Bisection to the unit.
    fn equity_crossing(
        &self,
        id: u64,
        order: &Order,
        from: U256,
        extreme: U256,
    ) -> Result<Option<U256>, Error> {
        first_past(from, extreme, |p| self.equity_due_at(id, order, p))
    }

    /// A price trigger's token0 price on a leg down or up, without any search.
    fn price_trigger(
        &self,
        kind: &OrderKind,
        best: Option<alloy_primitives::I256>,
        down: bool,
        numeraire1: U256,
    ) -> Option<U256> {
        // Pool prices (token0 in token1) in token0's numeraire price.
        let to_numeraire = |pool_price: U256| mul_div(pool_price, numeraire1, WAD).ok();
        let scaled = |p: U256, num: u64| mul_div(p, U256::from(num), U256::from(10_000u64)).ok();
        match kind {
            OrderKind::StopLoss { trigger, .. } | OrderKind::TakeProfit { trigger, .. } => {
                match *trigger {
                    Trigger::Below(p) if down => to_numeraire(p.0),
                    Trigger::Above(p) if !down => to_numeraire(p.0),
                    _ => None,
                }
            }
            OrderKind::TrailingStop { trail, .. } => {
                let best = best.filter(|b| b.is_positive())?.into_raw();
                match *trail {
                    Trail::PriceFallBps(b) if down => {
                        to_numeraire(scaled(best, 10_000 - u64::from(b))?)
                    }
                    Trail::PriceRiseBps(b) if !down => {
                        to_numeraire(scaled(best, 10_000 + u64::from(b))?)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// The price nearest `from`, between it and `extreme`, at which `past` turns true, by bisection
/// to the unit; `None` when it is not true at `extreme`. `past` must be false at `from`.
fn first_past(
    from: U256,
    extreme: U256,
    past: impl Fn(U256) -> Result<bool, Error>,
) -> Result<Option<U256>, Error> {
    if from == extreme || !past(extreme)? {
        return Ok(None);
    }
    let (mut safe, mut beyond) = (from, extreme);
    loop {
        let gap = safe.abs_diff(beyond);
        if gap <= U256::from(1u64) {
            return Ok(Some(beyond));
        }
        let mid = safe.min(beyond) + gap / U256::from(2u64);
        if past(mid)? {
            beyond = mid;
        } else {
            safe = mid;
        }
    }
}

/// The debt ratio (bps) at which an order acts, for those that watch it.
fn ratio_trigger(kind: &OrderKind) -> Option<u64> {
    match kind {
        OrderKind::Deleverage { trigger_bps, .. } | OrderKind::TopUp { trigger_bps, .. } => {
            Some(u64::from(*trigger_bps))
        }
        OrderKind::Rebalance { target_leverage_bps, band_bps } => {
            let above = u64::from(*target_leverage_bps) * (10_000 + u64::from(*band_bps)) / 10_000;
            Some(debt_ratio_for_leverage(above))
        }
        _ => None,
    }
}
