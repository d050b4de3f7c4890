//! Zaps: the swap that balances a deposit before it is added as liquidity, in closed form.
//!
//! Selling `s` of a deposit `a` (reserve `r`) leaves the rest in the pool's new ratio when
//! `n·s^2 + (d+n)·r·s - d·r·a = 0` (fee kept `n/d`). The strategies solve it in integers:
//!
//! | formula | contracts |
//! |---|---|
//! | [`optimal_one_sided_swap`] | Alpaca `StrategyAddBaseTokenOnly`, Alpha Homora `StrategyAddETHOnly` |
//! | [`optimal_deposit`] | Alpha Homora `StrategyAddTwoSidesOptimal.optimalDeposit`, Alpaca `AddTwoSidesOptimal` |
//!
//! Both use the fee's own scale, so 997/1000 reproduces the constants 3988000, 3988009, 1997,
//! 1994 and 9975/10000 reproduces 399000000, 399000625, 19975, 19950.

use serde::{Deserialize, Serialize};

use super::{AmmError, ConstantProductPool, RouterTokenA, SwapFee, TokenAmounts};
use crate::math::{mul_div, sqrt, CheckedOps, U256};

/// How much of a one-sided deposit to sell first:
/// `(sqrt(r * (a*4nd + r*(d+n)^2)) - r*(d+n)) / 2n`, each division rounded down, products
/// checked as the contracts' `SafeMath` does.
pub fn optimal_one_sided_swap(
    amount_in: U256,
    reserve_in: U256,
    fee: SwapFee,
) -> Result<U256, AmmError> {
    let op = "optimal_one_sided_swap";
    let (n, d) = (fee.kept(), fee.scale());
    let sum = d + n; // both below 2^32
    let linear = amount_in.mul_or(U256::from(4) * n * d, op)?;
    let quadratic = reserve_in.mul_or(sum * sum, op)?;
    let root = sqrt(reserve_in.mul_or(linear.add_or(quadratic, op)?, op)?);
    Ok(root.sub_or(reserve_in.mul_or(sum, op)?, op)? / (U256::from(2) * n))
}

/// The swap that balances a two-sided deposit (Alpha Homora `optimalDeposit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptimalDeposit {
    /// Amount to sell: of A when `!is_reversed`, of B when `is_reversed`.
    #[serde(with = "crate::types::dec")]
    pub swap_amount: U256,
    /// Whether B is sold for A (the deposit holds too much B for the pool's ratio).
    pub is_reversed: bool,
}

/// Alpha Homora's `optimalDeposit` with the fee `n/d`: sell A when
/// `amt_a * res_b >= amt_b * res_a`, else B (`is_reversed`).
pub fn optimal_deposit(
    amount_a: U256,
    amount_b: U256,
    reserve_a: U256,
    reserve_b: U256,
    fee: SwapFee,
) -> Result<OptimalDeposit, AmmError> {
    let op = "optimal_deposit";
    if amount_a.mul_or(reserve_b, op)? >= amount_b.mul_or(reserve_a, op)? {
        let swap_amount = optimal_deposit_a(amount_a, amount_b, reserve_a, reserve_b, fee)?;
        Ok(OptimalDeposit { swap_amount, is_reversed: false })
    } else {
        let swap_amount = optimal_deposit_a(amount_b, amount_a, reserve_b, reserve_a, fee)?;
        Ok(OptimalDeposit { swap_amount, is_reversed: true })
    }
}

/// `_optimalDepositA`, integer operations in the contract's order:
/// `a = n; b = (d+n)*resA; c = ((amtA*resB - amtB*resA) * d / (amtB + resB)) * resA;`
/// `(sqrt(b*b + a*c*4) - b) / 2a`, divisions rounded down.
fn optimal_deposit_a(
    amount_a: U256,
    amount_b: U256,
    reserve_a: U256,
    reserve_b: U256,
    fee: SwapFee,
) -> Result<U256, AmmError> {
    let op = "optimal_deposit";
    let a = fee.kept();
    let b = (fee.scale() + a).mul_or(reserve_a, op)?;
    let excess = amount_a.mul_or(reserve_b, op)?.sub_or(amount_b.mul_or(reserve_a, op)?, op)?;
    // `_c.mul(1000).div(amtB.add(resB))`: the same floor, over a 512-bit product.
    let c = mul_div(excess, fee.scale(), amount_b.add_or(reserve_b, op)?)?.mul_or(reserve_a, op)?;
    let root = sqrt(b.mul_or(b, op)?.add_or(a.mul_or(c, op)?.mul_or(U256::from(4), op)?, op)?);
    Ok(root.sub_or(b, op)? / (U256::from(2) * a))
}

/// Everything a [`zap_in`](ConstantProductPool::zap_in) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZapResult {
    /// Direction of the balancing swap (meaningless when `swap_amount_in` is zero).
    pub swap_zero_for_one: bool,
    /// Sold in the balancing swap; zero when none was needed.
    #[serde(with = "crate::types::dec")]
    pub swap_amount_in: U256,
    /// Bought in the balancing swap.
    #[serde(with = "crate::types::dec")]
    pub swap_amount_out: U256,
    /// Token0 deposited as liquidity.
    #[serde(with = "crate::types::dec")]
    pub amount0_added: U256,
    /// Token1 deposited as liquidity.
    #[serde(with = "crate::types::dec")]
    pub amount1_added: U256,
    /// LP minted to the zapper.
    #[serde(with = "crate::types::dec")]
    pub liquidity: U256,
    /// LP minted to the protocol (`feeTo`) on the way.
    #[serde(with = "crate::types::dec")]
    pub protocol_fee_liquidity: U256,
    /// Token0 left with the zapper (rounding dust).
    #[serde(with = "crate::types::dec")]
    pub leftover0: U256,
    /// Token1 left with the zapper (rounding dust).
    #[serde(with = "crate::types::dec")]
    pub leftover1: U256,
}

impl ConstantProductPool {
    /// The optimal swap for depositing `amount0`/`amount1`: the one-sided formula when one is
    /// zero, [`optimal_deposit`] with token0 as A otherwise. `is_reversed` means token1 is sold.
    pub fn zap_swap(&self, amount0: U256, amount1: U256) -> Result<OptimalDeposit, AmmError> {
        if amount1.is_zero() {
            let swap_amount = optimal_one_sided_swap(amount0, self.reserve0, self.fee)?;
            Ok(OptimalDeposit { swap_amount, is_reversed: false })
        } else if amount0.is_zero() {
            let swap_amount = optimal_one_sided_swap(amount1, self.reserve1, self.fee)?;
            Ok(OptimalDeposit { swap_amount, is_reversed: true })
        } else {
            optimal_deposit(amount0, amount1, self.reserve0, self.reserve1, self.fee)
        }
    }

    /// Zap `amount0` and `amount1` into LP: the [`zap_swap`](Self::zap_swap) through
    /// [`swap_exact_in`](Self::swap_exact_in) (skipped when zero), then
    /// [`add_liquidity`](Self::add_liquidity) of everything held, no minimums, token0 as the
    /// router's `tokenA`. All or nothing.
    pub fn zap_in(&mut self, amount0: U256, amount1: U256) -> Result<ZapResult, AmmError> {
        self.zap_in_with(RouterTokenA::Token0, TokenAmounts { amount0, amount1 })
    }

    /// [`zap_in`](Self::zap_in) with either token as the router's `tokenA`: Alpaca's strategies
    /// name the base token first, Alpha Homora's `StrategyAddETHOnly` the farming token.
    pub fn zap_in_with(
        &mut self,
        token_a: RouterTokenA,
        amounts: TokenAmounts,
    ) -> Result<ZapResult, AmmError> {
        let plan = self.zap_swap(amounts.amount0, amounts.amount1)?;
        let mut pool = self.clone();
        let swapped = pool.balancing_swap(plan, amounts)?;
        let held = swapped.held;
        let added = pool.add_liquidity_with(token_a, held, TokenAmounts::ZERO)?;
        let leftover0 = held.amount0.sub_or(added.amount0, "zap_in")?;
        let leftover1 = held.amount1.sub_or(added.amount1, "zap_in")?;
        *self = pool;
        Ok(ZapResult {
            swap_zero_for_one: !plan.is_reversed,
            swap_amount_in: plan.swap_amount,
            swap_amount_out: swapped.amount_out,
            amount0_added: added.amount0,
            amount1_added: added.amount1,
            liquidity: added.liquidity,
            protocol_fee_liquidity: added.protocol_fee_liquidity,
            leftover0,
            leftover1,
        })
    }

    /// Performs `plan` (if any) on `held`, returning what is held afterwards.
    fn balancing_swap(
        &mut self,
        plan: OptimalDeposit,
        held: TokenAmounts,
    ) -> Result<BalancingSwap, AmmError> {
        if plan.swap_amount.is_zero() {
            return Ok(BalancingSwap { amount_out: U256::ZERO, held });
        }
        let zero_for_one = !plan.is_reversed;
        let amount_out = self.swap_exact_in(zero_for_one, plan.swap_amount)?;
        let (sold, bought) =
            if zero_for_one { (held.amount0, held.amount1) } else { (held.amount1, held.amount0) };
        let sold = sold.sub_or(plan.swap_amount, "zap_in")?;
        let bought = bought.add_or(amount_out, "zap_in")?;
        let held = if zero_for_one {
            TokenAmounts { amount0: sold, amount1: bought }
        } else {
            TokenAmounts { amount0: bought, amount1: sold }
        };
        Ok(BalancingSwap { amount_out, held })
    }
}

struct BalancingSwap {
    amount_out: U256,
    held: TokenAmounts,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::u;

    #[test]
    fn one_sided_uses_the_fee_scale_constants() {
        // Alpha Homora's first AddETHOnly call, 0.1 ETH into 1 ETH:
        // sqrt(1e18 * (1e17*3988000 + 1e18*3988009)) = 2094471054944421999901,
        // minus 1e18*1997 = 97471054944421999901, / 1994 = 48882173994193580.
        let e17 = u(100_000_000_000_000_000);
        let swap = optimal_one_sided_swap(e17, e17 * u(10), SwapFee::UNISWAP_V2).unwrap();
        assert_eq!(swap, u(48_882_173_994_193_580));
        // Scaling n and d by 10 scales the root's argument by 100: floor(sqrt(100X)) / 20n
        // floors to the same integer as floor(sqrt(X)) / 2n, so the one-sided result does not
        // depend on the scale.
        let fine = SwapFee::new(9970, 10_000).unwrap();
        assert_eq!(optimal_one_sided_swap(e17, e17 * u(10), fine).unwrap(), swap);
        assert_eq!(optimal_one_sided_swap(u(5), u(0), SwapFee::UNISWAP_V2).unwrap(), u(0));
    }

    #[test]
    fn two_sided_reduces_to_one_sided_and_mirrors() {
        // 100 A, 0 B into 1000/1000: b = 1997*1000, c = (100*1000 - 0)*1000/1000 * 1000 = 1e8;
        // sqrt(1997000^2 + 4*997*1e8) = sqrt(4386809000000) = 2094471; (2094471 - 1997000)/1994
        // = 48.9 -> 48, the one-sided formula's sqrt(1000*(100*3988000 + 1000*3988009)) too.
        let fee = SwapFee::UNISWAP_V2;
        let forward = optimal_deposit(u(100), u(0), u(1000), u(1000), fee).unwrap();
        assert_eq!(forward, OptimalDeposit { swap_amount: u(48), is_reversed: false });
        assert_eq!(optimal_one_sided_swap(u(100), u(1000), fee).unwrap(), u(48));
        let reversed = optimal_deposit(u(0), u(100), u(1000), u(1000), fee).unwrap();
        assert_eq!(reversed, OptimalDeposit { swap_amount: u(48), is_reversed: true });
        // The two-sided `c` is floored before the root, so there the scale matters:
        // 162 A + 2 B into 1000/1000: _c = 160000; c = 160000*1000/1002 = 159680.6 -> 159680
        // (x1000), sqrt(1997000^2 + 4*997*159680000) = 2150537, (2150537 - 1997000)/1994 = 76.99
        // -> 76; on 9970/10000, c = 1596806 (x1000) and the swap is 77.
        let coarse = optimal_deposit(u(162), u(2), u(1000), u(1000), fee).unwrap();
        let fine = SwapFee::new(9970, 10_000).unwrap();
        let finer = optimal_deposit(u(162), u(2), u(1000), u(1000), fine).unwrap();
        assert_eq!((coarse.swap_amount, finer.swap_amount), (u(76), u(77)));
        // Already in the pool's ratio: nothing to swap.
        let balanced = optimal_deposit(u(10), u(20), u(1000), u(2000), fee).unwrap();
        assert_eq!(balanced.swap_amount, u(0));
    }

    #[test]
    fn zap_in_swaps_then_adds_everything_it_can() {
        let mut pool = ConstantProductPool::new(SwapFee::UNISWAP_V2, None);
        pool.mint(u(1_000_000), u(1_000_000)).unwrap();
        let zap = pool.zap_in(u(100_000), u(0)).unwrap();
        // Sell s = 48_815 token0 (formula), get 48_815*997*1e6 / (1e9 + 48_815*997) = 46_421.
        assert!(zap.swap_zero_for_one);
        assert_eq!(
            zap.swap_amount_in,
            optimal_one_sided_swap(u(100_000), u(1_000_000), pool.fee).unwrap()
        );
        assert_eq!(zap.amount0_added + zap.leftover0 + zap.swap_amount_in, u(100_000));
        assert_eq!(zap.amount1_added + zap.leftover1, zap.swap_amount_out);
        // The dust is a rounding error, not a share of the deposit.
        assert!(zap.leftover0 <= u(2) && zap.leftover1 <= u(2), "{zap:?}");
    }

    #[test]
    fn a_failed_zap_changes_nothing() {
        let mut pool = ConstantProductPool::new(SwapFee::UNISWAP_V2, None);
        pool.mint(u(1_000_000), u(1_000_000)).unwrap();
        let before = pool.clone();
        // 1 wei one-sided: swap 0, then add 1/0: quote(1) = 1 > 0, quote(0) reverts.
        assert!(pool.zap_in(u(1), u(0)).is_err());
        assert_eq!(pool, before);
    }
}
