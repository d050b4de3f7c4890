//! The joint futures of a portfolio's assets, [`LANES`] paths at a time: correlated
//! Brownian motions (with jumps common to every asset, Merton's), or blocks of the histories'
//! aligned returns, the same blocks for every asset; the stable token's depegs; and each
//! venue's failures, independent or with a common component.
//!
//! Every stream is seeded by `(seed, path id, stream)` alone, as a single position's are: an
//! asset's shocks by its index, so adding an asset does not move the others'.

#![allow(clippy::needless_range_loop)]

use std::sync::Arc;

use crate::lanes::{box_muller, exp, Normals, LANES};
use crate::paths::{counter, path_seed, recentred, splitmix, uniform, Stream};

/// The model's per-step constants.
#[derive(Debug, Clone)]
pub enum Joint {
    /// Each asset's log return `drift + vol·z`, `z = L·w` for independent normals `w`.
    Gaussian {
        drift: Vec<f64>,
        vol: Vec<f64>,
        chol: Vec<Vec<f64>>,
        /// Merton's jumps: `P(N ≤ n)` of the step's count for n = 0..3, and each asset's log
        /// jump's mean and spread (the same normal for every asset).
        jumps: Option<([f64; 4], Vec<f64>, Vec<f64>)>,
    },
    /// The same block of bars for every asset, each asset's returns re-centred to its drift.
    Bootstrap { returns: Vec<Arc<[f64]>>, block: usize },
}

impl Joint {
    /// Correlated GBM (`jumps: None`) or Merton with common jumps over steps of `dt` years:
    /// `mu` is each asset's expected growth a year, jumps compensated.
    pub fn gaussian(
        mu: &[f64],
        sigma: &[f64],
        chol: Vec<Vec<f64>>,
        jumps: Option<(f64, Vec<f64>, Vec<f64>)>,
        dt: f64,
    ) -> Joint {
        let kappa = |i: usize| match &jumps {
            Some((lambda, mean, std)) => lambda * ((mean[i] + 0.5 * std[i] * std[i]).exp() - 1.0),
            None => 0.0,
        };
        let drift =
            (0..mu.len()).map(|i| (mu[i] - 0.5 * sigma[i] * sigma[i] - kappa(i)) * dt).collect();
        let vol = sigma.iter().map(|s| s * dt.sqrt()).collect();
        let jumps = jumps.map(|(lambda, mean, std)| {
            let l = lambda * dt;
            let p0 = (-l).exp();
            let p1 = p0 * l;
            let p2 = p1 * l / 2.0;
            let p3 = p2 * l / 3.0;
            ([p0, p0 + p1, p0 + p1 + p2, p0 + p1 + p2 + p3], mean, std)
        });
        Joint::Gaussian { drift, vol, chol, jumps }
    }

    /// The aligned histories' log returns, each re-centred to grow by `e^{mu·dt}` a step.
    pub fn bootstrap(returns: &[Vec<f64>], mu: &[f64], dt: f64, block: usize) -> Joint {
        let returns = returns.iter().zip(mu).map(|(r, m)| recentred(r, m * dt)).collect();
        Joint::Bootstrap { returns, block: block.max(1) }
    }

    fn assets(&self) -> usize {
        match self {
            Joint::Gaussian { drift, .. } => drift.len(),
            Joint::Bootstrap { returns, .. } => returns.len(),
        }
    }
}

/// A stable token's depeg, per step: the event's probability, its depth, and the share of the
/// gap left after a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepegSteps {
    pub p: f64,
    pub depth: f64,
    pub keep: f64,
}

/// The venues' failures per step: each venue's own probability, and a common one.
#[derive(Debug, Clone, PartialEq)]
pub struct HazardSteps {
    pub venues: Vec<f64>,
    pub common: f64,
}

/// The streams of the portfolio's own draws, beyond a single position's ([`Stream`]).
const ASSET: u64 = 0x4153_5345_5400;
const DEPEG: u64 = 0x4445_5045_4700;
const VENUE: u64 = 0x5645_4e55_4500;
const COMMON: u64 = 0x434f_4d4d_4f4e;

fn stream_key(seed: u64, path: u64, tag: u64) -> u64 {
    splitmix(path_seed(seed, path, Stream::Price) ^ tag)
}

/// [`LANES`] paths of the joint model, a step at a time.
#[derive(Debug, Clone)]
pub struct JointLanes<'j> {
    joint: &'j Joint,
    normals: Vec<Normals>,
    jump_keys: [u64; LANES],
    depeg_keys: [u64; LANES],
    venue_keys: Vec<[u64; LANES]>,
    common_keys: [u64; LANES],
    cursor: [usize; LANES],
    left: usize,
    step: u64,
    /// Each asset's log price against the start.
    pub x: Vec<[f64; LANES]>,
    /// The stable token's log price (0 but in a depeg).
    pub stable: [f64; LANES],
    gap: [f64; LANES],
    /// Whether each venue failed at this step.
    pub failed: Vec<[bool; LANES]>,
    /// Whether each venue has failed so far.
    pub ever: Vec<[bool; LANES]>,
}

impl<'j> JointLanes<'j> {
    /// Lanes for `paths` (at most [`LANES`]; the lanes after them repeat the last path).
    pub fn new(joint: &'j Joint, venues: usize, seed: u64, paths: &[u64]) -> JointLanes<'j> {
        let m = joint.assets();
        let path = |l: usize| paths.get(l).or(paths.last()).copied().unwrap_or(0);
        let keys = |tag: u64| std::array::from_fn(|l| stream_key(seed, path(l), tag));
        let mut normals = vec![Normals::default(); m.max(1)];
        for (i, n) in normals.iter_mut().enumerate() {
            for l in 0..LANES {
                n.seed(l, stream_key(seed, path(l), ASSET + i as u64));
            }
        }
        JointLanes {
            joint,
            normals,
            jump_keys: std::array::from_fn(|l| path_seed(seed, path(l), Stream::Jump)),
            depeg_keys: keys(DEPEG),
            venue_keys: (0..venues).map(|v| keys(VENUE + v as u64)).collect(),
            common_keys: keys(COMMON),
            cursor: [0; LANES],
            left: 0,
            step: 0,
            x: vec![[0.0; LANES]; m],
            stable: [0.0; LANES],
            gap: [0.0; LANES],
            failed: vec![[false; LANES]; venues],
            ever: vec![[false; LANES]; venues],
        }
    }

    /// Draws every lane's next step.
    pub fn advance(&mut self, depeg: Option<DepegSteps>, hazards: &HazardSteps) {
        self.step += 1;
        match self.joint {
            Joint::Gaussian { drift, vol, chol, jumps } => {
                let w: Vec<[f64; LANES]> = self.normals.iter_mut().map(|n| n.draw()).collect();
                for (i, x) in self.x.iter_mut().enumerate() {
                    for l in 0..LANES {
                        let z: f64 = (0..=i).map(|j| chol[i][j] * w[j][l]).sum();
                        x[l] += drift[i] + vol[i] * z;
                    }
                }
                if let Some((p, mean, std)) = jumps {
                    let at = self.step * 8;
                    for l in 0..LANES {
                        let key = self.jump_keys[l];
                        let u = uniform(counter(key, at));
                        if u <= p[0] {
                            continue;
                        }
                        let n = 1
                            + usize::from(u > p[1])
                            + usize::from(u > p[2])
                            + usize::from(u > p[3]);
                        let (a, b) = box_muller(counter(key, at + 1), counter(key, at + 2));
                        let (c, d) = box_muller(counter(key, at + 3), counter(key, at + 4));
                        for z in [a, b, c, d].into_iter().take(n) {
                            for (i, x) in self.x.iter_mut().enumerate() {
                                x[l] += mean[i] + std[i] * z;
                            }
                        }
                    }
                }
            }
            Joint::Bootstrap { returns, block } => {
                let n = returns.first().map_or(1, |r| r.len());
                if self.left == 0 {
                    let span = n.saturating_sub(*block).max(1) as u128;
                    let draws = self.normals[0].next_u64s();
                    for (cursor, &draw) in self.cursor.iter_mut().zip(&draws) {
                        *cursor = ((u128::from(draw) * span) >> 64) as usize;
                    }
                    self.left = (*block).min(n);
                }
                for (x, r) in self.x.iter_mut().zip(returns) {
                    for l in 0..LANES {
                        x[l] += r.get(self.cursor[l]).copied().unwrap_or(0.0);
                    }
                }
                for c in &mut self.cursor {
                    *c += 1;
                }
                self.left -= 1;
            }
        }
        if let Some(d) = depeg {
            for l in 0..LANES {
                self.gap[l] *= d.keep;
                if uniform(counter(self.depeg_keys[l], self.step)) < d.p {
                    self.gap[l] = d.depth;
                }
                self.stable[l] = (1.0 - self.gap[l]).ln();
            }
        }
        for l in 0..LANES {
            let common = hazards.common > 0.0
                && uniform(counter(self.common_keys[l], self.step)) < hazards.common;
            for (v, &p) in hazards.venues.iter().enumerate() {
                let own = p > 0.0 && uniform(counter(self.venue_keys[v][l], self.step)) < p;
                self.failed[v][l] = own || common;
                self.ever[v][l] |= own || common;
            }
        }
    }

    /// Asset `i`'s price against the start in lane `l`.
    pub fn growth(&self, i: usize, l: usize) -> f64 {
        exp(self.x[i][l])
    }
}
