//! Number cells: exact decimal prices ([`parse_price`]) and plain `f64` model inputs
//! ([`parse_value`]). Errors are messages that quote the cell, for a located
//! [`DataError`](super::DataError).

use alloy_primitives::U256;
use levfarm_core::price::Price;

/// The most fraction digits a [`Price`] holds exactly.
const MAX_DECIMALS: usize = 18;

/// 1e18, the scale of a [`Price`].
const WAD_U128: u128 = 1_000_000_000_000_000_000;

/// Parses a positive exact decimal price such as `1850.25` (no sign, no exponent, at most 18
/// fraction digits). Equal to [`Price::parse`] plus a positivity check, without allocating for
/// prices below 1e20.
pub(crate) fn parse_price(text: &str) -> Result<Price, String> {
    let shown = super::error::Shown(text);
    match plain_decimal(text) {
        Some((whole, frac)) => {
            let price = exact(whole, frac).ok_or_else(|| format!("{shown:?} is too large"))?;
            if price.0.is_zero() {
                return Err(format!("{shown:?} is not a positive price"));
            }
            Ok(price)
        }
        None => Err(price_complaint(text)),
    }
}

/// Splits `123.45` into `("123", "45")` when it is a plain decimal; `None` otherwise.
fn plain_decimal(text: &str) -> Option<(&str, &str)> {
    let (whole, frac) = match text.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (!whole.is_empty() && digits(whole) && digits(frac) && frac.len() <= MAX_DECIMALS)
        .then_some((whole, frac))
}

/// The exact 1e18 fixed-point value of validated digits; `None` on overflow.
fn exact(whole: &str, frac: &str) -> Option<Price> {
    if whole.len() > 20 {
        return if frac.is_empty() {
            Price::parse(whole)
        } else {
            Price::parse(&format!("{whole}.{frac}"))
        };
    }
    let digits = |s: &str| s.bytes().fold(0u128, |n, b| n * 10 + u128::from(b - b'0'));
    let scale = 10u128.pow(u32::try_from(MAX_DECIMALS - frac.len()).unwrap_or(0));
    // whole < 1e20, so whole * 1e18 < 1e38 < u128::MAX (3.4e38); frac * scale < 1e18.
    Some(Price(U256::from(digits(whole) * WAD_U128 + digits(frac) * scale)))
}

/// Why `text` is not a plain positive decimal.
fn price_complaint(text: &str) -> String {
    let shown = super::error::Shown(text);
    if text.is_empty() {
        return "empty cell; expected a positive price".to_owned();
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let lower = unsigned.to_ascii_lowercase();
    if matches!(lower.as_str(), "nan" | "inf" | "infinity") {
        return format!("{shown:?} is not a finite price");
    }
    if let Some((_, frac)) = unsigned.split_once('.') {
        if frac.len() > MAX_DECIMALS && frac.bytes().all(|b| b.is_ascii_digit()) {
            return format!(
                "{shown:?} has {} decimals; at most {MAX_DECIMALS} are kept exactly",
                frac.len()
            );
        }
    }
    if text.starts_with('-') && unsigned.parse::<f64>().is_ok() {
        return format!("{shown:?} is not a positive price");
    }
    if unsigned.contains(['e', 'E']) && unsigned.parse::<f64>().is_ok() {
        return format!("{shown:?} uses an exponent; write it as a plain decimal such as 1850.25");
    }
    format!("{shown:?} is not a decimal price such as 1850.25")
}

/// Parses a finite, non-negative number for a model input (volume, utilization, a reward
/// price path); exponents are fine here.
pub(crate) fn parse_value(text: &str) -> Result<f64, String> {
    let shown = super::error::Shown(text);
    if text.is_empty() {
        return Err("empty cell; expected a number".to_owned());
    }
    match text.parse::<f64>() {
        Ok(v) if !v.is_finite() => Err(format!("{shown:?} is not a finite number")),
        Ok(v) if v < 0.0 => Err(format!("{shown:?} is negative")),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("{shown:?} is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prices_are_exact() {
        // 733.04 = 733_040000000000000000 in 1e18 fixed point.
        let p = parse_price("733.04").unwrap();
        assert_eq!(p.0, U256::from(733_040_000_000_000_000_000u128));
        assert_eq!(parse_price("0.000000000000000001").unwrap().0, U256::from(1));
        let big = "123456789012345678901234567890.5";
        assert_eq!(parse_price(big), Ok(Price::parse(big).unwrap()));
    }

    #[test]
    fn bad_prices_say_why() {
        let cases = [
            ("", "empty cell; expected a positive price"),
            ("-3.2", r#""-3.2" is not a positive price"#),
            ("0", r#""0" is not a positive price"#),
            ("0.000", r#""0.000" is not a positive price"#),
            ("NaN", r#""NaN" is not a finite price"#),
            ("-inf", r#""-inf" is not a finite price"#),
            ("1.5e3", r#""1.5e3" uses an exponent; write it as a plain decimal such as 1850.25"#),
            (
                "1.0000000000000000001",
                r#""1.0000000000000000001" has 19 decimals; at most 18 are kept exactly"#,
            ),
            ("abc", r#""abc" is not a decimal price such as 1850.25"#),
            ("1,5", r#""1,5" is not a decimal price such as 1850.25"#),
            ("1.", r#""1." is not a decimal price such as 1850.25"#),
            (".5", r#"".5" is not a decimal price such as 1850.25"#),
        ];
        for (text, want) in cases {
            assert_eq!(parse_price(text).unwrap_err(), want, "{text:?}");
        }
    }

    #[test]
    fn values_accept_exponents_but_not_nonsense() {
        assert_eq!(parse_value("1.5e3"), Ok(1500.0));
        assert_eq!(parse_value("0"), Ok(0.0));
        assert_eq!(parse_value("-1").unwrap_err(), r#""-1" is negative"#);
        assert_eq!(parse_value("inf").unwrap_err(), r#""inf" is not a finite number"#);
        assert_eq!(parse_value("x").unwrap_err(), r#""x" is not a number"#);
    }

    proptest! {
        #[test]
        fn fast_path_matches_price_parse(text in "[0-9]{0,24}(\\.[0-9]{0,20})?") {
            let want = Price::parse(&text).filter(|p| !p.0.is_zero());
            prop_assert_eq!(parse_price(&text).ok(), want);
        }
    }
}
