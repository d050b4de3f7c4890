//! The pool against v3-core's own `UniswapV3Pool.spec.ts` numbers, and its invariants over
//! random positions and swaps.

use alloy_primitives::I256;
use proptest::prelude::*;

use super::math::{self, MAX_TICK, MIN_TICK};
use super::*;
use crate::types::Holder;

/// `encodePriceSqrt(1, 10)`: the spec's pool starts at 0.1 token1 per token0.
const ONE_TO_TEN: &str = "25054144837504793118641380156";
const SPACING: i32 = 60;
/// `getMinTick(60)`, `getMaxTick(60)`.
const MIN: i32 = -887220;
const MAX: i32 = 887220;

fn u(text: &str) -> U256 {
    text.parse().expect("decimal")
}

fn key(owner: &str, lower: i32, upper: i32) -> V3PositionKey {
    V3PositionKey { owner: Holder::Account(owner.into()), tick_lower: lower, tick_upper: upper }
}

/// The spec's `beforeEach`: a 0.3% pool at 1:10 with 3161 liquidity over the full range.
fn spec_pool() -> V3Pool {
    let mut pool = V3Pool::new(3000, SPACING, u(ONE_TO_TEN)).unwrap();
    assert_eq!(pool.tick, -23028, "initialize at 1:10");
    let paid = pool.mint(&key("wallet", MIN, MAX), 3161).unwrap();
    // "initialize the pool at price of 10:1 ... mint(minTick, maxTick, 3161)": 9996 and 1000.
    assert_eq!(paid, [U256::from(9996), U256::from(1000)]);
    pool
}

#[test]
fn mint_transfers_what_v3_core_expects() {
    // UniswapV3Pool.spec.ts, "#mint > success cases", balances after the initial 9996/1000.
    let two_pow_102 = 1u128 << 102;
    let cases: [(&str, i32, i32, u128, [u64; 2]); 7] = [
        ("above: token0 only", -22980, 0, 10000, [21549, 0]),
        ("max tick with max leverage", MAX - SPACING, MAX, two_pow_102, [828011525, 0]),
        ("works for max tick", -22980, MAX, 10000, [31549, 0]),
        ("within: both tokens", MIN + SPACING, MAX - SPACING, 100, [317, 32]),
        ("below: token1 only", -46080, -23040, 10000, [0, 2162]),
        ("min tick with max leverage", MIN, MIN + SPACING, two_pow_102, [0, 828011520]),
        ("works for min tick", MIN, -23040, 10000, [0, 3161]),
    ];
    for (name, lower, upper, amount, want) in cases {
        let mut pool = spec_pool();
        let paid = pool.mint(&key("other", lower, upper), amount).unwrap();
        assert_eq!(paid, want.map(U256::from), "{name}");
        assert_eq!(
            [pool.balance0, pool.balance1],
            [U256::from(9996 + want[0]), U256::from(1000 + want[1])],
            "{name}"
        );
    }
}

#[test]
fn minting_is_refused_as_the_contract_refuses() {
    let mut pool = spec_pool();
    let before = pool.clone();
    let refusals = [
        (key("x", 1, 0), 1u128),
        (key("x", MIN_TICK - 1, 0), 1),
        (key("x", 0, MAX_TICK + 1), 1),
        (key("x", -30, 60), 1),
        (key("x", -60, 60), 0),
        (key("x", MIN, MAX), pool.max_liquidity_per_tick),
    ];
    for (k, amount) in refusals {
        assert!(pool.mint(&k, amount).is_err(), "{k:?} {amount}");
        assert_eq!(pool, before, "{k:?}: a refused mint changes nothing");
    }
    assert_eq!(max_liquidity_per_tick(60), 11505743598341114571880798222544994);
}

#[test]
fn burning_returns_the_principal_rounded_down_and_collect_pays_it() {
    let mut pool = spec_pool();
    let k = key("other", MIN + SPACING, MAX - SPACING);
    let paid = pool.mint(&k, 100).unwrap();
    let out = pool.burn(&k, 100).unwrap();
    // Minting rounds up and burning down: at most one unit each less back.
    for i in 0..2 {
        assert!(out[i] <= paid[i] && paid[i] - out[i] <= U256::from(1), "{out:?} {paid:?}");
    }
    let owed = pool.position(&k).unwrap();
    assert_eq!(owed.liquidity, 0);
    let got = pool.collect(&k, u128::MAX, u128::MAX).unwrap();
    assert_eq!(got.map(U256::from), out);
    assert!(pool.position(&k).is_none(), "an empty position is gone");
    assert_eq!(pool.liquidity, 3161);
    assert!(pool.tick_info(MIN + SPACING).is_none(), "its ticks are cleared");
}

#[test]
fn a_swap_stops_at_each_bitmap_word_and_initialized_tick() {
    // A 0.05% pool at price 1 with one wide position; a large sell of token0 walks left across
    // several empty 256-tick words (tick spacing 10: 2560 ticks a word) before it stops.
    let mut pool = V3Pool::new(500, 10, math::sqrt_price_at_tick(0).unwrap()).unwrap();
    let lp = key("lp", -50_000, 50_000);
    pool.mint(&lp, 10u128.pow(20)).unwrap();
    let limit = math::sqrt_price_at_tick(-12_000).unwrap();
    let out = pool.swap(true, I256::MAX, limit).unwrap();
    assert_eq!(out.sqrt_price_after, limit, "an unbounded input stops at the limit");
    assert_eq!(out.tick_after, -12_000);
    // Words start at compressed multiples of 256: ticks 0, -2560, -5120, -7680, -10240, then
    // the limit inside the last word: 1 + 5 steps.
    assert_eq!(out.steps, 6);
    assert!(out.ticks_crossed.is_empty());
    assert!(out.amount0.is_positive() && out.amount1.is_negative());
    assert_eq!(pool.liquidity, 10u128.pow(20), "no tick crossed: the same liquidity");
}

#[test]
fn crossing_a_tick_changes_the_liquidity_and_flips_its_fee_growth() {
    let mut pool = V3Pool::new(3000, 60, math::sqrt_price_at_tick(0).unwrap()).unwrap();
    let wide = key("wide", -6000, 6000);
    let narrow = key("narrow", -600, 600);
    pool.mint(&wide, 10u128.pow(18)).unwrap();
    pool.mint(&narrow, 10u128.pow(18)).unwrap();
    assert_eq!(pool.liquidity, 2 * 10u128.pow(18));
    let limit = math::sqrt_price_at_tick(-1200).unwrap();
    let out = pool.swap(true, I256::MAX, limit).unwrap();
    assert_eq!(out.ticks_crossed, vec![-600]);
    assert_eq!(pool.liquidity, 10u128.pow(18), "the narrow range is left behind");
    // All growth up to the crossing happened above -600, inside the narrow range.
    let info = pool.tick_info(-600).unwrap();
    assert!(info.fee_growth_outside0 > U256::ZERO);
    // Both positions earned token0 fees; the wide one earned more (it kept earning).
    let fees = |k| pool.owed_with_pending_fees(k).unwrap();
    let (w, n) = (fees(&wide), fees(&narrow));
    assert!(w[0] > n[0] && n[0] > 0, "{w:?} {n:?}");
    assert!(U256::from(w[0] + n[0]) <= out.fee_amount, "fees paid out never exceed fees taken");
}

fn full_range(spacing: i32) -> (i32, i32) {
    ((MIN_TICK / spacing) * spacing, (MAX_TICK / spacing) * spacing)
}

#[test]
fn a_full_range_position_trades_like_a_constant_product_pool() {
    // 1,000 token0 and 2,000,000 token1 (18 decimals) at price 2,000, full range, 0.3%.
    let (x, y) = (u("1000000000000000000000"), u("2000000000000000000000000"));
    let sqrt = crate::math::sqrt(y * crate::math::Q96 * crate::math::Q96 / x);
    let mut v3 = V3Pool::new(3000, 60, sqrt).unwrap();
    let (lo, hi) = full_range(60);
    let liquidity = math::liquidity_for_amounts(
        sqrt,
        math::sqrt_price_at_tick(lo).unwrap(),
        math::sqrt_price_at_tick(hi).unwrap(),
        x,
        y,
    )
    .unwrap();
    let paid = v3.mint(&key("lp", lo, hi), liquidity).unwrap();
    let mut v2 = crate::amm::ConstantProductPool::new(crate::amm::SwapFee::UNISWAP_V2, None);
    v2.mint(paid[0], paid[1]).unwrap();
    for amount_in in ["1000000000000000", "1000000000000000000", "50000000000000000000"] {
        let amount_in = u(amount_in);
        let mut pool = v3.clone();
        let out = pool
            .swap(true, I256::try_from(amount_in).unwrap(), math::min_sqrt_price() + U256::from(1))
            .unwrap();
        let v3_out = out.amount1.unsigned_abs();
        let v2_out = crate::amm::get_amount_out(amount_in, paid[0], paid[1], v2.fee).unwrap();
        // Same curve, same fee; only the roundings differ (v3 rounds the price, v2 the output).
        let diff = if v3_out > v2_out { v3_out - v2_out } else { v2_out - v3_out };
        assert!(
            diff * U256::from(1_000_000_000u64) <= v2_out,
            "{amount_in}: v3 {v3_out} v2 {v2_out}"
        );
    }
}

#[derive(Debug, Clone)]
enum Op {
    Mint { owner: u8, lower: i32, width: i32, liquidity: u128 },
    Burn { owner: u8, fraction: u8 },
    Swap { zero_for_one: bool, exact_in: bool, amount: u128 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..4, -200i32..200, 1i32..100, 1u128..1u128 << 80).prop_map(
            |(owner, lower, width, liquidity)| {
                Op::Mint { owner, lower: lower * 60, width: width * 60, liquidity }
            }
        ),
        (0u8..4, 1u8..=4).prop_map(|(owner, fraction)| Op::Burn { owner, fraction }),
        (any::<bool>(), any::<bool>(), 1u128..1u128 << 70).prop_map(
            |(zero_for_one, exact_in, amount)| Op::Swap { zero_for_one, exact_in, amount }
        ),
    ]
}

/// Checks the pool's books: in-range liquidity, each tick's gross and net, the bitmap.
fn check_books(pool: &V3Pool) {
    let mut in_range = 0u128;
    let mut gross = std::collections::BTreeMap::<i32, u128>::new();
    let mut net = std::collections::BTreeMap::<i32, i128>::new();
    for (k, p) in pool.positions() {
        if p.liquidity == 0 {
            continue;
        }
        if k.tick_lower <= pool.tick && pool.tick < k.tick_upper {
            in_range += p.liquidity;
        }
        *gross.entry(k.tick_lower).or_default() += p.liquidity;
        *gross.entry(k.tick_upper).or_default() += p.liquidity;
        *net.entry(k.tick_lower).or_default() += p.liquidity as i128;
        *net.entry(k.tick_upper).or_default() -= p.liquidity as i128;
    }
    assert_eq!(pool.liquidity, in_range, "in-range liquidity");
    let ticks: Vec<_> =
        pool.ticks().map(|(t, i)| (*t, i.liquidity_gross, i.liquidity_net)).collect();
    let expected: Vec<_> = gross.iter().map(|(t, g)| (*t, *g, net[t])).collect();
    assert_eq!(ticks, expected, "tick books");
    for (t, _) in pool.ticks() {
        let (word, bit) = pool::bitmap_position(*t / pool.tick_spacing);
        assert!(pool.bitmap_word(word).bit(bit as usize), "tick {t} in the bitmap");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn books_balance_and_no_token_is_created(ops in proptest::collection::vec(op(), 1..40)) {
        let mut pool = V3Pool::new(3000, 60, math::sqrt_price_at_tick(0).unwrap()).unwrap();
        // What went in and out of the pool, by token.
        let (mut in0, mut in1, mut out0, mut out1) = (U256::ZERO, U256::ZERO, U256::ZERO, U256::ZERO);
        let mut ranges: Vec<V3PositionKey> = Vec::new();
        for op in ops {
            match op {
                Op::Mint { owner, lower, width, liquidity } => {
                    let k = key(&format!("o{owner}"), lower, lower + width);
                    if let Ok(paid) = pool.mint(&k, liquidity) {
                        in0 += paid[0];
                        in1 += paid[1];
                        if !ranges.contains(&k) {
                            ranges.push(k);
                        }
                    }
                }
                Op::Burn { owner, fraction } => {
                    if let Some(k) = ranges.get(usize::from(owner) % ranges.len().max(1)).cloned() {
                        let have = pool.position(&k).map_or(0, |p| p.liquidity);
                        let amount = have / u128::from(fraction);
                        if amount > 0 {
                            pool.burn(&k, amount).unwrap();
                        }
                        let got = pool.collect(&k, u128::MAX, u128::MAX).unwrap_or_default();
                        out0 += U256::from(got[0]);
                        out1 += U256::from(got[1]);
                    }
                }
                Op::Swap { zero_for_one, exact_in, amount } => {
                    let amount = I256::try_from(amount).unwrap();
                    let specified = if exact_in { amount } else { -amount };
                    let limit = if zero_for_one {
                        math::min_sqrt_price() + U256::from(1)
                    } else {
                        math::max_sqrt_price() - U256::from(1)
                    };
                    let before = pool.clone();
                    match pool.swap(zero_for_one, specified, limit) {
                        Ok(s) => {
                            for (delta, (i, o)) in [(s.amount0, (&mut in0, &mut out0)), (s.amount1, (&mut in1, &mut out1))] {
                                if delta.is_negative() { *o += delta.unsigned_abs() } else { *i += delta.unsigned_abs() }
                            }
                            // Never more out than the exact output asked for; never more in than the exact input.
                            let (specified_side, other) = if zero_for_one == exact_in { (s.amount0, s.amount1) } else { (s.amount1, s.amount0) };
                            prop_assert!(specified_side.unsigned_abs() <= amount.unsigned_abs());
                            prop_assert!(!(specified_side.is_negative() && other.is_negative()), "the pool never pays both tokens");
                        }
                        Err(_) => prop_assert_eq!(&pool, &before, "a refused swap changes nothing"),
                    }
                }
            }
            check_books(&pool);
            prop_assert_eq!(pool.balance0 + out0, in0, "token0 conserved");
            prop_assert_eq!(pool.balance1 + out1, in1, "token1 conserved");
        }
        // Every position can leave with what it is owed: the pool never owes more than it holds.
        for k in ranges {
            let have = pool.position(&k).map_or(0, |p| p.liquidity);
            if have > 0 {
                pool.burn(&k, have).unwrap();
            }
            if pool.position(&k).is_some() {
                pool.burn(&k, 0).ok();
                pool.collect(&k, u128::MAX, u128::MAX).unwrap();
            }
        }
        prop_assert_eq!(pool.liquidity, 0);
        prop_assert!(pool.ticks().next().is_none());
    }

    #[test]
    fn swapping_in_and_straight_back_never_gains(amount in 1u128..1u128 << 60, zero_for_one in any::<bool>()) {
        let mut pool = V3Pool::new(3000, 60, math::sqrt_price_at_tick(-23028).unwrap()).unwrap();
        pool.mint(&key("lp", -887220, 887220), 10u128.pow(22)).unwrap();
        pool.mint(&key("lp", -24000, -22020), 10u128.pow(23)).unwrap();
        let lim = |z: bool| if z { math::min_sqrt_price() + U256::from(1) } else { math::max_sqrt_price() - U256::from(1) };
        let first = pool.swap(zero_for_one, I256::try_from(amount).unwrap(), lim(zero_for_one)).unwrap();
        let got = if zero_for_one { first.amount1 } else { first.amount0 }.unsigned_abs();
        prop_assume!(!got.is_zero());
        let back = pool.swap(!zero_for_one, I256::try_from(got).unwrap(), lim(!zero_for_one)).unwrap();
        let returned = if zero_for_one { back.amount0 } else { back.amount1 }.unsigned_abs();
        prop_assert!(returned <= U256::from(amount), "in {amount}, back {returned}");
    }
}
