//! Engine micro-benchmarks and one year of hourly steps of a leveraged position, on a
//! constant-product pool and in a range of a v3 pool.
//!
//! The year (fixture in `year/mod.rs`) replays the bundled ETH/USD closes of 2022: each hour
//! the time advances, the oracle moves, an arbitrageur trades the pool to it, the lending pools
//! accrue, and the position's health is checked.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use levfarm_core::amm::{ConstantProductPool, SwapFee};
use levfarm_core::math::U256;
use levfarm_core::Command;

mod year;
use year::{
    closes_2022, cmd, market, range_market, range_year_of_hourly_steps, year_of_hourly_steps,
};

fn benches(c: &mut Criterion) {
    let base = market();
    let pool = ConstantProductPool {
        reserve0: U256::from(1000u64) * U256::from(10u64).pow(U256::from(18)),
        reserve1: U256::from(2_000_000_000_000u64),
        total_supply: U256::from(1_414_213_562_373u64),
        ..ConstantProductPool::new(SwapFee::UNISWAP_V2, None)
    };
    c.bench_function("swap_exact_in", |b| {
        b.iter(|| {
            black_box(pool.clone())
                .swap_exact_in(true, black_box(U256::from(10u64.pow(18))))
                .unwrap()
        })
    });
    let amm = base.amm_pool("ETH-USDC").unwrap().amm.clone();
    let (num, den) =
        (U256::from(1500u64) * U256::from(10u64.pow(6)), U256::from(10u64).pow(U256::from(18)));
    c.bench_function("swap_to_price", |b| {
        b.iter(|| black_box(&amm).swap_to_price(black_box(num), den).unwrap())
    });
    let mut stepped = base.clone();
    let accrue = Command::Accrue {};
    c.bench_function("market_accrue", |b| {
        b.iter(|| black_box(&mut stepped).apply(&accrue).unwrap())
    });
    let (a, b, d) = (
        U256::from(1_234_567_890_123_456_789_012u128),
        U256::from(2_000_000_000_000_000_000_000u128),
        U256::from(10u64.pow(18)),
    );
    c.bench_function("mul_div_by_1e18", |bch| {
        bch.iter(|| levfarm_core::math::mul_div(black_box(a), black_box(b), black_box(d)).unwrap())
    });
    let big = a * b * U256::from(1_000_000_007u64);
    c.bench_function("sqrt_u256", |bch| bch.iter(|| levfarm_core::math::sqrt(black_box(big))));
    let ray = levfarm_core::math::RAY;
    c.bench_function("mul_div_by_1e27", |bch| {
        bch.iter(|| {
            levfarm_core::math::mul_div(black_box(a), black_box(b), black_box(ray)).unwrap()
        })
    });
    let lending = base.lending("USDC").unwrap().clone();
    c.bench_function("accrue_one_hour", |b| {
        b.iter(|| black_box(&lending).indices_at(black_box(3600)).unwrap())
    });
    c.bench_function("position_health", |b| {
        b.iter(|| black_box(&base).position_health(1).unwrap())
    });
    c.bench_function("liquidation_prices", |b| {
        b.iter(|| black_box(&base).liquidation_prices(1).unwrap())
    });
    let mut crashed = base.clone();
    crashed.apply(&cmd(r#"{"op":"set_price","token":"WETH","price":"1000"}"#)).unwrap();
    crashed.apply(&cmd(r#"{"op":"arbitrage","account":"arb","pool":"ETH-USDC"}"#)).unwrap();
    let kill = cmd(r#"{"op":"liquidate","liquidator":"keeper","position":1}"#);
    c.bench_function("liquidate", |b| {
        b.iter_batched(|| crashed.clone(), |mut m| m.apply(&kill).unwrap(), BatchSize::SmallInput)
    });
    let closes = closes_2022();
    assert_eq!(closes.len(), 8757, "2022 has 8,760 hours less 3 missing from the file");
    c.bench_function("year_of_hourly_steps", |b| {
        b.iter_batched(
            || base.clone(),
            |mut m| year_of_hourly_steps(&mut m, &closes),
            BatchSize::LargeInput,
        )
    });
}

/// A 0.3% v3 pool at price 1 with 100 narrow ranges stacked 120 ticks apart below the price;
/// one exact-input sell walks through the 199 initialized ticks below the price.
fn v3_many_ticks(c: &mut Criterion) {
    use levfarm_core::amm::v3::{math, V3Pool, V3PositionKey};
    use levfarm_core::Holder;
    let mut pool = V3Pool::new(3000, 60, math::sqrt_price_at_tick(0).unwrap()).unwrap();
    for i in 0..100 {
        let lower = -120 * (i + 1);
        let key = V3PositionKey {
            owner: Holder::Account("lp".into()),
            tick_lower: lower,
            tick_upper: lower + 180,
        };
        pool.mint(&key, 10u128.pow(21)).unwrap();
    }
    let limit = math::sqrt_price_at_tick(-12_600).unwrap();
    let amount = alloy_primitives::I256::try_from(10u128.pow(24)).unwrap();
    let crossed = pool.clone().swap(true, amount, limit).unwrap().ticks_crossed.len();
    assert_eq!(crossed, 199, "the bench must cross every tick below the price");
    c.bench_function("v3_swap_crossing_199_ticks", |b| {
        b.iter_batched(
            || pool.clone(),
            |mut p| p.swap(true, black_box(amount), limit).unwrap(),
            BatchSize::SmallInput,
        )
    });
}

/// The same year for a 2x long range position on a v3 pool: each hour the arbitrageur trades
/// the pool to the oracle through its swap loop, the position is re-centred when the price
/// has left its range, and its health is its range's tokens and fees at the oracle and an
/// exit quoted through the pool.
fn v3_range_year(c: &mut Criterion) {
    let base = range_market();
    let closes = closes_2022();
    let mut m = base.clone();
    let (worst, recentred, liquidated) = range_year_of_hourly_steps(&mut m, &closes);
    // 2022 takes it to a worst debt ratio of 8184 bps with 6 re-centrings, short of the kill
    // factor: the bench steps an open position all year.
    assert!(worst > 0 && recentred > 0 && !liquidated, "{worst} {recentred} {liquidated}");
    c.bench_function("range_position_health", |b| {
        b.iter(|| black_box(&base).position_health(1).unwrap())
    });
    c.bench_function("range_liquidation_prices", |b| {
        b.iter(|| black_box(&base).liquidation_prices(1).unwrap())
    });
    c.bench_function("year_of_hourly_steps_range", |b| {
        b.iter_batched(
            || base.clone(),
            |mut m| range_year_of_hourly_steps(&mut m, &closes),
            BatchSize::LargeInput,
        )
    });
}

criterion_group!(engine, benches, v3_many_ticks, v3_range_year);
criterion_main!(engine);
