//! `levfarm quote PORTFOLIO.toml`: each position's quote (its liquidation prices and their
//! distances, its yields), and the portfolio's equity and liquidations after instant joint
//! moves of its two main assets, every pool arbitraged to the moved prices.

use levfarm_core::types::Name;
use levfarm_core::Command;
use serde::Serialize;

use crate::quote::{self, Quote};
use crate::world::{self, ARB};
use crate::SimError;

use super::PortfolioBacktest;

/// The moves of each asset the grid crosses.
pub const JOINT_MOVES: [f64; 9] = [-0.5, -0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.25, 0.5];

/// A portfolio's quote.
#[derive(Debug, Clone, Serialize)]
pub struct PortfolioQuote {
    pub time: i64,
    /// What the positions were given, in the numeraire.
    pub capital: f64,
    /// Each position's name and quote, in the portfolio's order.
    pub positions: Vec<(String, Quote)>,
    /// The grid's assets (one or two; the others stay at their prices) and their prices now.
    pub assets: Vec<String>,
    pub prices: Vec<f64>,
    pub moves: Vec<f64>,
    /// `grid[i][j]`: the first asset moved by `moves[i]`, the second by `moves[j]` (one row
    /// for one asset).
    pub grid: Vec<Vec<JointMove>>,
    pub notes: Vec<String>,
}

/// The portfolio after a joint move.
#[derive(Debug, Clone, Serialize)]
pub struct JointMove {
    /// The positions' equity summed, in the numeraire.
    pub equity: f64,
    /// Against the capital.
    pub change: f64,
    /// The positions past their kill factor, by name.
    pub liquidatable: Vec<String>,
}

impl PortfolioBacktest {
    /// Quotes every position at the last common bar, then values the portfolio on the grid
    /// of joint moves of its first two volatile assets (the tokens with a price history, in
    /// the positions' order).
    pub fn quote(&self) -> Result<PortfolioQuote, SimError> {
        let mut positions = Vec::new();
        let mut opened = Vec::new();
        for bt in &self.positions {
            let name = bt.scenario.name.clone();
            let (q, world) = quote::quote_opened(bt)
                .map_err(|e| SimError::InPosition { name: name.clone(), source: Box::new(e) })?;
            positions.push((name, q));
            opened.push(world);
        }
        let s = &self.scenario;
        let mut assets: Vec<String> = Vec::new();
        for bt in &self.positions {
            for token in bt.scenario.pair() {
                if s.history_of(token).is_some() && !assets.iter().any(|a| a == token) {
                    assets.push(token.to_string());
                }
            }
        }
        assets.truncate(2);
        let (w0, _) = &opened[0];
        let prices: Vec<f64> = assets
            .iter()
            .map(|a| w0.market.quote(a).map(|q| world::wad_to_f64(q.price_wad)))
            .collect::<Result<_, _>>()?;
        let capital: f64 = positions.iter().map(|(_, q)| q.equity).sum();
        let columns: &[f64] = if assets.len() > 1 { &JOINT_MOVES } else { &[0.0] };
        let mut grid = Vec::new();
        for &a in &JOINT_MOVES {
            let mut row = Vec::new();
            for &b in columns {
                let mut equity = 0.0;
                let mut liquidatable = Vec::new();
                for (k, (w, id)) in opened.iter().enumerate() {
                    let mut c = w.clone();
                    for (token, (p, d)) in assets.iter().zip(prices.iter().zip([a, b])) {
                        let token: Name = token.as_str().into();
                        if c.market.quote(&token).is_ok() {
                            c.set_price(&token, world::price_from_f64(p * (1.0 + d))?)?;
                        }
                    }
                    c.run(Command::Arbitrage { account: ARB.into(), pool: c.pool.clone() })?;
                    let h = c.market.position_health(*id)?;
                    equity += world::wad_to_f64(h.value_oracle) - world::wad_to_f64(h.debt_value);
                    let kill = self.positions[k].scenario.leverage().kill_factor_bps;
                    if h.debt_ratio_bps > u64::from(kill) {
                        liquidatable.push(positions[k].0.clone());
                    }
                }
                row.push(JointMove { equity, change: equity / capital - 1.0, liquidatable });
            }
            grid.push(row);
        }
        let mut notes = vec![format!(
            "moves are instant: each pool arbitraged to the moved prices, valued at the oracle, \
             debt as it is; {}",
            match assets.len() {
                1 => format!("the grid moves {} alone", assets[0]),
                _ => format!("the grid moves {} (rows) and {} (columns)", assets[0], assets[1]),
            }
        )];
        let mut held: Vec<&str> = Vec::new();
        for token in self.positions.iter().flat_map(|bt| bt.scenario.pair()) {
            if s.history_of(token).is_some()
                && !assets.iter().any(|a| a == token)
                && !held.contains(&token)
            {
                held.push(token);
            }
        }
        if !held.is_empty() {
            notes.push(format!("{} stay at their prices in the grid", held.join(", ")));
        }
        Ok(PortfolioQuote {
            time: positions[0].1.time,
            capital,
            positions,
            assets,
            prices,
            moves: JOINT_MOVES.to_vec(),
            grid,
            notes,
        })
    }
}
