//! The frictionless kernel (the NumPy baseline's model) and the exact kernel on one path.

use criterion::{criterion_group, criterion_main, Criterion};
use levfarm_risk::fast::{Frictionless, Precision};
use levfarm_risk::lanes::{Lanes, LANES};
use levfarm_risk::Plan;
use levfarm_sim::Scenario;

fn frictionless(c: &mut Criterion) {
    let model = Frictionless::default();
    c.bench_function("frictionless_1000_paths_year_hourly", |b| b.iter(|| model.run(1000, 1)));
    let model = Frictionless { precision: Precision::Single, ..Frictionless::default() };
    c.bench_function("frictionless_1000_paths_year_hourly_single", |b| {
        b.iter(|| model.run(1000, 1))
    });
}

/// 1,024 pairs of normals in each of the sixteen lanes (32,768 normals), in double and in
/// single precision, on the machine's vectors.
struct Normals(bool);

impl pulp::WithSimd for Normals {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> f64 {
        let mut lanes = Lanes::default();
        for l in 0..LANES {
            lanes.seed(l, l as u64);
        }
        let mut sum = [0.0; LANES];
        for _ in 0..1024 {
            let (a, b) = if self.0 { lanes.single_normal_pairs() } else { lanes.normal_pairs() };
            for l in 0..LANES {
                sum[l] += a[l] + b[l];
            }
        }
        sum.iter().sum()
    }
}

fn normals(c: &mut Criterion) {
    c.bench_function("normals_32768_double", |b| {
        b.iter(|| pulp::Arch::new().dispatch(Normals(false)))
    });
    c.bench_function("normals_32768_single", |b| {
        b.iter(|| pulp::Arch::new().dispatch(Normals(true)))
    });
}

fn exact_kernel(c: &mut Criterion) {
    let mut s = Scenario::default();
    for (k, v) in [
        ("risk.model", "{ kind = \"gbm\", mu = 0.0, sigma = 0.8 }"),
        ("risk.leverages", "[3.0]"),
        ("risk.start_price", "2000.0"),
    ] {
        s = s.with_value(k, v).expect("setting");
    }
    let plan = Plan::new(&s, &[], None).expect("plan");
    let inputs = plan.inputs_of(0, 0);
    let mut fan = vec![0.0; plan.fan_steps.len()];
    c.bench_function("exact_kernel_one_path_year_hourly", |b| {
        b.iter(|| plan.path(&plan.configs[0], &inputs, &mut fan))
    });
}

criterion_group!(benches, frictionless, normals, exact_kernel);
criterion_main!(benches);
