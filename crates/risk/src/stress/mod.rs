//! Monte Carlo windows for `levfarm stress`: the book through many simulated futures of 24 to
//! 72 hours at minute steps, and the distribution of the bad debt they leave.
//!
//! Each path's hours come from the scenario's price model (`[risk.model]`: GBM, Merton, GARCH,
//! or blocks of the data's own returns), and its minutes from a Brownian bridge inside each
//! hour at the model's volatility, so that the path's lows between the hours are there. Every
//! path runs the same book (opened once, at the start price) through the exact engine, with the
//! liquidators every minute. A path's draws depend on the seed and its index alone: the same
//! seed gives the same bytes on any number of threads.
//!
//! The risk firms' figures: VaR95 and EVaR99 are the 95th and 99th percentiles of the window's
//! bad debt over the paths (the k-th smallest value, `k = ⌈p · n⌉`).

#![allow(clippy::needless_range_loop)]

mod kernel;

pub use kernel::BookKernel;

use serde::{Deserialize, Serialize};

use levfarm_sim::backtest::Progress;
use levfarm_sim::data::PriceSeries;
use levfarm_sim::stress::{Book, Walk};
use levfarm_sim::world::{self, YEAR};
use levfarm_sim::Scenario;
use levfarm_sim::SimError;

use crate::paths::{normal, path_rng, Model, Stream};
use crate::run::log_returns;

/// How many futures, how long, and the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathsSpec {
    pub paths: u64,
    pub hours: u32,
    pub seed: u64,
}

impl PathsSpec {
    pub fn check(&self) -> Result<(), SimError> {
        if self.paths == 0 || self.paths > 1_000_000 {
            return Err(SimError::Scenario(format!("{} paths: 1 to 1,000,000", self.paths)));
        }
        if !(1..=168).contains(&self.hours) {
            return Err(SimError::Scenario(format!(
                "{} hours: a Monte Carlo window lasts 1 to 168 hours (24 to 72 is usual)",
                self.hours
            )));
        }
        Ok(())
    }
}

/// One path's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathRow {
    pub path: u64,
    /// The path's lowest and last price, as a share of the start.
    pub low: f64,
    pub end: f64,
    pub liquidated: usize,
    pub liquidated_debt: f64,
    /// Rounds of kills in the path's worst minute (its cascade depth, 0 with no kill).
    pub depth: usize,
    pub bad_debt: f64,
    pub liquidators_paid: f64,
}

/// The bad debt's distribution over the paths, in the numeraire and as a share of the book's
/// debt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadDebtStats {
    pub mean: f64,
    pub var95: f64,
    pub evar99: f64,
    pub max: f64,
    pub mean_share: f64,
    pub var95_share: f64,
    pub evar99_share: f64,
    /// The share of paths with any bad debt.
    pub p_any: f64,
}

/// What a Monte Carlo stress run ran: its paths, its model, which market walked them, and its
/// book at the start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathsHead {
    pub spec: PathsSpec,
    pub model: String,
    /// What walked the book: `"f64 kernel"` (levfarm-risk's [`BookKernel`], held to the engine
    /// by a differential test) or `"exact engine"` (a market the kernel does not model, or
    /// `--exact`).
    pub engine: String,
    pub start: f64,
    pub opened: usize,
    pub equity: f64,
    pub debt: f64,
}

/// The names of the two engines.
pub const F64_KERNEL: &str = "f64 kernel";
pub const EXACT_ENGINE: &str = "exact engine";

/// The book over the paths.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathsOutput {
    #[serde(flatten)]
    pub head: PathsHead,
    pub bad_debt: BadDebtStats,
    /// Mean and 95th percentile of the positions liquidated on a path, and the mean debt
    /// liquidated.
    pub liquidated_mean: f64,
    pub liquidated_p95: f64,
    pub liquidated_debt_mean: f64,
    /// The deepest cascade on any path, and the share of paths with one (two rounds or more).
    pub depth_max: usize,
    pub p_cascade: f64,
    pub liquidators_paid_mean: f64,
    /// The 5th percentile of the paths' lows, as a share of the start.
    pub low_p5: f64,
    pub rows: Vec<PathRow>,
}

/// The k-th smallest of `sorted`, `k = ⌈p · n⌉` (1-based, at least 1).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let k = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[k - 1]
}

/// One path's minute prices from `start`: `hours` steps of the model (each `step` seconds),
/// each filled with a Brownian bridge of `minutes` minutes at the model's step volatility.
pub fn minute_path(
    model: &Model,
    seed: u64,
    path: u64,
    start: f64,
    steps: u32,
    minutes: u32,
) -> Vec<f64> {
    let mut gen = model.path(seed, path);
    let mut bridge = path_rng(seed, path, Stream::Bridge);
    let vol = model.bridge_vol();
    let n = minutes.max(1) as usize;
    let mut out = Vec::with_capacity(steps as usize * n);
    let mut level = start.ln();
    let mut z = 0.0;
    let mut walk = vec![0.0; n + 1];
    for _ in 0..steps {
        let r = gen.next(&mut z);
        for k in 1..=n {
            walk[k] = walk[k - 1] + normal(&mut bridge) / (n as f64).sqrt();
        }
        for k in 1..=n {
            let t = k as f64 / n as f64;
            let x = if k == n { r } else { t * r + vol * (walk[k] - t * walk[n]) };
            out.push((level + x).exp());
        }
        level += r;
    }
    out
}

/// What a Monte Carlo stress run is given: the scenario (its market and `[risk.model]`), its
/// price history (the bootstrap's source), the book's price and settings, the walk's oracle,
/// liquidators and faults, and how many paths of how long.
#[derive(Debug, Clone, Copy)]
pub struct PathsRun<'a> {
    pub scenario: &'a Scenario,
    pub series: &'a PriceSeries,
    pub start: levfarm_core::price::Price,
    pub spec: &'a levfarm_sim::stress::BookSpec,
    pub walk: &'a Walk,
    pub paths: PathsSpec,
    /// Walk every path on the exact engine even where the f64 kernel models the market.
    pub exact: bool,
}

/// Opens the book at the start and runs it through all the run's futures, in parallel; rows
/// in path order.
pub fn stress_paths(
    run: &PathsRun,
    progress: Option<Progress<'_>>,
) -> Result<PathsOutput, SimError> {
    Ok(stress_part(run, (0, 1), progress)?.summary())
}

/// What a shard of a Monte Carlo stress run wrote: the run's settings, its book, and its
/// paths' rows. Shards of one run merge into exactly the run's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathsPart {
    pub kind: String,
    pub version: u32,
    /// The 0-based shard and the shard count.
    pub shard: (u64, u64),
    /// A fingerprint of everything else the run was given (scenario, book, walk, price):
    /// shards of different runs do not merge.
    pub key: String,
    #[serde(flatten)]
    pub head: PathsHead,
    pub rows: Vec<PathRow>,
}

/// The kind and version a partial file must carry.
pub const PART_KIND: &str = "levfarm-stress-paths";
pub const PART_VERSION: u32 = 2;

/// The paths of shard `i` of `n` (0-based): a contiguous range, `⌊i·P/n⌋` to `⌊(i+1)·P/n⌋`.
pub fn shard_range(paths: u64, (i, n): (u64, u64)) -> std::ops::Range<u64> {
    let at = |k: u64| ((u128::from(k) * u128::from(paths)) / u128::from(n.max(1))) as u64;
    at(i)..at(i + 1)
}

/// FNV-1a, 64 bits: a stable fingerprint of a run's settings.
fn fingerprint(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Runs shard `shard` (0-based, of a count) of the paths: the same book, the shard's paths.
pub fn stress_part(
    run: &PathsRun,
    shard: (u64, u64),
    progress: Option<Progress<'_>>,
) -> Result<PathsPart, SimError> {
    use rayon::prelude::*;
    let PathsRun { scenario, series, start, spec, walk, paths, exact } = *run;
    paths.check()?;
    let history = series
        .times
        .last()
        .map(|&t| levfarm_sim::stress::History { series, at: t + series.interval as i64 });
    let book = Book::open_at(scenario, start, spec, history)?;
    let (equity, debt) = book.totals()?;
    // The f64 kernel where it models the market, else the engine.
    let kernel = match BookKernel::new(&book) {
        Ok(k) if !exact => Some(k),
        Ok(_) | Err(crate::RiskError::Unsupported(_)) => None,
        Err(e) => return Err(SimError::Internal(e.to_string())),
    };
    // The bootstrap draws the data's own steps; the other models hourly steps.
    let risk = &scenario.risk;
    let bootstrap = matches!(risk.model, levfarm_risk_spec::PriceModelSpec::Bootstrap { .. });
    let step = if bootstrap { series.interval.max(60) } else { 3_600 };
    let returns = bootstrap.then(|| log_returns(&series.closes).into());
    let model = Model::new(&risk.model, step as f64 / YEAR, returns);
    let minutes = (step / 60) as u32;
    let steps = ((u64::from(paths.hours) * 3_600).div_ceil(step)) as u32;
    let p0 = world::wad_to_f64(start.0);
    let range = shard_range(paths.paths, shard);
    let total = range.end - range.start;
    let done = std::sync::atomic::AtomicU64::new(0);
    let rows: Vec<PathRow> = range
        .into_par_iter()
        .map(|i| {
            let prices = minute_path(&model, paths.seed, i, p0, steps, minutes);
            let o = match &kernel {
                Some(k) => k.follow(&book, &prices, 60, walk, walk.scan())?,
                None => book.follow(&prices, 60, walk, walk.scan())?,
            };
            if let Some(report) = progress {
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                report(n, total);
            }
            Ok(PathRow {
                path: i,
                low: prices.iter().copied().fold(p0, f64::min) / p0,
                end: prices.last().copied().unwrap_or(p0) / p0,
                liquidated: o.liquidated,
                liquidated_debt: o.liquidated_debt,
                depth: o.rounds.len(),
                bad_debt: o.bad_debt,
                liquidators_paid: o.liquidators_paid,
            })
        })
        .collect::<Result<_, SimError>>()?;
    let key = fingerprint(&format!("{scenario:?}|{spec:?}|{walk:?}|{p0}|{}", series.source));
    Ok(PathsPart {
        kind: PART_KIND.into(),
        version: PART_VERSION,
        shard,
        key,
        head: PathsHead {
            spec: paths,
            model: describe(&risk.model),
            engine: if kernel.is_some() { F64_KERNEL } else { EXACT_ENGINE }.into(),
            start: p0,
            opened: book.entries.len(),
            equity,
            debt,
        },
        rows,
    })
}

impl PathsPart {
    /// The statistics of this part's rows.
    pub fn summary(self) -> PathsOutput {
        summarise(self.head, self.rows)
    }
}

/// Merges the shards of one run (each named by its source, for the errors) into its output:
/// the same kind, version, settings and shard count, every shard once, each with its range's
/// rows in order.
pub fn merge_parts(parts: Vec<(String, PathsPart)>) -> Result<PathsOutput, String> {
    let Some((first_name, first)) = parts.first().cloned() else {
        return Err("no partial results to merge".into());
    };
    let n = first.shard.1;
    let mut seen = vec![None::<String>; n.min(1_000_000) as usize];
    let mut rows = Vec::with_capacity(first.head.spec.paths as usize);
    let mut sorted = parts;
    sorted.sort_by_key(|(_, p)| p.shard.0);
    for (name, p) in &sorted {
        if p.kind != PART_KIND || p.version != PART_VERSION {
            return Err(format!(
                "{name}: not a partial of levfarm stress --paths (kind {:?}, version {})",
                p.kind, p.version
            ));
        }
        if p.key != first.key || p.shard.1 != n || p.head != first.head {
            return Err(format!(
                "{name}: from another run than {first_name} (its paths, seed, shard count or \
                 settings differ)"
            ));
        }
        let i = p.shard.0;
        let slot = seen
            .get_mut(i as usize)
            .ok_or_else(|| format!("{name}: shard {} of {n} is out of range", i + 1))?;
        if let Some(other) = slot {
            return Err(format!("{name}: shard {}/{n} is also in {other}", i + 1));
        }
        *slot = Some(name.clone());
        let want: Vec<u64> = shard_range(p.head.spec.paths, p.shard).collect();
        let got: Vec<u64> = p.rows.iter().map(|r| r.path).collect();
        if got != want {
            return Err(format!(
                "{name}: shard {}/{n} should hold paths {} to {}, in order, and does not",
                i + 1,
                want.first().copied().unwrap_or(0),
                want.last().copied().unwrap_or(0)
            ));
        }
        rows.extend(p.rows.iter().cloned());
    }
    if let Some(missing) = seen.iter().position(Option::is_none) {
        return Err(format!("shard {}/{n} is missing", missing + 1));
    }
    Ok(summarise(first.head, rows))
}

/// The statistics of `rows` (in path order, from one run or merged shards).
pub fn summarise(head: PathsHead, rows: Vec<PathRow>) -> PathsOutput {
    let debt = head.debt;
    let n = rows.len().max(1) as f64;
    let sorted = |f: &dyn Fn(&PathRow) -> f64| {
        let mut v: Vec<f64> = rows.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let bad = sorted(&|r| r.bad_debt);
    let share = |x: f64| if debt > 0.0 { x / debt } else { 0.0 };
    let mean = bad.iter().sum::<f64>() / n;
    let (var95, evar99) = (percentile(&bad, 0.95), percentile(&bad, 0.99));
    let liquidated = sorted(&|r| r.liquidated as f64);
    PathsOutput {
        head,
        bad_debt: BadDebtStats {
            mean,
            var95,
            evar99,
            max: bad.last().copied().unwrap_or(0.0),
            mean_share: share(mean),
            var95_share: share(var95),
            evar99_share: share(evar99),
            p_any: rows.iter().filter(|r| r.bad_debt > 0.0).count() as f64 / n,
        },
        liquidated_mean: liquidated.iter().sum::<f64>() / n,
        liquidated_p95: percentile(&liquidated, 0.95),
        liquidated_debt_mean: rows.iter().map(|r| r.liquidated_debt).sum::<f64>() / n,
        depth_max: rows.iter().map(|r| r.depth).max().unwrap_or(0),
        p_cascade: rows.iter().filter(|r| r.depth >= 2).count() as f64 / n,
        liquidators_paid_mean: rows.iter().map(|r| r.liquidators_paid).sum::<f64>() / n,
        low_p5: percentile(&sorted(&|r| r.low), 0.05),
        rows,
    }
}

/// The model in words.
fn describe(model: &levfarm_risk_spec::PriceModelSpec) -> String {
    use levfarm_risk_spec::PriceModelSpec as M;
    match *model {
        M::Gbm { mu, sigma } => format!("GBM, μ {mu}, σ {sigma}"),
        M::Merton { mu, sigma, lambda, jump_mean, jump_std } => format!(
            "Merton, μ {mu}, σ {sigma}, {lambda} jumps a year of mean {jump_mean} and spread {jump_std}"
        ),
        M::Garch { mu, omega, alpha, beta } => {
            format!("GARCH(1,1), μ {mu}, ω {omega}, α {alpha}, β {beta}")
        }
        M::Bootstrap { block_hours, mu } => {
            format!("block bootstrap of the data's returns, blocks of {block_hours} h, μ {mu}")
        }
    }
}
