//! The full bundled history (40,987 hourly bars, 2018-05-15 to 2023-01-17) through the exact
//! engine: the leveraged position alone, and with all four alternatives as `levfarm backtest`
//! runs them. Peer: `demeter_bench.py 1708 1h-direct 1` (the same number of hourly steps of a
//! leveraged v3 position with Aave) in the shared bench folder; see BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion};
use levfarm_sim::backtest::{self, Strategy};
use levfarm_sim::{Backtest, Scenario};

fn full_history(c: &mut Criterion) {
    let bt = Backtest::load(Scenario::default()).expect("bundled data");
    let mut group = c.benchmark_group("backtest");
    group.sample_size(10);
    group.bench_function("full_history_leveraged_cp", |b| {
        b.iter(|| backtest::run(&bt.scenario, &bt.prices, Strategy::Leveraged, None).expect("runs"))
    });
    group.bench_function("full_history_with_alternatives", |b| {
        b.iter(|| bt.run(None).expect("runs"))
    });
    let mut range = Scenario::default();
    range.market.pool.kind = levfarm_sim::scenario::PoolKind::V3;
    range.protection.recenter = true;
    let range = Backtest { scenario: range, prices: bt.prices.clone() };
    group.bench_function("full_history_leveraged_v3_range", |b| {
        b.iter(|| {
            backtest::run(&range.scenario, &range.prices, Strategy::Leveraged, None).expect("runs")
        })
    });
    group.bench_function("load_bundled_prices", |b| {
        b.iter(|| Backtest::load(Scenario::default()).expect("loads"))
    });
    group.finish();
}

criterion_group!(benches, full_history);
criterion_main!(benches);
