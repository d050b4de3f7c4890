//! Text formatting for the server-rendered parts: numbers with thousands separators, percentages,
//! ISO UTC times, and HTML escaping.

/// Shown where a number is missing or not finite.
pub const DASH: &str = "\u{2013}";

/// `v` with `decimals` decimals and comma thousands separators: `1234567.891, 2` -> `1,234,567.89`.
pub fn number(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return DASH.to_string();
    }
    let digits = format!("{:.*}", decimals, v.abs());
    let (int, frac) = digits.split_once('.').unwrap_or((&digits, ""));
    let mut out = String::with_capacity(digits.len() + int.len() / 3 + 1);
    let is_zero = digits.bytes().all(|b| b == b'0' || b == b'.');
    if v < 0.0 && !is_zero {
        out.push('-');
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A money amount: two decimals below a million, none above.
pub fn money(v: f64) -> String {
    number(v, if v.abs() >= 1e6 { 0 } else { 2 })
}

/// A money amount with an explicit sign: `+1,234.50`, `-12.00`.
pub fn signed_money(v: f64) -> String {
    with_sign(v, money(v))
}

/// A fraction as a percentage with one decimal: `0.1234` -> `12.3%`.
pub fn percent(fraction: f64) -> String {
    if !fraction.is_finite() {
        return DASH.to_string();
    }
    format!("{}%", number(fraction * 100.0, 1))
}

/// A difference of fractions in percentage points with a sign: `0.05` -> `+5.0 pp`.
pub fn signed_points(fraction: f64) -> String {
    if !fraction.is_finite() {
        return DASH.to_string();
    }
    format!("{} pp", with_sign(fraction, number(fraction * 100.0, 1)))
}

/// A price: adaptive decimals so small prices keep their significant digits.
pub fn price(v: f64) -> String {
    let a = v.abs();
    let decimals = if a >= 10.0 {
        2
    } else if a >= 1.0 {
        4
    } else {
        6
    };
    number(v, decimals)
}

fn with_sign(v: f64, text: String) -> String {
    if v > 0.0 && !text.bytes().all(|b| matches!(b, b'0' | b'.' | b',')) {
        format!("+{text}")
    } else {
        text
    }
}

/// Unix seconds as ISO 8601 UTC: `1526342400` -> `2018-05-15T00:00:00Z`.
pub fn iso_utc(unix_seconds: i64) -> String {
    let (y, m, d) = civil_from_days(unix_seconds.div_euclid(86_400));
    let s = unix_seconds.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

/// Unix seconds as a UTC date: `2018-05-15`.
pub fn iso_date(unix_seconds: i64) -> String {
    let (y, m, d) = civil_from_days(unix_seconds.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(number(-999.999, 2), "-1,000.00");
        assert_eq!(number(-0.001, 2), "0.00");
        assert_eq!(number(12.0, 0), "12");
        assert_eq!(number(f64::NAN, 2), DASH);
        assert_eq!(percent(0.1234), "12.3%");
        assert_eq!(signed_money(1500.5), "+1,500.50");
        assert_eq!(signed_points(-0.021), "-2.1 pp");
        assert_eq!(price(1234.567), "1,234.57");
        assert_eq!(price(1.5), "1.5000");
    }

    #[test]
    fn times() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        // 2018-05-15 00:00 UTC = 17666 days * 86400.
        assert_eq!(iso_utc(1_526_342_400), "2018-05-15T00:00:00Z");
        assert_eq!(iso_utc(1_709_210_096), "2024-02-29T12:34:56Z");
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59Z");
    }
}
