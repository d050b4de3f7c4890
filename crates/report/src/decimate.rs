//! Min/max (M4-style) bucket decimation: shrink a long series for drawing without losing its
//! extremes.
//!
//! The samples are cut into equal index buckets; each bucket keeps its first, last, minimum and
//! maximum finite value, and (for series with gaps) its first and last missing sample, so a
//! line drawn through the kept points has the same envelope and the same gaps as the full
//! series. A one-hour crash wick survives because it is some bucket's minimum.

/// Fewest points a decimated series keeps: first, last, minimum, maximum.
const MIN_POINTS: usize = 4;
/// Most points one bucket can keep (four values and two gap markers).
const PER_BUCKET_WITH_GAPS: usize = 6;

/// Indices (ascending) of the samples of `values` to draw, about `max_points` of them.
///
/// Keeps the first and last sample and the global minimum and maximum. Returns `0..len` when
/// the series already has at most `max_points` samples. Non-finite values count as gaps.
pub fn decimate_indices(values: &[f64], max_points: usize) -> Vec<usize> {
    decimate_by(values.len(), max_points, |i| values.get(i).copied().filter(|v| v.is_finite()))
}

/// Like [`decimate_indices`] for a series with gaps (`None`): the first and last sample of each
/// gap in a bucket are kept so the gap is still drawn.
pub fn decimate_optional_indices(values: &[Option<f64>], max_points: usize) -> Vec<usize> {
    decimate_by(values.len(), max_points, |i| {
        values.get(i).copied().flatten().filter(|v| v.is_finite())
    })
}

fn decimate_by(len: usize, max_points: usize, value: impl Fn(usize) -> Option<f64>) -> Vec<usize> {
    let max_points = max_points.max(MIN_POINTS);
    if len <= max_points {
        return (0..len).collect();
    }
    let mut buckets = max_points / MIN_POINTS;
    loop {
        let kept = decimate_into(len, buckets, &value);
        if kept.len() <= max_points || buckets == 1 {
            return kept;
        }
        // Buckets with gaps keep up to six points; shrink until the total fits.
        let shrunk = buckets * max_points / kept.len();
        buckets = shrunk.clamp(1, buckets - 1);
    }
}

fn decimate_into(len: usize, buckets: usize, value: &impl Fn(usize) -> Option<f64>) -> Vec<usize> {
    let mut kept = Vec::with_capacity(buckets * PER_BUCKET_WITH_GAPS);
    for b in 0..buckets {
        let start = bucket_edge(b, len, buckets);
        let end = bucket_edge(b + 1, len, buckets);
        let mut picks = Bucket::scan(start..end, value).indices();
        picks.sort_unstable();
        picks.dedup();
        kept.extend(picks);
    }
    kept
}

/// First index of bucket `b` of `buckets` over `len` samples (`len` for `b == buckets`).
fn bucket_edge(b: usize, len: usize, buckets: usize) -> usize {
    let edge = (b as u128 * len as u128) / buckets.max(1) as u128;
    usize::try_from(edge).unwrap_or(len).min(len)
}

/// What one bucket keeps. Ties keep the earliest sample, so the output is deterministic.
#[derive(Debug, Default)]
struct Bucket {
    first: Option<usize>,
    last: Option<usize>,
    min: Option<(usize, f64)>,
    max: Option<(usize, f64)>,
    first_gap: Option<usize>,
    last_gap: Option<usize>,
}

impl Bucket {
    fn scan(range: std::ops::Range<usize>, value: &impl Fn(usize) -> Option<f64>) -> Self {
        let mut bucket = Self::default();
        for i in range {
            match value(i) {
                Some(v) => bucket.see_value(i, v),
                None => bucket.see_gap(i),
            }
        }
        bucket
    }

    fn see_value(&mut self, i: usize, v: f64) {
        self.first.get_or_insert(i);
        self.last = Some(i);
        if self.min.is_none_or(|(_, m)| v < m) {
            self.min = Some((i, v));
        }
        if self.max.is_none_or(|(_, m)| v > m) {
            self.max = Some((i, v));
        }
    }

    fn see_gap(&mut self, i: usize) {
        self.first_gap.get_or_insert(i);
        self.last_gap = Some(i);
    }

    fn indices(&self) -> Vec<usize> {
        let extremes = [self.min, self.max].into_iter().flatten().map(|(i, _)| i);
        [self.first, self.last, self.first_gap, self.last_gap]
            .into_iter()
            .flatten()
            .chain(extremes)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_kept_at_both_edges() {
        // 0..100 values, 100..200 gap, 200..300 values; 4 buckets of 75.
        let v: Vec<Option<f64>> =
            (0..300).map(|i| (!(100..200).contains(&i)).then_some(i as f64)).collect();
        let kept = decimate_optional_indices(&v, 16);
        assert!(kept.contains(&100) && kept.contains(&199), "{kept:?}");
        assert!(kept.contains(&99) && kept.contains(&200), "{kept:?}");
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn alternating_gaps_still_fit() {
        let v: Vec<Option<f64>> = (0..10_000).map(|i| (i % 2 == 0).then_some(1.0)).collect();
        assert!(decimate_optional_indices(&v, 100).len() <= 100);
    }
}
