//! Minting and burning LP: `UniswapV2Pair.mint`, `burn` and `_mintFee`.

use serde::{Deserialize, Serialize};

use super::constant_product::MINIMUM_LIQUIDITY;
use super::{AmmError, ConstantProductPool};
use crate::math::{mul_div, sqrt, CheckedOps, U256};

/// LP created by a [`mint`](ConstantProductPool::mint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MintResult {
    /// LP for the depositor.
    pub liquidity: U256,
    /// LP minted to the protocol (`feeTo`) first, for fees earned since the last mint or burn.
    pub protocol_fee_liquidity: U256,
}

/// Tokens released by a [`burn`](ConstantProductPool::burn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurnResult {
    /// Token0 paid to the burner.
    pub amount0: U256,
    /// Token1 paid to the burner.
    pub amount1: U256,
    /// LP minted to the protocol (`feeTo`) before the burn.
    pub protocol_fee_liquidity: U256,
}

/// An amount of each token of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenAmounts {
    /// Token0.
    pub amount0: U256,
    /// Token1.
    pub amount1: U256,
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
