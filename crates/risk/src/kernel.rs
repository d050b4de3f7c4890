//! The f64 path kernel: one leveraged position, on a constant-product pool or in a v3 range,
//! through one future, with the exact engine's semantics.
//!
//! Every path starts from the same market, opened once by the exact engine ([`Setup::new`]),
//! then each step does what the backtester's bar and keepers do, in the same order and with the
//! same formulas, in f64 over whole tokens:
//!
//! 1. the oracle moves and the lending index accrues to the bar (the market's step); the
//!    arbitrageur brings the pool into the fee's no-arbitrage band with
//!    the optimal input `(sqrt(x·y·n·d/P) − x·d)/n` (or its mirror);
//! 2. traders' volume (a share of the pool's value, or proportional to the move) runs as a
//!    round trip through the pool, paying the fee both ways into `k`;
//! 3. other borrowers borrow or repay to the utilization model, past a 0.1% band, in each
//!    lending pool the position borrows from (one token, or both); each borrow or repay
//!    accrues the index (Aave's `1 + x + x²/2 + x³/6` per segment) and resets the stored rate
//!    through the f64 twin of the pool's rate model ([`crate::rates`]);
//! 4. keepers: the position's engine orders ([`levfarm_core::orders`]), each path with its
//!    own copy, in the engine's order; the engine's [`Order::due`] decides (on the path's
//!    numbers in the engine's units) and the kernel executes what it asks in f64: close
//!    (converting to the debt token, or with debt in both buying the shortfall in one with the
//!    other's surplus; what is returned of the asset sold for the stable token), top-up from the
//!    reserve (a zap), deleverage (remove a share, repay), borrow more (a zap of new debt),
//!    compounding (harvest, 9% bounty, sell through the reward pool, which the arbitrageur
//!    keeps at its oracle every bar, zap back in), re-centring; and last the liquidator,
//!    when `ceil(debt·10⁴/value) > kill factor`: the
//!    liquidity is removed and swapped toward the debts, the prize and treasury fee come off
//!    what it realised in each token, the debts are repaid from the rest, any shortfall is bad
//!    debt.
//!
//! Values are exit valuations (Alpaca's health) or the fair LP price, as the market is set.
//!
//! A range position's pool is [`crate::v3::Concentrated`]: the same steps, with the swap loop
//! over the bands' edges, fees owed to the position while it is in range (collected and put
//! back in by compounding), the range zap's optimal split, and one keeper more, re-centring
//! the range on the pool's tick when the price has left it.
//!
//! The differential test runs the same paths through this kernel and the backtester.

use alloy_primitives::I256;
use alloy_primitives::U256;
use levfarm_core::amm::v3::math as v3math;
use levfarm_core::lending::LendingPool;
use levfarm_core::orders::{Ask, Order, OrderKind, OrderStatus, Seen};
use levfarm_core::position::TickRange;
use levfarm_core::types::Amount;
use levfarm_core::Holder;
use levfarm_sim::backtest::Opened;
use levfarm_sim::scenario::{BorrowSide, PoolKind, Scenario, UtilizationModel, VolumeModel};
use levfarm_sim::world::{self, OWNER, REWARD_POOL, YEAR};

use crate::lanes::LANES;
use crate::pool::{arbitrage, out_given_in, Pool, Product};
use crate::rates::RateCurve;
use crate::v3::{Band, Concentrated, Scale};
use crate::RiskError;

mod arrays;

/// Settings and the opened market that every path of one configuration starts from.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Fee kept `n/d` of the reward pool.
    reward_fee: (f64, f64),
    start: State,
    /// The rate models of the lending pools the position borrows from, by token, in f64 (the
    /// exact models are read at set-up only).
    rates: [Option<RateCurve>; 2],
    emission: f64,
    kill_bps: f64,
    work_bps: f64,
    prize: f64,
    treasury: f64,
    bounty: f64,
    oracle_valuation: bool,
    /// What the owner put in (the numeraire).
    pub contributed: f64,
    /// The engine's orders on the opened position, in the keepers' order: each path runs
    /// its own copy, deciding with the engine's [`Order::due`].
    pub orders: Vec<Order>,
    gas: f64,
    volume: VolumeModel,
    pub utilization: UtilizationModel,
    /// Seconds per step.
    pub dt: u64,
    pub leverage: f64,
    /// Range positions: the pool's tick spacing, the range's width, and the unit conversion.
    range: Option<RangeRules>,
    /// Which of the pool's tokens the position borrows: the asset (short it), the stable token
    /// (long it), or both (near neutral).
    owes: [bool; 2],
    /// The token a single debt is in: 0 the asset, 1 the stable token (1 for both).
    debt_side: usize,
    /// `10^decimals` of the asset and of the stable token.
    units: [f64; 2],
    /// The keepers' latency in seconds, when protection races the liquidators inside a step.
    race_latency: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct RangeRules {
    spacing: i32,
    width: i32,
    scale: Scale,
}

/// Everything that moves along a path.
#[derive(Debug, Clone, Copy, Default)]
pub struct State {
    // The main pool, and what is staked in its farm (LP, or a range's liquidity).
    pool: Pool,
    staked: f64,
    // The reward token's pool.
    rx: f64,
    ry: f64,
    // The lending pools of the pool's two tokens; only those the position borrows from move.
    lend: [Lending; 2],
    // The position (LP, or its range's liquidity) and its owner.
    lp: f64,
    pending: f64,
    wallet_stable: f64,
    wallet_asset: f64,
    wallet_reward: f64,
    gas: f64,
    pub open: bool,
    bad_debt: f64,
    pub now: u64,
}

/// A lending pool the position borrows from, in whole tokens: lenders' cash, the scaled debt
/// of everyone, of the other borrowers and of the position, the borrow index and rate as last
/// stored.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Lending {
    pub(crate) cash: f64,
    pub(crate) scaled_total: f64,
    scaled_demand: f64,
    scaled_position: f64,
    pub(crate) index: f64,
    pub(crate) rate: f64,
    pub(crate) last_update: u64,
}

impl Lending {
    /// A lending pool read from the exact one (`unit` raw units a whole token), with no
    /// other borrower or position of its own.
    pub(crate) fn of(lending: &LendingPool, unit: f64) -> Lending {
        let ray = 1e27;
        Lending {
            cash: f(lending.cash, unit),
            scaled_total: f(lending.total_debt_scaled, unit),
            index: world::wad_to_f64(lending.borrow_index.0) * 1e18 / ray,
            rate: world::wad_to_f64(lending.borrow_rate.0) * 1e18 / ray,
            last_update: lending.last_update,
            ..Lending::default()
        }
    }

    /// The borrow index at `now`: the stored index times Aave's compounded factor for the
    /// stored rate since the last update.
    #[inline(always)]
    pub(crate) fn index_at(&self, now: u64) -> f64 {
        // No time, no interest: the factor would be exactly 1.
        if self.scaled_total <= 0.0 || now == self.last_update {
            return self.index;
        }
        let x = self.rate * (now - self.last_update) as f64 * (1.0 / YEAR);
        self.index * (1.0 + x + x * (x * 0.5 + x * (x * (1.0 / 6.0))))
    }

    /// The index accrued to `now` and stored.
    #[inline(always)]
    pub(crate) fn accrue(&mut self, now: u64) {
        self.index = self.index_at(now);
        self.last_update = now;
    }
}

/// How a path ended.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    /// The owner's equity at the end, in the numeraire.
    pub equity: f64,
    /// The step of the liquidation, if one happened.
    pub liquidated: Option<u32>,
    /// The step a stop-loss or take-profit closed the position.
    pub closed: Option<u32>,
    /// Hazard events.
    pub hazards: u32,
    /// Bad debt left to lenders.
    pub bad_debt: f64,
}

impl Outcome {
    /// What the keepers or the race did at `step`.
    #[inline]
    fn record(&mut self, step: u32, event: Event) {
        match event {
            Event::Liquidated => self.liquidated = Some(step),
            Event::StopLoss | Event::TakeProfit => self.closed = Some(step),
            Event::None => {}
        }
    }
}

/// Markets the kernel runs: what it refuses, and why.
pub fn check_supported(scenario: &Scenario) -> Result<(), RiskError> {
    if let VolumeModel::File { .. } | VolumeModel::Bars { .. } = scenario.market.volume {
        return Err(RiskError::Unsupported(
            "market.volume: a volume file is one history; use turnover or volatility".into(),
        ));
    }
    Ok(())
}

pub(crate) fn f(v: U256, unit: f64) -> f64 {
    world::wad_to_f64(v) * 1e18 / unit
}

impl Setup {
    /// Reads the market the exact engine opened into f64 state.
    pub fn new(scenario: &Scenario, opened: &Opened, dt: u64) -> Result<Setup, RiskError> {
        check_supported(scenario)?;
        let w = &opened.world;
        let m = &w.market;
        // The declared decimals: raw units of asset, stable and reward per whole token.
        let [u0, u1, u2] = w.units.map(crate::v3::u256_to_f64);
        let route = &m.amm_pool(REWARD_POOL)?.amm;
        let owes = match scenario.position.borrow {
            BorrowSide::Asset => [true, false],
            BorrowSide::Stable => [false, true],
            BorrowSide::Both => [true, true],
        };
        let debt_side = usize::from(owes[1]);
        let units = [u0, u1];
        let id = opened.position;
        let position = m
            .positions()
            .find(|p| p.id == id)
            .ok_or_else(|| RiskError::Internal("the opened position is missing".into()))?;
        let farm = m.farm_of(&w.pool)?;
        let demand = Holder::Account(world::DEMAND.into());
        let owner = Holder::Account(OWNER.into());
        let scale = Scale::new(u0, u1);
        let (pool, lp, staked, range) = match scenario.pool().kind {
            PoolKind::ConstantProduct => {
                let amm = &m.amm_pool(&w.pool)?.amm;
                let pool = Pool::Product(Product {
                    x: f(amm.reserve0, u0),
                    y: f(amm.reserve1, u1),
                    s: f(amm.total_supply, u0),
                    fee: (f64::from(amm.fee.numerator()), f64::from(amm.fee.denominator())),
                });
                let staked = farm.map_or(0.0, |f_| f(f_.total_staked, u0));
                (pool, f(position.lp, u0), staked, None)
            }
            PoolKind::V3 => {
                let entry = m.v3_amm_pool(&w.pool)?;
                let v3 = &entry.pool;
                let liquidity = |l: u128| l as f64 / scale.liquidity;
                let mut pool = Concentrated {
                    sqrt_price: scale.sqrt_price(v3.sqrt_price),
                    fee: f64::from(v3.fee_pips) / 1e6,
                    balance: [f(v3.balance0, u0), f(v3.balance1, u1)],
                    floor: scale.sqrt_price(v3math::min_sqrt_price() + U256::from(1)),
                    ceiling: scale.sqrt_price(v3math::max_sqrt_price() - U256::from(1)),
                    ..Concentrated::default()
                };
                for (key, info) in v3.positions() {
                    let range =
                        TickRange { tick_lower: key.tick_lower, tick_upper: key.tick_upper };
                    let band = Band::new(range, liquidity(info.liquidity), scale);
                    if key.owner == Holder::Position(id) {
                        pool.position = band;
                        let owed =
                            v3.owed_with_pending_fees(key).map_err(levfarm_core::Error::from)?;
                        pool.owed = [owed[0] as f64 / u0, owed[1] as f64 / u1];
                    } else if info.liquidity > 0 {
                        if pool.others.liquidity > 0.0 {
                            return Err(RiskError::Internal(
                                "the v3 pool has more than one other liquidity band".into(),
                            ));
                        }
                        pool.others = band;
                    }
                }
                let lp = pool.position.liquidity;
                let staked = farm
                    .map_or(0.0, |f_| crate::v3::u256_to_f64(f_.total_staked) / scale.liquidity);
                let rules = RangeRules {
                    spacing: v3.tick_spacing,
                    // Re-centring keeps the opened range's width, as the engine's does.
                    width: position.range.map_or(scenario.position.range_width_ticks, |r| {
                        r.tick_upper - r.tick_lower
                    }),
                    scale,
                };
                (Pool::Concentrated(pool), lp, staked, Some(rules))
            }
        };
        let mut lend = [Lending::default(); 2];
        let mut rates = [None, None];
        for (i, token) in [&w.asset, &w.stable].into_iter().enumerate().filter(|(i, _)| owes[*i]) {
            let lending: &LendingPool = m.lending_at(&w.venue, token)?;
            let unit = units[i];
            lend[i] = Lending {
                scaled_demand: f(lending.debt_shares(&demand), unit),
                scaled_position: f(lending.debt_shares(&Holder::Position(id)), unit),
                ..Lending::of(lending, unit)
            };
            rates[i] = Some(RateCurve::of(&lending.config.rate_model));
        }
        let start = State {
            pool,
            staked,
            rx: f(route.reserve0, u2),
            ry: f(route.reserve1, u1),
            lend,
            lp,
            pending: 0.0,
            wallet_stable: f(m.balance(&owner, &w.stable), u1),
            wallet_asset: f(m.balance(&owner, &w.asset), u0),
            wallet_reward: f(m.balance(&owner, &w.reward), u2),
            gas: world::wad_to_f64(opened.gas),
            open: true,
            bad_debt: 0.0,
            now: m.time,
        };
        let l = &scenario.leverage();
        let reward_fee = route.fee;
        Ok(Setup {
            reward_fee: (f64::from(reward_fee.numerator()), f64::from(reward_fee.denominator())),
            start,
            rates,
            emission: farm.map_or(0.0, |f_| f(f_.reward_per_second, u2)),
            kill_bps: l.kill_factor_bps as f64,
            work_bps: l.work_factor_bps as f64,
            prize: l.kill_prize_bps as f64 / 1e4,
            treasury: l.kill_treasury_bps as f64 / 1e4,
            bounty: l.reinvest_bounty_bps as f64 / 1e4,
            oracle_valuation: l.valuation == "oracle",
            contributed: opened.contributed as f64 / 1e18,
            orders: m
                .keeper_sequence()
                .into_iter()
                .filter_map(|o| m.order(o).filter(|o| o.position == id).cloned())
                .collect(),
            gas: scenario.costs.gas_per_action,
            volume: scenario.market.volume.clone(),
            utilization: scenario.market.utilization.clone(),
            dt,
            leverage: scenario.position.leverage,
            range,
            owes,
            debt_side,
            units,
            race_latency: scenario.keepers.intrabar.then_some(scenario.keepers.latency_secs as f64),
        })
    }

    /// The state every path starts from.
    pub fn start(&self) -> State {
        self.start
    }

    /// Whether the position is long the asset (it borrows the stable token alone).
    pub fn is_long(&self) -> bool {
        self.owes == [false, true]
    }

    /// Whether the position borrows both tokens.
    #[inline]
    fn both(&self) -> bool {
        self.owes[0] && self.owes[1]
    }

    /// The price at which the opened position would pass the kill factor were the pool
    /// arbitraged there at once (no time, no interest): below the start for a long, above it
    /// for a short; `None` when no price within a factor of 10⁴ does it, and for a position
    /// that borrows both tokens (which either move can liquidate).
    pub fn liquidation_price(&self, start_price: f64) -> Option<f64> {
        if self.both() {
            return None;
        }
        let extreme = if self.is_long() { start_price * 1e-4 } else { start_price * 1e4 };
        self.ratio_crossing(&self.start, start_price, extreme, self.kill_bps)
    }

    /// The owner's equity, marked at the oracle (the backtester's [`Snapshot::equity`]):
    /// liquidity at the oracle price, minus debt, plus rewards, plus the wallet, minus gas.
    ///
    /// [`Snapshot::equity`]: levfarm_sim::book::Snapshot::equity
    #[inline]
    pub fn equity(&self, st: &State, price: f64, reward_price: f64) -> f64 {
        let wallet =
            st.wallet_stable + st.wallet_asset * price + st.wallet_reward * reward_price - st.gas;
        if !st.open {
            return wallet;
        }
        wallet + self.position_equity(st, price, reward_price)
    }

    #[inline]
    fn position_equity(&self, st: &State, price: f64, reward_price: f64) -> f64 {
        Self::fair_value(st, price) - self.debt_value(st, price) + st.pending * reward_price
    }

    /// The debt's value at the oracle.
    #[inline(always)]
    fn debt_value(&self, st: &State, price: f64) -> f64 {
        let [d0, d1] = self.debt(st);
        d0 * price + d1
    }

    /// The position's liquidity at the oracle: the fair LP price, or a range's tokens at the
    /// oracle's square root price with the fees it is owed.
    #[inline(always)]
    fn fair_value(st: &State, price: f64) -> f64 {
        st.pool.fair_value(st.lp, price)
    }

    /// The position's debt in each token now (the index accrued to `now` at the stored rate).
    #[inline(always)]
    fn debt(&self, st: &State) -> [f64; 2] {
        let owed = |i: usize| {
            let l = &st.lend[i];
            if self.owes[i] {
                l.scaled_position * l.index_at(st.now)
            } else {
                0.0
            }
        };
        [owed(0), owed(1)]
    }

    /// Position value (exit or oracle) and the debt's value.
    #[inline(always)]
    fn health(&self, st: &State, price: f64) -> (f64, f64) {
        let debt = self.debt_value(st, price);
        let value = if self.oracle_valuation {
            Self::fair_value(st, price)
        } else if self.both() {
            // The exit's holdings at the oracle, as the engine's `assess`.
            let mut t = *st;
            let removed = t.pool.unwind(t.lp);
            let [h0, h1] = self.exit_swap(&mut t.pool, removed, self.debt(st));
            h0 * price + h1
        } else {
            // What removing the liquidity and selling the token not owed would leave.
            st.pool.exit_value(st.lp, price, self.debt_side == 1)
        };
        (value, debt)
    }

    /// [`Self::health`] at `price`, made once: kept in `health` for the step's other checks.
    #[inline(always)]
    fn valued(&self, st: &State, price: f64, health: &mut Option<(f64, f64)>) -> (f64, f64) {
        match *health {
            Some(h) => h,
            None => {
                let h = self.health(st, price);
                *health = Some(h);
                h
            }
        }
    }

    /// The exit's swap of `have` toward `debt` (the engine's `ConvertToDebt`): with a single
    /// debt all of the other token is sold; with debt in both, the shortfall in one is bought
    /// exactly when the other's surplus pays for it, and else the whole surplus is sold. The
    /// holdings after.
    fn exit_swap(&self, pool: &mut Pool, have: [f64; 2], debt: [f64; 2]) -> [f64; 2] {
        let single = !self.both() || (debt[0] > 0.0) != (debt[1] > 0.0);
        if single {
            let side = if self.both() { usize::from(debt[1] > 0.0) } else { self.debt_side };
            let other = 1 - side;
            let mut h = have;
            h[side] += pool.sell(other == 0, have[other]);
            h[other] = 0.0;
            return h;
        }
        for (short, long) in [(0, 1), (1, 0)] {
            if have[short] < debt[short] && have[long] > debt[long] {
                let (shortfall, surplus) = (debt[short] - have[short], have[long] - debt[long]);
                let zero_for_one = long == 0;
                let mut h = have;
                match pool.buy(zero_for_one, shortfall, surplus) {
                    Some(paid) => {
                        h[long] -= paid;
                        h[short] = debt[short];
                    }
                    None => {
                        h[short] += pool.sell(zero_for_one, surplus);
                        h[long] = debt[long];
                    }
                }
                return h;
            }
        }
        have
    }

    /// `ceil(debt·10⁴/value)`, the engine's debt ratio in basis points.
    #[inline]
    pub(crate) fn ratio_bps(value: f64, debt: f64) -> f64 {
        if debt <= 0.0 {
            0.0
        } else if value <= 0.0 {
            f64::INFINITY
        } else {
            (debt * 1e4 / value).ceil()
        }
    }

    /// One bar: time, oracle, arbitrage, volume, other borrowers. `target_u` is the
    /// utilization model's value for this bar.
    #[inline]
    pub fn bar(&self, st: &mut State, price: f64, log_return: f64, target_u: [f64; 2]) {
        self.bar_open(st);
        self.bar_close(st, price, log_return, target_u);
    }

    /// The bar's time: the clock, the lending index, the farm's rewards.
    #[inline(always)]
    fn bar_open(&self, st: &mut State) {
        st.now += self.dt;
        // The market's step accrues every lending pool each bar.
        self.accrue(st);
        // Farm rewards since the last bar, on the position's share of the stake.
        if st.open && st.staked > 0.0 {
            st.pending += self.emission * self.dt as f64 * st.lp / st.staked;
        }
    }

    /// The bar's close: the arbitrageur to the close, traders' volume, other borrowers.
    fn bar_close(&self, st: &mut State, price: f64, log_return: f64, target_u: [f64; 2]) {
        self.bar_close_pool(st, price, log_return);
        self.adjust_utilization(st, target_u);
    }

    /// The bar's close in the pool: the arbitrageur, then traders' volume.
    #[inline(always)]
    fn bar_close_pool(&self, st: &mut State, price: f64, log_return: f64) {
        st.pool.arbitrage(price);
        let tvl = st.pool.value(price);
        let days = self.dt as f64 / 86_400.0;
        let volume = match self.volume {
            VolumeModel::None | VolumeModel::File { .. } | VolumeModel::Bars { .. } => 0.0,
            VolumeModel::Turnover { daily } => daily * days * tvl,
            VolumeModel::Volatility { multiplier, daily_floor } => {
                multiplier * log_return.abs() * tvl + daily_floor * days * tvl
            }
        };
        if volume > 0.0 {
            // Traders buy the asset with half the volume and sell what they got back.
            st.pool.round_trip(volume / 2.0);
        }
    }

    /// Other borrowers borrow or repay so that their debt is the model's utilization `u` (by
    /// token) of each lending pool the position borrows from, past a 0.1% band.
    #[inline(always)]
    fn adjust_utilization(&self, st: &mut State, u: [f64; 2]) {
        for (i, u) in u.into_iter().enumerate() {
            if self.owes[i] {
                self.adjust_pool(st, i, u);
            }
        }
    }

    #[inline(always)]
    fn adjust_pool(&self, st: &mut State, i: usize, u: f64) {
        let l = &st.lend[i];
        let total = l.cash + l.scaled_total * l.index;
        let demand = l.scaled_demand * l.index_at(st.now);
        let target = total * u;
        let band = total * 0.001;
        if target > demand + band {
            let amount = (target - demand).min(l.cash);
            if amount > 0.0 {
                st.lend[i].scaled_demand += self.lend(st, i, amount);
            }
        } else if demand > target + band {
            let amount = demand - target;
            let now = st.now;
            let l = &mut st.lend[i];
            l.accrue(now);
            l.cash += amount;
            let scaled = (amount / l.index).min(l.scaled_demand);
            l.scaled_total -= scaled;
            l.scaled_demand -= scaled;
            self.update_rate(st, i);
        }
    }

    /// The lending pools the position borrows from, accrued to now.
    #[inline(always)]
    fn accrue(&self, st: &mut State) {
        for i in 0..2 {
            if self.owes[i] {
                st.lend[i].accrue(st.now);
            }
        }
    }

    /// The stored borrow rate of token `i`'s pool after a borrow or repay: the pool's rate
    /// model at its debt and cash, in f64 ([`RateCurve`], held to the exact model by its tests).
    #[inline(always)]
    fn update_rate(&self, st: &mut State, i: usize) {
        let l = &mut st.lend[i];
        if let Some(rates) = &self.rates[i] {
            let unit = self.units[i];
            l.rate = rates.borrow_rate(l.scaled_total * l.index * unit, l.cash * unit);
        }
    }

    /// Lends `amount` of token `i` out of its pool (accrued first, rate reset after); the
    /// borrower's new debt shares.
    #[inline(always)]
    fn lend(&self, st: &mut State, i: usize, amount: f64) -> f64 {
        let now = st.now;
        let l = &mut st.lend[i];
        l.accrue(now);
        l.cash -= amount;
        let scaled = amount / l.index;
        l.scaled_total += scaled;
        self.update_rate(st, i);
        scaled
    }

    /// Borrows `amount` of token `i` for the position.
    fn borrow(&self, st: &mut State, i: usize, amount: f64) {
        st.lend[i].scaled_position += self.lend(st, i, amount);
    }

    /// Repays `amount` of the position's debt in token `i` (at most all of it).
    fn repay(&self, st: &mut State, i: usize, amount: f64) {
        let unit = self.units[i];
        let l = &mut st.lend[i];
        let scaled = (amount / l.index).min(l.scaled_position);
        l.cash += amount;
        l.scaled_total -= scaled;
        l.scaled_position -= scaled;
        if l.scaled_position * l.index * unit < 0.1 {
            l.scaled_total -= l.scaled_position;
            l.scaled_position = 0.0;
        }
        self.update_rate(st, i);
    }

    /// Writes off what the position still owes in token `i`, as the pool's bad debt.
    fn write_off(&self, st: &mut State, i: usize) {
        let l = &mut st.lend[i];
        l.scaled_total -= l.scaled_position;
        l.scaled_position = 0.0;
        self.update_rate(st, i);
    }

    /// What a keeper sees of the position, as the engine's [`Seen`]; `health` holds the
    /// valuation at `price` once one was made (`None` until then), so that it is made once.
    fn seen(
        &self,
        st: &State,
        price: f64,
        reward_price: f64,
        order: &Order,
        health: &mut Option<(f64, f64)>,
    ) -> Seen {
        let out_of_range = st.pool.out_of_range();
        let equity = order.kind.needs_equity().then(|| {
            let e = self.position_equity(st, price, reward_price) * 1e18;
            I256::try_from(e as i128).unwrap_or(I256::ZERO)
        });
        // Only orders that watch the debt ratio or leverage need a valuation (as the engine's
        // `seen`); the rest read the clock, the price, the range or equity.
        let watches_ratio = matches!(
            order.kind,
            OrderKind::Deleverage { .. } | OrderKind::TopUp { .. } | OrderKind::Rebalance { .. }
        );
        let (ratio, leverage, debt) = if watches_ratio {
            let (value, debt) = self.valued(st, price, health);
            let leverage =
                if value <= debt { u64::MAX } else { (value * 1e4 / (value - debt)) as u64 };
            (Self::ratio_bps(value, debt), leverage, debt)
        } else {
            (0.0, 0, 0.0)
        };
        Seen {
            time: st.now,
            price: U256::from((price * 1e18) as u128),
            equity,
            debt_ratio_bps: if ratio.is_finite() { ratio as u64 } else { u64::MAX },
            leverage_bps: leverage,
            has_debt: debt > 0.0,
            out_of_range,
        }
    }

    /// Keepers after a bar at `price`: the engine's decision for each of the path's orders,
    /// in the engine's order, executed in f64; then the liquidator.
    #[inline]
    pub fn keepers(
        &self,
        st: &mut State,
        orders: &mut [Order],
        price: f64,
        reward_price: f64,
    ) -> Event {
        if !st.open {
            return Event::None;
        }
        // The arbitrageur keeps the reward token's pool at its oracle every bar, as the
        // backtester's market step does.
        arbitrage(&mut st.rx, &mut st.ry, reward_price, self.reward_fee);
        self.keepers_after_arbitrage(st, orders, price, reward_price)
    }

    /// [`Self::keepers`] with the reward pool already arbitraged.
    fn keepers_after_arbitrage(
        &self,
        st: &mut State,
        orders: &mut [Order],
        price: f64,
        reward_price: f64,
    ) -> Event {
        // The position's valuation at `price`, made once and kept until an order acts.
        let mut health = None;
        for order in orders.iter_mut() {
            if !st.open {
                break;
            }
            let seen = self.seen(st, price, reward_price, order, &mut health);
            order.observe(&seen);
            let Some(ask) = order.due(&seen) else { continue };
            health = None;
            if let Some(event) = self.execute(st, order, ask, &seen, price, reward_price) {
                return event;
            }
        }
        if !st.open {
            return Event::None;
        }
        let (value, debt) = health.unwrap_or_else(|| self.health(st, price));
        if Self::ratio_bps(value, debt) > self.kill_bps {
            self.liquidate(st, price);
            return Event::Liquidated;
        }
        Event::None
    }

    /// Carries out what a due order asks, in f64; an exit that closed the position says so.
    fn execute(
        &self,
        st: &mut State,
        order: &mut Order,
        ask: Ask,
        seen: &Seen,
        price: f64,
        reward_price: f64,
    ) -> Option<Event> {
        let _ = reward_price;
        match ask {
            Ask::Exit => {
                if self.close_all(st) {
                    st.gas += self.gas;
                    order.status = OrderStatus::Done;
                    return Some(match order.kind {
                        OrderKind::TakeProfit { .. } => Event::TakeProfit,
                        _ => Event::StopLoss,
                    });
                }
            }
            Ask::TopUp { target_bps } => {
                let reserve = order.reserve_left.map_or(0.0, |r| f(r.0, self.units[1]));
                let added = self.top_up(st, price, target_bps as f64 / 1e4, reserve);
                if added > 0.0 {
                    let left = ((reserve - added).max(0.0) * self.units[1]) as u128;
                    order.reserve_left = Some(Amount(U256::from(left)));
                    // A spent reserve is done, as the engine's order is.
                    if left == 0 {
                        order.status = OrderStatus::Done;
                    }
                }
            }
            Ask::Deleverage { target_bps } => self.deleverage(st, price, target_bps as f64 / 1e4),
            Ask::Raise { target_leverage_bps } => {
                self.borrow_more(st, price, target_leverage_bps as f64 / 1e4)
            }
            Ask::Compound => {
                order.last_run = seen.time;
                if st.pending > 0.0 || st.pool.owes_fees() {
                    self.compound(st);
                }
            }
            Ask::Recenter => self.recenter(st, price),
        }
        None
    }

    /// The pool at `price`: what the arbitrageur leaves it at.
    fn move_pool(&self, st: &mut State, price: f64) {
        st.pool.arbitrage(price);
    }

    /// The debt ratio (bps, rounded up) were the price `price` and the pool arbitraged there.
    fn ratio_at(&self, st: &State, price: f64) -> f64 {
        let mut t = *st;
        self.move_pool(&mut t, price);
        let (v, d) = self.health(&t, price);
        Self::ratio_bps(v, d)
    }

    /// Where between `from` and `extreme` the debt ratio first passes `bps` (as the engine's
    /// search: the price nearest `from` at which it is past), if it does.
    fn ratio_crossing(&self, st: &State, from: f64, extreme: f64, bps: f64) -> Option<f64> {
        first_past(from, extreme, |p| self.ratio_at(st, p) > bps)
    }

    /// Whether `order`, which watches equity, is due with the price at `price`: the engine's
    /// decision on the position's equity there.
    fn equity_due_at(&self, st: &State, order: &Order, price: f64, reward_price: f64) -> bool {
        order.due(&self.seen(st, price, reward_price, order, &mut None)).is_some()
    }

    /// The price nearest `from`, between it and `extreme`, at which `order`'s equity trigger
    /// is met; `None` when it is not met at `extreme` (the engine's `equity_crossing`).
    fn equity_crossing(
        &self,
        st: &State,
        order: &Order,
        from: f64,
        extreme: f64,
        reward_price: f64,
    ) -> Option<f64> {
        if from == extreme {
            return None;
        }
        first_past(from, extreme, |p| self.equity_due_at(st, order, p, reward_price))
    }

    /// The engine's race inside a step (`levfarm_core::market::race`), in f64: along the
    /// path from the previous close to the adverse extreme over the first half of the step,
    /// then to the close, the first protection trigger acts `latency` seconds after it is met
    /// if that is before the kill factor and the step's end and its keeper did not fail;
    /// otherwise the liquidator acts at the kill factor. Executes it and says what happened.
    #[allow(clippy::too_many_arguments)]
    fn race(
        &self,
        st: &mut State,
        orders: &mut [Order],
        from: f64,
        [low, high]: [f64; 2],
        close: f64,
        reward_price: f64,
        failed: bool,
    ) -> Event {
        let Some(latency) = self.race_latency else { return Event::None };
        if !st.open {
            return Event::None;
        }
        let (low, high) = (low.min(from).min(close), high.max(from).max(close));
        let seconds = self.dt;
        let leg = (seconds / 2) as f64;
        let (now_ratio, exit_cost) = {
            let (v, d) = self.health(st, from);
            let fair = Self::fair_value(st, from);
            let cost =
                if self.oracle_valuation || fair <= 0.0 { 0.0 } else { (fair - v).max(0.0) / fair };
            (Self::ratio_bps(v, d), cost)
        };
        let ratio_trigger = |k: &OrderKind| -> Option<f64> {
            match k {
                OrderKind::Deleverage { trigger_bps, .. }
                | OrderKind::TopUp { trigger_bps, .. } => Some(f64::from(*trigger_bps)),
                OrderKind::Rebalance { target_leverage_bps, band_bps } => {
                    let above =
                        u64::from(*target_leverage_bps) * (10_000 + u64::from(*band_bps)) / 10_000;
                    Some(levfarm_core::orders::debt_ratio_for_leverage(above) as f64)
                }
                _ => None,
            }
        };
        let price_trigger = |o: &Order, down: bool| -> Option<f64> {
            let best = o
                .best
                .filter(|b| b.0.is_positive())
                .map(|b| crate::v3::u256_to_f64(b.0.into_raw()) / 1e18);
            match &o.kind {
                OrderKind::StopLoss { trigger, .. } | OrderKind::TakeProfit { trigger, .. } => {
                    match trigger {
                        levfarm_core::orders::Trigger::Below(p) if down => {
                            Some(world::wad_to_f64(p.0))
                        }
                        levfarm_core::orders::Trigger::Above(p) if !down => {
                            Some(world::wad_to_f64(p.0))
                        }
                        _ => None,
                    }
                }
                OrderKind::TrailingStop { trail, .. } => {
                    let best = best.filter(|b| *b > 0.0)?;
                    match trail {
                        levfarm_core::orders::Trail::PriceFallBps(b) if down => {
                            Some(best * (1.0 - f64::from(*b) / 1e4))
                        }
                        levfarm_core::orders::Trail::PriceRiseBps(b) if !down => {
                            Some(best * (1.0 + f64::from(*b) / 1e4))
                        }
                        _ => None,
                    }
                }
                _ => None,
            }
        };
        let active = |o: &&mut Order| o.status == OrderStatus::Active;
        let mut floor = self.kill_bps;
        for o in orders.iter_mut().filter(active) {
            if let Some(b) = ratio_trigger(&o.kind) {
                floor = floor.min(b);
            }
        }
        // What the position owes now: a fall hurts a debt in the stable token, a rise one in
        // the asset.
        let owes = st.lend.map(|l| l.scaled_position > 0.0);
        let mut legs = Vec::with_capacity(2);
        for down in [true, false] {
            let extreme = if down { low } else { high };
            let owes_adverse = if down { owes[1] } else { owes[0] };
            let price_hit = orders.iter_mut().filter(active).any(|o| {
                price_trigger(o, down).is_some_and(|p| {
                    if down {
                        extreme <= p && p <= from
                    } else {
                        extreme >= p && p >= from
                    }
                })
            });
            // The engine's bound before its valuation (`levfarm_core::market::race`).
            let bound =
                now_ratio * from.max(extreme) / from.min(extreme) * (1.02 + 2.0 * exit_cost);
            let ratio_hit = owes_adverse
                && extreme != from
                && bound >= floor
                && self.ratio_at(st, extreme) >= floor;
            let equity_hit = extreme != from
                && orders.iter_mut().filter(active).any(|o| {
                    o.kind.needs_equity() && self.equity_due_at(st, o, extreme, reward_price)
                });
            if price_hit || ratio_hit || equity_hit {
                legs.push(down);
            }
        }
        // A time limit due inside the step: its keeper races along the adverse leg.
        let step_start = st.now.saturating_sub(seconds);
        let timed = |o: &Order| match o.kind {
            OrderKind::TimeLimit { at, .. } => Some(at.saturating_sub(step_start)),
            _ => None,
        };
        let time_hit = orders
            .iter()
            .any(|o| o.status == OrderStatus::Active && timed(o).is_some_and(|t| t < seconds));
        if legs.is_empty() && time_hit {
            legs.push(owes[1] || !owes[0]);
        }
        if legs.is_empty() {
            return Event::None;
        }
        // The kill factor's prices below and above.
        let kill_low =
            if owes[1] { self.ratio_crossing(st, from, low, self.kill_bps) } else { None };
        let kill_high =
            if owes[0] { self.ratio_crossing(st, from, high, self.kill_bps) } else { None };
        let (down, kill) = match (kill_low, kill_high) {
            (Some(p), _) => (true, Some(p)),
            (_, Some(p)) => (false, Some(p)),
            _ => (legs[0], None),
        };
        let extreme = if down { low } else { high };
        let span = (from - extreme).abs();
        let time_at = |p: f64| {
            if span == 0.0 {
                0.0
            } else {
                (leg * (from - p).abs().min(span) / span).ceil()
            }
        };
        let price_at = |t: f64| {
            if t <= leg {
                if leg == 0.0 {
                    extreme
                } else {
                    from + (extreme - from) * t / leg
                }
            } else {
                let rest = seconds as f64 - leg;
                extreme + (close - extreme) * ((t - leg).min(rest) / rest)
            }
        };
        let crossed =
            |p: f64| if down { p <= from && p >= extreme } else { p >= from && p <= extreme };
        let mut first: Option<(usize, f64)> = None;
        for (i, o) in orders.iter().enumerate() {
            if o.status != OrderStatus::Active {
                continue;
            }
            if let Some(t) = timed(o).filter(|t| *t < seconds) {
                let t = t as f64;
                if first.is_none_or(|(_, best)| t < best) {
                    first = Some((i, t));
                }
                continue;
            }
            let met = ratio_trigger(&o.kind).is_some_and(|b| now_ratio >= b)
                || (o.kind.needs_equity() && self.equity_due_at(st, o, from, reward_price));
            let trigger = if met {
                Some(from)
            } else if let Some(b) = ratio_trigger(&o.kind) {
                self.ratio_crossing(st, from, extreme, b)
            } else if o.kind.needs_equity() {
                self.equity_crossing(st, o, from, extreme, reward_price)
            } else {
                price_trigger(o, down)
            };
            let Some(trigger) = trigger.filter(|p| crossed(*p)) else { continue };
            let t = if met { 0.0 } else { time_at(trigger) };
            if first.is_none_or(|(_, best)| t < best) {
                first = Some((i, t));
            }
        }
        let kill_time = kill.map(|p| (p, time_at(p)));
        if let Some((i, t)) = first.filter(|_| !failed) {
            let acts = t + latency;
            if kill_time.is_none_or(|(_, tk)| acts < tk) && acts < seconds as f64 {
                let at = price_at(acts);
                self.move_pool(st, at);
                let seen = self.seen(st, at, reward_price, &orders[i], &mut None);
                let order = &mut orders[i];
                order.observe(&seen);
                if let Some(ask) = order.due(&seen) {
                    if let Some(event) = self.execute(st, order, ask, &seen, at, reward_price) {
                        return event;
                    }
                }
                // The rest of the path may still reach the new kill factor.
                let owes = st.lend.map(|l| l.scaled_position > 0.0);
                let kill = if down {
                    owes[1].then(|| self.ratio_crossing(st, at, low, self.kill_bps)).flatten()
                } else {
                    owes[0].then(|| self.ratio_crossing(st, at, high, self.kill_bps)).flatten()
                };
                if let Some(p) = kill {
                    self.move_pool(st, p);
                    self.liquidate(st, p);
                    return Event::Liquidated;
                }
                return Event::None;
            }
        }
        if let Some((p, _)) = kill_time {
            self.move_pool(st, p);
            self.liquidate(st, p);
            return Event::Liquidated;
        }
        Event::None
    }

    /// Removes `lp` from the pool and stake; the tokens it was (a range's with every fee
    /// it is owed).
    fn unwind(&self, st: &mut State, lp: f64) -> [f64; 2] {
        let removed = st.pool.unwind(lp);
        st.staked -= lp;
        st.lp -= lp;
        removed
    }

    /// Sells `amount` of token0 (`zero_for_one`) or of token1 into the pool; what came out.
    fn sell(&self, st: &mut State, zero_for_one: bool, amount: f64) -> f64 {
        st.pool.sell(zero_for_one, amount)
    }

    /// Hands `amounts` of the pool's two tokens to the owner.
    fn to_owner(&self, st: &mut State, [a0, a1]: [f64; 2]) {
        st.wallet_asset += a0;
        st.wallet_stable += a1;
    }

    /// Repays `amounts` of the position's debts.
    fn repay_both(&self, st: &mut State, amounts: [f64; 2]) {
        for (i, amount) in amounts.into_iter().enumerate() {
            if self.owes[i] {
                self.repay(st, i, amount);
            }
        }
    }

    /// Closes the whole position through the exit's swap, repays the debts and hands the rest
    /// to the owner, the asset sold for the stable token (the engine's exit keeper); refused
    /// (nothing changes) when what comes back cannot repay a debt.
    fn close_all(&self, st: &mut State) -> bool {
        let mut trial = *st;
        self.accrue(&mut trial);
        let debt = self.debt(&trial);
        let lp = trial.lp;
        let removed = self.unwind(&mut trial, lp);
        let back = self.exit_swap(&mut trial.pool, removed, debt);
        if back[0] < debt[0] || back[1] < debt[1] {
            return false;
        }
        self.repay_both(&mut trial, debt);
        let returned = [back[0] - debt[0], back[1] - debt[1]];
        trial.wallet_reward += trial.pending;
        trial.pending = 0.0;
        trial.open = false;
        // Out means out: the asset returned is sold for the stable token.
        trial.wallet_stable += returned[1] + self.sell(&mut trial, true, returned[0]);
        *st = trial;
        true
    }

    /// Adds the stable token from the wallet, at most `reserve`, toward `target`; what it
    /// added (0 when it did nothing).
    fn top_up(&self, st: &mut State, price: f64, target: f64, reserve: f64) -> f64 {
        let (value, debt) = self.health(st, price);
        let needed = (debt / target - value).max(0.0);
        let amount = needed.min(st.wallet_stable).min(reserve);
        // Less than one whole token is dust, not a top-up (as the engine's keeper).
        if amount < 1.0 {
            return 0.0;
        }
        let mut trial = *st;
        self.accrue(&mut trial);
        trial.wallet_stable -= amount;
        self.zap(&mut trial, [0.0, amount]);
        let (after_value, after_debt) = self.health(&trial, price);
        let limit = self.kill_bps - 100.0;
        if after_value <= value || after_value * limit < after_debt * 1e4 {
            return 0.0;
        }
        trial.gas += self.gas;
        *st = trial;
        amount
    }

    /// Zaps `amounts` into the position: on a constant-product pool the stable token alone
    /// (one-sided optimal swap, then liquidity at the pool's ratio), in a range both tokens
    /// ([`Concentrated::zap`]). Leftovers go back to the owner.
    fn zap(&self, st: &mut State, amounts: [f64; 2]) {
        let (liquidity, [left0, left1]) = st.pool.zap(amounts);
        st.staked += liquidity;
        st.lp += liquidity;
        st.wallet_stable += left1;
        st.wallet_asset += left0;
    }

    fn deleverage(&self, st: &mut State, price: f64, target: f64) {
        let (value, debt) = self.health(st, price);
        if value <= 0.0 {
            return;
        }
        let share = ((debt - target * value) / (value * (1.0 - target))).clamp(0.0, 1.0);
        let ppm = (share * 1e6).ceil();
        let remove = if ppm >= 990_000.0 { st.lp } else { st.lp * ppm / 1e6 };
        if remove <= 0.0 {
            return;
        }
        let before = Self::ratio_bps(value, debt);
        let mut trial = *st;
        self.accrue(&mut trial);
        let debt = self.debt(&trial);
        let fully = remove >= trial.lp;
        let removed = self.unwind(&mut trial, remove);
        let back = self.exit_swap(&mut trial.pool, removed, debt);
        let repaid = [back[0].min(debt[0]), back[1].min(debt[1])];
        if fully {
            if back[0] < debt[0] || back[1] < debt[1] {
                return;
            }
            trial.open = false;
            trial.wallet_reward += trial.pending;
            trial.pending = 0.0;
        }
        self.repay_both(&mut trial, repaid);
        self.to_owner(&mut trial, [back[0] - repaid[0], back[1] - repaid[1]]);
        if !fully {
            let (v, d) = self.health(&trial, price);
            let after = Self::ratio_bps(v, d);
            if after > self.work_bps && after > before {
                return;
            }
        }
        trial.gas += self.gas;
        *st = trial;
    }

    /// Borrows `L·E − V` more into the position and zaps it in (the engine's `borrow_more`), in
    /// the token it owes more of by value; refused past the work factor or the lending pool's
    /// cash.
    fn borrow_more(&self, st: &mut State, price: f64, target: f64) {
        let (value, debt) = self.health(st, price);
        let wanted = ((value - debt) * target - value).max(0.0);
        let side = if self.both() {
            let [d0, d1] = self.debt(st);
            usize::from(d1 >= d0 * price)
        } else {
            self.debt_side
        };
        let borrow = if side == 1 { wanted } else { wanted / price };
        if borrow <= 0.0 || borrow > st.lend[side].cash {
            return;
        }
        let mut trial = *st;
        self.accrue(&mut trial);
        self.borrow(&mut trial, side, borrow);
        let amounts = if side == 1 { [0.0, borrow] } else { [borrow, 0.0] };
        self.zap(&mut trial, amounts);
        let (v, d) = self.health(&trial, price);
        if Self::ratio_bps(v, d) > self.work_bps {
            return;
        }
        trial.gas += self.gas;
        *st = trial;
    }

    /// Harvests, pays the bounty, sells the rest for the stable token and zaps it back in
    /// with a range's fees, collected.
    fn compound(&self, st: &mut State) {
        let fees = st.pool.collect();
        let rewards = st.pending;
        let bounty = rewards * self.bounty;
        let sold = rewards - bounty;
        let out = out_given_in(sold, st.rx, st.ry, self.reward_fee);
        st.rx += sold;
        st.ry -= out;
        st.pending = 0.0;
        let amounts = [fees[0], fees[1] + out];
        if amounts[0] > 0.0 || amounts[1] > 0.0 {
            // Reinvesting touches no lending pool: the index is not accrued.
            self.zap(st, amounts);
        }
    }

    /// Moves a range that the pool's price has left to one of the same width centred on the
    /// pool's tick; refused when that would leave the position past the kill factor.
    fn recenter(&self, st: &mut State, price: f64) {
        // The pool's tick is in `[lower, upper)` exactly when its square root price is
        // within the edges' (the tick is the greatest whose square root is at most it).
        if !st.pool.out_of_range() {
            return;
        }
        let (Some(c), Some(r)) = (st.pool.range(), &self.range) else { return };
        let Some(band) = r.centred(c.sqrt_price) else { return };
        let mut trial = *st;
        self.accrue(&mut trial);
        let lp = trial.lp;
        let [a0, a1] = self.unwind(&mut trial, lp);
        if let Some(c) = trial.pool.range_mut() {
            c.position = band;
        }
        self.zap(&mut trial, [a0, a1]);
        let (value, debt) = self.health(&trial, price);
        if value * self.kill_bps < debt * 1e4 {
            return;
        }
        trial.gas += self.gas;
        *st = trial;
    }

    /// The liquidator: removes all the liquidity, swaps toward the debts, takes the prize and
    /// the treasury's fee off each token, repays what the rest covers and writes off the
    /// remainder as bad debt; the owner gets what is left.
    fn liquidate(&self, st: &mut State, price: f64) {
        self.accrue(st);
        let debt = self.debt(st);
        let lp = st.lp;
        let removed = self.unwind(st, lp);
        let back = self.exit_swap(&mut st.pool, removed, debt);
        let keep = 1.0 - self.prize - self.treasury;
        for i in 0..2 {
            let rest = back[i] * keep;
            let repaid = rest.min(debt[i]);
            if self.owes[i] {
                self.repay(st, i, repaid);
            }
            let bad = debt[i] - repaid;
            st.bad_debt += bad.max(0.0) * if i == 0 { price } else { 1.0 };
            if bad > 0.0 {
                self.write_off(st, i);
            }
            if i == 0 {
                st.wallet_asset += rest - repaid;
            } else {
                st.wallet_stable += rest - repaid;
            }
        }
        st.wallet_reward += st.pending;
        st.pending = 0.0;
        st.open = false;
    }

    /// A loss event takes `severity` of the position's liquidity.
    #[inline(always)]
    pub fn hazard(&self, st: &mut State, severity: f64) {
        if st.open {
            let lp = st.lp * severity;
            st.pool.lose(lp);
            st.staked -= lp;
            st.lp -= lp;
        }
    }

    /// A path at the start: the opened market, and its own copy of the orders.
    pub fn begin(&self, start_price: f64) -> PathState {
        PathState {
            st: self.start,
            orders: self.orders.clone(),
            out: Outcome::default(),
            prev: start_price,
            from: start_price,
            last: (start_price, 0.0),
            valued: None,
            watch: Watch::of(&self.orders, self.kill_bps),
        }
    }

    /// Runs one path of `prices` (the close of each step after the start, reward prices
    /// alongside) and returns how it ended; `on_step(step, equity)` sees each step's equity.
    /// The reference run: every step races and runs the keepers in full ([`Self::step`] with
    /// no shortcut).
    pub fn run<F: FnMut(u32, f64)>(
        &self,
        start_price: f64,
        steps: &mut dyn Iterator<Item = StepInput>,
        mut on_step: F,
    ) -> Outcome {
        let mut path = self.begin(start_price);
        for (i, input) in steps.enumerate() {
            let step = i as u32 + 1;
            self.step(&mut path, step, &input);
            on_step(step, self.equity(&path.st, input.price, input.reward_price));
        }
        self.finish(&path)
    }

    /// How the path ended.
    pub fn finish(&self, path: &PathState) -> Outcome {
        let mut out = path.out;
        out.equity = self.equity(&path.st, path.last.0, path.last.1);
        out.bad_debt = path.st.bad_debt;
        out
    }

    /// The owner's equity in the path now, at its last close.
    pub fn equity_now(&self, path: &PathState) -> f64 {
        self.equity(&path.st, path.last.0, path.last.1)
    }

    /// One step of a path: the bar, the race inside it, the close, hazards, the keepers; the
    /// reference, which races and runs every keeper in full at every step.
    pub fn step<B: Bar>(&self, path: &mut PathState, step: u32, bar: &B) {
        let (price, reward_price) = (bar.price(), bar.reward_price());
        let PathState { st, orders, out, prev, last, .. } = path;
        *last = (price, reward_price);
        if !st.open {
            // Out of the market: the wallet is all that moves (with the reward price).
            st.now += self.dt;
            return;
        }
        let from = *prev;
        *prev = price;
        self.bar_open(st);
        if let (Some(_), Some(range)) = (self.race_latency, bar.range()) {
            let failed = bar.keeper_failed();
            out.record(step, self.race(st, orders, from, range, price, reward_price, failed));
        }
        self.bar_close(st, price, self.log_return(price, from), bar.utilization());
        if bar.hazard() {
            self.hazard(st, bar.severity());
            out.hazards += 1;
        }
        out.record(step, self.keepers(st, orders, price, reward_price));
    }

    /// The step's log return, which only the volatility-driven volume reads.
    #[inline(always)]
    fn log_return(&self, price: f64, from: f64) -> f64 {
        match self.volume {
            VolumeModel::Volatility { .. } => (price / from).ln(),
            _ => 0.0,
        }
    }

    /// [`Self::step`] for up to [`LANES`] paths at once, `bar(l)` the step of path `l`, with
    /// shortcuts: the race and the keepers' orders are first checked against bounds that
    /// cannot miss what they would do (the race's bound, each order's may-be-due check), and run
    /// in full only where the bounds say they might act; the bar's low and high and the
    /// keeper's failure are read only then. The step runs in phases, each over the paths'
    /// state as arrays of fields (the module `arrays`). Each path comes out with the bits
    /// [`Self::step`] gives it (the tests hold it to that).
    #[inline(always)]
    pub fn step_lanes<B: Bar>(&self, paths: &mut [PathState], step: u32, bar: impl Fn(usize) -> B) {
        let mut hot = arrays::HotOfKind::of(self, paths);
        hot.step(self, paths, step, bar);
        hot.write_all(paths);
    }

    /// [`Self::keepers`] on an open position whose reward pool is already arbitraged,
    /// deciding first whether any order may be due: when none may, only the liquidator's
    /// check runs, on the one valuation, which is kept in `valued` for the next step's race.
    #[inline(always)]
    fn keepers_fast(
        &self,
        st: &mut State,
        orders: &mut [Order],
        watch: &mut Watch,
        price: f64,
        reward_price: f64,
        valued: &mut Option<f64>,
    ) -> Event {
        let mut health = None;
        let may = watch.keepers_always
            && orders.iter().any(|o| self.may_be_due(st, o, price, reward_price, &mut health))
            || self.watch_may_be_due(st, watch, price, &mut health);
        if may {
            let event = self.keepers_after_arbitrage(st, orders, price, reward_price);
            *watch = Watch::of(orders, self.kill_bps);
            return event;
        }
        let (value, debt) = health.unwrap_or_else(|| self.health(st, price));
        if Self::ratio_above(value, debt, self.kill_bps) {
            self.liquidate(st, price);
            return Event::Liquidated;
        }
        *valued = Some(value);
        Event::None
    }

    /// `ratio_bps(value, debt) > bps` for a whole `bps`, without the rounding up: `⌈a⌉ > k`
    /// exactly when `a > k`.
    #[inline(always)]
    fn ratio_above(value: f64, debt: f64, bps: f64) -> bool {
        if debt <= 0.0 {
            0.0 > bps
        } else if value <= 0.0 {
            true
        } else {
            // Decided without the division unless the two are within a millionth.
            let (d, v) = (debt * 1e4, value * bps);
            if d < v * (1.0 - 1e-6) {
                false
            } else if d > v * (1.0 + 1e-6) {
                true
            } else {
                debt * 1e4 / value > bps
            }
        }
    }

    /// Whether an order [`Watch`] gathers may be due: [`Self::may_be_due`] for the lowest
    /// ratio trigger, the nearest price triggers and the earliest time, which decide for all
    /// the others of their kind.
    #[inline(always)]
    fn watch_may_be_due(
        &self,
        st: &State,
        w: &Watch,
        price: f64,
        health: &mut Option<(f64, f64)>,
    ) -> bool {
        const MARGIN: f64 = 1e-9;
        st.now >= w.due_at
            || w.below.is_some_and(|p| price * 1e18 <= p * 1e18 * (1.0 + MARGIN))
            || w.above.is_some_and(|p| price * 1e18 >= p * 1e18 * (1.0 - MARGIN))
            || w.recenter && st.pool.out_of_range()
            || match w.ratio_trigger {
                Some(t) => {
                    // `⌈a⌉ ≥ t` exactly when `a > t − 1`.
                    let (value, debt) = self.valued(st, price, health);
                    Self::ratio_above(value, debt, t - 1.0)
                }
                None => false,
            }
    }

    /// Whether `order` may be due (or must see the step): never false where the engine's
    /// [`Order::due`] would ask for something, or where [`Order::observe`] would change it.
    /// The debt-ratio orders are decided exactly, on the valuation kept in `health`; price
    /// and equity triggers with a margin of a billionth.
    fn may_be_due(
        &self,
        st: &State,
        order: &Order,
        price: f64,
        reward_price: f64,
        health: &mut Option<(f64, f64)>,
    ) -> bool {
        use levfarm_core::orders::Trigger;
        if let OrderKind::TrailingStop { .. } = order.kind {
            // Its best moves every step: it always sees the step.
            return true;
        }
        if order.status != OrderStatus::Active {
            return false;
        }
        const MARGIN: f64 = 1e-9;
        let equity = || {
            let e = self.position_equity(st, price, reward_price) * 1e18;
            let reference = signed_f64(order.reference_equity.0);
            (e, reference)
        };
        match &order.kind {
            OrderKind::StopLoss { trigger, .. } | OrderKind::TakeProfit { trigger, .. } => {
                match *trigger {
                    Trigger::Below(p) => {
                        price * 1e18 <= world::wad_to_f64(p.0) * 1e18 * (1.0 + MARGIN)
                    }
                    Trigger::Above(p) => {
                        price * 1e18 >= world::wad_to_f64(p.0) * 1e18 * (1.0 - MARGIN)
                    }
                    Trigger::EquityLossBps(b) => {
                        let (e, reference) = equity();
                        !e.is_finite()
                            || reference > 0.0
                                && (reference - e) * 1e4
                                    >= reference * f64::from(b) * (1.0 - MARGIN) - 1e5
                    }
                    Trigger::EquityGainBps(b) => {
                        let (e, reference) = equity();
                        !e.is_finite()
                            || reference > 0.0
                                && (e - reference) * 1e4
                                    >= reference * f64::from(b) * (1.0 - MARGIN) - 1e5
                    }
                }
            }
            OrderKind::TrailingStop { .. } => true,
            OrderKind::TimeLimit { at, .. } => st.now >= *at,
            OrderKind::TopUp { trigger_bps, .. } | OrderKind::Deleverage { trigger_bps, .. } => {
                // `⌈a⌉ ≥ t` exactly when `a > t − 1`.
                let (value, debt) = self.valued(st, price, health);
                Self::ratio_above(value, debt, f64::from(*trigger_bps) - 1.0)
            }
            OrderKind::Rebalance { .. } => {
                order.due(&self.seen(st, price, reward_price, order, health)).is_some()
            }
            OrderKind::Compound { every_seconds } => {
                st.now.saturating_sub(order.last_run) >= *every_seconds
            }
            OrderKind::Recenter { .. } => st.pool.out_of_range(),
        }
    }
}

impl RangeRules {
    /// A band of the position's width centred on the tick of a pool at `sqrt_price`, empty.
    fn centred(&self, sqrt_price: f64) -> Option<Band> {
        let tick = self.scale.tick_at(sqrt_price);
        let range = TickRange::centred(tick, self.width, self.spacing).ok()?;
        Some(Band::new(range, 0.0, self.scale))
    }
}

/// One step's inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepInput {
    pub price: f64,
    pub reward_price: f64,
    /// Other borrowers' utilization of the asset's and the stable token's lending pools.
    pub utilization: [f64; 2],
    pub hazard: bool,
    pub severity: f64,
    /// The stable token's price in the numeraire, relative to the start (1 unless it is a
    /// second volatile asset).
    pub numeraire: f64,
    /// The step's low and high (a bridge's extremes for a simulated step, the data's for a
    /// history), when protection and liquidators race inside the step.
    pub range: Option<[f64; 2]>,
    /// The protection's keeper misses this step.
    pub keeper_failed: bool,
}

/// One step's inputs as a step reads them: the low and high and the keeper's failure only
/// when the race asks.
pub trait Bar {
    fn price(&self) -> f64;
    fn reward_price(&self) -> f64;
    /// Other borrowers' utilization of the asset's and the stable token's lending pools.
    fn utilization(&self) -> [f64; 2];
    fn hazard(&self) -> bool;
    fn severity(&self) -> f64;
    /// The step's low and high, when protection races the liquidators inside a step.
    fn range(&self) -> Option<[f64; 2]>;
    fn keeper_failed(&self) -> bool;
    /// A bound on how far (log distance) the step's low and high can lie from the last close,
    /// where one is known without drawing them.
    fn reach(&self) -> Option<f64>;
}

impl Bar for StepInput {
    fn price(&self) -> f64 {
        self.price
    }
    fn reward_price(&self) -> f64 {
        self.reward_price
    }
    fn utilization(&self) -> [f64; 2] {
        self.utilization
    }
    #[inline(always)]
    fn hazard(&self) -> bool {
        self.hazard
    }
    fn severity(&self) -> f64 {
        self.severity
    }
    fn range(&self) -> Option<[f64; 2]> {
        self.range
    }
    fn keeper_failed(&self) -> bool {
        self.keeper_failed
    }
    fn reach(&self) -> Option<f64> {
        None
    }
}

/// What a path's orders watch, gathered once whenever an order acts, so that a step can tell
/// without looking at each order whether the race or the keepers may have anything to do.
#[derive(Debug, Clone, Copy)]
struct Watch {
    /// The lowest debt ratio (bps) at which the race looks: the kill factor, or an active
    /// ratio order's trigger below it.
    race_floor: f64,
    /// The lowest active deleverage or top-up trigger (bps).
    ratio_trigger: Option<f64>,
    /// The highest active price trigger below the price (a stop), the lowest above it.
    below: Option<f64>,
    above: Option<f64>,
    /// The earliest active time limit.
    time_at: u64,
    /// When the first active compounding or time limit comes due.
    due_at: u64,
    /// An active equity trigger or trailing stop: the race always runs.
    race_always: bool,
    /// An order the keepers always look at: a trailing stop (its best moves every step), an
    /// equity trigger, a rebalance.
    keepers_always: bool,
    /// An active re-centring order (due when the price leaves the range).
    recenter: bool,
}

impl Watch {
    fn of(orders: &[Order], kill_bps: f64) -> Watch {
        use levfarm_core::orders::Trigger;
        let mut w = Watch {
            race_floor: kill_bps,
            ratio_trigger: None,
            below: None,
            above: None,
            time_at: u64::MAX,
            due_at: u64::MAX,
            race_always: false,
            keepers_always: false,
            recenter: false,
        };
        let lowest = |a: Option<f64>, b: f64| Some(a.map_or(b, |a| a.min(b)));
        for o in orders {
            if let OrderKind::TrailingStop { .. } = o.kind {
                w.keepers_always = true;
            }
            if o.status != OrderStatus::Active {
                continue;
            }
            match &o.kind {
                OrderKind::Deleverage { trigger_bps, .. }
                | OrderKind::TopUp { trigger_bps, .. } => {
                    let t = f64::from(*trigger_bps);
                    w.race_floor = w.race_floor.min(t);
                    w.ratio_trigger = lowest(w.ratio_trigger, t);
                }
                OrderKind::Rebalance { target_leverage_bps, band_bps } => {
                    let above =
                        u64::from(*target_leverage_bps) * (10_000 + u64::from(*band_bps)) / 10_000;
                    let t = levfarm_core::orders::debt_ratio_for_leverage(above) as f64;
                    w.race_floor = w.race_floor.min(t);
                    w.keepers_always = true;
                }
                OrderKind::StopLoss { trigger, .. } | OrderKind::TakeProfit { trigger, .. } => {
                    match trigger {
                        Trigger::Below(p) => {
                            let p = world::wad_to_f64(p.0);
                            w.below = Some(w.below.map_or(p, |q| q.max(p)));
                        }
                        Trigger::Above(p) => w.above = lowest(w.above, world::wad_to_f64(p.0)),
                        Trigger::EquityLossBps(_) | Trigger::EquityGainBps(_) => {
                            w.race_always = true;
                            w.keepers_always = true;
                        }
                    }
                }
                OrderKind::TrailingStop { .. } => w.race_always = true,
                OrderKind::TimeLimit { at, .. } => {
                    w.time_at = w.time_at.min(*at);
                    w.due_at = w.due_at.min(*at);
                }
                OrderKind::Compound { every_seconds } => {
                    w.due_at = w.due_at.min(o.last_run.saturating_add(*every_seconds));
                }
                OrderKind::Recenter { .. } => w.recenter = true,
            }
        }
        w
    }
}

/// A path under way: its market, its orders, what happened so far, its last close.
#[derive(Debug, Clone)]
pub struct PathState {
    st: State,
    orders: Vec<Order>,
    out: Outcome,
    prev: f64,
    /// The close before this step's.
    from: f64,
    last: (f64, f64),
    /// The position's valuation at the last close, while nothing has moved it since: the
    /// keepers' shortcut leaves it for the next step's race.
    valued: Option<f64>,
    /// What the orders watch, as of the last time one acted.
    watch: Watch,
}

/// Up to [`LANES`] paths of one configuration stepped together ([`Setup::step_lanes`]): the
/// fields every step reads and writes are kept as arrays between steps, and written back to
/// the paths' states when these are read.
#[derive(Debug, Clone)]
pub struct Lanes {
    paths: Vec<PathState>,
    hot: arrays::HotOfKind,
}

impl Lanes {
    /// `n` paths at the start ([`Setup::begin`]).
    pub fn new(setup: &Setup, n: usize, start_price: f64) -> Lanes {
        let paths: Vec<PathState> = (0..n).map(|_| setup.begin(start_price)).collect();
        let hot = arrays::HotOfKind::of(setup, &paths);
        Lanes { paths, hot }
    }

    /// One step of every path, as [`Setup::step_lanes`].
    #[inline(always)]
    pub fn step<B: Bar>(&mut self, setup: &Setup, step: u32, bar: impl Fn(usize) -> B) {
        self.hot.step(setup, &mut self.paths, step, bar);
    }

    /// The paths as they are now.
    pub fn paths(&mut self) -> &[PathState] {
        self.hot.write_all(&mut self.paths);
        &self.paths
    }
}

/// What the keepers did in a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    None,
    StopLoss,
    TakeProfit,
    Liquidated,
}

/// A signed 1e18 amount as a float.
fn signed_f64(v: I256) -> f64 {
    let magnitude = crate::v3::u256_to_f64(v.unsigned_abs());
    if v.is_negative() {
        -magnitude
    } else {
        magnitude
    }
}

/// The price nearest `from`, between it and `extreme`, at which `past` turns true: 80 halvings
/// (the engine's `first_past` bisects to the unit); `None` when it is not true at `extreme`.
fn first_past(from: f64, extreme: f64, past: impl Fn(f64) -> bool) -> Option<f64> {
    if !past(extreme) {
        return None;
    }
    let (mut safe, mut beyond) = (from, extreme);
    for _ in 0..80 {
        let mid = 0.5 * (safe + beyond);
        if past(mid) {
            beyond = mid;
        } else {
            safe = mid;
        }
    }
    Some(beyond)
}
