//! Results into report pages: a backtest's output and a Monte Carlo run's summaries mapped
//! into the page models ([`crate::BacktestReport`], [`crate::RiskReport`]) the renderer draws.

use levfarm_sim::backtest::{RunResult, Sample};
use levfarm_sim::data::iso;
use levfarm_sim::world::wad_to_f64;
use levfarm_sim::{BacktestOutput, Scenario};

use crate::{Action, BacktestReport, PnlItem, Series, SummaryRow};

/// An amount with two decimals and thousands separators, as the command line's tables show it.
fn cents(v: f64) -> String {
    crate::format::number(v, 2)
}

fn summary_row(r: &RunResult) -> SummaryRow {
    let note = match (r.liquidated_at, r.closed_at) {
        (Some(t), _) => format!("liquidated {}", &iso(t)[..10]),
        (None, Some(t)) => format!("closed by protection {}", &iso(t)[..10]),
        _ => String::new(),
    };
    SummaryRow {
        name: r.strategy.label().into(),
        final_equity: r.stats.final_equity,
        pnl: r.stats.pnl,
        net_apy: r.stats.net_apy,
        max_drawdown: r.stats.max_drawdown,
        liquidated: r.liquidated_at.is_some(),
        note,
    }
}

fn equity_series(r: &RunResult) -> Series {
    Series {
        name: r.strategy.label().into(),
        values: r.samples.iter().map(|s| s.equity as f64 / 1e18).collect(),
    }
}

/// The HTML report's content: the backtest page of `output`, run on `scenario`.
pub fn from_backtest(scenario: &Scenario, output: &BacktestOutput) -> BacktestReport {
    let m = &output.main;
    let sc = scenario;
    let [asset, stable] = sc.pair();
    let side = match sc.position.borrow {
        levfarm_sim::scenario::BorrowSide::Stable => format!("long {asset} (borrowing {stable})"),
        levfarm_sim::scenario::BorrowSide::Asset => format!("short {asset} (borrowing {asset})"),
        levfarm_sim::scenario::BorrowSide::Both => {
            format!("near neutral (borrowing {asset} and {stable})")
        }
    };
    let pool_kind = match sc.pool().kind {
        levfarm_sim::scenario::PoolKind::ConstantProduct => "constant-product".to_string(),
        levfarm_sim::scenario::PoolKind::V3 => match sc.position.range {
            Some(b) => format!("Uniswap v3, range {}x to {}x the opening price", b.lower, b.upper),
            None => format!("Uniswap v3, range {} ticks", sc.position.range_width_ticks),
        },
    };
    let pr = &sc.protection;
    let mut protections = Vec::new();
    if let Some(d) = &pr.deleverage {
        protections.push(format!(
            "auto-deleverage at {:.0}% to {:.0}%",
            d.trigger * 100.0,
            d.target * 100.0
        ));
    }
    if let Some(t) = &pr.top_up {
        protections.push(format!(
            "top-up at {:.0}% to {:.0}% from {:.0}",
            t.trigger * 100.0,
            t.target * 100.0,
            t.reserve
        ));
    }
    if let Some(r) = &pr.rebalance {
        protections.push(format!("rebalance to {}x ±{:.0}%", r.target_leverage, r.band * 100.0));
    }
    if let Some(p) = pr.stop_loss_price {
        protections.push(format!("stop-loss at {p}"));
    }
    if let Some(p) = pr.stop_loss_equity {
        protections.push(format!("stop-loss at −{:.0}% equity", p * 100.0));
    }
    if let Some(p) = pr.take_profit_price {
        protections.push(format!("take-profit at {p}"));
    }
    if let Some(p) = pr.take_profit_equity {
        protections.push(format!("take-profit at +{:.0}% equity", p * 100.0));
    }
    if let Some(h) = pr.compound_hours {
        protections.push(format!("compound every {h} h"));
    }
    if pr.recenter {
        protections.push("re-centre out of range".into());
    }
    let facts = vec![
        ("Position".to_string(), format!("{} {stable} at {}x, {side}", sc.position.equity, sc.position.leverage)),
        ("Pool".into(), format!("{asset}/{stable} {pool_kind}, fee {:.2}%, value {} {stable}", f64::from(sc.pool().fee_bps) / 100.0, sc.pool().tvl)),
        (
            "Leverage rules".into(),
            format!(
                "open limit {:.2}%, liquidation {:.2}%, bounty {:.2}% + treasury {:.2}%, valuation {}",
                f64::from(sc.market.leverage.work_factor_bps) / 100.0,
                f64::from(sc.market.leverage.kill_factor_bps) / 100.0,
                f64::from(sc.market.leverage.kill_prize_bps) / 100.0,
                f64::from(sc.market.leverage.kill_treasury_bps) / 100.0,
                sc.market.leverage.valuation
            ),
        ),
        ("Protection".into(), if protections.is_empty() { "none".into() } else { protections.join("; ") }),
        ("Utilization".into(), utilization_text(sc)),
        ("Volume".into(), volume_text(sc)),
        ("Rewards".into(), rewards_text(sc)),
        ("Gas".into(), format!("{} {stable} per protection action", sc.costs.gas_per_action)),
        ("Data".into(), format!("{}: {} bars every {} s, {} filled", output.source, output.bars, output.interval, output.filled)),
    ];
    let mut summary = vec![summary_row(m)];
    summary.extend(output.alternatives.iter().map(summary_row));
    let mut equity = vec![equity_series(m)];
    equity.extend(output.alternatives.iter().map(equity_series));
    let kill = f64::from(sc.market.leverage.kill_factor_bps) / 1e4;
    let work = f64::from(sc.market.leverage.work_factor_bps) / 1e4;
    let mut triggers = Vec::new();
    if let Some(d) = &pr.deleverage {
        triggers.push(("auto-deleverage".to_string(), d.trigger));
    }
    if let Some(t) = &pr.top_up {
        triggers.push(("top-up".to_string(), t.trigger));
    }
    let price = |s: &Sample| wad_to_f64(s.price);
    let actions = m
        .actions
        .iter()
        .filter(|a| a.kind != levfarm_sim::backtest::ActionKind::Compound || m.actions.len() < 400)
        .map(|a| Action {
            time: a.time,
            kind: a.kind.as_str().into(),
            price: wad_to_f64(a.price),
            label: format!(
                "{} (equity {} → {}, {})",
                a.detail,
                cents(a.equity_before as f64 / 1e18),
                cents(a.equity_after as f64 / 1e18),
                cents(a.change as f64 / 1e18)
            ),
        })
        .collect();
    let pnl = m
        .pnl
        .parts()
        .iter()
        .map(|(name, v)| PnlItem { name: capitalise(name), value: *v as f64 / 1e18 })
        .collect();
    let mut notes = output.notes.clone();
    notes.push("Equity is marked at the oracle: the position's liquidity at the oracle price, fees owed and unreinvested rewards, less debt, plus the owner's wallet, less gas.".into());
    notes.push("The decomposition adds up exactly: each part is a difference of the same exact valuations (see the book module).".into());
    notes.push(format!(
        "Impermanent loss is against holding the tokens deposited (the closed form 2√R/(1+R) − 1 on the deposit); loss-versus-rebalancing, the same liquidity's loss bar by bar against the previous bar's holdings, is {} and is not one of the parts.",
        cents(m.pnl.loss_versus_rebalancing as f64 / 1e18)
    ));
    if m.actions.len() >= 400 {
        notes.push(format!(
            "{} compounding actions are left off the charts and the table.",
            m.actions
                .iter()
                .filter(|a| a.kind == levfarm_sim::backtest::ActionKind::Compound)
                .count()
        ));
    }
    BacktestReport {
        title: format!("{} — {} to {}", sc.name, &iso(output.start)[..10], &iso(output.end)[..10]),
        subtitle: format!(
            "{} {}x {side} · {} bars of {} · exact levfarm engine",
            sc.position.equity, sc.position.leverage, output.bars, output.source
        ),
        facts,
        summary,
        times: m.samples.iter().map(|s| s.time).collect(),
        equity,
        price: m.samples.iter().map(price).collect(),
        liquidation_lower: m.samples.iter().map(|s| s.liquidation_lower.map(wad_to_f64)).collect(),
        liquidation_upper: m.samples.iter().map(|s| s.liquidation_upper.map(wad_to_f64)).collect(),
        debt_ratio: m.samples.iter().map(|s| s.debt_ratio_bps.map(|b| b as f64 / 1e4)).collect(),
        kill_factor: kill,
        work_factor: work,
        triggers,
        pnl,
        pnl_total: m.pnl.total() as f64 / 1e18,
        actions,
        notes,
        sources: vec![
            "ETH/USD hourly: Bitfinex via CryptoDataDownload (free to use with attribution)."
                .into(),
            "Aave v2 utilization and Uniswap v2 volumes: xujiahuayz/defi-econ (MIT).".into(),
        ],
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| f.to_uppercase().collect::<String>() + c.as_str())
}

fn utilization_text(sc: &Scenario) -> String {
    use levfarm_sim::scenario::UtilizationModel as U;
    match &sc.market.utilization {
        U::Constant { value } => format!("other borrowers at {:.0}%", value * 100.0),
        U::History { path, .. } => format!("other borrowers follow {path}"),
        U::Bars { path, .. } => format!("other borrowers follow {path}, bar by bar"),
        U::MeanReverting { mean, .. } => format!("mean-reverting around {:.0}%", mean * 100.0),
    }
}

fn volume_text(sc: &Scenario) -> String {
    use levfarm_sim::scenario::VolumeModel as V;
    match &sc.market.volume {
        V::None => "arbitrage only".into(),
        V::Turnover { daily } => format!("{:.0}% of the pool per day", daily * 100.0),
        V::Volatility { multiplier, daily_floor } => {
            format!("{multiplier} × |return| × value, floor {:.0}%/day", daily_floor * 100.0)
        }
        V::File { path, column, depth_column, net_arbitrage, .. } => {
            let scaled = if depth_column.is_some() { ", scaled to this pool" } else { "" };
            let net = if *net_arbitrage { ", net of the arbitrage" } else { "" };
            format!("daily {column} from {path}{scaled}{net}")
        }
        V::Bars { path, column, buy_column, depth_column, net_arbitrage, .. } => {
            let what = match (column, buy_column) {
                (Some(c), _) => c.clone(),
                _ => "buys and sells".into(),
            };
            let scaled = if depth_column.is_some() { ", scaled to this pool" } else { "" };
            let net = if *net_arbitrage { ", net of the arbitrage" } else { "" };
            format!("{what} per bar from {path}{scaled}{net}")
        }
    }
}

fn rewards_text(sc: &Scenario) -> String {
    use levfarm_sim::scenario::RewardPricePath as R;
    let r = &sc.market.rewards;
    let path = match &r.price_path {
        R::Constant => "constant".to_string(),
        R::Decay { per_year } => format!("falling {:.0}% a year", per_year * 100.0),
        R::File { path, column } => format!("{column} from {path}"),
    };
    format!(
        "{} at {:.1}% APR on the pool's starting value; price {} from {}",
        r.token,
        r.apr * 100.0,
        path,
        r.price
    )
}

/// A risk run's results as the risk report's model: one row per configuration, each with its
/// fan, outcome histogram and time-to-liquidation histogram; the focus is the configuration
/// nearest the scenario's own leverage.
pub fn from_risk(
    plan: &levfarm_risk::Plan,
    partial: &levfarm_risk::Partial,
    summaries: &[levfarm_risk::stats::Summary],
    recommendations: &[String],
) -> crate::RiskReport {
    use crate::{Fan, Histogram, RiskReport, RiskRow};
    let s = &plan.spec;
    let levels = [0.05, 0.25, 0.5, 0.75, 0.95];
    let days_of = |step: u32| f64::from(step) / f64::from(s.steps_per_day);
    let rows: Vec<RiskRow> = plan
        .configs
        .iter()
        .zip(summaries)
        .map(|(c, m)| RiskRow {
            label: c.label.clone(),
            settings: c.settings.clone(),
            leverage: c.scenario.position.leverage,
            paths: m.paths,
            liquidation_probability: m.liquidation_probability,
            liquidation_ci: m.liquidation_ci95,
            loss_probability: m.loss_probability,
            wipeout_probability: m.wipeout_probability,
            // Under 90 days the page shows returns over the horizon in these columns.
            mean_apy: if m.annualised { m.mean_apy } else { m.mean_return },
            median_apy: if m.annualised { m.median_apy } else { m.median_return },
            quantiles: if m.annualised {
                m.apy_quantiles.clone()
            } else {
                m.return_quantiles.clone()
            },
            var95: m.var95,
            cvar95: m.cvar95,
            var99: m.var99,
            cvar99: m.cvar99,
            mean_days_to_liquidation: m.mean_days_to_liquidation,
            median_days_to_liquidation: m.median_days_to_liquidation,
        })
        .collect();
    let fans = partial
        .accums
        .iter()
        .map(|a| Fan {
            days: plan.fan_steps.iter().map(|&st| days_of(st)).collect(),
            levels: levels.to_vec(),
            bands: levels.iter().map(|&p| a.fan.iter().map(|h| h.quantile(p)).collect()).collect(),
            mean: a.fan.iter().map(|h| h.mean()).collect(),
        })
        .collect();
    let outcome_histograms = partial
        .accums
        .iter()
        .map(|a| {
            let (edges, counts) = a.multiple.dense();
            let (edges, counts) = regroup(&edges, &counts, 80);
            Histogram { label: "final equity / contributed".into(), edges, counts }
        })
        .collect();
    let liquidation_time_histograms = partial
        .accums
        .iter()
        .map(|a| {
            let n = a.liquidation_days.len();
            let edges: Vec<f64> = (0..=n).map(|d| d as f64).collect();
            let (edges, counts) = regroup(&edges, &a.liquidation_days, 60);
            Histogram { label: "days to liquidation".into(), edges, counts }
        })
        .collect();
    let target = plan.base.position.leverage;
    let focus = rows
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1.leverage - target).abs().total_cmp(&(b.1.leverage - target).abs()))
        .map_or(0, |(i, _)| i);
    let mut facts = vec![
        ("Model".into(), plan.model_note.clone()),
        ("Paths".into(), format!("{} per configuration", s.paths)),
        (
            "Horizon".into(),
            format!(
                "{} days, {} steps a day ({} steps)",
                s.horizon_days, s.steps_per_day, plan.steps
            ),
        ),
        ("Start price".into(), cents(plan.start_price)),
        ("Seed".into(), s.seed.to_string()),
        (
            "Hazard".into(),
            format!(
                "{:.1}% a year, {:.0}% of the position's liquidity",
                s.hazard.probability_per_year * 100.0,
                s.hazard.severity * 100.0
            ),
        ),
    ];
    facts.push(("Fingerprint".into(), plan.fingerprint.clone()));
    RiskReport {
        title: format!("Risk: {}", plan.base.name),
        subtitle: format!(
            "{}; equity {}",
            plan.position_note,
            cents(plan.base.position.equity)
        ),
        facts,
        rows,
        focus,
        fans,
        outcome_histograms,
        liquidation_time_histograms,
        recommendations: recommendations.to_vec(),
        annualised: summaries.iter().all(|m| m.annualised),
        notes: levfarm_risk::advice::notes(plan, summaries).into_iter().map(|n| {
            let mut c = n.chars();
            c.next().map_or(String::new(), |f| f.to_uppercase().collect::<String>() + c.as_str()) + "."
        }).chain([
            "Each path's randomness depends on (seed, path id) only: every configuration sees the \
             same futures, and any thread count or sharding gives the same figures."
                .into(),
            "Quantiles, VaR and CVaR come from a histogram of final equity multiples 0.001 wide; \
             the fan chart's from one 0.01 wide."
                .into(),
            "The liquidation probability's interval is Wilson's 95% score interval; the \
             recommendation uses its upper bound."
                .into(),
        ]).collect(),
    }
}

/// Merges neighbouring bins so that at most `max` remain.
fn regroup(edges: &[f64], counts: &[u64], max: usize) -> (Vec<f64>, Vec<u64>) {
    if counts.is_empty() || edges.len() != counts.len() + 1 {
        return (Vec::new(), Vec::new());
    }
    let run = counts.len().div_ceil(max).max(1);
    let mut e = Vec::new();
    let mut c = Vec::new();
    for (i, chunk) in counts.chunks(run).enumerate() {
        e.push(edges[i * run]);
        c.push(chunk.iter().sum());
    }
    e.push(edges[counts.len()]);
    (e, c)
}

/// The portfolio page of a portfolio's backtest, with the joint-move grid of its quote when
/// given.
pub fn from_portfolio(
    out: &levfarm_sim::portfolio::PortfolioOutput,
    quote: Option<&levfarm_sim::portfolio::PortfolioQuote>,
) -> crate::PortfolioReport {
    use crate::{Grid, PositionRow};
    let t = &out.total;
    let row = |name: &str, r: &levfarm_sim::backtest::Stats| PositionRow {
        name: name.into(),
        final_equity: r.final_equity,
        pnl: r.pnl,
        net_apy: r.net_apy,
        max_drawdown: r.max_drawdown,
        ..PositionRow::default()
    };
    let mut positions: Vec<PositionRow> = out
        .positions
        .iter()
        .map(|p| PositionRow {
            pair: p.pair.join("/"),
            venue: p.venue.clone(),
            weight: p.weight,
            leverage: format!("{}x", p.leverage),
            liquidated: p.run.liquidated_at.is_some(),
            bars_near_kill: p.run.bars_near_kill,
            ..row(&p.name, &p.run.stats)
        })
        .collect();
    positions.push(PositionRow {
        weight: 1.0,
        liquidated: t.liquidated > 0,
        bars_near_kill: t.bars_any_near_kill,
        ..row("portfolio", &t.stats)
    });
    let curve = |name: &str, samples: &[Sample]| Series {
        name: name.into(),
        values: samples.iter().map(|s| s.equity as f64 / 1e18).collect(),
    };
    let mut equity = vec![curve("Portfolio", &t.samples)];
    equity.extend(out.positions.iter().map(|p| curve(&p.name, &p.run.samples)));
    equity.extend(
        out.alternatives
            .iter()
            .filter(|a| a.position.is_some())
            .map(|a| curve(&a.label, &a.samples)),
    );
    let pnl = t
        .pnl
        .parts()
        .iter()
        .enumerate()
        .filter(|(i, (_, v))| *v != 0 || out.positions.iter().any(|p| p.run.pnl.parts()[*i].1 != 0))
        .map(|(i, (name, total))| {
            let mut values: Vec<f64> =
                out.positions.iter().map(|p| p.run.pnl.parts()[i].1 as f64 / 1e18).collect();
            values.push(*total as f64 / 1e18);
            (name.to_string(), values)
        })
        .collect();
    let mut comparison = vec![SummaryRow {
        name: "Portfolio".into(),
        final_equity: t.stats.final_equity,
        pnl: t.stats.pnl,
        net_apy: t.stats.net_apy,
        max_drawdown: t.stats.max_drawdown,
        liquidated: t.liquidated > 0,
        note: match t.stopped_at {
            Some(s) => format!("drawdown stop {}", &iso(s)[..10]),
            None => format!("rebalanced {} times", t.rebalances.len()),
        },
    }];
    comparison.extend(out.alternatives.iter().map(|a| SummaryRow {
        name: a.label.clone(),
        final_equity: a.stats.final_equity,
        pnl: a.stats.pnl,
        net_apy: a.stats.net_apy,
        max_drawdown: a.stats.max_drawdown,
        liquidated: a.liquidated > 0,
        note: String::new(),
    }));
    let w = &out.worst_days;
    let grid = quote.map(|q| Grid {
        assets: q.assets.clone(),
        moves: q.moves.clone(),
        cells: q
            .grid
            .iter()
            .map(|row| row.iter().map(|c| (c.change, c.liquidatable.clone())).collect())
            .collect(),
    });
    let capital = t.contributed as f64 / 1e18;
    crate::PortfolioReport {
        title: out.scenario.clone(),
        subtitle: format!(
            "{} positions, {} of capital, {} to {} ({} bars)",
            out.positions.len(),
            cents(capital),
            &iso(out.start)[..10],
            &iso(out.end)[..10],
            out.bars
        ),
        facts: vec![
            ("Capital".into(), cents(capital)),
            (
                "Window".into(),
                format!("{} \u{2192} {}", &iso(out.start)[..16], &iso(out.end)[..16]),
            ),
            ("Bars".into(), crate::format::number(out.bars as f64, 0)),
            ("Rebalances".into(), t.rebalances.len().to_string()),
            (
                "Drawdown stop".into(),
                t.stopped_at.map_or("not reached".into(), |s| iso(s)[..10].to_string()),
            ),
            ("Liquidated".into(), format!("{} of {}", t.liquidated, out.positions.len())),
        ],
        positions,
        times: t.samples.iter().map(|s| s.time).collect(),
        equity,
        pnl,
        comparison,
        correlation: out.correlation.clone(),
        worst_days: (w.level, w.days, w.cvar, w.contributions.clone()),
        grid,
        notes: out.notes.clone(),
        sources: out.sources.clone(),
    }
}
