//! Read-only valuations: spot prices, an LP position's underlying tokens, and Alpaca's
//! `health` (what the position would fetch in the base token if closed now).

use super::{get_amount_out, AmmError, ConstantProductPool, TokenAmounts};
use crate::math::{mul_div, CheckedOps, Wad, U256, WAD};

impl ConstantProductPool {
    /// Price of token0 in token1, `floor(reserve1 * 1e18 / reserve0)`.
    pub fn price0_wad(&self) -> Result<Wad, AmmError> {
        Ok(Wad(mul_div(self.reserve1, WAD, self.reserve0)?))
    }

    /// Price of token1 in token0, `floor(reserve0 * 1e18 / reserve1)`.
    pub fn price1_wad(&self) -> Result<Wad, AmmError> {
        Ok(Wad(mul_div(self.reserve0, WAD, self.reserve1)?))
    }

    /// The tokens `lp` is a claim on, pro rata and rounded down:
    /// `lp * reserve / total_supply`. Ignores a pending protocol fee, as Alpaca's workers do,
    /// so a [`burn`](Self::burn) with the fee on can pay slightly less.
    pub fn underlying(&self, lp: U256) -> Result<TokenAmounts, AmmError> {
        if lp > self.total_supply {
            return Err(AmmError::BurnExceedsSupply {
                liquidity: lp,
                total_supply: self.total_supply,
            });
        }
        Ok(TokenAmounts {
            amount0: mul_div(lp, self.reserve0, self.total_supply)?,
            amount1: mul_div(lp, self.reserve1, self.total_supply)?,
        })
    }

    /// Alpaca's worker `health`: the base token `lp` is worth if removed and its farm-token
    /// share sold into what remains of the pool,
    /// `userBase + getAmountOut(userFarm, rFarm - userFarm, rBase - userBase)`.
    ///
    /// `zero_is_base` says token0 is the base token. A zero farm share sells for zero, as
    /// `getMktSellAmount` returns early; selling into an emptied pool is
    /// [`AmmError::InsufficientLiquidity`], where the worker reverts "bad reserve values".
    pub fn exit_value(&self, lp: U256, zero_is_base: bool) -> Result<U256, AmmError> {
        let share = self.underlying(lp)?;
        let (user_base, user_farm) = if zero_is_base {
            (share.amount0, share.amount1)
        } else {
            (share.amount1, share.amount0)
        };
        if user_farm.is_zero() {
            return Ok(user_base);
        }
        // (reserve_in, reserve_out) selling farm for base: the farm side is reserve "in".
        let (reserve_farm, reserve_base) = self.oriented(!zero_is_base);
        // underlying() checked lp <= total_supply, so user shares are at most the reserves.
        let sold = get_amount_out(
            user_farm,
            reserve_farm - user_farm,
            reserve_base - user_base,
            self.fee,
        )?;
        Ok(user_base.add_or(sold, "exit_value")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::u;

    fn pool(reserve0: u128, reserve1: u128, total_supply: u128) -> ConstantProductPool {
        let mut pool = crate::amm::test_pool(reserve0, reserve1);
        pool.total_supply = u(total_supply);
        pool
    }

    #[test]
    fn prices_are_floored_wad_ratios() {
        // 3 token1 per 2 token0 = 1.5e18; the inverse 2/3 = 0.666...e18 rounds down.
        let pool = pool(2, 3, 1);
        assert_eq!(pool.price0_wad().unwrap(), Wad(u(1_500_000_000_000_000_000)));
        assert_eq!(pool.price1_wad().unwrap(), Wad(u(666_666_666_666_666_666)));
        assert!(self::pool(0, 3, 1).price0_wad().is_err());
    }

    #[test]
    fn underlying_is_pro_rata_rounded_down() {
        // 10 of 30 LP on 100/7: 33.3 -> 33 and 2.33 -> 2.
        let amounts = pool(100, 7, 30).underlying(u(10)).unwrap();
        assert_eq!(amounts, TokenAmounts { amount0: u(33), amount1: u(2) });
        assert!(pool(100, 7, 30).underlying(u(31)).is_err());
    }

    #[test]
    fn exit_value_sells_the_farm_share_into_the_rest_of_the_pool() {
        // Half of a 1000 base / 2000 farm pool: 500 base + 1000 farm, the farm sold into
        // 1000 farm / 500 base: 1000*997*500 / (1000*1000 + 997000) = 249.62 -> 249.
        let pool = pool(1000, 2000, 100);
        assert_eq!(pool.exit_value(u(50), true).unwrap(), u(500 + 249));
        // Token1 as base: 1000 base + 500 farm, 500*997*1000 / (500*1000 + 498500) = 499.24.
        assert_eq!(pool.exit_value(u(50), false).unwrap(), u(1000 + 499));
        // The whole pool cannot be sold into itself.
        assert!(matches!(
            pool.exit_value(u(100), true),
            Err(AmmError::InsufficientLiquidity { .. })
        ));
        // A farm share that rounds to zero is worth its base share alone:
        // 3 * 1000 / 3000 = 1 base, 3 * 2 / 3000 = 0 farm.
        assert_eq!(self::pool(1000, 2, 3000).exit_value(u(3), true).unwrap(), u(1));
    }
}
