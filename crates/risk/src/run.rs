//! A risk run: the grid of configurations, the paths in blocks across threads, shards and
//! their merge.
//!
//! Paths are cut into fixed blocks of [`BLOCK`] ids; each block's accumulators are built by
//! one thread and the blocks are added in any order. Every sum is an integer, so the result
//! has the same bits on any thread count, and a shard (a range of whole blocks) merged with
//! the others gives exactly what one run gives.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use levfarm_core::price::Price;
use levfarm_risk_spec::{PriceModelSpec, RiskSpec};
use levfarm_sim::data::PriceSeries;
use levfarm_sim::scenario::{BorrowSide, PoolKind, Scenario, UtilizationModel};
use levfarm_sim::world::{self, YEAR};
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::kernel::{Setup, StepInput};
use crate::paths::{normal, path_rng, Model, Second, Stream};
use crate::stats::{Accum, PathResult, Summary};
use crate::RiskError;

/// Paths per block: the unit of work and of sharding.
pub const BLOCK: u64 = 64;

/// One configuration of the grid.
#[derive(Debug, Clone)]
pub struct Config {
    pub label: String,
    /// The grid's settings, e.g. `("position.leverage", "3")`.
    pub settings: Vec<(String, String)>,
    pub scenario: Scenario,
    pub setup: Setup,
    /// Index of its path inputs among [`Plan::inputs`].
    inputs: usize,
}

/// How the paths' inputs are drawn: the parts of the scenario the futures depend on.
#[derive(Debug, Clone)]
pub struct Inputs {
    model: Model,
    second: Option<Second>,
    utilization: UtilizationModel,
    reward_start: f64,
    reward_drift: f64,
    reward_vol: f64,
    hazard_p: f64,
    severity: f64,
    /// The bridge's step volatility, when protection races the liquidators inside a step.
    bridge_vol: Option<f64>,
    keeper_failure_rate: f64,
    /// The opened position's id, which the keepers' failures hash with the bar's time.
    position: u64,
    key: String,
}

/// Everything a run needs, built once.
#[derive(Debug, Clone)]
pub struct Plan {
    pub spec: RiskSpec,
    pub configs: Vec<Config>,
    pub inputs: Vec<Inputs>,
    pub start_price: f64,
    pub steps: u32,
    pub years: f64,
    /// Steps at which the fan is sampled (0 = the start).
    pub fan_steps: Vec<u32>,
    /// A digest of everything the results depend on; partials must share it to merge.
    pub fingerprint: String,
    pub model_note: String,
    /// The base scenario's position in words: the side, the tokens, the pool (a sweep may
    /// change any of them per configuration; each configuration's label says how).
    pub position_note: String,
    pub base: Scenario,
    pub sweeps: Vec<(String, Vec<String>)>,
}

/// A run's (or a shard's) results: per configuration, the accumulated paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    pub format: String,
    pub fingerprint: String,
    /// The scenario and grid that made it, so a merge can rebuild the plan.
    pub scenario: levfarm_sim::Scenario,
    pub sweeps: Vec<(String, Vec<String>)>,
    pub paths: u64,
    /// The blocks this partial covers, `[first, end)`.
    pub blocks: (u64, u64),
    pub shard: (u64, u64),
    pub accums: Vec<Accum>,
}

pub const PARTIAL_FORMAT: &str = "levfarm-risk-partial/1";

impl Plan {
    /// Expands the grid (leverages × sweeps), opens each configuration's position once with
    /// the exact engine, and prepares the price model (bootstrap returns from `prices`).
    pub fn new(
        base: &Scenario,
        sweeps: &[(String, Vec<String>)],
        prices: Option<&PriceSeries>,
    ) -> Result<Plan, RiskError> {
        let spec = base.risk.clone();
        let mut grid: Vec<(String, Vec<String>)> = Vec::new();
        if !spec.leverages.is_empty() && !sweeps.iter().any(|(k, _)| k == "position.leverage") {
            grid.push((
                "position.leverage".into(),
                spec.leverages.iter().map(|l| format!("{l}")).collect(),
            ));
        }
        grid.extend(sweeps.iter().cloned());
        let combos = levfarm_sim::run::combinations(base, &grid)?;
        let token1 = base.pair()[1];
        if let (Some((path, _)), None) = (base.history_of(token1), &spec.second_asset) {
            let key = base.history_key(token1);
            return Err(RiskError::Input(format!(
                "{key}: the pool's second token, {token1}, has a history of its own ({path}), so \
                 its futures need a model: set risk.second_asset (its price at the start, mu, \
                 sigma and its correlation rho with the first)"
            )));
        }
        // The pool's price of the asset in the stable token at the data's last bar: the asset's
        // close over the stable token's where it has a history.
        let start_price = match spec.start_price {
            Some(p) => p,
            None => prices
                .and_then(|p| {
                    let last = world::wad_to_f64(p.closes.last()?.0);
                    Some(p.quote.last().map_or(last, |q| last / world::wad_to_f64(q.0)))
                })
                .unwrap_or(2000.0),
        };
        let dt = spec.step_seconds();
        let steps = u32::try_from(spec.steps())
            .map_err(|_| RiskError::Input("risk: too many steps".into()))?;
        let years = f64::from(steps) * dt as f64 / YEAR;
        let returns: Option<Arc<[f64]>> = match (&spec.model, prices) {
            (PriceModelSpec::Bootstrap { .. }, Some(p)) => {
                if p.interval != dt {
                    return Err(RiskError::Input(format!(
                        "risk.model: bootstrap draws the data's {}-second returns, but \
                         risk.steps_per_day = {} makes {}-second steps",
                        p.interval, spec.steps_per_day, dt
                    )));
                }
                Some(log_returns(&p.closes).into())
            }
            (PriceModelSpec::Bootstrap { .. }, None) => {
                return Err(RiskError::Input("risk.model: bootstrap needs price data".into()))
            }
            _ => None,
        };
        // With the stable token's own history, the bootstrap draws its returns on the same bars.
        let paired: Option<Vec<f64>> = match (&returns, prices) {
            (Some(_), Some(p)) if p.quote.len() == p.closes.len() => Some(log_returns(&p.quote)),
            _ => None,
        };
        if let Some(r) = &returns {
            if r.len() < 2 {
                return Err(RiskError::Input("risk.model: too few returns to bootstrap".into()));
            }
        }
        // The other pairs' tokens stand at their last closes: nothing in a path moves them. With
        // a second asset the market is priced in the pair's second token, so they are too.
        let in_second = spec.second_asset.map_or(1.0, |s| s.price);
        let others: Vec<Price> = match prices {
            Some(p) => p
                .others
                .iter()
                .filter_map(|(_, c)| c.last())
                .map(|c| levfarm_sim::world::price_from_f64(world::wad_to_f64(c.0) / in_second))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let mut configs = Vec::new();
        let mut inputs: Vec<Inputs> = Vec::new();
        let price = levfarm_sim::world::price_from_f64(start_price)?;
        for (combo, mut scenario) in combos {
            if let Some(u) = &scenario.risk.utilization {
                scenario.market.utilization = u.clone();
            }
            if let Some(second) = &spec.second_asset {
                in_stable_units(&mut scenario, second.price);
            }
            if let UtilizationModel::History { .. } | UtilizationModel::Bars { .. } =
                scenario.market.utilization
            {
                return Err(RiskError::Input(
                    "market.utilization: a history is one path; set risk.utilization to a \
                     constant or mean_reverting model"
                        .into(),
                ));
            }
            crate::kernel::check_supported(&scenario)?;
            let seconds = u64::from(steps) * dt + 86_400;
            let opened =
                levfarm_sim::backtest::open_at(&scenario, Price(price.0), &others, seconds)
                    .map_err(|e| {
                        let at: Vec<String> =
                            combo.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        let message = format!("configuration {}: {e}", at.join(", "));
                        match e {
                            // A protocol "no" (a leverage past the work factor), not bad input.
                            levfarm_sim::SimError::Engine(_)
                            | levfarm_sim::SimError::Refused(_) => RiskError::Refused(message),
                            _ => RiskError::Input(message),
                        }
                    })?;
            let setup = Setup::new(&scenario, &opened, dt)?;
            let inp =
                Inputs::new(&scenario, dt, returns.clone(), paired.as_deref(), opened.position);
            let idx = match inputs.iter().position(|i| i.key == inp.key) {
                Some(i) => i,
                None => {
                    inputs.push(inp);
                    inputs.len() - 1
                }
            };
            let label = if combo.is_empty() {
                format!("{}x", scenario.position.leverage)
            } else {
                combo
                    .iter()
                    .map(|(k, v)| match k.as_str() {
                        "position.leverage" => format!("{v}x"),
                        _ => format!("{}={v}", k.rsplit('.').next().unwrap_or(k)),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            configs.push(Config { label, settings: combo, scenario, setup, inputs: idx });
        }
        let points = spec.fan_points.max(2);
        let fan_steps = (0..points)
            .map(|i| (u64::from(steps) * u64::from(i) / u64::from(points - 1)) as u32)
            .collect();
        let fingerprint = fingerprint(base, sweeps, start_price);
        let model_note = match &returns {
            Some(r) => format!("{}; {}", describe_model(&spec.model), data_drift_note(r, dt)),
            None => describe_model(&spec.model),
        };
        let model_note = match (&paired, &spec.second_asset) {
            (Some(_), Some(s)) => format!(
                "{model_note}; the stable token's returns drawn on the same bars (a joint \
                 bootstrap of both histories), re-centred to a drift of {} a year",
                s.mu
            ),
            _ => model_note,
        };
        let position_note = describe_position(base);
        Ok(Plan {
            spec,
            configs,
            inputs,
            start_price,
            steps,
            years,
            fan_steps,
            fingerprint,
            model_note,
            position_note,
            base: base.clone(),
            sweeps: sweeps.to_vec(),
        })
    }

    pub fn blocks(&self) -> u64 {
        self.spec.paths.div_ceil(BLOCK)
    }

    /// The blocks of shard `i` of `n` (0-based): contiguous, all shards covering all blocks.
    pub fn shard_blocks(&self, i: u64, n: u64) -> (u64, u64) {
        let b = self.blocks();
        (b * i / n, b * (i + 1) / n)
    }

    /// Runs blocks `[first, end)`; `done` counts finished paths, `stop` cancels.
    pub fn run(
        &self,
        blocks: (u64, u64),
        shard: (u64, u64),
        done: &AtomicU64,
        stop: &AtomicBool,
    ) -> Result<Partial, RiskError> {
        let empty = || self.empty();
        // Each worker folds its blocks into one set of accumulators (integer sums: the order
        // does not matter), so memory stays at a few sets per thread.
        let accums = (blocks.0..blocks.1)
            .into_par_iter()
            .try_fold(empty, |mut accs, b| {
                if stop.load(Ordering::Relaxed) {
                    return Err(RiskError::Interrupted);
                }
                self.block(b, &mut accs);
                done.fetch_add(self.block_paths(b), Ordering::Relaxed);
                Ok(accs)
            })
            .try_reduce(empty, |mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    x.merge(y);
                }
                Ok(a)
            })?;
        let paths = (blocks.0..blocks.1).map(|b| self.block_paths(b)).sum();
        Ok(Partial {
            format: PARTIAL_FORMAT.into(),
            fingerprint: self.fingerprint.clone(),
            scenario: self.base.clone(),
            sweeps: self.sweeps.clone(),
            paths,
            blocks,
            shard,
            accums,
        })
    }

    fn empty(&self) -> Vec<Accum> {
        self.configs
            .iter()
            .map(|_| Accum::new(self.spec.horizon_days, self.fan_steps.len()))
            .collect()
    }

    fn block_paths(&self, b: u64) -> u64 {
        let first = b * BLOCK;
        (first + BLOCK).min(self.spec.paths) - first
    }

    /// Adds one block's paths to `accs`.
    fn block(&self, b: u64, accs: &mut [Accum]) {
        let mut buf: Vec<Vec<StepInput>> = vec![Vec::new(); self.inputs.len()];
        let mut fan = vec![0.0; self.fan_steps.len()];
        let first = b * BLOCK;
        for path in first..first + self.block_paths(b) {
            for (i, inp) in self.inputs.iter().enumerate() {
                inp.fill(
                    &mut buf[i],
                    self.spec.seed,
                    path,
                    self.start_price,
                    self.steps,
                    self.spec.step_seconds(),
                );
            }
            for (c, acc) in self.configs.iter().zip(accs.iter_mut()) {
                let r = self.path(c, &buf[c.inputs], &mut fan);
                acc.add(&r, self.spec.steps_per_day, &fan);
            }
        }
    }

    /// Runs one configuration over one path's inputs; fills the fan's multiples.
    pub fn path(&self, c: &Config, inputs: &[StepInput], fan: &mut [f64]) -> PathResult {
        let contributed = c.setup.contributed;
        let mut next_fan = 0;
        if let Some(f) = fan.first_mut() {
            if self.fan_steps[0] == 0 {
                *f = c.setup.equity(
                    &c.setup.start(),
                    self.start_price,
                    inputs.first().map_or(0.0, |i| i.reward_price),
                ) / contributed;
                next_fan = 1;
            }
        }
        let fan_steps = &self.fan_steps;
        let mut it = inputs.iter().copied();
        let out = c.setup.run(self.start_price, &mut it, |step, equity| {
            while next_fan < fan_steps.len() && fan_steps[next_fan] == step {
                let num = inputs[step as usize - 1].numeraire;
                fan[next_fan] = equity * num / contributed;
                next_fan += 1;
            }
        });
        let num = inputs.last().map_or(1.0, |i| i.numeraire);
        PathResult {
            multiple: out.equity * num / contributed,
            years: self.years,
            liquidated_step: out.liquidated,
            stopped: out.closed.is_some() && out.equity < c.setup.contributed,
            took_profit: out.closed.is_some() && out.equity >= c.setup.contributed,
            hazards: out.hazards,
            bad_debt: out.bad_debt,
        }
    }

    /// One path's inputs for configuration `c` (for tests and the differential check).
    pub fn inputs_of(&self, c: usize, path: u64) -> Vec<StepInput> {
        let mut buf = Vec::new();
        self.inputs[self.configs[c].inputs].fill(
            &mut buf,
            self.spec.seed,
            path,
            self.start_price,
            self.steps,
            self.spec.step_seconds(),
        );
        buf
    }

    /// Merges partials into the full result: they must share the fingerprint and cover every
    /// block exactly once.
    pub fn merge(parts: &[Partial]) -> Result<Partial, RiskError> {
        if parts.len() > 100_000 {
            return Err(RiskError::Input("merge: more than 100,000 partials".into()));
        }
        let Some(first) = parts.first() else {
            return Err(RiskError::Input("merge: no partial results given".into()));
        };
        let mut sorted: Vec<&Partial> = parts.iter().collect();
        sorted.sort_by_key(|p| p.blocks);
        let mut at = 0;
        for p in &sorted {
            if p.format != PARTIAL_FORMAT {
                return Err(RiskError::Input(format!("merge: unknown format {:?}", p.format)));
            }
            if p.fingerprint != first.fingerprint {
                return Err(RiskError::Input(format!(
                    "merge: shard {}/{} was run with other settings (fingerprint {} vs {})",
                    p.shard.0 + 1,
                    p.shard.1,
                    p.fingerprint,
                    first.fingerprint
                )));
            }
            if p.blocks.0 != at {
                return Err(RiskError::Input(if p.blocks.0 < at {
                    format!(
                        "merge: shard {}/{} overlaps another (given twice?)",
                        p.shard.0 + 1,
                        p.shard.1
                    )
                } else {
                    format!(
                        "merge: blocks {at}..{} are missing (a shard was not given)",
                        p.blocks.0
                    )
                }));
            }
            if p.accums.len() != first.accums.len()
                || p.accums.iter().zip(&first.accums).any(|(a, b)| !a.compatible(b))
            {
                return Err(RiskError::Input("merge: partials of different shapes".into()));
            }
            // The same fingerprint must mean the same settings: a scenario edited in one
            // file is caught here, not later as "a shard is missing".
            if p.scenario != first.scenario || p.sweeps != first.sweeps {
                return Err(RiskError::Input(format!(
                    "merge: shard {}/{} carries other settings than shard {}/{} under the same \
                     fingerprint (was a file edited?)",
                    p.shard.0 + 1,
                    p.shard.1,
                    first.shard.0 + 1,
                    first.shard.1
                )));
            }
            check_partial(p)?;
            at = p.blocks.1;
        }
        let mut total = sorted[0].clone();
        for p in &sorted[1..] {
            for (a, b) in total.accums.iter_mut().zip(&p.accums) {
                a.merge(b);
            }
            total.paths += p.paths;
        }
        total.blocks = (sorted[0].blocks.0, at);
        total.shard = (0, 1);
        Ok(total)
    }

    /// Whether `p` covers all of this plan's blocks.
    pub fn complete(&self, p: &Partial) -> bool {
        p.blocks == (0, self.blocks()) && p.fingerprint == self.fingerprint
    }

    /// Each configuration's figures.
    pub fn summaries(&self, p: &Partial) -> Vec<Summary> {
        p.accums.iter().map(|a| a.summary(self.years, self.spec.steps_per_day)).collect()
    }
}

impl Inputs {
    fn new(
        scenario: &Scenario,
        dt: u64,
        returns: Option<Arc<[f64]>>,
        paired: Option<&[f64]>,
        position: u64,
    ) -> Inputs {
        let spec = &scenario.risk;
        let years = dt as f64 / YEAR;
        let r = &scenario.market.rewards;
        // The backtest's yearly decay as a drift; a volatile reward token on top of it.
        // The smart-contract hazard of the position's venue: its own, or `risk.hazard`.
        let hazard = scenario
            .market
            .venues
            .get(&scenario.position.venue)
            .and_then(|v| v.hazard)
            .unwrap_or(spec.hazard);
        let hazard_p = 1.0 - (1.0 - hazard.probability_per_year).powf(years);
        let key = serde_json::to_string(&(
            &spec.model,
            &scenario.keepers,
            &spec.second_asset,
            &scenario.market.utilization,
            r.price,
            spec.reward,
            hazard,
        ))
        .unwrap_or_default();
        let second_drift = spec.second_asset.map_or(0.0, |s| s.mu * years);
        let model = Model::new(&spec.model, years, returns).paired_with(paired, second_drift);
        let k = &scenario.keepers;
        Inputs {
            bridge_vol: k.intrabar.then(|| model.bridge_vol()),
            keeper_failure_rate: k.failure_rate,
            position,
            model,
            second: spec.second_asset.as_ref().map(|s| Second::new(s, years)),
            utilization: scenario.market.utilization.clone(),
            reward_start: r.price,
            reward_drift: spec.reward.drift - 0.5 * spec.reward.volatility.powi(2),
            reward_vol: spec.reward.volatility * years.sqrt(),
            hazard_p,
            severity: hazard.severity,
            key,
        }
    }

    /// Draws path `path`'s steps into `buf`.
    fn fill(&self, buf: &mut Vec<StepInput>, seed: u64, path: u64, p0: f64, steps: u32, dt: u64) {
        buf.clear();
        let mut gen = self.model.path(seed, path);
        let mut second_rng = path_rng(seed, path, Stream::Second);
        let mut u_rng = path_rng(seed, path, Stream::Utilization);
        let mut r_rng = path_rng(seed, path, Stream::Reward);
        let mut h_rng = path_rng(seed, path, Stream::Hazard);
        let mut b_rng = path_rng(seed, path, Stream::Bridge);
        // The backtester's rule for a keeper's failure, with the path's own seed: a backtest of
        // this path with `keepers.seed` = [`keeper_seed`] fails on the same steps.
        let k_seed = keeper_seed(seed, path);
        let (mut log_p, mut log_n, mut w) = (p0.ln(), 0.0f64, 0.0f64);
        let years = dt as f64 / YEAR;
        let (mean_logit, decay, sd) = match self.utilization {
            UtilizationModel::MeanReverting { mean, speed_per_year, volatility, .. } => {
                let decay = (-speed_per_year * years).exp();
                let sd = volatility * ((1.0 - decay * decay) / (2.0 * speed_per_year)).sqrt();
                (logit(mean), decay, sd)
            }
            _ => (0.0, 0.0, 0.0),
        };
        let mut x = mean_logit;
        for i in 0..steps {
            let mut z = 0.0;
            let before = log_p - log_n;
            log_p += gen.next(&mut z);
            if let Some(s) = &self.second {
                log_n +=
                    if self.model.is_paired() { gen.paired() } else { s.next(&mut second_rng, z) };
            }
            let utilization = match self.utilization {
                UtilizationModel::Constant { value } => value,
                UtilizationModel::MeanReverting { .. } => {
                    x = mean_logit + (x - mean_logit) * decay + sd * normal(&mut u_rng);
                    (1.0 / (1.0 + (-x).exp())).clamp(0.0, 0.99)
                }
                UtilizationModel::History { .. } | UtilizationModel::Bars { .. } => 0.0,
            };
            let t = f64::from(i + 1) * years;
            if self.reward_vol > 0.0 {
                w += self.reward_vol * normal(&mut r_rng);
            }
            let reward_price = (self.reward_start * (self.reward_drift * t + w).exp()).max(1e-12);
            let hazard = self.hazard_p > 0.0 && h_rng.random::<f64>() < self.hazard_p;
            // Without a second asset the numeraire stays at 1 (exp(0) exactly), without a call.
            let numeraire = if self.second.is_some() { log_n.exp() } else { 1.0 };
            let after = log_p - log_n;
            // The step's low and high: the extremes of a Brownian bridge from the last close
            // to this one with the model's step volatility (each its own uniform draw).
            let range = self.bridge_vol.map(|vol| {
                let spread = |u: f64| ((after - before).powi(2) - 2.0 * vol * vol * u.ln()).sqrt();
                let u_low: f64 = 1.0 - b_rng.random::<f64>();
                let u_high: f64 = 1.0 - b_rng.random::<f64>();
                [
                    ((before + after - spread(u_low)) / 2.0).exp(),
                    ((before + after + spread(u_high)) / 2.0).exp(),
                ]
            });
            let t = i64::try_from(u64::from(i + 1) * dt).unwrap_or(i64::MAX);
            let keeper_failed = levfarm_sim::backtest::keeper_failed(
                k_seed,
                t,
                self.position,
                self.keeper_failure_rate,
            );
            buf.push(StepInput {
                price: after.exp(),
                reward_price,
                utilization,
                hazard,
                severity: self.severity,
                numeraire,
                range,
                keeper_failed,
            });
        }
    }
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// A partial's own invariants: its blocks within its scenario's paths, its path count the
/// blocks', and every configuration's counts within it.
fn check_partial(p: &Partial) -> Result<(), RiskError> {
    let shard = format!("merge: shard {}/{}", p.shard.0 + 1, p.shard.1);
    let total = p.scenario.risk.paths;
    let blocks = total.div_ceil(BLOCK);
    if p.blocks.0 >= p.blocks.1 || p.blocks.1 > blocks {
        return Err(RiskError::Input(format!(
            "{shard}: blocks {}..{} are not within the run's 0..{blocks}",
            p.blocks.0, p.blocks.1
        )));
    }
    let paths = (p.blocks.1 * BLOCK).min(total) - p.blocks.0 * BLOCK;
    if p.paths != paths {
        return Err(RiskError::Input(format!(
            "{shard}: says {} paths where its blocks hold {paths}",
            p.paths
        )));
    }
    for (i, a) in p.accums.iter().enumerate() {
        a.check(paths)
            .map_err(|m| RiskError::Input(format!("{shard}: configuration {}: {m}", i + 1)))?;
    }
    Ok(())
}

/// Log returns of a close series.
pub fn log_returns(closes: &[Price]) -> Vec<f64> {
    closes
        .windows(2)
        .map(|w| (world::wad_to_f64(w[1].0) / world::wad_to_f64(w[0].0)).ln())
        .collect()
}

/// The drift the data's own returns show, with its standard error: what the bootstrap takes
/// out. `dt` is the step in seconds.
fn data_drift_note(returns: &[f64], dt: u64) -> String {
    let n = returns.len().max(1) as f64;
    let step = dt as f64 / YEAR;
    let mean = returns.iter().sum::<f64>() / n;
    let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    let mu = mean / step + 0.5 * var / step;
    let se = (var / step).sqrt() / (n * step).sqrt();
    format!(
        "the data's own price drift, {mu:.2} ± {se:.2} a year (one standard error), is not used"
    )
}

fn describe_model(m: &PriceModelSpec) -> String {
    match m {
        PriceModelSpec::Gbm { mu, sigma } => format!("GBM, drift {mu}, volatility {sigma}"),
        PriceModelSpec::Merton { mu, sigma, lambda, jump_mean, jump_std } => format!(
            "Merton jump-diffusion, drift {mu}, volatility {sigma}, {lambda} jumps/yr of \
             N({jump_mean}, {jump_std}²)"
        ),
        PriceModelSpec::Garch { mu, omega, alpha, beta } => {
            format!("GARCH(1,1), drift {mu}, ω {omega:e}, α {alpha}, β {beta}")
        }
        PriceModelSpec::Bootstrap { block_hours, mu } => format!(
            "block bootstrap of the data's returns, {block_hours}-step blocks, re-centred to a \
             price drift of {mu} a year"
        ),
    }
}

fn describe_position(s: &Scenario) -> String {
    let [asset, stable] = s.pair();
    let side = match s.position.borrow {
        BorrowSide::Stable => format!("long {asset}, borrowing {stable}"),
        BorrowSide::Asset => format!("short {asset}, borrowing {asset}"),
        BorrowSide::Both => format!("borrowing {asset} and {stable}"),
    };
    let fee = f64::from(s.pool().fee_bps) / 100.0;
    let pool = match s.pool().kind {
        PoolKind::ConstantProduct => format!("a {asset}/{stable} constant-product pool"),
        PoolKind::V3 => match s.position.range {
            Some(b) => format!(
                "a range from {}x to {}x the opening price on a {asset}/{stable} v3 pool",
                b.lower, b.upper
            ),
            None => format!(
                "a range {} ticks wide on a {asset}/{stable} v3 pool",
                s.position.range_width_ticks
            ),
        },
    };
    format!("{side}, in {pool} ({fee:.2}% fee)")
}

/// With a second asset the paths' market is priced in the stable token (its price in the
/// numeraire is the second asset's path), so the scenario's amounts in the numeraire (equity,
/// the pool's value, lenders' supply, a top-up reserve, gas, the reward token's price, stop and
/// take-profit prices) are converted at the stable token's price at the start, as the
/// backtester converts them at the stable token's close.
fn in_stable_units(s: &mut Scenario, stable_price: f64) {
    let to = |v: &mut f64| *v /= stable_price;
    to(&mut s.position.equity);
    to(&mut s.market.pool.tvl);
    for pool in s.market.pools.values_mut() {
        to(&mut pool.tvl);
    }
    to(&mut s.market.rewards.price);
    to(&mut s.costs.gas_per_action);
    for spec in s.market.lending.values_mut() {
        to(&mut spec.supply);
    }
    for venue in s.market.venues.values_mut() {
        for spec in venue.lending.values_mut() {
            to(&mut spec.supply);
        }
    }
    let p = &mut s.protection;
    if let Some(t) = &mut p.top_up {
        to(&mut t.reserve);
    }
    for price in [&mut p.stop_loss_price, &mut p.take_profit_price].into_iter().flatten() {
        to(price);
    }
}

/// The keepers' seed of path `path` of a run seeded `seed`: the backtester's `keepers.seed`
/// under which a backtest of the path's prices fails its keeper on the same bars.
pub fn keeper_seed(seed: u64, path: u64) -> u64 {
    crate::paths::path_seed(seed, path, Stream::Keeper)
}

/// FNV-1a over the canonical JSON of what the results depend on.
fn fingerprint(base: &Scenario, sweeps: &[(String, Vec<String>)], start_price: f64) -> String {
    let text = serde_json::to_string(&(base, sweeps, start_price, env!("CARGO_PKG_VERSION")))
        .unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
