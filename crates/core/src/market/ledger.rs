//! Token balances of accounts, positions and the treasury: the only place tokens move between
//! holders. Tokens enter only through `mint`; LP tokens are kept here as `lp:<pool>`.

use std::collections::BTreeMap;

use imbl::OrdMap;

use alloy_primitives::U256;

use super::{Event, Market};
use crate::math::CheckedOps;
use crate::types::{Amount, Holder, Name};
use crate::Error;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Ledger {
    balances: OrdMap<Holder, BTreeMap<Name, U256>>,
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

    /// The holder's balance of `token`, refused when it is below `amount`: the check of a
    /// debit, for commands that must check several before making any.
    pub(crate) fn require(
        &self,
        holder: &Holder,
        token: &str,
        amount: U256,
    ) -> Result<U256, Error> {
        let available = self.balance(holder, token);
        if available < amount {
            return Err(Error::InsufficientBalance {
                holder: holder.clone(),
                token: token.into(),
                requested: amount,
                available,
            });
        }
        Ok(available)
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
        let available = self.require(holder, token, amount)?;
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

    /// Takes `paid` of `token_in` from `holder` and gives it `got` of `token_out`: the two legs
    /// of a swap. Checks both before changing either.
    pub(crate) fn exchange(
        &mut self,
        holder: &Holder,
        (token_in, paid): (&str, U256),
        (token_out, got): (&str, U256),
    ) -> Result<(), Error> {
        // In place when both balances are there and the input one stays above zero: one
        // lookup of the holder and no reshaping of the maps.
        if let Some(balances) = self.balances.get_mut(holder) {
            let after = balances.get(token_out).and_then(|b| b.checked_add(got));
            if let (Some(after), false) = (after, token_in == token_out) {
                if let Some(have) = balances.get_mut(token_in).filter(|have| **have > paid) {
                    *have -= paid;
                    if let Some(slot) = balances.get_mut(token_out) {
                        *slot = after;
                    }
                    return Ok(());
                }
            }
        }
        self.balance(holder, token_out).add_or(got, "swap")?;
        self.debit(holder, token_in, paid)?;
        self.credit(holder, token_out, got)
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
        account_name(to)?;
        if amount.is_zero() {
            return Err(Error::AmountTooSmall { what: "mint", amount });
        }
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
        account_name(to)?;
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

/// An account comes into being when it first receives tokens: its name must be readable
/// text (not empty, no control characters), or errors and outputs that name it break.
fn account_name(name: &str) -> Result<(), Error> {
    super::strict_json::readable(name).map_err(|m| {
        Error::invalid(format!("account name \"{}\" {m}", super::strict_json::printable(name)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(balances: &[(&str, u64)]) -> (Ledger, Holder) {
        let holder = Holder::Account("arb".into());
        let mut ledger = Ledger::default();
        for (token, amount) in balances {
            ledger.credit(&holder, token, U256::from(*amount)).unwrap();
        }
        (ledger, holder)
    }

    #[test]
    fn an_exchange_is_a_debit_and_a_credit() {
        // In place (both balances there), a new output token, the whole input balance paid
        // (its entry removed), and the holder's only token traded away.
        type Case<'a> = (&'a [(&'a str, u64)], u64, u64);
        let cases: [Case; 4] = [
            (&[("WETH", 10), ("USDC", 5)], 4, 7),
            (&[("WETH", 10)], 4, 7),
            (&[("WETH", 10), ("USDC", 5)], 10, 7),
            (&[("WETH", 10)], 10, 7),
        ];
        for (balances, paid, got) in cases {
            let (mut exchanged, holder) = ledger(balances);
            let mut expected = exchanged.clone();
            let (paid, got) = (U256::from(paid), U256::from(got));
            exchanged.exchange(&holder, ("WETH", paid), ("USDC", got)).unwrap();
            expected.debit(&holder, "WETH", paid).unwrap();
            expected.credit(&holder, "USDC", got).unwrap();
            assert_eq!(exchanged, expected, "{balances:?}");
        }
    }

    #[test]
    fn a_refused_exchange_changes_nothing() {
        let (mut l, holder) = ledger(&[("WETH", 10), ("USDC", 5)]);
        let before = l.clone();
        let short = l.exchange(&holder, ("WETH", U256::from(11)), ("USDC", U256::from(1)));
        assert!(matches!(short, Err(Error::InsufficientBalance { .. })), "{short:?}");
        let overflow = l.exchange(&holder, ("WETH", U256::from(1)), ("USDC", U256::MAX));
        assert!(overflow.is_err());
        assert_eq!(l, before);
    }
}
