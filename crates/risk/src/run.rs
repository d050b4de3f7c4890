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
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::draws::keeper_seed;
use crate::draws::{Draws, Inputs, LaneBar};
use crate::kernel::{Lanes, Outcome, Setup, StepInput};
use crate::lanes::LANES;
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
    /// The control variate for its liquidation probability, on GBM paths.
    pub control: Option<Control>,
}

/// A control variate for the liquidation probability: whether a path's close crossed the
/// price at which the opened position would be liquidated, whose probability GBM gives in
/// closed form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Control {
    /// The barrier: the opened position's liquidation price.
    pub barrier: f64,
    /// A long crosses it downwards, a short upwards.
    pub long: bool,
    /// The probability that a GBM path's closes cross it within the horizon.
    pub mean: f64,
}

impl Control {
    /// Whether a path whose closes ranged over `[low, high]` crossed the barrier.
    pub fn hit(&self, low: f64, high: f64) -> bool {
        if self.long {
            low <= self.barrier
        } else {
            high >= self.barrier
        }
    }
}

/// The standard normal distribution function.
fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The probability that a random walk of `steps` Gaussian steps (mean `drift`, standard
/// deviation `vol` each) falls to `b < 0` or below at one of its steps: the continuous
/// first-passage formula `Φ((b − νT)/σ√T) + e^{2νb/σ²}·Φ((b + νT)/σ√T)` with the barrier
/// moved out by `0.5826·σ` per step's root, Broadie, Glasserman and Kou's correction for a
/// barrier watched only at the steps.
pub fn first_passage_below(b: f64, drift: f64, vol: f64, steps: u32) -> f64 {
    let t = f64::from(steps);
    let b = b - 0.5826 * vol;
    let s = vol * t.sqrt();
    let reflected = (2.0 * drift * b / (vol * vol)).exp() * phi((b + drift * t) / s);
    (phi((b - drift * t) / s) + reflected).clamp(0.0, 1.0)
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
            let control = control_of(&spec, &setup, start_price, steps, dt);
            configs.push(Config { label, settings: combo, scenario, setup, inputs: idx, control });
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

    /// The index among [`Self::inputs`] of configuration `c`'s path inputs.
    pub fn config_inputs(&self, c: usize) -> usize {
        self.configs[c].inputs
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

    /// Adds one block's paths to `accs`: [`LANES`] paths at a time, each step's draws made
    /// once for them and stepped through every configuration that shares them.
    fn block(&self, b: u64, accs: &mut [Accum]) {
        let first = b * BLOCK;
        let end = first + self.block_paths(b);
        let mut start = first;
        while start < end {
            let paths: Vec<u64> = (start..(start + LANES as u64).min(end)).collect();
            self.in_lanes(&paths, |c, _, r, fan| accs[c].add(r, self.spec.steps_per_day, fan));
            start += LANES as u64;
        }
    }

    /// Runs `paths` (at most [`LANES`]) through every configuration as a run does, and hands
    /// each path's result and fan to `each(configuration, lane, result, fan)`.
    pub fn in_lanes(&self, paths: &[u64], mut each: impl FnMut(usize, usize, &PathResult, &[f64])) {
        for (i, inp) in self.inputs.iter().enumerate() {
            let configs: Vec<usize> =
                (0..self.configs.len()).filter(|&c| self.configs[c].inputs == i).collect();
            self.lanes(inp, &configs, paths, &mut each);
        }
    }

    /// Runs `paths` (at most [`LANES`]) through `configs`, which share the draws of `inp`,
    /// compiled for the widest vectors the machine has (AVX-512 or AVX2, chosen at run time;
    /// the same bits on any: the arithmetic is IEEE lane by lane, with no fused operations).
    fn lanes(
        &self,
        inp: &Inputs,
        configs: &[usize],
        paths: &[u64],
        each: &mut impl FnMut(usize, usize, &PathResult, &[f64]),
    ) {
        pulp::Arch::new().dispatch(Worker { plan: self, inp, configs, paths, each });
    }

    /// [`Self::lanes`]' body, inlined into each instruction set's copy.
    #[inline(always)]
    fn lanes_body(
        &self,
        inp: &Inputs,
        configs: &[usize],
        paths: &[u64],
        each: &mut impl FnMut(usize, usize, &PathResult, &[f64]),
    ) {
        let mut draws = Draws::new(inp, self.spec.seed, paths, self.start_price);
        let n = paths.len();
        let mut states: Vec<Lanes> = configs
            .iter()
            .map(|&c| Lanes::new(&self.configs[c].setup, n, self.start_price))
            .collect();
        let points = self.fan_steps.len();
        let mut fans = vec![vec![0.0; points * n]; configs.len()];
        let mut next_fan = vec![0usize; configs.len()];
        for step in 1..=self.steps {
            draws.advance();
            for (k, &c) in configs.iter().enumerate() {
                let setup = &self.configs[c].setup;
                if step == 1 && self.fan_steps.first() == Some(&0) {
                    // The start, marked with the first step's reward price (as `path`).
                    for l in 0..n {
                        let at_start = setup.start();
                        fans[k][l * points] =
                            setup.equity(&at_start, self.start_price, draws.reward_price[l])
                                / setup.contributed;
                    }
                    next_fan[k] = 1;
                }
                states[k].step(setup, step, |l| LaneBar { draws: &draws, lane: l });
                while next_fan[k] < points && self.fan_steps[next_fan[k]] == step {
                    for (l, path) in states[k].paths().iter().enumerate() {
                        fans[k][l * points + next_fan[k]] =
                            setup.equity_now(path) * draws.numeraire[l] / setup.contributed;
                    }
                    next_fan[k] += 1;
                }
            }
        }
        for (k, &c) in configs.iter().enumerate() {
            let setup = &self.configs[c].setup;
            for (l, path) in states[k].paths().iter().enumerate() {
                let out = setup.finish(path);
                let num = if self.steps > 0 { draws.numeraire[l] } else { 1.0 };
                let mut r = self.result(setup, &out, num);
                r.control = self.configs[c].control.map(|x| x.hit(draws.low[l], draws.high[l]));
                each(c, l, &r, &fans[k][l * points..(l + 1) * points]);
            }
        }
    }

    /// A path's result from how it ended and the numeraire at its end.
    fn result(&self, setup: &Setup, out: &Outcome, numeraire: f64) -> PathResult {
        PathResult {
            multiple: out.equity * numeraire / setup.contributed,
            years: self.years,
            liquidated_step: out.liquidated,
            stopped: out.closed.is_some() && out.equity < setup.contributed,
            took_profit: out.closed.is_some() && out.equity >= setup.contributed,
            hazards: out.hazards,
            bad_debt: out.bad_debt,
            control: None,
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
        let mut r = self.result(&c.setup, &out, num);
        let low = inputs.iter().fold(f64::INFINITY, |a, i| a.min(i.price));
        let high = inputs.iter().fold(f64::NEG_INFINITY, |a, i| a.max(i.price));
        r.control = c.control.map(|x| x.hit(low, high));
        r
    }

    /// One path's inputs for configuration `c` (for tests and the differential check).
    pub fn inputs_of(&self, c: usize, path: u64) -> Vec<StepInput> {
        self.inputs[self.configs[c].inputs].path(self.spec.seed, path, self.start_price, self.steps)
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
        p.accums
            .iter()
            .zip(&self.configs)
            .map(|(a, c)| a.summary(self.years, self.spec.steps_per_day, c.control.map(|x| x.mean)))
            .collect()
    }
}

/// The control variate of a configuration: on GBM paths of the asset in the stable token (no
/// second asset), where the opened position has a liquidation price.
fn control_of(
    spec: &RiskSpec,
    setup: &Setup,
    start_price: f64,
    steps: u32,
    dt: u64,
) -> Option<Control> {
    let PriceModelSpec::Gbm { mu, sigma } = spec.model else { return None };
    if spec.second_asset.is_some() || sigma <= 0.0 || steps == 0 {
        return None;
    }
    let years = dt as f64 / YEAR;
    let (drift, vol) = ((mu - 0.5 * sigma * sigma) * years, sigma * years.sqrt());
    let barrier = setup.liquidation_price(start_price)?;
    let b = (barrier / start_price).ln();
    let long = setup.is_long();
    // A short's barrier above is a long's below for the mirrored walk.
    let mean = if long {
        first_passage_below(b, drift, vol, steps)
    } else {
        first_passage_below(-b, -drift, vol, steps)
    };
    Some(Control { barrier, long, mean })
}

/// [`Plan::lanes`] as a [`pulp::WithSimd`] worker.
struct Worker<'a, F> {
    plan: &'a Plan,
    inp: &'a Inputs,
    configs: &'a [usize],
    paths: &'a [u64],
    each: &'a mut F,
}

impl<F: FnMut(usize, usize, &PathResult, &[f64])> pulp::WithSimd for Worker<'_, F> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        self.plan.lanes_body(self.inp, self.configs, self.paths, self.each);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use pulp::WithSimd;

    /// How a test runs the lanes: the machine's widest vectors, the plain code, or AVX2.
    #[derive(Clone, Copy)]
    enum Code {
        Machine,
        Plain,
        #[cfg(target_arch = "x86_64")]
        Avx2(pulp::x86::V3),
    }

    fn run(plan: &Plan, code: Code) -> Vec<String> {
        let paths: Vec<u64> = (0..LANES as u64).collect();
        let mut out = Vec::new();
        let mut each = |c: usize, l: usize, r: &PathResult, fan: &[f64]| {
            // Debug text, so that a NaN compares equal to itself.
            out.push(format!("{c} {l} {r:?} {fan:?}"));
        };
        for (i, inp) in plan.inputs.iter().enumerate() {
            let configs: Vec<usize> =
                (0..plan.configs.len()).filter(|&c| plan.configs[c].inputs == i).collect();
            let w = Worker { plan, inp, configs: &configs, paths: &paths, each: &mut each };
            match code {
                Code::Machine => pulp::Arch::new().dispatch(w),
                Code::Plain => w.with_simd(pulp::Scalar::new()),
                #[cfg(target_arch = "x86_64")]
                Code::Avx2(v3) => v3.vectorize(|| w.with_simd(v3)),
            }
        }
        out
    }

    #[test]
    fn plain_code_and_the_machine_vectors_give_the_same_bits() {
        // Falling paths with everything on and no protection, so that races and liquidations
        // run as well as the common steps.
        let settings = [
            ("risk.model", "{ kind = \"gbm\", mu = -0.8, sigma = 1.3 }"),
            ("risk.horizon_days", "30"),
            ("risk.paths", "16"),
            ("risk.start_price", "2000.0"),
            ("risk.leverages", "[2.0, 4.0]"),
            ("market.leverage.work_factor_bps", "8000"),
            ("protection.deleverage", "none"),
            ("risk.hazard", "{ probability_per_year = 0.9, severity = 0.2 }"),
        ];
        let scenario =
            settings.iter().fold(Scenario::default(), |s, (k, v)| s.with_value(k, v).unwrap());
        let plan = Plan::new(&scenario, &[], None).unwrap();
        let plain = run(&plan, Code::Plain);
        assert_eq!(plain.len(), 2 * LANES);
        assert!(plain.iter().any(|r| r.contains("liquidated_step: Some")), "{plain:?}");
        assert_eq!(run(&plan, Code::Machine), plain);
        #[cfg(target_arch = "x86_64")]
        if let Some(v3) = pulp::x86::V3::try_new() {
            assert_eq!(run(&plan, Code::Avx2(v3)), plain, "AVX2");
        }
    }
}
