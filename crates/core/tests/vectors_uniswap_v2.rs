//! The Uniswap v2 reference vectors: library math, pair swaps at the K boundary, mint and burn
//! with `MINIMUM_LIQUIDITY`, and the protocol fee.

mod common;

/// Named `amm` so `cargo test -p levfarm-core amm` selects these with the unit tests.
mod amm {
    use super::common;

    use levfarm_core::amm::{
        get_amount_in, get_amount_out, quote, AmmError, ConstantProductPool, ProtocolFee, SwapFee,
        MINIMUM_LIQUIDITY,
    };
    use levfarm_core::math::U256;

    fn pool_with(
        reserve0: U256,
        reserve1: U256,
        protocol_fee: Option<ProtocolFee>,
    ) -> ConstantProductPool {
        let mut pool = ConstantProductPool::new(SwapFee::UNISWAP_V2, protocol_fee);
        pool.mint(reserve0, reserve1).expect("seed mint");
        pool
    }

    #[test]
    fn library_cases_match_every_row_and_every_revert() {
        let rows = common::csv_rows("uniswap_v2/v2_library_cases.csv");
        assert_eq!(rows.len(), 15);
        for row in rows {
            let (amount, reserve_in, reserve_out) = (
                common::u256(&row["amount"]),
                common::u256(&row["reserveIn"]),
                common::u256(&row["reserveOut"]),
            );
            let fee = SwapFee::UNISWAP_V2;
            let got = match row["function"].as_str() {
                "quote" => quote(amount, reserve_in, reserve_out),
                "getAmountOut" => get_amount_out(amount, reserve_in, reserve_out, fee),
                "getAmountIn" => get_amount_in(amount, reserve_in, reserve_out, fee),
                other => panic!("unknown function {other}"),
            };
            let expected = &row["expected"];
            if !expected.starts_with("REVERT") {
                assert_eq!(got, Ok(common::u256(expected)), "{row:?}");
                continue;
            }
            let err = got.expect_err(&format!("{row:?} must revert"));
            if amount.is_zero() {
                assert!(
                    matches!(
                        err,
                        AmmError::InsufficientAmount { .. }
                            | AmmError::InsufficientInputAmount { .. }
                            | AmmError::InsufficientOutputAmount { .. }
                    ),
                    "{row:?}: {err}"
                );
            } else {
                let want = AmmError::InsufficientLiquidity { reserve_in, reserve_out };
                assert_eq!(err, want, "{row:?}");
            }
        }
    }

    #[test]
    fn pair_swap_cases_succeed_at_the_output_and_fail_k_one_above() {
        let rows = common::csv_rows("uniswap_v2/v2_pair_swap_cases.csv");
        assert_eq!(rows.len(), 11);
        for row in rows {
            let amount_in = common::u256(&row["amountIn_token0"]);
            let pool =
                pool_with(common::u256(&row["reserve0"]), common::u256(&row["reserve1"]), None);
            let output = &row["amountOut_token1"];
            // Optimistic rows pay out token0, the token paid in.
            let (same_token, out) = match output.strip_prefix("amountOut_token0=") {
                Some(out) => (true, common::u256(out)),
                None => (false, common::u256(output)),
            };
            let swap = |out: U256| {
                let mut pool = pool.clone();
                let (out0, out1) = if same_token { (out, U256::ZERO) } else { (U256::ZERO, out) };
                pool.swap(out0, out1, amount_in, U256::ZERO).map(|()| pool)
            };
            let after = swap(out).unwrap_or_else(|e| panic!("{}: {e}", row["case"]));
            let one_more = swap(out + U256::from(1)).expect_err(&row["case"]);
            assert!(matches!(one_more, AmmError::K { .. }), "{}: {one_more}", row["case"]);
            if !same_token {
                let quoted =
                    get_amount_out(amount_in, pool.reserve0, pool.reserve1, SwapFee::UNISWAP_V2);
                assert_eq!(quoted, Ok(out), "{}", row["case"]);
                assert_eq!(after.reserve0, pool.reserve0 + amount_in);
                assert_eq!(after.reserve1, pool.reserve1 - out);
            }
        }
    }

    #[test]
    fn mint_locks_minimum_liquidity_and_burn_returns_the_rest() {
        let vectors = common::json("uniswap_v2/v2_pair_mint_burn_feeTo.json");
        let mint = &vectors["mint"];
        let text = |v: &serde_json::Value| common::u256(v.as_str().expect("string"));
        let mut pool = ConstantProductPool::new(SwapFee::UNISWAP_V2, None);
        let minted = pool.mint(text(&mint["amount0"]), text(&mint["amount1"])).unwrap();
        assert_eq!(pool.total_supply, text(&mint["expected_totalSupply"]));
        assert_eq!(minted.liquidity, text(&mint["wallet_liquidity"]));
        assert_eq!(MINIMUM_LIQUIDITY, U256::from(mint["MINIMUM_LIQUIDITY"].as_u64().unwrap()));
        assert_eq!(
            (pool.reserve0, pool.reserve1),
            (text(&mint["amount0"]), text(&mint["amount1"]))
        );

        let burn = &vectors["burn"];
        let mut pool = ConstantProductPool::new(SwapFee::UNISWAP_V2, None);
        let minted = pool.mint(text(&burn["amount0"]), text(&burn["amount1"])).unwrap();
        let burned = pool.burn(minted.liquidity).unwrap();
        assert_eq!(burned.amount0, text(&burn["returned0"]));
        assert_eq!(burned.amount1, text(&burn["returned1"]));
        let left = &burn["pool_left"];
        let left0 = U256::from(left[0].as_u64().unwrap());
        assert_eq!((pool.reserve0, pool.reserve1), (left0, U256::from(left[1].as_u64().unwrap())));
        assert_eq!(pool.total_supply, MINIMUM_LIQUIDITY);
    }

    #[test]
    fn fee_to_on_mints_one_sixth_of_the_growth_in_root_k() {
        let case = &common::json("uniswap_v2/v2_pair_mint_burn_feeTo.json")["feeTo_on"];
        let text = |key: &str| common::u256(case[key].as_str().expect("string"));
        let e18 = U256::from(10).pow(U256::from(18));
        let thousand = U256::from(1000) * e18;
        let mut pool = pool_with(thousand, thousand, Some(ProtocolFee::UNISWAP_V2));
        assert_eq!(pool.k_last, thousand * thousand);
        // swap 1e18 token1 in for 996006981039903216 token0 out
        pool.swap(U256::from(996_006_981_039_903_216u128), U256::ZERO, U256::ZERO, e18).unwrap();
        let burned = pool.burn(pool.total_supply - MINIMUM_LIQUIDITY).unwrap();
        assert_eq!(burned.protocol_fee_liquidity, text("expected_feeTo_liquidity"));
        assert_eq!(pool.reserve0, text("expected_pool_token0"));
        assert_eq!(pool.reserve1, text("expected_pool_token1"));
        assert_eq!(pool.total_supply, MINIMUM_LIQUIDITY + burned.protocol_fee_liquidity);
        assert_eq!(pool.k_last, pool.reserve0 * pool.reserve1);
    }
}
