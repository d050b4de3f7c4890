//! Router02's `addLiquidity`: how much of a desired deposit the pair actually receives.
//!
//! The router deposits all of `tokenA` and the [`quote`]d amount of `tokenB` when that fits,
//! else all of `tokenB` and the quoted `tokenA`. Both can fit when the quotes round down, so
//! which token is `tokenA` can move a wei between the deposit and the caller's dust. That is
//! the caller's argument order, not the pair's token order: Alpaca's strategies call
//! `addLiquidity(baseToken, farmingToken, ..)`, Alpha Homora's `StrategyAddETHOnly` calls
//! `addLiquidityETH(fToken, ..)`, with WETH as `tokenB`.

use serde::{Deserialize, Serialize};

use super::{quote, AmmError, ConstantProductPool, MintResult, TokenAmounts};
use crate::math::U256;

/// Which of the pair's tokens the router call names first (`tokenA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum RouterTokenA {
    /// `addLiquidity(token0, token1, ..)`.
    #[default]
    Token0,
    /// `addLiquidity(token1, token0, ..)`.
    Token1,
}

/// What Router02's `addLiquidity` deposited and minted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddLiquidityResult {
    /// Token0 deposited.
    #[serde(with = "crate::types::dec")]
    pub amount0: U256,
    /// Token1 deposited.
    #[serde(with = "crate::types::dec")]
    pub amount1: U256,
    /// LP for the depositor.
    #[serde(with = "crate::types::dec")]
    pub liquidity: U256,
    /// LP minted to the protocol (`feeTo`) first.
    #[serde(with = "crate::types::dec")]
    pub protocol_fee_liquidity: U256,
}

impl ConstantProductPool {
    /// Router02 `addLiquidity(token0, token1, ..)`: deposit `amount0_desired` and its quote in
    /// token1 if that is at most `amount1_desired`, else `amount1_desired` and its quote in
    /// token0; then [`mint`](Self::mint). An empty pair takes both desired amounts.
    pub fn add_liquidity(
        &mut self,
        amount0_desired: U256,
        amount1_desired: U256,
        amount0_min: U256,
        amount1_min: U256,
    ) -> Result<AddLiquidityResult, AmmError> {
        let desired = TokenAmounts { amount0: amount0_desired, amount1: amount1_desired };
        let minimum = TokenAmounts { amount0: amount0_min, amount1: amount1_min };
        self.add_liquidity_with(RouterTokenA::Token0, desired, minimum)
    }

    /// Router02 `addLiquidity` with either token as `tokenA`.
    pub fn add_liquidity_with(
        &mut self,
        token_a: RouterTokenA,
        desired: TokenAmounts,
        minimum: TokenAmounts,
    ) -> Result<AddLiquidityResult, AmmError> {
        let TokenAmounts { amount0, amount1 } = self.router_amounts(token_a, desired, minimum)?;
        let MintResult { liquidity, protocol_fee_liquidity } = self.mint(amount0, amount1)?;
        Ok(AddLiquidityResult { amount0, amount1, liquidity, protocol_fee_liquidity })
    }

    /// Router02 `_addLiquidity`: the amounts actually deposited.
    fn router_amounts(
        &self,
        token_a: RouterTokenA,
        desired: TokenAmounts,
        minimum: TokenAmounts,
    ) -> Result<TokenAmounts, AmmError> {
        if self.reserve0.is_zero() && self.reserve1.is_zero() {
            return Ok(desired);
        }
        // In the (tokenA, tokenB) frame `amount0` is tokenA; flipping is its own inverse.
        let frame = |t: TokenAmounts| match token_a {
            RouterTokenA::Token0 => t,
            RouterTokenA::Token1 => TokenAmounts { amount0: t.amount1, amount1: t.amount0 },
        };
        let (reserve_a, reserve_b) = self.oriented(token_a == RouterTokenA::Token0);
        Ok(frame(amounts_a_b(reserve_a, reserve_b, frame(desired), frame(minimum))?))
    }
}

/// `_addLiquidity` on a non-empty pair, `amount0` standing for tokenA and `amount1` for tokenB.
fn amounts_a_b(
    reserve_a: U256,
    reserve_b: U256,
    desired: TokenAmounts,
    minimum: TokenAmounts,
) -> Result<TokenAmounts, AmmError> {
    let amount_b = quote(desired.amount0, reserve_a, reserve_b)?;
    if amount_b <= desired.amount1 {
        if amount_b < minimum.amount1 {
            return Err(AmmError::InsufficientBAmount { amount_b, amount_b_min: minimum.amount1 });
        }
        return Ok(TokenAmounts { amount0: desired.amount0, amount1: amount_b });
    }
    // quote(a) > b implies quote(b) < a (the router's `assert`); `min` only restates it.
    let amount_a = quote(desired.amount1, reserve_b, reserve_a)?.min(desired.amount0);
    if amount_a < minimum.amount0 {
        return Err(AmmError::InsufficientAAmount { amount_a, amount_a_min: minimum.amount0 });
    }
    Ok(TokenAmounts { amount0: amount_a, amount1: desired.amount1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amm::SwapFee;
    use crate::math::u;

    fn pool_100_200() -> ConstantProductPool {
        let mut pool = ConstantProductPool::new(SwapFee::UNISWAP_V2, None);
        pool.reserve0 = u(100);
        pool.reserve1 = u(200);
        pool.total_supply = u(141);
        pool
    }

    #[test]
    fn deposits_the_side_that_limits_the_ratio_in_full() {
        // 10 token0 quotes 10 * 200 / 100 = 20 token1 <= 50: deposit 10/20.
        let mut pool = pool_100_200();
        let added = pool.add_liquidity(u(10), u(50), u(0), u(0)).unwrap();
        assert_eq!((added.amount0, added.amount1), (u(10), u(20)));
        // LP: min(10 * 141 / 100, 20 * 141 / 200) = min(14.1, 14.1) = 14.
        assert_eq!(added.liquidity, u(14));
        // 50 token0 quotes 100 token1 > 30: deposit 30 * 100 / 200 = 15 token0 and 30 token1.
        let added = pool_100_200().add_liquidity(u(50), u(30), u(0), u(0)).unwrap();
        assert_eq!((added.amount0, added.amount1), (u(15), u(30)));
    }

    #[test]
    fn token_a_decides_which_rounding_dust_is_kept() {
        // 3 token0 and 5 token1 on 100/200: token0 first quotes 6 > 5, so it deposits
        // quote(5) = 2.5 -> 2 token0 and 5 token1; token1 first quotes 2 <= 3: the same 2/5.
        let desired = TokenAmounts { amount0: u(3), amount1: u(5) };
        let zero = TokenAmounts { amount0: u(0), amount1: u(0) };
        let first = pool_100_200().add_liquidity_with(RouterTokenA::Token0, desired, zero);
        let second = pool_100_200().add_liquidity_with(RouterTokenA::Token1, desired, zero);
        assert_eq!((first.unwrap().amount0, second.unwrap().amount0), (u(2), u(2)));
        // 5 token0 and 11 token1: token0 first: quote(5) = 10 <= 11, deposit 5/10.
        // token1 first: quote(11) = 5.5 -> 5 <= 5, deposit 5/11.
        let desired = TokenAmounts { amount0: u(5), amount1: u(11) };
        let first = pool_100_200().add_liquidity_with(RouterTokenA::Token0, desired, zero).unwrap();
        let second =
            pool_100_200().add_liquidity_with(RouterTokenA::Token1, desired, zero).unwrap();
        assert_eq!((first.amount0, first.amount1), (u(5), u(10)));
        assert_eq!((second.amount0, second.amount1), (u(5), u(11)));
    }

    #[test]
    fn minimums_revert_with_the_router_names() {
        let err = pool_100_200().add_liquidity(u(10), u(50), u(0), u(21)).unwrap_err();
        assert_eq!(err, AmmError::InsufficientBAmount { amount_b: u(20), amount_b_min: u(21) });
        let err = pool_100_200().add_liquidity(u(50), u(30), u(16), u(0)).unwrap_err();
        assert_eq!(err, AmmError::InsufficientAAmount { amount_a: u(15), amount_a_min: u(16) });
    }

    #[test]
    fn an_empty_pair_takes_both_desired_amounts() {
        let mut pool = ConstantProductPool::new(SwapFee::UNISWAP_V2, None);
        let added = pool.add_liquidity(u(4000), u(1000), u(0), u(0)).unwrap();
        // sqrt(4000 * 1000) = 2000, less MINIMUM_LIQUIDITY = 1000.
        assert_eq!((added.amount0, added.amount1, added.liquidity), (u(4000), u(1000), u(1000)));
    }
}
