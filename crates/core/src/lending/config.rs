use serde::{Deserialize, Serialize};

use crate::math::Bps;
use crate::rates::RateModel;
use crate::Error;

/// The parameters of one lending pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LendingConfig {
    /// Borrow rate as a function of utilization.
    pub rate_model: RateModel,
    /// Share of borrow interest that goes to the treasury (Aave's reserve factor, Alpaca's
    /// reserve pool bps).
    #[serde(default)]
    pub reserve_factor_bps: Bps,
    /// Aave loan-to-value for plain collateralized borrowing: how much may be borrowed against a
    /// supply of this token. 0 disables it as collateral for new borrows.
    #[serde(default)]
    pub ltv_bps: Bps,
    /// Aave liquidation threshold: a plain borrower is liquidatable when
    /// `Σ collateral·price·threshold < Σ debt·price`.
    #[serde(default)]
    pub liquidation_threshold_bps: Bps,
    /// Aave liquidation bonus on seized collateral, e.g. 10500 = 5% bonus.
    #[serde(default = "default_bonus")]
    pub liquidation_bonus_bps: Bps,
    /// Share of the bonus part of seized collateral that goes to the treasury.
    #[serde(default)]
    pub liquidation_protocol_fee_bps: Bps,
}

fn default_bonus() -> Bps {
    Bps(10_000)
}

impl LendingConfig {
    /// A pool with this rate model and no reserve factor or collateral use.
    pub fn new(rate_model: RateModel) -> Self {
        Self {
            rate_model,
            reserve_factor_bps: Bps::ZERO,
            ltv_bps: Bps::ZERO,
            liquidation_threshold_bps: Bps::ZERO,
            liquidation_bonus_bps: default_bonus(),
            liquidation_protocol_fee_bps: Bps::ZERO,
        }
    }

    /// Rejects parameters the protocols would not accept.
    pub fn validate(&self) -> Result<(), Error> {
        self.rate_model.validate()?;
        let fail = |field: &'static str, value: Bps, reason: &'static str| {
            Err(Error::InvalidConfig { field, value: value.0.to_string(), reason })
        };
        if self.reserve_factor_bps.0 > 10_000 {
            return fail("reserve_factor_bps", self.reserve_factor_bps, "must be at most 10000");
        }
        if self.liquidation_threshold_bps.0 > 10_000 {
            return fail(
                "liquidation_threshold_bps",
                self.liquidation_threshold_bps,
                "must be at most 10000",
            );
        }
        if self.ltv_bps > self.liquidation_threshold_bps {
            return fail("ltv_bps", self.ltv_bps, "must not exceed liquidation_threshold_bps");
        }
        if self.liquidation_bonus_bps.0 < 10_000 || self.liquidation_bonus_bps.0 > 20_000 {
            return fail(
                "liquidation_bonus_bps",
                self.liquidation_bonus_bps,
                "must be within 10000..=20000 (100% plus the bonus)",
            );
        }
        // Aave: the threshold times the bonus must stay under 100%, or a liquidation would seize
        // more collateral than the debt it repays is worth.
        let product =
            u64::from(self.liquidation_threshold_bps.0) * u64::from(self.liquidation_bonus_bps.0);
        if product > 100_000_000 {
            return fail(
                "liquidation_bonus_bps",
                self.liquidation_bonus_bps,
                "threshold × bonus must not exceed 100%",
            );
        }
        if self.liquidation_protocol_fee_bps.0 > 10_000 {
            return fail(
                "liquidation_protocol_fee_bps",
                self.liquidation_protocol_fee_bps,
                "must be at most 10000",
            );
        }
        Ok(())
    }
}
