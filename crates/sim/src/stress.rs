//! `levfarm stress`, first step: a book of positions opened in one market by the exact engine,
//! then instantaneous price shocks, each followed by the liquidators in rounds until none is
//! left to liquidate. A liquidation sells through the same pool; where the venue values
//! positions after price impact (`valuation = "exit"`), that selling lowers the others' values,
//! and a position that only the earlier liquidations pushed past the kill factor is a cascade
//! (its round is its depth).
//!
//! Every position is the engine's: its opening sized by the engine's rule, its health and its
//! liquidation the engine's commands. The book is drawn from its distributions by a seeded
//! generator: the same settings give the same book and the same bytes.

use alloy_primitives::U256;
use levfarm_core::market::Event;
use levfarm_core::price::Price;
use levfarm_core::Command;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};
use serde::Serialize;

use crate::backtest::open_for;
use crate::book::value;
use crate::scenario::{BorrowSide, Scenario};
use crate::world::{self, World, KEEPER};
use crate::SimError;

/// How the book is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BookSpec {
    pub positions: usize,
    pub seed: u64,
    /// Each position's equity: log-normal with this median (numeraire) and log spread.
    pub median_equity: f64,
    pub equity_spread: f64,
    /// Leverage uniform in `[low, high]`; openings past the work factor are refused and
    /// counted.
    pub leverage: (f64, f64),
    /// The share of positions that borrow the asset (short); the rest borrow the stable token.
    pub short_share: f64,
}

impl Default for BookSpec {
    fn default() -> Self {
        BookSpec {
            positions: 1_000,
            seed: 1,
            median_equity: 5_000.0,
            equity_spread: 1.0,
            leverage: (1.5, 3.2),
            short_share: 0.2,
        }
    }
}

/// One position of the book.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BookEntry {
    pub id: u64,
    pub equity: f64,
    pub leverage: f64,
    pub short: bool,
}

/// The market with the book opened in it.
#[derive(Debug, Clone)]
pub struct Book {
    pub world: World,
    pub entries: Vec<BookEntry>,
    /// Openings the engine refused (past the work factor after the opening's own impact).
    pub refused: usize,
    pub price: Price,
}

/// What a shock did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShockOutcome {
    /// The oracle's move, as a fraction (−0.3 is a 30% fall), and the price it moved to.
    pub shock: f64,
    pub price: f64,
    /// Positions past the kill factor right after the move (before any liquidation), and their
    /// debt's value: the liquidations at risk.
    pub at_risk: usize,
    pub at_risk_debt: f64,
    /// Positions liquidated in all, and the debt they owed.
    pub liquidated: usize,
    pub liquidated_debt: f64,
    /// Positions liquidated in each round: round 0 by the move alone, round k after k rounds
    /// of other liquidations' selling (a cascade of depth k).
    pub rounds: Vec<usize>,
    /// Debt the liquidations could not repay, left to lenders (numeraire).
    pub bad_debt: f64,
    /// What the liquidators received (the kill prize), at the oracle.
    pub liquidators_paid: f64,
    /// The pool's price after the liquidations, before any arbitrage.
    pub pool_price: f64,
}

/// The book's shocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StressOutput {
    pub scenario: String,
    pub book: BookSpec,
    pub opened: usize,
    pub refused: usize,
    /// The book's equity and debt at the start (numeraire).
    pub equity: f64,
    pub debt: f64,
    pub price: f64,
    pub shocks: Vec<ShockOutcome>,
}

/// The engine account of book position `i`'s owner.
fn owner(i: usize) -> String {
    format!("book-{i}")
}

impl Book {
    /// Opens `spec`'s book on `scenario`'s market at `price`: each position on the scenario's
    /// pool and venue, its owner funded with its equity in the stable token.
    pub fn open(scenario: &Scenario, price: Price, spec: &BookSpec) -> Result<Book, SimError> {
        if spec.positions == 0 || spec.positions > 100_000 {
            return Err(SimError::Scenario(format!(
                "{} positions: a book holds 1 to 100,000",
                spec.positions
            )));
        }
        let (lo, hi) = spec.leverage;
        if !(lo.is_finite() && hi.is_finite() && 1.0 <= lo && lo <= hi && hi <= 20.0) {
            return Err(SimError::Scenario(format!(
                "leverage {lo} to {hi}: need 1 ≤ low ≤ high ≤ 20"
            )));
        }
        let sizes = LogNormal::new(spec.median_equity.ln(), spec.equity_spread).map_err(|e| {
            SimError::Scenario(format!(
                "equity {} spread {}: {e}",
                spec.median_equity, spec.equity_spread
            ))
        })?;
        let mut world = World::build(scenario, price, 86_400 * 30)?;
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let stable = world.stable.clone();
        let mut entries = Vec::with_capacity(spec.positions);
        let mut refused = 0;
        for i in 0..spec.positions {
            let equity = sizes.sample(&mut rng).clamp(1.0, 1e9);
            let leverage = lo + (hi - lo) * rng.random::<f64>();
            let short = rng.random::<f64>() < spec.short_share;
            let side = if short { BorrowSide::Asset } else { BorrowSide::Stable };
            let raw = world.value_to_amount(&stable, equity)?;
            let name = owner(i);
            world.mint(&name, &stable, raw)?;
            let mut trial = world.clone();
            match open_for(&mut trial, &name, raw, leverage, side, &scenario.position) {
                Ok(id) => {
                    world = trial;
                    entries.push(BookEntry { id, equity, leverage, short });
                }
                Err(SimError::Engine(_)) => refused += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(Book { world, entries, refused, price })
    }

    /// The book's equity and debt, at the oracle.
    fn totals(&self) -> Result<(f64, f64), SimError> {
        let m = &self.world.market;
        let (mut equity, mut debt) = (0.0, 0.0);
        for e in &self.entries {
            let h = m.position_health(e.id)?;
            equity += world::wad_to_f64(h.value_oracle) - world::wad_to_f64(h.debt_value);
            debt += world::wad_to_f64(h.debt_value);
        }
        Ok((equity, debt))
    }

    /// The oracle moves by `shock` at once and the pools are arbitraged to it; then the
    /// liquidators kill every position past its kill factor, round after round, until a round
    /// finds none. The book itself is not changed.
    pub fn shock(&self, shock: f64) -> Result<ShockOutcome, SimError> {
        if !(-0.99..=10.0).contains(&shock) {
            return Err(SimError::Scenario(format!("shock {shock}: need -0.99 to 10")));
        }
        let mut w = self.world.clone();
        let moved = world::price_from_f64(world::wad_to_f64(self.price.0) * (1.0 + shock))?;
        w.move_to(0, moved, None)?;
        let past_kill = |w: &World, id: u64| -> Result<Option<U256>, SimError> {
            if !w.market.positions().any(|p| p.id == id && p.open) {
                return Ok(None);
            }
            let h = w.market.position_health(id)?;
            let kill = u64::from(w.market.leverage_rules(id)?.kill_factor_bps.0);
            Ok((h.debt_ratio_bps > kill).then_some(h.debt_value))
        };
        let (mut at_risk, mut at_risk_debt) = (0, 0.0);
        for e in &self.entries {
            if let Some(d) = past_kill(&w, e.id)? {
                at_risk += 1;
                at_risk_debt += world::wad_to_f64(d);
            }
        }
        let quotes = [w.market.quote(&w.asset)?, w.market.quote(&w.stable)?];
        let paid_before = self.keeper_value(&w, quotes)?;
        let mut rounds = Vec::new();
        let (mut liquidated, mut liquidated_debt, mut bad_debt) = (0, 0.0, 0i128);
        loop {
            let due: Vec<(u64, U256)> = self
                .entries
                .iter()
                .filter_map(|e| past_kill(&w, e.id).transpose().map(|d| d.map(|d| (e.id, d))))
                .collect::<Result<_, _>>()?;
            if due.is_empty() || rounds.len() >= 1_000 {
                break;
            }
            let mut killed = 0;
            for (id, debt) in due {
                // A kill the engine refuses (no longer liquidatable: an earlier kill's selling
                // can raise a short's value) is left for the next round's check.
                let kill = Command::Liquidate { liquidator: KEEPER.into(), position: id };
                if w.run(kill).is_err() {
                    continue;
                }
                killed += 1;
                liquidated_debt += world::wad_to_f64(debt);
                for e in w.events() {
                    if let Event::BadDebt { token, amount, .. } = e {
                        let q = if *token == w.asset { quotes[0] } else { quotes[1] };
                        bad_debt += value(amount.0, q)?;
                    }
                }
            }
            if killed == 0 {
                break;
            }
            liquidated += killed;
            rounds.push(killed);
        }
        let pool_price = match w.kind {
            crate::scenario::PoolKind::ConstantProduct => {
                let p = &w.market.amm_pool(&w.pool)?.amm;
                let units = world::wad_to_f64(quotes[0].unit) / world::wad_to_f64(quotes[1].unit);
                world::wad_to_f64(p.reserve1) / world::wad_to_f64(p.reserve0) * units
            }
            crate::scenario::PoolKind::V3 => world::wad_to_f64(moved.0),
        };
        Ok(ShockOutcome {
            shock,
            price: world::wad_to_f64(moved.0),
            at_risk,
            at_risk_debt,
            liquidated,
            liquidated_debt,
            rounds,
            bad_debt: bad_debt as f64 / 1e18,
            liquidators_paid: (self.keeper_value(&w, quotes)? - paid_before) as f64 / 1e18,
            pool_price,
        })
    }

    /// The liquidator's holdings of the pool's tokens at `quotes`.
    fn keeper_value(
        &self,
        w: &World,
        quotes: [levfarm_core::position::valuation::Quote; 2],
    ) -> Result<i128, SimError> {
        Ok(value(w.balance(KEEPER, &w.asset), quotes[0])?
            + value(w.balance(KEEPER, &w.stable), quotes[1])?)
    }
}

/// Opens the book and runs every shock.
pub fn stress(
    scenario: &Scenario,
    price: Price,
    spec: &BookSpec,
    shocks: &[f64],
) -> Result<StressOutput, SimError> {
    let book = Book::open(scenario, price, spec)?;
    let (equity, debt) = book.totals()?;
    let outcomes = shocks.iter().map(|&s| book.shock(s)).collect::<Result<Vec<_>, _>>()?;
    Ok(StressOutput {
        scenario: scenario.name.clone(),
        book: *spec,
        opened: book.entries.len(),
        refused: book.refused,
        equity,
        debt,
        price: world::wad_to_f64(price.0),
        shocks: outcomes,
    })
}

/// One combination of a stress sweep: its settings and the book's shocks under them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StressRow {
    pub settings: Vec<(String, String)>,
    /// The open limit (work factor) and kill factor of the scenario's venue, in bps.
    pub work_factor_bps: u32,
    pub kill_factor_bps: u32,
    pub output: StressOutput,
    /// The largest bad debt over the shocks, as a share of the book's debt.
    pub worst_bad_debt: f64,
}

/// Runs the book under every combination of `grid` (scenario keys and values, as `backtest
/// --sweep` takes them), in parallel; rows in grid order whatever the thread count. Each
/// combination opens its own book from the same seed.
pub fn stress_sweep(
    scenario: &Scenario,
    grid: &[(String, Vec<String>)],
    price: Price,
    spec: &BookSpec,
    shocks: &[f64],
) -> Result<Vec<StressRow>, SimError> {
    use rayon::prelude::*;
    let combos = crate::run::combinations(scenario, grid)?;
    combos
        .into_par_iter()
        .map(|(settings, s)| {
            let output = stress(&s, price, spec, shocks)?;
            let l = s.leverage();
            let worst = output
                .shocks
                .iter()
                .map(|x| if output.debt > 0.0 { x.bad_debt / output.debt } else { 0.0 })
                .fold(0.0, f64::max);
            Ok(StressRow {
                settings,
                work_factor_bps: l.work_factor_bps,
                kill_factor_bps: l.kill_factor_bps,
                output,
                worst_bad_debt: worst,
            })
        })
        .collect()
}

/// The row whose worst bad debt is within `budget` (a share of the book's debt) with the
/// highest open limit, the least bad debt among those; `None` when no row keeps the budget.
pub fn within_budget(rows: &[StressRow], budget: f64) -> Option<&StressRow> {
    rows.iter().filter(|r| r.worst_bad_debt <= budget).fold(None, |best: Option<&StressRow>, r| {
        match best {
            Some(b)
                if (b.work_factor_bps, std::cmp::Reverse(b.worst_bad_debt.to_bits()))
                    >= (r.work_factor_bps, std::cmp::Reverse(r.worst_bad_debt.to_bits())) =>
            {
                Some(b)
            }
            _ => Some(r),
        }
    })
}
