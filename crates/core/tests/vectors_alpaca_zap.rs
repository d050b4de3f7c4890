//! Zaps against Alpaca's and Alpha Homora's own tests: the one-sided optimal swap, the LP it
//! mints and the position's `health`, and the two-sided `optimalDeposit` examples.

mod common;

use levfarm_core::amm::{optimal_deposit, ConstantProductPool, SwapFee};
use levfarm_core::math::{Bps, U256};

/// The fee whose one-sided constants `4nd, (d+n)^2, d+n, 2n` are the row's `formula_consts`,
/// e.g. `sqrt(r*(a*3988000 + r*3988009)) - r*1997) / 1994` for 997/1000.
fn check_constants(row: &std::collections::BTreeMap<String, String>, fee: SwapFee) {
    let text = &row["formula_consts"];
    let numbers: Vec<u64> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let (n, d) = (u64::from(fee.numerator()), u64::from(fee.denominator()));
    assert_eq!(numbers, [4 * n * d, (d + n) * (d + n), d + n, 2 * n], "{text}");
}

#[test]
fn alpaca_add_base_token_only_then_health() {
    let rows = common::csv_rows("alpaca_alpha/one_sided_optimal_add_and_health.csv");
    // 25, 20 and 30 bps, on the contracts' scales.
    let fees = [Bps(25), Bps(20), Bps(30)].map(|bps| SwapFee::from_bps(bps).unwrap());
    for (row, fee) in rows.iter().take(3).zip(fees) {
        let case = &row["case"];
        check_constants(row, fee);
        // token0 is the base token.
        let mut pool = ConstantProductPool::new(fee, None);
        let base = common::u256(&row["pool_reserve_base"]);
        pool.mint(base, common::u256(&row["pool_reserve_farm"])).unwrap();
        assert_eq!(pool.total_supply, common::u256(&row["pool_lp_supply_before"]), "{case}");

        let zap = pool.zap_in(common::u256(&row["base_in"]), U256::ZERO).unwrap();
        assert!(zap.swap_zero_for_one, "{case}");
        assert_eq!(zap.swap_amount_in, common::u256(&row["port_swapAmountIn"]), "{case}");
        assert_eq!(zap.swap_amount_out, common::u256(&row["port_swapAmountOut"]), "{case}");
        assert_eq!(zap.liquidity, common::u256(&row["port_lpMinted"]), "{case}");

        let health = pool.exit_value(zap.liquidity, true).unwrap();
        let expected = match row["expected_health"].as_str() {
            "(not asserted)" => &row["port_health"],
            asserted => asserted,
        };
        assert_eq!(health, common::u256(expected), "{case}");
        assert_eq!(health, common::u256(&row["port_health"]), "{case}");
    }
}

#[test]
fn alpha_homora_add_eth_only_twice() {
    let rows = common::csv_rows("alpaca_alpha/one_sided_optimal_add_and_health.csv");
    let e17 = U256::from(100_000_000_000_000_000u128);
    // token0 is WETH: Alice's addLiquidityETH(1e17 MOCK, 1 ETH).
    let mut pool = ConstantProductPool::new(SwapFee::UNISWAP_V2, None);
    pool.mint(e17 * U256::from(10), e17).unwrap();
    let mut cumulative = U256::ZERO;
    for row in &rows[3..5] {
        let case = &row["case"];
        check_constants(row, SwapFee::UNISWAP_V2);
        let zap = pool.zap_in(common::u256(&row["base_in"]), U256::ZERO).unwrap();
        assert_eq!(zap.swap_amount_in, common::u256(&row["port_swapAmountIn"]), "{case}");
        assert_eq!(zap.swap_amount_out, common::u256(&row["port_swapAmountOut"]), "{case}");
        assert_eq!(zap.liquidity, common::u256(&row["port_lpMinted"]), "{case}");
        cumulative += zap.liquidity;
        let bob = row["expected_health"].trim_start_matches("bob LP balance = ");
        assert_eq!(cumulative, common::u256(bob), "{case}");
    }
}

#[test]
fn two_sided_optimal_deposit_port_examples() {
    let vectors = common::json("alpaca_alpha/two_sided_optimal_deposit.json");
    let examples = vectors["port_only_examples"].as_array().expect("examples");
    assert_eq!(examples.len(), 4);
    for example in examples {
        let field = |key: &str| common::u256(example[key].as_str().expect("string"));
        let got = optimal_deposit(
            field("amtA"),
            field("amtB"),
            field("resA"),
            field("resB"),
            SwapFee::UNISWAP_V2,
        )
        .unwrap();
        assert_eq!(got.swap_amount, field("swapAmt"), "{example}");
        assert_eq!(got.is_reversed, example["isReversed"].as_bool().unwrap(), "{example}");
    }
}
