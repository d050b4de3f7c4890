//! levfarm-risk: Monte Carlo futures of a leveraged farming position.
//!
//! - [`paths`]: price models (GBM, Merton jump-diffusion, GARCH(1,1), block bootstrap of real
//!   returns, a correlated second asset), seeded per `(seed, path id)`;
//! - [`calibrate`]: fits of the parametric models to a price history;
//! - [`kernel`]: the f64 path kernel with the exact engine's semantics for constant-product
//!   positions, held to the backtester by a differential test;
//! - [`stats`]: integer, mergeable accumulators and the figures they give;
//! - [`run`]: the grid, blocks across threads, shards and their merge;
//! - [`portfolio`]: a portfolio's positions on its assets' joint futures;
//! - [`fast`]: the frictionless kernel the NumPy baseline computes, for the benchmark.

/// The Monte Carlo settings this engine reads: a scenario's `[risk]` section.
pub use levfarm_risk_spec as spec;

pub mod advice;
pub mod calibrate;
pub mod draws;
pub mod fast;
pub mod kernel;
pub mod lanes;
pub mod paths;
pub mod pool;
pub mod portfolio;
pub mod rates;
pub mod run;
pub mod shard;
pub mod stats;
pub mod stress;
pub mod v3;

pub use run::{Partial, Plan};

/// What can go wrong in a risk run.
#[derive(Debug, thiserror::Error)]
pub enum RiskError {
    /// A setting or file the user gave.
    #[error("{0}")]
    Input(String),
    /// A market the kernel does not model.
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Sim(Box<levfarm_sim::SimError>),
    #[error(transparent)]
    Scenario(Box<levfarm_sim::scenario::ScenarioError>),
    #[error(transparent)]
    Engine(Box<levfarm_core::Error>),
    /// The engine refused to open a configuration (a leverage above the work factor):
    /// which one, and why.
    #[error("{0}")]
    Refused(String),
    #[error("interrupted")]
    Interrupted,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<levfarm_sim::SimError> for RiskError {
    fn from(e: levfarm_sim::SimError) -> Self {
        RiskError::Sim(Box::new(e))
    }
}

impl From<levfarm_sim::scenario::ScenarioError> for RiskError {
    fn from(e: levfarm_sim::scenario::ScenarioError) -> Self {
        RiskError::Scenario(Box::new(e))
    }
}

impl From<levfarm_core::Error> for RiskError {
    fn from(e: levfarm_core::Error) -> Self {
        RiskError::Engine(Box::new(e))
    }
}
