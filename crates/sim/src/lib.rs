//! levfarm-sim: the deterministic driver around the exact engine.
//!
//! - [`data`]: price histories (CSV, Parquet behind the `parquet` feature) with located errors
//!   and explicit gap handling; the bundled ETH/USD, Aave utilization and Uniswap volume data.
//! - [`scenario`]: backtest scenarios in TOML, with a JSON schema and a commented example.
//! - [`world`]: the scenario's market built through engine commands, and its actors.
//! - [`models`]: other borrowers' utilization, trading volume, the reward token's price.
//! - [`book`]: profit and loss decomposed exactly into fees, rewards, interest, impermanent
//!   loss, price exposure and costs.
//! - [`backtest`]: the bar loop, protection orders before liquidators, and the alternatives.
//! - [`quote`]: the instant preview of a position.
//! - [`portfolio`]: several positions sharing one capital, under portfolio rules.
//! - [`stress`]: a book of positions under price shocks, liquidations and their cascades.
//!
//! Same scenario and data, same bytes out: nothing here reads a clock or an unseeded random
//! source, and parallel runs are independent.

pub mod backtest;
pub mod book;
pub mod data;
pub mod extended;
pub mod models;
pub mod portfolio;
pub mod quote;
pub mod run;
pub mod scenario;
pub mod stress;
pub mod world;

pub use backtest::{RunResult, Strategy};
/// The scenario's `[risk]` section, from the risk engine's own crate.
pub use levfarm_risk_spec as risk_spec;
pub use run::{Backtest, BacktestOutput};
pub use scenario::Scenario;

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Data(#[from] data::DataError),
    #[error("{0}")]
    Scenario(String),
    #[error(transparent)]
    ScenarioFile(#[from] scenario::ScenarioError),
    #[error("the engine refused: {0}")]
    Engine(#[from] levfarm_core::Error),
    #[error("{0}")]
    Refused(String),
    #[error("internal: {0}")]
    Internal(String),
    /// What stopped a run, at the bar where it happened.
    #[error("bar {time} (close {price}): {source}")]
    AtBar { time: String, price: String, source: Box<SimError> },
    /// What stopped a portfolio, in the position where it happened.
    #[error("{name}: {source}")]
    InPosition { name: String, source: Box<SimError> },
}

impl SimError {
    /// The error itself, without the bar it happened at.
    pub fn root(&self) -> &SimError {
        match self {
            SimError::AtBar { source, .. } | SimError::InPosition { source, .. } => source.root(),
            other => other,
        }
    }
}
