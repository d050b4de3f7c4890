//! Invariants over random command sequences: no token is created or destroyed, `x·y` never
//! falls on a swap, a rejected command changes nothing, no sequence panics, rounding never
//! favours the user, liquidation never lowers health.

mod common;

use common::{cmd, fund, run, AAVE_STEEP, LENDER_AND_ARB, REWARD_ROUTE, WETH_USDC};
use levfarm_core::math::U256;
use levfarm_core::{Command, Event, Holder, Market};
use proptest::prelude::*;

const USERS: [&str; 3] = ["ann", "ben", "cat"];

fn base_market() -> Market {
    let mut m = Market::new();
    run(&mut m, WETH_USDC);
    run(&mut m, REWARD_ROUTE);
    run(
        &mut m,
        &format!(
            r#"{{"op":"create_lending_pool","token":"USDC",{AAVE_STEEP},"reserve_factor_bps":1000,"ltv_bps":8000,"liquidation_threshold_bps":8500,"liquidation_bonus_bps":10500,"liquidation_protocol_fee_bps":1000}}
            {{"op":"create_lending_pool","token":"WETH",{AAVE_STEEP},"reserve_factor_bps":1000,"ltv_bps":8000,"liquidation_threshold_bps":8250,"liquidation_bonus_bps":10500,"liquidation_protocol_fee_bps":1000}}
            {{"op":"mint","to":"lp","token":"WETH","amount":"1000000000000000000000"}}
            {{"op":"mint","to":"lp","token":"USDC","amount":"2000000000000"}}
            {{"op":"create_pool","pool":"P","token0":"WETH","token1":"USDC","fee_bps":30,"protocol_fee_divisor":6,"leverage":{{"work_factor_bps":7500,"kill_factor_bps":8500,"kill_prize_bps":100,"kill_treasury_bps":400,"reinvest_bounty_bps":900}}}}
            {{"op":"add_liquidity","account":"lp","pool":"P","amount0":"1000000000000000000000","amount1":"2000000000000"}}
            {{"op":"create_farm","pool":"P","reward_token":"RWD","reward_per_second":"10000000000000000"}}
            {{"op":"fund_farm","account":"lp","pool":"P","amount":"500000000000000000000000"}}"#
        ),
    );
    run(&mut m, LENDER_AND_ARB);
    run(&mut m, &fund(&USERS, "50000000000", "20000000000000000000"));
    m
}

/// A random command over the base market's names, with amounts from dust to more than anyone has.
fn command() -> impl Strategy<Value = Vec<Command>> {
    let user = prop::sample::select(USERS.to_vec());
    let token = prop::sample::select(vec!["WETH", "USDC"]);
    let usdc = (0u64..60_000).prop_map(|x| x * 1_000_000);
    let weth = (0u64..30_000).prop_map(|x| U256::from(x) * U256::from(1_000_000_000_000_000u64));
    let position = 1u64..6;
    prop_oneof![
        (user.clone(), usdc.clone(), usdc.clone()).prop_map(|(u, e, b)| format!(r#"{{"op":"open_position","owner":"{u}","pool":"P","equity1":"{e}","borrow1":"{b}"}}"#)),
        (user.clone(), weth.clone(), weth.clone(), usdc.clone()).prop_map(|(u, e, b0, b1)| format!(r#"{{"op":"open_position","owner":"{u}","pool":"P","equity0":"{e}","borrow0":"{b0}","borrow1":"{b1}"}}"#)),
        (user.clone(), position.clone(), 0u8..2).prop_map(|(u, p, mode)| {
            let mode = if mode == 0 { "convert_to_debt" } else { "minimize_trading" };
            format!(r#"{{"op":"close_position","caller":"{u}","position":{p},"mode":"{mode}"}}"#)
        }),
        (user.clone(), position.clone(), 1u64..100).prop_map(|(u, p, pct)| format!(r#"{{"op":"close_position","caller":"{u}","position":{p},"lp":"{}","max_repay1":"{}"}}"#, pct * 10_000_000_000u64, pct * 100_000_000)),
        (user.clone(), position.clone(), usdc.clone()).prop_map(|(u, p, a)| format!(r#"{{"op":"add_collateral","caller":"{u}","position":{p},"amount1":"{a}"}}"#)),
        (user.clone(), position.clone()).prop_map(|(u, p)| format!(r#"{{"op":"reinvest","caller":"{u}","position":{p}}}"#)),
        (user.clone(), position.clone()).prop_map(|(u, p)| format!(r#"{{"op":"liquidate","liquidator":"{u}","position":{p}}}"#)),
        (200u64..4000).prop_map(|p| format!(r#"{{"op":"set_price","token":"WETH","price":"{p}"}}"#)),
        (500u64..1500).prop_map(|pm| format!(r#"{{"op":"set_price","token":"WETH","price":"{}"}}
{{"op":"arbitrage","account":"arb","pool":"P"}}"#, 2 * pm)),
        Just(r#"{"op":"arbitrage","account":"arb","pool":"P"}"#.to_string()),
        (user.clone(), 1u64..20).prop_map(|(u, w)| format!(r#"{{"op":"supply","account":"{u}","token":"WETH","amount":"{}"}}"#, U256::from(w) * U256::from(10u64.pow(18)))),
        (user.clone(), 1_000u64..30_000).prop_map(|(u, e)| format!(r#"{{"op":"open_position","owner":"{u}","pool":"P","equity1":"{}","borrow1":"{}"}}"#, e * 1_000_000, e * 2_500_000)),
        (0u64..10_000_000).prop_map(|s| format!(r#"{{"op":"advance_time","seconds":{s}}}"#)),
        (user.clone(), token.clone(), usdc.clone()).prop_map(|(u, t, a)| format!(r#"{{"op":"supply","account":"{u}","token":"{t}","amount":"{a}"}}"#)),
        (user.clone(), token.clone()).prop_map(|(u, t)| format!(r#"{{"op":"withdraw","account":"{u}","token":"{t}"}}"#)),
        (user.clone(), 1u64..16_000).prop_map(|(u, a)| format!(r#"{{"op":"borrow","account":"{u}","token":"USDC","amount":"{}"}}"#, a * 1_000_000)),
        // A borrower near the LTV: 10 WETH supplied, 12,000-16,000 USDC borrowed.
        (user.clone(), 12_000u64..16_000).prop_map(|(u, a)| format!(r#"{{"op":"supply","account":"{u}","token":"WETH","amount":"10000000000000000000"}}
{{"op":"borrow","account":"{u}","token":"USDC","amount":"{}"}}"#, a * 1_000_000)),
        // A crash: price down hard, arbitraged, then keepers try every position.
        (1000u64..1900).prop_map(|p| {
            let mut lines = vec![format!(r#"{{"op":"set_price","token":"WETH","price":"{p}"}}"#), r#"{"op":"arbitrage","account":"arb","pool":"P"}"#.to_string()];
            lines.extend((1..8).map(|id| format!(r#"{{"op":"liquidate","liquidator":"keeper","position":{id}}}"#)));
            lines.extend(USERS.map(|u| format!(r#"{{"op":"liquidate_account","liquidator":"arb","borrower":"{u}","debt_token":"USDC","collateral_token":"WETH"}}"#)));
            lines.join("\n")
        }),
        (user.clone(), token.clone()).prop_map(|(u, t)| format!(r#"{{"op":"repay","account":"{u}","token":"{t}"}}"#)),
        (user.clone(), user.clone()).prop_map(|(l, b)| format!(r#"{{"op":"liquidate_account","liquidator":"{l}","borrower":"{b}","debt_token":"USDC","collateral_token":"WETH"}}"#)),
        (user.clone(), weth.clone(), 0u8..2).prop_map(|(u, a, dir)| {
            let t = if dir == 0 { "WETH" } else { "USDC" };
            format!(r#"{{"op":"swap","account":"{u}","pool":"P","token_in":"{t}","amount_in":"{a}"}}"#)
        }),
        (user.clone(), usdc.clone(), weth.clone()).prop_map(|(u, a1, a0)| format!(r#"{{"op":"add_liquidity","account":"{u}","pool":"P","amount0":"{a0}","amount1":"{a1}"}}"#)),
        Just(r#"{"op":"accrue"}"#.to_string()),
    ]
    .prop_map(|lines| lines.lines().map(cmd).collect::<Vec<_>>())
}

/// Closes and collateral come from the position's owner, so they get past the owner check.
fn as_owner(m: &Market, command: Command) -> Command {
    let owner = |id: u64| m.positions().find(|p| p.id == id).map(|p| p.owner.clone());
    match command {
        Command::ClosePosition { position, lp, max_repay0, max_repay1, mode, caller } => {
            Command::ClosePosition {
                caller: owner(position).unwrap_or(caller),
                position,
                lp,
                max_repay0,
                max_repay1,
                mode,
            }
        }
        Command::AddCollateral { position, amount0, amount1, caller } => Command::AddCollateral {
            caller: owner(position).unwrap_or(caller),
            position,
            amount0,
            amount1,
        },
        other => other,
    }
}

fn k(m: &Market) -> U256 {
    let pool = &m.amm_pool("P").unwrap().amm;
    pool.reserve0 * pool.reserve1
}

fn assert_invariants(m: &Market, context: &Command) {
    for token in ["WETH", "USDC", "RWD"] {
        let totals = m.totals(token);
        assert!(totals.balanced(), "tokens created or destroyed after {context:?}: {totals:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_every_invariant(steps in prop::collection::vec(command(), 1..40)) {
        let mut m = base_market();
        for command in steps.into_iter().flatten() {
            let command = &as_owner(&m, command);
            let before = m.clone();
            let k_before = k(&m);
            // Liquidation never lowers health while the collateral covers the debt plus the bonus:
            // repaying d seizes d·(1+b), so HF' = (C − d(1+b))·LT/(D − d) ≥ C·LT/D = HF exactly
            // when C ≥ (1+b)·D. Below that, seizing at a premium must lower it (Aave does too).
            let hf_before = match command {
                Command::LiquidateAccount { borrower, .. } => m.account_status(borrower).ok().filter(|s| {
                    s.collateral_value * U256::from(10_000u32) >= s.debt_value * U256::from(10_500u32)
                }).and_then(|s| s.health_factor_wad().ok()),
                _ => None,
            };
            match m.apply(command) {
                Err(_) => prop_assert_eq!(&m, &before, "a rejected {:?} changed the market", command),
                Ok(events) => {
                    let swapped_only = matches!(command, Command::Swap { .. } | Command::Arbitrage { .. });
                    if swapped_only {
                        prop_assert!(k(&m) >= k_before, "x·y fell on {:?}", command);
                    }
                    if let (Command::LiquidateAccount { borrower, .. }, Some(hf)) = (command, hf_before) {
                        let bad_debt = events.iter().any(|e| matches!(e, Event::BadDebt { .. }));
                        let after = m.account_status(borrower).unwrap().health_factor_wad().unwrap();
                        prop_assert!(bad_debt || after >= hf, "liquidation lowered health {} -> {}", hf, after);
                    }
                }
            }
            assert_invariants(&m, command);
        }
    }

    #[test]
    fn supply_then_withdraw_never_returns_more(amount in 1u64..10_000_000_000_000, wait in 0u64..100_000_000, borrow in 0u64..400_000) {
        let mut m = base_market();
        let lines = [
            format!(r#"{{"op":"borrow","account":"ann","token":"USDC","amount":"{}"}}"#, borrow * 1_000_000 + 1),
            r#"{"op":"supply","account":"ann","token":"WETH","amount":"20000000000000000000"}"#.to_string(),
            format!(r#"{{"op":"advance_time","seconds":{wait}}}"#),
            format!(r#"{{"op":"mint","to":"dan","token":"USDC","amount":"{amount}"}}"#),
        ];
        for line in &lines[1..] {
            m.apply(&cmd(line)).unwrap();
        }
        let _ = m.apply(&cmd(&lines[0]));
        let dan = Holder::Account("dan".into());
        if m.apply(&cmd(&format!(r#"{{"op":"supply","account":"dan","token":"USDC","amount":"{amount}"}}"#))).is_ok() {
            m.apply(&cmd(r#"{"op":"withdraw","account":"dan","token":"USDC"}"#)).unwrap();
        }
        prop_assert!(m.balance(&dan, "USDC") <= U256::from(amount));
    }
}
