//! Lending commands: pools, supply, withdraw, Aave-style borrow and repay; every lending pool is
//! a token's at a venue.

use alloy_primitives::U256;

use super::{Event, Market};
use crate::lending::{LendingConfig, LendingPool};
use crate::math::Ray;
use crate::position::LeverageConfig;
use crate::rates::{InterestRateModel, RateInputs};
use crate::types::{Amount, Holder, Venue};
use crate::Error;

impl Market {
    pub(super) fn create_lending_pool(
        &mut self,
        venue: &Venue,
        token: &str,
        config: &LendingConfig,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let id = self.token_id(token)?;
        if self.tokens[id].lending.contains_key(venue) {
            let name = if venue.is_main() { token.into() } else { format!("{token} at {venue}") };
            return Err(Error::AlreadyExists { kind: "lending pool for token", name });
        }
        let pool = LendingPool::new(token.into(), config.clone(), self.time)?;
        self.tokens[id].lending.insert(venue.clone(), pool);
        ev.push(Event::LendingPoolCreated { token: token.into(), venue: venue.clone() });
        Ok(())
    }

    /// A venue other than the main one offers leverage on `pool` with `leverage`.
    pub(super) fn set_venue_leverage(
        &mut self,
        venue: &Venue,
        pool: &str,
        leverage: &LeverageConfig,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        if venue.is_main() {
            return Err(Error::invalid(
                "the main venue's leverage rules are the pool's own (create_pool's leverage)",
            ));
        }
        self.pool_tokens(pool)?;
        leverage.validate()?;
        self.venue_leverage.entry(venue.clone()).or_default().insert(pool.into(), leverage.clone());
        ev.push(Event::VenueLeverageSet { venue: venue.clone(), pool: pool.into() });
        Ok(())
    }

    /// Brings one lending pool up to now and reports the interest.
    pub(crate) fn accrue(
        &mut self,
        venue: &Venue,
        token: &str,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let now = self.time;
        let pool = self.lending_pool_mut(venue, token)?;
        let accrual = pool.accrue(now)?;
        accrued_event(venue, token, pool, accrual, ev);
        Ok(())
    }

    /// Accrues the lending pools at `venue` of the given tokens that exist.
    pub(crate) fn accrue_tokens(
        &mut self,
        venue: &Venue,
        tokens: &[&str],
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        for token in tokens {
            if self.lending_of(venue, token).is_some() {
                self.accrue(venue, token, ev)?;
            }
        }
        Ok(())
    }

    /// Accrues every lending pool, all or none: each is previewed before any is changed.
    pub(super) fn accrue_all(&mut self, ev: &mut Vec<Event>) -> Result<(), Error> {
        let now = self.time;
        let mut plans = Vec::with_capacity(self.tokens.len());
        for (_, _, pool) in self.lending_pools() {
            plans.push(pool.preview_accrual(now)?);
        }
        let mut plans = plans.iter();
        for (token, &id) in &self.token_ids {
            for (venue, pool) in self.tokens[id].lending.iter_mut() {
                if let Some(plan) = plans.next() {
                    let accrual = pool.commit_accrual(plan);
                    accrued_event(venue, token, pool, accrual, ev);
                }
            }
        }
        Ok(())
    }

    /// Reports a lending pool's rates after a change.
    pub(crate) fn rates_event(
        &self,
        venue: &Venue,
        token: &str,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let pool = self.lending_pool(venue, token)?;
        let inputs = RateInputs {
            total_debt: pool.total_debt()?,
            available_liquidity: pool.cash,
            unbacked: U256::ZERO,
            reserve_factor: pool.reserve_factor(),
        };
        let rates = pool.config.rate_model.rates(&inputs)?;
        ev.push(Event::RatesUpdated {
            token: token.into(),
            utilization: pool.utilization()?,
            borrow_rate: rates.borrow_rate,
            supply_rate: rates.supply_rate,
            venue: venue.clone(),
        });
        Ok(())
    }

    pub(super) fn supply(
        &mut self,
        venue: &Venue,
        account: &str,
        token: &str,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        self.accrue(venue, token, ev)?;
        let holder = Holder::Account(account.into());
        self.ledger.debit(&holder, token, amount)?;
        let shares = self.lending_pool_mut(venue, token)?.supply(&holder, amount)?;
        ev.push(Event::Supplied {
            account: account.into(),
            token: token.into(),
            amount: Amount(amount),
            shares: Amount(shares),
            venue: venue.clone(),
        });
        self.rates_event(venue, token, ev)
    }

    pub(super) fn withdraw(
        &mut self,
        venue: &Venue,
        account: &str,
        token: &str,
        amount: Option<U256>,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        self.accrue(venue, token, ev)?;
        let holder = Holder::Account(account.into());
        let paid = self.lending_pool_mut(venue, token)?.withdraw(&holder, amount)?;
        self.ledger.credit(&holder, token, paid)?;
        self.require_account_healthy(venue, account, false)?;
        ev.push(Event::Withdrawn {
            account: account.into(),
            token: token.into(),
            amount: Amount(paid),
            venue: venue.clone(),
        });
        self.rates_event(venue, token, ev)
    }

    pub(super) fn borrow(
        &mut self,
        venue: &Venue,
        account: &str,
        token: &str,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        self.accrue_all(ev)?;
        self.borrow_for(venue, &Holder::Account(account.into()), token, amount, ev)?;
        self.require_account_healthy(venue, account, true)
    }

    pub(super) fn repay(
        &mut self,
        venue: &Venue,
        account: &str,
        token: &str,
        amount: Option<U256>,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        self.accrue(venue, token, ev)?;
        let holder = Holder::Account(account.into());
        let debt = self.lending_pool(venue, token)?.debt_of(&holder)?;
        if debt.is_zero() {
            return Err(Error::invalid(format!(
                "account {account:?} has no {token} debt to repay"
            )));
        }
        self.repay_for(venue, &holder, token, amount.unwrap_or(debt).min(debt), ev)
    }

    /// Lends `amount` at `venue` to `holder` (an account or a position) and reports it.
    pub(crate) fn borrow_for(
        &mut self,
        venue: &Venue,
        holder: &Holder,
        token: &str,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        if amount.is_zero() {
            return Ok(());
        }
        let shares = self.lending_pool_mut(venue, token)?.borrow(holder, amount)?;
        self.ledger.credit(holder, token, amount)?;
        ev.push(Event::Borrowed {
            borrower: holder.clone(),
            token: token.into(),
            amount: Amount(amount),
            debt_shares: Amount(shares),
            venue: venue.clone(),
        });
        self.rates_event(venue, token, ev)
    }

    /// Takes `amount` from `holder` toward its debt at `venue` and reports it.
    pub(crate) fn repay_for(
        &mut self,
        venue: &Venue,
        holder: &Holder,
        token: &str,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        if amount.is_zero() {
            return Ok(());
        }
        self.ledger.debit(holder, token, amount)?;
        let outcome = self.lending_pool_mut(venue, token)?.repay(holder, amount)?;
        ev.push(Event::Repaid {
            borrower: holder.clone(),
            token: token.into(),
            amount: Amount(outcome.paid),
            remaining_debt: Amount(outcome.remaining_debt),
            venue: venue.clone(),
        });
        self.rates_event(venue, token, ev)
    }

    /// Refuses a state where the account's debt at `venue` is not covered: by the LTV after a
    /// borrow (`for_borrow`), by the liquidation threshold otherwise.
    pub(crate) fn require_account_healthy(
        &self,
        venue: &Venue,
        account: &str,
        for_borrow: bool,
    ) -> Result<(), Error> {
        let status = self.account_status_at(venue, account)?;
        if status.debt_value.is_zero() {
            return Ok(());
        }
        let covered = if for_borrow { status.borrow_capacity } else { status.threshold_value };
        if covered < status.debt_value {
            let health_factor_wad =
                crate::math::mul_div(covered, crate::math::WAD, status.debt_value)?;
            return Err(Error::HealthFactorTooLow { health_factor_wad });
        }
        Ok(())
    }

    /// Supply rate and borrow rate of a token's pool at the main venue, for reports.
    pub fn lending_rates(&self, token: &str) -> Result<(Ray, Ray), Error> {
        let pool = self.lending_pool(&Venue::main(), token)?;
        Ok((pool.liquidity_rate, pool.borrow_rate))
    }
}

fn accrued_event(
    venue: &Venue,
    token: &str,
    pool: &LendingPool,
    accrual: crate::lending::Accrual,
    ev: &mut Vec<Event>,
) {
    if accrual.seconds > 0 && !accrual.interest.is_zero() {
        ev.push(Event::InterestAccrued {
            token: token.into(),
            seconds: accrual.seconds,
            interest: Amount(accrual.interest),
            to_treasury: Amount(accrual.to_treasury),
            liquidity_index: pool.liquidity_index,
            borrow_index: pool.borrow_index,
            venue: venue.clone(),
        });
    }
}
