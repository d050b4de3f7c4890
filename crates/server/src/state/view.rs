//! What readers see: the market, an account's wallet, positions with health, both
//! liquidation prices and the profit-and-loss decomposition, orders and alerts. Every
//! amount is a decimal string (raw units or 1e18 numeraire); nothing here changes the state.
//!
//! A user's view takes the account asking: someone else's position or order is "not found",
//! exactly as one that does not exist.

use levfarm_core::market::LendingSummary;
use levfarm_core::position::liquidation_price::LiquidationPrices;
use levfarm_core::position::{PositionHealth, TickRange};
use levfarm_core::price::Price;
use levfarm_core::types::{Amount, Name};

use serde::Serialize;

use super::keeper::distance_bps;
use super::{
    holder, Account, Alert, Closed, FeedSpec, HistoryPoint, KeeperReport, MarketSettings, Order,
    PricePoint, State, TokenRecord,
};
use crate::Error;

/// The market overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MarketView {
    /// The market's clock, Unix seconds.
    pub time: i64,
    pub asset: Name,
    pub stable: Name,
    /// The tokens users hold here (asset, stable, reward) with their declared decimals: raw
    /// amounts are in units of `10^-decimals` of a token.
    pub tokens: Vec<TokenView>,
    /// The lending venues a position may borrow from, the default first, with their leverage
    /// rules on the pool.
    pub venues: Vec<VenueView>,
    /// The pools a position may open on, the default first.
    pub pools: Vec<PoolChoice>,
    pub last_price: PricePoint,
    pub pool: PoolView,
    pub lending: Vec<LendingSummary>,
    pub settings: MarketSettings,
    pub feed: FeedSpec,
    pub kill_factor_bps: u32,
    pub work_factor_bps: u32,
    pub open_positions: usize,
}

/// A token and its declared decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenView {
    pub symbol: Name,
    pub decimals: u8,
}

/// A pool a position may open on: its name, kind and fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolChoice {
    pub name: String,
    pub kind: &'static str,
    pub fee_bps: u32,
}

/// A lending venue: its name and leverage rules on the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VenueView {
    pub name: String,
    pub work_factor_bps: u32,
    pub kill_factor_bps: u32,
}

/// The leveraged pool: its price and depth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolView {
    pub kind: &'static str,
    pub fee_bps: u32,
    /// The pool's own price of the asset in the stable token, 1e18.
    pub price: Price,
    /// Tokens in the pool (constant product) or in range (v3 balances), raw units.
    pub reserve0: Amount,
    pub reserve1: Amount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tick: Option<i32>,
}

/// An account's wallet and lending supply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalletView {
    pub account: u64,
    pub balances: Vec<(Name, Amount)>,
    pub supplied: Vec<(Name, Amount)>,
}

/// The caller's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeView {
    #[serde(flatten)]
    pub account: Account,
    pub wallet: WalletView,
    pub tokens: Vec<TokenRecord>,
}

/// A position with its health and books.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PositionView {
    pub id: u64,
    pub account: u64,
    pub open: bool,
    pub opened_at: i64,
    /// The pool it provides liquidity to, and the lending venue it borrows from.
    pub pool: String,
    pub venue: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<Closed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<TickRange>,
    pub lp: Amount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<PositionHealth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liquidation_prices: Option<LiquidationPrices>,
    /// The price's distance to the nearer liquidation price, bps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_bps: Option<u64>,
    /// 1e18 numeraire: equity now, net contributions, and the decomposition of the
    /// difference, whose parts add up to `pnl.total` to the last unit.
    pub equity: String,
    pub contributed: String,
    pub pnl: PnlView,
}

/// The profit-and-loss parts as decimal strings of 1e18 numeraire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PnlView {
    pub total: String,
    pub parts: Vec<(String, String)>,
}

impl State {
    pub fn market_view(&self) -> Result<MarketView, Error> {
        let m = &self.world.market;
        let summary = m.summary()?;
        let lev = &self.scenario.leverage();
        let pool = match m.amm_pool(&self.world.pool) {
            Ok(p) => {
                let (r0, r1) = (p.amm.reserve0, p.amm.reserve1);
                let q = [m.quote(&p.token0)?, m.quote(&p.token1)?];
                // Raw reserve ratio to a whole-token price: r1/r0 · unit0/unit1.
                let price = if r0.is_zero() {
                    Price::default()
                } else {
                    Price(
                        levfarm_core::math::mul_div(
                            r1.saturating_mul(q[0].unit),
                            levfarm_core::math::WAD,
                            r0.saturating_mul(q[1].unit),
                        )
                        .map_err(levfarm_core::Error::from)?,
                    )
                };
                PoolView {
                    kind: "constant_product",
                    fee_bps: self.scenario.pool().fee_bps,
                    price,
                    reserve0: Amount(r0),
                    reserve1: Amount(r1),
                    tick: None,
                }
            }
            Err(_) => {
                let e = m.v3_amm_pool(&self.world.pool)?;
                let q = [m.quote(&e.token0)?, m.quote(&e.token1)?];
                let sqrt = e.pool.sqrt_price;
                let q192 = alloy_primitives::U256::from(1u8) << 192;
                let raw = levfarm_core::math::mul_div(sqrt, sqrt, q192 / levfarm_core::math::WAD)
                    .map_err(levfarm_core::Error::from)?;
                let price = levfarm_core::math::mul_div(raw, q[0].unit, q[1].unit)
                    .map_err(levfarm_core::Error::from)?;
                PoolView {
                    kind: "v3",
                    fee_bps: self.scenario.pool().fee_bps,
                    price: Price(price),
                    reserve0: Amount(e.pool.balance0),
                    reserve1: Amount(e.pool.balance1),
                    tick: Some(e.pool.tick),
                }
            }
        };
        let traded = [self.world.asset.clone(), self.world.stable.clone()];
        let mut tokens = Vec::new();
        for symbol in [&self.world.asset, &self.world.stable, &self.world.reward] {
            tokens.push(TokenView { symbol: symbol.clone(), decimals: m.token_decimals(symbol)? });
        }
        // The position's default venue first, then the others by name.
        let mut venues: Vec<VenueView> = self
            .scenario
            .market
            .venues()
            .into_iter()
            .map(|(name, rules, _)| VenueView {
                name: name.to_string(),
                work_factor_bps: rules.work_factor_bps,
                kill_factor_bps: rules.kill_factor_bps,
            })
            .collect();
        venues.sort_by_key(|v| v.name != self.world.venue.as_str());
        let mut pools: Vec<PoolChoice> = self
            .scenario
            .market
            .pools()
            .into_iter()
            .map(|(name, p)| PoolChoice {
                name: name.to_string(),
                kind: match p.kind {
                    levfarm_sim::scenario::PoolKind::ConstantProduct => "constant_product",
                    levfarm_sim::scenario::PoolKind::V3 => "v3",
                },
                fee_bps: p.fee_bps,
            })
            .collect();
        pools.sort_by_key(|p| levfarm_sim::world::pool_id(&p.name) != self.world.pool);
        Ok(MarketView {
            time: self.now(),
            asset: self.world.asset.clone(),
            stable: self.world.stable.clone(),
            tokens,
            venues,
            pools,
            last_price: self.last_price.clone(),
            pool,
            lending: summary.lending.into_iter().filter(|l| traded.contains(&l.token)).collect(),
            settings: self.settings.clone(),
            feed: self.feed.clone(),
            kill_factor_bps: lev.kill_factor_bps,
            work_factor_bps: lev.work_factor_bps,
            open_positions: self.open_positions().len(),
        })
    }

    pub(super) fn market_notice(&self) -> Result<super::Notice, Error> {
        Ok(super::Notice {
            account: None,
            kind: "market",
            data: serde_json::to_value(self.market_view()?).unwrap_or_default(),
        })
    }

    pub fn wallet(&self, account: u64) -> Result<WalletView, Error> {
        self.account(account)?;
        let m = &self.world.market;
        let h = holder(account);
        let tokens =
            [self.world.asset.clone(), self.world.stable.clone(), self.world.reward.clone()];
        let balances = tokens.iter().map(|t| (t.clone(), Amount(m.balance(&h, t)))).collect();
        let mut supplied = Vec::new();
        for t in &tokens[..2] {
            if let Ok(pool) = m.lending(t) {
                supplied.push((t.clone(), Amount(pool.supply_at(&h, m.time)?)));
            }
        }
        Ok(WalletView { account, balances, supplied })
    }

    pub fn me(&self, account: u64) -> Result<MeView, Error> {
        let a = self.account(account)?.clone();
        let tokens = self.tokens.values().filter(|t| t.account == account).cloned().collect();
        Ok(MeView { account: a, wallet: self.wallet(account)?, tokens })
    }

    /// `account`'s position `id`; not found when it is someone else's.
    pub fn position_view(&self, account: u64, id: u64) -> Result<PositionView, Error> {
        let t = self
            .tracked
            .get(&id)
            .filter(|t| t.account == account)
            .ok_or_else(|| Error::not_found(format!("position {id}")))?;
        let m = &self.world.market;
        let p = m
            .positions()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::not_found(format!("position {id}")))?;
        let open = p.open && t.closed.is_none();
        let (health, liquidation_prices) = if open {
            (Some(m.position_health(id)?), Some(m.liquidation_prices(id)?))
        } else {
            (None, None)
        };
        let distance = liquidation_prices
            .as_ref()
            .and_then(|lp| distance_bps(self.last_price.price, lp.lower, lp.upper));
        // The books brought to now without changing the state: a step from the last mark.
        let (equity, pnl, _) = self.books_now(id)?;
        Ok(PositionView {
            id,
            account,
            open,
            pool: match p.pool.as_str() {
                levfarm_sim::world::POOL => levfarm_sim::scenario::MAIN_POOL.to_string(),
                other => other.to_string(),
            },
            venue: p.venue.to_string(),
            opened_at: t.opened_at,
            closed: t.closed.clone(),
            range: p.range,
            lp: Amount(p.lp),
            health,
            liquidation_prices,
            distance_bps: distance,
            equity: equity.to_string(),
            contributed: t.contributed.to_string(),
            pnl: PnlView {
                total: pnl.total().to_string(),
                parts: pnl.parts().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            },
        })
    }

    /// Whether position `id` is `account`'s.
    pub fn owns(&self, account: u64, id: u64) -> bool {
        self.tracked.get(&id).is_some_and(|t| t.account == account)
    }

    /// `account`'s positions, newest first.
    pub fn positions_of(&self, account: u64) -> Result<Vec<PositionView>, Error> {
        let ids: Vec<u64> = self
            .tracked
            .iter()
            .rev()
            .filter(|(_, t)| t.account == account)
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter().map(|id| self.position_view(account, id)).collect()
    }

    pub fn history(&self, account: u64, id: u64) -> Result<Vec<HistoryPoint>, Error> {
        let t = self
            .tracked
            .get(&id)
            .filter(|t| t.account == account)
            .ok_or_else(|| Error::not_found(format!("position {id}")))?;
        Ok(t.history.iter().cloned().collect())
    }

    /// `account`'s orders, newest first.
    pub fn orders_of(&self, account: u64) -> Vec<Order> {
        let mut orders: Vec<Order> =
            self.world.market.orders().filter_map(|o| self.order_view(account, o)).collect();
        orders.reverse();
        orders
    }

    pub fn order(&self, account: u64, id: u64) -> Result<Order, Error> {
        self.world
            .market
            .order(id)
            .and_then(|o| self.order_view(account, o))
            .ok_or_else(|| Error::not_found(format!("order {id}")))
    }

    /// The engine's order as `account` sees it; `None` when it is another account's.
    fn order_view(&self, account: u64, o: &levfarm_core::orders::Order) -> Option<Order> {
        let owner = self.tracked.get(&o.position).map(|t| t.account)?;
        let mut kind = o.kind.clone();
        if let levfarm_core::orders::OrderKind::TimeLimit { at, .. } = &mut kind {
            // Back on the service's Unix clock.
            *at = at.saturating_add(u64::try_from(self.genesis_time).unwrap_or(0));
        }
        (owner == account).then(|| Order {
            id: o.id,
            account,
            position: o.position,
            order: kind,
            placed_at: self
                .genesis_time
                .saturating_add(i64::try_from(o.placed_at).unwrap_or(i64::MAX)),
            status: o.status,
            fired: o.fired,
            last_note: o.note.clone(),
            reserve_left: o.reserve_left,
        })
    }

    /// `account`'s alerts, newest first.
    pub fn alerts_of(&self, account: u64) -> Vec<Alert> {
        self.alerts.get(&account).map(|l| l.iter().rev().cloned().collect()).unwrap_or_default()
    }

    /// The keepers' last reports, newest first.
    pub fn reports(&self) -> Vec<KeeperReport> {
        self.reports.iter().rev().cloned().collect()
    }

    pub fn accounts(&self) -> Vec<Account> {
        self.accounts.values().cloned().collect()
    }

    /// The webhook of an account, for delivering its alerts.
    pub fn webhook_of(&self, account: u64) -> Option<String> {
        self.accounts.get(&account).and_then(|a| a.alerts.webhook.clone())
    }

    /// Every token held is somewhere, for every token: the engine's conservation check.
    pub fn conserved(&self) -> bool {
        let m = &self.world.market;
        m.token_symbols().all(|t| m.totals(t).balanced())
    }

    /// Profit and loss add up for every position: parts sum to equity less contributions.
    pub fn books_balance(&self) -> Result<bool, Error> {
        for (&id, t) in &self.tracked {
            if t.closed.is_some() && t.closed.as_ref().is_some_and(|c| c.how == "replaced") {
                continue;
            }
            let v = self.position_view(t.account, id)?;
            let equity: i128 = v.equity.parse().unwrap_or(0);
            let total: i128 = v.pnl.total.parse().unwrap_or(0);
            if total != equity - t.contributed {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
