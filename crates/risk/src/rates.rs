//! f64 twins of the engine's rate models, for the path loop: the kernel crosses from the exact
//! engine at set-up only, and a path's borrow and repay reprice its lending pool here.
//!
//! Each twin computes the annual borrow rate from a pool's debt and cash in raw units, as the
//! exact model does from the same amounts: the same utilization (debt over debt plus cash), the
//! same pieces between the same kinks, and the one truncation that shows in f64, the triple
//! slope's rate per second in whole wei. The rest of the exact models' rounding is at 1e-27 of
//! a rate. Tests hold each twin to its exact model within 1e-12 relative at every utilization
//! from 0 to 1 and on both sides of every kink.

use levfarm_core::rates::RateModel;

/// Seconds in the triple slope's year (Alpaca's `365 days`).
const SECONDS_PER_YEAR: f64 = 31_536_000.0;

/// A rate model in f64: [`RateCurve::of`] an exact [`RateModel`].
#[derive(Debug, Clone, PartialEq)]
pub enum RateCurve {
    /// Aave's two slopes: `base` always, `slope1` up to the `optimal` usage, `slope2` past it.
    Kinked { base: f64, slope1: f64, slope2: f64, optimal: f64 },
    /// Compound's jump rate: `base` plus `multiplier` spread to the `kink`, then `jump` per
    /// unit of utilization past it.
    Jump { base: f64, multiplier: f64, jump: f64, kink: f64 },
    /// Alpaca's triple slope: utilization ceilings and the rates at them, both as fractions.
    TripleSlope { ceil: [f64; 3], max: [f64; 3] },
    /// A piecewise-linear curve through `(utilization, rate)` points from 0 to 1.
    Points(Vec<(f64, f64)>),
}

fn bps(v: u32) -> f64 {
    f64::from(v) / 1e4
}

impl RateCurve {
    /// The twin of `model`.
    pub fn of(model: &RateModel) -> RateCurve {
        match model {
            RateModel::Aave(m) => RateCurve::Kinked {
                base: bps(m.base_variable_borrow_rate_bps),
                slope1: bps(m.variable_rate_slope1_bps),
                slope2: bps(m.variable_rate_slope2_bps),
                optimal: bps(m.optimal_usage_ratio_bps),
            },
            RateModel::JumpRate(m) => RateCurve::Jump {
                base: bps(m.base_rate_bps),
                multiplier: bps(m.multiplier_bps),
                jump: bps(m.jump_multiplier_bps),
                kink: bps(m.kink_bps),
            },
            RateModel::TripleSlope(m) => RateCurve::TripleSlope {
                ceil: [m.ceil_slope_1_bps, m.ceil_slope_2_bps, m.ceil_slope_3_bps].map(bps),
                max: [
                    m.max_interest_slope_1_bps,
                    m.max_interest_slope_2_bps,
                    m.max_interest_slope_3_bps,
                ]
                .map(bps),
            },
            RateModel::Curve(m) => RateCurve::Points(
                m.points.iter().map(|p| (bps(p.utilization_bps), bps(p.borrow_rate_bps))).collect(),
            ),
        }
    }

    /// [`Self::borrow_rate`] of many pools at once: Aave's two slopes branch-free (both
    /// pieces computed, the one that applies kept, with the same operations), the other
    /// models pool by pool.
    #[inline(always)]
    pub fn borrow_rate_lanes<const N: usize>(
        &self,
        debt: &[f64; N],
        cash: &[f64; N],
        rate: &mut [f64; N],
    ) {
        let RateCurve::Kinked { base, slope1, slope2, optimal } = *self else {
            for ((rate, debt), cash) in rate.iter_mut().zip(debt).zip(cash) {
                *rate = self.borrow_rate(*debt, *cash);
            }
            return;
        };
        for ((rate, debt), cash) in rate.iter_mut().zip(debt).zip(cash) {
            let (debt, cash) = (debt.max(0.0), cash.max(0.0));
            let usage = debt / (debt + cash);
            let below = base + slope1 * usage / optimal;
            let above = base + slope1 + slope2 * (usage - optimal) / (1.0 - optimal);
            let kinked = if usage <= optimal { below } else { above };
            *rate = if debt > 0.0 { kinked } else { base };
        }
    }

    /// The annual borrow rate (0.05 = 5%) of a pool owed `debt` and holding `cash`, both in
    /// raw units of its token.
    #[inline(always)]
    pub fn borrow_rate(&self, debt: f64, cash: f64) -> f64 {
        let (debt, cash) = (debt.max(0.0), cash.max(0.0));
        let usage = if debt > 0.0 { debt / (debt + cash) } else { 0.0 };
        match self {
            RateCurve::Kinked { base, slope1, slope2, optimal } => {
                if debt <= 0.0 {
                    *base
                } else if usage <= *optimal {
                    base + slope1 * usage / optimal
                } else {
                    base + slope1 + slope2 * (usage - optimal) / (1.0 - optimal)
                }
            }
            RateCurve::Jump { base, multiplier, jump, kink } => {
                if usage <= *kink {
                    base + usage * multiplier / kink
                } else {
                    base + multiplier + (usage - kink) * jump
                }
            }
            RateCurve::TripleSlope { ceil, max } => {
                if debt <= 0.0 && cash <= 0.0 {
                    return 0.0;
                }
                let per_year = if usage < ceil[0] {
                    usage * max[0] / ceil[0]
                } else if usage < ceil[1] {
                    max[1]
                } else if usage < ceil[2] {
                    max[1] + (usage - ceil[1]) * (max[2] - max[1]) / (ceil[2] - ceil[1])
                } else {
                    max[2]
                };
                // The contract stores a rate per second in whole wei (1e-18 a second).
                (per_year * 1e18 / SECONDS_PER_YEAR).floor() * SECONDS_PER_YEAR / 1e18
            }
            RateCurve::Points(points) => {
                let u = usage.min(1.0);
                let segment = points.windows(2).find(|p| p[0].0 <= u && u <= p[1].0);
                match segment {
                    Some(&[(u0, r0), (u1, r1)]) => r0 + (r1 - r0) * (u - u0) / (u1 - u0),
                    _ => points.last().map_or(0.0, |p| p.1),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;
    use levfarm_core::math::Bps;
    use levfarm_core::rates::{InterestRateModel, RateInputs};

    fn model(json: serde_json::Value) -> RateModel {
        let m: RateModel = serde_json::from_value(json).expect("a rate model");
        m.validate().expect("valid");
        m
    }

    /// The models of the bundled scenarios and the protocols' own examples, one per kind.
    fn models() -> Vec<RateModel> {
        vec![
            model(serde_json::json!({"kind": "aave", "optimal_usage_ratio_bps": 9000,
                "base_variable_borrow_rate_bps": 0, "variable_rate_slope1_bps": 400,
                "variable_rate_slope2_bps": 6000})),
            model(serde_json::json!({"kind": "aave", "optimal_usage_ratio_bps": 4500,
                "base_variable_borrow_rate_bps": 100, "variable_rate_slope1_bps": 700,
                "variable_rate_slope2_bps": 30000})),
            model(serde_json::json!({"kind": "jump_rate", "base_rate_bps": 200,
                "multiplier_bps": 2000, "jump_multiplier_bps": 20000, "kink_bps": 9000})),
            model(serde_json::json!({"kind": "triple_slope", "ceil_slope_1_bps": 6000,
                "ceil_slope_2_bps": 9000, "ceil_slope_3_bps": 10000,
                "max_interest_slope_1_bps": 2000, "max_interest_slope_2_bps": 2000,
                "max_interest_slope_3_bps": 15000})),
            model(serde_json::json!({"kind": "triple_slope", "ceil_slope_1_bps": 5000,
                "ceil_slope_2_bps": 8000, "ceil_slope_3_bps": 9500,
                "max_interest_slope_1_bps": 1000, "max_interest_slope_2_bps": 2500,
                "max_interest_slope_3_bps": 20000})),
            model(serde_json::json!({"kind": "curve", "points": [
                {"utilization_bps": 0, "borrow_rate_bps": 100},
                {"utilization_bps": 7000, "borrow_rate_bps": 800},
                {"utilization_bps": 8500, "borrow_rate_bps": 2000},
                {"utilization_bps": 10000, "borrow_rate_bps": 30000}]})),
        ]
    }

    /// The kinks of a model, as fractions: where its pieces meet.
    fn kinks(m: &RateModel) -> Vec<f64> {
        match RateCurve::of(m) {
            RateCurve::Kinked { optimal, .. } => vec![optimal],
            RateCurve::Jump { kink, .. } => vec![kink],
            RateCurve::TripleSlope { ceil, .. } => ceil.to_vec(),
            RateCurve::Points(p) => p.iter().map(|(u, _)| *u).collect(),
        }
    }

    /// The exact model's annual rate at `debt` and `cash` raw units, as f64.
    fn exact(m: &RateModel, debt: U256, cash: U256) -> f64 {
        let inputs = RateInputs {
            total_debt: debt,
            available_liquidity: cash,
            unbacked: U256::ZERO,
            reserve_factor: Bps(1000),
        };
        let ray = m.rates(&inputs).expect("rates").borrow_rate.0;
        levfarm_sim::world::wad_to_f64(ray) / 1e9
    }

    fn f(v: U256) -> f64 {
        levfarm_sim::world::wad_to_f64(v) * 1e18
    }

    #[test]
    fn every_twin_meets_its_exact_model_from_0_to_1_and_at_every_kink() {
        // A pool of 5e25 raw units (50 million tokens of 18 decimals), and one of 5e13 (of 6).
        let pools = [
            U256::from(5u64) * U256::from(10u64).pow(U256::from(25u64)),
            U256::from(5u64) * U256::from(10u64).pow(U256::from(13u64)),
        ];
        for total in pools {
            for m in models() {
                // Every basis point of utilization, and each kink with a step of 1e-10 of the
                // pool either side (f64 resolves utilization to about 1e-16, so a triple
                // slope's jump one raw unit from its kink is past what any f64 twin can see).
                let mut debts: Vec<U256> = (0..=10_000u64)
                    .map(|b| total * U256::from(b) / U256::from(10_000u64))
                    .collect();
                for k in kinks(&m) {
                    let at = total * U256::from((k * 1e4).round() as u64) / U256::from(10_000u64);
                    let step = total / U256::from(10_000_000_000u64);
                    debts.extend([at.saturating_sub(step), at, at + step]);
                }
                for debt in debts.into_iter().filter(|d| *d <= total) {
                    let cash = total - debt;
                    let want = exact(&m, debt, cash);
                    let got = RateCurve::of(&m).borrow_rate(f(debt), f(cash));
                    let tolerance = 1e-12 * want.abs().max(1e-9);
                    assert!(
                        (got - want).abs() <= tolerance,
                        "{m:?} at debt {debt} of {total}: twin {got:e}, exact {want:e}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_empty_pool_pays_what_the_exact_model_pays() {
        for m in models() {
            let want = exact(&m, U256::ZERO, U256::ZERO);
            assert_eq!(RateCurve::of(&m).borrow_rate(0.0, 0.0), want, "{m:?}");
        }
    }
}
