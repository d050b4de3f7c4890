//! `UniswapV2Library`: `quote`, `getAmountOut`, `getAmountIn`, with the fee as a parameter.
//!
//! The contract's 997 and 1000 become the fee's numerator and denominator. Products are taken
//! over 512 bits ([`mul_div`]), so every result the contract returns is reproduced exactly and
//! inputs where the contract's `SafeMath` would overflow still get the exact answer.

use super::{AmmError, SwapFee};
use crate::math::{mul_div, CheckedOps, U256};

/// `floor(amount_a * reserve_b / reserve_a)`: the amount of B worth `amount_a` at the pool's
/// spot price, no fee (`UniswapV2Library.quote`).
pub fn quote(amount_a: U256, reserve_a: U256, reserve_b: U256) -> Result<U256, AmmError> {
    if amount_a.is_zero() {
        return Err(AmmError::InsufficientAmount { amount: amount_a });
    }
    nonempty(reserve_a, reserve_b)?;
    Ok(mul_div(amount_a, reserve_b, reserve_a)?)
}

/// The output of selling `amount_in` into the pool, rounded down
/// (`UniswapV2Library.getAmountOut`):
/// `floor(in*num * reserve_out / (reserve_in*den + in*num))`.
pub fn get_amount_out(
    amount_in: U256,
    reserve_in: U256,
    reserve_out: U256,
    fee: SwapFee,
) -> Result<U256, AmmError> {
    if amount_in.is_zero() {
        return Err(AmmError::InsufficientInputAmount { amount_in });
    }
    nonempty(reserve_in, reserve_out)?;
    let op = "get_amount_out";
    let amount_in_with_fee = amount_in.mul_or(fee.kept(), op)?;
    let denominator = reserve_in.mul_or(fee.scale(), op)?.add_or(amount_in_with_fee, op)?;
    Ok(mul_div(amount_in_with_fee, reserve_out, denominator)?)
}

/// The input that buys `amount_out` from the pool, rounded up by the contract's `+ 1`
/// (`UniswapV2Library.getAmountIn`):
/// `floor(reserve_in * out * den / ((reserve_out - out) * num)) + 1`.
///
/// An `amount_out` of the whole reserve or more is [`AmmError::OutputExceedsReserve`] (the
/// contract reverts on the subtraction or the division by zero).
pub fn get_amount_in(
    amount_out: U256,
    reserve_in: U256,
    reserve_out: U256,
    fee: SwapFee,
) -> Result<U256, AmmError> {
    if amount_out.is_zero() {
        return Err(AmmError::InsufficientOutputAmount { amount_out });
    }
    nonempty(reserve_in, reserve_out)?;
    if amount_out >= reserve_out {
        return Err(AmmError::OutputExceedsReserve { amount_out, reserve_out });
    }
    let op = "get_amount_in";
    let numerator_factor = amount_out.mul_or(fee.scale(), op)?;
    let denominator = (reserve_out - amount_out).mul_or(fee.kept(), op)?;
    Ok(mul_div(reserve_in, numerator_factor, denominator)?.add_or(U256::from(1), op)?)
}

fn nonempty(reserve_in: U256, reserve_out: U256) -> Result<(), AmmError> {
    if reserve_in.is_zero() || reserve_out.is_zero() {
        return Err(AmmError::InsufficientLiquidity { reserve_in, reserve_out });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::u;

    const E18: u128 = 1_000_000_000_000_000_000;

    #[test]
    fn quote_is_the_floor_of_the_spot_conversion() {
        // 1 * 200 / 100 = 2; 2 * 100 / 200 = 1; 3 * 100 / 200 = 1.5 -> 1.
        assert_eq!(quote(u(1), u(100), u(200)).unwrap(), u(2));
        assert_eq!(quote(u(3), u(200), u(100)).unwrap(), u(1));
    }

    #[test]
    fn get_amount_out_keeps_the_fee_and_rounds_down() {
        // 2 * 997 * 100 / (100 * 1000 + 2 * 997) = 199400 / 101994 = 1.955 -> 1
        assert_eq!(get_amount_out(u(2), u(100), u(100), SwapFee::UNISWAP_V2).unwrap(), u(1));
        // 1e18 in, 5e18 / 10e18: 997e18 * 10e18 / (5000e18 + 997e18) = 1.6624979156...e18
        let out = get_amount_out(u(E18), u(5 * E18), u(10 * E18), SwapFee::UNISWAP_V2).unwrap();
        assert_eq!(out, u(1_662_497_915_624_478_906));
        // With PancakeSwap's 9975/10000: 2 * 9975 * 100 / (100 * 10000 + 19950) = 1.956 -> 1
        assert_eq!(get_amount_out(u(2), u(100), u(100), SwapFee::PANCAKESWAP_V2).unwrap(), u(1));
    }

    #[test]
    fn get_amount_in_adds_one_after_the_floor() {
        // 100 * 1 * 1000 / ((100 - 1) * 997) = 100000 / 98703 = 1.013 -> 1, + 1 = 2
        assert_eq!(get_amount_in(u(1), u(100), u(100), SwapFee::UNISWAP_V2).unwrap(), u(2));
        // 5e18 * 1e18 * 1000 / (9e18 * 997) = 0.557227237267357628... e18 -> ...628 + 1
        let needed = get_amount_in(u(E18), u(5 * E18), u(10 * E18), SwapFee::UNISWAP_V2).unwrap();
        assert_eq!(needed, u(557_227_237_267_357_629));
    }

    #[test]
    fn reverts_name_the_failing_operands() {
        let fee = SwapFee::UNISWAP_V2;
        assert_eq!(quote(u(0), u(1), u(1)), Err(AmmError::InsufficientAmount { amount: u(0) }));
        assert_eq!(
            get_amount_out(u(2), u(0), u(100), fee),
            Err(AmmError::InsufficientLiquidity { reserve_in: u(0), reserve_out: u(100) })
        );
        assert_eq!(
            get_amount_in(u(100), u(100), u(100), fee),
            Err(AmmError::OutputExceedsReserve { amount_out: u(100), reserve_out: u(100) })
        );
        assert!(matches!(
            get_amount_in(u(0), u(1), u(1), fee),
            Err(AmmError::InsufficientOutputAmount { .. })
        ));
    }

    #[test]
    fn huge_inputs_error_instead_of_wrapping() {
        let r = get_amount_out(U256::MAX, u(1), u(1), SwapFee::UNISWAP_V2);
        assert!(matches!(r, Err(AmmError::Math(_))));
        let r = get_amount_in(U256::MAX - u(1), U256::MAX, U256::MAX, SwapFee::UNISWAP_V2);
        assert!(matches!(r, Err(AmmError::Math(_))));
    }
}
