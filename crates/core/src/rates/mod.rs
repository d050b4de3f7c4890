//! Interest rate models: pool state in, annual borrow and supply rates in ray out.
//!
//! | file | what | reference |
//! |---|---|---|
//! | `model.rs` | [`InterestRateModel`], [`RateInputs`], [`Rates`], [`supply_rate`] | Aave |
//! | `aave.rs` | [`AaveRateModel`] | Aave v3.1+ `DefaultReserveInterestRateStrategyV2` |
//! | `jump_rate.rs` | [`JumpRateModel`] | Compound v2 `JumpRateModelV2`, per year |
//! | `triple_slope.rs` | [`TripleSlopeModel`] | Alpaca `TripleSlopeModel` |
//! | `curve.rs` | [`CurveRateModel`] | Kamino klend `BorrowRateCurve` |
//! | `rate_model.rs` | [`RateModel`]: the serde-tagged enum that configs load | |
//!
//! All arithmetic is exact on `U256`; each model's docs state its rounding. Call `validate` once
//! on a loaded config; `rates` never panics, and errors on overflow or a reserve factor over 100%.

mod aave;
mod curve;
mod error;
mod jump_rate;
mod model;
mod rate_model;
mod triple_slope;

pub use aave::AaveRateModel;
pub use curve::{CurvePoint, CurveRateModel};
pub use error::RateError;
pub use jump_rate::JumpRateModel;
pub use model::{supply_rate, InterestRateModel, RateInputs, Rates};
pub use rate_model::RateModel;
pub use triple_slope::TripleSlopeModel;
