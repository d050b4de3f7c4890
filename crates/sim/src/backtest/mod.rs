//! A backtest: the scenario's market driven bar by bar through a price history, with the
//! position's protection orders and the liquidators acting in that order, every action's cost
//! booked, and the alternatives run beside it.
//!
//! A bar is its steps, each in its own module: `market` moves the clock, races protection
//! against the liquidators along the bar's path and closes it; `actors` trade and borrow
//! around the position; `protection` runs the engine's orders, then the liquidators;
//! `booking` books each action in the exact PnL; `sampling` records the curve.
//! `opening` sizes and opens the position. This module holds the run and its results.

use alloy_primitives::U256;
use levfarm_core::market::{BarPath, Event, KeeperTiming, RaceOutcome};
use levfarm_core::orders::{Order, OrderKind, OrderStatus, Trail, Trigger};
use levfarm_core::position::TickRange;
use levfarm_core::price::Price;
use levfarm_core::types::{Amount, Holder};
use levfarm_core::Command;
use serde::Serialize;

use crate::book::{CostKind, Pnl, Snapshot};
use crate::data::PriceSeries;
use crate::models::{Flow, RewardPrice, Utilization, Volume};
use crate::scenario::{BorrowSide, PoolKind, PositionSpec, Scenario};
use crate::world::{self, World, DEMAND, KEEPER, NOISE, OWNER};
use crate::SimError;

mod actors;
mod booking;
mod market;
mod opening;
mod portfolio;
mod protection;
mod sampling;

pub(crate) use actors::adjust_utilization;
use booking::snapshot_of;
pub use opening::opening_range;
pub(crate) use opening::{open, open_for};
pub use portfolio::{run_portfolio, staked, PortfolioRun};
pub use protection::{keeper_failed, scenario_orders};
pub use sampling::stats;

/// What a run holds: the leveraged position, or one of the alternatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The scenario's position with its protection.
    #[default]
    Leveraged,
    /// The same equity in the same pool without debt or protection, rewards compounded alike.
    UnleveragedLp,
    /// The equity supplied to the stable token's lending pool.
    LendingOnly,
    /// Half the equity in the asset, half in the stable token, untouched.
    Hold5050,
    /// All the equity in the asset.
    HoldAsset,
    /// All the equity in the asset, staked at a yearly yield ([`staked`]).
    StakedAsset,
}

impl Strategy {
    pub fn label(self) -> &'static str {
        match self {
            Strategy::Leveraged => "Leveraged position",
            Strategy::UnleveragedLp => "Unleveraged LP",
            Strategy::LendingOnly => "Lending only",
            Strategy::Hold5050 => "Hold 50/50",
            Strategy::HoldAsset => "Hold asset",
            Strategy::StakedAsset => "Staked asset",
        }
    }
}

/// One bar's record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sample {
    pub time: i64,
    /// The asset's price, numeraire 1e18.
    pub price: U256,
    /// The owner's equity (position, wallet, supply, less gas), 1e18, signed.
    pub equity: i128,
    /// Debt over value in bps, while a position is open.
    pub debt_ratio_bps: Option<u64>,
    pub leverage_bps: Option<u64>,
    pub debt_value: Option<U256>,
    /// Asset prices at which the position becomes liquidatable, solved after actions and at
    /// least every `7 · report.liquidation_price_every` bars (carried between solves).
    pub liquidation_lower: Option<U256>,
    pub liquidation_upper: Option<U256>,
    /// The stable token's borrow rate, ray (1e27).
    pub borrow_rate: U256,
    pub in_range: Option<bool>,
}

/// Something the position's orders, its keepers or a liquidator did.
#[derive(Debug, Clone, Serialize)]
pub struct ActionRecord {
    pub time: i64,
    pub kind: ActionKind,
    pub price: U256,
    pub equity_before: i128,
    pub equity_after: i128,
    /// `equity_after − equity_before` (negative: a cost), gas included.
    pub change: i128,
    pub debt_ratio_before_bps: Option<u64>,
    pub debt_ratio_after_bps: Option<u64>,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Open,
    Compound,
    StopLoss,
    TakeProfit,
    TrailingStop,
    TimeLimit,
    TopUp,
    Deleverage,
    Rebalance,
    Recenter,
    Liquidation,
    /// A portfolio's rebalance taking value out of the position or putting it in.
    Reallocate,
    /// A portfolio's drawdown stop closing the position.
    PortfolioStop,
    /// A protection order that the engine refused (the reason is in `detail`).
    Refused,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Open => "open",
            ActionKind::Compound => "compound",
            ActionKind::StopLoss => "stop_loss",
            ActionKind::TakeProfit => "take_profit",
            ActionKind::TrailingStop => "trailing_stop",
            ActionKind::TimeLimit => "time_limit",
            ActionKind::TopUp => "top_up",
            ActionKind::Deleverage => "deleverage",
            ActionKind::Rebalance => "rebalance",
            ActionKind::Recenter => "recenter",
            ActionKind::Liquidation => "liquidation",
            ActionKind::Reallocate => "reallocate",
            ActionKind::PortfolioStop => "portfolio_stop",
            ActionKind::Refused => "refused",
        }
    }

    fn cost(self) -> CostKind {
        match self {
            ActionKind::Open | ActionKind::Compound => CostKind::Trading,
            ActionKind::Liquidation => CostKind::Liquidation,
            _ => CostKind::Protection,
        }
    }
}

/// One strategy's run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunResult {
    pub strategy: Strategy,
    /// What the owner put in (equity and any reserve), 1e18.
    pub contributed: i128,
    pub final_equity: i128,
    pub pnl: Pnl,
    pub samples: Vec<Sample>,
    pub actions: Vec<ActionRecord>,
    pub liquidated_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// Bars with the debt ratio at or above the work factor, and at or above 90% of the kill
    /// factor.
    pub bars_above_work: u64,
    pub bars_near_kill: u64,
    pub stats: Stats,
}

/// The shortest window whose return is annualised: 90 days. Below it results show the
/// return over the window instead (backtests and Monte Carlo horizons alike).
pub const MIN_ANNUALISED_YEARS: f64 = 90.0 / 365.0;

/// Statistics of an equity curve (f64: reporting only).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Stats {
    pub final_equity: f64,
    pub pnl: f64,
    pub total_return: f64,
    /// Compounded annual return of the owner's equity; NaN (null in JSON) for a window
    /// shorter than [`MIN_ANNUALISED_YEARS`], where annualising would mislead (a week's 10%
    /// is 14,000% a year): `total_return` is the figure then.
    pub net_apy: f64,
    pub max_drawdown: f64,
    pub years: f64,
}

/// How often and how far the caller wants to hear of progress: `(bars done, bars in all)`.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Runs `strategy` over `prices`.
pub fn run(
    scenario: &Scenario,
    prices: &PriceSeries,
    strategy: Strategy,
    progress: Option<Progress<'_>>,
) -> Result<RunResult, SimError> {
    let n = prices.times.len();
    if n < 2 {
        return Err(SimError::Scenario("the price history needs at least 2 bars".into()));
    }
    match strategy {
        Strategy::Hold5050 | Strategy::HoldAsset => return hold(scenario, prices, strategy, 0.0),
        Strategy::StakedAsset => {
            return Err(SimError::Internal("a staked run needs its yield: backtest::staked".into()))
        }
        _ => {}
    }
    let mut r = Runner::begin(scenario, prices, strategy)?;
    let tick = (n / 100).max(1);
    for i in 1..n {
        r.advance(prices, i)
            .and_then(|()| r.record(prices, i))
            .map_err(|e| at_bar(prices, i, e))?;
        if let Some(report) = progress {
            if i % tick == 0 || i + 1 == n {
                report(i as u64 + 1, n as u64);
            }
        }
    }
    r.finish()
}

/// Whatever stops a run names the bar: its time and its close.
fn at_bar(prices: &PriceSeries, i: usize, e: SimError) -> SimError {
    SimError::AtBar {
        time: crate::data::iso(prices.times[i]),
        price: prices.closes[i].to_string(),
        source: Box::new(e),
    }
}

/// The market just after the leveraged position opened: where every Monte Carlo path starts.
#[derive(Debug, Clone)]
pub struct Opened {
    pub world: World,
    pub position: u64,
    /// What the owner put in, and the position's own equity, 1e18 numeraire.
    pub contributed: i128,
    pub opened_equity: i128,
    /// Gas paid so far, 1e18 numeraire.
    pub gas: U256,
}

/// Builds the scenario's market at `price` (the other pairs' tokens at `others`, as
/// [`World::build_priced`] takes them) and opens the leveraged position, as a backtest's first
/// bar does; funded for a run of `seconds`.
pub fn open_at(
    scenario: &Scenario,
    price: Price,
    others: &[Price],
    seconds: u64,
) -> Result<Opened, SimError> {
    let world =
        World::build_priced(scenario, price, Price(levfarm_core::math::WAD), others, seconds)?;
    let mut r = Runner::new(scenario, world, Strategy::Leveraged)?;
    r.start(0)?;
    let position =
        r.position.ok_or_else(|| SimError::Internal("opening reported no position".into()))?;
    Ok(Opened {
        world: r.world,
        position,
        contributed: r.contributed,
        opened_equity: r.opened_equity,
        gas: r.gas,
    })
}

/// The equity curve of a buy-and-hold alternative: exact amounts, valued at each close.
/// `staking` is the asset's yearly yield, paid in the asset every bar (0 holds it bare).
fn hold(
    scenario: &Scenario,
    prices: &PriceSeries,
    strategy: Strategy,
    staking: f64,
) -> Result<RunResult, SimError> {
    // Holdings in whole tokens at 1e18 (the value at each close is then exact to the unit);
    // the stable half is worth its own price where it has a history.
    let unit = levfarm_core::math::WAD;
    let mul_div = |a, b, c| levfarm_core::math::mul_div(a, b, c).map_err(levfarm_core::Error::from);
    let equity = world::wad_from_f64(scenario.position.equity)?;
    let asset_value = if strategy == Strategy::Hold5050 { equity / U256::from(2) } else { equity };
    let stable_value = equity - asset_value;
    let stable_price = |i: usize| prices.quote.get(i).map_or(unit, |q| q.0);
    let mut amount0 = mul_div(asset_value, unit, prices.closes[0].0)?;
    let amount1 = mul_div(stable_value, unit, stable_price(0))?;
    // The yield as 1e18 a year; each bar pays `amount · yield · dt / year`, rounded down.
    let rate = world::wad_from_f64(staking)?;
    let year = U256::from(world::YEAR as u64);
    let mut samples = Vec::with_capacity(prices.times.len());
    for (i, (t, p)) in prices.times.iter().zip(&prices.closes).enumerate() {
        if i > 0 && !rate.is_zero() {
            let dt = U256::from(u64::try_from(t - prices.times[i - 1]).unwrap_or(0));
            amount0 += mul_div(amount0, rate * dt, unit * year)?;
        }
        let total = mul_div(amount0, p.0, unit)? + mul_div(amount1, stable_price(i), unit)?;
        let equity = i128::try_from(total).unwrap_or(i128::MAX);
        samples.push(Sample { time: *t, price: p.0, equity, ..Sample::default() });
    }
    let contributed = i128::try_from(equity).unwrap_or(i128::MAX);
    let final_equity = samples.last().map_or(contributed, |s| s.equity);
    let pnl = Pnl { price_exposure: final_equity - contributed, ..Pnl::default() };
    let stats = stats(&samples, contributed);
    Ok(RunResult {
        strategy,
        contributed,
        final_equity,
        pnl,
        samples,
        stats,
        ..RunResult::default()
    })
}

/// The other pairs' tokens' closes at bar `i`.
fn others_at(prices: &PriceSeries, i: usize) -> Vec<Price> {
    prices.others.iter().map(|(_, c)| c[i]).collect()
}

/// One bar of the history: its time, its step from the last bar, its close and the last one.
#[derive(Debug, Clone, Copy)]
struct Step {
    t: i64,
    dt: i64,
    close: Price,
    prev_close: Price,
}

struct Runner<'s> {
    scenario: &'s Scenario,
    world: World,
    strategy: Strategy,
    utilization: Utilization,
    volume: Volume,
    reward_price: RewardPrice,
    position: Option<u64>,
    pnl: Pnl,
    prev: Snapshot,
    gas: U256,
    contributed: i128,
    opened_equity: i128,
    samples: Vec<Sample>,
    actions: Vec<ActionRecord>,
    liquidated_at: Option<i64>,
    closed_at: Option<i64>,
    start_time: i64,
    liq: (Option<U256>, Option<U256>),
    /// The price and action count at the last liquidation-price solve.
    solved: Option<(U256, usize)>,
    since_solve: u64,
    /// Actions other than compounding so far.
    major_actions: usize,
    bars_above_work: u64,
    bars_near_kill: u64,
}

impl<'s> Runner<'s> {
    fn new(scenario: &'s Scenario, world: World, strategy: Strategy) -> Result<Self, SimError> {
        let prev = snapshot_of(&world, None, U256::ZERO)?;
        Ok(Runner {
            scenario,
            utilization: Utilization::new(&scenario.market.utilization)?,
            volume: Volume::new(&scenario.market.volume)?,
            reward_price: RewardPrice::new(&scenario.market.rewards)?,
            world,
            strategy,
            position: None,
            pnl: Pnl::default(),
            prev,
            gas: U256::ZERO,
            contributed: 0,
            opened_equity: 0,
            samples: Vec::new(),
            actions: Vec::new(),
            liquidated_at: None,
            closed_at: None,
            start_time: 0,
            liq: (None, None),
            solved: None,
            since_solve: 0,
            major_actions: 0,
            bars_above_work: 0,
            bars_near_kill: 0,
        })
    }

    /// Builds the market at the first bar and runs the strategy's opening.
    fn begin(
        scenario: &'s Scenario,
        prices: &PriceSeries,
        strategy: Strategy,
    ) -> Result<Self, SimError> {
        let names: Vec<&str> = prices.others.iter().map(|(t, _)| t.as_str()).collect();
        if names != scenario.priced_others() {
            return Err(SimError::Scenario(format!(
                "the prices hold histories of {names:?}; the scenario prices {:?} beside its pair",
                scenario.priced_others()
            )));
        }
        let n = prices.times.len();
        let seconds = u64::try_from(prices.times[n - 1] - prices.times[0]).unwrap_or(0);
        let stable = prices.quote.first().copied().unwrap_or(Price(levfarm_core::math::WAD));
        let world = World::build_priced(
            scenario,
            prices.closes[0],
            stable,
            &others_at(prices, 0),
            seconds,
        )?;
        let mut r = Runner::new(scenario, world, strategy)?;
        r.start(prices.times[0])?;
        Ok(r)
    }

    /// Bar `i`: the market's moves, then the keepers at its close.
    fn advance(&mut self, prices: &PriceSeries, i: usize) -> Result<(), SimError> {
        let (t, close) = (prices.times[i], prices.closes[i]);
        let range = prices.ranges.get(i).copied();
        let step = Step { t, dt: t - prices.times[i - 1], close, prev_close: prices.closes[i - 1] };
        self.bar(step, range, prices.quote.get(i).copied(), &others_at(prices, i))?;
        self.keepers(t)
    }

    /// Records bar `i`.
    fn record(&mut self, prices: &PriceSeries, i: usize) -> Result<(), SimError> {
        let every = self.scenario.report.liquidation_price_every as usize;
        let last = i + 1 == prices.times.len();
        self.sample(prices.times[i], prices.closes[i], i % every == 0, last)
    }

    fn snapshot(&self) -> Result<Snapshot, SimError> {
        snapshot_of(&self.world, self.position, self.gas)
    }

    /// Funds the owner, sets the other borrowers' first utilization and opens the position.
    fn start(&mut self, t: i64) -> Result<(), SimError> {
        self.start_time = t;
        self.adjust_utilization(t, 0.0)?;
        let spec = &self.scenario.position;
        let stable = self.world.stable.clone();
        let asset = self.world.asset.clone();
        let equity = self.world.value_to_amount(&stable, spec.equity)?;
        self.world.mint(OWNER, &stable, equity)?;
        if self.strategy == Strategy::Leveraged {
            if let Some(top_up) = &self.scenario.protection.top_up {
                let reserve = self.world.value_to_amount(&stable, top_up.reserve)?;
                self.world.mint(OWNER, &stable, reserve)?;
            }
        }
        self.prev = self.snapshot()?;
        self.contributed = self.prev.equity()?;
        let price = self.world.market.quote(&asset)?.price_wad;
        match self.strategy {
            Strategy::LendingOnly => {
                self.act(t, price, ActionKind::Open, |w| {
                    w.run(Command::Supply {
                        account: OWNER.into(),
                        token: stable.clone(),
                        amount: Amount(equity),
                        venue: w.lending_venue(&stable),
                    })?;
                    Ok(format!("supplied {} {stable}", spec.equity))
                })?;
            }
            _ => {
                let leverage =
                    if self.strategy == Strategy::Leveraged { spec.leverage } else { 1.0 };
                let side = spec.borrow;
                let eq = spec.equity;
                let mut opened = None;
                self.act(t, price, ActionKind::Open, |w| {
                    let id = open(w, equity, leverage, side, spec)?;
                    opened = Some(id);
                    Ok(format!("opened position {id}: {eq} {stable} at {leverage}x"))
                })?;
                self.position = opened;
                self.opened_equity = self.prev.position_equity()?.unwrap_or(0);
                if let Some(id) = opened {
                    self.place_orders(id)?;
                }
            }
        }
        self.sample(t, Price(price), true, true)
    }

    fn finish(self) -> Result<RunResult, SimError> {
        let final_equity = self.prev.equity()?;
        let total = self.pnl.total();
        if total != final_equity - self.contributed {
            return Err(SimError::Internal(format!(
                "the decomposition adds up to {total}, the equity changed by {}",
                final_equity - self.contributed
            )));
        }
        let stats = stats(&self.samples, self.contributed);
        Ok(RunResult {
            strategy: self.strategy,
            contributed: self.contributed,
            final_equity,
            pnl: self.pnl,
            samples: self.samples,
            actions: self.actions,
            liquidated_at: self.liquidated_at,
            closed_at: self.closed_at,
            bars_above_work: self.bars_above_work,
            bars_near_kill: self.bars_near_kill,
            stats,
        })
    }
}
