//! Aave `PercentageMath`: basis points on a 1e4 factor, rounding half up.

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use super::wad_ray::{half_up_div, half_up_mul};
use super::MathError;

/// 1e4: 100.00%.
pub const PERCENTAGE_FACTOR: u32 = 10_000;

/// Basis points: 1/10,000.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Bps(pub u32);

impl Bps {
    pub const ZERO: Bps = Bps(0);
    pub const ONE_HUNDRED_PERCENT: Bps = Bps(PERCENTAGE_FACTOR);

    pub fn as_u256(self) -> U256 {
        U256::from(self.0)
    }

    /// `floor(amount * self / 1e4)`, the Alpaca and Uniswap way of taking a share.
    pub fn of_floor(self, amount: U256) -> Result<U256, MathError> {
        super::mul_div(amount, self.as_u256(), U256::from(PERCENTAGE_FACTOR))
    }
}

impl std::fmt::Display for Bps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}

/// `(value * percentage + 0.5e4) / 1e4` (Aave `percentMul`).
pub fn percent_mul(value: U256, percentage: Bps) -> Result<U256, MathError> {
    let half = U256::from(PERCENTAGE_FACTOR / 2);
    half_up_mul(value, percentage.as_u256(), U256::from(PERCENTAGE_FACTOR), half, "percent_mul")
}

/// `(value * 1e4 + percentage / 2) / percentage` (Aave `percentDiv`).
pub fn percent_div(value: U256, percentage: Bps) -> Result<U256, MathError> {
    half_up_div(value, percentage.as_u256(), U256::from(PERCENTAGE_FACTOR), "percent_div")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rounds_half_up() {
        // 1 * 50.00% = 0.5, half up to 1; 1 * 49.99% = 0.4999, down to 0.
        assert_eq!(percent_mul(U256::from(1), Bps(5000)).unwrap(), U256::from(1));
        assert_eq!(percent_mul(U256::from(1), Bps(4999)).unwrap(), U256::ZERO);
        assert_eq!(Bps(833).of_floor(U256::from(100)).unwrap(), U256::from(8));
        assert!(percent_div(U256::from(1), Bps(0)).is_err());
        assert_eq!(Bps(8333).to_string(), "83.33%");
    }
}
