//! Kamino's N-point piecewise-linear borrow curve (Kamino-Finance/klend
//! `programs/klend/src/utils/borrow_rate_curve.rs`), computed in ray.
//!
//! ```text
//! util = debt.rayDiv(debt + available)                        (half up, Aave's; 0 without debt)
//! find the first segment [p0, p1] with u0 <= util <= u1, then
//! borrow = r0 + (r1 - r0) * (util - u0) / (u1 - u0)           (floor)
//! ```
//!
//! klend locates the segment on the utilization floored to whole bps and returns a point's rate
//! outright when that bps value equals the point; here the full-precision utilization is used
//! throughout, so the curve is continuous. The supply rate is [`supply_rate`](super::supply_rate).

use serde::{Deserialize, Serialize};

use super::error::ensure;
use super::{supply_rate, InterestRateModel, RateError, RateInputs, Rates};
use crate::math::{mul_div, CheckedOps, Ray, PERCENTAGE_FACTOR};

const MODEL: &str = "curve";
/// klend stores the curve as `[CurvePoint; 11]`.
const MAX_POINTS: usize = 11;

/// One point of the curve: at `utilization_bps` the borrow rate is `borrow_rate_bps` per year.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CurvePoint {
    /// Utilization, 0..=10000.
    pub utilization_bps: u32,
    /// Annual borrow rate; may exceed 10000 (100%).
    pub borrow_rate_bps: u32,
}

/// A borrow curve through 2 to 11 points from 0% to 100% utilization.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CurveRateModel {
    /// The points, by strictly increasing utilization.
    pub points: Vec<CurvePoint>,
}

impl CurveRateModel {
    /// klend's `BorrowRateCurve::from_points` checks: 2..=11 points, the first at 0, the last at
    /// 10000, utilization strictly increasing, rates never falling.
    pub fn validate(&self) -> Result<(), RateError> {
        let count = self.points.len();
        let reason = "a curve needs 2 to 11 points";
        ensure((2..=MAX_POINTS).contains(&count), MODEL, "points.len()", count, reason)?;
        let (first, last) = (self.points[0], self.points[count - 1]);
        let (field, reason) = ("points[0].utilization_bps", "the first point must be at 0");
        ensure(first.utilization_bps == 0, MODEL, field, first.utilization_bps, reason)?;
        let (field, reason) = ("points[last].utilization_bps", "the last point must be at 10000");
        ensure(
            last.utilization_bps == PERCENTAGE_FACTOR,
            MODEL,
            field,
            last.utilization_bps,
            reason,
        )?;
        for (i, pair) in self.points.windows(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            let at = |x: u32, y: u32| format!("{y} at points[{}] after {x}", i + 1);
            let increasing = b.utilization_bps > a.utilization_bps;
            let value = at(a.utilization_bps, b.utilization_bps);
            ensure(increasing, MODEL, "utilization_bps", value, "must be strictly increasing")?;
            let value = at(a.borrow_rate_bps, b.borrow_rate_bps);
            let reason = "must never decrease";
            ensure(
                b.borrow_rate_bps >= a.borrow_rate_bps,
                MODEL,
                "borrow_rate_bps",
                value,
                reason,
            )?;
        }
        Ok(())
    }

    /// The annual borrow rate at `util` (clamped to 100%, as klend does), interpolated on the
    /// first segment that contains it, rounding down. Expects a validated curve; errors otherwise.
    pub fn borrow_rate(&self, util: Ray) -> Result<Ray, RateError> {
        let util = util.min(Ray::ONE).0;
        let contains = |p: &[CurvePoint]| {
            Ray::from_bps(p[0].utilization_bps).0 <= util
                && util <= Ray::from_bps(p[1].utilization_bps).0
        };
        let Some(segment) = self.points.windows(2).find(|p| contains(p)) else {
            let reason = "do not cover the utilization";
            return Err(RateError::invalid(MODEL, "points", format!("{:?}", self.points), reason));
        };
        let (start, end) = (segment[0], segment[1]);
        let (u0, u1) =
            (Ray::from_bps(start.utilization_bps).0, Ray::from_bps(end.utilization_bps).0);
        let (r0, r1) =
            (Ray::from_bps(start.borrow_rate_bps).0, Ray::from_bps(end.borrow_rate_bps).0);
        let rise = r1.sub_or(r0, "curve_rise")?;
        let along = mul_div(rise, util - u0, u1.sub_or(u0, "curve_run")?)?;
        Ok(Ray(r0.add_or(along, "curve_rate")?))
    }
}

impl InterestRateModel for CurveRateModel {
    fn rates(&self, inputs: &RateInputs) -> Result<Rates, RateError> {
        self.validate()?;
        let utilization = inputs.borrow_usage()?;
        let borrow_rate = self.borrow_rate(utilization)?;
        Ok(Rates { borrow_rate, supply_rate: supply_rate(borrow_rate, inputs)?, utilization })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::{Bps, U256};

    fn point(utilization_bps: u32, borrow_rate_bps: u32) -> CurvePoint {
        CurvePoint { utilization_bps, borrow_rate_bps }
    }

    /// Kamino-like: 1% to 8% by 70%, 20% at 90%, then up to 300% at 100%.
    fn curve() -> CurveRateModel {
        CurveRateModel {
            points: vec![point(0, 100), point(7000, 800), point(9000, 2000), point(10_000, 30_000)],
        }
    }

    fn at(debt: u64, available: u64) -> Rates {
        let inputs = RateInputs {
            total_debt: U256::from(debt),
            available_liquidity: U256::from(available),
            unbacked: U256::ZERO,
            reserve_factor: Bps(2000),
        };
        curve().rates(&inputs).unwrap()
    }

    #[test]
    fn interpolates_between_points_and_hits_them_exactly() {
        // 0%: the first point, 1%; nothing borrowed, nothing earned
        assert_eq!(at(0, 100).borrow_rate, Ray::from_bps(100));
        assert_eq!(at(0, 100).supply_rate, Ray::ZERO);
        // 35%: 1% + 7% * (35 - 0) / (70 - 0) = 4.5%
        assert_eq!(at(35, 65).borrow_rate, Ray::from_bps(450));
        // 70%, a kink: exactly its point, 8%
        assert_eq!(at(70, 30).borrow_rate, Ray::from_bps(800));
        // 80%: 8% + 12% * (80 - 70) / (90 - 70) = 14%; supply 14% * 0.8 * (1 - 0.2) = 8.96%
        assert_eq!(at(80, 20).borrow_rate, Ray::from_bps(1400));
        assert_eq!(at(80, 20).supply_rate, Ray::from_bps(896));
        // 90%, a kink: 20%
        assert_eq!(at(90, 10).borrow_rate, Ray::from_bps(2000));
        // 95%: 20% + 280% * (95 - 90) / (100 - 90) = 160%
        assert_eq!(at(95, 5).borrow_rate, Ray::from_bps(16_000));
        // 100%: the last point, 300%
        assert_eq!(at(100, 0).borrow_rate, Ray::from_bps(30_000));
    }

    #[test]
    fn interpolation_rounds_down() {
        // util = 1 / 3 = 0.333...3 (half up leaves the last 3); 7% * util / 70% = 0.0333...3|3
        // floors to 33333333333333333333333333; plus 1% = 0.043333...3
        assert_eq!(at(1, 2).borrow_rate.0.to_string(), "43333333333333333333333333");
        // above 100% the curve is clamped to its last point
        assert_eq!(curve().borrow_rate(Ray(Ray::ONE.0 * U256::from(2))), Ok(Ray::from_bps(30_000)));
    }

    #[test]
    fn validate_follows_klend() {
        assert_eq!(curve().validate(), Ok(()));
        let with = |points: Vec<CurvePoint>| CurveRateModel { points }.validate().unwrap_err();
        let err = with(vec![point(100, 0), point(10_000, 100)]).to_string();
        assert!(err.contains("points[0].utilization_bps = 100"), "{err}");
        assert!(with(vec![point(0, 0), point(9000, 100)]).to_string().contains("= 9000"));
        assert!(with(vec![point(0, 0)]).to_string().contains("points.len() = 1"));
        assert!(with(vec![point(0, 0); 12]).to_string().contains("points.len() = 12"));
        let flat = vec![point(0, 0), point(5000, 10), point(5000, 20), point(10_000, 30)];
        let err = with(flat).to_string();
        assert!(err.contains("utilization_bps = 5000 at points[2] after 5000"), "{err}");
        let falling = vec![point(0, 0), point(5000, 30), point(10_000, 20)];
        assert!(with(falling).to_string().contains("borrow_rate_bps = 20 at points[2] after 30"));
        // an invalid curve is refused by rates(), not panicked on
        let empty = CurveRateModel { points: vec![] };
        assert!(empty.rates(&RateInputs::default()).is_err());
    }
}
