//! Invariants over random pools, fees and amounts: the product never falls on a swap, rounding
//! never favours the trader or the liquidity provider, and `swap_to_price` lands in the band.

use proptest::prelude::*;

use super::*;
use crate::math::U256;

fn config() -> ProptestConfig {
    // No regression files written beside the sources.
    ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() }
}

fn fee() -> impl Strategy<Value = SwapFee> {
    prop_oneof![
        Just(SwapFee::UNISWAP_V2),
        Just(SwapFee::PANCAKESWAP_V2),
        Just(SwapFee::PANCAKESWAP_V1),
        (1u32..=10_000).prop_map(|n| SwapFee::new(n, 10_000).expect("n in range")),
    ]
}

/// Amounts from 1 wei to 2^100 (1.3e30), log-uniform-ish: a random width, then a value.
fn amount_u128() -> impl Strategy<Value = u128> {
    (1u32..=100).prop_flat_map(|bits| 1u128..=(u128::MAX >> (128 - bits)))
}

fn amount() -> impl Strategy<Value = U256> {
    amount_u128().prop_map(U256::from)
}

/// A reserve of at least 2 and an output below it.
fn reserve_and_output() -> impl Strategy<Value = (U256, U256)> {
    amount_u128()
        .prop_map(|r| r.max(2))
        .prop_flat_map(|r| (Just(U256::from(r)), (1..r).prop_map(U256::from)))
}

fn pool(fee: SwapFee, reserve0: U256, reserve1: U256) -> ConstantProductPool {
    let mut pool = ConstantProductPool::new(fee, Some(ProtocolFee::UNISWAP_V2));
    pool.reserve0 = reserve0;
    pool.reserve1 = reserve1;
    pool.total_supply = crate::math::sqrt(reserve0 * reserve1).max(MINIMUM_LIQUIDITY);
    pool.k_last = reserve0 * reserve1;
    pool
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn product_never_falls_on_a_swap(
        fee in fee(), r0 in amount(), r1 in amount(), amount in amount(), zero_for_one: bool,
        exact_in: bool,
    ) {
        let mut p = pool(fee, r0, r1);
        let before = p.clone();
        let result = if exact_in {
            p.swap_exact_in(zero_for_one, amount)
        } else {
            p.swap_exact_out(zero_for_one, amount)
        };
        match result {
            Ok(_) => prop_assert!(p.reserve0 * p.reserve1 >= r0 * r1),
            Err(_) => prop_assert_eq!(p, before),
        }
    }

    #[test]
    fn buying_what_get_amount_in_quotes_yields_at_least_the_output(
        fee in fee(), reserve_in in amount(), (reserve_out, amount_out) in reserve_and_output(),
    ) {
        if let Ok(amount_in) = get_amount_in(amount_out, reserve_in, reserve_out, fee) {
            let got = get_amount_out(amount_in, reserve_in, reserve_out, fee).unwrap();
            prop_assert!(got >= amount_out, "{} in -> {} < {}", amount_in, got, amount_out);
            // And one wei less input is not enough: the +1 is the only slack.
            if amount_in > U256::from(1) {
                let less = get_amount_out(amount_in - U256::from(2), reserve_in, reserve_out, fee);
                prop_assert!(less.map_or(true, |less| less < amount_out));
            }
        }
    }

    #[test]
    fn mint_then_burn_never_returns_more(
        fee in fee(), r0 in amount(), r1 in amount(), a0 in amount(), a1 in amount(),
    ) {
        let mut p = pool(fee, r0, r1);
        if let Ok(minted) = p.mint(a0, a1) {
            if let Ok(burned) = p.burn(minted.liquidity) {
                prop_assert!(burned.amount0 <= a0 && burned.amount1 <= a1, "{:?}", burned);
            }
        }
    }

    #[test]
    fn zap_accounts_for_every_token(
        fee in fee(), r0 in amount(), r1 in amount(), a0 in amount(), a1 in amount(),
        one_sided: bool,
    ) {
        let mut p = pool(fee, r0, r1);
        let a1 = if one_sided { U256::ZERO } else { a1 };
        let before = p.clone();
        match p.zap_in(a0, a1) {
            Ok(zap) => {
                let (sold, bought) = (zap.swap_amount_in, zap.swap_amount_out);
                let (out0, in1) = if zap.swap_zero_for_one { (sold, bought) } else { (U256::ZERO, U256::ZERO) };
                let (out1, in0) = if zap.swap_zero_for_one { (U256::ZERO, U256::ZERO) } else { (sold, bought) };
                prop_assert_eq!(a0 + in0, zap.amount0_added + zap.leftover0 + out0);
                prop_assert_eq!(a1 + in1, zap.amount1_added + zap.leftover1 + out1);
                prop_assert_eq!(p.reserve0, r0 + sold * U256::from(zap.swap_zero_for_one as u8)
                    - bought * U256::from(!zap.swap_zero_for_one as u8) + zap.amount0_added);
            }
            Err(_) => prop_assert_eq!(p, before),
        }
    }

    #[test]
    fn swap_to_price_is_the_largest_input_not_past_the_target(
        fee in fee(), r0 in amount(), r1 in amount(), num in amount(), den in amount(),
    ) {
        let p = pool(fee, r0, r1);
        let Some(plan) = p.swap_to_price(num, den).unwrap() else { return Ok(()) };
        // After `a` in, the marginal price of the next unit, with the fee, is `(r_in·d + n·a)^2 /
        // (k·n·d)` in input per output; the target's is `D/N` for token0 in, `N/D` for token1.
        let (reserve_in, ratio_num, ratio_den) =
            if plan.zero_for_one { (r0, den, num) } else { (r1, num, den) };
        let (n, d) = (wide(fee.kept()), wide(fee.scale()));
        let k_n_d_ratio = wide(r0) * wide(r1) * n * d * wide(ratio_num);
        let edge = |a: U256| {
            let root = wide(reserve_in) * d + n * wide(a);
            root * root * wide(ratio_den)
        };
        prop_assert!(edge(plan.amount_in) <= k_n_d_ratio);
        prop_assert!(edge(plan.amount_in + U256::from(1)) > k_n_d_ratio);
    }

    #[test]
    fn swap_to_price_lands_within_the_fee_band(
        fee in fee(), r0 in amount(), r1 in amount(), num in amount(), den in amount(),
    ) {
        let start = pool(fee, r0, r1);
        let Some(plan) = start.swap_to_price(num, den).unwrap() else { return Ok(()) };
        // Band: n/d·P <= y/x <= d/n·P, P = num/den, cross-multiplied.
        let (n, d) = (wide(fee.kept()), wide(fee.scale()));
        let (num, den) = (wide(num), wide(den));
        let below_upper = |x: Wide, y: Wide| y * n * den <= x * d * num;
        let above_lower = |x: Wide, y: Wide| y * d * den >= x * n * num;
        let swapped = |amount_in: U256| {
            let mut p = start.clone();
            p.swap_exact_in(plan.zero_for_one, amount_in).ok().map(|_| (wide(p.reserve0), wide(p.reserve1)))
        };
        let Some((x, y)) = swapped(plan.amount_in) else { return Ok(()) };
        // Never past the far edge.
        let far_edge_holds = if plan.zero_for_one { above_lower(x, y) } else { below_upper(x, y) };
        prop_assert!(far_edge_holds, "overshot: {} {}", x, y);
        // The near edge: the input is rounded down, so one wei more input reaches it, up to the
        // wei the pool keeps from rounding its output down.
        let Some((x, y)) = swapped(plan.amount_in + U256::from(1)) else { return Ok(()) };
        let one = Wide::from(1);
        let near_edge_reached = if plan.zero_for_one {
            below_upper(x, y - one)
        } else {
            above_lower(x - one, y)
        };
        prop_assert!(near_edge_reached, "short of the band: {} {}", x, y);
    }
}

type Wide = alloy_primitives::aliases::U1024;

fn wide(value: U256) -> Wide {
    Wide::from_limbs_slice(value.as_limbs())
}
