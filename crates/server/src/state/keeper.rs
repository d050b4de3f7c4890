//! A price update and the keepers that run on it, always in this order:
//!
//! 0. **race**: when the price carries the bar's low and high, protection and liquidators race
//!    along the bar's path ([`levfarm_core::market::RaceOutcome`]), as in a backtest.
//! 1. **accrue**: time moves to the price's time, the oracle takes the price, the
//!    arbitrageur trades the pool to it, and every lending pool's interest is brought up to
//!    date; every position is marked (a profit-and-loss step).
//! 2. **protection**: the engine's orders, in the engine's order (positions by id, then time
//!    limit, stop-loss, trailing stop, take-profit, top-up, deleverage, rebalance, compound,
//!    re-centre), each booked as its own action, before any liquidator can.
//! 3. **liquidation**: every position past the kill factor is liquidated.
//! 4. **alerts**: thresholds users set, checked against what is left.
//!
//! Each step writes what it did, and what it skipped and why, into a [`KeeperReport`].

use alloy_primitives::U256;
use levfarm_core::price::Price;
use levfarm_core::types::Amount;
use levfarm_core::Command;
use levfarm_sim::book::CostKind;
use levfarm_sim::world::KEEPER;
use serde::Serialize;

use super::{
    Applied, HistoryPoint, Notice, OrderKind, OrderStatus, PricePoint, Reply, State, HISTORY_KEPT,
    REPORTS_KEPT,
};
use crate::Error;
use levfarm_core::market::{BarPath, Event, KeeperTiming, RaceOutcome};
use levfarm_core::orders::Ask;

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
    /// A portfolio alert: of no one position.
    pub(super) fn portfolio(detail: String) -> Self {
        KeeperLine::new("alert", None, None, true, detail)
    }

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
        range: Option<[Price; 2]>,
    ) -> Result<Applied, Error> {
        if price.0.is_zero() {
            return Err(Error::invalid("price", "must be above zero"));
        }
        if let Some([low, high]) = range {
            if low.0.is_zero() || low > price {
                return Err(Error::invalid(
                    "low",
                    format!("{low} must be above zero and at most the price {price}"),
                ));
            }
            if high < price {
                return Err(Error::invalid(
                    "high",
                    format!("{high} must be at least the price {price}"),
                ));
            }
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
        let dt = u64::try_from(time - now).unwrap_or(0);
        let mut lines = Vec::new();
        let mut notices = Vec::new();
        let open: Vec<u64> = self.open_positions();
        let racing = range.filter(|_| self.scenario.keepers.intrabar && !open.is_empty());
        let mut world = self.world.clone();
        if let Some(range) = racing {
            if dt > 0 {
                world.run(Command::AdvanceTime { seconds: dt })?;
            }
            self.world = world;
            self.race(time, dt, price, range, &mut lines, &mut notices);
            world = self.world.clone();
            world.move_to(0, price, None)?;
        } else {
            world.move_to(dt, price, None)?;
        }
        self.world = world;
        self.last_price = PricePoint { price, time, source: source.to_string() };

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

        self.protection(&mut lines, &mut notices);
        self.liquidations(&mut lines, &mut notices);
        self.alerts(price, &mut lines, &mut notices);
        self.portfolio_alerts(&mut lines, &mut notices);

        // Every position that was open tells its owner; the wallets of owners whose positions
        // a keeper acted on, too.
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

    /// Inside the bar since the last price: for each open position, whoever the engine's race
    /// says reaches the bar's path first (its keeper, late by the scenario's latency and now
    /// and then failing, or the liquidator) acts at the path's price then, in the order of
    /// those times. Each position's race is decided on the market as the bar began.
    fn race(
        &mut self,
        time: i64,
        dt: u64,
        close: Price,
        [low, high]: [Price; 2],
        lines: &mut Vec<KeeperLine>,
        notices: &mut Vec<Notice>,
    ) {
        let from = self.last_price.price.0;
        let bar = BarPath {
            from,
            low: low.0.min(from),
            high: high.0.max(from),
            close: close.0,
            seconds: dt,
        };
        let k = self.scenario.keepers.clone();
        let mut outcomes = Vec::new();
        for id in self.open_positions() {
            let failed = levfarm_sim::backtest::keeper_failed(k.seed, time, id, k.failure_rate);
            let timing = KeeperTiming { latency_secs: k.latency_secs, failed };
            match self.world.market.race(id, &bar, &timing) {
                Ok(RaceOutcome::Quiet) => {}
                Ok(RaceOutcome::Protection { order, price, at_secs }) => {
                    outcomes.push((at_secs, id, Some(order), price));
                }
                Ok(RaceOutcome::Liquidation { price, at_secs }) => {
                    outcomes.push((at_secs, id, None, price));
                }
                Err(e) => lines.push(KeeperLine::new(
                    "race",
                    Some(id),
                    None,
                    false,
                    format!("no race: {e}"),
                )),
            }
        }
        outcomes.sort_unstable();
        for (at_secs, id, order, price) in outcomes {
            let mut moved = self.world.clone();
            if let Err(e) = moved.move_to(0, Price(price), None) {
                lines.push(KeeperLine::new(
                    "race",
                    Some(id),
                    order,
                    false,
                    format!("could not move to {}: {e}", Price(price)),
                ));
                continue;
            }
            self.world = moved;
            for open in self.open_positions() {
                let _ = self.mark(open);
            }
            let at = format!("{at_secs} s into the bar, at {}", Price(price));
            match order {
                Some(order) => {
                    let before = lines.len();
                    self.run_one(order, lines, notices);
                    for line in &mut lines[before..] {
                        line.detail = format!("{}: {at}", line.detail);
                    }
                    // The rest of the path may still reach the position's new kill factor.
                    let rest = BarPath { from: price, ..bar };
                    let liquidators = KeeperTiming { latency_secs: 0, failed: true };
                    if let Ok(RaceOutcome::Liquidation { price, .. }) =
                        self.world.market.race(id, &rest, &liquidators)
                    {
                        let mut moved = self.world.clone();
                        if moved.move_to(0, Price(price), None).is_ok() {
                            self.world = moved;
                            self.liquidate_one(id, lines, notices);
                        }
                    }
                }
                None => {
                    let before = lines.len();
                    self.liquidate_one(id, lines, notices);
                    for line in &mut lines[before..] {
                        line.detail = format!("{}: {at}", line.detail);
                    }
                }
            }
        }
    }

    /// Ids of the tracked positions still open, ascending.
    pub(super) fn open_positions(&self) -> Vec<u64> {
        self.tracked.iter().filter(|(_, t)| t.closed.is_none()).map(|(id, _)| *id).collect()
    }

    /// The engine's orders, in the engine's order, each run as its own booked action: the
    /// rule the backtester and the risk kernel apply too.
    fn protection(&mut self, lines: &mut Vec<KeeperLine>, notices: &mut Vec<Notice>) {
        for order_id in self.world.market.keeper_sequence() {
            self.run_one(order_id, lines, notices);
        }
    }

    /// Runs one active order of a tracked position, booked; what it did, in `lines`.
    fn run_one(&mut self, order_id: u64, lines: &mut Vec<KeeperLine>, notices: &mut Vec<Notice>) {
        let Some(order) = self.world.market.order(order_id).cloned() else { return };
        if order.status != OrderStatus::Active {
            return; // ended by an earlier order closing its position
        }
        let id = order.position;
        let Some(account) = self.tracked.get(&id).map(|t| t.account) else { return };
        let line =
            |acted, detail| KeeperLine::new("protection", Some(id), Some(order_id), acted, detail);
        if self.settings.opening_halted && matches!(order.kind, OrderKind::Rebalance { .. }) {
            // Raising leverage borrows: not while opening is halted. The engine's own
            // decision says whether that is what the order would do.
            let seen = self.world.market.seen(id, Some(&order.kind));
            let ask = seen.ok().and_then(|s| order.due(&s));
            if matches!(ask, Some(Ask::Raise { .. })) {
                lines.push(line(false, "rebalance up skipped: opening is halted".into()));
                return;
            }
        }
        let ran = self.act(id, CostKind::Protection, |w| {
            w.run(Command::RunOrder { keeper: KEEPER.into(), order: order_id })?;
            Ok(w.events().to_vec())
        });
        let events = match ran {
            Ok(events) => events,
            Err(e) => {
                lines.push(line(false, format!("could not run: {e}")));
                return;
            }
        };
        for event in events {
            match event {
                Event::OrderActed { order, detail, .. } if order == order_id => {
                    let how = exit_how(order_kind_of(&self.world, order_id));
                    self.close_if_gone(id, how, String::new());
                    lines.push(line(true, detail.clone()));
                    let alert = self.push_alert(
                        account,
                        Some(id),
                        order_kind_of(&self.world, order_id),
                        format!("order {order_id} on position {id}: {detail}"),
                    );
                    notices.push(Notice {
                        account: Some(account),
                        kind: "alert",
                        data: serde_json::to_value(alert).unwrap_or_default(),
                    });
                }
                Event::OrderSkipped { order, reason, .. } if order == order_id => {
                    lines.push(line(false, reason));
                }
                _ => {}
            }
        }
    }

    fn liquidations(&mut self, lines: &mut Vec<KeeperLine>, notices: &mut Vec<Notice>) {
        for id in self.open_positions() {
            self.liquidate_one(id, lines, notices);
        }
    }

    /// Liquidates the position when it is past its kill factor, booked.
    fn liquidate_one(&mut self, id: u64, lines: &mut Vec<KeeperLine>, notices: &mut Vec<Notice>) {
        let open = self.world.market.positions().any(|p| p.id == id && p.open);
        let kill = match self.world.market.leverage_rules(id) {
            Ok(rules) if open => u64::from(rules.kill_factor_bps.0),
            _ => return,
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
                return;
            }
        };
        if health.debt_ratio_bps <= kill {
            return;
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
                lines.push(KeeperLine::new("liquidation", Some(id), None, true, detail.clone()));
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

/// How an order that acted left its position, for the books when it closed it.
fn exit_how(kind: &str) -> &'static str {
    match kind {
        "stop_loss" | "trailing_stop" => "stopped out",
        "take_profit" => "took profit",
        "time_limit" => "closed at its time limit",
        _ => "deleveraged to nothing",
    }
}

/// The kind of the engine's order `id`, as its JSON names it.
fn order_kind_of(world: &levfarm_sim::world::World, id: u64) -> &'static str {
    world.market.order(id).map_or("order", |o| o.kind.name())
}
