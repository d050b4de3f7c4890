//! Price paths: per-path seeded generators for each model.
//!
//! A path's randomness comes from generators seeded by `(seed, path id, stream)` alone, so a
//! path is the same whatever thread, shard or configuration runs it: every leverage in a grid
//! sees the same futures (common random numbers), and any subset of paths can be re-run.

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::lanes::{box_muller, Normals, LANES};

use levfarm_risk_spec::{PriceModelSpec, SecondAsset};

/// Streams of one path: each risk draws from its own generator, so switching one on does not
/// move the others' draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    Price = 1,
    Second = 2,
    Utilization = 3,
    Reward = 4,
    Hazard = 5,
    /// The extremes of each step's Brownian bridge.
    Bridge = 6,
    /// Whether the protection's keeper misses a step.
    Keeper = 7,
    /// Merton's jumps: a counter-based generator keyed by the path, drawn by step.
    Jump = 8,
    /// The asset's lending pool's utilization, when a position borrows both tokens (the
    /// stable token's is [`Stream::Utilization`]).
    Utilization0 = 9,
}

/// The generator of one stream of one path.
pub fn path_rng(seed: u64, path: u64, stream: Stream) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(path_seed(seed, path, stream))
}

/// The 64-bit seed behind [`path_rng`], for generators kept elsewhere ([`crate::lanes`]).
pub fn path_seed(seed: u64, path: u64, stream: Stream) -> u64 {
    let key = splitmix(splitmix(seed ^ 0x6c65_7666_6172_6d00) ^ path.wrapping_mul(0x9e37_79b9));
    splitmix(key ^ stream as u64)
}

/// SplitMix64's finaliser: a bijective mix of 64 bits.
pub fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One standard normal draw.
#[inline]
pub fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    StandardNormal.sample(rng)
}

/// A model ready to step: per-year parameters turned into per-step constants.
#[derive(Debug, Clone)]
pub enum Model {
    Gbm {
        drift: f64,
        vol: f64,
    },
    Merton {
        drift: f64,
        vol: f64,
        jump_p: [f64; 4],
        jump_mean: f64,
        jump_std: f64,
    },
    Garch {
        drift: f64,
        omega: f64,
        alpha: f64,
        beta: f64,
        h0: f64,
    },
    /// Blocks of the data's returns; `paired`, the stable token's returns on the same bars,
    /// drawn with the same blocks (a joint bootstrap that keeps the two assets' dependence).
    Bootstrap {
        returns: std::sync::Arc<[f64]>,
        paired: Option<std::sync::Arc<[f64]>>,
        block: usize,
        vol: f64,
    },
}

impl Model {
    /// Per-step constants for steps of `dt` years; `returns` are the bootstrap's source.
    pub fn new(spec: &PriceModelSpec, dt: f64, returns: Option<std::sync::Arc<[f64]>>) -> Model {
        match *spec {
            PriceModelSpec::Gbm { mu, sigma } => {
                Model::Gbm { drift: (mu - 0.5 * sigma * sigma) * dt, vol: sigma * dt.sqrt() }
            }
            PriceModelSpec::Merton { mu, sigma, lambda, jump_mean, jump_std } => {
                let kappa = (jump_mean + 0.5 * jump_std * jump_std).exp() - 1.0;
                let l = lambda * dt;
                // P(N = 0), P(N ≤ 1), P(N ≤ 2), P(N ≤ 3) of the step's Poisson count.
                let p0 = (-l).exp();
                let p1 = p0 * l;
                let p2 = p1 * l / 2.0;
                let p3 = p2 * l / 3.0;
                Model::Merton {
                    drift: (mu - 0.5 * sigma * sigma - lambda * kappa) * dt,
                    vol: sigma * dt.sqrt(),
                    jump_p: [p0, p0 + p1, p0 + p1 + p2, p0 + p1 + p2 + p3],
                    jump_mean,
                    jump_std,
                }
            }
            PriceModelSpec::Garch { mu, omega, alpha, beta } => Model::Garch {
                // The step's `− h/2` is added as it goes, with the step's own variance.
                drift: mu * dt,
                omega,
                alpha,
                beta,
                h0: omega / (1.0 - alpha - beta),
            },
            PriceModelSpec::Bootstrap { block_hours, mu } => {
                let returns = recentred(returns.as_deref().unwrap_or(&[0.0]), mu * dt);
                let n = returns.len().max(1) as f64;
                let mean = returns.iter().sum::<f64>() / n;
                let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
                Model::Bootstrap {
                    returns,
                    paired: None,
                    block: block_hours.max(1) as usize,
                    vol: var.sqrt(),
                }
            }
        }
    }

    /// A bootstrap that also draws the stable token's `returns` on the same bars, re-centred to
    /// a growth of `e^{drift}` a step; other models are unchanged.
    pub fn paired_with(self, returns: Option<&[f64]>, drift: f64) -> Model {
        match (self, returns) {
            (Model::Bootstrap { returns: own, block, vol, .. }, Some(second)) => Model::Bootstrap {
                returns: own,
                paired: Some(recentred(second, drift)),
                block,
                vol,
            },
            (model, _) => model,
        }
    }

    /// Whether steps come with the stable token's own return ([`PathGen::paired`]).
    pub fn is_paired(&self) -> bool {
        matches!(self, Model::Bootstrap { paired: Some(_), .. })
    }

    /// The standard deviation of a step's log return without jumps: the volatility of the
    /// Brownian bridge that gives a simulated step its low and high (GARCH's long-run level,
    /// the bootstrap's sample's).
    pub fn bridge_vol(&self) -> f64 {
        match *self {
            Model::Gbm { vol, .. } | Model::Merton { vol, .. } | Model::Bootstrap { vol, .. } => {
                vol
            }
            Model::Garch { h0, .. } => h0.max(0.0).sqrt(),
        }
    }

    /// A fresh path of this model (one lane of [`PriceLanes`]).
    pub fn path(&self, seed: u64, path: u64) -> PathGen<'_> {
        PathGen { lanes: PriceLanes::new(self, seed, &[path]), r: [0.0; LANES], z: [0.0; LANES] }
    }
}

/// The log returns of [`LANES`] paths of one model, a step at a time.
///
/// Each lane's draws are a function of its path's seed alone: the diffusion's normals come from
/// the path's price stream ([`Normals`], a Box–Muller pair every other step), a bootstrap's
/// block from the same stream's raw draws (every lane starts a block on the same steps), and
/// Merton's jumps from a counter-based generator keyed by the path and the step
/// ([`counter`]), so that a lane's jumps never move another's draws.
#[derive(Debug, Clone)]
pub struct PriceLanes<'m> {
    model: &'m Model,
    normals: Normals,
    jump_keys: [u64; LANES],
    h: [f64; LANES],
    last_e: [f64; LANES],
    cursor: [usize; LANES],
    left: usize,
    paired: [f64; LANES],
    step: u64,
}

impl<'m> PriceLanes<'m> {
    /// Lanes for `paths` (at most [`LANES`]; the lanes after them repeat the last path).
    pub fn new(model: &'m Model, seed: u64, paths: &[u64]) -> PriceLanes<'m> {
        let mut normals = Normals::default();
        let mut jump_keys = [0; LANES];
        for (l, key) in jump_keys.iter_mut().enumerate() {
            let path = paths.get(l).or(paths.last()).copied().unwrap_or(0);
            normals.seed(l, path_seed(seed, path, Stream::Price));
            *key = path_seed(seed, path, Stream::Jump);
        }
        let h0 = match model {
            Model::Garch { h0, .. } => *h0,
            _ => 0.0,
        };
        PriceLanes {
            model,
            normals,
            jump_keys,
            h: [h0; LANES],
            last_e: [0.0; LANES],
            cursor: [0; LANES],
            left: 0,
            paired: [0.0; LANES],
            step: 0,
        }
    }

    /// The stable token's log returns on the bars the last step drew, where the model pairs
    /// them.
    #[inline]
    pub fn paired(&self) -> &[f64; LANES] {
        &self.paired
    }

    /// The next step's log returns into `r`, and the diffusion's shocks into `z` (for a
    /// correlated second asset; 0 for a bootstrap).
    #[inline(always)]
    pub fn next(&mut self, r: &mut [f64; LANES], z: &mut [f64; LANES]) {
        self.step += 1;
        match self.model {
            Model::Gbm { drift, vol } => {
                *z = self.normals.draw();
                for l in 0..LANES {
                    r[l] = drift + vol * z[l];
                }
            }
            Model::Merton { drift, vol, jump_p, jump_mean, jump_std } => {
                *z = self.normals.draw();
                for ((r, z), &key) in r.iter_mut().zip(z.iter()).zip(&self.jump_keys) {
                    *r = drift + vol * z;
                    let at = self.step * 8;
                    let u = uniform(counter(key, at));
                    if u > jump_p[0] {
                        let n = if u <= jump_p[1] {
                            1
                        } else if u <= jump_p[2] {
                            2
                        } else if u <= jump_p[3] {
                            3
                        } else {
                            4
                        };
                        let (a, b) = box_muller(counter(key, at + 1), counter(key, at + 2));
                        let (c, d) = box_muller(counter(key, at + 3), counter(key, at + 4));
                        for j in [a, b, c, d].into_iter().take(n) {
                            *r += jump_mean + jump_std * j;
                        }
                    }
                }
            }
            Model::Garch { drift, omega, alpha, beta, .. } => {
                *z = self.normals.draw();
                for l in 0..LANES {
                    self.h[l] = omega + alpha * self.last_e[l] * self.last_e[l] + beta * self.h[l];
                    let e = self.h[l].sqrt() * z[l];
                    self.last_e[l] = e;
                    r[l] = drift - 0.5 * self.h[l] + e;
                }
            }
            Model::Bootstrap { returns, paired, block, .. } => {
                let n = returns.len();
                if self.left == 0 {
                    // A uniform block start in 0..span: the high word of draw × span.
                    let span = n.saturating_sub(*block).max(1) as u128;
                    let draws = self.normals.next_u64s();
                    for (cursor, &draw) in self.cursor.iter_mut().zip(&draws) {
                        *cursor = ((u128::from(draw) * span) >> 64) as usize;
                    }
                    self.left = (*block).min(n);
                }
                for (l, r) in r.iter_mut().enumerate() {
                    let c = self.cursor[l];
                    *r = returns[c];
                    if let Some(second) = paired {
                        self.paired[l] = second.get(c).copied().unwrap_or(0.0);
                    }
                    self.cursor[l] = c + 1;
                }
                self.left -= 1;
                *z = [0.0; LANES];
            }
        }
    }
}

/// One path's log returns: lane 0 of [`PriceLanes`].
#[derive(Debug, Clone)]
pub struct PathGen<'m> {
    lanes: PriceLanes<'m>,
    r: [f64; LANES],
    z: [f64; LANES],
}

impl PathGen<'_> {
    /// The stable token's log return on the bar the last step drew, where the model pairs it.
    #[inline]
    pub fn paired(&self) -> f64 {
        self.lanes.paired()[0]
    }

    /// The next step's log return; `z` receives the step's diffusion shock (for a correlated
    /// second asset).
    #[inline]
    pub fn next(&mut self, z: &mut f64) -> f64 {
        self.lanes.next(&mut self.r, &mut self.z);
        *z = self.z[0];
        self.r[0]
    }
}

/// Draw `i` of the counter-based generator keyed `key`: SplitMix64's `i`-th output from that
/// seed, so any draw is had without the ones before it.
#[inline(always)]
pub fn counter(key: u64, i: u64) -> u64 {
    splitmix(key.wrapping_add(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
}

/// The top 53 bits as a uniform in [0, 1).
#[inline(always)]
pub fn uniform(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `returns` shifted by one constant so that a step drawn from them grows the price by
/// `e^{drift}` on average: `r − ln(mean(e^r)) + drift`. Their spread, tails and order are
/// kept; the history's own drift is taken out.
pub fn recentred(returns: &[f64], drift: f64) -> std::sync::Arc<[f64]> {
    let n = returns.len().max(1) as f64;
    // ln(mean(e^r)) around the largest return, so that e^r cannot overflow.
    let top = returns.iter().copied().fold(f64::NEG_INFINITY, f64::max).max(0.0);
    let growth = top + (returns.iter().map(|r| (r - top).exp()).sum::<f64>() / n).ln();
    returns.iter().map(|r| r - growth + drift).collect()
}

/// The second asset's per-step constants.
#[derive(Debug, Clone)]
pub struct Second {
    pub drift: f64,
    pub vol: f64,
    pub rho: f64,
    pub rho_c: f64,
}

impl Second {
    pub fn new(spec: &SecondAsset, dt: f64) -> Second {
        Second {
            drift: (spec.mu - 0.5 * spec.sigma * spec.sigma) * dt,
            vol: spec.sigma * dt.sqrt(),
            rho: spec.rho,
            rho_c: (1.0 - spec.rho * spec.rho).max(0.0).sqrt(),
        }
    }
}
