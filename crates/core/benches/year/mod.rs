//! The fixture of the one-year benchmark, shared by `benches/engine.rs` and
//! `examples/year_profile.rs`: the bundled example market with its 3x long open, the hourly
//! ETH/USD closes of 2022 (`../shared/data`), and the step loop. Each hour the time advances,
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
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/ETHUSD_1h_bitfinex_clean.csv");
    let text = std::fs::read_to_string(path).expect("bundled ETH/USD history");
    text.lines()
        .filter(|l| l.split(',').nth(1).is_some_and(|d| d.starts_with("2022")))
        .map(|l| Price::parse(l.split(',').nth(5).unwrap()).expect("close price"))
        .collect()
}

pub fn year_of_hourly_steps(m: &mut Market, closes: &[Price]) -> u64 {
    let advance = Command::AdvanceTime { seconds: 3600 };
    let arbitrage = cmd(r#"{"op":"arbitrage","account":"arb","pool":"ETH-USDC"}"#);
    let accrue = Command::Accrue {};
    let mut worst = 0;
    // A driver's one event buffer, drained every step.
    let mut events = Vec::new();
    for close in closes {
        events.clear();
        m.apply_into(&advance, &mut events).unwrap();
        m.apply_into(&Command::SetPrice { token: "WETH".into(), price: *close }, &mut events)
            .unwrap();
        m.apply_into(&arbitrage, &mut events).unwrap();
        m.apply_into(&accrue, &mut events).unwrap();
        worst = worst.max(m.position_health(1).unwrap().debt_ratio_bps);
    }
    worst
}
