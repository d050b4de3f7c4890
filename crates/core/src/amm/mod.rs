//! Automated market makers: a Uniswap v2 constant-product pair with a configurable fee, and the
//! zaps leveraged-farming strategies use to enter it.
//!
//! | file | what |
//! |---|---|
//! | `fee` | [`SwapFee`] on the contract's own scale, the protocol's [`ProtocolFee`] share |
//! | `library` | `UniswapV2Library`: [`quote`], [`get_amount_out`], [`get_amount_in`] |
//! | `constant_product` | [`ConstantProductPool`]: the pair's state and its K-checked `swap` |
//! | `liquidity` | `mint`, `burn` (with `_mintFee`) |
//! | `router` | Router02 `add_liquidity`, with either token as the router's `tokenA` |
//! | `valuation` | spot prices, `underlying`, Alpaca's `health` as `exit_value` |
//! | `arbitrage` | `swap_to_price`: the fee-paying arbitrage to an external price |
//! | `zap` | [`optimal_one_sided_swap`], [`optimal_deposit`], `zap_in` |
//! | [`v3`] | concentrated liquidity: a Uniswap v3 pool |
//! | `error` | [`AmmError`]: the contracts' reverts with their operands |
//!
//! All arithmetic is exact on `U256`; every division rounds as the contract does and says so.

mod arbitrage;
mod constant_product;
mod error;
mod fee;
mod library;
mod liquidity;
mod router;
pub mod v3;
mod valuation;
mod zap;

#[cfg(test)]
mod properties;

pub use arbitrage::SwapToPrice;
pub use constant_product::{ConstantProductPool, MAX_RESERVE, MINIMUM_LIQUIDITY};
pub use error::AmmError;
pub use fee::{ProtocolFee, SwapFee};
pub use library::{get_amount_in, get_amount_out, quote};
pub use liquidity::{BurnResult, MintResult, TokenAmounts};
pub use router::{AddLiquidityResult, RouterTokenA};
pub use zap::{optimal_deposit, optimal_one_sided_swap, OptimalDeposit, ZapResult};

/// A Uniswap v2 (997/1000) pool holding `reserve0`/`reserve1`, for the AMM's unit tests.
#[cfg(test)]
pub(crate) fn test_pool(reserve0: u128, reserve1: u128) -> ConstantProductPool {
    let mut pool = ConstantProductPool::new(SwapFee::UNISWAP_V2, None);
    pool.reserve0 = crate::math::u(reserve0);
    pool.reserve1 = crate::math::u(reserve1);
    pool
}
