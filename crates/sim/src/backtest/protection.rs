//! Protection: the scenario's orders placed as the engine's, run in the engine's order before
//! the liquidators, and the liquidators themselves.

use super::*;

impl Runner<'_> {
    /// The scenario's protection as engine orders on the position just opened: every order
    /// the backtester runs is the engine's ([`levfarm_core::orders`]).
    pub(super) fn place_orders(&mut self, id: u64) -> Result<(), SimError> {
        let orders = scenario_orders(self.scenario, &self.world, self.strategy)?;
        for order in orders {
            self.world.run(Command::PlaceOrder { caller: OWNER.into(), position: id, order })?;
        }
        Ok(())
    }

    /// The keepers at the bar's close: every active order in the engine's order (each booked
    /// on its own), then the liquidators.
    pub(super) fn keepers(&mut self, t: i64) -> Result<(), SimError> {
        if self.position.is_none() {
            return Ok(());
        }
        let price = self.world.market.quote(&self.world.asset)?.price_wad;
        for order_id in self.world.market.keeper_sequence() {
            let Some(order) = self.world.market.order(order_id).cloned() else { continue };
            if order.status != OrderStatus::Active {
                continue; // ended by an earlier order's exit
            }
            self.run_order(t, price, &order)?;
        }
        // Liquidators run last: after every protection order had its chance.
        self.liquidate(t, price)
    }

    /// The liquidator kills the position if it is past the kill factor, at the market's price.
    pub(super) fn liquidate(&mut self, t: i64, price: U256) -> Result<(), SimError> {
        let Some(id) = self.position else { return Ok(()) };
        let health = self.world.market.position_health(id)?;
        let kill = self.scenario.leverage().kill_factor_bps as u64;
        if health.debt_ratio_bps > kill {
            let detail = format!(
                "debt ratio {:.2}% above the kill factor {:.2}%",
                health.debt_ratio_bps as f64 / 100.0,
                kill as f64 / 100.0
            );
            let done = self.try_act(t, price, ActionKind::Liquidation, |w| {
                w.run(Command::Liquidate { liquidator: KEEPER.into(), position: id })?;
                Ok(detail)
            })?;
            if done {
                self.liquidated_at = Some(t);
                self.closed_at = Some(t);
                self.position = None;
            }
        }
        Ok(())
    }

    /// Runs one engine order and books what it did: its cost (equity after less before, at
    /// the same prices), gas for protection, and the action's record; a refusal is recorded
    /// once per kind and day.
    pub(super) fn run_order(&mut self, t: i64, price: U256, order: &Order) -> Result<(), SimError> {
        // The engine's own decision first: an order that is not due only follows what it
        // watches (a trailing stop's best), and costs no valuation here.
        let seen = self.world.market.seen(order.position, Some(&order.kind))?;
        let mut probe = order.clone();
        probe.observe(&seen);
        if probe.due(&seen).is_none() {
            if probe != *order {
                self.world.run(Command::RunOrder { keeper: KEEPER.into(), order: order.id })?;
            }
            return Ok(());
        }
        let kind = action_kind(&order.kind);
        let before = self.prev.equity()?;
        let ratio_before = self
            .position
            .and_then(|id| self.world.market.position_health(id).ok())
            .map(|h| h.debt_ratio_bps);
        self.world.run(Command::RunOrder { keeper: KEEPER.into(), order: order.id })?;
        let outcome = self.world.events().iter().rev().find_map(|e| match e {
            Event::OrderActed { order: o, detail, .. } if *o == order.id => {
                Some(Ok(detail.clone()))
            }
            Event::OrderSkipped { order: o, reason, refused: true, .. } if *o == order.id => {
                Some(Err(reason.clone()))
            }
            _ => None,
        });
        match outcome {
            None => Ok(()),
            Some(Ok(detail)) => {
                if matches!(kind.cost(), CostKind::Protection)
                    && self.strategy == Strategy::Leveraged
                {
                    self.gas += world::wad_from_f64(self.scenario.costs.gas_per_action)?;
                }
                let id = self
                    .position
                    .filter(|id| self.world.market.positions().any(|p| p.id == *id && p.open));
                if id.is_none() {
                    self.position = None;
                    self.closed_at = Some(t);
                }
                self.book(t, price, kind, (before, ratio_before), id, detail)
            }
            Some(Err(reason)) => {
                self.refused(t, price, kind, before, ratio_before, reason);
                Ok(())
            }
        }
    }
}

/// The engine orders a scenario's protection describes, in the order the scenario lists them
/// (the engine runs them in its keepers' order whatever the order of placing): protection for
/// the leveraged position only, compounding for every LP strategy, re-centring for a leveraged
/// range position.
pub fn scenario_orders(
    scenario: &Scenario,
    world: &World,
    strategy: Strategy,
) -> Result<Vec<OrderKind>, SimError> {
    let p = &scenario.protection;
    let bps = |share: f64| (share * 1e4).round() as u32;
    let exit_to = Some(world.stable.clone());
    let mut orders = Vec::new();
    let leveraged = strategy == Strategy::Leveraged;
    if leveraged {
        if let Some(price) = p.stop_loss_price {
            let trigger = Trigger::Below(world::price_from_f64(price)?);
            orders.push(OrderKind::StopLoss { trigger, exit_to: exit_to.clone() });
        }
        if let Some(loss) = p.stop_loss_equity {
            let trigger = Trigger::EquityLossBps(bps(loss));
            orders.push(OrderKind::StopLoss { trigger, exit_to: exit_to.clone() });
        }
        if let Some(price) = p.take_profit_price {
            let trigger = Trigger::Above(world::price_from_f64(price)?);
            orders.push(OrderKind::TakeProfit { trigger, exit_to: exit_to.clone() });
        }
        if let Some(gain) = p.take_profit_equity {
            let trigger = Trigger::EquityGainBps(bps(gain));
            orders.push(OrderKind::TakeProfit { trigger, exit_to: exit_to.clone() });
        }
        if let Some(share) = p.trailing_stop_price {
            let trail = match scenario.position.borrow {
                BorrowSide::Asset => Trail::PriceRiseBps(bps(share)),
                _ => Trail::PriceFallBps(bps(share)),
            };
            orders.push(OrderKind::TrailingStop { trail, exit_to: exit_to.clone() });
        }
        if let Some(share) = p.trailing_stop_equity {
            let trail = Trail::EquityFallBps(bps(share));
            orders.push(OrderKind::TrailingStop { trail, exit_to: exit_to.clone() });
        }
        if let Some(days) = p.time_limit_days {
            let at = world.market.time + (days * 86_400.0).round() as u64;
            orders.push(OrderKind::TimeLimit { at, exit_to: exit_to.clone() });
        }
        if let Some(t) = &p.top_up {
            orders.push(OrderKind::TopUp {
                trigger_bps: bps(t.trigger),
                target_bps: bps(t.target),
                reserve: Amount(world.value_to_amount(&world.stable, t.reserve)?),
                token: Some(world.stable.clone()),
            });
        }
        if let Some(d) = &p.deleverage {
            orders.push(OrderKind::Deleverage {
                trigger_bps: bps(d.trigger),
                target_bps: bps(d.target),
            });
        }
        if let Some(r) = &p.rebalance {
            orders.push(OrderKind::Rebalance {
                target_leverage_bps: bps(r.target_leverage),
                band_bps: bps(r.band),
            });
        }
    }
    if let Some(hours) = p.compound_hours {
        // Scenario::validate keeps `hours` within 100 years: no overflow.
        orders.push(OrderKind::Compound { every_seconds: hours * 3600 });
    }
    if leveraged && p.recenter && world.kind == PoolKind::V3 {
        orders.push(OrderKind::Recenter { width: None });
    }
    Ok(orders)
}

/// Whether the keeper fails in the bar at `t` for `position`: a hash of (seed, bar time,
/// position) under the failure rate, so that the same scenario fails on the same bars.
pub fn keeper_failed(seed: u64, t: i64, position: u64, rate: f64) -> bool {
    if rate <= 0.0 {
        return false;
    }
    // SplitMix64 over the three, mixed in turn.
    let mut x = seed;
    for v in [t as u64, position] {
        x = x.wrapping_add(v).wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
    }
    ((x >> 11) as f64 / (1u64 << 53) as f64) < rate
}

/// The action an order's kind records.
pub(super) fn action_kind(kind: &OrderKind) -> ActionKind {
    match kind {
        OrderKind::StopLoss { .. } => ActionKind::StopLoss,
        OrderKind::TakeProfit { .. } => ActionKind::TakeProfit,
        OrderKind::TrailingStop { .. } => ActionKind::TrailingStop,
        OrderKind::TimeLimit { .. } => ActionKind::TimeLimit,
        OrderKind::TopUp { .. } => ActionKind::TopUp,
        OrderKind::Deleverage { .. } => ActionKind::Deleverage,
        OrderKind::Rebalance { .. } => ActionKind::Rebalance,
        OrderKind::Compound { .. } => ActionKind::Compound,
        OrderKind::Recenter { .. } => ActionKind::Recenter,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Deleverage, ProtectionSpec};

    #[test]
    fn keepers_fail_at_their_rate_and_on_the_same_bars_again() {
        let bars = 20_000;
        let failed = (0..bars).filter(|&i| keeper_failed(7, i * 3600, 1, 0.1)).count();
        // A binomial's three standard deviations: √(20000 · 0.1 · 0.9) ≈ 42.
        assert!((failed as i64 - 2_000).abs() < 130, "{failed} of {bars}");
        assert_eq!(
            (0..100).map(|i| keeper_failed(7, i * 3600, 1, 0.1)).collect::<Vec<_>>(),
            (0..100).map(|i| keeper_failed(7, i * 3600, 1, 0.1)).collect::<Vec<_>>()
        );
        assert!((0..1000).all(|i| !keeper_failed(7, i, 1, 0.0)));
        let other_seed = (0..100).filter(|&i| keeper_failed(8, i * 3600, 1, 0.5)).count();
        let this_seed = (0..100).filter(|&i| keeper_failed(7, i * 3600, 1, 0.5)).count();
        assert!(other_seed > 0 && this_seed > 0);
    }

    #[test]
    fn protection_becomes_engine_orders_for_the_leveraged_position_only() {
        let s = Scenario {
            protection: ProtectionSpec {
                deleverage: Some(Deleverage { trigger: 0.78, target: 0.6 }),
                stop_loss_price: Some(1000.0),
                compound_hours: Some(24),
                time_limit_days: Some(30.0),
                ..ProtectionSpec::default()
            },
            ..Scenario::default()
        };
        let world =
            World::build(&s, Price(U256::from(2000u64) * levfarm_core::math::WAD), 86_400).unwrap();
        let kinds: Vec<&str> = scenario_orders(&s, &world, Strategy::Leveraged)
            .unwrap()
            .iter()
            .map(|k| action_kind(k).as_str())
            .collect();
        assert_eq!(kinds, ["stop_loss", "time_limit", "deleverage", "compound"]);
        // The alternatives without leverage only compound.
        let lp: Vec<&str> = scenario_orders(&s, &world, Strategy::UnleveragedLp)
            .unwrap()
            .iter()
            .map(|k| action_kind(k).as_str())
            .collect();
        assert_eq!(lp, ["compound"]);
    }
}
