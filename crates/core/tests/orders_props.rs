//! Properties of the keepers over generated orders and price paths:
//!
//! - within a keeper run every order has had its turn before any liquidator acts;
//! - no order acts for a position after the position was liquidated, in that run or later;
//! - once a position is closed, none of its orders is active;
//! - every token stays accounted for.
//!
//! Bounded for CI by the case count below; `PROPTEST_CASES` raises it.

mod common;

use common::{fund, run};
use levfarm_core::orders::OrderStatus;
use levfarm_core::{Event, Market};
use proptest::prelude::*;

fn base() -> Market {
    let rules = r#""fee_bps":30,"leverage":{"work_factor_bps":7500,"kill_factor_bps":8333,"kill_prize_bps":100,"kill_treasury_bps":400,"reinvest_bounty_bps":900}"#;
    let mut m = common::farm_market("P", rules, "1000000000000000", 1000);
    run(&mut m, &fund(&["ann", "ben"], "50000000000", "20000000000000000000"));
    m
}

/// An order of any kind with thresholds around the ones a 2x-3x position meets.
fn order() -> impl Strategy<Value = String> {
    prop_oneof![
        (500u32..2_500)
            .prop_map(|p| format!(r#"{{"kind":"stop_loss","trigger":{{"below":"{p}"}}}}"#)),
        (2_000u32..4_000)
            .prop_map(|p| format!(r#"{{"kind":"take_profit","trigger":{{"above":"{p}"}}}}"#)),
        (1_000u32..9_000)
            .prop_map(|b| format!(r#"{{"kind":"stop_loss","trigger":{{"equity_loss_bps":{b}}}}}"#)),
        (500u32..6_000).prop_map(|b| format!(
            r#"{{"kind":"trailing_stop","trail":{{"price_fall_bps":{b}}}}}"#
        )),
        (500u32..6_000).prop_map(|b| format!(
            r#"{{"kind":"trailing_stop","trail":{{"price_rise_bps":{b}}}}}"#
        )),
        (1u64..20).prop_map(|h| format!(r#"{{"kind":"time_limit","at":{}}}"#, h * 3600)),
        (6_000u32..8_300, 1_000u32..5_900).prop_map(|(t, g)| format!(
            r#"{{"kind":"deleverage","trigger_bps":{t},"target_bps":{g}}}"#
        )),
        (6_000u32..8_300, 1_000u32..5_900, 1u64..5_000).prop_map(|(t, g, r)| format!(
            r#"{{"kind":"top_up","trigger_bps":{t},"target_bps":{g},"reserve":"{}"}}"#,
            r * 1_000_000
        )),
        (15_000u32..40_000, 500u32..3_000).prop_map(|(l, b)| format!(
            r#"{{"kind":"rebalance","target_leverage_bps":{l},"band_bps":{b}}}"#
        )),
        (1u64..6).prop_map(|h| format!(r#"{{"kind":"compound","every_seconds":{}}}"#, h * 3600)),
    ]
}

/// A position: owner, equity in USDC and leverage (bps), long or short.
fn position() -> impl Strategy<Value = (bool, u64, u64, bool)> {
    (any::<bool>(), 1_000u64..20_000, 15_000u64..36_000, any::<bool>())
}

fn open(m: &mut Market, (ann, equity, leverage, long): (bool, u64, u64, bool)) -> Option<u64> {
    let owner = if ann { "ann" } else { "ben" };
    let debt = equity * (leverage - 10_000) / 10_000;
    let line = if long {
        format!(
            r#"{{"op":"open_position","owner":"{owner}","pool":"P","equity1":"{}","borrow1":"{}"}}"#,
            equity * 1_000_000,
            debt * 1_000_000
        )
    } else {
        // A short: the same value of WETH borrowed at 2000.
        format!(
            r#"{{"op":"open_position","owner":"{owner}","pool":"P","equity1":"{}","borrow0":"{}"}}"#,
            equity * 1_000_000,
            u128::from(debt) * 1_000_000_000_000_000_000 / 2000
        )
    };
    let events = common::apply(m, &line).ok()?;
    Some(common::opened(&events))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    #[test]
    fn protection_first_and_nothing_after_a_liquidation(
        positions in prop::collection::vec(position(), 1..4),
        orders in prop::collection::vec((0usize..4, order()), 0..10),
        moves in prop::collection::vec(-3_500i32..3_500, 1..30),
    ) {
        let mut m = base();
        let ids: Vec<(u64, &str)> = positions
            .iter()
            .filter_map(|p| open(&mut m, *p).map(|id| (id, if p.0 { "ann" } else { "ben" })))
            .collect();
        prop_assume!(!ids.is_empty());
        for (which, order) in &orders {
            let (id, owner) = ids[which % ids.len()];
            let line = format!(r#"{{"op":"place_order","caller":"{owner}","position":{id},"order":{order}}}"#);
            let _ = common::apply(&mut m, &line);
        }
        let mut price = 2_000_000i64; // thousandths
        let mut liquidated = std::collections::BTreeSet::new();
        for step in moves {
            // Up to ±35% an hour, never below 1.
            price = (price + price * i64::from(step) / 10_000).max(1_000);
            let p = format!("{}.{:03}", price / 1000, price % 1000);
            run(&mut m, &format!(
                r#"{{"op":"advance_time","seconds":3600}}
{{"op":"set_price","token":"WETH","price":"{p}"}}
{{"op":"arbitrage","account":"arb","pool":"P"}}"#
            ));
            let events = common::apply(&mut m, r#"{"op":"run_keepers","keeper":"bot"}"#).unwrap();
            let mut liquidator_acted = false;
            for e in &events {
                match e {
                    Event::PositionLiquidated(l) => {
                        liquidator_acted = true;
                        liquidated.insert(l.position);
                    }
                    Event::OrderActed { position, .. } | Event::OrderSkipped { position, .. } => {
                        prop_assert!(!liquidator_acted, "an order ran after a liquidation: {events:?}");
                        prop_assert!(!liquidated.contains(position), "an order acted for liquidated position {position}");
                    }
                    _ => {}
                }
            }
            for p in m.positions().filter(|p| !p.open) {
                prop_assert!(
                    m.orders().all(|o| o.position != p.id || o.status != OrderStatus::Active),
                    "position {} is closed but has an active order", p.id
                );
            }
            common::assert_conserved(&m);
        }
    }
}
