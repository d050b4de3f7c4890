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

use super::{AmmError, ConstantProductPool, SwapFee, TokenAmounts};
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
    pub swap_amount_in: U256,
    /// Bought in the balancing swap.
    pub swap_amount_out: U256,
    /// Token0 deposited as liquidity.
    pub amount0_added: U256,
    /// Token1 deposited as liquidity.
    pub amount1_added: U256,
    /// LP minted to the zapper.
    pub liquidity: U256,
    /// LP minted to the protocol (`feeTo`) on the way.
    pub protocol_fee_liquidity: U256,
    /// Token0 left with the zapper (rounding dust).
    pub leftover0: U256,
    /// Token1 left with the zapper (rounding dust).
    pub leftover1: U256,
}

impl ConstantProductPool {
    /// The optimal swap for depositing `amount0`/`amount1`: the one-sided formula when one is
    /// zero, [`optimal_deposit`] (token0 as A) otherwise. `zero_for_one` is `true` for a
    /// zero swap.
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
    /// [`add_liquidity`](Self::add_liquidity) of everything held, no minimums. All or nothing.
    pub fn zap_in(&mut self, amount0: U256, amount1: U256) -> Result<ZapResult, AmmError> {
        let plan = self.zap_swap(amount0, amount1)?;
        let mut pool = self.clone();
        let swapped = pool.balancing_swap(plan, TokenAmounts { amount0, amount1 })?;
        let held = swapped.held;
        let added = pool.add_liquidity(held.amount0, held.amount1, U256::ZERO, U256::ZERO)?;
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
        let (sold, bought) = if zero_for_one { (held.amount0, held.amount1) } else { (held.amount1, held.amount0) };
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
