//! Oracle prices as exact decimals: `"2000"`, `"1850.25"`, `"0.000001"`, held as 1e18 fixed
//! point.

use std::fmt;

use alloy_primitives::U256;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::math::WAD;

/// A non-negative price in numeraire per whole token with at most 18 decimals, held as 1e18.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Price(pub U256);

impl Price {
    /// Parses a plain decimal with at most 18 fraction digits; nothing is rounded.
    pub fn parse(text: &str) -> Option<Price> {
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !digits(whole)
            || !digits(frac)
            || frac.len() > 18
            || whole.len() > 50
        {
            return None;
        }
        if text.contains('.') && frac.is_empty() {
            return None;
        }
        let whole = U256::from_str_radix(whole, 10).ok()?;
        let padded = format!("{frac:0<18}");
        let frac = U256::from_str_radix(&padded, 10).ok()?;
        whole.checked_mul(WAD)?.checked_add(frac).map(Price)
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = self.0.div_rem(WAD);
        if frac.is_zero() {
            return write!(f, "{whole}");
        }
        let frac = format!("{frac:0>18}");
        write!(f, "{whole}.{}", frac.trim_end_matches('0'))
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Price::parse(&text).ok_or_else(|| {
            de::Error::invalid_value(
                de::Unexpected::Str(&text),
                &"a non-negative decimal string with at most 18 fraction digits, e.g. \"1850.25\"",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_parse_exactly_and_print_back() {
        assert_eq!(Price::parse("2000").unwrap().0, U256::from(2000) * WAD);
        assert_eq!(Price::parse("0.000000000000000001").unwrap().0, U256::from(1));
        assert_eq!(Price::parse("1850.25").unwrap().to_string(), "1850.25");
        for bad in ["", "-1", "1e3", "1.", ".5", "1.0000000000000000001", "NaN", "inf", "1,5"] {
            assert!(Price::parse(bad).is_none(), "{bad:?} accepted");
        }
    }
}
