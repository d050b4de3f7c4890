//! Leveraged range positions on a Uniswap v3 pool, end to end through the market: open with
//! the optimal split, both valuations, out of range, liquidation prices on both sides as real
//! boundaries, close and partial close, add collateral, collect, reinvest, re-centre with its
//! costs, liquidation, refusals, and conservation of every token throughout.

mod common;

use common::{
    apply, assert_conserved, fund, lending_pools, run, v3_eth_usdc, LENDER_AND_ARB, REWARD_ROUTE,
    TRIPLE_SLOPE, WETH_USDC,
};
use levfarm_core::market::event::{PositionRecentered, PositionStatus};
use levfarm_core::math::U256;
use levfarm_core::position::{PositionHealth, TickRange};
use levfarm_core::{Event, Holder, Market};

/// WETH/USDC at 2000 in a 0.3% v3 pool with 1000 WETH and 2,000,000 USDC over the full range
/// and as much again within about ±20%, both tokens lendable, a farm paying 1 RWD a second
/// and a RWD/USDC pool to sell it into. Alice holds 50 WETH and 100,000 USDC.
fn market(valuation: &str) -> Market {
    let mut m = Market::new();
    run(&mut m, WETH_USDC);
    run(&mut m, REWARD_ROUTE);
    run(&mut m, &lending_pools(TRIPLE_SLOPE, 1900));
    let leverage = format!(
        r#"{{"work_factor_bps":7500,"kill_factor_bps":8500,"kill_prize_bps":100,"kill_treasury_bps":400,"reinvest_bounty_bps":900,"valuation":"{valuation}"}}"#
    );
    run(&mut m, &v3_eth_usdc("ETH-USDC", &leverage));
    run(
        &mut m,
        r#"{"op":"create_farm","pool":"ETH-USDC","reward_token":"RWD","reward_per_second":"1000000000000000000"}
        {"op":"fund_farm","account":"lp","pool":"ETH-USDC","amount":"900000000000000000000000"}"#,
    );
    run(&mut m, &fund(&["alice"], "100000000000", "50000000000000000000"));
    run(&mut m, LENDER_AND_ARB);
    m
}

/// A range `width` ticks wide centred on the pool's tick.
fn centred(m: &Market, width: i32) -> TickRange {
    let pool = &m.v3_amm_pool("ETH-USDC").unwrap().pool;
    TickRange::centred(pool.tick, width, pool.tick_spacing).unwrap()
}

fn open(m: &mut Market, range: TickRange, args: &str) -> (u64, Vec<Event>) {
    let line = format!(
        r#"{{"op":"open_range_position","owner":"alice","pool":"ETH-USDC","tick_lower":{},"tick_upper":{},{args}}}"#,
        range.tick_lower, range.tick_upper
    );
    let events = apply(m, &line).unwrap_or_else(|e| panic!("{line}: {e}"));
    (common::opened(&events), events)
}

fn status(m: &mut Market, id: u64) -> PositionStatus {
    match apply(m, &format!(r#"{{"op":"inspect_position","position":{id}}}"#)).unwrap().pop() {
        Some(Event::PositionStatus(s)) => *s,
        other => panic!("{other:?}"),
    }
}
fn alice(m: &Market) -> [U256; 2] {
    let a = Holder::Account("alice".into());
    [m.balance(&a, "WETH"), m.balance(&a, "USDC")]
}

/// `a` within `ppm` parts per million of `b`.
fn close_to(a: U256, b: U256, ppm: u64) -> bool {
    let gap = if a > b { a - b } else { b - a };
    gap * U256::from(1_000_000u64) <= b * U256::from(ppm)
}

const USD: u64 = 1_000_000_000_000_000_000;

fn usd(whole: u64) -> U256 {
    U256::from(whole) * U256::from(USD)
}

#[test]
fn opening_splits_for_the_range_and_values_the_position_both_ways() {
    let mut m = market("exit");
    let range = centred(&m, 2400);
    let before = alice(&m);
    // 10,000 USDC of equity and 10 WETH (20,000 USDC) of debt: 3x.
    let (id, events) =
        open(&mut m, range, r#""equity1":"10000000000","borrow0":"10000000000000000000""#);
    // One swap through the pool, then one mint of the whole position.
    let swaps = events.iter().filter(|e| matches!(e, Event::V3Swapped(_))).count();
    let mints: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::V3Minted(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert_eq!((swaps, mints.len()), (1, 1), "{events:?}");
    assert_eq!(mints[0].owner, Holder::Position(id));
    assert_eq!((mints[0].tick_lower, mints[0].tick_upper), (range.tick_lower, range.tick_upper));
    // What did not fit the range went back to alice, and it is dust: under a cent's worth.
    let after = alice(&m);
    let returned = [after[0] - before[0], after[1] - (before[1] - U256::from(10_000_000_000u64))];
    let dust = returned[0] * U256::from(2000) + returned[1] * U256::from(1_000_000_000_000u64);
    assert!(dust < U256::from(10_000_000_000_000_000u64), "{returned:?}");
    let s = status(&mut m, id);
    assert_eq!(s.range, Some(range));
    assert_eq!(s.in_range, Some(true));
    let h = s.health;
    // Worth about 30,000: the oracle value loses only the swap's fee on about half the
    // deposit; leaving would also pay price impact and a fee, so the exit value is lower.
    assert!(close_to(h.value_oracle, usd(30_000), 3000), "{h:?}");
    assert!(h.value_exit < h.value_oracle, "{h:?}");
    assert_eq!(h.value, h.value_exit);
    assert_eq!(h.debt, [U256::from(10_000_000_000_000_000_000u128), U256::ZERO]);
    assert_eq!(h.debt_value, usd(20_000));
    // debt / value in bps, rounded up, and the leverage it implies.
    let ratio = (h.debt_value * U256::from(10_000) + h.value - U256::from(1)) / h.value;
    assert_eq!(U256::from(h.debt_ratio_bps), ratio);
    assert!((29_500..30_500).contains(&h.leverage_bps), "{h:?}");
    // The market's position and the pool's agree on the liquidity.
    let position = m.positions().find(|p| p.id == id).unwrap().clone();
    assert_eq!(position.lp, mints[0].liquidity.0);
    assert_conserved(&m);
}

#[test]
fn out_of_range_the_position_is_one_token_and_earns_no_fees() {
    let mut m = market("oracle");
    let range = centred(&m, 1200);
    let (id, _) = open(&mut m, range, r#""equity1":"10000000000","borrow1":"10000000000""#);
    // WETH up 20%: past the range's upper tick, the position has sold all its WETH.
    common::move_price(&mut m, "ETH-USDC", "2400");
    let s = status(&mut m, id);
    assert_eq!(s.in_range, Some(false));
    let pool = &m.v3_amm_pool("ETH-USDC").unwrap().pool;
    assert!(pool.tick >= range.tick_upper);
    let key = levfarm_core::amm::v3::V3PositionKey {
        owner: Holder::Position(id),
        tick_lower: range.tick_lower,
        tick_upper: range.tick_upper,
    };
    let held = pool.position(&key).unwrap().liquidity;
    let (a, b) = range.sqrt_prices().unwrap();
    let amounts =
        levfarm_core::amm::v3::math::amounts_for_liquidity(pool.sqrt_price, a, b, held).unwrap();
    assert_eq!(amounts[0], U256::ZERO);
    // Trades outside the range pay the position nothing.
    let fees_before = pool.owed_with_pending_fees(&key).unwrap();
    run(
        &mut m,
        r#"{"op":"v3_swap","account":"arb","pool":"ETH-USDC","zero_for_one":false,"amount_in":"1000000000"}
        {"op":"v3_swap","account":"arb","pool":"ETH-USDC","zero_for_one":true,"amount_in":"100000000000000000"}"#,
    );
    let pool = &m.v3_amm_pool("ETH-USDC").unwrap().pool;
    assert!(pool.tick >= range.tick_upper);
    assert_eq!(pool.owed_with_pending_fees(&key).unwrap(), fees_before);
    // Under the oracle valuation, the position is worth exactly its USDC and fees.
    let h = m.position_health(id).unwrap();
    let usdc = amounts[1] + U256::from(fees_before[1]);
    let weth_fees = U256::from(fees_before[0]) * U256::from(2400);
    assert_eq!(h.value_oracle, usdc * U256::from(1_000_000_000_000u64) + weth_fees);
    assert_conserved(&m);
}

#[test]
fn debt_in_both_tokens_has_two_liquidation_prices_and_each_is_a_real_boundary() {
    let m0 = {
        let mut m = market("exit");
        let range = centred(&m, 6000);
        // 10,000 of equity, 10,000 borrowed in each token: 3x and close to neutral.
        let (_, _) = open(
            &mut m,
            range,
            r#""equity1":"10000000000","borrow0":"5000000000000000000","borrow1":"10000000000""#,
        );
        m
    };
    let mut m = m0.clone();
    let prices = status(&mut m, 1).liquidation_prices;
    let (lower, upper) = (prices.lower.unwrap(), prices.upper.unwrap());
    let two_thousand = usd(2000);
    assert!(lower < two_thousand && upper > two_thousand, "{prices:?}");
    // 0.1% inside either boundary the position is safe; 0.1% outside it is liquidatable,
    // with the pool arbitraged to the oracle as the solve assumes.
    let price_text = |p: U256| {
        let cents = p / U256::from(10_000_000_000_000_000u64);
        format!("{}.{:02}", cents / U256::from(100), cents % U256::from(100))
    };
    for (boundary, inside, outside) in [(lower, 1001u64, 999u64), (upper, 999, 1001)] {
        for (percent, liquidatable) in [(inside, false), (outside, true)] {
            let mut m = m0.clone();
            common::move_price(
                &mut m,
                "ETH-USDC",
                &price_text(boundary * U256::from(percent) / U256::from(1000)),
            );
            let kill = apply(&mut m, r#"{"op":"liquidate","liquidator":"keeper","position":1}"#);
            assert_eq!(kill.is_ok(), liquidatable, "{percent}‰ of {boundary}: {kill:?}");
            if let Ok(events) = kill {
                let Some(Event::PositionLiquidated(l)) =
                    events.iter().find(|e| matches!(e, Event::PositionLiquidated(_)))
                else {
                    panic!("{events:?}")
                };
                assert!(l.prize0.0 > U256::ZERO || l.prize1.0 > U256::ZERO);
                assert_eq!(m.positions().next().map(|p| p.open), Some(false));
                assert_eq!(m.balance(&Holder::Position(1), "WETH"), U256::ZERO);
                assert_conserved(&m);
            }
        }
    }
}

#[test]
fn partial_then_full_close_repays_and_returns_the_rest() {
    let mut m = market("exit");
    let range = centred(&m, 2400);
    let (id, _) = open(&mut m, range, r#""equity1":"10000000000","borrow1":"10000000000""#);
    run(&mut m, r#"{"op":"advance_time","seconds":86400}"#);
    let start = alice(&m);
    let lp = m.positions().next().unwrap().lp;
    let half = lp / U256::from(2);
    let events = apply(
        &mut m,
        &format!(r#"{{"op":"close_position","caller":"alice","position":{id},"lp":"{half}","max_repay1":"4000000000","mode":"minimize_trading"}}"#),
    )
    .unwrap();
    let Some(Event::PositionClosed { repaid1, fully, health: Some(h), .. }) =
        events.last().cloned()
    else {
        panic!("{events:?}")
    };
    assert!(!fully);
    assert_eq!(repaid1.0, U256::from(4_000_000_000u64));
    assert!(h.debt[1] > U256::from(6_000_000_000u64), "interest accrued: {h:?}");
    assert_eq!(m.positions().next().unwrap().lp, lp - half);
    let before = alice(&m);
    let events =
        apply(&mut m, &format!(r#"{{"op":"close_position","caller":"alice","position":{id}}}"#))
            .unwrap();
    let Some(Event::PositionClosed { fully: true, returned1, .. }) = events.last().cloned() else {
        panic!("{events:?}")
    };
    assert_eq!(alice(&m)[1], before[1] + returned1.0);
    // Of 10,000 USDC of equity, the two closes hand back all but the swap fees, the price
    // impact and a day's interest on 10,000: more than 9,950 at the oracle.
    let end = alice(&m);
    let back = (end[0] - start[0]) * U256::from(2000)
        + (end[1] - start[1]) * U256::from(1_000_000_000_000u64);
    assert!(back > usd(9_950) && back < usd(10_000), "{back}");
    let lending = m.lending("USDC").unwrap();
    assert_eq!(lending.debt_of(&Holder::Position(id)).unwrap(), U256::ZERO);
    // Nothing of the position is left in the pool.
    let pool = &m.v3_amm_pool("ETH-USDC").unwrap().pool;
    assert!(pool.positions().all(|(k, _)| k.owner != Holder::Position(id)));
    assert_conserved(&m);
}

#[test]
fn add_collateral_collect_and_reinvest_fees_and_rewards() {
    let mut m = market("exit");
    let range = centred(&m, 2400);
    let (id, _) =
        open(&mut m, range, r#""equity1":"10000000000","borrow0":"10000000000000000000""#);
    let before = m.position_health(id).unwrap();
    let events = apply(
        &mut m,
        &format!(
            r#"{{"op":"add_collateral","caller":"alice","position":{id},"amount1":"5000000000"}}"#
        ),
    )
    .unwrap();
    let Some(Event::CollateralAdded { health, .. }) = events.last() else { panic!("{events:?}") };
    assert!(health.debt_ratio_bps < before.debt_ratio_bps);
    // A day of trading both ways inside the range, and a day of farm rewards.
    for _ in 0..5 {
        run(
            &mut m,
            r#"{"op":"v3_swap","account":"arb","pool":"ETH-USDC","zero_for_one":true,"amount_in":"20000000000000000000"}
            {"op":"v3_swap","account":"arb","pool":"ETH-USDC","zero_for_one":false,"amount_in":"40000000000"}"#,
        );
    }
    run(&mut m, r#"{"op":"advance_time","seconds":86400}"#);
    let lp_before = m.positions().next().unwrap().lp;
    let events =
        apply(&mut m, &format!(r#"{{"op":"reinvest","caller":"bot","position":{id}}}"#)).unwrap();
    let Some(Event::Reinvested { rewards, bounty, fees: Some(fees), lp_added, .. }) =
        events.last().cloned()
    else {
        panic!("{events:?}")
    };
    assert!(fees[0].0 > U256::ZERO && fees[1].0 > U256::ZERO, "{fees:?}");
    // The only staker for a day at 1 RWD a second, less MasterChef's rounding down.
    assert!(rewards.0 <= usd(86_400) && rewards.0 > usd(86_399), "{rewards:?}");
    assert_eq!(bounty.0, rewards.0 * U256::from(900) / U256::from(10_000));
    assert_eq!(m.balance(&Holder::Account("bot".into()), "RWD"), bounty.0);
    assert_eq!(m.positions().next().unwrap().lp, lp_before + lp_added.0);
    // Collecting right after has only what was earned since: more trading first.
    run(
        &mut m,
        r#"{"op":"v3_swap","account":"arb","pool":"ETH-USDC","zero_for_one":true,"amount_in":"20000000000000000000"}
        {"op":"advance_time","seconds":3600}"#,
    );
    let before = alice(&m);
    let events =
        apply(&mut m, &format!(r#"{{"op":"collect_position","caller":"alice","position":{id}}}"#))
            .unwrap();
    let Some(Event::PositionCollected { fees0, fees1, rewards, .. }) = events.last().cloned()
    else {
        panic!("{events:?}")
    };
    // The WETH sell paid fees in WETH; the reinvest's own swap paid the range some too.
    assert!(fees0.0 > U256::ZERO, "{events:?}");
    assert_eq!(alice(&m), [before[0] + fees0.0, before[1] + fees1.0]);
    assert!(rewards.0 > usd(3599) && rewards.0 <= usd(3600));
    assert_eq!(m.balance(&Holder::Account("alice".into()), "RWD"), rewards.0);
    // Someone else cannot collect alice's position.
    assert!(apply(
        &mut m,
        &format!(r#"{{"op":"collect_position","caller":"bot","position":{id}}}"#)
    )
    .is_err());
    assert_conserved(&m);
}

#[test]
fn recentring_moves_the_range_around_the_price_and_reports_its_cost() {
    let mut m = market("exit");
    let range = centred(&m, 1200);
    let (id, _) = open(&mut m, range, r#""equity1":"10000000000","borrow0":"5000000000000000000""#);
    common::move_price(&mut m, "ETH-USDC", "1800");
    assert_eq!(status(&mut m, id).in_range, Some(false));
    let debt_before = m.position_health(id).unwrap().debt;
    let before = alice(&m);
    let events =
        apply(&mut m, &format!(r#"{{"op":"recenter_position","caller":"alice","position":{id}}}"#))
            .unwrap();
    let r: PositionRecentered = match events.last() {
        Some(Event::PositionRecentered(r)) => (**r).clone(),
        other => panic!("{other:?}"),
    };
    let pool = &m.v3_amm_pool("ETH-USDC").unwrap().pool;
    assert_eq!(r.from, range);
    assert!(r.to.contains(pool.tick) || r.to.tick_lower <= pool.tick);
    assert_eq!(r.to.tick_upper - r.to.tick_lower, 1200);
    assert_eq!(status(&mut m, id).in_range, Some(true));
    // Below the old range the position was all WETH: about half is sold into USDC, paying
    // the 0.3% fee on what was sold.
    assert_eq!(r.swap_zero_for_one, Some(true));
    assert_eq!(r.removed1.0, U256::ZERO);
    let expected_fee =
        (r.swap_amount_in.0 * U256::from(3000) + U256::from(999_999)) / U256::from(1_000_000);
    assert!(r.swap_fee.0 <= expected_fee && r.swap_fee.0 + U256::from(2) >= expected_fee, "{r:?}");
    // The debt is untouched; the dust went to alice; the cost adds up.
    assert_eq!(r.health.debt, debt_before);
    assert_eq!(alice(&m), [before[0] + r.returned0.0, before[1] + r.returned1.0]);
    let returned_value =
        r.returned0.0 * U256::from(1800) + r.returned1.0 * U256::from(1_000_000_000_000u64);
    let cost = r.cost.0;
    assert!(!cost.is_negative(), "{r:?}");
    let cost = cost.unsigned_abs();
    assert_eq!(cost, r.value_before.0 - r.value_after.0 - returned_value);
    // Arbitrage left the pool where selling WETH nets the oracle price after the fee (its
    // price is 1800 / 0.997), so the sale costs its price impact, not its whole fee.
    let fee_value = r.swap_fee.0 * U256::from(1800);
    assert!(cost > U256::ZERO && cost < fee_value, "{r:?}");
    let again =
        apply(&mut m, &format!(r#"{{"op":"recenter_position","caller":"alice","position":{id}}}"#));
    assert!(again.unwrap_err().to_string().contains("already centred"));
    assert_conserved(&m);
}

#[test]
fn bad_range_commands_are_refused_and_change_nothing() {
    let mut m = market("exit");
    let before = m.clone();
    let refused = [
        // Ticks off the pool's spacing of 60, and misordered.
        r#"{"op":"open_range_position","owner":"alice","pool":"ETH-USDC","tick_lower":-200310,"tick_upper":-199000,"equity1":"1000000000"}"#,
        r#"{"op":"open_range_position","owner":"alice","pool":"ETH-USDC","tick_lower":-199020,"tick_upper":-201000,"equity1":"1000000000"}"#,
        // The wrong command for each kind of pool.
        r#"{"op":"open_position","owner":"alice","pool":"ETH-USDC","equity1":"1000000000"}"#,
        r#"{"op":"open_range_position","owner":"alice","pool":"RWD-USDC","tick_lower":-60,"tick_upper":60,"equity1":"1000000000"}"#,
        // Past the work factor: 1,000 of equity and 10,000 of debt.
        r#"{"op":"open_range_position","owner":"alice","pool":"ETH-USDC","tick_lower":-201000,"tick_upper":-199620,"equity1":"1000000000","borrow1":"10000000000"}"#,
        // Nothing that could fill the range.
        r#"{"op":"open_range_position","owner":"alice","pool":"ETH-USDC","tick_lower":-201000,"tick_upper":-199620,"equity1":"1"}"#,
    ];
    for line in refused {
        assert!(apply(&mut m, line).is_err(), "{line}");
        assert_eq!(m, before, "{line}");
    }
    // A v3 pool without leverage rules takes no positions.
    run(
        &mut m,
        r#"{"op":"create_v3_pool","pool":"BARE","token0":"WETH","token1":"RWD","fee_pips":3000,"tick":0}"#,
    );
    let err = apply(&mut m, r#"{"op":"open_range_position","owner":"alice","pool":"BARE","tick_lower":-60,"tick_upper":60,"equity0":"1000"}"#).unwrap_err();
    assert!(err.to_string().contains("no leverage rules"), "{err}");
}

#[test]
fn arbitrage_stops_where_the_fee_makes_trading_further_unprofitable() {
    let mut m = market("exit");
    common::move_price(&mut m, "ETH-USDC", "2200");
    let pool = &m.v3_amm_pool("ETH-USDC").unwrap().pool;
    // Buying WETH pays while price / (1 − 0.3%) < 2200: the pool stops at 2200 · 0.997.
    let price = |s: U256| {
        let x = s.to_string().parse::<f64>().unwrap() / 2f64.powi(96);
        x * x * 1e12
    };
    let p = price(pool.sqrt_price);
    assert!((p / (2200.0 * 0.997) - 1.0).abs() < 1e-9, "{p}");
    // Already inside the band: nothing to do.
    let events = apply(&mut m, r#"{"op":"arbitrage","account":"arb","pool":"ETH-USDC"}"#).unwrap();
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn oracle_health_of_the_position_is_what_its_tokens_are_worth() {
    let mut m = market("oracle");
    let range = centred(&m, 2400);
    let (id, _) = open(&mut m, range, r#""equity1":"10000000000","borrow0":"2000000000000000000""#);
    let h: PositionHealth = m.position_health(id).unwrap();
    assert_eq!(h.value, h.value_oracle);
    // Closing right away realises the exit value (the sale of the non-debt token is what
    // `value_exit` assumes), to the unit, at the oracle.
    let before = alice(&m);
    let events =
        apply(&mut m, &format!(r#"{{"op":"close_position","caller":"alice","position":{id}}}"#))
            .unwrap();
    assert!(matches!(events.last(), Some(Event::PositionClosed { fully: true, .. })));
    let after = alice(&m);
    let got = (after[0] - before[0]) * U256::from(2000)
        + (after[1] - before[1]) * U256::from(1_000_000_000_000u64);
    assert_eq!(got + h.debt_value, h.value_exit);
}
