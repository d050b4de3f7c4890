//! The engine's one error type. A protocol "no" is an error too: the command changes nothing.

use alloy_primitives::U256;

use crate::amm::AmmError;
use crate::math::MathError;
use crate::rates::RateError;
use crate::types::Holder;

/// Why a command was refused. Variants carry the numbers that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Math(#[from] MathError),
    #[error(transparent)]
    Rate(#[from] RateError),
    #[error(transparent)]
    Amm(#[from] AmmError),
    /// Boxed: the v3 errors carry prices and would make every `Result` larger.
    #[error(transparent)]
    V3(Box<crate::amm::v3::V3Error>),
    #[error("invalid {field} = {value}: {reason}")]
    InvalidConfig { field: &'static str, value: String, reason: &'static str },
    #[error("unknown {kind} {name:?}")]
    Unknown { kind: &'static str, name: String },
    #[error("{kind} {name:?} already exists")]
    AlreadyExists { kind: &'static str, name: String },
    #[error("{what} amount {amount} is too small to do anything")]
    AmountTooSmall { what: &'static str, amount: U256 },
    #[error("{holder} holds {available} {token}, needs {requested}")]
    InsufficientBalance { holder: Holder, token: String, requested: U256, available: U256 },
    #[error("{holder} has {available} {token} supplied, asked to withdraw {requested}")]
    InsufficientSupply { holder: Holder, token: String, requested: U256, available: U256 },
    #[error("the {token} lending pool has {available} cash (the rest is lent out), asked for {requested}")]
    InsufficientCash { token: String, requested: U256, available: U256 },
    #[error("{holder} has {staked} LP staked, asked to unstake {requested}")]
    InsufficientStake { holder: Holder, requested: U256, staked: U256 },
    #[error("no oracle price for {token}: set one with set_price first")]
    NoPrice { token: String },
    #[error("time cannot go backwards: now {now}, asked for {requested}")]
    TimeBackwards { now: u64, requested: u64 },
    #[error("debt ratio {debt_ratio_bps} bps would exceed the work factor {work_factor_bps} bps")]
    DebtRatioTooHigh { debt_ratio_bps: u64, work_factor_bps: u32 },
    #[error("debt ratio {debt_ratio_bps} bps must stay below the kill factor {kill_factor_bps} bps minus the {margin_bps} bps add-collateral margin")]
    AddCollateralMargin { debt_ratio_bps: u64, kill_factor_bps: u32, margin_bps: u32 },
    #[error("position {position} is not liquidatable: debt ratio {debt_ratio_bps} bps is within the kill factor {kill_factor_bps} bps")]
    NotLiquidatable { position: u64, debt_ratio_bps: u64, kill_factor_bps: u32 },
    #[error("{token} debt {debt} is below the minimum debt size {min_debt}")]
    DebtBelowMinimum { token: String, debt: U256, min_debt: U256 },
    #[error("position {position} is underwater: closing returns {available} {token} against a debt of {debt}; it can only be liquidated")]
    Underwater { position: u64, token: String, available: U256, debt: U256 },
    #[error("{caller:?} does not own position {position}")]
    NotOwner { position: u64, caller: String },
    #[error("position {position} is closed")]
    PositionClosed { position: u64 },
    #[error("health factor {health_factor_wad} (1e18 = 1.0) would be below 1")]
    HealthFactorTooLow { health_factor_wad: U256 },
    #[error("account {account:?} is healthy: health factor {health_factor_wad} (1e18 = 1.0) is not below 1")]
    AccountHealthy { account: String, health_factor_wad: U256 },
    #[error("slippage: got {got}, asked for at least {min}")]
    Slippage { got: U256, min: U256 },
    #[error("{what}")]
    Invalid { what: String },
}

impl Error {
    pub(crate) fn unknown(kind: &'static str, name: impl Into<String>) -> Self {
        Error::Unknown { kind, name: name.into() }
    }

    pub(crate) fn invalid(what: impl Into<String>) -> Self {
        Error::Invalid { what: what.into() }
    }
}

impl Error {
    /// A stable snake_case name for the kind of refusal, for machine-readable output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Math(_) => "math",
            Error::Rate(_) => "rate_model",
            Error::Amm(_) => "amm",
            Error::V3(_) => "uniswap_v3",
            Error::InvalidConfig { .. } => "invalid_config",
            Error::Unknown { .. } => "unknown",
            Error::AlreadyExists { .. } => "already_exists",
            Error::AmountTooSmall { .. } => "amount_too_small",
            Error::InsufficientBalance { .. } => "insufficient_balance",
            Error::InsufficientSupply { .. } => "insufficient_supply",
            Error::InsufficientCash { .. } => "insufficient_cash",
            Error::InsufficientStake { .. } => "insufficient_stake",
            Error::NoPrice { .. } => "no_price",
            Error::TimeBackwards { .. } => "time_backwards",
            Error::DebtRatioTooHigh { .. } => "debt_ratio_too_high",
            Error::AddCollateralMargin { .. } => "add_collateral_margin",
            Error::NotLiquidatable { .. } => "not_liquidatable",
            Error::DebtBelowMinimum { .. } => "debt_below_minimum",
            Error::Underwater { .. } => "underwater",
            Error::NotOwner { .. } => "not_owner",
            Error::PositionClosed { .. } => "position_closed",
            Error::HealthFactorTooLow { .. } => "health_factor_too_low",
            Error::AccountHealthy { .. } => "account_healthy",
            Error::Slippage { .. } => "slippage",
            Error::Invalid { .. } => "invalid",
        }
    }
}

impl From<crate::amm::v3::V3Error> for Error {
    fn from(e: crate::amm::v3::V3Error) -> Self {
        Error::V3(Box::new(e))
    }
}
