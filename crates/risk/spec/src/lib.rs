//! levfarm-risk-spec: the `[risk]` section of a scenario, how `levfarm risk` draws its futures.
//! It lives beside the risk engine (`levfarm-risk`) that reads it; the scenario file's type
//! (`levfarm_sim::Scenario`) holds it, so it sits below both.
//!
//! The market, the position and its protection come from the rest of the scenario; this
//! section says how many paths, over what horizon, under which price model, and which of the
//! other risks (stochastic utilization, the reward token's price, a smart-contract hazard) are
//! switched on.

pub use levfarm_market::Hazard;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use levfarm_market::UtilizationModel;

/// Monte Carlo settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RiskSpec {
    /// Paths per configuration.
    pub paths: u64,
    /// Horizon of each path, in days.
    pub horizon_days: u32,
    /// Steps per day (24 = hourly); must divide 86,400.
    pub steps_per_day: u32,
    /// Seed: a path's randomness depends on (seed, path id) only.
    pub seed: u64,
    /// The asset's price at the start; the data's last close when absent.
    pub start_price: Option<f64>,
    /// Leverages to run (each with every other setting); empty = `position.leverage` alone.
    pub leverages: Vec<f64>,
    /// The liquidation probability the recommended maximum leverage must stay under.
    pub target_liquidation_probability: f64,
    /// The asset's price process.
    pub model: PriceModelSpec,
    /// A second volatile token in place of the stable one (a volatile/volatile pool).
    pub second_asset: Option<SecondAsset>,
    /// Other borrowers' utilization of the borrowed token, per path; absent = the market's
    /// model (constant or mean-reverting).
    pub utilization: Option<UtilizationModel>,
    /// The reward token's price: geometric Brownian motion from `market.rewards.price`.
    pub reward: RewardRisk,
    /// The protocols' smart-contract risk.
    pub hazard: Hazard,
    /// Points of the equity fan chart (evenly spaced over the horizon, end included).
    pub fan_points: u32,
}

/// Price processes. Parameters are per year. `mu` means the same in every model: the price's
/// expected growth, `E[P_t] = P_0·e^{mu·t}`; 0 is no drift (the price is a martingale), and
/// the default. A history's own drift (ETH's 2018-2023 data: about 0.16 a year, with a
/// standard error of about 0.43) is an estimate, not a forecast; `levfarm risk --calibrate`
/// prints it with its error, and any drift used is printed in every result's header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PriceModelSpec {
    /// Geometric Brownian motion.
    Gbm { mu: f64, sigma: f64 },
    /// Merton jump-diffusion: GBM plus Poisson jumps (`lambda` per year) of log size
    /// N(`jump_mean`, `jump_std`²); `mu` is the total drift, jumps compensated.
    Merton { mu: f64, sigma: f64, lambda: f64, jump_mean: f64, jump_std: f64 },
    /// GARCH(1,1) on the step's log return: `r = mu·dt − h/2 + e`, `e = sqrt(h)·z`,
    /// `h' = omega + alpha·e² + beta·h` (omega in per-step variance); the `− h/2` makes `mu`
    /// the price's drift, as in the other models.
    Garch { mu: f64, omega: f64, alpha: f64, beta: f64 },
    /// Blocks of consecutive real returns from `data.prices`, drawn with replacement, every
    /// return shifted by one constant so that the price's expected growth is `mu` a year
    /// (default 0): the history's volatility, tails and clustering, without its drift.
    Bootstrap {
        block_hours: u32,
        #[serde(default)]
        mu: f64,
    },
}

/// The second token's own process, correlated with the asset's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondAsset {
    /// Its price at the start (the pool's stable token is then worth this much).
    pub price: f64,
    pub mu: f64,
    pub sigma: f64,
    /// Correlation of its shocks with the asset's.
    pub rho: f64,
}

/// The reward token's price process.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RewardRisk {
    /// Drift per year (farm tokens tend to fall).
    pub drift: f64,
    /// Volatility per year.
    pub volatility: f64,
}

impl Default for RiskSpec {
    fn default() -> Self {
        Self {
            paths: 12_000,
            horizon_days: 365,
            steps_per_day: 24,
            seed: 1,
            start_price: None,
            leverages: vec![1.25, 1.5, 2.0, 2.5, 3.0],
            target_liquidation_probability: 0.05,
            model: PriceModelSpec::Bootstrap { block_hours: 24, mu: 0.0 },
            second_asset: None,
            utilization: Some(UtilizationModel::MeanReverting {
                mean: 0.7,
                speed_per_year: 12.0,
                volatility: 1.5,
                seed: 0,
            }),
            reward: RewardRisk::default(),
            hazard: Hazard::default(),
            fan_points: 53,
        }
    }
}

impl Default for RewardRisk {
    fn default() -> Self {
        Self { drift: -0.5, volatility: 1.0 }
    }
}

impl RiskSpec {
    /// Seconds per step.
    pub fn step_seconds(&self) -> u64 {
        86_400 / u64::from(self.steps_per_day.max(1))
    }

    /// Steps per path.
    pub fn steps(&self) -> u64 {
        u64::from(self.horizon_days) * u64::from(self.steps_per_day)
    }

    /// Checks every setting; `fail(field, message)` names the offending one.
    pub fn validate<E>(&self, fail: &dyn Fn(&str, String) -> Result<(), E>) -> Result<(), E> {
        let finite = |v: f64| v.is_finite();
        if self.paths == 0 || self.paths > 1_000_000_000 {
            fail("risk.paths", format!("{} must be between 1 and 1e9", self.paths))?;
        }
        if self.horizon_days == 0 || self.horizon_days > 3_650 {
            fail("risk.horizon_days", format!("{} must be between 1 and 3650", self.horizon_days))?;
        }
        if self.steps_per_day == 0 || 86_400 % self.steps_per_day != 0 {
            fail(
                "risk.steps_per_day",
                format!("{} must divide 86400 (1, 24, 96, 1440, ...)", self.steps_per_day),
            )?;
        }
        if let Some(p) = self.start_price {
            if !(finite(p) && p > 0.0 && p < 1e12) {
                fail("risk.start_price", format!("{p} must be a positive price"))?;
            }
        }
        for l in &self.leverages {
            if !(finite(*l) && (1.0..=20.0).contains(l)) {
                fail("risk.leverages", format!("{l} must be between 1 and 20"))?;
            }
        }
        let t = self.target_liquidation_probability;
        if !(finite(t) && t > 0.0 && t < 1.0) {
            fail("risk.target_liquidation_probability", format!("{t} must be between 0 and 1"))?;
        }
        let vol = |field: &str, v: f64| {
            if finite(v) && (0.0..=20.0).contains(&v) {
                Ok(())
            } else {
                fail(field, format!("{v} must be a volatility between 0 and 20 per year"))
            }
        };
        // A drift of 5 a year is e^5 ≈ 148 times the price in a year: past that a run is
        // no longer a scenario but an overflow of the statistics.
        let drift = |field: &str, v: f64| {
            if finite(v) && v.abs() <= 5.0 {
                Ok(())
            } else {
                fail(field, format!("{v} must be a drift between -5 and 5 per year"))
            }
        };
        match &self.model {
            PriceModelSpec::Gbm { mu, sigma } => {
                drift("risk.model.mu", *mu)?;
                vol("risk.model.sigma", *sigma)?;
            }
            PriceModelSpec::Merton { mu, sigma, lambda, jump_mean, jump_std } => {
                drift("risk.model.mu", *mu)?;
                vol("risk.model.sigma", *sigma)?;
                if !(finite(*lambda) && (0.0..=10_000.0).contains(lambda)) {
                    fail("risk.model.lambda", format!("{lambda} must be 0 to 10000 jumps a year"))?;
                }
                if !(finite(*jump_mean) && jump_mean.abs() <= 5.0) {
                    fail("risk.model.jump_mean", format!("{jump_mean} must be within ±5"))?;
                }
                if !(finite(*jump_std) && (0.0..=5.0).contains(jump_std)) {
                    fail("risk.model.jump_std", format!("{jump_std} must be between 0 and 5"))?;
                }
                // The jumps' expected return a year, λ·(e^(m + s²/2) − 1), is compensated in
                // the drift; past ±10 a year the paths are all jumps and compensation.
                let kappa = (jump_mean + 0.5 * jump_std * jump_std).exp() - 1.0;
                if (lambda * kappa).abs() > 10.0 {
                    fail(
                        "risk.model.lambda",
                        format!(
                            "{lambda} jumps a year of mean log size {jump_mean} expect a return \
                             of {:.0} a year from jumps alone; keep lambda·(e^(jump_mean + \
                             jump_std²/2) − 1) within ±10",
                            lambda * kappa
                        ),
                    )?;
                }
            }
            PriceModelSpec::Garch { mu, omega, alpha, beta } => {
                drift("risk.model.mu", *mu)?;
                if !(finite(*omega) && *omega > 0.0 && *omega < 1.0) {
                    fail(
                        "risk.model.omega",
                        format!("{omega} must be a per-step variance in (0, 1)"),
                    )?;
                }
                if !(finite(*alpha) && *alpha >= 0.0 && finite(*beta) && *beta >= 0.0)
                    || alpha + beta >= 1.0
                {
                    fail(
                        "risk.model.alpha",
                        format!("alpha {alpha} and beta {beta} must be ≥ 0 with alpha + beta < 1"),
                    )?;
                }
            }
            PriceModelSpec::Bootstrap { block_hours, mu } => {
                drift("risk.model.mu", *mu)?;
                if *block_hours == 0 || *block_hours > 24 * 365 {
                    fail(
                        "risk.model.block_hours",
                        format!("{block_hours} must be between 1 and 8760"),
                    )?;
                }
            }
        }
        if let Some(s) = &self.second_asset {
            if !(finite(s.price) && s.price > 0.0) {
                fail("risk.second_asset.price", format!("{} must be a positive price", s.price))?;
            }
            drift("risk.second_asset.mu", s.mu)?;
            vol("risk.second_asset.sigma", s.sigma)?;
            if !(finite(s.rho) && (-1.0..=1.0).contains(&s.rho)) {
                fail("risk.second_asset.rho", format!("{} must be between -1 and 1", s.rho))?;
            }
        }
        if let Some(UtilizationModel::History { .. } | UtilizationModel::Bars { .. }) =
            &self.utilization
        {
            fail(
                "risk.utilization",
                "a history replays one path; use constant or mean_reverting".into(),
            )?;
        }
        drift("risk.reward.drift", self.reward.drift)?;
        vol("risk.reward.volatility", self.reward.volatility)?;
        if let Err(e) = self.hazard.check() {
            fail(&format!("risk.hazard.{}", e.field), e.message)?;
        }
        if self.fan_points < 2 || self.fan_points > 1_000 {
            fail("risk.fan_points", format!("{} must be between 2 and 1000", self.fan_points))?;
        }
        Ok(())
    }
}
