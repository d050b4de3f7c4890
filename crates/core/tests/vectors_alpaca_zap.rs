//! Zaps against Alpaca's and Alpha Homora's own tests: the one-sided optimal swap, the LP it
//! mints and the position's `health`, and the two-sided `optimalDeposit` examples.

mod common;

/// Named `amm` so `cargo test -p levfarm-core amm` selects these with the unit tests.
mod amm {
    use super::common;

    use levfarm_core::amm::{
        optimal_deposit, ConstantProductPool, RouterTokenA, SwapFee, TokenAmounts,
    };
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

    /// Alpha Homora's `StrategyAddETHOnly` test: Alice seeds 1 ETH + 0.1 MOCK, then Bob zaps 0.1 ETH
    /// twice. The strategy adds with `addLiquidityETH(fToken, ..)`, so the router's `tokenA` is
    /// MOCK (token1 here, WETH being token0); with WETH as `tokenA` the second call mints one wei
    /// more LP than the test asserts.
    #[test]
    fn alpha_homora_add_eth_only_twice() {
        let rows = common::csv_rows("alpaca_alpha/one_sided_optimal_add_and_health.csv");
        let e17 = U256::from(100_000_000_000_000_000u128);
        let mut pool = ConstantProductPool::new(SwapFee::UNISWAP_V2, None);
        pool.mint(e17 * U256::from(10), e17).unwrap();
        let mut cumulative = U256::ZERO;
        // The ETH the router refunds: rounding dust.
        for (row, dust) in rows[3..5].iter().zip([4u8, 3]) {
            let case = &row["case"];
            check_constants(row, SwapFee::UNISWAP_V2);
            let eth = TokenAmounts { amount0: common::u256(&row["base_in"]), amount1: U256::ZERO };
            let zap = pool.zap_in_with(RouterTokenA::Token1, eth).unwrap();
            assert!(zap.swap_zero_for_one, "{case}");
            assert_eq!(zap.swap_amount_in, common::u256(&row["port_swapAmountIn"]), "{case}");
            assert_eq!(zap.swap_amount_out, common::u256(&row["port_swapAmountOut"]), "{case}");
            assert_eq!(zap.liquidity, common::u256(&row["port_lpMinted"]), "{case}");
            assert_eq!((zap.leftover0, zap.leftover1), (U256::from(dust), U256::ZERO), "{case}");
            cumulative += zap.liquidity;
            let bob = row["expected_health"].trim_start_matches("bob LP balance = ");
            assert_eq!(cumulative, common::u256(bob), "{case}");
        }
    }

    /// On chain, the 4 wei of ETH the router refunds after call #1 stay in the strategy, whose
    /// call #2 then zaps `address(this).balance` = 0.1 ETH + 4 wei: 2 wei more swapped than the
    /// port's 48986010673300994, and the same LP, which is all the upstream test asserts.
    #[test]
    fn alpha_homora_add_eth_only_with_the_refunded_dust() {
        let e17 = U256::from(100_000_000_000_000_000u128);
        let mut pool = ConstantProductPool::new(SwapFee::UNISWAP_V2, None);
        pool.mint(e17 * U256::from(10), e17).unwrap();
        let eth = |amount0| TokenAmounts { amount0, amount1: U256::ZERO };
        let first = pool.zap_in_with(RouterTokenA::Token1, eth(e17)).unwrap();
        let second = pool.zap_in_with(RouterTokenA::Token1, eth(e17 + first.leftover0)).unwrap();
        assert_eq!(first.leftover0, U256::from(4));
        assert_eq!(second.swap_amount_in, U256::from(48_986_010_673_300_996u128));
        assert_eq!(first.liquidity + second.liquidity, U256::from(30_136_025_967_736_232u128));
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
}
