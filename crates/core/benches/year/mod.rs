//! The fixture of the one-year benchmark, shared by `benches/engine.rs` and
//! `examples/year_profile.rs`: the bundled example market with its 3x long open, the hourly
//! ETH/USD closes of 2022 (`data/`, bundled), and the step loop. Each hour the time advances,
//! the oracle moves, an arbitrageur trades the pool to it, the lending pools accrue, and the
//! position's health is checked.

use levfarm_core::price::Price;
use levfarm_core::{Command, Market};

pub fn cmd(line: &str) -> Command {
    Command::from_json_line(line).unwrap_or_else(|e| panic!("{line}: {e:?}"))
}
/// A WETH/USDC market with a 3x long position (id 1) open and an arbitrageur with deep pockets.
pub fn market() -> Market {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/leveraged_farm.jsonl");
    let script = std::fs::read_to_string(path).expect("the bundled example");
    let mut m = Market::new();
    for line in script.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        if line.contains("advance_time") {
            break;
        }
        m.apply(&cmd(line)).expect(line);
    }
    m
}

/// Hourly closes of 2022 from the bundled Bitfinex file.
pub fn closes_2022() -> Vec<Price> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/ETHUSD_1h_bitfinex_clean.csv");
    let text = std::fs::read_to_string(path).expect("bundled ETH/USD history");
    text.lines()
        .filter(|l| l.split(',').nth(1).is_some_and(|d| d.starts_with("2022")))
        .map(|l| Price::parse(l.split(',').nth(5).unwrap()).expect("close price"))
        .collect()
}

pub fn year_of_hourly_steps(m: &mut Market, closes: &[Price]) -> u64 {
    let mut hour = Hour::new();
    let mut worst = 0;
    for close in closes {
        hour.step(m, *close);
        worst = worst.max(m.position_health(1).unwrap().debt_ratio_bps);
    }
    worst
}

/// One hour of the market, with a driver's one event buffer drained every step: time, the
/// oracle, an arbitrageur trading the pool to it, accrual.
pub struct Hour {
    advance: Command,
    arbitrage: Command,
    accrue: Command,
    events: Vec<levfarm_core::Event>,
}

impl Hour {
    pub fn new() -> Self {
        Self {
            advance: Command::AdvanceTime { seconds: 3600 },
            arbitrage: cmd(r#"{"op":"arbitrage","account":"arb","pool":"ETH-USDC"}"#),
            accrue: Command::Accrue {},
            events: Vec::new(),
        }
    }

    pub fn step(&mut self, m: &mut Market, close: Price) {
        self.events.clear();
        m.apply_into(&self.advance, &mut self.events).unwrap();
        let set_price = Command::SetPrice { token: "WETH".into(), price: close };
        m.apply_into(&set_price, &mut self.events).unwrap();
        m.apply_into(&self.arbitrage, &mut self.events).unwrap();
        m.apply_into(&self.accrue, &mut self.events).unwrap();
    }
}

/// A WETH/USDC 0.3% Uniswap v3 pool at the first close of 2022 (3723, tick -194098) with
/// 1,000 WETH and 3,723,000 USDC over the full range and as much again within about ±20%, and
/// a 2x range position (id 1) close to neutral: 10,000 USDC of equity, 5,000 USDC and
/// 1.343 WETH (5,000 USDC) borrowed, over [-196800, -191400), about ±13% around the price.
pub fn range_market() -> Market {
    let model = r#""rate_model":{"kind":"triple_slope","ceil_slope_1_bps":6000,"ceil_slope_2_bps":9000,"ceil_slope_3_bps":10000,"max_interest_slope_1_bps":2000,"max_interest_slope_2_bps":2000,"max_interest_slope_3_bps":15000}"#;
    let script = format!(
        r#"{{"op":"create_token","symbol":"WETH","decimals":18}}
        {{"op":"create_token","symbol":"USDC","decimals":6}}
        {{"op":"set_price","token":"WETH","price":"3723"}}
        {{"op":"set_price","token":"USDC","price":"1"}}
        {{"op":"create_lending_pool","token":"USDC",{model},"reserve_factor_bps":1900}}
        {{"op":"create_lending_pool","token":"WETH",{model},"reserve_factor_bps":1900}}
        {{"op":"mint","to":"lender","token":"WETH","amount":"1000000000000000000000"}}
        {{"op":"supply","account":"lender","token":"WETH","amount":"1000000000000000000000"}}
        {{"op":"mint","to":"lender","token":"USDC","amount":"500000000000"}}
        {{"op":"supply","account":"lender","token":"USDC","amount":"500000000000"}}
        {{"op":"mint","to":"lp","token":"WETH","amount":"2000000000000000000000"}}
        {{"op":"mint","to":"lp","token":"USDC","amount":"7446000000000"}}
        {{"op":"create_v3_pool","pool":"ETH-USDC","token0":"WETH","token1":"USDC","fee_pips":3000,"tick":-194098,"leverage":{{"work_factor_bps":7000,"kill_factor_bps":8333,"kill_prize_bps":100,"kill_treasury_bps":400}}}}
        {{"op":"v3_mint","account":"lp","pool":"ETH-USDC","tick_lower":-887220,"tick_upper":887220,"amount0":"1000000000000000000000","amount1":"3723000000000"}}
        {{"op":"v3_mint","account":"lp","pool":"ETH-USDC","tick_lower":-196080,"tick_upper":-192060,"amount0":"1000000000000000000000","amount1":"3723000000000"}}
        {{"op":"mint","to":"arb","token":"WETH","amount":"100000000000000000000000"}}
        {{"op":"mint","to":"arb","token":"USDC","amount":"500000000000000"}}
        {{"op":"mint","to":"alice","token":"USDC","amount":"10000000000"}}
        {{"op":"open_range_position","owner":"alice","pool":"ETH-USDC","tick_lower":-196800,"tick_upper":-191400,"equity1":"10000000000","borrow0":"1343000000000000000","borrow1":"5000000000"}}"#
    );
    let mut m = Market::new();
    for line in script.lines() {
        m.apply(&cmd(line.trim())).expect(line);
    }
    m
}

/// [`year_of_hourly_steps`] for the range position, with the keepers a range strategy needs:
/// re-centred (same width, around the pool's tick) whenever the price has left its range, as
/// Demeter's strategy does, and liquidated if it ever passes the kill factor. Returns the worst
/// debt ratio, the number of re-centrings, and whether it was liquidated.
pub fn range_year_of_hourly_steps(m: &mut Market, closes: &[Price]) -> (u64, u32, bool) {
    let recenter = cmd(r#"{"op":"recenter_position","caller":"alice","position":1}"#);
    let liquidate = cmd(r#"{"op":"liquidate","liquidator":"keeper","position":1}"#);
    let mut hour = Hour::new();
    let (mut worst, mut recentred, mut liquidated) = (0, 0, false);
    for close in closes {
        hour.step(m, *close);
        if liquidated {
            continue;
        }
        let health = m.position_health(1).unwrap();
        worst = worst.max(health.debt_ratio_bps);
        if !health.within(8333).unwrap() {
            m.apply_into(&liquidate, &mut hour.events).unwrap();
            liquidated = true;
            continue;
        }
        let range = m.positions().next().and_then(|p| p.range).expect("a range position");
        let tick = m.v3_amm_pool("ETH-USDC").unwrap().pool.tick;
        if !range.contains(tick) && m.apply_into(&recenter, &mut hour.events).is_ok() {
            recentred += 1;
        }
    }
    (worst, recentred, liquidated)
}
