//! Shared helpers for the reference-vector tests.
#![allow(dead_code)]

use std::path::PathBuf;

use levfarm_core::math::U256;
use levfarm_core::{Command, Error, Event, Market};

/// The project's copy of the reference vectors (`vectors/` at the root), or `$LEVFARM_VECTORS`.
pub fn vectors_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("LEVFARM_VECTORS") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../vectors")
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

/// Aave's kinked rate model, optimal use 80%, with a steep 300% second slope, as a
/// `create_lending_pool` fragment.
pub const AAVE_STEEP: &str = r#""rate_model":{"kind":"aave","optimal_usage_ratio_bps":8000,"base_variable_borrow_rate_bps":100,"variable_rate_slope1_bps":400,"variable_rate_slope2_bps":30000}"#;

/// A reward token RWD at 2 and a RWD/USDC pool (50,000 RWD, 100,000 USDC) to sell it into,
/// with 1,000,000 RWD minted to `lp` to fund farms from. Needs USDC.
pub const REWARD_ROUTE: &str = r#"{"op":"create_token","symbol":"RWD","decimals":18}
{"op":"set_price","token":"RWD","price":"2"}
{"op":"mint","to":"lp","token":"RWD","amount":"1050000000000000000000000"}
{"op":"mint","to":"lp","token":"USDC","amount":"100000000000"}
{"op":"create_pool","pool":"RWD-USDC","token0":"RWD","token1":"USDC","fee_bps":30,"leverage":{"work_factor_bps":5000,"kill_factor_bps":6000}}
{"op":"add_liquidity","account":"lp","pool":"RWD-USDC","amount0":"50000000000000000000000","amount1":"100000000000"}"#;

/// Lending pools for USDC and WETH on `rate_model` (a fragment such as [`TRIPLE_SLOPE`]) with
/// the given reserve factor, as a script for [`run`].
pub fn lending_pools(rate_model: &str, reserve_factor_bps: u32) -> String {
    ["USDC", "WETH"]
        .map(|token| {
            format!(
                r#"{{"op":"create_lending_pool","token":"{token}",{rate_model},"reserve_factor_bps":{reserve_factor_bps}}}"#
            )
        })
        .join("\n")
}

/// A 0.3% WETH/USDC v3 pool `pool` at 2000 (tick -200312) with `leverage` rules (a JSON
/// object), and `lp` providing 1,000 WETH and 2,000,000 USDC over the full range and as much
/// again within about ±20% of the price. Needs [`WETH_USDC`].
pub fn v3_eth_usdc(pool: &str, leverage: &str) -> String {
    format!(
        r#"{{"op":"mint","to":"lp","token":"WETH","amount":"2000000000000000000000"}}
{{"op":"mint","to":"lp","token":"USDC","amount":"4000000000000"}}
{{"op":"create_v3_pool","pool":"{pool}","token0":"WETH","token1":"USDC","fee_pips":3000,"sqrt_price_x96":"3543191142285914327220224","leverage":{leverage}}}
{{"op":"v3_mint","account":"lp","pool":"{pool}","tick_lower":-887220,"tick_upper":887220,"amount0":"1000000000000000000000","amount1":"2000000000000"}}
{{"op":"v3_mint","account":"lp","pool":"{pool}","tick_lower":-202320,"tick_upper":-198300,"amount0":"1000000000000000000000","amount1":"2000000000000"}}"#
    )
}

/// WETH/USDC at 2000 with the RWD route, both tokens lendable on the triple-slope model with
/// `reserve_factor_bps`, a 1000 WETH / 2,000,000 USDC constant-product pool `pool` created with
/// `rules` (its `fee_bps` and `leverage` fields, as JSON), a farm on it paying
/// `reward_per_second` raw RWD and funded with 900,000 RWD, a lender and an arbitrageur.
pub fn farm_market(
    pool: &str,
    rules: &str,
    reward_per_second: &str,
    reserve_factor_bps: u32,
) -> Market {
    let mut m = Market::new();
    run(&mut m, WETH_USDC);
    run(&mut m, REWARD_ROUTE);
    run(&mut m, &lending_pools(TRIPLE_SLOPE, reserve_factor_bps));
    run(
        &mut m,
        &format!(
            r#"{{"op":"mint","to":"lp","token":"WETH","amount":"1000000000000000000000"}}
{{"op":"mint","to":"lp","token":"USDC","amount":"2000000000000"}}
{{"op":"create_pool","pool":"{pool}","token0":"WETH","token1":"USDC",{rules}}}
{{"op":"add_liquidity","account":"lp","pool":"{pool}","amount0":"1000000000000000000000","amount1":"2000000000000"}}
{{"op":"create_farm","pool":"{pool}","reward_token":"RWD","reward_per_second":"{reward_per_second}"}}
{{"op":"fund_farm","account":"lp","pool":"{pool}","amount":"900000000000000000000000"}}"#
        ),
    );
    run(&mut m, LENDER_AND_ARB);
    m
}

/// Sets WETH's oracle price (USDC per WETH) and lets the arbitrageur trade `pool` to it.
pub fn move_price(m: &mut Market, pool: &str, price: &str) {
    run(
        m,
        &format!(
            r#"{{"op":"set_price","token":"WETH","price":"{price}"}}
{{"op":"arbitrage","account":"arb","pool":"{pool}"}}"#
        ),
    );
}

/// Mints `usdc` and `weth` (raw units) to each account, as a script for [`run`].
pub fn fund(accounts: &[&str], usdc: &str, weth: &str) -> String {
    accounts
        .iter()
        .map(|a| {
            format!(
                "{{\"op\":\"mint\",\"to\":\"{a}\",\"token\":\"USDC\",\"amount\":\"{usdc}\"}}\n\
                 {{\"op\":\"mint\",\"to\":\"{a}\",\"token\":\"WETH\",\"amount\":\"{weth}\"}}\n"
            )
        })
        .collect()
}

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

/// The id of the position an open reported.
pub fn opened(events: &[Event]) -> u64 {
    events
        .iter()
        .find_map(|e| match e {
            Event::PositionOpened { position, .. } => Some(*position),
            _ => None,
        })
        .expect("an open reports its position")
}

/// The closed-form liquidation prices of position `id` on constant-product pool `pool` of
/// `tokens`: its underlying values and debt values at the oracle, and the pool's kill factor.
pub fn closed_form_for(
    m: &Market,
    id: u64,
    pool: &str,
    tokens: [&str; 2],
) -> levfarm_core::position::liquidation_price::LiquidationPrices {
    use levfarm_core::position::liquidation_price::closed_form;
    use levfarm_core::position::valuation::underlying;
    let position = m.positions().find(|p| p.id == id).unwrap();
    let pool = m.amm_pool(pool).unwrap();
    let [a0, a1] = underlying(&pool.amm, position.lp).unwrap();
    let (q0, q1) = (m.quote(tokens[0]).unwrap(), m.quote(tokens[1]).unwrap());
    let debt = m.position_debt(position).unwrap();
    let values = [q0.value(a0).unwrap(), q1.value(a1).unwrap()];
    let debts = [q0.value_up(debt[0]).unwrap(), q1.value_up(debt[1]).unwrap()];
    closed_form(q0.price_wad, values, debts, pool.leverage.kill_factor_bps.0).unwrap()
}

/// Aave's rate model with a 1% base, 4% and 60% slopes around 80% usage, as JSON fields.
#[allow(dead_code)]
pub const AAVE_MODEL: &str = r#""rate_model":{"kind":"aave","optimal_usage_ratio_bps":8000,"base_variable_borrow_rate_bps":100,"variable_rate_slope1_bps":400,"variable_rate_slope2_bps":6000}"#;

/// WETH (18 decimals) at 2000, USDC (6) at 1; a 1000 WETH / 2,000,000 USDC pool with a 0.3%
/// fee and the leverage rules `leverage` (JSON); lending pools for both with a 10% reserve
/// factor, 1,000,000 USDC to lend, and 10,000 USDC for alice.
#[allow(dead_code)]
pub fn eth_usdc_market_with(leverage: &str) -> Market {
    let mut m = Market::new();
    run(&mut m, WETH_USDC);
    let setup = format!(
        r#"{{"op":"create_lending_pool","token":"USDC",{AAVE_MODEL},"reserve_factor_bps":1000}}
        {{"op":"create_lending_pool","token":"WETH",{AAVE_MODEL},"reserve_factor_bps":1000}}
        {{"op":"mint","to":"lp","token":"WETH","amount":"1000000000000000000000"}}
        {{"op":"mint","to":"lp","token":"USDC","amount":"2000000000000"}}
        {{"op":"create_pool","pool":"ETH-USDC","token0":"WETH","token1":"USDC","fee_bps":30,"leverage":{leverage}}}
        {{"op":"add_liquidity","account":"lp","pool":"ETH-USDC","amount0":"1000000000000000000000","amount1":"2000000000000"}}
        {{"op":"mint","to":"alice","token":"USDC","amount":"10000000000"}}"#
    );
    run(&mut m, &setup);
    run(&mut m, LENDER_AND_ARB);
    m
}
