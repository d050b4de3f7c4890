//! [`Setup::step_lanes`] with the sixteen paths' state as arrays of fields ([`Hot`]).
//!
//! Each phase's common path runs as arithmetic over the arrays: the same operations as the
//! one-path code, in the same order, with the branches taken as selections. It runs on either
//! pool ([`PoolLanes`], each kind compiled on its own) and with one debt or both. A path that
//! needs the rare code (a race that may act, an order that may be due, a hazard, a
//! liquidation) is written back to its own state, run by the one-path code, and read again.
//!
//! These are pure functions of the arrays, the step's inputs and the setup, with the rare
//! code the only branch by path: the shape a GPU backend would take.

// The lanes' loops read and write several arrays at the same lane, which is clearest indexed.
#![allow(clippy::needless_range_loop)]

use super::*;
use crate::pool::{PoolLanes, ProductLanes};
use crate::v3::RangeLanes;

/// A lending pool's fields, lane by lane ([`Lending`]).
#[derive(Debug, Clone, Default)]
struct LendLanes {
    cash: [f64; LANES],
    scaled_total: [f64; LANES],
    scaled_demand: [f64; LANES],
    scaled_position: [f64; LANES],
    index: [f64; LANES],
    rate: [f64; LANES],
    last_update: [u64; LANES],
}

impl LendLanes {
    /// Every lane `d`.
    fn like(d: &Lending) -> LendLanes {
        let mut lanes = LendLanes::default();
        for l in 0..LANES {
            lanes.set(l, d);
        }
        lanes
    }

    #[inline(always)]
    fn set(&mut self, l: usize, d: &Lending) {
        (self.cash[l], self.scaled_total[l], self.scaled_demand[l]) =
            (d.cash, d.scaled_total, d.scaled_demand);
        (self.scaled_position[l], self.index[l], self.rate[l], self.last_update[l]) =
            (d.scaled_position, d.index, d.rate, d.last_update);
    }

    #[inline(always)]
    fn put(&self, l: usize, d: &mut Lending) {
        (d.cash, d.scaled_total, d.scaled_demand) =
            (self.cash[l], self.scaled_total[l], self.scaled_demand[l]);
        (d.scaled_position, d.index, d.rate, d.last_update) =
            (self.scaled_position[l], self.index[l], self.rate[l], self.last_update[l]);
    }

    /// [`Lending::accrue`] to `now` in the lanes `live`.
    #[inline(always)]
    fn accrue(&mut self, live: &[bool; LANES], now: u64) {
        for l in 0..LANES {
            let accrued = {
                let x = self.rate[l] * (now - self.last_update[l]) as f64 * (1.0 / YEAR);
                self.index[l] * (1.0 + x + x * (x * 0.5 + x * (x * (1.0 / 6.0))))
            };
            let same = self.scaled_total[l] <= 0.0 || now == self.last_update[l];
            let index = if same { self.index[l] } else { accrued };
            self.index[l] = if live[l] { index } else { self.index[l] };
            self.last_update[l] = if live[l] { now } else { self.last_update[l] };
        }
    }

    /// The position's debt in whole tokens, by lane (the index already accrued to now).
    #[inline(always)]
    fn owed(&self, l: usize) -> f64 {
        self.scaled_position[l] * self.index[l]
    }
}

/// What the paths' orders watch ([`Watch`]), lane by lane: a trigger that is not there is NaN.
#[derive(Debug, Clone)]
struct WatchLanes {
    race_floor: [f64; LANES],
    ratio_trigger: [f64; LANES],
    below: [f64; LANES],
    above: [f64; LANES],
    time_at: [u64; LANES],
    due_at: [u64; LANES],
    race_always: [bool; LANES],
    keepers_always: [bool; LANES],
    recenter: [bool; LANES],
}

impl WatchLanes {
    fn new() -> WatchLanes {
        WatchLanes {
            race_floor: [0.0; LANES],
            ratio_trigger: [f64::NAN; LANES],
            below: [f64::NAN; LANES],
            above: [f64::NAN; LANES],
            time_at: [u64::MAX; LANES],
            due_at: [u64::MAX; LANES],
            race_always: [false; LANES],
            keepers_always: [false; LANES],
            recenter: [false; LANES],
        }
    }

    #[inline(always)]
    fn set(&mut self, l: usize, w: &Watch) {
        self.race_floor[l] = w.race_floor;
        self.ratio_trigger[l] = w.ratio_trigger.unwrap_or(f64::NAN);
        (self.below[l], self.above[l]) = (w.below.unwrap_or(f64::NAN), w.above.unwrap_or(f64::NAN));
        (self.time_at[l], self.due_at[l]) = (w.time_at, w.due_at);
        (self.race_always[l], self.keepers_always[l], self.recenter[l]) =
            (w.race_always, w.keepers_always, w.recenter);
    }
}

/// The fields of the paths' state that a step's common path reads or writes, lane by lane.
#[derive(Debug, Clone)]
pub(super) struct Hot<P: PoolLanes> {
    open: [bool; LANES],
    staked: [f64; LANES],
    lp: [f64; LANES],
    pending: [f64; LANES],
    rx: [f64; LANES],
    ry: [f64; LANES],
    pool: P,
    /// The paths' clock (they step together).
    now: u64,
    /// The last close, the one before it, and the last step's prices.
    prev: [f64; LANES],
    from: [f64; LANES],
    last: [[f64; LANES]; 2],
    /// The keepers' valuation at the last close, where kept (`has_value`).
    valued: [f64; LANES],
    has_value: [bool; LANES],
    /// What the orders watch (a copy of the paths' own, renewed when the rare code runs).
    watch: WatchLanes,
    /// The lending pools of the two tokens (only those the position borrows from move, and
    /// only those are read and written back).
    lend: [LendLanes; 2],
    owes: [bool; 2],
}

impl<P: PoolLanes> Hot<P> {
    /// The arrays of `paths`, read from their states (lanes past them as the setup's start,
    /// closed); `None` where the setup's pool is of the other kind.
    pub(super) fn of(setup: &Setup, paths: &[PathState]) -> Option<Hot<P>> {
        let st = &setup.start;
        let mut h = Hot {
            open: [false; LANES],
            staked: [st.staked; LANES],
            lp: [st.lp; LANES],
            pending: [st.pending; LANES],
            rx: [st.rx; LANES],
            ry: [st.ry; LANES],
            pool: P::like(&st.pool)?,
            now: paths.first().map_or(st.now, |p| p.st.now),
            prev: [1.0; LANES],
            from: [1.0; LANES],
            last: [[1.0; LANES]; 2],
            valued: [f64::NAN; LANES],
            has_value: [false; LANES],
            watch: WatchLanes::new(),
            lend: [LendLanes::like(&st.lend[0]), LendLanes::like(&st.lend[1])],
            owes: setup.owes,
        };
        for (l, p) in paths.iter().enumerate() {
            debug_assert_eq!(p.st.now, h.now, "the paths step together");
            h.read(l, &p.st);
            (h.prev[l], h.from[l]) = (p.prev, p.from);
            (h.last[0][l], h.last[1][l]) = p.last;
            (h.valued[l], h.has_value[l]) = (p.valued.unwrap_or(f64::NAN), p.valued.is_some());
            h.watch.set(l, &p.watch);
        }
        Some(h)
    }

    /// Writes every lane back to its path.
    pub(super) fn write_all(&self, paths: &mut [PathState]) {
        for (l, p) in paths.iter_mut().enumerate() {
            self.write(l, &mut p.st);
            (p.prev, p.from) = (self.prev[l], self.from[l]);
            p.last = (self.last[0][l], self.last[1][l]);
            p.valued = self.has_value[l].then_some(self.valued[l]);
        }
    }

    /// Reads lane `l` from its path's state.
    #[inline(always)]
    fn read(&mut self, l: usize, st: &State) {
        self.open[l] = st.open;
        (self.staked[l], self.lp[l], self.pending[l]) = (st.staked, st.lp, st.pending);
        (self.rx[l], self.ry[l]) = (st.rx, st.ry);
        self.pool.set(l, &st.pool);
        for i in (0..2).filter(|&i| self.owes[i]) {
            self.lend[i].set(l, &st.lend[i]);
        }
    }

    /// Writes lane `l` back to its path's state.
    #[inline(always)]
    fn write(&self, l: usize, st: &mut State) {
        st.now = self.now;
        st.open = self.open[l];
        (st.staked, st.lp, st.pending) = (self.staked[l], self.lp[l], self.pending[l]);
        (st.rx, st.ry) = (self.rx[l], self.ry[l]);
        st.pool = self.pool.get(l);
        for i in (0..2).filter(|&i| self.owes[i]) {
            self.lend[i].put(l, &mut st.lend[i]);
        }
    }
}

impl Setup {
    /// [`Self::step_lanes`] (see the module), with the hot fields of `paths` held in `h`
    /// (their states' copies of them are not read nor written).
    #[inline(always)]
    pub(super) fn step_arrays<P: PoolLanes, B: Bar>(
        &self,
        paths: &mut [PathState],
        h: &mut Hot<P>,
        step: u32,
        bar: impl Fn(usize) -> B,
    ) {
        assert!(paths.len() <= LANES, "at most {LANES} paths a step");
        let n = paths.len();
        let (mut price, mut reward) = ([1.0; LANES], [1.0; LANES]);
        for l in 0..n {
            let b = bar(l);
            (price[l], reward[l]) = (b.price(), b.reward_price());
        }
        let now = h.now + self.dt;
        h.now = now;
        let (live, from, mut valued, has_value) = (h.open, h.prev, h.valued, h.has_value);
        let from =
            std::array::from_fn::<f64, LANES, _>(|l| if live[l] { from[l] } else { h.from[l] });
        for l in 0..LANES {
            (h.last[0][l], h.last[1][l]) = (price[l], reward[l]);
            h.has_value[l] = false;
            h.from[l] = from[l];
            h.prev[l] = if live[l] { price[l] } else { h.prev[l] };
        }
        // The bar's time: the lending indexes, the farm's rewards (`bar_open`).
        for (lend, _) in h.lend.iter_mut().zip(self.owes).filter(|(_, owes)| *owes) {
            lend.accrue(&live, now);
        }
        let per_second = self.emission * self.dt as f64;
        for l in 0..LANES {
            let earned = h.pending[l] + per_second * h.lp[l] / h.staked[l];
            h.pending[l] = if live[l] && h.staked[l] > 0.0 { earned } else { h.pending[l] };
        }
        if self.race_latency.is_some() {
            for l in (0..n).filter(|&l| live[l] && !has_value[l]) {
                // No valuation kept (an order acted last step): the one-path code's.
                let p = &mut paths[l];
                h.write(l, &mut p.st);
                valued[l] = self.health(&p.st, from[l]).0;
            }
            let mut may = [false; LANES];
            self.race_checks(paths, h, &live, &from, &valued, &bar, &mut may);
            for l in (0..n).filter(|&l| may[l]) {
                let b = bar(l);
                let Some(range) = b.range() else { continue };
                let p = &mut paths[l];
                h.write(l, &mut p.st);
                let failed = b.keeper_failed();
                let event = self.race(
                    &mut p.st,
                    &mut p.orders,
                    from[l],
                    range,
                    price[l],
                    reward[l],
                    failed,
                );
                p.out.record(step, event);
                p.watch = Watch::of(&p.orders, self.kill_bps);
                h.read(l, &p.st);
                h.watch.set(l, &p.watch);
            }
        }
        // The arbitrageur and traders (`bar_close_pool`), branch-free.
        let days = self.dt as f64 / 86_400.0;
        let (b, multiplier) = match self.volume {
            VolumeModel::None | VolumeModel::File { .. } | VolumeModel::Bars { .. } => (0.0, 0.0),
            VolumeModel::Turnover { daily } => (daily * days, 0.0),
            VolumeModel::Volatility { multiplier, daily_floor } => (daily_floor * days, multiplier),
        };
        let mut a = [0.0; LANES];
        if multiplier != 0.0 {
            for l in 0..n {
                a[l] = multiplier * self.log_return(price[l], from[l]).abs();
            }
        }
        h.pool.close(&live, &price, &a, b);
        // Other borrowers (`adjust_pool`), in each lending pool the position borrows from.
        for i in (0..2).filter(|&i| self.owes[i]) {
            let mut utilization = [0.0; LANES];
            for (l, u) in utilization.iter_mut().enumerate().take(n) {
                *u = bar(l).utilization()[i];
            }
            self.other_borrowers(&mut h.lend[i], i, &live, &utilization);
        }
        for l in 0..n {
            let b = bar(l);
            if live[l] && b.hazard() {
                let p = &mut paths[l];
                h.write(l, &mut p.st);
                self.hazard(&mut p.st, b.severity());
                p.out.hazards += 1;
                h.read(l, &p.st);
            }
        }
        // The reward pool at its oracle.
        for l in 0..LANES {
            let (rx, ry) =
                crate::pool::arbitrage_select(h.rx[l], h.ry[l], reward[l], self.reward_fee);
            let keep = live[l] && h.open[l];
            h.rx[l] = if keep { rx } else { h.rx[l] };
            h.ry[l] = if keep { ry } else { h.ry[l] };
        }
        // The keepers (`keepers_fast`): their check over the arrays, the rare code per path.
        let mut value = [0.0; LANES];
        let mut debt = [0.0; LANES];
        self.valuations(h, &price, &mut value, &mut debt);
        let (mut full, mut kill) = ([false; LANES], [false; LANES]);
        let w = &h.watch;
        for l in 0..LANES {
            let active = live[l] && h.open[l];
            let t = w.ratio_trigger[l];
            let ratio_due = !t.is_nan() && Self::ratio_above_lanes(value[l], debt[l], t - 1.0);
            // A trigger that is not there is NaN: its comparisons are false.
            let clock_or_price = now >= w.due_at[l]
                || price[l] * 1e18 <= w.below[l] * 1e18 * (1.0 + 1e-9)
                || price[l] * 1e18 >= w.above[l] * 1e18 * (1.0 - 1e-9)
                || w.recenter[l] && h.pool.out_of_range(l);
            full[l] = active && (w.keepers_always[l] || clock_or_price || ratio_due);
            kill[l] =
                active && !full[l] && Self::ratio_above_lanes(value[l], debt[l], self.kill_bps);
            let keep = active && !full[l] && !kill[l];
            h.valued[l] = if keep { value[l] } else { h.valued[l] };
            h.has_value[l] = keep;
        }
        for l in (0..n).filter(|&l| full[l] || kill[l]) {
            let p = &mut paths[l];
            h.write(l, &mut p.st);
            if full[l] {
                let mut kept = None;
                let PathState { st, orders, watch, .. } = p;
                let event = self.keepers_fast(st, orders, watch, price[l], reward[l], &mut kept);
                p.out.record(step, event);
                (h.valued[l], h.has_value[l]) = (kept.unwrap_or(f64::NAN), kept.is_some());
                h.watch.set(l, &p.watch);
            } else {
                self.liquidate(&mut p.st, price[l]);
                p.out.record(step, Event::Liquidated);
            }
            h.read(l, &p.st);
        }
    }

    /// [`Self::ratio_above`] without a branch: the same decision in every case.
    #[inline(always)]
    fn ratio_above_lanes(value: f64, debt: f64, bps: f64) -> bool {
        let (d, v) = (debt * 1e4, value * bps);
        let exact = debt * 1e4 / value > bps;
        let near = if d > v * (1.0 + 1e-6) { true } else { exact };
        let within = if d < v * (1.0 - 1e-6) { false } else { near };
        let valued = if value <= 0.0 { true } else { within };
        if debt <= 0.0 {
            0.0 > bps
        } else {
            valued
        }
    }

    /// Other borrowers borrow or repay in the lanes `live` of token `i`'s lending pool so that
    /// their debt is `utilization` of it, past a 0.1% band ([`Self::adjust_pool`]), and the
    /// stored rate follows the pool's rate model.
    #[inline(always)]
    fn other_borrowers(
        &self,
        d: &mut LendLanes,
        i: usize,
        live: &[bool; LANES],
        utilization: &[f64; LANES],
    ) {
        let unit = self.units[i];
        let mut acts = [false; LANES];
        let (mut debt, mut held) = ([0.0; LANES], [0.0; LANES]);
        for l in 0..LANES {
            let u = utilization[l];
            let now_index = d.index[l];
            let total = d.cash[l] + d.scaled_total[l] * d.index[l];
            let owed = d.scaled_demand[l] * now_index;
            let target = total * u;
            let band = total * 0.001;
            let up = target > owed + band;
            let lent = (target - owed).min(d.cash[l]);
            let borrows = up && lent > 0.0;
            let repays = !up && owed > target + band;
            let repaid = owed - target;
            let borrowed = lent / now_index;
            let returned = (repaid / now_index).min(d.scaled_demand[l]);
            let c = if borrows { d.cash[l] - lent } else { d.cash[l] + repaid };
            let t =
                if borrows { d.scaled_total[l] + borrowed } else { d.scaled_total[l] - returned };
            let s =
                if borrows { d.scaled_demand[l] + borrowed } else { d.scaled_demand[l] - returned };
            let act = live[l] && (borrows || repays);
            acts[l] = act;
            d.cash[l] = if act { c } else { d.cash[l] };
            d.scaled_total[l] = if act { t } else { d.scaled_total[l] };
            d.scaled_demand[l] = if act { s } else { d.scaled_demand[l] };
            (debt[l], held[l]) = (t * now_index * unit, c * unit);
        }
        if let Some(rates) = &self.rates[i] {
            let mut rate = [0.0; LANES];
            rates.borrow_rate_lanes(&debt, &held, &mut rate);
            for l in 0..LANES {
                d.rate[l] = if acts[l] { rate[l] } else { d.rate[l] };
            }
        }
    }

    /// Whether the race inside the step could act, path by path (`may[l]`), for a step whose
    /// low and high lie within `bar(l).reach()` (log distance) of `from`, the last close:
    /// never false where [`Self::race`] would find a leg.
    ///
    /// A time limit due inside the step races; price triggers are compared with the reach's
    /// prices, `e^r ≤ 1 + r + r²` for `r ≤ 1.79`; equity and trailing orders always race. The
    /// debt ratio goes through the race's own bound at the adverse extreme,
    /// `⌈D·10⁴/V⌉·spread·(1.02 + 2c)` with the exit's cost `c = max(F − V, 0)/F` at the fair
    /// value `F`, at most `(D·10⁴ + V)/V·spread·(1.02 + 2·max(1 − V/F̄, 0))` for any `F̄ ≥ F`:
    /// with `F̄ = f/s` ([`Pool::fair_value_bound`]) multiplied out, with no division,
    /// `(D·10⁴ + V)·spread·(1.02·f + 2·max(f − V·s, 0)) < floor·V·f` rules the race out. The
    /// valuation `value` is the keepers' at the last close.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn race_checks<P: PoolLanes, B: Bar>(
        &self,
        paths: &[PathState],
        h: &Hot<P>,
        live: &[bool; LANES],
        from: &[f64; LANES],
        value: &[f64; LANES],
        bar: &impl Fn(usize) -> B,
        may: &mut [bool; LANES],
    ) {
        const MARGIN: f64 = 1e-9;
        let n = paths.len();
        let mut reach = [0.0; LANES];
        let mut always = [false; LANES];
        let (mut floor, mut below, mut above) =
            ([0.0; LANES], [f64::NAN; LANES], [f64::NAN; LANES]);
        let now = h.now;
        let mut unbounded = [false; LANES];
        for l in 0..n {
            match bar(l).reach() {
                Some(r) => reach[l] = r,
                None => unbounded[l] = true,
            }
        }
        let w = &h.watch;
        for l in 0..LANES {
            always[l] = unbounded[l] || w.race_always[l] || w.time_at[l] < now;
            (floor[l], below[l], above[l]) = (w.race_floor[l], w.below[l], w.above[l]);
        }
        let mut debts = [0.0; LANES];
        self.debt_values(h, from, &mut debts);
        let (mut f, mut s) = ([0.0; LANES], [0.0; LANES]);
        if !self.oracle_valuation {
            h.pool.fair_value_bounds(&h.lp, from, &mut f, &mut s);
        }
        for l in 0..LANES {
            let r = reach[l];
            let spread = if r <= 1.0 {
                (1.0 + r + r * r) * (1.0 + MARGIN)
            } else {
                crate::lanes::exp(r) * (1.0 + MARGIN)
            };
            let price_hit = below[l] * spread >= from[l] || above[l] <= from[l] * spread;
            let debt = debts[l];
            let v = value[l];
            let bad_value = v.is_nan() || v <= 0.0;
            let (lhs, rhs, fair_ok) = if self.oracle_valuation {
                ((debt * 1e4 + v) * spread * 1.02, floor[l] * v, true)
            } else {
                let (f, s) = (f[l], s[l]);
                let cost = (f - v * s).max(0.0);
                (
                    (debt * 1e4 + v) * spread * (1.02 * f + 2.0 * cost),
                    floor[l] * v * f,
                    f > 0.0 && s > 0.0,
                )
            };
            // Not below, NaN included (the one-path code's `partial_cmp(..) != Some(Less)`).
            let scaled = lhs * (1.0 + MARGIN);
            let bound = scaled >= rhs || scaled.is_nan() || rhs.is_nan();
            let by_ratio = (debt > 0.0 || debt.is_nan()) && (bad_value || !fair_ok || bound);
            may[l] = live[l] && h.open[l] && (always[l] || price_hit || by_ratio);
        }
        for m in may.iter_mut().skip(n) {
            *m = false;
        }
    }

    /// The keepers' valuation over the arrays ([`Self::health`]): the value and the debt's
    /// value at `price`.
    #[inline(always)]
    fn valuations<P: PoolLanes>(
        &self,
        h: &Hot<P>,
        price: &[f64; LANES],
        value: &mut [f64; LANES],
        debt: &mut [f64; LANES],
    ) {
        self.debt_values(h, price, debt);
        if self.oracle_valuation {
            h.pool.fair_values(&h.lp, price, value);
        } else if self.both() {
            // The exit's swap toward both debts, path by path (as `health`).
            for l in (0..LANES).filter(|&l| h.open[l]) {
                let mut pool = h.pool.get(l);
                let removed = pool.unwind(h.lp[l]);
                let owed = [0, 1].map(|i| if self.owes[i] { h.lend[i].owed(l) } else { 0.0 });
                let [h0, h1] = self.exit_swap(&mut pool, removed, owed);
                value[l] = h0 * price[l] + h1;
            }
        } else {
            h.pool.exit_values(&h.lp, price, self.debt_side == 1, value);
        }
    }

    /// [`Self::debt_value`] in every lane at `price`, with the same operations.
    #[inline(always)]
    fn debt_values<P: PoolLanes>(
        &self,
        h: &Hot<P>,
        price: &[f64; LANES],
        value: &mut [f64; LANES],
    ) {
        let owed = |i: usize| {
            let mut owed = [0.0; LANES];
            if self.owes[i] {
                for l in 0..LANES {
                    owed[l] = h.lend[i].owed(l);
                }
            }
            owed
        };
        let (d0, d1) = (owed(0), owed(1));
        for l in 0..LANES {
            value[l] = d0[l] * price[l] + d1[l];
        }
    }
}

/// [`Hot`] of the setup's pool's kind.
// One per sixteen paths, held in place from step to step: a box would cost an indirection on
// every access, the smaller kind's unused room nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(super) enum HotOfKind {
    Product(Hot<ProductLanes>),
    Range(Hot<RangeLanes>),
}

impl HotOfKind {
    /// The arrays of `paths` ([`Hot::of`]).
    pub(super) fn of(setup: &Setup, paths: &[PathState]) -> HotOfKind {
        match Hot::of(setup, paths) {
            Some(hot) => HotOfKind::Product(hot),
            None => HotOfKind::Range(Hot::of(setup, paths).expect("a range where not a product")),
        }
    }

    /// [`Setup::step_arrays`] on the arrays of their kind.
    #[inline(always)]
    pub(super) fn step<B: Bar>(
        &mut self,
        setup: &Setup,
        paths: &mut [PathState],
        step: u32,
        bar: impl Fn(usize) -> B,
    ) {
        match self {
            HotOfKind::Product(h) => setup.step_arrays(paths, h, step, bar),
            HotOfKind::Range(h) => setup.step_arrays(paths, h, step, bar),
        }
    }

    /// [`Hot::write_all`].
    pub(super) fn write_all(&self, paths: &mut [PathState]) {
        match self {
            HotOfKind::Product(h) => h.write_all(paths),
            HotOfKind::Range(h) => h.write_all(paths),
        }
    }
}
