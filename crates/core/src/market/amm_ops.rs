//! AMM commands: pools, liquidity, swaps, arbitrage to the oracle, farms.

use alloy_primitives::U256;

use super::ledger::lp_token;
use super::{AmmPool, Event, Market};
use crate::amm::{get_amount_out, ConstantProductPool, ProtocolFee, SwapFee};
use crate::farm::Farm;
use crate::math::{Bps, CheckedOps};
use crate::position::LeverageConfig;
use crate::types::{Amount, Holder, Name};
use crate::Error;

impl Market {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn create_pool(
        &mut self,
        id: &str,
        token0: &str,
        token1: &str,
        fee_bps: u32,
        protocol_fee_divisor: Option<u32>,
        leverage: &LeverageConfig,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        self.check_new_pool(id, token0, token1)?;
        leverage.validate()?;
        let fee = SwapFee::from_bps(Bps(fee_bps))?;
        if protocol_fee_divisor.is_some_and(|d| d < 2) {
            return Err(Error::InvalidConfig {
                field: "protocol_fee_divisor",
                value: format!("{protocol_fee_divisor:?}"),
                reason: "must be at least 2 (6 is Uniswap's 1/6 of the fee)",
            });
        }
        let protocol_fee = protocol_fee_divisor.map(|divisor| ProtocolFee { divisor });
        let token_ids = [self.token_id(token0)?, self.token_id(token1)?];
        let pool = AmmPool {
            token0: token0.into(),
            token1: token1.into(),
            token_ids,
            amm: ConstantProductPool::new(fee, protocol_fee),
            leverage: leverage.clone(),
            farm: None,
        };
        self.pools.insert(id.into(), pool);
        ev.push(Event::PoolCreated {
            pool: id.into(),
            token0: token0.into(),
            token1: token1.into(),
            fee_numerator: fee.numerator(),
            fee_denominator: fee.denominator(),
        });
        Ok(())
    }

    pub(super) fn add_liquidity(
        &mut self,
        account: &str,
        pool_id: &str,
        amounts: [U256; 2],
        min_liquidity: Option<U256>,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let holder = Holder::Account(account.into());
        let pool = self.pool_mut(pool_id)?;
        let added = pool.amm.add_liquidity(amounts[0], amounts[1], U256::ZERO, U256::ZERO)?;
        let tokens = [pool.token0.clone(), pool.token1.clone()];
        if let Some(min) = min_liquidity.filter(|m| added.liquidity < *m) {
            return Err(Error::Slippage { got: added.liquidity, min });
        }
        self.ledger.debit(&holder, &tokens[0], added.amount0)?;
        self.ledger.debit(&holder, &tokens[1], added.amount1)?;
        self.ledger.credit(&holder, &lp_token(pool_id), added.liquidity)?;
        self.credit_protocol_fee(pool_id, added.protocol_fee_liquidity, ev)?;
        ev.push(Event::LiquidityAdded {
            holder,
            pool: pool_id.into(),
            amount0: Amount(added.amount0),
            amount1: Amount(added.amount1),
            liquidity: Amount(added.liquidity),
        });
        Ok(())
    }

    pub(super) fn remove_liquidity(
        &mut self,
        account: &str,
        pool_id: &str,
        liquidity: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let holder = Holder::Account(account.into());
        self.ledger.debit(&holder, &lp_token(pool_id), liquidity)?;
        self.burn_lp(pool_id, &holder, liquidity, ev).map(|_| ())
    }

    /// Burns `liquidity` already taken from `holder` and pays the tokens to `holder`.
    pub(crate) fn burn_lp(
        &mut self,
        pool_id: &str,
        holder: &Holder,
        liquidity: U256,
        ev: &mut Vec<Event>,
    ) -> Result<[U256; 2], Error> {
        let pool = self.pool_mut(pool_id)?;
        let burned = pool.amm.burn(liquidity)?;
        let tokens = [pool.token0.clone(), pool.token1.clone()];
        self.ledger.credit(holder, &tokens[0], burned.amount0)?;
        self.ledger.credit(holder, &tokens[1], burned.amount1)?;
        self.credit_protocol_fee(pool_id, burned.protocol_fee_liquidity, ev)?;
        ev.push(Event::LiquidityRemoved {
            holder: holder.clone(),
            pool: pool_id.into(),
            amount0: Amount(burned.amount0),
            amount1: Amount(burned.amount1),
            liquidity: Amount(liquidity),
        });
        Ok([burned.amount0, burned.amount1])
    }

    fn credit_protocol_fee(
        &mut self,
        pool_id: &str,
        liquidity: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        if liquidity.is_zero() {
            return Ok(());
        }
        self.ledger.credit(&Holder::Treasury, &lp_token(pool_id), liquidity)?;
        ev.push(Event::ProtocolFeeMinted { pool: pool_id.into(), liquidity: Amount(liquidity) });
        Ok(())
    }

    pub(super) fn swap(
        &mut self,
        account: &str,
        pool_id: &str,
        token_in: &str,
        amount_in: U256,
        min_out: Option<U256>,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let side = self.pool(pool_id)?.side(token_in).ok_or_else(|| {
            Error::invalid(format!("token {token_in} is not in pool {pool_id:?}"))
        })?;
        let out =
            self.swap_for(&Holder::Account(account.into()), pool_id, side == 0, amount_in, ev)?;
        match min_out {
            Some(min) if out < min => Err(Error::Slippage { got: out, min }),
            _ => Ok(()),
        }
    }

    /// Swaps `amount_in` from `holder`'s balance through the pool; returns the output. Checks
    /// everything on a copy of the pool before changing anything.
    pub(crate) fn swap_for(
        &mut self,
        holder: &Holder,
        pool_id: &str,
        zero_for_one: bool,
        amount_in: U256,
        ev: &mut Vec<Event>,
    ) -> Result<U256, Error> {
        let amm = &self.pool(pool_id)?.amm;
        let (reserve_in, reserve_out) = amm.oriented(zero_for_one);
        let amount_out = get_amount_out(amount_in, reserve_in, reserve_out, amm.fee)?;
        self.swap_quoted(holder, pool_id, zero_for_one, amount_in, amount_out, ev)?;
        Ok(amount_out)
    }

    /// Swaps `amount_in` for `amount_out` quoted on the pool's current reserves; the pool's K
    /// check refuses a quote above what the reserves give.
    fn swap_quoted(
        &mut self,
        holder: &Holder,
        pool_id: &str,
        zero_for_one: bool,
        amount_in: U256,
        amount_out: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let pool = self.pools.get_mut(pool_id).ok_or_else(|| Error::unknown("pool", pool_id))?;
        let (i, o) = if zero_for_one { (0, 1) } else { (1, 0) };
        let tokens = pool.tokens();
        let (token_in, token_out) = (Name::from(tokens[i]), Name::from(tokens[o]));
        let mut amm = pool.amm.clone();
        amm.swap_oriented(zero_for_one, amount_in, amount_out)?;
        self.ledger.exchange(holder, (&token_in, amount_in), (&token_out, amount_out))?;
        pool.amm = amm;
        ev.push(Event::Swapped {
            holder: holder.clone(),
            pool: pool_id.into(),
            token_in,
            amount_in: Amount(amount_in),
            token_out,
            amount_out: Amount(amount_out),
        });
        Ok(())
    }

    /// Trades the pool toward the oracle price with the account's own tokens. Atomic on its
    /// own: the trade is planned read-only and `swap_for` checks before it changes anything.
    pub(super) fn arbitrage(
        &mut self,
        account: &str,
        pool_id: &str,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let pool = self.pool(pool_id)?;
        let [q0, q1] = self.pool_quotes(pool)?;
        // Raw token0 in raw token1: (P0 / 10^d0) / (P1 / 10^d1).
        let num = q0.price_wad.mul_or(q1.unit, "arbitrage target")?;
        let den = q1.price_wad.mul_or(q0.unit, "arbitrage target")?;
        if let Some(trade) = pool.amm.swap_to_price(num, den)? {
            self.swap_quoted(
                &Holder::Account(account.into()),
                pool_id,
                trade.zero_for_one,
                trade.amount_in,
                trade.amount_out,
                ev,
            )?;
        }
        Ok(())
    }

    pub(super) fn create_farm(
        &mut self,
        pool_id: &str,
        reward_token: &str,
        reward_per_second: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        self.token(reward_token)?;
        let now = self.time;
        let farm = self.farm_slot_mut(pool_id)?;
        if farm.is_some() {
            return Err(Error::AlreadyExists { kind: "farm on pool", name: pool_id.into() });
        }
        *farm = Some(Farm::new(reward_token.into(), reward_per_second, now));
        ev.push(Event::FarmCreated {
            pool: pool_id.into(),
            reward_token: reward_token.into(),
            reward_per_second: Amount(reward_per_second),
        });
        Ok(())
    }

    /// A new pool of either kind: two different known tokens and an unused name.
    pub(super) fn check_new_pool(&self, id: &str, token0: &str, token1: &str) -> Result<(), Error> {
        super::strict_json::readable(id).map_err(|m| {
            Error::invalid(format!("pool name \"{}\" {m}", super::strict_json::printable(id)))
        })?;
        self.token(token0)?;
        self.token(token1)?;
        if token0 == token1 {
            return Err(Error::invalid(format!(
                "pool {id:?} needs two different tokens, got {token0} twice"
            )));
        }
        if id.is_empty() || self.pools.contains_key(id) || self.v3_pools.contains_key(id) {
            return Err(Error::AlreadyExists { kind: "pool", name: id.into() });
        }
        Ok(())
    }

    pub(crate) fn farm_mut(&mut self, pool_id: &str) -> Result<&mut Farm, Error> {
        self.farm_slot_mut(pool_id)?.as_mut().ok_or_else(|| Error::unknown("farm on pool", pool_id))
    }

    /// The farm of a pool of either kind, if it has one.
    pub fn farm_of(&self, pool_id: &str) -> Result<Option<&Farm>, Error> {
        match self.pools.get(pool_id) {
            Some(pool) => Ok(pool.farm.as_ref()),
            None => Ok(self.v3_pool(pool_id)?.farm.as_ref()),
        }
    }

    pub(super) fn farm_slot_mut(&mut self, pool_id: &str) -> Result<&mut Option<Farm>, Error> {
        if let Some(pool) = self.pools.get_mut(pool_id) {
            return Ok(&mut pool.farm);
        }
        let entry =
            self.v3_pools.get_mut(pool_id).ok_or_else(|| Error::unknown("pool", pool_id))?;
        Ok(&mut entry.farm)
    }

    pub(super) fn fund_farm(
        &mut self,
        account: &str,
        pool_id: &str,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let farm = self.farm_mut(pool_id)?;
        farm.fund(amount)?;
        let token = farm.reward_token.clone();
        self.ledger.debit(&Holder::Account(account.into()), &token, amount)?;
        ev.push(Event::FarmFunded { pool: pool_id.into(), amount: Amount(amount) });
        Ok(())
    }

    /// Stakes LP taken from `holder`'s balance, or unstakes it back, paying out harvested
    /// rewards; nothing when the pool has no farm.
    pub(crate) fn move_stake(
        &mut self,
        pool_id: &str,
        holder: &Holder,
        amount: U256,
        direction: StakeMove,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let now = self.time;
        let Some(farm) = self.farm_slot_mut(pool_id)?.as_mut() else { return Ok(()) };
        let stake = direction == StakeMove::Stake;
        let harvested = if stake {
            farm.stake(holder, amount, now)?
        } else {
            farm.unstake(holder, amount, now)?
        };
        let token = farm.reward_token.clone();
        self.pay_rewards(pool_id, holder, &token, harvested, ev)?;
        let (holder, pool, amount) = (holder.clone(), pool_id.into(), Amount(amount));
        ev.push(if stake {
            Event::Staked { holder, pool, amount }
        } else {
            Event::Unstaked { holder, pool, amount }
        });
        Ok(())
    }

    pub(super) fn pay_rewards(
        &mut self,
        pool_id: &str,
        holder: &Holder,
        token: &str,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        if amount.is_zero() {
            return Ok(());
        }
        self.ledger.credit(holder, token, amount)?;
        ev.push(Event::RewardsHarvested {
            holder: holder.clone(),
            pool: pool_id.into(),
            token: token.into(),
            amount: Amount(amount),
        });
        Ok(())
    }

    /// An account stakes LP from its balance in the pool's farm, or unstakes it back.
    pub(super) fn account_stake(
        &mut self,
        account: &str,
        pool_id: &str,
        amount: U256,
        direction: StakeMove,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let stake = direction == StakeMove::Stake;
        let holder = Holder::Account(account.into());
        let lp = lp_token(pool_id);
        self.refuse_account_farming_on_v3(pool_id)?;
        self.farm_mut(pool_id)?;
        if stake {
            self.ledger.debit(&holder, &lp, amount)?;
        }
        self.move_stake(pool_id, &holder, amount, direction, ev)?;
        if !stake {
            self.ledger.credit(&holder, &lp, amount)?;
        }
        Ok(())
    }

    /// Accounts do not stake, unstake or harvest on a v3 pool's farm: it pays leveraged range
    /// positions, which stake their liquidity themselves.
    fn refuse_account_farming_on_v3(&self, pool_id: &str) -> Result<(), Error> {
        if self.v3_pools.contains_key(pool_id) {
            return Err(Error::invalid(format!(
                "{pool_id} is a v3 pool: its farm pays leveraged range positions, which stake \
                 their liquidity themselves"
            )));
        }
        Ok(())
    }

    pub(super) fn harvest(
        &mut self,
        account: &str,
        pool_id: &str,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let holder = Holder::Account(account.into());
        let now = self.time;
        self.refuse_account_farming_on_v3(pool_id)?;
        let farm = self.farm_mut(pool_id)?;
        let harvested = farm.harvest(&holder, now)?;
        let token = farm.reward_token.clone();
        self.pay_rewards(pool_id, &holder, &token, harvested, ev)
    }
}

/// Which way LP moves between a holder and a farm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StakeMove {
    Stake,
    Unstake,
}
