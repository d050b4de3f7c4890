//! A utilization history carried past its span.
//!
//! A lending market's history starts at its launch, when almost nothing is borrowed (Aave v2's
//! USDC: 0 on 2020-12-01, 0.0002 on 12-02, 0.94 on 12-03), and ends on the day it was taken.
//! Holding the edge value outside the span would have a backtest borrow for free for years
//! before the launch. Instead, outside the span after the warm-up, utilization follows an
//! Ornstein–Uhlenbeck process on its logit, fitted to the history after the warm-up (a daily
//! AR(1) regression): forward from the last day, and backward from the first day after the
//! warm-up (a stationary OU process is reversible, so the backward run has the same law).
//! The warm-up ends on the first day utilization reaches half the history's median.
//!
//! Each day's shock depends only on the token, the direction and the day's distance from the
//! edge (counter-based draws), so a value never depends on which bars were asked for first.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::data::Series;

const DAY: i64 = 86_400;

/// An OU process on logit(utilization), per day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Long-run mean of the logit.
    pub mean: f64,
    /// `b` of `x[t+1] − mean = b·(x[t] − mean) + ε`: the day-to-day persistence.
    pub persistence: f64,
    /// Standard deviation of `ε`.
    pub shock: f64,
}

impl Fit {
    /// Fitted by least squares on consecutive daily logits; persistence is kept in
    /// [0, 0.999] so that the process stays stationary.
    pub fn of(values: &[f64]) -> Fit {
        let x: Vec<f64> = values.iter().map(|&u| logit(u)).collect();
        let n = x.len();
        let mean = x.iter().sum::<f64>() / n.max(1) as f64;
        if n < 3 {
            return Fit { mean, persistence: 0.0, shock: 0.0 };
        }
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for w in x.windows(2) {
            sxy += (w[0] - mean) * (w[1] - mean);
            sxx += (w[0] - mean) * (w[0] - mean);
        }
        let b = if sxx > 0.0 { (sxy / sxx).clamp(0.0, 0.999) } else { 0.0 };
        let resid: f64 =
            x.windows(2).map(|w| (w[1] - mean - b * (w[0] - mean)).powi(2)).sum::<f64>();
        let shock = (resid / (n - 2) as f64).sqrt();
        Fit { mean, persistence: b, shock }
    }

    /// Long-run utilization: the logistic of the mean logit.
    pub fn median_utilization(&self) -> f64 {
        logistic(self.mean)
    }
}

/// One token's utilization: the history inside its span, the fitted process outside.
#[derive(Debug, Clone)]
pub struct Extended {
    series: Series,
    /// Index of the first point after the warm-up.
    warm: usize,
    pub fit: Fit,
    seed: u64,
    /// Daily logits going back from `times[warm]` (index 0 is that day's), and forward from
    /// the last point; extended as far as asked.
    before: Vec<f64>,
    after: Vec<f64>,
}

impl Extended {
    /// `series` must not be empty. `token` seeds the draws.
    pub fn new(series: Series, token: &str) -> Extended {
        let mut sorted = series.values.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
        let warm = series.values.iter().position(|&u| u >= median / 2.0).unwrap_or(0);
        let fit = Fit::of(&series.values[warm..]);
        let seed = token.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let first = logit(series.values[warm]);
        let last = logit(series.values[series.values.len() - 1]);
        Extended { series, warm, fit, seed, before: vec![first], after: vec![last] }
    }

    /// The first time the history itself is used (the end of the warm-up), and its last.
    pub fn span(&self) -> (i64, i64) {
        (self.series.times[self.warm], self.series.times[self.series.times.len() - 1])
    }

    /// Utilization at `t`, in [0, 0.99].
    pub fn at(&mut self, t: i64) -> f64 {
        let (from, to) = self.span();
        let u = if t < from {
            let days = usize::try_from((from - t + DAY - 1) / DAY).unwrap_or(usize::MAX);
            logistic(self.walk(false, days))
        } else if t > to {
            let days = usize::try_from((t - to + DAY - 1) / DAY).unwrap_or(usize::MAX);
            logistic(self.walk(true, days))
        } else {
            self.series.at(t)
        };
        u.clamp(0.0, 0.99)
    }

    /// The logit `days` days from the edge, forward (`true`) or backward.
    fn walk(&mut self, forward: bool, days: usize) -> f64 {
        // Beyond a century the process has long forgotten the edge: its mean is the answer.
        if days > 36_500 {
            return self.fit.mean;
        }
        let Fit { mean, persistence, shock } = self.fit;
        let seed = self.seed ^ u64::from(forward);
        let path = if forward { &mut self.after } else { &mut self.before };
        while path.len() <= days {
            let k = path.len() as u64;
            let mut rng =
                ChaCha8Rng::seed_from_u64(seed.wrapping_add(k.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
            let z: f64 = rng.sample(StandardNormal);
            let x = path[path.len() - 1];
            path.push(mean + persistence * (x - mean) + shock * z);
        }
        path[days]
    }
}

fn logit(u: f64) -> f64 {
    let u = u.clamp(1e-6, 1.0 - 1e-6);
    (u / (1.0 - u)).ln()
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Series {
        Series {
            source: "test".into(),
            times: (0..values.len() as i64).map(|d| d * DAY).collect(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn the_fit_recovers_a_known_ar1() {
        // x[t+1] = 1 + 0.9·(x[t] − 1) + 0.1·z: simulated 20,000 days.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut x = 1.0;
        let mut u = Vec::new();
        for _ in 0..20_000 {
            let z: f64 = rng.sample(StandardNormal);
            x = 1.0 + 0.9 * (x - 1.0) + 0.1 * z;
            u.push(logistic(x));
        }
        let fit = Fit::of(&u);
        assert!((fit.mean - 1.0).abs() < 0.02, "{fit:?}");
        assert!((fit.persistence - 0.9).abs() < 0.01, "{fit:?}");
        assert!((fit.shock - 0.1).abs() < 0.003, "{fit:?}");
    }

    #[test]
    fn the_launch_is_skipped_and_the_edges_continue_the_history() {
        // Launch days at 0 and 0.0002, then about 0.8.
        let mut values = vec![0.0, 0.0002];
        values.extend((0..400).map(|i| 0.8 + 0.05 * ((i as f64) * 0.7).sin()));
        let mut e = Extended::new(series(&values), "USDC");
        assert_eq!(e.span().0, 2 * DAY, "the warm-up ends where 0.8 begins");
        // Inside: the history.
        assert_eq!(e.at(10 * DAY), values[10]);
        // A year before the launch: near the post-launch level, never the launch's zero.
        for d in [1, 30, 365, 1000] {
            let u = e.at(-d * DAY);
            assert!((0.6..0.95).contains(&u), "{d} days before: {u}");
        }
        // The same day asked for again, or first, gives the same value.
        let a = e.at(-365 * DAY);
        let mut fresh = Extended::new(series(&values), "USDC");
        assert_eq!(fresh.at(-365 * DAY), a);
        // After the end: continues from the last day.
        let last = *values.last().unwrap();
        let next = e.at(402 * DAY);
        assert!((next - last).abs() < 0.1, "{last} then {next}");
    }
}
