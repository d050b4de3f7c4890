//! What a position is worth, what it owes, and how it would be unwound.
//!
//! Values are in the numeraire of the oracle prices (1e18 per whole token, e.g. USD), computed
//! exactly and rounded down; debts are rounded up. Two valuations stand side by side:
//!
//! - **oracle**: the fair LP price `2·sqrt(v(r0)·v(r1))·lp/supply` (Alpha Homora's
//!   `UniswapV2Oracle`), which a flash loan cannot move;
//! - **exit**: remove the LP and convert as the liquidation would ([`ExitPlan`]), valued at the
//!   oracle; for single-token debt this is Alpaca's `health` times the debt token's price.

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use crate::amm::{get_amount_in, get_amount_out, ConstantProductPool, SwapFee};
use crate::math::{mul_div, mul_div_rounding_up, sqrt_product, CheckedOps};
use crate::position::Valuation;
use crate::Error;

/// A token's oracle price and decimals: enough to value raw amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Numeraire per whole token, 1e18 scale.
    pub price_wad: U256,
    /// `10^decimals`.
    pub unit: U256,
}

impl Quote {
    /// `amount · price / 10^decimals`, rounded down.
    pub fn value(&self, amount: U256) -> Result<U256, Error> {
        Ok(mul_div(amount, self.price_wad, self.unit)?)
    }

    /// `amount · price / 10^decimals`, rounded up (for debts).
    pub fn value_up(&self, amount: U256) -> Result<U256, Error> {
        Ok(mul_div_rounding_up(amount, self.price_wad, self.unit)?)
    }
}

/// How a close or a liquidation turns the LP's two tokens into the debt tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitMode {
    /// Sell everything that is not owed into the debt token (Alpaca `StrategyLiquidate`); with
    /// debt in both tokens, cover each shortfall from the other token's surplus.
    #[default]
    ConvertToDebt,
    /// Swap only the shortfall and hand back the rest in both tokens (Alpaca
    /// `StrategyWithdrawMinimizeTrading`, Homora `removeLiquidity`).
    MinimizeTrading,
}

/// One swap of an exit: `amount_in` of one token for `amount_out` of the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedSwap {
    pub zero_for_one: bool,
    pub amount_in: U256,
    pub amount_out: U256,
}

impl PlannedSwap {
    /// `holdings` after this swap: the input paid, the output received.
    pub fn apply(&self, holdings: [U256; 2]) -> Result<[U256; 2], Error> {
        let (i, o) = if self.zero_for_one { (0, 1) } else { (1, 0) };
        let mut after = holdings;
        after[i] = after[i]
            .checked_sub(self.amount_in)
            .ok_or_else(|| Error::invalid("a planned swap pays more than is held"))?;
        after[o] = after[o].add_or(self.amount_out, "swap")?;
        Ok(after)
    }
}

/// The tokens an exit ends with, after removing the LP and at most one swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitPlan {
    /// What burning the LP returns.
    pub removed: [U256; 2],
    pub swap: Option<PlannedSwap>,
    /// Holdings after the swap.
    pub holdings: [U256; 2],
}

impl ExitPlan {
    /// Plans an exit of `lp` against `debt` on `pool` without touching it.
    pub fn new(
        pool: &ConstantProductPool,
        lp: U256,
        debt: [U256; 2],
        mode: ExitMode,
    ) -> Result<Self, Error> {
        let removed = underlying(pool, lp)?;
        let reserves = [pool.reserve0 - removed[0], pool.reserve1 - removed[1]];
        let swap = plan_swap(reserves, removed, debt, mode, pool.fee)?;
        let holdings = match swap {
            Some(s) => s.apply(removed)?,
            None => removed,
        };
        Ok(Self { removed, swap, holdings })
    }
}

/// The pool's tokens behind `lp`, pro-rata and rounded down (what `burn` returns).
pub fn underlying(pool: &ConstantProductPool, lp: U256) -> Result<[U256; 2], Error> {
    if pool.total_supply.is_zero() {
        return Ok([U256::ZERO; 2]);
    }
    Ok([
        mul_div(lp, pool.reserve0, pool.total_supply)?,
        mul_div(lp, pool.reserve1, pool.total_supply)?,
    ])
}

pub(crate) fn plan_swap(
    reserves: [U256; 2],
    have: [U256; 2],
    debt: [U256; 2],
    mode: ExitMode,
    fee: SwapFee,
) -> Result<Option<PlannedSwap>, Error> {
    let single_debt = debt[0].is_zero() != debt[1].is_zero();
    if mode == ExitMode::ConvertToDebt && single_debt {
        // Sell all of the token that is not owed.
        let zero_for_one = debt[1] > U256::ZERO;
        return sell(reserves, have, zero_for_one, None, fee);
    }
    for (short, long) in [(0usize, 1usize), (1, 0)] {
        if have[short] < debt[short] && have[long] > debt[long] {
            let shortfall = debt[short] - have[short];
            let surplus = have[long] - debt[long];
            return sell(reserves, have, long == 0, Some((shortfall, surplus)), fee);
        }
    }
    Ok(None)
}

/// Sells the `zero_for_one` input: everything, or just enough for `(wanted, at_most_in)`.
fn sell(
    reserves: [U256; 2],
    have: [U256; 2],
    zero_for_one: bool,
    exact: Option<(U256, U256)>,
    fee: SwapFee,
) -> Result<Option<PlannedSwap>, Error> {
    let (i, o) = if zero_for_one { (0, 1) } else { (1, 0) };
    let (r_in, r_out) = (reserves[i], reserves[o]);
    if r_in.is_zero() || r_out.is_zero() {
        return Ok(None);
    }
    if let Some((wanted, at_most_in)) = exact {
        if wanted < r_out {
            let needed = get_amount_in(wanted, r_in, r_out, fee)?;
            if needed <= at_most_in {
                return Ok(Some(PlannedSwap {
                    zero_for_one,
                    amount_in: needed,
                    amount_out: wanted,
                }));
            }
        }
        return sell_all(r_in, r_out, at_most_in, zero_for_one, fee);
    }
    sell_all(r_in, r_out, have[i], zero_for_one, fee)
}

fn sell_all(
    r_in: U256,
    r_out: U256,
    amount_in: U256,
    zero_for_one: bool,
    fee: SwapFee,
) -> Result<Option<PlannedSwap>, Error> {
    if amount_in.is_zero() {
        return Ok(None);
    }
    let amount_out = get_amount_out(amount_in, r_in, r_out, fee)?;
    if amount_out.is_zero() {
        return Ok(None);
    }
    Ok(Some(PlannedSwap { zero_for_one, amount_in, amount_out }))
}

/// The fair value of `lp`: `2·sqrt(v(r0)·v(r1))·lp/supply`, rounded down.
pub fn fair_lp_value(
    pool: &ConstantProductPool,
    lp: U256,
    quotes: [Quote; 2],
) -> Result<U256, Error> {
    if pool.total_supply.is_zero() {
        return Ok(U256::ZERO);
    }
    let v0 = quotes[0].value(pool.reserve0)?;
    let v1 = quotes[1].value(pool.reserve1)?;
    let root = sqrt_product(v0, v1);
    Ok(mul_div(root.mul_or(U256::from(2), "fair LP value")?, lp, pool.total_supply)?)
}

/// A position's values, debts and ratios at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionHealth {
    /// Fair (oracle) value of the LP, numeraire 1e18.
    #[serde(with = "crate::types::dec")]
    pub value_oracle: U256,
    /// Value if unwound now, after price impact and fees, numeraire 1e18.
    #[serde(with = "crate::types::dec")]
    pub value_exit: U256,
    /// Debt in raw units of each token, rounded up.
    #[serde(with = "dec_pair")]
    pub debt: [U256; 2],
    /// Debt value, numeraire 1e18, rounded up.
    #[serde(with = "crate::types::dec")]
    pub debt_value: U256,
    /// The value the work and kill checks use (oracle or exit, per pool).
    #[serde(with = "crate::types::dec")]
    pub value: U256,
    /// `debt_value / value` in bps, rounded up; `u64::MAX` when the value is zero and there is debt.
    pub debt_ratio_bps: u64,
    /// `value / (value − debt)` in bps of 1x; `u64::MAX` when the equity is gone.
    pub leverage_bps: u64,
}

impl PositionHealth {
    pub fn new(
        value_oracle: U256,
        value_exit: U256,
        value: U256,
        debt: [U256; 2],
        debt_value: U256,
    ) -> Result<Self, Error> {
        Ok(Self {
            value_oracle,
            value_exit,
            debt,
            debt_value,
            value,
            debt_ratio_bps: ratio_bps_up(debt_value, value)?,
            leverage_bps: leverage_bps(value, debt_value)?,
        })
    }

    /// The health of a position worth `value_oracle` and `value_exit` that owes `debt`, its
    /// checks run on the pool's `valuation`.
    pub fn valued(
        value_oracle: U256,
        value_exit: U256,
        debt: [U256; 2],
        quotes: [Quote; 2],
        valuation: Valuation,
    ) -> Result<Self, Error> {
        let debt_value =
            quotes[0].value_up(debt[0])?.add_or(quotes[1].value_up(debt[1])?, "debt value")?;
        let value = match valuation {
            Valuation::Exit => value_exit,
            Valuation::Oracle => value_oracle,
        };
        Self::new(value_oracle, value_exit, value, debt, debt_value)
    }

    /// Equity by the check's valuation, zero when underwater.
    pub fn equity(&self) -> U256 {
        self.value.saturating_sub(self.debt_value)
    }

    /// `value · factor ≥ debt · 1e4`: within the given factor.
    pub fn within(&self, factor_bps: u32) -> Result<bool, Error> {
        let lhs = self.value.mul_or(U256::from(factor_bps), "health")?;
        Ok(lhs >= self.debt_value.mul_or(U256::from(10_000u32), "health")?)
    }
}

/// `num / den` in bps rounded up; `u64::MAX` for a zero denominator with a non-zero numerator.
pub fn ratio_bps_up(num: U256, den: U256) -> Result<u64, Error> {
    if num.is_zero() {
        return Ok(0);
    }
    if den.is_zero() {
        return Ok(u64::MAX);
    }
    let bps = mul_div_rounding_up(num, U256::from(10_000u32), den)?;
    Ok(u64::try_from(bps).unwrap_or(u64::MAX))
}

fn leverage_bps(value: U256, debt: U256) -> Result<u64, Error> {
    if value <= debt {
        return Ok(u64::MAX);
    }
    let bps = mul_div(value, U256::from(10_000u32), value - debt)?;
    Ok(u64::try_from(bps).unwrap_or(u64::MAX))
}

/// The numeraire value of holdings at oracle quotes.
pub fn holdings_value(holdings: [U256; 2], quotes: [Quote; 2]) -> Result<U256, Error> {
    Ok(quotes[0].value(holdings[0])?.add_or(quotes[1].value(holdings[1])?, "value")?)
}

/// Values a position's `lp` and `debt` on `pool` at `quotes`, with `valuation` for the checks.
pub fn assess(
    pool: &ConstantProductPool,
    lp: U256,
    debt: [U256; 2],
    quotes: [Quote; 2],
    valuation: Valuation,
) -> Result<PositionHealth, Error> {
    let value_oracle = fair_lp_value(pool, lp, quotes)?;
    let plan = ExitPlan::new(pool, lp, debt, ExitMode::ConvertToDebt)?;
    let value_exit = holdings_value(plan.holdings, quotes)?;
    PositionHealth::valued(value_oracle, value_exit, debt, quotes, valuation)
}

mod dec_pair {
    use alloy_primitives::U256;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::types::Amount;

    pub fn serialize<S: Serializer>(v: &[U256; 2], s: S) -> Result<S::Ok, S::Error> {
        [Amount(v[0]), Amount(v[1])].serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[U256; 2], D::Error> {
        let [a, b] = <[Amount; 2]>::deserialize(d)?;
        Ok([a.0, b.0])
    }
}
