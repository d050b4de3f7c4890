//! The actors outside the position: traders' flow through its pool, and other borrowers
//! keeping each lending pool at the utilization model's level.

use super::*;

impl Runner<'_> {
    /// Traders buy `flow.buy` of the asset with the stable token, then sell back the share
    /// `flow.sell / flow.buy` of what they got (and, selling more than they bought, the rest
    /// at the oracle): an even flow is a round trip, the pool earning the fee on both legs and
    /// its price ending where it started, within the fee; an uneven one leaves the price moved
    /// until the next bar's arbitrage.
    pub(super) fn trade(&mut self, flow: Flow) -> Result<(), SimError> {
        let stable = self.world.stable.clone();
        let asset = self.world.asset.clone();
        let amount = self.world.value_to_amount(&stable, flow.buy.max(0.0))?;
        let bought = self.swap(true, amount)?;
        let back = if flow.sell >= flow.buy {
            bought
        } else {
            let ppm = (flow.sell / flow.buy * 1e6).floor().clamp(0.0, 1e6) as u64;
            bought * U256::from(ppm) / U256::from(1_000_000u64)
        };
        let extra = match flow.sell - flow.buy {
            more if more > 0.0 => self.world.value_to_amount(&asset, more)?,
            _ => U256::ZERO,
        };
        self.swap(false, back + extra)?;
        Ok(())
    }

    /// The traders swap `amount` through the position's pool: the stable token for the asset
    /// (`buy`) or back; what came out.
    pub(super) fn swap(&mut self, buy: bool, amount: U256) -> Result<U256, SimError> {
        if amount.is_zero() {
            return Ok(U256::ZERO);
        }
        let pool = self.world.pool.clone();
        let command = match self.world.kind {
            PoolKind::ConstantProduct => Command::Swap {
                account: NOISE.into(),
                pool,
                token_in: if buy { self.world.stable.clone() } else { self.world.asset.clone() },
                amount_in: Amount(amount),
                min_amount_out: None,
            },
            PoolKind::V3 => Command::V3Swap {
                account: NOISE.into(),
                pool,
                zero_for_one: !buy,
                amount_in: Some(Amount(amount)),
                amount_out: None,
                sqrt_price_limit_x96: None,
            },
        };
        self.world.run_outside(command)?;
        let out = self.world.events().iter().find_map(|e| match e {
            Event::Swapped { amount_out, .. } => Some(amount_out.0),
            Event::V3Swapped(s) if buy => Some(s.amount0.0.unsigned_abs()),
            Event::V3Swapped(s) => Some(s.amount1.0.unsigned_abs()),
            _ => None,
        });
        Ok(out.unwrap_or(U256::ZERO))
    }

    pub(super) fn adjust_utilization(&mut self, t: i64, dt: f64) -> Result<(), SimError> {
        adjust_utilization(&mut self.world, &mut self.utilization, t, dt)
    }
}

/// Other borrowers borrow or repay so that their debt is the model's utilization of each
/// lending pool (the position's own debt comes on top and moves the rate further).
pub(crate) fn adjust_utilization(
    world: &mut World,
    utilization: &mut Utilization,
    t: i64,
    dt: f64,
) -> Result<(), SimError> {
    let demand = Holder::Account(DEMAND.into());
    for (venue, token) in world.lending.clone() {
        let Some(target_u) = utilization.at(&token, t, dt) else { continue };
        let pool = world.market.lending_at(&venue, &token)?;
        let total = pool.cash + pool.total_debt()?;
        let debt = pool.debt_at(&demand, world.market.time)?;
        let target = world::wad_from_f64(target_u).map(|u| {
            levfarm_core::math::mul_div(total, u, levfarm_core::math::WAD).unwrap_or(U256::ZERO)
        })?;
        // Adjust only past a 0.1% band, as real demand does not track to the unit.
        let band = total / U256::from(1000);
        if target > debt + band {
            let amount = (target - debt).min(pool.cash);
            if !amount.is_zero() {
                world.run_outside(Command::Borrow {
                    account: DEMAND.into(),
                    token: token.clone(),
                    amount: Amount(amount),
                    venue: venue.clone(),
                })?;
            }
        } else if debt > target + band {
            let amount = debt - target;
            world.run_outside(Command::Repay {
                account: DEMAND.into(),
                token: token.clone(),
                amount: Some(Amount(amount)),
                venue: venue.clone(),
            })?;
        }
    }
    Ok(())
}
