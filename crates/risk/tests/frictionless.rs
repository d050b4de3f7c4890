//! The vectorised frictionless kernel against a one-path-at-a-time reference, across thread
//! counts, and against the closed form of its liquidation probability; the lanes' normals
//! against the normal distribution.

mod common;
use common::phi;

use levfarm_risk::fast::{FastResult, Frictionless, Precision};
use levfarm_risk::lanes::{box_muller, box_muller_single, Lanes, LANES};
use levfarm_risk::paths::{path_rng, path_seed, Stream};
use levfarm_risk::run::BLOCK;
use rand::RngCore;

/// The model written out path by path with a scalar generator: each path's own Xoshiro256++
/// stream, two draws per Box–Muller pair (one in single precision), and the per-block sums in
/// path order.
fn reference(m: &Frictionless, paths: u64, seed: u64) -> FastResult {
    let dt = 1.0 / m.steps_per_year;
    let n = m.steps as usize;
    let lp = m.leverage * m.equity;
    let debt0 = (m.leverage - 1.0) * m.equity;
    let sqrt_kp0 = ((lp / 2.0 / m.p0) * (lp / 2.0) * m.p0).sqrt();
    let growth = 2.0 * (m.borrow_rate - m.fee_apr) * dt;
    let th0 = 2.0 * (debt0 / (2.0 * m.liquidation_ratio * sqrt_kp0)).ln() + growth;
    let drift = (m.mu - 0.5 * m.sigma * m.sigma) * dt;
    let vol = m.sigma * dt.sqrt();
    let mut total = FastResult::default();
    for block in 0..paths.div_ceil(BLOCK) {
        let mut r = FastResult::default();
        for path in block * BLOCK..((block + 1) * BLOCK).min(paths) {
            let mut rng = path_rng(seed, path, Stream::Price);
            let mut logp = 0.0f64;
            let mut end = None;
            let mut pair = (0.0, 0.0);
            for i in 0..n {
                if i % 2 == 0 {
                    pair = match m.precision {
                        Precision::Double => box_muller(rng.next_u64(), rng.next_u64()),
                        Precision::Single => {
                            let (a, b) = box_muller_single(rng.next_u64());
                            (f64::from(a), f64::from(b))
                        }
                    };
                }
                logp += drift + vol * if i % 2 == 0 { pair.0 } else { pair.1 };
                if logp < th0 + growth * i as f64 {
                    end = Some(i);
                    break;
                }
            }
            let at = end.unwrap_or(n - 1);
            let time = (at + 1) as f64 * dt;
            let debt = debt0 * (m.borrow_rate * time).exp();
            let v = 2.0 * (sqrt_kp0 * (m.fee_apr * time).exp()) * (0.5 * logp).exp();
            r.paths += 1;
            r.simulated_steps += at as u64 + 1;
            if end.is_some() {
                r.liquidated += 1;
                r.sum_equity += (v - debt * (1.0 + m.penalty)).max(0.0);
            } else {
                r.sum_equity += v - debt;
            }
        }
        total.paths += r.paths;
        total.liquidated += r.liquidated;
        total.sum_equity += r.sum_equity;
        total.simulated_steps += r.simulated_steps;
    }
    total
}

fn model(steps: u32, sigma: f64) -> Frictionless {
    Frictionless { steps, sigma, ..Frictionless::default() }
}

const PRECISIONS: [Precision; 2] = [Precision::Double, Precision::Single];

#[test]
fn lanes_give_the_one_path_at_a_time_result() {
    // Path counts that fill neither the lanes, the blocks nor the chunks; an odd horizon ends
    // paths between the two steps of a pair.
    for (paths, steps, precision) in
        PRECISIONS.iter().flat_map(|&p| [(700, 501, p), (2100, 500, p), (5, 2, p), (1, 1, p)])
    {
        let m = Frictionless { precision, ..model(steps, 2.5) };
        let fast = m.run(paths, 11);
        let slow = reference(&m, paths, 11);
        assert_eq!(fast, slow, "{paths} paths of {steps} steps, {precision:?}");
        assert!(fast.liquidated > 0 || steps < 10, "the case must liquidate some paths");
        assert!(fast.liquidated < paths || steps < 10, "and keep some");
    }
}

#[test]
fn thread_count_does_not_change_the_bits() {
    for precision in PRECISIONS {
        let m = Frictionless { precision, ..model(300, 1.5) };
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| m.run(5000, 3))
        };
        assert_eq!(run(1), run(2), "{precision:?}");
    }
}

#[test]
fn liquidation_probability_matches_the_closed_form() {
    // log P − threshold is a Brownian motion with drift ν − c₁ started at −c₀: the threshold
    // 2·ln(D/(2·ratio·sqrt(k·P0))) is c₀ + c₁t with c₁ = 2(r − fee). First passage below c₀,
    // with Broadie–Glasserman–Kou's shift for hourly monitoring.
    for precision in PRECISIONS {
        let m = Frictionless { steps: 2160, precision, ..Frictionless::default() };
        closed_form_agrees(&m);
    }
}

fn closed_form_agrees(m: &Frictionless) {
    let paths = 20_000u64;
    let r = m.run(paths, 5);
    let dt = 1.0 / m.steps_per_year;
    let t = f64::from(m.steps) * dt;
    let lp = m.leverage * m.equity;
    let debt0 = (m.leverage - 1.0) * m.equity;
    let c0 = 2.0 * (debt0 / (2.0 * m.liquidation_ratio * (lp / 2.0))).ln();
    let drift = m.mu - 0.5 * m.sigma * m.sigma - 2.0 * (m.borrow_rate - m.fee_apr);
    let b = c0 - 0.5826 * m.sigma * dt.sqrt();
    let st = m.sigma * t.sqrt();
    let closed = phi((b - drift * t) / st)
        + (2.0 * drift * b / (m.sigma * m.sigma)).exp() * phi((b + drift * t) / st);
    let p = r.liquidated as f64 / paths as f64;
    let se = (closed * (1.0 - closed) / paths as f64).sqrt();
    assert!(closed > 0.2 && closed < 0.8, "a probability the test can resolve: {closed}");
    assert!(
        (p - closed).abs() < 4.0 * se,
        "{:?}: simulated {p}, closed form {closed} (se {se})",
        m.precision
    );
}

#[test]
fn lane_normals_have_the_normal_distribution() {
    normal_moments_and_tails(Lanes::normal_pairs, 8.6);
    normal_moments_and_tails(Lanes::single_normal_pairs, 6.67);
}

/// A million draws: mean, variance and fourth moment within four standard errors of 0, 1 and
/// 3, the tails beyond 2, 3 and 4 against Φ, and nothing beyond `reach`.
fn normal_moments_and_tails(draw: fn(&mut Lanes) -> ([f64; LANES], [f64; LANES]), reach: f64) {
    let mut lanes = Lanes::default();
    for l in 0..LANES {
        lanes.seed(l, path_seed(9, l as u64, Stream::Price));
    }
    let n = 1_000_000usize;
    let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
    let mut tails = [0u64; 3];
    let mut count = 0usize;
    while count < n {
        let (a, b) = draw(&mut lanes);
        for z in a.into_iter().chain(b) {
            assert!(z.abs() < reach, "{z}");
            s1 += z;
            s2 += z * z;
            s4 += z * z * z * z;
            for (k, tail) in tails.iter_mut().enumerate() {
                *tail += u64::from(z.abs() > (k + 2) as f64);
            }
            count += 1;
        }
    }
    let nf = count as f64;
    // Standard errors: mean 1/√n, variance √(2/n), fourth moment √(96/n).
    assert!((s1 / nf).abs() < 4.0 / nf.sqrt(), "mean {}", s1 / nf);
    assert!((s2 / nf - 1.0).abs() < 4.0 * (2.0 / nf).sqrt(), "variance {}", s2 / nf);
    assert!((s4 / nf - 3.0).abs() < 4.0 * (96.0 / nf).sqrt(), "fourth moment {}", s4 / nf);
    for (k, &tail) in tails.iter().enumerate() {
        let x = (k + 2) as f64;
        let expected = 2.0 * (1.0 - phi(x));
        let got = tail as f64 / nf;
        let se = (expected * (1.0 - expected) / nf).sqrt();
        assert!((got - expected).abs() < 4.0 * se + 2e-7, "P(|z| > {x}) {got} vs {expected}");
    }
}
