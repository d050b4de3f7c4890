//! A portfolio's run: each position in its own copy of the market, all on the same bars, with
//! the portfolio's rules acting between the keepers and the record of each bar.
//!
//! Each position runs as it would alone (its own world, orders, keepers and book), so its
//! PnL is decomposed exactly as a single run's and the portfolio's is their sum. The positions
//! share the prices, not the pools: one position's trades do not move another's pool, nor does
//! its borrowing move another's lending rate.
//!
//! The rules move value between positions as transfers: the sender's contribution falls by
//! what left its books, the receiver's rises by the same, and whatever the receiver's token
//! cannot hold of it (rounding to its raw units) is the receiver's cost. The positions'
//! contributions therefore always sum to the capital.

use levfarm_core::math::{mul_div, WAD};
use levfarm_core::position::ExitMode;

use super::*;

/// Where value leaves one position's world on its way to another's.
const PORTFOLIO: &str = "portfolio";

/// The least share of the portfolio a rebalance moves: below it a position is left alone.
const MIN_MOVE: f64 = 1e-4;

/// What a portfolio's run produced: each position's run, in the portfolio's order, and what
/// its rules did.
#[derive(Debug, Clone, Serialize)]
pub struct PortfolioRun {
    pub positions: Vec<RunResult>,
    /// The bars at which the allocation was brought back to its weights.
    pub rebalances: Vec<i64>,
    /// The bar at which the drawdown stop closed every position.
    pub stopped_at: Option<i64>,
}

/// Runs the portfolio `scenario`'s positions ([`Scenario::portfolio_positions`]), position
/// `k` over `prices[k]` (its pair's prices, with the others beside them; every series on the
/// same bars); `progress` hears of bars.
pub fn run_portfolio(
    scenario: &Scenario,
    positions: &[Scenario],
    prices: &[PriceSeries],
    progress: Option<Progress<'_>>,
) -> Result<PortfolioRun, SimError> {
    let Some(spec) = &scenario.portfolio else {
        return Err(SimError::Internal("not a portfolio".into()));
    };
    let Some(first) = prices.first() else {
        return Err(SimError::Internal("a portfolio without prices".into()));
    };
    if positions.len() != prices.len() || prices.iter().any(|p| p.times != first.times) {
        return Err(SimError::Internal("the positions' prices are not on one clock".into()));
    }
    let n = first.times.len();
    if n < 2 {
        return Err(SimError::Scenario("the price history needs at least 2 bars".into()));
    }
    let named = |k: usize, e: SimError| SimError::InPosition {
        name: positions[k].name.clone(),
        source: Box::new(e),
    };
    let mut runners = Vec::with_capacity(positions.len());
    for (k, (s, p)) in positions.iter().zip(prices).enumerate() {
        runners.push(Runner::begin(s, p, Strategy::Leveraged).map_err(|e| named(k, e))?);
    }
    let weights = spec.weights();
    let mut rules = Rules {
        weights: &weights,
        every: spec.rebalance_days.map(|d| (d * 86_400.0) as i64),
        band: spec.rebalance_band,
        stop: spec.drawdown_stop,
        last: first.times[0],
        peak: 0,
        run: PortfolioRun { positions: Vec::new(), rebalances: Vec::new(), stopped_at: None },
    };
    let tick = (n / 100).max(1);
    for i in 1..n {
        for (k, r) in runners.iter_mut().enumerate() {
            r.advance(&prices[k], i).map_err(|e| at_bar(&prices[k], i, named(k, e)))?;
        }
        let t = first.times[i];
        rules.apply(&mut runners, t).map_err(|e| at_bar(first, i, e))?;
        for (k, r) in runners.iter_mut().enumerate() {
            r.record(&prices[k], i).map_err(|e| at_bar(&prices[k], i, named(k, e)))?;
        }
        if let Some(report) = progress {
            if i % tick == 0 || i + 1 == n {
                report(i as u64 + 1, n as u64);
            }
        }
    }
    for (k, r) in runners.into_iter().enumerate() {
        rules.run.positions.push(r.finish().map_err(|e| named(k, e))?);
    }
    Ok(rules.run)
}

/// The asset held and staked at the yearly yield `staking`, paid in the asset every bar: the
/// staked alternative to a position (strategy [`Strategy::StakedAsset`]).
pub fn staked(
    scenario: &Scenario,
    prices: &PriceSeries,
    staking: f64,
) -> Result<RunResult, SimError> {
    if prices.times.len() < 2 {
        return Err(SimError::Scenario("the price history needs at least 2 bars".into()));
    }
    hold(scenario, prices, Strategy::StakedAsset, staking)
}

/// The portfolio's rules and what they have seen.
struct Rules<'w> {
    weights: &'w [f64],
    /// Seconds between rebalances.
    every: Option<i64>,
    band: Option<f64>,
    stop: Option<f64>,
    /// The last rebalance (or the opening).
    last: i64,
    /// The portfolio's highest equity so far, 1e18.
    peak: i128,
    run: PortfolioRun,
}

impl Rules<'_> {
    /// At the close of the bar at `t`, after every position's keepers: the drawdown stop,
    /// then the rebalance if it is due.
    fn apply(&mut self, runners: &mut [Runner<'_>], t: i64) -> Result<(), SimError> {
        if self.run.stopped_at.is_some() {
            return Ok(());
        }
        let equities = runners.iter().map(|r| r.prev.equity()).collect::<Result<Vec<_>, _>>()?;
        let total: i128 = equities.iter().sum();
        self.peak = self.peak.max(total);
        if let Some(stop) = self.stop {
            let floor = self.peak as f64 * (1.0 - stop);
            if (total as f64) < floor {
                for r in runners.iter_mut() {
                    r.close_for_portfolio(t, stop)?;
                }
                self.run.stopped_at = Some(t);
                return Ok(());
            }
        }
        // The open positions share what they hold by their weights among themselves.
        let open: Vec<usize> =
            (0..runners.len()).filter(|&k| runners[k].position.is_some()).collect();
        if open.len() < 2 {
            return Ok(());
        }
        let held: f64 = open.iter().map(|&k| equities[k] as f64).sum();
        let weight: f64 = open.iter().map(|&k| self.weights[k]).sum();
        if held <= 0.0 {
            return Ok(());
        }
        let excess: Vec<(usize, f64)> = open
            .iter()
            .map(|&k| (k, equities[k] as f64 - self.weights[k] / weight * held))
            .collect();
        let drifted =
            self.band.is_some_and(|band| excess.iter().any(|(_, x)| x.abs() / held > band));
        let scheduled = self.every.is_some_and(|every| t - self.last >= every);
        if !(drifted || scheduled) {
            return Ok(());
        }
        self.last = t;
        let moved = |x: f64| x.abs() / held > MIN_MOVE;
        let mut freed: i128 = 0;
        for &(k, x) in excess.iter().filter(|(_, x)| *x > 0.0 && moved(*x)) {
            freed += runners[k].release(t, x as i128)?;
        }
        let wanting: Vec<(usize, f64)> =
            excess.into_iter().filter(|(_, x)| *x < 0.0 && moved(*x)).collect();
        let wanted: f64 = wanting.iter().map(|(_, x)| -x).sum();
        // Each receiver's share of what was freed, the last taking the rest: all of it lands.
        let mut left = freed;
        for (j, &(k, x)) in wanting.iter().enumerate() {
            let value = if j + 1 == wanting.len() {
                left
            } else {
                ((freed as f64) * (-x / wanted)).floor() as i128
            }
            .clamp(0, left);
            left -= value;
            if value > 0 {
                runners[k].receive(t, value)?;
            }
        }
        if freed > 0 {
            self.run.rebalances.push(t);
        }
        Ok(())
    }
}

impl Runner<'_> {
    /// The owner's wallet: asset, stable, reward.
    fn wallet(&self) -> [U256; 3] {
        let w = &self.world;
        [&w.asset, &w.stable, &w.reward].map(|token| w.balance(OWNER, token))
    }

    /// The drawdown stop: closes the position, if it is open, as the engine's exit orders do
    /// (a time limit due now), what comes back sold into the pool's token1.
    fn close_for_portfolio(&mut self, t: i64, stop: f64) -> Result<(), SimError> {
        let Some(id) = self.position else { return Ok(()) };
        let price = self.world.market.quote(&self.world.asset)?.price_wad;
        let detail = format!("the portfolio fell {:.1}% below its peak: closed", stop * 100.0);
        let exit_to = Some(self.world.stable.clone());
        let done = self.try_act(t, price, ActionKind::PortfolioStop, |w| {
            let at = w.market.time;
            let order = OrderKind::TimeLimit { at, exit_to };
            w.run(Command::PlaceOrder { caller: OWNER.into(), position: id, order })?;
            let placed = w.events().iter().find_map(|e| match e {
                Event::OrderPlaced { order, .. } => Some(*order),
                _ => None,
            });
            let order = placed.ok_or_else(|| SimError::Internal("no order was placed".into()))?;
            w.run(Command::RunOrder { keeper: OWNER.into(), order })?;
            if w.market.positions().any(|p| p.id == id && p.open) {
                return Err(SimError::Refused("the position did not close".into()));
            }
            Ok(detail)
        })?;
        if done {
            self.position = None;
            self.closed_at = Some(t);
        }
        Ok(())
    }

    /// Takes about `value` (1e18 numeraire) out of the position for the portfolio: the same
    /// share of its liquidity and of each debt, so its leverage stays; what came back to the
    /// wallet then leaves. Returns the value that left the books, 1e18 (0 if the engine
    /// refused the partial close).
    fn release(&mut self, t: i64, value: i128) -> Result<i128, SimError> {
        let Some(id) = self.position else { return Ok(0) };
        let Some(equity) = self.prev.position_equity()?.filter(|e| *e > 0) else { return Ok(0) };
        let Some(lp) = self.world.market.positions().find(|p| p.id == id).map(|p| p.lp) else {
            return Ok(0);
        };
        let debt = self.prev.position.as_ref().map_or([U256::ZERO; 2], |p| p.debt);
        let value = U256::from(value.max(0) as u128);
        let share =
            mul_div(value, WAD, U256::from(equity as u128)).map_err(levfarm_core::Error::from)?;
        if share.is_zero() {
            return Ok(0);
        }
        // All of it: a close, as the stop does.
        let whole = share >= WAD;
        let part = |x: U256| mul_div(x, share.min(WAD), WAD).map_err(levfarm_core::Error::from);
        let (lp_out, repay) = if whole {
            (None, [None, None])
        } else {
            (Some(Amount(part(lp)?)), [Some(Amount(part(debt[0])?)), Some(Amount(part(debt[1])?))])
        };
        if lp_out.is_some_and(|a| a.0.is_zero()) {
            return Ok(0);
        }
        let price = self.world.market.quote(&self.world.asset)?.price_wad;
        let before = self.wallet();
        let detail = format!(
            "rebalance: {:.2}% of the position out, {:.2} to the other positions",
            world::wad_to_f64(share.min(WAD)) * 100.0,
            world::wad_to_f64(value)
        );
        let [max_repay0, max_repay1] = repay;
        let done = self.try_act(t, price, ActionKind::Reallocate, |w| {
            w.run(Command::ClosePosition {
                caller: OWNER.into(),
                position: id,
                lp: lp_out,
                max_repay0,
                max_repay1,
                mode: ExitMode::ConvertToDebt,
            })?;
            Ok(detail)
        })?;
        if !done {
            return Ok(0);
        }
        if !self.world.market.positions().any(|p| p.id == id && p.open) {
            self.position = None;
            self.closed_at = Some(t);
        }
        let after = self.wallet();
        let equity_before = self.prev.equity()?;
        let tokens =
            [self.world.asset.clone(), self.world.stable.clone(), self.world.reward.clone()];
        for (token, (a, b)) in tokens.iter().zip(after.iter().zip(before)) {
            let amount = a.saturating_sub(b);
            if !amount.is_zero() {
                self.world.run(Command::Transfer {
                    from: OWNER.into(),
                    to: PORTFOLIO.into(),
                    token: token.clone(),
                    amount: Amount(amount),
                })?;
            }
        }
        self.prev = self.snapshot()?;
        let sent = equity_before - self.prev.equity()?;
        self.contributed -= sent;
        Ok(sent)
    }

    /// Takes `value` (1e18 numeraire) from the portfolio in the stable token and puts it into
    /// the position at its leverage: added as collateral, and each debt raised by the same
    /// share as the equity. What the token's raw units cannot hold of `value` is a cost; if
    /// the engine refuses, the money stays in the wallet.
    fn receive(&mut self, t: i64, value: i128) -> Result<(), SimError> {
        let stable = self.world.stable.clone();
        let quote = self.world.market.quote(&stable)?;
        let amount = mul_div(U256::from(value as u128), quote.unit, quote.price_wad)
            .map_err(levfarm_core::Error::from)?;
        let before = self.prev.equity()?;
        self.world.mint(OWNER, &stable, amount)?;
        let now = self.snapshot()?;
        let after = now.equity()?;
        self.contributed += value;
        self.pnl.action(CostKind::Protection, before + value, after);
        self.prev = now;
        let Some(id) = self.position else { return Ok(()) };
        let Some(equity) = self.prev.position_equity()?.filter(|e| *e > 0) else { return Ok(()) };
        let debt = self.prev.position.as_ref().map_or([U256::ZERO; 2], |p| p.debt);
        let received = U256::from((after - before).max(0) as u128);
        let raise = |d: U256| {
            mul_div(d, received, U256::from(equity as u128)).map_err(levfarm_core::Error::from)
        };
        let (borrow0, borrow1) = (raise(debt[0])?, raise(debt[1])?);
        let price = self.world.market.quote(&self.world.asset)?.price_wad;
        let detail =
            format!("rebalance: {:.2} in from the other positions", world::wad_to_f64(received));
        self.try_act(t, price, ActionKind::Reallocate, |w| {
            w.run(Command::AddCollateral {
                caller: OWNER.into(),
                position: id,
                amount0: Amount(U256::ZERO),
                amount1: Amount(amount),
            })?;
            if !(borrow0.is_zero() && borrow1.is_zero()) {
                w.run(Command::BorrowMore {
                    caller: OWNER.into(),
                    position: id,
                    borrow0: Amount(borrow0),
                    borrow1: Amount(borrow1),
                    min_lp: None,
                })?;
            }
            Ok(detail)
        })?;
        Ok(())
    }
}
