//! Portfolios: a portfolio of one position is that position's backtest to the unit; the
//! portfolio's PnL is its positions' summed exactly, through rebalances and a drawdown stop;
//! the staked alternative compounds its yield bar by bar; a portfolio file's mistakes are
//! named at their entry and line.

use levfarm_sim::backtest::{self, Strategy};
use levfarm_sim::portfolio::{PortfolioBacktest, EXAMPLE_TOML};
use levfarm_sim::{Backtest, Scenario};

const WAD: i128 = 1_000_000_000_000_000_000;

/// The example's market over a shorter window (the ETH crash of 2018: the stop acts).
fn example(window: &str) -> Scenario {
    let text = EXAMPLE_TOML.replace("gaps = \"fill\"", &format!("gaps = \"fill\"\n{window}"));
    Scenario::from_toml("portfolio.toml", &text).expect("the example is valid")
}

#[test]
fn a_portfolio_of_one_position_is_that_positions_backtest() {
    let single = r#"
[data]
start = "2022-05-01"
end = "2022-07-31"

[position]
equity = 25000.0
leverage = 2.5

[protection]
deleverage = { trigger = 0.75, target = 0.6 }
compound_hours = 24
"#;
    let portfolio = r#"
[data]
start = "2022-05-01"
end = "2022-07-31"

[portfolio]
capital = 25000.0

[[portfolio.positions]]
weight = 1.0
position = { leverage = 2.5 }
protection = { deleverage = { trigger = 0.75, target = 0.6 }, compound_hours = 24 }
"#;
    let single = Backtest::load(Scenario::from_toml("single.toml", single).unwrap()).unwrap();
    let alone = backtest::run(&single.scenario, &single.prices, Strategy::Leveraged, None).unwrap();
    let pf = PortfolioBacktest::load(Scenario::from_toml("one.toml", portfolio).unwrap()).unwrap();
    let out = pf.run(None).unwrap();
    let run = &out.positions[0].run;
    assert_eq!(run.final_equity, alone.final_equity);
    assert_eq!(run.pnl.parts(), alone.pnl.parts());
    assert_eq!(run.actions.len(), alone.actions.len());
    assert!(alone.actions.iter().any(|a| a.kind == backtest::ActionKind::Deleverage));
    let curve = |r: &levfarm_sim::RunResult| r.samples.iter().map(|s| s.equity).collect::<Vec<_>>();
    assert_eq!(curve(run), curve(&alone));
    assert_eq!(out.total.final_equity, alone.final_equity);
    assert_eq!(out.total.contributed, alone.contributed);
    // The concentrated alternative is the same position again.
    assert_eq!(out.alternatives[0].final_equity, alone.final_equity);
}

#[test]
fn the_portfolio_pnl_is_its_positions_summed_exactly_through_its_rules() {
    let s = example("start = \"2018-05-15\"\nend = \"2018-12-31\"");
    let out = PortfolioBacktest::load(s.clone()).unwrap().run(None).unwrap();
    let t = &out.total;
    // The rules acted: value moved between positions, then the stop closed them all.
    assert!(!t.rebalances.is_empty(), "no rebalance in 2018");
    assert!(t.stopped_at.is_some(), "ETH fell by more than 80% in 2018: the stop acts");
    assert!(out.positions.iter().all(|p| p.run.closed_at.is_some()));
    // Transfers move contributions between positions, never the capital: what the positions
    // were given at the opening (each amount in its token's raw units, WBTC's 8 decimals a
    // little under the dollars) is what they were given in all.
    let mut still = s.clone();
    if let Some(p) = still.portfolio.as_mut() {
        (p.rebalance_days, p.rebalance_band, p.drawdown_stop) = (None, None, None);
    }
    let opened = PortfolioBacktest::load(still).unwrap().run(None).unwrap();
    assert_eq!(t.contributed, opened.total.contributed);
    assert!((50_000 * WAD - t.contributed).abs() < WAD / 1000, "{}", t.contributed);
    let given = |o: &levfarm_sim::portfolio::PortfolioOutput| -> Vec<i128> {
        o.positions.iter().map(|p| p.run.contributed).collect()
    };
    assert_ne!(given(&out), given(&opened), "nothing was moved");
    for (i, (name, total)) in t.pnl.parts().into_iter().enumerate() {
        let sum: i128 = out.positions.iter().map(|p| p.run.pnl.parts()[i].1).sum();
        assert_eq!(sum, total, "{name}");
    }
    assert_eq!(t.pnl.total(), t.final_equity - t.contributed);
    for p in &out.positions {
        assert_eq!(p.run.pnl.total(), p.run.final_equity - p.run.contributed, "{}", p.name);
    }
    // Bar by bar, the portfolio's equity is the positions'.
    for (i, s) in t.samples.iter().enumerate() {
        let sum: i128 = out.positions.iter().map(|p| p.run.samples[i].equity).sum();
        assert_eq!(s.equity, sum);
    }
    // The drawdown stop is checked at each close: the portfolio's equity at the stop is
    // below 60% of its peak, and before it never was.
    let stop = t.stopped_at.unwrap();
    let mut peak = 0i128;
    for s in &t.samples {
        peak = peak.max(s.equity);
        let under = (s.equity as f64) < 0.6 * peak as f64;
        assert_eq!(under && s.time <= stop, s.time == stop, "{}", s.time);
        if s.time == stop {
            break;
        }
    }
}

#[test]
fn two_identical_positions_are_each_half_of_the_pair_and_perfectly_correlated() {
    let text = r#"
[data]
start = "2021-01-01"
end = "2021-03-31"

[portfolio]
capital = 20000.0

[[portfolio.positions]]
name = "a"
weight = 0.5
position = { leverage = 3.0 }

[[portfolio.positions]]
name = "b"
weight = 0.5
position = { leverage = 3.0 }
"#;
    let out = PortfolioBacktest::load(Scenario::from_toml("twins.toml", text).unwrap())
        .unwrap()
        .run(None)
        .unwrap();
    let [a, b] = [&out.positions[0].run, &out.positions[1].run];
    assert_eq!(a.final_equity, b.final_equity);
    assert_eq!(out.total.final_equity, 2 * a.final_equity);
    assert!((out.correlation[0][1] - 1.0).abs() < 1e-12, "{}", out.correlation[0][1]);
}

#[test]
fn the_staked_alternative_compounds_its_yield_every_bar() {
    let s = example("start = \"2019-01-01\"\nend = \"2019-06-30\"");
    let positions = s.portfolio_positions();
    let bt = Backtest::load(positions[0].clone()).unwrap();
    let held = backtest::run(&bt.scenario, &bt.prices, Strategy::HoldAsset, None).unwrap();
    let staked = backtest::staked(&bt.scenario, &bt.prices, 0.05).unwrap();
    // Each bar adds yield · dt / year of the asset held: the product of (1 + y·dt/Y).
    let t = &bt.prices.times;
    let growth: f64 =
        t.windows(2).map(|w| 1.0 + 0.05 * (w[1] - w[0]) as f64 / (365.0 * 86_400.0)).product();
    let ratio = staked.final_equity as f64 / held.final_equity as f64;
    assert!((ratio / growth - 1.0).abs() < 1e-12, "{ratio} against {growth}");
    assert!((growth - (0.05f64 * 180.0 / 365.0).exp()).abs() < 1e-4);
}

fn refused(text: &str) -> String {
    match Scenario::from_toml("p.toml", text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_portfolio_files_mistakes_are_named_where_they_are() {
    let head = "[portfolio]\ncapital = 1000.0\n";
    let entry = |body: &str| format!("\n[[portfolio.positions]]\n{body}\n");
    let e = refused(&format!("{head}{}{}", entry("weight = 0.5"), entry("weight = 0.4")));
    assert!(e.contains("the weights sum to 0.9"), "{e}");
    let e = refused(&format!("{head}{}", entry("weight = 1.0\namount = 5.0")));
    assert!(e.contains("portfolio.positions[0].weight") && e.contains("one"), "{e}");
    let e = refused(&format!("{head}{}{}", entry("weight = 0.5"), entry("amount = 500.0")));
    assert!(e.contains("p.toml:8: portfolio.positions[1].amount"), "{e}");
    let e = refused(&format!(
        "{head}{}{}",
        entry("weight = 0.5"),
        entry("weight = 0.5\nposition = { leverage = 40.0 }")
    ));
    assert!(e.contains("p.toml:9: portfolio.positions[1].position.leverage"), "{e}");
    let e = refused(&format!("{head}{}", entry("weight = 1.0\nposition = { pool = \"nowhere\" }")));
    assert!(e.contains("portfolio.positions[0].position.pool") && e.contains("nowhere"), "{e}");
    let e = refused(&format!("{head}{}", entry("weight = 1.0\nposition = { equity = 5.0 }")));
    assert!(e.contains("portfolio.positions[0].position.equity"), "{e}");
    let e = refused(&format!("[position]\nleverage = 2.0\n{head}{}", entry("weight = 1.0")));
    assert!(e.contains("p.toml:1: position") && e.contains("[[portfolio.positions]]"), "{e}");
    let e = refused(&format!("{head}staking = {{ DOGE = 0.1 }}\n{}", entry("weight = 1.0")));
    assert!(e.contains("portfolio.staking.DOGE"), "{e}");
    let e = refused(&format!("{head}drawdown_stop = 1.5\n{}", entry("weight = 1.0")));
    assert!(e.contains("portfolio.drawdown_stop") && e.contains("(0, 1)"), "{e}");
    let e = refused(&format!("[portfolio]\n{}", entry("weight = 1.0")));
    assert!(e.contains("portfolio.capital"), "{e}");
    let e = refused("[portfolio]\npositions = []\n");
    assert!(e.contains("1 to 16"), "{e}");
    // A second entry with the first's name.
    let e = refused(&format!(
        "{head}{}{}",
        entry("name = \"x\"\nweight = 0.5"),
        entry("name = \"x\"\nweight = 0.5")
    ));
    assert!(e.contains("portfolio.positions[1].name"), "{e}");
}

#[test]
fn the_joint_move_grid_adds_up_the_positions_single_quotes() {
    // ETH and BTC positions on their own pools: each depends on its own asset alone, so a
    // joint move is the sum of each position's own move in its single quote.
    let mut s = example("end = \"2019-10-01\"");
    if let Some(p) = s.portfolio.as_mut() {
        p.positions.truncate(2);
        p.positions[0].weight = Some(0.5);
        p.positions[1].weight = Some(0.5);
        // High enough to be liquidated at the grid's largest fall.
        p.positions[0].position.leverage = 3.0;
    }
    let pf = PortfolioBacktest::load(s).unwrap();
    let q = pf.quote().unwrap();
    assert_eq!(q.assets, ["WETH", "WBTC"]);
    let singles: Vec<_> =
        pf.positions.iter().map(|bt| levfarm_sim::quote::quote(bt).unwrap()).collect();
    let at = |single: &levfarm_sim::quote::Quote, change: f64| {
        single.moves.iter().find(|m| m.change == change).copied().expect("a quoted move")
    };
    let mut liquidated = 0;
    for (i, &a) in q.moves.iter().enumerate() {
        for (j, &b) in q.moves.iter().enumerate() {
            let (eth, btc) = (at(&singles[0], a), at(&singles[1], b));
            let cell = &q.grid[i][j];
            let sum = eth.equity + btc.equity;
            assert!((cell.equity - sum).abs() < 1e-9 * sum.abs(), "{a} {b}: {} {sum}", cell.equity);
            let names: Vec<&str> =
                [(eth.liquidatable, "ETH 2x"), (btc.liquidatable, "BTC 2x at beta")]
                    .into_iter()
                    .filter_map(|(l, n)| l.then_some(n))
                    .collect();
            assert_eq!(cell.liquidatable, names, "{a} {b}");
            liquidated += names.len();
        }
    }
    assert!(liquidated > 0, "3x ETH is liquidatable after a 50% fall");
    // Both positions' liquidation prices are quoted, below the price.
    for (name, p) in &q.positions {
        let below = p.liquidation_lower.expect("a long has a liquidation price below");
        assert!(below < p.price, "{name}");
    }
}

#[test]
fn the_worst_days_are_the_portfolios_and_each_position_has_its_part() {
    use levfarm_sim::backtest::Sample;
    use levfarm_sim::portfolio::WorstDays;
    // Hourly bars over 40 UTC days: the first position gains 1 a day but loses 10 on days 5,
    // 9, 13 and 17; the second loses 2 on day 9 only, and takes 500 from a rebalance on day 13.
    let curve = |change: &dyn Fn(i64) -> f64| -> Vec<Sample> {
        let mut equity = 1_000.0;
        (0..40 * 24)
            .map(|h: i64| {
                if h > 0 {
                    equity += change(h);
                }
                Sample { time: h * 3_600, equity: (equity * 1e18) as i128, ..Sample::default() }
            })
            .collect()
    };
    let a = curve(&|h| match (h / 24, h % 24) {
        (5 | 9 | 13 | 17, 1) => -10.0,
        (_, 1) => 1.0,
        _ => 0.0,
    });
    let b = curve(&|h| match (h / 24, h % 24) {
        (9, 1) => -2.0,
        (13, 5) => 500.0,
        _ => 0.0,
    });
    let w = WorstDays::of(&[&a, &b], &[(13 * 24 + 5) * 3_600], 2_000.0, 0.9);
    // 40 days, the worst 10%: 4 days (5, 9, 13, 17), the portfolio losing 10, 12, 10, 10.
    assert_eq!(w.days, 4);
    assert!((w.cvar - 42.0 / 4.0 / 2_000.0).abs() < 1e-15, "{}", w.cvar);
    assert!((w.contributions[0] - 40.0 / 4.0 / 2_000.0).abs() < 1e-15);
    assert!((w.contributions[1] - 2.0 / 4.0 / 2_000.0).abs() < 1e-15, "the transfer is no loss");
}
