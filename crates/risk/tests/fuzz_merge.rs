//! Fuzzing `levfarm merge`'s input: partial results read from files that may have been cut,
//! edited or forged. A real two-shard run is made once; then any one number of the second
//! shard is replaced (by zero, a huge count, a negative sum, a value past u64) and the pair
//! merged. Checked: nothing panics; a merge that is accepted gives probabilities within
//! [0, 1] and counts within its paths; a refused one says so as bad input.
//!
//! Bounded for CI by the case count; `PROPTEST_CASES` raises it.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::OnceLock;

use levfarm_risk::run::{Partial, Plan};
use levfarm_risk::RiskError;
use levfarm_sim::Scenario;
use proptest::prelude::*;
use serde_json::Value;

/// The plan and its two shards, as JSON.
fn shards() -> &'static (Plan, Value, Value) {
    static SHARDS: OnceLock<(Plan, Value, Value)> = OnceLock::new();
    SHARDS.get_or_init(|| {
        let mut s = Scenario::default();
        s.risk.paths = 192;
        s.risk.horizon_days = 2;
        s.risk.leverages = vec![2.0, 3.0];
        s.risk.model = levfarm_sim::risk_spec::PriceModelSpec::Gbm { mu: 0.0, sigma: 1.5 };
        let plan = Plan::new(&s, &[], None).expect("a plan");
        let (done, stop) = (AtomicU64::new(0), AtomicBool::new(false));
        let part = |i| {
            let p = plan.run(plan.shard_blocks(i, 2), (i, 2), &done, &stop).expect("a shard");
            serde_json::to_value(&p).expect("JSON")
        };
        let (a, b) = (part(0), part(1));
        (plan, a, b)
    })
}

/// Every path to a number in `v`, as JSON pointers.
fn numbers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Number(_) => out.push(at),
        Value::String(s) if s.parse::<i128>().is_ok() => out.push(at),
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                numbers(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, x) in map {
                if k != "scenario" {
                    numbers(x, format!("{at}/{k}"), out);
                }
            }
        }
        _ => {}
    }
}

fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(serde_json::json!(0)),
        Just(serde_json::json!(1)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!("-170141183460469231731687303715884105728")),
        Just(serde_json::json!("340282366920938463463374607431768211456")),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(1.5)),
        (0u64..1_000_000).prop_map(|n| serde_json::json!(n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(128),
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_forged_partial_is_refused_or_merges_into_sane_figures(pick in any::<prop::sample::Index>(), new in replacement()) {
        let (plan, a, b) = shards();
        let mut paths = Vec::new();
        numbers(b, String::new(), &mut paths);
        let at = pick.get(&paths);
        let mut forged = b.clone();
        *forged.pointer_mut(at).expect("the pointer") = new;
        let Ok(forged) = serde_json::from_value::<Partial>(forged) else { return Ok(()) };
        let first: Partial = serde_json::from_value(a.clone()).unwrap();
        match Plan::merge(&[first, forged]) {
            Err(e) => prop_assert!(matches!(e, RiskError::Input(_)), "{at}: {e:?}"),
            Ok(merged) => {
                for s in plan.summaries(&merged) {
                    for p in [s.liquidation_probability, s.loss_probability, s.wipeout_probability, s.stop_probability] {
                        prop_assert!((0.0..=1.0).contains(&p), "{at}: probability {p}");
                    }
                    prop_assert!(s.paths <= plan.spec.paths, "{at}: {} paths", s.paths);
                }
            }
        }
    }
}
