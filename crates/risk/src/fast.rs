//! The frictionless kernel: the model the NumPy baseline computes (`bench/numpy_mc.py`), for
//! measuring the Monte Carlo machinery against it with the market's frictions switched off.
//!
//! A leveraged constant-product position whose LP is worth `2·sqrt(k·P)` at the oracle with
//! `k` growing at twice the fee APR, debt at a fixed continuous rate, GBM prices, and
//! liquidation at the first step where debt/value exceeds the threshold, keeping
//! `max(0, V − D·(1 + penalty))`. The test is done in log-price space against a per-step
//! threshold, so a step is one normal draw, one add and one compare; a path stops drawing
//! once it is liquidated. Paths are seeded per `(seed, path id)` like every risk run.

use rayon::prelude::*;

use crate::paths::{normal, path_rng, Stream};
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

impl Frictionless {
    /// Runs `paths` paths from `seed`.
    pub fn run(&self, paths: u64, seed: u64) -> FastResult {
        let dt = 1.0 / self.steps_per_year;
        let n = self.steps as usize;
        let e = self.equity;
        let lp = self.leverage * e;
        let debt0 = (self.leverage - 1.0) * e;
        // Half the LP value in each token at P0: x0 = lp/2/P0, y0 = lp/2, k0 = x0·y0.
        let sqrt_kp0 = ((lp / 2.0 / self.p0) * (lp / 2.0) * self.p0).sqrt();
        let mut thresh = Vec::with_capacity(n);
        let mut debt = Vec::with_capacity(n);
        let mut sqrt_kp = Vec::with_capacity(n);
        for i in 1..=n {
            let t = i as f64 * dt;
            let d = debt0 * (self.borrow_rate * t).exp();
            let s = sqrt_kp0 * (self.fee_apr * t).exp();
            // D > ratio·2·s·exp(logp/2)  <=>  logp < 2·ln(D / (2·ratio·s)).
            thresh.push(2.0 * (d / (2.0 * self.liquidation_ratio * s)).ln());
            debt.push(d);
            sqrt_kp.push(s);
        }
        let drift = (self.mu - 0.5 * self.sigma * self.sigma) * dt;
        let vol = self.sigma * dt.sqrt();
        let blocks = paths.div_ceil(BLOCK);
        let block = |b: u64| {
            let mut r = FastResult::default();
            for path in b * BLOCK..((b + 1) * BLOCK).min(paths) {
                let mut rng = path_rng(seed, path, Stream::Price);
                let mut logp = 0.0f64;
                let mut liquidated_at = None;
                for (i, &th) in thresh.iter().enumerate() {
                    logp += drift + vol * normal(&mut rng);
                    if logp < th {
                        liquidated_at = Some(i);
                        break;
                    }
                }
                r.paths += 1;
                let (eq, steps) = match liquidated_at {
                    Some(i) => {
                        r.liquidated += 1;
                        let v = 2.0 * sqrt_kp[i] * (0.5 * logp).exp();
                        ((v - debt[i] * (1.0 + self.penalty)).max(0.0), i as u64 + 1)
                    }
                    None => (2.0 * sqrt_kp[n - 1] * (0.5 * logp).exp() - debt[n - 1], n as u64),
                };
                r.sum_equity += eq;
                r.simulated_steps += steps;
            }
            r
        };
        // Blocks are summed in block order, so the float sum does not depend on threads.
        let parts: Vec<FastResult> = (0..blocks).into_par_iter().map(block).collect();
        parts.iter().fold(FastResult::default(), |a, b| FastResult {
            paths: a.paths + b.paths,
            liquidated: a.liquidated + b.liquidated,
            sum_equity: a.sum_equity + b.sum_equity,
            simulated_steps: a.simulated_steps + b.simulated_steps,
        })
    }
}
