//! An account's positions as one portfolio: its equity and wallet, the positions' profit and
//! loss summed part by part (exactly: integer sums of each position's books), its exposure
//! to each token and to each lending venue, its total debt ratio, and its drawdown from its
//! best; and the portfolio's own alerts (total debt ratio, drawdown).

#![allow(clippy::needless_range_loop)]

use alloy_primitives::U256;
use levfarm_core::market::PositionInventory;
use levfarm_core::position::range::oracle_sqrt_price;
use levfarm_core::types::Amount;
use levfarm_sim::book::{self, Pnl};
use serde::Serialize;

use super::keeper::{pct, KeeperLine};
use super::view::PnlView;
use super::{Notice, State};
use crate::Error;

/// An account's portfolio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortfolioView {
    pub account: u64,
    /// Positions the account has had, and those open.
    pub positions: usize,
    pub open: usize,
    /// 1e18 numeraire, as decimal text: the open positions' equity, the wallet and supply at
    /// the oracle, and their sum.
    pub equity: String,
    pub wallet_value: String,
    pub total_equity: String,
    /// Every position's net contributions and books summed: `pnl.total` is the positions'
    /// profit and loss, to the last unit.
    pub contributed: String,
    pub pnl: PnlView,
    /// The open positions' value and debt value summed, and debt over value in bps (none
    /// without open positions).
    pub value: String,
    pub debt_value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debt_ratio_bps: Option<u64>,
    /// The positions' profit and loss at its best so far (at a price update; from the first
    /// update after the account's first position), and how far it is below that now, in bps
    /// of what the open positions were given.
    pub peak_pnl: String,
    pub drawdown_bps: u64,
    /// Per token: what the open positions hold of it (liquidity at the oracle and fees owed),
    /// what they owe, the net (raw units, signed) and its value (1e18 numeraire, signed).
    pub assets: Vec<AssetExposure>,
    /// Per lending venue: its open positions, their value, debt value, equity and debt ratio.
    pub venues: Vec<VenueExposure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetExposure {
    pub token: String,
    pub held: Amount,
    pub owed: Amount,
    pub net: String,
    pub net_value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VenueExposure {
    pub venue: String,
    pub positions: usize,
    pub value: String,
    pub debt_value: String,
    pub equity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debt_ratio_bps: Option<u64>,
}

/// What the portfolio's figures and alerts are computed from.
struct Totals {
    equity: i128,
    contributed: i128,
    /// What the open positions were given.
    open_contributed: i128,
    pnl: Pnl,
    value: U256,
    debt_value: U256,
    open: usize,
    held: [U256; 2],
    owed: [U256; 2],
    venues: Vec<(String, usize, U256, U256, i128)>,
}

fn ratio_bps(debt: U256, value: U256) -> Option<u64> {
    if value.is_zero() {
        return None;
    }
    u64::try_from(debt * U256::from(10_000u64) / value).ok()
}

fn signed(held: U256, owed: U256) -> String {
    if held >= owed {
        (held - owed).to_string()
    } else {
        format!("-{}", owed - held)
    }
}

impl State {
    /// A position's equity now and its books brought to now (a step from the last mark,
    /// without changing the state), and whether it is open.
    pub(super) fn books_now(&self, id: u64) -> Result<(i128, Pnl, bool), Error> {
        let t = self.tracked.get(&id).ok_or_else(|| Error::not_found(format!("position {id}")))?;
        let m = &self.world.market;
        let open = t.closed.is_none() && m.positions().any(|p| p.id == id && p.open);
        let mut pnl = t.pnl;
        if open {
            let a = super::position_snapshot(t.mark_quotes, t.mark.clone());
            let b = super::position_snapshot(
                super::quotes_of(&self.world)?,
                Some(m.position_inventory(id)?),
            );
            pnl.step(&a, &b)?;
        }
        Ok((super::positions::position_equity(&self.world, id)?, pnl, open))
    }

    fn totals(&self, account: u64) -> Result<Totals, Error> {
        let m = &self.world.market;
        let q = super::quotes_of(&self.world)?;
        let mut t = Totals {
            equity: 0,
            contributed: 0,
            open_contributed: 0,
            pnl: Pnl::default(),
            value: U256::ZERO,
            debt_value: U256::ZERO,
            open: 0,
            held: [U256::ZERO; 2],
            owed: [U256::ZERO; 2],
            venues: Vec::new(),
        };
        let ids: Vec<u64> =
            self.tracked.iter().filter(|(_, x)| x.account == account).map(|(id, _)| *id).collect();
        let mut pnls = Vec::new();
        for id in ids {
            let (equity, pnl, open) = self.books_now(id)?;
            let given = self.tracked.get(&id).map_or(0, |x| x.contributed);
            t.contributed += given;
            pnls.push(pnl);
            if !open {
                continue;
            }
            t.open += 1;
            t.open_contributed += given;
            t.equity += equity;
            let health = m.position_health(id)?;
            t.value += health.value_oracle;
            t.debt_value += health.debt_value;
            let inventory: PositionInventory = m.position_inventory(id)?;
            let lp = inventory.lp_amounts(oracle_sqrt_price([q[0], q[1]])?)?;
            for i in 0..2 {
                t.held[i] += lp[i] + inventory.owed[i];
                t.owed[i] += inventory.debt[i];
            }
            let venue = m
                .positions()
                .find(|p| p.id == id)
                .map_or_else(String::new, |p| p.venue.to_string());
            match t.venues.iter_mut().find(|v| v.0 == venue) {
                Some(v) => {
                    v.1 += 1;
                    v.2 += health.value_oracle;
                    v.3 += health.debt_value;
                    v.4 += equity;
                }
                None => t.venues.push((venue, 1, health.value_oracle, health.debt_value, equity)),
            }
        }
        t.pnl = Pnl::sum(pnls.iter());
        Ok(t)
    }

    /// `account`'s portfolio.
    pub fn portfolio(&self, account: u64) -> Result<PortfolioView, Error> {
        self.account(account)?;
        let t = self.totals(account)?;
        let q = super::quotes_of(&self.world)?;
        let wallet =
            super::positions::wallet_value(&self.world, account)? + self.supplied_value(account)?;
        let total = t.pnl.total();
        let peak = self.portfolio_peaks.get(&account).copied().map_or(total, |p| p.max(total));
        let tokens = [&self.world.asset, &self.world.stable];
        let mut assets = Vec::new();
        for i in 0..2 {
            let value = book::value(t.held[i], q[i])? - book::value(t.owed[i], q[i])?;
            assets.push(AssetExposure {
                token: tokens[i].to_string(),
                held: Amount(t.held[i]),
                owed: Amount(t.owed[i]),
                net: signed(t.held[i], t.owed[i]),
                net_value: value.to_string(),
            });
        }
        Ok(PortfolioView {
            account,
            positions: self.tracked.values().filter(|x| x.account == account).count(),
            open: t.open,
            equity: t.equity.to_string(),
            wallet_value: wallet.to_string(),
            total_equity: (t.equity + wallet).to_string(),
            contributed: t.contributed.to_string(),
            pnl: PnlView {
                total: t.pnl.total().to_string(),
                parts: t.pnl.parts().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            },
            value: t.value.to_string(),
            debt_value: t.debt_value.to_string(),
            debt_ratio_bps: ratio_bps(t.debt_value, t.value),
            peak_pnl: peak.to_string(),
            drawdown_bps: drawdown_bps(peak, t.pnl.total(), t.open_contributed),
            assets,
            venues: t
                .venues
                .iter()
                .map(|(venue, n, value, debt, equity)| VenueExposure {
                    venue: venue.clone(),
                    positions: *n,
                    value: value.to_string(),
                    debt_value: debt.to_string(),
                    equity: equity.to_string(),
                    debt_ratio_bps: ratio_bps(*debt, *value),
                })
                .collect(),
        })
    }

    /// The account's lending supply at the oracle, 1e18 numeraire.
    fn supplied_value(&self, account: u64) -> Result<i128, Error> {
        let m = &self.world.market;
        let h = super::holder(account);
        let q = super::quotes_of(&self.world)?;
        let mut total = 0;
        for (venue, token) in &self.world.lending {
            let i = if *token == self.world.asset { 0 } else { 1 };
            if let Ok(pool) = m.lending_at(venue, token) {
                total += book::value(pool.supply_at(&h, m.time)?, q[i])?;
            }
        }
        Ok(total)
    }

    /// At a price update, after the positions' own alerts: each account's portfolio peak, and
    /// its alerts on the total debt ratio and the drawdown, once per crossing.
    pub(super) fn portfolio_alerts(
        &mut self,
        lines: &mut Vec<KeeperLine>,
        notices: &mut Vec<Notice>,
    ) {
        let accounts: Vec<u64> = {
            let mut a: Vec<u64> = self.tracked.values().map(|t| t.account).collect();
            a.sort_unstable();
            a.dedup();
            a
        };
        for account in accounts {
            let Ok(t) = self.totals(account) else { continue };
            let total = t.pnl.total();
            let peak = self.portfolio_peaks.get(&account).copied().map_or(total, |p| p.max(total));
            self.portfolio_peaks.insert(account, peak);
            let Some(settings) = self.accounts.get(&account).map(|a| a.alerts.clone()) else {
                continue;
            };
            let ratio = ratio_bps(t.debt_value, t.value);
            let drawdown = drawdown_bps(peak, total, t.open_contributed);
            let checks = [
                settings.portfolio_debt_ratio_bps.zip(ratio).map(|(b, r)| {
                    (
                        r >= u64::from(b),
                        "portfolio_debt_ratio",
                        format!(
                            "the portfolio's debt ratio {} reached the alert level {}",
                            pct(r),
                            pct(u64::from(b))
                        ),
                    )
                }),
                settings.portfolio_drawdown_bps.map(|b| {
                    (
                        drawdown >= u64::from(b),
                        "portfolio_drawdown",
                        format!(
                            "the portfolio is {} below its best (alert at {})",
                            pct(drawdown),
                            pct(u64::from(b))
                        ),
                    )
                }),
            ];
            for (slot, check) in checks.into_iter().enumerate() {
                let Some((hit, kind, message)) = check else { continue };
                let armed = self.portfolio_armed.get(&account).is_none_or(|a| a[slot]);
                if hit && armed {
                    let alert = self.push_alert(account, None, kind, message.clone());
                    lines.push(KeeperLine::portfolio(message));
                    notices.push(Notice {
                        account: Some(account),
                        kind: "alert",
                        data: serde_json::to_value(alert).unwrap_or_default(),
                    });
                }
                self.portfolio_armed.entry(account).or_insert([true; 2])[slot] = !hit;
            }
        }
    }
}

/// How far `now` is below `peak`, in bps of `capital` (0 without capital).
fn drawdown_bps(peak: i128, now: i128, capital: i128) -> u64 {
    if capital <= 0 || now >= peak {
        return 0;
    }
    let bps = (peak - now).saturating_mul(10_000) / capital;
    u64::try_from(bps).unwrap_or(u64::MAX)
}
