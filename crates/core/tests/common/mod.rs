//! Shared helpers for the reference-vector tests.
#![allow(dead_code)]

use std::path::PathBuf;

use levfarm_core::math::U256;
use levfarm_core::{Command, Error, Event, Market};

/// `../shared/vectors` beside the project root, or `$LEVFARM_VECTORS`.
pub fn vectors_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("LEVFARM_VECTORS") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors")
}

/// Reads a vector CSV into header-keyed rows.
pub fn csv_rows(relative: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let path = vectors_dir().join(relative);
    let mut reader = csv::Reader::from_path(&path)
        .unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()));
    reader
        .deserialize()
        .map(|row| row.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// Reads a vector JSON file.
pub fn json(relative: &str) -> serde_json::Value {
    let path = vectors_dir().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses a decimal integer string as `U256`.
pub fn u256(text: &str) -> U256 {
    text.trim().parse().unwrap_or_else(|e| panic!("not an integer: {text:?}: {e:?}"))
}

/// WETH (18 decimals) priced at 2000 and USDC (6 decimals) at 1, as a script for [`run`].
pub const WETH_USDC: &str = r#"{"op":"create_token","symbol":"WETH","decimals":18}
{"op":"create_token","symbol":"USDC","decimals":6}
{"op":"set_price","token":"WETH","price":"2000"}
{"op":"set_price","token":"USDC","price":"1"}"#;

/// Alpaca's triple-slope rate model as a `create_lending_pool` fragment.
pub const TRIPLE_SLOPE: &str = r#""rate_model":{"kind":"triple_slope","ceil_slope_1_bps":6000,"ceil_slope_2_bps":9000,"ceil_slope_3_bps":10000,"max_interest_slope_1_bps":2000,"max_interest_slope_2_bps":2000,"max_interest_slope_3_bps":15000}"#;

/// A lender supplying 1,000,000 USDC and 500 WETH, and an arbitrageur holding 100,000 WETH and
/// 100,000,000 USDC to trade pools to the oracle. Needs lending pools for both tokens.
pub const LENDER_AND_ARB: &str = r#"{"op":"mint","to":"lender","token":"USDC","amount":"1000000000000"}
{"op":"supply","account":"lender","token":"USDC","amount":"1000000000000"}
{"op":"mint","to":"lender","token":"WETH","amount":"500000000000000000000"}
{"op":"supply","account":"lender","token":"WETH","amount":"500000000000000000000"}
{"op":"mint","to":"arb","token":"WETH","amount":"100000000000000000000000"}
{"op":"mint","to":"arb","token":"USDC","amount":"100000000000000"}"#;

/// Parses one JSON command line.
pub fn cmd(line: &str) -> Command {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// Applies one JSON command line.
pub fn apply(market: &mut Market, line: &str) -> Result<Vec<Event>, Error> {
    market.apply(&cmd(line))
}

/// Applies every non-blank line, panicking on the first refusal.
pub fn run(market: &mut Market, script: &str) {
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        apply(market, line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
}

/// Every minted unit of every token is somewhere: balances, lending cash, pools, farms.
pub fn assert_conserved(m: &Market) {
    for token in m.token_symbols().cloned().collect::<Vec<_>>() {
        let totals = m.totals(&token);
        assert!(totals.balanced(), "{totals:?}");
    }
}
