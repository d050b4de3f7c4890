//! The swap fee as the pair contracts write it, and the protocol's share of LP fees.
//!
//! A constant-product pair keeps `numerator / denominator` of every input and takes the rest
//! as the LP fee. The scale is part of the fee, not a detail: the two-sided zap formula floors a
//! product of the denominator before its square root, so 997/1000 and 9970/10000 can give
//! swap amounts a wei apart (the one-sided formula is scale-invariant, its only floors being
//! the final ones). [`SwapFee::from_bps`] picks the scale the deployed contracts use.

use serde::{Deserialize, Serialize};

use super::AmmError;
use crate::math::{Bps, U256};

/// The share of each swap input a pair keeps after its fee, as `numerator / denominator`.
///
/// Always valid: `0 < numerator <= denominator`, checked by [`SwapFee::new`] and on
/// deserialization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "SwapFeeRepr", into = "SwapFeeRepr")]
pub struct SwapFee {
    numerator: u32,
    denominator: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwapFeeRepr {
    numerator: u32,
    denominator: u32,
}

impl SwapFee {
    /// Uniswap v2, SushiSwap: 0.30%, kept 997/1000.
    pub const UNISWAP_V2: SwapFee = SwapFee { numerator: 997, denominator: 1000 };
    /// PancakeSwap v2: 0.25%, kept 9975/10000.
    pub const PANCAKESWAP_V2: SwapFee = SwapFee { numerator: 9975, denominator: 10_000 };
    /// PancakeSwap v1 (and Alpaca's v1 workers): 0.20%, kept 998/1000.
    pub const PANCAKESWAP_V1: SwapFee = SwapFee { numerator: 998, denominator: 1000 };

    /// A fee keeping `numerator / denominator` of the input; errors unless
    /// `0 < numerator <= denominator`.
    pub fn new(numerator: u32, denominator: u32) -> Result<SwapFee, AmmError> {
        if numerator == 0 || numerator > denominator {
            return Err(AmmError::InvalidFee { numerator, denominator });
        }
        Ok(SwapFee { numerator, denominator })
    }

    /// The fee of `bps` basis points on the contracts' own scale: per mille when `bps` is a
    /// multiple of 10 (30 → 997/1000, 20 → 998/1000), else per ten thousand (25 → 9975/10000).
    pub fn from_bps(bps: Bps) -> Result<SwapFee, AmmError> {
        let fee = bps.0;
        if fee % 10 == 0 {
            SwapFee::new(1000u32.saturating_sub(fee / 10), 1000)
        } else {
            SwapFee::new(10_000u32.saturating_sub(fee), 10_000)
        }
    }

    /// The share kept, on [`SwapFee::denominator`] (997 for Uniswap v2).
    pub fn numerator(self) -> u32 {
        self.numerator
    }

    /// The fee's scale (1000 for Uniswap v2).
    pub fn denominator(self) -> u32 {
        self.denominator
    }

    /// The numerator as `U256`.
    pub(crate) fn kept(self) -> U256 {
        U256::from(self.numerator)
    }

    /// The denominator as `U256`.
    pub(crate) fn scale(self) -> U256 {
        U256::from(self.denominator)
    }

    /// `denominator - numerator`: the fee's share (3 for Uniswap v2). Never underflows, as the
    /// constructor checked `numerator <= denominator`.
    pub(crate) fn taken(self) -> U256 {
        U256::from(self.denominator.saturating_sub(self.numerator))
    }
}

impl TryFrom<SwapFeeRepr> for SwapFee {
    type Error = AmmError;
    fn try_from(raw: SwapFeeRepr) -> Result<Self, Self::Error> {
        SwapFee::new(raw.numerator, raw.denominator)
    }
}

impl From<SwapFee> for SwapFeeRepr {
    fn from(fee: SwapFee) -> Self {
        SwapFeeRepr { numerator: fee.numerator, denominator: fee.denominator }
    }
}

/// The protocol's (`feeTo`'s) share `1 / divisor` of the growth in `sqrt(k)`, minted as LP on
/// the next mint or burn (Uniswap v2 `_mintFee`). Uniswap's 1/6 is `divisor: 6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolFee {
    /// The share is `1 / divisor` of the fees; must be at least 1.
    pub divisor: u32,
}

impl ProtocolFee {
    /// Uniswap v2 with `feeTo` set: one sixth of the 0.30% fee.
    pub const UNISWAP_V2: ProtocolFee = ProtocolFee { divisor: 6 };

    /// `divisor - 1`, the weight of `rootK` in `_mintFee`'s denominator (5 for Uniswap).
    pub(crate) fn root_k_weight(self) -> Result<U256, AmmError> {
        match self.divisor.checked_sub(1) {
            Some(weight) => Ok(U256::from(weight)),
            None => Err(AmmError::InvalidProtocolFee { divisor: self.divisor }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_bps_uses_the_contracts_scale() {
        // 30 bps is a multiple of 10: per mille, 1000 - 3 = 997.
        assert_eq!(SwapFee::from_bps(Bps(30)).unwrap(), SwapFee::UNISWAP_V2);
        assert_eq!(SwapFee::from_bps(Bps(20)).unwrap(), SwapFee::PANCAKESWAP_V1);
        // 25 bps is not: per ten thousand, 10000 - 25 = 9975.
        assert_eq!(SwapFee::from_bps(Bps(25)).unwrap(), SwapFee::PANCAKESWAP_V2);
        assert_eq!(SwapFee::from_bps(Bps(0)).unwrap(), SwapFee::new(1000, 1000).unwrap());
        // 100% and more would keep nothing.
        assert!(SwapFee::from_bps(Bps(10_000)).is_err());
        assert!(SwapFee::from_bps(Bps(12_345)).is_err());
    }

    #[test]
    fn new_rejects_fees_outside_zero_to_one() {
        assert_eq!(
            SwapFee::new(0, 1000),
            Err(AmmError::InvalidFee { numerator: 0, denominator: 1000 })
        );
        assert!(SwapFee::new(1001, 1000).is_err());
        assert_eq!(SwapFee::UNISWAP_V2.taken(), U256::from(3));
    }

    #[test]
    fn serde_validates_and_denies_unknown_fields() {
        let fee: SwapFee =
            serde_json::from_str(r#"{"numerator":9975,"denominator":10000}"#).unwrap();
        assert_eq!(fee, SwapFee::PANCAKESWAP_V2);
        assert_eq!(
            serde_json::to_string(&fee).unwrap(),
            r#"{"numerator":9975,"denominator":10000}"#
        );
        assert!(serde_json::from_str::<SwapFee>(r#"{"numerator":2,"denominator":1}"#).is_err());
        let extra = r#"{"numerator":997,"denominator":1000,"bps":30}"#;
        assert!(serde_json::from_str::<SwapFee>(extra).is_err());
    }

    #[test]
    fn protocol_fee_divisor_zero_is_an_error() {
        assert_eq!(ProtocolFee::UNISWAP_V2.root_k_weight().unwrap(), U256::from(5));
        assert!(ProtocolFee { divisor: 0 }.root_k_weight().is_err());
    }
}
