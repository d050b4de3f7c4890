//! The market's shape is the scenario's: declared decimals change no dollar, and a second
//! lending venue lends at its own rate under its own rules.

use std::collections::BTreeMap;

use levfarm_core::math::{U256, WAD};
use levfarm_core::price::Price;
use levfarm_sim::backtest::{self, ActionKind, RunResult, Strategy};
use levfarm_sim::scenario::{TokenSpec, UtilizationModel, VenueSpec};
use levfarm_sim::world::World;
use levfarm_sim::{Backtest, Scenario};

/// The default 3x long with its protection over March 2020 (the crash of the 12th), other
/// borrowers holding utilization at 50%.
fn march_2020() -> Scenario {
    let mut s = Scenario::default();
    s.data.start = Some("2020-03-01".into());
    s.data.end = Some("2020-03-31".into());
    s.market.utilization = UtilizationModel::Constant { value: 0.5 };
    s
}

/// The same market with the pool's tokens renamed: `asset` for WETH, `stable` for USDC.
fn renamed(mut s: Scenario, asset: &str, stable: &str) -> Scenario {
    let lending = std::mem::take(&mut s.market.lending);
    for (token, spec) in lending {
        let token = if token == "WETH" { asset } else { stable };
        s.market.lending.insert(token.to_string(), spec);
    }
    s.market.asset = asset.into();
    s.market.stable = stable.into();
    s
}

fn run(s: Scenario) -> RunResult {
    let bt = Backtest::load(s).expect("bundled data loads");
    backtest::run(&bt.scenario, &bt.prices, Strategy::Leveraged, None).expect("runs")
}

fn dollars(v: i128) -> f64 {
    v as f64 / 1e18
}

#[test]
fn decimals_change_no_dollar() {
    // WBTC has 8 decimals and DAI 18, the reverse of WETH's 18 and USDC's 6; a token no one
    // knows is declared. The same prices, the same dollars, to the rounding of raw units.
    let base = run(march_2020());
    let mut declared = renamed(march_2020(), "XYZ", "DAI");
    declared.market.tokens = BTreeMap::from([("XYZ".to_string(), TokenSpec { decimals: 12 })]);
    for (s, decimals) in [(renamed(march_2020(), "WBTC", "DAI"), [8, 18]), (declared, [12, 18])] {
        let name = format!("{}/{}", s.market.asset, s.market.stable);
        // The engine holds the declared decimals, so every amount below went through them.
        let world = World::build(&s, Price(U256::from(200u64) * WAD), 86_400).expect("builds");
        let held = [&s.market.asset, &s.market.stable]
            .map(|t| world.market.token_decimals(t).expect("a token"));
        assert_eq!(held, decimals, "{name}");
        let r = run(s);
        let kinds =
            |r: &RunResult| r.actions.iter().map(|a| (a.time, a.kind.as_str())).collect::<Vec<_>>();
        assert_eq!(kinds(&r), kinds(&base), "{name}: the same actions at the same bars");
        assert!(base.actions.iter().any(|a| a.kind == ActionKind::Deleverage));
        // A cent on $10,000 over a month of hourly swaps, accruals and compounding.
        let close = |what: &str, a: i128, b: i128| {
            let (a, b) = (dollars(a), dollars(b));
            assert!((a - b).abs() <= 0.01, "{name}: {what} {a} against {b}");
        };
        close("contributed", r.contributed, base.contributed);
        close("final equity", r.final_equity, base.final_equity);
        close("fees", r.pnl.trading_fees, base.pnl.trading_fees);
        close("interest", r.pnl.interest, base.pnl.interest);
        close("impermanent loss", r.pnl.impermanent_loss, base.pnl.impermanent_loss);
        close("price exposure", r.pnl.price_exposure, base.pnl.price_exposure);
        assert_eq!(r.pnl.total(), r.final_equity - r.contributed, "{name}: the parts add up");
    }
}

#[test]
fn an_undeclared_token_is_refused_with_its_key() {
    let s = renamed(march_2020(), "XYZ", "USDC");
    let e = s.validate("s.toml").unwrap_err().to_string();
    assert!(e.contains("market.tokens.XYZ") && e.contains("declare its decimals"), "{e}");
    let e = Scenario::from_toml("s.toml", "[market]\nasset = \"XYZ\"\n").unwrap_err().to_string();
    assert!(e.contains("market.tokens.XYZ"), "{e}");
}

#[test]
fn a_position_at_a_second_venue_pays_that_venue_s_rate() {
    // A second venue whose USDC pool has the same supply on a model twice as steep: the same
    // position there pays twice the interest over a quiet month.
    let mut s = march_2020();
    s.data.start = Some("2019-06-01".into());
    s.data.end = Some("2019-06-30".into());
    s.protection = Default::default();
    let mut usdc = s.market.lending["USDC"].clone();
    let doubled = serde_json::json!({
        "kind": "aave", "optimal_usage_ratio_bps": 9000, "base_variable_borrow_rate_bps": 0,
        "variable_rate_slope1_bps": 800, "variable_rate_slope2_bps": 12000,
    });
    usdc.rate_model = serde_json::from_value(doubled).expect("a rate model");
    s.market.venues = BTreeMap::from([(
        "beta".to_string(),
        VenueSpec {
            leverage: None,
            lending: BTreeMap::from([("USDC".to_string(), usdc)]),
            hazard: None,
        },
    )]);
    let main = run(s.clone());
    s.position.venue = "beta".into();
    let beta = run(s);
    let ratio = beta.pnl.interest as f64 / main.pnl.interest as f64;
    assert!(main.pnl.interest < 0, "interest is a cost");
    assert!((ratio - 2.0).abs() < 0.02, "beta's interest is {ratio} times main's");
}

#[test]
fn a_venue_s_kill_factor_decides_its_liquidation() {
    // Unprotected 2x (debt ratio 50%) through 12 March 2020, when ETH fell to about 41% of its
    // 1 March price: the ratio reached 0.5/√0.41 ≈ 78%, within the main venue's 83.33% and past
    // a strict venue's 60%.
    let mut s = march_2020();
    s.protection = Default::default();
    s.position.leverage = 2.0;
    let mut strict = s.market.leverage.clone();
    (strict.work_factor_bps, strict.kill_factor_bps) = (5500, 6000);
    let lending = s.market.lending.clone();
    s.market.venues = BTreeMap::from([(
        "strict".to_string(),
        VenueSpec { leverage: Some(strict), lending, hazard: None },
    )]);
    let main = run(s.clone());
    assert!(main.liquidated_at.is_none(), "the main venue's kill factor holds");
    s.position.venue = "strict".into();
    let strict = run(s);
    let t = strict.liquidated_at.expect("liquidated at the strict venue");
    assert!(levfarm_sim::data::iso(t).starts_with("2020-03-12"), "{}", levfarm_sim::data::iso(t));
}

#[test]
fn venues_are_checked_with_their_keys() {
    let e =
        Scenario::from_toml("s.toml", "[position]\nvenue = \"nowhere\"\n").unwrap_err().to_string();
    assert!(e.contains("position.venue") && e.contains("\"nowhere\" is not a venue"), "{e}");
    let text = "[market.venues.beta.lending.USDC]\nsupply = 0.0\n";
    let e = Scenario::from_toml("s.toml", text).unwrap_err().to_string();
    assert!(e.starts_with("s.toml:2: market.venues.beta.lending.USDC.supply"), "{e}");
    let text = "[position]\nvenue = \"beta\"\n[market.venues.beta.lending.WETH]\nsupply = 1e6\n";
    let e = Scenario::from_toml("s.toml", text).unwrap_err().to_string();
    assert!(e.contains("no [market.venues.beta.lending.USDC]"), "{e}");
    let e = Scenario::from_toml("s.toml", "[market.venues.main]\n").unwrap_err().to_string();
    assert!(e.contains("market.venues.main"), "{e}");
}

#[test]
fn a_range_between_two_prices_opens_there_and_backtests() {
    // A v3 range from 0.8 to 1.5 times the opening price, over a quiet June 2019.
    let mut s = march_2020();
    s.data.start = Some("2019-06-01".into());
    s.data.end = Some("2019-06-30".into());
    s.market.pool.kind = levfarm_sim::scenario::PoolKind::V3;
    s.market.pool.tvl = 20_000_000.0;
    s.position.range = Some(levfarm_sim::scenario::RangeBounds { lower: 0.8, upper: 1.5 });
    s.validate("test").unwrap();
    let bt = Backtest::load(s.clone()).expect("bundled data loads");
    let open = bt.prices.closes[0].0.to::<u128>() as f64 / 1e18;
    let world = World::build(&bt.scenario, bt.prices.closes[0], 86_400).expect("builds");
    let range = levfarm_sim::backtest::opening_range(&world, &s.position).expect("a range");
    // WETH/USDC: the price at a tick is 1.0001^tick · 10^12 dollars.
    let dollars = |tick: i32| 1.0001f64.powi(tick) * 1e12;
    assert!(dollars(range.tick_lower) <= 0.8 * open * 1.000_001, "{range:?} at {open}");
    assert!(
        dollars(range.tick_lower + 60) > 0.8 * open * 0.999_999,
        "snapped outward by less than a spacing"
    );
    assert!(dollars(range.tick_upper) >= 1.5 * open * 0.999_999);
    assert!(dollars(range.tick_upper - 60) < 1.5 * open * 1.000_001);
    let r = backtest::run(&bt.scenario, &bt.prices, Strategy::Leveraged, None).expect("runs");
    assert_eq!(r.pnl.total(), r.final_equity - r.contributed);
    assert!(r.liquidated_at.is_none());
    let text = "[market.pool]\nkind = \"v3\"\n[position]\nrange = { lower = 1.2, upper = 0.9 }\n";
    let e = Scenario::from_toml("s.toml", text).unwrap_err().to_string();
    assert!(e.contains("s.toml:4: position.range: need 1e-6 ≤ lower (1.2) < upper (0.9)"), "{e}");
    let e = Scenario::from_toml("s.toml", "[position]\nrange = { lower = 0.9, upper = 1.2 }\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("position.range: a range needs a v3 pool"), "{e}");
}

/// Hourly closes of the asset and of the stable token, each `(hours, price)` step held.
fn two_histories(
    asset: &[(usize, f64)],
    stable: &[(usize, f64)],
) -> levfarm_sim::data::PriceSeries {
    use levfarm_sim::data::{parse_prices_csv, with_quote, GapPolicy, PriceOptions};
    let csv = |steps: &[(usize, f64)]| {
        let mut text = String::from("unix_s,close\n");
        let mut t = 1_600_000_000 - 1_600_000_000 % 3600;
        for (hours, price) in steps {
            for _ in 0..*hours {
                text.push_str(&format!("{t},{price}\n"));
                t += 3600;
            }
        }
        text
    };
    let options = PriceOptions { gaps: GapPolicy::Error, ..Default::default() };
    let a = parse_prices_csv("asset.csv", &csv(asset), &options).expect("a path");
    let s = parse_prices_csv("stable.csv", &csv(stable), &options).expect("a path");
    with_quote(a, s).expect("one clock")
}

/// 3x long WETH against WBTC: WBTC is the pool's token1 and what the position borrows; no
/// volume, rewards, protection or gas, and other borrowers at 50%.
fn weth_wbtc() -> Scenario {
    let mut s = march_2020();
    s = renamed(s, "WETH", "WBTC");
    s.market.volume = levfarm_sim::scenario::VolumeModel::None;
    s.market.rewards.apr = 0.0;
    s.protection = Default::default();
    s.costs.gas_per_action = 0.0;
    s.keepers.intrabar = false;
    s
}

#[test]
fn a_volatile_stable_token_moves_the_dollars_as_its_price_does() {
    let s = weth_wbtc();
    // Both tokens double together: the pool's price holds, so no impermanent loss and no
    // trade; the position and its debt both double in dollars, and so does its equity.
    let both =
        run_series(&s, &two_histories(&[(3, 200.0), (3, 400.0)], &[(3, 8000.0), (3, 16000.0)]));
    let equity = dollars(both.contributed);
    assert!(dollars(both.pnl.impermanent_loss).abs() < 0.01, "{:?}", both.pnl);
    let doubled = dollars(both.final_equity) / equity;
    assert!((doubled - 2.0).abs() < 0.01, "equity x{doubled}");
    // WBTC alone rises 25%: WETH/WBTC falls to 0.8 of its start. In WBTC, the position's
    // liquidity, worth V after opening, is worth V·√0.8 against its debt D; in dollars, both
    // times 1.25.
    let r = run_series(&s, &two_histories(&[(6, 200.0)], &[(3, 8000.0), (3, 10_000.0)]));
    let first = &r.samples[0];
    let (equity, debt) =
        (dollars(first.equity), first.debt_value.expect("open").to::<u128>() as f64 / 1e18);
    assert!((debt / dollars(r.contributed) - 2.0).abs() < 1e-6, "3x: debt 2E");
    let expected = ((equity + debt) * 0.8f64.sqrt() - debt) * 1.25;
    let got = dollars(r.final_equity);
    // Within 0.1%: six hours of interest, the arbitrage stopping at the edge of the fee band,
    // and the exit valuation's swap at each end. A stable price left unmoved would be 20% off.
    assert!((got / expected - 1.0).abs() < 1e-3, "equity {got}, closed form {expected}");
    assert_eq!(r.pnl.total(), r.final_equity - r.contributed, "the parts add up");
}

fn run_series(s: &Scenario, prices: &levfarm_sim::data::PriceSeries) -> RunResult {
    backtest::run(s, prices, Strategy::Leveraged, None).expect("runs")
}

#[test]
fn a_weth_wbtc_pool_backtests_on_both_bundled_histories() {
    let mut s = weth_wbtc();
    s.data.start = Some("2019-05-01".into());
    s.data.end = Some("2019-07-31".into());
    s.data.stable_prices = Some("bundled:BTCUSD_1h".into());
    s.market.volume = levfarm_sim::scenario::VolumeModel::Turnover { daily: 0.1 };
    s.keepers.intrabar = true;
    let bt = Backtest::load(s).expect("both histories load");
    // Every hour of the window is in both files: 91 days of 24 hours, and the last bar.
    assert_eq!(bt.prices.times.len(), 91 * 24 + 1);
    assert_eq!(bt.prices.quote.len(), bt.prices.times.len());
    let out = bt.run(None).expect("every strategy runs");
    assert_eq!(out.main.pnl.total(), out.main.final_equity - out.main.contributed);
    assert!(out.main.pnl.trading_fees > 0);
    // Holding half WETH and half WBTC: the dollars of each at the window's closes.
    let hold = out.alternatives.iter().find(|a| a.strategy == Strategy::Hold5050).unwrap();
    let (p, q) = (&bt.prices.closes, &bt.prices.quote);
    let last = p.len() - 1;
    let ratio = |v: &[levfarm_core::price::Price]| {
        v[last].0.to::<u128>() as f64 / v[0].0.to::<u128>() as f64
    };
    let expected = 10_000.0 * (ratio(p) + ratio(q)) / 2.0;
    assert!(
        (dollars(hold.final_equity) - expected).abs() < 0.01,
        "{} vs {expected}",
        dollars(hold.final_equity)
    );
}

#[test]
fn two_histories_need_one_clock() {
    use levfarm_sim::data::{parse_prices_csv, with_quote, PriceOptions};
    let hourly =
        parse_prices_csv("a.csv", "unix_s,close\n0,1\n3600,1\n7200,1\n", &PriceOptions::default())
            .unwrap();
    let daily = parse_prices_csv("b.csv", "unix_s,close\n0,1\n86400,1\n", &PriceOptions::default())
        .unwrap();
    let e = with_quote(hourly.clone(), daily).unwrap_err().to_string();
    assert!(e.contains("b.csv") && e.contains("86400 s apart"), "{e}");
    let later =
        parse_prices_csv("c.csv", "unix_s,close\n100000,1\n103600,1\n", &PriceOptions::default())
            .unwrap();
    let e = with_quote(hourly, later).unwrap_err().to_string();
    assert!(e.contains("fewer than 2 bars in common"), "{e}");
}

/// A second pool over the same pair: a 0.05% v3 pool worth $20M beside the main 0.3%
/// constant-product one.
fn with_v3_pool(mut s: Scenario) -> Scenario {
    let v3 = levfarm_sim::scenario::PoolSpec {
        kind: levfarm_sim::scenario::PoolKind::V3,
        fee_bps: 5,
        tvl: 20_000_000.0,
        liquidity_width_ticks: 0,
        pair: None,
    };
    s.market.pools = BTreeMap::from([("uni_v3_005".to_string(), v3)]);
    s
}

#[test]
fn a_pool_beside_the_position_s_changes_nothing_of_it() {
    // The arbitrageur keeps the other pool at the oracle too; the position, its traders, its
    // lenders and its farm are the main pool's, to the unit.
    let alone = run(march_2020());
    let beside = run(with_v3_pool(march_2020()));
    assert_eq!(beside.final_equity, alone.final_equity);
    assert_eq!(beside.pnl, alone.pnl);
    assert_eq!(beside.actions.len(), alone.actions.len());
}

#[test]
fn a_position_opens_on_the_pool_it_names() {
    let mut s = with_v3_pool(march_2020());
    s.position.pool = "uni_v3_005".into();
    s.validate("test").unwrap();
    let bt = Backtest::load(s.clone()).expect("loads");
    let opened = backtest::open_at(&bt.scenario, bt.prices.closes[0], &[], 86_400).expect("opens");
    let position = opened.world.market.positions().find(|p| p.id == opened.position).unwrap();
    assert_eq!(position.pool, "uni_v3_005");
    assert!(position.range.is_some(), "a range on the v3 pool");
    // Both pools sit at the oracle after a bar's move.
    let r = run(s);
    assert_eq!(r.pnl.total(), r.final_equity - r.contributed);
    assert!(r.pnl.trading_fees > 0, "the v3 pool's traders pay the position");
    let e =
        Scenario::from_toml("s.toml", "[position]\npool = \"nowhere\"\n").unwrap_err().to_string();
    assert!(e.contains("position.pool") && e.contains("\"nowhere\" is not a pool"), "{e}");
    let e = Scenario::from_toml("s.toml", "[market.pools.main]\n").unwrap_err().to_string();
    assert!(e.contains("market.pools.main"), "{e}");
    let text = "[market.pools.fast]\nkind = \"v3\"\nfee_bps = 7\n";
    let e = Scenario::from_toml("s.toml", text).unwrap_err().to_string();
    assert!(e.contains("market.pools.fast.fee_bps: 7 is not a v3 fee tier"), "{e}");
}

/// A per-bar volume file for the bars of `prices`: `buy` and `sell` dollars each bar, and their
/// sum as `volume`.
fn bar_volume_file(prices: &levfarm_sim::data::PriceSeries, buy: f64, sell: f64) -> String {
    let path =
        std::env::temp_dir().join(format!("levfarm-bars-{}-{buy}-{sell}.csv", std::process::id()));
    let mut text = String::from("unix_s,volume,buys,sells\n");
    for t in &prices.times {
        text.push_str(&format!("{t},{},{buy},{sell}\n", buy + sell));
    }
    std::fs::write(&path, text).expect("a temporary file");
    path.to_string_lossy().into_owned()
}

fn bars(path: &str, split: bool, net: bool) -> levfarm_sim::scenario::VolumeModel {
    levfarm_sim::scenario::VolumeModel::Bars {
        path: path.into(),
        column: (!split).then(|| "volume".to_string()),
        buy_column: split.then(|| "buys".to_string()),
        sell_column: split.then(|| "sells".to_string()),
        default_daily: 0.0,
        depth_column: None,
        net_arbitrage: net,
    }
}

#[test]
fn volume_per_bar_with_a_direction_and_net_of_the_arbitrage() {
    let mut s = march_2020();
    s.data.start = Some("2019-06-01".into());
    s.data.end = Some("2019-06-15".into());
    s.protection = Default::default();
    let bt = Backtest::load(s.clone()).expect("loads");
    let run_with = |volume| {
        let mut s = s.clone();
        s.market.volume = volume;
        backtest::run(&s, &bt.prices, Strategy::Leveraged, None).expect("runs")
    };
    // $400,000 a bar, whole or as even buys and sells: the same trades, to the unit.
    let even = bar_volume_file(&bt.prices, 200_000.0, 200_000.0);
    let whole = run_with(bars(&even, false, false));
    let split = run_with(bars(&even, true, false));
    assert_eq!(whole.final_equity, split.final_equity);
    assert_eq!(whole.pnl, split.pnl);
    // Taking out the arbitrageur's own flow leaves less for the traders: fewer fees, and never
    // more than the arbitrage paid.
    let net = run_with(bars(&even, true, true));
    assert!(net.pnl.trading_fees < split.pnl.trading_fees, "{:?} vs {:?}", net.pnl, split.pnl);
    assert!(net.pnl.trading_fees > 0);
    // Buys only: the pool's price is pushed up each bar and the next bar's arbitrage sells it
    // back, so the position earns on both; the run's parts still add up to the unit.
    let buys = bar_volume_file(&bt.prices, 400_000.0, 0.0);
    let one_way = run_with(bars(&buys, true, false));
    assert_eq!(one_way.pnl.total(), one_way.final_equity - one_way.contributed);
    assert!(one_way.pnl.trading_fees > 0);
    let e = Scenario::from_toml(
        "s.toml",
        "[market.volume]\nmodel = \"bars\"\npath = \"v.csv\"\nbuy_column = \"b\"\ndefault_daily = 0.1\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("market.volume.column") && e.contains("buy_column"), "{e}");
}

#[test]
fn the_arbitrage_flow_is_what_the_pool_moves_by() {
    // A constant-product pool of value V at price p moved to p·k: a rational arbitrageur
    // trades it to the edge of the fee band, p·k·γ (γ = 0.997), taking x₀(1 − 1/√(kγ)) of
    // the asset out (x₀ = V/2p), worth that times p·k at the oracle.
    let s = march_2020();
    let p = 200.0;
    let mut world = World::build(&s, Price(U256::from(200u64) * WAD), 86_400).expect("builds");
    world.arbitrage_flow = [0.0; 2];
    let k: f64 = 1.01;
    let moved = levfarm_sim::world::price_from_f64(p * k).unwrap();
    world.move_to(3600, moved, None).expect("moves");
    let x0 = s.market.pool.tvl / 2.0 / p;
    let want = x0 * (1.0 - 1.0 / (k * 0.997).sqrt()) * p * k;
    let [bought, sold] = world.arbitrage_flow;
    assert_eq!(sold, 0.0);
    assert!((bought / want - 1.0).abs() < 0.005, "bought {bought}, closed form {want}");
}
