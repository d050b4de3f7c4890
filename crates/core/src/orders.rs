//! Protection orders: what a position's owner asks keepers to do for it, and the one rule that
//! says when each order is due and what it asks for.
//!
//! The orders live in the [`crate::Market`] (`place_order`, `cancel_order`), and the market's
//! keepers run them (`run_keepers`, `run_order`). This module is the decision alone, a pure
//! function of an order and what the keeper sees ([`Seen`]), so that the backtester, the
//! service and the Monte Carlo kernel all decide alike; the kernel executes the answer in f64,
//! the market executes it exactly.
//!
//! # The order in which keepers run
//!
//! Positions by id; within a position, orders by class, then by id within a class:
//! time limit, stop-loss, trailing stop, take-profit (each closes the position, so once one
//! acts the rest end), top-up, deleverage, rebalance, compound, re-centre. Liquidators come
//! after every order of every position had its turn.
//!
//! # What an order measures
//!
//! - **Price**: the pool's price, token0 in token1 (`oracle0 / oracle1`, rounded down): for
//!   WETH/USDC the dollar price of ETH.
//! - **Equity**: the position's own equity at the oracle: its liquidity's tokens at the oracle
//!   price, fees owed and farm rewards, less its debt ([`crate::market::PositionInventory`]).
//!   Equity triggers measure against the equity when the order was placed.
//! - **Debt ratio** and **leverage**: the pool's valuation, as the kill factor uses them.

use alloy_primitives::{I256, U256};
use serde::{Deserialize, Serialize};

use crate::price::Price;
use crate::types::{Amount, Name, SignedAmount};

/// Basis points in one.
const BPS: u64 = 10_000;

/// The most active orders one position may hold: keepers run every one of them each time.
pub const MAX_ORDERS_PER_POSITION: usize = 32;

/// A trigger on the pool's price or on the position's equity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// The price at or below this.
    Below(Price),
    /// The price at or above this.
    Above(Price),
    /// Equity down by at least this many bps since the order was placed.
    EquityLossBps(u32),
    /// Equity up by at least this many bps since the order was placed.
    EquityGainBps(u32),
}

/// What a trailing stop follows, and how far from its best it lets it go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Trail {
    /// Acts when the price falls this many bps below its highest since placing (a long).
    PriceFallBps(u32),
    /// Acts when the price rises this many bps above its lowest since placing (a short).
    PriceRiseBps(u32),
    /// Acts when equity falls this many bps below its highest since placing.
    EquityFallBps(u32),
}

/// A protection order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OrderKind {
    /// Close the position when the trigger is met; what comes back is sold into `exit_to`
    /// (the pool's token1 when omitted).
    StopLoss {
        trigger: Trigger,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_to: Option<Name>,
    },
    /// The same as a stop-loss, named for a gain.
    TakeProfit {
        trigger: Trigger,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_to: Option<Name>,
    },
    /// Close the position when the price or equity gives back `trail` from its best.
    TrailingStop {
        trail: Trail,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_to: Option<Name>,
    },
    /// Close the position at `at` (market time, seconds) or the first keeper run after it.
    TimeLimit {
        at: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_to: Option<Name>,
    },
    /// When the debt ratio reaches `trigger_bps`, add `token` (the pool's token1 when omitted)
    /// from the owner's wallet, at most `reserve` in all, to bring it to `target_bps`.
    TopUp {
        trigger_bps: u32,
        target_bps: u32,
        reserve: Amount,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<Name>,
    },
    /// When the debt ratio reaches `trigger_bps`, remove liquidity and repay debt with all of it
    /// to bring it to `target_bps`.
    Deleverage { trigger_bps: u32, target_bps: u32 },
    /// Keep leverage within `target_leverage_bps · (1 ± band_bps)`: above the band deleverage
    /// to the target, below it borrow more into the position up to the target.
    Rebalance { target_leverage_bps: u32, band_bps: u32 },
    /// Reinvest farm rewards (and a range's fees) every `every_seconds`.
    Compound { every_seconds: u64 },
    /// Range positions: when the price leaves the range, move it to a range of `width` ticks
    /// (its own width when omitted) centred on the price.
    Recenter {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        width: Option<i32>,
    },
}

impl OrderKind {
    /// The order's kind as its JSON names it.
    pub fn name(&self) -> &'static str {
        match self {
            OrderKind::StopLoss { .. } => "stop_loss",
            OrderKind::TakeProfit { .. } => "take_profit",
            OrderKind::TrailingStop { .. } => "trailing_stop",
            OrderKind::TimeLimit { .. } => "time_limit",
            OrderKind::TopUp { .. } => "top_up",
            OrderKind::Deleverage { .. } => "deleverage",
            OrderKind::Rebalance { .. } => "rebalance",
            OrderKind::Compound { .. } => "compound",
            OrderKind::Recenter { .. } => "recenter",
        }
    }

    /// Where the order runs among a position's orders (see the module's documentation).
    pub fn rank(&self) -> u8 {
        match self {
            OrderKind::TimeLimit { .. } => 0,
            OrderKind::StopLoss { .. } => 1,
            OrderKind::TrailingStop { .. } => 2,
            OrderKind::TakeProfit { .. } => 3,
            OrderKind::TopUp { .. } => 4,
            OrderKind::Deleverage { .. } => 5,
            OrderKind::Rebalance { .. } => 6,
            OrderKind::Compound { .. } => 7,
            OrderKind::Recenter { .. } => 8,
        }
    }

    /// Whether acting closes the position.
    pub fn exits(&self) -> bool {
        self.rank() <= 3
    }

    /// Whether deciding needs the position's equity (a valuation the keeper skips otherwise).
    pub fn needs_equity(&self) -> bool {
        match self {
            OrderKind::StopLoss { trigger, .. } | OrderKind::TakeProfit { trigger, .. } => {
                matches!(trigger, Trigger::EquityLossBps(_) | Trigger::EquityGainBps(_))
            }
            OrderKind::TrailingStop { trail, .. } => matches!(trail, Trail::EquityFallBps(_)),
            _ => false,
        }
    }

    /// Checks the order's own numbers; `Err((field, why))` names the field that is wrong.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let bps = |field: &'static str, v: u32| {
            if (1..BPS as u32).contains(&v) {
                Ok(())
            } else {
                Err((field, format!("{v} must be within 1..=9999 bps")))
            }
        };
        let ratios = |trigger: u32, target: u32| {
            bps("trigger_bps", trigger)?;
            if target == 0 || target >= trigger {
                return Err((
                    "target_bps",
                    format!("{target} must be above 0 and below trigger_bps ({trigger})"),
                ));
            }
            Ok(())
        };
        match self {
            OrderKind::StopLoss { trigger, .. } | OrderKind::TakeProfit { trigger, .. } => {
                match *trigger {
                    Trigger::Below(p) | Trigger::Above(p) if p.0.is_zero() => {
                        Err(("trigger", "a price above zero".into()))
                    }
                    Trigger::EquityLossBps(b) => bps("trigger", b),
                    Trigger::EquityGainBps(0) => Err(("trigger", "a gain above 0 bps".into())),
                    _ => Ok(()),
                }
            }
            OrderKind::TrailingStop { trail, .. } => match *trail {
                Trail::PriceFallBps(b) | Trail::EquityFallBps(b) => bps("trail", b),
                Trail::PriceRiseBps(0) => Err(("trail", "a rise above 0 bps".into())),
                Trail::PriceRiseBps(_) => Ok(()),
            },
            OrderKind::TimeLimit { .. } => Ok(()),
            OrderKind::TopUp { trigger_bps, target_bps, reserve, .. } => {
                ratios(*trigger_bps, *target_bps)?;
                if reserve.0.is_zero() {
                    return Err(("reserve", "above zero, raw units of the token".into()));
                }
                Ok(())
            }
            OrderKind::Deleverage { trigger_bps, target_bps } => ratios(*trigger_bps, *target_bps),
            OrderKind::Rebalance { target_leverage_bps, band_bps } => {
                if !(10_000..=1_000_000).contains(target_leverage_bps) {
                    return Err((
                        "target_leverage_bps",
                        format!("{target_leverage_bps} must be within 10000 (1x) ..= 1000000"),
                    ));
                }
                bps("band_bps", *band_bps)
            }
            OrderKind::Compound { every_seconds } => {
                if *every_seconds == 0 || *every_seconds > 100 * 366 * 86_400 {
                    return Err(("every_seconds", "within 1 second and 100 years".into()));
                }
                Ok(())
            }
            OrderKind::Recenter { width } => match width {
                Some(w) if *w <= 0 => Err(("width", format!("{w} must be above 0 ticks"))),
                _ => Ok(()),
            },
        }
    }
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Keepers run it.
    Active,
    /// It did what it was for: an exit acted, or a top-up's reserve is spent.
    Done,
    /// Its owner cancelled it.
    Cancelled,
    /// Its position closed some other way (its owner, another order, a liquidator).
    Ended,
}

/// A placed order and what keepers keep of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: u64,
    pub position: u64,
    pub kind: OrderKind,
    pub status: OrderStatus,
    /// Market time when it was placed.
    pub placed_at: u64,
    /// The position's equity when it was placed, numeraire 1e18: the base of equity triggers.
    pub reference_equity: SignedAmount,
    /// A trailing stop's best price (1e18) or equity since it was placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<SignedAmount>,
    /// When a compound order last came due.
    pub last_run: u64,
    /// What a top-up may still add, raw units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve_left: Option<Amount>,
    /// How many times it acted.
    pub fired: u32,
    /// What it last did, or why it last did nothing when it was due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a keeper sees of a position when it decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Market time.
    pub time: u64,
    /// The pool's price, token0 in token1, 1e18.
    pub price: U256,
    /// The position's equity, numeraire 1e18; `None` when no order asked for it.
    pub equity: Option<I256>,
    pub debt_ratio_bps: u64,
    /// `u64::MAX` when the equity is gone.
    pub leverage_bps: u64,
    pub has_debt: bool,
    /// For a range position, whether the pool's price is outside its range.
    pub out_of_range: bool,
}

/// What a due order asks the keeper to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Close the whole position.
    Exit,
    /// Remove liquidity and repay debt with it until the debt ratio is `target_bps`.
    Deleverage { target_bps: u64 },
    /// Add from the reserve until the debt ratio is `target_bps`.
    TopUp { target_bps: u64 },
    /// Borrow more into the position until its leverage is `target_leverage_bps`.
    Raise { target_leverage_bps: u64 },
    /// Reinvest rewards and fees.
    Compound,
    /// Re-centre the range.
    Recenter,
}

/// The debt ratio (bps) at which leverage is `leverage_bps`: `1 − 1/L`, the ratio rounded down
/// (so that the leverage reached is not above `L`).
pub fn debt_ratio_for_leverage(leverage_bps: u64) -> u64 {
    BPS - (BPS * BPS).div_ceil(leverage_bps.max(1))
}

impl Order {
    /// An order placed at `seen`.
    pub fn new(id: u64, position: u64, kind: OrderKind, seen: &Seen) -> Order {
        let reserve_left = match &kind {
            OrderKind::TopUp { reserve, .. } => Some(*reserve),
            _ => None,
        };
        let reference = seen.equity.unwrap_or(I256::ZERO);
        let best = match kind {
            OrderKind::TrailingStop { trail: Trail::EquityFallBps(_), .. } => Some(reference),
            OrderKind::TrailingStop { .. } => Some(signed(seen.price)),
            _ => None,
        };
        Order {
            id,
            position,
            kind,
            status: OrderStatus::Active,
            placed_at: seen.time,
            reference_equity: SignedAmount(reference),
            best: best.map(SignedAmount),
            last_run: seen.time,
            reserve_left,
            fired: 0,
            note: None,
        }
    }

    /// Follows what the keeper sees: a trailing stop's best value. Call before [`Self::due`].
    pub fn observe(&mut self, seen: &Seen) {
        let OrderKind::TrailingStop { trail, .. } = self.kind else { return };
        let now = match trail {
            Trail::EquityFallBps(_) => match seen.equity {
                Some(e) => e,
                None => return,
            },
            _ => signed(seen.price),
        };
        let best = self.best.map_or(now, |b| b.0);
        let next = match trail {
            Trail::PriceRiseBps(_) => best.min(now),
            _ => best.max(now),
        };
        self.best = Some(SignedAmount(next));
    }

    /// What the order asks for now, if it is due: the one decision every use of levfarm makes.
    pub fn due(&self, seen: &Seen) -> Option<Ask> {
        if self.status != OrderStatus::Active {
            return None;
        }
        let bps = |b: u64| I256::from_raw(U256::from(b));
        let ten_k = bps(BPS);
        let price = signed(seen.price);
        // `value` is `share` bps or more below `base` (`base` > 0).
        let fallen = |value: I256, base: I256, share: u32| {
            base.is_positive() && (base - value) * ten_k >= base * bps(u64::from(share))
        };
        let exit = |hit: bool| hit.then_some(Ask::Exit);
        match &self.kind {
            OrderKind::StopLoss { trigger, .. } | OrderKind::TakeProfit { trigger, .. } => {
                let reference = self.reference_equity.0;
                exit(match *trigger {
                    Trigger::Below(p) => seen.price <= p.0,
                    Trigger::Above(p) => seen.price >= p.0,
                    Trigger::EquityLossBps(b) => {
                        seen.equity.is_some_and(|e| fallen(e, reference, b))
                    }
                    Trigger::EquityGainBps(b) => seen.equity.is_some_and(|e| {
                        reference.is_positive()
                            && (e - reference) * ten_k >= reference * bps(u64::from(b))
                    }),
                })
            }
            OrderKind::TrailingStop { trail, .. } => {
                let best = self.best?.0;
                exit(match *trail {
                    Trail::PriceFallBps(b) => fallen(price, best, b),
                    Trail::PriceRiseBps(b) => {
                        best.is_positive() && (price - best) * ten_k >= best * bps(u64::from(b))
                    }
                    Trail::EquityFallBps(b) => seen.equity.is_some_and(|e| fallen(e, best, b)),
                })
            }
            OrderKind::TimeLimit { at, .. } => exit(seen.time >= *at),
            OrderKind::TopUp { trigger_bps, target_bps, .. } => (seen.debt_ratio_bps
                >= u64::from(*trigger_bps))
            .then_some(Ask::TopUp { target_bps: u64::from(*target_bps) }),
            OrderKind::Deleverage { trigger_bps, target_bps } => (seen.debt_ratio_bps
                >= u64::from(*trigger_bps))
            .then_some(Ask::Deleverage { target_bps: u64::from(*target_bps) }),
            OrderKind::Rebalance { target_leverage_bps, band_bps } => {
                let target = u128::from(*target_leverage_bps);
                let lev = u128::from(seen.leverage_bps);
                let band = u128::from(*band_bps);
                let scaled = lev * u128::from(BPS);
                if scaled > target * (u128::from(BPS) + band) {
                    let to = debt_ratio_for_leverage(u64::from(*target_leverage_bps));
                    Some(Ask::Deleverage { target_bps: to })
                } else if scaled < target * (u128::from(BPS) - band) && seen.has_debt {
                    Some(Ask::Raise { target_leverage_bps: u64::from(*target_leverage_bps) })
                } else {
                    None
                }
            }
            OrderKind::Compound { every_seconds } => {
                (seen.time.saturating_sub(self.last_run) >= *every_seconds).then_some(Ask::Compound)
            }
            OrderKind::Recenter { .. } => seen.out_of_range.then_some(Ask::Recenter),
        }
    }

    /// Why the order is due, for its event: the numbers it compared.
    pub fn why(&self, seen: &Seen) -> String {
        let price = Price(seen.price);
        let equity_change = || match seen.equity {
            Some(e) if self.reference_equity.0.is_positive() => {
                let change = (e - self.reference_equity.0) * I256::from_raw(U256::from(BPS))
                    / self.reference_equity.0;
                format!("equity {} since the order was placed", signed_bps(change))
            }
            _ => "equity".into(),
        };
        match &self.kind {
            OrderKind::StopLoss { trigger, .. } | OrderKind::TakeProfit { trigger, .. } => {
                match trigger {
                    Trigger::Below(p) => format!("price {price} at or below {p}"),
                    Trigger::Above(p) => format!("price {price} at or above {p}"),
                    Trigger::EquityLossBps(b) => {
                        format!("{} (stop at −{})", equity_change(), pct(u64::from(*b)))
                    }
                    Trigger::EquityGainBps(b) => {
                        format!("{} (target +{})", equity_change(), pct(u64::from(*b)))
                    }
                }
            }
            OrderKind::TrailingStop { trail, .. } => {
                let best = self.best.map_or(I256::ZERO, |b| b.0);
                match trail {
                    Trail::PriceFallBps(b) => format!(
                        "price {price} is {} or more below its high of {}",
                        pct(u64::from(*b)),
                        Price(best.into_raw())
                    ),
                    Trail::PriceRiseBps(b) => format!(
                        "price {price} is {} or more above its low of {}",
                        pct(u64::from(*b)),
                        Price(best.into_raw())
                    ),
                    Trail::EquityFallBps(b) => format!(
                        "equity {} is {} or more below its high of {}",
                        wad_text(seen.equity.unwrap_or(I256::ZERO)),
                        pct(u64::from(*b)),
                        wad_text(best)
                    ),
                }
            }
            OrderKind::TimeLimit { at, .. } => format!("time {} reached the limit {at}", seen.time),
            OrderKind::TopUp { trigger_bps, .. } | OrderKind::Deleverage { trigger_bps, .. } => {
                format!(
                    "debt ratio {} reached {}",
                    pct(seen.debt_ratio_bps),
                    pct(u64::from(*trigger_bps))
                )
            }
            OrderKind::Rebalance { target_leverage_bps, band_bps } => format!(
                "leverage {}x outside {}x ± {}",
                leverage_text(seen.leverage_bps),
                leverage_text(u64::from(*target_leverage_bps)),
                pct(u64::from(*band_bps))
            ),
            OrderKind::Compound { every_seconds } => {
                format!(
                    "{} s since the last compounding (every {every_seconds} s)",
                    seen.time - self.last_run
                )
            }
            OrderKind::Recenter { .. } => format!("price {price} left the range"),
        }
    }
}

/// A price as a signed figure for the comparisons, held below 2^200 (no real price comes
/// near it) so that the products with 10,000 cannot overflow.
fn signed(price: U256) -> I256 {
    I256::from_raw(price.min(U256::from(1u64) << 200))
}

/// Basis points as a percentage: 8333 → "83.33%".
pub fn pct(bps: u64) -> String {
    if bps == u64::MAX {
        return "∞".into();
    }
    format!("{}.{:02}%", bps / 100, bps % 100)
}

fn signed_bps(bps: I256) -> String {
    let sign = if bps.is_negative() { "−" } else { "+" };
    let abs = u64::try_from(bps.unsigned_abs()).unwrap_or(u64::MAX);
    format!("{sign}{}", pct(abs))
}

/// Leverage in bps of 1x as text: 30000 → "3", 25000 → "2.5".
pub fn leverage_text(bps: u64) -> String {
    if bps == u64::MAX {
        return "∞".into();
    }
    let (whole, frac) = (bps / BPS, bps % BPS);
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{frac:04}").trim_end_matches('0'))
    }
}

/// A signed 1e18 figure as a decimal.
fn wad_text(v: I256) -> String {
    let text = Price(v.unsigned_abs()).to_string();
    if v.is_negative() {
        format!("-{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(price: u64) -> Seen {
        Seen {
            time: 0,
            price: U256::from(price) * U256::from(10u64).pow(U256::from(18)),
            equity: None,
            debt_ratio_bps: 6_000,
            leverage_bps: 25_000,
            has_debt: true,
            out_of_range: false,
        }
    }

    fn wad(v: i64) -> I256 {
        I256::try_from(v).unwrap() * I256::try_from(10i64.pow(18)).unwrap()
    }

    #[test]
    fn a_trailing_stop_follows_the_high_and_acts_on_the_fall_from_it() {
        // Placed at 2000 with a 10% trail: the high goes 2000 → 2400, so the stop stands at
        // 2160; 2170 is above it, 2160 meets it.
        let kind = OrderKind::TrailingStop { trail: Trail::PriceFallBps(1_000), exit_to: None };
        let mut order = Order::new(1, 1, kind, &seen(2_000));
        for (price, due) in [(1_850, false), (2_400, false), (2_200, false), (2_170, false)] {
            order.observe(&seen(price));
            assert_eq!(order.due(&seen(price)), due.then_some(Ask::Exit), "at {price}");
        }
        assert_eq!(order.best.unwrap().0, wad(2_400));
        order.observe(&seen(2_160));
        assert_eq!(order.due(&seen(2_160)), Some(Ask::Exit));
    }

    #[test]
    fn a_trailing_stop_on_a_short_follows_the_low() {
        let kind = OrderKind::TrailingStop { trail: Trail::PriceRiseBps(500), exit_to: None };
        let mut order = Order::new(1, 1, kind, &seen(2_000));
        order.observe(&seen(1_600));
        // 5% above the low of 1600 is 1680.
        assert_eq!(order.due(&seen(1_679)), None);
        assert_eq!(order.due(&seen(1_680)), Some(Ask::Exit));
    }

    #[test]
    fn an_equity_trail_measures_from_the_best_equity() {
        let kind = OrderKind::TrailingStop { trail: Trail::EquityFallBps(2_000), exit_to: None };
        let at = |equity: i64| Seen { equity: Some(wad(equity)), ..seen(2_000) };
        let mut order = Order::new(1, 1, kind, &at(10_000));
        order.observe(&at(15_000));
        // 20% off a best of 15,000 is 12,000.
        order.observe(&at(12_001));
        assert_eq!(order.due(&at(12_001)), None);
        assert_eq!(order.due(&at(12_000)), Some(Ask::Exit));
    }

    #[test]
    fn a_time_limit_acts_at_its_time() {
        let kind = OrderKind::TimeLimit { at: 86_400, exit_to: None };
        let order = Order::new(1, 1, kind, &seen(2_000));
        let at = |time| Seen { time, ..seen(2_000) };
        assert_eq!(order.due(&at(86_399)), None);
        assert_eq!(order.due(&at(86_400)), Some(Ask::Exit));
        assert_eq!(order.due(&at(90_000)), Some(Ask::Exit));
    }

    #[test]
    fn equity_triggers_measure_from_the_equity_at_placing() {
        let at = |equity: i64| Seen { equity: Some(wad(equity)), ..seen(2_000) };
        let stop = Order::new(
            1,
            1,
            OrderKind::StopLoss { trigger: Trigger::EquityLossBps(5_000), exit_to: None },
            &at(10_000),
        );
        assert_eq!(stop.due(&at(5_001)), None);
        assert_eq!(stop.due(&at(5_000)), Some(Ask::Exit));
        let take = Order::new(
            2,
            1,
            OrderKind::TakeProfit { trigger: Trigger::EquityGainBps(10_000), exit_to: None },
            &at(10_000),
        );
        assert_eq!(take.due(&at(19_999)), None);
        assert_eq!(take.due(&at(20_000)), Some(Ask::Exit));
        // A position with no equity left has nothing to measure against.
        let gone = Order::new(
            3,
            1,
            OrderKind::StopLoss { trigger: Trigger::EquityLossBps(1), exit_to: None },
            &at(0),
        );
        assert_eq!(gone.due(&at(-5)), None);
    }

    #[test]
    fn a_rebalance_deleverages_above_the_band_and_raises_below_it() {
        let kind = OrderKind::Rebalance { target_leverage_bps: 30_000, band_bps: 1_000 };
        let order = Order::new(1, 1, kind, &seen(2_000));
        let at = |leverage_bps| Seen { leverage_bps, ..seen(2_000) };
        // The band is 2.7x to 3.3x, both ends inside.
        assert_eq!(order.due(&at(33_000)), None);
        assert_eq!(order.due(&at(27_000)), None);
        // 3x is a debt ratio of 1 − 1/3: 6666 bps, rounded down.
        assert_eq!(order.due(&at(33_001)), Some(Ask::Deleverage { target_bps: 6_666 }));
        assert_eq!(order.due(&at(26_999)), Some(Ask::Raise { target_leverage_bps: 30_000 }));
        let unlevered = Seen { has_debt: false, ..at(10_000) };
        assert_eq!(order.due(&unlevered), None);
    }

    #[test]
    fn orders_with_impossible_numbers_are_refused_by_field() {
        let bad = [
            (OrderKind::Deleverage { trigger_bps: 8_000, target_bps: 8_000 }, "target_bps"),
            (OrderKind::Deleverage { trigger_bps: 10_000, target_bps: 5_000 }, "trigger_bps"),
            (
                OrderKind::Rebalance { target_leverage_bps: 9_999, band_bps: 10 },
                "target_leverage_bps",
            ),
            (OrderKind::Compound { every_seconds: 0 }, "every_seconds"),
            (
                OrderKind::StopLoss { trigger: Trigger::Below(Price(U256::ZERO)), exit_to: None },
                "trigger",
            ),
            (OrderKind::Recenter { width: Some(0) }, "width"),
            (
                OrderKind::TopUp {
                    trigger_bps: 8_000,
                    target_bps: 7_000,
                    reserve: Amount(U256::ZERO),
                    token: None,
                },
                "reserve",
            ),
        ];
        for (kind, field) in bad {
            assert_eq!(kind.check().map_err(|e| e.0), Err(field), "{kind:?}");
        }
    }
}
