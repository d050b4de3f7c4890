//! Market data in: hourly price bars, and daily model inputs (Aave utilization, Uniswap
//! volume), from CSV (or parquet with the `parquet` feature) or from the copies bundled
//! into the binary so the default backtest runs offline.
//!
//! Every refusal is a [`DataError`] located at the file, line and column that failed
//! (`prices.csv:17:5 (close): "-3.2" is not a positive price`). Gaps in a price series are
//! never passed over silently: [`GapPolicy`] refuses or fills them, and [`PriceSeries`] lists
//! them.
//!
//! | module | holds |
//! |---|---|
//! | `prices` | [`PriceOptions`], [`PriceSeries`], [`parse_prices_csv`] |
//! | `bars` | time order, the window, the interval, gaps and filling |
//! | `series` | [`Series`], [`load_utilization`], [`load_volume`], [`load_series`] |
//! | `time` | Unix seconds and ISO 8601 in, [`iso`] out |
//! | `number` | exact price cells and `f64` value cells |
//! | `table` | CSV header lookup and located cells |
//! | `error` | [`DataError`], [`Location`] |
//!
//! ```
//! use levfarm_sim::data::{load_prices, GapPolicy, PriceOptions, BUNDLED_ETH_USD};
//!
//! let opts = PriceOptions { gaps: GapPolicy::Fill, ..PriceOptions::default() };
//! let eth = load_prices(BUNDLED_ETH_USD, &opts).unwrap();
//! assert_eq!(eth.interval, 3600);
//! assert_eq!(eth.closes[0].to_string(), "733.04");
//! ```

use std::borrow::Cow;

use levfarm_core::price::Price;

mod bars;
mod error;
mod number;
#[cfg(feature = "parquet")]
mod parquet_file;
mod prices;
mod series;
mod table;
mod time;

pub use error::{DataError, Location};
pub use prices::{parse_prices_csv, Gap, GapPolicy, PriceOptions, PriceSeries};
pub use series::{load_series, load_series_of, load_utilization, load_volume, Series};
pub use table::TIME_COLUMNS;
pub use time::{iso, parse_time};

/// The bundled hourly Bitfinex ETH/USD bars, 2018-05-15 to 2023-01-17.
pub const BUNDLED_ETH_USD: &str = "bundled:ETHUSD_1h";
/// The bundled hourly Coinbase BTC/USD bars, 2017-07-01 to 2019-10-17.
pub const BUNDLED_BTC_USD: &str = "bundled:BTCUSD_1h";
/// The bundled Bitstamp daily closes of BTC, ETH and LTC in dollars (columns `BTC_close`,
/// `ETH_close`, `LTC_close`), 2014-11-28 to 2020-01-17; ETH from 2017-11-09, LTC from
/// 2017-06-25.
pub const BUNDLED_BTC_ETH_LTC_USD_1D: &str = "bundled:BTC_ETH_LTC_USD_1d";
/// The bundled Aave v2 daily deposits and borrows, 2020-12 to 2022-07.
pub const BUNDLED_AAVE_UTILIZATION: &str = "bundled:aave_v2_utilization";
/// The bundled Uniswap v2 USDC/WETH and WETH/USDT daily volumes, May 2022.
pub const BUNDLED_UNISWAP_VOLUME: &str = "bundled:uniswap_v2_volume";
/// Every bundled name.
pub const BUNDLED: &[&str] = &[
    BUNDLED_ETH_USD,
    BUNDLED_BTC_USD,
    BUNDLED_BTC_ETH_LTC_USD_1D,
    BUNDLED_AAVE_UTILIZATION,
    BUNDLED_UNISWAP_VOLUME,
];

/// The text of a bundled data set, by its `bundled:` name.
pub fn bundled_text(name: &str) -> Option<&'static str> {
    match name {
        BUNDLED_ETH_USD => Some(include_str!("../../../data/ETHUSD_1h_bitfinex_clean.csv")),
        BUNDLED_BTC_USD => Some(include_str!("../../../data/BTCUSD_1h_coinbase_clean.csv")),
        BUNDLED_BTC_ETH_LTC_USD_1D => {
            Some(include_str!("../../../data/BTC_ETH_LTC_USD_1d_bitstamp.csv"))
        }
        BUNDLED_AAVE_UTILIZATION => {
            Some(include_str!("../../../data/aave_v2_eth_daily_deposit_borrow_2020-12_2022-07.csv"))
        }
        BUNDLED_UNISWAP_VOLUME => {
            Some(include_str!("../../../data/uniswap_v2_usdc_weth_usdt_daily_2022-05.csv"))
        }
        _ => None,
    }
}

/// Loads price bars from a CSV file, a parquet file (`.parquet`, with the `parquet` feature)
/// or a bundled name such as [`BUNDLED_ETH_USD`].
pub fn load_prices(path: &str, opts: &PriceOptions) -> Result<PriceSeries, DataError> {
    if is_parquet(path) {
        return load_parquet(path, opts);
    }
    let text = read_text(path)?;
    parse_prices_csv(path, &text, opts)
}

/// Puts the stable token's own history (`quote`) beside the asset's: the bars both have, in
/// `asset`'s order, each with the quote token's close in [`PriceSeries::quote`]
/// ([`on_one_clock`] with no other history).
pub fn with_quote(asset: PriceSeries, quote: PriceSeries) -> Result<PriceSeries, DataError> {
    on_one_clock(asset, Some(quote), Vec::new())
}

/// Puts further histories beside `main` on its clock: the bars every one of them has, in
/// `main`'s order. `quote` (the pair's second token, when it has a history) goes to
/// [`PriceSeries::quote`], `others` to [`PriceSeries::others`] by symbol. All must share
/// `main`'s interval; fewer than 2 common bars, or a bar inside the common span that one
/// history lacks, is an error naming the histories and the bar.
pub fn on_one_clock(
    main: PriceSeries,
    quote: Option<PriceSeries>,
    others: Vec<(String, PriceSeries)>,
) -> Result<PriceSeries, DataError> {
    let span = |s: &PriceSeries| match (s.times.first(), s.times.last()) {
        (Some(a), Some(b)) => format!("{} ({} to {})", s.source, iso(*a), iso(*b)),
        _ => s.source.clone(),
    };
    let beside: Vec<&PriceSeries> = quote.iter().chain(others.iter().map(|(_, s)| s)).collect();
    let Some(last_added) = beside.last() else { return Ok(main) };
    for s in &beside {
        if s.interval != main.interval {
            return Err(DataError::File {
                file: s.source.clone(),
                message: format!(
                    "its bars are {} s apart, {}'s {} s: the histories need one clock",
                    s.interval, main.source, main.interval
                ),
            });
        }
    }
    let by_time: Vec<std::collections::BTreeMap<i64, Price>> = beside
        .iter()
        .map(|s| s.times.iter().copied().zip(s.closes.iter().copied()).collect())
        .collect();
    let mut sources = vec![main.source.as_str()];
    sources.extend(beside.iter().map(|s| s.source.as_str()));
    let mut out = PriceSeries {
        source: sources.join(" and "),
        times: Vec::new(),
        closes: Vec::new(),
        ranges: Vec::new(),
        quote: Vec::new(),
        others: others.iter().map(|(t, _)| (t.clone(), Vec::new())).collect(),
        ..main.clone()
    };
    let mut columns: Vec<Vec<Price>> = vec![Vec::new(); beside.len()];
    for (i, t) in main.times.iter().enumerate() {
        let Some(row) = by_time.iter().map(|m| m.get(t).copied()).collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        out.times.push(*t);
        out.closes.push(main.closes[i]);
        if let Some(r) = main.ranges.get(i) {
            out.ranges.push(*r);
        }
        for (column, price) in columns.iter_mut().zip(row) {
            column.push(price);
        }
    }
    if out.times.len() < 2 {
        let spans: Vec<String> =
            std::iter::once(&main).chain(beside.iter().copied()).map(span).collect();
        return Err(DataError::File {
            file: last_added.source.clone(),
            message: format!("{} have fewer than 2 bars in common", spans.join(" and ")),
        });
    }
    // A bar present in some histories only, inside the common span, would be a hole in the
    // clock: name the first one and the histories that lack it.
    let (first, last) = (out.times[0], out.times[out.times.len() - 1]);
    let expected = (last - first) / main.interval as i64 + 1;
    if out.times.len() as i64 != expected {
        let step = main.interval as i64;
        let hole = (0..expected)
            .map(|k| first + k * step)
            .zip(out.times.iter().copied().chain(std::iter::repeat(i64::MAX)))
            .find(|(want, got)| want != got)
            .map_or(first, |(want, _)| want);
        let main_has = main.times.binary_search(&hole).is_ok();
        let lacking: Vec<&str> = std::iter::once((&main, main_has))
            .chain(beside.iter().zip(&by_time).map(|(s, m)| (*s, m.contains_key(&hole))))
            .filter(|(_, has)| !has)
            .map(|(s, _)| s.source.as_str())
            .collect();
        return Err(DataError::File {
            file: lacking.first().map_or(last_added.source.clone(), |s| s.to_string()),
            message: format!(
                "{} bars of {} to {} are missing from one history or another, the first at {} \
                 (missing from {}); fill their gaps (data.gaps = \"fill\") so that every \
                 history has every bar",
                expected - out.times.len() as i64,
                iso(first),
                iso(last),
                iso(hole),
                lacking.join(" and ")
            ),
        });
    }
    // Every history's filled gaps inside the common span are the run's: the notes count them.
    out.gaps = std::iter::once(&main)
        .chain(beside.iter().copied())
        .flat_map(|s| s.gaps.iter())
        .filter(|g| g.after >= first && g.before <= last)
        .cloned()
        .collect();
    out.filled = out.gaps.iter().map(|g| g.missing).sum();
    let mut columns = columns.into_iter();
    if quote.is_some() {
        out.quote = columns.next().unwrap_or_default();
    }
    for ((_, column), prices) in out.others.iter_mut().zip(columns) {
        *column = prices;
    }
    Ok(out)
}

fn is_parquet(path: &str) -> bool {
    !path.starts_with("bundled:")
        && std::path::Path::new(path).extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

#[cfg(feature = "parquet")]
fn load_parquet(path: &str, opts: &PriceOptions) -> Result<PriceSeries, DataError> {
    parquet_file::load_prices(path, opts)
}

#[cfg(not(feature = "parquet"))]
fn load_parquet(path: &str, _opts: &PriceOptions) -> Result<PriceSeries, DataError> {
    Err(DataError::ParquetDisabled { file: path.to_owned() })
}

/// The text of a file or bundled data set; a non-UTF-8 file is refused at its line.
pub(crate) fn read_text(path: &str) -> Result<Cow<'static, str>, DataError> {
    if path.starts_with("bundled:") {
        return bundled_text(path).map(Cow::Borrowed).ok_or_else(|| DataError::UnknownBundled {
            name: path.to_owned(),
            known: BUNDLED.join(", "),
        });
    }
    let bytes =
        std::fs::read(path).map_err(|source| DataError::Read { file: path.to_owned(), source })?;
    String::from_utf8(bytes).map(Cow::Owned).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        DataError::at(path, Location::line(line), "not UTF-8 text; save the file as UTF-8")
    })
}

/// Pearson's correlation matrix of series taken at the same steps (the shortest's length):
/// 1 on the diagonal, symmetric, within [-1, 1]; NaN beside a series that never varies.
pub fn correlation(series: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = series.iter().map(Vec::len).min().unwrap_or(0);
    let centred: Vec<Vec<f64>> = series
        .iter()
        .map(|r| {
            let mean = r[..n].iter().sum::<f64>() / n.max(1) as f64;
            r[..n].iter().map(|x| x - mean).collect()
        })
        .collect();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let norms: Vec<f64> = centred.iter().map(|c| dot(c, c).sqrt()).collect();
    (0..centred.len())
        .map(|i| {
            (0..centred.len())
                .map(|j| {
                    if norms[i] == 0.0 || norms[j] == 0.0 {
                        f64::NAN
                    } else if i == j {
                        1.0
                    } else {
                        (dot(&centred[i], &centred[j]) / (norms[i] * norms[j])).clamp(-1.0, 1.0)
                    }
                })
                .collect()
        })
        .collect()
}
