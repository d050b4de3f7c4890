//! The run's lanes against the reference kernel. A run steps its paths in lanes with
//! shortcuts: the race inside a step and the keepers' orders are first decided on bounds, and
//! the bar's low and high and the keeper's failures are drawn only when a race asks. The
//! reference ([`Plan::path`] over [`Plan::inputs_of`]) draws everything and runs the race and
//! every keeper at every step. Every path must give the reference's bits.

use levfarm_risk::Plan;
use levfarm_sim::Scenario;

mod common;

/// The default scenario (the intra-bar race with failing keepers, deleverage, daily
/// compounding, other borrowers' mean-reverting utilization, a volatile reward token) on
/// falling GBM paths with frequent hazards, so that races, deleverages and liquidations
/// happen.
fn scenario(extra: &[(&str, &str)]) -> Scenario {
    common::scenario_with(
        &[
            ("risk.model", "{ kind = \"gbm\", mu = -0.8, sigma = 1.3 }"),
            ("risk.horizon_days", "60"),
            ("risk.paths", "40"),
            ("risk.start_price", "2000.0"),
            ("risk.leverages", "[2.0, 3.0, 4.0]"),
            ("market.leverage.work_factor_bps", "8000"),
            ("risk.hazard", "{ probability_per_year = 0.9, severity = 0.2 }"),
            ("keepers.failure_rate", "0.2"),
        ],
        extra,
    )
}

/// Runs every path both ways; returns how many were liquidated and how many a protection
/// order closed.
fn same_bits(s: &Scenario) -> (usize, usize) {
    let plan = Plan::new(s, &[], None).unwrap();
    let paths: Vec<u64> = (0..plan.spec.paths).collect();
    let (mut n, mut liquidated, mut closed) = (0, 0, 0);
    for chunk in paths.chunks(16) {
        plan.in_lanes(chunk, |c, l, got, fan| {
            let path = chunk[l];
            let mut want_fan = vec![0.0; plan.fan_steps.len()];
            let want = plan.path(&plan.configs[c], &plan.inputs_of(c, path), &mut want_fan);
            // Debug text, so that a NaN compares equal to itself.
            assert_eq!(
                format!("{got:?} {fan:?}"),
                format!("{want:?} {want_fan:?}"),
                "{} path {path}",
                plan.configs[c].label
            );
            n += 1;
            liquidated += usize::from(got.liquidated_step.is_some());
            closed += usize::from(got.stopped || got.took_profit);
        });
    }
    assert_eq!(n, plan.configs.len() * paths.len());
    (liquidated, closed)
}

#[test]
fn lanes_give_the_reference_bits_with_everything_on() {
    same_bits(&scenario(&[]));
    // Unprotected, so that the liquidators race too.
    let unprotected = ("protection.deleverage", "none");
    let (liquidated, _) = same_bits(&scenario(&[unprotected]));
    assert!(liquidated >= 5, "{liquidated} liquidations");
    // Borrowing the asset, on rising paths.
    let (liquidated, _) = same_bits(&scenario(&[
        unprotected,
        ("position.borrow", "\"asset\""),
        ("risk.model", "{ kind = \"gbm\", mu = 1.5, sigma = 1.3 }"),
    ]));
    assert!(liquidated >= 5, "{liquidated} liquidations");
    // Borrowing both tokens, on wild paths; each lending pool's utilization its own draws.
    let both = scenario(&[
        unprotected,
        ("position.borrow", "\"both\""),
        ("risk.model", "{ kind = \"gbm\", mu = 0.0, sigma = 2.5 }"),
    ]);
    let inputs = Plan::new(&both, &[], None).unwrap().inputs_of(0, 0);
    assert!(inputs.iter().all(|i| i.utilization[0] != i.utilization[1]), "one draw for both");
    let (liquidated, _) = same_bits(&both);
    assert!(liquidated >= 5, "{liquidated} liquidations");
}

#[test]
fn lanes_give_the_reference_bits_with_price_and_equity_orders() {
    let orders: [&[(&str, &str)]; 3] = [
        &[
            ("protection.stop_loss_price", "1500.0"),
            ("protection.take_profit_price", "2600.0"),
            ("protection.top_up", "{ trigger = 0.72, target = 0.62, reserve = 3000.0 }"),
        ],
        &[
            ("protection.deleverage", "none"),
            ("protection.stop_loss_equity", "0.4"),
            ("protection.take_profit_equity", "0.5"),
            ("protection.time_limit_days", "30"),
        ],
        &[
            ("protection.deleverage", "none"),
            ("protection.trailing_stop_price", "0.1"),
            ("protection.rebalance", "{ target_leverage = 3.0, band = 0.15 }"),
        ],
    ];
    for extra in orders {
        let (_, closed) = same_bits(&scenario(extra));
        assert!(closed >= 5, "{extra:?}: {closed} closed by an order");
    }
}

#[test]
fn lanes_give_the_reference_bits_in_a_range_and_with_other_models() {
    same_bits(&scenario(&[
        ("market.pool.kind", "\"v3\""),
        ("market.pool.tvl", "20000000.0"),
        ("position.range_width_ticks", "1200"),
        ("protection.recenter", "true"),
        ("risk.paths", "20"),
    ]));
    same_bits(&scenario(&[(
        "risk.model",
        "{ kind = \"merton\", mu = 0.0, sigma = 0.8, lambda = 200.0, jump_mean = -0.03, \
         jump_std = 0.05 }",
    )]));
    same_bits(&scenario(&[
        ("risk.model", "{ kind = \"garch\", mu = 0.0, omega = 2e-6, alpha = 0.08, beta = 0.9 }"),
        ("market.volume", "{ model = \"volatility\", multiplier = 5.0, daily_floor = 0.02 }"),
        ("market.leverage.valuation", "\"oracle\""),
    ]));
}
