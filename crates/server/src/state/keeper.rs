//! A price update and the keepers that run on it, always in this order:
//!
//! 1. **accrue**: time moves to the price's time, the oracle takes the price, the
//!    arbitrageur trades the pool to it, and every lending pool's interest is brought up to
//!    date; every position is marked (a profit-and-loss step).
//! 2. **protection**: due orders act, oldest first, before any liquidator can.
//! 3. **liquidation**: every position past the kill factor is liquidated.
//! 4. **alerts**: thresholds users set, checked against what is left.
//!
//! Each step writes what it did, and what it skipped and why, into a [`KeeperReport`].

use alloy_primitives::U256;
use levfarm_core::price::Price;
use levfarm_core::types::Amount;
use levfarm_core::Command;
use levfarm_sim::book::CostKind;
use levfarm_sim::world::{ARB, KEEPER, POOL};
use serde::Serialize;

use super::positions::{bps_text, deleverage_ppm, target_debt_ratio};
use super::{
    engine_name, Applied, HistoryPoint, Notice, OrderKind, OrderStatus, PricePoint, Reply, State,
    HISTORY_KEPT, REPORTS_KEPT,
};
use crate::Error;

/// What the keepers did on one price update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct KeeperReport {
    pub time: i64,
    pub price: Price,
    pub source: String,
    pub lines: Vec<KeeperLine>,
}

/// One thing a keeper did or skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct KeeperLine {
    /// `accrue`, `protection`, `liquidation` or `alert`.
    pub step: super::Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<u64>,
    /// `acted` or `skipped`.
    pub outcome: super::Text,
    pub detail: String,
}

impl KeeperLine {
    fn new(
        step: &'static str,
        position: Option<u64>,
        order: Option<u64>,
        acted: bool,
        detail: String,
    ) -> Self {
        KeeperLine {
            step: step.into(),
            position,
            order,
            outcome: if acted { "acted" } else { "skipped" }.into(),
            detail,
        }
    }
}

impl State {
    pub(super) fn price(
        &mut self,
        source: &str,
        price: Price,
        time: i64,
    ) -> Result<Applied, Error> {
        if price.0.is_zero() {
            return Err(Error::invalid("price", "must be above zero"));
        }
        let now = self.now();
        if time < now {
            return Err(Error::invalid(
                "time",
                format!("{time} is before the market's clock ({now}); prices only move it forward"),
            ));
        }
        if u64::try_from(time).map_or(true, |t| t > levfarm_core::market::MAX_TIME) {
            return Err(Error::invalid(
                "time",
                format!("{time} is past {} (9999-12-31 UTC)", levfarm_core::market::MAX_TIME),
            ));
        }
        if source.is_empty() || source.len() > 64 {
            return Err(Error::invalid("source", "1 to 64 characters"));
        }
        // Everything below either cannot fail or is an engine command on a copy.
        let mut world = self.world.clone();
        let dt = u64::try_from(time - now).unwrap_or(0);
        if dt > 0 {
            world.run(Command::AdvanceTime { seconds: dt })?;
        }
        let asset = world.asset.clone();
        world.set_price(&asset, price)?;
        world.run(Command::Arbitrage { account: ARB.into(), pool: POOL.into() })?;
        world.run(Command::Accrue {})?;
        self.world = world;
        self.last_price = PricePoint { price, time, source: source.to_string() };

        let mut lines = Vec::new();
        let mut notices = Vec::new();
        let open: Vec<u64> = self.open_positions();
        for &id in &open {
            if let Err(e) = self.mark(id) {
                lines.push(KeeperLine::new(
                    "accrue",
                    Some(id),
                    None,
                    false,
                    format!("could not mark: {e}"),
                ));
            }
        }
        lines.push(KeeperLine::new(
            "accrue",
            None,
            None,
            true,
            format!("time +{dt} s, price {price}, {} open positions marked", open.len()),
        ));

        self.protection(price, &mut lines, &mut notices);
        self.liquidations(&mut lines, &mut notices);
        self.alerts(price, &mut lines, &mut notices);

        // Every position that was open or is now (a rebalance reopens under a new id) tells
        // its owner; the wallets of owners whose positions a keeper acted on, too.
        let mut touched = open.clone();
        touched.extend(self.open_positions());
        touched.sort_unstable();
        touched.dedup();
        let mut wallets = std::collections::BTreeSet::new();
        for line in lines.iter().filter(|l| l.outcome == "acted" && l.step != "accrue") {
            if let Some(t) = line.position.and_then(|p| self.tracked.get(&p)) {
                wallets.insert(t.account);
            }
        }
        for id in touched {
            let Some(account) = self.tracked.get(&id).map(|t| t.account) else { continue };
            if self.tracked.get(&id).is_some_and(|t| t.closed.is_none()) {
                self.record_point(id)?;
            }
            if let Ok(view) = self.position_view(account, id) {
                notices.push(Notice {
                    account: Some(account),
                    kind: "position",
                    data: serde_json::to_value(view).unwrap_or_default(),
                });
            }
        }
        for account in wallets {
            notices.extend(self.wallet_notice(account, Reply::Done).notices);
        }
        let report = KeeperReport { time, price, source: source.to_string(), lines };
        self.reports.push_back(report.clone());
        while self.reports.len() > REPORTS_KEPT {
            self.reports.pop_front();
        }
        notices.push(self.market_notice()?);
        notices.push(Notice {
            account: None,
            kind: "keeper",
            data: serde_json::to_value(&report).unwrap_or_default(),
        });
        Ok(Applied { reply: Reply::Keeper(report), notices })
    }

    /// Ids of the tracked positions still open, ascending.
    pub(super) fn open_positions(&self) -> Vec<u64> {
        self.tracked.iter().filter(|(_, t)| t.closed.is_none()).map(|(id, _)| *id).collect()
    }

    fn protection(&mut self, price: Price, lines: &mut Vec<KeeperLine>, notices: &mut Vec<Notice>) {
        let due: Vec<u64> = self
            .orders
            .values()
            .filter(|o| o.status == OrderStatus::Active)
            .map(|o| o.id)
            .collect();
        for order_id in due {
            let Some(order) = self.orders.get(&order_id).cloned() else { continue };
            if order.status != OrderStatus::Active {
                continue; // cancelled by an earlier order closing its position
            }
            let id = order.position;
            let health = match self.world.market.position_health(id) {
                Ok(h) => h,
                Err(e) => {
                    lines.push(KeeperLine::new(
                        "protection",
                        Some(id),
                        Some(order_id),
                        false,
                        format!("no health: {e}"),
                    ));
                    continue;
                }
            };
            let ratio = health.debt_ratio_bps;
            // Protection acts for the owner, who placed the order: the engine lets only the
            // owner close or add to a position.
            let keeper = engine_name(order.account);
            let outcome: Option<Result<String, Error>> = match &order.order {
                OrderKind::StopLoss { trigger } | OrderKind::TakeProfit { trigger } => trigger.hit(price).then(|| {
                    let name = order.order.name();
                    self.remove(id, None, CostKind::Protection, keeper, if name == "stop_loss" { "stopped out" } else { "took profit" })
                        .map(|()| format!("{} at {price}: closed", name.replace('_', "-")))
                }),
                OrderKind::Deleverage { trigger_bps, target_bps } => (ratio >= u64::from(*trigger_bps)).then(|| {
                    let ppm = deleverage_ppm(&health, u64::from(*target_bps));
                    self.lp_share(id, ppm).and_then(|lp| {
                        self.remove(id, lp, CostKind::Protection, keeper, "deleveraged to nothing")?;
                        Ok(format!(
                            "debt ratio {} ≥ {}: removed {}% of the liquidity to repay debt (target {})",
                            pct(ratio),
                            pct(u64::from(*trigger_bps)),
                            ppm_text(ppm),
                            pct(u64::from(*target_bps))
                        ))
                    })
                }),
                OrderKind::Rebalance { target_leverage_bps, band_bps } => {
                    let (target, band) = (u64::from(*target_leverage_bps), u64::from(*band_bps));
                    let lev = health.leverage_bps;
                    if lev > target * (10_000 + band) / 10_000 {
                        let ppm = deleverage_ppm(&health, target_debt_ratio(*target_leverage_bps));
                        Some(self.lp_share(id, ppm).and_then(|lp| {
                            self.remove(id, lp, CostKind::Protection, keeper, "deleveraged to nothing")?;
                            Ok(format!("leverage {}x above the band: deleveraged toward {}x", bps_text(lev), bps_text(target)))
                        }))
                    } else if lev < target * (10_000 - band) / 10_000 && !health.debt_value.is_zero() {
                        if self.settings.opening_halted {
                            lines.push(KeeperLine::new("protection", Some(id), Some(order_id), false, "rebalance up skipped: opening is halted".into()));
                            None
                        } else {
                            Some(self.reopen(id, *target_leverage_bps, CostKind::Protection).map(|new| {
                                format!("leverage {}x below the band: reopened as position {new} at {}x", bps_text(lev), bps_text(target))
                            }))
                        }
                    } else {
                        None
                    }
                }
                OrderKind::TopUp { trigger_bps, target_bps, .. } => (ratio >= u64::from(*trigger_bps)).then(|| self.top_up(order_id, &health, u64::from(*target_bps))),
            };
            let Some(outcome) = outcome else { continue };
            let account = order.account;
            let o = self.orders.get_mut(&order_id);
            match (outcome, o) {
                (Ok(note), Some(o)) => {
                    o.fired += 1;
                    o.last_note = Some(note.clone());
                    if matches!(o.order, OrderKind::StopLoss { .. } | OrderKind::TakeProfit { .. })
                    {
                        o.status = OrderStatus::Done;
                    }
                    if o.reserve_left.is_some_and(|r| r.0.is_zero()) {
                        o.status = OrderStatus::Done;
                    }
                    let kind = o.order.name();
                    lines.push(KeeperLine::new(
                        "protection",
                        Some(id),
                        Some(order_id),
                        true,
                        note.clone(),
                    ));
                    let alert = self.push_alert(
                        account,
                        Some(id),
                        kind,
                        format!("order {order_id} on position {id}: {note}"),
                    );
                    notices.push(Notice {
                        account: Some(account),
                        kind: "alert",
                        data: serde_json::to_value(alert).unwrap_or_default(),
                    });
                }
                (Err(e), Some(o)) => {
                    let note = format!("could not act: {e}");
                    o.last_note = Some(note.clone());
                    lines.push(KeeperLine::new(
                        "protection",
                        Some(id),
                        Some(order_id),
                        false,
                        note,
                    ));
                }
                (_, None) => {}
            }
        }
    }

    /// Adds stable tokens from the owner's wallet, at most the order's reserve left, to bring
    /// debt/value to `target_bps`: adding x of value makes it `D / (V + x)`.
    fn top_up(
        &mut self,
        order_id: u64,
        health: &levfarm_core::position::PositionHealth,
        target_bps: u64,
    ) -> Result<String, Error> {
        let order = self
            .orders
            .get(&order_id)
            .cloned()
            .ok_or_else(|| Error::Internal("order vanished".into()))?;
        let id = order.position;
        let stable = self.world.stable.clone();
        let quote = self.world.market.quote(&stable)?;
        let (d, v) = (health.debt_value, health.value);
        let wanted_value =
            (d * U256::from(10_000u64)).div_ceil(U256::from(target_bps.max(1))).saturating_sub(v);
        let wanted = levfarm_core::math::mul_div(wanted_value, quote.unit, quote.price_wad)
            .map_err(levfarm_core::Error::from)?;
        let wallet = self.world.market.balance(&super::holder(order.account), &stable);
        let reserve = order.reserve_left.map_or(U256::ZERO, |r| r.0);
        let amount = wanted.min(wallet).min(reserve);
        if amount.is_zero() {
            return Err(Error::Conflict(if wallet.is_zero() {
                "the wallet holds no stable tokens".into()
            } else {
                "the reserve is spent".into()
            }));
        }
        let caller = engine_name(order.account);
        self.act(id, CostKind::Protection, |w| {
            w.run(Command::AddCollateral {
                caller,
                position: id,
                amount0: Amount::default(),
                amount1: Amount(amount),
            })?;
            Ok(())
        })?;
        if let Some(o) = self.orders.get_mut(&order_id) {
            o.reserve_left = Some(Amount(reserve - amount));
        }
        Ok(format!(
            "debt ratio {}: added {amount} raw {stable} from the wallet (target {})",
            pct(health.debt_ratio_bps),
            pct(target_bps)
        ))
    }

    fn liquidations(&mut self, lines: &mut Vec<KeeperLine>, notices: &mut Vec<Notice>) {
        for id in self.open_positions() {
            let kill = match self.world.market.positions().find(|p| p.id == id) {
                Some(p) => self.kill_factor(&p.pool.clone()),
                None => continue,
            };
            let health = match self.world.market.position_health(id) {
                Ok(h) => h,
                Err(e) => {
                    lines.push(KeeperLine::new(
                        "liquidation",
                        Some(id),
                        None,
                        false,
                        format!("no health: {e}"),
                    ));
                    continue;
                }
            };
            if health.debt_ratio_bps <= kill {
                continue;
            }
            let detail = format!(
                "debt ratio {} above the kill factor {}",
                pct(health.debt_ratio_bps),
                pct(kill)
            );
            let done = self.act(id, CostKind::Liquidation, |w| {
                w.run(Command::Liquidate { liquidator: KEEPER.into(), position: id })?;
                Ok(())
            });
            match done {
                Ok(()) => {
                    self.close_if_gone(id, "liquidated", detail.clone());
                    lines.push(KeeperLine::new(
                        "liquidation",
                        Some(id),
                        None,
                        true,
                        detail.clone(),
                    ));
                    if let Some(account) = self.tracked.get(&id).map(|t| t.account) {
                        let alert = self.push_alert(
                            account,
                            Some(id),
                            "liquidated",
                            format!("position {id} was liquidated: {detail}"),
                        );
                        notices.push(Notice {
                            account: Some(account),
                            kind: "alert",
                            data: serde_json::to_value(alert).unwrap_or_default(),
                        });
                    }
                }
                Err(e) => lines.push(KeeperLine::new(
                    "liquidation",
                    Some(id),
                    None,
                    false,
                    format!("{detail}, but the engine refused: {e}"),
                )),
            }
        }
    }

    fn kill_factor(&self, pool: &str) -> u64 {
        let _ = pool;
        u64::from(self.scenario.market.leverage.kill_factor_bps)
    }

    fn alerts(&mut self, price: Price, lines: &mut Vec<KeeperLine>, notices: &mut Vec<Notice>) {
        for id in self.open_positions() {
            let Some(t) = self.tracked.get(&id) else { continue };
            let account = t.account;
            let Some(settings) = self.accounts.get(&account).map(|a| a.alerts.clone()) else {
                continue;
            };
            let Ok(health) = self.world.market.position_health(id) else { continue };
            let ratio_hit = settings.debt_ratio_bps.map(|b| {
                (
                    health.debt_ratio_bps >= u64::from(b),
                    format!(
                        "debt ratio {} reached the alert level {}",
                        pct(health.debt_ratio_bps),
                        pct(u64::from(b))
                    ),
                )
            });
            let distance = self
                .world
                .market
                .liquidation_prices(id)
                .ok()
                .and_then(|lp| distance_bps(price, lp.lower, lp.upper));
            let distance_hit = match (settings.distance_bps, distance) {
                (Some(b), Some(d)) => Some((
                    d <= u64::from(b),
                    format!(
                        "price {price} is {} from a liquidation price (alert at {})",
                        pct(d),
                        pct(u64::from(b))
                    ),
                )),
                _ => None,
            };
            for (slot, hit) in [ratio_hit, distance_hit].into_iter().enumerate() {
                let Some((hit, message)) = hit else { continue };
                let armed = self.tracked.get(&id).is_some_and(|t| t.armed[slot]);
                if hit && armed {
                    let kind = if slot == 0 { "debt_ratio" } else { "distance" };
                    let alert = self.push_alert(
                        account,
                        Some(id),
                        kind,
                        format!("position {id}: {message}"),
                    );
                    lines.push(KeeperLine::new("alert", Some(id), None, true, message));
                    notices.push(Notice {
                        account: Some(account),
                        kind: "alert",
                        data: serde_json::to_value(alert).unwrap_or_default(),
                    });
                }
                if let Some(t) = self.tracked.get_mut(&id) {
                    t.armed[slot] = !hit;
                }
            }
        }
    }

    /// Appends a history point for an open position.
    pub(super) fn record_point(&mut self, id: u64) -> Result<(), Error> {
        let health = self.world.market.position_health(id)?;
        let equity = super::positions::position_equity(&self.world, id)?;
        let point = HistoryPoint {
            time: self.now(),
            price: self.last_price.price,
            equity: equity.to_string(),
            value: Amount(health.value),
            debt_value: Amount(health.debt_value),
            debt_ratio_bps: health.debt_ratio_bps,
        };
        if let Some(t) = self.tracked.get_mut(&id) {
            t.history.push_back(point);
            while t.history.len() > HISTORY_KEPT {
                t.history.pop_front();
            }
        }
        Ok(())
    }
}

/// The price's distance to the nearer liquidation price, bps of the price.
pub(super) fn distance_bps(price: Price, lower: Option<U256>, upper: Option<U256>) -> Option<u64> {
    let p = price.0;
    if p.is_zero() {
        return None;
    }
    let gap = |q: U256| {
        let diff = if q > p { q - p } else { p - q };
        let bps = diff * U256::from(10_000u64) / p;
        u64::try_from(bps).unwrap_or(u64::MAX)
    };
    [lower.map(gap), upper.map(gap)].into_iter().flatten().min()
}

/// Basis points as a percentage: 8333 → "83.33%".
pub(super) fn pct(bps: u64) -> String {
    if bps == u64::MAX {
        return "∞".into();
    }
    format!("{}.{:02}%", bps / 100, bps % 100)
}

fn ppm_text(ppm: U256) -> String {
    let ppm = u64::try_from(ppm).unwrap_or(1_000_000);
    format!("{}.{:02}", ppm / 10_000, (ppm % 10_000) / 100)
}
