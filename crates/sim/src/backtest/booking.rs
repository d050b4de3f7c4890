//! Booking: every action as a step of the exact PnL book, with its gas, before and after.

use super::*;

impl Runner<'_> {
    /// Books an action that happened: its cost (equity after less `before`, at the same
    /// prices) and its record, with the debt ratio before and after; `id` is the position
    /// still open after it.
    pub(super) fn book(
        &mut self,
        t: i64,
        price: U256,
        kind: ActionKind,
        (before, ratio_before): (i128, Option<u64>),
        id: Option<u64>,
        detail: String,
    ) -> Result<(), SimError> {
        let now = snapshot_of(&self.world, id, self.gas)?;
        let after = now.equity()?;
        let change = self.pnl.action(kind.cost(), before, after);
        if kind != ActionKind::Compound {
            self.major_actions += 1;
        }
        self.prev = now;
        let ratio_after =
            id.and_then(|id| self.world.market.position_health(id).ok()).map(|h| h.debt_ratio_bps);
        self.actions.push(ActionRecord {
            time: t,
            kind,
            price,
            equity_before: before,
            equity_after: after,
            change,
            debt_ratio_before_bps: ratio_before,
            debt_ratio_after_bps: ratio_after,
            detail,
        });
        Ok(())
    }

    /// Records a refusal once per kind and day, not every bar.
    pub(super) fn refused(
        &mut self,
        t: i64,
        price: U256,
        kind: ActionKind,
        equity: i128,
        ratio: Option<u64>,
        reason: String,
    ) {
        let recent = self.actions.iter().rev().take(8).any(|a| {
            a.kind == ActionKind::Refused
                && t - a.time < 86_400
                && a.detail.starts_with(kind.as_str())
        });
        if !recent {
            self.actions.push(ActionRecord {
                time: t,
                kind: ActionKind::Refused,
                price,
                equity_before: equity,
                equity_after: equity,
                change: 0,
                debt_ratio_before_bps: ratio,
                debt_ratio_after_bps: ratio,
                detail: format!("{} refused by the engine: {reason}", kind.as_str()),
            });
        }
    }

    /// Runs an action that must succeed.
    pub(super) fn act(
        &mut self,
        t: i64,
        price: U256,
        kind: ActionKind,
        f: impl FnOnce(&mut World) -> Result<String, SimError>,
    ) -> Result<(), SimError> {
        if !self.try_act(t, price, kind, f)? {
            let reason = self.actions.last().map(|a| a.detail.clone()).unwrap_or_default();
            return Err(SimError::Refused(format!("{} refused: {reason}", kind.as_str())));
        }
        Ok(())
    }

    /// Runs an action on a copy of the world: applied and booked if it all succeeds, recorded
    /// as refused (with the engine's reason) if not. Protection actions pay gas.
    pub(super) fn try_act(
        &mut self,
        t: i64,
        price: U256,
        kind: ActionKind,
        f: impl FnOnce(&mut World) -> Result<String, SimError>,
    ) -> Result<bool, SimError> {
        let before = self.prev.equity()?;
        let ratio_before = self
            .position
            .and_then(|id| self.world.market.position_health(id).ok())
            .map(|h| h.debt_ratio_bps);
        let mut trial = self.world.clone();
        match f(&mut trial) {
            Ok(detail) => {
                self.world = trial;
                if matches!(kind.cost(), CostKind::Protection)
                    && self.strategy == Strategy::Leveraged
                {
                    self.gas += world::wad_from_f64(self.scenario.costs.gas_per_action)?;
                }
                let id = match kind {
                    ActionKind::Open => newest_open(&self.world),
                    _ => self.position,
                };
                let id =
                    id.filter(|id| self.world.market.positions().any(|p| p.id == *id && p.open));
                self.book(t, price, kind, (before, ratio_before), id, detail)?;
                Ok(true)
            }
            Err(SimError::Engine(e)) => {
                self.refused(t, price, kind, before, ratio_before, e.to_string());
                Ok(false)
            }
            Err(other) => Err(other),
        }
    }
}

pub(super) fn newest_open(world: &World) -> Option<u64> {
    world.market.positions().filter(|p| p.open).map(|p| p.id).max()
}

pub(super) fn snapshot_of(
    world: &World,
    position: Option<u64>,
    gas: U256,
) -> Result<Snapshot, SimError> {
    let m = &world.market;
    let quotes = [m.quote(&world.asset)?, m.quote(&world.stable)?, m.quote(&world.reward)?];
    let owner = Holder::Account(OWNER.into());
    let wallet = [
        m.balance(&owner, &world.asset),
        m.balance(&owner, &world.stable),
        m.balance(&owner, &world.reward),
    ];
    let supplied = match m.lending_at(&world.lending_venue(&world.stable), &world.stable) {
        Ok(pool) => pool.supply_at(&owner, m.time)?,
        Err(_) => U256::ZERO,
    };
    let position = match position {
        Some(id) => Some(m.position_inventory(id)?),
        None => None,
    };
    Ok(Snapshot { quotes, position, wallet, supplied, gas })
}
