//! `levfarm stress`: a book of positions on the scenario's market under instantaneous price
//! shocks, with the liquidators in rounds and their cascades.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use levfarm_sim::stress::{
    stress, stress_sweep, within_budget, BookSpec, Liquidator, OracleRule, ShockOutcome,
    StressOutput, StressRow, Trials, Walk, WindowSpec, WINDOWS,
};

use crate::backtest::{finish, load_styled, Failure, ScenarioArgs};
use crate::exec::EXIT_BAD_INPUT;
use crate::table;
use levfarm_risk::stress::{
    merge_parts, stress_part, stress_paths, PathsOutput, PathsPart, PathsRun, PathsSpec,
};

#[derive(Debug, clap::Args)]
pub struct StressArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The book's positions from a CSV file (columns equity, leverage, side = long|short, and
    /// optionally entry, the price it opened at) instead of drawing them.
    #[arg(long, value_name = "FILE.csv")]
    book: Option<std::path::PathBuf>,
    /// Positions in the book.
    #[arg(long, default_value_t = 1_000)]
    positions: usize,
    /// The book's seed: the same seed draws the same book.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Each position's equity: the median of its log-normal draw, in the numeraire.
    #[arg(long, default_value_t = 5_000.0)]
    median_equity: f64,
    /// Leverage drawn uniformly between these two: `--leverage 1.5,3.2`; `--leverage 1.5,max`
    /// draws up to 98% of the most the venue's open limit allows (1 / (1 − work factor)), so
    /// that a sweep of the work factor sweeps how far users borrow.
    #[arg(long, value_delimiter = ',', default_values = ["1.5", "3.2"])]
    leverage: Vec<String>,
    /// The share of positions that borrow the asset (short).
    #[arg(long, default_value_t = 0.2)]
    short_share: f64,
    /// Each position's entry price: log-normal around the book's price with this log spread;
    /// positions already past their kill factor at the book's price are not in the book.
    #[arg(long, default_value_t = 0.2)]
    entry_spread: f64,
    /// Positions entered uniformly over this many days before the book's start, each at the
    /// price history's close then (in place of --entry-spread), their debts accruing interest
    /// since; 0: all at the start.
    #[arg(long, default_value_t = 0.0)]
    entry_days: f64,
    /// The share of the book's positions that carry the scenario's protection orders
    /// (`[protection]`: deleverage, stop-loss, take-profit...); the rest carry none.
    #[arg(long, default_value_t = 0.0)]
    protected: f64,
    /// The keepers run the protection orders every this many minutes (1: every minute): late
    /// keepers.
    #[arg(long, default_value_t = 1)]
    keeper_every: u32,
    /// The oracle's instantaneous moves: `--shocks=-0.1,-0.2,-0.3,-0.5`.
    /// -0.1,-0.2,-0.3,-0.5 unless --window is given.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    shocks: Vec<f64>,
    /// Run the book through a window of the scenario's price history at minute steps, each
    /// window with its own book opened at the close before it: a name (march-2020, may-2021,
    /// may-2022, june-2022, november-2022, or `all`), or a span `2020-03-12..2020-03-14`.
    /// Repeatable.
    #[arg(long, value_name = "NAME|FROM..TO")]
    window: Vec<String>,
    /// Reach each shock over this many one-minute steps (log-linear) instead of at once, the
    /// liquidators acting every minute.
    #[arg(long, default_value_t = 0)]
    minutes: u32,
    /// With --minutes: the share of the fall that comes back over as many minutes after it.
    #[arg(long, default_value_t = 0.0)]
    recovery: f64,
    /// With --minutes: the oracle publishes after this many seconds without an update...
    #[arg(long, default_value_t = 0)]
    heartbeat_secs: u64,
    /// ...or when the market moved this far from its last price (bps); with neither, every
    /// minute.
    #[arg(long, default_value_t = 0)]
    deviation_bps: u32,
    /// The oracle's feed lags the market by this many seconds (whole minutes of a walk or
    /// window).
    #[arg(long, default_value_t = 0)]
    oracle_delay_secs: u64,
    /// A bad print: at this minute the oracle publishes the market's price times the factor,
    /// corrected the minute after: `--bad-print 30:0.7`.
    #[arg(long, value_name = "MINUTE:FACTOR")]
    bad_print: Option<String>,
    /// The pool's outside LPs withdraw this share of their liquidity for every 10% the market
    /// is below its start (0.1: a tenth per 10% fall).
    #[arg(long, default_value_t = 0.0)]
    lp_flight: f64,
    /// A liquidator competing for the kills: `GAS:MIN_PROFIT:CAPITAL:DELAY` (capital: the most
    /// debt it repays a minute, 0 unlimited; delay: minutes after a position went past its
    /// kill factor before it acts). Repeatable; when given, replaces --gas and --min-profit.
    #[arg(long, value_name = "GAS:MIN_PROFIT:CAPITAL:DELAY")]
    liquidator: Vec<String>,
    /// What a kill costs the liquidator in gas (numeraire)...
    #[arg(long, default_value_t = 0.0)]
    gas: f64,
    /// ...and the least it kills for, prize less gas: kills worth less are left undone.
    #[arg(long, default_value_t = 0.0)]
    min_profit: f64,
    /// The asset's price before the shocks; the data's last close when omitted.
    #[arg(long)]
    price: Option<f64>,
    /// Run the book through this many simulated futures of the scenario's price model
    /// (`[risk.model]`) at minute steps, and report the distribution of their bad debt (mean,
    /// VaR95, EVaR99).
    #[arg(long, default_value_t = 0)]
    paths: u64,
    /// With --paths: each future's length in hours.
    #[arg(long, default_value_t = 48)]
    hours: u32,
    /// With --paths: walk every path on the exact engine, even where the f64 book kernel
    /// (held to the engine by a differential test, and many times faster) models the market.
    #[arg(long)]
    exact: bool,
    /// Run every combination of scenario values: `--sweep market.leverage.kill_factor_bps=8000,8333
    /// --sweep market.leverage.kill_prize_bps=100,500`.
    #[arg(long, value_name = "KEY=V1,V2,...")]
    sweep: Vec<String>,
    /// Search one integer scenario key for its highest value within the budget, by bisection
    /// (the risk taken to grow with it, as an open limit's does): `--search
    /// market.leverage.work_factor_bps=6000..8000` (with `--leverage 1.5,max`).
    #[arg(long, value_name = "KEY=LOW..HIGH")]
    search: Option<String>,
    /// With --search: stop when the bracket is this narrow.
    #[arg(long, default_value_t = 25)]
    search_step: u64,
    /// With --sweep: the most bad debt allowed at the worst shock, as a share of the book's
    /// debt (0.001 is 0.1%); the combination within it with the highest open limit is named.
    #[arg(long, default_value_t = 0.001)]
    budget: f64,
    /// Check every position every minute rather than those near their liquidation price (the
    /// reference the index is tested against; for benchmarks).
    #[arg(long, hide = true)]
    full_scan: bool,
    /// With --paths: run shard I of N (1-based) of the paths and write a partial result for
    /// `levfarm stress --merge`; also read from a scheduler's array index with --shards N.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Shard count when the index comes from the scheduler's environment.
    #[arg(long, value_name = "N")]
    shards: Option<u64>,
    /// Where to write the partial result (default: stress-shard-I-of-N.json).
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
    /// Merge the partial results of `--shard` runs into the run's Monte Carlo figures (the same
    /// bytes as one run).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    merge: Vec<std::path::PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Spread the positions over the market's pools of the pair: `--pools main:0.6,v3:0.4`
    /// (names of `[market.pools]`, each with its share of the book; a name alone is a share of
    /// 1). The scenario position's pool alone by default.
    #[arg(long, value_delimiter = ',', value_name = "NAME:SHARE")]
    pools: Vec<String>,
    /// Spread the positions over the market's venues, each with its own leverage rules and
    /// lending pools: `--venues main:0.5,alpaca:0.5`.
    #[arg(long, value_delimiter = ',', value_name = "NAME:SHARE")]
    venues: Vec<String>,
    /// The range widths (ticks) a position on a v3 pool draws from, uniformly:
    /// `--range-widths 600,2000,8000`. The scenario position's by default.
    #[arg(long, value_delimiter = ',', value_name = "TICKS")]
    range_widths: Vec<i32>,
    /// Plain borrowers beside the positions (Aave style): each supplies the asset as
    /// collateral at the positions' venue and borrows 50% to 99% of its capacity in the stable
    /// token; liquidators repay them under Aave's close factor and sell the collateral through
    /// the pool (the asset's `collateral` settings, or Aave v3's WETH).
    #[arg(long, default_value_t = 0)]
    borrowers: usize,
    /// The borrowers' median collateral (numeraire).
    #[arg(long, default_value_t = 20_000.0)]
    borrower_collateral: f64,
    /// Print the results as JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write the results as a self-contained HTML page (shocks, windows, Monte Carlo
    /// windows, a sweep against its budget).
    #[arg(long, value_name = "FILE")]
    report: Option<std::path::PathBuf>,
}

pub fn stress_command(args: &StressArgs) -> ExitCode {
    finish(run(args))
}

fn run(args: &StressArgs) -> Result<(), Failure> {
    let bad = |m: String| Failure(EXIT_BAD_INPUT, m);
    if !args.merge.is_empty() {
        return merge(args);
    }
    if !(args.median_equity.is_finite() && args.median_equity > 0.0 && args.median_equity <= 1e9) {
        return Err(bad(format!(
            "--median-equity {}: above 0 and at most 1e9",
            args.median_equity
        )));
    }
    if !(args.short_share.is_finite() && (0.0..=1.0).contains(&args.short_share)) {
        return Err(bad(format!("--short-share {}: between 0 and 1", args.short_share)));
    }
    let leverage = match args.leverage.as_slice() {
        [lo, hi] => {
            let lo = lo.trim().parse::<f64>().ok();
            let hi = if hi.trim() == "max" { Some(f64::NAN) } else { hi.trim().parse().ok() };
            lo.zip(hi)
        }
        _ => None,
    }
    .ok_or_else(|| {
        bad(format!(
            "--leverage: two numbers, low and high (1.5,3.2), or low,max, not {:?}",
            args.leverage.join(",")
        ))
    })?;
    if args.shocks.len() > 64 || args.window.len() > 64 {
        return Err(bad("--shocks and --window: at most 64 of each".into()));
    }
    let mut windows = Vec::new();
    for w in &args.window {
        if w == "all" {
            for named in WINDOWS {
                windows.push(WindowSpec::parse(named.name).map_err(|e| bad(e.to_string()))?);
            }
        } else {
            windows.push(WindowSpec::parse(w).map_err(|e| bad(format!("--window: {e}")))?);
        }
    }
    let shocks = match (args.shocks.is_empty(), windows.is_empty()) {
        (true, true) if args.paths == 0 => vec![-0.1, -0.2, -0.3, -0.5],
        _ => args.shocks.clone(),
    };
    let mut backtest = load_styled(&args.scenario, true)?;
    // Only protected positions carry the scenario's protection; with none, it must not hold a
    // sweep of the kill factor to its deleverage trigger.
    if args.protected == 0.0 && args.book.is_none() {
        backtest.scenario.protection = Default::default();
    }
    let price = match args.price {
        Some(p) => levfarm_sim::world::price_from_f64(p)
            .map_err(|_| bad(format!("--price {p}: a positive price")))?,
        None => *backtest.prices.closes.last().ok_or_else(|| bad("no prices".into()))?,
    };
    if price.0.is_zero() {
        return Err(bad("--price: a positive price".into()));
    }
    let bad_print = match &args.bad_print {
        None => None,
        Some(text) => {
            let parsed = text.split_once(':').and_then(|(m, f)| {
                Some((m.trim().parse::<u32>().ok()?, f.trim().parse::<f64>().ok()?))
            });
            Some(parsed.ok_or_else(|| {
                bad(format!("--bad-print {text:?}: MINUTE:FACTOR, such as 30:0.7"))
            })?)
        }
    };
    let mut agents = Vec::new();
    for text in &args.liquidator {
        let parts: Vec<&str> = text.split(':').map(str::trim).collect();
        let parsed = match parts.as_slice() {
            [g, m, c, d] => (|| {
                Some(Liquidator {
                    gas: g.parse().ok()?,
                    min_profit: m.parse().ok()?,
                    capital: c.parse().ok()?,
                    delay: d.parse().ok()?,
                })
            })(),
            _ => None,
        };
        agents.push(parsed.ok_or_else(|| {
            bad(format!("--liquidator {text:?}: GAS:MIN_PROFIT:CAPITAL:DELAY, such as 20:5:0:0"))
        })?);
    }
    let walk = Walk {
        minutes: args.minutes,
        recovery: args.recovery,
        oracle: OracleRule {
            heartbeat_secs: args.heartbeat_secs,
            deviation_bps: args.deviation_bps,
            delay_secs: args.oracle_delay_secs,
        },
        bad_print,
        lp_flight: args.lp_flight,
        keeper_every: args.keeper_every,
        full_scan: args.full_scan,
        liquidator: agents.first().copied().unwrap_or(Liquidator {
            gas: args.gas,
            min_profit: args.min_profit,
            ..Liquidator::default()
        }),
        rivals: agents.iter().skip(1).copied().collect(),
    };
    let trials = Trials {
        shocks: &shocks,
        windows: &windows,
        series: Some(&backtest.prices),
        walk: walk.clone(),
    };
    let rows = match &args.book {
        None => None,
        Some(path) => {
            let shown = path.display().to_string();
            let text =
                std::fs::read_to_string(path).map_err(|e| bad(format!("--book {shown}: {e}")))?;
            let rows = levfarm_sim::stress::parse_book_csv(&shown, &text)
                .map_err(|e| bad(e.to_string()))?;
            Some(std::sync::Arc::new(rows))
        }
    };
    let spec = BookSpec {
        positions: args.positions,
        seed: args.seed,
        median_equity: args.median_equity,
        equity_spread: BookSpec::default().equity_spread,
        leverage: (leverage.0, if leverage.1.is_nan() { 0.0 } else { leverage.1 }),
        leverage_to_limit: leverage.1.is_nan(),
        short_share: args.short_share,
        entry_spread: args.entry_spread,
        entry_days: args.entry_days,
        protected: args.protected,
        pools: shares("--pools", &args.pools)?,
        venues: shares("--venues", &args.venues)?,
        widths: args.range_widths.clone(),
        borrowers: args.borrowers,
        borrower_collateral: args.borrower_collateral,
        file: args.book.as_ref().map(|p| p.display().to_string()),
        rows,
    };
    if let Some(search) = &args.search {
        return run_search(args, search, &backtest, price, &spec, &trials);
    }
    if !args.sweep.is_empty() {
        if !(args.budget.is_finite() && (0.0..=1.0).contains(&args.budget)) {
            return Err(bad(format!("--budget {}: a share of the debt, 0 to 1", args.budget)));
        }
        let grid = levfarm_sim::run::parse_grid(&args.sweep)?;
        let mut rows = stress_sweep(&backtest.scenario, &grid, price, &spec, &trials)?;
        // With --paths each combination's Monte Carlo windows too, its EVaR99 held to the
        // budget with the shocks and windows.
        let mut paths = Vec::new();
        if args.paths > 0 {
            let combos = levfarm_sim::run::combinations(&backtest.scenario, &grid)?;
            crate::backtest::with_progress(args.quiet, "stress sweep", "combinations", |r| {
                for (k, ((_, s), row)) in combos.iter().zip(rows.iter_mut()).enumerate() {
                    let run = paths_run(args, s, &backtest.prices, price, &spec, &walk);
                    let out = stress_paths(&run, None)?;
                    row.worst_bad_debt = row.worst_bad_debt.max(out.bad_debt.evar99_share);
                    paths.push(out);
                    r(k as u64 + 1, combos.len() as u64);
                }
                Ok::<_, levfarm_sim::SimError>(())
            })?;
        }
        let best = within_budget(&rows, args.budget);
        if let Some(path) = &args.report {
            let sweep = levfarm_report::Sweep {
                rows: &rows,
                paths: &paths,
                budget: args.budget,
                best: best.and_then(|b| rows.iter().position(|r| std::ptr::eq(r, b))),
            };
            let title = format!("Stress sweep: {} combinations", rows.len());
            write_report(path, args, &backtest.scenario, title, None, None, Some(sweep))?;
        }
        let mut o = io::stdout().lock();
        if args.json {
            let v = serde_json::json!({
                "rows": rows,
                "paths": paths,
                "budget": args.budget,
                "within_budget": best
            });
            serde_json::to_writer(&mut o, &v).context("cannot write JSON")?;
            writeln!(o)?;
        } else {
            write!(o, "{}", sweep_summary(&rows, &paths, best, args.budget))?;
        }
        return Ok(());
    }
    let shard = match &args.shard {
        Some(text) => Some(levfarm_risk::shard::parse(text).map_err(bad)?),
        None => levfarm_risk::shard::from_scheduler(args.shards, |k| std::env::var(k).ok())
            .map_err(bad)?,
    };
    let run = paths_run(args, &backtest.scenario, &backtest.prices, price, &spec, &walk);
    let p = run.paths;
    if let Some((i, n)) = shard {
        if args.paths == 0 || !args.shocks.is_empty() || !windows.is_empty() {
            return Err(bad("--shard runs the Monte Carlo windows alone: give --paths, and \
                            no --shocks or --window"
                .into()));
        }
        let part = crate::backtest::with_progress(args.quiet, "stress paths", "paths", |r| {
            stress_part(&run, (i, n), Some(r))
        })?;
        let file = args.out.clone().unwrap_or_else(|| {
            std::path::PathBuf::from(format!("stress-shard-{}-of-{n}.json", i + 1))
        });
        let text = serde_json::to_string(&part).context("cannot write JSON")?;
        std::fs::write(&file, text + "\n")
            .map_err(|e| Failure(crate::exec::EXIT_IO, format!("{}: {e}", file.display())))?;
        let range = levfarm_risk::stress::shard_range(p.paths, (i, n));
        // The shard's one line of news: stdout stays for results.
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "wrote {} (shard {}/{n}: paths {} to {})",
                file.display(),
                i + 1,
                range.start,
                range.end.saturating_sub(1)
            );
        }
        return Ok(());
    }
    let out = stress(&backtest.scenario, price, &spec, &trials)?;
    let paths = if args.paths > 0 {
        Some(crate::backtest::with_progress(args.quiet, "stress paths", "paths", |r| {
            stress_paths(&run, Some(r))
        })?)
    } else {
        None
    };
    if let Some(path) = &args.report {
        let title = format!("Stress test: a book of {} positions", out.opened);
        write_report(path, args, &backtest.scenario, title, Some(&out), paths.as_ref(), None)?;
    }
    let mut o = io::stdout().lock();
    if args.json {
        let mut v = serde_json::to_value(&out).context("cannot write JSON")?;
        v["paths"] = serde_json::to_value(&paths).context("cannot write JSON")?;
        serde_json::to_writer(&mut o, &v).context("cannot write JSON")?;
        writeln!(o)?;
    } else {
        write!(o, "{}", summary(&out))?;
        if let Some(p) = &paths {
            write!(o, "{}", paths_summary(p))?;
        }
    }
    Ok(())
}

/// The Monte Carlo windows `args` ask for, of `scenario`'s book.
fn paths_run<'a>(
    args: &StressArgs,
    scenario: &'a levfarm_sim::Scenario,
    series: &'a levfarm_sim::data::PriceSeries,
    start: levfarm_core::price::Price,
    spec: &'a BookSpec,
    walk: &'a levfarm_sim::stress::Walk,
) -> PathsRun<'a> {
    PathsRun {
        scenario,
        series,
        start,
        spec,
        walk,
        paths: PathsSpec { paths: args.paths, hours: args.hours, seed: args.seed },
        exact: args.exact,
    }
}

/// The worst bad debt of `s` over the shocks, windows and (with --paths) the paths' EVaR99, as
/// a share of the debt; and the book's count.
fn worst_of(
    args: &StressArgs,
    s: &levfarm_sim::Scenario,
    prices: &levfarm_sim::data::PriceSeries,
    price: levfarm_core::price::Price,
    spec: &BookSpec,
    trials: &Trials,
) -> Result<(f64, usize), Failure> {
    let out = stress(s, price, spec, trials)?;
    let mut worst = out.worst_bad_debt();
    if args.paths > 0 {
        let run = paths_run(args, s, prices, price, spec, &trials.walk);
        let paths = stress_paths(&run, None)?;
        worst = worst.max(paths.bad_debt.evar99_share);
    }
    Ok((worst, out.opened))
}

/// One combination's search: its settings, the points tried (value, positions opened, worst
/// bad debt), and the highest value within the budget.
struct Searched {
    settings: Vec<(String, String)>,
    tried: Vec<(u64, usize, f64)>,
    found: Option<u64>,
}

/// `--search KEY=LOW..HIGH`: bisection for the key's highest value whose worst bad debt stays
/// within the budget; with `--sweep`, for every combination of the grid, and the combination
/// that allows the highest value named.
fn run_search(
    args: &StressArgs,
    search: &str,
    backtest: &levfarm_sim::run::Backtest,
    price: levfarm_core::price::Price,
    spec: &BookSpec,
    trials: &Trials,
) -> Result<(), Failure> {
    let bad = |m: String| Failure(EXIT_BAD_INPUT, m);
    let parsed = search.split_once('=').and_then(|(k, r)| {
        let (lo, hi) = r.split_once("..")?;
        Some((k.trim(), lo.trim().parse::<u64>().ok()?, hi.trim().parse::<u64>().ok()?))
    });
    let Some((key, lo, hi)) = parsed.filter(|(_, lo, hi)| lo < hi) else {
        return Err(bad(format!("--search {search:?}: KEY=LOW..HIGH with integers LOW < HIGH")));
    };
    if !(args.budget.is_finite() && (0.0..=1.0).contains(&args.budget)) {
        return Err(bad(format!("--budget {}: a share of the debt, 0 to 1", args.budget)));
    }
    let combos = if args.sweep.is_empty() {
        vec![(Vec::new(), backtest.scenario.clone())]
    } else {
        let grid = levfarm_sim::run::parse_grid(&args.sweep)?;
        if grid.iter().any(|(k, _)| k == key) {
            return Err(bad(format!("--search {key} is also swept: search it or sweep it")));
        }
        levfarm_sim::run::combinations(&backtest.scenario, &grid)?
    };
    let step = args.search_step.max(1);
    let mut results = Vec::new();
    for (settings, scenario) in combos {
        let mut tried: Vec<(u64, usize, f64)> = Vec::new();
        let mut eval = |v: u64| -> Result<bool, Failure> {
            let s = scenario.with_value(key, &v.to_string())?;
            let (worst, opened) = worst_of(args, &s, &backtest.prices, price, spec, trials)?;
            tried.push((v, opened, worst));
            Ok(worst <= args.budget)
        };
        let (mut lo, mut hi) = (lo, hi);
        let found = if !eval(lo)? {
            None
        } else if eval(hi)? {
            Some(hi)
        } else {
            // lo within, hi not: halve until the bracket is `step` wide.
            while hi - lo > step {
                let mid = lo + (hi - lo) / 2;
                if eval(mid)? {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            Some(lo)
        };
        tried.sort_by_key(|t| t.0);
        results.push(Searched { settings, tried, found });
    }
    // The combination allowing the highest value; the first in grid order among equals.
    let best = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.found.map(|v| (v, std::cmp::Reverse(i))))
        .max()
        .map(|(_, std::cmp::Reverse(i))| i);
    let mut o = io::stdout().lock();
    if args.json {
        let json = |r: &Searched| {
            let points: Vec<_> = r
                .tried
                .iter()
                .map(|(v, opened, worst)| {
                    serde_json::json!({ "value": v, "opened": opened, "worst_bad_debt": worst })
                })
                .collect();
            serde_json::json!({
                "settings": r.settings, "tried": points, "highest_within_budget": r.found
            })
        };
        let mut v = serde_json::json!({ "key": key, "budget": args.budget });
        if args.sweep.is_empty() {
            let one = json(&results[0]);
            v["tried"] = one["tried"].clone();
            v["highest_within_budget"] = one["highest_within_budget"].clone();
        } else {
            v["combinations"] = results.iter().map(json).collect();
            v["best"] = best.map_or(serde_json::Value::Null, |i| json(&results[i]));
        }
        serde_json::to_writer(&mut o, &v).context("cannot write JSON")?;
        writeln!(o)?;
        return Ok(());
    }
    let budget = table::percent(args.budget);
    if args.sweep.is_empty() {
        let r = &results[0];
        let header =
            [key, "opened", "worst bad debt", "within the budget"].map(String::from).to_vec();
        let rows: Vec<Vec<String>> = r
            .tried
            .iter()
            .map(|(v, opened, worst)| {
                vec![
                    v.to_string(),
                    opened.to_string(),
                    table::percent(*worst),
                    if *worst <= args.budget { "yes" } else { "no" }.into(),
                ]
            })
            .collect();
        write!(o, "{}", table::render(&header, &rows))?;
        match r.found {
            Some(v) => writeln!(
                o,
                "the highest {key} within a bad-debt budget of {budget} of the debt: {v} (to \
                 within {step})"
            )?,
            None => writeln!(o, "{key} = {lo} already leaves more than {budget} of the debt bad")?,
        }
        return Ok(());
    }
    let mut header: Vec<String> = results[0].settings.iter().map(|(k, _)| short_key(k)).collect();
    header.extend([format!("highest {}", short_key(key)), "points tried".into()]);
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let mut row: Vec<String> = r.settings.iter().map(|(_, v)| v.clone()).collect();
            row.push(r.found.map_or(format!("none from {lo}"), |v| v.to_string()));
            row.push(r.tried.len().to_string());
            row
        })
        .collect();
    write!(o, "{}", table::render(&header, &rows))?;
    match best {
        Some(i) => {
            let r = &results[i];
            let at: Vec<String> = r.settings.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            writeln!(
                o,
                "within a bad-debt budget of {budget} of the debt, the highest {key}: {} (to \
                 within {step}), at {}",
                r.found.unwrap_or(lo),
                at.join(", ")
            )?
        }
        None => writeln!(
            o,
            "no combination keeps bad debt within {budget} of the debt at {key} = {lo}"
        )?,
    }
    Ok(())
}

/// A scenario key's last part, for a column's header.
fn short_key(key: &str) -> String {
    key.rsplit('.').next().unwrap_or(key).to_string()
}

/// `--merge`: the shards' partial results into the run's Monte Carlo figures.
fn merge(args: &StressArgs) -> Result<(), Failure> {
    let mut parts = Vec::new();
    for path in &args.merge {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure(EXIT_BAD_INPUT, format!("{name}: {e}")))?;
        let part: PathsPart = serde_json::from_str(&text).map_err(|e| {
            Failure(EXIT_BAD_INPUT, format!("{name}: not a partial of levfarm stress --paths: {e}"))
        })?;
        parts.push((name, part));
    }
    let merged = merge_parts(parts).map_err(|m| Failure(EXIT_BAD_INPUT, m))?;
    if let Some(path) = &args.report {
        let files: Vec<String> = args.merge.iter().map(|p| p.display().to_string()).collect();
        let report = levfarm_report::StressReport {
            title: format!("Stress test: {} Monte Carlo windows", merged.head.spec.paths),
            subtitle: format!("merged from {} partial results", files.len()),
            facts: vec![("Partial results".to_string(), files.join(", "))],
            paths: Some(&merged),
            ..Default::default()
        };
        crate::backtest::write_file(path, levfarm_report::render_stress_html(&report).as_bytes())?;
    }
    let mut o = io::stdout().lock();
    if args.json {
        let v = serde_json::json!({ "paths": merged });
        serde_json::to_writer(&mut o, &v).context("cannot write JSON")?;
        writeln!(o)?;
    } else {
        write!(o, "{}", paths_summary(&merged))?;
    }
    Ok(())
}

fn summary(out: &StressOutput) -> String {
    let mut s = String::new();
    if !out.shocks.is_empty() {
        s.push_str(&shocks_summary(out));
    }
    if !out.windows.is_empty() {
        if !s.is_empty() {
            s.push('\n');
        }
        s.push_str(&windows_summary(out));
    }
    s
}

fn paths_summary(p: &PathsOutput) -> String {
    let mut s = format!(
        "\nMonte Carlo windows: {} paths of {} hours at minute steps (seed {}), {}, on the {}; \
         the book of {} positions opened at {:.2} (debt {})\n\n",
        p.head.spec.paths,
        p.head.spec.hours,
        p.head.spec.seed,
        p.head.model,
        p.head.engine,
        p.head.opened,
        p.head.start,
        table::money(p.head.debt)
    );
    let b = &p.bad_debt;
    let header = [
        "bad debt: mean",
        "VaR95",
        "EVaR99",
        "max",
        "P(any)",
        "liquidated: mean",
        "p95",
        "debt liquidated: mean",
        "deepest cascade",
        "P(cascade)",
        "liquidators paid: mean",
        "5% low",
    ]
    .map(String::from)
    .to_vec();
    let row = vec![
        format!("{} ({})", table::money(b.mean), table::percent(b.mean_share)),
        format!("{} ({})", table::money(b.var95), table::percent(b.var95_share)),
        format!("{} ({})", table::money(b.evar99), table::percent(b.evar99_share)),
        table::money(b.max),
        table::percent(b.p_any),
        format!("{:.1}", p.liquidated_mean),
        format!("{:.0}", p.liquidated_p95),
        table::money(p.liquidated_debt_mean),
        p.depth_max.to_string(),
        table::percent(p.p_cascade),
        table::money(p.liquidators_paid_mean),
        table::percent(p.low_p5 - 1.0),
    ];
    s.push_str(&table::render(&header, &[row]));
    s.push_str(
        "VaR95, EVaR99: the 95th and 99th percentiles of a path's bad debt (in brackets, of the \
         book's debt); deepest cascade: the most rounds of kills in one minute; P(cascade): paths \
         with a minute of two rounds or more; 5% low: the 5th percentile of the paths' lowest \
         price, from the start\n",
    );
    s
}

/// The liquidators' columns, where the run has them: each liquidator's liquidations (`a/b/c`)
/// with rivals, and the liquidations left for capital or for the liquidators' delays.
fn crowd_columns(header: &mut Vec<String>, rows: &mut [Vec<String>], outcomes: &[&ShockOutcome]) {
    if outcomes.iter().any(|x| x.borrowers_at_risk + x.borrowers_liquidated > 0) {
        header.extend(
            ["borrowers at risk", "borrower liquidations", "borrowers' debt repaid"]
                .map(String::from),
        );
        for (row, x) in rows.iter_mut().zip(outcomes) {
            row.push(x.borrowers_at_risk.to_string());
            row.push(x.borrowers_liquidated.to_string());
            row.push(table::money(x.borrowers_debt));
        }
    }
    let rivals = outcomes.iter().any(|x| x.liquidators.len() > 1);
    let limited = outcomes.iter().any(|x| x.capital_limited > 0 || x.waiting > 0);
    if rivals {
        header.push("by liquidator".into());
        for (row, x) in rows.iter_mut().zip(outcomes) {
            let counts: Vec<String> =
                x.liquidators.iter().map(|l| l.liquidations.to_string()).collect();
            row.push(counts.join("/"));
        }
    }
    if limited {
        header.push("left for capital".into());
        header.push("left waiting".into());
        for (row, x) in rows.iter_mut().zip(outcomes) {
            row.push(x.capital_limited.to_string());
            row.push(x.waiting.to_string());
        }
    }
}

fn windows_summary(out: &StressOutput) -> String {
    let mut s =
        "windows of history at minute steps (each bar through its low and high), each with \
                 its own book from the same seed opened at the close before it\n\n"
            .to_string();
    let mut header: Vec<String> =
        ["window", "from", "to", "start", "low", "opened", "debt"].map(String::from).to_vec();
    header.extend(OUTCOME_COLUMNS.map(String::from));
    let mut rows: Vec<Vec<String>> = out
        .windows
        .iter()
        .map(|w| {
            let mut row = vec![
                w.window.name.clone(),
                w.from.clone(),
                w.to.clone(),
                format!("{:.2}", w.start),
                format!("{:.2}", w.low),
                w.opened.to_string(),
                table::money(w.debt),
            ];
            row.extend(outcome_cells(&w.outcome, w.debt + w.borrowers_debt));
            row
        })
        .collect();
    let outcomes: Vec<&ShockOutcome> = out.windows.iter().map(|w| &w.outcome).collect();
    crowd_columns(&mut header, &mut rows, &outcomes);
    s.push_str(&table::render(&header, &rows));
    s.push_str(
        "at risk: past the kill factor before each minute's kills, summed over the minutes; \
         kill minutes: the first and last minute with a kill, counted from the window's start\n",
    );
    s
}

/// The columns of an outcome, a shock's or a window's.
const OUTCOME_COLUMNS: [&str; 13] = [
    "at risk",
    "debt at risk",
    "liquidated",
    "debt liquidated",
    "cascade rounds",
    "bad debt",
    "of the debt",
    "liquidators paid",
    "unprofitable",
    "oracle prices",
    "kill minutes",
    "left past kill",
    "shortfall",
];

/// An outcome's cells under [`OUTCOME_COLUMNS`], bad debt as a share of `debt`.
fn outcome_cells(x: &ShockOutcome, debt: f64) -> Vec<String> {
    vec![
        x.at_risk.to_string(),
        table::money(x.at_risk_debt),
        x.liquidated.to_string(),
        table::money(x.liquidated_debt),
        x.rounds.len().to_string(),
        table::money(x.bad_debt),
        table::percent(if debt > 0.0 { x.bad_debt / debt } else { 0.0 }),
        table::money(x.liquidators_paid),
        x.unprofitable.to_string(),
        x.oracle_updates.to_string(),
        x.kill_minutes.map_or("-".into(), |(a, b)| format!("{a}-{b}")),
        x.open_past_kill.to_string(),
        table::money(x.shortfall),
    ]
}

fn shocks_summary(out: &StressOutput) -> String {
    let mut s = format!(
        "a book on the market of {:?}\n{} positions opened ({} refused past the work factor, {} \
         killed before the start) at {:.2}: equity {}, debt {}\n",
        out.scenario,
        out.opened,
        out.refused,
        out.killed_before,
        out.price,
        table::money(out.equity),
        table::money(out.debt)
    );
    if out.borrowers > 0 {
        s.push_str(&format!(
            "{} plain borrowers beside them, owing {}; lenders' deposits {}\n",
            out.borrowers,
            table::money(out.borrowers_debt),
            table::money(out.deposits)
        ));
    }
    s.push('\n');
    let mut header: Vec<String> = ["shock", "price"].map(String::from).to_vec();
    header.extend(OUTCOME_COLUMNS.map(String::from));
    let mut rows: Vec<Vec<String>> = out
        .shocks
        .iter()
        .map(|x| {
            let mut row = vec![format!("{:+.0}%", x.shock * 100.0), format!("{:.2}", x.price)];
            row.extend(outcome_cells(x, out.debt + out.borrowers_debt));
            row
        })
        .collect();
    let outcomes: Vec<&ShockOutcome> = out.shocks.iter().collect();
    crowd_columns(&mut header, &mut rows, &outcomes);
    s.push_str(&table::render(&header, &rows));
    s.push_str(
        "at risk: past the kill factor after the move (each minute's, before its kills); cascade \
         rounds: rounds of kills within a minute, each after the last one's selling through the \
         pool (1: no cascade); liquidators paid: prizes less gas; unprofitable: kills left undone \
         for a prize under gas and the minimum profit; kill minutes: the first and last minute \
         with a kill; left past kill: positions open past the kill factor at the end (a soft \
         style's, or kills that did not pay); shortfall: what open positions owe beyond their \
         value, bad debt not yet realised\n",
    );
    s
}

/// One row per combination: its settings, then each shock's liquidations and bad debt share.
fn sweep_summary(
    rows: &[StressRow],
    paths: &[PathsOutput],
    best: Option<&StressRow>,
    budget: f64,
) -> String {
    let Some(first) = rows.first() else { return String::new() };
    let mut header: Vec<String> =
        first.settings.iter().map(|(k, _)| k.rsplit('.').next().unwrap_or(k).to_string()).collect();
    header.push("opened".into());
    for x in &first.output.shocks {
        header.push(format!("{:+.0}% liquidated", x.shock * 100.0));
        header.push(format!("{:+.0}% bad debt", x.shock * 100.0));
    }
    for w in &first.output.windows {
        header.push(format!("{} liquidated", w.window.name));
        header.push(format!("{} bad debt", w.window.name));
    }
    if !paths.is_empty() {
        header.push("paths VaR95".into());
        header.push("paths EVaR99".into());
    }
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut row: Vec<String> = r.settings.iter().map(|(_, v)| v.clone()).collect();
            row.push(r.output.opened.to_string());
            for x in &r.output.shocks {
                row.push(x.liquidated.to_string());
                let share = if r.output.debt > 0.0 { x.bad_debt / r.output.debt } else { 0.0 };
                row.push(table::percent(share));
            }
            for w in &r.output.windows {
                row.push(w.outcome.liquidated.to_string());
                let share = if w.debt > 0.0 { w.outcome.bad_debt / w.debt } else { 0.0 };
                row.push(table::percent(share));
            }
            if let Some(p) = paths.get(i) {
                row.push(table::percent(p.bad_debt.var95_share));
                row.push(table::percent(p.bad_debt.evar99_share));
            }
            row
        })
        .collect();
    let mut s = table::render(&header, &table_rows);
    match best {
        Some(b) => {
            let at: Vec<String> = b.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push_str(&format!(
                "within a bad-debt budget of {} of the debt at every shock and window (and EVaR99 of the paths), the highest open limit \
                 (work factor {:.2}%): {} (worst bad debt {})\n",
                table::percent(budget),
                f64::from(b.work_factor_bps) / 100.0,
                at.join(", "),
                table::percent(b.worst_bad_debt)
            ));
        }
        None => s.push_str(&format!(
            "no combination keeps bad debt within {} of the debt at every shock and window (and EVaR99 of the paths)\n",
            table::percent(budget)
        )),
    }
    s
}

/// Writes the run's page to `path`: its parts, and the settings that made them.
fn write_report(
    path: &std::path::Path,
    args: &StressArgs,
    s: &levfarm_sim::Scenario,
    title: String,
    output: Option<&levfarm_sim::stress::StressOutput>,
    paths: Option<&PathsOutput>,
    sweep: Option<levfarm_report::Sweep>,
) -> Result<(), Failure> {
    let l = s.leverage();
    let bps = |v: u32| format!("{}%", f64::from(v) / 100.0);
    let mut facts = vec![
        ("Scenario".to_string(), s.name.clone()),
        (
            "Pool".to_string(),
            format!(
                "{}, {:?}, {} bps fee, {} deep",
                s.pair().join("/"),
                s.pool().kind,
                s.pool().fee_bps,
                table::money(s.pool().tvl)
            ),
        ),
        (
            "Leverage rules".to_string(),
            format!(
                "work factor {}, kill factor {}, prize {}, treasury fee {}, {} valuation",
                bps(l.work_factor_bps),
                bps(l.kill_factor_bps),
                bps(l.kill_prize_bps),
                bps(l.kill_treasury_bps),
                l.valuation
            ),
        ),
    ];
    let book = match &args.book {
        Some(file) => format!("from {}", file.display()),
        None => format!(
            "{} positions drawn (seed {}): median equity {}, leverage {}, {}% short, entry \
             spread {}, {}% protected",
            args.positions,
            args.seed,
            args.median_equity,
            args.leverage.join(" to "),
            args.short_share * 100.0,
            args.entry_spread,
            args.protected * 100.0
        ),
    };
    facts.push(("Book".to_string(), book));
    let mut walk = vec![if args.minutes > 0 {
        format!("shocks over {} minutes, {}% back", args.minutes, args.recovery * 100.0)
    } else {
        "shocks at once".to_string()
    }];
    if args.heartbeat_secs > 0 || args.deviation_bps > 0 || args.oracle_delay_secs > 0 {
        walk.push(format!(
            "oracle heartbeat {} s, deviation {} bps, delay {} s",
            args.heartbeat_secs, args.deviation_bps, args.oracle_delay_secs
        ));
    }
    if let Some(b) = &args.bad_print {
        walk.push(format!("bad print {b}"));
    }
    if args.lp_flight > 0.0 {
        walk.push(format!("LPs withdraw {}% per 10% fall", args.lp_flight * 100.0));
    }
    if !args.liquidator.is_empty() {
        walk.push(format!("liquidators {}", args.liquidator.join(", ")));
    } else if args.gas > 0.0 || args.min_profit > 0.0 {
        walk.push(format!("liquidator gas {}, minimum profit {}", args.gas, args.min_profit));
    }
    facts.push(("Walk".to_string(), walk.join("; ")));
    let report = levfarm_report::StressReport {
        subtitle: format!(
            "{}: {} on the {} pool, liquidated by {}",
            s.name,
            s.pair().join("/"),
            s.position.pool,
            match l.liquidation {
                levfarm_sim::scenario::LiquidationSpec::Kill => "kills".to_string(),
                levfarm_sim::scenario::LiquidationSpec::CloseFactor {
                    close_factor_bps,
                    bonus_bps,
                    ..
                } => format!(
                    "a close factor of {} with a {} bonus",
                    bps(close_factor_bps),
                    bps(bonus_bps)
                ),
                levfarm_sim::scenario::LiquidationSpec::Soft { max_share_bps, penalty_bps } =>
                    format!(
                        "soft liquidation, {} at most with a {} penalty",
                        bps(max_share_bps),
                        bps(penalty_bps)
                    ),
            }
        ),
        title,
        facts,
        output,
        paths,
        sweep,
        notes: vec![
            "At risk: positions past their kill factor after the move, before any liquidation \
             (a walk counts each minute). Cascade: rounds of kills in one minute, each round \
             after the previous one's selling through the pool."
                .into(),
            "VaR95 and EVaR99: the 95th and 99th percentiles of a path's bad debt over the \
             window (the k-th smallest, k = ⌈p·n⌉)."
                .into(),
        ],
        sources: vec!["ETH/USD hourly: Bitfinex via CryptoDataDownload (free to use with \
                       attribution)."
            .into()],
    };
    crate::backtest::write_file(path, levfarm_report::render_stress_html(&report).as_bytes())
}

/// `NAME:SHARE` items (a name alone: a share of 1), each share positive.
fn shares(flag: &str, items: &[String]) -> Result<Vec<(String, f64)>, Failure> {
    items
        .iter()
        .map(|item| {
            let (name, share) = match item.split_once(':') {
                Some((n, s)) => (n.trim(), s.trim().parse::<f64>().ok()),
                None => (item.trim(), Some(1.0)),
            };
            match share {
                Some(v) if v.is_finite() && v > 0.0 && !name.is_empty() => {
                    Ok((name.to_string(), v))
                }
                _ => Err(Failure(
                    EXIT_BAD_INPUT,
                    format!("{flag} {item:?}: NAME:SHARE, a share above 0 (main:0.6)"),
                )),
            }
        })
        .collect()
}
