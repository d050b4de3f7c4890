//! Why a pool refused an operation: Uniswap v2's reverts, each with the numbers that failed.

use crate::math::{MathError, U256};

/// A revert of the pair, the library or the router, or an invalid configuration.
///
/// The message starts with the revert string of the Uniswap v2 contract that would have
/// refused the same call, so a log line can be matched against an on-chain trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmmError {
    /// `quote` of a zero amount.
    #[error("INSUFFICIENT_AMOUNT: quote of {amount}")]
    InsufficientAmount {
        /// The amount to quote.
        amount: U256,
    },
    /// A swap with nothing coming in (library: zero `amountIn`; pair: both inputs zero).
    #[error("INSUFFICIENT_INPUT_AMOUNT: amount in {amount_in}")]
    InsufficientInputAmount {
        /// The total input.
        amount_in: U256,
    },
    /// A swap with nothing going out (library: zero `amountOut`; pair: both outputs zero).
    #[error("INSUFFICIENT_OUTPUT_AMOUNT: amount out {amount_out}")]
    InsufficientOutputAmount {
        /// The total output.
        amount_out: U256,
    },
    /// A library call on an empty side of the pool.
    #[error("INSUFFICIENT_LIQUIDITY: reserve in {reserve_in}, reserve out {reserve_out}")]
    InsufficientLiquidity {
        /// Reserve of the token paid in.
        reserve_in: U256,
        /// Reserve of the token paid out.
        reserve_out: U256,
    },
    /// An output that would take the whole reserve or more.
    #[error("INSUFFICIENT_LIQUIDITY: amount out {amount_out} >= reserve {reserve_out}")]
    OutputExceedsReserve {
        /// The output asked for.
        amount_out: U256,
        /// The reserve of that token.
        reserve_out: U256,
    },
    /// The fee-adjusted product fell: `balance0_adjusted * balance1_adjusted < r0 * r1 * den^2`.
    #[error(
        "K: {balance0_adjusted} * {balance1_adjusted} < {reserve_product} * {fee_denominator}^2"
    )]
    K {
        /// `balance0 * den - amount0_in * (den - num)`.
        balance0_adjusted: U256,
        /// `balance1 * den - amount1_in * (den - num)`.
        balance1_adjusted: U256,
        /// `reserve0 * reserve1` before the swap (saturating at `U256::MAX`, which reserves
        /// within `uint112` never reach).
        reserve_product: U256,
        /// The fee's denominator.
        fee_denominator: u32,
    },
    /// A mint worth zero liquidity (or, on the first mint, not more than `MINIMUM_LIQUIDITY`).
    #[error(
        "INSUFFICIENT_LIQUIDITY_MINTED: amounts {amount0}/{amount1}, total supply {total_supply}"
    )]
    InsufficientLiquidityMinted {
        /// Token0 deposited.
        amount0: U256,
        /// Token1 deposited.
        amount1: U256,
        /// Total supply before the mint (after the protocol fee).
        total_supply: U256,
    },
    /// A burn that would pay out zero of either token.
    #[error("INSUFFICIENT_LIQUIDITY_BURNED: {liquidity} LP pays {amount0}/{amount1}")]
    InsufficientLiquidityBurned {
        /// The liquidity burned.
        liquidity: U256,
        /// Token0 it is worth.
        amount0: U256,
        /// Token1 it is worth.
        amount1: U256,
    },
    /// A burn of more liquidity than exists.
    #[error("ds-math-sub-underflow: burn of {liquidity} LP above total supply {total_supply}")]
    BurnExceedsSupply {
        /// The liquidity burned.
        liquidity: U256,
        /// The pool's total supply.
        total_supply: U256,
    },
    /// A balance above `uint112`, the width of the pair's reserves.
    #[error("OVERFLOW: balances {balance0}/{balance1} exceed 2^112 - 1")]
    ReserveOverflow {
        /// Token0 balance after the operation.
        balance0: U256,
        /// Token1 balance after the operation.
        balance1: U256,
    },
    /// Router `addLiquidity`: the amount of `tokenA` it would deposit is below the minimum.
    #[error("INSUFFICIENT_A_AMOUNT: tokenA {amount_a} < minimum {amount_a_min}")]
    InsufficientAAmount {
        /// TokenA the router would deposit.
        amount_a: U256,
        /// The caller's minimum.
        amount_a_min: U256,
    },
    /// Router `addLiquidity`: the amount of `tokenB` it would deposit is below the minimum.
    #[error("INSUFFICIENT_B_AMOUNT: tokenB {amount_b} < minimum {amount_b_min}")]
    InsufficientBAmount {
        /// TokenB the router would deposit.
        amount_b: U256,
        /// The caller's minimum.
        amount_b_min: U256,
    },
    /// A swap fee outside `0 < numerator <= denominator`.
    #[error("invalid swap fee {numerator}/{denominator}: need 0 < numerator <= denominator")]
    InvalidFee {
        /// Input kept after the fee, on `denominator`.
        numerator: u32,
        /// The fee's scale.
        denominator: u32,
    },
    /// A protocol fee share `1/divisor` with `divisor == 0`.
    #[error("invalid protocol fee divisor {divisor}: need divisor >= 1")]
    InvalidProtocolFee {
        /// The divisor given.
        divisor: u32,
    },
    /// A target price with a zero numerator or denominator.
    #[error("invalid target price {numerator}/{denominator}: both must be positive")]
    InvalidPrice {
        /// Price numerator (token1 units).
        numerator: U256,
        /// Price denominator (token0 units).
        denominator: U256,
    },
    /// Overflow, underflow or division by zero in the integer arithmetic.
    #[error(transparent)]
    Math(#[from] MathError),
}
