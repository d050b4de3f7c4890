//! Protection orders end to end through the market: placed, run by keepers against worked
//! numbers, ended by their position's close, and always ahead of the liquidators.

mod common;

use common::{apply, fund, run, u256};
use levfarm_core::math::U256;
use levfarm_core::orders::OrderStatus;
use levfarm_core::{Error, Event, Holder, Market};

/// WETH/USDC at 2000 in a 1000 WETH constant-product pool at the oracle valuation, work factor
/// 75%, kill factor 85%; alice holds 100,000 USDC and 50 WETH.
fn market() -> Market {
    let rules = r#""fee_bps":25,"leverage":{"work_factor_bps":7500,"kill_factor_bps":8500,"kill_prize_bps":100,"kill_treasury_bps":400,"reinvest_bounty_bps":900,"min_debt":"1000","valuation":"oracle"}"#;
    let mut m = common::farm_market("ETH-USDC", rules, "1000000000000000000", 1900);
    run(&mut m, &fund(&["alice"], "100000000000", "50000000000000000000"));
    m
}

/// 10,000 USDC at 3x long: 20,000 USDC borrowed.
fn open_long(m: &mut Market) -> u64 {
    let events = apply(
        m,
        r#"{"op":"open_position","owner":"alice","pool":"ETH-USDC","equity1":"10000000000","borrow1":"20000000000"}"#,
    )
    .unwrap();
    common::opened(&events)
}

/// A top-up at a 75% debt ratio toward 65%, from a reserve of 1,500 USDC.
const TOP_UP_1500: &str =
    r#"{"kind":"top_up","trigger_bps":7500,"target_bps":6500,"reserve":"1500000000"}"#;

fn place(m: &mut Market, position: u64, order: &str) -> Result<u64, Error> {
    let line =
        format!(r#"{{"op":"place_order","caller":"alice","position":{position},"order":{order}}}"#);
    let events = apply(m, &line)?;
    match events.last() {
        Some(Event::OrderPlaced { order, .. }) => Ok(*order),
        other => panic!("{other:?}"),
    }
}
fn keepers(m: &mut Market) -> Vec<Event> {
    apply(m, r#"{"op":"run_keepers","keeper":"bot"}"#).unwrap()
}

fn acted(events: &[Event]) -> Vec<(u64, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::OrderActed { order, kind, .. } => Some((*order, kind.clone())),
            _ => None,
        })
        .collect()
}

fn is_open(m: &Market, id: u64) -> bool {
    m.positions().any(|p| p.id == id && p.open)
}

fn alice(m: &Market, token: &str) -> U256 {
    m.balance(&Holder::Account("alice".into()), token)
}

#[test]
fn a_stop_loss_closes_at_its_price_into_the_stable_token_and_ends_the_other_orders() {
    let mut m = market();
    let id = open_long(&mut m);
    let weth = alice(&m, "WETH");
    let stop = place(&mut m, id, r#"{"kind":"stop_loss","trigger":{"below":"1800"}}"#).unwrap();
    let take = place(&mut m, id, r#"{"kind":"take_profit","trigger":{"above":"2600"}}"#).unwrap();
    common::move_price(&mut m, "ETH-USDC", "1800.000000000000000001");
    assert!(acted(&keepers(&mut m)).is_empty());
    let usdc = alice(&m, "USDC");
    common::move_price(&mut m, "ETH-USDC", "1800");
    let events = keepers(&mut m);
    assert_eq!(acted(&events), vec![(stop, "stop_loss".to_string())]);
    assert!(!is_open(&m, id));
    assert!(events.iter().any(|e| matches!(e, Event::OrderEnded { order, .. } if *order == take)));
    assert_eq!(m.order(stop).unwrap().status, OrderStatus::Done);
    assert_eq!(m.order(take).unwrap().status, OrderStatus::Ended);
    // A long's close converts everything to the USDC it owes: nothing comes back in WETH.
    // Opened worth ≈ 29,858 (30,000 less the zap's swap), at -10% it is 29,858·√0.9 = 28,326
    // against 20,000 of debt; selling its WETH half costs the 0.25% fee and about 0.7% of
    // price impact: 8,326 less some 130 comes back.
    assert_eq!(alice(&m, "WETH"), weth);
    let back = alice(&m, "USDC") - usdc;
    assert!(back > u256("8150000000") && back < u256("8326000000"), "{back}");
    // Nothing is left to act on: the keepers have no more orders to run.
    assert!(m.keeper_sequence().is_empty());
}

#[test]
fn a_stop_loss_on_a_short_sells_the_returned_asset() {
    let mut m = market();
    // 5 WETH at 3x short: 10 WETH borrowed. Closing converts to WETH, the debt token, and
    // the stop sells what came back for USDC: out means out.
    let events = apply(
        &mut m,
        r#"{"op":"open_position","owner":"alice","pool":"ETH-USDC","equity0":"5000000000000000000","borrow0":"10000000000000000000"}"#,
    )
    .unwrap();
    let id = common::opened(&events);
    let weth = alice(&m, "WETH");
    place(&mut m, id, r#"{"kind":"stop_loss","trigger":{"above":"2200"}}"#).unwrap();
    common::move_price(&mut m, "ETH-USDC", "2200");
    let events = keepers(&mut m);
    assert_eq!(acted(&events).len(), 1);
    assert_eq!(alice(&m, "WETH"), weth, "the returned WETH was sold");
    assert!(events.iter().any(|e| matches!(e, Event::Swapped { .. })));
}

#[test]
fn protection_runs_before_the_liquidator_in_the_same_keeper_run() {
    let mut m = market();
    let id = open_long(&mut m);
    let order =
        place(&mut m, id, r#"{"kind":"deleverage","trigger_bps":8000,"target_bps":6000}"#).unwrap();
    // At 1200 the position is worth ≈ 30,000·√0.6 = 23,238 against 20,000: 86%, past the
    // 85% kill factor. The order runs first and brings it to 60%: no liquidation.
    common::move_price(&mut m, "ETH-USDC", "1200");
    assert!(m.position_health(id).unwrap().debt_ratio_bps > 8500);
    let events = keepers(&mut m);
    assert_eq!(acted(&events), vec![(order, "deleverage".to_string())]);
    assert!(!events.iter().any(|e| matches!(e, Event::PositionLiquidated(_))));
    let health = m.position_health(id).unwrap();
    // Removing f = (D − 0.6V)/(0.4V) of it repays debt with all of it; selling its WETH half
    // through the pool costs fee and impact the formula leaves out, so it lands a little above
    // 60% (60.5%), far from the kill factor.
    assert!((6_000..=6_100).contains(&health.debt_ratio_bps), "{health:?}");
    assert!(is_open(&m, id));
}

#[test]
fn an_order_never_acts_after_its_position_is_liquidated() {
    let mut m = market();
    let id = open_long(&mut m);
    let stop = place(&mut m, id, r#"{"kind":"stop_loss","trigger":{"below":"1000"}}"#).unwrap();
    common::move_price(&mut m, "ETH-USDC", "1200");
    let events = keepers(&mut m);
    assert!(acted(&events).is_empty());
    assert!(events.iter().any(|e| matches!(e, Event::PositionLiquidated(_))));
    assert_eq!(m.order(stop).unwrap().status, OrderStatus::Ended);
    common::move_price(&mut m, "ETH-USDC", "900");
    assert!(acted(&keepers(&mut m)).is_empty());
    let again = apply(&mut m, &format!(r#"{{"op":"run_order","keeper":"bot","order":{stop}}}"#));
    assert!(again.is_err(), "{again:?}");
}

#[test]
fn a_trailing_stop_closes_a_tenth_below_the_high() {
    let mut m = market();
    let id = open_long(&mut m);
    let trail =
        place(&mut m, id, r#"{"kind":"trailing_stop","trail":{"price_fall_bps":1000}}"#).unwrap();
    for price in ["2200", "2400", "2200", "2161"] {
        common::move_price(&mut m, "ETH-USDC", price);
        assert!(acted(&keepers(&mut m)).is_empty(), "at {price}");
    }
    // The high was 2400; 10% below it is 2160.
    assert_eq!(m.order(trail).unwrap().best.unwrap().0.to_string(), "2400000000000000000000");
    common::move_price(&mut m, "ETH-USDC", "2160");
    assert_eq!(acted(&keepers(&mut m)), vec![(trail, "trailing_stop".to_string())]);
    assert!(!is_open(&m, id));
}

#[test]
fn a_time_limit_closes_at_its_time() {
    let mut m = market();
    let id = open_long(&mut m);
    let at = m.time + 86_400;
    let limit = place(&mut m, id, &format!(r#"{{"kind":"time_limit","at":{at}}}"#)).unwrap();
    run(&mut m, r#"{"op":"advance_time","seconds":86399}"#);
    assert!(acted(&keepers(&mut m)).is_empty());
    run(&mut m, r#"{"op":"advance_time","seconds":1}"#);
    assert_eq!(acted(&keepers(&mut m)), vec![(limit, "time_limit".to_string())]);
    assert!(!is_open(&m, id));
    let other = open_long(&mut m);
    let past = place(&mut m, other, &format!(r#"{{"kind":"time_limit","at":{}}}"#, at - 1));
    assert!(past.is_err());
}

#[test]
fn a_rebalance_below_its_band_borrows_more_into_the_same_position() {
    let mut m = market();
    let id = open_long(&mut m);
    place(&mut m, id, r#"{"kind":"rebalance","target_leverage_bps":30000,"band_bps":1000}"#)
        .unwrap();
    // Opened worth ≈ 29,858 (30,000 less the zap's swap), at 3000 it is 29,858·√1.5 = 36,568:
    // equity 16,568, leverage 2.21x, under 2.7x. Back to 3x borrows 3·E − V of USDC.
    common::move_price(&mut m, "ETH-USDC", "3000");
    let before = m.position_health(id).unwrap();
    assert!(before.leverage_bps > 22_000 && before.leverage_bps < 22_150, "{before:?}");
    let equity = before.value - before.debt_value;
    let wanted = equity * U256::from(3u64) - before.value;
    let events = keepers(&mut m);
    let borrowed = events.iter().find_map(|e| match e {
        Event::BorrowedMore { position, borrowed1, .. } if *position == id => Some(borrowed1.0),
        _ => None,
    });
    // USDC has 6 decimals, the values 18: the borrow is the value over 1e12, rounded down.
    assert_eq!(borrowed, Some(wanted / U256::from(1_000_000_000_000u64)));
    assert!(wanted > u256("13100000000000000000000") && wanted < u256("13200000000000000000000"));
    let after = m.position_health(id).unwrap();
    // 3x to within the zap's cost and the pool's move off the oracle: well inside the band.
    assert!(after.leverage_bps > 29_700 && after.leverage_bps < 30_300, "{after:?}");
    assert!(is_open(&m, id));
    // Above the band it deleverages back toward 3x.
    common::move_price(&mut m, "ETH-USDC", "2000");
    let events = keepers(&mut m);
    assert!(events.iter().any(|e| matches!(e, Event::PositionClosed { fully: false, .. })));
    let lev = m.position_health(id).unwrap().leverage_bps;
    // At 2000 it stood at 5.5x; the exit swap's cost leaves it a hair above 3x.
    assert!((30_000..=30_300).contains(&lev), "{lev}");
}

#[test]
fn a_top_up_adds_from_the_wallet_to_its_target_within_its_reserve() {
    let mut m = market();
    let id = open_long(&mut m);
    let order = place(&mut m, id, TOP_UP_1500).unwrap();
    // At 1500: value ≈ 30,000·√0.75 = 25,981, debt 20,000: 77%. Reaching 65% needs
    // 20,000/0.65 − 25,981 = 4,788 USDC, more than the 1,500 reserve: it adds the 1,500.
    common::move_price(&mut m, "ETH-USDC", "1500");
    let usdc = alice(&m, "USDC");
    let events = keepers(&mut m);
    assert_eq!(acted(&events), vec![(order, "top_up".to_string())]);
    // All of the reserve went in, but for the zap's dust of a unit or two swept back.
    let paid = usdc - alice(&m, "USDC");
    assert!(paid <= u256("1500000000") && paid > u256("1499999990"), "{paid}");
    let o = m.order(order).unwrap();
    assert_eq!(o.reserve_left.unwrap().0, U256::ZERO);
    assert_eq!(o.status, OrderStatus::Done);
}

#[test]
fn an_order_the_engine_refuses_is_skipped_with_its_reason_and_changes_nothing() {
    let mut m = market();
    let id = open_long(&mut m);
    // A top-up from a wallet that holds nothing: due, but nothing to add.
    run(
        &mut m,
        r#"{"op":"transfer","from":"alice","to":"bob","token":"USDC","amount":"90000000000"}"#,
    );
    let order = place(&mut m, id, TOP_UP_1500).unwrap();
    common::move_price(&mut m, "ETH-USDC", "1500");
    let before = m.position_health(id).unwrap();
    let events = keepers(&mut m);
    let reason = events.iter().find_map(|e| match e {
        Event::OrderSkipped { order: o, reason, .. } if *o == order => Some(reason.clone()),
        _ => None,
    });
    let reason = reason.expect("skipped");
    assert!(reason.contains("debt ratio 77.") && reason.contains("wallet"), "{reason}");
    assert_eq!(m.position_health(id).unwrap(), before);
    assert_eq!(m.order(order).unwrap().fired, 0);
}

#[test]
fn orders_are_the_owners_to_place_and_cancel_and_bad_ones_are_refused() {
    let mut m = market();
    let id = open_long(&mut m);
    let mallory = apply(
        &mut m,
        &format!(
            r#"{{"op":"place_order","caller":"mallory","position":{id},"order":{{"kind":"compound","every_seconds":3600}}}}"#
        ),
    );
    assert!(matches!(mallory, Err(Error::NotOwner { .. })), "{mallory:?}");
    let bad = place(&mut m, id, r#"{"kind":"deleverage","trigger_bps":8000,"target_bps":9000}"#);
    assert!(bad.unwrap_err().to_string().contains("target_bps"));
    let foreign =
        place(&mut m, id, r#"{"kind":"stop_loss","trigger":{"below":"1"},"exit_to":"RWD"}"#);
    assert!(foreign.is_err());
    let recenter = place(&mut m, id, r#"{"kind":"recenter"}"#);
    assert!(recenter.unwrap_err().to_string().contains("range"));
    let stop = place(&mut m, id, r#"{"kind":"stop_loss","trigger":{"below":"1900"}}"#).unwrap();
    let theft =
        apply(&mut m, &format!(r#"{{"op":"cancel_order","caller":"mallory","order":{stop}}}"#));
    assert!(theft.is_err());
    apply(&mut m, &format!(r#"{{"op":"cancel_order","caller":"alice","order":{stop}}}"#)).unwrap();
    common::move_price(&mut m, "ETH-USDC", "1500");
    assert!(acted(&keepers(&mut m)).is_empty());
    assert!(is_open(&m, id));
    assert_eq!(m.order(stop).unwrap().status, OrderStatus::Cancelled);
}

#[test]
fn compounding_comes_due_on_its_schedule() {
    let mut m = market();
    let id = open_long(&mut m);
    let order = place(&mut m, id, r#"{"kind":"compound","every_seconds":86400}"#).unwrap();
    let lp = m.positions().find(|p| p.id == id).unwrap().lp;
    run(&mut m, r#"{"op":"advance_time","seconds":86399}"#);
    assert!(acted(&keepers(&mut m)).is_empty());
    run(&mut m, r#"{"op":"advance_time","seconds":1}"#);
    let events = keepers(&mut m);
    assert_eq!(acted(&events), vec![(order, "compound".to_string())]);
    // A day of the farm's 1 RWD a second, all of it the position's, less the 9% bounty the
    // keeper earns.
    let bounty = events.iter().find_map(|e| match e {
        Event::Reinvested { rewards, bounty, .. } => Some((rewards.0, bounty.0)),
        _ => None,
    });
    let (rewards, bounty) = bounty.expect("reinvested");
    assert_eq!(bounty, rewards * U256::from(900u64) / U256::from(10_000u64));
    assert_eq!(m.balance(&Holder::Account("bot".into()), "RWD"), bounty);
    assert!(m.positions().find(|p| p.id == id).unwrap().lp > lp);
    assert_eq!(m.order(order).unwrap().last_run, m.time);
}

/// The position's own equity with WETH at `price` (numeraire 1e18): its tokens at that oracle
/// price, its rewards, less its debt.
fn equity_at(m: &Market, id: u64, price: U256) -> alloy_primitives::I256 {
    let mut inventory = m.position_inventory(id).unwrap();
    inventory.quotes[0].price_wad = price;
    let reward = inventory.rewards.clone().map(|(t, a)| (m.quote(&t).unwrap(), a));
    inventory.equity(reward).unwrap()
}

#[test]
fn an_equity_stop_acts_inside_the_bar_where_its_level_is_met() {
    use levfarm_core::market::{BarPath, KeeperTiming, RaceOutcome};
    let mut m = market();
    let id = open_long(&mut m);
    let stop =
        place(&mut m, id, r#"{"kind":"stop_loss","trigger":{"equity_loss_bps":3000}}"#).unwrap();
    let reference = m.order(stop).unwrap().reference_equity.0;
    // A bar from 2000 down to 1500 and back to 1950: the close alone loses less than 30%.
    let wad = |v: u64| U256::from(v) * levfarm_core::math::WAD;
    let bar = BarPath {
        from: wad(2000),
        low: wad(1500),
        high: wad(2000),
        close: wad(1950),
        seconds: 3600,
    };
    let i = |v: i64| alloy_primitives::I256::try_from(v).unwrap();
    assert!(equity_at(&m, id, bar.close) * i(10) > reference * i(7), "the close is above the stop");
    let now = KeeperTiming { latency_secs: 0, failed: false };
    let RaceOutcome::Protection { order, price, .. } = m.race(id, &bar, &now).unwrap() else {
        panic!("the stop acts inside the bar")
    };
    assert_eq!(order, stop);
    // The path's price at the first whole second at or past the point where the equity is 30%
    // below its reference: met there, not yet one second's move (500/1,800 a second) earlier.
    let level = |p: U256| {
        let lost = reference - equity_at(&m, id, p);
        lost * i(10_000) >= reference * i(3_000)
    };
    let second = wad(500) / U256::from(1800u64);
    assert!(level(price) && !level(price + second), "{price}");
    // By hand: a 3x long's equity is V·√(p/2000) − D, so 30% of ~10,000 is lost near
    // 2000·((0.7·E + D)/V)² ≈ 1,617.
    let p = price.to::<u128>() as f64 / 1e18;
    assert!((1_600.0..1_640.0).contains(&p), "{p}");
    // A keeper a whole bar late misses it: nothing acts inside the bar.
    let late = KeeperTiming { latency_secs: 3600, failed: false };
    assert_eq!(m.race(id, &bar, &late).unwrap(), RaceOutcome::Quiet);
}

#[test]
fn a_time_limit_inside_the_bar_races_the_liquidator() {
    use levfarm_core::market::{BarPath, KeeperTiming, RaceOutcome};
    let wad = |v: u64| U256::from(v) * levfarm_core::math::WAD;
    // A crash bar: 2000 down to 1200 over the first half hour, back to 1300. The 3x long's
    // debt ratio passes the 85% kill factor near 2000·(2/3 / 0.85)² ≈ 1,230, about 1,730 s in.
    let bar = BarPath {
        from: wad(2000),
        low: wad(1200),
        high: wad(2000),
        close: wad(1300),
        seconds: 3600,
    };
    let keeper = KeeperTiming { latency_secs: 60, failed: false };
    let outcome = |limit_after: u64| {
        let mut m = market();
        let id = open_long(&mut m);
        let at = m.time + limit_after;
        let order = place(&mut m, id, &format!(r#"{{"kind":"time_limit","at":{at}}}"#)).unwrap();
        run(&mut m, r#"{"op":"advance_time","seconds":3600}"#);
        (order, m.race(id, &bar, &keeper).unwrap())
    };
    // Due 1,000 s in: its keeper lands at 1,060 s, at 2000 − 800·1060/1800 ≈ 1,528.9.
    let (order, early) = outcome(1000);
    let RaceOutcome::Protection { order: acted, price, at_secs } = early else {
        panic!("{early:?}")
    };
    assert_eq!((acted, at_secs), (order, 1060));
    let p = price.to::<u128>() as f64 / 1e18;
    assert!((p - (2000.0 - 800.0 * 1060.0 / 1800.0)).abs() < 1e-6, "{p}");
    // Due 1,700 s in: the keeper would land at 1,760 s, after the liquidator.
    let (_, late) = outcome(1700);
    let RaceOutcome::Liquidation { price, at_secs } = late else { panic!("{late:?}") };
    assert!((1700..1760).contains(&at_secs), "{at_secs}");
    let p = price.to::<u128>() as f64 / 1e18;
    assert!((1_200.0..1_260.0).contains(&p), "{p}");
}
