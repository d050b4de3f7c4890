//! Profit and loss, decomposed exactly.
//!
//! The owner's equity is marked at the oracle: the position's liquidity at the oracle price,
//! plus fees owed, minus debt, plus unreinvested rewards at the reward token's price, plus the
//! owner's wallet and lending supply, minus gas paid. Between two snapshots with no action in
//! between, the change is split into steps, each a difference of the same rounded valuations,
//! so the parts add up to the change to the last unit (1e-18 of the numeraire):
//!
//! 1. **price exposure**: what the owner holds revalued at the new prices, counting the
//!    liquidity as the tokens it was deposited with (its *deposit*), plus fees owed and the
//!    wallet, minus debt;
//! 2. **impermanent loss**, against holding the deposit: the rest of the liquidity's change at
//!    fixed liquidity. Summed over the life of a deposit it is the liquidity's value less the
//!    value of the tokens deposited, both at today's price: the closed form `2√R/(1+R) − 1`
//!    of the deposit's value for a constant-product pool whose price moved by `R` since, the
//!    same figure `levfarm quote` shows. It is never below zero in sum (up to rounding), but a
//!    step back towards the deposit's price gives some back.
//!
//!    The deposit follows the actions: liquidity added (an open, a compounding) adds the
//!    tokens it took at that moment's price; liquidity removed removes its share; a new range
//!    starts a new deposit. Fees that grow a constant-product position's liquidity are not a
//!    deposit: they are counted under trading fees at what they are worth, their later moves
//!    included, so that the impermanent loss is the closed form's on what was deposited.
//!
//!    **Loss-versus-rebalancing** is kept beside the parts, as a memo that is not one of
//!    them: the same liquidity's tokens at the new price against those at the old, both
//!    valued at the new price, summed bar by bar. It is what the position loses to
//!    arbitrageurs against a portfolio that rebalances to the pool's holdings every bar.
//! 3. **trading fees**: the liquidity's and the fees owed's growth, at the new price, and the
//!    move of the liquidity that fees grew before (fees count at what they are worth today);
//! 4. **interest**: the debt's growth, at the new price;
//! 5. **rewards**: the rewards' growth and revaluation; **lending income**: the supply's growth.
//!
//! Actions (open, compound, protection, liquidation) are valued before and after at the same
//! prices; the difference is their cost, by kind.

use alloy_primitives::U256;
use levfarm_core::market::PositionInventory;
use levfarm_core::position::range::oracle_sqrt_price;
use levfarm_core::position::valuation::Quote;
use serde::Serialize;

use crate::SimError;

/// What the owner's equity is made of at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Oracle quotes of the asset, the stable token and the reward token.
    pub quotes: [Quote; 3],
    pub position: Option<PositionInventory>,
    /// The owner's wallet: asset, stable, reward.
    pub wallet: [U256; 3],
    /// The owner's lending supply in the stable token.
    pub supplied: U256,
    /// Gas paid so far, 1e18 numeraire.
    pub gas: U256,
}

/// The parts of the profit and loss, 1e18 numeraire, signed: gains positive, costs negative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Pnl {
    pub trading_fees: i128,
    pub farm_rewards: i128,
    pub interest: i128,
    pub lending_income: i128,
    pub impermanent_loss: i128,
    pub price_exposure: i128,
    pub trading_costs: i128,
    pub protection_costs: i128,
    pub liquidation_costs: i128,
    /// A memo, not one of the parts: the bar-by-bar loss of the liquidity against holding
    /// what it held at the previous bar (loss-versus-rebalancing).
    #[serde(default)]
    pub loss_versus_rebalancing: i128,
    /// The current liquidity's deposit: what impermanent loss is measured against.
    #[serde(default)]
    pub deposit: Option<Deposit>,
}

/// What a position's liquidity in `range` is made of: `deposited` of it came with the tokens
/// `held` (an open, a compounding: actions), the rest grew from fees; `total` is the whole
/// at the end of the last step, which tells an action's change from a step's fee growth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Deposit {
    pub deposited: U256,
    pub total: U256,
    pub range: Option<levfarm_core::position::TickRange>,
    pub held: [U256; 2],
}

/// Which bucket an action's cost goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostKind {
    Trading,
    Protection,
    Liquidation,
}

impl Pnl {
    /// Several decompositions added part by part (and the memo with them; no deposit).
    pub fn sum<'a>(pnls: impl IntoIterator<Item = &'a Pnl>) -> Pnl {
        let mut total = Pnl::default();
        for p in pnls {
            total.trading_fees += p.trading_fees;
            total.farm_rewards += p.farm_rewards;
            total.interest += p.interest;
            total.lending_income += p.lending_income;
            total.impermanent_loss += p.impermanent_loss;
            total.price_exposure += p.price_exposure;
            total.trading_costs += p.trading_costs;
            total.protection_costs += p.protection_costs;
            total.liquidation_costs += p.liquidation_costs;
            total.loss_versus_rebalancing += p.loss_versus_rebalancing;
        }
        total
    }

    /// The sum of the parts.
    pub fn total(&self) -> i128 {
        self.parts().iter().map(|(_, v)| v).sum()
    }

    /// The parts with their names, in the order reports show them.
    pub fn parts(&self) -> [(&'static str, i128); 9] {
        [
            ("trading fees", self.trading_fees),
            ("farm rewards", self.farm_rewards),
            ("interest paid", self.interest),
            ("lending income", self.lending_income),
            ("impermanent loss", self.impermanent_loss),
            ("price exposure", self.price_exposure),
            ("trading costs", self.trading_costs),
            ("protection costs", self.protection_costs),
            ("liquidation costs", self.liquidation_costs),
        ]
    }

    /// Adds the change from `a` to `b`, a stretch with no action in it.
    pub fn step(&mut self, a: &Snapshot, b: &Snapshot) -> Result<(), SimError> {
        let (q, q1) = (&a.quotes, &b.quotes);
        let pair = |q: &[Quote; 3]| [q[0], q[1]];
        match (&a.position, &b.position) {
            (Some(pa), Some(pb)) => {
                let old_at_old = pa.lp_amounts(sqrt_price(q)?)?;
                let old_at_new = pa.lp_amounts(sqrt_price(q1)?)?;
                let new_at_new = pb.lp_amounts(sqrt_price(q1)?)?;
                let deposit = self.deposit_of(pa, old_at_old);
                let v = |amounts: [U256; 2], quotes: &[Quote; 3]| value2(amounts, pair(quotes));
                // The deposited liquidity's tokens at both prices; the fee-grown rest is what
                // remains of the liquidity's (so that the two add up to the unit).
                let part = |a: [U256; 2]| a.map(|x| scale(x, deposit.deposited, pa.liquidity));
                let (dep_old, dep_new) = (part(old_at_old), part(old_at_new));
                let held_move = v(deposit.held, q1)? - v(deposit.held, q)?;
                let deposit_move = v(dep_new, q1)? - v(dep_old, q)?;
                let whole_move = v(old_at_new, q1)? - v(old_at_old, q)?;
                self.price_exposure += held_move + v(pa.owed, q1)?
                    - v(pa.owed, q)?
                    - (v(pa.debt, q1)? - v(pa.debt, q)?);
                self.impermanent_loss += deposit_move - held_move;
                self.loss_versus_rebalancing += v(old_at_new, q1)? - v(old_at_old, q1)?;
                // Fees: what the step grew, and the move of what fees grew before, valued as
                // the liquidity they are (fees are counted at what they are worth today).
                self.trading_fees += whole_move - deposit_move + v(new_at_new, q1)?
                    - v(old_at_new, q1)?
                    + v(pb.owed, q1)?
                    - v(pa.owed, q1)?;
                self.deposit = Some(Deposit { total: pb.liquidity, ..deposit });
                self.interest -= v(pb.debt, q1)? - v(pa.debt, q1)?;
                let (ra, rb) = (rewards(pa), rewards(pb));
                self.farm_rewards += value(rb, q1[2])? - value(ra, q[2])?;
            }
            (None, None) => self.deposit = None,
            _ => {
                return Err(SimError::Internal(
                    "a position opened or closed outside an action".into(),
                ))
            }
        }
        let wallet = |w: &[U256; 3], quotes: &[Quote; 3]| -> Result<i128, SimError> {
            Ok(value(w[0], quotes[0])? + value(w[1], quotes[1])? + value(w[2], quotes[2])?)
        };
        self.price_exposure += wallet(&b.wallet, q1)? - wallet(&a.wallet, q)?;
        self.price_exposure += value(a.supplied, q1[1])? - value(a.supplied, q[1])?;
        self.lending_income += value(b.supplied, q1[1])? - value(a.supplied, q1[1])?;
        self.price_exposure -= to_i128(b.gas)? - to_i128(a.gas)?;
        Ok(())
    }

    /// The deposit behind `p`'s liquidity, brought up to date with what an action changed
    /// since the last step: liquidity added joins the deposit with the tokens it took
    /// (its share of `now`, the liquidity's tokens at the step's first price); liquidity
    /// removed takes its share of the deposit and of the fee-grown rest; a new range is a new
    /// deposit.
    fn deposit_of(&self, p: &PositionInventory, now: [U256; 2]) -> Deposit {
        let d = match self.deposit {
            Some(d) if d.range == p.range && d.total == p.liquidity => d,
            Some(d) if d.range == p.range && !d.total.is_zero() && p.liquidity < d.total => {
                let share = |x: U256| scale(x, p.liquidity, d.total);
                Deposit { deposited: share(d.deposited), held: d.held.map(share), ..d }
            }
            Some(d) if d.range == p.range && p.liquidity > d.total => {
                let gained = p.liquidity - d.total;
                Deposit {
                    deposited: d.deposited + gained,
                    held: [
                        d.held[0] + scale(now[0], gained, p.liquidity),
                        d.held[1] + scale(now[1], gained, p.liquidity),
                    ],
                    ..d
                }
            }
            _ => Deposit { deposited: p.liquidity, total: p.liquidity, range: p.range, held: now },
        };
        Deposit { total: p.liquidity, ..d }
    }

    /// Books an action's cost: equity before less equity after, at the same prices.
    pub fn action(&mut self, kind: CostKind, before: i128, after: i128) -> i128 {
        let change = after - before;
        match kind {
            CostKind::Trading => self.trading_costs += change,
            CostKind::Protection => self.protection_costs += change,
            CostKind::Liquidation => self.liquidation_costs += change,
        }
        change
    }
}

/// `amount · part / whole`, rounded down (`whole` is not zero).
fn scale(amount: U256, part: U256, whole: U256) -> U256 {
    levfarm_core::math::mul_div(amount, part, whole).unwrap_or(amount)
}

fn rewards(p: &PositionInventory) -> U256 {
    p.rewards.as_ref().map_or(U256::ZERO, |(_, r)| *r)
}

fn sqrt_price(q: &[Quote; 3]) -> Result<U256, SimError> {
    Ok(oracle_sqrt_price([q[0], q[1]])?)
}

/// A raw amount's value, rounded down, as a signed 1e18 figure.
pub fn value(amount: U256, quote: Quote) -> Result<i128, SimError> {
    to_i128(quote.value(amount)?)
}

pub(crate) fn value2(amounts: [U256; 2], quotes: [Quote; 2]) -> Result<i128, SimError> {
    Ok(value(amounts[0], quotes[0])? + value(amounts[1], quotes[1])?)
}

fn to_i128(v: U256) -> Result<i128, SimError> {
    i128::try_from(v).map_err(|_| SimError::Internal(format!("value {v} above 1.7e20 numeraire")))
}

impl Snapshot {
    /// The owner's equity: the sum every step of [`Pnl::step`] differences.
    pub fn equity(&self) -> Result<i128, SimError> {
        let q = &self.quotes;
        let mut total = value(self.wallet[0], q[0])?
            + value(self.wallet[1], q[1])?
            + value(self.wallet[2], q[2])?
            + value(self.supplied, q[1])?
            - to_i128(self.gas)?;
        if let Some(equity) = self.position_equity()? {
            total += equity;
        }
        Ok(total)
    }

    /// The position's own equity (without wallet, supply or gas), when one is open.
    pub fn position_equity(&self) -> Result<Option<i128>, SimError> {
        let Some(p) = &self.position else { return Ok(None) };
        // The engine's definition, the one its equity-based orders use.
        let equity = p.equity(Some((self.quotes[2], rewards(p))))?;
        i128::try_from(equity)
            .map(Some)
            .map_err(|_| SimError::Internal(format!("position equity {equity} beyond 1.7e20")))
    }
}
