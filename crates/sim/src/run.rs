//! A whole backtest: the scenario's data loaded, the leveraged run and its alternatives run in
//! parallel, and sweeps over a grid of scenario values.

use rayon::prelude::*;
use serde::Serialize;

use crate::backtest::{self, Progress, RunResult, Strategy};
use crate::data::{self, PriceOptions, PriceSeries};
use crate::scenario::{Scenario, ScenarioError};
use crate::SimError;

/// A scenario with its price history loaded.
#[derive(Debug, Clone)]
pub struct Backtest {
    pub scenario: Scenario,
    pub prices: PriceSeries,
}

/// Everything a backtest produced.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestOutput {
    pub scenario: String,
    pub source: String,
    pub start: i64,
    pub end: i64,
    pub bars: usize,
    pub interval: u64,
    pub gaps: Vec<data::Gap>,
    pub filled: u64,
    /// The leveraged position.
    pub main: RunResult,
    /// Unleveraged LP, lending only, hold 50/50, hold the asset.
    pub alternatives: Vec<RunResult>,
    /// What the reader should know about the inputs.
    pub notes: Vec<String>,
}

impl Backtest {
    /// Loads the scenario's prices, window and gap policy.
    pub fn load(scenario: Scenario) -> Result<Backtest, SimError> {
        let time = |field: &str, text: &Option<String>| -> Result<Option<i64>, SimError> {
            text.as_deref()
                .map(|t| {
                    data::parse_time(t).map_err(|message| {
                        SimError::ScenarioFile(ScenarioError::Invalid {
                            source_name: "scenario".into(),
                            field: format!("data.{field}"),
                            message,
                        })
                    })
                })
                .transpose()
        };
        let options = PriceOptions {
            gaps: scenario.data.gaps,
            column: scenario.data.column.clone(),
            start: time("start", &scenario.data.start)?,
            end: time("end", &scenario.data.end)?,
        };
        // The position's pair's histories (token0's bars, with their lows and highs, set the
        // clock), then the other pairs' tokens', all on that clock.
        let load = |token: &str| -> Result<Option<PriceSeries>, SimError> {
            let Some((path, column)) = scenario.history_of(token) else { return Ok(None) };
            let options = PriceOptions { column: column.map(str::to_owned), ..options.clone() };
            Ok(Some(data::load_prices(path, &options)?))
        };
        let [token0, token1] = scenario.pair();
        let main = load(token0)?.ok_or_else(|| {
            SimError::Scenario(format!("{token0} has no price history (data.tokens.{token0})"))
        })?;
        let mut others = Vec::new();
        for token in scenario.priced_others() {
            if let Some(series) = load(token)? {
                others.push((token.to_owned(), series));
            }
        }
        let prices = data::on_one_clock(main, load(token1)?, others)?;
        Ok(Backtest { scenario, prices })
    }

    /// The leveraged run and every alternative; `progress` hears of the leveraged run.
    pub fn run(&self, progress: Option<Progress<'_>>) -> Result<BacktestOutput, SimError> {
        let alternatives = [
            Strategy::UnleveragedLp,
            Strategy::LendingOnly,
            Strategy::Hold5050,
            Strategy::HoldAsset,
        ];
        let (main, alternatives) = rayon::join(
            || backtest::run(&self.scenario, &self.prices, Strategy::Leveraged, progress),
            || {
                alternatives
                    .par_iter()
                    .map(|s| backtest::run(&self.scenario, &self.prices, *s, None))
                    .collect::<Result<Vec<_>, _>>()
            },
        );
        let (main, alternatives) = (main?, alternatives?);
        let p = &self.prices;
        let notes = self.notes()?;
        Ok(BacktestOutput {
            scenario: self.scenario.name.clone(),
            source: p.source.clone(),
            start: p.times[0],
            end: p.times[p.times.len() - 1],
            bars: p.times.len(),
            interval: p.interval,
            gaps: p.gaps.clone(),
            filled: p.filled,
            main,
            alternatives,
            notes,
        })
    }
}

impl Backtest {
    /// What the reader should know about the inputs: filled bars, a volume file in absolute
    /// dollars, utilization carried on beyond its history.
    pub fn notes(&self) -> Result<Vec<String>, SimError> {
        let p = &self.prices;
        let mut notes = Vec::new();
        if p.filled > 0 {
            notes.push(format!(
                "{} missing bars in {} gaps were filled with the previous close",
                p.filled,
                p.gaps.len()
            ));
        }
        if let crate::scenario::VolumeModel::File { path, depth_column: None, .. } =
            &self.scenario.market.volume
        {
            notes.push(format!(
                "traders' volume is {path}'s in absolute dollars, not scaled to the simulated \
             pool's value ({:.0}); a pool of another size earns fees out of proportion \
             (market.volume.depth_column scales it)",
                self.scenario.pool().tvl
            ));
        }
        if let crate::scenario::UtilizationModel::History { path, .. } =
            &self.scenario.market.utilization
        {
            let u = crate::models::Utilization::new(&self.scenario.market.utilization)?;
            for (token, from, to, fit) in u.coverage() {
                let (start, end) = (p.times[0], p.times[p.times.len() - 1]);
                if start < from || end > to {
                    notes.push(format!(
                        "{token} utilization is {path}'s from {} (after its launch days) to {}; \
                     outside that, a mean-reverting process fitted to it (long-run {:.0}%, \
                     day-to-day persistence {:.3}) carries it on",
                        &data::iso(from)[..10],
                        &data::iso(to)[..10],
                        fit.median_utilization() * 100.0,
                        fit.persistence
                    ));
                }
            }
        }
        Ok(notes)
    }
}

/// One combination of a sweep and how its leveraged run went.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRow {
    /// `(key, value)` of each swept setting.
    pub settings: Vec<(String, String)>,
    pub result: Result<SweepOutcome, String>,
}

/// A sweep row's figures.
#[derive(Debug, Clone, Serialize)]
pub struct SweepOutcome {
    pub stats: backtest::Stats,
    pub pnl: crate::book::Pnl,
    pub liquidated_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub actions: usize,
    pub bars_near_kill: u64,
}

/// Parses `key=v1,v2,...` sweep arguments.
pub fn parse_grid(args: &[String]) -> Result<Vec<(String, Vec<String>)>, SimError> {
    args.iter()
        .map(|arg| {
            let (key, values) = arg.split_once('=').ok_or_else(|| {
                SimError::Scenario(format!("--sweep {arg:?}: expected key=value1,value2,..."))
            })?;
            let values: Vec<String> =
                values.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
            if key.trim().is_empty() || values.is_empty() {
                return Err(SimError::Scenario(format!(
                    "--sweep {arg:?}: expected key=value1,value2,..."
                )));
            }
            Ok((key.trim().to_string(), values))
        })
        .collect()
}

/// A sweep combination: its `(key, value)` settings and the scenario they make.
pub type Combination = (Vec<(String, String)>, Scenario);

/// Every combination of the grid, in order (the last key varies fastest), each checked against
/// the schema before anything runs.
pub fn combinations(
    base: &Scenario,
    grid: &[(String, Vec<String>)],
) -> Result<Vec<Combination>, SimError> {
    let mut out = vec![(Vec::new(), base.clone())];
    for (key, values) in grid {
        let mut next = Vec::with_capacity(out.len() * values.len());
        for (settings, scenario) in &out {
            for value in values {
                let scenario = scenario.with_value(key, value)?;
                let mut settings = settings.clone();
                settings.push((key.clone(), value.clone()));
                next.push((settings, scenario));
            }
        }
        out = next;
    }
    // The prices are loaded once, for the base scenario: a value that would price another
    // pair (a pool over other tokens, another history) is refused, not run on the wrong data.
    let sources = base.price_sources();
    for (settings, scenario) in &out {
        if scenario.price_sources() != sources {
            let at: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let pair = |s: &Scenario| s.pair().join("/");
            return Err(SimError::Scenario(format!(
                "{}: the run's prices are loaded once, for {} and its histories; this \
                 combination prices {} from other ones: sweep within one pair and its data, \
                 and run each pair on its own",
                at.join(", "),
                pair(base),
                pair(scenario)
            )));
        }
    }
    Ok(out)
}

/// Runs each combination's leveraged position over `prices`, in parallel; rows come back in
/// grid order whatever the thread count. `progress` hears of each finished combination.
pub fn sweep(
    prices: &PriceSeries,
    combos: &[Combination],
    progress: Option<Progress<'_>>,
) -> Vec<SweepRow> {
    let done = std::sync::atomic::AtomicU64::new(0);
    let total = combos.len() as u64;
    combos
        .par_iter()
        .map(|(settings, scenario)| {
            let result = backtest::run(scenario, prices, Strategy::Leveraged, None)
                .map(|r| SweepOutcome {
                    stats: r.stats,
                    pnl: r.pnl,
                    liquidated_at: r.liquidated_at,
                    closed_at: r.closed_at,
                    actions: r.actions.len(),
                    bars_near_kill: r.bars_near_kill,
                })
                .map_err(|e| e.to_string());
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if let Some(report) = progress {
                report(n, total);
            }
            SweepRow { settings: settings.clone(), result }
        })
        .collect()
}
