//! A portfolio's backtest: its positions' prices loaded on one clock, the portfolio run, and
//! the diversification comparison beside it (the capital concentrated in each position, and
//! the unleveraged alternatives in the same weights).

use rayon::prelude::*;
use serde::Serialize;

use crate::backtest::{self, Progress, RunResult, Sample, Stats, Strategy};
use crate::book::Pnl;
use crate::data::{self, PriceSeries};
use crate::scenario::{BorrowSide, Scenario};
use crate::{Backtest, SimError};

/// A portfolio scenario with each position's prices loaded.
#[derive(Debug, Clone)]
pub struct PortfolioBacktest {
    /// The portfolio file.
    pub scenario: Scenario,
    /// Each position as the scenario it would be alone, with its pair's prices.
    pub positions: Vec<Backtest>,
}

/// One position of a portfolio and how it went.
#[derive(Debug, Clone, Serialize)]
pub struct PositionOutcome {
    pub name: String,
    pub pool: String,
    pub venue: String,
    /// Its pool's tokens, `[token0, token1]`.
    pub pair: [String; 2],
    pub leverage: f64,
    pub borrow: BorrowSide,
    /// Its target share of the capital.
    pub weight: f64,
    pub run: RunResult,
}

/// The portfolio as a whole: the sums of its positions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PortfolioTotal {
    /// What the positions were given, summed: the capital, exactly.
    pub contributed: i128,
    pub final_equity: i128,
    /// The positions' decompositions summed part by part.
    pub pnl: Pnl,
    /// The summed equity at each bar (other fields of a sample are a position's).
    pub samples: Vec<Sample>,
    pub stats: Stats,
    /// Positions liquidated.
    pub liquidated: usize,
    /// Bars at which at least one open position's debt ratio was at or above its work
    /// factor, and within 10% of its kill factor.
    pub bars_any_above_work: u64,
    pub bars_any_near_kill: u64,
    /// The bars at which the rules rebalanced, and the drawdown stop's.
    pub rebalances: Vec<i64>,
    pub stopped_at: Option<i64>,
}

/// Another way to hold the same capital, summed over the positions where it is per position.
#[derive(Debug, Clone, Serialize)]
pub struct Alternative {
    pub label: String,
    pub strategy: Strategy,
    /// The position it concentrates the capital in, for a concentrated alternative.
    pub position: Option<String>,
    pub contributed: i128,
    pub final_equity: i128,
    #[serde(skip)]
    pub samples: Vec<Sample>,
    pub stats: Stats,
    pub liquidated: usize,
}

/// Everything a portfolio's backtest produced.
#[derive(Debug, Clone, Serialize)]
pub struct PortfolioOutput {
    pub scenario: String,
    pub sources: Vec<String>,
    pub start: i64,
    pub end: i64,
    pub bars: usize,
    pub interval: u64,
    pub gaps: Vec<data::Gap>,
    pub filled: u64,
    pub positions: Vec<PositionOutcome>,
    pub total: PortfolioTotal,
    /// Each position's bar-by-bar equity returns' correlation with each other's (Pearson);
    /// NaN (null in JSON) for a position whose equity never moved.
    pub correlation: Vec<Vec<f64>>,
    pub alternatives: Vec<Alternative>,
    /// The history's worst days for the portfolio and each position's share of them.
    pub worst_days: WorstDays,
    pub notes: Vec<String>,
}

/// The portfolio's worst days in the history (its daily PnL's expected shortfall) and each
/// position's part of them: risk contributions measured on the history.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorstDays {
    /// The share of days kept: the worst 5%.
    pub level: f64,
    pub days: usize,
    /// The portfolio's mean loss over those days, as a share of the capital (positive: a loss).
    pub cvar: f64,
    /// Each position's mean loss over the same days, as a share of the capital: they sum to
    /// `cvar`.
    pub contributions: Vec<f64>,
}

impl WorstDays {
    /// From the positions' equity curves (every one on the same bars), leaving out the bars
    /// in `skip` (a rebalance's transfers are not gains or losses).
    pub fn of(curves: &[&[Sample]], skip: &[i64], capital: f64, level: f64) -> WorstDays {
        let Some(first) = curves.first() else { return WorstDays::default() };
        let k = curves.len();
        // Each position's PnL per UTC day.
        let mut days: Vec<(i64, Vec<f64>)> = Vec::new();
        for i in 1..first.len() {
            let t = first[i].time;
            if skip.contains(&t) {
                continue;
            }
            let day = t.div_euclid(86_400);
            if days.last().is_none_or(|(d, _)| *d != day) {
                days.push((day, vec![0.0; k]));
            }
            let Some((_, pnl)) = days.last_mut() else { continue };
            for (j, c) in curves.iter().enumerate() {
                pnl[j] += (c[i].equity - c[i - 1].equity) as f64 / 1e18;
            }
        }
        let n = days.len();
        if n == 0 || capital <= 0.0 {
            return WorstDays::default();
        }
        let total: Vec<f64> = days.iter().map(|(_, p)| p.iter().sum()).collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| total[a].total_cmp(&total[b]).then(a.cmp(&b)));
        let m = (((1.0 - level) * n as f64).ceil() as usize).clamp(1, n);
        let worst = &order[..m];
        let mean_loss = |f: &dyn Fn(usize) -> f64| {
            -worst.iter().map(|&d| f(d)).sum::<f64>() / m as f64 / capital
        };
        WorstDays {
            level,
            days: m,
            cvar: mean_loss(&|d| total[d]),
            contributions: (0..k).map(|j| mean_loss(&|d| days[d].1[j])).collect(),
        }
    }
}

impl PortfolioBacktest {
    /// Loads each position's prices; every position must run on the same bars.
    pub fn load(scenario: Scenario) -> Result<PortfolioBacktest, SimError> {
        let mut positions = Vec::new();
        for s in scenario.portfolio_positions() {
            let name = s.name.clone();
            let bt = Backtest::load(s)
                .map_err(|e| SimError::InPosition { name, source: Box::new(e) })?;
            positions.push(bt);
        }
        let Some(first) = positions.first() else {
            return Err(SimError::Scenario("a portfolio needs [[portfolio.positions]]".into()));
        };
        for bt in &positions[1..] {
            if bt.prices.times != first.prices.times {
                return Err(SimError::Scenario(format!(
                    "{} and {} run on different bars ({} and {}): their pairs' histories do \
                     not share a clock",
                    first.scenario.name,
                    bt.scenario.name,
                    first.prices.times.len(),
                    bt.prices.times.len()
                )));
            }
        }
        Ok(PortfolioBacktest { scenario, positions })
    }

    /// The portfolio and every alternative; `progress` hears of the portfolio's bars.
    pub fn run(&self, progress: Option<Progress<'_>>) -> Result<PortfolioOutput, SimError> {
        let scenarios: Vec<Scenario> = self.positions.iter().map(|b| b.scenario.clone()).collect();
        let prices: Vec<PriceSeries> = self.positions.iter().map(|b| b.prices.clone()).collect();
        let (run, alternatives) = rayon::join(
            || backtest::run_portfolio(&self.scenario, &scenarios, &prices, progress),
            || self.alternatives(),
        );
        let (run, alternatives) = (run?, alternatives?);
        let spec = self.scenario.portfolio.as_ref();
        let weights = spec.map(|p| p.weights()).unwrap_or_default();
        let positions: Vec<PositionOutcome> = self
            .positions
            .iter()
            .zip(run.positions)
            .zip(&weights)
            .map(|((bt, run), weight)| {
                let s = &bt.scenario;
                let [t0, t1] = s.pair();
                PositionOutcome {
                    name: s.name.clone(),
                    pool: s.position.pool.clone(),
                    venue: s.position.venue.clone(),
                    pair: [t0.to_string(), t1.to_string()],
                    leverage: s.position.leverage,
                    borrow: s.position.borrow,
                    weight: *weight,
                    run,
                }
            })
            .collect();
        let total = self.total(&positions, run.rebalances, run.stopped_at)?;
        // A rebalance's transfers are not returns: its bars are left out of every series.
        let returns: Vec<Vec<f64>> =
            positions.iter().map(|p| bar_returns(&p.run.samples, &total.rebalances)).collect();
        let correlation = data::correlation(&returns);
        let curves: Vec<&[Sample]> = positions.iter().map(|p| p.run.samples.as_slice()).collect();
        let capital = total.contributed as f64 / 1e18;
        let worst_days = WorstDays::of(&curves, &total.rebalances, capital, 0.95);
        let p = &self.positions[0].prices;
        let mut notes = Vec::new();
        for bt in &self.positions {
            for note in bt.notes()? {
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
        }
        Ok(PortfolioOutput {
            scenario: self.scenario.name.clone(),
            sources: self.sources(),
            start: p.times[0],
            end: p.times[p.times.len() - 1],
            bars: p.times.len(),
            interval: p.interval,
            gaps: p.gaps.clone(),
            filled: p.filled,
            positions,
            total,
            correlation,
            alternatives,
            worst_days,
            notes,
        })
    }

    /// Where each priced token's history comes from: `WETH: bundled:ETHUSD_1h`.
    fn sources(&self) -> Vec<String> {
        let s = &self.scenario;
        s.market
            .pool_tokens()
            .into_iter()
            .filter_map(|token| {
                let (path, column) = s.history_of(token)?;
                Some(match column {
                    Some(c) => format!("{token}: {path}#{c}"),
                    None => format!("{token}: {path}"),
                })
            })
            .collect()
    }

    /// The positions summed bar by bar and part by part.
    fn total(
        &self,
        positions: &[PositionOutcome],
        rebalances: Vec<i64>,
        stopped_at: Option<i64>,
    ) -> Result<PortfolioTotal, SimError> {
        let runs: Vec<&RunResult> = positions.iter().map(|p| &p.run).collect();
        let samples = summed(&runs)?;
        let contributed = runs.iter().map(|r| r.contributed).sum();
        let final_equity = runs.iter().map(|r| r.final_equity).sum();
        let pnl = Pnl::sum(runs.iter().map(|r| &r.pnl));
        if pnl.total() != final_equity - contributed {
            return Err(SimError::Internal(format!(
                "the positions' parts add up to {}, the portfolio's equity changed by {}",
                pnl.total(),
                final_equity - contributed
            )));
        }
        let (mut above, mut near) = (0, 0);
        for i in 0..samples.len() {
            let ratios = self.positions.iter().zip(&runs).filter_map(|(bt, r)| {
                let l = bt.scenario.leverage();
                r.samples[i]
                    .debt_ratio_bps
                    .map(|d| (d, l.work_factor_bps as u64, l.kill_factor_bps as u64))
            });
            let (mut a, mut n) = (false, false);
            for (ratio, work, kill) in ratios {
                a |= ratio >= work;
                n |= ratio.saturating_mul(10) >= kill * 9;
            }
            above += u64::from(a);
            near += u64::from(n);
        }
        let stats = backtest::stats(&samples, contributed);
        Ok(PortfolioTotal {
            contributed,
            final_equity,
            pnl,
            samples,
            stats,
            liquidated: runs.iter().filter(|r| r.liquidated_at.is_some()).count(),
            bars_any_above_work: above,
            bars_any_near_kill: near,
            rebalances,
            stopped_at,
        })
    }

    /// The same capital concentrated in each position (its protection kept, no portfolio
    /// rules), then in the same weights: unleveraged in each position's pool, lent to the
    /// first position's lending pool, held half and half in each pair, and held in each
    /// position's asset, staked at `portfolio.staking`'s yield.
    fn alternatives(&self) -> Result<Vec<Alternative>, SimError> {
        let spec = self.scenario.portfolio.as_ref();
        let capital = spec.map_or(0.0, |p| p.amounts().1);
        let staking =
            |s: &Scenario| spec.and_then(|p| p.staking.get(s.pair()[0])).copied().unwrap_or(0.0);
        let with_equity = |bt: &Backtest, equity: f64| {
            let mut s = bt.scenario.clone();
            s.position.equity = equity;
            s
        };
        let mut jobs: Vec<Job<'_>> = Vec::new();
        for bt in &self.positions {
            let name = bt.scenario.name.clone();
            jobs.push(Job {
                label: format!("All in {name}"),
                strategy: Strategy::Leveraged,
                position: Some(name),
                parts: vec![(with_equity(bt, capital), &bt.prices)],
            });
        }
        let each: Vec<(Scenario, &PriceSeries)> =
            self.positions.iter().map(|bt| (bt.scenario.clone(), &bt.prices)).collect();
        let first = &self.positions[0];
        let staked = self.positions.iter().any(|bt| staking(&bt.scenario) > 0.0);
        let job = |label: &str, strategy, parts| Job {
            label: label.into(),
            strategy,
            position: None,
            parts,
        };
        jobs.push(job("Unleveraged LP", Strategy::UnleveragedLp, each.clone()));
        jobs.push(job(
            "Lending only",
            Strategy::LendingOnly,
            vec![(with_equity(first, capital), &first.prices)],
        ));
        jobs.push(job("Hold 50/50", Strategy::Hold5050, each.clone()));
        let (label, strategy) = if staked {
            ("Staked assets", Strategy::StakedAsset)
        } else {
            ("Hold assets", Strategy::HoldAsset)
        };
        jobs.push(job(label, strategy, each));
        jobs.into_par_iter()
            .map(|Job { label, strategy, position, parts }| {
                let runs = parts
                    .iter()
                    .map(|(s, prices)| match strategy {
                        Strategy::StakedAsset => backtest::staked(s, prices, staking(s)),
                        _ => backtest::run(s, prices, strategy, None),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let refs: Vec<&RunResult> = runs.iter().collect();
                let samples = summed(&refs)?;
                let contributed = runs.iter().map(|r| r.contributed).sum();
                let stats = backtest::stats(&samples, contributed);
                Ok(Alternative {
                    label,
                    strategy,
                    position,
                    contributed,
                    final_equity: runs.iter().map(|r| r.final_equity).sum(),
                    samples,
                    stats,
                    liquidated: runs.iter().filter(|r| r.liquidated_at.is_some()).count(),
                })
            })
            .collect()
    }
}

/// An alternative's runs: one per position (or one for a concentrated alternative).
struct Job<'p> {
    label: String,
    strategy: Strategy,
    position: Option<String>,
    parts: Vec<(Scenario, &'p PriceSeries)>,
}

/// Several runs' equity summed at each bar (every run has a sample at the same bars).
fn summed(runs: &[&RunResult]) -> Result<Vec<Sample>, SimError> {
    let Some(first) = runs.first() else { return Ok(Vec::new()) };
    let mut samples: Vec<Sample> = first
        .samples
        .iter()
        .map(|s| Sample { time: s.time, price: s.price, equity: 0, ..Sample::default() })
        .collect();
    for r in runs {
        if r.samples.len() != samples.len() {
            return Err(SimError::Internal("runs with different bars cannot be summed".into()));
        }
        for (total, s) in samples.iter_mut().zip(&r.samples) {
            total.equity += s.equity;
        }
    }
    Ok(samples)
}

/// An equity curve's bar-by-bar returns (0 where the last bar's equity was not above 0),
/// without the bars in `skip`.
fn bar_returns(samples: &[Sample], skip: &[i64]) -> Vec<f64> {
    samples
        .windows(2)
        .filter(|w| !skip.contains(&w[1].time))
        .map(|w| {
            let (a, b) = (w[0].equity as f64, w[1].equity as f64);
            if a > 0.0 {
                b / a - 1.0
            } else {
                0.0
            }
        })
        .collect()
}
