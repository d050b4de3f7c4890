//! The Uniswap v2 pair's state and its low-level `swap`, with a configurable fee.
//!
//! The engine moves tokens; the pool only keeps the pair's accounting. A call names the
//! amounts the caller sent in (what the pair would read as `balance - reserve`) and the
//! amounts it takes out, and the pool checks them exactly as `UniswapV2Pair` does. Every
//! method checks first and writes last, so a revert leaves the pool as it was.

use alloy_primitives::U512;
use serde::{Deserialize, Serialize};

use super::{get_amount_in, get_amount_out, AmmError, ProtocolFee, SwapFee};
use crate::math::{checked_mul, CheckedOps, U256};

/// LP tokens locked forever by the first mint (`UniswapV2Pair.MINIMUM_LIQUIDITY`).
pub const MINIMUM_LIQUIDITY: U256 = U256::from_limbs([1000, 0, 0, 0]);

/// The largest reserve the pair can hold: `2^112 - 1` (`uint112`).
pub const MAX_RESERVE: U256 = U256::from_limbs([u64::MAX, (1 << 48) - 1, 0, 0]);

/// A Uniswap v2 (or fork) pair: reserves, LP supply, fees.
///
/// The fields are the pair's storage; use the methods to change them so the invariants hold
/// (the product `reserve0 * reserve1` never falls on a swap, every reserve fits `uint112`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstantProductPool {
    /// Token0 held by the pair (`reserve0`).
    #[serde(with = "crate::types::dec")]
    pub reserve0: U256,
    /// Token1 held by the pair (`reserve1`).
    #[serde(with = "crate::types::dec")]
    pub reserve1: U256,
    /// LP tokens in existence, `MINIMUM_LIQUIDITY` locked at the zero address included.
    #[serde(with = "crate::types::dec")]
    pub total_supply: U256,
    /// The swap fee.
    pub fee: SwapFee,
    /// The protocol's share of the fee; `None` when the factory's `feeTo` is unset.
    pub protocol_fee: Option<ProtocolFee>,
    /// `reserve0 * reserve1` after the last mint or burn while the protocol fee was on.
    #[serde(with = "crate::types::dec")]
    pub k_last: U256,
}

impl ConstantProductPool {
    /// A pair with no liquidity yet; the first [`mint`](Self::mint) sets its price.
    pub fn new(fee: SwapFee, protocol_fee: Option<ProtocolFee>) -> Self {
        Self {
            reserve0: U256::ZERO,
            reserve1: U256::ZERO,
            total_supply: U256::ZERO,
            fee,
            protocol_fee,
            k_last: U256::ZERO,
        }
    }

    /// `UniswapV2Pair.swap`: pay out `amount0_out`/`amount1_out` against the caller's
    /// `amount0_in`/`amount1_in`, which must keep
    /// `(b0*den - in0*(den-num)) * (b1*den - in1*(den-num)) >= r0 * r1 * den^2`
    /// with `b = reserve - out + in`.
    ///
    /// Input and output may be the same token (a flash swap repaid in kind).
    pub fn swap(
        &mut self,
        amount0_out: U256,
        amount1_out: U256,
        amount0_in: U256,
        amount1_in: U256,
    ) -> Result<(), AmmError> {
        if amount0_out.is_zero() && amount1_out.is_zero() {
            return Err(AmmError::InsufficientOutputAmount { amount_out: U256::ZERO });
        }
        check_output(amount0_out, self.reserve0)?;
        check_output(amount1_out, self.reserve1)?;
        if amount0_in.is_zero() && amount1_in.is_zero() {
            return Err(AmmError::InsufficientInputAmount { amount_in: U256::ZERO });
        }
        // out < reserve was checked: no underflow.
        let balance0 = (self.reserve0 - amount0_out).add_or(amount0_in, "swap")?;
        let balance1 = (self.reserve1 - amount1_out).add_or(amount1_in, "swap")?;
        self.check_k(balance0, balance1, amount0_in, amount1_in)?;
        self.set_reserves(balance0, balance1)
    }

    /// Sell exactly `amount_in` (token0 when `zero_for_one`) for the
    /// [`get_amount_out`] quote, as Router02's `swapExactTokensForTokens` does; returns the
    /// output.
    pub fn swap_exact_in(&mut self, zero_for_one: bool, amount_in: U256) -> Result<U256, AmmError> {
        let (reserve_in, reserve_out) = self.oriented(zero_for_one);
        let amount_out = get_amount_out(amount_in, reserve_in, reserve_out, self.fee)?;
        self.swap_oriented(zero_for_one, amount_in, amount_out)?;
        Ok(amount_out)
    }

    /// Buy exactly `amount_out` (of token1 when `zero_for_one`) for the [`get_amount_in`]
    /// quote, as Router02's `swapTokensForExactTokens` does; returns the input paid.
    pub fn swap_exact_out(
        &mut self,
        zero_for_one: bool,
        amount_out: U256,
    ) -> Result<U256, AmmError> {
        let (reserve_in, reserve_out) = self.oriented(zero_for_one);
        let amount_in = get_amount_in(amount_out, reserve_in, reserve_out, self.fee)?;
        self.swap_oriented(zero_for_one, amount_in, amount_out)?;
        Ok(amount_in)
    }

    /// `(reserve_in, reserve_out)` for a swap in the given direction.
    pub(crate) fn oriented(&self, zero_for_one: bool) -> (U256, U256) {
        if zero_for_one {
            (self.reserve0, self.reserve1)
        } else {
            (self.reserve1, self.reserve0)
        }
    }

    /// `UniswapV2Pair._update`: store the new balances, refusing any above `uint112`.
    pub(crate) fn set_reserves(&mut self, balance0: U256, balance1: U256) -> Result<(), AmmError> {
        if balance0 > MAX_RESERVE || balance1 > MAX_RESERVE {
            return Err(AmmError::ReserveOverflow { balance0, balance1 });
        }
        self.reserve0 = balance0;
        self.reserve1 = balance1;
        Ok(())
    }

    pub(crate) fn swap_oriented(
        &mut self,
        zero_for_one: bool,
        amount_in: U256,
        amount_out: U256,
    ) -> Result<(), AmmError> {
        if zero_for_one {
            self.swap(U256::ZERO, amount_out, amount_in, U256::ZERO)
        } else {
            self.swap(amount_out, U256::ZERO, U256::ZERO, amount_in)
        }
    }

    /// The fee-adjusted K check, compared over 512 bits so no product can wrap.
    fn check_k(
        &self,
        balance0: U256,
        balance1: U256,
        amount0_in: U256,
        amount1_in: U256,
    ) -> Result<(), AmmError> {
        let balance0_adjusted = self.adjusted(balance0, amount0_in)?;
        let balance1_adjusted = self.adjusted(balance1, amount1_in)?;
        let den = self.fee.scale();
        // In 256 bits when both sides fit, which is nearly always; the same comparison.
        let narrow_right = checked_mul(self.reserve0, self.reserve1)
            .and_then(|k| checked_mul(k, den))
            .and_then(|k| checked_mul(k, den));
        if let (Some(left), Some(right)) =
            (checked_mul(balance0_adjusted, balance1_adjusted), narrow_right)
        {
            if left >= right {
                return Ok(());
            }
        } else if self.wide_k_holds(balance0_adjusted, balance1_adjusted) {
            return Ok(());
        }
        Err(AmmError::K {
            balance0_adjusted,
            balance1_adjusted,
            reserve_product: self.reserve0.saturating_mul(self.reserve1),
            fee_denominator: self.fee.denominator(),
        })
    }

    /// The K check over 512 bits.
    #[cold]
    fn wide_k_holds(&self, balance0_adjusted: U256, balance1_adjusted: U256) -> bool {
        let den = self.fee.scale();
        let left = balance0_adjusted.widening_mul::<256, 4, 512, 8>(balance1_adjusted);
        let right = self
            .reserve0
            .widening_mul::<256, 4, 512, 8>(self.reserve1)
            .checked_mul(U512::from(den * den));
        // A right side above 2^512 exceeds any left side: the check fails.
        right.is_some_and(|right| left >= right)
    }

    /// `balance * den - amount_in * (den - num)`.
    fn adjusted(&self, balance: U256, amount_in: U256) -> Result<U256, AmmError> {
        let scaled = balance.mul_or(self.fee.scale(), "swap")?;
        Ok(scaled.sub_or(amount_in.mul_or(self.fee.taken(), "swap")?, "swap")?)
    }
}

fn check_output(amount_out: U256, reserve_out: U256) -> Result<(), AmmError> {
    // As the pair: `amountOut < reserve` even for a zero output, so an empty pool refuses all.
    if amount_out >= reserve_out {
        return Err(AmmError::OutputExceedsReserve { amount_out, reserve_out });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amm::test_pool as pool;
    use crate::math::u;

    #[test]
    fn swap_passes_k_at_the_quote_and_fails_one_above() {
        // 100 token0 into 1000/1000: out = 100*997*1000 / (1000*1000 + 99700) = 90.66 -> 90.
        // K: (1100*1000 - 100*3) * (910*1000) = 1099700 * 910000 = 1.0007e12 >= 1000*1000*1000^2.
        let mut ok = pool(1000, 1000);
        ok.swap(u(0), u(90), u(100), u(0)).unwrap();
        assert_eq!((ok.reserve0, ok.reserve1), (u(1100), u(910)));
        // 91 out: 1099700 * 909000 = 0.99963e12 < 1e12.
        let mut refused = pool(1000, 1000);
        let err = refused.swap(u(0), u(91), u(100), u(0)).unwrap_err();
        let k = AmmError::K {
            balance0_adjusted: u(1_099_700),
            balance1_adjusted: u(909_000),
            reserve_product: u(1_000_000),
            fee_denominator: 1000,
        };
        assert_eq!(err, k);
        assert_eq!(refused, pool(1000, 1000), "a revert changes nothing");
    }

    #[test]
    fn a_flash_swap_repaid_in_kind_keeps_the_fee() {
        // 100 token0 in, 99 token0 out: (1001*1000 - 300) * 1000000 = 1.0007e12 >= 1e12;
        // 100 out leaves 999700 * 1000000 < 1e12.
        assert!(pool(1000, 1000).swap(u(99), u(0), u(100), u(0)).is_ok());
        assert!(matches!(
            pool(1000, 1000).swap(u(100), u(0), u(100), u(0)),
            Err(AmmError::K { .. })
        ));
    }

    #[test]
    fn swap_reverts_in_the_pairs_order() {
        let mut p = pool(1000, 1000);
        let none_out = AmmError::InsufficientOutputAmount { amount_out: u(0) };
        assert_eq!(p.swap(u(0), u(0), u(5), u(0)), Err(none_out));
        let too_much = AmmError::OutputExceedsReserve { amount_out: u(1000), reserve_out: u(1000) };
        assert_eq!(p.swap(u(0), u(1000), u(5000), u(0)), Err(too_much));
        let none_in = AmmError::InsufficientInputAmount { amount_in: u(0) };
        assert_eq!(p.swap(u(0), u(1), u(0), u(0)), Err(none_in));
        // An empty pool refuses even a zero output of its empty side.
        assert!(matches!(
            pool(0, 1000).swap(u(0), u(1), u(5), u(0)),
            Err(AmmError::OutputExceedsReserve { .. })
        ));
    }

    #[test]
    fn reserves_stay_within_uint112() {
        let mut p = ConstantProductPool::new(SwapFee::UNISWAP_V2, None);
        p.reserve0 = MAX_RESERVE;
        p.reserve1 = MAX_RESERVE;
        let err = p.swap(u(0), u(1), u(10), u(0)).unwrap_err();
        assert!(matches!(err, AmmError::ReserveOverflow { .. }));
        assert_eq!(MAX_RESERVE, (U256::from(1) << 112) - u(1));
    }

    #[test]
    fn exact_in_and_exact_out_route_through_the_library() {
        let mut p = pool(1000, 1000);
        assert_eq!(p.swap_exact_in(true, u(100)).unwrap(), u(90));
        // 90 token1 out of 1000/1000: 1000*90*1000 / (910*997) = 99.2 -> 99, + 1 = 100.
        let mut p = pool(1000, 1000);
        assert_eq!(p.swap_exact_out(true, u(90)).unwrap(), u(100));
        assert_eq!((p.reserve0, p.reserve1), (u(1100), u(910)));
        // Token1 in: the mirror image.
        let mut p = pool(1000, 1000);
        assert_eq!(p.swap_exact_in(false, u(100)).unwrap(), u(90));
        assert_eq!((p.reserve0, p.reserve1), (u(910), u(1100)));
    }
}
