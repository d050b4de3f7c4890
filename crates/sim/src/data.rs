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
/// The bundled Aave v2 daily deposits and borrows, 2020-12 to 2022-07.
pub const BUNDLED_AAVE_UTILIZATION: &str = "bundled:aave_v2_utilization";
/// The bundled Uniswap v2 USDC/WETH and WETH/USDT daily volumes, May 2022.
pub const BUNDLED_UNISWAP_VOLUME: &str = "bundled:uniswap_v2_volume";
/// Every bundled name.
pub const BUNDLED: &[&str] =
    &[BUNDLED_ETH_USD, BUNDLED_BTC_USD, BUNDLED_AAVE_UTILIZATION, BUNDLED_UNISWAP_VOLUME];

/// The text of a bundled data set, by its `bundled:` name.
pub fn bundled_text(name: &str) -> Option<&'static str> {
    match name {
        BUNDLED_ETH_USD => Some(include_str!("../../../data/ETHUSD_1h_bitfinex_clean.csv")),
        BUNDLED_BTC_USD => Some(include_str!("../../../data/BTCUSD_1h_coinbase_clean.csv")),
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
/// `asset`'s order, each with the quote token's close in [`PriceSeries::quote`]. The two must
/// share their interval; no common bar is an error naming both spans.
pub fn with_quote(asset: PriceSeries, quote: PriceSeries) -> Result<PriceSeries, DataError> {
    let span = |s: &PriceSeries| match (s.times.first(), s.times.last()) {
        (Some(a), Some(b)) => format!("{} ({} to {})", s.source, iso(*a), iso(*b)),
        _ => s.source.clone(),
    };
    if asset.interval != quote.interval {
        return Err(DataError::File {
            file: quote.source.clone(),
            message: format!(
                "its bars are {} s apart, the asset's ({}) {} s: the two histories need one clock",
                quote.interval, asset.source, asset.interval
            ),
        });
    }
    let by_time: std::collections::BTreeMap<i64, Price> =
        quote.times.iter().copied().zip(quote.closes.iter().copied()).collect();
    let source = format!("{} and {}", asset.source, quote.source);
    let mut out = PriceSeries { quote: Vec::new(), source, ..asset.clone() };
    out.times.clear();
    out.closes.clear();
    out.ranges.clear();
    for (i, t) in asset.times.iter().enumerate() {
        let Some(q) = by_time.get(t) else { continue };
        out.times.push(*t);
        out.closes.push(asset.closes[i]);
        if let Some(r) = asset.ranges.get(i) {
            out.ranges.push(*r);
        }
        out.quote.push(*q);
    }
    if out.times.len() < 2 {
        return Err(DataError::File {
            file: quote.source.clone(),
            message: format!(
                "{} and {} have fewer than 2 bars in common",
                span(&asset),
                span(&quote)
            ),
        });
    }
    // Bars present in only one history inside the common span would be holes in the clock.
    let (first, last) = (out.times[0], out.times[out.times.len() - 1]);
    let expected = (last - first) / asset.interval as i64 + 1;
    if out.times.len() as i64 != expected {
        return Err(DataError::File {
            file: quote.source.clone(),
            message: format!(
                "{} bars of {} to {} are missing from one history or the other; fill their \
                 gaps (data.gaps = \"fill\") so that both have every bar",
                expected - out.times.len() as i64,
                iso(first),
                iso(last)
            ),
        });
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
