//! Price paths: per-path seeded generators for each model.
//!
//! A path's randomness comes from generators seeded by `(seed, path id, stream)` alone, so a
//! path is the same whatever thread, shard or configuration runs it: every leverage in a grid
//! sees the same futures (common random numbers), and any subset of paths can be re-run.

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

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

    /// A fresh path of this model.
    pub fn path(&self, seed: u64, path: u64) -> PathGen<'_> {
        PathGen {
            model: self,
            rng: path_rng(seed, path, Stream::Price),
            h: match self {
                Model::Garch { h0, .. } => *h0,
                _ => 0.0,
            },
            last_e: 0.0,
            cursor: 0,
            left: 0,
            paired: 0.0,
        }
    }
}

/// The generator of one path's log returns.
#[derive(Debug, Clone)]
pub struct PathGen<'m> {
    model: &'m Model,
    rng: Xoshiro256PlusPlus,
    h: f64,
    last_e: f64,
    cursor: usize,
    left: usize,
    /// The stable token's return on the bar the last step drew (a paired bootstrap).
    paired: f64,
}

impl PathGen<'_> {
    /// The stable token's log return on the bar the last step drew, where the model pairs it.
    #[inline]
    pub fn paired(&self) -> f64 {
        self.paired
    }

    /// The next step's log return; `z` receives the step's diffusion shock (for a correlated
    /// second asset).
    #[inline]
    pub fn next(&mut self, z: &mut f64) -> f64 {
        match self.model {
            Model::Gbm { drift, vol } => {
                *z = normal(&mut self.rng);
                drift + vol * *z
            }
            Model::Merton { drift, vol, jump_p, jump_mean, jump_std } => {
                *z = normal(&mut self.rng);
                let mut r = drift + vol * *z;
                let u: f64 = self.rng.random();
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
                    for _ in 0..n {
                        r += jump_mean + jump_std * normal(&mut self.rng);
                    }
                }
                r
            }
            Model::Garch { drift, omega, alpha, beta, .. } => {
                self.h = omega + alpha * self.last_e * self.last_e + beta * self.h;
                *z = normal(&mut self.rng);
                let e = self.h.sqrt() * *z;
                self.last_e = e;
                drift - 0.5 * self.h + e
            }
            Model::Bootstrap { returns, paired, block, .. } => {
                if self.left == 0 {
                    let n = returns.len();
                    let span = n.saturating_sub(*block).max(1);
                    self.cursor = self.rng.random_range(0..span);
                    self.left = (*block).min(n);
                }
                let r = returns[self.cursor];
                if let Some(second) = paired {
                    self.paired = second.get(self.cursor).copied().unwrap_or(0.0);
                }
                self.cursor += 1;
                self.left -= 1;
                *z = 0.0;
                r
            }
        }
    }
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

/// The second asset's per-step constants and its own generator.
#[derive(Debug, Clone)]
pub struct Second {
    drift: f64,
    vol: f64,
    rho: f64,
    rho_c: f64,
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

    /// The next log return, correlated with the asset's shock `z` (a bootstrap's shock is 0:
    /// the second asset then moves independently).
    #[inline]
    pub fn next(&self, rng: &mut Xoshiro256PlusPlus, z: f64) -> f64 {
        let w = normal(rng);
        self.drift + self.vol * (self.rho * z + self.rho_c * w)
    }
}
