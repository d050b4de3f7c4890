//! Fuzzing the HTTP API: generated bodies (fields from the API's own vocabulary, values of
//! every type and size, repeated keys, garbage) sent to every route that takes one, as a
//! user, the oracle and the admin, against a live service with a position. Checked: no
//! answer is a 5xx; every refusal is the JSON error shape with a kind and a one-line
//! message (and a field for a 400); a refused request stores nothing.
//!
//! Bounded for CI by the case count; `PROPTEST_CASES` raises it.

mod support;

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use serde_json::{json, Value};
use support::Harness;

const ROUTES: &[(&str, &str, usize)] = &[
    ("POST", "/v1/fund", 0),
    ("POST", "/v1/supply", 0),
    ("POST", "/v1/withdraw", 0),
    ("POST", "/v1/quote", 0),
    ("POST", "/v1/positions", 0),
    ("POST", "/v1/positions/1/collateral", 0),
    ("POST", "/v1/positions/1/reduce", 0),
    ("POST", "/v1/positions/1/leverage", 0),
    ("POST", "/v1/orders", 0),
    ("PUT", "/v1/alerts/settings", 0),
    ("POST", "/v1/tokens", 0),
    ("POST", "/v1/accounts", 0),
    ("POST", "/v1/oracle/price", 1),
    ("PUT", "/v1/admin/market", 2),
    ("PUT", "/v1/admin/feed", 2),
    ("POST", "/v1/admin/accounts", 2),
];

const FIELDS: &[&str] = &[
    "token",
    "amount",
    "equity0",
    "equity1",
    "leverage",
    "borrow",
    "range_width_ticks",
    "position",
    "order",
    "kind",
    "trigger",
    "below",
    "above",
    "target_bps",
    "trigger_bps",
    "reserve",
    "share_bps",
    "leverage_bps",
    "amount0",
    "amount1",
    "debt_ratio_bps",
    "distance_bps",
    "webhook",
    "label",
    "name",
    "role",
    "price",
    "time",
    "opening_halted",
    "max_leverage_bps",
    "stale_after_secs",
    "fund_limit_whole",
    "max_future_secs",
    "speed",
    "url",
    "pointer",
    "interval_ms",
    "x",
];

/// The service, and the tokens of a user with a position, the oracle and the admin.
fn world() -> &'static (tokio::runtime::Runtime, Harness, [String; 3]) {
    static WORLD: OnceLock<(tokio::runtime::Runtime, Harness, [String; 3])> = OnceLock::new();
    WORLD.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().expect("a runtime");
        let (h, alice) = rt.block_on(async {
            // No rate limit in the way: every generated request reaches its handler.
            let limits = levfarm_server::api::Limits {
                per_second: std::num::NonZeroU32::new(1_000_000).unwrap(),
                burst: std::num::NonZeroU32::new(1_000_000).unwrap(),
                open_signup: true,
            };
            let h = Harness::with_limits(limits).await;
            let (_, alice) = h.user("alice").await;
            h.price("730", 3600).await;
            h.open(&alice).await;
            (h, alice)
        });
        let tokens = [alice, h.oracle.clone(), h.admin.clone()];
        (rt, h, tokens)
    })
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        3 => prop::sample::select(vec![
            "USDC", "WETH", "1", "0", "3", "2.5", "1000000000", "stop_loss", "top_up", "deleverage",
            "take_profit", "rebalance", "stable", "asset", "both", "user", "admin", "push", "replay",
            "poll", "/price", "http://127.0.0.1:1/x", "", "a\nb", "\u{0}", "-1", "1e400",
            "99999999999999999999999999999999999999999999999999999999999999999999999999999999",
        ]).prop_map(|s| json!(s)),
        2 => prop_oneof![Just(0i64), Just(1), Just(-1), Just(i64::MAX), Just(i64::MIN), 0i64..2_000_000_000].prop_map(|n| json!(n)),
        1 => Just(json!(u64::MAX)),
        1 => Just(json!(1e300)),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop::collection::vec((prop::sample::select(FIELDS.to_vec()), inner), 0..4)
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
    })
}

/// A body: an object of API fields (maybe with a key repeated), or something else.
fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (prop::collection::vec((prop::sample::select(FIELDS.to_vec()), value()), 0..5), any::<bool>())
            .prop_map(|(kv, repeat)| {
                let mut parts: Vec<String> = kv.iter().map(|(k, v)| format!("{}:{v}", json!(k))).collect();
                if repeat {
                    if let Some((k, _)) = kv.first() {
                        parts.push(format!("{}:\"again\"", json!(k)));
                    }
                }
                format!("{{{}}}", parts.join(","))
            }),
        1 => value().prop_map(|v| v.to_string()),
        1 => "[ -~]{0,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_requests_get_answers_not_faults(route in prop::sample::select(ROUTES.to_vec()), text in body()) {
        let (rt, h, tokens) = world();
        let (method, path, role) = route;
        let before = h.shared.read().applied();
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", tokens[role]))
            .header("content-type", "application/json")
            .body(Body::from(text.clone()))
            .unwrap();
        let (status, answer) = rt.block_on(h.raw(request));
        prop_assert!(status.as_u16() < 500, "{method} {path} {text}: {status} {answer}");
        prop_assert!(status.as_u16() != 429, "rate limited: the fuzz would test nothing");
        if status.is_client_error() {
            let error = &answer["error"];
            let message = error["message"].as_str().unwrap_or_default();
            prop_assert!(error["kind"].is_string() && !message.is_empty(), "{method} {path} {text}: {answer}");
            prop_assert!(!message.contains('\n'), "{method} {path} {text}: {answer}");
            if status.as_u16() == 400 {
                prop_assert!(error["field"].as_str().is_some_and(|f| !f.is_empty()), "{method} {path} {text}: {answer}");
            }
            prop_assert_eq!(h.shared.read().applied(), before, "{} {} {}: refused but stored", method, path, text);
        }
    }
}
