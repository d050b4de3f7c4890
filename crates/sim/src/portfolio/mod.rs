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
pub use run::{
    Alternative, PortfolioBacktest, PortfolioOutput, PortfolioTotal, PositionOutcome, WorstDays,
};

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
    /// How `levfarm risk` draws the portfolio's futures: the assets' joint model, the stable
    /// token's depeg, venue failures, and the recommendation's limits.
    #[serde(default)]
    pub risk: PortfolioRisk,
}

/// The joint futures of a portfolio's assets (the tokens with a price history) and its other
/// risks, for `levfarm risk PORTFOLIO.toml`. Paths, horizon, steps, seed and the other risks
/// (utilization, the reward token, each venue's hazard) are `[risk]`'s, as for one position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PortfolioRisk {
    /// `bootstrap`: blocks of the histories' aligned returns, the same blocks for every
    /// asset (`risk.model`'s `block_hours` when it is a bootstrap, else 24); `gbm`:
    /// correlated geometric Brownian motions; `merton`: the same with jumps common to every
    /// asset.
    pub model: JointModel,
    /// Per asset: its yearly drift `mu` (every model; 0 when absent) and volatility `sigma`
    /// (gbm and merton, required).
    pub assets: BTreeMap<String, AssetRisk>,
    /// Correlations of the assets' shocks (gbm and merton), `{ "WETH/WBTC" = 0.77 }`; a pair
    /// not named is uncorrelated.
    pub correlation: BTreeMap<String, f64>,
    /// Merton's jumps: `lambda` a year, at the same times for every asset, each asset's log
    /// jump `mean + std·z` with the same `z` (its own `mean` and `std` in `assets` when set).
    pub jumps: Option<CommonJumps>,
    /// The stable token losing its peg: events at `probability_per_year`, the price falling
    /// by `depth` and recovering with a half-life of `half_life_days`.
    pub depeg: Option<Depeg>,
    /// A failure that strikes every venue at once (beside each venue's own hazard), each
    /// taking its venue's severity.
    pub common_hazard: Option<levfarm_market::Hazard>,
    /// The recommendation: the portfolio's CVaR at 99% at most this share of the capital...
    pub cvar_limit: f64,
    /// ...and the probability that any position is liquidated at most this.
    pub liquidation_limit: f64,
    /// The leverages searched for each position (the weights are searched on a 10% grid).
    pub leverages: Vec<f64>,
}

/// The joint price models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JointModel {
    #[default]
    Bootstrap,
    Gbm,
    Merton,
}

/// One asset's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AssetRisk {
    pub mu: f64,
    pub sigma: Option<f64>,
    /// Its own log jump's mean and spread, in place of `jumps`'.
    pub jump_mean: Option<f64>,
    pub jump_std: Option<f64>,
}

/// Jumps common to every asset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommonJumps {
    pub lambda: f64,
    pub mean: f64,
    pub std: f64,
}

/// A stablecoin's depeg.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Depeg {
    pub probability_per_year: f64,
    pub depth: f64,
    pub half_life_days: f64,
}

impl Default for PortfolioRisk {
    fn default() -> Self {
        PortfolioRisk {
            model: JointModel::Bootstrap,
            assets: BTreeMap::new(),
            correlation: BTreeMap::new(),
            jumps: None,
            depeg: None,
            common_hazard: None,
            cvar_limit: 0.5,
            liquidation_limit: 0.05,
            leverages: vec![1.0, 1.5, 2.0, 2.5, 3.0],
        }
    }
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
        self.validate_portfolio_risk(&pf.risk).map_err(|(field, message)| {
            ScenarioError::Invalid { source_name: source_name.into(), field, message }
        })?;
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

impl Scenario {
    /// The portfolio's assets: the tokens of its positions' pairs that have a price history,
    /// in the positions' order.
    pub fn portfolio_assets(&self) -> Vec<String> {
        let mut assets: Vec<String> = Vec::new();
        for s in self.portfolio_positions() {
            for token in s.pair() {
                if self.history_of(token).is_some() && !assets.iter().any(|a| a == token) {
                    assets.push(token.to_string());
                }
            }
        }
        assets
    }

    /// The assets' correlation matrix from `portfolio.risk.correlation`, in
    /// [`Self::portfolio_assets`]' order (1 on the diagonal, 0 where a pair is not named).
    pub fn portfolio_correlation(&self) -> Vec<Vec<f64>> {
        let assets = self.portfolio_assets();
        let n = assets.len();
        let mut m = vec![vec![0.0; n]; n];
        for (i, row) in m.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        if let Some(pf) = &self.portfolio {
            for (key, &rho) in &pf.risk.correlation {
                let Some((a, b)) = key.split_once('/') else { continue };
                let index = |t: &str| assets.iter().position(|x| x == t);
                if let (Some(i), Some(j)) = (index(a), index(b)) {
                    m[i][j] = rho;
                    m[j][i] = rho;
                }
            }
        }
        m
    }

    /// Checks `[portfolio.risk]`: `(field, message)` for the first setting that is wrong.
    fn validate_portfolio_risk(&self, r: &PortfolioRisk) -> Result<(), (String, String)> {
        let assets = self.portfolio_assets();
        let key = |k: &str| format!("portfolio.risk.{k}");
        let finite_in = |v: f64, lo: f64, hi: f64| v.is_finite() && lo <= v && v <= hi;
        let parametric = r.model != JointModel::Bootstrap;
        for (token, a) in &r.assets {
            let at = |f: &str| key(&format!("assets.{token}.{f}"));
            if !assets.contains(token) {
                return Err((
                    key(&format!("assets.{token}")),
                    format!("{token} is not one of the portfolio's assets ({})", assets.join(", ")),
                ));
            }
            if !finite_in(a.mu, -10.0, 10.0) {
                return Err((at("mu"), format!("{} must be between -10 and 10 a year", a.mu)));
            }
            if let Some(s) = a.sigma.filter(|s| !(s.is_finite() && *s > 0.0 && *s <= 10.0)) {
                return Err((at("sigma"), format!("{s} must be above 0 and at most 10 a year")));
            }
            if let Some(m) = a.jump_mean.filter(|m| !finite_in(*m, -5.0, 5.0)) {
                return Err((at("jump_mean"), format!("{m} must be between -5 and 5")));
            }
            if let Some(s) = a.jump_std.filter(|s| !finite_in(*s, 0.0, 5.0)) {
                return Err((at("jump_std"), format!("{s} must be between 0 and 5")));
            }
        }
        if parametric {
            for token in &assets {
                if r.assets.get(token).and_then(|a| a.sigma).is_none() {
                    return Err((
                        key(&format!("assets.{token}.sigma")),
                        format!(
                            "the {:?} model needs {token}'s volatility (`levfarm risk \
                             --calibrate` fits it from its history)",
                            r.model
                        ),
                    ));
                }
            }
        }
        for (pair, rho) in &r.correlation {
            let k = key(&format!("correlation.\"{pair}\""));
            let Some((a, b)) = pair.split_once('/') else {
                return Err((k, "name a pair of assets as \"A/B\"".into()));
            };
            if a == b || !assets.iter().any(|x| x == a) || !assets.iter().any(|x| x == b) {
                return Err((
                    k,
                    format!("{pair} is not two of the portfolio's assets ({})", assets.join(", ")),
                ));
            }
            if !finite_in(*rho, -1.0, 1.0) {
                return Err((k, format!("{rho} must be between -1 and 1")));
            }
        }
        if cholesky(&self.portfolio_correlation()).is_none() {
            return Err((
                key("correlation"),
                "these correlations cannot hold together (the matrix is not positive \
                 semi-definite)"
                    .into(),
            ));
        }
        if r.model == JointModel::Merton && r.jumps.is_none() {
            return Err((key("jumps"), "the merton model needs its jumps".into()));
        }
        if let Some(j) = r.jumps {
            if !(finite_in(j.lambda, 0.0, 10_000.0)
                && finite_in(j.mean, -5.0, 5.0)
                && finite_in(j.std, 0.0, 5.0))
            {
                return Err((
                    key("jumps"),
                    "need 0 ≤ lambda ≤ 10000 a year, -5 ≤ mean ≤ 5, 0 ≤ std ≤ 5".into(),
                ));
            }
        }
        if let Some(d) = r.depeg {
            if !(finite_in(d.probability_per_year, 0.0, 0.999_999)
                && d.depth > 0.0
                && d.depth < 1.0
                && d.half_life_days > 0.0
                && d.half_life_days <= 3650.0)
            {
                return Err((
                    key("depeg"),
                    "need 0 ≤ probability_per_year < 1, 0 < depth < 1, 0 < half_life_days ≤ \
                     3650"
                        .into(),
                ));
            }
        }
        if let Some(Err(e)) = r.common_hazard.map(|h| h.check()) {
            return Err((key(&format!("common_hazard.{}", e.field)), e.message));
        }
        if !(r.cvar_limit > 0.0 && r.cvar_limit <= 1.0) {
            return Err((key("cvar_limit"), format!("{} must be in (0, 1]", r.cvar_limit)));
        }
        if !finite_in(r.liquidation_limit, 0.0, 1.0) {
            return Err((
                key("liquidation_limit"),
                format!("{} must be in [0, 1]", r.liquidation_limit),
            ));
        }
        if r.leverages.is_empty() || r.leverages.len() > 8 {
            return Err((key("leverages"), "give 1 to 8 leverages to search".into()));
        }
        if let Some(l) = r.leverages.iter().find(|l| !finite_in(**l, 1.0, 20.0)) {
            return Err((key("leverages"), format!("{l} must be between 1 and 20")));
        }
        Ok(())
    }
}

/// The lower-triangular `L` with `L·Lᵀ = m` for a positive semi-definite `m` (a zero column
/// where `m` is singular); `None` when `m` is not positive semi-definite (to 1e-12).
pub fn cholesky(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = m[i][i] - sum;
                if d < -1e-12 {
                    return None;
                }
                l[i][j] = d.max(0.0).sqrt();
            } else if l[j][j] > 0.0 {
                l[i][j] = (m[i][j] - sum) / l[j][j];
            } else if (m[i][j] - sum).abs() > 1e-12 {
                return None;
            }
        }
    }
    Some(l)
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
