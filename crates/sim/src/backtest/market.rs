//! The market's moves in a bar: the clock, the race between protection and liquidators along
//! the bar's path through its low or high, and the close (oracle, arbitrage, accrual).

use super::*;

impl Runner<'_> {
    /// Moves the market through the bar: time; the race between protection and liquidators
    /// along the bar's path through its low or high, where the data has them; the close
    /// (oracle, arbitrage, accrual); volume; other borrowers.
    pub(super) fn bar(
        &mut self,
        Step { t, dt, close, prev_close }: Step,
        range: Option<[Price; 2]>,
        stable: Option<Price>,
        others: &[Price],
    ) -> Result<(), SimError> {
        let dt = u64::try_from(dt).map_err(|_| SimError::Internal("bars out of order".into()))?;
        self.world.arbitrage_flow = [0.0; 2];
        // A stable token with its own history takes the bar's close first: the asset's path
        // inside the bar is then against it.
        if let Some(stable) = stable {
            let token = self.world.stable.clone();
            self.world.set_price(&token, stable)?;
        }
        // The other pairs' tokens too: the move's arbitrage brings their pools to them.
        self.world.set_other_prices(others)?;
        let reward_price = self.reward_price.at(t, (t - self.start_time) as f64);
        let reward_price = world::price_from_f64(reward_price.max(1e-12))?;
        let racing = self.strategy == Strategy::Leveraged
            && self.scenario.keepers.intrabar
            && self.position.is_some();
        match range.filter(|_| racing) {
            Some(range) => {
                if dt > 0 {
                    self.world.run(Command::AdvanceTime { seconds: dt })?;
                }
                self.race(t, dt, prev_close, close, range)?;
                self.world.move_to(0, close, Some(reward_price))?;
            }
            None => self.world.move_to(dt, close, Some(reward_price))?,
        }
        let tvl = self.world.pool_value()?;
        let log_return = (world::wad_to_f64(close.0) / world::wad_to_f64(prev_close.0)).ln();
        let [bought, sold] = self.world.arbitrage_flow;
        let arbitrage = Flow { buy: bought, sell: sold };
        let flow = self.volume.flow(t, dt as f64, tvl, log_return, arbitrage);
        self.trade(flow)?;
        self.adjust_utilization(t, dt as f64)?;
        let now = self.snapshot()?;
        self.pnl.step(&self.prev, &now)?;
        self.prev = now;
        Ok(())
    }

    /// Inside the bar: whoever the engine's race says acts first, at the price the bar's path
    /// has then; after a protection, the liquidator still if the rest of the path reaches the
    /// position's new kill factor.
    pub(super) fn race(
        &mut self,
        t: i64,
        dt: u64,
        prev: Price,
        close: Price,
        [low, high]: [Price; 2],
    ) -> Result<(), SimError> {
        let Some(id) = self.position else { return Ok(()) };
        let bar = BarPath {
            from: prev.0,
            low: low.0.min(prev.0).min(close.0),
            high: high.0.max(prev.0).max(close.0),
            close: close.0,
            seconds: dt,
        };
        let k = &self.scenario.keepers;
        let failed = keeper_failed(k.seed, t, id, k.failure_rate);
        let timing = KeeperTiming { latency_secs: k.latency_secs, failed };
        match self.world.market.race(id, &bar, &timing)? {
            RaceOutcome::Quiet => Ok(()),
            RaceOutcome::Protection { order, price, at_secs } => {
                self.move_within(Price(price))?;
                let before = self.actions.len();
                if let Some(o) = self.world.market.order(order).cloned() {
                    self.run_order(t, price, &o)?;
                }
                self.say_when(before, at_secs, price);
                let Some(id) = self.position else { return Ok(()) };
                let rest = BarPath { from: price, ..bar };
                let liquidators = KeeperTiming { latency_secs: 0, failed: true };
                if let RaceOutcome::Liquidation { price, .. } =
                    self.world.market.race(id, &rest, &liquidators)?
                {
                    self.move_within(Price(price))?;
                    self.liquidate(t, price)?;
                }
                Ok(())
            }
            RaceOutcome::Liquidation { price, at_secs } => {
                self.move_within(Price(price))?;
                let before = self.actions.len();
                self.liquidate(t, price)?;
                self.say_when(before, at_secs, price);
                Ok(())
            }
        }
    }

    /// Adds to the actions recorded since `before` when in the bar they acted, and at what
    /// price (the service's keeper report says the same).
    pub(super) fn say_when(&mut self, before: usize, at_secs: u64, price: U256) {
        for a in self.actions.iter_mut().skip(before) {
            a.detail = format!("{}: {at_secs} s into the bar, at {}", a.detail, Price(price));
        }
    }

    /// The oracle and the pool at a price inside the bar, booked as a market move.
    pub(super) fn move_within(&mut self, price: Price) -> Result<(), SimError> {
        self.world.move_to(0, price, None)?;
        let now = self.snapshot()?;
        self.pnl.step(&self.prev, &now)?;
        self.prev = now;
        Ok(())
    }
}
