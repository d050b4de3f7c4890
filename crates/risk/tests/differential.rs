//! The kernel against the exact backtester on the same seeded paths: the same liquidation
//! step, and the same final equity within 1e-6 relative where no liquidation happens.

use levfarm_core::price::Price;
use levfarm_risk::kernel::StepInput;
use levfarm_risk::run::keeper_seed;
use levfarm_risk::Plan;
use levfarm_sim::backtest::{self, Strategy};
use levfarm_sim::data::PriceSeries;
use levfarm_sim::world::price_from_f64;
use levfarm_sim::Scenario;

mod common;

/// The default scenario on GBM paths with the risks the backtester also has (constant
/// utilization, turnover volume, decaying rewards, deleverage and compounding), without the
/// ones it has not (a hazard, a volatile reward token).
fn scenario(extra: &[(&str, &str)]) -> Scenario {
    common::scenario_with(
        &[
            ("risk.model", "{ kind = \"gbm\", mu = 0.0, sigma = 0.9 }"),
            ("risk.utilization", "{ model = \"constant\", value = 0.7 }"),
            ("risk.hazard.probability_per_year", "0.0"),
            // The backtest's reward decay of 50% a year, as a drift of ln(0.5) with no volatility.
            ("risk.reward", "{ drift = -0.6931471805599453, volatility = 0.0 }"),
            ("risk.horizon_days", "45"),
            ("risk.paths", "6"),
            ("risk.start_price", "2000.0"),
            ("risk.leverages", "[]"),
            // Keepers fail as the scenario says: the kernel hashes each path's steps as the
            // backtester hashes its bars, so a backtest with the path's keeper seed fails alike.
            ("keepers.failure_rate", "0.02"),
        ],
        extra,
    )
}

fn series(start: f64, inputs: &[StepInput]) -> PriceSeries {
    let mut closes: Vec<Price> = vec![price_from_f64(start).unwrap()];
    closes.extend(inputs.iter().map(|i| price_from_f64(i.price).unwrap()));
    // Each step's bridge extremes as the bar's low and high, so that both race alike.
    let ranges: Vec<[Price; 2]> = match inputs.first().and_then(|i| i.range) {
        Some(_) => std::iter::once([closes[0], closes[0]])
            .chain(inputs.iter().map(|i| {
                let [low, high] = i.range.unwrap();
                [price_from_f64(low).unwrap(), price_from_f64(high).unwrap()]
            }))
            .collect(),
        None => Vec::new(),
    };
    PriceSeries {
        source: "paths".into(),
        interval: 3600,
        times: (0..closes.len() as i64).map(|i| i * 3600).collect(),
        closes,
        ranges,
        gaps: Vec::new(),
        filled: 0,
        quote: Vec::new(),
        others: Vec::new(),
    }
}

/// Runs every path of every configuration both ways; returns the paths, the liquidations and
/// the kinds of action the backtester took.
fn compare(s: &Scenario) -> (usize, usize, std::collections::BTreeSet<&'static str>) {
    let mut kinds = std::collections::BTreeSet::new();
    let plan = Plan::new(s, &[], None).unwrap();
    let (mut n, mut liquidated) = (0, 0);
    for (c, config) in plan.configs.iter().enumerate() {
        for path in 0..plan.spec.paths {
            let inputs = plan.inputs_of(c, path);
            let mut fan = vec![0.0; plan.fan_steps.len()];
            let kernel = plan.path(config, &inputs, &mut fan);
            // The run's lanes, with their shortcuts, give the reference kernel's bits.
            let mut in_lanes = None;
            plan.in_lanes(&[path], |k, _, r, f| {
                if k == c {
                    in_lanes = Some((*r, f.to_vec()));
                }
            });
            assert_eq!(
                in_lanes,
                Some((kernel, fan.clone())),
                "{} path {path}: lanes",
                config.label
            );
            let mut scenario = config.scenario.clone();
            scenario.keepers.seed = keeper_seed(plan.spec.seed, path);
            let replayed = replay_utilization(&mut scenario, &inputs, path);
            let exact = backtest::run(
                &scenario,
                &series(plan.start_price, &inputs),
                Strategy::Leveraged,
                None,
            )
            .unwrap();
            if let Some(file) = replayed {
                let _ = std::fs::remove_file(file);
            }
            kinds.extend(exact.actions.iter().map(|a| a.kind.as_str()));
            let exact_step = exact.liquidated_at.map(|t| (t / 3600) as u32);
            assert_eq!(
                kernel.liquidated_step, exact_step,
                "{} path {path}: liquidation step",
                config.label
            );
            let exact_multiple = exact.final_equity as f64 / exact.contributed as f64;
            if exact_step.is_none() {
                let rel = (kernel.multiple - exact_multiple).abs() / exact_multiple.abs();
                assert!(
                    rel < 1e-6,
                    "{} path {path}: kernel {} vs exact {} ({rel:e} relative)",
                    config.label,
                    kernel.multiple,
                    exact_multiple
                );
            } else {
                liquidated += 1;
            }
            n += 1;
        }
    }
    (n, liquidated, kinds)
}

/// A stochastic utilization model is one draw per path: the backtester replays the kernel's
/// draws for each borrowed token's lending pool, bar by bar (`market.utilization` of model
/// `bars`, from a file written for the path, a column a pool). The file, when one was written.
fn replay_utilization(
    scenario: &mut Scenario,
    inputs: &[StepInput],
    path: u64,
) -> Option<std::path::PathBuf> {
    use levfarm_sim::scenario::{BorrowSide, UtilizationModel};
    if !matches!(scenario.market.utilization, UtilizationModel::MeanReverting { .. }) {
        return None;
    }
    let [token0, token1] = scenario.pair();
    let debts: &[(usize, &str)] = match scenario.position.borrow {
        BorrowSide::Asset => &[(0, token0)],
        BorrowSide::Stable => &[(1, token1)],
        BorrowSide::Both => &[(0, token0), (1, token1)],
    };
    // The opening's own draw first (the backtester adjusts the pools before it opens), as the
    // kernel's start was opened by the exact engine with the model itself.
    let mut model = levfarm_sim::models::Utilization::new(&scenario.market.utilization).unwrap();
    let opening: Vec<f64> = debts.iter().map(|(_, t)| model.at(t, 0, 0.0).unwrap()).collect();
    let row = |u: &mut dyn Iterator<Item = f64>| u.map(|u| format!(",{u}")).collect::<String>();
    let header: String = (0..debts.len()).map(|i| format!(",u{i}")).collect();
    let mut csv = format!("unix_s{header}\n0{}\n", row(&mut opening.into_iter()));
    for (i, input) in inputs.iter().enumerate() {
        // Rust prints the shortest text that parses back to the same f64.
        let values = &mut debts.iter().map(|(t, _)| input.utilization[*t]);
        csv.push_str(&format!("{}{}\n", (i as u64 + 1) * 3600, row(values)));
    }
    let file = std::env::temp_dir().join(format!(
        "levfarm-utilization-{}-{path}-{}.csv",
        std::process::id(),
        inputs.len()
    ));
    std::fs::write(&file, csv).unwrap();
    scenario.market.utilization = UtilizationModel::Bars {
        path: file.to_string_lossy().into_owned(),
        columns: debts
            .iter()
            .enumerate()
            .map(|(i, (_, t))| (t.to_string(), format!("u{i}")))
            .collect(),
    };
    Some(file)
}

/// Compares every path and requires each of `actions` to have happened on some path.
fn expect(s: &Scenario, actions: &[&str]) {
    let (_, _, kinds) = compare(s);
    for a in actions {
        assert!(kinds.contains(a), "no {a}: {kinds:?}");
    }
}

/// Compares every path and requires at least two liquidations among them.
fn expect_liquidations(s: &Scenario) {
    let (n, liquidated, _) = compare(s);
    assert!(liquidated >= 2, "only {liquidated} of {n} paths were liquidated");
}

/// Settings joined: `base`, then `extra` (later ones win).
fn and<'a>(base: &[(&'a str, &'a str)], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    base.iter().chain(extra).copied().collect()
}

/// High leverage and no protection: most paths are liquidated within the horizon.
const UNPROTECTED: [(&str, &str); 3] = [
    ("position.leverage", "5.5"),
    ("market.leverage.work_factor_bps", "8300"),
    ("protection.deleverage", "none"),
];
const FALLING: (&str, &str) = ("risk.model", "{ kind = \"gbm\", mu = -0.5, sigma = 1.2 }");
const RISING: (&str, &str) = ("risk.model", "{ kind = \"gbm\", mu = 1.5, sigma = 1.2 }");
const REBALANCE: [(&str, &str); 3] = [
    ("position.leverage", "3.0"),
    ("protection.deleverage", "none"),
    ("protection.rebalance", "{ target_leverage = 3.0, band = 0.15 }"),
];
/// A top-up reserve, and a stop far enough away that it does not close the position first.
const TOP_UP: [(&str, &str); 5] = [
    ("position.leverage", "3.0"),
    ("protection.deleverage", "none"),
    ("protection.stop_loss_equity", "0.6"),
    ("protection.top_up", "{ trigger = 0.72, target = 0.62, reserve = 3000.0 }"),
    ("risk.paths", "10"),
];
const SHORT: (&str, &str) = ("position.borrow", "\"asset\"");
const BOTH: (&str, &str) = ("position.borrow", "\"both\"");

/// A leveraged v3 range: the default 4,000 ticks on a 0.3% pool whose other liquidity is
/// full-range.
fn range(extra: &[(&str, &str)]) -> Scenario {
    let v3 = [("market.pool.kind", "\"v3\""), ("market.pool.tvl", "20000000.0")];
    scenario(&and(&v3, extra))
}

#[test]
fn kernel_matches_the_backtester_with_deleverage_and_compounding() {
    let (n, _, kinds) = compare(&scenario(&[("position.leverage", "3.0")]));
    assert_eq!(n, 6);
    assert!(kinds.contains("compound") && kinds.contains("deleverage"), "{kinds:?}");
}

#[test]
fn kernel_matches_the_backtester_through_liquidations() {
    expect_liquidations(&scenario(&and(&UNPROTECTED, &[FALLING])));
    expect_liquidations(&range(&and(&UNPROTECTED, &[FALLING])));
    // A short is liquidated by a rally, not a fall.
    expect_liquidations(&scenario(&and(&UNPROTECTED, &[SHORT, RISING])));
}

#[test]
fn kernel_matches_the_backtester_with_stops_top_ups_and_volatility_volume() {
    let s = scenario(&and(
        &TOP_UP,
        &[
            ("protection.take_profit_equity", "1.0"),
            ("market.volume", "{ model = \"volatility\", multiplier = 5.0, daily_floor = 0.02 }"),
            ("market.leverage.valuation", "\"oracle\""),
            ("risk.model", "{ kind = \"gbm\", mu = -1.5, sigma = 1.0 }"),
        ],
    ));
    let (_, _, kinds) = compare(&s);
    assert!(kinds.contains("top_up"), "{kinds:?}");
    assert!(kinds.contains("stop_loss") || kinds.contains("take_profit"), "{kinds:?}");
}

#[test]
fn kernel_matches_the_backtester_when_rebalancing_and_at_price_stops() {
    expect(&scenario(&REBALANCE), &["rebalance"]);
    let s = scenario(&[
        ("position.leverage", "3.0"),
        ("protection.stop_loss_price", "1700.0"),
        ("protection.take_profit_price", "2300.0"),
    ]);
    let (_, _, kinds) = compare(&s);
    assert!(kinds.contains("take_profit") || kinds.contains("stop_loss"), "{kinds:?}");
}

#[test]
fn kernel_matches_the_backtester_with_trailing_stops_and_a_time_limit() {
    let s = scenario(&[
        ("position.leverage", "2.5"),
        ("protection.deleverage", "none"),
        ("protection.trailing_stop_price", "0.08"),
    ]);
    expect(&s, &["trailing_stop"]);
    let s = scenario(&[
        ("position.leverage", "2.5"),
        ("protection.deleverage", "none"),
        ("protection.trailing_stop_equity", "0.2"),
        ("protection.time_limit_days", "20"),
    ]);
    let (_, _, kinds) = compare(&s);
    assert!(kinds.contains("time_limit") && kinds.contains("trailing_stop"), "{kinds:?}");
}

#[test]
fn kernel_matches_the_backtester_in_a_range_with_recentring_and_compounding() {
    let s = range(&[
        ("position.leverage", "3.0"),
        ("position.range_width_ticks", "1200"),
        ("protection.recenter", "true"),
    ]);
    expect(&s, &["recenter", "compound"]);
}

#[test]
fn kernel_matches_the_backtester_in_a_range_with_top_ups_stops_and_a_narrow_background() {
    // The other providers' liquidity spans ±20,000 ticks, so large moves cross its edges too.
    let s = range(&and(
        &TOP_UP,
        &[
            ("market.pool.liquidity_width_ticks", "20000"),
            ("market.volume", "{ model = \"volatility\", multiplier = 2.0, daily_floor = 0.01 }"),
            ("risk.model", "{ kind = \"gbm\", mu = -1.0, sigma = 1.0 }"),
            // A price stop races the liquidators inside the step (the equity stop acts only at
            // a close, which the liquidator now often reaches first).
            ("protection.stop_loss_price", "1700.0"),
        ],
    ));
    expect(&s, &["top_up", "stop_loss"]);
}

#[test]
fn kernel_matches_the_backtester_when_a_range_rebalances_at_oracle_valuation() {
    let s = range(&and(&REBALANCE, &[("market.leverage.valuation", "\"oracle\"")]));
    expect(&s, &["rebalance"]);
}

/// Borrowing the asset (short it): the debt is valued at the oracle and exits convert to the
/// asset; rebalancing reopens with both tokens (the two-sided zap).
#[test]
fn kernel_matches_the_backtester_borrowing_the_asset() {
    expect(&scenario(&[("position.leverage", "3.0"), SHORT]), &["compound", "deleverage"]);
    expect(&scenario(&and(&REBALANCE, &[SHORT])), &["rebalance"]);
    let rising = ("risk.model", "{ kind = \"gbm\", mu = 1.5, sigma = 1.0 }");
    expect(&scenario(&and(&TOP_UP, &[SHORT, rising])), &["top_up"]);
}

#[test]
fn kernel_matches_the_backtester_borrowing_the_asset_in_a_range() {
    let s = range(&[
        ("position.leverage", "3.0"),
        SHORT,
        ("position.range_width_ticks", "1200"),
        ("protection.recenter", "true"),
        ("protection.rebalance", "{ target_leverage = 3.0, band = 0.2 }"),
    ]);
    expect(&s, &["recenter", "rebalance"]);
}

#[test]
fn kernel_matches_the_backtester_with_other_decimals() {
    // WBTC's 8 decimals and DAI's 18 in place of WETH's 18 and USDC's 6: the kernel reads the
    // declared units, so the same paths agree as closely.
    let mut s = scenario(&and(&UNPROTECTED, &[FALLING]));
    let lending = std::mem::take(&mut s.market.lending);
    for (token, spec) in lending {
        s.market.lending.insert(if token == "WETH" { "WBTC" } else { "DAI" }.into(), spec);
    }
    s.market.asset = "WBTC".into();
    s.market.stable = "DAI".into();
    s.validate("test").unwrap();
    expect_liquidations(&s);
}

#[test]
fn kernel_matches_the_backtester_at_a_second_venue() {
    // The position borrows at a venue whose USDC pool is on a steeper model with its own kill
    // factor: the kernel takes the venue's pool and rules, as the engine does.
    let mut s = scenario(&and(&UNPROTECTED, &[FALLING]));
    let mut usdc = s.market.lending["USDC"].clone();
    usdc.rate_model = serde_json::from_value(serde_json::json!({
        "kind": "aave", "optimal_usage_ratio_bps": 8000, "base_variable_borrow_rate_bps": 200,
        "variable_rate_slope1_bps": 1200, "variable_rate_slope2_bps": 20000,
    }))
    .unwrap();
    let mut rules = s.market.leverage.clone();
    rules.kill_factor_bps = 8800;
    s.market.venues.insert(
        "beta".into(),
        levfarm_sim::scenario::VenueSpec {
            leverage: Some(rules),
            lending: [("USDC".to_string(), usdc)].into(),
            hazard: None,
        },
    );
    s.position.venue = "beta".into();
    s.validate("test").unwrap();
    expect_liquidations(&s);
}

#[test]
fn kernel_matches_the_backtester_in_an_asymmetric_range() {
    // Bounds at 0.85 and 1.3 times the opening price, re-centred at the same width when the
    // price leaves them.
    let s = range(&[
        ("position.range", "{ lower = 0.85, upper = 1.3 }"),
        ("protection.recenter", "true"),
        RISING,
    ]);
    expect(&s, &["recenter"]);
}

#[test]
fn kernel_matches_the_backtester_when_keepers_fail() {
    // Keepers that fail half the time, a deleverage that matters and intra-bar extremes: the
    // same failed steps on both sides, the same liquidations.
    let s = scenario(&and(
        &UNPROTECTED,
        &[
            FALLING,
            ("protection.deleverage", "{ trigger = 0.78, target = 0.6 }"),
            ("keepers.failure_rate", "0.5"),
            ("keepers.intrabar", "true"),
        ],
    ));
    let plan = Plan::new(&s, &[], None).unwrap();
    let failed: usize = (0..plan.spec.paths)
        .map(|p| plan.inputs_of(0, p).iter().filter(|i| i.keeper_failed).count())
        .sum();
    assert!(failed > 0, "some keepers fail");
    expect(&s, &["deleverage"]);
}

#[test]
fn kernel_matches_the_backtester_with_equity_stops_inside_steps() {
    // Equity stops race the liquidators inside each step, on both sides, as price stops do.
    let s = scenario(&and(
        &UNPROTECTED,
        &[
            FALLING,
            ("position.leverage", "4.0"),
            ("protection.stop_loss_equity", "0.35"),
            ("protection.trailing_stop_equity", "0.4"),
            ("keepers.latency_secs", "0"),
            ("risk.paths", "10"),
        ],
    ));
    expect(&s, &["stop_loss"]);
}

#[test]
fn kernel_matches_the_backtester_when_a_time_limit_falls_inside_a_step() {
    // 10.3 days: the limit falls 720 s into an hourly step, and its keeper acts there, at the
    // path's price then, unless the liquidator gets there first.
    let s = scenario(&and(
        &UNPROTECTED,
        &[("position.leverage", "2.0"), ("protection.time_limit_days", "10.3")],
    ));
    expect(&s, &["time_limit"]);
}

#[test]
fn kernel_matches_the_backtester_with_stochastic_utilization() {
    // Other borrowers move the USDC pool's utilization between about 40% and 95% within days
    // (past the 90% kink); the backtester replays each path's draws bar by bar, so the rate the
    // kernel's f64 rate model gives is checked against the exact one at every bar.
    let mr = "{ model = \"mean_reverting\", mean = 0.8, speed_per_year = 40.0, volatility = 6.0, \
              seed = 0 }";
    expect(&scenario(&[("risk.utilization", mr)]), &["deleverage", "compound"]);
    expect(&scenario(&[("risk.utilization", mr), SHORT]), &["compound"]);
    // Both pools, each with its own draws.
    expect(&scenario(&[("risk.utilization", mr), BOTH]), &["compound"]);
}

/// Borrowing both tokens (near neutral): two lending pools accrue, a fall or a rise can
/// liquidate, exits buy the shortfall in one debt with the other's surplus.
#[test]
fn kernel_matches_the_backtester_borrowing_both_tokens() {
    let wild = ("risk.model", "{ kind = \"gbm\", mu = 0.0, sigma = 2.5 }");
    expect(&scenario(&[("position.leverage", "3.0"), BOTH, wild]), &["compound", "deleverage"]);
    expect_liquidations(&scenario(&and(&UNPROTECTED, &[BOTH, wild, ("risk.paths", "12")])));
}

#[test]
fn kernel_matches_the_backtester_borrowing_both_tokens_in_a_range() {
    let s = range(&[
        ("position.leverage", "3.0"),
        BOTH,
        ("position.range_width_ticks", "1200"),
        ("protection.recenter", "true"),
        ("protection.rebalance", "{ target_leverage = 3.0, band = 0.2 }"),
    ]);
    expect(&s, &["recenter", "rebalance"]);
    let wild = ("risk.model", "{ kind = \"gbm\", mu = 0.0, sigma = 2.5 }");
    expect_liquidations(&range(&and(&UNPROTECTED, &[BOTH, wild, ("risk.paths", "12")])));
}
