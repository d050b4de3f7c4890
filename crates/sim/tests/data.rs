//! The price and history loaders against small fixtures (one per kind of bad input, each
//! message checked whole, line and column included) and the bundled data sets, whose numbers
//! were read off the CSV files by eye.

use levfarm_core::price::Price;
use levfarm_sim::data::{
    bundled_text, iso, load_prices, load_series, load_series_of, load_utilization, load_volume,
    on_one_clock, parse_prices_csv, DataError, Gap, GapPolicy, PriceOptions, PriceSeries,
    BUNDLED_AAVE_UTILIZATION, BUNDLED_BTC_ETH_LTC_USD_1D, BUNDLED_BTC_USD, BUNDLED_ETH_USD,
    BUNDLED_UNISWAP_VOLUME,
};
use proptest::prelude::*;

/// 2020-03-12T00:00:00Z, the first bar of the hourly fixtures.
const T0: i64 = 1_583_971_200;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
const GAP_HINT: &str =
    "choose --gaps fill (carry the previous close forward) or a --start/--end window without gaps";

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Parses a fixture under its bare name, so messages read `name.csv:LINE:COL`.
fn parse(name: &str, opts: &PriceOptions) -> Result<PriceSeries, DataError> {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    parse_prices_csv(name, &text, opts)
}

fn error(name: &str, opts: &PriceOptions) -> String {
    match parse(name, opts) {
        Ok(series) => panic!("{name} loaded: {} bars", series.times.len()),
        Err(e) => e.to_string(),
    }
}

fn fill() -> PriceOptions {
    PriceOptions { gaps: GapPolicy::Fill, ..PriceOptions::default() }
}

fn price(text: &str) -> Price {
    Price::parse(text).unwrap()
}

// ---- bad input, one test per kind -------------------------------------------------------

#[test]
fn non_numeric_price_is_located_at_its_cell() {
    // bad_number.csv: header, then 5 daily rows; the third (line 4) has "twelve" in column 2.
    assert_eq!(
        error("bad_number.csv", &PriceOptions::default()),
        r#"bad_number.csv:4:2 (price): "twelve" is not a decimal price such as 1850.25"#
    );
}

#[test]
fn negative_price_is_located_at_its_cell() {
    // negative_price.csv has 16 rows after the header; line 17 column 5 (close) is -3.2.
    assert_eq!(
        error("negative_price.csv", &PriceOptions::default()),
        r#"negative_price.csv:17:5 (close): "-3.2" is not a positive price"#
    );
    // Through the file reader the message names the path given.
    let path = fixture("negative_price.csv");
    let err = load_prices(&path, &PriceOptions::default()).unwrap_err().to_string();
    assert_eq!(err, format!(r#"{path}:17:5 (close): "-3.2" is not a positive price"#));
}

#[test]
fn zero_price_is_refused() {
    assert_eq!(
        error("zero_price.csv", &PriceOptions::default()),
        r#"zero_price.csv:3:6 (close): "0.00" is not a positive price"#
    );
}

#[test]
fn exponent_price_is_refused_with_a_hint() {
    assert_eq!(
        error("exponent_price.csv", &PriceOptions::default()),
        r#"exponent_price.csv:4:6 (close): "1.5e2" uses an exponent; write it as a plain decimal such as 1850.25"#
    );
}

#[test]
fn other_bad_prices_quote_the_cell() {
    let cases = [
        ("NaN", r#""NaN" is not a finite price"#),
        ("inf", r#""inf" is not a finite price"#),
        ("", "empty cell; expected a positive price"),
        (
            "1.0000000000000000001",
            r#""1.0000000000000000001" has 19 decimals; at most 18 are kept exactly"#,
        ),
    ];
    for (cell, message) in cases {
        let text = format!("unix_s,close\n0,1\n3600,{cell}\n7200,1\n");
        let err = parse_prices_csv("p.csv", &text, &PriceOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), format!("p.csv:3:2 (close): {message}"), "{cell:?}");
    }
}

#[test]
fn lines_are_counted_right_with_crlf_and_cr_line_ends() {
    // Regression: the csv crate's own line numbers are one short for CRLF and stay at 1 for CR.
    for end in ["\n", "\r\n", "\r"] {
        let text = ["unix_s,close", "0,1", "3600,1", "7200,x", "10800,1", ""].join(end);
        let err = parse_prices_csv("p.csv", &text, &PriceOptions::default()).unwrap_err();
        let want = r#"p.csv:4:2 (close): "x" is not a decimal price such as 1850.25"#;
        assert_eq!(err.to_string(), want, "{end:?}");
        let text = ["unix_s,close", "0,1", "", "3600", ""].join(end);
        let err = parse_prices_csv("p.csv", &text, &PriceOptions::default()).unwrap_err();
        let want = "p.csv:4: the row has 1 field but the header has 2";
        assert_eq!(err.to_string(), want, "{end:?}");
    }
}

#[test]
fn quoted_cells_may_span_lines() {
    let text = "unix_s,note,close\n0,\"two\nlines\",1\n3600,x,-1\n";
    let err = parse_prices_csv("p.csv", text, &PriceOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), r#"p.csv:4:3 (close): "-1" is not a positive price"#);
}

#[test]
fn high_below_low_is_refused_at_the_high_cell() {
    // Line 5 is the 03:00 bar: high 90 against low 103 - 1.25 = 101.75.
    assert_eq!(
        error("high_below_low.csv", &PriceOptions::default()),
        "high_below_low.csv:5:4 (high): high 90 is below low 101.75"
    );
}

#[test]
fn open_high_low_must_be_positive_too() {
    let text = "unix_s,open,high,low,close\n0,1,2,1,1\n3600,1,2,-1,1\n";
    let err = parse_prices_csv("p.csv", text, &PriceOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), r#"p.csv:3:4 (low): "-1" is not a positive price"#);
}

#[test]
fn duplicate_timestamp_names_both_lines() {
    assert_eq!(
        error("duplicate_time.csv", &PriceOptions::default()),
        "duplicate_time.csv:5: time 2020-03-12T02:00:00Z repeats line 4 (2020-03-12T02:00:00Z); \
         each bar needs its own time"
    );
}

#[test]
fn decreasing_timestamp_names_both_times() {
    assert_eq!(
        error("decreasing_time.csv", &PriceOptions::default()),
        "decreasing_time.csv:6: time 2020-03-12T01:00:00Z is before line 5 \
         (2020-03-12T03:00:00Z); rows must be oldest first"
    );
}

#[test]
fn gap_with_error_policy_names_the_first_gap_and_the_count() {
    // gaps.csv: 00..05, then 09 (line 8; 06, 07, 08 missing), then 11 (10 missing).
    assert_eq!(
        error("gaps.csv", &PriceOptions::default()),
        format!(
            "gaps.csv:8: 3 bars missing between 2020-03-12T05:00:00Z and 2020-03-12T09:00:00Z \
             (2 gaps in all); {GAP_HINT}"
        )
    );
}

#[test]
fn gap_with_fill_policy_carries_the_previous_close() {
    let s = parse("gaps.csv", &fill()).unwrap();
    assert_eq!(s.interval, 3600);
    assert_eq!(s.times, (0..12).map(|h| T0 + h * HOUR).collect::<Vec<_>>());
    let closes: Vec<String> = s.closes.iter().map(Price::to_string).collect();
    // 06, 07, 08 carry 05's close 105.5; 10 carries 09's close 109.5.
    let want = [
        "100.5", "101.5", "102.5", "103.5", "104.5", "105.5", "105.5", "105.5", "105.5", "109.5",
        "109.5", "111.5",
    ];
    assert_eq!(closes, want);
    assert_eq!(
        s.gaps,
        [
            Gap { after: T0 + 5 * HOUR, before: T0 + 9 * HOUR, missing: 3 },
            Gap { after: T0 + 9 * HOUR, before: T0 + 11 * HOUR, missing: 1 },
        ]
    );
    assert_eq!(s.filled, 4);
}

#[test]
fn irregular_spacing_is_refused_at_the_line() {
    // Steps 1h, 1h, 30m: the interval is 1h and 02:30 on line 5 is off the grid.
    assert_eq!(
        error("irregular.csv", &fill()),
        "irregular.csv:5: irregular spacing: 2020-03-12T02:30:00Z is 30m after line 4 \
         (2020-03-12T02:00:00Z), but bars are 1h apart"
    );
    // A step longer than the interval but not a multiple of it is refused too.
    let text = "unix_s,close\n0,1\n3600,1\n7200,1\n12600,1\n";
    let err = parse_prices_csv("p.csv", text, &fill()).unwrap_err().to_string();
    assert_eq!(
        err,
        "p.csv:5: irregular spacing: 1970-01-01T03:30:00Z is 1h30m after line 4 \
         (1970-01-01T02:00:00Z), but bars are 1h apart"
    );
}

#[test]
fn missing_close_column_lists_the_columns() {
    assert_eq!(
        error("no_close.csv", &PriceOptions::default()),
        r#"no_close.csv: no "close" or "price" column (columns: unix_s, open, high, low)"#
    );
    let opts = PriceOptions { column: Some("mid".into()), ..PriceOptions::default() };
    assert_eq!(
        error("hourly_ok.csv", &opts),
        r#"hourly_ok.csv: no "mid" column (columns: unix_s, datetime_utc, open, high, low, close)"#
    );
    let err = parse_prices_csv("p.csv", "close,volume\n1,2\n", &PriceOptions::default());
    assert_eq!(
        err.unwrap_err().to_string(),
        "p.csv: no time column; expected one of time, timestamp, unix_s, unix, date, date_utc, \
         datetime, datetime_utc, day (columns: close, volume)"
    );
}

#[test]
fn empty_header_only_and_single_bar_files_are_refused() {
    assert_eq!(error("empty.csv", &PriceOptions::default()), "empty.csv: the file is empty");
    assert_eq!(
        error("header_only.csv", &PriceOptions::default()),
        "header_only.csv: no data rows after the header"
    );
    let err = parse_prices_csv("one.csv", "unix_s,close\n0,5\n", &PriceOptions::default());
    assert_eq!(err.unwrap_err().to_string(), "one.csv: 1 bar; need at least 2");
}

#[test]
fn milliseconds_are_refused_with_a_hint() {
    assert_eq!(
        error("millis.csv", &PriceOptions::default()),
        r#"millis.csv:2:1 (unix_s): "1583971200000" looks like milliseconds; give seconds"#
    );
}

#[test]
fn short_row_is_located() {
    assert_eq!(
        error("short_row.csv", &PriceOptions::default()),
        "short_row.csv:3: the row has 1 field but the header has 2"
    );
}

#[test]
fn unreadable_files_say_so() {
    let path = fixture("latin1.csv");
    let err = load_prices(&path, &PriceOptions::default()).unwrap_err().to_string();
    assert_eq!(err, format!("{path}:3: not UTF-8 text; save the file as UTF-8"));

    let path = fixture("no_such_file.csv");
    let err = load_prices(&path, &PriceOptions::default()).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{path}: cannot read: ")), "{err}");

    let err = load_prices("bundled:nope", &PriceOptions::default()).unwrap_err().to_string();
    assert_eq!(
        err,
        "bundled:nope: no such bundled data set; bundled: bundled:ETHUSD_1h, \
         bundled:BTCUSD_1h, bundled:BTC_ETH_LTC_USD_1d, bundled:aave_v2_utilization, \
         bundled:uniswap_v2_volume"
    );
}

#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_without_the_feature_says_how_to_get_it() {
    let err = load_prices("prices.parquet", &PriceOptions::default()).unwrap_err().to_string();
    assert_eq!(
        err,
        "prices.parquet: reading parquet files needs the \"parquet\" feature; build with \
         --features parquet, or convert the file to CSV"
    );
}

// ---- good input ---------------------------------------------------------------------------

#[test]
fn ohlc_file_reads_close_or_the_named_column() {
    let s = parse("hourly_ok.csv", &PriceOptions::default()).unwrap();
    assert_eq!((s.source.as_str(), s.interval, s.filled), ("hourly_ok.csv", 3600, 0));
    assert_eq!(s.times.len(), 12);
    assert_eq!((s.times[0], s.times[11]), (T0, T0 + 11 * HOUR));
    assert_eq!((s.closes[0], s.closes[11]), (price("100.5"), price("111.5")));
    assert!(s.gaps.is_empty());

    let opts = PriceOptions { column: Some("OPEN".into()), ..PriceOptions::default() };
    let s = parse("hourly_ok.csv", &opts).unwrap();
    assert_eq!((s.closes[0], s.closes[11]), (price("100"), price("111")));
}

#[test]
fn first_recognised_time_column_wins() {
    // unix_s comes first, so the (disagreeing) datetime_utc column is ignored.
    let text = "unix_s,datetime_utc,price\n0,2020-01-01,1\n3600,2021-01-01,2\n";
    let s = parse_prices_csv("p.csv", text, &PriceOptions::default()).unwrap();
    assert_eq!((s.times.clone(), s.interval), (vec![0, 3600], 3600));
    assert_eq!(s.closes, [price("1"), price("2")]);
}

#[test]
fn iso_dates_in_every_form_read_as_utc() {
    // Rows: a bare date, Z, a space and no zone, +02:00 at 02:00 (midnight UTC), a bare date.
    let s = parse("iso_daily.csv", &PriceOptions::default()).unwrap();
    assert_eq!(s.interval, 86_400);
    assert_eq!(s.times, (0..5).map(|d| T0 + d * DAY).collect::<Vec<_>>());
    assert_eq!(s.closes[3], price("4.5"));
    assert_eq!(iso(s.times[4]), "2020-03-16T00:00:00Z");
}

#[test]
fn window_is_applied_before_looking_for_gaps() {
    // 00:00..05:00 has no gap: loads under the default (error) policy.
    let opts =
        PriceOptions { start: Some(T0), end: Some(T0 + 5 * HOUR), ..PriceOptions::default() };
    let s = parse("gaps.csv", &opts).unwrap();
    assert_eq!(s.times, (0..6).map(|h| T0 + h * HOUR).collect::<Vec<_>>());
    assert!(s.gaps.is_empty());

    // 04:00..10:00 holds 04, 05, 09: one gap of three, filled; 11:00 is outside.
    let opts = PriceOptions { start: Some(T0 + 4 * HOUR), end: Some(T0 + 10 * HOUR), ..fill() };
    let s = parse("gaps.csv", &opts).unwrap();
    assert_eq!(s.times, (4..10).map(|h| T0 + h * HOUR).collect::<Vec<_>>());
    assert_eq!(s.gaps.len(), 1);
    assert_eq!(s.filled, 3);

    // Prices outside the window are not read: the bad close on line 17 is past the end.
    let opts = PriceOptions { end: Some(T0 + 14 * HOUR), ..PriceOptions::default() };
    assert_eq!(parse("negative_price.csv", &opts).unwrap().times.len(), 15);
}

#[test]
fn empty_or_reversed_windows_are_refused() {
    let opts = PriceOptions { start: Some(T0 - DAY), end: Some(T0 - 1), ..PriceOptions::default() };
    assert_eq!(
        error("gaps.csv", &opts),
        "gaps.csv: 0 bars in the window 2020-03-11T00:00:00Z to 2020-03-11T23:59:59Z; need at \
         least 2"
    );
    let opts = PriceOptions { start: Some(T0 + 1), end: Some(T0), ..PriceOptions::default() };
    assert_eq!(
        error("gaps.csv", &opts),
        "gaps.csv: the window starts (2020-03-12T00:00:01Z) after it ends (2020-03-12T00:00:00Z)"
    );
}

// ---- the bundled hourly ETH/USD file ------------------------------------------------------

#[test]
fn bundled_eth_usd_fills_its_seven_gaps() {
    // Counted with awk over the file: 7 steps longer than an hour, missing 1+4+1+3+1+4+3 = 17
    // hours (the shared README says 8 gaps; the file has 7). 40,970 rows + 17 = 40,987 bars.
    let s = load_prices(BUNDLED_ETH_USD, &fill()).unwrap();
    assert_eq!(s.source, "bundled:ETHUSD_1h");
    assert_eq!(s.interval, 3600);
    assert_eq!((s.gaps.len(), s.filled, s.times.len()), (7, 17, 40_987));
    assert_eq!((s.times[0], s.times[s.times.len() - 1]), (1_526_364_000, 1_673_913_600));
    assert_eq!(s.closes[0], price("733.04"));
    assert_eq!(s.closes[s.closes.len() - 1], price("1566.1"));
    assert_eq!(s.gaps[0], Gap { after: 1_555_164_000, before: 1_555_171_200, missing: 1 });
    assert!(s.gaps.iter().all(|g| g.missing <= 4));
    assert!(s.times.windows(2).all(|w| w[1] - w[0] == 3600));
}

#[test]
fn bundled_eth_usd_refuses_gaps_by_default() {
    let err = load_prices(BUNDLED_ETH_USD, &PriceOptions::default()).unwrap_err().to_string();
    // Line 8003 is the 2019-04-13 16:00 bar, after the missing 15:00.
    assert_eq!(
        err,
        format!(
            "bundled:ETHUSD_1h:8003: 1 bar missing between 2019-04-13T14:00:00Z and \
             2019-04-13T16:00:00Z (7 gaps in all); {GAP_HINT}"
        )
    );
}

#[test]
fn bundled_eth_usd_holds_the_march_2020_crash() {
    // 2020-03-12T00:00Z to 2020-03-14T23:00Z, no gaps inside: no policy needed.
    let opts =
        PriceOptions { start: Some(T0), end: Some(T0 + 3 * DAY - HOUR), ..PriceOptions::default() };
    let s = load_prices(BUNDLED_ETH_USD, &opts).unwrap();
    assert_eq!(s.times.len(), 72);
    let (i, low) = s.closes.iter().enumerate().min_by_key(|&(_, p)| *p).unwrap();
    assert!(*low < price("120"));
    // The lowest close is 99.66 at 2020-03-13 01:00 (row 1584061200 of the file).
    assert_eq!((*low, s.times[i]), (price("99.66"), 1_584_061_200));
}

#[test]
fn bundled_texts_are_the_data_files() {
    let eth = bundled_text(BUNDLED_ETH_USD).unwrap();
    // The export has CRLF line ends.
    assert!(eth.starts_with("unix_s,datetime_utc,open,high,low,close,volume_eth,volume_usd\r\n"));
    assert_eq!(eth.lines().count(), 40_971);
    assert!(bundled_text(BUNDLED_AAVE_UTILIZATION)
        .unwrap()
        .starts_with(",day,symbol,deposit,borrow"));
    assert!(bundled_text(BUNDLED_UNISWAP_VOLUME).unwrap().starts_with("date_utc,pair,"));
    let daily = bundled_text(BUNDLED_BTC_ETH_LTC_USD_1D).unwrap();
    assert!(daily.starts_with("date_utc,BTC_close,ETH_close,LTC_close\n2014-11-28,376.28,,\n"));
    assert_eq!(daily.lines().count(), 1_866);
    assert_eq!(bundled_text("bundled:other"), None);
}

#[test]
fn a_wide_file_s_token_starts_at_its_first_close_and_a_hole_after_it_is_refused() {
    let b = PriceOptions { column: Some("B".into()), ..PriceOptions::default() };
    let text = "date,A,B\n2020-01-01,1,\n2020-01-02,1,\n2020-01-03,1,5\n2020-01-04,1,6\n";
    let s = parse_prices_csv("w.csv", text, &b).unwrap();
    assert_eq!((s.interval, s.times.len()), (86_400, 2));
    assert_eq!(iso(s.times[0]), "2020-01-03T00:00:00Z");
    assert_eq!(s.closes, vec![price("5"), price("6")]);
    // Once listed, an empty cell is a hole, refused at its cell as before.
    let holed = "date,A,B\n2020-01-01,1,\n2020-01-02,1,5\n2020-01-03,1,\n2020-01-04,1,6\n";
    let e = parse_prices_csv("w.csv", holed, &b).unwrap_err().to_string();
    assert_eq!(e, "w.csv:4:3 (B): empty cell; expected a positive price");
    // A column with no price at all has no bars.
    let none = "date,A,B\n2020-01-01,1,\n2020-01-02,1,\n";
    let e = parse_prices_csv("w.csv", none, &b).unwrap_err().to_string();
    assert_eq!(e, "w.csv: 0 bars; need at least 2");
}

#[test]
fn bundled_daily_closes_of_btc_eth_and_ltc() {
    // Read off the file: 1,865 rows from 2014-11-28 to 2020-01-17; ETH's first close on
    // 2017-11-09 (row 1078, 788 rows to the end), LTC's on 2017-06-25 (925 rows); no day
    // between 2019-03-19 and 2019-04-01 (12 missing) in any column.
    let col =
        |c: &str, gaps| PriceOptions { column: Some(c.into()), gaps, ..PriceOptions::default() };
    let e = load_prices(BUNDLED_BTC_ETH_LTC_USD_1D, &col("ETH_close", GapPolicy::Error))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("bundled:BTC_ETH_LTC_USD_1d:1575:")
            && e.contains("12 bars missing between 2019-03-19T00:00:00Z and 2019-04-01T00:00:00Z"),
        "{e}"
    );
    let load = |c: &str| load_prices(BUNDLED_BTC_ETH_LTC_USD_1D, &col(c, GapPolicy::Fill)).unwrap();
    let (btc, eth, ltc) = (load("BTC_close"), load("ETH_close"), load("LTC_close"));
    for (s, first, bars) in [
        (&btc, "2014-11-28", 1_865 + 12),
        (&eth, "2017-11-09", 788 + 12),
        (&ltc, "2017-06-25", 925 + 12),
    ] {
        assert_eq!(s.interval, 86_400);
        assert_eq!((s.times.len(), s.filled), (bars, 12));
        assert!(iso(s.times[0]).starts_with(first), "{}", iso(s.times[0]));
        assert!(iso(s.times[bars - 1]).starts_with("2020-01-17"));
    }
    assert_eq!((eth.closes[0], ltc.closes[0]), (price("321.32"), price("40.9")));
    // The three on one clock: ETH's days, 2017-11-09 to 2020-01-17.
    let all = on_one_clock(eth, None, vec![("WBTC".into(), btc), ("LTC".into(), ltc)]).unwrap();
    assert_eq!((all.times.len(), all.others.len(), all.others[1].1.len()), (800, 2, 800));
    assert_eq!(all.others[0].1[0], price("7148.0"));
}

#[test]
fn bundled_hourly_btc_and_eth_share_their_hours_correlated_0_77() {
    // The data notes: the two hourly files overlap for 12,483 hours, 2018-05-15 06:00 to
    // 2019-10-17 09:00, with an hourly log-return correlation of 0.77; ETH's one missing hour
    // there (2019-04-13 15:00), filled, makes 12,484.
    let eth = load_prices(BUNDLED_ETH_USD, &fill()).unwrap();
    let btc = load_prices(BUNDLED_BTC_USD, &PriceOptions::default()).unwrap();
    let both = on_one_clock(eth, None, vec![("WBTC".into(), btc)]).unwrap();
    assert_eq!(both.times.len(), 12_484);
    assert_eq!((both.times[0], both.times[12_483]), (1_526_364_000, 1_571_302_800));
    let returns = |p: &[Price]| -> Vec<f64> {
        let f: Vec<f64> = p.iter().map(|p| p.to_string().parse::<f64>().unwrap()).collect();
        f.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
    };
    let (a, b) = (returns(&both.closes), returns(&both.others[0].1));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ma, mb) = (mean(&a), mean(&b));
    let cov = |x: &[f64], mx: f64, y: &[f64], my: f64| {
        x.iter().zip(y).map(|(x, y)| (x - mx) * (y - my)).sum::<f64>()
    };
    let rho = cov(&a, ma, &b, mb) / (cov(&a, ma, &a, ma) * cov(&b, mb, &b, mb)).sqrt();
    assert!((rho - 0.77).abs() < 0.005, "{rho}");
}

// ---- model inputs -------------------------------------------------------------------------

#[test]
fn usdc_utilization_is_borrow_over_deposit_oldest_first() {
    let s = load_utilization(BUNDLED_AAVE_UTILIZATION, "USDC").unwrap();
    // Row 1025 of the file: 2021-06-01, USDC, deposit 4240156943.0326343, borrow 2948543163.0093074.
    let june_1 = 1_622_505_600;
    assert_eq!(iso(june_1), "2021-06-01T00:00:00Z");
    let want = 2_948_543_163.009_307_4 / 4_240_156_943.032_634_3;
    assert_eq!(s.at(june_1), want);
    assert_eq!(s.at(june_1 + 12 * HOUR), want);
    assert!((want - 0.695_385).abs() < 1e-6);
    // 2020-12-01 has a zero deposit and is skipped; 2020-12-02 is the first point.
    assert_eq!(iso(s.times[0]), "2020-12-02T00:00:00Z");
    assert_eq!(iso(s.times[s.times.len() - 1]), "2022-07-27T00:00:00Z");
    assert_eq!(s.times.len(), 603);
    assert!(s.times.windows(2).all(|w| w[1] - w[0] == DAY));
    assert!(s.covers(june_1) && !s.covers(s.times[0] - 1));
    assert_eq!(s.at(0), s.values[0]);
    assert_eq!(s.at(i64::MAX), s.values[602]);
}

#[test]
fn wbtc_utilization_for_a_btc_lending_pool() {
    // Row 2111 of the file: 2021-10-01, WBTC, deposit 1582978970.5653145, borrow
    // 122320362.625861; 2020-12-01 has a zero deposit and is skipped.
    let s = load_utilization(BUNDLED_AAVE_UTILIZATION, "WBTC").unwrap();
    let october_1 = 1_633_046_400;
    assert_eq!(iso(october_1), "2021-10-01T00:00:00Z");
    assert_eq!(s.at(october_1), 122_320_362.625_861 / 1_582_978_970.565_314_5);
    assert!((s.at(october_1) - 0.077_272).abs() < 1e-6);
    assert_eq!((iso(s.times[0]), s.times.len()), ("2020-12-02T00:00:00Z".to_owned(), 603));
}

#[test]
fn weth_utilization_counts_an_empty_borrow_as_zero() {
    // 2020-12-01: WETH deposit 0.123152, borrow empty.
    let s = load_utilization(BUNDLED_AAVE_UTILIZATION, "weth").unwrap();
    assert_eq!((iso(s.times[0]).as_str(), s.values[0]), ("2020-12-01T00:00:00Z", 0.0));
    assert_eq!(s.times.len(), 604);
}

#[test]
fn unknown_symbol_lists_the_symbols() {
    let err = load_utilization(BUNDLED_AAVE_UTILIZATION, "XYZ").unwrap_err().to_string();
    assert_eq!(
        err,
        r#"bundled:aave_v2_utilization: no rows for symbol "XYZ" (symbols: DAI, USDC, USDT, WBTC, WETH, stETH)"#
    );
}

#[test]
fn usdc_weth_volume_and_reserve_in_may_2022() {
    let (volume, reserve) = load_volume(BUNDLED_UNISWAP_VOLUME, "USDC/WETH").unwrap();
    // 2022-05-12: grossVolumeUSD 222714104.9859863, reserveUSD 196665355.8334272973...
    let may_12 = 1_652_313_600;
    assert_eq!(iso(may_12), "2022-05-12T00:00:00Z");
    assert_eq!(volume.at(may_12), 222_714_104.985_986_3);
    let want: f64 = "196665355.833427297305775137929184".parse().unwrap();
    assert_eq!(reserve.at(may_12), want);
    // 2021-11-01 and 27 days of May (22, 23, 25, 26 missing).
    assert_eq!(volume.times.len(), 28);
    assert_eq!(iso(volume.times[0]), "2021-11-01T00:00:00Z");
    // 22 May is missing: the 21st's volume holds.
    assert_eq!(volume.at(may_12 + 10 * DAY), 6_355_944.585_441_472);
    // Either order of the pair.
    let (again, _) = load_volume(BUNDLED_UNISWAP_VOLUME, "weth/usdc").unwrap();
    assert_eq!(again, volume);
    let err = load_volume(BUNDLED_UNISWAP_VOLUME, "DAI/WETH").unwrap_err().to_string();
    assert_eq!(
        err,
        r#"bundled:uniswap_v2_volume: no rows for pair "DAI/WETH" (pairs: USDC/WETH, WETH/USDT)"#
    );
}

#[test]
fn generic_series_sorts_and_locates_bad_values() {
    let path = fixture("reward_price.csv");
    let s = load_series(&path, "Price").unwrap();
    assert_eq!(s.times, [1_651_363_200, 1_651_363_200 + DAY, 1_651_363_200 + 2 * DAY]);
    assert_eq!(s.values, [0.25, 0.5, 0.75]);

    let path = fixture("reward_bad.csv");
    let err = load_series(&path, "price").unwrap_err().to_string();
    assert_eq!(err, format!(r#"{path}:3:2 (price): "n/a" is not a number"#));

    let path = fixture("duplicate_time.csv");
    let err = load_series(&path, "close").unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{path}:5: time 2020-03-12T02:00:00Z repeats line 4; each point needs its own time"
        )
    );
}

#[test]
fn series_lookup_between_points() {
    let s = levfarm_sim::data::Series {
        source: "s".into(),
        times: vec![10, 20, 30],
        values: vec![1.0, 2.0, 3.0],
    };
    let at: Vec<f64> = [0, 10, 15, 20, 29, 30, 99].iter().map(|&t| s.at(t)).collect();
    assert_eq!(at, [1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
    assert!(s.covers(10) && s.covers(30) && !s.covers(9) && !s.covers(31));
    let empty = levfarm_sim::data::Series { source: "e".into(), times: vec![], values: vec![] };
    assert!(empty.at(0).is_nan() && !empty.covers(0));
}

// ---- never panics, and what loads is well formed ------------------------------------------

/// What every loaded series must satisfy.
fn check_invariants(s: &PriceSeries) -> Result<(), TestCaseError> {
    prop_assert!(s.times.len() >= 2 && s.times.len() == s.closes.len());
    prop_assert!(s.interval > 0);
    let step = i64::try_from(s.interval).unwrap();
    prop_assert!(s.times.windows(2).all(|w| w[1] - w[0] == step));
    prop_assert!(s.closes.iter().all(|p| !p.0.is_zero()));
    prop_assert_eq!(s.filled, s.gaps.iter().map(|g| g.missing).sum::<u64>());
    Ok(())
}

fn mutate(base: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = base.as_bytes().to_vec();
    for &(at, kind, byte) in edits {
        let at = at % (bytes.len() + 1);
        match kind % 3 {
            0 if at < bytes.len() => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

const BASE: &str = "unix_s,datetime_utc,open,high,low,close\n\
    1583971200,2020-03-12 00:00:00,100,101.5,98.75,100.5\n\
    1583974800,2020-03-12 01:00:00,101,102.5,99.75,101.5\n\
    1583985600,2020-03-12 04:00:00,104,105.5,102.75,104.5\n\
    1583989200,2020-03-12 05:00:00,105,106.5,103.75,105.5\n";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes);
        for opts in [PriceOptions::default(), fill()] {
            if let Ok(s) = parse_prices_csv("r.csv", &text, &opts) {
                check_invariants(&s)?;
            }
        }
    }

    #[test]
    fn mutated_csv_never_panics(
        edits in proptest::collection::vec(
            (any::<usize>(), any::<u8>(), prop::sample::select(b",.-:eE0123456789\n \"xT".to_vec())),
            1..8,
        ),
    ) {
        let text = mutate(BASE, &edits);
        for opts in [PriceOptions::default(), fill()] {
            match parse_prices_csv("m.csv", &text, &opts) {
                Ok(s) => check_invariants(&s)?,
                Err(e) => prop_assert!(e.to_string().starts_with("m.csv")),
            }
        }
    }

    #[test]
    fn random_timestamps_fill_or_refuse_cleanly(
        steps in proptest::collection::vec(1i64..200_000, 1..20),
        start in -1_000_000_000i64..1_000_000_000,
    ) {
        let mut text = String::from("time,close\n");
        let mut t = start;
        for (i, step) in steps.iter().enumerate() {
            text.push_str(&format!("{t},{}.5\n", i + 1));
            t += step;
        }
        text.push_str(&format!("{t},7\n"));
        if let Ok(s) = parse_prices_csv("t.csv", &text, &fill()) {
            check_invariants(&s)?;
            prop_assert_eq!(s.times[0], start);
            prop_assert_eq!(*s.times.last().unwrap(), t);
        }
    }
}

// ---- parquet ------------------------------------------------------------------------------

#[cfg(feature = "parquet")]
mod parquet_files {
    use std::fs::File;
    use std::path::PathBuf;
    use std::sync::Arc;

    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    use super::*;

    /// A column of values to write.
    enum Column<'a> {
        I64(&'a [i64]),
        F64(&'a [f64]),
        Text(&'a [&'a str]),
    }

    /// Writes a one-row-group parquet file under the temp dir and returns its path.
    fn write(name: &str, schema: &str, columns: &[Column<'_>]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("levfarm-sim-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let schema = Arc::new(parse_message_type(schema).unwrap());
        let props = Arc::new(WriterProperties::builder().build());
        let mut writer =
            SerializedFileWriter::new(File::create(&path).unwrap(), schema, props).unwrap();
        let mut group = writer.next_row_group().unwrap();
        for column in columns {
            let mut col = group.next_column().unwrap().unwrap();
            match column {
                Column::I64(v) => col.typed::<Int64Type>().write_batch(v, None, None),
                Column::F64(v) => col.typed::<DoubleType>().write_batch(v, None, None),
                Column::Text(v) => {
                    let v: Vec<ByteArray> = v.iter().map(|s| ByteArray::from(*s)).collect();
                    col.typed::<ByteArrayType>().write_batch(&v, None, None)
                }
            }
            .unwrap();
            col.close().unwrap();
        }
        group.close().unwrap();
        writer.close().unwrap();
        path
    }

    #[test]
    fn seconds_and_doubles_round_trip_exactly() {
        // Hourly bars with 03:00 missing: filled from 02:00's close.
        let times = [T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 4 * HOUR];
        let closes = [733.04, 734.64, 731.32, 728.44];
        let schema = "message m { REQUIRED INT64 unix_s; REQUIRED DOUBLE close; }";
        let path = write("seconds.parquet", schema, &[Column::I64(&times), Column::F64(&closes)]);
        let path = path.to_str().unwrap();
        let s = load_prices(path, &fill()).unwrap();
        assert_eq!(s.times, (0..5).map(|h| T0 + h * HOUR).collect::<Vec<_>>());
        let want = ["733.04", "734.64", "731.32", "731.32", "728.44"].map(price);
        assert_eq!(s.closes, want);
        assert_eq!((s.filled, s.gaps.len()), (1, 1));
        let err = load_prices(path, &PriceOptions::default()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{path}: row 4: 1 bar missing between 2020-03-12T02:00:00Z and \
                 2020-03-12T04:00:00Z (1 gap in all); {GAP_HINT}"
            )
        );
    }

    #[test]
    fn millisecond_timestamps_and_text_prices() {
        let millis = [T0 * 1000, (T0 + DAY) * 1000, (T0 + 2 * DAY) * 1000];
        let schema =
            "message m { REQUIRED INT64 time (TIMESTAMP(MILLIS,true)); REQUIRED BYTE_ARRAY price (UTF8); }";
        let columns = [Column::I64(&millis), Column::Text(&["1.5", "2.25", "3"])];
        let path = write("millis.parquet", schema, &columns);
        let s = load_prices(path.to_str().unwrap(), &PriceOptions::default()).unwrap();
        assert_eq!((s.interval, s.times[2]), (86_400, T0 + 2 * DAY));
        assert_eq!(s.closes, ["1.5", "2.25", "3"].map(price));
    }

    #[test]
    fn nanosecond_timestamps_and_string_times() {
        let nanos = [T0 * 1_000_000_000, (T0 + HOUR) * 1_000_000_000];
        let schema = "message m { REQUIRED INT64 ts (TIMESTAMP(NANOS,true)); \
                      REQUIRED BYTE_ARRAY date (UTF8); REQUIRED DOUBLE close; }";
        let dates = ["2020-03-12T00:00:00Z", "2020-03-12T01:00:00Z"];
        let columns = [Column::I64(&nanos), Column::Text(&dates), Column::F64(&[1.0, 2.0])];
        let path = write("nanos.parquet", schema, &columns);
        // `ts` is not a recognised time column name; `date` is.
        let s = load_prices(path.to_str().unwrap(), &PriceOptions::default()).unwrap();
        assert_eq!(s.times, [T0, T0 + HOUR]);
        let schema = "message m { REQUIRED INT64 timestamp (TIMESTAMP(NANOS,true)); REQUIRED DOUBLE close; }";
        let path =
            write("nanos2.parquet", schema, &[Column::I64(&nanos), Column::F64(&[1.0, 2.0])]);
        let s = load_prices(path.to_str().unwrap(), &PriceOptions::default()).unwrap();
        assert_eq!(s.times, [T0, T0 + HOUR]);
    }

    #[test]
    fn bad_parquet_values_are_located_by_row_and_column() {
        let schema = "message m { REQUIRED INT64 unix_s; REQUIRED DOUBLE close; }";
        let times = [T0, T0 + HOUR, T0 + 2 * HOUR];
        let path =
            write("bad.parquet", schema, &[Column::I64(&times), Column::F64(&[1.0, -2.5, 3.0])]);
        let path = path.to_str().unwrap();
        let err = load_prices(path, &PriceOptions::default()).unwrap_err().to_string();
        assert_eq!(err, format!(r#"{path}: row 2 column close: "-2.5" is not a positive price"#));

        let times = [T0, T0 + HOUR, T0];
        let path =
            write("order.parquet", schema, &[Column::I64(&times), Column::F64(&[1.0, 2.0, 3.0])]);
        let path = path.to_str().unwrap();
        let err = load_prices(path, &PriceOptions::default()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{path}: row 3: time 2020-03-12T00:00:00Z is before row 2 (2020-03-12T01:00:00Z); \
                 rows must be oldest first"
            )
        );

        let schema = "message m { REQUIRED INT64 unix_s; REQUIRED DOUBLE open; }";
        let path =
            write("noclose.parquet", schema, &[Column::I64(&times), Column::F64(&[1.0, 2.0, 3.0])]);
        let path = path.to_str().unwrap();
        let err = load_prices(path, &PriceOptions::default()).unwrap_err().to_string();
        assert_eq!(err, format!(r#"{path}: no "close" or "price" column (columns: unix_s, open)"#));
    }
}

fn csv_error(text: &str) -> String {
    parse_prices_csv("t.csv", text, &PriceOptions::default()).unwrap_err().to_string()
}

/// Regressions from the robustness review: a close 50 times above the bar's high was taken;
/// with two `close` columns the second was silently ignored; a 100,000-digit cell was echoed
/// whole into the error; a NUL in a header was invisible in the message.
#[test]
fn bars_and_headers_that_cannot_be_right_are_refused_legibly() {
    let e =
        csv_error("unix_s,open,high,low,close\n1600000000,10,11,9,10\n1600003600,10,11,9,550\n");
    assert_eq!(e, "t.csv:3:5 (close): close 550 is above the bar's high 11");
    let e = csv_error("unix_s,open,high,low,close\n1600000000,8,11,9,10\n1600003600,10,11,9,10\n");
    assert_eq!(e, "t.csv:2:2 (open): open 8 is below the bar's low 9");
    let e = csv_error("unix_s,close,Close\n1600000000,10,11\n1600003600,10,11\n");
    assert!(e.contains("\"Close\"") || e.contains("\"close\""), "{e}");
    assert!(e.contains("named twice (columns 2 and 3)"), "{e}");
    let long = "9".repeat(100_000);
    let e = csv_error(&format!("unix_s,close\n1600000000,{long}\n1600003600,10\n"));
    assert!(
        e.len() < 300 && e.contains("(100000 characters)"),
        "{} bytes: {}",
        e.len(),
        &e[..200.min(e.len())]
    );
    let e = csv_error("unix_s,clo\u{0}se\n1600000000,10\n1600003600,10\n");
    assert!(e.contains("clo\\0se"), "{e}");
}

/// Regression: the bundled Uniswap volume file was refused as a volume file ("time
/// 2021-11-01 repeats") because it holds two pairs. A volume file now names its pair; without
/// one, a file of several pairs says which it holds.
#[test]
fn a_volume_file_of_several_pairs_takes_one_by_name() {
    let usdc = load_series_of("bundled:uniswap_v2_volume", "grossVolumeUSD", Some("USDC/WETH"))
        .expect("one pair's series");
    assert_eq!(usdc.times.len(), 28, "{:?}", usdc.times.len());
    let e = load_series("bundled:uniswap_v2_volume", "grossVolumeUSD").unwrap_err().to_string();
    assert!(e.contains("holds 2 pairs (USDC/WETH, WETH/USDT)") && e.contains("`pair`"), "{e}");
    let e = load_series_of("bundled:uniswap_v2_volume", "grossVolumeUSD", Some("DAI/WETH"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("DAI/WETH"), "{e}");
}

/// A volume file in absolute dollars is the observed pool's; with its depth beside it the
/// volume is that pool's turnover on the simulated pool's value. 12 May 2022, USDC/WETH:
/// 222,714,104.99 traded on a pool worth 196,665,355.83, a turnover of 113.25%; a simulated
/// pool worth 2,000,000 trades 2,264,904.3 that day.
#[test]
fn observed_volume_scales_to_the_simulated_pool_s_depth() {
    use levfarm_sim::models::Volume;
    use levfarm_sim::scenario::VolumeModel;
    let file = |depth_column: Option<&str>| {
        Volume::new(&VolumeModel::File {
            path: "bundled:uniswap_v2_volume".into(),
            column: "grossVolumeUSD".into(),
            default_daily: 0.1,
            pair: Some("USDC/WETH".into()),
            depth_column: depth_column.map(String::from),
            net_arbitrage: false,
        })
        .unwrap()
    };
    let may_12 = 1_652_313_600;
    let absolute = file(None).at(may_12, 86_400.0, 2e6, 0.0);
    assert_eq!(absolute, 222_714_104.985_986_3);
    let scaled = file(Some("reserveUSD")).at(may_12, 86_400.0, 2e6, 0.0);
    let want = 222_714_104.985_986_3 * 2e6 / 196_665_355.833_427_3;
    assert!((scaled - want).abs() < 1e-6, "{scaled} vs {want}");
    assert!((scaled - 2_264_904.3).abs() < 0.1, "{scaled}");
    // An hour of it is a 24th.
    let hour = file(Some("reserveUSD")).at(may_12, 3_600.0, 2e6, 0.0);
    assert!((hour * 24.0 - want).abs() < 1e-6);
}
