//! The frictionless kernel: the model the NumPy baseline computes (`bench/numpy_mc.py`), for
//! measuring the Monte Carlo machinery against it with the market's frictions switched off.
//!
//! A leveraged constant-product position whose LP is worth `2·sqrt(k·P)` at the oracle with
//! `k` growing at twice the fee APR, debt at a fixed continuous rate, GBM prices, and
//! liquidation at the first step where debt/value exceeds the threshold, keeping
//! `max(0, V − D·(1 + penalty))`. The test is done in log-price space against a per-step
//! threshold, so a step is one normal draw, one add and one compare; a path stops drawing
//! once it is liquidated. Paths are seeded per `(seed, path id)` like every risk run.
//!
//! Sixteen paths run side by side ([`crate::lanes`]), their normals drawn by a vectorised
//! Box–Muller, on AVX-512 or AVX2 where the machine has them (chosen at run time) and in
//! plain code elsewhere, with the same bits out whichever runs.
//!
//! [`Precision::Single`] is an opt-in faster draw: one generator output per Box–Muller pair,
//! the transform in f32 ([`crate::lanes::box_muller_single`]), the log price still summed in
//! f64. Its normals stop at about 6.66 standard deviations and carry f32's seven digits.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::lanes::{Lanes, LANES};
use crate::paths::{path_seed, Stream};
use crate::run::BLOCK;

/// The baseline's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frictionless {
    pub equity: f64,
    pub leverage: f64,
    pub p0: f64,
    pub sigma: f64,
    pub mu: f64,
    pub borrow_rate: f64,
    pub fee_apr: f64,
    pub liquidation_ratio: f64,
    pub penalty: f64,
    pub steps: u32,
    pub steps_per_year: f64,
    pub precision: Precision,
}

/// How the kernel draws its normals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Two generator outputs per pair, the transform in f64: normals to 8.5 standard
    /// deviations, within 1e-14 of libm's Box–Muller.
    #[default]
    Double,
    /// One generator output per pair, the transform in f32: normals to 6.66 standard
    /// deviations, from uniforms with 24 significant bits, within 1e-6·(1 + |z|) of the f64
    /// transform of the same uniforms.
    Single,
}

impl Default for Frictionless {
    /// `numpy_mc.py`'s constants.
    fn default() -> Self {
        Frictionless {
            equity: 10_000.0,
            leverage: 3.0,
            p0: 2000.0,
            sigma: 0.8,
            mu: 0.0,
            borrow_rate: 0.10,
            fee_apr: 0.20,
            liquidation_ratio: 0.8,
            penalty: 0.05,
            steps: 8_760,
            steps_per_year: 8_760.0,
            precision: Precision::Double,
        }
    }
}

/// Liquidations, the sum of final equities, and the steps actually simulated.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FastResult {
    pub paths: u64,
    pub liquidated: u64,
    pub sum_equity: f64,
    pub simulated_steps: u64,
}

/// Per-step tables shared by every path.
struct Tables {
    debt: Vec<f64>,
    sqrt_kp: Vec<f64>,
    drift: f64,
    vol: f64,
    penalty: f64,
    /// Liquidation when the log price falls below `th0 + th1·i` after step `i` (from 0): the
    /// threshold `2·ln(D/(2·ratio·sqrt(k·P0)))` is linear in time, as debt and `sqrt(k)` grow
    /// exponentially.
    th0: f64,
    th1: f64,
}

impl Tables {
    #[inline(always)]
    fn threshold(&self, step: usize) -> f64 {
        self.th0 + self.th1 * step as f64
    }
}

impl Frictionless {
    fn tables(&self) -> Tables {
        let dt = 1.0 / self.steps_per_year;
        let n = self.steps as usize;
        let e = self.equity;
        let lp = self.leverage * e;
        let debt0 = (self.leverage - 1.0) * e;
        // Half the LP value in each token at P0: x0 = lp/2/P0, y0 = lp/2, k0 = x0·y0.
        let sqrt_kp0 = ((lp / 2.0 / self.p0) * (lp / 2.0) * self.p0).sqrt();
        let growth = 2.0 * (self.borrow_rate - self.fee_apr) * dt;
        let mut t = Tables {
            debt: Vec::with_capacity(n),
            sqrt_kp: Vec::with_capacity(n),
            drift: (self.mu - 0.5 * self.sigma * self.sigma) * dt,
            vol: self.sigma * dt.sqrt(),
            penalty: self.penalty,
            th0: 2.0 * (debt0 / (2.0 * self.liquidation_ratio * sqrt_kp0)).ln() + growth,
            th1: growth,
        };
        for i in 1..=n {
            let time = i as f64 * dt;
            let d = debt0 * (self.borrow_rate * time).exp();
            let s = sqrt_kp0 * (self.fee_apr * time).exp();
            t.debt.push(d);
            t.sqrt_kp.push(s);
        }
        t
    }

    /// Runs `paths` paths from `seed`. `steps` must be at least 1.
    pub fn run(&self, paths: u64, seed: u64) -> FastResult {
        assert!(self.steps >= 1, "the frictionless kernel needs at least one step");
        let tables = self.tables();
        let next = AtomicU64::new(0);
        let parts: Vec<Vec<(u64, FastResult)>> = rayon::broadcast(|_| {
            let paths = Paths { tables: &tables, seed, paths, next: &next };
            match self.precision {
                Precision::Double => pulp::Arch::new().dispatch(Worker::<false>(paths)),
                Precision::Single => pulp::Arch::new().dispatch(Worker::<true>(paths)),
            }
        });
        let mut blocks: Vec<(u64, FastResult)> = parts.into_iter().flatten().collect();
        blocks.sort_unstable_by_key(|&(block, _)| block);
        // Blocks are summed in block order, so the float sum depends neither on threads nor
        // on the lanes a path ran in.
        blocks.iter().map(|(_, r)| r).fold(FastResult::default(), |a, b| FastResult {
            paths: a.paths + b.paths,
            liquidated: a.liquidated + b.liquidated,
            sum_equity: a.sum_equity + b.sum_equity,
            simulated_steps: a.simulated_steps + b.simulated_steps,
        })
    }
}

/// What every thread shares: the tables, the seed, and the next block of [`BLOCK`] paths
/// not yet taken.
struct Paths<'a> {
    tables: &'a Tables,
    seed: u64,
    paths: u64,
    next: &'a AtomicU64,
}

/// One thread's share of the run, [`LANES`] paths at a time: each lane takes the next path as
/// soon as its own is liquidated or reaches the horizon, and the thread takes the next block
/// from the shared counter when its own are all dealt, so no lane idles before the run's last
/// paths. Returns each block it ran, summed in path order. `SINGLE` draws the normals in f32.
struct Worker<'a, const SINGLE: bool>(Paths<'a>);

/// A block whose paths are still running: their ends as they come, and how many are left.
struct Open {
    block: u64,
    ends: Vec<(f64, bool, u64)>,
    left: usize,
}

impl<const SINGLE: bool> pulp::WithSimd for Worker<'_, SINGLE> {
    type Output = Vec<(u64, FastResult)>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Vec<(u64, FastResult)> {
        let Paths { tables: t, seed, paths, next } = self.0;
        let n = t.debt.len();
        let blocks = paths.div_ceil(BLOCK);
        let mut done = Vec::new();
        let mut open: Vec<Open> = Vec::with_capacity(LANES + 1);
        // The block being dealt out to lanes, and its next path.
        let mut dealing: Option<(u64, u64)> = None;
        let mut deal = |open: &mut Vec<Open>| -> Option<u64> {
            loop {
                if let Some((block, at)) = dealing {
                    let end = ((block + 1) * BLOCK).min(paths);
                    if at < end {
                        dealing = Some((block, at + 1));
                        return Some(at);
                    }
                }
                let block = next.fetch_add(1, Ordering::Relaxed);
                if block >= blocks {
                    return None;
                }
                let size = (((block + 1) * BLOCK).min(paths) - block * BLOCK) as usize;
                open.push(Open { block, ends: vec![(0.0, false, 0); size], left: size });
                dealing = Some((block, block * BLOCK));
            }
        };
        let mut lanes = Lanes::default();
        let mut logp = [f64::INFINITY; LANES];
        let mut step = [0usize; LANES];
        let mut path = [u64::MAX; LANES];
        let mut active = 0usize;
        let mut start = |lanes: &mut Lanes, open: &mut Vec<Open>, l: usize, logp: &mut f64| {
            let p = deal(open)?;
            lanes.seed(l, path_seed(seed, p, Stream::Price));
            *logp = 0.0;
            Some(p)
        };
        for l in 0..LANES {
            if let Some(p) = start(&mut lanes, &mut open, l, &mut logp[l]) {
                path[l] = p;
                active += 1;
            }
        }
        let mut ended = Vec::with_capacity(LANES);
        while active > 0 {
            // Two steps in every lane, then the lanes whose path ended.
            let (za, zb) = if SINGLE { lanes.single_normal_pairs() } else { lanes.normal_pairs() };
            let mut first = [0.0; LANES];
            let mut hit = 0u64;
            for l in 0..LANES {
                let s = step[l];
                let a = logp[l] + (t.drift + t.vol * za[l]);
                let b = a + (t.drift + t.vol * zb[l]);
                let ta = t.threshold(s);
                let tb = if s + 1 < n { t.threshold(s + 1) } else { f64::NEG_INFINITY };
                hit |= u64::from((a < ta) | (b < tb) | (s + 2 >= n)) << l;
                first[l] = a;
                logp[l] = b;
                step[l] = s + 2;
            }
            while hit != 0 {
                let l = hit.trailing_zeros() as usize;
                hit &= hit - 1;
                let s = step[l] - 2;
                step[l] = 0;
                if path[l] == u64::MAX {
                    continue;
                }
                let (x, at, dead) = if first[l] < t.threshold(s) {
                    (first[l], s, true)
                } else if s + 1 == n {
                    (first[l], s, false)
                } else {
                    (logp[l], s + 1, logp[l] < t.threshold(s + 1))
                };
                let v = 2.0 * t.sqrt_kp[at] * (0.5 * x).exp();
                let equity = if dead {
                    (v - t.debt[at] * (1.0 + t.penalty)).max(0.0)
                } else {
                    v - t.debt[at]
                };
                let (block, offset) = (path[l] / BLOCK, (path[l] % BLOCK) as usize);
                let i = open
                    .iter()
                    .position(|o| o.block == block)
                    .expect("a dealt path's block is open");
                open[i].ends[offset] = (equity, dead, at as u64 + 1);
                open[i].left -= 1;
                if open[i].left == 0 {
                    let o = open.swap_remove(i);
                    let mut r = FastResult::default();
                    for (equity, dead, steps) in o.ends {
                        r.paths += 1;
                        r.liquidated += u64::from(dead);
                        r.sum_equity += equity;
                        r.simulated_steps += steps;
                    }
                    done.push((o.block, r));
                }
                ended.push(l);
            }
            for l in ended.drain(..) {
                logp[l] = f64::INFINITY;
                path[l] = u64::MAX;
                active -= 1;
                if let Some(p) = start(&mut lanes, &mut open, l, &mut logp[l]) {
                    path[l] = p;
                    active += 1;
                }
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulp::WithSimd;

    #[test]
    fn plain_code_and_the_machine_vectors_give_the_same_bits() {
        // Arch::new() picks AVX-512 or AVX2 where the machine has them; Scalar is the plain
        // code every other machine runs. On x86-64 the AVX2 code is also run on its own where
        // the machine has AVX2, as a machine with AVX2 and no AVX-512 would run it.
        let model = Frictionless { steps: 777, sigma: 2.0, ..Frictionless::default() };
        let tables = model.tables();
        same_bits_everywhere::<false>(&tables);
        same_bits_everywhere::<true>(&tables);
    }

    fn same_bits_everywhere<const SINGLE: bool>(tables: &Tables) {
        let run = |how: &dyn Fn(Worker<'_, SINGLE>) -> Vec<(u64, FastResult)>| {
            let next = AtomicU64::new(0);
            how(Worker(Paths { tables, seed: 4, paths: 333, next: &next }))
        };
        let machine = run(&|w| pulp::Arch::new().dispatch(w));
        let plain = run(&|w| w.with_simd(pulp::Scalar::new()));
        assert_eq!(machine, plain, "single: {SINGLE}");
        assert_eq!(machine.len(), 6, "one thread runs every block");
        assert!(machine.iter().map(|(_, r)| r.liquidated).sum::<u64>() > 0);
        #[cfg(target_arch = "x86_64")]
        if let Some(v3) = pulp::x86::V3::try_new() {
            assert_eq!(run(&|w| v3.vectorize(|| w.with_simd(v3))), plain, "AVX2, single: {SINGLE}");
        }
    }
}
