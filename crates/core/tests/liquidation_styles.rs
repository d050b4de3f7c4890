//! Liquidation styles other than the kill, through `Market::apply`: Aave v3's close factor
//! (50% of the debt while the health factor is above 0.95, all of it below, all of it for a
//! small position, with a bonus) and Kamino's soft liquidation (a capped share with a small
//! penalty). Each seizure is checked against its formula, to the unit, from the health the
//! liquidation started from.

mod common;

use common::{apply, run, WETH_USDC};
use levfarm_core::market::event::PositionPartlyLiquidated;
use levfarm_core::math::U256;
use levfarm_core::position::valuation::PositionHealth;
use levfarm_core::{Error, Event, Market};

/// The common market, its positions valued at the oracle, work 70%, kill 83.33%, no treasury
/// fee, liquidated in `style`.
fn market(style: &str) -> Market {
    common::eth_usdc_market_with(&format!(
        r#"{{"work_factor_bps":7000,"kill_factor_bps":8333,"kill_prize_bps":100,"kill_treasury_bps":0,"valuation":"oracle","liquidation":{style}}}"#
    ))
}

const AAVE: &str = r#"{"style":"close_factor","close_factor_bps":5000,"full_below_health_bps":9500,"bonus_bps":500,"small_value":"2000000000000000000000"}"#;

/// Alice: `equity` USDC and `borrow` USDC more, long ETH.
fn open(m: &mut Market, equity: &str, borrow: &str) -> u64 {
    run(
        m,
        &format!(
            r#"{{"op":"open_position","owner":"alice","pool":"ETH-USDC","equity1":"{equity}","borrow1":"{borrow}"}}"#
        ),
    );
    m.positions().last().unwrap().id
}

fn move_eth(m: &mut Market, price: &str) {
    apply(m, &format!(r#"{{"op":"set_price","token":"WETH","price":"{price}"}}"#)).unwrap();
    apply(m, r#"{"op":"arbitrage","account":"arb","pool":"ETH-USDC"}"#).unwrap();
}

fn liquidate(m: &mut Market, id: u64) -> PositionPartlyLiquidated {
    let events =
        apply(m, &format!(r#"{{"op":"liquidate","liquidator":"keeper","position":{id}}}"#))
            .unwrap();
    events
        .iter()
        .find_map(|e| match e {
            Event::PositionPartlyLiquidated(p) => Some((**p).clone()),
            _ => None,
        })
        .expect("a partial liquidation")
}

fn lp_of(m: &Market, id: u64) -> U256 {
    m.positions().find(|p| p.id == id).unwrap().lp
}

/// A long of `equity` and `borrow` USDC opened under `style`, then ETH moved to `eth`: the
/// market, the position, its LP and its health before any liquidation.
fn fallen(
    style: &str,
    equity: &str,
    borrow: &str,
    eth: &str,
) -> (Market, u64, U256, PositionHealth) {
    let mut m = market(style);
    let id = open(&mut m, equity, borrow);
    move_eth(&mut m, eth);
    let lp = lp_of(&m, id);
    let before = m.position_health(id).unwrap();
    (m, id, lp, before)
}

/// `⌊lp · ⌊debt_value · share · (1 + bonus) / 10⁸⌋ / value⌋`: LP worth the repaid share of the
/// debt plus the bonus, at the check's valuation.
fn seized(lp: U256, value: U256, debt_value: U256, share: u64, bonus: u64) -> U256 {
    let worth = debt_value * U256::from(share * (10_000 + bonus)) / U256::from(100_000_000u64);
    lp * worth / value
}

#[test]
fn a_close_factor_repays_half_above_the_threshold_and_all_below() {
    // At 1200 the 3x long owes ~86.5% of its value: past 83.33%, health factor 0.963 > 0.95.
    let (mut m, id, lp, before) = fallen(AAVE, "10000000000", "20000000000", "1200");
    let hf = before.value * U256::from(8_333u64) / before.debt_value;
    assert!((9_500..10_000).contains(&hf.to::<u64>()), "health factor {hf} bps");
    let p = liquidate(&mut m, id);
    assert_eq!(p.health_before, before);
    assert_eq!(p.lp_seized.0, seized(lp, before.value, before.debt_value, 5_000, 500));
    // What the seized LP realised, all in USDC: half the debt repaid exactly, the rest (up to
    // the bonus's 500/10,500 of it) to the liquidator, who bears the sale's fee and impact.
    let back = p.prize1.0 + p.treasury_fee1.0 + p.repaid1.0 + p.returned1.0;
    assert_eq!(p.repaid1.0, before.debt[1] * U256::from(5_000u64) / U256::from(10_000u64));
    let bonus = back * U256::from(500u64) / U256::from(10_500u64);
    assert_eq!(p.prize1.0, bonus.min(back - p.repaid1.0));
    assert!(p.prize1.0 < bonus, "the sale's costs come out of the bonus");
    assert_eq!(p.treasury_fee1.0, U256::ZERO);
    assert_eq!((p.prize0.0, p.repaid0.0, p.returned0.0), (U256::ZERO, U256::ZERO, U256::ZERO));
    assert!(!p.closed && p.bad_debt1.0.is_zero());
    let after = m.position_health(id).unwrap();
    assert!(after.debt_ratio_bps < before.debt_ratio_bps, "{after:?}");
    assert_eq!(after.debt[1], before.debt[1] - p.repaid1.0);

    // Below a 0.95 health factor all of the debt may go: at 1050 it does, and the position keeps
    // the LP the seizure did not need (as an Aave user keeps the collateral left).
    let (mut m, id, lp, before) = fallen(AAVE, "10000000000", "20000000000", "1050");
    let hf = before.value * U256::from(8_333u64) / before.debt_value;
    assert!(hf < U256::from(9_500u64), "{hf}");
    let p = liquidate(&mut m, id);
    assert_eq!(p.lp_seized.0, seized(lp, before.value, before.debt_value, 10_000, 500));
    assert!(p.lp_seized.0 < lp && !p.closed);
    assert!(p.repaid1.0 <= before.debt[1]);
}

/// Aave v3.3: a position under 2,000 of debt is liquidated whole; a larger one by half.
#[test]
fn a_small_position_is_liquidated_whole() {
    let (mut m, id, lp, before) = fallen(AAVE, "750000000", "1500000000", "1200");
    assert!(before.debt_value < U256::from(2_000u64) * U256::from(10u64).pow(U256::from(18u64)));
    let p = liquidate(&mut m, id);
    assert_eq!(p.lp_seized.0, seized(lp, before.value, before.debt_value, 10_000, 500));

    // 3,000 of debt: half leaves 1,500 of debt and ~1,930 of value, both ≥ 1,000, so half it
    // is; 1,900 is a small position: all of it.
    for (borrow, whole) in [("3000000000", false), ("1900000000", true)] {
        let equity = (borrow.parse::<u64>().unwrap() / 2).to_string();
        let (mut m, id, lp, before) = fallen(AAVE, &equity, borrow, "1200");
        let p = liquidate(&mut m, id);
        let share = if whole { 10_000 } else { 5_000 };
        assert_eq!(p.lp_seized.0, seized(lp, before.value, before.debt_value, share, 500));
        let left = m.position_health(id).unwrap();
        assert_eq!(left.debt[1].is_zero(), whole, "{borrow}: {left:?}");
    }
}

/// Kamino's soft liquidation: 10% of the debt and a 0.1% penalty a call; the position stays
/// open past the kill factor for the next.
#[test]
fn a_soft_liquidation_takes_a_capped_share_with_a_small_penalty() {
    let soft = r#"{"style":"soft","max_share_bps":1000,"penalty_bps":10}"#;
    let (mut m, id, lp, before) = fallen(soft, "10000000000", "20000000000", "1200");
    let p = liquidate(&mut m, id);
    assert_eq!(p.lp_seized.0, seized(lp, before.value, before.debt_value, 1_000, 10));
    let back = p.prize1.0 + p.repaid1.0 + p.returned1.0;
    assert_eq!(p.repaid1.0, before.debt[1] * U256::from(1_000u64) / U256::from(10_000u64));
    let penalty = back * U256::from(10u64) / U256::from(10_010u64);
    assert_eq!(p.prize1.0, penalty.min(back - p.repaid1.0));
    // Still past the kill factor: the next call takes another tenth.
    let p2 = liquidate(&mut m, id);
    assert!(!p2.closed && p2.repaid1.0 > U256::ZERO);
}

/// A bonus that with the kill factor reaches 100% would leave a liquidated position worse off:
/// refused, as Aave refuses a threshold × bonus over 100%; so are shares out of range.
#[test]
fn styles_out_of_range_are_refused() {
    for (style, field) in [
        (
            r#"{"style":"close_factor","close_factor_bps":5000,"full_below_health_bps":9500,"bonus_bps":2100,"small_value":"0"}"#,
            "bonus_bps",
        ),
        (
            r#"{"style":"close_factor","close_factor_bps":0,"full_below_health_bps":9500,"bonus_bps":500,"small_value":"0"}"#,
            "close_factor_bps",
        ),
        (r#"{"style":"soft","max_share_bps":20000,"penalty_bps":10}"#, "max_share_bps"),
        (r#"{"style":"soft","max_share_bps":1000,"penalty_bps":1000}"#, "penalty_bps"),
    ] {
        let mut m = Market::new();
        run(&mut m, WETH_USDC);
        let r = apply(
            &mut m,
            &format!(
                r#"{{"op":"create_pool","pool":"P","token0":"WETH","token1":"USDC","fee_bps":30,"leverage":{{"work_factor_bps":7000,"kill_factor_bps":8333,"liquidation":{style}}}}}"#
            ),
        );
        assert!(
            matches!(&r, Err(Error::InvalidConfig { field: f, .. }) if *f == field),
            "{style}: {r:?}"
        );
    }
}
