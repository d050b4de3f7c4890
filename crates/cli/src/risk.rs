//! `levfarm risk` and `levfarm merge`: Monte Carlo futures of the scenario's position across a
//! grid of leverages and settings, in shards if asked, and the merge of the shards.

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use levfarm_risk::advice::notes;
use levfarm_risk::fast::{FastResult, Frictionless, Precision};
use levfarm_risk::run::{Partial, Plan};
use levfarm_risk::stats::Summary;
use levfarm_risk::RiskError;
use serde_json::json;

use crate::backtest::{finish, load, progress_bar_of, write_file, Failure, ScenarioArgs};
use crate::exec::{EXIT_BAD_INPUT, EXIT_IO, EXIT_REJECTED};
use crate::table;

/// Exit code after Ctrl-C (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

/// `--precision`'s values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum NormalPrecision {
    Double,
    Single,
}

#[derive(Debug, clap::Args)]
pub struct RiskArgs {
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// Paths per configuration (`risk.paths`).
    #[arg(long)]
    pub(crate) paths: Option<u64>,
    /// Seed (`risk.seed`): a path depends on (seed, path id) only.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Horizon in days (`risk.horizon_days`).
    #[arg(long)]
    pub(crate) horizon_days: Option<u32>,
    /// Leverages to run, replacing `risk.leverages`: `--leverages 1.5,2,3`.
    #[arg(long, value_delimiter = ',')]
    pub(crate) leverages: Option<Vec<f64>>,
    /// Add a grid axis: `--sweep protection.deleverage.trigger=0.7,0.78`.
    #[arg(long, value_name = "KEY=V1,V2,...")]
    pub(crate) sweep: Vec<String>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Run shard I of N (1-based) and write a partial result for `levfarm merge`; also read
    /// from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, JOB_COMPLETION_INDEX or
    /// AWS_BATCH_JOB_ARRAY_INDEX with --shards N.
    #[arg(long, value_name = "I/N")]
    pub(crate) shard: Option<String>,
    /// Shard count when the index comes from the scheduler's environment.
    #[arg(long, value_name = "N")]
    pub(crate) shards: Option<u64>,
    /// Where to write the partial result (default with a shard: risk-shard-I-of-N.json).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Print the results as JSON instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Write the self-contained HTML report.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// Fit GBM, Merton and GARCH to a price file (CSV or Parquet, or a bundled name) and print
    /// the parameters; `FILE#COLUMN` reads that column. Given twice or more, the histories are
    /// put on one clock and their returns' correlation matrix is printed too.
    #[arg(long, value_name = "FILE[#COLUMN]")]
    pub(crate) calibrate: Vec<String>,
    /// Run the frictionless model of the NumPy baseline (bench/numpy_mc.py) instead, with
    /// --paths paths, and print its throughput.
    #[arg(long)]
    pub(crate) frictionless: bool,
    /// With --frictionless: draw the normals in double precision (the default) or in single
    /// precision, which is faster and stops the normals' tails at 6.66 standard deviations.
    #[arg(long, value_enum, value_name = "PRECISION", requires = "frictionless")]
    precision: Option<NormalPrecision>,
    /// With --frictionless: time this many runs and print the median, as the NumPy baseline
    /// does (default 3). Every run gives the same result.
    #[arg(long, value_name = "N", requires = "frictionless")]
    pub(crate) repeats: Option<u32>,
    /// With a portfolio: also search the allocation and the leverages
    /// (`portfolio.risk.leverages`, weights on a 10% grid) for the best median return within
    /// `portfolio.risk.cvar_limit` and `liquidation_limit`.
    #[arg(long)]
    pub(crate) recommend: bool,
    /// No progress bar.
    #[arg(long)]
    pub(crate) quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Partial results written by `levfarm risk --shard`.
    #[arg(required = true)]
    partials: Vec<PathBuf>,
    /// Print the results as JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Write the self-contained HTML report.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

impl From<RiskError> for Failure {
    fn from(e: RiskError) -> Self {
        let code = match &e {
            RiskError::Interrupted => EXIT_INTERRUPTED,
            RiskError::Engine(_) | RiskError::Refused(_) => EXIT_REJECTED,
            RiskError::Internal(_) => EXIT_IO,
            RiskError::Sim(e) if matches!(e.root(), levfarm_sim::SimError::Engine(_)) => {
                EXIT_REJECTED
            }
            _ => EXIT_BAD_INPUT,
        };
        Failure(code, e.to_string())
    }
}

pub fn risk(args: &RiskArgs) -> ExitCode {
    finish(run_risk(args))
}

pub fn merge(args: &MergeArgs) -> ExitCode {
    finish(run_merge(args))
}

/// The shard to run: the flag, or a scheduler's array index with `--shards`.
fn shard(args: &RiskArgs) -> Result<Option<(u64, u64)>, Failure> {
    let bad = |m: String| Failure(EXIT_BAD_INPUT, m);
    if args.shards == Some(0) {
        return Err(bad("--shards must be at least 1".into()));
    }
    if let Some(s) = &args.shard {
        return levfarm_risk::shard::parse(s).map(Some).map_err(bad);
    }
    let env = |k: &str| std::env::var(k).ok();
    levfarm_risk::shard::from_scheduler(args.shards, env).map_err(bad)
}

/// `--paths`, `--seed` and `--horizon-days` set into the scenario's `[risk]`, checked there.
pub(crate) fn with_run_flags(
    args: &RiskArgs,
    mut scenario: levfarm_sim::Scenario,
) -> Result<levfarm_sim::Scenario, Failure> {
    if let Some(p) = args.paths {
        scenario = scenario.with_value("risk.paths", &p.to_string())?;
    }
    if let Some(s) = args.seed {
        scenario = scenario.with_value("risk.seed", &s.to_string())?;
    }
    if let Some(d) = args.horizon_days {
        scenario = scenario.with_value("risk.horizon_days", &d.to_string())?;
    }
    Ok(scenario)
}

fn run_risk(args: &RiskArgs) -> Result<(), Failure> {
    if !args.calibrate.is_empty() {
        return calibrate(&args.calibrate, args);
    }
    if args.frictionless {
        return frictionless(args);
    }
    let scenario = crate::backtest::read(&args.scenario)?;
    if scenario.portfolio.is_some() {
        return crate::portfolio::risk(args, scenario);
    }
    if args.recommend {
        return Err(Failure(EXIT_BAD_INPUT, "--recommend searches a portfolio's allocation: give a portfolio file (levfarm init --portfolio)".into()));
    }
    let backtest = load(&args.scenario)?;
    let mut scenario = with_run_flags(args, backtest.scenario)?;
    if let Some(l) = &args.leverages {
        if let Some(bad) = l.iter().find(|v| !(v.is_finite() && (1.0..=20.0).contains(*v))) {
            return Err(Failure(
                EXIT_BAD_INPUT,
                format!("--leverages (risk.leverages): {bad} is not a leverage; give numbers from 1 to 20"),
            ));
        }
        let list = l.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ");
        scenario = scenario.with_value("risk.leverages", &format!("[{list}]"))?;
    }
    let sweeps = levfarm_sim::run::parse_grid(&args.sweep)?;
    let shard = shard(args)?;
    if let Some(0) = args.threads {
        return Err(Failure(EXIT_BAD_INPUT, "--threads must be at least 1".into()));
    }
    let plan = Plan::new(&scenario, &sweeps, Some(&backtest.prices))?;
    let (blocks, shard) = match shard {
        Some((i, n)) => (plan.shard_blocks(i, n), (i, n)),
        None => ((0, plan.blocks()), (0, 1)),
    };
    let partial = execute(&plan, blocks, shard, args.threads, args.quiet)?;
    if shard.1 > 1 || args.out.is_some() {
        let path = args.out.clone().unwrap_or_else(|| {
            PathBuf::from(format!("risk-shard-{}-of-{}.json", shard.0 + 1, shard.1))
        });
        let text = serde_json::to_string(&partial)
            .map_err(|e| Failure(EXIT_IO, format!("partial result: {e}")))?;
        write_file(&path, text.as_bytes())?;
        if shard.1 > 1 {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "levfarm: shard {}/{} ({} paths) written to {}; combine the shards with \
                     `levfarm merge`",
                    shard.0 + 1,
                    shard.1,
                    partial.paths,
                    path.display()
                );
            }
            return Ok(());
        }
    }
    output(&plan, &partial, args.json, args.report.as_ref())
}

/// Runs the blocks with a progress bar; Ctrl-C stops at the next block.
fn execute(
    plan: &Plan,
    blocks: (u64, u64),
    shard: (u64, u64),
    threads: Option<usize>,
    quiet: bool,
) -> Result<Partial, Failure> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second handler cannot be installed (tests run several in one process): ignore.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let done = AtomicU64::new(0);
    let total: u64 = (blocks.0..blocks.1)
        .map(|b| {
            ((b + 1) * levfarm_risk::run::BLOCK).min(plan.spec.paths) - b * levfarm_risk::run::BLOCK
        })
        .sum();
    let bar = progress_bar_of(quiet, "risk", "paths");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| Failure(EXIT_IO, format!("thread pool: {e}")))?;
    let result = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            if let Some(bar) = &bar {
                bar.set_length(total);
                loop {
                    let d = done.load(Ordering::Relaxed);
                    bar.set_position(d);
                    if d >= total || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            }
        });
        let r = pool.install(|| plan.run(blocks, shard, &done, &stop));
        if r.is_err() {
            stop.store(true, Ordering::SeqCst);
        }
        done.store(total, Ordering::Relaxed);
        let _ = watcher.join();
        r
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match result {
        Err(RiskError::Interrupted) => Err(Failure(
            EXIT_INTERRUPTED,
            format!(
                "interrupted after {} of {total} paths; nothing was written",
                done.load(Ordering::Relaxed)
            ),
        )),
        other => Ok(other?),
    }
}

fn run_merge(args: &MergeArgs) -> Result<(), Failure> {
    let mut parts = Vec::new();
    for path in &args.partials {
        let text = fs::read_to_string(path)
            .map_err(|e| Failure(EXIT_BAD_INPUT, format!("{}: {e}", path.display())))?;
        let part: Partial = serde_json::from_str(&text).map_err(|e| {
            Failure(
                EXIT_BAD_INPUT,
                format!(
                    "{}:{}:{}: not a risk partial result: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                ),
            )
        })?;
        parts.push(part);
    }
    let merged = Plan::merge(&parts)?;
    let scenario = merged.scenario.clone();
    let prices = levfarm_sim::Backtest::load(scenario.clone())?.prices;
    let plan = Plan::new(&scenario, &merged.sweeps, Some(&prices))?;
    if plan.fingerprint != merged.fingerprint {
        return Err(Failure(
            EXIT_BAD_INPUT,
            format!(
                "merge: the partials' fingerprint {} is not that of the settings they carry ({}): \
                 were the files edited, or the data changed since the run?",
                merged.fingerprint, plan.fingerprint
            ),
        ));
    }
    if !plan.complete(&merged) {
        return Err(Failure(
            EXIT_BAD_INPUT,
            format!(
                "merge: the partials cover blocks {}..{} of 0..{}; a shard is missing",
                merged.blocks.0,
                merged.blocks.1,
                plan.blocks()
            ),
        ));
    }
    output(&plan, &merged, args.json, args.report.as_ref())
}

fn output(
    plan: &Plan,
    partial: &Partial,
    json: bool,
    report: Option<&PathBuf>,
) -> Result<(), Failure> {
    let summaries = plan.summaries(partial);
    let recs = levfarm_risk::advice::recommendations(plan, &summaries);
    if let Some(path) = report {
        let page = levfarm_report::render_risk_html(&levfarm_report::from_risk(
            plan, partial, &summaries, &recs,
        ));
        write_file(path, page.as_bytes())?;
    }
    let mut out = io::stdout().lock();
    let text = if json {
        let configs: Vec<_> = plan
            .configs
            .iter()
            .zip(&summaries)
            .map(|(c, s)| {
                json!({
                    "label": c.label,
                    "settings": c.settings,
                    "leverage": c.scenario.position.leverage,
                    "summary": s,
                })
            })
            .collect();
        let value = json!({
            "fingerprint": plan.fingerprint,
            "model": plan.model_note,
            "position": plan.position_note,
            "paths": plan.spec.paths,
            "horizon_days": plan.spec.horizon_days,
            "steps_per_path": plan.steps,
            "seed": plan.spec.seed,
            "start_price": plan.start_price,
            "configs": configs,
            "notes": notes(plan, &summaries),
            "recommendations": recs,
        });
        serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
    } else {
        table_text(plan, &summaries, &recs)
    };
    out.write_all(text.as_bytes()).map_err(|e| Failure(EXIT_IO, e.to_string()))?;
    Ok(())
}

fn table_text(plan: &Plan, summaries: &[Summary], recs: &[String]) -> String {
    let s = &plan.spec;
    let mut text = format!(
        "{}: {} paths × {} steps ({} days, {} a day), seed {}, start price {}\nposition: {}\n\
         model: {}\n\n",
        plan.base.name,
        s.paths,
        plan.steps,
        s.horizon_days,
        s.steps_per_day,
        s.seed,
        table::money(plan.start_price),
        plan.position_note,
        plan.model_note
    );
    let pct = |v: f64| if v.is_finite() { table::percent(v) } else { "–".into() };
    let annualised = summaries.iter().all(|m| m.annualised);
    let figure = if annualised { "APY" } else { "return" };
    let (mean_h, median_h, low_h, high_h) = (
        format!("mean {figure}"),
        format!("median {figure}"),
        format!("5% {figure}"),
        format!("95% {figure}"),
    );
    let header: Vec<String> = [
        "config",
        "P(liq)",
        "95% CI",
        "P(loss)",
        "P(all lost)",
        mean_h.as_str(),
        median_h.as_str(),
        low_h.as_str(),
        high_h.as_str(),
        "VaR95",
        "CVaR95",
        "VaR99",
        "CVaR99",
        "days to liq",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    let rows: Vec<Vec<String>> = plan
        .configs
        .iter()
        .zip(summaries)
        .map(|(c, m)| {
            let quantiles = if annualised { &m.apy_quantiles } else { &m.return_quantiles };
            let q = |p: f64| quantiles.iter().find(|x| x.0 == p).map_or(f64::NAN, |x| x.1);
            let (mean, median) = if annualised {
                (m.mean_apy, m.median_apy)
            } else {
                (m.mean_return, m.median_return)
            };
            vec![
                c.label.clone(),
                pct(m.liquidation_probability),
                format!("{}–{}", pct(m.liquidation_ci95.0), pct(m.liquidation_ci95.1)),
                pct(m.loss_probability),
                pct(m.wipeout_probability),
                pct(mean),
                pct(median),
                pct(q(0.05)),
                pct(q(0.95)),
                pct(m.var95),
                pct(m.cvar95),
                pct(m.var99),
                pct(m.cvar99),
                m.median_days_to_liquidation.map_or("–".into(), |d| format!("{d:.1}")),
            ]
        })
        .collect();
    text.push_str(&table::render(&header, &rows));
    text.push('\n');
    for note in notes(plan, summaries) {
        text.push_str(&format!("note: {note}\n"));
    }
    for r in recs {
        text.push_str(&format!("Recommendation: {r}\n"));
    }
    text
}

/// A `--calibrate` history: the file (or bundled name) and its column, from `FILE#COLUMN`
/// (a file whose own name holds `#` is taken whole).
fn history_of(spec: &str) -> (String, Option<String>) {
    match spec.rsplit_once('#') {
        Some((file, column)) if !std::path::Path::new(spec).exists() && !column.is_empty() => {
            (file.to_owned(), Some(column.to_owned()))
        }
        _ => (spec.to_owned(), None),
    }
}

fn calibrate(specs: &[String], args: &RiskArgs) -> Result<(), Failure> {
    use levfarm_sim::data::{iso, load_prices, on_one_clock, GapPolicy, PriceOptions};
    // Gaps are filled: a filled bar is a zero return, reported with the fit.
    let mut histories = Vec::with_capacity(specs.len());
    for spec in specs {
        let (file, column) = history_of(spec);
        let options = PriceOptions { gaps: GapPolicy::Fill, column, ..Default::default() };
        histories.push(load_prices(&file, &options).map_err(levfarm_sim::SimError::from)?);
    }
    let bad = |spec: &str, e: levfarm_risk::calibrate::CalibrationError| {
        Failure(EXIT_BAD_INPUT, format!("{spec}: {e}"))
    };
    let mut histories = histories.into_iter();
    let Some(first) = histories.next() else { return Ok(()) };
    if specs.len() == 1 {
        let returns = levfarm_risk::run::log_returns(&first.closes);
        let dt = first.interval as f64 / levfarm_sim::world::YEAR;
        let fit =
            levfarm_risk::calibrate::calibrate(&returns, dt).map_err(|e| bad(&specs[0], e))?;
        let text = if args.json {
            serde_json::to_string_pretty(&fit).unwrap_or_default() + "\n"
        } else {
            format!(
                "{}: {} returns of {} s ({} missing bars filled)\n\n{}",
                specs[0],
                fit.steps,
                first.interval,
                first.filled,
                fitted_models(&fit, true)
            )
        };
        return io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| Failure(EXIT_IO, e.to_string()));
    }
    // Several: the bars every history has, then each one's fit and their correlations.
    let others: Vec<(String, _)> = specs[1..].iter().cloned().zip(histories).collect();
    let clock = on_one_clock(first, None, others).map_err(levfarm_sim::SimError::from)?;
    let dt = clock.interval as f64 / levfarm_sim::world::YEAR;
    let mut returns = vec![levfarm_risk::run::log_returns(&clock.closes)];
    returns.extend(clock.others.iter().map(|(_, c)| levfarm_risk::run::log_returns(c)));
    let mut fits = Vec::with_capacity(specs.len());
    for (spec, r) in specs.iter().zip(&returns) {
        fits.push(levfarm_risk::calibrate::calibrate(r, dt).map_err(|e| bad(spec, e))?);
    }
    let rho = levfarm_risk::calibrate::correlation(&returns).map_err(|e| bad(&specs[0], e))?;
    let joint =
        levfarm_risk::calibrate::fit_joint_jumps(&returns, dt).map_err(|e| bad(&specs[0], e))?;
    let (from, to) = (clock.times[0], clock.times[clock.times.len() - 1]);
    let text = if args.json {
        let series: Vec<_> =
            specs.iter().zip(&fits).map(|(s, f)| json!({ "history": s, "fit": f })).collect();
        let out = json!({
            "bars": clock.times.len(),
            "interval": clock.interval,
            "from": iso(from),
            "to": iso(to),
            "filled": clock.filled,
            "series": series,
            "correlation": rho,
            "joint_jumps": joint,
        });
        serde_json::to_string_pretty(&out).unwrap_or_default() + "\n"
    } else {
        let mut text = format!(
            "{} histories on one clock: {} bars of {} s from {} to {} ({} missing bars filled)\n",
            specs.len(),
            clock.times.len(),
            clock.interval,
            iso(from),
            iso(to),
            clock.filled
        );
        for (spec, fit) in specs.iter().zip(&fits) {
            text.push_str(&format!("\n{spec}\n{}", fitted_models(fit, false)));
        }
        text.push_str("\ncorrelation of the log returns\n");
        let width = specs.iter().map(|s| s.len()).max().unwrap_or(0);
        for (spec, row) in specs.iter().zip(&rho) {
            let cells: Vec<String> = row.iter().map(|r| format!("{r:>6.3}")).collect();
            text.push_str(&format!("{spec:<width$}  {}\n", cells.join("  ")));
        }
        text.push_str(&format!(
            "\nMerton with jumps at common times (EM; {} iterations, log-likelihood {:.4} per \
             step):\nlambda = {:.2} a year{}\n",
            joint.iterations,
            joint.log_likelihood,
            joint.lambda,
            if joint.lambda > 0.0 { "" } else { " (no jumps pay for their parameters)" }
        ));
        let assets: Vec<String> = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                format!(
                    "\"{spec}\" = {{ mu = {:.4}, sigma = {:.4}, jump_mean = {:.4}, jump_std = {:.4} }}",
                    joint.mu[i], joint.sigma[i], joint.jump_mean[i], joint.jump_std[i]
                )
            })
            .collect();
        let pairs: Vec<String> = (0..specs.len())
            .flat_map(|i| (i + 1..specs.len()).map(move |j| (i, j)))
            .map(|(i, j)| format!("\"{}/{}\" = {:.4}", specs[i], specs[j], joint.correlation[i][j]))
            .collect();
        text.push_str(&format!(
            "As portfolio settings (name each history by its token):\n[portfolio.risk]\n\
             model = \"merton\"\nassets = {{ {} }}\ncorrelation = {{ {} }}\n\
             jumps = {{ lambda = {:.2}, mean = {:.4}, std = {:.4} }}\n",
            assets.join(", "),
            pairs.join(", "),
            joint.lambda,
            joint.jump_mean[0],
            joint.jump_std[0]
        ));
        if let ([_, second], [_, g]) = (&rho[..], &fits[..]) {
            let price = clock.others[0].1[clock.times.len() - 1];
            text.push_str(&format!(
                "\nThe second as the pool's stable token's own process (risk.second_asset):\n\
                 second_asset = {{ price = {}, mu = {:.4}, sigma = {:.4}, rho = {:.4} }}\n",
                price, g.gbm.mu, g.gbm.sigma, second[0]
            ));
        }
        text
    };
    io::stdout().lock().write_all(text.as_bytes()).map_err(|e| Failure(EXIT_IO, e.to_string()))
}

/// The three fits as a table and as scenario lines (`explain`: with the note on the drift).
fn fitted_models(fit: &levfarm_risk::calibrate::Calibration, explain: bool) -> String {
    let (g, m, h) = (fit.gbm, fit.merton, fit.garch);
    let note = if explain {
        format!(
            "mu is the price's drift in every model (E[P_t] = P_0·e^(mu·t)). Its standard error \
             here is {:.2} a year: the history's drift is an estimate, not a forecast, and \
             scenarios run with mu = 0 unless told otherwise.\n\n",
            fit.drift_standard_error
        )
    } else {
        format!("mu's standard error: {:.2} a year\n", fit.drift_standard_error)
    };
    format!(
        "GBM     mu = {:.4}, sigma = {:.4}   (log-likelihood {:.4} per step)\n\
         Merton  mu = {:.4}, sigma = {:.4}, lambda = {:.2}/yr, jump_mean = {:.4}, jump_std = {:.4}   ({:.4})\n\
         GARCH   mu = {:.4}, omega = {:.3e}, alpha = {:.4}, beta = {:.4}   ({:.4})\n{}{}\
         As scenario settings:\n\
         model = {{ kind = \"gbm\", mu = {:.4}, sigma = {:.4} }}\n\
         model = {{ kind = \"merton\", mu = {:.4}, sigma = {:.4}, lambda = {:.2}, jump_mean = {:.4}, jump_std = {:.4} }}\n\
         model = {{ kind = \"garch\", mu = {:.4}, omega = {:.3e}, alpha = {:.4}, beta = {:.4} }}\n",
        g.mu, g.sigma, fit.log_likelihood[0],
        m.mu, m.sigma, m.lambda, m.jump_mean, m.jump_std, fit.log_likelihood[1],
        h.mu, h.omega, h.alpha, h.beta, fit.log_likelihood[2],
        if explain { "\n" } else { "" },
        note,
        g.mu, g.sigma, m.mu, m.sigma, m.lambda, m.jump_mean, m.jump_std,
        h.mu, h.omega, h.alpha, h.beta,
    )
}

fn frictionless(args: &RiskArgs) -> Result<(), Failure> {
    let paths = args.paths.unwrap_or(10_000);
    if paths == 0 {
        return Err(Failure(EXIT_BAD_INPUT, "--paths must be at least 1".into()));
    }
    let mut model = Frictionless::default();
    if let Some(NormalPrecision::Single) = args.precision {
        model.precision = Precision::Single;
    }
    if let Some(&l) = args.leverages.as_ref().and_then(|l| l.first()) {
        if !(l.is_finite() && l > 1.0 && l <= 100.0) {
            return Err(Failure(
                EXIT_BAD_INPUT,
                format!("--leverages: the frictionless model needs a leverage above 1 and at most 100, not {l}"),
            ));
        }
        model.leverage = l;
    }
    if let Some(d) = args.horizon_days {
        if !(1..=36_500).contains(&d) {
            return Err(Failure(
                EXIT_BAD_INPUT,
                format!("--horizon-days: the frictionless model runs 1 to 36500 days, not {d}"),
            ));
        }
        model.steps = d * 24;
    }
    let repeats = args.repeats.unwrap_or(3);
    if !(1..=1000).contains(&repeats) {
        return Err(Failure(EXIT_BAD_INPUT, format!("--repeats must be 1 to 1000, not {repeats}")));
    }
    if let Some(0) = args.threads {
        return Err(Failure(EXIT_BAD_INPUT, "--threads must be at least 1".into()));
    }
    let seed = args.seed.unwrap_or(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| Failure(EXIT_IO, format!("thread pool: {e}")))?;
    let mut times = Vec::with_capacity(repeats as usize);
    let mut r = FastResult::default();
    for _ in 0..repeats {
        #[allow(clippy::disallowed_methods)]
        let started = std::time::Instant::now();
        r = pool.install(|| model.run(paths, seed));
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let secs = times[times.len() / 2];
    let nominal = paths as f64 * f64::from(model.steps);
    let text = format!(
        "frictionless {}x: precision={} paths={} steps={} threads={} runs={} median_time={:.3}s \
         path-steps/s={:.0} simulated-steps/s={:.0} liquidated={}/{} ({:.1}%) \
         mean_final_equity={:.2}\n",
        model.leverage,
        match model.precision {
            Precision::Double => "double",
            Precision::Single => "single",
        },
        paths,
        model.steps,
        pool.current_num_threads(),
        repeats,
        secs,
        nominal / secs,
        r.simulated_steps as f64 / secs,
        r.liquidated,
        r.paths,
        100.0 * r.liquidated as f64 / r.paths as f64,
        r.sum_equity / r.paths as f64
    );
    io::stdout().lock().write_all(text.as_bytes()).map_err(|e| Failure(EXIT_IO, e.to_string()))
}
