//! Farm rewards: per-second emission to staked LP shares through an accumulated
//! reward-per-share (the MasterChef scheme), paid from tokens the farm was funded with.
//!
//! `pending = stake · acc_reward_per_share / ACC_PRECISION − reward_debt`, rounded down, so
//! the farm never owes more than it holds: emission stops when the funded tokens run out.

use imbl::OrdMap;

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use crate::math::{mul_div, CheckedOps};
use crate::types::{Holder, Name};
use crate::Error;

/// Scale of `acc_reward_per_share`: 1e18.
pub const ACC_PRECISION: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// One holder's stake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stake {
    #[serde(with = "crate::types::dec")]
    pub amount: U256,
    #[serde(with = "crate::types::dec")]
    pub reward_debt: U256,
}

/// A farm on one AMM pool's LP token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Farm {
    pub reward_token: Name,
    pub reward_per_second: U256,
    pub acc_reward_per_share: U256,
    pub last_reward_time: u64,
    /// Reward tokens the farm holds: not yet emitted plus emitted and unclaimed.
    pub balance: U256,
    /// Reward tokens funded but not yet emitted.
    pub unallocated: U256,
    pub total_staked: U256,
    stakes: OrdMap<Holder, Stake>,
}

impl Farm {
    pub fn new(reward_token: Name, reward_per_second: U256, now: u64) -> Self {
        Self {
            reward_token,
            reward_per_second,
            acc_reward_per_share: U256::ZERO,
            last_reward_time: now,
            balance: U256::ZERO,
            unallocated: U256::ZERO,
            total_staked: U256::ZERO,
            stakes: OrdMap::new(),
        }
    }

    /// Adds reward tokens to be emitted.
    pub fn fund(&mut self, amount: U256) -> Result<(), Error> {
        self.balance = self.balance.add_or(amount, "fund farm")?;
        self.unallocated = self.unallocated.add_or(amount, "fund farm")?;
        Ok(())
    }

    /// `(acc_reward_per_share, emitted)` as they would be at `now`.
    fn accumulated_at(&self, now: u64) -> Result<(U256, U256), Error> {
        let dt = now.saturating_sub(self.last_reward_time);
        if dt == 0 || self.total_staked.is_zero() {
            return Ok((self.acc_reward_per_share, U256::ZERO));
        }
        let due = self.reward_per_second.saturating_mul(U256::from(dt));
        let emitted = due.min(self.unallocated);
        let step = mul_div(emitted, ACC_PRECISION, self.total_staked)?;
        Ok((self.acc_reward_per_share.add_or(step, "farm accrual")?, emitted))
    }

    /// Emits rewards up to `now` (MasterChef `updatePool`).
    pub fn update(&mut self, now: u64) -> Result<(), Error> {
        let (acc, emitted) = self.accumulated_at(now)?;
        self.acc_reward_per_share = acc;
        self.unallocated -= emitted;
        self.last_reward_time = self.last_reward_time.max(now);
        Ok(())
    }

    /// The holder's unclaimed rewards as of `now`, without changing anything.
    pub fn pending_at(&self, holder: &Holder, now: u64) -> Result<U256, Error> {
        let (acc, _) = self.accumulated_at(now)?;
        let stake = self.stake_of(holder);
        Ok(mul_div(stake.amount, acc, ACC_PRECISION)?.saturating_sub(stake.reward_debt))
    }

    /// The holder's stake.
    pub fn stake_of(&self, holder: &Holder) -> Stake {
        self.stakes.get(holder).copied().unwrap_or_default()
    }

    /// Stakes `amount` LP more; returns the rewards harvested on the way.
    pub fn stake(&mut self, holder: &Holder, amount: U256, now: u64) -> Result<U256, Error> {
        self.restake(holder, now, |current| Ok(current.add_or(amount, "stake")?))
    }

    /// Unstakes `amount` LP; returns the rewards harvested on the way.
    pub fn unstake(&mut self, holder: &Holder, amount: U256, now: u64) -> Result<U256, Error> {
        let staked = self.stake_of(holder).amount;
        if amount > staked {
            return Err(Error::InsufficientStake {
                holder: holder.clone(),
                requested: amount,
                staked,
            });
        }
        self.restake(holder, now, |current| Ok(current - amount))
    }

    /// Pays out the holder's pending rewards.
    pub fn harvest(&mut self, holder: &Holder, now: u64) -> Result<U256, Error> {
        self.restake(holder, now, Ok)
    }

    fn restake(
        &mut self,
        holder: &Holder,
        now: u64,
        new_amount: impl FnOnce(U256) -> Result<U256, Error>,
    ) -> Result<U256, Error> {
        self.update(now)?;
        let stake = self.stake_of(holder);
        let earned = mul_div(stake.amount, self.acc_reward_per_share, ACC_PRECISION)?;
        let pending = earned.saturating_sub(stake.reward_debt).min(self.balance);
        let amount = new_amount(stake.amount)?;
        self.total_staked = (self.total_staked - stake.amount).add_or(amount, "stake")?;
        let reward_debt = mul_div(amount, self.acc_reward_per_share, ACC_PRECISION)?;
        if amount.is_zero() {
            self.stakes.remove(holder);
        } else {
            self.stakes.insert(holder.clone(), Stake { amount, reward_debt });
        }
        self.balance -= pending;
        Ok(pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::u;

    #[test]
    fn two_stakers_share_emission_pro_rata() {
        let (a, b) = (Holder::Account("a".into()), Holder::Account("b".into()));
        let mut farm = Farm::new("RWD".into(), u(10), 0);
        farm.fund(u(1_000)).unwrap();
        farm.stake(&a, u(100), 0).unwrap();
        // 0..10 s: a alone earns 10 * 10 = 100
        farm.stake(&b, u(300), 10).unwrap();
        // 10..20 s: 100 more split 1:3 -> a 25, b 75
        assert_eq!(farm.pending_at(&a, 20).unwrap(), u(125));
        assert_eq!(farm.pending_at(&b, 20).unwrap(), u(75));
        assert_eq!(farm.harvest(&a, 20).unwrap(), u(125));
        assert_eq!(farm.unstake(&b, u(300), 20).unwrap(), u(75));
        assert_eq!(farm.balance, u(800));
        assert_eq!(farm.unallocated, u(800));
    }

    #[test]
    fn emission_stops_when_the_funding_runs_out() {
        let a = Holder::Position(1);
        let mut farm = Farm::new("RWD".into(), u(10), 0);
        farm.fund(u(35)).unwrap();
        farm.stake(&a, u(3), 0).unwrap();
        // 100 s would be 1000, but only 35 were funded; 35 * 1e18 / 3 rounds down, so 34 are payable.
        assert_eq!(farm.harvest(&a, 100).unwrap(), u(34));
        assert_eq!(farm.unallocated, U256::ZERO);
        assert_eq!(farm.balance, u(1), "rounding dust stays in the farm, never created");
        assert_eq!(farm.harvest(&a, 200).unwrap(), U256::ZERO);
    }

    #[test]
    fn unstaking_more_than_staked_is_refused() {
        let a = Holder::Position(1);
        let mut farm = Farm::new("RWD".into(), u(1), 0);
        farm.stake(&a, u(5), 0).unwrap();
        assert!(matches!(farm.unstake(&a, u(6), 1), Err(Error::InsufficientStake { .. })));
    }
}
