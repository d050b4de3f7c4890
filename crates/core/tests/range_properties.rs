//! Invariants of leveraged range positions over random command sequences on a v3 pool: no
//! token is created or destroyed, a rejected command changes nothing, no sequence panics, an
//! open position's liquidity is exactly what the pool holds for it, a closed one leaves nothing
//! in the pool and no debt behind, and every open position's range is on the pool's spacing.

mod common;

use common::{
    cmd, fund, lending_pools, run, v3_eth_usdc, AAVE_STEEP, LENDER_AND_ARB, REWARD_ROUTE, WETH_USDC,
};
use levfarm_core::amm::v3::V3PositionKey;
use levfarm_core::math::U256;
use levfarm_core::{Command, Holder, Market};
use proptest::prelude::*;

const USERS: [&str; 2] = ["ann", "ben"];

/// WETH/USDC at 2000 in a 0.3% v3 pool (tick -200312) with full-range and ±20% liquidity and
/// a farm, both tokens lendable, a RWD/USDC pool to sell rewards, an arbitrageur.
fn base_market() -> Market {
    let mut m = Market::new();
    run(&mut m, WETH_USDC);
    run(&mut m, REWARD_ROUTE);
    run(&mut m, &lending_pools(AAVE_STEEP, 1000));
    let leverage = r#"{"work_factor_bps":7500,"kill_factor_bps":8500,"kill_prize_bps":100,"kill_treasury_bps":400,"reinvest_bounty_bps":900}"#;
    run(&mut m, &v3_eth_usdc("V", leverage));
    run(
        &mut m,
        r#"{"op":"create_farm","pool":"V","reward_token":"RWD","reward_per_second":"10000000000000000"}
        {"op":"fund_farm","account":"lp","pool":"V","amount":"500000000000000000000000"}"#,
    );
    run(&mut m, LENDER_AND_ARB);
    run(&mut m, &fund(&USERS, "50000000000", "20000000000000000000"));
    m
}

/// A random command: opens over ranges near and far from the price (some off the spacing),
/// closes, collateral, reinvests, collects, re-centres, liquidations, price moves, trades.
fn command() -> impl Strategy<Value = Vec<Command>> {
    let user = prop::sample::select(USERS.to_vec());
    let usdc = (0u64..40_000).prop_map(|x| x * 1_000_000);
    let weth = (0u64..20_000).prop_map(|x| U256::from(x) * U256::from(1_000_000_000_000_000u64));
    let lower = (-3400i32..-3300).prop_map(|t| t * 60 + 1);
    let width = prop_oneof![(1i32..200).prop_map(|w| w * 60), Just(61), Just(0)];
    let position = 1u64..5;
    prop_oneof![
        (user.clone(), lower.clone(), width.clone(), usdc.clone(), weth.clone(), usdc.clone()).prop_map(|(u, lo, w, e, b0, b1)| {
            // Ticks off the spacing by one unless the width is a multiple of 60.
            let lo = if w % 60 == 0 { lo - 1 } else { lo };
            format!(r#"{{"op":"open_range_position","owner":"{u}","pool":"V","tick_lower":{lo},"tick_upper":{},"equity1":"{e}","borrow0":"{b0}","borrow1":"{b1}"}}"#, lo + w)
        }),
        (user.clone(), lower, 10i32..150, 1_000u64..20_000).prop_map(|(u, lo, w, e)| format!(r#"{{"op":"open_range_position","owner":"{u}","pool":"V","tick_lower":{},"tick_upper":{},"equity0":"{}","borrow1":"{}"}}"#, lo - 1, lo - 1 + w * 60, U256::from(e) * U256::from(100_000_000_000_000u64), e * 200_000)),
        (position.clone(), 0u8..2).prop_map(|(p, mode)| {
            let mode = if mode == 0 { "convert_to_debt" } else { "minimize_trading" };
            format!(r#"{{"op":"close_position","caller":"?","position":{p},"mode":"{mode}"}}"#)
        }),
        (position.clone(), 1u64..100).prop_map(|(p, pct)| format!(r#"{{"op":"close_position","caller":"?","position":{p},"lp":"{}","max_repay1":"{}"}}"#, U256::from(pct) * U256::from(10u64.pow(13)), pct * 100_000_000)),
        (position.clone(), usdc.clone(), weth).prop_map(|(p, a1, a0)| format!(r#"{{"op":"add_collateral","caller":"?","position":{p},"amount0":"{a0}","amount1":"{a1}"}}"#)),
        (user.clone(), position.clone()).prop_map(|(u, p)| format!(r#"{{"op":"reinvest","caller":"{u}","position":{p}}}"#)),
        position.clone().prop_map(|p| format!(r#"{{"op":"collect_position","caller":"?","position":{p}}}"#)),
        (position.clone(), width).prop_map(|(p, w)| format!(r#"{{"op":"recenter_position","caller":"?","position":{p},"width":{w}}}"#)),
        position.clone().prop_map(|p| format!(r#"{{"op":"recenter_position","caller":"?","position":{p}}}"#)),
        (user.clone(), position).prop_map(|(u, p)| format!(r#"{{"op":"liquidate","liquidator":"{u}","position":{p}}}"#)),
        // A crash or a rally, arbitraged, then keepers try every position.
        prop_oneof![600u64..1300, 3000u64..6000].prop_map(|p| {
            let mut lines = vec![format!(r#"{{"op":"set_price","token":"WETH","price":"{p}"}}"#), r#"{"op":"arbitrage","account":"arb","pool":"V"}"#.to_string()];
            lines.extend((1..6).map(|id| format!(r#"{{"op":"liquidate","liquidator":"keeper","position":{id}}}"#)));
            lines.join("\n")
        }),
        (1200u64..3200).prop_map(|p| format!(r#"{{"op":"set_price","token":"WETH","price":"{p}"}}
{{"op":"arbitrage","account":"arb","pool":"V"}}"#)),
        (1u64..50, 0u8..2).prop_map(|(a, dir)| if dir == 0 {
            format!(r#"{{"op":"v3_swap","account":"arb","pool":"V","zero_for_one":true,"amount_in":"{}"}}"#, U256::from(a) * U256::from(10u64.pow(18)))
        } else {
            format!(r#"{{"op":"v3_swap","account":"arb","pool":"V","zero_for_one":false,"amount_in":"{}"}}"#, a * 2_000_000_000)
        }),
        (0u64..5_000_000).prop_map(|s| format!(r#"{{"op":"advance_time","seconds":{s}}}"#)),
        Just(r#"{"op":"accrue"}"#.to_string()),
        Just(r#"{"op":"inspect_position","position":1}"#.to_string()),
    ]
    .prop_map(|lines| lines.lines().map(cmd).collect::<Vec<_>>())
}

/// Commands written with caller `"?"` come from the position's owner.
fn as_owner(m: &Market, command: Command) -> Command {
    let owner = |id: u64| m.positions().find(|p| p.id == id).map(|p| p.owner.clone());
    let who = |id: u64, caller: levfarm_core::types::Name| owner(id).unwrap_or(caller);
    match command {
        Command::ClosePosition { position, lp, max_repay0, max_repay1, mode, caller } => {
            Command::ClosePosition {
                caller: who(position, caller),
                position,
                lp,
                max_repay0,
                max_repay1,
                mode,
            }
        }
        Command::AddCollateral { position, amount0, amount1, caller } => {
            Command::AddCollateral { caller: who(position, caller), position, amount0, amount1 }
        }
        Command::CollectPosition { position, caller } => {
            Command::CollectPosition { caller: who(position, caller), position }
        }
        Command::RecenterPosition { position, width, caller } => {
            Command::RecenterPosition { caller: who(position, caller), position, width }
        }
        other => other,
    }
}

fn assert_invariants(m: &Market, context: &Command) -> Result<(), TestCaseError> {
    for token in ["WETH", "USDC", "RWD"] {
        let totals = m.totals(token);
        prop_assert!(
            totals.balanced(),
            "tokens created or destroyed after {:?}: {:?}",
            context,
            totals
        );
    }
    let pool = &m.v3_amm_pool("V").unwrap().pool;
    for p in m.positions() {
        let range = p.range.expect("every position here is a range position");
        let key = V3PositionKey {
            owner: Holder::Position(p.id),
            tick_lower: range.tick_lower,
            tick_upper: range.tick_upper,
        };
        let held = pool.position(&key).map_or(0, |info| info.liquidity);
        prop_assert_eq!(U256::from(held), p.lp, "position {} after {:?}", p.id, context);
        let ours = pool.positions().filter(|(k, _)| k.owner == Holder::Position(p.id)).count();
        if p.open {
            prop_assert!(range.tick_lower % 60 == 0 && range.tick_upper % 60 == 0);
            prop_assert_eq!(ours, 1, "position {} has one range after {:?}", p.id, context);
        } else {
            prop_assert_eq!(ours, 0, "closed position {} left liquidity after {:?}", p.id, context);
            let debt = m.position_debt(p).unwrap();
            prop_assert_eq!(
                debt,
                [U256::ZERO; 2],
                "closed position {} owes after {:?}",
                p.id,
                context
            );
        }
        for token in ["WETH", "USDC"] {
            prop_assert_eq!(m.balance(&Holder::Position(p.id), token), U256::ZERO);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn random_range_sequences_keep_every_invariant(steps in prop::collection::vec(command(), 1..30)) {
        let mut m = base_market();
        for command in steps.into_iter().flatten() {
            let command = &as_owner(&m, command);
            let before = m.clone();
            if m.apply(command).is_err() {
                prop_assert_eq!(&m, &before, "a rejected {:?} changed the market", command);
            }
            assert_invariants(&m, command)?;
        }
    }
}
