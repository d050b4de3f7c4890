//! The exact engine as the market a walk of the book runs on: every move, valuation and
//! liquidation the engine's command.

use alloy_primitives::U256;
use levfarm_core::market::Event;
use levfarm_core::position::valuation::Quote;
use levfarm_core::position::LiquidationStyle;
use levfarm_core::Command;

use super::follow::{BookMarket, Kill};
use super::{liquidator_account, Book, BookEntry};
use crate::book::{value, value2};
use crate::world::{self, World, KEEPER};
use crate::SimError;

/// The book's market, walked by the engine.
#[derive(Debug)]
pub(super) struct Exact<'a> {
    w: World,
    entries: &'a [BookEntry],
    /// The outside LP's liquidity at the start (what LP flight withdraws a share of).
    outside: U256,
    /// Each liquidator's asset and stable tokens at the start.
    held: Vec<[U256; 2]>,
}

impl<'a> Exact<'a> {
    /// The book's market, ready for a walk with `liquidators` liquidators.
    pub(super) fn new(book: &'a Book, liquidators: usize) -> Result<Exact<'a>, SimError> {
        let w = book.world.clone();
        let held = (0..liquidators).map(|k| holdings(&w, &liquidator_account(k))).collect();
        Ok(Exact { outside: w.outside_liquidity()?, w, entries: &book.entries, held })
    }

    fn id(&self, entry: usize) -> u64 {
        self.entries[entry].id
    }

    fn quotes(&self) -> Result<[Quote; 2], SimError> {
        Ok([self.w.market.quote(&self.w.asset)?, self.w.market.quote(&self.w.stable)?])
    }
}

/// An account's asset and stable tokens.
fn holdings(w: &World, account: &str) -> [U256; 2] {
    [w.balance(account, &w.asset), w.balance(account, &w.stable)]
}

impl BookMarket for Exact<'_> {
    fn step(&mut self, seconds: u64, price: f64) -> Result<(), SimError> {
        Ok(self.w.move_to(seconds, world::price_from_f64(price)?, None)?)
    }

    fn publish(&mut self, price: f64) -> Result<(), SimError> {
        let asset = self.w.asset.clone();
        Ok(self.w.set_price(&asset, world::price_from_f64(price)?)?)
    }

    fn has_outside(&self) -> bool {
        !self.outside.is_zero()
    }

    fn withdraw_outside(&mut self, share: f64) -> Result<(), SimError> {
        self.w.withdraw_outside_liquidity(self.outside, share)
    }

    fn depth(&self) -> Result<f64, SimError> {
        depth(&self.w)
    }

    fn pool_price(&self) -> Result<f64, SimError> {
        pool_price(&self.w)
    }

    fn utilization(&self) -> Result<f64, SimError> {
        let w = &self.w;
        let pool = w.market.lending_at(&w.lending_venue(&w.stable), &w.stable)?;
        Ok(world::wad_to_f64(pool.utilization()?.0) / 1e9)
    }

    fn is_open(&self, entry: usize) -> bool {
        self.w.market.position_is_open(self.id(entry))
    }

    fn past_kill(&self, entry: usize) -> Result<Option<f64>, SimError> {
        Ok(past_kill(&self.w, self.id(entry))?.map(world::wad_to_f64))
    }

    fn ratio(&self, entry: usize) -> Result<(f64, f64), SimError> {
        let id = self.id(entry);
        let h = self.w.market.position_health(id)?;
        let kill = f64::from(self.w.market.leverage_rules(id)?.kill_factor_bps.0);
        Ok((h.debt_ratio_bps as f64, kill))
    }

    fn liquidation_prices(&self, entry: usize) -> Result<(Option<f64>, Option<f64>), SimError> {
        let lp = self.w.market.liquidation_prices(self.id(entry))?;
        Ok((lp.lower.map(world::wad_to_f64), lp.upper.map(world::wad_to_f64)))
    }

    fn kill(&mut self, entry: usize, k: usize, least: Option<f64>) -> Result<Kill, SimError> {
        let id = self.id(entry);
        let account = liquidator_account(k);
        let kill = Command::Liquidate { liquidator: account.as_str().into(), position: id };
        let quotes = self.quotes()?;
        match least {
            Some(least) => {
                // The liquidator weighs the kill first: its prize at the oracle.
                let mut trial = self.w.clone();
                let before = value2(holdings(&trial, &account), quotes)?;
                if trial.run(kill).is_err() {
                    return Ok(Kill::Refused);
                }
                let prize = (value2(holdings(&trial, &account), quotes)? - before) as f64 / 1e18;
                if prize < least {
                    return Ok(Kill::Unprofitable);
                }
                self.w = trial;
            }
            // No longer liquidatable (an earlier kill's selling can raise a short's value).
            None if self.w.run(kill).is_err() => return Ok(Kill::Refused),
            None => {}
        }
        // A soft style liquidates a position once a step.
        let soft =
            matches!(self.w.market.leverage_rules(id)?.liquidation, LiquidationStyle::Soft { .. });
        let (mut debt, mut bad, mut wait) = (0i128, 0i128, false);
        for e in self.w.events() {
            match e {
                Event::BadDebt { token, amount, .. } => {
                    let q = if *token == self.w.asset { quotes[0] } else { quotes[1] };
                    bad += value(amount.0, q)?;
                }
                // A share of the position: its debt repaid or written off.
                Event::PositionPartlyLiquidated(p) => {
                    debt += value(p.repaid0.0 + p.bad_debt0.0, quotes[0])?
                        + value(p.repaid1.0 + p.bad_debt1.0, quotes[1])?;
                    wait = soft;
                }
                Event::PositionLiquidated(p) => {
                    debt += i128::try_from(p.health_before.debt_value).unwrap_or(i128::MAX)
                }
                _ => {}
            }
        }
        Ok(Kill::Done { debt: debt as f64 / 1e18, bad_debt: bad as f64 / 1e18, wait })
    }

    fn run_orders(&mut self) -> Result<usize, SimError> {
        run_orders(&mut self.w)
    }

    fn gained(&self, k: usize) -> Result<f64, SimError> {
        let [a, s] = holdings(&self.w, &liquidator_account(k));
        let [a0, s0] = self.held[k];
        Ok(value2([a.saturating_sub(a0), s.saturating_sub(s0)], self.quotes()?)? as f64 / 1e18)
    }

    fn shortfall(&self, entry: usize) -> Result<f64, SimError> {
        let h = self.w.market.position_health(self.id(entry))?;
        Ok(world::wad_to_f64(h.debt_value.saturating_sub(h.value)))
    }
}

/// The debt value of position `id` when it is open and past its kill factor.
pub(super) fn past_kill(w: &World, id: u64) -> Result<Option<U256>, SimError> {
    if !w.market.position_is_open(id) {
        return Ok(None);
    }
    let h = w.market.position_health(id)?;
    let kill = u64::from(w.market.leverage_rules(id)?.kill_factor_bps.0);
    Ok((h.debt_ratio_bps > kill).then_some(h.debt_value))
}

/// Runs every active protection order in the engine's order, as the keeper: each due order
/// acts, the others follow what they watch. Returns how many acted.
fn run_orders(w: &mut World) -> Result<usize, SimError> {
    let mut acted = 0;
    for id in w.market.keeper_sequence() {
        let Some(order) = w.market.order(id).cloned() else { continue };
        if order.status != levfarm_core::orders::OrderStatus::Active {
            continue;
        }
        let seen = w.market.seen(order.position, Some(&order.kind))?;
        let mut probe = order.clone();
        probe.observe(&seen);
        if probe.due(&seen).is_none() && probe == order {
            continue;
        }
        w.run(Command::RunOrder { keeper: KEEPER.into(), order: id })?;
        if w.events().iter().any(|e| matches!(e, Event::OrderActed { order, .. } if *order == id)) {
            acted += 1;
        }
    }
    Ok(acted)
}

/// The pool's depth: its liquidity `√(x·y)` (in range, on a v3 pool).
fn depth(w: &World) -> Result<f64, SimError> {
    Ok(match w.kind {
        crate::scenario::PoolKind::ConstantProduct => {
            let p = &w.market.amm_pool(&w.pool)?.amm;
            (world::wad_to_f64(p.reserve0) * world::wad_to_f64(p.reserve1)).sqrt()
        }
        crate::scenario::PoolKind::V3 => w.market.v3_amm_pool(&w.pool)?.pool.liquidity as f64,
    })
}

/// The pool's price of the asset in the numeraire (the stable token at its oracle price).
fn pool_price(w: &World) -> Result<f64, SimError> {
    let q = [w.market.quote(&w.asset)?, w.market.quote(&w.stable)?];
    let units = world::wad_to_f64(q[0].unit) / world::wad_to_f64(q[1].unit);
    let raw = match w.kind {
        crate::scenario::PoolKind::ConstantProduct => {
            let p = &w.market.amm_pool(&w.pool)?.amm;
            world::wad_to_f64(p.reserve1) / world::wad_to_f64(p.reserve0)
        }
        crate::scenario::PoolKind::V3 => {
            let sqrt = w.market.v3_amm_pool(&w.pool)?.pool.sqrt_price;
            let r = world::wad_to_f64(sqrt) * 1e18 / 2f64.powi(96);
            r * r
        }
    };
    Ok(raw * units * world::wad_to_f64(q[1].price_wad))
}
