//! Several lending venues in one market: each lends from its own pools at its own rate, and
//! each position follows its venue's leverage rules.

mod common;

use common::{apply, assert_conserved, farm_market, move_price, opened, run, AAVE_STEEP};
use levfarm_core::math::U256;
use levfarm_core::types::{Holder, Venue};
use levfarm_core::{Error, Event, Market};

const POOL: &str = "WETH-USDC";
/// 10,000 USDC of equity and 20,000 USDC borrowed: 3x long.
const OPEN: &str = r#""pool":"WETH-USDC","equity1":"10000000000","borrow1":"20000000000""#;

/// The farm market (main venue: triple-slope USDC and WETH pools, 1,000,000 USDC supplied,
/// kill factor 83.33%) and a second venue `beta`: a USDC pool on Aave's steep kinked model with
/// 100,000 USDC supplied, and its own rules on the pool (kill factor 75%).
fn two_venues() -> Market {
    let mut m = farm_market(
        POOL,
        r#""fee_bps":30,"leverage":{"work_factor_bps":7000,"kill_factor_bps":8333}"#,
        "0",
        1000,
    );
    run(
        &mut m,
        &format!(
            r#"{{"op":"create_lending_pool","token":"USDC","venue":"beta",{AAVE_STEEP},"reserve_factor_bps":1000}}
{{"op":"mint","to":"lender","token":"USDC","amount":"100000000000"}}
{{"op":"supply","account":"lender","token":"USDC","amount":"100000000000","venue":"beta"}}
{{"op":"set_venue_leverage","venue":"beta","pool":"{POOL}","leverage":{{"work_factor_bps":7000,"kill_factor_bps":7500}}}}
{{"op":"mint","to":"alice","token":"USDC","amount":"10000000000"}}
{{"op":"mint","to":"bob","token":"USDC","amount":"10000000000"}}"#
        ),
    );
    m
}

fn open(m: &mut Market, owner: &str, venue: Option<&str>) -> u64 {
    let venue = venue.map_or(String::new(), |v| format!(r#","venue":"{v}""#));
    let line = format!(r#"{{"op":"open_position","owner":"{owner}",{OPEN}{venue}}}"#);
    opened(&apply(m, &line).unwrap_or_else(|e| panic!("{line}: {e}")))
}

fn debt(m: &Market, id: u64) -> U256 {
    let position = m.positions().find(|p| p.id == id).unwrap();
    m.position_debt(position).unwrap()[1]
}

#[test]
fn each_venue_lends_from_its_own_pool_at_its_own_rate() {
    let mut m = two_venues();
    let a = open(&mut m, "alice", None);
    let b = open(&mut m, "bob", Some("beta"));
    let beta = Venue::from("beta");
    let main_pool = m.lending("USDC").unwrap();
    let beta_pool = m.lending_at(&beta, "USDC").unwrap();
    let borrowed = U256::from(20_000_000_000u64);
    // Each position's debt is in its venue's pool and nowhere else.
    assert_eq!(main_pool.debt_of(&Holder::Position(a)).unwrap(), borrowed);
    assert_eq!(main_pool.debt_of(&Holder::Position(b)).unwrap(), U256::ZERO);
    assert_eq!(beta_pool.debt_of(&Holder::Position(b)).unwrap(), borrowed);
    assert_eq!(beta_pool.debt_of(&Holder::Position(a)).unwrap(), U256::ZERO);
    // Utilization 2% at main (20,000 of 1,000,000) and 20% at beta (20,000 of 100,000):
    // triple slope 20% · 2/60 = 0.667%; Aave 1% + 4% · 20/80 = 2%.
    let rate = |r: levfarm_core::math::Ray| r.0.to::<u128>() as f64 / 1e27;
    let (r_main, r_beta) = (rate(main_pool.borrow_rate), rate(beta_pool.borrow_rate));
    assert!((r_main - 0.2 * 0.02 / 0.6).abs() < 1e-9, "main venue's rate {r_main}");
    assert!((r_beta - 0.02).abs() < 1e-9, "beta's rate {r_beta}");

    // A year later each owes its own venue's interest: between simple and continuous
    // compounding of that venue's rate (Aave's compounded interest is a truncated series).
    run(&mut m, r#"{"op":"advance_time","seconds":31536000}"#);
    for (id, r) in [(a, r_main), (b, r_beta)] {
        let growth = debt(&m, id).to::<u128>() as f64 / 20_000_000_000.0 - 1.0;
        assert!(growth >= r * (1.0 - 1e-9) && growth <= r.exp_m1(), "position {id}: {growth}");
    }
    assert!(debt(&m, b) > debt(&m, a) + U256::from(200_000_000u64), "beta's rate is 3x main's");
    assert_conserved(&m);
}

#[test]
fn a_position_follows_its_venue_s_kill_factor() {
    let mut m = two_venues();
    let a = open(&mut m, "alice", None);
    let b = open(&mut m, "bob", Some("beta"));
    assert_eq!(m.leverage_rules(a).unwrap().kill_factor_bps.0, 8333);
    assert_eq!(m.leverage_rules(b).unwrap().kill_factor_bps.0, 7500);
    // 20,000 / (30,000 · √(1420/2000)) ≈ 79%: past beta's 75%, within main's 83.33%.
    move_price(&mut m, POOL, "1420");
    let ratio = m.position_health(a).unwrap().debt_ratio_bps;
    assert!((7600..8300).contains(&ratio), "debt ratio {ratio} bps");
    let refused =
        apply(&mut m, &format!(r#"{{"op":"liquidate","liquidator":"keeper","position":{a}}}"#));
    assert!(matches!(refused, Err(Error::NotLiquidatable { kill_factor_bps: 8333, .. })));
    let events =
        apply(&mut m, &format!(r#"{{"op":"liquidate","liquidator":"keeper","position":{b}}}"#))
            .unwrap();
    // The liquidation repays beta's pool, and says so.
    let repaid_at_beta = events.iter().any(|e| {
        matches!(e, Event::Repaid { borrower: Holder::Position(p), venue, .. }
            if *p == b && venue.as_str() == "beta")
    });
    assert!(repaid_at_beta, "{events:?}");
    let beta_pool = m.lending_at(&Venue::from("beta"), "USDC").unwrap();
    assert_eq!(beta_pool.debt_of(&Holder::Position(b)).unwrap(), U256::ZERO);
    assert_conserved(&m);
}

#[test]
fn a_venue_without_rules_or_pools_is_refused_and_nothing_changes() {
    let mut m = two_venues();
    let before = m.clone();
    let line = format!(r#"{{"op":"open_position","owner":"alice",{OPEN},"venue":"gamma"}}"#);
    let e = apply(&mut m, &line).unwrap_err().to_string();
    assert!(e.contains("venue gamma offers no leverage on pool WETH-USDC"), "{e}");
    // Rules without a lending pool for the borrowed token.
    run(
        &mut m,
        &format!(
            r#"{{"op":"set_venue_leverage","venue":"gamma","pool":"{POOL}","leverage":{{"work_factor_bps":7000,"kill_factor_bps":7500}}}}"#
        ),
    );
    let after_rules = m.clone();
    let e = apply(&mut m, &line).unwrap_err().to_string();
    assert!(e.contains("USDC at venue gamma"), "{e}");
    assert_eq!(m, after_rules);
    // The main venue's rules are the pool's own, not set apart.
    let e = apply(
        &mut m,
        &format!(
            r#"{{"op":"set_venue_leverage","venue":"main","pool":"{POOL}","leverage":{{"work_factor_bps":7000,"kill_factor_bps":7500}}}}"#
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("main venue"), "{e}");
    assert_ne!(before, m, "the accepted set_venue_leverage changed the market");
}

#[test]
fn one_venue_markets_never_mention_venues() {
    let mut m = two_venues();
    let events =
        apply(&mut m, &format!(r#"{{"op":"open_position","owner":"alice",{OPEN}}}"#)).unwrap();
    let json = serde_json::to_string(&events).unwrap();
    assert!(!json.contains("venue"), "{json}");
    let events =
        apply(&mut m, &format!(r#"{{"op":"open_position","owner":"bob",{OPEN},"venue":"beta"}}"#))
            .unwrap();
    let json = serde_json::to_string(&events).unwrap();
    assert!(json.contains(r#""venue":"beta""#), "{json}");
}
