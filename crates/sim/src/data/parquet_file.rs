//! Price bars from a parquet file (feature `parquet`), read row by row with the parquet
//! crate's record API (no arrow). The time column may be INT64/INT32 Unix seconds,
//! TIMESTAMP in ms, µs or ns, DATE, or a string; the close may be DOUBLE, FLOAT, DECIMAL,
//! an integer or a string. A DOUBLE is read through its shortest round-trip decimal text, so
//! `733.04` stays exactly 733.04.

use std::fs::File;

use levfarm_core::price::Price;
use parquet::basic::{LogicalType, TimeUnit};
use parquet::data_type::Decimal;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use super::bars::{check_window, in_window, Order, RawBars};
use super::error::{DataError, Location};
use super::number::parse_price;
use super::table::TIME_COLUMNS;
use super::time::parse_time;
use super::{PriceOptions, PriceSeries};

/// The two columns used, by index among the top-level fields.
struct Columns {
    time: (usize, String),
    close: (usize, String),
    /// The time column holds nanoseconds (INT64 with a TIMESTAMP(NANOS) logical type).
    nanos: bool,
}

/// Reads price bars from the parquet file at `path`.
pub(crate) fn load_prices(path: &str, opts: &PriceOptions) -> Result<PriceSeries, DataError> {
    check_window(path, opts)?;
    let file =
        File::open(path).map_err(|source| DataError::Read { file: path.to_owned(), source })?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| DataError::file(path, format!("not a readable parquet file: {e}")))?;
    let columns = find_columns(path, &reader, opts)?;
    let rows = reader
        .get_row_iter(None)
        .map_err(|e| DataError::file(path, format!("cannot read rows: {e}")))?;
    let (mut bars, mut order, mut count) = (RawBars::default(), Order::default(), 0u64);
    for row in rows {
        count += 1;
        let row = row.map_err(|e| DataError::at(path, Location::row(count), e.to_string()))?;
        let fields = row.into_columns();
        let value = |(i, name): &(usize, String)| {
            let at = Location::RowColumn { row: count, column: name.clone() };
            let field = fields.get(*i).map(|(_, f)| f).unwrap_or(&Field::Null);
            (field, at)
        };
        let (field, at) = value(&columns.time);
        let t = time(field, columns.nanos).map_err(|m| DataError::at(path, at, m))?;
        order.check(path, t, count, Location::row)?;
        if in_window(opts, t) {
            let (field, at) = value(&columns.close);
            let close = price(field).map_err(|m| DataError::at(path, at, m))?;
            bars.push(t, close, None, count);
        }
    }
    bars.assemble(path, count, Location::row, opts)
}

fn find_columns(
    path: &str,
    reader: &SerializedFileReader<File>,
    opts: &PriceOptions,
) -> Result<Columns, DataError> {
    let fields = reader.metadata().file_metadata().schema_descr().root_schema().get_fields();
    let names: Vec<String> = fields.iter().map(|f| f.name().to_owned()).collect();
    let find = |want: &dyn Fn(&str) -> bool| {
        names.iter().position(|n| want(&n.to_ascii_lowercase())).map(|i| (i, names[i].clone()))
    };
    let missing =
        |what: String| DataError::file(path, format!("{what} (columns: {})", names.join(", ")));
    let time = find(&|n| TIME_COLUMNS.contains(&n)).ok_or_else(|| {
        missing(format!("no time column; expected one of {}", TIME_COLUMNS.join(", ")))
    })?;
    let close = match &opts.column {
        Some(name) => find(&|n| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| missing(format!("no {name:?} column")))?,
        None => find(&|n| n == "close")
            .or_else(|| find(&|n| n == "price"))
            .ok_or_else(|| missing("no \"close\" or \"price\" column".to_owned()))?,
    };
    let logical = fields.get(time.0).and_then(|f| f.get_basic_info().logical_type_ref());
    let nanos = matches!(logical, Some(LogicalType::Timestamp { unit: TimeUnit::NANOS, .. }));
    Ok(Columns { time, close, nanos })
}

/// Unix seconds from a time value, within the range CSV times are held to (a millisecond
/// count read as seconds is far past it); sub-second timestamps are refused.
fn time(field: &Field, nanos: bool) -> Result<i64, String> {
    let t = raw_time(field, nanos)?;
    if t.abs() > super::time::MAX_UNIX_S {
        return Err(format!(
            "{t} s is out of range for Unix seconds (at most 1e11: the year 5138)"
        ));
    }
    Ok(t)
}

/// Unix seconds from a time value, unchecked.
fn raw_time(field: &Field, nanos: bool) -> Result<i64, String> {
    let whole = |v: i64, per_second: i64, unit: &str| {
        if v % per_second == 0 {
            Ok(v / per_second)
        } else {
            Err(format!("{v} {unit} is not a whole second"))
        }
    };
    match field {
        Field::Long(v) if nanos => whole(*v, 1_000_000_000, "ns"),
        Field::Long(v) => parse_time(&v.to_string()),
        Field::Int(v) => Ok(i64::from(*v)),
        Field::UInt(v) => Ok(i64::from(*v)),
        Field::ULong(v) => parse_time(&v.to_string()),
        Field::TimestampMillis(v) => whole(*v, 1_000, "ms"),
        Field::TimestampMicros(v) => whole(*v, 1_000_000, "µs"),
        Field::Date(days) => Ok(i64::from(*days) * 86_400),
        Field::Str(s) => parse_time(s.trim()),
        Field::Null => Err("empty value; expected a time".to_owned()),
        other => Err(format!("{other} is not a time")),
    }
}

/// A positive exact price from a close value.
fn price(field: &Field) -> Result<Price, String> {
    match field {
        Field::Double(f) if f.is_finite() => parse_price(&format!("{f}")),
        Field::Float(f) if f.is_finite() => parse_price(&format!("{f}")),
        Field::Double(f) => Err(format!("{f} is not a finite price")),
        Field::Float(f) => Err(format!("{f} is not a finite price")),
        Field::Decimal(d) => decimal_text(d).and_then(|text| parse_price(&text)),
        Field::Str(s) => parse_price(s.trim()),
        Field::Int(v) => parse_price(&v.to_string()),
        Field::Long(v) => parse_price(&v.to_string()),
        Field::UInt(v) => parse_price(&v.to_string()),
        Field::ULong(v) => parse_price(&v.to_string()),
        Field::Null => Err("empty value; expected a positive price".to_owned()),
        other => Err(format!("{other} is not a price")),
    }
}

/// The plain decimal text of a DECIMAL (big-endian two's complement, up to 16 bytes).
fn decimal_text(d: &Decimal) -> Result<String, String> {
    let bytes = d.data();
    if bytes.is_empty() || bytes.len() > 16 {
        return Err(format!("a {}-byte decimal is not supported", bytes.len()));
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut wide = [fill; 16];
    wide[16 - bytes.len()..].copy_from_slice(bytes);
    let unscaled = i128::from_be_bytes(wide);
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let scale = usize::try_from(d.scale()).map_err(|_| "a negative decimal scale".to_owned())?;
    let text = if scale == 0 {
        digits
    } else {
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (whole, frac) = padded.split_at(padded.len() - scale);
        format!("{whole}.{frac}")
    };
    Ok(format!("{sign}{text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_print_exactly() {
        let text = |v: i64, scale| decimal_text(&Decimal::from_i64(v, 18, scale)).unwrap();
        assert_eq!(text(73_304, 2), "733.04");
        assert_eq!(text(5, 3), "0.005");
        assert_eq!(text(-5, 1), "-0.5");
        assert_eq!(text(7, 0), "7");
        assert!(decimal_text(&Decimal::from_i64(7, 18, -2)).is_err());
    }

    #[test]
    fn doubles_keep_their_shortest_decimal() {
        assert_eq!(price(&Field::Double(733.04)), Ok(Price::parse("733.04").unwrap()));
        assert_eq!(price(&Field::Double(-1.0)).unwrap_err(), r#""-1" is not a positive price"#);
        assert_eq!(price(&Field::Double(f64::NAN)).unwrap_err(), "NaN is not a finite price");
    }

    #[test]
    fn timestamps_become_whole_seconds() {
        assert_eq!(time(&Field::TimestampMillis(1_526_364_000_000), false), Ok(1_526_364_000));
        assert_eq!(time(&Field::Long(1_526_364_000_000_000_000), true), Ok(1_526_364_000));
        assert_eq!(time(&Field::Long(1_526_364_000), false), Ok(1_526_364_000));
        assert!(time(&Field::TimestampMillis(1), false).unwrap_err().contains("whole second"));
    }
}
