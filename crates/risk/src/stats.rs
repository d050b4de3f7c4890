//! Mergeable statistics: integer counts and sums, so that adding shards or thread blocks in
//! any order gives the same bits.
//!
//! Each path's equity multiple (final equity / contributed) is quantised once to 1e-9 and
//! everything else is derived from those integers: sums for means, a 0.001-wide histogram
//! (with per-bin sums) for quantiles, VaR and CVaR, a day histogram for time to liquidation,
//! and a coarser histogram per fan point. Memory is fixed by the settings, not the paths.

use serde::{Deserialize, Serialize};

/// Nano-units per unit of a multiple.
const Q: f64 = 1e9;
/// Histogram range of the multiple and its fine and fan bin widths, in nano-units.
const LO: i64 = -2_000_000_000;
const HI: i64 = 10_000_000_000;
const FINE: i64 = 1_000_000;
const COARSE: i64 = 10_000_000;

/// Counts and sums over values in nano-units, with an underflow and an overflow bin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hist {
    width: i64,
    /// Sparse on disk: (bin, count, sum) for the bins that have any.
    #[serde(with = "sparse")]
    bins: Vec<(u64, i128)>,
}

impl Hist {
    fn new(width: i64) -> Hist {
        let n = ((HI - LO) / width) as usize + 2;
        Hist { width, bins: vec![(0, 0); n] }
    }

    #[inline]
    fn add(&mut self, q: i64) {
        let n = self.bins.len();
        let i = if q < LO {
            0
        } else if q >= HI {
            n - 1
        } else {
            ((q - LO) / self.width) as usize + 1
        };
        self.bins[i].0 += 1;
        self.bins[i].1 += i128::from(q);
    }

    fn merge(&mut self, other: &Hist) {
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }

    fn count(&self) -> u64 {
        // Saturating: a forged partial may hold counts that add past u64 (check() refuses it).
        self.bins.iter().fold(0u64, |n, b| n.saturating_add(b.0))
    }

    /// Every bin's sum lies within its count times the bin's range (the outer bins reach to
    /// the ends of i64): what a histogram built by [`Hist::add`] always satisfies.
    fn consistent(&self) -> bool {
        let n = self.bins.len();
        self.bins.iter().enumerate().all(|(i, &(c, s))| {
            let (lo, hi) = if i == 0 {
                (i64::MIN, LO - 1)
            } else if i == n - 1 {
                (HI, i64::MAX)
            } else {
                let lo = LO + (i as i64 - 1) * self.width;
                (lo, lo + self.width - 1)
            };
            let c = i128::from(c);
            c.checked_mul(i128::from(lo)).is_some_and(|min| s >= min)
                && c.checked_mul(i128::from(hi)).is_some_and(|max| s <= max)
        })
    }

    /// Values below the range and above it (the underflow and overflow bins).
    fn outside(&self) -> (u64, u64) {
        let n = self.bins.len();
        (self.bins[0].0, self.bins[n - 1].0)
    }

    /// The mean of the bin holding the `k`-th smallest value (1-based).
    fn kth(&self, k: u64) -> f64 {
        let mut seen = 0;
        for &(c, s) in &self.bins {
            seen += c;
            if c > 0 && seen >= k {
                return s as f64 / c as f64 / Q;
            }
        }
        f64::NAN
    }

    /// The mean of all values.
    pub fn mean(&self) -> f64 {
        let n = self.count();
        if n == 0 {
            return f64::NAN;
        }
        self.bins.iter().map(|b| b.1).sum::<i128>() as f64 / n as f64 / Q
    }

    /// The `p` quantile (the value below which a share `p` lies), to the bin width.
    pub fn quantile(&self, p: f64) -> f64 {
        let n = self.count();
        if n == 0 {
            return f64::NAN;
        }
        let k = ((p * n as f64).ceil() as u64).clamp(1, n);
        self.kth(k)
    }

    /// The mean of the lowest share `p` of the values.
    pub fn tail_mean(&self, p: f64) -> f64 {
        let n = self.count();
        let want = p * n as f64;
        if n == 0 || want <= 0.0 {
            return f64::NAN;
        }
        let (mut taken, mut sum) = (0.0, 0.0);
        for &(c, s) in &self.bins {
            if c == 0 {
                continue;
            }
            let mean = s as f64 / c as f64;
            let take = (want - taken).min(c as f64);
            sum += take * mean;
            taken += take;
            if taken >= want {
                break;
            }
        }
        sum / taken / Q
    }

    /// Bin edges and counts in units, trimmed to the occupied range.
    pub fn dense(&self) -> (Vec<f64>, Vec<u64>) {
        let first = self.bins.iter().position(|b| b.0 > 0);
        let last = self.bins.iter().rposition(|b| b.0 > 0);
        let (Some(first), Some(last)) = (first, last) else { return (Vec::new(), Vec::new()) };
        let first = first.max(1);
        let last = last.min(self.bins.len() - 2).max(first);
        let edge = |i: usize| (LO + (i as i64 - 1) * self.width) as f64 / Q;
        let edges = (first..=last + 1).map(edge).collect();
        let mut counts: Vec<u64> = self.bins[first..=last].iter().map(|b| b.0).collect();
        // Values outside the range go to the end bins.
        counts[0] += self.bins[0].0;
        let end = counts.len() - 1;
        counts[end] += self.bins[self.bins.len() - 1].0;
        (edges, counts)
    }
}

mod sparse {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(bins: &[(u64, i128)], s: S) -> Result<S::Ok, S::Error> {
        let v: Vec<(usize, u64, String)> = bins
            .iter()
            .enumerate()
            .filter(|(_, b)| b.0 > 0)
            .map(|(i, b)| (i, b.0, b.1.to_string()))
            .collect();
        (bins.len(), v).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(u64, i128)>, D::Error> {
        let (n, v): (usize, Vec<(usize, u64, String)>) = Deserialize::deserialize(d)?;
        if n > 10_000_000 {
            return Err(serde::de::Error::custom("histogram too large"));
        }
        let mut bins = vec![(0, 0); n];
        for (i, c, s) in v {
            let sum = s.parse().map_err(serde::de::Error::custom)?;
            *bins.get_mut(i).ok_or_else(|| serde::de::Error::custom("bin out of range"))? =
                (c, sum);
        }
        Ok(bins)
    }
}

/// Everything kept of one configuration's paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accum {
    pub paths: u64,
    pub liquidated: u64,
    pub stopped: u64,
    pub took_profit: u64,
    pub losses: u64,
    pub wipeouts: u64,
    pub hazards: u64,
    /// Sum of multiples and of net APYs, nano-units.
    #[serde(with = "dec")]
    pub sum_multiple: i128,
    #[serde(with = "dec")]
    pub sum_apy: i128,
    /// Sum of steps to liquidation.
    pub sum_liquidation_steps: u64,
    /// Bad debt left to lenders, micro-units of the numeraire.
    #[serde(with = "dec")]
    pub bad_debt: i128,
    pub multiple: Hist,
    /// Liquidations per day of the horizon.
    pub liquidation_days: Vec<u64>,
    /// Multiples at each fan point, and their sums.
    pub fan: Vec<Hist>,
    /// The control variate: paths that carried one, that crossed its barrier, and that both
    /// crossed it and were liquidated.
    #[serde(default)]
    pub control_paths: u64,
    #[serde(default)]
    pub control_hits: u64,
    #[serde(default)]
    pub control_joint: u64,
}

mod dec {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &i128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// One path's result, as the accumulator takes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathResult {
    pub multiple: f64,
    pub years: f64,
    pub liquidated_step: Option<u32>,
    pub stopped: bool,
    pub took_profit: bool,
    pub hazards: u32,
    pub bad_debt: f64,
    /// Whether the path crossed the control variate's barrier, where the run has one.
    pub control: Option<bool>,
}

/// A multiple in nano-units (NaN counts as a total loss).
#[inline]
pub fn quantise(m: f64) -> i64 {
    if m.is_nan() {
        return 0;
    }
    (m.clamp(-1e9, 1e9) * Q).round() as i64
}

/// The compounded annual return of a multiple over `years` (−100% for nothing left).
pub fn apy(multiple: f64, years: f64) -> f64 {
    if multiple <= 0.0 {
        -1.0
    } else {
        multiple.powf(1.0 / years) - 1.0
    }
}

impl Accum {
    pub fn new(days: u32, fan_points: usize) -> Accum {
        Accum {
            paths: 0,
            liquidated: 0,
            stopped: 0,
            took_profit: 0,
            losses: 0,
            wipeouts: 0,
            hazards: 0,
            sum_multiple: 0,
            sum_apy: 0,
            sum_liquidation_steps: 0,
            bad_debt: 0,
            multiple: Hist::new(FINE),
            liquidation_days: vec![0; days.max(1) as usize],
            fan: (0..fan_points).map(|_| Hist::new(COARSE)).collect(),
            control_paths: 0,
            control_hits: 0,
            control_joint: 0,
        }
    }

    /// Adds one path; `fan` holds its multiple at each fan point.
    pub fn add(&mut self, r: &PathResult, steps_per_day: u32, fan: &[f64]) {
        let q = quantise(r.multiple);
        self.paths += 1;
        self.sum_multiple += i128::from(q);
        let m = q as f64 / Q;
        self.sum_apy += i128::from(quantise(apy(m, r.years)));
        self.multiple.add(q);
        if q < 1_000_000_000 {
            self.losses += 1;
        }
        // 99.9% or more of the equity lost.
        if q <= 1_000_000 {
            self.wipeouts += 1;
        }
        if let Some(step) = r.liquidated_step {
            self.liquidated += 1;
            self.sum_liquidation_steps += u64::from(step);
            let day = ((step.saturating_sub(1)) / steps_per_day.max(1)) as usize;
            let last = self.liquidation_days.len() - 1;
            self.liquidation_days[day.min(last)] += 1;
        }
        self.stopped += u64::from(r.stopped);
        self.took_profit += u64::from(r.took_profit);
        self.hazards += u64::from(r.hazards);
        self.bad_debt += (r.bad_debt * 1e6).round() as i128;
        for (h, v) in self.fan.iter_mut().zip(fan) {
            h.add(quantise(*v));
        }
        if let Some(hit) = r.control {
            self.control_paths += 1;
            self.control_hits += u64::from(hit);
            self.control_joint += u64::from(hit && r.liquidated_step.is_some());
        }
    }

    /// Adds another accumulator of the same settings.
    pub fn merge(&mut self, o: &Accum) {
        self.paths += o.paths;
        self.liquidated += o.liquidated;
        self.stopped += o.stopped;
        self.took_profit += o.took_profit;
        self.losses += o.losses;
        self.wipeouts += o.wipeouts;
        self.hazards += o.hazards;
        self.sum_multiple += o.sum_multiple;
        self.sum_apy += o.sum_apy;
        self.sum_liquidation_steps += o.sum_liquidation_steps;
        self.bad_debt += o.bad_debt;
        self.multiple.merge(&o.multiple);
        for (a, b) in self.liquidation_days.iter_mut().zip(&o.liquidation_days) {
            *a += b;
        }
        for (a, b) in self.fan.iter_mut().zip(&o.fan) {
            a.merge(b);
        }
        self.control_paths += o.control_paths;
        self.control_hits += o.control_hits;
        self.control_joint += o.control_joint;
    }

    /// Checks what any accumulator of `paths` paths must satisfy: no count above the paths,
    /// histograms holding every path once, sums within what the paths can add up to. A
    /// partial result read from a file is checked before it is merged.
    pub fn check(&self, paths: u64) -> Result<(), String> {
        if self.paths != paths {
            return Err(format!("holds {} paths where its blocks have {paths}", self.paths));
        }
        for (name, count) in [
            ("liquidated", self.liquidated),
            ("stopped", self.stopped),
            ("took_profit", self.took_profit),
            ("losses", self.losses),
            ("wipeouts", self.wipeouts),
        ] {
            if count > paths {
                return Err(format!("counts {count} {name} in {paths} paths"));
            }
        }
        if self.control_paths != 0 && self.control_paths != paths {
            return Err(format!("carries a control in {} of {paths} paths", self.control_paths));
        }
        if self.control_hits > self.control_paths
            || self.control_joint > self.control_hits.min(self.liquidated)
        {
            return Err("counts more control crossings than its paths allow".into());
        }
        if self.multiple.count() != paths {
            return Err(format!("its histogram holds {} of {paths} paths", self.multiple.count()));
        }
        if let Some(h) = self.fan.iter().find(|h| h.count() != paths) {
            return Err(format!("a fan point holds {} of {paths} paths", h.count()));
        }
        if !self.multiple.consistent() || !self.fan.iter().all(Hist::consistent) {
            return Err("a histogram bin's sum lies outside its bin".into());
        }
        let days: u64 = self.liquidation_days.iter().fold(0u64, |a, &d| a.saturating_add(d));
        if days != self.liquidated {
            return Err(format!("{days} liquidations by day, {} in all", self.liquidated));
        }
        // The sum of multiples is the histogram's own sum, every value having gone to both.
        let in_bins = self.multiple.bins.iter().try_fold(0i128, |a, b| a.checked_add(b.1));
        if in_bins != Some(self.sum_multiple) {
            return Err("its sum of multiples is not its histogram's".into());
        }
        // Every APY is a quantised f64 within ±2^63 nano-units.
        let bound = u128::from(paths) * u128::from(i64::MAX.unsigned_abs());
        if self.sum_apy.unsigned_abs() > bound || self.bad_debt < 0 {
            return Err("its sums are beyond what its paths can add up to".into());
        }
        Ok(())
    }

    /// Whether `o` was made with the same settings (same shapes).
    pub fn compatible(&self, o: &Accum) -> bool {
        self.liquidation_days.len() == o.liquidation_days.len()
            && self.fan.len() == o.fan.len()
            && self.multiple.bins.len() == o.multiple.bins.len()
    }
}

/// Wilson's 95% score interval for `k` successes in `n` trials.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt()) / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The figures a configuration's paths give.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub paths: u64,
    pub liquidation_probability: f64,
    pub liquidation_ci95: (f64, f64),
    pub loss_probability: f64,
    /// Probability of losing everything put in (99.9% or more). Positions are non-recourse:
    /// the most one can lose is the equity; only gas paid after a wipe-out (a hack that
    /// leaves nothing) takes the final multiple below zero, so losses just past 100% are gas.
    pub wipeout_probability: f64,
    pub stop_probability: f64,
    pub take_profit_probability: f64,
    pub mean_multiple: f64,
    /// Whether the horizon is long enough (90 days) for the APYs to mean something; when it
    /// is not they are NaN (null in JSON) and the returns over the horizon are the figures.
    pub annualised: bool,
    pub mean_apy: f64,
    pub median_apy: f64,
    /// Net APY at 1%, 5%, 25%, 50%, 75%, 95% and 99%.
    pub apy_quantiles: Vec<(f64, f64)>,
    /// Return over the horizon (final equity / contributed − 1): mean, median and the same
    /// quantiles as the APYs.
    pub mean_return: f64,
    pub median_return: f64,
    pub return_quantiles: Vec<(f64, f64)>,
    /// Share of paths whose multiple ended outside the histogram's range (below −2 or at or
    /// above 10): quantiles that fall among them are bounds, not values.
    pub outside_range: f64,
    /// Losses over the horizon as a share of what was put in (positive = loss).
    pub var95: f64,
    pub cvar95: f64,
    pub var99: f64,
    pub cvar99: f64,
    pub mean_days_to_liquidation: Option<f64>,
    pub median_days_to_liquidation: Option<f64>,
    pub hazard_events: u64,
    /// Bad debt left to lenders per path, on average.
    pub mean_bad_debt: f64,
    /// The liquidation probability with the control variate, where the run has one
    /// (GBM paths: see `docs/risk.md`).
    pub liquidation_cv: Option<ControlVariate>,
}

pub const QUANTILES: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

impl Accum {
    /// The figures; `control_mean` is the control variate's known mean, where the run has one.
    pub fn summary(&self, years: f64, steps_per_day: u32, control_mean: Option<f64>) -> Summary {
        let n = self.paths.max(1) as f64;
        let share = |k: u64| k as f64 / n;
        let mean_days = (self.liquidated > 0).then(|| {
            self.sum_liquidation_steps as f64 / self.liquidated as f64 / f64::from(steps_per_day)
        });
        let median_days = (self.liquidated > 0).then(|| {
            let half = self.liquidated.div_ceil(2);
            let mut seen = 0;
            let mut day = 0;
            for (i, c) in self.liquidation_days.iter().enumerate() {
                seen += c;
                if seen >= half {
                    day = i;
                    break;
                }
            }
            day as f64 + 0.5
        });
        let annualised = years >= levfarm_sim::backtest::MIN_ANNUALISED_YEARS;
        let annual = |m: f64| if annualised { apy(m, years) } else { f64::NAN };
        Summary {
            paths: self.paths,
            liquidation_probability: share(self.liquidated),
            liquidation_ci95: wilson(self.liquidated, self.paths),
            loss_probability: share(self.losses),
            wipeout_probability: share(self.wipeouts),
            stop_probability: share(self.stopped),
            take_profit_probability: share(self.took_profit),
            mean_multiple: self.sum_multiple as f64 / Q / n,
            annualised,
            mean_apy: if annualised { self.sum_apy as f64 / Q / n } else { f64::NAN },
            median_apy: annual(self.multiple.quantile(0.5)),
            apy_quantiles: QUANTILES
                .iter()
                .map(|&p| (p, annual(self.multiple.quantile(p))))
                .collect(),
            mean_return: self.sum_multiple as f64 / Q / n - 1.0,
            median_return: self.multiple.quantile(0.5) - 1.0,
            return_quantiles: QUANTILES
                .iter()
                .map(|&p| (p, self.multiple.quantile(p) - 1.0))
                .collect(),
            outside_range: {
                let (below, above) = self.multiple.outside();
                share(below + above)
            },
            var95: 1.0 - self.multiple.quantile(0.05),
            cvar95: 1.0 - self.multiple.tail_mean(0.05),
            var99: 1.0 - self.multiple.quantile(0.01),
            cvar99: 1.0 - self.multiple.tail_mean(0.01),
            mean_days_to_liquidation: mean_days,
            median_days_to_liquidation: median_days,
            hazard_events: self.hazards,
            mean_bad_debt: self.bad_debt as f64 / 1e6 / n,
            liquidation_cv: control_mean.and_then(|mean| self.control_variate(mean)),
        }
    }

    /// The liquidation probability with the control variate `X` (the path crossed the
    /// barrier, of known mean `mean`): `Ȳ − β(X̄ − mean)` with `β = cov(X, Y)/var(X)` from the
    /// same paths, and its 95% interval from the residual variance `var(Y)·(1 − ρ²)/n`. Given
    /// only with at least 10 liquidations and 10 crossings (and 10 paths without each), where
    /// the normal interval holds.
    fn control_variate(&self, mean: f64) -> Option<ControlVariate> {
        let n = self.control_paths;
        let (k_y, k_x, k_xy) = (self.liquidated, self.control_hits, self.control_joint);
        if n == 0 || [k_y, k_x, n - k_y, n - k_x].iter().any(|&k| k < 10) {
            return None;
        }
        let nf = n as f64;
        let (y, x) = (k_y as f64 / nf, k_x as f64 / nf);
        let cov = k_xy as f64 / nf - x * y;
        let (var_x, var_y) = (x * (1.0 - x), y * (1.0 - y));
        let beta = cov / var_x;
        let estimate = y - beta * (x - mean);
        let residual = (var_y - cov * cov / var_x).max(0.0) / (nf - 1.0);
        let half = 1.959_963_984_540_054 * residual.sqrt();
        Some(ControlVariate {
            probability: estimate.clamp(0.0, 1.0),
            ci95: ((estimate - half).max(0.0), (estimate + half).min(1.0)),
            control_mean: mean,
            control_share: x,
            correlation: cov / (var_x * var_y).sqrt(),
        })
    }
}

/// The liquidation probability estimated with a control variate (see
/// [`Accum::summary`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ControlVariate {
    pub probability: f64,
    pub ci95: (f64, f64),
    /// The control's known mean, and its share among the paths.
    pub control_mean: f64,
    pub control_share: f64,
    /// The correlation of the control with liquidation: the interval's width is the plain
    /// one's times `√(1 − ρ²)`.
    pub correlation: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_control_variate_is_the_regression_estimate() {
        // 100 paths: 20 liquidated, 30 crossed the barrier, 18 both; the barrier's known
        // probability is 25%. By hand: ȳ = 0.2, x̄ = 0.3, cov = 0.18 − 0.06 = 0.12,
        // var x = 0.21, var y = 0.16, β = 4/7, estimate = 0.2 − (4/7)·0.05 = 6/35,
        // residual variance (0.16 − 0.12²/0.21)/99, ρ = 0.12/√(0.21·0.16).
        let mut a = Accum::new(10, 2);
        a.paths = 100;
        a.liquidated = 20;
        (a.control_paths, a.control_hits, a.control_joint) = (100, 30, 18);
        let cv = a.control_variate(0.25).unwrap();
        assert!((cv.probability - 6.0 / 35.0).abs() < 1e-12, "{cv:?}");
        let half = 1.959_963_984_540_054 * ((0.16 - 0.0144 / 0.21) / 99.0f64).sqrt();
        assert!((cv.ci95.0 - (6.0 / 35.0 - half)).abs() < 1e-12, "{cv:?}");
        assert!((cv.ci95.1 - (6.0 / 35.0 + half)).abs() < 1e-12, "{cv:?}");
        assert!((cv.correlation - 0.12 / (0.21f64 * 0.16).sqrt()).abs() < 1e-12, "{cv:?}");
        // Fewer than 10 liquidations: no normal interval, no estimate.
        a.liquidated = 9;
        a.control_joint = 9;
        assert!(a.control_variate(0.25).is_none());
    }
}
