//! The exact engine as the market a walk of the book runs on: every move, valuation and
//! liquidation the engine's command.

use alloy_primitives::U256;
use levfarm_core::market::Event;
use levfarm_core::position::valuation::Quote;
use levfarm_core::position::LiquidationStyle;
use levfarm_core::Command;

use super::follow::{BookMarket, Kill, Wake, Woken, WATCH_CLOSE};
use super::{liquidator_account, Book, BookEntry, Borrower};
use crate::book::{value, value2};
use crate::world::{self, World, KEEPER};
use crate::SimError;
use levfarm_core::types::Name;

/// The book's market, walked by the engine.
#[derive(Debug)]
pub(super) struct Exact<'a> {
    w: World,
    entries: &'a [BookEntry],
    borrowers: &'a [Borrower],
    /// The engine ids of the book's pools, the scenario position's first.
    pools: Vec<Name>,
    /// Each protected position's orders, by the engine's id, and its entry.
    orders: std::collections::BTreeMap<u64, Vec<u64>>,
    entry_of: std::collections::BTreeMap<u64, usize>,
    /// The outside LP's liquidity at the start (what LP flight withdraws a share of).
    outside: U256,
    /// Each liquidator's asset (held and supplied) and stable tokens at the start.
    held: Vec<[U256; 2]>,
    /// The stable tokens each liquidator was lent for its borrowers' liquidations (a flash
    /// loan, paid back out of what it holds at the end).
    flash: Vec<U256>,
}

impl<'a> Exact<'a> {
    /// The book's market, ready for a walk with `liquidators` liquidators.
    pub(super) fn new(book: &'a Book, liquidators: usize) -> Result<Exact<'a>, SimError> {
        let w = book.world.clone();
        let held = (0..liquidators)
            .map(|k| holdings(&w, &liquidator_account(k)))
            .collect::<Result<_, _>>()?;
        let mut orders = std::collections::BTreeMap::<u64, Vec<u64>>::new();
        for id in w.market.keeper_sequence() {
            if let Some(o) = w.market.order(id) {
                orders.entry(o.position).or_default().push(id);
            }
        }
        Ok(Exact {
            outside: w.outside_liquidity()?,
            w,
            entries: &book.entries,
            borrowers: &book.borrowers,
            pools: book.pools.iter().map(|p| world::pool_id(p)).collect(),
            orders,
            entry_of: book.entries.iter().enumerate().map(|(i, e)| (e.id, i)).collect(),
            held,
            flash: vec![U256::ZERO; liquidators],
        })
    }

    fn id(&self, entry: usize) -> u64 {
        self.entries[entry].id
    }

    /// The plain borrower at `entry`, if it is one.
    fn borrower_at(&self, entry: usize) -> Option<&'a Borrower> {
        entry.checked_sub(self.entries.len()).map(|b| &self.borrowers[b])
    }

    /// A borrower's collateral value at its liquidation threshold, and its debt's value (both
    /// at the oracle, wad).
    fn account(&self, b: &Borrower) -> Result<(U256, U256, U256), SimError> {
        let s = self.w.market.account_status_at(&self.w.venue, &b.account)?;
        Ok((s.collateral_value, s.threshold_value, s.debt_value))
    }

    /// Liquidator `k` liquidates borrower `b` as Aave's liquidators do: with the stable
    /// tokens lent to it, it repays what the close factor allows, takes the collateral and its
    /// bonus, withdraws it (as much as the pool's cash allows) and sells it through the pool.
    fn liquidate_borrower(
        &mut self,
        b: &Borrower,
        k: usize,
        least: Option<f64>,
    ) -> Result<Kill, SimError> {
        let account = liquidator_account(k);
        let quotes = self.quotes()?;
        let mut w = self.w.clone();
        let (asset, stable, venue) = (w.asset.clone(), w.stable.clone(), w.venue.clone());
        let owed = w
            .market
            .lending_at(&venue, &stable)?
            .debt_of(&levfarm_core::Holder::Account(b.account.as_str().into()))?;
        let before = value2(holdings(&w, &account)?, quotes)?;
        w.mint(&account, &stable, owed)?;
        let call = Command::LiquidateAccount {
            liquidator: account.as_str().into(),
            borrower: b.account.as_str().into(),
            debt_token: stable.clone(),
            collateral_token: asset.clone(),
            debt_to_cover: None,
            venue: venue.clone(),
        };
        if w.run(call).is_err() {
            return Ok(Kill::Refused);
        }
        let (mut debt, mut bad) = (0i128, 0i128);
        for e in w.events() {
            match e {
                Event::AccountLiquidated { debt_repaid, .. } => {
                    debt += value(debt_repaid.0, quotes[1])?
                }
                Event::BadDebt { token, amount, .. } => {
                    let q = if *token == asset { quotes[0] } else { quotes[1] };
                    bad += value(amount.0, q)?;
                }
                _ => {}
            }
        }
        // The collateral, withdrawn as far as the pool's cash goes, sold for the stable token.
        let held = w.balance(&account, &asset);
        let supplied = w
            .market
            .lending_at(&venue, &asset)?
            .supply_balance(&levfarm_core::Holder::Account(account.as_str().into()))?;
        let cash = w.market.lending_at(&venue, &asset)?.cash;
        let out = supplied.min(cash);
        if !out.is_zero() {
            w.run(Command::Withdraw {
                account: account.as_str().into(),
                token: asset.clone(),
                amount: Some(levfarm_core::types::Amount(out)),
                venue,
            })?;
        }
        let got = w.balance(&account, &asset) - held;
        if !got.is_zero() {
            w.run(Command::Swap {
                account: account.as_str().into(),
                pool: w.pool.clone(),
                token_in: asset,
                amount_in: levfarm_core::types::Amount(got),
                min_amount_out: None,
            })?;
        }
        if let Some(least) = least {
            let gain = value2(holdings(&w, &account)?, quotes)? - before - value(owed, quotes[1])?;
            if (gain as f64 / 1e18) < least {
                return Ok(Kill::Unprofitable);
            }
        }
        self.w = w;
        self.flash[k] += owed;
        Ok(Kill::Done { debt: debt as f64 / 1e18, bad_debt: bad as f64 / 1e18, wait: false })
    }

    fn quotes(&self) -> Result<[Quote; 2], SimError> {
        Ok([self.w.market.quote(&self.w.asset)?, self.w.market.quote(&self.w.stable)?])
    }
}

/// An account's asset (held, and supplied at the positions' venue) and stable tokens.
fn holdings(w: &World, account: &str) -> Result<[U256; 2], SimError> {
    let holder = levfarm_core::Holder::Account(account.into());
    let supplied = match w.market.lending_at(&w.venue, &w.asset) {
        Ok(pool) => pool.supply_balance(&holder)?,
        Err(_) => U256::ZERO,
    };
    Ok([w.balance(account, &w.asset) + supplied, w.balance(account, &w.stable)])
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

    fn depths(&self) -> Result<Vec<f64>, SimError> {
        self.pools.iter().map(|p| depth(&self.w, p)).collect()
    }

    fn pool_prices(&self) -> Result<Vec<f64>, SimError> {
        self.pools.iter().map(|p| pool_price(&self.w, p)).collect()
    }

    fn pool_of(&self, entry: usize) -> usize {
        self.entries.get(entry).map_or(0, |e| e.pool)
    }

    fn utilization(&self) -> Result<f64, SimError> {
        let w = &self.w;
        let pool = w.market.lending_at(&w.lending_venue(&w.stable), &w.stable)?;
        Ok(world::wad_to_f64(pool.utilization()?.0) / 1e9)
    }

    fn is_open(&self, entry: usize) -> bool {
        match self.borrower_at(entry) {
            Some(b) => self.account(b).is_ok_and(|(_, _, debt)| !debt.is_zero()),
            None => self.w.market.position_is_open(self.id(entry)),
        }
    }

    fn count(&self) -> usize {
        self.entries.len() + self.borrowers.len()
    }

    fn borrower(&self, entry: usize) -> bool {
        entry >= self.entries.len()
    }

    fn past_kill(&self, entry: usize) -> Result<Option<f64>, SimError> {
        if let Some(b) = self.borrower_at(entry) {
            // Aave: liquidatable below a health factor of 1.
            let (_, threshold, debt) = self.account(b)?;
            return Ok((!debt.is_zero() && threshold < debt).then(|| world::wad_to_f64(debt)));
        }
        Ok(past_kill(&self.w, self.id(entry))?.map(world::wad_to_f64))
    }

    fn ratio(&self, entry: usize) -> Result<(f64, f64), SimError> {
        if let Some(b) = self.borrower_at(entry) {
            let (_, threshold, debt) = self.account(b)?;
            let (t, d) = (world::wad_to_f64(threshold), world::wad_to_f64(debt));
            return Ok((if t > 0.0 { d * 1e4 / t } else { f64::INFINITY }, 1e4));
        }
        let id = self.id(entry);
        let h = self.w.market.position_health(id)?;
        let kill = f64::from(self.w.market.leverage_rules(id)?.kill_factor_bps.0);
        Ok((h.debt_ratio_bps as f64, kill))
    }

    fn liquidation_prices(&self, entry: usize) -> Result<(Option<f64>, Option<f64>), SimError> {
        if self.borrower_at(entry).is_some() {
            // Collateral in the asset, debt in the stable token: the threshold's value moves
            // with the oracle, so the health factor reaches 1 at the oracle times the ratio.
            let (ratio, one) = self.ratio(entry)?;
            let oracle = world::wad_to_f64(self.quotes()?[0].price_wad);
            return Ok((Some(oracle * ratio / one), None));
        }
        let lp = self.w.market.liquidation_prices(self.id(entry))?;
        Ok((lp.lower.map(world::wad_to_f64), lp.upper.map(world::wad_to_f64)))
    }

    fn kill(&mut self, entry: usize, k: usize, least: Option<f64>) -> Result<Kill, SimError> {
        if let Some(b) = self.borrower_at(entry) {
            return self.liquidate_borrower(b, k, least);
        }
        let id = self.id(entry);
        let account = liquidator_account(k);
        let kill = Command::Liquidate { liquidator: account.as_str().into(), position: id };
        let quotes = self.quotes()?;
        match least {
            Some(least) => {
                // The liquidator weighs the kill first: its prize at the oracle.
                let mut trial = self.w.clone();
                let before = value2(holdings(&trial, &account)?, quotes)?;
                if trial.run(kill).is_err() {
                    return Ok(Kill::Refused);
                }
                let prize = (value2(holdings(&trial, &account)?, quotes)? - before) as f64 / 1e18;
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

    fn run_orders(&mut self, woken: Option<Woken>) -> Result<Vec<usize>, SimError> {
        let mut acted = Vec::new();
        let Some(woken) = woken else {
            for id in self.w.market.keeper_sequence() {
                let Some(order) = self.w.market.order(id).cloned() else { continue };
                // An earlier order this pass may have closed its position.
                if order.status != levfarm_core::orders::OrderStatus::Active {
                    continue;
                }
                let position = order.position;
                if run_order(&mut self.w, id, order)? {
                    acted.extend(self.entry_of.get(&position));
                }
            }
            return Ok(acted);
        };
        let mut prices = self.pool_prices()?;
        // The keeper's sequence is by position, then by the order's rank: position by
        // position, only those woken.
        let orders = std::mem::take(&mut self.orders);
        for (position, ids) in &orders {
            match self.entry_of.get(position) {
                Some(&i) if woken(i, &prices) => {}
                _ => continue,
            }
            for &id in ids {
                let Some(order) = self.w.market.order(id) else { continue };
                if order.status != levfarm_core::orders::OrderStatus::Active {
                    continue;
                }
                let order = order.clone();
                if run_order(&mut self.w, id, order)? {
                    acted.extend(self.entry_of.get(position));
                    // Its selling moved the pools for the orders after it.
                    prices = self.pool_prices()?;
                }
            }
        }
        self.orders = orders;
        Ok(acted)
    }

    fn order_wake(&self, entry: usize) -> Result<Option<Wake>, SimError> {
        use levfarm_core::orders::{OrderKind as K, OrderStatus, Trigger};
        let id = self.id(entry);
        let mut wake = Wake::default();
        let lower = |w: &mut Wake, p: f64| w.lower = Some(w.lower.map_or(p, |q| q.max(p)));
        let upper = |w: &mut Wake, p: f64| w.upper = Some(w.upper.map_or(p, |q| q.min(p)));
        let due = |w: &mut Wake, t: u64| w.due_at = Some(w.due_at.map_or(t, |u| u.min(t)));
        for oid in self.orders.get(&id).into_iter().flatten() {
            let Some(o) = self.w.market.order(*oid) else { continue };
            if o.status != OrderStatus::Active {
                continue;
            }
            match &o.kind {
                K::Deleverage { trigger_bps, .. } | K::TopUp { trigger_bps, .. } => {
                    // Near its trigger already (the solve finds no crossing past it): every
                    // step, as the liquidation watch does near the kill factor.
                    let ratio = self.w.market.position_health(id)?.debt_ratio_bps as f64;
                    if ratio >= WATCH_CLOSE * f64::from(*trigger_bps) {
                        return Ok(None);
                    }
                    let at = self.w.market.ratio_prices(id, u64::from(*trigger_bps))?;
                    if let Some(p) = at.lower {
                        lower(&mut wake, world::wad_to_f64(p));
                    }
                    if let Some(p) = at.upper {
                        upper(&mut wake, world::wad_to_f64(p));
                    }
                }
                K::StopLoss { trigger: Trigger::Below(p), .. }
                | K::TakeProfit { trigger: Trigger::Below(p), .. } => {
                    lower(&mut wake, world::wad_to_f64(p.0))
                }
                K::StopLoss { trigger: Trigger::Above(p), .. }
                | K::TakeProfit { trigger: Trigger::Above(p), .. } => {
                    upper(&mut wake, world::wad_to_f64(p.0))
                }
                K::Compound { every_seconds } => {
                    due(&mut wake, o.last_run.saturating_add(*every_seconds))
                }
                K::TimeLimit { at, .. } => due(&mut wake, *at),
                // Equity triggers, trailing stops, rebalancing and re-centring: every step.
                _ => return Ok(None),
            }
        }
        Ok(Some(wake))
    }

    fn now(&self) -> u64 {
        self.w.market.time
    }

    fn gained(&self, k: usize) -> Result<f64, SimError> {
        let [a, s] = holdings(&self.w, &liquidator_account(k))?;
        let [a0, s0] = self.held[k];
        let q = self.quotes()?;
        // What it holds beyond its start, less the stable tokens it was lent.
        let gained = value2([a.saturating_sub(a0), s.saturating_sub(s0)], q)?;
        Ok((gained - value(self.flash[k], q[1])?) as f64 / 1e18)
    }

    fn shortfall(&self, entry: usize) -> Result<f64, SimError> {
        if let Some(b) = self.borrower_at(entry) {
            let (collateral, _, debt) = self.account(b)?;
            return Ok(world::wad_to_f64(debt.saturating_sub(collateral)));
        }
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

/// The keeper runs order `id` (active, as `order`) when it is due or its watch moved (a
/// trailing stop's best); whether it acted.
fn run_order(w: &mut World, id: u64, order: levfarm_core::orders::Order) -> Result<bool, SimError> {
    let seen = w.market.seen(order.position, Some(&order.kind))?;
    let mut probe = order.clone();
    probe.observe(&seen);
    if probe.due(&seen).is_none() && probe == order {
        return Ok(false);
    }
    w.run(Command::RunOrder { keeper: KEEPER.into(), order: id })?;
    Ok(w.events().iter().any(|e| matches!(e, Event::OrderActed { order, .. } if *order == id)))
}

/// Pool `id`'s depth: its liquidity `√(x·y)` (in range, on a v3 pool).
fn depth(w: &World, id: &Name) -> Result<f64, SimError> {
    Ok(match w.market.amm_pool(id) {
        Ok(p) => (world::wad_to_f64(p.amm.reserve0) * world::wad_to_f64(p.amm.reserve1)).sqrt(),
        Err(_) => w.market.v3_amm_pool(id)?.pool.liquidity as f64,
    })
}

/// Pool `id`'s price of the asset in the numeraire (the stable token at its oracle price).
fn pool_price(w: &World, id: &Name) -> Result<f64, SimError> {
    let q = [w.market.quote(&w.asset)?, w.market.quote(&w.stable)?];
    let units = world::wad_to_f64(q[0].unit) / world::wad_to_f64(q[1].unit);
    let raw = match w.market.amm_pool(id) {
        Ok(p) => world::wad_to_f64(p.amm.reserve1) / world::wad_to_f64(p.amm.reserve0),
        Err(_) => {
            let sqrt = w.market.v3_amm_pool(id)?.pool.sqrt_price;
            let r = world::wad_to_f64(sqrt) * 1e18 / 2f64.powi(96);
            r * r
        }
    };
    Ok(raw * units * world::wad_to_f64(q[1].price_wad))
}
