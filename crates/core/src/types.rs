//! Identifiers and the decimal-string amount used at the engine's boundary.

use std::fmt;

use alloy_primitives::U256;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A raw token amount (smallest units) as it crosses the JSON boundary: a decimal string, so
/// nothing is lost. Integers up to `u64::MAX` are also accepted on input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(pub U256);

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AmountVisitor)
    }
}

struct AmountVisitor;

impl de::Visitor<'_> for AmountVisitor {
    type Value = Amount;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a non-negative integer as a decimal string of raw units, e.g. \"1000000\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
        let digits = !v.is_empty() && v.len() <= 78 && v.bytes().all(|b| b.is_ascii_digit());
        let parsed = digits.then(|| U256::from_str_radix(v, 10).ok()).flatten();
        parsed.map(Amount).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
        Ok(Amount(U256::from(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
        u64::try_from(v)
            .map(|v| Amount(U256::from(v)))
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
        Err(E::invalid_value(de::Unexpected::Float(v), &self))
    }
}

impl From<U256> for Amount {
    fn from(v: U256) -> Self {
        Amount(v)
    }
}

impl From<u128> for Amount {
    fn from(v: u128) -> Self {
        Amount(U256::from(v))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Serde for a `U256` field as a decimal string (the [`Amount`] rules).
/// A signed raw amount (a pool's change in a token: positive in, negative out), as a decimal
/// string with an optional `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SignedAmount(pub alloy_primitives::I256);

impl Serialize for SignedAmount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SignedAmount {
    fn deserialize<'a, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let digits = text.strip_prefix('-').unwrap_or(&text);
        let valid =
            !digits.is_empty() && digits.len() <= 77 && digits.bytes().all(|b| b.is_ascii_digit());
        valid.then(|| text.parse().ok()).flatten().map(SignedAmount).ok_or_else(|| {
            de::Error::invalid_value(de::Unexpected::Str(&text), &"a signed decimal integer")
        })
    }
}

/// A raw token amount in whole tokens, exactly, with thousands grouped and at most six
/// decimals (cut, not rounded): `9559246827265165778` at 18 decimals is `9.559246`.
pub fn whole_units(amount: alloy_primitives::U256, decimals: u8) -> String {
    let raw = amount.to_string();
    let d = usize::from(decimals);
    let padded = format!("{raw:0>width$}", width = d + 1);
    let (int, frac) = padded.split_at(padded.len() - d);
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let frac = frac[..frac.len().min(6)].trim_end_matches('0');
    if frac.is_empty() {
        grouped
    } else {
        format!("{grouped}.{frac}")
    }
}

pub mod dec {
    use super::*;

    pub fn serialize<S: Serializer>(v: &U256, s: S) -> Result<S::Ok, S::Error> {
        Amount(*v).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
        Amount::deserialize(d).map(|a| a.0)
    }
}

/// A token symbol, pool id or account name. Names up to 24 bytes live inline, so commands,
/// events and balances copy them without allocating.
pub type Name = compact_str::CompactString;

/// A lending venue: a protocol with its own lending pools (one per token) and its own leverage
/// rules on the AMM pools it offers. Everything that names no venue is at [`Venue::MAIN`], so
/// a market with one venue never mentions it (in commands, events or JSON).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Venue(pub Name);

impl Venue {
    /// The venue of the market's own lending pools and of each pool's own leverage rules.
    pub const MAIN: &'static str = "main";

    pub fn main() -> Self {
        Self(Name::const_new(Self::MAIN))
    }

    /// Whether this is the main venue (serialized fields skip it).
    pub fn is_main(&self) -> bool {
        self.0 == Self::MAIN
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Venue {
    fn default() -> Self {
        Self::main()
    }
}

impl std::fmt::Display for Venue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Venue {
    fn from(name: &str) -> Self {
        Self(name.into())
    }
}

/// Who holds a balance, a supply share, a debt or a farm stake: a user account or a
/// leveraged position.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    Account(Name),
    Position(u64),
    /// The protocol's treasury: reserve factor, liquidation fees.
    Treasury,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Account(name) => write!(f, "account {name:?}"),
            Holder::Position(id) => write!(f, "position {id}"),
            Holder::Treasury => f.write_str("the treasury"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_decimal_strings_both_ways() {
        let a: Amount = serde_json::from_str(
            "\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"",
        )
        .unwrap();
        assert_eq!(a.0, U256::MAX);
        assert_eq!(serde_json::to_string(&a).unwrap().len(), 78 + 2);
        assert_eq!(serde_json::from_str::<Amount>("42").unwrap().0, U256::from(42));
        for bad in ["\"-1\"", "\"1e18\"", "\"0x10\"", "1.5", "-3", "\"\"", "\" 1\""] {
            assert!(serde_json::from_str::<Amount>(bad).is_err(), "{bad} accepted");
        }
        // one more than U256::MAX
        let too_big =
            "\"115792089237316195423570985008687907853269984665640564039457584007913129639936\"";
        assert!(serde_json::from_str::<Amount>(too_big).is_err());
    }
}
