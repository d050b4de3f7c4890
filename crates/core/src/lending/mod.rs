//! Lending pools: one per token, Aave-style.
//!
//! Lenders supply through interest-bearing scaled shares (`amount / liquidity_index`), borrowers
//! owe debt shares (`amount / borrow_index`). The supply index grows linearly between updates
//! ([`crate::math::interest::linear_interest`]) and the borrow index compounds with the
//! aave-v3-origin (v3.4+) formula ([`crate::math::interest::compounded_interest`]). Rounding
//! follows Aave v3.4+: debt rounds up, anything paid out rounds down.

mod config;
mod pool;

pub use config::LendingConfig;
pub use pool::{Accrual, AccrualPlan, LendingPool, RepayOutcome};
