//! Calibration recovers the parameters of simulated series.
//!
//! Every series comes from a fixed seed, so each test is deterministic; the tolerances are
//! still set from the estimators' sampling error (several standard errors), so that they
//! hold for practically any seed and a pass says the fit is right rather than that the seed
//! is lucky. The standard errors quoted were also measured: the spread of the estimates over
//! 30 seeds of the same simulations. The fits are cheap enough (a Merton fit of 100,000
//! returns takes about 0.2 s unoptimised) that debug builds run the full lengths.

use levfarm_risk::calibrate::*;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal, Poisson, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

const HOUR: f64 = 1.0 / 8760.0;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

fn simulate_gbm(mu: f64, sigma: f64, dt: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rng(seed);
    let drift = (mu - 0.5 * sigma * sigma) * dt;
    let vol = sigma * dt.sqrt();
    (0..n)
        .map(|_| {
            let z: f64 = rng.sample(StandardNormal);
            drift + vol * z
        })
        .collect()
}

fn simulate_merton(p: &MertonFit, dt: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rng(seed);
    let k = (p.jump_mean + 0.5 * p.jump_std * p.jump_std).exp() - 1.0;
    let drift = (p.mu - 0.5 * p.sigma * p.sigma - p.lambda * k) * dt;
    let vol = p.sigma * dt.sqrt();
    let jumps = Poisson::new(p.lambda * dt).unwrap();
    let size = Normal::new(p.jump_mean, p.jump_std).unwrap();
    (0..n)
        .map(|_| {
            let z: f64 = rng.sample(StandardNormal);
            let count: f64 = jumps.sample(&mut rng);
            let jump: f64 = (0..count as usize).map(|_| size.sample(&mut rng)).sum();
            drift + vol * z + jump
        })
        .collect()
}

fn simulate_garch(p: &GarchFit, dt: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rng(seed);
    let burn_in = 2_000;
    let mut h = p.omega / (1.0 - p.alpha - p.beta);
    let mut out = Vec::with_capacity(n);
    for i in 0..n + burn_in {
        let z: f64 = rng.sample(StandardNormal);
        let e = h.sqrt() * z;
        if i >= burn_in {
            out.push(p.mu * dt + e);
        }
        h = p.omega + p.alpha * e * e + p.beta * h;
    }
    out
}

#[test]
fn gbm_recovers_sigma_and_mu() {
    let n = 50_000;
    let (mu, sigma) = (0.1, 0.8);
    let r = simulate_gbm(mu, sigma, HOUR, n, 1);
    let fit = fit_gbm(&r, HOUR).unwrap();
    // The MLE of sigma has relative standard error 1/sqrt(2n) = 0.32% at n = 50,000: 2% is
    // about six standard errors.
    assert!((fit.sigma / sigma - 1.0).abs() < 0.02, "{fit:?}");
    // The drift is known only to sigma/sqrt(T), T = n·dt = 5.7 years: 0.33 per year. Four
    // standard errors.
    let se_mu = sigma / (n as f64 * HOUR).sqrt();
    assert!((fit.mu - mu).abs() < 4.0 * se_mu, "{fit:?}");

    // The same returns read as daily steps: the per-step moments are the same, so sigma
    // scales with 1/sqrt(dt).
    let daily = fit_gbm(&r, 1.0 / 365.0).unwrap();
    assert!((daily.sigma * (1.0f64 / 365.0).sqrt() - fit.sigma * HOUR.sqrt()).abs() < 1e-12);
}

#[test]
fn merton_recovers_diffusion_and_jumps() {
    let truth = MertonFit { mu: 0.05, sigma: 0.6, lambda: 20.0, jump_mean: -0.03, jump_std: 0.06 };
    let n = 100_000;
    let r = simulate_merton(&truth, HOUR, n, 2);
    let fit = fit_merton(&r, HOUR).unwrap();
    // 100,000 hours are 11.4 years, so about 228 jumps. A jump of size N(-0.03, 0.06²) hides
    // in the hourly diffusion (sd 0.6·sqrt(1/8760) = 0.0064) when it is within about three of
    // those, which a quarter of them are; the rest stand out. So lambda's standard error is a
    // little above the Poisson count's 1/sqrt(228) = 6.6%: 8% measured. 30% is nearly four
    // standard errors.
    assert!((fit.lambda / truth.lambda - 1.0).abs() < 0.30, "{fit:?}");
    // Sigma comes from the ~100,000 jump-free hours: relative standard error 1/sqrt(2n) =
    // 0.22% (0.29% measured, from the doubt over which small returns are jumps). 5% is far
    // outside sampling error: this checks that the jumps did not leak into sigma.
    assert!((fit.sigma / truth.sigma - 1.0).abs() < 0.05, "{fit:?}");
    // A jump's mean is the average of ~228 sizes of sd 0.06: standard error 0.004 (0.0047
    // measured); its sd has standard error 0.06/sqrt(2·228) = 0.0028 (0.0033 measured).
    // 0.02 and 0.015 are over four standard errors.
    assert!((fit.jump_mean - truth.jump_mean).abs() < 0.02, "{fit:?}");
    assert!((fit.jump_std - truth.jump_std).abs() < 0.015, "{fit:?}");
    // The drift is as poorly known as GBM's: sd sqrt(sigma² + lambda·E[Y²]) / sqrt(T) = 0.2
    // per year over 11.4 years (0.19 measured). Four standard errors.
    let total_vol = (truth.sigma.powi(2)
        + truth.lambda * (truth.jump_mean.powi(2) + truth.jump_std.powi(2)))
    .sqrt();
    let se_mu = total_vol / (n as f64 * HOUR).sqrt();
    assert!((fit.mu - truth.mu).abs() < 4.0 * se_mu, "{fit:?} (se {se_mu})");

    // The jumps make Merton clearly likelier than GBM, and than GARCH, whose fat tails come
    // only from volatility clustering (absent here).
    let cal = calibrate(&r, HOUR).unwrap();
    assert_eq!(cal.merton, fit);
    let [gbm, merton, garch] = cal.log_likelihood;
    assert!(merton > gbm + 0.01 && merton > garch + 0.01, "{cal:?}");
}

#[test]
fn garch_recovers_alpha_beta_and_persistence() {
    // Long-run variance of an hourly step with 80% annual volatility.
    let long_run = 0.8f64.powi(2) * HOUR;
    let (alpha, beta) = (0.08, 0.9);
    let truth = GarchFit { mu: 0.0, omega: long_run * (1.0 - alpha - beta), alpha, beta };
    let n = 50_000;
    let r = simulate_garch(&truth, HOUR, n, 3);
    let fit = fit_garch(&r, HOUR).unwrap();
    // The quasi-MLE's standard errors at n = 50,000 with these parameters: 0.0025 for alpha
    // and 0.0037 for beta (measured), the two negatively correlated so that their sum, the
    // persistence, is known to 0.0019. The tolerances are ten standard errors: generous, yet
    // a fit that traded one for the other, or missed the clustering, fails them.
    assert!((fit.alpha - alpha).abs() < 0.03, "{fit:?}");
    assert!((fit.beta - beta).abs() < 0.04, "{fit:?}");
    let persistence = fit.alpha + fit.beta;
    assert!(persistence < 1.0, "{fit:?}");
    assert!((persistence - (alpha + beta)).abs() < 0.02, "{fit:?}");
    // The implied long-run variance omega/(1 - alpha - beta) divides by a small, noisy number
    // (0.02 ± 0.002): 4.2% measured standard error; 20% is about five.
    let implied = fit.omega / (1.0 - persistence);
    assert!((implied / long_run - 1.0).abs() < 0.2, "{fit:?}");
    // The log drift is known to about the long-run volatility over sqrt(T): 0.8/sqrt(5.7) =
    // 0.34 per year. Four standard errors.
    assert!(fit.mu.abs() < 4.0 * 0.8 / (n as f64 * HOUR).sqrt(), "{fit:?}");

    // Clustering makes GARCH clearly likelier than GBM.
    let cal = calibrate(&r, HOUR).unwrap();
    assert_eq!(cal.garch, fit);
    let [gbm, _, garch] = cal.log_likelihood;
    assert!(garch > gbm + 0.01, "{cal:?}");
}

#[test]
fn calibrate_scores_every_model_and_is_deterministic() {
    // A plain GBM series: both richer models nest GBM, so at their maximum neither may score
    // below it, and Merton's diffusion must be GBM's volatility (no jumps to explain).
    let r = simulate_gbm(0.0, 0.8, HOUR, 5_000, 4);
    let cal = calibrate(&r, HOUR).unwrap();
    assert_eq!(cal.steps, 5_000);
    assert_eq!(cal.dt, HOUR);
    assert_eq!(cal.gbm, fit_gbm(&r, HOUR).unwrap());
    assert_eq!(cal.merton, fit_merton(&r, HOUR).unwrap());
    assert_eq!(cal.garch, fit_garch(&r, HOUR).unwrap());
    let [gbm, merton, garch] = cal.log_likelihood;
    assert!(gbm.is_finite() && merton.is_finite() && garch.is_finite(), "{cal:?}");
    assert!(merton >= gbm - 1e-7, "{cal:?}");
    assert!(garch >= gbm - 1e-7, "{cal:?}");
    assert!((cal.merton.sigma / cal.gbm.sigma - 1.0).abs() < 0.05, "{cal:?}");
    // Same input, same bits.
    assert_eq!(calibrate(&r, HOUR).unwrap(), cal);
}

#[test]
fn too_short_series_are_refused() {
    let r = simulate_gbm(0.0, 0.8, HOUR, MIN_STEPS - 1, 7);
    for result in [
        fit_gbm(&r, HOUR).map(|_| ()),
        fit_merton(&r, HOUR).map(|_| ()),
        fit_garch(&r, HOUR).map(|_| ()),
        calibrate(&r, HOUR).map(|_| ()),
    ] {
        assert!(matches!(
            result,
            Err(CalibrationError::TooShort { steps, needed }) if steps == MIN_STEPS - 1 && needed == MIN_STEPS
        ));
    }
    assert!(matches!(calibrate(&[], HOUR), Err(CalibrationError::TooShort { steps: 0, .. })));
    assert!(fit_gbm(&simulate_gbm(0.0, 0.8, HOUR, MIN_STEPS, 7), HOUR).is_ok());
}

#[test]
fn non_finite_returns_are_located() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut r = simulate_gbm(0.0, 0.8, HOUR, 1_000, 8);
        r[123] = bad;
        r[456] = bad;
        for result in [
            fit_gbm(&r, HOUR).map(|_| ()),
            fit_merton(&r, HOUR).map(|_| ()),
            fit_garch(&r, HOUR).map(|_| ()),
            calibrate(&r, HOUR).map(|_| ()),
        ] {
            let err = result.unwrap_err();
            assert!(matches!(err, CalibrationError::NotFinite { index: 123 }), "{err:?}");
            assert!(err.to_string().contains("123"), "{err}");
        }
    }
}

#[test]
fn constant_series_are_degenerate() {
    for value in [0.0, 1e-3, -0.25] {
        let r = vec![value; 1_000];
        for result in [
            fit_gbm(&r, HOUR).map(|_| ()),
            fit_merton(&r, HOUR).map(|_| ()),
            fit_garch(&r, HOUR).map(|_| ()),
            calibrate(&r, HOUR).map(|_| ()),
        ] {
            assert!(matches!(result, Err(CalibrationError::Degenerate(_))), "{result:?}");
        }
    }
}

#[test]
fn bad_steps_are_refused() {
    let r = simulate_gbm(0.0, 0.8, HOUR, 1_000, 9);
    for dt in [0.0, -HOUR, f64::NAN, f64::INFINITY] {
        assert!(matches!(calibrate(&r, dt), Err(CalibrationError::Degenerate(_))), "{dt}");
    }
}

#[test]
fn mostly_unchanged_prices_still_fit() {
    // Stale hourly prices: most returns are exactly zero, so the median absolute deviation
    // is zero and the Merton guess falls back to the standard deviation.
    let mut r = simulate_gbm(0.0, 0.8, HOUR, 2_000, 10);
    for (i, x) in r.iter_mut().enumerate() {
        if i % 3 != 0 {
            *x = 0.0;
        }
    }
    let cal = calibrate(&r, HOUR).unwrap();
    assert!(cal.log_likelihood.iter().all(|ll| ll.is_finite()), "{cal:?}");
    assert!(cal.merton.sigma > 0.0 && cal.merton.sigma.is_finite(), "{cal:?}");
    assert!(cal.garch.alpha + cal.garch.beta < 1.0, "{cal:?}");
}
