//! A backtest: the scenario's market driven bar by bar through a price history, with the
//! position's protection orders and the liquidators acting in that order, every action's cost
//! booked, and the alternatives run beside it.

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
}

impl Strategy {
    pub fn label(self) -> &'static str {
        match self {
            Strategy::Leveraged => "Leveraged position",
            Strategy::UnleveragedLp => "Unleveraged LP",
            Strategy::LendingOnly => "Lending only",
            Strategy::Hold5050 => "Hold 50/50",
            Strategy::HoldAsset => "Hold asset",
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
    if matches!(strategy, Strategy::Hold5050 | Strategy::HoldAsset) {
        return hold(scenario, prices, strategy);
    }
    let seconds = u64::try_from(prices.times[n - 1] - prices.times[0]).unwrap_or(0);
    let stable_at = |i: usize| prices.quote.get(i).copied();
    let stable = stable_at(0).unwrap_or(Price(levfarm_core::math::WAD));
    let world = World::build_priced(scenario, prices.closes[0], stable, seconds)?;
    let mut r = Runner::new(scenario, world, strategy)?;
    r.start(prices.times[0])?;
    let every = scenario.report.liquidation_price_every as usize;
    let tick = (n / 100).max(1);
    for i in 1..n {
        let (t, close) = (prices.times[i], prices.closes[i]);
        // Whatever stops the run names the bar: its time and its close.
        let at_bar = |e: SimError| SimError::AtBar {
            time: crate::data::iso(t),
            price: close.to_string(),
            source: Box::new(e),
        };
        let range = prices.ranges.get(i).copied();
        let step = Step { t, dt: t - prices.times[i - 1], close, prev_close: prices.closes[i - 1] };
        r.bar(step, range, stable_at(i)).map_err(at_bar)?;
        r.keepers(t).map_err(at_bar)?;
        r.sample(t, close, i % every == 0, i + 1 == n).map_err(at_bar)?;
        if let Some(report) = progress {
            if i % tick == 0 || i + 1 == n {
                report(i as u64 + 1, n as u64);
            }
        }
    }
    r.finish()
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

/// Builds the scenario's market at `price` and opens the leveraged position, as a backtest's
/// first bar does; funded for a run of `seconds`.
pub fn open_at(scenario: &Scenario, price: Price, seconds: u64) -> Result<Opened, SimError> {
    let world = World::build(scenario, price, seconds)?;
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
fn hold(
    scenario: &Scenario,
    prices: &PriceSeries,
    strategy: Strategy,
) -> Result<RunResult, SimError> {
    // Holdings in whole tokens at 1e18 (the value at each close is then exact to the unit);
    // the stable half is worth its own price where it has a history.
    let unit = levfarm_core::math::WAD;
    let mul_div = |a, b, c| levfarm_core::math::mul_div(a, b, c).map_err(levfarm_core::Error::from);
    let equity = world::wad_from_f64(scenario.position.equity)?;
    let asset_value = if strategy == Strategy::HoldAsset { equity } else { equity / U256::from(2) };
    let stable_value = equity - asset_value;
    let stable_price = |i: usize| prices.quote.get(i).map_or(unit, |q| q.0);
    let amount0 = mul_div(asset_value, unit, prices.closes[0].0)?;
    let amount1 = mul_div(stable_value, unit, stable_price(0))?;
    let mut samples = Vec::with_capacity(prices.times.len());
    for (i, (t, p)) in prices.times.iter().zip(&prices.closes).enumerate() {
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

    /// Moves the market through the bar: time; the race between protection and liquidators
    /// along the bar's path through its low or high, where the data has them; the close
    /// (oracle, arbitrage, accrual); volume; other borrowers.
    fn bar(
        &mut self,
        Step { t, dt, close, prev_close }: Step,
        range: Option<[Price; 2]>,
        stable: Option<Price>,
    ) -> Result<(), SimError> {
        let dt = u64::try_from(dt).map_err(|_| SimError::Internal("bars out of order".into()))?;
        self.world.arbitrage_flow = [0.0; 2];
        // A stable token with its own history takes the bar's close first: the asset's path
        // inside the bar is then against it.
        if let Some(stable) = stable {
            let token = self.world.stable.clone();
            self.world.set_price(&token, stable)?;
        }
        let reward_price = self.reward_price.at(t, (t - self.start_time) as f64);
        let reward_price = world::price_from_f64(reward_price.max(1e-12))?;
        let racing = self.strategy == Strategy::Leveraged
            && self.scenario.keepers.intrabar
            && self.position.is_some();
        match range.filter(|_| racing) {
            Some(range) => {
                if dt > 0 {
                    self.world.run(Command::AdvanceTime { seconds: dt })?;
                }
                self.race(t, dt, prev_close, close, range)?;
                self.world.move_to(0, close, Some(reward_price))?;
            }
            None => self.world.move_to(dt, close, Some(reward_price))?,
        }
        let tvl = self.world.pool_value()?;
        let log_return = (world::wad_to_f64(close.0) / world::wad_to_f64(prev_close.0)).ln();
        let [bought, sold] = self.world.arbitrage_flow;
        let arbitrage = Flow { buy: bought, sell: sold };
        let flow = self.volume.flow(t, dt as f64, tvl, log_return, arbitrage);
        self.trade(flow)?;
        self.adjust_utilization(t, dt as f64)?;
        let now = self.snapshot()?;
        self.pnl.step(&self.prev, &now)?;
        self.prev = now;
        Ok(())
    }

    /// Inside the bar: whoever the engine's race says acts first, at the price the bar's path
    /// has then; after a protection, the liquidator still if the rest of the path reaches the
    /// position's new kill factor.
    fn race(
        &mut self,
        t: i64,
        dt: u64,
        prev: Price,
        close: Price,
        [low, high]: [Price; 2],
    ) -> Result<(), SimError> {
        let Some(id) = self.position else { return Ok(()) };
        let bar = BarPath {
            from: prev.0,
            low: low.0.min(prev.0).min(close.0),
            high: high.0.max(prev.0).max(close.0),
            close: close.0,
            seconds: dt,
        };
        let k = &self.scenario.keepers;
        let failed = keeper_failed(k.seed, t, id, k.failure_rate);
        let timing = KeeperTiming { latency_secs: k.latency_secs, failed };
        match self.world.market.race(id, &bar, &timing)? {
            RaceOutcome::Quiet => Ok(()),
            RaceOutcome::Protection { order, price, at_secs } => {
                self.move_within(Price(price))?;
                let before = self.actions.len();
                if let Some(o) = self.world.market.order(order).cloned() {
                    self.run_order(t, price, &o)?;
                }
                self.say_when(before, at_secs, price);
                let Some(id) = self.position else { return Ok(()) };
                let rest = BarPath { from: price, ..bar };
                let liquidators = KeeperTiming { latency_secs: 0, failed: true };
                if let RaceOutcome::Liquidation { price, .. } =
                    self.world.market.race(id, &rest, &liquidators)?
                {
                    self.move_within(Price(price))?;
                    self.liquidate(t, price)?;
                }
                Ok(())
            }
            RaceOutcome::Liquidation { price, at_secs } => {
                self.move_within(Price(price))?;
                let before = self.actions.len();
                self.liquidate(t, price)?;
                self.say_when(before, at_secs, price);
                Ok(())
            }
        }
    }

    /// Adds to the actions recorded since `before` when in the bar they acted, and at what
    /// price (the service's keeper report says the same).
    fn say_when(&mut self, before: usize, at_secs: u64, price: U256) {
        for a in self.actions.iter_mut().skip(before) {
            a.detail = format!("{}: {at_secs} s into the bar, at {}", a.detail, Price(price));
        }
    }

    /// The oracle and the pool at a price inside the bar, booked as a market move.
    fn move_within(&mut self, price: Price) -> Result<(), SimError> {
        self.world.move_to(0, price, None)?;
        let now = self.snapshot()?;
        self.pnl.step(&self.prev, &now)?;
        self.prev = now;
        Ok(())
    }

    /// Traders buy `flow.buy` of the asset with the stable token, then sell back the share
    /// `flow.sell / flow.buy` of what they got (and, selling more than they bought, the rest
    /// at the oracle): an even flow is a round trip, the pool earning the fee on both legs and
    /// its price ending where it started, within the fee; an uneven one leaves the price moved
    /// until the next bar's arbitrage.
    fn trade(&mut self, flow: Flow) -> Result<(), SimError> {
        let stable = self.world.stable.clone();
        let asset = self.world.asset.clone();
        let amount = self.world.value_to_amount(&stable, flow.buy.max(0.0))?;
        let bought = self.swap(true, amount)?;
        let back = if flow.sell >= flow.buy {
            bought
        } else {
            let ppm = (flow.sell / flow.buy * 1e6).floor().clamp(0.0, 1e6) as u64;
            bought * U256::from(ppm) / U256::from(1_000_000u64)
        };
        let extra = match flow.sell - flow.buy {
            more if more > 0.0 => self.world.value_to_amount(&asset, more)?,
            _ => U256::ZERO,
        };
        self.swap(false, back + extra)?;
        Ok(())
    }

    /// The traders swap `amount` through the position's pool: the stable token for the asset
    /// (`buy`) or back; what came out.
    fn swap(&mut self, buy: bool, amount: U256) -> Result<U256, SimError> {
        if amount.is_zero() {
            return Ok(U256::ZERO);
        }
        let pool = self.world.pool.clone();
        let command = match self.world.kind {
            PoolKind::ConstantProduct => Command::Swap {
                account: NOISE.into(),
                pool,
                token_in: if buy { self.world.stable.clone() } else { self.world.asset.clone() },
                amount_in: Amount(amount),
                min_amount_out: None,
            },
            PoolKind::V3 => Command::V3Swap {
                account: NOISE.into(),
                pool,
                zero_for_one: !buy,
                amount_in: Some(Amount(amount)),
                amount_out: None,
                sqrt_price_limit_x96: None,
            },
        };
        self.world.run_outside(command)?;
        let out = self.world.events().iter().find_map(|e| match e {
            Event::Swapped { amount_out, .. } => Some(amount_out.0),
            Event::V3Swapped(s) if buy => Some(s.amount0.0.unsigned_abs()),
            Event::V3Swapped(s) => Some(s.amount1.0.unsigned_abs()),
            _ => None,
        });
        Ok(out.unwrap_or(U256::ZERO))
    }

    fn adjust_utilization(&mut self, t: i64, dt: f64) -> Result<(), SimError> {
        adjust_utilization(&mut self.world, &mut self.utilization, t, dt)
    }

    /// The scenario's protection as engine orders on the position just opened: every order
    /// the backtester runs is the engine's ([`levfarm_core::orders`]).
    fn place_orders(&mut self, id: u64) -> Result<(), SimError> {
        let orders = scenario_orders(self.scenario, &self.world, self.strategy)?;
        for order in orders {
            self.world.run(Command::PlaceOrder { caller: OWNER.into(), position: id, order })?;
        }
        Ok(())
    }

    /// The keepers at the bar's close: every active order in the engine's order (each booked
    /// on its own), then the liquidators.
    fn keepers(&mut self, t: i64) -> Result<(), SimError> {
        if self.position.is_none() {
            return Ok(());
        }
        let price = self.world.market.quote(&self.world.asset)?.price_wad;
        for order_id in self.world.market.keeper_sequence() {
            let Some(order) = self.world.market.order(order_id).cloned() else { continue };
            if order.status != OrderStatus::Active {
                continue; // ended by an earlier order's exit
            }
            self.run_order(t, price, &order)?;
        }
        // Liquidators run last: after every protection order had its chance.
        self.liquidate(t, price)
    }

    /// The liquidator kills the position if it is past the kill factor, at the market's price.
    fn liquidate(&mut self, t: i64, price: U256) -> Result<(), SimError> {
        let Some(id) = self.position else { return Ok(()) };
        let health = self.world.market.position_health(id)?;
        let kill = self.scenario.leverage().kill_factor_bps as u64;
        if health.debt_ratio_bps > kill {
            let detail = format!(
                "debt ratio {:.2}% above the kill factor {:.2}%",
                health.debt_ratio_bps as f64 / 100.0,
                kill as f64 / 100.0
            );
            let done = self.try_act(t, price, ActionKind::Liquidation, |w| {
                w.run(Command::Liquidate { liquidator: KEEPER.into(), position: id })?;
                Ok(detail)
            })?;
            if done {
                self.liquidated_at = Some(t);
                self.closed_at = Some(t);
                self.position = None;
            }
        }
        Ok(())
    }

    /// Runs one engine order and books what it did: its cost (equity after less before, at
    /// the same prices), gas for protection, and the action's record; a refusal is recorded
    /// once per kind and day.
    fn run_order(&mut self, t: i64, price: U256, order: &Order) -> Result<(), SimError> {
        // The engine's own decision first: an order that is not due only follows what it
        // watches (a trailing stop's best), and costs no valuation here.
        let seen = self.world.market.seen(order.position, Some(&order.kind))?;
        let mut probe = order.clone();
        probe.observe(&seen);
        if probe.due(&seen).is_none() {
            if probe != *order {
                self.world.run(Command::RunOrder { keeper: KEEPER.into(), order: order.id })?;
            }
            return Ok(());
        }
        let kind = action_kind(&order.kind);
        let before = self.prev.equity()?;
        let ratio_before = self
            .position
            .and_then(|id| self.world.market.position_health(id).ok())
            .map(|h| h.debt_ratio_bps);
        self.world.run(Command::RunOrder { keeper: KEEPER.into(), order: order.id })?;
        let outcome = self.world.events().iter().rev().find_map(|e| match e {
            Event::OrderActed { order: o, detail, .. } if *o == order.id => {
                Some(Ok(detail.clone()))
            }
            Event::OrderSkipped { order: o, reason, refused: true, .. } if *o == order.id => {
                Some(Err(reason.clone()))
            }
            _ => None,
        });
        match outcome {
            None => Ok(()),
            Some(Ok(detail)) => {
                if matches!(kind.cost(), CostKind::Protection)
                    && self.strategy == Strategy::Leveraged
                {
                    self.gas += world::wad_from_f64(self.scenario.costs.gas_per_action)?;
                }
                let id = self
                    .position
                    .filter(|id| self.world.market.positions().any(|p| p.id == *id && p.open));
                if id.is_none() {
                    self.position = None;
                    self.closed_at = Some(t);
                }
                self.book(t, price, kind, (before, ratio_before), id, detail)
            }
            Some(Err(reason)) => {
                self.refused(t, price, kind, before, ratio_before, reason);
                Ok(())
            }
        }
    }

    /// Books an action that happened: its cost (equity after less `before`, at the same
    /// prices) and its record, with the debt ratio before and after; `id` is the position
    /// still open after it.
    fn book(
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
    fn refused(
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
    fn act(
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
    fn try_act(
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

    /// Records the bar. A position's liquidation prices move with its debt, liquidity and
    /// range, not with the price, so they are solved after every action other than compounding,
    /// every `7 · liquidation_price_every` bars (interest and fees drift them), and on the last
    /// bar; they are carried in between.
    fn sample(&mut self, t: i64, close: Price, on_grid: bool, last: bool) -> Result<(), SimError> {
        self.since_solve += 1;
        let actions = self.major_actions;
        let stale = match self.solved {
            None => true,
            Some((_, seen)) => {
                seen != actions
                    || self.since_solve >= 7 * self.scenario.report.liquidation_price_every
            }
        };
        let solve =
            last || (stale && (on_grid || self.solved.is_none_or(|(_, seen)| seen != actions)));
        let equity = self.prev.equity()?;
        let (mut ratio, mut leverage, mut debt_value, mut in_range) = (None, None, None, None);
        if let Some(id) = self.position {
            let h = self.world.market.position_health(id)?;
            ratio = Some(h.debt_ratio_bps);
            leverage = Some(h.leverage_bps);
            debt_value = Some(h.debt_value);
            let work = self.scenario.leverage().work_factor_bps as u64;
            let kill = self.scenario.leverage().kill_factor_bps as u64;
            if h.debt_ratio_bps >= work {
                self.bars_above_work += 1;
            }
            if h.debt_ratio_bps.saturating_mul(10) >= kill * 9 {
                self.bars_near_kill += 1;
            }
            if solve && !h.debt_value.is_zero() {
                let lp = self.world.market.liquidation_prices(id)?;
                self.liq = (lp.lower, lp.upper);
                self.solved = Some((close.0, actions));
                self.since_solve = 0;
            }
            if self.world.kind == PoolKind::V3 {
                let range =
                    self.world.market.positions().find(|p| p.id == id).and_then(|p| p.range);
                let tick = self.world.market.v3_amm_pool(&self.world.pool)?.pool.tick;
                in_range = range.map(|r| r.contains(tick));
            }
        } else {
            self.liq = (None, None);
        }
        let borrow_rate = self
            .world
            .market
            .lending_at(&self.world.lending_venue(&self.world.stable), &self.world.stable)
            .map(|l| l.borrow_rate.0)
            .unwrap_or(U256::ZERO);
        self.samples.push(Sample {
            time: t,
            price: close.0,
            equity,
            debt_ratio_bps: ratio,
            leverage_bps: leverage,
            debt_value,
            liquidation_lower: self.liq.0,
            liquidation_upper: self.liq.1,
            borrow_rate,
            in_range,
        });
        Ok(())
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

/// Other borrowers borrow or repay so that their debt is the model's utilization of each
/// lending pool (the position's own debt comes on top and moves the rate further).
pub(crate) fn adjust_utilization(
    world: &mut World,
    utilization: &mut Utilization,
    t: i64,
    dt: f64,
) -> Result<(), SimError> {
    let demand = Holder::Account(DEMAND.into());
    for (venue, token) in world.lending.clone() {
        let Some(target_u) = utilization.at(&token, t, dt) else { continue };
        let pool = world.market.lending_at(&venue, &token)?;
        let total = pool.cash + pool.total_debt()?;
        let debt = pool.debt_at(&demand, world.market.time)?;
        let target = world::wad_from_f64(target_u).map(|u| {
            levfarm_core::math::mul_div(total, u, levfarm_core::math::WAD).unwrap_or(U256::ZERO)
        })?;
        // Adjust only past a 0.1% band, as real demand does not track to the unit.
        let band = total / U256::from(1000);
        if target > debt + band {
            let amount = (target - debt).min(pool.cash);
            if !amount.is_zero() {
                world.run_outside(Command::Borrow {
                    account: DEMAND.into(),
                    token: token.clone(),
                    amount: Amount(amount),
                    venue: venue.clone(),
                })?;
            }
        } else if debt > target + band {
            let amount = debt - target;
            world.run_outside(Command::Repay {
                account: DEMAND.into(),
                token: token.clone(),
                amount: Some(Amount(amount)),
                venue: venue.clone(),
            })?;
        }
    }
    Ok(())
}

/// Opens a position with `equity` raw stable units at `leverage`, in the range `spec` asks for
/// on a v3 pool.
pub(crate) fn open(
    w: &mut World,
    equity: U256,
    leverage: f64,
    side: BorrowSide,
    spec: &PositionSpec,
) -> Result<u64, SimError> {
    let kind = w.kind;
    // The engine's sizing: debt worth E·(L − 1), exactly.
    let leverage_bps = (leverage * 1e4).round() as u64;
    let side = match side {
        BorrowSide::Stable => levfarm_core::position::BorrowSide::Token1,
        BorrowSide::Asset => levfarm_core::position::BorrowSide::Token0,
        BorrowSide::Both => levfarm_core::position::BorrowSide::Both,
    };
    let borrow = w.market.borrow_for_opening(&w.pool, [U256::ZERO, equity], leverage_bps, side)?;
    let (borrow0, borrow1) = (Amount(borrow[0]), Amount(borrow[1]));
    match kind {
        PoolKind::ConstantProduct => w.run(Command::OpenPosition {
            owner: OWNER.into(),
            pool: w.pool.clone(),
            equity0: Amount::default(),
            equity1: Amount(equity),
            borrow0,
            borrow1,
            min_lp: None,
            venue: w.venue.clone(),
        })?,
        PoolKind::V3 => {
            let range = opening_range(w, spec)?;
            w.run(Command::OpenRangePosition {
                owner: OWNER.into(),
                pool: w.pool.clone(),
                tick_lower: range.tick_lower,
                tick_upper: range.tick_upper,
                equity0: Amount::default(),
                equity1: Amount(equity),
                borrow0,
                borrow1,
                min_liquidity: None,
                venue: w.venue.clone(),
            })?
        }
    }
    w.events()
        .iter()
        .find_map(|e| match e {
            Event::PositionOpened { position, .. } => Some(*position),
            _ => None,
        })
        .ok_or_else(|| SimError::Internal("open_position reported no position".into()))
}

/// The range a position opens in on the v3 pool: `spec.range`'s bounds around the pool's
/// price, or `range_width_ticks` centred on its tick.
pub fn opening_range(w: &World, spec: &PositionSpec) -> Result<TickRange, SimError> {
    let entry = w.market.v3_amm_pool(&w.pool)?;
    let spacing = entry.pool.tick_spacing;
    let Some(bounds) = spec.range else {
        return Ok(TickRange::centred(entry.pool.tick, spec.range_width_ticks, spacing)?);
    };
    // The pool's price of token0 in token1, whole tokens: its square root price, squared.
    let quotes = [w.market.quote(&entry.token0)?, w.market.quote(&entry.token1)?];
    let q192 = U256::from(1u8) << 192;
    let sqrt = entry.pool.sqrt_price;
    let math = |e: levfarm_core::math::MathError| SimError::Engine(e.into());
    let raw =
        levfarm_core::math::mul_div(sqrt, sqrt, q192 / levfarm_core::math::WAD).map_err(math)?;
    let price = levfarm_core::math::mul_div(raw, quotes[0].unit, quotes[1].unit).map_err(math)?;
    let at = |multiple: f64| -> Result<Price, SimError> {
        let m = world::wad_from_f64(multiple)?;
        Ok(Price(levfarm_core::math::mul_div(price, m, levfarm_core::math::WAD).map_err(math)?))
    };
    let units = [quotes[0].unit, quotes[1].unit];
    Ok(TickRange::between(at(bounds.lower)?, at(bounds.upper)?, units, spacing)?)
}

/// The engine orders a scenario's protection describes, in the order the engine runs them:
/// protection for the leveraged position only, compounding for every LP strategy, re-centring
/// for a leveraged range position.
pub fn scenario_orders(
    scenario: &Scenario,
    world: &World,
    strategy: Strategy,
) -> Result<Vec<OrderKind>, SimError> {
    let p = &scenario.protection;
    let bps = |share: f64| (share * 1e4).round() as u32;
    let exit_to = Some(world.stable.clone());
    let mut orders = Vec::new();
    let leveraged = strategy == Strategy::Leveraged;
    if leveraged {
        if let Some(price) = p.stop_loss_price {
            let trigger = Trigger::Below(world::price_from_f64(price)?);
            orders.push(OrderKind::StopLoss { trigger, exit_to: exit_to.clone() });
        }
        if let Some(loss) = p.stop_loss_equity {
            let trigger = Trigger::EquityLossBps(bps(loss));
            orders.push(OrderKind::StopLoss { trigger, exit_to: exit_to.clone() });
        }
        if let Some(price) = p.take_profit_price {
            let trigger = Trigger::Above(world::price_from_f64(price)?);
            orders.push(OrderKind::TakeProfit { trigger, exit_to: exit_to.clone() });
        }
        if let Some(gain) = p.take_profit_equity {
            let trigger = Trigger::EquityGainBps(bps(gain));
            orders.push(OrderKind::TakeProfit { trigger, exit_to: exit_to.clone() });
        }
        if let Some(share) = p.trailing_stop_price {
            let trail = match scenario.position.borrow {
                BorrowSide::Asset => Trail::PriceRiseBps(bps(share)),
                _ => Trail::PriceFallBps(bps(share)),
            };
            orders.push(OrderKind::TrailingStop { trail, exit_to: exit_to.clone() });
        }
        if let Some(share) = p.trailing_stop_equity {
            let trail = Trail::EquityFallBps(bps(share));
            orders.push(OrderKind::TrailingStop { trail, exit_to: exit_to.clone() });
        }
        if let Some(days) = p.time_limit_days {
            let at = world.market.time + (days * 86_400.0).round() as u64;
            orders.push(OrderKind::TimeLimit { at, exit_to: exit_to.clone() });
        }
        if let Some(t) = &p.top_up {
            orders.push(OrderKind::TopUp {
                trigger_bps: bps(t.trigger),
                target_bps: bps(t.target),
                reserve: Amount(world.value_to_amount(&world.stable, t.reserve)?),
                token: Some(world.stable.clone()),
            });
        }
        if let Some(d) = &p.deleverage {
            orders.push(OrderKind::Deleverage {
                trigger_bps: bps(d.trigger),
                target_bps: bps(d.target),
            });
        }
        if let Some(r) = &p.rebalance {
            orders.push(OrderKind::Rebalance {
                target_leverage_bps: bps(r.target_leverage),
                band_bps: bps(r.band),
            });
        }
    }
    if let Some(hours) = p.compound_hours {
        // Scenario::validate keeps `hours` within 100 years: no overflow.
        orders.push(OrderKind::Compound { every_seconds: hours * 3600 });
    }
    if leveraged && p.recenter && world.kind == PoolKind::V3 {
        orders.push(OrderKind::Recenter { width: None });
    }
    Ok(orders)
}

/// Whether the keeper fails in the bar at `t` for `position`: a hash of (seed, bar time,
/// position) under the failure rate, so that the same scenario fails on the same bars.
pub fn keeper_failed(seed: u64, t: i64, position: u64, rate: f64) -> bool {
    if rate <= 0.0 {
        return false;
    }
    // SplitMix64 over the three, mixed in turn.
    let mut x = seed;
    for v in [t as u64, position] {
        x = x.wrapping_add(v).wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
    }
    ((x >> 11) as f64 / (1u64 << 53) as f64) < rate
}

/// The action an order's kind records.
fn action_kind(kind: &OrderKind) -> ActionKind {
    match kind {
        OrderKind::StopLoss { .. } => ActionKind::StopLoss,
        OrderKind::TakeProfit { .. } => ActionKind::TakeProfit,
        OrderKind::TrailingStop { .. } => ActionKind::TrailingStop,
        OrderKind::TimeLimit { .. } => ActionKind::TimeLimit,
        OrderKind::TopUp { .. } => ActionKind::TopUp,
        OrderKind::Deleverage { .. } => ActionKind::Deleverage,
        OrderKind::Rebalance { .. } => ActionKind::Rebalance,
        OrderKind::Compound { .. } => ActionKind::Compound,
        OrderKind::Recenter { .. } => ActionKind::Recenter,
    }
}

fn newest_open(world: &World) -> Option<u64> {
    world.market.positions().filter(|p| p.open).map(|p| p.id).max()
}

fn snapshot_of(world: &World, position: Option<u64>, gas: U256) -> Result<Snapshot, SimError> {
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

/// Net APY, drawdown and return of an equity curve.
pub fn stats(samples: &[Sample], contributed: i128) -> Stats {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return Stats::default();
    };
    let start = contributed as f64 / 1e18;
    let end = last.equity as f64 / 1e18;
    let years = (last.time - first.time) as f64 / world::YEAR;
    let mut peak = f64::MIN;
    let mut max_drawdown: f64 = 0.0;
    for s in samples {
        let e = s.equity as f64 / 1e18;
        peak = peak.max(e);
        if peak > 0.0 {
            max_drawdown = max_drawdown.max((peak - e) / peak);
        }
    }
    let total_return = if start > 0.0 { end / start - 1.0 } else { 0.0 };
    let net_apy = if years < MIN_ANNUALISED_YEARS {
        f64::NAN
    } else if end > 0.0 && start > 0.0 {
        (end / start).powf(1.0 / years) - 1.0
    } else if end <= 0.0 {
        -1.0
    } else {
        0.0
    };
    Stats { final_equity: end, pnl: end - start, total_return, net_apy, max_drawdown, years }
}
