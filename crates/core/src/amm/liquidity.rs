//! Minting and burning LP: `UniswapV2Pair.mint`, `burn` and `_mintFee`.

use serde::{Deserialize, Serialize};

use super::constant_product::MINIMUM_LIQUIDITY;
use super::{AmmError, ConstantProductPool};
use crate::math::{mul_div, sqrt, CheckedOps, U256};

/// LP created by a [`mint`](ConstantProductPool::mint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MintResult {
    /// LP for the depositor.
    #[serde(with = "crate::types::dec")]
    pub liquidity: U256,
    /// LP minted to the protocol (`feeTo`) first, for fees earned since the last mint or burn.
    #[serde(with = "crate::types::dec")]
    pub protocol_fee_liquidity: U256,
}

/// Tokens released by a [`burn`](ConstantProductPool::burn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurnResult {
    /// Token0 paid to the burner.
    #[serde(with = "crate::types::dec")]
    pub amount0: U256,
    /// Token1 paid to the burner.
    #[serde(with = "crate::types::dec")]
    pub amount1: U256,
    /// LP minted to the protocol (`feeTo`) before the burn.
    #[serde(with = "crate::types::dec")]
    pub protocol_fee_liquidity: U256,
}

/// An amount of each token of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenAmounts {
    /// Token0.
    #[serde(with = "crate::types::dec")]
    pub amount0: U256,
    /// Token1.
    #[serde(with = "crate::types::dec")]
    pub amount1: U256,
}

impl TokenAmounts {
    /// Nothing of either token.
    pub const ZERO: TokenAmounts = TokenAmounts { amount0: U256::ZERO, amount1: U256::ZERO };
}

impl ConstantProductPool {
    /// `UniswapV2Pair.mint` after the caller sent `amount0`/`amount1`: the first mint gives
    /// `sqrt(amount0 * amount1) - MINIMUM_LIQUIDITY` and locks `MINIMUM_LIQUIDITY`; later ones
    /// `min(amount0 * ts / reserve0, amount1 * ts / reserve1)`, rounded down.
    pub fn mint(&mut self, amount0: U256, amount1: U256) -> Result<MintResult, AmmError> {
        let protocol_fee_liquidity = self.protocol_fee_liquidity()?;
        let supply = self.total_supply.add_or(protocol_fee_liquidity, "mint")?;
        let (liquidity, locked) = if supply.is_zero() {
            let root = sqrt(amount0.mul_or(amount1, "mint")?);
            (root.saturating_sub(MINIMUM_LIQUIDITY), MINIMUM_LIQUIDITY)
        } else {
            let share0 = mul_div(amount0, supply, self.reserve0)?;
            (share0.min(mul_div(amount1, supply, self.reserve1)?), U256::ZERO)
        };
        if liquidity.is_zero() {
            let total_supply = supply;
            return Err(AmmError::InsufficientLiquidityMinted { amount0, amount1, total_supply });
        }
        let balance0 = self.reserve0.add_or(amount0, "mint")?;
        let balance1 = self.reserve1.add_or(amount1, "mint")?;
        let total_supply = supply.add_or(locked, "mint")?.add_or(liquidity, "mint")?;
        self.commit(balance0, balance1, total_supply)?;
        Ok(MintResult { liquidity, protocol_fee_liquidity })
    }

    /// `UniswapV2Pair.burn` of `liquidity` sent back to the pair: pays
    /// `liquidity * reserve / ts` of each token, rounded down, after `_mintFee`.
    pub fn burn(&mut self, liquidity: U256) -> Result<BurnResult, AmmError> {
        let protocol_fee_liquidity = self.protocol_fee_liquidity()?;
        let supply = self.total_supply.add_or(protocol_fee_liquidity, "burn")?;
        if liquidity > supply {
            return Err(AmmError::BurnExceedsSupply { liquidity, total_supply: supply });
        }
        let amount0 = mul_div(liquidity, self.reserve0, supply)?;
        let amount1 = mul_div(liquidity, self.reserve1, supply)?;
        if amount0.is_zero() || amount1.is_zero() {
            return Err(AmmError::InsufficientLiquidityBurned { liquidity, amount0, amount1 });
        }
        // liquidity <= supply, so amount <= reserve and nothing below underflows.
        let (balance0, balance1) = (self.reserve0 - amount0, self.reserve1 - amount1);
        self.commit(balance0, balance1, supply - liquidity)?;
        Ok(BurnResult { amount0, amount1, protocol_fee_liquidity })
    }

    /// `_mintFee`'s liquidity: `ts * (rootK - rootKLast) / (rootK * (divisor - 1) + rootKLast)`,
    /// rounded down; zero when the protocol fee is off, `k_last` is zero or `k` has not grown.
    pub fn protocol_fee_liquidity(&self) -> Result<U256, AmmError> {
        let Some(protocol_fee) = self.protocol_fee else { return Ok(U256::ZERO) };
        if self.k_last.is_zero() {
            return Ok(U256::ZERO);
        }
        let root_k = sqrt(self.reserve0.mul_or(self.reserve1, "mint_fee")?);
        let root_k_last = sqrt(self.k_last);
        if root_k <= root_k_last {
            return Ok(U256::ZERO);
        }
        let weighted = root_k.mul_or(protocol_fee.root_k_weight()?, "mint_fee")?;
        let denominator = weighted.add_or(root_k_last, "mint_fee")?;
        Ok(mul_div(self.total_supply, root_k - root_k_last, denominator)?)
    }

    /// Store a mint's or burn's outcome; `k_last` tracks `k` only while the protocol fee is on.
    fn commit(&mut self, balance0: U256, balance1: U256, supply: U256) -> Result<(), AmmError> {
        let k_last = match self.protocol_fee {
            Some(_) => balance0.mul_or(balance1, "k_last")?,
            None => U256::ZERO,
        };
        self.set_reserves(balance0, balance1)?;
        self.total_supply = supply;
        self.k_last = k_last;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amm::{ProtocolFee, SwapFee};
    use crate::math::u;

    fn seeded(protocol_fee: Option<ProtocolFee>) -> ConstantProductPool {
        let mut pool = ConstantProductPool::new(SwapFee::UNISWAP_V2, protocol_fee);
        // sqrt(4000 * 1000) = 2000: 1000 to the depositor, 1000 locked.
        let first = pool.mint(u(4000), u(1000)).unwrap();
        assert_eq!(first, MintResult { liquidity: u(1000), protocol_fee_liquidity: u(0) });
        pool
    }

    #[test]
    fn first_mint_locks_minimum_liquidity() {
        let pool = seeded(None);
        assert_eq!((pool.reserve0, pool.reserve1, pool.total_supply), (u(4000), u(1000), u(2000)));
        // sqrt(1000 * 1000) - 1000 = 0.
        let err = ConstantProductPool::new(SwapFee::UNISWAP_V2, None).mint(u(1000), u(1000));
        assert!(matches!(err, Err(AmmError::InsufficientLiquidityMinted { .. })));
    }

    #[test]
    fn later_mints_take_the_smaller_share() {
        let mut pool = seeded(None);
        // min(400 * 2000 / 4000, 50 * 2000 / 1000) = min(200, 100): the extra token0 is donated.
        assert_eq!(pool.mint(u(400), u(50)).unwrap().liquidity, u(100));
        assert_eq!((pool.reserve0, pool.reserve1, pool.total_supply), (u(4400), u(1050), u(2100)));
    }

    #[test]
    fn burn_pays_pro_rata_rounded_down() {
        let mut pool = seeded(None);
        pool.mint(u(400), u(50)).unwrap();
        // 100 of 2100 LP on 4400/1050: 209.5 -> 209 and 50 exactly.
        let burned = pool.burn(u(100)).unwrap();
        assert_eq!((burned.amount0, burned.amount1), (u(209), u(50)));
        assert_eq!((pool.reserve0, pool.reserve1, pool.total_supply), (u(4191), u(1000), u(2000)));
        // 1 LP pays 4191/2000 = 2 token0 but 1000/2000 = 0 token1.
        assert!(matches!(pool.burn(u(1)), Err(AmmError::InsufficientLiquidityBurned { .. })));
        let err = pool.clone().burn(u(2001)).unwrap_err();
        assert_eq!(err, AmmError::BurnExceedsSupply { liquidity: u(2001), total_supply: u(2000) });
    }

    #[test]
    fn protocol_fee_takes_its_share_of_root_k_growth() {
        let mut pool = seeded(Some(ProtocolFee::UNISWAP_V2));
        assert_eq!(pool.k_last, u(4_000_000));
        // Pretend fees doubled rootK: 4000/1000 -> 8000/2000 with the same 2000 LP.
        pool.reserve0 = u(8000);
        pool.reserve1 = u(2000);
        // rootK = 4000, rootKLast = 2000: 2000 * 2000 / (4000 * 5 + 2000) = 181.8 -> 181.
        assert_eq!(pool.protocol_fee_liquidity().unwrap(), u(181));
        let burned = pool.burn(u(1000)).unwrap();
        assert_eq!(burned.protocol_fee_liquidity, u(181));
        // 1000 of 2181 LP: 8000 * 1000 / 2181 = 3668.0 -> 3668; 2000 * 1000 / 2181 = 917.0 -> 917.
        assert_eq!((burned.amount0, burned.amount1), (u(3668), u(917)));
        assert_eq!(pool.total_supply, u(1181));
        assert_eq!(pool.k_last, u((8000 - 3668) * (2000 - 917)));
    }

    #[test]
    fn k_last_resets_when_the_protocol_fee_is_off() {
        let mut pool = seeded(Some(ProtocolFee::UNISWAP_V2));
        pool.protocol_fee = None;
        pool.mint(u(400), u(100)).unwrap();
        assert_eq!(pool.k_last, u(0));
        assert_eq!(pool.protocol_fee_liquidity().unwrap(), u(0));
    }
}
