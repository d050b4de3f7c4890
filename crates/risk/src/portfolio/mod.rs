//! The Monte Carlo of a portfolio: its assets' joint futures ([`joint`]), each position run by
//! the same kernel as a single position's risk on the prices its pair sees in them, and the
//! portfolio's figures: the probability that any position is liquidated, the expected number
//! liquidated, VaR and CVaR at 95% and 99%, each position's contribution to CVaR, the
//! diversification ratio, venue failures, and the recommended allocation and leverages.
//!
//! Each position is the plan of one configuration that `levfarm risk` would make of it alone
//! ([`Plan::new`]); only its prices, numeraire and venue failures come from the joint draws in
//! place of its own. A path's results depend on `(seed, path id)` alone: the same bytes on any
//! thread count.

pub mod joint;
mod recommend;
mod stats;

use levfarm_risk_spec::{PriceModelSpec, SecondAsset};
use levfarm_sim::data::PriceSeries;
use levfarm_sim::portfolio::{cholesky, JointModel, PortfolioBacktest};
use levfarm_sim::world::{self, YEAR};
use rayon::prelude::*;

use crate::draws::{Draws, LaneBar};
use crate::kernel::Lanes;
use crate::lanes::{exp, LANES};
use crate::run::{Plan, BLOCK};
use crate::RiskError;
pub use joint::{DepegSteps, HazardSteps, Joint, JointLanes};
pub use recommend::recommend;
pub use stats::{PortfolioSummary, Recommendation, Tail};

/// One position of the portfolio's Monte Carlo.
#[derive(Debug, Clone)]
pub struct Leg {
    /// Its index among the portfolio's positions.
    pub position: usize,
    pub name: String,
    /// Its equity at the start, in the numeraire.
    pub amount: f64,
    pub plan: Plan,
    /// The assets its pool's tokens are (`None`: a token priced at 1, the stable one).
    pub tokens: [Option<usize>; 2],
    /// Whether each token is the market's stable token (which a depeg moves).
    pub stable: [bool; 2],
    pub venue: usize,
}

/// A portfolio's Monte Carlo, built once.
#[derive(Debug, Clone)]
pub struct PortfolioPlan {
    pub legs: Vec<Leg>,
    pub assets: Vec<String>,
    pub venues: Vec<String>,
    pub joint: Joint,
    pub depeg: Option<DepegSteps>,
    pub hazards: HazardSteps,
    pub paths: u64,
    pub seed: u64,
    pub steps: u32,
    pub years: f64,
    pub model_note: String,
}

/// How one path ended, for every position.
#[derive(Debug, Clone, PartialEq)]
pub struct PathOutcome {
    /// Each position's equity at the end, in the numeraire.
    pub values: Vec<f64>,
    pub liquidated: Vec<bool>,
    /// Venues that failed at least once.
    pub venues_failed: u32,
}

impl PortfolioPlan {
    /// The portfolio's positions as plans, the joint model from `[portfolio.risk]` and the
    /// histories. `leverages`, when given, replaces each position's leverage by its entry, and
    /// leaves out the positions past its end (`&[]` runs none; the paths are the same).
    pub fn new(
        pf: &PortfolioBacktest,
        leverages: Option<&[Option<f64>]>,
    ) -> Result<PortfolioPlan, RiskError> {
        let s = &pf.scenario;
        let spec =
            s.portfolio.as_ref().ok_or_else(|| RiskError::Input("not a portfolio".into()))?;
        let r = &spec.risk;
        let assets = s.portfolio_assets();
        let index = |t: &str| assets.iter().position(|a| a == t);
        let base = &s.risk;
        let dt = base.step_seconds();
        let dt_years = dt as f64 / YEAR;
        let steps = u32::try_from(base.steps())
            .map_err(|_| RiskError::Input("risk: too many steps".into()))?;
        let first = pf
            .positions
            .first()
            .ok_or_else(|| RiskError::Input("a portfolio needs positions".into()))?;
        // Each asset's closes on the common clock, from the first position's prices.
        let closes = |token: &str| -> Option<Vec<f64>> {
            let p: &PriceSeries = &first.prices;
            let [t0, t1] = first.scenario.pair();
            let series = if token == t0 {
                &p.closes
            } else if token == t1 && !p.quote.is_empty() {
                &p.quote
            } else {
                &p.others.iter().find(|(t, _)| t == token)?.1
            };
            Some(series.iter().map(|c| world::wad_to_f64(c.0)).collect())
        };
        let mut last = Vec::new();
        let mut returns = Vec::new();
        for a in &assets {
            let c = closes(a).ok_or_else(|| {
                RiskError::Internal(format!("{a}'s history is not among the prices"))
            })?;
            last.push(*c.last().unwrap_or(&1.0));
            returns.push(c.windows(2).map(|w| (w[1] / w[0]).ln()).collect::<Vec<f64>>());
        }
        let mu: Vec<f64> = assets.iter().map(|a| r.assets.get(a).map_or(0.0, |x| x.mu)).collect();
        let sample_vol = |i: usize| {
            let x = &returns[i];
            let n = x.len().max(1) as f64;
            let m = x.iter().sum::<f64>() / n;
            (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n * YEAR / dt as f64).sqrt()
        };
        let sigma: Vec<f64> = (0..assets.len())
            .map(|i| {
                r.assets.get(&assets[i]).and_then(|x| x.sigma).unwrap_or_else(|| sample_vol(i))
            })
            .collect();
        let correlation = s.portfolio_correlation();
        let block = match base.model {
            PriceModelSpec::Bootstrap { block_hours, .. } => block_hours as usize,
            _ => 24,
        };
        let (joint, model_note) = match r.model {
            JointModel::Bootstrap => {
                if first.prices.interval != dt {
                    return Err(RiskError::Input(format!(
                        "portfolio.risk.model: the bootstrap draws the data's {}-second returns, \
                         but risk.steps_per_day = {} makes {dt}-second steps",
                        first.prices.interval, base.steps_per_day
                    )));
                }
                let note = format!(
                    "a joint block bootstrap of {} ({} aligned bars, blocks of {block}), each \
                     re-centred to its drift ({})",
                    assets.join(", "),
                    returns.first().map_or(0, Vec::len),
                    drifts(&assets, &mu)
                );
                (Joint::bootstrap(&returns, &mu, dt_years, block), note)
            }
            JointModel::Gbm | JointModel::Merton => {
                let chol = cholesky(&correlation).ok_or_else(|| {
                    RiskError::Input(
                        "portfolio.risk.correlation: not positive semi-definite".into(),
                    )
                })?;
                let jumps = match (r.model, r.jumps) {
                    (JointModel::Merton, Some(j)) => Some((
                        j.lambda,
                        assets
                            .iter()
                            .map(|a| r.assets.get(a).and_then(|x| x.jump_mean).unwrap_or(j.mean))
                            .collect(),
                        assets
                            .iter()
                            .map(|a| r.assets.get(a).and_then(|x| x.jump_std).unwrap_or(j.std))
                            .collect(),
                    )),
                    _ => None,
                };
                let note = format!(
                    "correlated {} of {} (volatility {}; {}){}",
                    if jumps.is_some() { "Merton jump-diffusions" } else { "GBMs" },
                    assets.join(", "),
                    assets
                        .iter()
                        .zip(&sigma)
                        .map(|(a, s)| format!("{a} {:.0}%", s * 100.0))
                        .collect::<Vec<_>>()
                        .join(", "),
                    drifts(&assets, &mu),
                    match r.jumps.filter(|_| r.model == JointModel::Merton) {
                        Some(j) => format!(", jumps {} a year common to all", j.lambda),
                        None => String::new(),
                    }
                );
                (Joint::gaussian(&mu, &sigma, chol, jumps, dt_years), note)
            }
        };
        let stable = s.market.stable.as_str();
        // Every position's venue, in the positions' order, whichever legs run: a venue's
        // failures are drawn by its index.
        let mut venues: Vec<String> = Vec::new();
        for bt in &pf.positions {
            if !venues.contains(&bt.scenario.position.venue) {
                venues.push(bt.scenario.position.venue.clone());
            }
        }
        let mut legs = Vec::new();
        let positions = s.portfolio_positions();
        let (amounts, _) = spec.amounts();
        for (k, bt) in pf.positions.iter().enumerate() {
            let mut scenario = bt.scenario.clone();
            match leverages.map(|l| l.get(k).copied().flatten()) {
                // Left out: this leg does not run.
                Some(None) => continue,
                Some(Some(l)) => scenario.position.leverage = l,
                None => {}
            }
            scenario.risk.leverages = Vec::new();
            scenario.risk.start_price = None;
            let [t0, t1] = scenario.pair().map(str::to_owned);
            let tokens = [index(&t0), index(&t1)];
            let own = |i: Option<usize>| i.map_or(0.0, |i| mu[i]);
            scenario.risk.model = match r.model {
                JointModel::Bootstrap => {
                    PriceModelSpec::Bootstrap { block_hours: block as u32, mu: own(tokens[0]) }
                }
                _ => PriceModelSpec::Gbm {
                    mu: own(tokens[0]),
                    sigma: tokens[0].map_or(0.0, |i| sigma[i]),
                },
            };
            scenario.risk.second_asset = tokens[1].map(|i| SecondAsset {
                price: last[i],
                mu: mu[i],
                sigma: sigma[i],
                rho: tokens[0].map_or(0.0, |j| correlation[i][j]),
            });
            let v = venues.iter().position(|x| *x == scenario.position.venue).unwrap_or(0);
            let name = positions.get(k).map_or_else(String::new, |p| p.name.clone());
            let plan = Plan::new(&scenario, &[], Some(&bt.prices)).map_err(|e| match e {
                RiskError::Refused(m) => RiskError::Refused(format!("{name}: {m}")),
                e => RiskError::Input(format!("{name}: {e}")),
            })?;
            legs.push(Leg {
                position: k,
                name,
                amount: amounts[k],
                plan,
                tokens,
                stable: [t0 == stable, t1 == stable],
                venue: v,
            });
        }
        let per_step = |p: f64| 1.0 - (1.0 - p).powf(dt_years);
        let hazards = HazardSteps {
            venues: venues
                .iter()
                .map(|v| {
                    let h = s.market.venues.get(v).and_then(|x| x.hazard).unwrap_or(base.hazard);
                    per_step(h.probability_per_year)
                })
                .collect(),
            common: r.common_hazard.map_or(0.0, |h| per_step(h.probability_per_year)),
        };
        let depeg = r.depeg.map(|d| DepegSteps {
            p: per_step(d.probability_per_year),
            depth: d.depth,
            keep: 0.5f64.powf(dt as f64 / (d.half_life_days * 86_400.0)),
        });
        Ok(PortfolioPlan {
            legs,
            assets,
            venues,
            joint,
            depeg,
            hazards,
            paths: base.paths,
            seed: base.seed,
            steps,
            years: f64::from(steps) * dt_years,
            model_note,
        })
    }

    /// Every path's outcome, in path order: blocks of [`BLOCK`] paths across threads.
    pub fn run(&self) -> Vec<PathOutcome> {
        let blocks = self.paths.div_ceil(BLOCK);
        (0..blocks)
            .into_par_iter()
            .map(|b| {
                let first = b * BLOCK;
                let end = (first + BLOCK).min(self.paths);
                let mut out = Vec::new();
                let mut start = first;
                while start < end {
                    let paths: Vec<u64> = (start..(start + LANES as u64).min(end)).collect();
                    out.extend(self.lanes(&paths));
                    start += LANES as u64;
                }
                out
            })
            .collect::<Vec<_>>()
            .concat()
    }

    /// `paths` (at most [`LANES`]) through every position, compiled for the widest vectors
    /// the machine has.
    pub fn lanes(&self, paths: &[u64]) -> Vec<PathOutcome> {
        pulp::Arch::new().dispatch(Worker { plan: self, paths })
    }

    #[inline(always)]
    fn lanes_body(&self, paths: &[u64]) -> Vec<PathOutcome> {
        let n = paths.len();
        let mut joint = JointLanes::new(&self.joint, self.venues.len(), self.seed, paths);
        let mut draws: Vec<Draws<'_>> = Vec::with_capacity(self.legs.len());
        let mut states: Vec<Lanes> = Vec::with_capacity(self.legs.len());
        let mut p0 = Vec::with_capacity(self.legs.len());
        for leg in &self.legs {
            let c = &leg.plan.configs[0];
            let inputs = &leg.plan.inputs[leg.plan.config_inputs(0)];
            draws.push(Draws::new(inputs, self.seed, paths, leg.plan.start_price));
            states.push(Lanes::new(&c.setup, n, leg.plan.start_price));
            p0.push(leg.plan.start_price.ln());
        }
        for step in 1..=self.steps {
            joint.advance(self.depeg, &self.hazards);
            for (k, leg) in self.legs.iter().enumerate() {
                let log = |t: usize| match (leg.tokens[t], leg.stable[t]) {
                    (Some(i), _) => Some(&joint.x[i]),
                    (None, true) => Some(&joint.stable),
                    (None, false) => None,
                };
                let mut after = [p0[k]; LANES];
                let mut numeraire = [1.0; LANES];
                if let Some(x0) = log(0) {
                    for l in 0..LANES {
                        after[l] += x0[l];
                    }
                }
                if let Some(x1) = log(1) {
                    for l in 0..LANES {
                        after[l] -= x1[l];
                        numeraire[l] = exp(x1[l]);
                    }
                }
                let d = &mut draws[k];
                d.advance_at(&after, &numeraire);
                d.hazard = joint.failed[leg.venue];
                let setup = &leg.plan.configs[0].setup;
                let d = &draws[k];
                states[k].step(setup, step, |l| LaneBar { draws: d, lane: l });
            }
        }
        let finals: Vec<Vec<(f64, bool)>> = self
            .legs
            .iter()
            .enumerate()
            .map(|(k, leg)| {
                let setup = &leg.plan.configs[0].setup;
                states[k]
                    .paths()
                    .iter()
                    .enumerate()
                    .map(|(l, path)| {
                        let out = setup.finish(path);
                        let num = if self.steps > 0 { draws[k].numeraire[l] } else { 1.0 };
                        (
                            out.equity * num / setup.contributed * leg.amount,
                            out.liquidated.is_some(),
                        )
                    })
                    .collect()
            })
            .collect();
        (0..n)
            .map(|l| PathOutcome {
                values: finals.iter().map(|f| f[l].0).collect(),
                liquidated: finals.iter().map(|f| f[l].1).collect(),
                venues_failed: joint.ever.iter().filter(|e| e[l]).count() as u32,
            })
            .collect()
    }
}

struct Worker<'a> {
    plan: &'a PortfolioPlan,
    paths: &'a [u64],
}

impl pulp::WithSimd for Worker<'_> {
    type Output = Vec<PathOutcome>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Vec<PathOutcome> {
        self.plan.lanes_body(self.paths)
    }
}

fn drifts(assets: &[String], mu: &[f64]) -> String {
    let parts: Vec<String> =
        assets.iter().zip(mu).map(|(a, m)| format!("{a} {:+.0}%", m * 100.0)).collect();
    format!("drift a year {}", parts.join(", "))
}
