//! Timestamps: Unix seconds or ISO 8601 / RFC 3339 text in, Unix seconds out, and
//! [`iso`] back. Civil dates use Howard Hinnant's days-from-civil algorithm (proleptic
//! Gregorian calendar), so there is no date-library dependency.

/// The largest magnitude accepted as Unix seconds: 1e11 s is the year 5138, while any
/// millisecond timestamp after 1973 is above it.
pub(crate) const MAX_UNIX_S: i64 = 100_000_000_000;

const SECS_PER_DAY: i64 = 86_400;

/// Formats Unix seconds as `2020-03-12T05:00:00Z` (UTC).
pub fn iso(t: i64) -> String {
    let days = t.div_euclid(SECS_PER_DAY);
    let secs = t.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (secs / 3600, secs % 3600 / 60, secs % 60);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

/// A short duration such as `1h`, `30m`, `1d2h`, `90s` → `1m30s`.
pub(crate) fn span(secs: u64) -> String {
    let parts = [(secs / 86_400, "d"), (secs % 86_400 / 3600, "h"), (secs % 3600 / 60, "m")];
    let mut out = String::new();
    for (n, unit) in parts {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if secs % 60 > 0 || out.is_empty() {
        out.push_str(&format!("{}s", secs % 60));
    }
    out
}

/// Days since 1970-01-01 of a proleptic Gregorian date (`month` 1-12, `day` 1-31).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `(year, month, day)` of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are in range by construction (day 1..=31, month 1..=12).
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses a time cell: integer Unix seconds, or ISO 8601 (`2020-03-12T05:00:00Z`,
/// `2020-03-12 05:00:00`, `2020-03-12T05:00:00+00:00`, `2020-03-12`); text without a zone is
/// UTC. The error is the message for a located [`DataError`](super::DataError).
pub fn parse_time(text: &str) -> Result<i64, String> {
    let shown = super::error::Shown(text);
    if text.is_empty() {
        return Err("empty cell; expected a time".to_owned());
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return parse_unix(text);
    }
    parse_iso(text.as_bytes()).ok_or_else(|| {
        format!(
            "{shown:?} is not a time; expected Unix seconds or an ISO 8601 time such as \
             2020-03-12T05:00:00Z"
        )
    })
}

fn parse_unix(text: &str) -> Result<i64, String> {
    let shown = super::error::Shown(text);
    match text.parse::<i64>() {
        Ok(t) if t.abs() <= MAX_UNIX_S => Ok(t),
        Ok(_) => Err(format!("{shown:?} looks like milliseconds; give seconds")),
        Err(_) => Err(format!("{shown:?} is out of range for Unix seconds")),
    }
}

/// A cursor over the bytes of an ISO 8601 time.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn number(&mut self, width: usize) -> Option<u32> {
        let digits = self.bytes.get(self.at..self.at + width)?;
        self.at += width;
        digits
            .iter()
            .try_fold(0u32, |n, &b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

fn parse_iso(bytes: &[u8]) -> Option<i64> {
    let mut c = Cursor { bytes, at: 0 };
    let year = i64::from(c.number(4)?);
    let month = c.eat(b'-').then(|| c.number(2))??;
    let day = c.eat(b'-').then(|| c.number(2))??;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let date = days_from_civil(year, month, day) * SECS_PER_DAY;
    if c.done() {
        return Some(date);
    }
    if !matches!(c.peek(), Some(b'T' | b't' | b' ')) {
        return None;
    }
    c.at += 1;
    let clock = parse_clock(&mut c)?;
    let offset = parse_zone(&mut c)?;
    c.done().then_some(date + clock - offset)
}

/// `HH:MM[:SS[.000]]` as seconds since midnight; a fraction must be zero.
fn parse_clock(c: &mut Cursor<'_>) -> Option<i64> {
    let hour = c.number(2)?;
    let minute = c.eat(b':').then(|| c.number(2))??;
    let second = if c.eat(b':') { c.number(2)? } else { 0 };
    if c.eat(b'.') {
        let zeros =
            c.bytes.get(c.at..).unwrap_or_default().iter().take_while(|&&b| b == b'0').count();
        if zeros == 0 || c.bytes.get(c.at + zeros).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        c.at += zeros;
    }
    (hour < 24 && minute < 60 && second < 60).then(|| i64::from(hour * 3600 + minute * 60 + second))
}

/// `Z`, `+HH:MM`, `-HHMM`, `+HH` or nothing (UTC), as seconds east of UTC.
fn parse_zone(c: &mut Cursor<'_>) -> Option<i64> {
    let sign = match c.peek() {
        None => return Some(0),
        Some(b'Z' | b'z') => {
            c.at += 1;
            return Some(0);
        }
        Some(b'+') => 1,
        Some(b'-') => -1,
        Some(_) => return None,
    };
    c.at += 1;
    let hours = c.number(2)?;
    let minutes = if c.done() {
        0
    } else {
        c.eat(b':');
        c.number(2)?
    };
    (hours < 24 && minutes < 60).then(|| sign * i64::from(hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips_known_dates() {
        // 2020-03-12 is 18,333 days after 1970-01-01: 50 years of 365 days plus 12 leap
        // days (1972..=2016) is 18,262, plus 31 (Jan) + 29 (Feb) + 11 = 71.
        assert_eq!(days_from_civil(2020, 3, 12), 18_333);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn iso_formats_utc() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_526_364_000), "2018-05-15T06:00:00Z");
        assert_eq!(iso(1_584_003_600), "2020-03-12T09:00:00Z");
        assert_eq!(iso(-1), "1969-12-31T23:59:59Z");
        // Never panics at the extremes.
        let _ = iso(i64::MAX);
        let _ = iso(i64::MIN);
    }

    #[test]
    fn times_parse_in_every_accepted_form() {
        let t = 1_583_989_200; // 2020-03-12T05:00:00Z
        for text in [
            "1583989200",
            "2020-03-12T05:00:00Z",
            "2020-03-12 05:00:00",
            "2020-03-12T05:00:00+00:00",
            "2020-03-12T05:00",
            "2020-03-12T05:00:00.000Z",
            "2020-03-12T07:00:00+02:00",
            "2020-03-12T00:30:00-0430",
            "2020-03-12T06:00:00+01",
        ] {
            assert_eq!(parse_time(text), Ok(t), "{text}");
        }
        assert_eq!(parse_time("2020-03-12"), Ok(t - 5 * 3600));
        assert_eq!(parse_time("-3600"), Ok(-3600));
    }

    #[test]
    fn bad_times_are_refused_with_a_reason() {
        for bad in [
            "2020-02-30",
            "2021-02-29",
            "2020-13-01",
            "2020-03-12T24:00:00Z",
            "2020-03-12T05:60:00Z",
            "2020-03-12T05:00:00.5Z",
            "2020-03-12T05:00:00Q",
            "2020-03-12T05",
            "2020-3-12",
            "1583989200.0",
            "12:00",
            "-",
        ] {
            let err = parse_time(bad).unwrap_err();
            assert!(err.contains("is not a time"), "{bad}: {err}");
        }
        assert_eq!(
            parse_time("1526364000000").unwrap_err(),
            r#""1526364000000" looks like milliseconds; give seconds"#
        );
        assert_eq!(parse_time("").unwrap_err(), "empty cell; expected a time");
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(3600), "1h");
        assert_eq!(span(1800), "30m");
        assert_eq!(span(90_000), "1d1h");
        assert_eq!(span(90), "1m30s");
        assert_eq!(span(0), "0s");
    }
}
