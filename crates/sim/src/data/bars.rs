//! From raw bars in file order to a [`PriceSeries`]: time order, the window, the bar interval,
//! irregular spacing and gaps (refused or filled). Shared by the CSV and parquet readers.

use std::collections::BTreeMap;

use levfarm_core::price::Price;

use super::error::{DataError, Location};
use super::time::{iso, span};
use super::{Gap, GapPolicy, PriceOptions, PriceSeries};

/// The most bars a filled series may hold (about 400 MB), so a file with a tiny interval and
/// a huge gap is refused rather than exhausting memory.
const MAX_FILLED_BARS: u64 = 10_000_000;

/// Where a bar came from: a CSV line or a parquet row.
pub(crate) type Locate = fn(u64) -> Location;

/// Refuses a window whose start is after its end.
pub(crate) fn check_window(source: &str, opts: &PriceOptions) -> Result<(), DataError> {
    match (opts.start, opts.end) {
        (Some(start), Some(end)) if start > end => Err(DataError::file(
            source,
            format!("the window starts ({}) after it ends ({})", iso(start), iso(end)),
        )),
        _ => Ok(()),
    }
}

/// Whether `t` is inside the window `start <= t <= end`.
pub(crate) fn in_window(opts: &PriceOptions, t: i64) -> bool {
    opts.start.is_none_or(|s| t >= s) && opts.end.is_none_or(|e| t <= e)
}

/// Checks that each bar's time is after the previous bar's, over the whole file.
#[derive(Debug, Default)]
pub(crate) struct Order {
    prev: Option<(i64, u64)>,
}

impl Order {
    /// Accepts `t` at `pos` if it is after the previous time.
    pub(crate) fn check(
        &mut self,
        source: &str,
        t: i64,
        pos: u64,
        locate: Locate,
    ) -> Result<(), DataError> {
        if let Some((prev, prev_pos)) = self.prev {
            if t <= prev {
                let (what, why) = if t == prev {
                    ("repeats", "each bar needs its own time")
                } else {
                    ("is before", "rows must be oldest first")
                };
                let earlier = locate(prev_pos).describe();
                let message = format!("time {} {what} {earlier} ({}); {why}", iso(t), iso(prev));
                return Err(DataError::at(source, locate(pos), message));
            }
        }
        self.prev = Some((t, pos));
        Ok(())
    }
}

/// Bars kept from the window, in file order, with where each came from.
#[derive(Debug, Default)]
pub(crate) struct RawBars {
    times: Vec<i64>,
    closes: Vec<Price>,
    /// Lows and highs, while every bar so far had them.
    ranges: Option<Vec<[Price; 2]>>,
    positions: Vec<u64>,
}

impl RawBars {
    /// Whether no bar was kept yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Adds a bar, with its low and high when the file has them.
    pub(crate) fn push(&mut self, t: i64, close: Price, range: Option<[Price; 2]>, pos: u64) {
        match (range, &mut self.ranges) {
            (Some(r), Some(ranges)) => ranges.push(r),
            (Some(r), None) if self.times.is_empty() => self.ranges = Some(vec![r]),
            _ => self.ranges = None,
        }
        self.times.push(t);
        self.closes.push(close);
        self.positions.push(pos);
    }

    /// Checks spacing and gaps and builds the series. `rows` counts every data row read.
    pub(crate) fn assemble(
        self,
        source: &str,
        rows: u64,
        locate: Locate,
        opts: &PriceOptions,
    ) -> Result<PriceSeries, DataError> {
        if self.times.len() < 2 {
            return Err(too_few(source, rows, self.times.len(), opts));
        }
        let interval = infer_interval(&self.times);
        let (gaps, first_gap_pos) = self.find_gaps(source, interval, locate)?;
        let mut series = PriceSeries {
            source: source.to_owned(),
            interval: interval.unsigned_abs(),
            times: self.times,
            closes: self.closes,
            ranges: self.ranges.unwrap_or_default(),
            gaps: Vec::new(),
            filled: 0,
            quote: Vec::new(),
            others: Vec::new(),
        };
        if let (Some(first), Some(pos)) = (gaps.first(), first_gap_pos) {
            if opts.gaps == GapPolicy::Error {
                let (file, at, first) = (source.to_owned(), locate(pos), first.clone());
                return Err(DataError::Gaps { file, at, first, count: gaps.len() });
            }
            fill(&mut series, gaps)?;
        }
        Ok(series)
    }

    /// The gaps, and the position of the bar after the first; an error at the first step that
    /// is not a whole number of intervals.
    fn find_gaps(
        &self,
        source: &str,
        interval: i64,
        locate: Locate,
    ) -> Result<(Vec<Gap>, Option<u64>), DataError> {
        let mut gaps = Vec::new();
        let mut first_pos = None;
        for (i, pair) in self.times.windows(2).enumerate() {
            let [after, before] = [pair[0], pair[1]];
            let step = before - after;
            if step == interval {
                continue;
            }
            let pos = self.positions[i + 1];
            if step < interval || step % interval != 0 {
                return Err(irregular(
                    source,
                    locate,
                    pos,
                    self.positions[i],
                    [after, before],
                    interval,
                ));
            }
            let missing = (step / interval - 1).unsigned_abs();
            gaps.push(Gap { after, before, missing });
            first_pos.get_or_insert(pos);
        }
        Ok((gaps, first_pos))
    }
}

/// The most common step between consecutive times; ties go to the smallest.
pub(crate) fn infer_interval(times: &[i64]) -> i64 {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for pair in times.windows(2) {
        *counts.entry(pair[1] - pair[0]).or_default() += 1;
    }
    // `max_by_key` returns the last maximum; iterating in reverse makes that the smallest step.
    counts.into_iter().rev().max_by_key(|&(_, n)| n).map_or(1, |(step, _)| step)
}

/// Inserts the previous close at every missing step.
fn fill(series: &mut PriceSeries, gaps: Vec<Gap>) -> Result<(), DataError> {
    let missing: u64 = gaps.iter().map(|g| g.missing).sum();
    let total = missing.saturating_add(series.times.len() as u64);
    if total > MAX_FILLED_BARS {
        let message = format!(
            "filling {} gaps would make {total} bars (at most {MAX_FILLED_BARS}); \
             pick a --start/--end window or a coarser file",
            gaps.len()
        );
        return Err(DataError::file(&series.source, message));
    }
    let capacity = usize::try_from(total).unwrap_or(usize::MAX);
    let (mut times, mut closes) = (Vec::with_capacity(capacity), Vec::with_capacity(capacity));
    let with_ranges = !series.ranges.is_empty();
    let mut ranges = Vec::with_capacity(if with_ranges { capacity } else { 0 });
    let step = i64::try_from(series.interval).unwrap_or(i64::MAX);
    for (i, (&t, &close)) in series.times.iter().zip(&series.closes).enumerate() {
        if let (Some(&prev_t), Some(&prev_close)) = (times.last(), closes.last()) {
            let mut next = prev_t + step;
            while next < t {
                times.push(next);
                closes.push(prev_close);
                if with_ranges {
                    ranges.push([prev_close, prev_close]);
                }
                next += step;
            }
        }
        times.push(t);
        closes.push(close);
        if with_ranges {
            ranges.push(series.ranges[i]);
        }
    }
    series.times = times;
    series.closes = closes;
    series.ranges = ranges;
    series.gaps = gaps;
    series.filled = missing;
    Ok(())
}

fn irregular(
    source: &str,
    locate: Locate,
    pos: u64,
    prev_pos: u64,
    [after, before]: [i64; 2],
    interval: i64,
) -> DataError {
    let earlier = locate(prev_pos).describe();
    let message = format!(
        "irregular spacing: {} is {} after {earlier} ({}), but bars are {} apart",
        iso(before),
        span((before - after).unsigned_abs()),
        iso(after),
        span(interval.unsigned_abs()),
    );
    DataError::at(source, locate(pos), message)
}

fn too_few(source: &str, rows: u64, bars: usize, opts: &PriceOptions) -> DataError {
    if rows == 0 {
        return DataError::file(source, "no data rows after the header");
    }
    let noun = if bars == 1 { "bar" } else { "bars" };
    let window = match (opts.start, opts.end) {
        (None, None) => String::new(),
        (start, end) => format!(
            " in the window {} to {}",
            start.map_or("the start".to_owned(), iso),
            end.map_or("the end".to_owned(), iso)
        ),
    };
    DataError::file(source, format!("{bars} {noun}{window}; need at least 2"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_the_most_common_step_ties_to_the_smallest() {
        assert_eq!(infer_interval(&[0, 60, 120, 300, 360]), 60);
        assert_eq!(infer_interval(&[0, 60, 180]), 60); // one 60, one 120: tie -> 60
        assert_eq!(infer_interval(&[0, 120, 240, 300]), 120);
    }
}
