//! Helpers shared by the risk tests.

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 via erfc; error < 1.5e-7).
#[allow(dead_code)]
pub fn phi(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-z * z).exp();
    if x >= 0.0 {
        1.0 - 0.5 * erfc
    } else {
        0.5 * erfc
    }
}

/// The default scenario with `base` then `extra` set, as `--set key=value` would.
#[allow(dead_code)]
pub fn scenario_with(base: &[(&str, &str)], extra: &[(&str, &str)]) -> levfarm_sim::Scenario {
    base.iter()
        .chain(extra)
        .fold(levfarm_sim::Scenario::default(), |s, (k, v)| s.with_value(k, v).unwrap())
}
