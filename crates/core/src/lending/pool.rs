use imbl::OrdMap;

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use super::LendingConfig;
use crate::math::{
    interest, mul_div, mul_div_rounding_up, percent_mul, ray_mul, Bps, CheckedOps, Ray, RAY,
};
use crate::rates::{InterestRateModel, RateInputs};
use crate::types::{Holder, Name};
use crate::Error;

/// One token's lending pool: cash, indices, scaled supply and debt shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LendingPool {
    pub token: Name,
    pub config: LendingConfig,
    /// Tokens held by the pool: supplied and not lent out.
    pub cash: U256,
    pub liquidity_index: Ray,
    pub borrow_index: Ray,
    /// Annual supply rate in force since `last_update`.
    pub liquidity_rate: Ray,
    /// Annual borrow rate in force since `last_update`.
    pub borrow_rate: Ray,
    pub last_update: u64,
    pub total_supply_scaled: U256,
    pub total_debt_scaled: U256,
    /// Debt written off because a liquidation could not repay it (Aave's deficit).
    pub bad_debt: U256,
    supply: OrdMap<Holder, U256>,
    debt: OrdMap<Holder, U256>,
    /// The interest factors of the last accrual, reused while the rates and the period repeat.
    #[serde(skip)]
    memo: FactorMemo,
}

/// The growth factors of one accrual period at given rates. A backtest accrues every step over
/// the same period, and the rates change only when an action moves the utilization, so most
/// accruals can reuse the last factors instead of recomputing them. A factor is computed only
/// when its index moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Factors {
    seconds: u64,
    liquidity_rate: Ray,
    borrow_rate: Ray,
    /// [`interest::linear_interest`] of the liquidity rate.
    linear: Option<Ray>,
    /// [`interest::compounded_interest`] of the borrow rate.
    compounded: Option<Ray>,
}

/// A cache of derived numbers, not state: two pools that differ only here are equal.
#[derive(Debug, Clone, Copy, Default)]
struct FactorMemo(Option<Factors>);

impl PartialEq for FactorMemo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for FactorMemo {}

/// What an accrual did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accrual {
    pub seconds: u64,
    /// Debt interest accrued over the period, in raw units.
    pub interest: U256,
    /// Part of it minted to the treasury, in raw units.
    pub to_treasury: U256,
}

/// An accrual computed by [`LendingPool::preview_accrual`] and not yet applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccrualPlan {
    now: u64,
    liquidity_index: Ray,
    borrow_index: Ray,
    minted: U256,
    factors: Option<Factors>,
    accrual: Accrual,
}

/// What a repayment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepayOutcome {
    pub paid: U256,
    pub remaining_debt: U256,
}

impl LendingPool {
    /// An empty pool at time `now`, indices at 1.
    pub fn new(token: Name, config: LendingConfig, now: u64) -> Result<Self, Error> {
        config.validate()?;
        let mut pool = Self {
            token,
            config,
            cash: U256::ZERO,
            liquidity_index: Ray::ONE,
            borrow_index: Ray::ONE,
            liquidity_rate: Ray::ZERO,
            borrow_rate: Ray::ZERO,
            last_update: now,
            total_supply_scaled: U256::ZERO,
            total_debt_scaled: U256::ZERO,
            bad_debt: U256::ZERO,
            supply: OrdMap::new(),
            debt: OrdMap::new(),
            memo: FactorMemo::default(),
        };
        pool.update_rates()?;
        Ok(pool)
    }

    /// The indices as accruing to `now` would leave them, without changing anything (Aave's
    /// `_updateIndexes`): the liquidity index moves only while the supply rate is above zero,
    /// and the borrow index only while there is debt, so a base rate on an unused pool does
    /// not inflate the debt of its first borrower.
    pub fn indices_at(&self, now: u64) -> Result<(Ray, Ray), Error> {
        Ok(self.advance(now)?.0)
    }

    /// The indices at `now` and the factors that took them there (`None` when no time passed).
    fn advance(&self, now: u64) -> Result<((Ray, Ray), Option<Factors>), Error> {
        let dt = now.saturating_sub(self.last_update);
        let mut indices = (self.liquidity_index, self.borrow_index);
        if dt == 0 {
            return Ok((indices, None));
        }
        let (liquidity_rate, borrow_rate) = (self.liquidity_rate, self.borrow_rate);
        let memo = self.memo.0.filter(|f| {
            (f.seconds, f.liquidity_rate, f.borrow_rate) == (dt, liquidity_rate, borrow_rate)
        });
        let mut factors =
            Factors { seconds: dt, liquidity_rate, borrow_rate, linear: None, compounded: None };
        if !liquidity_rate.0.is_zero() {
            let linear = match memo.and_then(|f| f.linear) {
                Some(linear) => linear,
                None => interest::linear_interest(liquidity_rate, dt)?,
            };
            factors.linear = Some(linear);
            indices.0 = Ray(ray_mul(linear.0, self.liquidity_index.0)?);
        }
        if !self.total_debt_scaled.is_zero() {
            let compounded = match memo.and_then(|f| f.compounded) {
                Some(compounded) => compounded,
                None => interest::compounded_interest(borrow_rate, dt)?,
            };
            factors.compounded = Some(compounded);
            indices.1 = Ray(ray_mul(compounded.0, self.borrow_index.0)?);
        }
        Ok((indices, Some(factors)))
    }

    /// What accruing to `now` would do, without doing it (Aave `_updateIndexes` and
    /// `_accrueToTreasury`): the new indices and the treasury's new shares.
    pub fn preview_accrual(&self, now: u64) -> Result<AccrualPlan, Error> {
        let seconds = now.saturating_sub(self.last_update);
        let ((liquidity_index, borrow_index), factors) = self.advance(now)?;
        let before = ray_mul(self.total_debt_scaled, self.borrow_index.0)?;
        let after = ray_mul(self.total_debt_scaled, borrow_index.0)?;
        let interest = after.saturating_sub(before);
        let to_treasury = percent_mul(interest, self.config.reserve_factor_bps)?;
        let minted = mul_div(to_treasury, RAY, liquidity_index.0)?;
        self.supply_shares(&Holder::Treasury).add_or(minted, "accrue")?;
        self.total_supply_scaled.add_or(minted, "accrue")?;
        Ok(AccrualPlan {
            now: now.max(self.last_update),
            liquidity_index,
            borrow_index,
            minted,
            factors,
            accrual: Accrual { seconds, interest, to_treasury },
        })
    }

    /// Applies a plan from [`Self::preview_accrual`] made on this same state; cannot fail.
    pub fn commit_accrual(&mut self, plan: &AccrualPlan) -> Accrual {
        if !plan.minted.is_zero() {
            *self.supply.entry(Holder::Treasury).or_default() += plan.minted;
            self.total_supply_scaled += plan.minted;
        }
        self.liquidity_index = plan.liquidity_index;
        self.borrow_index = plan.borrow_index;
        self.last_update = plan.now;
        if plan.factors.is_some() {
            self.memo = FactorMemo(plan.factors);
        }
        plan.accrual
    }

    /// Brings the indices to `now` and mints the reserve factor's share of the new interest to
    /// the treasury. On error nothing changes.
    pub fn accrue(&mut self, now: u64) -> Result<Accrual, Error> {
        let plan = self.preview_accrual(now)?;
        Ok(self.commit_accrual(&plan))
    }

    /// Total debt owed to the pool, rounded up.
    pub fn total_debt(&self) -> Result<U256, Error> {
        Ok(mul_div_rounding_up(self.total_debt_scaled, self.borrow_index.0, RAY)?)
    }

    /// `total_debt / (total_debt + cash)` in ray; zero for an empty pool.
    pub fn utilization(&self) -> Result<Ray, Error> {
        let debt = self.total_debt()?;
        let total = debt.add_or(self.cash, "utilization")?;
        if total.is_zero() {
            return Ok(Ray::ZERO);
        }
        Ok(Ray(mul_div(debt, RAY, total)?))
    }

    /// The holder's supply balance at the current index, rounded down.
    pub fn supply_balance(&self, holder: &Holder) -> Result<U256, Error> {
        let scaled = self.supply.get(holder).copied().unwrap_or_default();
        Ok(mul_div(scaled, self.liquidity_index.0, RAY)?)
    }

    /// The holder's supply balance as it will be at `now`, without accruing, rounded down.
    pub fn supply_at(&self, holder: &Holder, now: u64) -> Result<U256, Error> {
        let scaled = self.supply.get(holder).copied().unwrap_or_default();
        let (liquidity_index, _) = self.indices_at(now)?;
        Ok(mul_div(scaled, liquidity_index.0, RAY)?)
    }

    /// The holder's debt at the current index, rounded up.
    pub fn debt_of(&self, holder: &Holder) -> Result<U256, Error> {
        let scaled = self.debt.get(holder).copied().unwrap_or_default();
        Ok(mul_div_rounding_up(scaled, self.borrow_index.0, RAY)?)
    }

    /// The holder's debt as it will be at `now`, without accruing.
    pub fn debt_at(&self, holder: &Holder, now: u64) -> Result<U256, Error> {
        let scaled = self.debt.get(holder).copied().unwrap_or_default();
        let (_, borrow_index) = self.indices_at(now)?;
        Ok(mul_div_rounding_up(scaled, borrow_index.0, RAY)?)
    }

    /// The holder's scaled debt shares.
    pub fn debt_shares(&self, holder: &Holder) -> U256 {
        self.debt.get(holder).copied().unwrap_or_default()
    }

    /// The holder's scaled supply shares.
    pub fn supply_shares(&self, holder: &Holder) -> U256 {
        self.supply.get(holder).copied().unwrap_or_default()
    }

    /// Holders with a supply balance, in order.
    pub fn suppliers(&self) -> impl Iterator<Item = (&Holder, &U256)> {
        self.supply.iter()
    }

    /// Holders with debt, in order.
    pub fn borrowers(&self) -> impl Iterator<Item = (&Holder, &U256)> {
        self.debt.iter()
    }

    /// Takes `amount` of cash in and mints supply shares, rounded down. Returns the shares.
    pub fn supply(&mut self, holder: &Holder, amount: U256) -> Result<U256, Error> {
        let scaled = mul_div(amount, RAY, self.liquidity_index.0)?;
        if scaled.is_zero() {
            return Err(Error::AmountTooSmall { what: "supply", amount });
        }
        self.cash = self.cash.add_or(amount, "supply")?;
        self.total_supply_scaled = self.total_supply_scaled.add_or(scaled, "supply")?;
        add_to(&mut self.supply, holder, scaled)?;
        self.update_rates()?;
        Ok(scaled)
    }

    /// Pays out `amount` (or everything with `None`) of the holder's supply, burning shares
    /// rounded up. Refused when the cash is lent out.
    pub fn withdraw(&mut self, holder: &Holder, amount: Option<U256>) -> Result<U256, Error> {
        let shares = self.supply_shares(holder);
        let balance = self.supply_balance(holder)?;
        let (amount, burn) = match amount {
            None => (balance, shares),
            Some(a) => (a, mul_div_rounding_up(a, RAY, self.liquidity_index.0)?),
        };
        if burn > shares {
            return Err(Error::InsufficientSupply {
                holder: holder.clone(),
                token: self.token.to_string(),
                requested: amount,
                available: balance,
            });
        }
        self.take_cash(amount)?;
        self.total_supply_scaled = self.total_supply_scaled.sub_or(burn, "withdraw")?;
        sub_from(&mut self.supply, holder, burn)?;
        self.update_rates()?;
        Ok(amount)
    }

    /// Moves supply shares worth `amount` (rounded up in shares) from one holder to another:
    /// what a liquidator receives in Aave with `receiveAToken`.
    pub fn transfer_supply(
        &mut self,
        from: &Holder,
        to: &Holder,
        amount: U256,
    ) -> Result<U256, Error> {
        let shares =
            mul_div_rounding_up(amount, RAY, self.liquidity_index.0)?.min(self.supply_shares(from));
        sub_from(&mut self.supply, from, shares)?;
        add_to(&mut self.supply, to, shares)?;
        Ok(shares)
    }

    /// Lends `amount` of cash to the holder, minting debt shares rounded up.
    pub fn borrow(&mut self, holder: &Holder, amount: U256) -> Result<U256, Error> {
        if amount.is_zero() {
            return Err(Error::AmountTooSmall { what: "borrow", amount });
        }
        let scaled = mul_div_rounding_up(amount, RAY, self.borrow_index.0)?;
        self.take_cash(amount)?;
        self.total_debt_scaled = self.total_debt_scaled.add_or(scaled, "borrow")?;
        add_to(&mut self.debt, holder, scaled)?;
        self.update_rates()?;
        Ok(scaled)
    }

    /// Takes up to `amount` of cash from the payer toward the holder's debt. Paying the whole
    /// debt burns every share; a partial payment burns shares rounded down.
    pub fn repay(&mut self, holder: &Holder, amount: U256) -> Result<RepayOutcome, Error> {
        let debt = self.debt_of(holder)?;
        let paid = amount.min(debt);
        let burn = if paid == debt {
            self.debt_shares(holder)
        } else {
            mul_div(paid, RAY, self.borrow_index.0)?
        };
        self.cash = self.cash.add_or(paid, "repay")?;
        self.total_debt_scaled = self.total_debt_scaled.sub_or(burn, "repay")?;
        sub_from(&mut self.debt, holder, burn)?;
        self.update_rates()?;
        Ok(RepayOutcome { paid, remaining_debt: self.debt_of(holder)? })
    }

    /// Writes off whatever the holder still owes as bad debt. Returns the amount written off.
    pub fn write_off(&mut self, holder: &Holder) -> Result<U256, Error> {
        let debt = self.debt_of(holder)?;
        let shares = self.debt_shares(holder);
        self.total_debt_scaled = self.total_debt_scaled.sub_or(shares, "write_off")?;
        sub_from(&mut self.debt, holder, shares)?;
        self.bad_debt = self.bad_debt.add_or(debt, "write_off")?;
        self.update_rates()?;
        Ok(debt)
    }

    fn take_cash(&mut self, amount: U256) -> Result<(), Error> {
        if amount > self.cash {
            return Err(Error::InsufficientCash {
                token: self.token.to_string(),
                requested: amount,
                available: self.cash,
            });
        }
        self.cash -= amount;
        Ok(())
    }

    /// Recomputes the rates from the current debt and cash (Aave `updateInterestRates`).
    fn update_rates(&mut self) -> Result<(), Error> {
        let inputs = RateInputs {
            total_debt: self.total_debt()?,
            available_liquidity: self.cash,
            unbacked: U256::ZERO,
            reserve_factor: self.config.reserve_factor_bps,
        };
        let rates = self.config.rate_model.rates(&inputs)?;
        self.borrow_rate = rates.borrow_rate;
        self.liquidity_rate = rates.supply_rate;
        Ok(())
    }

    /// The reserve factor.
    pub fn reserve_factor(&self) -> Bps {
        self.config.reserve_factor_bps
    }
}

fn add_to(map: &mut OrdMap<Holder, U256>, holder: &Holder, amount: U256) -> Result<(), Error> {
    let entry = map.entry(holder.clone()).or_default();
    *entry = entry.add_or(amount, "shares")?;
    Ok(())
}

fn sub_from(map: &mut OrdMap<Holder, U256>, holder: &Holder, amount: U256) -> Result<(), Error> {
    let current = map.get(holder).copied().unwrap_or_default();
    let left = current.sub_or(amount, "shares")?;
    if left.is_zero() {
        map.remove(holder);
    } else {
        map.insert(holder.clone(), left);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rates::{AaveRateModel, RateModel};

    fn aave_pool() -> LendingPool {
        let model = RateModel::Aave(AaveRateModel {
            optimal_usage_ratio_bps: 8000,
            base_variable_borrow_rate_bps: 100,
            variable_rate_slope1_bps: 400,
            variable_rate_slope2_bps: 6000,
        });
        let mut config = LendingConfig::new(model);
        config.reserve_factor_bps = Bps(1000);
        LendingPool::new("USDC".into(), config, 0).unwrap()
    }

    #[test]
    fn reused_factors_take_the_indices_where_fresh_ones_do() {
        // Two copies of a pool at 50% usage accrue hourly for two days; one reuses the last
        // factors, the other forgets them before every accrual. A borrow after a day moves the
        // rates, so a memo that ignored the rates would reuse a stale factor from then on.
        let (lender, bob) = (Holder::Account("lender".into()), Holder::Account("bob".into()));
        let mut cached = aave_pool();
        cached.supply(&lender, U256::from(1_000_000_000_000u64)).unwrap();
        cached.borrow(&bob, U256::from(500_000_000_000u64)).unwrap();
        let mut fresh = cached.clone();
        for hour in 1..=48u64 {
            if hour == 25 {
                for pool in [&mut cached, &mut fresh] {
                    pool.borrow(&bob, U256::from(300_000_000_000u64)).unwrap();
                }
                assert!(cached.borrow_rate.0 > cached.memo.0.unwrap().borrow_rate.0);
            }
            fresh.memo = FactorMemo::default();
            let accrued = [&mut cached, &mut fresh].map(|p| p.accrue(hour * 3600).unwrap());
            assert_eq!(accrued[0], accrued[1], "hour {hour}");
            assert_eq!(
                (cached.liquidity_index, cached.borrow_index),
                (fresh.liquidity_index, fresh.borrow_index),
                "hour {hour}"
            );
            assert_eq!(
                cached.supply_shares(&Holder::Treasury),
                fresh.supply_shares(&Holder::Treasury)
            );
        }
        assert!(cached.borrow_index.0 > RAY && cached.liquidity_index.0 > RAY);
        assert_eq!(cached.memo.0.map(|f| f.seconds), Some(3600), "the memo was in use");
    }
}
