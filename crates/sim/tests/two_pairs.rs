//! A market of pools over different pairs: ETH/USDC beside WBTC/USDC, each token on its own
//! history. A position on the second pair runs exactly as it would in a market of that pair
//! alone, the arbitrageur keeps each pool at its own tokens' prices, and a pair whose tokens
//! cannot be priced is refused at its key.

use levfarm_core::math::{U256, WAD};
use levfarm_core::price::Price;
use levfarm_sim::backtest::{self, RunResult, Strategy};
use levfarm_sim::world::World;
use levfarm_sim::{Backtest, Scenario};

/// A 3x short of WBTC against USDC in mid-2019 (BTC ran from 5,300 to over 12,000, so it
/// deleverages): USDC and WBTC lent on Aave v3's default curves, other borrowers at half of
/// each pool. `data` and `market` say where WBTC's history and pool are, `lent` what else is
/// lent, `pool` the position's pool.
fn btc_short(name: &str, data: &str, market: &str, lent: &str, pool: &str) -> Scenario {
    let text = format!(
        r#"
[data]
start = "2019-05-01"
end = "2019-07-31"
{data}

{market}

[market.lending]
USDC = {{}}
WBTC = {{ supply = 20000000.0 }}
{lent}

[market.utilization]
model = "constant"
value = 0.5

[position]
borrow = "asset"
pool = "{pool}"

[protection]
deleverage = {{ trigger = 0.78, target = 0.6 }}
"#
    );
    Scenario::from_toml(name, &text).expect("a valid scenario")
}

/// WBTC/USDC alone: the main pool over the bundled BTC history.
fn btc_alone() -> Scenario {
    let market = "[market]\nasset = \"WBTC\"\nstable = \"USDC\"\npool = { tvl = 40000000.0 }";
    btc_short("btc_alone.toml", "prices = \"bundled:BTCUSD_1h\"", market, "", "main")
}

/// The default ETH/USDC market with a WBTC/USDC pool beside it, the same short on that pool.
fn beside_eth() -> Scenario {
    let data = "tokens = { WBTC = { prices = \"bundled:BTCUSD_1h\" } }";
    let market = "[market.pools.btc]\npair = [\"WBTC\", \"USDC\"]\ntvl = 40000000.0";
    btc_short("beside_eth.toml", data, market, "WETH = {}", "btc")
}

fn run(s: Scenario) -> (RunResult, Backtest) {
    let bt = Backtest::load(s).expect("the bundled histories load");
    let r = backtest::run(&bt.scenario, &bt.prices, Strategy::Leveraged, None).expect("runs");
    (r, bt)
}

#[test]
fn a_position_on_a_second_pair_runs_as_in_a_market_of_that_pair_alone() {
    let (alone, alone_bt) = run(btc_alone());
    let (beside, bt) = run(beside_eth());
    // The run's clock and prices are WBTC's, and ETH's closes ride beside them.
    assert_eq!(bt.scenario.pair(), ["WBTC", "USDC"]);
    assert_eq!(bt.prices.closes, alone_bt.prices.closes, "WBTC's closes are the run's");
    assert_eq!(bt.prices.times.len(), 91 * 24 + 1);
    let (token, eth) = &bt.prices.others[0];
    assert_eq!((token.as_str(), eth.len()), ("WETH", bt.prices.times.len()));
    // ETH was about $160 on 2019-05-01, BTC about $5,300.
    let first = |p: Price| p.0.to::<u128>() as f64 / 1e18;
    assert!((120.0..220.0).contains(&first(eth[0])), "ETH {}", first(eth[0]));
    assert!((4_000.0..7_000.0).contains(&first(bt.prices.closes[0])));
    // The other pair's pool, lending pool and price change nothing of the position's, to
    // the unit: the same equity curve, the same actions at the same bars.
    assert!(alone.actions.len() > 1, "the window deleverages: {:?}", alone.actions);
    let acts = |r: &RunResult| {
        r.actions.iter().map(|a| (a.time, a.kind.as_str().to_string())).collect::<Vec<_>>()
    };
    assert_eq!(acts(&beside), acts(&alone));
    assert_eq!(beside.final_equity, alone.final_equity);
    assert_eq!(beside.pnl.total(), alone.pnl.total());
    let curve = |r: &RunResult| r.samples.iter().map(|s| s.equity).collect::<Vec<_>>();
    assert_eq!(curve(&beside), curve(&alone));
}

#[test]
fn the_arbitrageur_keeps_each_pool_at_its_own_tokens_prices() {
    let s = beside_eth();
    let usd = |v: u64| Price(U256::from(v) * WAD);
    // WBTC (the run's asset) at 8,000, WETH (the other pair's) at 200.
    let mut world = World::build_priced(&s, usd(8_000), usd(1), &[usd(200)], 86_400)
        .expect("builds with both prices");
    assert_eq!(world.others, ["WETH".into()] as [levfarm_core::types::Name; 1]);
    // ETH falls 10% and BTC rises 5% in an hour.
    world.set_other_prices(&[usd(180)]).expect("WETH's price");
    world.move_to(3600, usd(8_400), None).expect("moves");
    // Each pool's price, token1 per token0 in whole units.
    let price = |id: &str| {
        let entry = world.market.amm_pool(id).expect("a pool");
        let p = &entry.amm;
        let (t0, t1) = (world.market.token_decimals(&entry.token0).unwrap(), 6u8);
        let whole = |raw: U256, d: u8| raw.to::<u128>() as f64 / 10f64.powi(i32::from(d));
        whole(p.reserve1, t1) / whole(p.reserve0, t0)
    };
    // Arbitrage stops at the edge of the 0.3% fee band around each pool's own oracle price.
    let (eth, btc) = (price(levfarm_sim::world::POOL), price("btc"));
    assert!((eth / 180.0 - 1.0).abs() < 0.0031, "ETH/USDC at {eth}");
    assert!((btc / 8_400.0 - 1.0).abs() < 0.0031, "WBTC/USDC at {btc}");
    // Without WETH's price the market cannot be built: it is never assumed.
    let e = World::build(&s, usd(8_000), 86_400).unwrap_err().to_string();
    assert!(e.contains("WETH"), "{e}");
}

fn refusal(text: &str) -> String {
    match Scenario::from_toml("pairs.toml", text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_pair_that_cannot_be_priced_is_refused_at_its_key() {
    let e = refusal("[market.pools.btc]\npair = [\"WBTC\", \"USDC\"]\n");
    assert!(e.contains("market.pools.btc.pair") && e.contains("[data.tokens.WBTC]"), "{e}");
    // The stable token is priced at 1: it goes second.
    let e = refusal("[market.pools.inv]\npair = [\"USDC\", \"WETH\"]\n");
    assert!(e.contains("market.pools.inv.pair") && e.contains(r#"["WETH", "USDC"]"#), "{e}");
    let e = refusal("[market.pools.x]\npair = [\"WETH\", \"WETH\"]\n");
    assert!(e.contains("market.pools.x.pair") && e.contains("differ"), "{e}");
    let e = refusal("[market.pools.x]\npair = [\"FARM\", \"USDC\"]\n");
    assert!(e.contains("reward token"), "{e}");
    let e = refusal("[market.pools.x]\npair = [\"XYZ\", \"USDC\"]\n");
    assert!(e.contains("market.tokens.XYZ") && e.contains("declare its decimals"), "{e}");
    let e = refusal("[market.pool]\npair = [\"WBTC\", \"USDC\"]\n");
    assert!(e.contains("market.pool.pair") && e.contains("[market.pools]"), "{e}");
    // A history must belong to a pool's token, and the asset's is data.prices.
    let e = refusal("[data.tokens.WBTC]\nprices = \"bundled:BTCUSD_1h\"\n");
    assert!(e.contains("data.tokens.WBTC") && e.contains("in no pool"), "{e}");
    let e = refusal("[data.tokens.WETH]\nprices = \"bundled:ETHUSD_1h\"\n");
    assert!(e.contains("data.prices"), "{e}");
    // Lending is for the pools' tokens: WBTC once a pool holds it, not before.
    let lend = "[market.lending]\nUSDC = {}\nWBTC = {}\n";
    let e = refusal(lend);
    assert!(e.contains("market.lending.WBTC") && e.contains("WETH, USDC"), "{e}");
    let with_pool = format!(
        "[data.tokens.WBTC]\nprices = \"bundled:BTCUSD_1h\"\n[market.pools.btc]\npair = \
         [\"WBTC\", \"USDC\"]\n{lend}"
    );
    Scenario::from_toml("pairs.toml", &with_pool).expect("WBTC is a pool's token now");
    // Borrowing on the position's pair: a short of WBTC needs WBTC lent at its venue.
    let short = "[data.tokens.WBTC]\nprices = \"bundled:BTCUSD_1h\"\n[market.pools.btc]\npair = \
                 [\"WBTC\", \"USDC\"]\n[position]\npool = \"btc\"\nborrow = \"asset\"\n";
    let e = refusal(short);
    assert!(e.contains("borrows WBTC"), "{e}");
}

#[test]
fn every_history_runs_on_one_clock() {
    // BTC's bundled file ends on 2019-10-17; ETH's runs to 2023: the window is the common one.
    let mut s = beside_eth();
    s.data.start = Some("2019-10-01".into());
    s.data.end = Some("2019-12-31".into());
    let bt = Backtest::load(s).expect("loads");
    let last = bt.prices.times[bt.prices.times.len() - 1];
    assert!(levfarm_sim::data::iso(last).starts_with("2019-10-17"), "{}", bt.prices.source);
    assert!(bt.prices.source.contains("ETHUSD") && bt.prices.source.contains("BTCUSD"));
    // A hole in one history inside the common span is named with the file that lacks it.
    use levfarm_sim::data::{on_one_clock, parse_prices_csv, PriceOptions};
    let opts = PriceOptions::default();
    let a = parse_prices_csv("a.csv", "unix_s,close\n0,1\n3600,1\n7200,1\n10800,1\n", &opts)
        .expect("hourly");
    let b = parse_prices_csv(
        "b.csv",
        "unix_s,close\n0,2\n3600,2\n7200,2\n10800,2\n",
        &PriceOptions { gaps: levfarm_sim::data::GapPolicy::Fill, ..opts.clone() },
    )
    .expect("hourly");
    let mut holed = b.clone();
    holed.source = "c.csv".into();
    holed.times.remove(1);
    holed.closes.remove(1);
    let aligned = on_one_clock(a.clone(), None, vec![("B".into(), b)]).expect("one clock");
    assert_eq!(aligned.others[0].1.len(), 4);
    // A gap filled in a history beside the main one is the run's, and its notes count it.
    let gappy = parse_prices_csv(
        "g.csv",
        "unix_s,close\n0,2\n3600,2\n10800,2\n",
        &PriceOptions { gaps: levfarm_sim::data::GapPolicy::Fill, ..opts.clone() },
    )
    .expect("filled");
    let aligned = on_one_clock(a.clone(), None, vec![("G".into(), gappy)]).expect("one clock");
    assert_eq!((aligned.filled, aligned.gaps.len()), (1, 1));
    let e = on_one_clock(a, None, vec![("C".into(), holed)]).unwrap_err().to_string();
    assert!(e.contains("c.csv") && e.contains("1970-01-01T01:00"), "{e}");
}

#[test]
fn a_sweep_that_would_price_another_pair_is_refused() {
    // The histories are loaded once, for the base scenario's pair: a sweep to a pool over
    // another pair would run on the wrong prices, so it is refused by the value that does it.
    let grid = [("position.pool".to_string(), vec!["btc".to_string(), "main".to_string()])];
    let Err(e) = levfarm_sim::run::combinations(&beside_eth(), &grid) else {
        panic!("a sweep across pairs was accepted")
    };
    let e = e.to_string();
    assert!(e.contains("position.pool=main") && e.contains("WBTC/USDC"), "{e}");
    // Within the pair it runs.
    let leverage = [("position.leverage".to_string(), vec!["2".to_string(), "3".to_string()])];
    assert_eq!(levfarm_sim::run::combinations(&beside_eth(), &leverage).expect("runs").len(), 2);
    // A run handed another scenario's prices is refused, not run on them.
    let bt = Backtest::load(beside_eth()).expect("loads");
    let mut eth = bt.scenario.clone();
    eth.position.pool = "main".into();
    let Err(e) = backtest::run(&eth, &bt.prices, Strategy::Leveraged, None) else {
        panic!("ran on another pair's prices")
    };
    assert!(e.to_string().contains("WBTC"), "{e}");
}

#[test]
fn per_bar_utilization_names_lent_tokens() {
    let e = refusal(
        "[market.utilization]\nmodel = \"bars\"\npath = \"u.csv\"\ncolumns = { USCD = \"u\" }\n",
    );
    assert!(e.contains("market.utilization.columns.USCD") && e.contains("USDC, WETH"), "{e}");
    let e = refusal("[market.utilization]\nmodel = \"bars\"\npath = \"u.csv\"\ncolumns = {}\n");
    assert!(e.contains("market.utilization.columns"), "{e}");
}

#[test]
fn a_lending_pool_left_bare_takes_aave_v3s_curve_for_its_kind_of_token() {
    use levfarm_sim::scenario::default_rate_model;
    let s = beside_eth();
    let (usdc, wbtc) = (&s.market.lending["USDC"], &s.market.lending["WBTC"]);
    // The stable curve for USDC, the default market's own pools' curves for both.
    let default = Scenario::default().market.lending;
    assert_eq!(usdc.rate_model_for("USDC"), default["USDC"].rate_model_for("USDC"));
    assert_eq!(wbtc.rate_model_for("WBTC"), default["WETH"].rate_model_for("WETH"));
    assert_eq!((usdc.supply, wbtc.supply), (50_000_000.0, 20_000_000.0));
    // Aave v3's published USDC and WETH parameters: 90% / 4% / 60% and 80% / 3.3% / 80%.
    let json = |token: &str| serde_json::to_value(default_rate_model(token)).unwrap();
    assert_eq!(json("DAI")["optimal_usage_ratio_bps"], 9000);
    assert_eq!(json("DAI")["variable_rate_slope2_bps"], 6000);
    assert_eq!(json("WBTC")["variable_rate_slope1_bps"], 330);
    assert_eq!(json("WBTC")["variable_rate_slope2_bps"], 8000);
    // A bare pool is still checked: a model given is validated as before.
    let e = refusal(
        "[market.lending]\nUSDC = { rate_model = { kind = \"aave\", optimal_usage_ratio_bps = 0, \
         base_variable_borrow_rate_bps = 0, variable_rate_slope1_bps = 0, \
         variable_rate_slope2_bps = 0 } }\nWETH = {}\n",
    );
    assert!(e.contains("market.lending.USDC.rate_model"), "{e}");
}
