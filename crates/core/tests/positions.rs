//! Position adjustments and liquidation prices, end to end through the market.

mod common;

use common::{apply, fund, run, u256};
use levfarm_core::math::U256;
use levfarm_core::{Error, Event, Holder, Market};

/// WETH/USDC at 2000 in a 1000 WETH pool, both tokens lendable, a farm paying 1 RWD a second
/// with a RWD/USDC pool to sell it into. `valuation` and the kill factor are the test's.
fn market(valuation: &str) -> Market {
    let rules = format!(
        r#""fee_bps":25,"leverage":{{"work_factor_bps":7500,"kill_factor_bps":8500,"kill_prize_bps":100,"kill_treasury_bps":400,"reinvest_bounty_bps":900,"min_debt":"1000","valuation":"{valuation}"}}"#
    );
    let mut m = common::farm_market("ETH-USDC", &rules, "1000000000000000000", 1900);
    run(&mut m, &fund(&["alice"], "100000000000", "50000000000000000000"));
    m
}

fn open(m: &mut Market, args: &str) -> u64 {
    let events =
        apply(m, &format!(r#"{{"op":"open_position","owner":"alice","pool":"ETH-USDC",{args}}}"#))
            .unwrap();
    common::opened(&events)
}

/// The closed-form liquidation prices of a position on the ETH-USDC pool.
fn closed_form_for(
    m: &Market,
    id: u64,
) -> levfarm_core::position::liquidation_price::LiquidationPrices {
    common::closed_form_for(m, id, "ETH-USDC", ["WETH", "USDC"])
}

fn close_to(a: U256, b: U256, parts_per_million: u64) -> bool {
    a.abs_diff(b) * U256::from(1_000_000u64) <= b * U256::from(parts_per_million)
}

#[test]
fn liquidation_prices_numeric_solve_agrees_with_the_closed_forms() {
    let mut m = market("oracle");
    run(&mut m, r#"{"op":"arbitrage","account":"arb","pool":"ETH-USDC"}"#);
    // Long ETH: debt in USDC. Short ETH: debt in WETH (10 WETH equity, 20 borrowed = 3x short).
    let long = open(&mut m, r#""equity1":"10000000000","borrow1":"20000000000""#);
    let short = open(&mut m, r#""equity0":"5000000000000000000","borrow0":"10000000000000000000""#);
    for (id, side) in [(long, "long"), (short, "short")] {
        let solved = m.liquidation_prices(id).unwrap();
        let closed = closed_form_for(&m, id);
        // The solve moves the pool along x·y = k and revalues; the closed form is V = 2·√(u0·u1·m).
        // They agree to rounding (a few parts per million).
        match side {
            "long" => {
                assert!(
                    close_to(solved.lower.unwrap(), closed.lower.unwrap(), 20),
                    "{solved:?} {closed:?}"
                );
                assert_eq!((solved.upper, closed.upper), (None, None));
            }
            _ => {
                assert!(
                    close_to(solved.upper.unwrap(), closed.upper.unwrap(), 20),
                    "{solved:?} {closed:?}"
                );
                assert_eq!((solved.lower, closed.lower), (None, None));
                // 3x short at KF 85%: m = (2·0.85)²·u0·u1/d0² ≈ (1.7·15,000)²/(20·2000)² ≈ 1.63,
                // i.e. ETH up ~60% kills it.
                let up = solved.upper.unwrap() / U256::from(10u64.pow(18));
                assert!((3000..3400).contains(&up.to::<u64>()), "{solved:?}");
            }
        }
    }
}

#[test]
fn two_sided_debt_has_two_liquidation_prices_and_each_is_a_real_boundary() {
    let mut m = market("oracle");
    // Borrow both sides: near neutral. 6,000 USDC equity + 4 WETH (8,000) + 6,000 USDC borrowed:
    // 20,000 in the pool against 14,000 of debt, DR 70%.
    let id = open(
        &mut m,
        r#""equity1":"6000000000","borrow0":"4000000000000000000","borrow1":"6000000000""#,
    );
    let prices = m.liquidation_prices(id).unwrap();
    let (lower, upper) = (prices.lower.unwrap(), prices.upper.unwrap());
    assert!(
        lower < u256("2000000000000000000000") && upper > u256("2000000000000000000000"),
        "{prices:?}"
    );
    // 1% inside either boundary the position is safe; 1% outside it is liquidatable. (The solve
    // moves the pool along x·y = k; real arbitrage also pays fees that grow k, worth ~0.3% of
    // value over the 80% fall to the lower price, hence 1% and not 0.1%.)
    let pct = |p: U256| p / U256::from(100);
    for (inside, outside) in
        [(lower + pct(lower), lower - pct(lower)), (upper - pct(upper), upper + pct(upper))]
    {
        for (price, liquidatable) in [(inside, false), (outside, true)] {
            let mut probe = m.clone();
            let text = levfarm_core::price::Price(price).to_string();
            run(&mut probe, &format!(r#"{{"op":"set_price","token":"WETH","price":"{text}"}}"#));
            run(&mut probe, r#"{"op":"arbitrage","account":"arb","pool":"ETH-USDC"}"#);
            let result = apply(
                &mut probe,
                &format!(r#"{{"op":"liquidate","liquidator":"k","position":{id}}}"#),
            );
            assert_eq!(result.is_ok(), liquidatable, "ETH at {text}: {result:?}");
        }
    }
}

#[test]
fn partial_close_minimize_trading_and_convert_to_debt() {
    let mut m = market("exit");
    let id = open(&mut m, r#""equity1":"10000000000","borrow1":"20000000000""#);
    let lp = m.positions().next().unwrap().lp;
    let usdc_before = m.balance(&Holder::Account("alice".into()), "USDC");
    // Close 30% of the LP and repay 4,400 USDC, minimizing trading: the ~9,000 of that LP is
    // ~4,5xx USDC + ~2.2x WETH; the USDC covers the 4,400 without any swap. What stays is
    // ~21,000 against 15,600 of debt: DR ≈ 74% < 75%.
    let part = lp * U256::from(3) / U256::from(10);
    let events = apply(&mut m, &format!(r#"{{"op":"close_position","caller":"alice","position":{id},"lp":"{part}","max_repay1":"4400000000","mode":"minimize_trading"}}"#)).unwrap();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Swapped { .. })),
        "minimize trading needed no swap"
    );
    let closed = events
        .iter()
        .find_map(|e| match e {
            Event::PositionClosed { repaid1, returned0, fully, .. } => {
                Some((repaid1.0, returned0.0, *fully))
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(closed.0, u256("4400000000"));
    assert!(closed.1 > U256::ZERO, "WETH comes back untraded");
    assert!(!closed.2);
    let health = m.position_health(id).unwrap();
    assert_eq!(health.debt[1], u256("15600000000"));
    assert!(m.balance(&Holder::Account("alice".into()), "USDC") > usdc_before);
    // Now convert the rest to USDC and repay everything: a full close.
    let events =
        apply(&mut m, &format!(r#"{{"op":"close_position","caller":"alice","position":{id}}}"#))
            .unwrap();
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Swapped { token_in, .. } if token_in == "WETH")));
    let Some(Event::PositionClosed { fully: true, repaid1, returned0, .. }) =
        events.last().cloned()
    else {
        panic!("{events:?}")
    };
    assert_eq!(repaid1.0, u256("15600000000"));
    assert_eq!(returned0.0, U256::ZERO, "all WETH was sold into the debt token");
    assert_eq!(m.lending("USDC").unwrap().debt_of(&Holder::Position(id)).unwrap(), U256::ZERO);
    let again =
        apply(&mut m, &format!(r#"{{"op":"close_position","caller":"alice","position":{id}}}"#));
    assert!(matches!(again, Err(Error::PositionClosed { .. })));
}

#[test]
fn closing_is_for_the_owner_and_must_respect_the_work_factor() {
    let mut m = market("exit");
    let id = open(&mut m, r#""equity1":"10000000000","borrow1":"20000000000""#);
    let lp = m.positions().next().unwrap().lp;
    let thief =
        apply(&mut m, &format!(r#"{{"op":"close_position","caller":"mallory","position":{id}}}"#));
    assert!(matches!(thief, Err(Error::NotOwner { .. })), "{thief:?}");
    // Removing 60% of the LP and repaying nothing would leave DR ≈ 20,000 / 12,000 > 75%.
    let most = lp * U256::from(6) / U256::from(10);
    let greedy = apply(
        &mut m,
        &format!(
            r#"{{"op":"close_position","caller":"alice","position":{id},"lp":"{most}","max_repay1":"0"}}"#
        ),
    );
    assert!(matches!(greedy, Err(Error::DebtRatioTooHigh { .. })), "{greedy:?}");
}

#[test]
fn add_collateral_lowers_the_debt_ratio_and_keeps_the_margin() {
    let mut m = market("exit");
    let id = open(&mut m, r#""equity1":"10000000000","borrow1":"20000000000""#);
    let before = m.position_health(id).unwrap();
    let events = apply(&mut m, &format!(r#"{{"op":"add_collateral","caller":"alice","position":{id},"amount0":"1000000000000000000","amount1":"2000000000"}}"#)).unwrap();
    let Some(Event::CollateralAdded { health, .. }) = events.last().cloned() else {
        panic!("{events:?}")
    };
    // 2,000 + 2,000 more value against the same 20,000: DR from ~67% to ~59%.
    assert!(health.debt_ratio_bps < before.debt_ratio_bps - 700, "{before:?} -> {health:?}");
    assert_eq!(health.debt, before.debt);
}

#[test]
fn borrow_more_raises_leverage_in_place_as_opening_at_it_would() {
    // 10,000 USDC at 1x, then 20,000 USDC borrowed into it: the same position as opening
    // 10,000 + 20,000 at once, under the same id, less only the second zap's extra swap.
    let mut m = market("oracle");
    let mut direct = m.clone();
    let id = open(&mut m, r#""equity1":"10000000000""#);
    let alice_usdc = m.balance(&Holder::Account("alice".into()), "USDC");
    let thief = apply(
        &mut m,
        &format!(r#"{{"op":"borrow_more","caller":"mallory","position":{id},"borrow1":"1"}}"#),
    );
    assert!(matches!(thief, Err(Error::NotOwner { .. })), "{thief:?}");
    // 40,000 more on 10,000 is a debt ratio of 80%, past the 75% work factor: refused, and
    // nothing changes.
    let before = m.clone();
    let greedy = apply(
        &mut m,
        &format!(
            r#"{{"op":"borrow_more","caller":"alice","position":{id},"borrow1":"40000000000"}}"#
        ),
    );
    assert!(matches!(greedy, Err(Error::DebtRatioTooHigh { .. })), "{greedy:?}");
    assert_eq!(m, before);

    let events = apply(
        &mut m,
        &format!(
            r#"{{"op":"borrow_more","caller":"alice","position":{id},"borrow1":"20000000000"}}"#
        ),
    )
    .unwrap();
    let Some(Event::BorrowedMore { position, borrowed1, lp, health, .. }) = events.last().cloned()
    else {
        panic!("{events:?}")
    };
    assert_eq!((position, borrowed1.0), (id, u256("20000000000")));
    // No time passed: the debt is what was borrowed, to the unit the index rounds up.
    assert!(health.debt[1] >= u256("20000000000") && health.debt[1] <= u256("20000000001"));
    assert!(health.debt[0].is_zero());
    // Nothing of the owner's is taken, and the borrowed tokens all went into the position
    // but for the zap's dust, a few units swept back to her.
    let alice_after = m.balance(&Holder::Account("alice".into()), "USDC");
    assert!(alice_after >= alice_usdc && alice_after - alice_usdc < U256::from(10u64));
    let total_lp = m.positions().find(|p| p.id == id).unwrap().lp;
    assert!(!lp.0.is_zero() && lp.0 < total_lp);

    let once = open(&mut direct, r#""equity1":"10000000000","borrow1":"20000000000""#);
    let once_lp = direct.positions().find(|p| p.id == once).unwrap().lp;
    // Two zaps swap 5,000 and 10,000 where one swaps 15,000: each pays the 0.25% fee on its
    // half, and price impact grows with the size, so the two-step position holds no more, and
    // within 0.02% as much.
    assert!(total_lp <= once_lp, "{total_lp} > {once_lp}");
    assert!(close_to(total_lp, once_lp, 200), "{total_lp} vs {once_lp}");
    let once_health = direct.position_health(once).unwrap();
    assert!(close_to(health.value, once_health.value, 200));
    assert_eq!(health.leverage_bps / 100, once_health.leverage_bps / 100);
}

#[test]
fn reinvest_compounds_farm_rewards_and_pays_the_bounty() {
    let mut m = market("exit");
    let id = open(&mut m, r#""equity1":"10000000000","borrow1":"20000000000""#);
    let lp_before = m.positions().next().unwrap().lp;
    // One day: 86,400 RWD emitted; alice's position is the only staker.
    run(&mut m, r#"{"op":"advance_time","seconds":86400}"#);
    let events =
        apply(&mut m, &format!(r#"{{"op":"reinvest","caller":"bot","position":{id}}}"#)).unwrap();
    let Some(Event::Reinvested { rewards, bounty, lp_added, .. }) = events.last().cloned() else {
        panic!("{events:?}")
    };
    // acc = 86,400e18 · 1e18 / lp rounds down, so the position gets at most 86,400 RWD.
    assert!(
        rewards.0 <= u256("86400000000000000000000") && rewards.0 > u256("86399999000000000000000"),
        "{rewards}"
    );
    assert_eq!(bounty.0, rewards.0 * U256::from(900) / U256::from(10_000));
    assert_eq!(m.balance(&Holder::Account("bot".into()), "RWD"), bounty.0);
    assert_eq!(m.positions().next().unwrap().lp, lp_before + lp_added.0);
    assert!(lp_added.0 > U256::ZERO);
}
