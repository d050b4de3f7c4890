//! `levfarm backtest PORTFOLIO.toml`: a portfolio's positions and total, the decomposition by
//! position, the diversification comparison and the positions' correlation, as a table, JSON
//! or CSV.

use std::io::{self, Write};

use anyhow::Context;
use levfarm_risk::portfolio::{PortfolioPlan, PortfolioSummary};
use levfarm_sim::backtest::Stats;
use levfarm_sim::data::iso;
use levfarm_sim::portfolio::{PortfolioBacktest, PortfolioOutput};
use levfarm_sim::Scenario;
use serde_json::{json, Value};

use crate::backtest::{with_progress, write_file, BacktestArgs, Failure, QuoteArgs};
use crate::exec::EXIT_BAD_INPUT;
use crate::outputs::{pnl_json, run_json, wad_text};
use crate::table;

/// Runs the portfolio and prints or writes what the flags ask for.
pub(crate) fn backtest(args: &BacktestArgs, scenario: Scenario) -> Result<(), Failure> {
    let refuse = |flag: &str, why: &str| Err(Failure(EXIT_BAD_INPUT, format!("{flag}: {why}")));
    if !args.sweep.is_empty() {
        return refuse("--sweep", "a sweep varies a single position's scenario, not a portfolio");
    }
    if args.parquet.is_some() {
        return refuse("--parquet", "a portfolio's series are written as --csv");
    }
    let backtest = PortfolioBacktest::load(scenario)?;
    let output = with_progress(args.quiet, "portfolio", "bars", |p| backtest.run(Some(p)))?;
    if let Some(path) = &args.csv {
        write_file(path, &csv(&output).context("cannot write CSV")?)?;
    }
    if let Some(path) = &args.report {
        // The page's joint-move grid is the quote's, at the last bar.
        let quote = backtest.quote()?;
        let page = levfarm_report::from_portfolio(&output, Some(&quote));
        write_file(path, levfarm_report::render_portfolio_html(&page).as_bytes())?;
    }
    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &json(&output)).context("cannot write JSON")?;
        writeln!(out)?;
    } else {
        write!(out, "{}", summary(&output))?;
        if let Some(path) = &args.report {
            writeln!(out, "report: {}", path.display())?;
        }
    }
    Ok(())
}

/// The result for machines: exact figures as decimal strings, statistics as numbers.
pub(crate) fn json(o: &PortfolioOutput) -> Value {
    let t = &o.total;
    json!({
        "scenario": o.scenario,
        "sources": o.sources,
        "start": iso(o.start),
        "end": iso(o.end),
        "bars": o.bars,
        "interval_seconds": o.interval,
        "gaps": o.gaps,
        "filled_bars": o.filled,
        "positions": o.positions.iter().map(|p| json!({
            "name": p.name,
            "pool": p.pool,
            "venue": p.venue,
            "pair": p.pair,
            "leverage": p.leverage,
            "borrow": p.borrow,
            "weight": p.weight,
            "run": run_json(&p.run),
        })).collect::<Vec<_>>(),
        "total": {
            "contributed": wad_text(t.contributed),
            "final_equity": wad_text(t.final_equity),
            "pnl": pnl_json(&t.pnl),
            "loss_versus_rebalancing": wad_text(t.pnl.loss_versus_rebalancing),
            "stats": t.stats,
            "liquidated": t.liquidated,
            "bars_any_above_work_factor": t.bars_any_above_work,
            "bars_any_near_kill_factor": t.bars_any_near_kill,
            "rebalances": t.rebalances.iter().map(|&x| iso(x)).collect::<Vec<_>>(),
            "stopped_at": t.stopped_at.map(iso),
        },
        "correlation": o.correlation,
        "worst_days": o.worst_days,
        "alternatives": o.alternatives.iter().map(|a| json!({
            "label": a.label,
            "strategy": a.strategy,
            "position": a.position,
            "contributed": wad_text(a.contributed),
            "final_equity": wad_text(a.final_equity),
            "stats": a.stats,
            "liquidated": a.liquidated,
        })).collect::<Vec<_>>(),
        "notes": o.notes,
    })
}

/// The bar-by-bar equity: each position's, the portfolio's, then each alternative's.
fn csv(o: &PortfolioOutput) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["time".to_string(), "unix_s".into()];
    header.extend(o.positions.iter().map(|p| format!("equity {}", p.name)));
    header.push("equity portfolio".into());
    header.extend(o.alternatives.iter().map(|a| format!("equity {}", a.label)));
    w.write_record(&header)?;
    for (i, s) in o.total.samples.iter().enumerate() {
        let mut row = vec![iso(s.time), s.time.to_string()];
        let at = |samples: &[levfarm_sim::backtest::Sample]| {
            samples.get(i).map_or(String::new(), |x| wad_text(x.equity))
        };
        row.extend(o.positions.iter().map(|p| at(&p.run.samples)));
        row.push(wad_text(s.equity));
        row.extend(o.alternatives.iter().map(|a| at(&a.samples)));
        w.write_record(&row)?;
    }
    Ok(w.into_inner()?)
}

/// The terminal summary.
fn summary(o: &PortfolioOutput) -> String {
    let mut s = String::new();
    let t = &o.total;
    s.push_str(&format!(
        "{}\n{} bars of {} from {} to {} ({:.2} years)\n\n",
        o.scenario,
        o.bars,
        o.sources.join(", "),
        &iso(o.start)[..16],
        &iso(o.end)[..16],
        t.stats.years
    ));
    let header = [
        "position",
        "pair",
        "venue",
        "weight",
        "leverage",
        "final equity",
        "PnL",
        "net APY",
        "max drawdown",
        "liquidated",
        "bars near kill",
    ]
    .map(String::from)
    .to_vec();
    let mut rows: Vec<Vec<String>> = o
        .positions
        .iter()
        .map(|p| {
            let r = &p.run;
            let mut row = vec![
                p.name.clone(),
                p.pair.join("/"),
                p.venue.clone(),
                table::percent(p.weight),
                format!("{}x {}", p.leverage, borrow_word(p.borrow)),
            ];
            row.extend(stats_cells(&r.stats));
            row.push(r.liquidated_at.map_or("no".into(), |t| iso(t)[..10].to_string()));
            row.push(r.bars_near_kill.to_string());
            row
        })
        .collect();
    let mut total =
        vec!["portfolio".into(), String::new(), String::new(), "100.00%".into(), String::new()];
    total.extend(stats_cells(&t.stats));
    total.push(format!("{} of {}", t.liquidated, o.positions.len()));
    total.push(t.bars_any_near_kill.to_string());
    rows.push(total);
    s.push_str(&table::render(&header, &rows));
    s.push_str(&format!(
        "bars near kill: within 10% of the kill factor (the portfolio's: any position); at or \
         above the work factor: {} bars\n",
        t.bars_any_above_work
    ));
    match (t.rebalances.len(), t.stopped_at) {
        (0, None) => {}
        (n, stop) => {
            s.push_str(&format!("rules: rebalanced {n} times"));
            if let Some(stop) = stop {
                s.push_str(&format!(
                    "; drawdown stop closed every position on {}",
                    &iso(stop)[..10]
                ));
            }
            s.push('\n');
        }
    }
    s.push_str("\nprofit and loss by position (it sums exactly to the portfolio's)\n");
    let mut header = vec!["part".to_string()];
    header.extend(o.positions.iter().map(|p| p.name.clone()));
    header.push("portfolio".into());
    let pnls: Vec<_> = o.positions.iter().map(|p| &p.run.pnl).chain([&t.pnl]).collect();
    let mut parts: Vec<Vec<String>> = t
        .pnl
        .parts()
        .iter()
        .enumerate()
        .filter(|(i, _)| pnls.iter().any(|p| p.parts()[*i].1 != 0))
        .map(|(i, (name, _))| {
            let mut row = vec![name.to_string()];
            row.extend(pnls.iter().map(|p| table::money(p.parts()[i].1 as f64 / 1e18)));
            row
        })
        .collect();
    let mut row = vec!["total".to_string()];
    row.extend(pnls.iter().map(|p| table::money(p.total() as f64 / 1e18)));
    parts.push(row);
    s.push_str(&table::render(&header, &parts));
    s.push_str("\ndiversification: the same capital held otherwise\n");
    let header = ["strategy", "final equity", "PnL", "net APY", "max drawdown", "liquidated"]
        .map(String::from)
        .to_vec();
    let mut rows = vec![{
        let mut row = vec!["Portfolio".to_string()];
        row.extend(stats_cells(&t.stats));
        row.push(t.liquidated.to_string());
        row
    }];
    for a in &o.alternatives {
        let mut row = vec![a.label.clone()];
        row.extend(stats_cells(&a.stats));
        row.push(a.liquidated.to_string());
        rows.push(row);
    }
    s.push_str(&table::render(&header, &rows));
    s.push_str("\ncorrelation of the positions' bar-by-bar equity returns\n");
    let mut header = vec![String::new()];
    header.extend(o.positions.iter().map(|p| p.name.clone()));
    let rows: Vec<Vec<String>> = o
        .positions
        .iter()
        .zip(&o.correlation)
        .map(|(p, row)| {
            let mut cells = vec![p.name.clone()];
            cells.extend(row.iter().map(|c| {
                if c.is_finite() {
                    format!("{c:.2}")
                } else {
                    "-".into()
                }
            }));
            cells
        })
        .collect();
    s.push_str(&table::render(&header, &rows));
    let w = &o.worst_days;
    let parts: Vec<String> = o
        .positions
        .iter()
        .zip(&w.contributions)
        .map(|(p, c)| format!("{} {}", p.name, table::percent(*c)))
        .collect();
    s.push_str(&format!(
        "\nthe worst {:.0}% of days ({}): a mean loss of {} of the capital, from {}\n",
        (1.0 - w.level) * 100.0,
        w.days,
        table::percent(w.cvar),
        parts.join(", ")
    ));
    if !t.stats.net_apy.is_finite() {
        s.push_str(&format!(
            "net APY is not given for a window under 90 days: the return over the window is {}\n",
            table::percent(t.stats.total_return)
        ));
    }
    for note in &o.notes {
        s.push_str(&format!("note: {note}\n"));
    }
    s
}

fn stats_cells(st: &Stats) -> [String; 4] {
    [
        table::money(st.final_equity),
        table::money(st.pnl),
        table::percent(st.net_apy),
        table::percent(st.max_drawdown),
    ]
}

fn borrow_word(b: levfarm_sim::scenario::BorrowSide) -> &'static str {
    match b {
        levfarm_sim::scenario::BorrowSide::Stable => "long",
        levfarm_sim::scenario::BorrowSide::Asset => "short",
        levfarm_sim::scenario::BorrowSide::Both => "both",
    }
}

/// `levfarm quote PORTFOLIO.toml`: each position's liquidation prices and distances, then the
/// joint-move grid.
pub(crate) fn quote(args: &QuoteArgs, scenario: Scenario) -> Result<(), Failure> {
    let q = PortfolioBacktest::load(scenario)?.quote()?;
    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &q).context("cannot write JSON")?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} in {} positions at {} ({})\n",
        table::money(q.capital),
        q.positions.len(),
        &iso(q.time)[..16].replace('T', " "),
        q.assets
            .iter()
            .zip(&q.prices)
            .map(|(a, p)| format!("{a} {p:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    let header = [
        "position",
        "equity",
        "leverage",
        "debt ratio",
        "kill factor",
        "liquidation below",
        "liquidation above",
        "net APY",
    ]
    .map(String::from)
    .to_vec();
    let liq = |p: Option<f64>, price: f64| {
        p.map_or("none".to_string(), |p| format!("{p:.2} ({:+.1}%)", (p / price - 1.0) * 100.0))
    };
    let rows: Vec<Vec<String>> = q
        .positions
        .iter()
        .map(|(name, p)| {
            vec![
                name.clone(),
                table::money(p.equity),
                format!("{}x", p.leverage),
                table::percent(p.debt_ratio),
                table::percent(p.kill_factor),
                liq(p.liquidation_lower, p.price),
                liq(p.liquidation_upper, p.price),
                table::percent(p.apy.net),
            ]
        })
        .collect();
    write!(out, "{}", table::render(&header, &rows))?;
    writeln!(
        out,
        "\nthe portfolio's equity after instant joint moves (change against the capital; \
         * marks each position past its kill factor)"
    )?;
    let two = q.assets.len() > 1;
    let mut header = vec![if two {
        format!("{} \\ {}", q.assets[0], q.assets[1])
    } else {
        q.assets.first().cloned().unwrap_or_default()
    }];
    if two {
        header.extend(q.moves.iter().map(|m| format!("{:+.0}%", m * 100.0)));
    } else {
        header.push("change".into());
    }
    let rows: Vec<Vec<String>> =
        q.grid
            .iter()
            .zip(&q.moves)
            .map(|(row, m)| {
                let mut cells = vec![format!("{:+.0}%", m * 100.0)];
                cells.extend(row.iter().map(|c| {
                    format!("{:+.1}%{}", c.change * 100.0, "*".repeat(c.liquidatable.len()))
                }));
                cells
            })
            .collect();
    write!(out, "{}", table::render(&header, &rows))?;
    for note in &q.notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}

/// `levfarm risk PORTFOLIO.toml`: the portfolio's Monte Carlo, and with `--recommend` the
/// allocation search.
pub(crate) fn risk(args: &crate::risk::RiskArgs, mut scenario: Scenario) -> Result<(), Failure> {
    let refuse = |flag: &str| {
        Err(Failure(
            EXIT_BAD_INPUT,
            format!("{flag}: not for a portfolio (its leverages are its positions'; --recommend searches them)"),
        ))
    };
    if !args.sweep.is_empty() {
        return refuse("--sweep");
    }
    if args.leverages.is_some() {
        return refuse("--leverages");
    }
    if args.shard.is_some() || args.shards.is_some() || args.out.is_some() {
        return refuse("--shard/--shards/--out");
    }
    if args.report.is_some() {
        return Err(Failure(
            EXIT_BAD_INPUT,
            "--report: a portfolio's Monte Carlo has no page of its own; `levfarm backtest \
             PORTFOLIO --report` draws the portfolio's page, and --json has these figures"
                .into(),
        ));
    }
    scenario = crate::risk::with_run_flags(args, scenario)?;
    if let Some(0) = args.threads {
        return Err(Failure(EXIT_BAD_INPUT, "--threads must be at least 1".into()));
    }
    let pf = PortfolioBacktest::load(scenario)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| Failure(crate::exec::EXIT_IO, format!("thread pool: {e}")))?;
    let (plan, summary, recommendation) = pool.install(|| -> Result<_, Failure> {
        let plan = PortfolioPlan::new(&pf, None)?;
        let outcomes = plan.run();
        let amounts: Vec<f64> = plan.legs.iter().map(|l| l.amount).collect();
        let summary = PortfolioSummary::of(&outcomes, &amounts, plan.venues.len());
        let recommendation =
            if args.recommend { Some(levfarm_risk::portfolio::recommend(&pf)?) } else { None };
        Ok((plan, summary, recommendation))
    })?;
    let mut out = io::stdout().lock();
    if args.json {
        let v = json!({
            "scenario": pf.scenario.name,
            "model": plan.model_note,
            "paths": plan.paths,
            "seed": plan.seed,
            "horizon_years": plan.years,
            "assets": plan.assets,
            "venues": plan.venues,
            "positions": plan.legs.iter().map(|l| json!({
                "name": l.name,
                "amount": l.amount,
                "leverage": l.plan.configs[0].scenario.position.leverage,
                "venue": plan.venues[l.venue],
            })).collect::<Vec<_>>(),
            "summary": summary,
            "recommendation": recommendation.map(|r| match r {
                Some(r) => json!(r),
                None => json!("no candidate keeps within the limits"),
            }),
        });
        serde_json::to_writer(&mut out, &v).context("cannot write JSON")?;
        writeln!(out)?;
        return Ok(());
    }
    write!(out, "{}", risk_summary(&pf, &plan, &summary, recommendation.as_ref()))?;
    Ok(())
}

fn risk_summary(
    pf: &PortfolioBacktest,
    plan: &PortfolioPlan,
    s: &PortfolioSummary,
    recommendation: Option<&Option<levfarm_risk::portfolio::Recommendation>>,
) -> String {
    let mut o = String::new();
    o.push_str(&format!(
        "{}\n{} paths over {:.2} years: {}\n\n",
        pf.scenario.name, plan.paths, plan.years, plan.model_note
    ));
    let header = [
        "position",
        "venue",
        "amount",
        "leverage",
        "P(liquidated)",
        "median return",
        "own CVaR99",
        "share of CVaR99",
    ]
    .map(String::from)
    .to_vec();
    let mut rows: Vec<Vec<String>> = plan
        .legs
        .iter()
        .enumerate()
        .map(|(k, l)| {
            vec![
                l.name.clone(),
                plan.venues[l.venue].clone(),
                table::money(l.amount),
                format!("{}x", l.plan.configs[0].scenario.position.leverage),
                table::percent(s.liquidated[k]),
                table::percent(s.median_returns[k]),
                table::percent(s.standalone_cvar[k]),
                table::percent(s.contributions[k]),
            ]
        })
        .collect();
    rows.push(vec![
        "portfolio".into(),
        String::new(),
        table::money(s.capital),
        String::new(),
        format!("{} any", table::percent(s.any_liquidated)),
        table::percent(s.median_return),
        table::percent(s.standalone_cvar.iter().sum()),
        table::percent(s.tails[1].cvar),
    ]);
    o.push_str(&table::render(&header, &rows));
    o.push_str(&format!(
        "\nP(any position liquidated) {} (± {}), expected number liquidated {:.3}\n",
        table::percent(s.any_liquidated),
        table::percent(s.any_liquidated_se),
        s.expected_liquidated
    ));
    o.push_str(&format!(
        "return over the horizon: median {}, mean {}, P(loss) {}\n",
        table::percent(s.median_return),
        table::percent(s.mean_return),
        table::percent(s.probability_of_loss)
    ));
    for t in &s.tails {
        o.push_str(&format!(
            "at {:.0}%: VaR {} and CVaR {} of the capital\n",
            t.level * 100.0,
            table::percent(t.var),
            table::percent(t.cvar)
        ));
    }
    o.push_str(&format!(
        "diversification ratio {:.2}: the positions' own CVaR99s sum to {}, the portfolio's is {}\n",
        s.diversification_ratio,
        table::percent(s.standalone_cvar.iter().sum()),
        table::percent(s.tails[1].cvar)
    ));
    let failures: Vec<String> = s
        .venue_failures
        .iter()
        .enumerate()
        .map(|(k, p)| format!("{k}: {}", table::percent(*p)))
        .collect();
    o.push_str(&format!("venues failed ({}): {}\n", plan.venues.join(", "), failures.join(", ")));
    match recommendation {
        None => o.push_str(
            "\n--recommend searches the weights and leverages for the best median return within \
             portfolio.risk.cvar_limit and liquidation_limit\n",
        ),
        Some(None) => o.push_str("\nrecommendation: no allocation keeps within the limits\n"),
        Some(Some(r)) => {
            o.push_str(&format!(
                "\nrecommended (of {} candidates, {} within the limits: CVaR99 ≤ {}, P(any \
                 liquidated) ≤ {}):\n",
                r.candidates,
                r.within_limits,
                table::percent(pf.scenario.portfolio.as_ref().map_or(0.0, |p| p.risk.cvar_limit)),
                table::percent(
                    pf.scenario.portfolio.as_ref().map_or(0.0, |p| p.risk.liquidation_limit)
                ),
            ));
            let names = pf.scenario.portfolio.as_ref().map(|p| p.names()).unwrap_or_default();
            for ((name, w), l) in names.iter().zip(&r.weights).zip(&r.leverages) {
                o.push_str(&format!("  {name}: {} at {l}x\n", table::percent(*w)));
            }
            o.push_str(&format!(
                "  median return {}, CVaR99 {}, P(any liquidated) {}\n",
                table::percent(r.median_return),
                table::percent(r.cvar99),
                table::percent(r.any_liquidated)
            ));
        }
    }
    o
}
