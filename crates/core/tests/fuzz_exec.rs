//! Fuzzing the engine's language-neutral entry: generated JSON lines, most of them wrong in
//! some way (unknown ops, missing, repeated and mistyped fields, empty and control-character
//! names, amounts from 0 to 2^256 and beyond, floats, negatives, nesting, plain garbage),
//! parsed as `levfarm exec` parses them and applied to a market that has tokens, pools,
//! lending and positions. Checked on every line:
//!
//! - nothing panics;
//! - a line that does not parse names a field (or `.` or `op`) and says why, on one line;
//! - a refused command changes nothing, and says why on one line;
//! - an accepted one leaves every token accounted for.
//!
//! Bounded for CI by the case count below; `PROPTEST_CASES` raises it for a longer campaign.

mod common;

use common::{fund, run};
use levfarm_core::{Command, Market};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const OPS: &[&str] = &[
    "create_token",
    "mint",
    "transfer",
    "set_price",
    "advance_time",
    "accrue",
    "create_lending_pool",
    "supply",
    "withdraw",
    "borrow",
    "repay",
    "liquidate_account",
    "create_pool",
    "add_liquidity",
    "remove_liquidity",
    "swap",
    "arbitrage",
    "create_farm",
    "fund_farm",
    "stake",
    "unstake",
    "harvest",
    "open_position",
    "open_range_position",
    "recenter_position",
    "collect_position",
    "add_collateral",
    "close_position",
    "reinvest",
    "liquidate",
    "inspect_position",
    "create_v3_pool",
    "v3_mint",
    "v3_swap",
    "borrow_more",
    "place_order",
    "cancel_order",
    "run_keepers",
    "run_order",
    "nonsense",
    "",
];

const FIELDS: &[&str] = &[
    "op",
    "to",
    "from",
    "token",
    "amount",
    "account",
    "pool",
    "owner",
    "caller",
    "liquidator",
    "position",
    "seconds",
    "price",
    "decimals",
    "symbol",
    "token0",
    "token1",
    "fee_bps",
    "equity0",
    "equity1",
    "borrow0",
    "borrow1",
    "amount0",
    "amount1",
    "lp",
    "mode",
    "rate_model",
    "leverage",
    "reward_token",
    "reward_per_second",
    "tick_lower",
    "tick_upper",
    "min_amount_out",
    "max_repay1",
    "reserve_factor_bps",
    "kind",
    "order",
    "keeper",
    "trigger",
    "trigger_bps",
    "target_bps",
    "x",
];

/// A market with WETH/USDC (and a reward route), lending for both, a pool with a farm, and
/// two users with positions.
fn base() -> Market {
    let rules = r#""fee_bps":30,"leverage":{"work_factor_bps":7500,"kill_factor_bps":8500}"#;
    let mut m = common::farm_market("P", rules, "1000000000000000", 1000);
    run(&mut m, &fund(&["ann", "ben"], "50000000000", "20000000000000000000"));
    run(
        &mut m,
        r#"{"op":"open_position","owner":"ann","pool":"P","equity1":"1000000000","borrow1":"2000000000"}
{"op":"open_position","owner":"ben","pool":"P","equity0":"1000000000000000000","borrow1":"1000000000"}"#,
    );
    m
}

/// A JSON value of any kind, leaning to the ones that break parsers and arithmetic.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => prop::sample::select(vec!["ann", "ben", "lp", "arb", "WETH", "USDC", "RWD", "P", "P2", "0", "1", "1000000", "2000.5", "oracle", "exit", "stop_loss", "compound", "deleverage", "trailing_stop"]).prop_map(|s| json!(s)),
        2 => prop::sample::select(vec![
            "".to_string(), " ".into(), "a\nb".into(), "\u{0}".into(), "\u{1b}[31m".into(),
            "é∑😀".into(), "x".repeat(200), "9".repeat(100), "-1".into(), "1e18".into(),
            "0x10".into(), "1.5".into(), "115792089237316195423570985008687907853269984665640564039457584007913129639936".into(),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935".into(),
            "NaN".into(), "inf".into(),
        ]).prop_map(Value::String),
        3 => prop_oneof![Just(0u64), Just(1), Just(u64::MAX), 0u64..10_000_000_000].prop_map(|n| json!(n)),
        1 => prop_oneof![Just(-1i64), Just(i64::MIN)].prop_map(|n| json!(n)),
        1 => prop_oneof![Just(1e300f64), Just(0.5), Just(-0.0)].prop_map(|f| json!(f)),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS.to_vec()), inner), 0..4).prop_map(
                |kv| Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>()
                )
            ),
        ]
    })
}

/// One script line: a command-shaped object (sometimes with a repeated key), or garbage.
fn line() -> impl Strategy<Value = String> {
    let object = (
        prop::sample::select(OPS.to_vec()),
        prop::collection::vec((prop::sample::select(FIELDS.to_vec()), value()), 0..7),
        any::<bool>(),
    )
        .prop_map(|(op, fields, repeat)| {
            let mut parts = vec![format!("\"op\":{}", json!(op))];
            for (k, v) in &fields {
                parts.push(format!("{}:{v}", json!(k)));
            }
            if repeat {
                if let Some((k, _)) = fields.first() {
                    parts.push(format!("{}:\"again\"", json!(k)));
                }
            }
            format!("{{{}}}", parts.join(","))
        });
    prop_oneof![
        8 => object,
        1 => "[ -~]{0,40}",
        1 => prop::sample::select(vec!["{", "[]", "null", "{\"op\":1}", "\u{feff}{}", "{\"op\":\"mint\"}}"]).prop_map(String::from),
    ]
}

fn one_line(text: &str) -> bool {
    !text.chars().any(|c| c == '\n' || c == '\r')
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_exec_lines_are_refused_located_or_applied_cleanly(lines in prop::collection::vec(line(), 1..24)) {
        let mut m = base();
        for text in &lines {
            match Command::from_json_line(text) {
                Err(e) => {
                    prop_assert!(!e.field.is_empty(), "{text}: no field in {e:?}");
                    prop_assert!(!e.message.is_empty() && one_line(&e.message), "{text}: {e:?}");
                }
                Ok(command) => {
                    let before = m.clone();
                    match m.apply(&command) {
                        Err(e) => {
                            prop_assert!(m == before, "{text}: refused ({e}) but changed the market");
                            prop_assert!(!e.kind().is_empty());
                            prop_assert!(one_line(&e.to_string()), "{text}: {e}");
                        }
                        Ok(_) => {
                            for token in m.token_symbols().cloned().collect::<Vec<_>>() {
                                let totals = m.totals(&token);
                                prop_assert!(totals.balanced(), "{text}: {token} {totals:?}");
                            }
                        }
                    }
                }
            }
        }
    }
}
