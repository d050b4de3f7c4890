//! The Uniswap v3 reference vectors: `TickMath` both ways, `SqrtPriceMath` next prices and
//! amount deltas with both roundings, `SwapMath.computeSwapStep`, v3-periphery's
//! `LiquidityAmounts`, and `PositionValue.principal` after a mint through the pool.

mod common;

/// Named `amm` so `cargo test -p levfarm-core amm` selects these with the unit tests.
mod amm {
    use std::collections::BTreeMap;

    use super::common;

    use alloy_primitives::I256;
    use levfarm_core::amm::v3::math::{
        amount0_delta, amount1_delta, amounts_for_liquidity, compute_swap_step,
        liquidity_for_amounts, next_sqrt_price_from_input, next_sqrt_price_from_output,
        sqrt_price_at_tick, tick_at_sqrt_price, SwapStep,
    };
    use levfarm_core::amm::v3::{V3Error, V3Pool, V3PositionKey};
    use levfarm_core::math::U256;
    use levfarm_core::Holder;

    type Row = BTreeMap<String, String>;

    fn int<T: std::str::FromStr>(row: &Row, column: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        row[column]
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{column} is not an integer: {e:?}: {row:?}"))
    }

    fn flag(row: &Row, column: &str) -> bool {
        match row[column].as_str() {
            "True" => true,
            "False" => false,
            other => panic!("{column} is not True/False: {other:?}: {row:?}"),
        }
    }

    /// `"(port: 123)"` to `123`: a value no upstream test asserts.
    fn port_value(row: &Row, column: &str) -> U256 {
        let text = row[column]
            .strip_prefix("(port: ")
            .and_then(|t| t.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{column} is not a port-only value: {row:?}"));
        common::u256(text)
    }

    #[test]
    fn sqrt_price_at_tick_matches_every_row_and_reverts_out_of_range() {
        let rows = common::csv_rows("uniswap_v3/tickmath_getSqrtRatioAtTick.csv");
        assert_eq!(rows.len(), 34);
        let mut reverts = 0;
        for row in &rows {
            let tick: i32 = int(row, "tick");
            let got = sqrt_price_at_tick(tick);
            match row["sqrtPriceX96"].as_str() {
                "REVERT T" => {
                    assert_eq!(got, Err(V3Error::TickOutOfRange { tick }), "{row:?}");
                    reverts += 1;
                }
                expected => assert_eq!(got, Ok(common::u256(expected)), "{row:?}"),
            }
        }
        assert_eq!(reverts, 2);
    }

    #[test]
    fn tick_at_sqrt_price_matches_every_row_and_reverts_out_of_range() {
        let rows = common::csv_rows("uniswap_v3/tickmath_getTickAtSqrtRatio.csv");
        assert_eq!(rows.len(), 19);
        let mut reverts = 0;
        for row in &rows {
            let sqrt_price = common::u256(&row["sqrtPriceX96"]);
            let got = tick_at_sqrt_price(sqrt_price);
            match row["tick"].as_str() {
                "REVERT R" => {
                    assert_eq!(got, Err(V3Error::SqrtPriceOutOfRange { sqrt_price }), "{row:?}");
                    reverts += 1;
                }
                _ => assert_eq!(got, Ok(int::<i32>(row, "tick")), "{row:?}"),
            }
        }
        assert_eq!(reverts, 2);
    }

    #[test]
    fn sqrt_price_math_matches_every_row_and_every_revert() {
        let rows = common::csv_rows("uniswap_v3/sqrtpricemath_cases.csv");
        assert_eq!(rows.len(), 21);
        let (mut compared, mut reverts, mut both_roundings) = (0, 0, 0);
        for row in &rows {
            let sqrt_price = common::u256(&row["sqrtPriceX96"]);
            let liquidity: u128 = int(row, "liquidity");
            let expected = row["expected"].as_str();
            let function = row["function"].as_str();
            if function.starts_with("getNextSqrtPriceFrom") {
                let amount = common::u256(&row["amount"]);
                let zero_for_one = flag(row, "zeroForOne_or_roundUp");
                let got = match function {
                    "getNextSqrtPriceFromInput" => {
                        next_sqrt_price_from_input(sqrt_price, liquidity, amount, zero_for_one)
                    }
                    "getNextSqrtPriceFromOutput" => {
                        next_sqrt_price_from_output(sqrt_price, liquidity, amount, zero_for_one)
                    }
                    other => panic!("unknown function {other}"),
                };
                if expected == "REVERT" {
                    assert!(got.is_err(), "{row:?} must revert, got {got:?}");
                    reverts += 1;
                } else {
                    assert_eq!(got, Ok(common::u256(expected)), "{row:?}");
                    compared += 1;
                }
                continue;
            }
            let sqrt_price_b = common::u256(&row["sqrtPriceBX96"]);
            let delta = |round_up: bool| match function {
                "getAmount0Delta" => amount0_delta(sqrt_price, sqrt_price_b, liquidity, round_up),
                "getAmount1Delta" => amount1_delta(sqrt_price, sqrt_price_b, liquidity, round_up),
                other => panic!("unknown function {other}"),
            };
            if row["zeroForOne_or_roundUp"] == "True/False" {
                // Upstream asserts only `up == down + 1` ("works for prices that overflow"); the
                // numbers themselves are PORT-ONLY, compared here because no upstream value
                // exists for this row.
                let up = delta(true).unwrap_or_else(|e| panic!("{row:?}: {e}"));
                let down = delta(false).unwrap_or_else(|e| panic!("{row:?}: {e}"));
                assert_eq!(up, down + U256::from(1), "{row:?}");
                assert!(expected.contains("up == down + 1"), "{row:?}");
                let port = expected
                    .split_once("(port: ")
                    .and_then(|(_, rest)| rest.strip_suffix(')'))
                    .unwrap_or_else(|| panic!("no port values: {row:?}"));
                let port: BTreeMap<&str, U256> = port
                    .split(", ")
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').expect("key=value");
                        (k, common::u256(v))
                    })
                    .collect();
                assert_eq!((up, down), (port["up"], port["down"]), "{row:?}");
                both_roundings += 1;
                continue;
            }
            let round_up = flag(row, "zeroForOne_or_roundUp");
            assert_eq!(delta(round_up), Ok(common::u256(expected)), "{row:?}");
            compared += 1;
        }
        assert_eq!((compared, reverts, both_roundings), (16, 4, 1));
    }

    #[test]
    fn compute_swap_step_matches_every_row() {
        let rows = common::csv_rows("uniswap_v3/swapmath_computeSwapStep.csv");
        assert_eq!(rows.len(), 9);
        for row in &rows {
            let amount_remaining: I256 = row["amountRemaining"]
                .parse()
                .unwrap_or_else(|e| panic!("amountRemaining: {e:?}: {row:?}"));
            let got = compute_swap_step(
                common::u256(&row["sqrtPriceCurrentX96"]),
                common::u256(&row["sqrtPriceTargetX96"]),
                int(row, "liquidity"),
                amount_remaining,
                int(row, "feePips"),
            );
            // Every row has upstream `exp_*` values, so the `port_*` columns are not compared.
            let expected = SwapStep {
                sqrt_price_next: common::u256(&row["exp_sqrtPriceNextX96"]),
                amount_in: common::u256(&row["exp_amountIn"]),
                amount_out: common::u256(&row["exp_amountOut"]),
                fee_amount: common::u256(&row["exp_feeAmount"]),
            };
            assert_eq!(got, Ok(expected), "{row:?}");
        }
    }

    /// `(ticks lower,upper)` from the `source` column of a `PositionValue` row.
    fn ticks_from_source(row: &Row) -> (i32, i32) {
        let text = row["source"]
            .split_once("(ticks ")
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .unwrap_or_else(|| panic!("no ticks in source: {row:?}"));
        let (lower, upper) = text.split_once(',').expect("lower,upper");
        (lower.trim().parse().expect("tick"), upper.trim().parse().expect("tick"))
    }

    #[test]
    fn liquidity_amounts_and_position_principal_match_every_row() {
        let rows = common::csv_rows("uniswap_v3/liquidity_amounts_and_position_principal.csv");
        assert_eq!(rows.len(), 15);
        let (mut for_amounts, mut for_liquidity, mut principal) = (0, 0, 0);
        for row in &rows {
            let sqrt_price = common::u256(&row["sqrtPriceX96"]);
            let a = common::u256(&row["sqrtPriceAX96"]);
            let b = common::u256(&row["sqrtPriceBX96"]);
            match row["function"].as_str() {
                "getLiquidityForAmounts" => {
                    let (amount0, amount1) =
                        (common::u256(&row["amount0"]), common::u256(&row["amount1"]));
                    let got = liquidity_for_amounts(sqrt_price, a, b, amount0, amount1);
                    assert_eq!(got, Ok(int::<u128>(row, "liquidity")), "{row:?}");
                    for_amounts += 1;
                }
                "getAmountsForLiquidity" => {
                    let got = amounts_for_liquidity(sqrt_price, a, b, int(row, "liquidity"));
                    let expected =
                        [common::u256(&row["exp_amount0"]), common::u256(&row["exp_amount1"])];
                    assert_eq!(got, Ok(expected), "{row:?}");
                    for_liquidity += 1;
                }
                f if f.starts_with("PositionValue.principal") => {
                    // NonfungiblePositionManager.mint on a 0.3% pool (tick spacing 60): the
                    // liquidity the desired amounts back, minted into the pool; then
                    // PositionValue.principal = getAmountsForLiquidity at the pool's price.
                    let (tick_lower, tick_upper) = ticks_from_source(row);
                    assert_eq!(sqrt_price_at_tick(tick_lower), Ok(a), "{row:?}");
                    assert_eq!(sqrt_price_at_tick(tick_upper), Ok(b), "{row:?}");
                    let desired = [common::u256(&row["amount0"]), common::u256(&row["amount1"])];
                    let liquidity = liquidity_for_amounts(sqrt_price, a, b, desired[0], desired[1])
                        .unwrap_or_else(|e| panic!("{row:?}: {e}"));
                    // The liquidity column is PORT-ONLY; no upstream value exists for it.
                    assert_eq!(U256::from(liquidity), port_value(row, "liquidity"), "{row:?}");

                    let mut pool = V3Pool::new(3000, 60, sqrt_price)
                        .unwrap_or_else(|e| panic!("{row:?}: {e}"));
                    let key = V3PositionKey {
                        owner: Holder::Account("lp".into()),
                        tick_lower,
                        tick_upper,
                    };
                    let paid =
                        pool.mint(&key, liquidity).unwrap_or_else(|e| panic!("{row:?}: {e}"));
                    assert!(paid[0] <= desired[0] && paid[1] <= desired[1], "{row:?}: {paid:?}");
                    let position_liquidity =
                        pool.position(&key).expect("minted position").liquidity;
                    assert_eq!(position_liquidity, liquidity, "{row:?}");

                    let expected =
                        [common::u256(&row["exp_amount0"]), common::u256(&row["exp_amount1"])];
                    let got = amounts_for_liquidity(pool.sqrt_price, a, b, position_liquidity);
                    assert_eq!(got, Ok(expected), "{row:?}");

                    // Burning it all at the same price pays back exactly that principal.
                    let burned =
                        pool.burn(&key, liquidity).unwrap_or_else(|e| panic!("{row:?}: {e}"));
                    assert_eq!(burned, expected, "{row:?}");
                    let collected = pool
                        .collect(&key, u128::MAX, u128::MAX)
                        .unwrap_or_else(|e| panic!("{row:?}: {e}"));
                    assert_eq!(collected.map(U256::from), expected, "{row:?}");
                    assert!(pool.position(&key).is_none(), "{row:?}");
                    principal += 1;
                }
                other => panic!("unknown function {other}"),
            }
        }
        assert_eq!((for_amounts, for_liquidity, principal), (5, 5, 5));
    }
}
