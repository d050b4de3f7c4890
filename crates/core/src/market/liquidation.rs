//! Liquidation, two ways.
//!
//! - [`Market::liquidate`] kills a leveraged position past its kill factor (Alpaca `kill`):
//!   remove the LP, convert to the debt tokens through the pool (paying price impact), pay the
//!   bounty to the liquidator and the fee to the treasury out of what came back, repay, return
//!   the rest to the owner, and write off any shortfall as bad debt.
//! - [`Market::liquidate_account`] is Aave's `liquidationCall` for plain collateralized
//!   borrowing: close factor 50% (100% below a 0.95 health factor), liquidation bonus, protocol
//!   fee on the bonus part; the liquidator receives the collateral as supply shares.

use alloy_primitives::U256;

use super::event::PositionLiquidated;
use super::position_ops::share;
use super::{Event, Market};
use crate::math::{mul_div, percent_div, percent_mul, Bps, WAD};
use crate::position::ExitMode;
use crate::types::{Amount, Holder, Venue};
use crate::Error;

/// Aave: below this health factor the whole debt may be liquidated at once.
const CLOSE_FACTOR_HF_THRESHOLD: U256 = U256::from_limbs([950_000_000_000_000_000, 0, 0, 0]);
const DEFAULT_CLOSE_FACTOR: Bps = Bps(5000);
const MAX_CLOSE_FACTOR: Bps = Bps(10_000);

impl Market {
    pub(super) fn liquidate(
        &mut self,
        liquidator: &str,
        id: u64,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let position = self.open_position_ref(id)?.clone();
        let tokens = self.pool_tokens(&position.pool)?;
        let leverage = self.leverage_for(&position)?.clone();
        let venue = &position.venue;
        self.accrue_tokens(venue, &[&tokens[0], &tokens[1]], ev)?;
        let health_before = self.position_health(id)?;
        let kill = leverage.kill_factor_bps.0;
        if health_before.within(kill)? {
            return Err(Error::NotLiquidatable {
                position: id,
                debt_ratio_bps: health_before.debt_ratio_bps,
                kill_factor_bps: kill,
            });
        }
        if !leverage.liquidation.is_kill() {
            return self.liquidate_part(liquidator, id, &position, &leverage, health_before, ev);
        }
        let debt = health_before.debt;
        let removed = self.unwind(id, position.lp, ev)?;
        let back = self.exit_swap(id, removed, debt, ExitMode::ConvertToDebt, ev)?;
        let holder = Holder::Position(id);
        let mut out = KillOutcome::default();
        for i in 0..2 {
            out.prize[i] = share(leverage.kill_prize_bps, back[i])?;
            out.fee[i] = share(leverage.kill_treasury_bps, back[i])?;
            self.transfer(
                &holder,
                &Holder::Account(liquidator.into()),
                &tokens[i],
                out.prize[i],
                ev,
            )?;
            self.transfer(&holder, &Holder::Treasury, &tokens[i], out.fee[i], ev)?;
            let rest = back[i] - out.prize[i] - out.fee[i];
            out.repaid[i] = rest.min(debt[i]);
            self.repay_for(venue, &holder, &tokens[i], out.repaid[i], ev)?;
            out.bad_debt[i] = self.write_off(venue, &holder, &tokens[i], ev)?;
        }
        let returned = self.close_liquidated(id, ev)?;
        ev.push(Event::PositionLiquidated(Box::new(PositionLiquidated {
            position: id,
            liquidator: liquidator.into(),
            health_before,
            prize0: Amount(out.prize[0]),
            prize1: Amount(out.prize[1]),
            treasury_fee0: Amount(out.fee[0]),
            treasury_fee1: Amount(out.fee[1]),
            repaid0: Amount(out.repaid[0]),
            repaid1: Amount(out.repaid[1]),
            bad_debt0: Amount(out.bad_debt[0]),
            bad_debt1: Amount(out.bad_debt[1]),
            returned0: Amount(returned[0]),
            returned1: Amount(returned[1]),
        })));
        Ok(())
    }

    /// A close factor's or a soft style's liquidation: the share of the debt the style allows
    /// (all of it under a close factor below its health threshold or for a small position),
    /// LP worth that share of the debt plus the bonus seized (all of it at most), sold for the
    /// debt tokens, the bonus and the treasury's fee paid from the proceeds, the rest repaid
    /// and any excess returned to the owner. With all the LP seized the position closes and any
    /// debt left is written off.
    fn liquidate_part(
        &mut self,
        liquidator: &str,
        id: u64,
        position: &crate::position::Position,
        leverage: &crate::position::LeverageConfig,
        health_before: crate::position::valuation::PositionHealth,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        use crate::position::LiquidationStyle as S;
        let tokens = self.pool_tokens(&position.pool)?;
        let venue = &position.venue;
        let (value, debt_value) = (health_before.value, health_before.debt_value);
        let bps = U256::from(10_000u64);
        let (mut share_bps, bonus_bps, small) = match leverage.liquidation {
            S::Kill => return Err(Error::unknown("liquidation style", "kill")),
            S::CloseFactor { close_factor_bps, full_below_health_bps, bonus_bps, small_value } => {
                // The health factor in bps: value · kill / debt.
                let health = mul_div(value, U256::from(leverage.kill_factor_bps.0), debt_value)?;
                let small = value < small_value || debt_value < small_value;
                let full = health <= U256::from(full_below_health_bps.0) || small;
                let share = if full { bps } else { U256::from(close_factor_bps.0) };
                (share, U256::from(bonus_bps.0), Some(small_value))
            }
            S::Soft { max_share_bps, penalty_bps } => {
                (U256::from(max_share_bps.0), U256::from(penalty_bps.0), None)
            }
        };
        // LP worth the repaid share of the debt plus the bonus, at the check's valuation.
        let lp = position.lp;
        let worth = mul_div(debt_value, share_bps * (bps + bonus_bps), bps * bps)?;
        let mut seized = if worth >= value { lp } else { mul_div(lp, worth, value)? };
        // Aave v3.3: a liquidation of part of the debt that leaves part of the collateral may
        // not leave less than half the small-position threshold of either; then all of the
        // debt is repaid (the collateral it needs seized).
        if let Some(small) = small {
            let floor = small / U256::from(2u64);
            let repaid_value = mul_div(debt_value, share_bps, bps)?;
            if share_bps < bps
                && seized < lp
                && (value - worth < floor || debt_value - repaid_value < floor)
            {
                share_bps = bps;
                let all = mul_div(debt_value, bps + bonus_bps, bps)?;
                seized = if all >= value { lp } else { mul_div(lp, all, value)? };
            }
        }
        if seized.is_zero() {
            return Err(Error::NotLiquidatable {
                position: id,
                debt_ratio_bps: health_before.debt_ratio_bps,
                kill_factor_bps: leverage.kill_factor_bps.0,
            });
        }
        let closes = seized == lp;
        let debt = health_before.debt;
        let removed = self.unwind(id, seized, ev)?;
        // Only what the repayment needs is sold: the share of each debt, at most all of it.
        let owed = [mul_div(debt[0], share_bps, bps)?, mul_div(debt[1], share_bps, bps)?];
        let back = self.exit_swap(id, removed, owed, ExitMode::ConvertToDebt, ev)?;
        let holder = Holder::Position(id);
        let owner = Holder::Account(position.owner.clone());
        let mut out = KillOutcome::default();
        let mut returned = [U256::ZERO; 2];
        for i in 0..2 {
            // The treasury's fee first, then the repayment (the liquidator repays, as on Aave,
            // and bears the sale's fee and impact), then the bonus part of what was seized,
            // `bonus / (1 + bonus)` of it at most, to the liquidator.
            out.fee[i] = share(leverage.kill_treasury_bps, back[i])?;
            out.repaid[i] = (back[i] - out.fee[i]).min(owed[i]);
            let bonus = mul_div(back[i], bonus_bps, bps + bonus_bps)?;
            out.prize[i] = bonus.min(back[i] - out.fee[i] - out.repaid[i]);
            let prize = out.prize[i];
            self.transfer(&holder, &Holder::Treasury, &tokens[i], out.fee[i], ev)?;
            self.repay_for(venue, &holder, &tokens[i], out.repaid[i], ev)?;
            self.transfer(&holder, &Holder::Account(liquidator.into()), &tokens[i], prize, ev)?;
            let rest = back[i] - out.fee[i] - out.repaid[i] - prize;
            if closes {
                out.bad_debt[i] = self.write_off(venue, &holder, &tokens[i], ev)?;
            } else {
                returned[i] = rest;
                self.transfer(&holder, &owner, &tokens[i], returned[i], ev)?;
            }
        }
        if closes {
            returned = self.close_liquidated(id, ev)?;
        }
        ev.push(Event::PositionPartlyLiquidated(Box::new(
            super::event::PositionPartlyLiquidated {
                position: id,
                liquidator: liquidator.into(),
                health_before,
                lp_seized: Amount(seized),
                prize0: Amount(out.prize[0]),
                prize1: Amount(out.prize[1]),
                treasury_fee0: Amount(out.fee[0]),
                treasury_fee1: Amount(out.fee[1]),
                repaid0: Amount(out.repaid[0]),
                repaid1: Amount(out.repaid[1]),
                bad_debt0: Amount(out.bad_debt[0]),
                bad_debt1: Amount(out.bad_debt[1]),
                returned0: Amount(returned[0]),
                returned1: Amount(returned[1]),
                closed: closes,
            },
        )));
        Ok(())
    }

    /// Closes a position its liquidation took whole: what it still holds of the pool's tokens
    /// goes to its owner (returned), its rewards are paid out and its orders end.
    fn close_liquidated(&mut self, id: u64, ev: &mut Vec<Event>) -> Result<[U256; 2], Error> {
        if let Some(p) = self.positions.get_mut(&id) {
            p.open = false;
        }
        let returned = self.sweep_to_owner(id, ev)?;
        self.pay_out_rewards(id, ev)?;
        self.end_orders(id, "the position was liquidated", ev);
        Ok(returned)
    }

    /// Writes off what `holder` still owes in `token` as the pool's bad debt.
    fn write_off(
        &mut self,
        venue: &Venue,
        holder: &Holder,
        token: &str,
        ev: &mut Vec<Event>,
    ) -> Result<U256, Error> {
        let Ok(pool) = self.lending_pool_mut(venue, token) else { return Ok(U256::ZERO) };
        if pool.debt_shares(holder).is_zero() {
            return Ok(U256::ZERO);
        }
        let amount = pool.write_off(holder)?;
        ev.push(Event::BadDebt {
            borrower: holder.clone(),
            token: token.into(),
            amount: Amount(amount),
            venue: venue.clone(),
        });
        self.rates_event(venue, token, ev)?;
        Ok(amount)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn liquidate_account(
        &mut self,
        venue: &Venue,
        liquidator: &str,
        borrower: &str,
        debt_token: &str,
        collateral_token: &str,
        debt_to_cover: Option<U256>,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        self.accrue_all(ev)?;
        let status = self.account_status_at(venue, borrower)?;
        let health_factor_wad = status.health_factor_wad()?;
        if health_factor_wad >= WAD {
            return Err(Error::AccountHealthy { account: borrower.into(), health_factor_wad });
        }
        let (victim, hunter) =
            (Holder::Account(borrower.into()), Holder::Account(liquidator.into()));
        let debt = self.lending_pool(venue, debt_token)?.debt_of(&victim)?;
        let collateral = self.lending_pool(venue, collateral_token)?.supply_balance(&victim)?;
        if debt.is_zero() || collateral.is_zero() {
            return Err(Error::invalid(format!(
                "account {borrower:?} has no {debt_token} debt or no {collateral_token} collateral"
            )));
        }
        let close_factor = if health_factor_wad < CLOSE_FACTOR_HF_THRESHOLD {
            MAX_CLOSE_FACTOR
        } else {
            DEFAULT_CLOSE_FACTOR
        };
        let max_debt = percent_mul(debt, close_factor)?;
        let to_cover = debt_to_cover.unwrap_or(max_debt).min(max_debt);
        let seizure =
            self.collateral_for(venue, debt_token, collateral_token, to_cover, collateral)?;
        self.ledger.debit(&hunter, debt_token, seizure.debt)?;
        self.lending_pool_mut(venue, debt_token)?.repay(&victim, seizure.debt)?;
        let pool = self.lending_pool_mut(venue, collateral_token)?;
        pool.transfer_supply(&victim, &hunter, seizure.collateral - seizure.protocol_fee)?;
        pool.transfer_supply(&victim, &Holder::Treasury, seizure.protocol_fee)?;
        let mut bad_debt = U256::ZERO;
        if self.account_status_at(venue, borrower)?.collateral_value.is_zero() {
            let tokens: Vec<_> = self
                .lending_pools()
                .filter(|(_, v, _)| *v == venue)
                .map(|(t, _, _)| t.clone())
                .collect();
            for token in tokens {
                bad_debt += self.write_off(venue, &victim, &token, ev)?;
            }
        }
        ev.push(Event::AccountLiquidated {
            liquidator: liquidator.into(),
            borrower: borrower.into(),
            debt_token: debt_token.into(),
            collateral_token: collateral_token.into(),
            debt_repaid: Amount(seizure.debt),
            collateral_seized: Amount(seizure.collateral),
            protocol_fee: Amount(seizure.protocol_fee),
            bad_debt: Amount(bad_debt),
            venue: venue.clone(),
        });
        self.rates_event(venue, debt_token, ev)
    }

    /// Aave `_calculateAvailableCollateralToLiquidate`.
    fn collateral_for(
        &self,
        venue: &Venue,
        debt_token: &str,
        collateral_token: &str,
        to_cover: U256,
        balance: U256,
    ) -> Result<Seizure, Error> {
        let (qd, qc) = (self.quote(debt_token)?, self.quote(collateral_token)?);
        let config = &self.lending_pool(venue, collateral_token)?.config;
        let bonus = config.liquidation_bonus_bps;
        // baseCollateral = debtPrice · debtToCover · collateralUnit / (collateralPrice · debtUnit)
        let base = mul_div(mul_div(qd.price_wad, to_cover, qd.unit)?, qc.unit, qc.price_wad)?;
        let max_collateral = percent_mul(base, bonus)?;
        let (collateral, debt) = if max_collateral > balance {
            let worth = mul_div(mul_div(qc.price_wad, balance, qc.unit)?, qd.unit, qd.price_wad)?;
            (balance, percent_div(worth, bonus)?)
        } else {
            (max_collateral, to_cover)
        };
        let bonus_part = collateral - percent_div(collateral, bonus)?;
        let protocol_fee = percent_mul(bonus_part, config.liquidation_protocol_fee_bps)?;
        Ok(Seizure { collateral, debt, protocol_fee })
    }
}

#[derive(Debug, Default)]
struct KillOutcome {
    prize: [U256; 2],
    fee: [U256; 2],
    repaid: [U256; 2],
    bad_debt: [U256; 2],
}

#[derive(Debug)]
struct Seizure {
    collateral: U256,
    debt: U256,
    protocol_fee: U256,
}
