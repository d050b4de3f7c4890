//! A portfolio: several leveraged positions, each on its own pool and venue with its own
//! leverage, borrowed tokens, range and protection, sharing one capital and one market's
//! prices, under portfolio rules (rebalancing the allocation, a stop on the drawdown).
//!
//! A scenario file is a portfolio when it has a `[portfolio]` table: its `[[portfolio.positions]]`
//! take the place of `[position]` and `[protection]`, and everything else (the data, the
//! market, the keepers, the costs) is the portfolio's. Each position is the scenario it would be
//! alone ([`Scenario::portfolio_positions`]), so it is checked, opened and run by the same code
//! as a single position, and a portfolio of one position is that position's backtest.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::scenario::{PositionSpec, ProtectionSpec, Scenario, ScenarioError};

mod quote;
mod run;
pub use quote::{JointMove, PortfolioQuote, JOINT_MOVES};
pub use run::{Alternative, PortfolioBacktest, PortfolioOutput, PortfolioTotal, PositionOutcome};

/// The most positions a portfolio holds.
pub const MAX_POSITIONS: usize = 16;

/// The portfolio's capital, positions and rules.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortfolioSpec {
    /// The whole capital in the numeraire (dollars), split by the positions' `weight`s. With
    /// `amount`s instead it may be left out (it is their sum) or must equal their sum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capital: Option<f64>,
    /// The positions: each `{ name, weight or amount, position = {...}, protection = {...} }`.
    pub positions: Vec<PortfolioEntry>,
    /// Bring the open positions back to their weights every this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebalance_days: Option<f64>,
    /// Or whenever an open position's share of the open positions' equity is this far from its
    /// target share (absolute: 0.05 is five points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebalance_band: Option<f64>,
    /// Close every position when the portfolio's equity has fallen this share below its peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawdown_stop: Option<f64>,
    /// Yearly staking yields by token (`{ WETH = 0.03 }`), for the alternative that holds each
    /// position's asset staked; a token not named earns nothing.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub staking: BTreeMap<String, f64>,
}

/// One position of a portfolio.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortfolioEntry {
    /// A short name for tables; `POOL@VENUE Lx` when omitted.
    #[serde(default)]
    pub name: String,
    /// Its share of `capital`, in (0, 1]; the weights sum to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Or its equity in the numeraire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    /// The position as `[position]` takes it (pool, venue, leverage, borrow, range); its
    /// equity is the weight's or the amount's, not set here.
    #[serde(default)]
    pub position: PositionSpec,
    /// Its protection as `[protection]` takes it; none when omitted.
    #[serde(default)]
    pub protection: ProtectionSpec,
}

/// The key of entry `i`'s field, as errors name it: `portfolio.positions[1].weight`.
pub fn entry_key(i: usize, field: &str) -> String {
    format!("portfolio.positions[{i}].{field}")
}

impl PortfolioSpec {
    /// Each position's equity in the numeraire, and the whole capital.
    pub fn amounts(&self) -> (Vec<f64>, f64) {
        match self.positions.first().and_then(|e| e.weight) {
            Some(_) => {
                let capital = self.capital.unwrap_or(0.0);
                let amounts =
                    self.positions.iter().map(|e| e.weight.unwrap_or(0.0) * capital).collect();
                (amounts, capital)
            }
            None => {
                let amounts: Vec<f64> =
                    self.positions.iter().map(|e| e.amount.unwrap_or(0.0)).collect();
                let sum = amounts.iter().sum();
                (amounts, self.capital.unwrap_or(sum))
            }
        }
    }

    /// Each position's name: its own, or `POOL@VENUE Lx` (with ` #N`, its place from 1, where
    /// two unnamed positions would share one).
    pub fn names(&self) -> Vec<String> {
        let default = |e: &PortfolioEntry| {
            format!("{}@{} {}x", e.position.pool, e.position.venue, e.position.leverage)
        };
        let mut names: Vec<String> = self
            .positions
            .iter()
            .map(|e| if e.name.is_empty() { default(e) } else { e.name.clone() })
            .collect();
        for i in 0..names.len() {
            let shared = names.iter().filter(|n| **n == names[i]).count() > 1;
            if shared && self.positions[i].name.is_empty() {
                names[i] = format!("{} #{}", names[i], i + 1);
            }
        }
        names
    }

    /// The target weights the rules bring the positions back to: each amount's share.
    pub fn weights(&self) -> Vec<f64> {
        let (amounts, capital) = self.amounts();
        amounts.iter().map(|a| a / capital).collect()
    }
}

impl Scenario {
    /// The portfolio's positions, each as the scenario it would be alone: this scenario's
    /// data, market, keepers, costs and report, with the entry's position (its equity the
    /// entry's amount), its protection and its name. Empty for a scenario without a
    /// portfolio.
    pub fn portfolio_positions(&self) -> Vec<Scenario> {
        let Some(portfolio) = &self.portfolio else { return Vec::new() };
        let (amounts, _) = portfolio.amounts();
        portfolio
            .positions
            .iter()
            .zip(amounts)
            .zip(portfolio.names())
            .map(|((entry, amount), name)| {
                let mut s = self.clone();
                s.portfolio = None;
                s.position = PositionSpec { equity: amount, ..entry.position.clone() };
                s.protection = entry.protection.clone();
                s.name = name;
                s
            })
            .collect()
    }

    /// Checks a portfolio: its capital and weights or amounts, its rules, its staking yields,
    /// and each position as a scenario of its own, whose errors are named at the entry.
    pub(crate) fn validate_portfolio(&self, source_name: &str) -> Result<(), ScenarioError> {
        let Some(pf) = &self.portfolio else { return Ok(()) };
        let fail = |field: String, message: String| {
            Err(ScenarioError::Invalid { source_name: source_name.into(), field, message })
        };
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let n = pf.positions.len();
        if !(1..=MAX_POSITIONS).contains(&n) {
            return fail(
                "portfolio.positions".into(),
                format!("{n} positions: a portfolio holds 1 to {MAX_POSITIONS}"),
            );
        }
        let by_weight = pf.positions[0].weight.is_some();
        let names = pf.names();
        for (i, e) in pf.positions.iter().enumerate() {
            match (e.weight, e.amount) {
                (Some(_), Some(_)) | (None, None) => {
                    return fail(entry_key(i, "weight"), "give a weight or an amount, one".into())
                }
                (Some(_), None) if !by_weight => {
                    return fail(
                        entry_key(i, "weight"),
                        "the first position has an amount: give every position an amount".into(),
                    )
                }
                (None, Some(_)) if by_weight => {
                    return fail(
                        entry_key(i, "amount"),
                        "the first position has a weight: give every position a weight".into(),
                    )
                }
                (Some(w), None) if !(positive(w) && w <= 1.0) => {
                    return fail(entry_key(i, "weight"), format!("{w} must be in (0, 1]"))
                }
                (None, Some(a)) if !(positive(a) && a <= 1e12) => {
                    return fail(
                        entry_key(i, "amount"),
                        format!("{a} must be above 0 and at most 1e12"),
                    )
                }
                _ => {}
            }
            let name = &names[i];
            if let Some(j) = names[..i].iter().position(|o| o == name) {
                return fail(
                    entry_key(i, "name"),
                    format!("{name:?} is also position {j}'s name: names tell them apart"),
                );
            }
        }
        if by_weight {
            let sum: f64 = pf.positions.iter().filter_map(|e| e.weight).sum();
            if (sum - 1.0).abs() > 1e-9 {
                return fail(
                    "portfolio.positions".into(),
                    format!("the weights sum to {sum}, not 1"),
                );
            }
            match pf.capital {
                Some(c) if positive(c) && c <= 1e12 => {}
                Some(c) => {
                    return fail(
                        "portfolio.capital".into(),
                        format!("{c} must be above 0 and at most 1e12"),
                    )
                }
                None => {
                    return fail(
                        "portfolio.capital".into(),
                        "weights need the capital they split".into(),
                    )
                }
            }
        } else if let Some(c) = pf.capital {
            let sum: f64 = pf.positions.iter().filter_map(|e| e.amount).sum();
            if (c - sum).abs() > 1e-9 * sum.max(1.0) {
                return fail(
                    "portfolio.capital".into(),
                    format!("{c} is not the amounts' sum {sum}: leave it out or make it so"),
                );
            }
        }
        if let Some(d) = pf.rebalance_days {
            if !(positive(d) && d <= 36_600.0) {
                return fail(
                    "portfolio.rebalance_days".into(),
                    format!("{d} must be above 0 and at most 36600 (100 years)"),
                );
            }
        }
        for (key, v) in [
            ("portfolio.rebalance_band", pf.rebalance_band),
            ("portfolio.drawdown_stop", pf.drawdown_stop),
        ] {
            if let Some(v) = v.filter(|v| !(positive(*v) && *v < 1.0)) {
                return fail(key.into(), format!("{v} must be in (0, 1)"));
            }
        }
        let tokens = self.market.pool_tokens();
        for (token, y) in &pf.staking {
            let key = format!("portfolio.staking.{token}");
            if !tokens.contains(&token.as_str()) {
                return fail(
                    key,
                    format!("{token} is in no pool; the pools' tokens are {}", tokens.join(", ")),
                );
            }
            if !(y.is_finite() && (0.0..=1.0).contains(y)) {
                return fail(key, format!("{y} must be a yearly yield in [0, 1]"));
            }
        }
        for (i, s) in self.portfolio_positions().iter().enumerate() {
            s.validate(source_name).map_err(|e| match e {
                ScenarioError::Invalid { source_name, field, message } => {
                    let field = match field.split_once('.') {
                        Some(("position" | "protection", _)) => entry_key(i, &field),
                        _ => field,
                    };
                    // A rule the entry's position breaks elsewhere (its pool's lending) still
                    // says which position.
                    let message = if field.starts_with("portfolio.") {
                        message
                    } else {
                        format!("position {i} ({}): {message}", s.name)
                    };
                    ScenarioError::Invalid { source_name, field, message }
                }
                other => other,
            })?;
        }
        Ok(())
    }
}

/// What a portfolio file must not say, found in its text: `[position]` or `[protection]`
/// beside the portfolio (its positions have their own), and an entry's `position.equity`
/// (the weight or amount sets it).
pub(crate) fn portfolio_shape(text: &str) -> Result<(), (String, String)> {
    let Ok(table) = text.parse::<toml::Table>() else { return Ok(()) };
    let Some(portfolio) = table.get("portfolio") else { return Ok(()) };
    for key in ["position", "protection"] {
        if table.contains_key(key) {
            return Err((
                key.into(),
                format!(
                    "a portfolio's positions each have their own: put it in \
                     [[portfolio.positions]] as {key} = {{ ... }}"
                ),
            ));
        }
    }
    let entries = portfolio.get("positions").and_then(toml::Value::as_array);
    for (i, entry) in entries.into_iter().flatten().enumerate() {
        let equity = entry.get("position").and_then(|p| p.get("equity"));
        if equity.is_some() {
            return Err((
                entry_key(i, "position.equity"),
                "the entry's weight or amount sets its equity".into(),
            ));
        }
    }
    Ok(())
}

/// The commented example portfolio `levfarm init --portfolio` writes: three positions over
/// two pairs and a cross pair, on two venues, on the bundled ETH and BTC histories.
pub const EXAMPLE_TOML: &str = include_str!("../portfolio_example.toml");
