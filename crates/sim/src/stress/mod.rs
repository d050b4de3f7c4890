//! `levfarm stress`, first step: a book of positions opened in one market by the exact engine,
//! then instantaneous price shocks, each followed by the liquidators in rounds until none is
//! left to liquidate. A liquidation sells through the same pool; where the venue values
//! positions after price impact (`valuation = "exit"`), that selling lowers the others' values,
//! and a position that only the earlier liquidations pushed past the kill factor is a cascade
//! (its round is its depth).
//!
//! Every position is the engine's: its opening sized by the engine's rule, its health and its
//! liquidation the engine's commands. The book is drawn from its distributions by a seeded
//! generator: the same settings give the same book and the same bytes.

use levfarm_core::price::Price;
use levfarm_core::Command;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};
use serde::Serialize;

mod exact;
mod follow;
mod window;

use exact::past_kill;
pub use follow::{follow, BookMarket, Kill, Scan, Wake, Woken};

pub use window::{
    bar_steps, stress_window, window_path, NamedWindow, WindowOutcome, WindowSpec, WINDOWS,
};

use crate::backtest::open_for;
use crate::data::PriceSeries;
use crate::scenario::{BorrowSide, Scenario};
use crate::world::{self, World, KEEPER};
use crate::SimError;

/// How the book is drawn, or the positions it holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BookSpec {
    pub positions: usize,
    pub seed: u64,
    /// Each position's equity: log-normal with this median (numeraire) and log spread.
    pub median_equity: f64,
    pub equity_spread: f64,
    /// Leverage uniform in `[low, high]`; openings past the work factor are refused and
    /// counted.
    pub leverage: (f64, f64),
    /// Draw up to 98% of the most the venue's open limit allows (`1 / (1 − work factor)`) in
    /// place of `high`: a sweep of the work factor then sweeps how far users borrow.
    pub leverage_to_limit: bool,
    /// The share of positions that borrow the asset (short); the rest borrow the stable token.
    pub short_share: f64,
    /// Each position's entry price: log-normal around the book's price with this log spread
    /// (0: every position opened at the book's price). Longs that entered higher and shorts
    /// that entered lower are nearer their liquidation; those already past it were killed
    /// before the book's start and are not in it.
    pub entry_spread: f64,
    /// When the positions entered: uniformly over this many days before the book's start (0:
    /// all at the start). Each enters at the history's price then (in place of
    /// `entry_spread`), and the market runs from the first entry to the start: interest
    /// accrues on the debts, and the pools earn their arbitrage fees.
    pub entry_days: f64,
    /// The share of positions that carry the scenario's protection orders (`[protection]`),
    /// drawn from a stream of their own so that the book is the same with or without them.
    pub protected: f64,
    /// Where the positions are: pools and venues by the scenario's names with their shares of
    /// the book (the scenario position's alone when empty), and the range widths in ticks a
    /// position on a v3 pool draws from (the scenario's when empty); drawn from a stream of
    /// their own, so that the rest of the book is the same.
    pub pools: Vec<(String, f64)>,
    pub venues: Vec<(String, f64)>,
    pub widths: Vec<i32>,
    /// Plain borrowers beside the positions (Aave style): each supplies the asset as
    /// collateral at the positions' venue and borrows the stable token against it. Their
    /// collateral is log-normal with this median (numeraire) and the book's spread; each borrows
    /// a share of its borrowing capacity (its loan-to-value) drawn uniformly from 50% to 99%.
    /// Liquidators repay their debt under Aave's close factor, take the collateral with its
    /// bonus and sell it through the pool.
    pub borrowers: usize,
    pub borrower_collateral: f64,
    /// The positions themselves, read from a file (`file`), in place of the draws.
    #[serde(skip)]
    pub rows: Option<std::sync::Arc<Vec<BookRow>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Default for BookSpec {
    fn default() -> Self {
        BookSpec {
            positions: 1_000,
            seed: 1,
            median_equity: 5_000.0,
            equity_spread: 1.0,
            leverage: (1.5, 3.2),
            leverage_to_limit: false,
            short_share: 0.2,
            entry_spread: 0.2,
            entry_days: 0.0,
            protected: 0.0,
            pools: Vec::new(),
            venues: Vec::new(),
            widths: Vec::new(),
            borrowers: 0,
            borrower_collateral: 20_000.0,
            rows: None,
            file: None,
        }
    }
}

/// One position of the book.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BookEntry {
    pub id: u64,
    pub equity: f64,
    pub leverage: f64,
    pub short: bool,
    /// The asset's price the position opened at.
    pub entry: f64,
    /// Whether it carries the scenario's protection orders.
    pub protected: bool,
    /// Where it is: its pool and venue (indices of the book's `pools` and `venues`), and its
    /// range's width in ticks on a v3 pool (0 on a constant-product one).
    pub pool: usize,
    pub venue: usize,
    pub width: i32,
    /// Days before the book's start it entered (0: at the start).
    pub age: f64,
}

/// One position to open: its equity (numeraire), leverage, side, and the asset's price it
/// entered at (the book's price when `None`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BookRow {
    pub equity: f64,
    pub leverage: f64,
    pub short: bool,
    pub entry: Option<f64>,
    /// Whether it carries the scenario's protection orders.
    pub protected: bool,
    /// Its pool and venue by the scenario's names, and its range's width in ticks on a v3
    /// pool: the scenario position's where `None`.
    pub pool: Option<String>,
    pub venue: Option<String>,
    pub width: Option<i32>,
    /// Days before the book's start it entered (at the start when `None`).
    pub age: Option<f64>,
}

/// A book from CSV: a header with `equity`, `leverage`, `side` (`long` borrows the stable
/// token, `short` the asset) and optionally `entry` (the price it opened at; empty: the book's
/// price). Each refusal names the line and the column.
pub fn parse_book_csv(source: &str, text: &str) -> Result<Vec<BookRow>, SimError> {
    let err = |line: u64, m: String| SimError::Scenario(format!("{source}:{line}: {m}"));
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| err(1, e.to_string()))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(ce), Some(cl), Some(cs)) = (column("equity"), column("leverage"), column("side"))
    else {
        return Err(err(1, "the header needs equity, leverage and side (entry optional)".into()));
    };
    let ci = column("entry");
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = n as u64 + 2;
        let record = record.map_err(|e| err(line, e.to_string()))?;
        let cell = |i: usize| record.get(i).unwrap_or("");
        let number = |i: usize, name: &str, lo: f64, hi: f64| -> Result<f64, SimError> {
            match cell(i).parse::<f64>() {
                Ok(v) if v.is_finite() && (lo..=hi).contains(&v) => Ok(v),
                _ => Err(err(line, format!("{name} {:?}: a number {lo} to {hi}", cell(i)))),
            }
        };
        let equity = number(ce, "equity", 1.0, 1e9)?;
        let leverage = number(cl, "leverage", 1.0, 20.0)?;
        let short = match cell(cs).to_ascii_lowercase().as_str() {
            "long" => false,
            "short" => true,
            other => return Err(err(line, format!("side {other:?}: long or short"))),
        };
        let entry = match ci.map(cell) {
            None | Some("") => None,
            Some(_) => Some(number(ci.unwrap_or(0), "entry", 1e-9, 1e12)?),
        };
        let protected = match column("protected").map(cell) {
            None | Some("") => false,
            Some(t) if t.eq_ignore_ascii_case("true") || t == "1" => true,
            Some(t) if t.eq_ignore_ascii_case("false") || t == "0" => false,
            Some(t) => return Err(err(line, format!("protected {t:?}: true or false"))),
        };
        let text = |name: &str| match column(name).map(cell) {
            None | Some("") => None,
            Some(t) => Some(t.to_string()),
        };
        let width = match text("range_width") {
            None => None,
            Some(t) => match t.parse::<i32>() {
                Ok(w) if (2..=887_272).contains(&w) => Some(w),
                _ => return Err(err(line, format!("range_width {t:?}: ticks, 2 to 887272"))),
            },
        };
        let age = match text("age_days") {
            None => None,
            Some(t) => match t.parse::<f64>() {
                Ok(a) if a.is_finite() && (0.0..=3650.0).contains(&a) => Some(a),
                _ => return Err(err(line, format!("age_days {t:?}: days, 0 to 3650"))),
            },
        };
        rows.push(BookRow {
            equity,
            leverage,
            short,
            entry,
            protected,
            pool: text("pool"),
            venue: text("venue"),
            width,
            age,
        });
        if rows.len() > 100_000 {
            return Err(err(line, "a book holds at most 100,000 positions".into()));
        }
    }
    if rows.is_empty() {
        return Err(err(1, "no positions".into()));
    }
    Ok(rows)
}

/// The price history a book opens in, and the time (Unix seconds) of the book's start: the
/// close of the bar before it.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    pub series: &'a PriceSeries,
    pub at: i64,
}

/// A plain borrower of the book: its account, and its collateral and debt at the start
/// (numeraire).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Borrower {
    pub account: String,
    pub collateral: f64,
    pub debt: f64,
}

/// The market with the book opened in it.
#[derive(Debug, Clone)]
pub struct Book {
    pub world: World,
    pub entries: Vec<BookEntry>,
    /// The plain borrowers beside the positions.
    pub borrowers: Vec<Borrower>,
    /// The pools and venues the positions are on, by the scenario's names: the scenario
    /// position's first.
    pub pools: Vec<String>,
    pub venues: Vec<String>,
    /// Openings the engine refused (past the work factor after the opening's own impact).
    pub refused: usize,
    /// Positions past their kill factor at the book's price, from their entry price: killed
    /// before the start, not in the book.
    pub killed_before: usize,
    pub price: Price,
}

/// What a shock did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShockOutcome {
    /// The oracle's move, as a fraction (−0.3 is a 30% fall), and the price it moved to.
    pub shock: f64,
    pub price: f64,
    /// Positions past the kill factor right after the move (before any liquidation), and their
    /// debt's value: the liquidations at risk.
    pub at_risk: usize,
    pub at_risk_debt: f64,
    /// Positions liquidated in all, and the debt they owed.
    pub liquidated: usize,
    pub liquidated_debt: f64,
    /// Positions liquidated in each round: round 0 by the move alone, round k after k rounds
    /// of other liquidations' selling (a cascade of depth k).
    pub rounds: Vec<usize>,
    /// Debt the liquidations could not repay, left to lenders (numeraire).
    pub bad_debt: f64,
    /// What the liquidators received (the kill prize), at the oracle.
    pub liquidators_paid: f64,
    /// The pool's price after the liquidations, before any arbitrage.
    pub pool_price: f64,
    /// Kills left undone because their prize less gas was under the liquidator's minimum, and
    /// the gas the made kills cost (both in the rounds' count of attempts).
    pub unprofitable: usize,
    pub gas: f64,
    /// Liquidations left for a later minute because no liquidator that could act had the
    /// capital left for the debt, or because every one able to was still waiting (its delay).
    pub capital_limited: usize,
    pub waiting: usize,
    /// Each liquidator's liquidations and pay, the first one first.
    pub liquidators: Vec<LiquidatorOutcome>,
    /// Prices the oracle published, and the first and last minute with a kill (1 for a
    /// shock at once).
    pub oracle_updates: u32,
    pub kill_minutes: Option<(u32, u32)>,
    /// The share of the pool's outside liquidity its LPs withdrew (LP flight).
    pub lp_withdrawn: f64,
    /// At the end: positions still open past their kill factor (a soft style's, those whose
    /// kill did not pay), and what the open positions owe beyond their value (the bad debt
    /// not yet realised).
    pub open_past_kill: usize,
    pub shortfall: f64,
    /// The stable token's lending pool at the book's venue: its utilization at the highest of
    /// any step and at the end (the lenders' liquidity as the kills repay and bad debt is
    /// written off).
    pub utilization_peak: f64,
    pub utilization_end: f64,
    /// Protection orders that acted (deleveraged, closed or exited a position).
    pub protection_acted: usize,
    /// The plain borrowers: those past their liquidation threshold (each step, as `at_risk`),
    /// the liquidation calls on them, and the debt those repaid or wrote off.
    pub borrowers_at_risk: usize,
    pub borrowers_liquidated: usize,
    pub borrowers_debt: f64,
}

/// How the market reaches a shock.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Walk {
    /// One-minute steps to the bottom, log-linear (0: at once).
    pub minutes: u32,
    /// The share of the fall that comes back over as many minutes after the bottom.
    pub recovery: f64,
    pub oracle: OracleRule,
    /// The first liquidator, and any others competing with it (`rivals`): of those that may
    /// act on a position (its delay passed, its capital left) the quickest, then the first,
    /// that finds it pays liquidates it.
    pub liquidator: Liquidator,
    pub rivals: Vec<Liquidator>,
    /// A bad print: at this step (1-based) the oracle publishes the market's price times the
    /// factor, whatever its rule, and the next step publishes the market's again.
    pub bad_print: Option<(u32, f64)>,
    /// LPs' flight: the pool's outside liquidity providers withdraw this share of their
    /// liquidity for every 10% the market is below its starting price (withdrawn for good,
    /// all of it at most).
    pub lp_flight: f64,
    /// The keepers run the protection orders every this many steps (0 or 1: every step),
    /// before the liquidators.
    pub keeper_every: u32,
    /// Check every position every step instead of those near their liquidation price (the
    /// reference the watch is tested against; for benchmarks).
    #[serde(skip)]
    pub full_scan: bool,
}

impl Walk {
    /// Which positions a step checks.
    pub fn scan(&self) -> Scan {
        if self.full_scan {
            Scan::All
        } else {
            Scan::Watched
        }
    }
}

/// A liquidator: what a kill costs it, and the least it kills for (a kill whose prize less gas
/// is under `min_profit` it leaves; numeraire; both 0: every kill pays); the most debt it can
/// repay in a minute, its capital turned over once a minute (0: unlimited); and how many
/// minutes after a position went past its kill factor it acts (a late keeper).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Liquidator {
    pub gas: f64,
    pub min_profit: f64,
    pub capital: f64,
    pub delay: u32,
}

/// What one liquidator did.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct LiquidatorOutcome {
    pub liquidations: usize,
    /// Its prizes at the oracle, less its gas.
    pub paid: f64,
}

impl Walk {
    /// Every liquidator: the first, then the rivals.
    pub fn liquidators(&self) -> Vec<Liquidator> {
        std::iter::once(self.liquidator).chain(self.rivals.iter().copied()).collect()
    }
}

/// The engine account of liquidator `k`.
pub(super) fn liquidator_account(k: usize) -> String {
    if k == 0 {
        KEEPER.to_string()
    } else {
        format!("{KEEPER}-{k}")
    }
}

impl Walk {
    fn check(&self) -> Result<(), SimError> {
        if self.minutes > 7 * 24 * 60 {
            return Err(SimError::Scenario(format!(
                "{} minutes: a walk lasts at most a week (10,080 minutes)",
                self.minutes
            )));
        }
        if !(0.0..=1.0).contains(&self.recovery) {
            return Err(SimError::Scenario(format!("recovery {}: a share, 0 to 1", self.recovery)));
        }
        if let Some((minute, factor)) = self.bad_print {
            if minute == 0 || !(0.01..=100.0).contains(&factor) {
                return Err(SimError::Scenario(format!(
                    "bad print {minute}:{factor}: a step from 1, and a factor 0.01 to 100"
                )));
            }
        }
        if !(0.0..=1.0).contains(&self.lp_flight) {
            return Err(SimError::Scenario(format!(
                "LP flight {}: a share per 10% fall, 0 to 1",
                self.lp_flight
            )));
        }
        if self.oracle.delay_secs > 86_400 {
            return Err(SimError::Scenario(format!(
                "oracle delay {} s: at most a day",
                self.oracle.delay_secs
            )));
        }
        if self.rivals.len() > 15 {
            return Err(SimError::Scenario("at most 16 liquidators".into()));
        }
        for l in self.liquidators() {
            if !((0.0..=1e9).contains(&l.gas)
                && (0.0..=1e9).contains(&l.min_profit)
                && (0.0..=1e15).contains(&l.capital))
            {
                return Err(SimError::Scenario(format!(
                    "a liquidator's gas {}, minimum profit {} and capital {}: gas and profit 0 \
                     to 1e9, capital 0 (unlimited) to 1e15",
                    l.gas, l.min_profit, l.capital
                )));
            }
            if l.delay > 24 * 60 {
                return Err(SimError::Scenario(format!(
                    "a liquidator's delay of {} minutes: at most a day",
                    l.delay
                )));
            }
        }
        Ok(())
    }
}

/// When the oracle publishes: after `heartbeat_secs` without an update, or when the market
/// is `deviation_bps` or more from its last price; with both 0, every step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct OracleRule {
    pub heartbeat_secs: u64,
    pub deviation_bps: u32,
    /// The oracle's feed lags the market by this many seconds (whole steps): the price it
    /// weighs at a step is the market's that long before (the starting price before then).
    pub delay_secs: u64,
}

impl OracleRule {
    /// Whether the oracle, `since` seconds after it published `last`, publishes `price`.
    pub fn publishes(&self, last: f64, price: f64, since: u64) -> bool {
        if self.heartbeat_secs == 0 && self.deviation_bps == 0 {
            return true;
        }
        let beat = self.heartbeat_secs > 0 && since >= self.heartbeat_secs;
        let moved = self.deviation_bps > 0
            && (price / last - 1.0).abs() * 1e4 >= f64::from(self.deviation_bps) - 1e-9;
        beat || moved
    }
}

/// The book's shocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StressOutput {
    pub scenario: String,
    pub book: BookSpec,
    pub opened: usize,
    pub refused: usize,
    pub killed_before: usize,
    /// The book's equity and debt at the start (numeraire).
    pub equity: f64,
    pub debt: f64,
    /// Its plain borrowers and their debt at the start, and the lenders' deposits in the
    /// venue's pools of the pair's two tokens (numeraire): the bad debt is the lenders' loss.
    pub borrowers: usize,
    pub borrowers_debt: f64,
    pub deposits: f64,
    pub price: f64,
    pub shocks: Vec<ShockOutcome>,
    /// The windows of history, each with its own book.
    pub windows: Vec<WindowOutcome>,
}

/// The engine account of book position `i`'s owner.
fn owner(i: usize) -> String {
    format!("book-{i}")
}

impl Book {
    /// Opens `spec`'s book on `scenario`'s market at `price`: each position on the scenario's
    /// pool and venue, its owner funded with its equity in the stable token.
    pub fn open(scenario: &Scenario, price: Price, spec: &BookSpec) -> Result<Book, SimError> {
        Book::open_at(scenario, price, spec, None)
    }

    /// [`Book::open`] at a time of `history`: positions that entered before it (`entry_days`,
    /// a book file's `age_days`) entered at its prices then.
    pub fn open_at(
        scenario: &Scenario,
        price: Price,
        spec: &BookSpec,
        history: Option<History>,
    ) -> Result<Book, SimError> {
        if spec.borrowers > 0 {
            let scenario = with_collateral(scenario)?;
            let mut book = Book::open_positions(&scenario, price, spec, history)?;
            book.open_borrowers(spec)?;
            return Ok(book);
        }
        Book::open_positions(scenario, price, spec, history)
    }

    /// [`Book::open`]'s positions.
    fn open_positions(
        scenario: &Scenario,
        price: Price,
        spec: &BookSpec,
        history: Option<History>,
    ) -> Result<Book, SimError> {
        if let Some(rows) = &spec.rows {
            return Book::open_rows(scenario, price, rows, history);
        }
        if spec.positions == 0 || spec.positions > 100_000 {
            return Err(SimError::Scenario(format!(
                "{} positions: a book holds 1 to 100,000",
                spec.positions
            )));
        }
        let (lo, mut hi) = spec.leverage;
        if spec.leverage_to_limit {
            let work = f64::from(scenario.leverage().work_factor_bps) / 1e4;
            hi = 0.98 / (1.0 - work).max(1e-4);
        }
        if !(lo.is_finite() && hi.is_finite() && 1.0 <= lo && lo <= hi && hi <= 20.0) {
            return Err(SimError::Scenario(format!(
                "leverage {lo} to {hi}: need 1 ≤ low ≤ high ≤ 20"
            )));
        }
        let sizes = LogNormal::new(spec.median_equity.ln(), spec.equity_spread).map_err(|e| {
            SimError::Scenario(format!(
                "equity {} spread {}: {e}",
                spec.median_equity, spec.equity_spread
            ))
        })?;
        if !(spec.entry_spread.is_finite() && (0.0..=1.0).contains(&spec.entry_spread)) {
            return Err(SimError::Scenario(format!(
                "entry spread {}: a log spread, 0 to 1",
                spec.entry_spread
            )));
        }
        let p0 = world::wad_to_f64(price.0);
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let rows: Vec<BookRow> = (0..spec.positions)
            .map(|_| {
                let equity = sizes.sample(&mut rng).clamp(1.0, 1e9);
                let leverage = lo + (hi - lo) * rng.random::<f64>();
                let short = rng.random::<f64>() < spec.short_share;
                let z: f64 = rand_distr::StandardNormal.sample(&mut rng);
                let entry = (p0 * (spec.entry_spread * z).exp()).clamp(p0 / 20.0, p0 * 20.0);
                BookRow {
                    equity,
                    leverage,
                    short,
                    entry: Some(entry),
                    protected: false,
                    pool: None,
                    venue: None,
                    width: None,
                    age: None,
                }
            })
            .collect();
        if !(0.0..=1.0).contains(&spec.protected) {
            return Err(SimError::Scenario(format!("protected share {}: 0 to 1", spec.protected)));
        }
        // Who is protected: a stream of its own, so the book is the same with or without.
        let mut guard = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x7072_6f74_6563_7464);
        let mut rows = rows;
        for r in &mut rows {
            r.protected = guard.random::<f64>() < spec.protected;
        }
        // Where each is: a stream of its own as well.
        let mut place = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x706c_6163_6564);
        let pick = |choices: &[(String, f64)], rng: &mut ChaCha8Rng| -> Option<String> {
            let total: f64 = choices.iter().map(|c| c.1).sum();
            let mut r = rng.random::<f64>() * total;
            for (name, share) in choices {
                if r < *share {
                    return Some(name.clone());
                }
                r -= share;
            }
            choices.last().map(|c| c.0.clone())
        };
        for (name, share) in spec.pools.iter().chain(&spec.venues) {
            if !(share.is_finite() && *share > 0.0) {
                return Err(SimError::Scenario(format!("{name}'s share {share}: above 0")));
            }
        }
        // When each entered: a stream of its own too.
        if !(spec.entry_days.is_finite() && (0.0..=3650.0).contains(&spec.entry_days)) {
            return Err(SimError::Scenario(format!("entry days {}: 0 to 3650", spec.entry_days)));
        }
        if spec.entry_days > 0.0 {
            let mut when = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x0065_6e74_6572_6564);
            for r in &mut rows {
                r.age = Some(spec.entry_days * when.random::<f64>());
                r.entry = None;
            }
        }
        for r in &mut rows {
            r.pool = pick(&spec.pools, &mut place);
            r.venue = pick(&spec.venues, &mut place);
            if !spec.widths.is_empty() {
                let k = ((place.random::<f64>() * spec.widths.len() as f64) as usize)
                    .min(spec.widths.len() - 1);
                r.width = Some(spec.widths[k]);
            }
        }
        Book::open_rows(scenario, price, &rows, history)
    }

    /// Opens the positions `rows` describe on `scenario`'s market, which ends at `price`: each
    /// on the scenario's pool and venue, at its entry price (the book's where it has none),
    /// under an owner of its own funded with its equity in the stable token.
    pub fn open_rows(
        scenario: &Scenario,
        price: Price,
        rows: &[BookRow],
        history: Option<History>,
    ) -> Result<Book, SimError> {
        if rows.is_empty() || rows.len() > 100_000 {
            return Err(SimError::Scenario(format!(
                "{} positions: a book holds 1 to 100,000",
                rows.len()
            )));
        }
        let p0 = world::wad_to_f64(price.0);
        // Positions that entered before the start: when, and at the history's price then
        // (their own entry price, where a file gives one).
        let oldest = rows.iter().filter_map(|r| r.age).fold(0.0f64, f64::max);
        let entered = |r: &BookRow| -> Result<(f64, f64), SimError> {
            let Some(age) = r.age.filter(|&a| a > 0.0) else {
                return Ok((0.0, r.entry.unwrap_or(p0)));
            };
            let h = history.ok_or_else(|| {
                SimError::Scenario(
                    "positions that entered before the start need the price history".into(),
                )
            })?;
            let at = h.at - (age * 86_400.0).round() as i64;
            // The last bar closed by then (a bar's time is its start).
            let interval = h.series.interval as i64;
            let i = h.series.times.partition_point(|&t| t + interval <= at);
            if i == 0 {
                return Err(SimError::Scenario(format!(
                    "a position {age:.1} days old entered before the prices of {} begin",
                    h.series.source
                )));
            }
            Ok((age, r.entry.unwrap_or(world::wad_to_f64(h.series.closes[i - 1].0))))
        };
        let placed: Vec<(f64, f64)> = rows.iter().map(entered).collect::<Result<_, _>>()?;
        let seconds = 86_400 * (30 + oldest.ceil() as u64);
        let mut world = World::build(scenario, price, seconds)?;
        let stable = world.stable.clone();
        let mut entries = Vec::with_capacity(rows.len());
        let mut refused = 0;
        let orders = crate::backtest::scenario_orders(
            scenario,
            &world,
            crate::backtest::Strategy::Leveraged,
        )?;
        if rows.iter().any(|r| r.protected) && orders.is_empty() {
            return Err(SimError::Scenario(
                "protected positions need the scenario's [protection] orders, and it has none"
                    .into(),
            ));
        }
        let (pools, venues) = placements(scenario, rows)?;
        let main = (world.pool.clone(), world.kind, world.venue.clone());
        let mut drawn: Vec<(usize, f64, f64, bool, f64)> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (i, r.equity, r.leverage, r.short, placed[i].1))
            .collect();
        // Opened in the order they entered, the oldest first; those that entered at the start
        // in the order of their entry prices: the market rises once through them (its
        // arbitrage fees, the LPs' income, those of one pass), then comes to the book's price.
        drawn.sort_by(|a, b| {
            placed[b.0].0.total_cmp(&placed[a.0].0).then(a.4.total_cmp(&b.4)).then(a.0.cmp(&b.0))
        });
        let mut clock = oldest;
        for (i, equity, leverage, short, entry) in drawn {
            // Time passes to its entry.
            let age = placed[i].0;
            let seconds = ((clock - age).max(0.0) * 86_400.0).round() as u64;
            clock = age;
            let side = if short { BorrowSide::Asset } else { BorrowSide::Stable };
            // The market at the entry price, the pool arbitraged to it, as between users
            // arriving over time.
            world.move_to(seconds, world::price_from_f64(entry)?, None)?;
            let raw = world.value_to_amount(&stable, equity)?;
            let name = owner(i);
            world.mint(&name, &stable, raw)?;
            // On its pool and venue, in its range.
            let r = &rows[i];
            let pool =
                r.pool.as_ref().map_or(0, |p| pools.iter().position(|x| x == p).unwrap_or(0));
            let venue =
                r.venue.as_ref().map_or(0, |v| venues.iter().position(|x| x == v).unwrap_or(0));
            let mut at = scenario.position.clone();
            at.pool = pools[pool].clone();
            at.venue = venues[venue].clone();
            if let Some(w) = r.width {
                at.range_width_ticks = w;
                at.range = None;
            }
            let kind = scenario.market.pool_named(&at.pool).map_or(main.1, |p| p.kind);
            let width =
                if kind == crate::scenario::PoolKind::V3 { at.range_width_ticks } else { 0 };
            world.pool = world::pool_id(&at.pool);
            world.kind = kind;
            world.venue = levfarm_core::types::Venue::from(at.venue.as_str());
            // A refused opening changes nothing (the engine's commands are atomic).
            let opened = open_for(&mut world, &name, raw, leverage, side, &at);
            (world.pool, world.kind, world.venue) = main.clone();
            match opened {
                Ok(id) => {
                    let protected = rows[i].protected;
                    if protected {
                        for order in orders.iter().cloned() {
                            world.run(Command::PlaceOrder {
                                caller: name.as_str().into(),
                                position: id,
                                order,
                            })?;
                        }
                    }
                    entries.push(BookEntry {
                        id,
                        equity,
                        leverage,
                        short,
                        entry,
                        protected,
                        pool,
                        venue,
                        width,
                        age: placed[i].0,
                    })
                }
                Err(SimError::Engine(_)) => refused += 1,
                Err(e) => return Err(e),
            }
        }
        world.move_to((clock * 86_400.0).round() as u64, price, None)?;
        // Positions the move to the book's price put past their kill factor were killed
        // before the start.
        let mut book = Book {
            world,
            entries: Vec::new(),
            borrowers: Vec::new(),
            pools,
            venues,
            refused,
            killed_before: 0,
            price,
        };
        for e in entries {
            if past_kill(&book.world, e.id)?.is_some() {
                let kill = Command::Liquidate { liquidator: KEEPER.into(), position: e.id };
                if book.world.run(kill).is_ok() {
                    book.killed_before += 1;
                    continue;
                }
            }
            book.entries.push(e);
        }
        Ok(book)
    }

    /// Opens `spec`'s plain borrowers at the book's price: each supplies its collateral of the
    /// asset and borrows its share of the capacity in the stable token, at the positions'
    /// venue; a loan the pool cannot lend is left out.
    fn open_borrowers(&mut self, spec: &BookSpec) -> Result<(), SimError> {
        if spec.borrowers > 100_000 {
            return Err(SimError::Scenario(format!(
                "{} borrowers: a book holds 0 to 100,000",
                spec.borrowers
            )));
        }
        let c = spec.borrower_collateral;
        if !(c.is_finite() && (1.0..=1e9).contains(&c)) {
            return Err(SimError::Scenario(format!(
                "borrowers' median collateral {c}: 1 to 1e9 (numeraire)"
            )));
        }
        let sizes = LogNormal::new(c.ln(), spec.equity_spread)
            .map_err(|e| SimError::Scenario(format!("borrowers' collateral: {e}")))?;
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x626f_7272_6f77_6572);
        let w = &mut self.world;
        let (asset, stable, venue) = (w.asset.clone(), w.stable.clone(), w.venue.clone());
        let ltv = f64::from(w.market.lending_at(&venue, &asset)?.config.ltv_bps.0) / 1e4;
        for i in 0..spec.borrowers {
            let collateral = sizes.sample(&mut rng).clamp(100.0, 1e8);
            let share = 0.5 + 0.49 * rng.random::<f64>();
            let account = format!("borrower-{i}");
            let raw = w.value_to_amount(&asset, collateral)?;
            w.mint(&account, &asset, raw)?;
            w.run(Command::Supply {
                account: account.as_str().into(),
                token: asset.clone(),
                amount: levfarm_core::types::Amount(raw),
                venue: venue.clone(),
            })?;
            let debt = collateral * ltv * share;
            let borrow = Command::Borrow {
                account: account.as_str().into(),
                token: stable.clone(),
                amount: levfarm_core::types::Amount(w.value_to_amount(&stable, debt)?),
                venue: venue.clone(),
            };
            if w.run(borrow).is_ok() {
                self.borrowers.push(Borrower { account, collateral, debt });
            }
        }
        Ok(())
    }

    /// The lenders' deposits in the book's venues' lending pools of the pair's two tokens:
    /// each pool's cash and debt, at the oracle.
    pub fn deposits(&self) -> Result<f64, SimError> {
        let w = &self.world;
        let mut total = 0.0;
        for venue in &self.venues {
            let venue = levfarm_core::types::Venue::from(venue.as_str());
            for token in [&w.asset, &w.stable] {
                if let Ok(pool) = w.market.lending_at(&venue, token) {
                    let q = w.market.quote(token)?;
                    let held = pool.cash.saturating_add(pool.total_debt()?);
                    total += world::wad_to_f64(q.value(held)?);
                }
            }
        }
        Ok(total)
    }

    /// The book's equity and debt, at the oracle.
    pub fn totals(&self) -> Result<(f64, f64), SimError> {
        let m = &self.world.market;
        let (mut equity, mut debt) = (0.0, 0.0);
        for e in &self.entries {
            let h = m.position_health(e.id)?;
            equity += world::wad_to_f64(h.value_oracle) - world::wad_to_f64(h.debt_value);
            debt += world::wad_to_f64(h.debt_value);
        }
        Ok((equity, debt))
    }

    /// The oracle moves by `shock` at once and the pools are arbitraged to it; then the
    /// liquidators kill every position past its kill factor, round after round, until a round
    /// finds none. The book itself is not changed.
    pub fn shock(&self, shock: f64) -> Result<ShockOutcome, SimError> {
        self.walk(shock, &Walk::default())
    }

    /// The market walks to `shock` as `walk` says: at once, or over minutes (log-linear) and
    /// back by its recovery, the pools following the market every minute and the oracle
    /// publishing by its rule; the liquidators act every minute, in rounds, on the engine's
    /// valuation (the oracle's price, or the pool's after impact).
    pub fn walk(&self, shock: f64, walk: &Walk) -> Result<ShockOutcome, SimError> {
        if !(-0.99..=10.0).contains(&shock) {
            return Err(SimError::Scenario(format!("shock {shock}: need -0.99 to 10")));
        }
        walk.check()?;
        let p0 = world::wad_to_f64(self.price.0);
        let bottom = p0 * (1.0 + shock);
        let target = p0 * (1.0 + shock * (1.0 - walk.recovery));
        let n = walk.minutes.max(1);
        let mut path: Vec<f64> =
            (1..=n).map(|m| p0 * (bottom / p0).powf(f64::from(m) / f64::from(n))).collect();
        if walk.minutes > 0 && walk.recovery > 0.0 {
            path.extend(
                (1..=n).map(|m| bottom * (target / bottom).powf(f64::from(m) / f64::from(n))),
            );
        }
        let step = if walk.minutes == 0 { 0 } else { 60 };
        let mut out = self.follow(&path, step, walk, walk.scan())?;
        out.shock = shock;
        out.price = bottom;
        Ok(out)
    }

    /// The market follows `path` (the asset's price at the end of each step of `step`
    /// seconds): the pools follow it every step, the oracle publishes by `walk`'s rule (every
    /// step when `step` is 0), and the liquidators act after each step, in rounds. `scan`
    /// says which positions a step checks: those near their liquidation price (the
    /// watch), or every one (the reference the watch is tested against).
    #[doc(hidden)]
    pub fn follow(
        &self,
        path: &[f64],
        step: u64,
        walk: &Walk,
        scan: Scan,
    ) -> Result<ShockOutcome, SimError> {
        if walk.lp_flight > 0.0 && self.world.kind == crate::scenario::PoolKind::V3 {
            return Err(SimError::Scenario(
                "LP flight: modelled on a constant-product pool only, not yet on a v3 pool".into(),
            ));
        }
        let mut market = exact::Exact::new(self, walk.liquidators().len())?;
        let p0 = world::wad_to_f64(self.price.0);
        follow::follow(&mut market, &self.entries, p0, path, step, walk, scan)
    }
}

/// The pools and venues `rows` name, each checked against the scenario (a pool of the
/// position's pair, a venue it has), the scenario position's first.
fn placements(
    scenario: &Scenario,
    rows: &[BookRow],
) -> Result<(Vec<String>, Vec<String>), SimError> {
    let m = &scenario.market;
    let pair = m.pair_of(m.pool_named(&scenario.position.pool).ok_or_else(|| {
        SimError::Scenario(format!("position.pool: no pool {:?}", scenario.position.pool))
    })?);
    let mut pools = vec![scenario.position.pool.clone()];
    let mut venues = vec![scenario.position.venue.clone()];
    let venue_names: Vec<&str> = m.venues().into_iter().map(|(n, _, _)| n).collect();
    for r in rows {
        if let Some(p) = &r.pool {
            let spec = m.pool_named(p).ok_or_else(|| {
                let names: Vec<&str> = m.pools().into_iter().map(|(n, _)| n).collect();
                SimError::Scenario(format!(
                    "pool {p:?}: not one of the market's ({})",
                    names.join(", ")
                ))
            })?;
            if m.pair_of(spec) != pair {
                return Err(SimError::Scenario(format!(
                    "pool {p:?}: over {}, not the book's pair {}",
                    m.pair_of(spec).join("/"),
                    pair.join("/")
                )));
            }
            if !pools.contains(p) {
                pools.push(p.clone());
            }
        }
        if let Some(v) = &r.venue {
            if !venue_names.contains(&v.as_str()) {
                return Err(SimError::Scenario(format!(
                    "venue {v:?}: not one of the market's ({})",
                    venue_names.join(", ")
                )));
            }
            if !venues.contains(v) {
                venues.push(v.clone());
            }
        }
    }
    Ok((pools, venues))
}

/// `scenario` with the asset's lending pool at the positions' venue taking collateral: as the
/// scenario says, or as Aave v3's WETH ([`crate::scenario::CollateralSpec::default`]).
fn with_collateral(scenario: &Scenario) -> Result<Scenario, SimError> {
    let mut s = scenario.clone();
    let asset = s.market.asset.clone();
    let venue = s.position.venue.clone();
    let lending = if venue == crate::scenario::MAIN_VENUE {
        &mut s.market.lending
    } else {
        &mut s
            .market
            .venues
            .get_mut(&venue)
            .ok_or_else(|| SimError::Scenario(format!("position.venue: no venue {venue:?}")))?
            .lending
    };
    let pool = lending.get_mut(&asset).ok_or_else(|| {
        SimError::Scenario(format!(
            "borrowers supply {asset} as collateral: the venue {venue:?} has no {asset} lending pool"
        ))
    })?;
    pool.collateral.get_or_insert_with(Default::default);
    Ok(s)
}

/// What a stress run puts the book through: instantaneous shocks (or walks, by the
/// [`Walk`]) from the book's price, and windows of `series`' history, each from its own start.
#[derive(Debug, Clone)]
pub struct Trials<'a> {
    pub shocks: &'a [f64],
    pub windows: &'a [WindowSpec],
    pub series: Option<&'a PriceSeries>,
    pub walk: Walk,
}

/// Opens the book and runs every shock, then every window (each window opens its own book at
/// its start, from the same seed).
pub fn stress(
    scenario: &Scenario,
    price: Price,
    spec: &BookSpec,
    trials: &Trials,
) -> Result<StressOutput, SimError> {
    let history = trials.series.and_then(|series| {
        Some(History { series, at: *series.times.last()? + series.interval as i64 })
    });
    let book = Book::open_at(scenario, price, spec, history)?;
    let (equity, debt) = book.totals()?;
    let outcomes =
        trials.shocks.iter().map(|&s| book.walk(s, &trials.walk)).collect::<Result<Vec<_>, _>>()?;
    let windows = match (trials.windows, trials.series) {
        ([], _) => Vec::new(),
        (_, None) => {
            return Err(SimError::Scenario("windows need the scenario's price history".into()))
        }
        (ws, Some(series)) => ws
            .iter()
            .map(|w| stress_window(scenario, series, w, spec, &trials.walk))
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(StressOutput {
        scenario: scenario.name.clone(),
        book: spec.clone(),
        opened: book.entries.len(),
        refused: book.refused,
        killed_before: book.killed_before,
        equity,
        debt,
        borrowers: book.borrowers.len(),
        borrowers_debt: book.borrowers.iter().map(|b| b.debt).sum(),
        deposits: book.deposits()?,
        price: world::wad_to_f64(price.0),
        shocks: outcomes,
        windows,
    })
}

impl StressOutput {
    /// The largest bad debt over the shocks and windows, each as a share of the debt of the
    /// book it ran, its positions' and its borrowers' (0 with no debt).
    pub fn worst_bad_debt(&self) -> f64 {
        let share = |bad: f64, debt: f64| if debt > 0.0 { bad / debt } else { 0.0 };
        self.shocks
            .iter()
            .map(|x| share(x.bad_debt, self.debt + self.borrowers_debt))
            .chain(
                self.windows.iter().map(|w| share(w.outcome.bad_debt, w.debt + w.borrowers_debt)),
            )
            .fold(0.0, f64::max)
    }
}

/// One combination of a stress sweep: its settings and the book's shocks under them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StressRow {
    pub settings: Vec<(String, String)>,
    /// The open limit (work factor) and kill factor of the scenario's venue, in bps.
    pub work_factor_bps: u32,
    pub kill_factor_bps: u32,
    pub output: StressOutput,
    /// The largest bad debt over the shocks and windows, as a share of the book's debt.
    pub worst_bad_debt: f64,
}

/// Runs the book under every combination of `grid` (scenario keys and values, as `backtest
/// --sweep` takes them), in parallel; rows in grid order whatever the thread count. Each
/// combination opens its own book from the same seed.
pub fn stress_sweep(
    scenario: &Scenario,
    grid: &[(String, Vec<String>)],
    price: Price,
    spec: &BookSpec,
    trials: &Trials,
) -> Result<Vec<StressRow>, SimError> {
    use rayon::prelude::*;
    let combos = crate::run::combinations(scenario, grid)?;
    combos
        .into_par_iter()
        .map(|(settings, s)| {
            let output = stress(&s, price, spec, trials)?;
            let l = s.leverage();
            Ok(StressRow {
                settings,
                work_factor_bps: l.work_factor_bps,
                kill_factor_bps: l.kill_factor_bps,
                worst_bad_debt: output.worst_bad_debt(),
                output,
            })
        })
        .collect()
}

/// The row whose worst bad debt is within `budget` (a share of the book's debt) with the
/// highest open limit (work factor); among those the highest kill factor (the most room
/// before a liquidation), then the least bad debt, then the first in grid order. `None` when
/// no row keeps the budget.
pub fn within_budget(rows: &[StressRow], budget: f64) -> Option<&StressRow> {
    let key = |r: &StressRow| {
        (r.work_factor_bps, r.kill_factor_bps, std::cmp::Reverse(r.worst_bad_debt.to_bits()))
    };
    rows.iter().filter(|r| r.worst_bad_debt <= budget).fold(None, |best: Option<&StressRow>, r| {
        match best {
            Some(b) if key(b) >= key(r) => Some(b),
            _ => Some(r),
        }
    })
}
