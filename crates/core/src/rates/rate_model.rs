//! [`RateModel`]: every model behind one serde-tagged enum, the form configs load.

use serde::{Deserialize, Serialize};

use super::{
    AaveRateModel, CurveRateModel, InterestRateModel, JumpRateModel, RateError, RateInputs, Rates,
    TripleSlopeModel,
};

/// Any supported rate model, tagged in config by `kind`:
/// `{"kind": "aave", "optimal_usage_ratio_bps": 8000, ...}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RateModel {
    /// Aave v3.1+ `DefaultReserveInterestRateStrategyV2`.
    Aave(AaveRateModel),
    /// Compound v2 `JumpRateModelV2`, per year.
    JumpRate(JumpRateModel),
    /// Alpaca `TripleSlopeModel`.
    TripleSlope(TripleSlopeModel),
    /// Kamino's piecewise-linear curve.
    Curve(CurveRateModel),
}

impl RateModel {
    /// The wrapped model's `validate`.
    pub fn validate(&self) -> Result<(), RateError> {
        match self {
            RateModel::Aave(model) => model.validate(),
            RateModel::JumpRate(model) => model.validate(),
            RateModel::TripleSlope(model) => model.validate(),
            RateModel::Curve(model) => model.validate(),
        }
    }
}

impl InterestRateModel for RateModel {
    fn rates(&self, inputs: &RateInputs) -> Result<Rates, RateError> {
        match self {
            RateModel::Aave(model) => model.rates(inputs),
            RateModel::JumpRate(model) => model.rates(inputs),
            RateModel::TripleSlope(model) => model.rates(inputs),
            RateModel::Curve(model) => model.rates(inputs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::{Bps, Ray, U256};

    #[test]
    fn configs_round_trip_through_the_kind_tag() {
        let json = r#"{"kind": "jump_rate", "base_rate_bps": 200, "multiplier_bps": 2000,
                       "jump_multiplier_bps": 20000, "kink_bps": 9000}"#;
        let model: RateModel = serde_json::from_str(json).unwrap();
        assert_eq!(model.validate(), Ok(()));
        let inputs = RateInputs {
            total_debt: U256::from(90),
            available_liquidity: U256::from(10),
            unbacked: U256::ZERO,
            reserve_factor: Bps(0),
        };
        // the kink: 2% + 20%
        assert_eq!(model.rates(&inputs).unwrap().borrow_rate, Ray::from_bps(2200));
        let back: RateModel =
            serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
        assert_eq!(back, model);

        let curve = r#"{"kind": "curve", "points": [{"utilization_bps": 0, "borrow_rate_bps": 0},
                        {"utilization_bps": 10000, "borrow_rate_bps": 5000}]}"#;
        assert!(matches!(serde_json::from_str(curve).unwrap(), RateModel::Curve(_)));
    }

    #[test]
    fn unknown_fields_and_kinds_are_refused() {
        let typo = r#"{"kind": "aave", "optimal_usage_ratio_bps": 8000,
                       "base_variable_borrow_rate_bps": 0, "variable_rate_slope1_bps": 400,
                       "variable_rate_slope2_bps": 6000, "slope3": 1}"#;
        assert!(serde_json::from_str::<RateModel>(typo).is_err());
        assert!(serde_json::from_str::<RateModel>(r#"{"kind": "two_slope"}"#).is_err());
    }

    #[test]
    fn validate_delegates() {
        let bad = r#"{"kind": "triple_slope", "ceil_slope_1_bps": 6000, "ceil_slope_2_bps": 5000,
                      "ceil_slope_3_bps": 10000, "max_interest_slope_1_bps": 2000,
                      "max_interest_slope_2_bps": 2000, "max_interest_slope_3_bps": 15000}"#;
        let model: RateModel = serde_json::from_str(bad).unwrap();
        let err = model.validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "triple_slope: invalid ceil_slope_2_bps = 5000: must not be below ceil_slope_1"
        );
    }
}
