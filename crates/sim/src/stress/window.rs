//! The book through a window of real history at minute steps: the crashes in the bundled data
//! by name, or any span of the scenario's own prices.
//!
//! The data is hourly (or coarser), so each bar's minutes are made from its four prices: from
//! the last close through the bar's low and high to its close, in the order the bar moved (a
//! falling bar reaches its high first, then its low), each leg log-linear and given minutes in
//! proportion to its log distance. The path touches every low and high of the data: the
//! liquidations a bar's wick caused are in it, which closes alone would miss.

use serde::Serialize;

use super::{Book, BookSpec, ShockOutcome, Walk};
use crate::data::{iso, parse_time, PriceSeries};
use crate::scenario::Scenario;
use crate::world;
use crate::SimError;

/// A named stress window of the bundled ETH/USD hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NamedWindow {
    pub name: &'static str,
    /// The first bar's time and the end (exclusive), UTC.
    pub from: &'static str,
    pub to: &'static str,
    pub what: &'static str,
}

/// The crashes of the bundled ETH/USD history (Bitfinex hours, 2018-2023).
pub const WINDOWS: [NamedWindow; 5] = [
    NamedWindow {
        name: "march-2020",
        from: "2020-03-12",
        to: "2020-03-14",
        what: "Black Thursday: 195.60 to a low of 89.66 in 26 hours",
    },
    NamedWindow {
        name: "may-2021",
        from: "2021-05-19",
        to: "2021-05-21",
        what: "the May 2021 crash: 3,378.60 to 2,033.70 in 12 hours",
    },
    NamedWindow {
        name: "may-2022",
        from: "2022-05-10",
        to: "2022-05-13",
        what: "Terra's collapse: 2,232.10 to 1,763.40",
    },
    NamedWindow {
        name: "june-2022",
        from: "2022-06-12",
        to: "2022-06-15",
        what: "Celsius and Three Arrows: 1,533.70 to 1,075.30",
    },
    NamedWindow {
        name: "november-2022",
        from: "2022-11-08",
        to: "2022-11-11",
        what: "FTX: 1,569.50 to 1,073.90",
    },
];

/// A span of the price history to run the book through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowSpec {
    /// The window's name, or its span as given.
    pub name: String,
    /// Unix seconds: the first bar's time, and the end (exclusive).
    pub from: i64,
    pub to: i64,
}

impl WindowSpec {
    /// A name of [`WINDOWS`], or a span `FROM..TO` of times (`2020-03-12`,
    /// `2020-03-12T06:00:00Z`, Unix seconds); the end is exclusive.
    pub fn parse(text: &str) -> Result<WindowSpec, SimError> {
        let err = |m: String| SimError::Scenario(format!("window {text:?}: {m}"));
        if let Some(w) = WINDOWS.iter().find(|w| w.name == text) {
            return Ok(WindowSpec {
                name: w.name.into(),
                from: parse_time(w.from).map_err(err)?,
                to: parse_time(w.to).map_err(err)?,
            });
        }
        let Some((a, b)) = text.split_once("..") else {
            let names: Vec<&str> = WINDOWS.iter().map(|w| w.name).collect();
            return Err(err(format!("a span FROM..TO or one of {}", names.join(", "))));
        };
        let from = parse_time(a.trim()).map_err(|m| err(format!("start: {m}")))?;
        let to = parse_time(b.trim()).map_err(|m| err(format!("end: {m}")))?;
        if to <= from {
            return Err(err("the end must come after the start".into()));
        }
        Ok(WindowSpec { name: text.into(), from, to })
    }
}

/// What the book went through in a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowOutcome {
    pub window: WindowSpec,
    /// The first bar and the end, as UTC text; the price the book opened at (the close before
    /// the window) and the window's lowest and highest price.
    pub from: String,
    pub to: String,
    pub start: f64,
    pub low: f64,
    pub high: f64,
    /// The book opened at the start (each window opens its own, from the same seed).
    pub opened: usize,
    pub refused: usize,
    pub killed_before: usize,
    pub equity: f64,
    pub debt: f64,
    /// The plain borrowers' debt at the start (numeraire).
    pub borrowers_debt: f64,
    pub outcome: ShockOutcome,
}

/// The most minutes a window runs through: a week.
const MAX_MINUTES: usize = 7 * 24 * 60;

/// One bar's steps from the last close `prev` through its `low` and `high` to its `close`:
/// the high first when the bar fell, the low first when it rose; each leg log-linear, its steps
/// in proportion to its log distance (every leg that moves at least one). The last step is the
/// close.
pub fn bar_steps(prev: f64, low: f64, high: f64, close: f64, steps: usize) -> Vec<f64> {
    let (low, high) = (low.min(prev).min(close), high.max(prev).max(close));
    let turns = if close < prev { [high, low, close] } else { [low, high, close] };
    let legs = [prev, turns[0], turns[1], turns[2]];
    let dist: Vec<f64> = legs.windows(2).map(|w| (w[1] / w[0]).ln().abs()).collect();
    let total: f64 = dist.iter().sum();
    if steps == 0 {
        return Vec::new();
    }
    if total <= 0.0 {
        return vec![close; steps];
    }
    // Each leg's last step: its share of the distance, at least one step after the last
    // leg's where it moves, and room kept for the legs after it.
    let mut ends = [0usize; 3];
    let mut covered = 0.0;
    let mut last = 0usize;
    for k in 0..3 {
        covered += dist[k];
        let moving_after = dist[k + 1..].iter().filter(|&&d| d > 0.0).count();
        let mut end = ((covered / total) * steps as f64).round() as usize;
        if dist[k] > 0.0 {
            end = end.max(last + 1);
        }
        end = end.min(steps - moving_after).max(last);
        ends[k] = end;
        last = end;
    }
    ends[2] = steps;
    let mut out = Vec::with_capacity(steps);
    let mut start = 0usize;
    for k in 0..3 {
        let n = ends[k] - start;
        let (a, b) = (legs[k], legs[k + 1]);
        out.extend((1..=n).map(|i| a * (b / a).powf(i as f64 / n as f64)));
        start = ends[k];
    }
    if let Some(x) = out.last_mut() {
        *x = close;
    }
    out
}

/// The minute path of `series`' bars at `times` in `[from, to)`: the close before the first
/// as the start, then each bar's minutes ([`bar_steps`] from its low and high where the file
/// has them, log-linear between closes where it does not).
pub fn window_path(series: &PriceSeries, spec: &WindowSpec) -> Result<(f64, Vec<f64>), SimError> {
    let covered = || match (series.times.first(), series.times.last()) {
        (Some(&a), Some(&b)) => format!("{} to {}", iso(a), iso(b)),
        _ => "no bars".into(),
    };
    let first = series.times.partition_point(|&t| t < spec.from);
    let end = series.times.partition_point(|&t| t < spec.to);
    if first == 0 || first >= end || series.times.last().is_none_or(|&t| t < spec.to - 1) {
        return Err(SimError::Scenario(format!(
            "window {}: {} to {} is not within the prices of {} ({}), with a bar before it",
            spec.name,
            iso(spec.from),
            iso(spec.to),
            series.source,
            covered()
        )));
    }
    let steps = (series.interval / 60).max(1) as usize;
    if (end - first) * steps > MAX_MINUTES {
        return Err(SimError::Scenario(format!(
            "window {}: {} bars of {} minutes; a window runs at most a week of minutes",
            spec.name,
            end - first,
            steps
        )));
    }
    let f = |i: usize| world::wad_to_f64(series.closes[i].0);
    let start = f(first - 1);
    let mut path = Vec::with_capacity((end - first) * steps);
    for i in first..end {
        let prev = path.last().copied().unwrap_or(start);
        let (low, high) = match series.ranges.get(i) {
            Some([l, h]) => (world::wad_to_f64(l.0), world::wad_to_f64(h.0)),
            None => (prev.min(f(i)), prev.max(f(i))),
        };
        path.extend(bar_steps(prev, low, high, f(i), steps));
    }
    Ok((start, path))
}

/// Opens `spec`'s book at the close before `window` and runs it through the window's minutes
/// under `walk`'s oracle and liquidator (its `minutes` and `recovery` are the shocks' and not
/// used).
pub fn stress_window(
    scenario: &Scenario,
    series: &PriceSeries,
    window: &WindowSpec,
    spec: &BookSpec,
    walk: &Walk,
) -> Result<WindowOutcome, SimError> {
    let (start, path) = window_path(series, window)?;
    let history = super::History { series, at: window.from };
    let book = Book::open_at(scenario, world::price_from_f64(start)?, spec, Some(history))?;
    let (equity, debt) = book.totals()?;
    let step = series.interval / (series.interval / 60).max(1);
    let outcome = book.follow(&path, step, walk, walk.scan())?;
    Ok(WindowOutcome {
        window: window.clone(),
        from: iso(window.from),
        to: iso(window.to),
        start,
        low: path.iter().copied().fold(start, f64::min),
        high: path.iter().copied().fold(start, f64::max),
        opened: book.entries.len(),
        refused: book.refused,
        killed_before: book.killed_before,
        equity,
        debt,
        borrowers_debt: book.borrowers.iter().map(|b| b.debt).sum(),
        outcome,
    })
}
