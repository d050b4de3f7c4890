//! Uniswap v3 pools through `Market::apply`: the spec pool's numbers, swaps both ways and both
//! kinds, burns and collects, refusals, and conservation of every token.

mod common;

use common::{apply, assert_conserved, run, u256};
use levfarm_core::market::event::V3Swapped;
use levfarm_core::math::U256;
use levfarm_core::{Event, Holder, Market};

/// Two 18-decimal tokens, balances for `lp` and `trader`, and v3-core's spec pool: 0.3% at
/// `encodePriceSqrt(1, 10)` (tick -23028) with 3161 liquidity over the full range.
fn spec_market() -> Market {
    let mut m = Market::new();
    run(
        &mut m,
        r#"{"op":"create_token","symbol":"TKA","decimals":18}
        {"op":"create_token","symbol":"TKB","decimals":18}
        {"op":"mint","to":"lp","token":"TKA","amount":"1000000000000000000000000"}
        {"op":"mint","to":"lp","token":"TKB","amount":"1000000000000000000000000"}
        {"op":"mint","to":"trader","token":"TKA","amount":"1000000000000000000000"}
        {"op":"mint","to":"trader","token":"TKB","amount":"1000000000000000000000"}
        {"op":"create_v3_pool","pool":"A-B","token0":"TKA","token1":"TKB","fee_pips":3000,"sqrt_price_x96":"25054144837504793118641380156"}"#,
    );
    m
}

/// 100 TKA and up to 10 TKB into the narrow range [-24000, -22020) around the price.
const NARROW_MINT: &str = r#"{"op":"v3_mint","account":"lp","pool":"A-B","tick_lower":-24000,"tick_upper":-22020,"amount0":"100000000000000000000","amount1":"10000000000000000000"}"#;

fn minted(events: &[Event]) -> (U256, U256) {
    match events.last() {
        Some(Event::V3Minted(m)) => (m.amount0.0, m.amount1.0),
        other => panic!("{other:?}"),
    }
}

fn swapped(events: &[Event]) -> V3Swapped {
    match events.last() {
        Some(Event::V3Swapped(s)) => (**s).clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_spec_pool_takes_v3_cores_amounts_and_reports_its_price() {
    let mut m = spec_market();
    let created = apply(&mut m, r#"{"op":"create_v3_pool","pool":"A-B-2","token0":"TKA","token1":"TKB","fee_pips":500,"tick":-23028}"#).unwrap();
    assert!(
        matches!(&created[0], Event::V3PoolCreated { tick_spacing: 10, tick: -23028, .. }),
        "{created:?}"
    );
    // UniswapV3Pool.spec.ts: mint(minTick, maxTick, 3161) at 1:10 takes 9996 and 1000.
    let events = apply(&mut m, r#"{"op":"v3_mint","account":"lp","pool":"A-B","tick_lower":-887220,"tick_upper":887220,"liquidity":"3161"}"#).unwrap();
    assert_eq!(minted(&events), (U256::from(9996), U256::from(1000)));
    // "below current price: transfers token1 only": mint(-46080, -23040, 10000) takes 2162.
    let events = apply(&mut m, r#"{"op":"v3_mint","account":"lp","pool":"A-B","tick_lower":-46080,"tick_upper":-23040,"liquidity":"10000"}"#).unwrap();
    assert_eq!(minted(&events), (U256::ZERO, U256::from(2162)));
    assert_eq!(
        m.balance(&Holder::Account("lp".into()), "TKB"),
        u256("1000000000000000000000000") - U256::from(1000 + 2162)
    );
    assert_conserved(&m);
}

#[test]
fn swaps_both_ways_and_both_kinds_keep_every_token() {
    let mut m = spec_market();
    // Deep liquidity around the price and a wide range behind it.
    run(
        &mut m,
        &format!(
            r#"{{"op":"v3_mint","account":"lp","pool":"A-B","tick_lower":-887220,"tick_upper":887220,"amount0":"100000000000000000000","amount1":"10000000000000000000"}}
            {NARROW_MINT}"#
        ),
    );
    let trader = Holder::Account("trader".into());
    let before = [m.balance(&trader, "TKA"), m.balance(&trader, "TKB")];
    // Exact input of 1 TKA: the pool gains exactly 1e18 TKA and pays TKB.
    let s = swapped(&apply(&mut m, r#"{"op":"v3_swap","account":"trader","pool":"A-B","zero_for_one":true,"amount_in":"1000000000000000000"}"#).unwrap());
    assert_eq!(s.amount0.0.to_string(), "1000000000000000000");
    assert!(s.amount1.0.is_negative());
    assert!(s.tick < s.tick_before && s.sqrt_price_x96.0 < s.sqrt_price_x96_before.0);
    // The fee is 0.3% of the input, rounded up, within the one step this takes.
    assert_eq!(s.fee_amount.0, U256::from(3_000_000_000_000_000u64));
    assert!(s.fee_growth_global0_x128.0 > U256::ZERO && s.fee_growth_global1_x128.0.is_zero());
    let after = [m.balance(&trader, "TKA"), m.balance(&trader, "TKB")];
    assert_eq!(before[0] - after[0], s.amount0.0.unsigned_abs());
    assert_eq!(after[1] - before[1], s.amount1.0.unsigned_abs());
    // Exact output of 0.05 TKA the other way: exactly that comes out.
    let s = swapped(&apply(&mut m, r#"{"op":"v3_swap","account":"trader","pool":"A-B","zero_for_one":false,"amount_out":"50000000000000000"}"#).unwrap());
    assert_eq!(s.amount0.0.to_string(), "-50000000000000000");
    assert!(s.amount1.0.is_positive());
    // A big sell walks out of the narrow range: its lower tick is crossed.
    let s = swapped(&apply(&mut m, r#"{"op":"v3_swap","account":"trader","pool":"A-B","zero_for_one":true,"amount_in":"500000000000000000000"}"#).unwrap());
    assert_eq!(s.ticks_crossed, vec![-24000], "{s:?}");
    assert!(s.tick < -24000);
    assert_conserved(&m);
}

#[test]
fn burning_and_collecting_return_principal_and_fees() {
    let mut m = spec_market();
    run(
        &mut m,
        &format!(
            r#"{NARROW_MINT}
            {{"op":"v3_swap","account":"trader","pool":"A-B","zero_for_one":true,"amount_in":"1000000000000000000"}}
            {{"op":"v3_swap","account":"trader","pool":"A-B","zero_for_one":false,"amount_in":"100000000000000000"}}"#
        ),
    );
    let burned = apply(
        &mut m,
        r#"{"op":"v3_burn","account":"lp","pool":"A-B","tick_lower":-24000,"tick_upper":-22020}"#,
    )
    .unwrap();
    let Some(Event::V3Burned(b)) = burned.last().cloned() else { panic!("{burned:?}") };
    let (amount0, amount1) = (b.amount0, b.amount1);
    let collected = apply(&mut m, r#"{"op":"v3_collect","account":"lp","pool":"A-B","tick_lower":-24000,"tick_upper":-22020}"#).unwrap();
    let Some(Event::V3Collected { amount0: c0, amount1: c1, .. }) = collected.last().cloned()
    else {
        panic!("{collected:?}")
    };
    // Collect pays the burned principal plus the fees earned: 0.3% of each swap's input, less
    // the rounding of fee growth (at most one unit per swap).
    let fees = [u256("3000000000000000"), u256("300000000000000")];
    assert!(
        c0.0 > amount0.0
            && c0.0 - amount0.0 <= fees[0]
            && fees[0] - (c0.0 - amount0.0) <= U256::from(1),
        "{c0:?} {amount0:?}"
    );
    assert!(
        c1.0 > amount1.0
            && c1.0 - amount1.0 <= fees[1]
            && fees[1] - (c1.0 - amount1.0) <= U256::from(1),
        "{c1:?} {amount1:?}"
    );
    // Nothing more to collect; the position is gone.
    let again = apply(
        &mut m,
        r#"{"op":"v3_collect","account":"lp","pool":"A-B","tick_lower":-24000,"tick_upper":-22020}"#,
    );
    assert!(again.is_err(), "{again:?}");
    assert_conserved(&m);
}

#[test]
fn refused_v3_commands_change_nothing() {
    let mut m = spec_market();
    run(
        &mut m,
        r#"{"op":"v3_mint","account":"lp","pool":"A-B","tick_lower":-887220,"tick_upper":887220,"liquidity":"3161"}"#,
    );
    let before = m.clone();
    for line in [
        // Unspaced tick, misordered ticks, no amount, both amounts kinds.
        r#"{"op":"v3_mint","account":"lp","pool":"A-B","tick_lower":-30,"tick_upper":60,"liquidity":"1"}"#,
        r#"{"op":"v3_mint","account":"lp","pool":"A-B","tick_lower":60,"tick_upper":-60,"liquidity":"1"}"#,
        r#"{"op":"v3_mint","account":"lp","pool":"A-B","tick_lower":-60,"tick_upper":60}"#,
        r#"{"op":"v3_mint","account":"lp","pool":"A-B","tick_lower":-60,"tick_upper":60,"liquidity":"1","amount0":"5"}"#,
        // More than the account holds.
        r#"{"op":"v3_mint","account":"nobody","pool":"A-B","tick_lower":-887220,"tick_upper":887220,"liquidity":"3161"}"#,
        // A limit on the wrong side, both exact kinds, a zero amount, an unknown pool.
        r#"{"op":"v3_swap","account":"trader","pool":"A-B","zero_for_one":true,"amount_in":"1","sqrt_price_limit_x96":"79228162514264337593543950336"}"#,
        r#"{"op":"v3_swap","account":"trader","pool":"A-B","zero_for_one":true,"amount_in":"1","amount_out":"1"}"#,
        r#"{"op":"v3_swap","account":"trader","pool":"A-B","zero_for_one":true,"amount_in":"0"}"#,
        r#"{"op":"v3_swap","account":"trader","pool":"nope","zero_for_one":true,"amount_in":"1"}"#,
        // Burning more than the position holds, collecting from no position.
        r#"{"op":"v3_burn","account":"lp","pool":"A-B","tick_lower":-887220,"tick_upper":887220,"liquidity":"3162"}"#,
        r#"{"op":"v3_collect","account":"trader","pool":"A-B","tick_lower":-60,"tick_upper":60}"#,
        // A pool name in use, a price out of range, an unknown fee tier without spacing.
        r#"{"op":"create_v3_pool","pool":"A-B","token0":"TKA","token1":"TKB","fee_pips":3000,"tick":0}"#,
        r#"{"op":"create_v3_pool","pool":"X","token0":"TKA","token1":"TKB","fee_pips":3000,"sqrt_price_x96":"1"}"#,
        r#"{"op":"create_v3_pool","pool":"X","token0":"TKA","token1":"TKB","fee_pips":2500,"tick":0}"#,
    ] {
        assert!(apply(&mut m, line).is_err(), "{line}");
        assert_eq!(m, before, "{line}");
    }
    // Holding only token0, a range that takes both is refused before anything is debited.
    run(&mut m, r#"{"op":"mint","to":"half","token":"TKA","amount":"1000000"}"#);
    let before = m.clone();
    let refused = apply(
        &mut m,
        r#"{"op":"v3_mint","account":"half","pool":"A-B","tick_lower":-887220,"tick_upper":887220,"liquidity":"3161"}"#,
    );
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(m, before);
    // A trader who cannot pay the exact output's input is refused too.
    run(&mut m, r#"{"op":"mint","to":"poor","token":"TKB","amount":"1"}"#);
    let before = m.clone();
    let refused = apply(
        &mut m,
        r#"{"op":"v3_swap","account":"poor","pool":"A-B","zero_for_one":false,"amount_out":"100"}"#,
    );
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(m, before);
}
