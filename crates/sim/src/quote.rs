//! `levfarm quote`: what opening the scenario's position on the current pool would do, and
//! what it would be worth after price moves, without running any history.

use alloy_primitives::U256;
use levfarm_core::market::Event;
use levfarm_core::position::range::oracle_sqrt_price;
use levfarm_core::types::Holder;
use levfarm_core::Command;
use serde::Serialize;

use crate::backtest::{adjust_utilization, open};
use crate::book::value;
use crate::models::{Utilization, Volume};
use crate::run::Backtest;
use crate::scenario::PoolKind;
use crate::world::{self, World, ARB, OWNER};
use crate::SimError;

/// Price moves the quote values the position at.
pub const MOVES: [f64; 11] = [-0.5, -0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.25, 0.5, 0.75, 1.0];

/// The preview of a position.
#[derive(Debug, Clone, Serialize)]
pub struct Quote {
    pub time: i64,
    pub price: f64,
    pub equity: f64,
    pub leverage: f64,
    /// Decimals of the asset and the stable token, for showing raw amounts in whole units.
    pub decimals: std::collections::BTreeMap<String, u8>,
    /// Raw amounts borrowed of the asset and the stable token, and their values.
    pub borrowed: [String; 2],
    pub borrowed_value: f64,
    /// The swap the opening made: `(sold symbol, amount sold, bought symbol, amount bought)`.
    pub swaps: Vec<(String, String, String, String)>,
    /// Raw amounts put into the pool.
    pub deposited: [String; 2],
    pub position_value: f64,
    pub debt_value: f64,
    pub debt_ratio: f64,
    pub work_factor: f64,
    pub kill_factor: f64,
    pub max_leverage: f64,
    pub liquidation_lower: Option<f64>,
    pub liquidation_upper: Option<f64>,
    /// Opening costs: contributed equity less the position's equity right after.
    pub opening_cost: f64,
    pub apy: Apy,
    pub moves: Vec<Move>,
    pub notes: Vec<String>,
}

/// A year's yields on the equity put in, at current rates, as fractions: simple rates (not
/// compounded), each net of what the backtest would charge against it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Apy {
    /// Fees from traders' volume and from the arbitrage that follows the price, measured by
    /// the backtester over the data's last 30 days.
    pub trading_fees: f64,
    /// The farm's emissions at the reward token's average price over the next year (its
    /// scenario decay applied), less the reinvest bounty.
    pub farm_rewards: f64,
    pub interest: f64,
    /// Expected loss-versus-rebalancing, `σ²/8` of the liquidity's full-range value a year,
    /// with σ the asset's volatility over the data's last year: what a leveraged LP loses to
    /// arbitrage at the same prices, the largest cost of the position.
    pub loss_versus_rebalancing: f64,
    /// The asset's annual volatility used for it.
    pub volatility: f64,
    /// Fees + rewards − interest − loss-versus-rebalancing.
    pub net: f64,
    /// The stable token's and the asset's borrow rates after opening.
    pub borrow_rate_stable: f64,
    pub borrow_rate_asset: f64,
    /// Daily volume the fee estimate assumes, in the stable token.
    pub daily_volume: f64,
}

/// The position after an instant price move, the pool arbitraged to it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Move {
    pub change: f64,
    pub price: f64,
    pub equity: f64,
    pub equity_change: f64,
    /// The LP's loss against holding the tokens it held before the move.
    pub impermanent_loss: f64,
    pub debt_ratio: f64,
    pub liquidatable: bool,
}

/// Quotes the scenario's position at the last bar of its data.
pub fn quote(backtest: &Backtest) -> Result<Quote, SimError> {
    quote_opened(backtest).map(|(q, _)| q)
}

/// The market just after the quote's opening, and the position's id in it.
pub type Opened = (World, u64);

/// [`quote`], and the market it opened the position in.
pub fn quote_opened(backtest: &Backtest) -> Result<(Quote, Opened), SimError> {
    let scenario = &backtest.scenario;
    let prices = &backtest.prices;
    let n = prices.times.len();
    let (t, close) = (prices.times[n - 1], prices.closes[n - 1]);
    let stable = prices
        .quote
        .get(n - 1)
        .copied()
        .unwrap_or(levfarm_core::price::Price(levfarm_core::math::WAD));
    let others: Vec<_> = prices.others.iter().map(|(_, c)| c[n - 1]).collect();
    let mut w = World::build_priced(scenario, close, stable, &others, 86_400 * 366)?;
    let mut utilization = Utilization::new(&scenario.market.utilization)?;
    adjust_utilization(&mut w, &mut utilization, t, 0.0)?;
    let spec = &scenario.position;
    let stable = w.stable.clone();
    let asset = w.asset.clone();
    let equity_raw = w.value_to_amount(&stable, spec.equity)?;
    w.mint(OWNER, &stable, equity_raw)?;
    let before_open = w.clone();
    let id = open(&mut w, equity_raw, spec.leverage, spec.borrow, spec)?;
    let events: Vec<Event> = w.events().to_vec();
    let mut borrowed = [U256::ZERO; 2];
    let mut swaps = Vec::new();
    let mut deposited = [U256::ZERO; 2];
    for e in &events {
        match e {
            Event::Borrowed { token, amount, .. } => {
                borrowed[usize::from(*token != asset)] += amount.0;
            }
            Event::Swapped { token_in, amount_in, token_out, amount_out, .. } => swaps.push((
                token_in.to_string(),
                amount_in.to_string(),
                token_out.to_string(),
                amount_out.to_string(),
            )),
            Event::V3Swapped(s) => {
                let (sold, bought) =
                    if s.zero_for_one { (&asset, &stable) } else { (&stable, &asset) };
                let (a_in, a_out) =
                    if s.zero_for_one { (s.amount0, s.amount1) } else { (s.amount1, s.amount0) };
                swaps.push((
                    sold.to_string(),
                    a_in.0.unsigned_abs().to_string(),
                    bought.to_string(),
                    a_out.0.unsigned_abs().to_string(),
                ));
            }
            Event::LiquidityAdded { holder: Holder::Position(_), amount0, amount1, .. } => {
                deposited = [amount0.0, amount1.0];
            }
            Event::V3Minted(m) => deposited = [m.amount0.0, m.amount1.0],
            _ => {}
        }
    }
    let m = &w.market;
    let health = m.position_health(id)?;
    let liq = m.liquidation_prices(id)?;
    let lev = &scenario.leverage();
    let q = [m.quote(&asset)?, m.quote(&stable)?];
    let inventory = m.position_inventory(id)?;
    let equity_after = value_f(health.value_oracle) - value_f(health.debt_value)
        + inventory.rewards.as_ref().map_or(0.0, |_| 0.0);
    let price_f = world::wad_to_f64(close.0);

    // Yields at current rates.
    let tvl = w.pool_value()?;
    let share = position_share(&w, id)?;
    let volume = Volume::new(&scenario.market.volume)?;
    let daily_volume = recent_daily_volume(&volume, prices, tvl);
    let fees_year = recent_fees(backtest)? * spec.equity;
    let r = &scenario.market.rewards;
    let bounty = 1.0 - f64::from(lev.reinvest_bounty_bps) / 1e4;
    let rewards_year = r.apr * scenario.pool().tvl * share * mean_reward_price(r) * bounty;
    let volatility = recent_volatility(prices);
    let lvr_year = volatility * volatility / 8.0 * full_range_value(&inventory, q)?;
    let rate = |token: &str| {
        m.lending_at(&w.venue, token)
            .map_or(0.0, |l| world::wad_to_f64(l.borrow_rate.0 / U256::from(1_000_000_000u64)))
    };
    let (rate_asset, rate_stable) = (rate(&asset), rate(&stable));
    let interest_year = value_f(q[0].value(health.debt[0])?) * rate_asset
        + value_f(q[1].value(health.debt[1])?) * rate_stable;
    let e = spec.equity;
    let apy = Apy {
        trading_fees: fees_year / e,
        farm_rewards: rewards_year / e,
        interest: -interest_year / e,
        loss_versus_rebalancing: -lvr_year / e,
        volatility,
        net: (fees_year + rewards_year - interest_year - lvr_year) / e,
        borrow_rate_stable: rate_stable,
        borrow_rate_asset: rate_asset,
        daily_volume,
    };

    // Instant moves.
    let sqrt_before = oracle_sqrt_price(q)?;
    let held = inventory.lp_amounts(sqrt_before)?;
    let mut moves = Vec::new();
    for change in MOVES {
        let mut c = w.clone();
        let moved = world::price_from_f64(price_f * (1.0 + change))?;
        c.set_price(&asset, moved)?;
        c.run(Command::Arbitrage { account: ARB.into(), pool: c.pool.clone() })?;
        let h = c.market.position_health(id)?;
        let qm = [c.market.quote(&asset)?, c.market.quote(&stable)?];
        let inv = c.market.position_inventory(id)?;
        let lp_now = inv.lp_amounts(oracle_sqrt_price(qm)?)?;
        let il = (value(lp_now[0], qm[0])? + value(lp_now[1], qm[1])?)
            - (value(held[0], qm[0])? + value(held[1], qm[1])?);
        let eq = value_f(h.value_oracle) - value_f(h.debt_value);
        moves.push(Move {
            change,
            price: world::wad_to_f64(moved.0),
            equity: eq,
            // Against what was put in, so that the opening's costs count.
            equity_change: eq / e - 1.0,
            impermanent_loss: il as f64 / 1e18,
            debt_ratio: h.debt_ratio_bps as f64 / 1e4,
            liquidatable: h.debt_ratio_bps > u64::from(lev.kill_factor_bps),
        });
    }
    let mut notes = vec![format!(
        "on the scenario's market at the last bar of {} ({}); fees assume {:.0} of daily volume",
        prices.source,
        crate::data::iso(t),
        daily_volume
    )];
    if scenario.pool().kind == PoolKind::V3 {
        notes.push("range positions earn fees only while the price is in range; the fee APY assumes it stays in".into());
    }
    notes.push(
        "yields are simple rates for a year at today's rates, not compounded: fees as the \
         backtester earned them over the data's last 30 days (traders' volume and arbitrage), \
         rewards at the reward token's average price over the year net of the reinvest bounty, \
         loss-versus-rebalancing expected at the volatility of the data's last year"
            .into(),
    );
    for (token, from, to, fit) in utilization.coverage() {
        if t > to || t < from {
            notes.push(format!(
                "{token}'s borrow rate comes from other borrowers' utilization on {}, past the \
                 history's {} to {}: drawn from the mean-reverting process fitted to it \
                 (long-run {:.0}%)",
                &crate::data::iso(t)[..10],
                &crate::data::iso(from)[..10],
                &crate::data::iso(to)[..10],
                fit.median_utilization() * 100.0
            ));
        }
    }
    let (max_leverage, limit) = max_openable(&before_open, equity_raw, scenario)?;
    notes.push(format!(
        "the work factor allows {limit:.2}x on paper; the opening's swap and fees take the debt \
         ratio past it above {max_leverage:.2}x, the most that opens"
    ));
    let quote = Quote {
        time: t,
        price: price_f,
        equity: e,
        leverage: spec.leverage,
        decimals: [(&asset, q[0].unit), (&stable, q[1].unit)]
            .into_iter()
            .map(|(t, unit)| (t.to_string(), (unit.to_string().len() - 1) as u8))
            .collect(),
        borrowed: [borrowed[0].to_string(), borrowed[1].to_string()],
        borrowed_value: value_f(q[0].value(borrowed[0])?) + value_f(q[1].value(borrowed[1])?),
        swaps,
        deposited: [deposited[0].to_string(), deposited[1].to_string()],
        position_value: value_f(health.value),
        debt_value: value_f(health.debt_value),
        debt_ratio: health.debt_ratio_bps as f64 / 1e4,
        work_factor: f64::from(lev.work_factor_bps) / 1e4,
        kill_factor: f64::from(lev.kill_factor_bps) / 1e4,
        max_leverage,
        liquidation_lower: liq.lower.map(world::wad_to_f64),
        liquidation_upper: liq.upper.map(world::wad_to_f64),
        opening_cost: e - equity_after,
        apy,
        moves,
        notes,
    };
    Ok((quote, (w, id)))
}

fn value_f(v: U256) -> f64 {
    world::wad_to_f64(v)
}

/// The highest leverage (to 0.01x, rounded down) that the engine opens on `world`, found by
/// trying it; and the work factor's limit on paper, `1 / (1 − work factor)`.
fn max_openable(
    world: &World,
    equity_raw: U256,
    scenario: &crate::Scenario,
) -> Result<(f64, f64), SimError> {
    let spec = &scenario.position;
    let limit = 1e4 / f64::from(10_000 - scenario.leverage().work_factor_bps.min(9_999));
    let opens = |hundredths: u32| {
        let mut w = world.clone();
        let x = f64::from(hundredths) / 100.0;
        open(&mut w, equity_raw, x, spec.borrow, spec).is_ok()
    };
    // Invariant: `lo` opens (1x always does), `hi` does not.
    let (mut lo, mut hi) = (100u32, (limit * 100.0).floor() as u32 + 1);
    if opens(hi - 1) {
        return Ok(((hi - 1) as f64 / 100.0, limit));
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if opens(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok((f64::from(lo) / 100.0, limit))
}

/// Trading fees a year per unit of equity, as the backtester earns them (traders' volume and
/// arbitrage) over the data's last 30 days, without protection.
fn recent_fees(backtest: &Backtest) -> Result<f64, SimError> {
    let p = &backtest.prices;
    let end = p.times[p.times.len() - 1];
    let first = p.times.iter().position(|&t| end - t <= 30 * 86_400).unwrap_or(0);
    let first = first.min(p.times.len().saturating_sub(2));
    let window = p.since(first);
    let mut scenario = backtest.scenario.clone();
    scenario.protection = crate::scenario::ProtectionSpec::default();
    let r = crate::backtest::run(&scenario, &window, crate::backtest::Strategy::Leveraged, None)?;
    let years = (window.times[window.times.len() - 1] - window.times[0]) as f64 / world::YEAR;
    let equity = scenario.position.equity;
    Ok(if years > 0.0 { r.pnl.trading_fees as f64 / 1e18 / years / equity } else { 0.0 })
}

/// The reward token's average price over the next year, as a share of today's: 1 when it
/// holds; for a decay of `d` a year, `∫₀¹ (1 − d)^t dt = −d / ln(1 − d)`.
fn mean_reward_price(r: &crate::scenario::RewardSpec) -> f64 {
    match r.price_path {
        crate::scenario::RewardPricePath::Decay { per_year } if per_year > 0.0 => {
            -per_year / (1.0 - per_year).ln()
        }
        _ => 1.0,
    }
}

/// The asset's annual volatility over the data's last year (all of it when shorter).
fn recent_volatility(p: &crate::data::PriceSeries) -> f64 {
    let end = p.times[p.times.len() - 1];
    let first = p.times.iter().position(|&t| end - t <= 365 * 86_400).unwrap_or(0);
    let r: Vec<f64> = p.closes[first..]
        .windows(2)
        .map(|w| (world::wad_to_f64(w[1].0) / world::wad_to_f64(w[0].0)).ln())
        .collect();
    let n = r.len().max(1) as f64;
    let mean = r.iter().sum::<f64>() / n;
    let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (var * world::YEAR / p.interval.max(1) as f64).sqrt()
}

/// What a full-range position of the same liquidity is worth at the oracle, `2·L·√P`: the
/// base of loss-versus-rebalancing, `σ²/8` of it a year (for a range position in range the
/// same, as its pool holdings move with `L` alone).
fn full_range_value(
    inv: &levfarm_core::market::PositionInventory,
    q: [levfarm_core::position::valuation::Quote; 2],
) -> Result<f64, SimError> {
    let sqrt_p = oracle_sqrt_price(q)?;
    // L·√P in token1's raw units (√P in Q64.96).
    let token1 = levfarm_core::math::mul_div(inv.liquidity, sqrt_p, U256::from(1) << 96)
        .map_err(levfarm_core::Error::from)?;
    Ok(2.0 * value_f(q[1].value(token1)?))
}

/// The position's share of the pool's fees and of its farm: LP over supply, or the range's
/// liquidity over the pool's active liquidity.
fn position_share(w: &World, id: u64) -> Result<f64, SimError> {
    let m = &w.market;
    let lp = m.positions().find(|p| p.id == id).map_or(U256::ZERO, |p| p.lp);
    let total = match w.kind {
        PoolKind::ConstantProduct => m.amm_pool(&w.pool)?.amm.total_supply,
        PoolKind::V3 => U256::from(m.v3_amm_pool(&w.pool)?.pool.liquidity),
    };
    Ok(if total.is_zero() { 0.0 } else { value_f(lp * levfarm_core::math::WAD / total) })
}

/// Average daily volume the model gives over the last 30 days of the data.
fn recent_daily_volume(volume: &Volume, prices: &crate::data::PriceSeries, tvl: f64) -> f64 {
    let n = prices.times.len();
    let end = prices.times[n - 1];
    let mut total = 0.0;
    let mut seconds = 0.0;
    for i in (1..n).rev() {
        if end - prices.times[i] > 30 * 86_400 {
            break;
        }
        let dt = (prices.times[i] - prices.times[i - 1]) as f64;
        let r = (world::wad_to_f64(prices.closes[i].0) / world::wad_to_f64(prices.closes[i - 1].0))
            .ln();
        total += volume.at(prices.times[i], dt, tvl, r);
        seconds += dt;
    }
    if seconds > 0.0 {
        total / seconds * 86_400.0
    } else {
        0.0
    }
}
