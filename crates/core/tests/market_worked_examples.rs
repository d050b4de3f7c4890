//! Worked examples through `Market::apply`, with the arithmetic in comments.

mod common;

use common::{apply, assert_conserved, run, u256, AAVE_MODEL, WETH_USDC};
use levfarm_core::market::event::PositionLiquidated;
use levfarm_core::math::{RAY, U256};
use levfarm_core::{Error, Event, Holder, Market};

fn acct(name: &str) -> Holder {
    Holder::Account(name.into())
}

/// WETH (18 decimals) at 2000, USDC (6) at 1; a 1000 WETH / 2,000,000 USDC pool with a 0.3% fee,
/// work factor 70%, kill factor 83.33%, 1% prize, 4% treasury; 1,000,000 USDC to lend.
fn eth_usdc_market(valuation: &str) -> Market {
    common::eth_usdc_market_with(&format!(
        r#"{{"work_factor_bps":7000,"kill_factor_bps":8333,"kill_prize_bps":100,"kill_treasury_bps":400,"valuation":"{valuation}"}}"#
    ))
}

/// Alice: 10,000 USDC equity + 20,000 USDC borrowed = 3x long ETH.
fn open_3x_long(m: &mut Market) -> u64 {
    run(
        m,
        r#"{"op":"open_position","owner":"alice","pool":"ETH-USDC","equity1":"10000000000","borrow1":"20000000000"}"#,
    );
    1
}

fn move_eth(m: &mut Market, price: &str) {
    apply(m, &format!(r#"{{"op":"set_price","token":"WETH","price":"{price}"}}"#)).unwrap();
    apply(m, r#"{"op":"arbitrage","account":"arb","pool":"ETH-USDC"}"#).unwrap();
}

#[test]
fn a_3x_long_crosses_the_kill_factor_after_a_price_drop() {
    let mut m = eth_usdc_market("oracle");
    let id = open_3x_long(&mut m);
    let health = m.position_health(id).unwrap();
    // 30,000 USDC zapped in: ~15,000 is swapped to WETH, paying 0.3% (~45) and ~0.37% of price
    // impact (~56) in a 2,000,000 USDC pool, which it also leaves ~0.75% above the oracle, so the
    // fair value of the LP is ~29,844; the debt is 20,000.
    // DR = 20,000 / 29,844 = 67.0%, within the 70% work factor; leverage 29,844 / 9,844 = 3.03x.
    let value = health.value_oracle / U256::from(10u64.pow(18));
    assert!((29_800..29_900).contains(&value.to::<u64>()), "{health:?}");
    assert_eq!(health.debt, [U256::ZERO, u256("20000000000")]);
    assert!((6695..6710).contains(&health.debt_ratio_bps), "{health:?}");
    assert!((30_250..30_400).contains(&health.leverage_bps), "{health:?}");

    // Closed form, oracle valuation, debt in USDC: m = (D / (KF·V0))² = (20,000 / (0.8333·29,844))²
    // = 0.6468, so the position dies once ETH falls below 2000 · 0.6468 ≈ 1293.5.
    let prices = m.liquidation_prices(id).unwrap();
    let lower =
        prices.lower.expect("a long has a lower liquidation price") / U256::from(10u64.pow(16));
    assert!((129_200..129_500).contains(&lower.to::<u64>()), "{prices:?}");
    assert_eq!(prices.upper, None, "debt only in USDC: rising ETH never liquidates");

    // At 1320 the position survives: DR = 20,000 / (29,844 · √0.66) ≈ 82.5% < 83.33%.
    move_eth(&mut m, "1320");
    let refused = apply(&mut m, r#"{"op":"liquidate","liquidator":"keeper","position":1}"#);
    assert!(matches!(refused, Err(Error::NotLiquidatable { .. })), "{refused:?}");
    // At 1250: DR ≈ 20,000 / (29,844 · √0.625) ≈ 84.8% > 83.33%: killed.
    move_eth(&mut m, "1250");
    let events = apply(&mut m, r#"{"op":"liquidate","liquidator":"keeper","position":1}"#).unwrap();
    let Some(Event::PositionLiquidated(liquidated)) = events.last().cloned() else {
        panic!("{events:?}")
    };
    let PositionLiquidated { repaid1, bad_debt1, prize1, treasury_fee1, returned1, prize0, .. } =
        *liquidated;
    // Everything was sold into USDC, so the bounty is all USDC: 1% and 4% of what came back.
    assert_eq!(prize0.0, U256::ZERO);
    let back = prize1.0 + treasury_fee1.0 + repaid1.0 + returned1.0;
    assert_eq!(prize1.0, back / U256::from(100));
    assert_eq!(treasury_fee1.0, back * U256::from(400) / U256::from(10_000));
    assert_eq!(repaid1.0, u256("20000000000"), "the whole debt is repaid");
    assert_eq!(bad_debt1.0, U256::ZERO);
    assert!(returned1.0 > U256::ZERO, "the owner keeps what is left");
    assert_eq!(m.balance(&acct("keeper"), "USDC"), prize1.0);
    assert_eq!(m.lending("USDC").unwrap().debt_of(&Holder::Position(id)).unwrap(), U256::ZERO);
    assert_conserved(&m);
}

#[test]
fn a_loss_beyond_the_equity_leaves_bad_debt_to_lenders() {
    let mut m = eth_usdc_market("exit");
    let id = open_3x_long(&mut m);
    // ETH falls 75% before anyone liquidates: V ≈ 29,9xx · √0.25 ≈ 14,95x < 20,000 of debt.
    move_eth(&mut m, "500");
    let health = m.position_health(id).unwrap();
    assert!(health.value < health.debt_value, "{health:?}");
    let events = apply(&mut m, r#"{"op":"liquidate","liquidator":"keeper","position":1}"#).unwrap();
    let Some(Event::PositionLiquidated(liquidated)) = events.last().cloned() else {
        panic!("{events:?}")
    };
    let PositionLiquidated { repaid1, bad_debt1, returned1, returned0, .. } = *liquidated;
    // What came back, less 5% of bounty and fee, all repays; the rest of the 20,000 is bad debt.
    assert_eq!(repaid1.0 + bad_debt1.0, u256("20000000000"));
    assert!(bad_debt1.0 > u256("5000000000"), "{bad_debt1}");
    assert_eq!(
        (returned0.0, returned1.0),
        (U256::ZERO, U256::ZERO),
        "nothing is left for the owner"
    );
    let usdc = m.lending("USDC").unwrap();
    assert_eq!(usdc.bad_debt, bad_debt1.0);
    assert_eq!(usdc.total_debt().unwrap(), U256::ZERO);
    // The lenders' claims now exceed the pool's cash: the last of them cannot withdraw in full.
    let claims = usdc.supply_balance(&acct("lender")).unwrap();
    assert!(claims > usdc.cash, "lenders bear the loss");
    let refused = apply(&mut m, r#"{"op":"withdraw","account":"lender","token":"USDC"}"#);
    assert!(matches!(refused, Err(Error::InsufficientCash { .. })), "{refused:?}");
    assert_conserved(&m);
}

#[test]
fn a_rejected_command_changes_nothing() {
    let mut m = eth_usdc_market("exit");
    let before = m.clone();
    // 10,000 equity + 40,000 debt = 5x: DR ≈ 80% > the 70% work factor.
    let refused = apply(
        &mut m,
        r#"{"op":"open_position","owner":"alice","pool":"ETH-USDC","equity1":"10000000000","borrow1":"40000000000"}"#,
    );
    assert!(
        matches!(refused, Err(Error::DebtRatioTooHigh { work_factor_bps: 7000, .. })),
        "{refused:?}"
    );
    assert_eq!(m, before, "the borrow, the swap and the LP mint were all rolled back");
    // A withdrawal larger than the supply, an unknown pool, a zero price: refused, no change.
    for line in [
        r#"{"op":"withdraw","account":"lender","token":"USDC","amount":"1000000000001"}"#,
        r#"{"op":"swap","account":"arb","pool":"nope","token_in":"WETH","amount_in":"1"}"#,
        r#"{"op":"set_price","token":"WETH","price":"0"}"#,
        r#"{"op":"liquidate","liquidator":"keeper","position":7}"#,
    ] {
        assert!(apply(&mut m, line).is_err(), "{line}");
        assert_eq!(m, before, "{line}");
    }
    // Into a driver's buffer: a refusal leaves what was there, a success appends what `apply`
    // returns. The open below fails after its borrow and swap events were pushed.
    let mut events = vec![Event::TimeAdvanced { from: 0, to: 1 }];
    let kept = events.clone();
    let open = common::cmd(
        r#"{"op":"open_position","owner":"alice","pool":"ETH-USDC","equity1":"10000000000","borrow1":"40000000000"}"#,
    );
    assert!(m.apply_into(&open, &mut events).is_err());
    assert_eq!(events, kept);
    let supply = common::cmd(r#"{"op":"supply","account":"arb","token":"USDC","amount":"5"}"#);
    let applied = m.clone().apply(&supply).unwrap();
    m.apply_into(&supply, &mut events).unwrap();
    assert_eq!(events[1..], applied[..]);
}

#[test]
fn the_alpaca_one_sided_position_has_alpacas_health() {
    // Alpaca's Vault_PancakeswapV2 test: a 1 BASE + 0.1 FARM pool with a 0.25% fee; Alice
    // deposits 1 BASE and borrows 1 BASE; the worker's health() right after work() is
    // 1997883397660681282 (alpaca_alpha/one_sided_optimal_add_and_health.csv, row 1).
    let mut m = Market::new();
    run(
        &mut m,
        &format!(
            r#"{{"op":"create_token","symbol":"BASE","decimals":18}}
            {{"op":"create_token","symbol":"FARM","decimals":18}}
            {{"op":"set_price","token":"BASE","price":"1"}}
            {{"op":"set_price","token":"FARM","price":"10"}}
            {{"op":"create_lending_pool","token":"BASE",{AAVE_MODEL}}}
            {{"op":"mint","to":"lp","token":"BASE","amount":"1000000000000000000"}}
            {{"op":"mint","to":"lp","token":"FARM","amount":"100000000000000000"}}
            {{"op":"create_pool","pool":"pcs","token0":"BASE","token1":"FARM","fee_bps":25,"leverage":{{"work_factor_bps":7000,"kill_factor_bps":8000,"kill_prize_bps":100}}}}
            {{"op":"add_liquidity","account":"lp","pool":"pcs","amount0":"1000000000000000000","amount1":"100000000000000000"}}
            {{"op":"mint","to":"lender","token":"BASE","amount":"10000000000000000000"}}
            {{"op":"supply","account":"lender","token":"BASE","amount":"10000000000000000000"}}
            {{"op":"mint","to":"alice","token":"BASE","amount":"1000000000000000000"}}
            {{"op":"open_position","owner":"alice","pool":"pcs","equity0":"1000000000000000000","borrow0":"1000000000000000000"}}"#
        ),
    );
    let position = m.positions().next().unwrap().clone();
    assert_eq!(position.lp, u256("231205137369691323"));
    let health = m.position_health(position.id).unwrap();
    // BASE is priced at 1, so the exit value in the numeraire is the health in BASE.
    assert_eq!(health.value_exit, u256("1997883397660681282"));
    assert_eq!(health.debt, [u256("1000000000000000000"), U256::ZERO]);
    // DR = 1e18 / 1.997883397660681282e18 = 50.05%, rounded up to 5006 bps.
    assert_eq!(health.debt_ratio_bps, 5006);
}

/// WETH and USDC lendable on the Aave model (USDC reserve factor 10%; WETH collateral at LTV
/// 80%, threshold 82.5%, bonus 5%), with 1,000,000 USDC supplied by `lender`.
fn usdc_lent_on_the_aave_model() -> Market {
    let mut m = Market::new();
    run(&mut m, WETH_USDC);
    run(
        &mut m,
        &format!(
            r#"{{"op":"create_lending_pool","token":"USDC",{AAVE_MODEL},"reserve_factor_bps":1000}}
            {{"op":"create_lending_pool","token":"WETH",{AAVE_MODEL},"ltv_bps":8000,"liquidation_threshold_bps":8250,"liquidation_bonus_bps":10500}}
            {{"op":"mint","to":"lender","token":"USDC","amount":"1000000000000"}}
            {{"op":"supply","account":"lender","token":"USDC","amount":"1000000000000"}}"#
        ),
    );
    m
}

/// Bob supplies 1,000 WETH and borrows 800,000 USDC against it.
const BOB_BORROWS_800K_USDC: &str = r#"{"op":"mint","to":"bob","token":"WETH","amount":"1000000000000000000000"}
{"op":"supply","account":"bob","token":"WETH","amount":"1000000000000000000000"}
{"op":"borrow","account":"bob","token":"USDC","amount":"800000000000"}"#;

#[test]
fn a_year_of_interest_on_80_percent_utilization() {
    // Aave model 80% optimal, 1% base, 4% slope1, reserve factor 10%. 1,000,000 USDC supplied,
    // 800,000 borrowed: U = 80%, borrow rate = 1% + 4% = 5%, supply rate = 5% · 0.8 · 0.9 = 3.6%.
    let mut m = usdc_lent_on_the_aave_model();
    run(
        &mut m,
        &format!(
            "{BOB_BORROWS_800K_USDC}\n{}",
            r#"{"op":"advance_time","seconds":31536000}
            {"op":"accrue"}"#
        ),
    );
    let usdc = m.lending("USDC").unwrap();
    // Borrow index: 1 + x + x²/2 + x³/6 at x = 0.05 = 1.051270833333333333333333333 (ray).
    assert_eq!(usdc.borrow_index.0, u256("1051270833333333333333333333"));
    // Supply index: 1 + 0.036 = 1.036.
    assert_eq!(usdc.liquidity_index.0, u256("1036000000000000000000000000"));
    // Debt: 800,000e6 · 1.0512708333… = 841,016.666666.67, rounded up.
    assert_eq!(usdc.debt_of(&acct("bob")).unwrap(), u256("841016666667"));
    // Supply: 1,000,000e6 · 1.036.
    assert_eq!(usdc.supply_balance(&acct("lender")).unwrap(), u256("1036000000000"));
    // Treasury: interest 41,016.666667 (half-up ray_mul) · 10% = 4,101.666667 (half up), held as
    // floor(4101666667 / 1.036) = 3,959,137,709 shares, worth floor(3959137709 · 1.036) = 4101666666.
    assert_eq!(usdc.supply_balance(&Holder::Treasury).unwrap(), u256("4101666666"));
    // Claims (1,036,000 + 4,101.67) stay below assets (200,000 cash + 841,016.67 debt).
    assert!(u256("1040101666666") < usdc.cash + usdc.total_debt().unwrap());
}

#[test]
fn accrue_brings_every_lending_pool_to_now_with_its_own_numbers() {
    // Tokens without a lending pool sort before, between and after those with one; each pool
    // must still get its own accrual. The USDC numbers are those of the year at 5% above.
    let mut m = usdc_lent_on_the_aave_model();
    run(
        &mut m,
        &format!(
            r#"{{"op":"create_token","symbol":"AAA","decimals":18}}
            {{"op":"create_token","symbol":"VVV","decimals":18}}
            {{"op":"create_token","symbol":"ZZZ","decimals":18}}
            {BOB_BORROWS_800K_USDC}
            {{"op":"advance_time","seconds":31536000}}"#
        ),
    );
    let events = apply(&mut m, r#"{"op":"accrue"}"#).unwrap();
    let usdc = m.lending("USDC").unwrap();
    assert_eq!(usdc.borrow_index.0, u256("1051270833333333333333333333"));
    assert_eq!(usdc.liquidity_index.0, u256("1036000000000000000000000000"));
    let weth = m.lending("WETH").unwrap();
    assert_eq!((weth.borrow_index.0, weth.liquidity_index.0), (RAY, RAY), "no WETH debt");
    for pool in [usdc, weth] {
        assert_eq!(pool.last_update, m.time, "{}", pool.token);
    }
    // One interest event, for USDC, with the year's 41,016.666667 USDC of interest.
    let accrued: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::InterestAccrued { token, interest, .. } => Some((token.as_str(), interest.0)),
            _ => None,
        })
        .collect();
    assert_eq!(accrued, [("USDC", u256("41016666667"))]);
}

#[test]
fn an_unused_pool_accrues_nothing_despite_its_base_rate() {
    // Aave `_updateIndexes`: the borrow index moves only while there is debt and the liquidity
    // index only while the supply rate is above zero. The model has a 1% base rate, so the
    // stored borrow rate is 1% with nothing borrowed; a year later both indices are still 1 and
    // the first borrower owes exactly what was lent.
    let mut m = usdc_lent_on_the_aave_model();
    run(
        &mut m,
        r#"{"op":"advance_time","seconds":31536000}
        {"op":"accrue"}"#,
    );
    let usdc = m.lending("USDC").unwrap();
    assert_eq!(usdc.borrow_rate.0, u256("10000000000000000000000000"), "1% base rate stored");
    assert_eq!(usdc.borrow_index.0, u256("1000000000000000000000000000"));
    assert_eq!(usdc.liquidity_index.0, u256("1000000000000000000000000000"));
    run(&mut m, BOB_BORROWS_800K_USDC);
    assert_eq!(m.lending("USDC").unwrap().debt_of(&acct("bob")).unwrap(), u256("800000000000"));
}

#[test]
fn aave_style_liquidation_with_close_factor_and_bonus() {
    // Bob supplies 10 WETH at 2000 (LTV 80%, LT 82.5%, bonus 5%, protocol fee 10% of the bonus)
    // and borrows 15,000 USDC. ETH falls to 1800: HF = 18,000 · 0.825 / 15,000 = 0.99.
    let mut m = Market::new();
    run(&mut m, WETH_USDC);
    run(
        &mut m,
        &format!(
            r#"{{"op":"create_lending_pool","token":"USDC",{AAVE_MODEL}}}
            {{"op":"create_lending_pool","token":"WETH",{AAVE_MODEL},"ltv_bps":8000,"liquidation_threshold_bps":8250,"liquidation_bonus_bps":10500,"liquidation_protocol_fee_bps":1000}}
            {{"op":"mint","to":"lender","token":"USDC","amount":"100000000000"}}
            {{"op":"supply","account":"lender","token":"USDC","amount":"100000000000"}}
            {{"op":"mint","to":"bob","token":"WETH","amount":"10000000000000000000"}}
            {{"op":"supply","account":"bob","token":"WETH","amount":"10000000000000000000"}}
            {{"op":"borrow","account":"bob","token":"USDC","amount":"15000000000"}}
            {{"op":"mint","to":"liq","token":"USDC","amount":"100000000000"}}"#
        ),
    );
    // Borrowing past the 80% LTV is refused: 15,000 + 1,001 > 16,000.
    let refused =
        apply(&mut m, r#"{"op":"borrow","account":"bob","token":"USDC","amount":"1001000000"}"#);
    assert!(matches!(refused, Err(Error::HealthFactorTooLow { .. })), "{refused:?}");
    let healthy = apply(
        &mut m,
        r#"{"op":"liquidate_account","liquidator":"liq","borrower":"bob","debt_token":"USDC","collateral_token":"WETH"}"#,
    );
    assert!(matches!(healthy, Err(Error::AccountHealthy { .. })), "{healthy:?}");

    run(&mut m, r#"{"op":"set_price","token":"WETH","price":"1800"}"#);
    let hf_before = m.account_status("bob").unwrap().health_factor_wad().unwrap();
    assert_eq!(hf_before, u256("990000000000000000"));
    let events = apply(&mut m, r#"{"op":"liquidate_account","liquidator":"liq","borrower":"bob","debt_token":"USDC","collateral_token":"WETH"}"#).unwrap();
    let Some(Event::AccountLiquidated {
        debt_repaid,
        collateral_seized,
        protocol_fee,
        bad_debt,
        ..
    }) = events.iter().find(|e| matches!(e, Event::AccountLiquidated { .. })).cloned()
    else {
        panic!("{events:?}")
    };
    // HF 0.99 ≥ 0.95: close factor 50%, so 7,500 USDC of the 15,000.
    assert_eq!(debt_repaid.0, u256("7500000000"));
    // base = 7,500 / 1800 = 4.1666…(floor 4166666666666666666); ×1.05 half-up = 4374999999999999999.
    assert_eq!(collateral_seized.0, u256("4374999999999999999"));
    // bonus part = 4374999999999999999 − percentDiv(…, 10500) = 4374999999999999999 − 4166666666666666666
    // = 208333333333333333; 10% of it, half up = 20833333333333333.
    assert_eq!(protocol_fee.0, u256("20833333333333333"));
    assert_eq!(bad_debt.0, U256::ZERO);
    let weth = m.lending("WETH").unwrap();
    assert_eq!(weth.supply_balance(&acct("liq")).unwrap(), u256("4354166666666666666"));
    assert_eq!(weth.supply_balance(&Holder::Treasury).unwrap(), u256("20833333333333333"));
    assert_eq!(weth.supply_balance(&acct("bob")).unwrap(), u256("5625000000000000001"));
    // Liquidation never lowers health: 0.99 before; after, (5.625·1800·0.825)/7,500 ≈ 1.11.
    let hf_after = m.account_status("bob").unwrap().health_factor_wad().unwrap();
    assert!(hf_after > hf_before, "{hf_after}");
    assert_conserved(&m);
}
