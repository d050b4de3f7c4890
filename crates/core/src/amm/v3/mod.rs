//! Concentrated liquidity: a Uniswap v3 pool in the exact engine.
//!
//! | file | what |
//! |---|---|
//! | `math` | `TickMath`, `SqrtPriceMath`, `SwapMath`, `LiquidityMath` from the `uniswap-v3-sdk` crate; v3-periphery's `LiquidityAmounts` |
//! | `pool` | [`V3Pool`]: ticks, the tick bitmap, fee growth, positions; `mint`, `burn`, `collect`, `swap` as `UniswapV3Pool` does them |
//!
//! The math is the SDK's port of v3-core; the pool's state and bookkeeping are this engine's,
//! written after `UniswapV3Pool.sol`, `Tick.sol`, `TickBitmap.sol` and `Position.sol`.

pub mod math;
mod pool;
#[cfg(test)]
mod tests;

pub use pool::{
    max_liquidity_per_tick, PositionInfo, SwapOutcome, TickInfo, V3Pool, V3PositionKey, FEE_TIERS,
};

use alloy_primitives::U256;

use crate::math::MathError;

/// What the v3 contracts revert on, with the operands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum V3Error {
    #[error("tick {tick} is outside [-887272, 887272] (T)")]
    TickOutOfRange { tick: i32 },
    #[error("sqrt price {sqrt_price} is outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO) (R)")]
    SqrtPriceOutOfRange { sqrt_price: U256 },
    #[error("fee of {fee_pips} pips must be below 1000000")]
    FeeTooHigh { fee_pips: u32 },
    #[error("tick spacing {tick_spacing} must be within 1..=16383")]
    InvalidTickSpacing { tick_spacing: i32 },
    #[error("tick {tick} is not a multiple of the tick spacing {tick_spacing}")]
    TickNotSpaced { tick: i32, tick_spacing: i32 },
    #[error("lower tick {lower} must be below upper tick {upper} (TLU)")]
    TicksMisordered { lower: i32, upper: i32 },
    #[error("liquidity {liquidity} does not fit in 128 bits")]
    LiquidityOverflow { liquidity: U256 },
    #[error("liquidity on tick {tick} would exceed {max} (LO)")]
    TickLiquidityAboveMax { tick: i32, max: u128 },
    #[error("liquidity delta {delta} takes {liquidity} below zero or past 2^128 (LS/LA)")]
    LiquidityDelta { liquidity: u128, delta: i128 },
    #[error("amount must be above zero")]
    ZeroAmount,
    #[error("position has no liquidity (NP)")]
    NoPosition,
    #[error(
        "price limit {limit} is on the wrong side of the price {sqrt_price} or out of range (SPL)"
    )]
    PriceLimit { limit: U256, sqrt_price: U256 },
    #[error("{0}")]
    Math(#[from] MathError),
    #[error("uniswap v3 math: {0}")]
    Sdk(String),
}

impl From<uniswap_v3_sdk::prelude::Error> for V3Error {
    fn from(e: uniswap_v3_sdk::prelude::Error) -> Self {
        V3Error::Sdk(e.to_string())
    }
}
