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

[market.lending]
WBTC = {}
WETH = {}

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
    let summary = partial.accums[0].summary(30.0 / 365.0, plan.spec.steps_per_day, None);
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

/// Pearson correlation of two equally long samples.
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn the_bootstrap_draws_both_histories_on_the_same_bars() {
    // With block_hours = 24 (the default bootstrap) every step of a path is a real hour of both
    // histories: the paths' hourly returns of WETH and WBTC keep the data's correlation, where
    // the second asset's own GBM would have drawn them independently.
    let mut s = weth_wbtc(true);
    s = s.with_value("risk.model", "{ kind = \"bootstrap\", block_hours = 24, mu = 0.0 }").unwrap();
    let bt = Backtest::load(s.clone()).expect("both histories load");
    let plan = Plan::new(&s, &[], Some(&bt.prices)).expect("a plan");
    let data_returns = |v: &[levfarm_core::price::Price]| {
        v.windows(2)
            .map(|w| (w[1].0.to::<u128>() as f64 / w[0].0.to::<u128>() as f64).ln())
            .collect::<Vec<_>>()
    };
    let data = correlation(&data_returns(&bt.prices.closes), &data_returns(&bt.prices.quote));
    let (mut eth, mut btc) = (Vec::new(), Vec::new());
    for path in 0..8 {
        let inputs = plan.inputs_of(0, path);
        let mut last = (plan.start_price.ln(), 0.0);
        for i in &inputs {
            // The pool's price is WETH over WBTC; the numeraire is WBTC's price over its start.
            let (ratio, num) = (i.price.ln(), i.numeraire.ln());
            eth.push(ratio + num - (last.0 + last.1));
            btc.push(num - last.1);
            last = (ratio, num);
        }
    }
    let paths = correlation(&eth, &btc);
    assert!((0.5..0.95).contains(&data), "the data's own correlation {data}");
    assert!((paths - data).abs() < 0.1, "paths {paths}, data {data}");
    assert!(plan.model_note.contains("joint bootstrap"), "{}", plan.model_note);
}

#[test]
fn a_position_bears_its_venue_s_hazard() {
    // risk.hazard off; a venue whose contracts fail with probability 0.9 a year.
    let text = r#"
[market.utilization]
model = "constant"
value = 0.5
[market.venues.risky]
hazard = { probability_per_year = 0.9, severity = 0.5 }
[market.venues.risky.lending]
USDC = {}
[risk]
paths = 16
horizon_days = 365
leverages = []
model = { kind = "gbm", mu = 0.0, sigma = 0.5 }
start_price = 2000.0
hazard = { probability_per_year = 0.0, severity = 0.5 }
"#;
    let main = Scenario::from_toml("s.toml", text).expect("valid");
    let risky = main.with_value("position.venue", "\"risky\"").expect("valid");
    let strikes = |s: &Scenario| {
        let plan = Plan::new(s, &[], None).expect("a plan");
        (0..16).map(|p| plan.inputs_of(0, p).iter().filter(|i| i.hazard).count()).sum::<usize>()
    };
    assert_eq!(strikes(&main), 0, "the main venue's hazard is risk.hazard's: none");
    // 16 paths of a year at 0.9 a year: about 14 strikes; none would be 16 misses at 0.1 each.
    assert!(strikes(&risky) >= 5, "{}", strikes(&risky));
    let bad = Scenario::from_toml(
        "s.toml",
        "[market.venues.x]\nhazard = { probability_per_year = 1.5, severity = 0.5 }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(bad.contains("market.venues.x.hazard.probability_per_year"), "{bad}");
}

/// 3x long WBTC against USDC over mid-2019, with `pools` in the market's description and
/// `[position]` naming the pool; 30-day GBM futures.
fn btc_position(market: &str, position: &str) -> Scenario {
    let text = format!(
        r#"
[data]
start = "2019-05-01"
end = "2019-07-31"
{market}

[market.lending]
USDC = {{}}

[market.utilization]
model = "constant"
value = 0.5

[position]
{position}

[protection]
deleverage = {{ trigger = 0.78, target = 0.6 }}

[risk]
paths = 64
horizon_days = 30
leverages = [2.0, 3.0]
model = {{ kind = "gbm", mu = 0.0, sigma = 0.9 }}
"#
    );
    Scenario::from_toml("btc.toml", &text).expect("a valid scenario")
}

#[test]
fn a_position_on_a_second_pair_risk_runs_as_in_a_market_of_that_pair_alone() {
    let alone = btc_position(
        "prices = \"bundled:BTCUSD_1h\"\n[market]\nasset = \"WBTC\"\nstable = \"USDC\"\n\
         pool = { tvl = 40000000.0 }",
        "",
    );
    let beside = btc_position(
        "tokens = { WBTC = { prices = \"bundled:BTCUSD_1h\" } }\n[market.pools.btc]\n\
         pair = [\"WBTC\", \"USDC\"]\ntvl = 40000000.0",
        "pool = \"btc\"",
    );
    let run = |s: &Scenario| {
        let bt = Backtest::load(s.clone()).expect("the histories load");
        let plan = Plan::new(s, &[], Some(&bt.prices)).expect("a plan");
        let (done, stop) = (AtomicU64::new(0), AtomicBool::new(false));
        (plan.start_price, plan.run((0, plan.blocks()), (0, 1), &done, &stop).expect("runs"))
    };
    let (p_alone, alone) = run(&alone);
    let (p_beside, beside) = run(&beside);
    // BTC's last close of the window (about $10,000 at the end of July 2019).
    assert_eq!(p_alone, p_beside);
    assert!((8_000.0..12_000.0).contains(&p_beside), "{p_beside}");
    assert_eq!(beside.accums, alone.accums, "the same futures of the same position");
}
