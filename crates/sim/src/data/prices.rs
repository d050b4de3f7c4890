//! Price bars: the options, the series, and the CSV reader ([`parse_prices_csv`]).

use levfarm_core::price::Price;
use serde::{Deserialize, Serialize};

use super::bars::{check_window, in_window, Order, RawBars};
use super::error::{DataError, Location};
use super::number::parse_price;
use super::table::Table;

/// What to do with missing bars inside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapPolicy {
    /// Refuse the file, naming the first gap and how many there are.
    #[default]
    Error,
    /// Carry the previous close forward at each missing step, and report the gaps.
    Fill,
}

/// How to read a price file.
#[derive(Debug, Clone, Default)]
pub struct PriceOptions {
    /// What to do with gaps inside the window.
    pub gaps: GapPolicy,
    /// Column to read prices from; default `close` (headers match ignoring case), or `price`
    /// when there is no `close`.
    pub column: Option<String>,
    /// Keep only bars at or after this time (Unix seconds). The window is applied first, and
    /// gaps are looked for only inside it, so a window without gaps needs no gap policy.
    pub start: Option<i64>,
    /// Keep only bars at or before this time (Unix seconds).
    pub end: Option<i64>,
}

/// Bars missing between two bars that are present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Time of the bar before the gap (Unix seconds).
    pub after: i64,
    /// Time of the bar after the gap (Unix seconds).
    pub before: i64,
    /// How many bars are missing.
    pub missing: u64,
}

/// An evenly spaced series of closes.
#[derive(Debug, Clone)]
pub struct PriceSeries {
    /// The file path or bundled name it was read from.
    pub source: String,
    /// Seconds between bars: the most common step in the file (ties go to the smallest).
    pub interval: u64,
    /// Bar times in Unix seconds, strictly increasing and `interval` apart.
    pub times: Vec<i64>,
    /// Closes, each above zero; `closes[i]` belongs to `times[i]`.
    pub closes: Vec<Price>,
    /// Each bar's low and high where the file has both columns (a filled bar's are its close);
    /// empty otherwise.
    pub ranges: Vec<[Price; 2]>,
    /// The gaps found (filled when the policy is [`GapPolicy::Fill`]).
    pub gaps: Vec<Gap>,
    /// How many bars filling added.
    pub filled: u64,
    /// The stable token's own close per bar, where it has a history of its own (a
    /// volatile/volatile pool, see [`super::with_quote`]); empty when it is priced at 1.
    pub quote: Vec<Price>,
    /// The closes of the other pairs' tokens, by symbol, one per bar (see
    /// [`super::on_one_clock`]): the run prices them beside its own pair.
    pub others: Vec<(String, Vec<Price>)>,
}

impl PriceSeries {
    /// The bars from `first` on, with every history beside them; no gaps are reported for
    /// the part.
    pub fn since(&self, first: usize) -> PriceSeries {
        let tail = |v: &[Price]| v.get(first..).map(<[_]>::to_vec).unwrap_or_default();
        PriceSeries {
            source: self.source.clone(),
            interval: self.interval,
            times: self.times.get(first..).map(<[_]>::to_vec).unwrap_or_default(),
            closes: tail(&self.closes),
            ranges: self.ranges.get(first..).map(<[_]>::to_vec).unwrap_or_default(),
            gaps: Vec::new(),
            filled: 0,
            quote: tail(&self.quote),
            others: self.others.iter().map(|(t, v)| (t.clone(), tail(v))).collect(),
        }
    }
}

/// Where the price columns of a CSV table are.
struct Columns {
    time: usize,
    close: usize,
    /// `open`, `high`, `low` where present: checked to be positive, and high >= low.
    open: Option<usize>,
    high: Option<usize>,
    low: Option<usize>,
}

impl Columns {
    fn find(table: &Table<'_>, opts: &PriceOptions) -> Result<Columns, DataError> {
        let time = table.time_column()?;
        let close = match &opts.column {
            Some(name) => table.require(name)?,
            None => table
                .column("close")
                .or_else(|| table.column("price"))
                .ok_or_else(|| table.missing("no \"close\" or \"price\" column"))?,
        };
        let (open, high, low) = (table.column("open"), table.column("high"), table.column("low"));
        Ok(Columns { time, close, open, high, low })
    }

    /// The close of the current record, and its low and high when the file has them, after
    /// checking its open, high and low.
    fn read(&self, table: &Table<'_>) -> Result<(Price, Option<[Price; 2]>), DataError> {
        let close = price(table, self.close)?;
        let value = |col: usize| if col == self.close { Ok(close) } else { price(table, col) };
        let open = self.open.map(value).transpose()?;
        let high = self.high.map(value).transpose()?;
        let low = self.low.map(value).transpose()?;
        if let (Some(col), Some(high), Some(low)) = (self.high, high, low) {
            if high < low {
                return Err(table.invalid(col, format!("high {high} is below low {low}")));
            }
        }
        // The bar's open and close lie within its high and low, give or take 0.1% (exports
        // round the four figures separately: 460.99 against a high of 460.98999999999995).
        let slack = |p: Price| p.0 / alloy_primitives::U256::from(1000u32);
        for (col, name, v) in [(Some(self.close), "close", Some(close)), (self.open, "open", open)]
        {
            let (Some(col), Some(v)) = (col, v) else { continue };
            if let Some(high) = high.filter(|h| v.0 > h.0 + slack(*h)) {
                return Err(
                    table.invalid(col, format!("{name} {v} is above the bar's high {high}"))
                );
            }
            if let Some(low) = low.filter(|l| v.0 + slack(*l) < l.0) {
                return Err(table.invalid(col, format!("{name} {v} is below the bar's low {low}")));
            }
        }
        let range = match (low, high) {
            // The close lies within the range as the bar's own figures are rounded: the range
            // is widened to hold it.
            (Some(low), Some(high)) => Some([low.min(close), high.max(close)]),
            _ => None,
        };
        Ok((close, range))
    }
}

fn price(table: &Table<'_>, col: usize) -> Result<Price, DataError> {
    parse_price(table.cell(col)?).map_err(|message| table.invalid(col, message))
}

/// Reads price bars from CSV text. `source` names the text in messages (a path or bundled
/// name). Times are checked for order over the whole file; prices only inside the window.
pub fn parse_prices_csv(
    source: &str,
    text: &str,
    opts: &PriceOptions,
) -> Result<PriceSeries, DataError> {
    check_window(source, opts)?;
    let mut table = Table::open(source, text)?;
    let columns = Columns::find(&table, opts)?;
    let (mut bars, mut order) = (RawBars::default(), Order::default());
    while table.next()? {
        let line = table.line();
        let t = table.time(columns.time)?;
        order.check(source, t, line, Location::line)?;
        if in_window(opts, t) {
            // A wide file of several tokens' closes leaves a token's cells empty until it is
            // listed: the rows before its first close are not its bars. An empty cell after
            // the first close is refused where it is.
            if bars.is_empty() && table.cell(columns.close)?.trim().is_empty() {
                continue;
            }
            let (close, range) = columns.read(&table)?;
            bars.push(t, close, range, line);
        }
    }
    bars.assemble(source, table.rows(), Location::line, opts)
}
