//! The frictionless kernel (the NumPy baseline's model) and the exact kernel on one path.

use criterion::{criterion_group, criterion_main, Criterion};
use levfarm_risk::fast::Frictionless;
use levfarm_risk::Plan;
use levfarm_sim::Scenario;

fn frictionless(c: &mut Criterion) {
    let model = Frictionless::default();
    c.bench_function("frictionless_1000_paths_year_hourly", |b| b.iter(|| model.run(1000, 1)));
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

criterion_group!(benches, frictionless, exact_kernel);
criterion_main!(benches);
