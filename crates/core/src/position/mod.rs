//! Leveraged LP positions (Alpaca / Alpha Homora style): equity plus debt in either or both
//! tokens of a constant-product pool or a range of a Uniswap v3 pool, held as LP staked in the pool's farm.
//!
//! - [`config`]: the per-pool leverage rules (work factor, kill factor, bounties).
//! - [`valuation`]: oracle (fair LP price) and exit (after price impact and fees) values, debt
//!   ratio, leverage; the exit plan that liquidation and closing execute.
//! - [`liquidation_price`]: liquidation prices in closed form and by an exact numeric solve.
//! - [`range`]: positions in a price range of a Uniswap v3 pool: the optimal split for the
//!   range, both valuations, the exit plan.

pub mod config;
pub mod liquidation_price;
pub mod range;
pub mod valuation;

use crate::types::Name;
use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

pub use config::{LeverageConfig, LiquidationStyle, Valuation};
pub use range::TickRange;
pub use valuation::{ExitMode, ExitPlan, PositionHealth};

/// What a new position borrows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BorrowSide {
    /// The pool's token0 (for WETH/USDC: short ETH).
    Token0,
    /// The pool's token1 (for WETH/USDC: long ETH).
    #[default]
    Token1,
    /// Both, near neutral: token0 up to the half of the position the liquidity holds in it,
    /// the rest in token1.
    Both,
}

/// A leveraged LP position. Its debt lives in the lending pools under
/// [`crate::types::Holder::Position`]; its LP is staked in the pool's farm when there is one, and harvested rewards wait in its
/// ledger balance until reinvested or paid out on close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub id: u64,
    pub owner: Name,
    pub pool: Name,
    /// LP tokens on a constant-product pool; the range's liquidity on a v3 pool.
    #[serde(with = "crate::types::dec")]
    pub lp: U256,
    /// The price range, for a position on a Uniswap v3 pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<TickRange>,
    pub opened_at: u64,
    pub open: bool,
    /// The venue that lent to it and whose leverage rules it follows.
    #[serde(default, skip_serializing_if = "crate::types::Venue::is_main")]
    pub venue: crate::types::Venue,
}
