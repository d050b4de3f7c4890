//! One policy, three uses: the same orders on the same price path, through 12-13 March 2020
//! from the bundled history, run by the backtester, by the service's `State` (driven directly,
//! action by action, as its journal would replay them) and by the Monte Carlo kernel. The
//! backtester and the service must take the same actions at the same bars with the same exact
//! amounts; the kernel must close at the same bar with the same equity to its f64 tolerance.

use levfarm_core::orders::{OrderKind, Trail};
use levfarm_core::types::Amount;
use levfarm_risk::kernel::{Setup, StepInput};
use levfarm_server::state::action::{Borrow, FeedSpec, OpenSpec, Role, TokenGrant};
use levfarm_server::state::{Action, Reply, State};
use levfarm_sim::backtest::{self, ActionKind, Strategy};
use levfarm_sim::{Backtest, Scenario};

/// The default 3x long ETH with no other borrowers, no traders and a steady reward token (the
/// service's market moves only with its oracle), daily compounding, a deleverage at 75% back to 60% and a trailing stop 55% under
/// the high, through the first three weeks of March 2020.
const SCENARIO: &str = r#"
name = "one policy"

[data]
start = "2020-03-01"
end = "2020-03-20"

[market.utilization]
model = "constant"
value = 0.0

[market.volume]
model = "none"

[market.rewards.price_path]
model = "constant"

[protection]
compound_hours = 24
trailing_stop_price = 0.55

[protection.deleverage]
trigger = 0.75
target = 0.6

[costs]
gas_per_action = 0.0
"#;

/// What acted, bar by bar: `(time, kind, the engine's own line)`.
type Acted = Vec<(i64, String, String)>;

fn backtester(bt: &Backtest) -> (levfarm_sim::backtest::RunResult, Acted) {
    let r = backtest::run(&bt.scenario, &bt.prices, Strategy::Leveraged, None).unwrap();
    let acted = r
        .actions
        .iter()
        .filter(|a| !matches!(a.kind, ActionKind::Open | ActionKind::Liquidation))
        .map(|a| (a.time, a.kind.as_str().to_string(), a.detail.clone()))
        .collect();
    (r, acted)
}

/// The service's state through the same path: genesis at the first close, an account funded
/// with the same equity, the same position and orders, then one price action per bar.
fn service(bt: &Backtest) -> (State, Acted, Vec<(i64, String)>) {
    let p = &bt.prices;
    let mut state = State::genesis(&Action::Genesis {
        scenario: SCENARIO.into(),
        price: p.closes[0],
        time: p.times[0],
        feed: FeedSpec::Push,
    })
    .unwrap();
    let apply = |state: &mut State, action: Action| state.apply(&action).unwrap().reply;
    let grant = TokenGrant { id: "t1".into(), label: "test".into(), sha256: "0".repeat(64) };
    let Reply::Account(alice) = apply(
        &mut state,
        Action::CreateAccount { name: "alice".into(), role: Role::User, token: grant },
    ) else {
        panic!("no account")
    };
    let equity = Amount(alloy_primitives::U256::from(10_000_000_000u64));
    apply(&mut state, Action::Fund { account: alice, token: "USDC".into(), amount: equity });
    let spec = OpenSpec {
        equity0: Amount::default(),
        equity1: equity,
        leverage_bps: 30_000,
        borrow: Borrow::Stable,
        range_width_ticks: None,
        range_lower: None,
        range_upper: None,
        pool: None,
        venue: None,
    };
    let Reply::Position(id) = apply(&mut state, Action::Open { account: alice, spec }) else {
        panic!("no position")
    };
    // The orders the backtester places for the scenario's protection, in the same order.
    for order in [
        OrderKind::TrailingStop { trail: Trail::PriceFallBps(5_500), exit_to: Some("USDC".into()) },
        OrderKind::Deleverage { trigger_bps: 7_500, target_bps: 6_000 },
        OrderKind::Compound { every_seconds: 86_400 },
    ] {
        apply(&mut state, Action::PlaceOrder { account: alice, position: id, order });
    }
    let (mut acted, mut liquidations) = (Vec::new(), Vec::new());
    for (i, (t, price)) in p.times.iter().zip(&p.closes).enumerate().skip(1) {
        let action = Action::Price {
            source: "history".into(),
            price: *price,
            time: *t,
            range: p.ranges.get(i).copied(),
        };
        let Reply::Keeper(report) = apply(&mut state, action) else { panic!("no keeper report") };
        for line in report.lines.iter().filter(|l| l.outcome == "acted") {
            match line.step.as_ref() {
                "protection" => {
                    let kind = state.order(alice, line.order.unwrap()).unwrap().order.name();
                    acted.push((*t, kind.to_string(), line.detail.clone()));
                }
                "liquidation" => liquidations.push((*t, line.detail.clone())),
                _ => {}
            }
        }
    }
    (state, acted, liquidations)
}

#[test]
fn the_backtester_the_service_and_the_kernel_run_one_policy_alike() {
    let scenario = Scenario::from_toml("one_policy.toml", SCENARIO).unwrap();
    let bt = Backtest::load(scenario).unwrap();
    let p = &bt.prices;
    assert!(p.times.windows(2).all(|w| w[1] - w[0] == 3600), "an hourly window without gaps");
    assert!(p.times.iter().any(|t| levfarm_sim::data::iso(*t).starts_with("2020-03-12T10")));

    let (run, by_backtester) = backtester(&bt);
    let (state, by_service, liquidations) = service(&bt);
    // The path exercises every order: daily compounding, the deleverage in the crash, and the
    // trailing stop that closes what is left.
    let kinds: std::collections::BTreeSet<&str> =
        by_backtester.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["compound", "deleverage", "trailing_stop"].into_iter().collect());
    // The same actions at the same bars, each with the engine's line of exact amounts.
    assert_eq!(by_backtester, by_service);
    assert!(liquidations.is_empty() && run.liquidated_at.is_none());

    // The same exact debt after every bar's keepers.
    let history = state.history(1, 1).unwrap();
    let served: std::collections::BTreeMap<i64, alloy_primitives::U256> =
        history.iter().map(|h| (h.time, h.debt_value.0)).collect();
    let mut compared = 0;
    for s in &run.samples {
        if let (Some(debt), Some(other)) = (s.debt_value, served.get(&s.time)) {
            assert_eq!(debt, *other, "debt at {}", levfarm_sim::data::iso(s.time));
            compared += 1;
        }
    }
    assert!(compared > 100, "{compared} bars compared");

    // The kernel decides with the same orders, in f64: it closes at the same bar, with the
    // same equity to its tolerance.
    let seconds = u64::try_from(p.times[p.times.len() - 1] - p.times[0]).unwrap();
    let opened = backtest::open_at(&bt.scenario, p.closes[0], &[], seconds).unwrap();
    let setup = Setup::new(&bt.scenario, &opened, 3600).unwrap();
    let reward_price = bt.scenario.market.rewards.price;
    let k = &bt.scenario.keepers;
    let f = |p: levfarm_core::price::Price| levfarm_sim::world::wad_to_f64(p.0);
    let inputs: Vec<StepInput> = (1..p.closes.len())
        .map(|i| StepInput {
            price: f(p.closes[i]),
            reward_price,
            utilization: [0.0; 2],
            hazard: false,
            severity: 0.0,
            numeraire: 1.0,
            range: Some([f(p.ranges[i][0]), f(p.ranges[i][1])]),
            keeper_failed: backtest::keeper_failed(k.seed, p.times[i], 1, k.failure_rate),
        })
        .collect();
    let start = levfarm_sim::world::wad_to_f64(p.closes[0].0);
    let out = setup.run(start, &mut inputs.iter().copied(), |_, _| {});
    let closed_step = run.closed_at.map(|t| ((t - p.times[0]) / 3600) as u32);
    assert!(closed_step.is_some());
    assert_eq!(out.closed, closed_step);
    assert_eq!(out.liquidated, None);
    let exact = run.final_equity as f64 / 1e18;
    assert!((out.equity - exact).abs() / exact < 1e-6, "kernel {} vs exact {exact}", out.equity);
}
