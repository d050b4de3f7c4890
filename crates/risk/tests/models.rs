//! Price paths against known answers: GBM's first-passage probability, the bootstrap's
//! moments, and per-path seeding.

use levfarm_risk::lanes::LANES;
use levfarm_risk::paths::{Model, PriceLanes};
use levfarm_risk::run::first_passage_below;
use levfarm_sim::risk_spec::PriceModelSpec;

mod common;
use common::phi;

/// Paths `0..n` of `model` from `seed`, 16 at a time as a run draws them: `each` gets every
/// path's log returns.
fn walks(model: &Model, seed: u64, n: u64, steps: usize, mut each: impl FnMut(&[f64])) {
    let ids: Vec<u64> = (0..n).collect();
    for chunk in ids.chunks(LANES) {
        let mut lanes = PriceLanes::new(model, seed, chunk);
        let mut returns = vec![vec![0.0; steps]; chunk.len()];
        let (mut r, mut z) = ([0.0; LANES], [0.0; LANES]);
        for i in 0..steps {
            lanes.next(&mut r, &mut z);
            for (l, path) in returns.iter_mut().enumerate() {
                path[i] = r[l];
            }
        }
        returns.iter().for_each(|r| each(r));
    }
}

#[test]
fn gbm_first_passage_matches_the_closed_form() {
    // P(min S ≤ B) over T for GBM: Φ((b − νT)/σ√T) + e^{2νb/σ²} Φ((b + νT)/σ√T), b = ln(B/S0),
    // ν = μ − σ²/2. Monitoring at m steps misses crossings between them; Broadie, Glasserman
    // and Kou's correction moves the barrier to B·e^{−0.5826σ√Δt} for the discrete case.
    let (mu, sigma, t, steps) = (0.1, 0.8, 1.0, 365u32);
    let dt = t / f64::from(steps);
    let barrier = 0.6f64;
    let model = Model::new(&PriceModelSpec::Gbm { mu, sigma }, dt, None);
    let paths = 20_000u64;
    let mut hit = 0u64;
    walks(&model, 7, paths, steps as usize, |r| {
        let mut x = 0.0;
        if r.iter().any(|r| {
            x += r;
            x <= barrier.ln()
        }) {
            hit += 1;
        }
    });
    let nu = mu - 0.5 * sigma * sigma;
    let b = barrier.ln() - 0.5826 * sigma * dt.sqrt();
    let st = sigma * t.sqrt();
    let closed =
        phi((b - nu * t) / st) + (2.0 * nu * b / (sigma * sigma)).exp() * phi((b + nu * t) / st);
    // The run's own formula (the control variate's mean), per step.
    let per_step = first_passage_below(barrier.ln(), nu * dt, sigma * dt.sqrt(), steps);
    assert!((per_step - closed).abs() < 1e-6, "{per_step} vs {closed}");
    let p = hit as f64 / paths as f64;
    let se = (closed * (1.0 - closed) / paths as f64).sqrt();
    assert!((p - closed).abs() < 4.0 * se, "simulated {p}, closed form {closed} (se {se})");
}

#[test]
fn merton_and_garch_have_their_variance() {
    let dt = 1.0 / 8760.0;
    let n = 400_000;
    let var_of = |spec: PriceModelSpec| {
        let model = Model::new(&spec, dt, None);
        let mut g = model.path(3, 0);
        let mut z = 0.0;
        let r: Vec<f64> = (0..n).map(|_| g.next(&mut z)).collect();
        let m = r.iter().sum::<f64>() / n as f64;
        r.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64 / dt
    };
    // Merton: σ² + λ(m² + s²) per year.
    let (sigma, lambda, jm, js) = (0.6, 40.0, -0.03, 0.05);
    let v = var_of(PriceModelSpec::Merton { mu: 0.0, sigma, lambda, jump_mean: jm, jump_std: js });
    let expect = sigma * sigma + lambda * (jm * jm + js * js);
    assert!((v / expect - 1.0).abs() < 0.05, "Merton variance {v}, expected {expect}");
    // GARCH: unconditional per-step variance ω/(1 − α − β).
    let (omega, alpha, beta) = (2e-6, 0.06, 0.9);
    let v = var_of(PriceModelSpec::Garch { mu: 0.0, omega, alpha, beta });
    let expect = omega / (1.0 - alpha - beta) / dt;
    assert!((v / expect - 1.0).abs() < 0.1, "GARCH variance {v}, expected {expect}");
}

#[test]
fn bootstrap_keeps_the_sample_volatility_and_takes_out_its_drift() {
    let prices = levfarm_sim::data::load_prices(
        "bundled:ETHUSD_1h",
        &levfarm_sim::data::PriceOptions {
            gaps: levfarm_sim::data::GapPolicy::Fill,
            ..Default::default()
        },
    )
    .unwrap();
    let returns = levfarm_risk::run::log_returns(&prices.closes);
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let sd = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    let model = Model::new(
        &PriceModelSpec::Bootstrap { block_hours: 24, mu: 0.0 },
        1.0 / 8760.0,
        Some(returns.clone().into()),
    );
    // Re-centred to no drift: each return less c = ln(mean(e^r)), so that a step's mean
    // gross return e^r is 1 and the mean log return is about −σ²/2 per step.
    let c = (returns.iter().map(|r| r.exp()).sum::<f64>() / n).ln();
    let mean = mean - c;
    let (mut sum, mut sq, mut k, mut gross) = (0.0, 0.0, 0.0, 0.0);
    walks(&model, 11, 200, 8760, |returns| {
        for &r in returns {
            sum += r;
            sq += r * r;
            gross += r.exp();
            k += 1.0;
        }
    });
    let m = sum / k;
    let s = (sq / k - m * m).sqrt();
    // 1.75M draws in 73,000 blocks of 24: the mean's error is about sd·sqrt(24/k).
    let se = sd * (24.0 / k).sqrt();
    assert!((m - mean).abs() < 4.0 * se, "bootstrap mean {m}, sample {mean}, se {se}");
    assert!((s / sd - 1.0).abs() < 0.03, "bootstrap volatility {s}, sample {sd}");
    // No drift: the mean gross return is 1 within its error (the same error as the mean's).
    assert!((gross / k - 1.0).abs() < 4.0 * se, "mean gross return {}", gross / k);
    // ETH's history grew (about 0.16 a year as a price drift): that drift is gone.
    assert!((mean / (-0.5 * sd * sd) - 1.0).abs() < 0.05, "{mean} vs -σ²/2");
    // Every draw is one of the sample's returns, shifted by c.
    let mut g = model.path(11, 0);
    let mut z = 0.0;
    for _ in 0..100 {
        let r = g.next(&mut z);
        assert!(returns.iter().any(|x| ((x - c) - r).abs() < 1e-12), "{r}");
    }
}

#[test]
fn a_path_depends_on_seed_and_id_only() {
    let model = Model::new(&PriceModelSpec::Gbm { mu: 0.0, sigma: 0.8 }, 1.0 / 8760.0, None);
    let draw = |seed, id| {
        let mut g = model.path(seed, id);
        let mut z = 0.0;
        (0..50).map(|_| g.next(&mut z)).collect::<Vec<_>>()
    };
    assert_eq!(draw(1, 5), draw(1, 5));
    assert_ne!(draw(1, 5), draw(1, 6));
    assert_ne!(draw(1, 5), draw(2, 5));
}

/// `mu` means one thing in every model: the price's expected growth, E[P_T] = P_0·e^{mu·T}.
/// (GARCH's `mu` was the log price's drift, so the same number meant a larger price drift.)
#[test]
fn every_model_means_the_same_drift() {
    let dt = 1.0 / 365.0;
    let (mu, paths) = (0.2, 20_000u64);
    let models = [
        PriceModelSpec::Gbm { mu, sigma: 0.6 },
        PriceModelSpec::Merton { mu, sigma: 0.5, lambda: 10.0, jump_mean: -0.05, jump_std: 0.1 },
        PriceModelSpec::Garch { mu, omega: 2e-5, alpha: 0.06, beta: 0.9 },
    ];
    for spec in models {
        let model = Model::new(&spec, dt, None);
        let (mut sum, mut sq) = (0.0, 0.0);
        walks(&model, 5, paths, 365, |r| {
            let growth = r.iter().sum::<f64>().exp();
            sum += growth;
            sq += growth * growth;
        });
        let mean = sum / paths as f64;
        let se = ((sq / paths as f64 - mean * mean) / paths as f64).sqrt();
        let expect = mu.exp();
        assert!(
            (mean - expect).abs() < 4.0 * se,
            "{spec:?}: E[P_1/P_0] = {mean} ± {se}, not {expect}"
        );
    }
}
