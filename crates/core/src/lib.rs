//! levfarm-core: the exact, deterministic leverage-mining engine.
//!
//! Everything goes through one state machine, [`Market::apply`]: commands in, events out, no
//! I/O, no clock, no randomness, and a rejected command changes nothing. Money is exact
//! integer fixed point on `U256` with the reference contracts' rounding ([`math`]).
//!
//! ```
//! use levfarm_core::{Command, Market};
//!
//! let mut market = Market::new();
//! let script = r#"{"op":"create_token","symbol":"USDC","decimals":6}
//! {"op":"mint","to":"alice","token":"USDC","amount":"1000000000"}"#;
//! for line in script.lines() {
//!     let command: Command = serde_json::from_str(line).unwrap();
//!     market.apply(&command).unwrap();
//! }
//! let alice = levfarm_core::Holder::Account("alice".into());
//! assert_eq!(market.balance(&alice, "USDC").to_string(), "1000000000");
//! ```
//!
//! Modules: [`math`] (fixed point), [`rates`] (interest rate models), [`lending`] (lending
//! pools), [`amm`] (constant-product pools and zaps), [`farm`] (reward emission),
//! [`position`] (leveraged positions: valuation, liquidation prices), [`orders`] (protection
//! orders and when they are due), [`market`] (the state machine and its commands and events).

pub mod amm;
mod error;
pub mod farm;
pub mod lending;
pub mod market;
pub mod math;
pub mod orders;
pub mod position;
pub mod price;
pub mod rates;
pub mod types;

pub use error::Error;
pub use market::{Command, Event, Market};
pub use types::{Amount, Holder};
