//! The chart data of the risk page: per-row points for the leverage charts, the rows' groups,
//! and every row's fan and histograms (compacted), as JSON that is safe inside `<script>`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::payload::{escape_for_script, round};
use crate::risk_model::{Fan, Histogram, RiskReport, RiskRow};

/// Most time points embedded per fan; longer fans are sampled evenly, keeping both ends.
pub const MAX_FAN_POINTS: usize = 100;
/// Most bins embedded per histogram; more are merged in runs of equal length.
pub const MAX_HISTOGRAM_BINS: usize = 200;
/// The setting that is the x axis of the leverage charts, not a grouping key.
pub const LEVERAGE_KEY: &str = "position.leverage";

/// The JSON object the inline script reads on a risk page (`kind` tells it from a backtest).
#[derive(Debug, Serialize)]
struct Payload<'a> {
    kind: &'static str,
    focus: Option<usize>,
    /// Legend names of the groups of rows sharing their non-leverage settings; one empty name
    /// when all rows share them.
    groups: Vec<String>,
    rows: Vec<RowJson<'a>>,
    fans: Vec<Option<FanJson>>,
    outcomes: Vec<Option<HistogramJson<'a>>>,
    liq_times: Vec<Option<HistogramJson<'a>>>,
}

#[derive(Debug, Serialize)]
struct RowJson<'a> {
    label: &'a str,
    group: usize,
    lev: Option<f64>,
    paths: u64,
    liq: Option<f64>,
    liq_lo: Option<f64>,
    liq_hi: Option<f64>,
    mean_apy: Option<f64>,
    median_apy: Option<f64>,
    q05: Option<f64>,
    q95: Option<f64>,
}

#[derive(Debug, Serialize)]
struct FanJson {
    days: Vec<Option<f64>>,
    /// Ascending and finite; `bands[i]` belongs to `levels[i]`.
    levels: Vec<f64>,
    bands: Vec<Vec<Option<f64>>>,
    /// Empty when the fan has no mean.
    mean: Vec<Option<f64>>,
}

#[derive(Debug, Serialize)]
struct HistogramJson<'a> {
    label: &'a str,
    edges: Vec<Option<f64>>,
    counts: Vec<u64>,
}

/// The risk report's chart data as JSON, escaped so no string in it can end the script element.
pub fn script_json(report: &RiskReport) -> String {
    let (groups, group_of) = groups(&report.rows);
    let n = report.rows.len();
    let payload = Payload {
        kind: "risk",
        focus: focus(report),
        groups,
        rows: report.rows.iter().zip(group_of).map(|(row, group)| row_json(row, group)).collect(),
        fans: (0..n).map(|i| report.fans.get(i).and_then(fan_json)).collect(),
        outcomes: (0..n)
            .map(|i| report.outcome_histograms.get(i).and_then(histogram_json))
            .collect(),
        liq_times: (0..n)
            .map(|i| report.liquidation_time_histograms.get(i).and_then(histogram_json))
            .collect(),
    };
    // Serializing plain structs into memory cannot fail; the fallback keeps the page
    // renderable (charts show "no data") rather than panicking.
    let json = serde_json::to_string(&payload).unwrap_or_else(|_| "{\"kind\":\"risk\"}".into());
    escape_for_script(&json)
}

/// The focus row: `report.focus` when it is a row, else the first row; `None` without rows.
pub fn focus(report: &RiskReport) -> Option<usize> {
    if report.rows.is_empty() {
        None
    } else if report.focus < report.rows.len() {
        Some(report.focus)
    } else {
        Some(0)
    }
}

/// The value of quantile `p` of the row's net APY, if the row has it.
pub fn quantile(row: &RiskRow, p: f64) -> Option<f64> {
    row.quantiles.iter().find(|(q, _)| (q - p).abs() < 1e-9).map(|&(_, v)| v)
}

fn row_json(row: &RiskRow, group: usize) -> RowJson<'_> {
    RowJson {
        label: &row.label,
        group,
        lev: round(row.leverage),
        paths: row.paths,
        liq: round(row.liquidation_probability),
        liq_lo: round(row.liquidation_ci.0),
        liq_hi: round(row.liquidation_ci.1),
        mean_apy: round(row.mean_apy),
        median_apy: round(row.median_apy),
        q05: quantile(row, 0.05).and_then(round),
        q95: quantile(row, 0.95).and_then(round),
    }
}

/// Groups the rows by their settings other than [`LEVERAGE_KEY`], in order of first
/// appearance. Returns the groups' legend names (only the settings that differ between
/// groups, e.g. "deleverage_at=0.78") and each row's group.
pub fn groups(rows: &[RiskRow]) -> (Vec<String>, Vec<usize>) {
    let mut keys: Vec<BTreeMap<&str, &str>> = Vec::new();
    let mut group_of = Vec::with_capacity(rows.len());
    // Every non-leverage key, in order of first appearance.
    let mut order: Vec<&str> = Vec::new();
    for row in rows {
        let key: BTreeMap<&str, &str> = row
            .settings
            .iter()
            .filter(|(k, _)| k != LEVERAGE_KEY)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for k in key.keys() {
            if !order.contains(k) {
                order.push(k);
            }
        }
        let index = keys.iter().position(|g| *g == key).unwrap_or_else(|| {
            keys.push(key);
            keys.len() - 1
        });
        group_of.push(index);
    }
    let varying: Vec<&str> =
        order.iter().copied().filter(|k| keys.iter().any(|g| g.get(k) != keys[0].get(k))).collect();
    let short = |key: &str| -> String {
        let last = key.rsplit('.').next().unwrap_or(key);
        let clash = varying.iter().filter(|k| k.rsplit('.').next() == Some(last)).count() > 1;
        let shown = if clash { key } else { last };
        shown.to_string()
    };
    let names = keys
        .iter()
        .map(|g| {
            varying
                .iter()
                .map(|k| format!("{}={}", short(k), g.get(k).copied().unwrap_or("\u{2013}")))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    (names, group_of)
}

fn fan_json(fan: &Fan) -> Option<FanJson> {
    let n = fan.days.len();
    if n == 0 {
        return None;
    }
    let kept = even_indices(n, MAX_FAN_POINTS);
    let at = |values: &[f64]| -> Vec<Option<f64>> {
        kept.iter().map(|&j| values.get(j).copied().and_then(round)).collect()
    };
    let mut pairs: Vec<(f64, &Vec<f64>)> =
        fan.levels.iter().copied().zip(&fan.bands).filter(|(l, _)| l.is_finite()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(FanJson {
        days: at(&fan.days),
        levels: pairs.iter().map(|&(l, _)| round(l).unwrap_or(l)).collect(),
        bands: pairs.iter().map(|(_, band)| at(band)).collect(),
        mean: if fan.mean.is_empty() { Vec::new() } else { at(&fan.mean) },
    })
}

/// `max` indices spread evenly over `0..n`, first and last included (all of them if `n <= max`).
fn even_indices(n: usize, max: usize) -> Vec<usize> {
    if n <= max || max < 2 {
        return (0..n).collect();
    }
    // With n - 1 >= max > max - 1 the steps are at least one, so the indices are distinct.
    (0..max).map(|k| k * (n - 1) / (max - 1)).collect()
}

fn histogram_json(h: &Histogram) -> Option<HistogramJson<'_>> {
    let n = h.counts.len().min(h.edges.len().saturating_sub(1));
    if n == 0 {
        return None;
    }
    let run = n.div_ceil(MAX_HISTOGRAM_BINS);
    let mut edges = vec![round(h.edges[0])];
    let mut counts = Vec::with_capacity(n / run + 1);
    for start in (0..n).step_by(run) {
        let end = (start + run).min(n);
        counts.push(h.counts[start..end].iter().fold(0u64, |a, &c| a.saturating_add(c)));
        edges.push(round(h.edges[end]));
    }
    Some(HistogramJson { label: &h.label, edges, counts })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(settings: &[(&str, &str)]) -> RiskRow {
        RiskRow {
            settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..RiskRow::default()
        }
    }

    #[test]
    fn rows_group_by_their_settings_other_than_leverage() {
        let rows = [
            row(&[("position.leverage", "2"), ("protection.deleverage_at", "0.78")]),
            row(&[("position.leverage", "3"), ("protection.deleverage_at", "0.78")]),
            row(&[("position.leverage", "2"), ("protection.deleverage_at", "off")]),
            row(&[("protection.deleverage_at", "off"), ("position.leverage", "3")]),
        ];
        let (names, group_of) = groups(&rows);
        assert_eq!(names, ["deleverage_at=0.78", "deleverage_at=off"]);
        assert_eq!(group_of, [0, 0, 1, 1]);
        let (names, group_of) = groups(&rows[..2]);
        assert_eq!((names, group_of), (vec![String::new()], vec![0, 0]));
        assert_eq!(groups(&[]), (vec![], vec![]));
    }

    #[test]
    fn clashing_short_keys_stay_long() {
        let rows = [row(&[("a.rate", "1"), ("b.rate", "1")]), row(&[("a.rate", "2")])];
        assert_eq!(groups(&rows).0, ["a.rate=1, b.rate=1", "a.rate=2, b.rate=\u{2013}"]);
    }

    #[test]
    fn long_fans_and_histograms_are_compacted() {
        assert_eq!(even_indices(3, 100), [0, 1, 2]);
        let kept = even_indices(1_001, 100);
        assert_eq!((kept.len(), kept[0], kept[99]), (100, 0, 1_000));
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
        let h = Histogram {
            label: String::new(),
            edges: (0..=450).map(f64::from).collect(),
            counts: vec![1; 450],
        };
        let json = histogram_json(&h).unwrap();
        assert_eq!((json.counts.len(), json.edges.len()), (150, 151));
        assert_eq!(json.counts.iter().sum::<u64>(), 450);
        assert_eq!(json.edges.last(), Some(&Some(450.0)));
    }
}
