use crate::math::MathError;

/// Why a rate model refused its parameters or its inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateError {
    /// A configuration value the reference protocol would reject, or one that makes no sense.
    #[error("{model}: invalid {field} = {value}: {reason}")]
    InvalidParameter {
        /// The model, as named in config (`aave`, `jump_rate`, ...).
        model: &'static str,
        /// The offending field.
        field: &'static str,
        /// Its value, formatted.
        value: String,
        /// What the value violates.
        reason: &'static str,
    },
    /// A reserve factor above 100%: the suppliers' share `1e4 - reserve_factor` would be negative.
    #[error("reserve factor {reserve_factor_bps} bps is above 10000 bps")]
    ReserveFactorAboveOneHundredPercent {
        /// The reserve factor given.
        reserve_factor_bps: u32,
    },
    /// Overflow, underflow or division by zero in the fixed-point arithmetic.
    #[error(transparent)]
    Math(#[from] MathError),
}

impl RateError {
    pub(crate) fn invalid(
        model: &'static str,
        field: &'static str,
        value: impl ToString,
        reason: &'static str,
    ) -> Self {
        Self::InvalidParameter { model, field, value: value.to_string(), reason }
    }
}

/// `Ok(())` when `ok`, else [`RateError::InvalidParameter`] naming `field` and `value`.
pub(crate) fn ensure(
    ok: bool,
    model: &'static str,
    field: &'static str,
    value: impl ToString,
    reason: &'static str,
) -> Result<(), RateError> {
    if ok {
        return Ok(());
    }
    Err(RateError::invalid(model, field, value, reason))
}
