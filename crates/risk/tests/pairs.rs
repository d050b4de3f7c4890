//! A volatile/volatile pool in Monte Carlo: WETH/WBTC on the bundled ETH and BTC histories, the
//! stable token (WBTC, 8 decimals) a second asset.

use std::sync::atomic::{AtomicBool, AtomicU64};

use levfarm_risk::Plan;
use levfarm_sim::{Backtest, Scenario};

/// 3x long WETH against WBTC over 2019's histories; 30-day futures on GBM for WETH and a
/// correlated WBTC.
fn weth_wbtc(second_asset: bool) -> Scenario {
    let mut text = String::from(
        r#"
[data]
start = "2019-01-01"
end = "2019-09-30"
stable_prices = "bundled:BTCUSD_1h"

[market]
asset = "WETH"
stable = "WBTC"

[market.lending.WBTC]
supply = 50000000.0
rate_model = { kind = "aave", optimal_usage_ratio_bps = 6500, base_variable_borrow_rate_bps = 0, variable_rate_slope1_bps = 800, variable_rate_slope2_bps = 30000 }

[market.lending.WETH]
supply = 50000000.0
rate_model = { kind = "aave", optimal_usage_ratio_bps = 8000, base_variable_borrow_rate_bps = 0, variable_rate_slope1_bps = 330, variable_rate_slope2_bps = 8000 }

[market.utilization]
model = "constant"
value = 0.5

[risk]
paths = 64
horizon_days = 30
leverages = []
model = { kind = "gbm", mu = 0.0, sigma = 0.9 }
"#,
    );
    if second_asset {
        text.push_str("second_asset = { price = 8300.0, mu = 0.0, sigma = 0.7, rho = 0.77 }\n");
    }
    Scenario::from_toml("weth_wbtc.toml", &text).expect("a valid scenario")
}

#[test]
fn a_weth_wbtc_pool_risk_runs_from_the_ratio_of_the_last_closes() {
    let s = weth_wbtc(true);
    let bt = Backtest::load(s.clone()).expect("both histories load");
    let plan = Plan::new(&s, &[], Some(&bt.prices)).expect("a plan");
    // The pool's price: ETH's last close over BTC's, in WBTC per WETH (about 0.02 in 2019).
    let last = |v: &[levfarm_core::price::Price]| v[v.len() - 1].0.to::<u128>() as f64 / 1e18;
    let ratio = last(&bt.prices.closes) / last(&bt.prices.quote);
    assert!((plan.start_price - ratio).abs() < 1e-12, "{} vs {ratio}", plan.start_price);
    assert!((0.01..0.05).contains(&ratio), "ETH/BTC {ratio}");
    let (done, stop) = (AtomicU64::new(0), AtomicBool::new(false));
    let partial = plan.run((0, plan.blocks()), (0, 1), &done, &stop).expect("runs");
    let summary = partial.accums[0].summary(30.0 / 365.0, plan.spec.steps_per_day);
    assert_eq!(partial.paths, 64);
    assert!(summary.median_return.is_finite() && summary.median_return > -1.0, "{summary:?}");
    assert!((0.0..=1.0).contains(&summary.liquidation_probability));
}

#[test]
fn a_stable_token_with_a_history_needs_a_model() {
    let s = weth_wbtc(false);
    let bt = Backtest::load(s.clone()).expect("both histories load");
    let Err(e) = Plan::new(&s, &[], Some(&bt.prices)) else { panic!("refused") };
    let e = e.to_string();
    assert!(e.contains("data.stable_prices") && e.contains("risk.second_asset"), "{e}");
}
