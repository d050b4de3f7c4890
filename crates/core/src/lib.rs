//! levfarm-core: the exact, deterministic leverage-mining engine.
pub mod amm;
pub mod math;
pub mod rates;
