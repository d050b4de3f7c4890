//! The chart data embedded in the page: decimated series, markers, and levels, as JSON that is
//! safe inside a `<script>` element.

use serde::Serialize;

use crate::decimate::{decimate_indices, decimate_optional_indices};
use crate::model::{BacktestReport, PnlItem};

/// Most points drawn per series; M4 decimation keeps the extremes of the rest.
pub const MAX_POINTS_PER_SERIES: usize = 2_000;
/// Significant digits kept in embedded values (plenty for a chart and its tooltip).
const SIGNIFICANT_DIGITS: i32 = 7;

/// The JSON object the inline script reads.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    equity: Vec<SeriesJson<'a>>,
    price: SeriesJson<'a>,
    liq_lower: SeriesJson<'a>,
    liq_upper: SeriesJson<'a>,
    debt: SeriesJson<'a>,
    kill: Option<f64>,
    work: Option<f64>,
    triggers: Vec<Level<'a>>,
    pnl: Vec<Level<'a>>,
    pnl_total: Option<f64>,
    actions: Vec<ActionJson<'a>>,
}

/// A decimated series: times as deltas (first absolute) and values with `null` gaps.
#[derive(Debug, Serialize)]
struct SeriesJson<'a> {
    name: &'a str,
    dt: Vec<i64>,
    v: Vec<Option<f64>>,
}

#[derive(Debug, Serialize)]
struct Level<'a> {
    name: &'a str,
    value: Option<f64>,
}

#[derive(Debug, Serialize)]
struct ActionJson<'a> {
    t: i64,
    kind: &'a str,
    price: Option<f64>,
    /// The position's equity at or just before the action, to place the marker on its line.
    equity: Option<f64>,
    label: &'a str,
}

/// The report's chart data as JSON, escaped so no string in it can end the script element.
pub fn script_json(report: &BacktestReport) -> String {
    let payload = build(report);
    // Serializing plain structs of strings, numbers and options into memory cannot fail; the
    // fallback keeps the page renderable (charts show "no data") rather than panicking.
    let json = serde_json::to_string(&payload).unwrap_or_else(|_| "{}".to_string());
    escape_for_script(&json)
}

/// Makes JSON safe as the text of a `<script>` element: `<`, `>` and `&` only occur inside JSON
/// strings, where `\u003c` etc. mean the same, so `</script>` and `<!--` cannot appear.
pub fn escape_for_script(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn build(report: &BacktestReport) -> Payload<'_> {
    let times = &report.times;
    let equity = report.equity.iter().map(|s| plain_series(&s.name, times, &s.values)).collect();
    let position = report.equity.first().map(|s| s.values.as_slice());
    Payload {
        equity,
        price: plain_series("Price", times, &report.price),
        liq_lower: optional_series("Liquidation price (lower)", times, &report.liquidation_lower),
        liq_upper: optional_series("Liquidation price (upper)", times, &report.liquidation_upper),
        debt: optional_series("Debt ratio", times, &report.debt_ratio),
        kill: round(report.kill_factor),
        work: round(report.work_factor),
        triggers: report.triggers.iter().map(|(n, v)| level(n, *v)).collect(),
        pnl: report.pnl.iter().map(|PnlItem { name, value }| level(name, *value)).collect(),
        pnl_total: round(report.pnl_total),
        actions: report
            .actions
            .iter()
            .map(|a| ActionJson {
                t: a.time,
                kind: &a.kind,
                price: round(a.price),
                equity: position.and_then(|p| value_at(times, p, a.time)),
                label: &a.label,
            })
            .collect(),
    }
}

fn level(name: &str, value: f64) -> Level<'_> {
    Level { name, value: round(value) }
}

fn plain_series<'a>(name: &'a str, times: &[i64], values: &[f64]) -> SeriesJson<'a> {
    let n = times.len().min(values.len());
    let kept = decimate_indices(&values[..n], MAX_POINTS_PER_SERIES);
    series_at(name, times, &kept, |i| round(values[i]))
}

fn optional_series<'a>(name: &'a str, times: &[i64], values: &[Option<f64>]) -> SeriesJson<'a> {
    let n = times.len().min(values.len());
    let kept = decimate_optional_indices(&values[..n], MAX_POINTS_PER_SERIES);
    series_at(name, times, &kept, |i| values[i].and_then(round))
}

/// `kept` are valid indices into both `times` and the values (decimation returns indices
/// below the common length).
fn series_at<'a>(
    name: &'a str,
    times: &[i64],
    kept: &[usize],
    value: impl Fn(usize) -> Option<f64>,
) -> SeriesJson<'a> {
    let mut previous = 0i64;
    let dt = kept
        .iter()
        .map(|&i| {
            let delta = times[i].saturating_sub(previous);
            previous = times[i];
            delta
        })
        .collect();
    SeriesJson { name, dt, v: kept.iter().map(|&i| value(i)).collect() }
}

/// The value of the last sample at or before `time` (the first sample if `time` is earlier).
fn value_at(times: &[i64], values: &[f64], time: i64) -> Option<f64> {
    let n = times.len().min(values.len());
    let at_or_before = times[..n].partition_point(|&t| t <= time);
    values.get(at_or_before.saturating_sub(1)).and_then(|v| round(*v))
}

/// `v` rounded to [`SIGNIFICANT_DIGITS`]; `None` if not finite. Scaling by an exact power of
/// ten keeps the printed JSON short (`1234.567` rather than `1234.5670000000002`).
pub(crate) fn round(v: f64) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    if v == 0.0 {
        return Some(0.0);
    }
    let magnitude = v.abs().log10().floor() as i32;
    let shift = SIGNIFICANT_DIGITS - 1 - magnitude;
    let rounded = match shift {
        0..=22 => {
            let scale = 10f64.powi(shift);
            (v * scale).round() / scale
        }
        -22..=-1 => {
            let scale = 10f64.powi(-shift);
            (v / scale).round() * scale
        }
        _ => v,
    };
    Some(rounded).filter(|r| r.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_seven_digits() {
        assert_eq!(round(1234.5678901), Some(1234.568));
        assert_eq!(round(0.833_333_333), Some(0.833_333_3));
        assert_eq!(round(123_456_789.0), Some(123_456_800.0));
        assert_eq!(round(f64::NAN), None);
    }

    #[test]
    fn value_at_picks_the_sample_at_or_before() {
        let t = [10, 20, 30];
        let v = [1.0, 2.0, 3.0];
        assert_eq!(value_at(&t, &v, 25), Some(2.0));
        assert_eq!(value_at(&t, &v, 5), Some(1.0));
        assert_eq!(value_at(&t, &v, 99), Some(3.0));
        assert_eq!(value_at(&[], &[], 5), None);
    }
}
