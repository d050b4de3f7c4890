//! Daily (or any-interval) `f64` model inputs: Aave utilization, Uniswap volume and reserves,
//! and generic two-column files. Rows may come in any order (the bundled Aave file is newest
//! first); the series is sorted oldest first and a repeated time is refused.

use std::collections::BTreeSet;

use super::error::{DataError, Location};
use super::number::parse_value;
use super::read_text;
use super::table::Table;

/// A series of `f64` values at increasing times, for model inputs (utilization, volume).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The file path or bundled name it was read from.
    pub source: String,
    /// Unix seconds, strictly increasing.
    pub times: Vec<i64>,
    /// `values[i]` holds at `times[i]`.
    pub values: Vec<f64>,
}

impl Series {
    /// The value at time `t`: the last point at or before `t`; before the first point, the
    /// first value; after the last, the last value. `NaN` for an empty series.
    pub fn at(&self, t: i64) -> f64 {
        let after = self.times.partition_point(|&x| x <= t);
        let i = after.saturating_sub(1);
        self.values.get(i).copied().unwrap_or(f64::NAN)
    }

    /// Whether `t` lies between the first and the last point, both included.
    pub fn covers(&self, t: i64) -> bool {
        match (self.times.first(), self.times.last()) {
            (Some(&first), Some(&last)) => first <= t && t <= last,
            _ => false,
        }
    }
}

/// Points in file order with their lines, before sorting.
#[derive(Debug, Default)]
struct Points(Vec<(i64, f64, u64)>);

impl Points {
    /// Sorts oldest first and refuses a repeated time.
    fn into_series(mut self, source: &str) -> Result<Series, DataError> {
        self.0.sort_by_key(|&(t, _, line)| (t, line));
        for pair in self.0.windows(2) {
            let ((t, _, first), (_, _, second)) = (pair[0], pair[1]);
            if pair[1].0 == t {
                let (first, second) = (first.min(second), first.max(second));
                let message = format!(
                    "time {} repeats line {first}; each point needs its own time",
                    super::iso(t)
                );
                return Err(DataError::at(source, Location::line(second), message));
            }
        }
        let (times, values) = self.0.into_iter().map(|(t, v, _)| (t, v)).unzip();
        Ok(Series { source: source.to_owned(), times, values })
    }
}

/// Aave daily utilization (borrow / deposit) of one symbol (`"USDC"`, `"WETH"`; case is
/// ignored), oldest first. Rows with an empty or zero deposit are skipped; an empty borrow
/// counts as nothing borrowed. `path` may be [`BUNDLED_AAVE_UTILIZATION`](super::BUNDLED_AAVE_UTILIZATION).
pub fn load_utilization(path: &str, symbol: &str) -> Result<Series, DataError> {
    let text = read_text(path)?;
    let mut table = Table::open(path, &text)?;
    let time = table.time_column()?;
    let [sym, deposit, borrow] =
        [table.require("symbol")?, table.require("deposit")?, table.require("borrow")?];
    let (mut points, mut symbols, mut skipped) = (Points::default(), BTreeSet::new(), 0);
    while table.next()? {
        let s = table.cell(sym)?;
        if !s.eq_ignore_ascii_case(symbol) {
            if !symbols.contains(s) {
                symbols.insert(s.to_owned());
            }
            continue;
        }
        let d = value_or_zero(&table, deposit)?;
        if d == 0.0 {
            skipped += 1;
            continue;
        }
        let b = value_or_zero(&table, borrow)?;
        points.0.push((table.time(time)?, b / d, table.line()));
    }
    if points.0.is_empty() {
        return Err(no_rows(path, "symbol", symbol, skipped, &symbols));
    }
    points.into_series(path)
}

/// The number in column `col`, an empty cell counting as zero.
fn value_or_zero(table: &Table<'_>, col: usize) -> Result<f64, DataError> {
    match table.cell(col)? {
        "" => Ok(0.0),
        cell => parse_value(cell).map_err(|m| table.invalid(col, m)),
    }
}

/// Uniswap daily gross volume in USD (`grossVolumeUSD`) of one pair (`"USDC/WETH"`, either
/// order, case ignored), oldest first; and the pool's `reserveUSD` at the same times.
/// `path` may be [`BUNDLED_UNISWAP_VOLUME`](super::BUNDLED_UNISWAP_VOLUME).
pub fn load_volume(path: &str, pair: &str) -> Result<(Series, Series), DataError> {
    let text = read_text(path)?;
    let mut table = Table::open(path, &text)?;
    let time = table.time_column()?;
    let [pair_col, volume, reserve] =
        [table.require("pair")?, table.require("grossVolumeUSD")?, table.require("reserveUSD")?];
    let (mut volumes, mut reserves, mut pairs) =
        (Points::default(), Points::default(), BTreeSet::new());
    while table.next()? {
        let p = table.cell(pair_col)?;
        if !same_pair(p, pair) {
            if !pairs.contains(p) {
                pairs.insert(p.to_owned());
            }
            continue;
        }
        let (t, line) = (table.time(time)?, table.line());
        let v = parse_value(table.cell(volume)?).map_err(|m| table.invalid(volume, m))?;
        let r = parse_value(table.cell(reserve)?).map_err(|m| table.invalid(reserve, m))?;
        volumes.0.push((t, v, line));
        reserves.0.push((t, r, line));
    }
    if volumes.0.is_empty() {
        return Err(no_rows(path, "pair", pair, 0, &pairs));
    }
    Ok((volumes.into_series(path)?, reserves.into_series(path)?))
}

/// `"USDC/WETH"` matches `"weth/usdc"`.
fn same_pair(a: &str, b: &str) -> bool {
    fn split(s: &str) -> Option<(&str, &str)> {
        s.split_once('/').map(|(x, y)| (x.trim(), y.trim()))
    }
    match (split(a), split(b)) {
        (Some((a0, a1)), Some((b0, b1))) => {
            (a0.eq_ignore_ascii_case(b0) && a1.eq_ignore_ascii_case(b1))
                || (a0.eq_ignore_ascii_case(b1) && a1.eq_ignore_ascii_case(b0))
        }
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// A generic CSV series: the first recognised time column (see
/// [`TIME_COLUMNS`](super::TIME_COLUMNS)) and the column named `column` (case ignored), for a
/// reward-token price path or a volume or utilization file. Every value must be a finite
/// number, zero or more; rows may come in any time order.
pub fn load_series(path: &str, column: &str) -> Result<Series, DataError> {
    load_series_of(path, column, None)
}

/// [`load_series`] of one pair's rows, where the file holds several pairs in a `pair` column
/// (the bundled Uniswap volumes hold USDC/WETH and WETH/USDT). Without `pair`, a file whose
/// `pair` column names more than one is refused with the pairs it holds.
pub fn load_series_of(path: &str, column: &str, pair: Option<&str>) -> Result<Series, DataError> {
    let text = read_text(path)?;
    let mut table = Table::open(path, &text)?;
    let [time, value] = [table.time_column()?, table.require(column)?];
    let pair_col = match pair {
        Some(_) => Some(table.require("pair")?),
        None => table.column("pair"),
    };
    let (mut points, mut pairs) = (Points::default(), BTreeSet::new());
    while table.next()? {
        if let Some(col) = pair_col {
            let p = table.cell(col)?;
            if !pairs.contains(p) {
                pairs.insert(p.to_owned());
            }
            if pair.is_some_and(|want| !same_pair(p, want)) {
                continue;
            }
        }
        let t = table.time(time)?;
        let v = parse_value(table.cell(value)?).map_err(|m| table.invalid(value, m))?;
        points.0.push((t, v, table.line()));
    }
    if pair.is_none() && pairs.len() > 1 {
        let list: Vec<&str> = pairs.iter().map(String::as_str).collect();
        return Err(DataError::file(
            path,
            format!(
                "the file holds {} pairs ({}); name one with `pair`",
                list.len(),
                list.join(", ")
            ),
        ));
    }
    if points.0.is_empty() {
        return Err(match pair {
            Some(want) => no_rows(path, "pair", want, 0, &pairs),
            None => DataError::file(path, "no data rows after the header"),
        });
    }
    points.into_series(path)
}

fn no_rows(
    path: &str,
    what: &str,
    wanted: &str,
    skipped: u64,
    seen: &BTreeSet<String>,
) -> DataError {
    if skipped > 0 {
        let message =
            format!("all {skipped} rows for {what} {wanted:?} have an empty or zero deposit");
        return DataError::file(path, message);
    }
    let known: Vec<&str> = seen.iter().map(String::as_str).collect();
    DataError::file(path, format!("no rows for {what} {wanted:?} ({what}s: {})", known.join(", ")))
}
