//! Token balances of accounts, positions and the treasury: the only place tokens move between
//! holders. Tokens enter only through `mint`; LP tokens are kept here as `lp:<pool>`.

use std::collections::BTreeMap;

use alloy_primitives::U256;

use super::{Event, Market};
use crate::math::CheckedOps;
use crate::types::{Amount, Holder, Name};
use crate::Error;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ledger {
    balances: BTreeMap<Holder, BTreeMap<Name, U256>>,
    /// Everything ever minted, per token: the conservation target.
    minted: BTreeMap<Name, U256>,
}

/// The ledger key of a pool's LP token.
pub(crate) fn lp_token(pool: &str) -> Name {
    compact_str::format_compact!("lp:{pool}")
}

impl Ledger {
    pub(crate) fn balance(&self, holder: &Holder, token: &str) -> U256 {
        self.balances.get(holder).and_then(|b| b.get(token)).copied().unwrap_or_default()
    }

    pub(crate) fn credit(
        &mut self,
        holder: &Holder,
        token: &str,
        amount: U256,
    ) -> Result<(), Error> {
        if amount.is_zero() {
            return Ok(());
        }
        // Look up before inserting: keys are built only for a new holder or token.
        let Some(balances) = self.balances.get_mut(holder) else {
            self.balances.insert(holder.clone(), BTreeMap::from([(token.into(), amount)]));
            return Ok(());
        };
        match balances.get_mut(token) {
            Some(slot) => *slot = slot.add_or(amount, "credit")?,
            None => {
                balances.insert(token.into(), amount);
            }
        }
        Ok(())
    }

    pub(crate) fn debit(
        &mut self,
        holder: &Holder,
        token: &str,
        amount: U256,
    ) -> Result<(), Error> {
        if amount.is_zero() {
            return Ok(());
        }
        let available = self.balance(holder, token);
        if available < amount {
            return Err(Error::InsufficientBalance {
                holder: holder.clone(),
                token: token.into(),
                requested: amount,
                available,
            });
        }
        // available ≥ amount > 0, so the holder and the token are there.
        let Some(balances) = self.balances.get_mut(holder) else { return Ok(()) };
        if available == amount {
            balances.remove(token);
            if balances.is_empty() {
                self.balances.remove(holder);
            }
        } else if let Some(slot) = balances.get_mut(token) {
            *slot = available - amount;
        }
        Ok(())
    }

    pub(crate) fn record_mint(&mut self, token: &str, amount: U256) -> Result<(), Error> {
        let slot = self.minted.entry(token.into()).or_default();
        *slot = slot.add_or(amount, "mint")?;
        Ok(())
    }

    pub(crate) fn minted(&self, token: &str) -> U256 {
        self.minted.get(token).copied().unwrap_or_default()
    }

    /// Sum of every holder's balance of `token`.
    pub(crate) fn total_held(&self, token: &str) -> U256 {
        self.balances
            .values()
            .filter_map(|b| b.get(token))
            .fold(U256::ZERO, |a, b| a.saturating_add(*b))
    }
}

impl Market {
    pub(super) fn mint(
        &mut self,
        to: &str,
        token: &str,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        self.token(token)?;
        self.ledger.record_mint(token, amount)?;
        self.ledger.credit(&Holder::Account(to.into()), token, amount)?;
        ev.push(Event::Minted { to: to.into(), token: token.into(), amount: Amount(amount) });
        Ok(())
    }

    pub(super) fn transfer_between(
        &mut self,
        from: &str,
        to: &str,
        token: &str,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        self.token(token)?;
        let (from, to) = (Holder::Account(from.into()), Holder::Account(to.into()));
        self.transfer(&from, &to, token, amount, ev)
    }

    /// Moves tokens between holders and reports it.
    pub(crate) fn transfer(
        &mut self,
        from: &Holder,
        to: &Holder,
        token: &str,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        self.ledger.debit(from, token, amount)?;
        self.ledger.credit(to, token, amount)?;
        if !amount.is_zero() {
            ev.push(Event::Transferred {
                from: from.clone(),
                to: to.clone(),
                token: token.into(),
                amount: Amount(amount),
            });
        }
        Ok(())
    }

    /// A holder's balance of a token (or of `lp:<pool>`).
    pub fn balance(&self, holder: &Holder, token: &str) -> U256 {
        self.ledger.balance(holder, token)
    }
}
