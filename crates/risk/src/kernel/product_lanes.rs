//! [`Setup::step_lanes`] on a constant-product pool with one debt, with the sixteen paths'
//! state as arrays of fields: each phase's common path runs as arithmetic over the arrays
//! (the same operations as the one-path code, in the same order, with the branches taken as
//! selections), and a path that needs the rare code (a race that may act, an order that may
//! be due, a hazard, a liquidation) is written back to its own state, run by the one-path
//! code, and read again.

// The lanes' loops read and write several arrays at the same lane, which is clearest indexed.
#![allow(clippy::needless_range_loop)]

use super::*;

/// The fields of the paths' state that a step's common path reads or writes, lane by lane.
#[derive(Debug, Clone)]
pub(super) struct Hot {
    open: [bool; LANES],
    x: [f64; LANES],
    y: [f64; LANES],
    s: [f64; LANES],
    staked: [f64; LANES],
    lp: [f64; LANES],
    pending: [f64; LANES],
    rx: [f64; LANES],
    ry: [f64; LANES],
    cash: [f64; LANES],
    scaled_total: [f64; LANES],
    scaled_demand: [f64; LANES],
    scaled_position: [f64; LANES],
    index: [f64; LANES],
    rate: [f64; LANES],
    last_update: [u64; LANES],
}

impl Hot {
    #[inline(always)]
    fn new() -> Hot {
        Hot {
            open: [false; LANES],
            x: [1.0; LANES],
            y: [1.0; LANES],
            s: [1.0; LANES],
            staked: [1.0; LANES],
            lp: [0.0; LANES],
            pending: [0.0; LANES],
            rx: [1.0; LANES],
            ry: [1.0; LANES],
            cash: [1.0; LANES],
            scaled_total: [0.0; LANES],
            scaled_demand: [0.0; LANES],
            scaled_position: [0.0; LANES],
            index: [1.0; LANES],
            rate: [0.0; LANES],
            last_update: [0; LANES],
        }
    }

    /// The arrays of `paths`, read from their states.
    pub(super) fn of(paths: &[PathState], i: usize) -> Hot {
        let mut h = Hot::new();
        for (l, p) in paths.iter().enumerate() {
            h.read(l, &p.st, i);
        }
        h
    }

    /// Writes every lane back to its path's state.
    pub(super) fn write_all(&self, paths: &mut [PathState], i: usize) {
        for (l, p) in paths.iter_mut().enumerate() {
            self.write(l, &mut p.st, i);
        }
    }

    /// Reads lane `l` from its path's state.
    #[inline(always)]
    fn read(&mut self, l: usize, st: &State, i: usize) {
        let Pool::Product(p) = st.pool else { unreachable!("a constant-product pool") };
        let d = &st.lend[i];
        self.open[l] = st.open;
        (self.x[l], self.y[l], self.s[l]) = (p.x, p.y, p.s);
        (self.staked[l], self.lp[l], self.pending[l]) = (st.staked, st.lp, st.pending);
        (self.rx[l], self.ry[l]) = (st.rx, st.ry);
        (self.cash[l], self.scaled_total[l], self.scaled_demand[l]) =
            (d.cash, d.scaled_total, d.scaled_demand);
        (self.scaled_position[l], self.index[l], self.rate[l], self.last_update[l]) =
            (d.scaled_position, d.index, d.rate, d.last_update);
    }

    /// Writes lane `l` back to its path's state.
    #[inline(always)]
    fn write(&self, l: usize, st: &mut State, i: usize) {
        if let Pool::Product(p) = &mut st.pool {
            (p.x, p.y, p.s) = (self.x[l], self.y[l], self.s[l]);
        }
        st.open = self.open[l];
        (st.staked, st.lp, st.pending) = (self.staked[l], self.lp[l], self.pending[l]);
        (st.rx, st.ry) = (self.rx[l], self.ry[l]);
        let d = &mut st.lend[i];
        (d.cash, d.scaled_total, d.scaled_demand) =
            (self.cash[l], self.scaled_total[l], self.scaled_demand[l]);
        (d.scaled_position, d.index, d.rate, d.last_update) =
            (self.scaled_position[l], self.index[l], self.rate[l], self.last_update[l]);
    }
}

impl Setup {
    /// Whether [`Self::step_product`] runs this setup's steps.
    #[inline(always)]
    pub(super) fn steps_in_arrays(&self) -> bool {
        self.range.is_none() && !self.both()
    }

    /// [`Self::step_lanes`] on a constant-product pool with one debt (see the module), with
    /// the hot fields of `paths` held in `h` (their states' copies of them are not read nor
    /// written).
    #[inline(always)]
    pub(super) fn step_product<B: Bar>(
        &self,
        paths: &mut [PathState],
        h: &mut Hot,
        step: u32,
        bar: impl Fn(usize) -> B,
    ) {
        let n = paths.len();
        let i = self.debt_side;
        let mut live = [false; LANES];
        let mut valued = [f64::NAN; LANES];
        let mut has_value = [false; LANES];
        let (mut price, mut reward, mut from) = ([1.0; LANES], [1.0; LANES], [1.0; LANES]);
        let now = paths.first().map_or(0, |p| p.st.now) + self.dt;
        for (l, p) in paths.iter_mut().enumerate() {
            let b = bar(l);
            (price[l], reward[l]) = (b.price(), b.reward_price());
            p.last = (price[l], reward[l]);
            if let Some(v) = p.valued.take() {
                (valued[l], has_value[l]) = (v, true);
            }
            p.st.now += self.dt;
            debug_assert_eq!(p.st.now, now, "the paths step together");
            live[l] = h.open[l];
            if live[l] {
                p.from = p.prev;
                p.prev = price[l];
            }
            from[l] = p.from;
        }
        // The bar's time: the lending index, the farm's rewards (`bar_open`).
        let per_second = self.emission * self.dt as f64;
        for l in 0..LANES {
            let accrued = {
                let x = h.rate[l] * (now - h.last_update[l]) as f64 * (1.0 / YEAR);
                h.index[l] * (1.0 + x + x * (x * 0.5 + x * (x * (1.0 / 6.0))))
            };
            let same = h.scaled_total[l] <= 0.0 || now == h.last_update[l];
            let index = if same { h.index[l] } else { accrued };
            let earned = h.pending[l] + per_second * h.lp[l] / h.staked[l];
            h.index[l] = if live[l] { index } else { h.index[l] };
            h.last_update[l] = if live[l] { now } else { h.last_update[l] };
            h.pending[l] = if live[l] && h.staked[l] > 0.0 { earned } else { h.pending[l] };
        }
        if self.race_latency.is_some() {
            for l in (0..n).filter(|&l| live[l] && !has_value[l]) {
                // No valuation kept (an order acted last step): the one-path code's.
                let p = &mut paths[l];
                h.write(l, &mut p.st, i);
                valued[l] = self.health(&p.st, from[l]).0;
            }
            let mut may = [false; LANES];
            self.race_checks(paths, h, &live, &from, &valued, &bar, &mut may);
            for l in (0..n).filter(|&l| may[l]) {
                let b = bar(l);
                let Some(range) = b.range() else { continue };
                let p = &mut paths[l];
                h.write(l, &mut p.st, i);
                let failed = b.keeper_failed();
                let event =
                    self.race(&mut p.st, &mut p.orders, p.from, range, price[l], reward[l], failed);
                p.out.record(step, event);
                p.watch = Watch::of(&p.orders, self.kill_bps);
                h.read(l, &p.st, i);
            }
        }
        // The arbitrageur and traders (`bar_close_pool`), branch-free.
        let days = self.dt as f64 / 86_400.0;
        let (b, multiplier) = match self.volume {
            VolumeModel::None | VolumeModel::File { .. } | VolumeModel::Bars { .. } => (0.0, 0.0),
            VolumeModel::Turnover { daily } => (daily * days, 0.0),
            VolumeModel::Volatility { multiplier, daily_floor } => (daily_floor * days, multiplier),
        };
        let fee = match paths.first().map(|p| p.st.pool) {
            Some(Pool::Product(p)) => p.fee,
            _ => (1.0, 1.0),
        };
        let mut a = [0.0; LANES];
        if multiplier != 0.0 {
            for l in 0..n {
                a[l] = multiplier * self.log_return(price[l], from[l]).abs();
            }
        }
        let (mut x, mut y) = (h.x, h.y);
        crate::pool::close_lanes(&mut x, &mut y, &price, &a, b, fee);
        for l in 0..LANES {
            h.x[l] = if live[l] { x[l] } else { h.x[l] };
            h.y[l] = if live[l] { y[l] } else { h.y[l] };
        }
        // Other borrowers (`adjust_pool`).
        let unit = self.units[i];
        let mut acts = [false; LANES];
        let (mut debt, mut held) = ([0.0; LANES], [0.0; LANES]);
        let mut utilization = [0.0; LANES];
        for (l, u) in utilization.iter_mut().enumerate().take(n) {
            *u = bar(l).utilization()[i];
        }
        for l in 0..LANES {
            let u = utilization[l];
            let now_index = h.index[l];
            let total = h.cash[l] + h.scaled_total[l] * h.index[l];
            let owed = h.scaled_demand[l] * now_index;
            let target = total * u;
            let band = total * 0.001;
            let up = target > owed + band;
            let lent = (target - owed).min(h.cash[l]);
            let borrows = up && lent > 0.0;
            let repays = !up && owed > target + band;
            let repaid = owed - target;
            let borrowed = lent / now_index;
            let returned = (repaid / now_index).min(h.scaled_demand[l]);
            let c = if borrows { h.cash[l] - lent } else { h.cash[l] + repaid };
            let t =
                if borrows { h.scaled_total[l] + borrowed } else { h.scaled_total[l] - returned };
            let d =
                if borrows { h.scaled_demand[l] + borrowed } else { h.scaled_demand[l] - returned };
            let act = live[l] && (borrows || repays);
            acts[l] = act;
            h.cash[l] = if act { c } else { h.cash[l] };
            h.scaled_total[l] = if act { t } else { h.scaled_total[l] };
            h.scaled_demand[l] = if act { d } else { h.scaled_demand[l] };
            (debt[l], held[l]) = (t * now_index * unit, c * unit);
        }
        if let Some(rates) = &self.rates[i] {
            let mut rate = [0.0; LANES];
            rates.borrow_rate_lanes(&debt, &held, &mut rate);
            for l in 0..LANES {
                h.rate[l] = if acts[l] { rate[l] } else { h.rate[l] };
            }
        }
        for l in 0..n {
            let b = bar(l);
            if live[l] && b.hazard() {
                let p = &mut paths[l];
                h.write(l, &mut p.st, i);
                self.hazard(&mut p.st, b.severity());
                p.out.hazards += 1;
                h.read(l, &p.st, i);
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
        self.valuations(h, fee, &price, &mut value, &mut debt);
        for l in 0..n {
            if !(live[l] && h.open[l]) {
                continue;
            }
            let p = &mut paths[l];
            let w = p.watch;
            let ratio_due =
                w.ratio_trigger.is_some_and(|t| Self::ratio_above(value[l], debt[l], t - 1.0));
            let clock_or_price = now >= w.due_at
                || w.below.is_some_and(|q| price[l] * 1e18 <= q * 1e18 * (1.0 + 1e-9))
                || w.above.is_some_and(|q| price[l] * 1e18 >= q * 1e18 * (1.0 - 1e-9));
            if w.keepers_always || clock_or_price || ratio_due {
                h.write(l, &mut p.st, i);
                let PathState { st, orders, valued, watch, .. } = p;
                let event = self.keepers_fast(st, orders, watch, price[l], reward[l], valued);
                p.out.record(step, event);
                h.read(l, &p.st, i);
            } else if Self::ratio_above(value[l], debt[l], self.kill_bps) {
                h.write(l, &mut p.st, i);
                self.liquidate(&mut p.st, price[l]);
                p.out.record(step, Event::Liquidated);
                h.read(l, &p.st, i);
            } else {
                p.valued = Some(value[l]);
            }
        }
    }

    /// The race's bound ([`Self::race_may_act`]) over the arrays: `may[l]` where the race in
    /// path `l` might act.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn race_checks<B: Bar>(
        &self,
        paths: &[PathState],
        h: &Hot,
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
        let now = paths.first().map_or(0, |p| p.st.now);
        for (l, p) in paths.iter().enumerate() {
            let w = &p.watch;
            let Some(r) = bar(l).reach() else {
                always[l] = true;
                continue;
            };
            reach[l] = r;
            always[l] = w.race_always || w.time_at < now;
            (floor[l], below[l], above[l]) =
                (w.race_floor, w.below.unwrap_or(f64::NAN), w.above.unwrap_or(f64::NAN));
        }
        for l in 0..LANES {
            let r = reach[l];
            let spread = if r <= 1.0 {
                (1.0 + r + r * r) * (1.0 + MARGIN)
            } else {
                crate::lanes::exp(r) * (1.0 + MARGIN)
            };
            let price_hit = below[l] * spread >= from[l] || above[l] <= from[l] * spread;
            let debt = self.debt_value_of(h.scaled_position[l] * h.index[l], from[l]);
            let v = value[l];
            let bad_value = v.is_nan() || v <= 0.0;
            let (lhs, rhs, fair_ok) = if self.oracle_valuation {
                ((debt * 1e4 + v) * spread * 1.02, floor[l] * v, true)
            } else {
                let f = (h.x[l] * from[l] + h.y[l]) * h.lp[l] * (1.0 + 1e-12);
                let s = h.s[l];
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

    /// The keepers' valuation over the arrays ([`Self::health`] on a constant-product pool
    /// with one debt): the value and the debt's value at `price`.
    #[inline(always)]
    fn valuations(
        &self,
        h: &Hot,
        fee: (f64, f64),
        price: &[f64; LANES],
        value: &mut [f64; LANES],
        debt: &mut [f64; LANES],
    ) {
        for l in 0..LANES {
            debt[l] = self.debt_value_of(h.scaled_position[l] * h.index[l], price[l]);
            let (x, y, lp) = (h.x[l], h.y[l], h.lp[l]);
            value[l] = if self.oracle_valuation {
                2.0 * (x * y * price[l]).sqrt() * lp / h.s[l]
            } else {
                // `Product::exit_value`, its `out_given_in` with the empty sale selected.
                let share = lp / h.s[l];
                let (a0, a1) = (x * share, y * share);
                let (n, d) = fee;
                if self.debt_side == 1 {
                    let w = a0 * n;
                    let out = w * (y - a1) / ((x - a0) * d + w);
                    a1 + if a0 <= 0.0 { 0.0 } else { out }
                } else {
                    let w = a1 * n;
                    let out = w * (x - a0) / ((y - a1) * d + w);
                    (a0 + if a1 <= 0.0 { 0.0 } else { out }) * price[l]
                }
            };
        }
    }

    /// [`Self::debt_value`] of a single debt `owed` at `price`, with the same operations.
    #[inline(always)]
    fn debt_value_of(&self, owed: f64, price: f64) -> f64 {
        let [d0, d1] = if self.debt_side == 0 { [owed, 0.0] } else { [0.0, owed] };
        d0 * price + d1
    }
}
