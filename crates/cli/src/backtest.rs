//! `levfarm backtest`, `levfarm quote` and `levfarm init`: scenarios in, tables, JSON, CSV and
//! the HTML report out.

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use levfarm_sim::backtest::RunResult;
use levfarm_sim::data::{iso, GapPolicy};
use levfarm_sim::run::{self, SweepRow};
use levfarm_sim::{Backtest, BacktestOutput, Scenario, SimError};

use crate::exec::{EXIT_BAD_INPUT, EXIT_IO, EXIT_REJECTED};
use crate::{outputs, table};

/// What selects and adjusts the scenario, shared by `backtest` and `quote`.
#[derive(Debug, clap::Args)]
pub struct ScenarioArgs {
    /// Scenario file (TOML); the bundled default when omitted. `levfarm init` writes one.
    scenario: Option<PathBuf>,
    /// Override a scenario value: `--set position.leverage=2 --set protection.compound_hours=12`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Price file (CSV or Parquet), replacing `data.prices`.
    #[arg(long, value_name = "FILE")]
    prices: Option<String>,
    /// Missing bars: refuse them (`error`) or carry the last close forward (`fill`).
    #[arg(long, value_enum)]
    gaps: Option<Gaps>,
    /// First bar: a date, an ISO 8601 time or Unix seconds.
    #[arg(long)]
    start: Option<String>,
    /// Last bar, in the same forms.
    #[arg(long)]
    end: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Gaps {
    Fill,
    Error,
}

#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// Print the whole result as JSON instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Write the bar-by-bar time series as CSV.
    #[arg(long, value_name = "FILE")]
    pub(crate) csv: Option<PathBuf>,
    /// Write the bar-by-bar time series as Parquet (built with `--features parquet`).
    #[arg(long, value_name = "FILE")]
    pub(crate) parquet: Option<PathBuf>,
    /// Write the self-contained HTML report.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// Run a grid: `--sweep position.leverage=1,1.5,2,3,4 --sweep protection.deleverage.trigger=0.7,0.78`.
    #[arg(long, value_name = "KEY=V1,V2,...")]
    pub(crate) sweep: Vec<String>,
    /// No progress bar.
    #[arg(long)]
    pub(crate) quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct QuoteArgs {
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// Print the quote as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Where to write the commented example scenario (`scenario.toml`, or `portfolio.toml`
    /// with `--portfolio`); `-` prints it.
    file: Option<PathBuf>,
    /// Write the scenario's JSON schema instead.
    #[arg(long)]
    schema: bool,
    /// Replace the file if it exists.
    #[arg(long)]
    force: bool,
    /// Write the example portfolio (positions across pairs and venues) instead; the file is
    /// then `portfolio.toml` unless named.
    #[arg(long, conflicts_with = "schema")]
    portfolio: bool,
}

/// A failure with its exit code.
pub(crate) struct Failure(pub(crate) u8, pub(crate) String);

impl From<SimError> for Failure {
    fn from(e: SimError) -> Self {
        let code = match e.root() {
            SimError::Engine(_) | SimError::Refused(_) => EXIT_REJECTED,
            SimError::Internal(_) => EXIT_IO,
            _ => EXIT_BAD_INPUT,
        };
        Failure(code, e.to_string())
    }
}

impl From<levfarm_sim::scenario::ScenarioError> for Failure {
    fn from(e: levfarm_sim::scenario::ScenarioError) -> Self {
        Failure(EXIT_BAD_INPUT, e.to_string())
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure(EXIT_IO, format!("{e:#}"))
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure(EXIT_IO, e.to_string())
    }
}

pub(crate) fn finish(outcome: Result<(), Failure>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("levfarm: {message}");
            }
            ExitCode::from(code)
        }
    }
}

/// Reads a single position's scenario, applies the flags and loads its prices; a portfolio
/// is refused with the command that runs it.
pub(crate) fn load(args: &ScenarioArgs) -> Result<Backtest, Failure> {
    load_styled(args, false)
}

/// [`load`], with liquidation styles other than the kill allowed (`levfarm stress` runs them).
pub(crate) fn load_styled(args: &ScenarioArgs, styles: bool) -> Result<Backtest, Failure> {
    let scenario = if styles { read_any(args)? } else { read(args)? };
    if scenario.portfolio.is_some() {
        return Err(Failure(
            EXIT_BAD_INPUT,
            format!(
                "{} is a portfolio ([portfolio]): `levfarm backtest` and `levfarm quote` take \
                 it; this command takes a single position",
                args.scenario.as_ref().map_or("the scenario".into(), |p| p.display().to_string())
            ),
        ));
    }
    Ok(Backtest::load(scenario)?)
}

/// Reads the scenario (the bundled default when none is named) and applies the flags; refuses
/// a liquidation style other than the kill, which only `levfarm stress` and `levfarm exec`
/// model.
pub(crate) fn read(args: &ScenarioArgs) -> Result<Scenario, Failure> {
    let scenario = read_any(args)?;
    for (venue, leverage, _) in scenario.market.venues() {
        if leverage.liquidation != levfarm_sim::scenario::LiquidationSpec::Kill {
            let key = if venue == levfarm_sim::scenario::MAIN_VENUE {
                "market.leverage.liquidation".to_string()
            } else {
                format!("market.venues.{venue}.leverage.liquidation")
            };
            return Err(Failure(
                EXIT_BAD_INPUT,
                format!(
                    "{key}: the close-factor and soft styles are modelled by `levfarm stress` \
                     and `levfarm exec`; the backtester, quotes and the Monte Carlo kill whole \
                     positions"
                ),
            ));
        }
    }
    Ok(scenario)
}

/// [`read`] with any liquidation style.
pub(crate) fn read_any(args: &ScenarioArgs) -> Result<Scenario, Failure> {
    let mut scenario = match &args.scenario {
        Some(path) => {
            let text = fs::read_to_string(path)
                .map_err(|e| Failure(EXIT_BAD_INPUT, format!("{}: {e}", path.display())))?;
            Scenario::from_toml(&path.display().to_string(), &text)?
        }
        None => Scenario::default(),
    };
    for item in &args.set {
        let (key, value) = item.split_once('=').ok_or_else(|| {
            Failure(EXIT_BAD_INPUT, format!("--set {item:?}: expected KEY=VALUE"))
        })?;
        scenario = scenario.with_value(key.trim(), value.trim())?;
    }
    if let Some(prices) = &args.prices {
        scenario.data.prices = prices.clone();
    }
    if let Some(gaps) = args.gaps {
        scenario.data.gaps = match gaps {
            Gaps::Fill => GapPolicy::Fill,
            Gaps::Error => GapPolicy::Error,
        };
    }
    if args.start.is_some() {
        scenario.data.start = args.start.clone();
    }
    if args.end.is_some() {
        scenario.data.end = args.end.clone();
    }
    Ok(scenario)
}

pub fn backtest(args: &BacktestArgs) -> ExitCode {
    finish(run_backtest(args))
}

/// A progress bar over `unit`s (bars, paths): how many, how many a second, the time taken and
/// the time left. None when quiet or when standard error is not a terminal.
pub(crate) fn progress_bar_of(quiet: bool, what: &str, unit: &str) -> Option<ProgressBar> {
    if quiet || !io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    let template = format!(
        "{{msg}} [{{bar:40}}] {{human_pos}}/{{human_len}} {unit}, {{rate}} {unit}/s, \
         {{elapsed_precise}} ({{eta}} left)"
    );
    bar.set_style(
        ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", levfarm_report::number(state.per_sec(), 0));
            })
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    Some(bar)
}

/// Runs `job` with a progress bar of `unit`s (none when quiet or not on a terminal), cleared
/// when it ends.
pub(crate) fn with_progress<T>(
    quiet: bool,
    what: &str,
    unit: &str,
    job: impl FnOnce(levfarm_sim::backtest::Progress<'_>) -> T,
) -> T {
    let bar = progress_bar_of(quiet, what, unit);
    let report = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let out = job(&report);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    out
}

fn run_backtest(args: &BacktestArgs) -> Result<(), Failure> {
    let scenario = read(&args.scenario)?;
    if scenario.portfolio.is_some() {
        return crate::portfolio::backtest(args, scenario);
    }
    let backtest = Backtest::load(scenario)?;
    if !args.sweep.is_empty() {
        return run_sweep(args, &backtest);
    }
    let output = with_progress(args.quiet, "backtest", "bars", |p| backtest.run(Some(p)))?;
    if let Some(path) = &args.csv {
        write_file(path, &outputs::csv(&output)?)?;
    }
    if let Some(path) = &args.parquet {
        write_parquet(path, &output)?;
    }
    if let Some(path) = &args.report {
        let html = levfarm_report::render_html(&levfarm_report::from_backtest(
            &backtest.scenario,
            &output,
        ));
        write_file(path, html.as_bytes())?;
    }
    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &outputs::json(&output)).context("cannot write JSON")?;
        writeln!(out)?;
    } else {
        write!(out, "{}", summary_table(&output))?;
        if let Some(path) = &args.report {
            writeln!(out, "report: {}", path.display())?;
        }
    }
    Ok(())
}

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    fs::write(path, bytes)
        .map_err(|e| Failure(EXIT_IO, format!("cannot write {}: {e}", path.display())))
}

#[cfg(feature = "parquet")]
fn write_parquet(path: &Path, output: &BacktestOutput) -> Result<(), Failure> {
    outputs::parquet(path, output)
        .map_err(|e| Failure(EXIT_IO, format!("cannot write {}: {e:#}", path.display())))
}

#[cfg(not(feature = "parquet"))]
fn write_parquet(_: &Path, _: &BacktestOutput) -> Result<(), Failure> {
    Err(Failure(
        EXIT_BAD_INPUT,
        "--parquet needs a build with Parquet: cargo build --release -p levfarm --features parquet"
            .into(),
    ))
}

fn run_sweep(args: &BacktestArgs, backtest: &Backtest) -> Result<(), Failure> {
    let grid = run::parse_grid(&args.sweep)?;
    let combos = run::combinations(&backtest.scenario, &grid)?;
    let bar = progress_bar_of(args.quiet, "sweep", "runs");
    let report = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let rows = run::sweep(&backtest.prices, &combos, Some(&report));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(path) = &args.csv {
        write_file(path, sweep_csv(&rows).as_bytes())?;
    }
    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &rows).context("cannot write JSON")?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{} over {} bars, {} to {}",
            backtest.scenario.name,
            backtest.prices.times.len(),
            &iso(backtest.prices.times[0])[..10],
            &iso(*backtest.prices.times.last().unwrap_or(&0))[..10]
        )?;
        write!(out, "{}", sweep_table(&rows))?;
    }
    Ok(())
}

fn sweep_header(rows: &[SweepRow]) -> Vec<String> {
    let mut header: Vec<String> =
        rows.first().map_or(Vec::new(), |r| r.settings.iter().map(|(k, _)| k.clone()).collect());
    header.extend(
        [
            "final equity",
            "net APY",
            "max drawdown",
            "liquidated",
            "fees",
            "rewards",
            "interest",
            "IL",
            "price",
            "costs",
            "actions",
            "bars near kill",
        ]
        .map(String::from),
    );
    header
}

fn sweep_cells(row: &SweepRow) -> Vec<String> {
    let mut cells: Vec<String> = row.settings.iter().map(|(_, v)| v.clone()).collect();
    match &row.result {
        Ok(o) => {
            let f = |v: i128| table::money(v as f64 / 1e18);
            let costs = o.pnl.trading_costs + o.pnl.protection_costs + o.pnl.liquidation_costs;
            cells.extend([
                table::money(o.stats.final_equity),
                table::percent(o.stats.net_apy),
                table::percent(o.stats.max_drawdown),
                o.liquidated_at.map_or("no".into(), |t| iso(t)[..10].to_string()),
                f(o.pnl.trading_fees),
                f(o.pnl.farm_rewards),
                f(o.pnl.interest),
                f(o.pnl.impermanent_loss),
                f(o.pnl.price_exposure),
                f(costs),
                o.actions.to_string(),
                o.bars_near_kill.to_string(),
            ]);
        }
        Err(e) => cells.push(format!("error: {e}")),
    }
    cells
}

fn sweep_table(rows: &[SweepRow]) -> String {
    let body: Vec<Vec<String>> = rows.iter().map(sweep_cells).collect();
    table::render(&sweep_header(rows), &body)
}

fn sweep_csv(rows: &[SweepRow]) -> String {
    let mut out = sweep_header(rows).join(",");
    out.push('\n');
    for row in rows {
        out.push_str(
            &sweep_cells(row).iter().map(|c| table::csv_cell(c)).collect::<Vec<_>>().join(","),
        );
        out.push('\n');
    }
    out
}

/// The terminal summary: one row per strategy, then the decomposition and the actions.
fn summary_table(output: &BacktestOutput) -> String {
    let mut s = String::new();
    let years = output.main.stats.years;
    s.push_str(&format!(
        "{}\n{} bars of {} from {} to {} ({:.2} years)\n\n",
        output.scenario,
        output.bars,
        output.source,
        &iso(output.start)[..16],
        &iso(output.end)[..16],
        years
    ));
    let header: Vec<String> =
        ["strategy", "final equity", "PnL", "net APY", "max drawdown", "liquidated"]
            .map(String::from)
            .to_vec();
    let row = |r: &RunResult| {
        vec![
            r.strategy.label().to_string(),
            table::money(r.stats.final_equity),
            table::money(r.stats.pnl),
            table::percent(r.stats.net_apy),
            table::percent(r.stats.max_drawdown),
            r.liquidated_at.map_or("no".into(), |t| iso(t)[..16].replace('T', " ")),
        ]
    };
    let mut rows = vec![row(&output.main)];
    rows.extend(output.alternatives.iter().map(row));
    s.push_str(&table::render(&header, &rows));
    if !output.main.stats.net_apy.is_finite() {
        s.push_str(&format!(
            "net APY is not given for a window under 90 days (this one is {:.1} days): \
             annualised, it would mislead; the return over the window is {}\n",
            output.main.stats.years * 365.0,
            table::percent(output.main.stats.total_return)
        ));
    }
    s.push_str("\nprofit and loss of the leveraged position\n");
    let mut parts: Vec<Vec<String>> = output
        .main
        .pnl
        .parts()
        .iter()
        .filter(|(_, v)| *v != 0)
        .map(|(name, v)| vec![name.to_string(), table::money(*v as f64 / 1e18)])
        .collect();
    parts.push(vec!["total".into(), table::money(output.main.pnl.total() as f64 / 1e18)]);
    s.push_str(&table::render(&["part".into(), "value".into()], &parts));
    s.push_str(&format!(
        "impermanent loss is against holding the deposited tokens; bar by bar against the \
         previous bar's holdings (loss-versus-rebalancing, not a part) it is {}\n",
        table::money(output.main.pnl.loss_versus_rebalancing as f64 / 1e18)
    ));
    let m = &output.main;
    let counts = action_counts(m);
    if !counts.is_empty() {
        s.push_str(&format!("\nactions: {counts}\n"));
    }
    s.push_str(&format!(
        "bars at or above the work factor: {}; within 10% of the kill factor: {}\n",
        m.bars_above_work, m.bars_near_kill
    ));
    for note in &output.notes {
        s.push_str(&format!("note: {note}\n"));
    }
    s
}

fn action_counts(r: &RunResult) -> String {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for a in &r.actions {
        *counts.entry(a.kind.as_str()).or_default() += 1;
    }
    counts.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
}

pub fn quote(args: &QuoteArgs) -> ExitCode {
    finish(run_quote(args))
}

fn run_quote(args: &QuoteArgs) -> Result<(), Failure> {
    let scenario = read(&args.scenario)?;
    if scenario.portfolio.is_some() {
        return crate::portfolio::quote(args, scenario);
    }
    let backtest = Backtest::load(scenario)?;
    let q = levfarm_sim::quote::quote(&backtest)?;
    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &q).context("cannot write JSON")?;
        writeln!(out)?;
        return Ok(());
    }
    let sc = &backtest.scenario;
    let [asset, stable] = sc.pair();
    // With the stable token's own history, the pool's price is the ratio of the two closes.
    let at = match backtest.prices.quote.last() {
        Some(q1) => {
            let stable_price = levfarm_sim::world::wad_to_f64(q1.0);
            format!(
                "{:.6} {stable} per {asset} ({asset} {:.2}, {stable} {:.2})",
                q.price / stable_price,
                q.price,
                stable_price
            )
        }
        None => format!("{:.2}", q.price),
    };
    writeln!(
        out,
        "{} {}x on {asset}/{stable} at {at} ({})",
        table::money(q.equity),
        q.leverage,
        &iso(q.time)[..16].replace('T', " ")
    )?;
    // Raw units in whole tokens with their symbol (the raw figures are in --json).
    let whole = |raw: &str, symbol: &str| match q.decimals.get(symbol) {
        Some(&d) => format!("{} {symbol}", table::whole_units(raw, d)),
        None => format!("{raw} {symbol} raw"),
    };
    let liq = |p: Option<f64>| {
        p.map_or("none".to_string(), |p| format!("{:.2} ({:+.1}%)", p, (p / q.price - 1.0) * 100.0))
    };
    let rows = vec![
        vec![
            "borrowed".into(),
            format!(
                "{} ({}, {})",
                table::money(q.borrowed_value),
                whole(&q.borrowed[0], asset),
                whole(&q.borrowed[1], stable)
            ),
        ],
        vec![
            "swapped".into(),
            if q.swaps.is_empty() {
                "nothing".into()
            } else {
                q.swaps
                    .iter()
                    .map(|(a, x, b, y)| format!("{} → {}", whole(x, a), whole(y, b)))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        ],
        vec![
            "deposited".into(),
            format!("{}, {}", whole(&q.deposited[0], asset), whole(&q.deposited[1], stable)),
        ],
        vec!["position value".into(), table::money(q.position_value)],
        vec!["debt".into(), table::money(q.debt_value)],
        vec!["opening cost".into(), table::money(q.opening_cost)],
        vec![
            "debt ratio".into(),
            format!(
                "{} (open limit {}, liquidation at {})",
                table::percent(q.debt_ratio),
                table::percent(q.work_factor),
                table::percent(q.kill_factor)
            ),
        ],
        vec!["max leverage".into(), format!("{:.2}x", q.max_leverage)],
        vec!["liquidation price below".into(), liq(q.liquidation_lower)],
        vec!["liquidation price above".into(), liq(q.liquidation_upper)],
        vec!["trading fees, a year".into(), table::percent(q.apy.trading_fees)],
        vec!["farm rewards, a year".into(), table::percent(q.apy.farm_rewards)],
        vec![
            "interest, a year".into(),
            format!(
                "{} (borrow rates: {stable} {}, {asset} {})",
                table::percent(q.apy.interest),
                table::percent(q.apy.borrow_rate_stable),
                table::percent(q.apy.borrow_rate_asset)
            ),
        ],
        vec![
            "loss-versus-rebalancing, a year".into(),
            format!(
                "{} (expected at {} volatility)",
                table::percent(q.apy.loss_versus_rebalancing),
                table::percent(q.apy.volatility)
            ),
        ],
        vec!["net, a year (simple)".into(), table::percent(q.apy.net)],
    ];
    write!(out, "{}", table::render(&["".into(), "".into()], &rows))?;
    writeln!(out)?;
    let header = ["move", "price", "equity", "change", "IL", "debt ratio", "liquidatable"]
        .map(String::from)
        .to_vec();
    let moves: Vec<Vec<String>> = q
        .moves
        .iter()
        .map(|m| {
            vec![
                format!("{:+.0}%", m.change * 100.0),
                format!("{:.2}", m.price),
                table::money(m.equity),
                table::percent(m.equity_change),
                table::money(m.impermanent_loss),
                table::percent(m.debt_ratio),
                if m.liquidatable { "yes".into() } else { "no".into() },
            ]
        })
        .collect();
    write!(out, "{}", table::render(&header, &moves))?;
    for note in &q.notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}

pub fn init(args: &InitArgs) -> ExitCode {
    finish(run_init(args))
}

fn run_init(args: &InitArgs) -> Result<(), Failure> {
    let text = if args.schema {
        serde_json::to_string_pretty(&Scenario::json_schema()).context("cannot write the schema")?
            + "\n"
    } else if args.portfolio {
        levfarm_sim::portfolio::EXAMPLE_TOML.to_string()
    } else {
        levfarm_sim::scenario::EXAMPLE_TOML.to_string()
    };
    let default = if args.portfolio { "portfolio.toml" } else { "scenario.toml" };
    let file = args.file.clone().unwrap_or_else(|| PathBuf::from(default));
    if file.as_os_str() == "-" {
        io::stdout().lock().write_all(text.as_bytes())?;
        return Ok(());
    }
    if file.exists() && !args.force {
        return Err(Failure(
            EXIT_BAD_INPUT,
            format!("{} exists; --force replaces it", file.display()),
        ));
    }
    write_file(&file, text.as_bytes())?;
    let mut out = io::stdout().lock();
    writeln!(out, "wrote {}", file.display())?;
    Ok(())
}
