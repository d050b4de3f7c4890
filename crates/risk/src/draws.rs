//! The paths' inputs: what each step of a future brings (the price, the reward token's price,
//! other borrowers' utilization, hazards, the bar's low and high, the keeper's failures), drawn
//! for [`LANES`] paths at once.
//!
//! Every stream of a path is seeded by `(seed, path id, stream)` alone, so a path's inputs do
//! not depend on its lane, its neighbours, the thread or the shard. The streams drawn at every
//! step (the price's, the second asset's, utilization's and the reward token's normals) are
//! Xoshiro256++ generators stepped in lanes ([`Normals`]); the draws only some steps need are
//! counter-based ([`counter`]), a function of the path and the step, so that they are made only
//! when asked for:
//! - the bar's low and high (a Brownian bridge's extremes), which only a race between
//!   protection and liquidators inside the bar reads, and only when the position is within the
//!   bridge's reach of a trigger ([`Draws::reach`] bounds it);
//! - the keeper's failure, the backtester's own hash of the bar's time;
//! - hazards, whose steps are drawn as geometric waiting times, one draw an event.

use std::sync::Arc;

use levfarm_sim::scenario::{BorrowSide, Scenario, UtilizationModel};
use levfarm_sim::world::YEAR;

use crate::kernel::{Bar, StepInput};
use crate::lanes::{exp, Normals, LANES};
use crate::paths::{counter, path_seed, uniform, Model, PriceLanes, Second, Stream};

/// `√(2E)/2` for `E = 36.75`, rounded up: `E` is at least `−ln u` of the smallest uniform the
/// bridge draws (`u = 1 − k·2⁻⁵³ ≥ 2⁻⁵³`, `−ln u ≤ 36.74`), so no bridge reaches further.
const REACH: f64 = 4.286_608;

/// How the paths' inputs are drawn: the parts of the scenario the futures depend on.
#[derive(Debug, Clone)]
pub struct Inputs {
    model: Model,
    second: Option<Second>,
    utilization: UtilizationModel,
    /// The lending pools whose utilization the paths need: the asset's, the stable token's.
    owes: [bool; 2],
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
    /// Seconds per step.
    dt: u64,
    /// Everything above, as text: configurations with the same key share their draws.
    pub key: String,
}

impl Inputs {
    pub fn new(
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
            &scenario.position.borrow,
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
            owes: match scenario.position.borrow {
                BorrowSide::Asset => [true, false],
                BorrowSide::Stable => [false, true],
                BorrowSide::Both => [true, true],
            },
            reward_start: r.price,
            reward_drift: spec.reward.drift - 0.5 * spec.reward.volatility.powi(2),
            reward_vol: spec.reward.volatility * years.sqrt(),
            hazard_p,
            severity: hazard.severity,
            dt,
            key,
        }
    }

    /// Path `path`'s steps, one [`StepInput`] each (the low and high and the keeper's
    /// failure drawn at every step).
    pub fn path(&self, seed: u64, path: u64, p0: f64, steps: u32) -> Vec<StepInput> {
        let mut draws = Draws::new(self, seed, &[path], p0);
        (0..steps)
            .map(|_| {
                draws.advance();
                draws.input(0)
            })
            .collect()
    }
}

/// The inputs of [`LANES`] paths, a step at a time: [`Draws::advance`] moves every lane to
/// its next step; the step's values are then read from the fields and methods.
#[derive(Debug, Clone)]
pub struct Draws<'a> {
    inputs: &'a Inputs,
    price_lanes: PriceLanes<'a>,
    second: Normals,
    /// The utilization of the stable token's pool, or of the one pool borrowed from, and a
    /// second stream for the asset's when the position borrows both.
    utilization_normals: [Normals; 2],
    reward: Normals,
    bridge_keys: [u64; LANES],
    hazard_keys: [u64; LANES],
    keeper_seeds: [u64; LANES],
    hazards_drawn: [u64; LANES],
    next_hazard: [u64; LANES],
    log_p: [f64; LANES],
    log_n: [f64; LANES],
    logit: [[f64; LANES]; 2],
    w: [f64; LANES],
    /// Mean-reverting utilization's constants: mean logit, decay a step, the step's spread.
    reverting: (f64, f64, f64),
    ln_survive: f64,
    /// The step drawn last, from 1.
    pub step: u64,
    /// The log price (in the stable token) at the last close and at this one.
    pub before: [f64; LANES],
    pub after: [f64; LANES],
    /// The step's close, `e^after`.
    pub price: [f64; LANES],
    pub reward_price: [f64; LANES],
    /// Other borrowers' utilization of the asset's and the stable token's lending pools (of
    /// the ones the position borrows from; the other repeats it).
    pub utilization: [[f64; LANES]; 2],
    /// The stable token's price in the numeraire relative to the start (1 unless it is a
    /// second volatile asset).
    pub numeraire: [f64; LANES],
    pub hazard: [bool; LANES],
    /// The lowest and highest close so far.
    pub low: [f64; LANES],
    pub high: [f64; LANES],
}

impl<'a> Draws<'a> {
    /// The draws of `paths` (at most [`LANES`]; the lanes after them repeat the last path),
    /// from the price `p0`.
    pub fn new(inputs: &'a Inputs, seed: u64, paths: &[u64], p0: f64) -> Draws<'a> {
        assert!(paths.len() <= LANES, "at most {LANES} paths a draw");
        let mut d = Draws {
            inputs,
            price_lanes: PriceLanes::new(&inputs.model, seed, paths),
            second: Normals::default(),
            utilization_normals: [Normals::default(), Normals::default()],
            reward: Normals::default(),
            bridge_keys: [0; LANES],
            hazard_keys: [0; LANES],
            keeper_seeds: [0; LANES],
            hazards_drawn: [0; LANES],
            next_hazard: [u64::MAX; LANES],
            log_p: [p0.ln(); LANES],
            log_n: [0.0; LANES],
            logit: [[0.0; LANES]; 2],
            w: [0.0; LANES],
            reverting: (0.0, 0.0, 0.0),
            ln_survive: (-inputs.hazard_p).ln_1p(),
            step: 0,
            before: [p0.ln(); LANES],
            after: [p0.ln(); LANES],
            price: [p0; LANES],
            reward_price: [inputs.reward_start; LANES],
            utilization: [[0.0; LANES]; 2],
            numeraire: [1.0; LANES],
            hazard: [false; LANES],
            low: [f64::INFINITY; LANES],
            high: [f64::NEG_INFINITY; LANES],
        };
        let years = inputs.dt as f64 / YEAR;
        if let UtilizationModel::MeanReverting { mean, speed_per_year, volatility, .. } =
            inputs.utilization
        {
            let decay = (-speed_per_year * years).exp();
            let sd = volatility * ((1.0 - decay * decay) / (2.0 * speed_per_year)).sqrt();
            d.reverting = (logit(mean), decay, sd);
            d.logit = [[logit(mean); LANES]; 2];
        }
        for l in 0..LANES {
            let path = paths.get(l).or(paths.last()).copied().unwrap_or(0);
            d.second.seed(l, path_seed(seed, path, Stream::Second));
            d.utilization_normals[0].seed(l, path_seed(seed, path, Stream::Utilization));
            if inputs.owes == [true, true] {
                d.utilization_normals[1].seed(l, path_seed(seed, path, Stream::Utilization0));
            }
            d.reward.seed(l, path_seed(seed, path, Stream::Reward));
            d.bridge_keys[l] = path_seed(seed, path, Stream::Bridge);
            d.hazard_keys[l] = path_seed(seed, path, Stream::Hazard);
            d.keeper_seeds[l] = keeper_seed(seed, path);
            d.next_hazard[l] = d.hazard_after(l, 0);
        }
        d
    }

    /// The step of lane `l`'s next hazard after step `now`: a geometric waiting time from the
    /// lane's next hazard draw (`u64::MAX` for never).
    fn hazard_after(&mut self, l: usize, now: u64) -> u64 {
        let p = self.inputs.hazard_p;
        if p <= 0.0 {
            return u64::MAX;
        }
        let u = 1.0 - uniform(counter(self.hazard_keys[l], self.hazards_drawn[l]));
        self.hazards_drawn[l] += 1;
        // P(wait = j) = (1 − p)^(j−1)·p for j ≥ 1.
        let wait = if p >= 1.0 { 1.0 } else { 1.0 + (u.ln() / self.ln_survive).floor() };
        if wait >= (u64::MAX - now) as f64 {
            u64::MAX
        } else {
            now + wait as u64
        }
    }

    /// Draws every lane's next step.
    #[inline(always)]
    pub fn advance(&mut self) {
        let inp = self.inputs;
        self.step += 1;
        let mut r = [0.0; LANES];
        let mut z = [0.0; LANES];
        self.price_lanes.next(&mut r, &mut z);
        self.before = self.after;
        for (log_p, r) in self.log_p.iter_mut().zip(&r) {
            *log_p += r;
        }
        if let Some(s) = &inp.second {
            if inp.model.is_paired() {
                let paired = self.price_lanes.paired();
                for (log_n, paired) in self.log_n.iter_mut().zip(paired) {
                    *log_n += paired;
                }
            } else {
                let w = self.second.draw();
                for ((log_n, z), w) in self.log_n.iter_mut().zip(&z).zip(&w) {
                    *log_n += s.drift + s.vol * (s.rho * z + s.rho_c * w);
                }
            }
            for l in 0..LANES {
                self.numeraire[l] = exp(self.log_n[l]);
            }
        }
        self.draw_rest();
        for l in 0..LANES {
            self.after[l] = self.log_p[l] - self.log_n[l];
        }
        self.close();
    }

    /// Every lane's next step with its log price (in the stable token) and the stable
    /// token's price in the numeraire given, in place of the model's: a portfolio's joint
    /// draws. The other draws are [`Self::advance`]'s.
    #[inline(always)]
    pub fn advance_at(&mut self, after: &[f64; LANES], numeraire: &[f64; LANES]) {
        self.step += 1;
        self.before = self.after;
        self.numeraire = *numeraire;
        self.draw_rest();
        self.after = *after;
        self.close();
    }

    /// A step's draws other than the price's: utilization, the reward token's price.
    #[inline(always)]
    fn draw_rest(&mut self) {
        let inp = self.inputs;
        match inp.utilization {
            UtilizationModel::Constant { value } => self.utilization = [[value; LANES]; 2],
            UtilizationModel::MeanReverting { .. } => {
                // The first stream moves the stable token's pool (or the one pool borrowed
                // from), the second the asset's when both are.
                let first = usize::from(inp.owes[1]);
                let pools: &[(usize, usize)] =
                    if inp.owes == [true, true] { &[(0, 1), (1, 0)] } else { &[(0, first)] };
                let (mean, decay, sd) = self.reverting;
                for &(stream, token) in pools {
                    let z = self.utilization_normals[stream].draw();
                    let logits = self.logit[stream].iter_mut();
                    for ((logit, u), z) in logits.zip(&mut self.utilization[token]).zip(&z) {
                        let x = mean + (*logit - mean) * decay + sd * z;
                        *logit = x;
                        *u = (1.0 / (1.0 + exp(-x))).clamp(0.0, 0.99);
                    }
                }
                if inp.owes != [true, true] {
                    self.utilization[1 - first] = self.utilization[first];
                }
            }
            UtilizationModel::History { .. } | UtilizationModel::Bars { .. } => {
                self.utilization = [[0.0; LANES]; 2]
            }
        }
        if inp.reward_vol > 0.0 {
            let z = self.reward.draw();
            for (w, z) in self.w.iter_mut().zip(&z) {
                *w += inp.reward_vol * z;
            }
        }
        let t = self.step as f64 * (inp.dt as f64 / YEAR);
        for l in 0..LANES {
            self.reward_price[l] =
                (inp.reward_start * exp(inp.reward_drift * t + self.w[l])).max(1e-12);
        }
    }

    /// The step's close from [`Self::after`]: the price, the lowest and highest closes, and
    /// the hazards due.
    #[inline(always)]
    fn close(&mut self) {
        for l in 0..LANES {
            self.price[l] = exp(self.after[l]);
            self.low[l] = self.low[l].min(self.price[l]);
            self.high[l] = self.high[l].max(self.price[l]);
        }
        for l in 0..LANES {
            self.hazard[l] = self.next_hazard[l] == self.step;
            if self.hazard[l] {
                self.next_hazard[l] = self.hazard_after(l, self.step);
            }
        }
    }

    /// The step's low and high in lane `l`, when protection races the liquidators inside a
    /// step: the extremes of a Brownian bridge from the last close to this one with the
    /// model's step volatility, each from its own uniform.
    pub fn range(&self, l: usize) -> Option<[f64; 2]> {
        let vol = self.inputs.bridge_vol?;
        let (before, after) = (self.before[l], self.after[l]);
        let spread = |u: f64| ((after - before).powi(2) - 2.0 * vol * vol * u.ln()).sqrt();
        let key = self.bridge_keys[l];
        let u_low = 1.0 - uniform(counter(key, 2 * self.step));
        let u_high = 1.0 - uniform(counter(key, 2 * self.step + 1));
        Some([
            ((before + after - spread(u_low)) / 2.0).exp(),
            ((before + after + spread(u_high)) / 2.0).exp(),
        ])
    }

    /// How far beyond the step's closes its low and high can be in lane `l`: a log distance
    /// `m` with `from/low ≤ e^m` and `high/from ≤ e^m` for every bridge drawn, where `from` is
    /// the last close; `None` when the step has no bridge. The extremes lie within
    /// `(|d| + √(d² + 2v²·E))/2` of `from` (`d` the step's log return, `v` the bridge's
    /// volatility, `E` the largest `−ln u` drawn), which is at most `|d| + v·√(2E)/2`.
    #[inline]
    pub fn reach(&self, l: usize) -> Option<f64> {
        let vol = self.inputs.bridge_vol?;
        let d = self.after[l] - self.before[l];
        Some(d.abs() + vol * REACH)
    }

    /// Whether the protection's keeper misses this step in lane `l`: the backtester's rule,
    /// with the path's keeper seed ([`keeper_seed`]).
    pub fn keeper_failed(&self, l: usize) -> bool {
        let t = i64::try_from(self.step * self.inputs.dt).unwrap_or(i64::MAX);
        levfarm_sim::backtest::keeper_failed(
            self.keeper_seeds[l],
            t,
            self.inputs.position,
            self.inputs.keeper_failure_rate,
        )
    }

    /// The hazard's severity.
    pub fn severity(&self) -> f64 {
        self.inputs.severity
    }

    /// Lane `l`'s step, everything drawn.
    pub fn input(&self, l: usize) -> StepInput {
        StepInput {
            price: self.price[l],
            reward_price: self.reward_price[l],
            utilization: [self.utilization[0][l], self.utilization[1][l]],
            hazard: self.hazard[l],
            severity: self.inputs.severity,
            numeraire: self.numeraire[l],
            range: self.range(l),
            keeper_failed: self.keeper_failed(l),
        }
    }
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// The keepers' seed of path `path` of a run seeded `seed`: the backtester's `keepers.seed`
/// under which a backtest of the path's prices fails its keeper on the same bars.
pub fn keeper_seed(seed: u64, path: u64) -> u64 {
    path_seed(seed, path, Stream::Keeper)
}

/// Lane `lane` of a step's draws, as a step of the kernel reads it.
#[derive(Debug, Clone, Copy)]
pub struct LaneBar<'d, 'a> {
    pub draws: &'d Draws<'a>,
    pub lane: usize,
}

impl Bar for LaneBar<'_, '_> {
    #[inline(always)]
    fn price(&self) -> f64 {
        self.draws.price[self.lane]
    }
    #[inline(always)]
    fn reward_price(&self) -> f64 {
        self.draws.reward_price[self.lane]
    }
    #[inline(always)]
    fn utilization(&self) -> [f64; 2] {
        [self.draws.utilization[0][self.lane], self.draws.utilization[1][self.lane]]
    }
    #[inline(always)]
    fn hazard(&self) -> bool {
        self.draws.hazard[self.lane]
    }
    fn severity(&self) -> f64 {
        self.draws.severity()
    }
    fn range(&self) -> Option<[f64; 2]> {
        self.draws.range(self.lane)
    }
    fn keeper_failed(&self) -> bool {
        self.draws.keeper_failed(self.lane)
    }
    #[inline(always)]
    fn reach(&self) -> Option<f64> {
        self.draws.reach(self.lane)
    }
}
