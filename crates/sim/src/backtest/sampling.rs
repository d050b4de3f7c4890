//! Sampling: the equity curve, the liquidation prices on their schedule, and the run's
//! statistics.

use super::*;

impl Runner<'_> {
    /// Records the bar. A position's liquidation prices move with its debt, liquidity and
    /// range, not with the price, so they are solved after every action other than compounding,
    /// every `7 · liquidation_price_every` bars (interest and fees drift them), and on the last
    /// bar; they are carried in between.
    pub(super) fn sample(
        &mut self,
        t: i64,
        close: Price,
        on_grid: bool,
        last: bool,
    ) -> Result<(), SimError> {
        self.since_solve += 1;
        let actions = self.major_actions;
        let stale = match self.solved {
            None => true,
            Some((_, seen)) => {
                seen != actions
                    || self.since_solve >= 7 * self.scenario.report.liquidation_price_every
            }
        };
        let solve =
            last || (stale && (on_grid || self.solved.is_none_or(|(_, seen)| seen != actions)));
        let equity = self.prev.equity()?;
        let (mut ratio, mut leverage, mut debt_value, mut in_range) = (None, None, None, None);
        if let Some(id) = self.position {
            let h = self.world.market.position_health(id)?;
            ratio = Some(h.debt_ratio_bps);
            leverage = Some(h.leverage_bps);
            debt_value = Some(h.debt_value);
            let work = self.scenario.leverage().work_factor_bps as u64;
            let kill = self.scenario.leverage().kill_factor_bps as u64;
            if h.debt_ratio_bps >= work {
                self.bars_above_work += 1;
            }
            if h.debt_ratio_bps.saturating_mul(10) >= kill * 9 {
                self.bars_near_kill += 1;
            }
            if solve && !h.debt_value.is_zero() {
                let lp = self.world.market.liquidation_prices(id)?;
                self.liq = (lp.lower, lp.upper);
                self.solved = Some((close.0, actions));
                self.since_solve = 0;
            }
            if self.world.kind == PoolKind::V3 {
                let range =
                    self.world.market.positions().find(|p| p.id == id).and_then(|p| p.range);
                let tick = self.world.market.v3_amm_pool(&self.world.pool)?.pool.tick;
                in_range = range.map(|r| r.contains(tick));
            }
        } else {
            self.liq = (None, None);
        }
        let borrow_rate = self
            .world
            .market
            .lending_at(&self.world.lending_venue(&self.world.stable), &self.world.stable)
            .map(|l| l.borrow_rate.0)
            .unwrap_or(U256::ZERO);
        self.samples.push(Sample {
            time: t,
            price: close.0,
            equity,
            debt_ratio_bps: ratio,
            leverage_bps: leverage,
            debt_value,
            liquidation_lower: self.liq.0,
            liquidation_upper: self.liq.1,
            borrow_rate,
            in_range,
        });
        Ok(())
    }
}

/// Net APY, drawdown and return of an equity curve.
pub fn stats(samples: &[Sample], contributed: i128) -> Stats {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return Stats::default();
    };
    let start = contributed as f64 / 1e18;
    let end = last.equity as f64 / 1e18;
    let years = (last.time - first.time) as f64 / world::YEAR;
    let mut peak = f64::MIN;
    let mut max_drawdown: f64 = 0.0;
    for s in samples {
        let e = s.equity as f64 / 1e18;
        peak = peak.max(e);
        if peak > 0.0 {
            max_drawdown = max_drawdown.max((peak - e) / peak);
        }
    }
    let total_return = if start > 0.0 { end / start - 1.0 } else { 0.0 };
    let net_apy = if years < MIN_ANNUALISED_YEARS {
        f64::NAN
    } else if end > 0.0 && start > 0.0 {
        (end / start).powf(1.0 / years) - 1.0
    } else if end <= 0.0 {
        -1.0
    } else {
        0.0
    };
    Stats { final_equity: end, pnl: end - start, total_return, net_apy, max_drawdown, years }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(points: &[(i64, f64)]) -> Vec<Sample> {
        points
            .iter()
            .map(|&(t, e)| Sample { time: t, equity: (e * 1e18) as i128, ..Sample::default() })
            .collect()
    }

    #[test]
    fn the_curve_s_figures_by_hand() {
        // 100 → 150 → 90 → 120 over two years: the drawdown is from 150 to 90, 40%; the
        // return 20%; a year's compounding of 1.2 over two is √1.2 − 1.
        let year = world::YEAR as i64;
        let s = curve(&[(0, 100.0), (year / 2, 150.0), (year, 90.0), (2 * year, 120.0)]);
        let st = stats(&s, (100.0 * 1e18) as i128);
        assert!((st.max_drawdown - 0.4).abs() < 1e-12);
        assert!((st.total_return - 0.2).abs() < 1e-12);
        assert!((st.net_apy - (1.2f64.sqrt() - 1.0)).abs() < 1e-12);
        assert!((st.years - 2.0).abs() < 1e-12);
        // A week is too short to annualise; a wipe-out is −100% a year.
        let week = stats(&curve(&[(0, 100.0), (7 * 86_400, 110.0)]), (100.0 * 1e18) as i128);
        assert!(week.net_apy.is_nan() && (week.total_return - 0.1).abs() < 1e-12);
        let gone = stats(&curve(&[(0, 100.0), (year, 0.0)]), (100.0 * 1e18) as i128);
        assert_eq!(gone.net_apy, -1.0);
    }
}
