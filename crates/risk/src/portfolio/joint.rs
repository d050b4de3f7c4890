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

/// Events at a probability a step, for every lane: the steps between them drawn as geometric
/// waiting times, one counter-based draw an event, so a step without one costs a compare.
#[derive(Debug, Clone)]
struct Events {
    keys: [u64; LANES],
    drawn: [u64; LANES],
    /// The next event's step, 0 before the first is drawn, `u64::MAX` for never.
    next: [u64; LANES],
}

impl Events {
    fn new(keys: [u64; LANES]) -> Events {
        Events { keys, drawn: [0; LANES], next: [0; LANES] }
    }

    /// Whether each lane has an event at `step` (steps counted from 1, every step asked in
    /// turn), at probability `p` a step.
    #[inline(always)]
    fn due(&mut self, p: f64, step: u64) -> [bool; LANES] {
        let mut due = [false; LANES];
        if p <= 0.0 {
            return due;
        }
        for l in 0..LANES {
            if self.next[l] == 0 {
                self.next[l] = self.after(l, p, 0);
            }
            if self.next[l] == step {
                due[l] = true;
                self.next[l] = self.after(l, p, step);
            }
        }
        due
    }

    /// The step of lane `l`'s next event after `now`: P(wait = j) = (1 − p)^(j−1)·p.
    fn after(&mut self, l: usize, p: f64, now: u64) -> u64 {
        let u = 1.0 - uniform(counter(self.keys[l], self.drawn[l]));
        self.drawn[l] += 1;
        let wait = if p >= 1.0 { 1.0 } else { 1.0 + (u.ln() / (-p).ln_1p()).floor() };
        if wait >= (u64::MAX - now) as f64 {
            u64::MAX
        } else {
            now + wait as u64
        }
    }
}

/// [`LANES`] paths of the joint model, a step at a time.
#[derive(Debug, Clone)]
pub struct JointLanes<'j> {
    joint: &'j Joint,
    normals: Vec<Normals>,
    /// The step's independent shocks, one array per asset.
    w: Vec<[f64; LANES]>,
    jump_keys: [u64; LANES],
    /// Each event stream's next event step (`u64::MAX`: never) and its draws so far: the
    /// depeg's, each venue's, the common failure's.
    depeg: Events,
    venues: Vec<Events>,
    common: Events,
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
        // The first asset's shocks (and the bootstrap's blocks) are a single position's price
        // stream: a portfolio of one asset draws what `levfarm risk` of its position draws.
        let mut normals = vec![Normals::default(); m.max(1)];
        for (i, n) in normals.iter_mut().enumerate() {
            for l in 0..LANES {
                let key = match i {
                    0 => path_seed(seed, path(l), Stream::Price),
                    _ => stream_key(seed, path(l), ASSET + i as u64),
                };
                n.seed(l, key);
            }
        }
        JointLanes {
            joint,
            w: vec![[0.0; LANES]; normals.len()],
            normals,
            jump_keys: std::array::from_fn(|l| path_seed(seed, path(l), Stream::Jump)),
            depeg: Events::new(keys(DEPEG)),
            venues: (0..venues).map(|v| Events::new(keys(VENUE + v as u64))).collect(),
            common: Events::new(keys(COMMON)),
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
                for (w, n) in self.w.iter_mut().zip(&mut self.normals) {
                    *w = n.draw();
                }
                for (i, x) in self.x.iter_mut().enumerate() {
                    let mut z = [0.0; LANES];
                    for (j, w) in self.w.iter().enumerate().take(i + 1) {
                        let c = chol[i][j];
                        for l in 0..LANES {
                            z[l] += c * w[l];
                        }
                    }
                    for l in 0..LANES {
                        x[l] += drift[i] + vol[i] * z[l];
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
        let step = self.step;
        if let Some(d) = depeg {
            let due = self.depeg.due(d.p, step);
            for l in 0..LANES {
                self.gap[l] *= d.keep;
                if due[l] {
                    self.gap[l] = d.depth;
                }
                self.stable[l] = (1.0 - self.gap[l]).ln();
            }
        }
        let common = self.common.due(hazards.common, step);
        for (v, &p) in hazards.venues.iter().enumerate() {
            let own = self.venues[v].due(p, step);
            for l in 0..LANES {
                self.failed[v][l] = own[l] || common[l];
                self.ever[v][l] |= self.failed[v][l];
            }
        }
    }

    /// Asset `i`'s price against the start in lane `l`.
    pub fn growth(&self, i: usize, l: usize) -> f64 {
        exp(self.x[i][l])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The correlation of two assets' step returns over `steps` steps of `groups` ×
    /// [`LANES`] paths.
    fn drawn_correlation(joint: &Joint, groups: u64, steps: usize) -> f64 {
        let none = HazardSteps { venues: Vec::new(), common: 0.0 };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for g in 0..groups {
            let paths: Vec<u64> = (g * 16..g * 16 + 16).collect();
            let mut j = JointLanes::new(joint, 0, 7, &paths);
            let mut last = [[0.0; LANES]; 2];
            for _ in 0..steps {
                j.advance(None, &none);
                for l in 0..LANES {
                    a.push(j.x[0][l] - last[0][l]);
                    b.push(j.x[1][l] - last[1][l]);
                    last[0][l] = j.x[0][l];
                    last[1][l] = j.x[1][l];
                }
            }
        }
        levfarm_sim::data::correlation(&[a, b])[0][1]
    }

    #[test]
    fn correlated_motions_have_the_correlation_asked() {
        for rho in [-0.5, 0.0, 0.77, 1.0] {
            let m = vec![vec![1.0, rho], vec![rho, 1.0]];
            let chol = levfarm_sim::portfolio::cholesky(&m).unwrap();
            let joint = Joint::gaussian(&[0.0, 0.1], &[0.9, 0.6], chol, None, 1.0 / 8760.0);
            let drawn = drawn_correlation(&joint, 8, 2_000);
            // 256,000 pairs: the estimate's standard error is (1 − ρ²)/√n, under 0.002.
            assert!((drawn - rho).abs() < 0.01, "{rho}: {drawn}");
        }
    }

    #[test]
    fn the_joint_bootstrap_keeps_the_samples_cross_correlation() {
        // Two series with a known dependence: b = 0.6·a + 0.8·e.
        let mut rng = crate::paths::path_rng(3, 0, Stream::Price);
        let a: Vec<f64> = (0..5_000).map(|_| 0.01 * crate::paths::normal(&mut rng)).collect();
        let b: Vec<f64> =
            a.iter().map(|x| 0.6 * x + 0.8 * 0.01 * crate::paths::normal(&mut rng)).collect();
        let sample = levfarm_sim::data::correlation(&[a.clone(), b.clone()])[0][1];
        let joint = Joint::bootstrap(&[a, b], &[0.0, 0.0], 1.0 / 8760.0, 24);
        let drawn = drawn_correlation(&joint, 16, 1_500);
        // Drawn pairs are the sample's own pairs, whole blocks of them: the drawn correlation
        // is the sample's within its sampling error over 384,000 draws of 5,000 pairs (blocks
        // drawn apart for each asset would give about 0).
        assert!((drawn - sample).abs() < 0.02, "{drawn} against the sample's {sample}");
        assert!((sample - 0.6).abs() < 0.03, "{sample}");
    }

    /// How many of the venues failed at least once in each of `groups` × 16 paths.
    fn failures(hazards: &HazardSteps, groups: u64, steps: usize) -> Vec<usize> {
        let joint = Joint::gaussian(&[0.0], &[0.5], vec![vec![1.0]], None, 1.0 / 365.0);
        let mut counts = vec![0; hazards.venues.len() + 1];
        for g in 0..groups {
            let paths: Vec<u64> = (g * 16..g * 16 + 16).collect();
            let mut j = JointLanes::new(&joint, hazards.venues.len(), 11, &paths);
            for _ in 0..steps {
                j.advance(None, hazards);
            }
            for l in 0..LANES {
                counts[j.ever.iter().filter(|e| e[l]).count()] += 1;
            }
        }
        counts
    }

    #[test]
    fn independent_venue_failures_follow_the_binomial_law() {
        // Three venues, each failing within the year with probability 0.3, in daily steps.
        let p_step = 1.0 - 0.7f64.powf(1.0 / 365.0);
        let hazards = HazardSteps { venues: vec![p_step; 3], common: 0.0 };
        let n = 1_000 * 16;
        let counts = failures(&hazards, 1_000, 365);
        let q: f64 = 1.0 - (1.0 - p_step).powi(365);
        assert!((q - 0.3).abs() < 1e-12);
        for (k, &c) in counts.iter().enumerate() {
            let choose = [1.0, 3.0, 3.0, 1.0][k];
            let p = choose * q.powi(k as i32) * (1.0 - q).powi(3 - k as i32);
            let se = (p * (1.0 - p) / n as f64).sqrt();
            let f = c as f64 / n as f64;
            assert!((f - p).abs() < 4.0 * se, "{k} venues: {f} against {p} (± {se})");
        }
    }

    #[test]
    fn a_common_failure_strikes_every_venue_at_once() {
        let p_step = 1.0 - 0.9f64.powf(1.0 / 365.0);
        let common = HazardSteps { venues: vec![0.0; 3], common: p_step };
        let counts = failures(&common, 500, 365);
        // Only all or none: P(all) = 0.1.
        assert_eq!(counts[1] + counts[2], 0);
        let f = counts[3] as f64 / 8_000.0;
        assert!((f - 0.1).abs() < 4.0 * (0.09f64 / 8_000.0).sqrt(), "{f}");
    }

    #[test]
    fn a_depeg_falls_by_its_depth_and_recovers_by_its_half_life() {
        let joint = Joint::gaussian(&[0.0], &[0.5], vec![vec![1.0]], None, 1.0 / 24.0);
        let none = HazardSteps { venues: Vec::new(), common: 0.0 };
        // Certain at the first step, then never again (p = 1 only once: set p back to 0).
        let mut j = JointLanes::new(&joint, 0, 5, &[0]);
        let keep = 0.5f64.powf(1.0 / 48.0);
        j.advance(Some(DepegSteps { p: 1.0, depth: 0.2, keep }), &none);
        assert!((j.stable[0].exp() - 0.8).abs() < 1e-12);
        for _ in 0..48 {
            j.advance(Some(DepegSteps { p: 0.0, depth: 0.2, keep }), &none);
        }
        // Two days at a two-day half-life: half the gap left.
        assert!((j.stable[0].exp() - 0.9).abs() < 1e-12, "{}", j.stable[0].exp());
    }
}
