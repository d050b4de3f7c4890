//! A walk of the book, written once: the market follows a path step by step, the oracle
//! publishes by its rule, the pool's LPs flee, the keepers run the protection orders, and the
//! liquidators act in rounds. The market it walks is a [`BookMarket`]: the exact engine's
//! ([`super::Book::follow`]), or levfarm-risk's f64 book kernel for Monte Carlo windows, held to
//! the engine by a differential test. What differs between the two is only how a market moves,
//! values a position and liquidates it; the rules of the walk are these.

use std::collections::{BTreeMap, BTreeSet};

use super::{BookEntry, Liquidator, LiquidatorOutcome, ShockOutcome, Walk};
use crate::SimError;

/// What a liquidator's attempt on a position did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kill {
    /// The market refused it (an earlier kill's selling brought the position back within its
    /// kill factor): nothing changed.
    Refused,
    /// The prize at the oracle, less the liquidator's gas, was under its minimum profit: it
    /// left the position, and nothing changed.
    Unprofitable,
    /// Done: the debt repaid or written off and the bad debt, in the numeraire at the oracle,
    /// and whether the position waits for the next step before another (a soft style's part).
    Done { debt: f64, bad_debt: f64, wait: bool },
}

/// Whether the keepers look at an entry's orders, given the pools' prices then.
#[doc(hidden)]
pub type Woken<'a> = &'a dyn Fn(usize, &[f64]) -> bool;

/// A market holding a book: what a walk asks of it. Entries are indices into the book.
#[doc(hidden)]
pub trait BookMarket {
    /// `seconds` pass and the market moves to `price`: the oracle publishes it, the
    /// arbitrageur brings the pools to it, the lending pools accrue.
    fn step(&mut self, seconds: u64, price: f64) -> Result<(), SimError>;
    /// The oracle shows `price` instead of the market's.
    fn publish(&mut self, price: f64) -> Result<(), SimError>;
    /// Whether the pool has outside LPs who could flee.
    fn has_outside(&self) -> bool;
    /// The outside LPs withdraw `share` of what they held at the start (what they still hold
    /// at most).
    fn withdraw_outside(&mut self, share: f64) -> Result<(), SimError>;
    /// The book's pools' depths, the main pool first: `√(x·y)`, or a v3 pool's liquidity in
    /// range (each compared with itself only).
    fn depths(&self) -> Result<Vec<f64>, SimError>;
    /// The book's pools' prices of the asset in the numeraire, the main pool first.
    fn pool_prices(&self) -> Result<Vec<f64>, SimError>;
    /// The pool (an index of [`Self::pool_prices`]) whose price values `entry`.
    fn pool_of(&self, entry: usize) -> usize;
    /// The stable token's lending pool's utilization, a share.
    fn utilization(&self) -> Result<f64, SimError>;
    fn is_open(&self, entry: usize) -> bool;
    /// How many entries the market holds: the book's positions, then any plain borrowers.
    fn count(&self) -> usize;
    /// Whether `entry` is a plain borrower rather than a position.
    fn borrower(&self, entry: usize) -> bool;
    /// The debt's value when `entry` is open and past its kill factor.
    fn past_kill(&self, entry: usize) -> Result<Option<f64>, SimError>;
    /// An open entry's debt ratio and kill factor, in bps.
    fn ratio(&self, entry: usize) -> Result<(f64, f64), SimError>;
    /// An open entry's liquidation prices, below and above.
    fn liquidation_prices(&self, entry: usize) -> Result<(Option<f64>, Option<f64>), SimError>;
    /// Liquidator `k` liquidates `entry`; with `least`, it weighs the kill first and leaves it
    /// when its prize at the oracle is under `least` (its gas plus its minimum profit).
    fn kill(&mut self, entry: usize, k: usize, least: Option<f64>) -> Result<Kill, SimError>;
    /// The keepers run the active protection orders in the engine's order, each only when
    /// `woken` says its position's may act given the pools' prices as they are when its turn
    /// comes (every one with `None`); the entries whose orders acted, once for each order.
    fn run_orders(&mut self, woken: Option<Woken>) -> Result<Vec<usize>, SimError>;
    /// What wakes an open entry's protection orders (`None`: nothing the watch can index, so
    /// they are looked at every keeper step).
    fn order_wake(&self, entry: usize) -> Result<Option<Wake>, SimError>;
    /// The market's clock (seconds).
    fn now(&self) -> u64;
    /// What liquidator `k` gained over the walk, at the oracle now.
    fn gained(&self, k: usize) -> Result<f64, SimError>;
    /// What an open entry owes beyond its value (0 when its value covers it).
    fn shortfall(&self, entry: usize) -> Result<f64, SimError>;
}

/// When a position's protection orders may act: the asset's price falling to `lower` or
/// rising to `upper` (a debt-ratio trigger's price, or a stop's), or the clock reaching
/// `due_at` (a compounding, a time limit).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Wake {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub due_at: Option<u64>,
}

/// Which positions a step checks with the market.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Those the watch (the book indexed by liquidation price) finds near their liquidation
    /// price.
    Watched,
    /// Every one, every step.
    All,
}

/// How far (a share of the price) the oracle or the pool may be from a position's liquidation
/// price, as last solved, before a step checks the position with the market. Interest and
/// fees move the true price between solves by a small fraction of this; a pool pushed off the
/// oracle by the kills' selling is watched at its own price.
const WATCH_MARGIN: f64 = 0.02;
/// Steps between solves of every open position's liquidation prices (six hours of minutes),
/// unless the pool's depth moved by more than [`WATCH_DEPTH`] (a share) first: the price after
/// impact depends on the depth.
const WATCH_REFRESH: u32 = 360;
const WATCH_DEPTH: f64 = 0.1;
/// A position this close to its kill factor (a share of it) is checked every step whatever
/// its liquidation prices say.
pub(super) const WATCH_CLOSE: f64 = 0.97;

/// Whether an index solved at step `at` with the pools `then` deep is due a new solve at
/// `step` with them `depths` deep: every [`WATCH_REFRESH`] steps, or when a pool's depth moved
/// by more than [`WATCH_DEPTH`].
fn stale((at, then): (u32, &[f64]), step: u32, depths: &[f64]) -> bool {
    step == 0
        || step - at >= WATCH_REFRESH
        || depths.len() != then.len()
        || depths.iter().zip(then).any(|(d, d0)| (d / d0 - 1.0).abs() > WATCH_DEPTH)
}

/// The book's open positions indexed by liquidation price, so that a step checks only those
/// the price came near: thousands of positions over thousands of steps cost what the few
/// near their price cost.
#[derive(Debug, Default)]
struct Watch {
    /// Per pool: (lower liquidation price, entry), highest first.
    lower: Vec<Vec<(f64, usize)>>,
    /// Per pool: (upper liquidation price, entry), lowest first.
    upper: Vec<Vec<(f64, usize)>>,
    /// Entries checked every step: near the kill factor already, or every entry under
    /// [`Scan::All`].
    always: Vec<usize>,
    /// The step of the solve and the pools' depths then.
    at: u32,
    depths: Vec<f64>,
}

impl Watch {
    /// Solves every open position's liquidation prices in `m`.
    fn solve<M: BookMarket>(m: &M, n: usize, scan: Scan, at: u32) -> Result<Watch, SimError> {
        Watch::build(m, (0..n).filter(|&i| m.is_open(i)), scan, at, |i| {
            let (ratio, kill) = m.ratio(i)?;
            if ratio >= WATCH_CLOSE * kill {
                return Ok(None);
            }
            m.liquidation_prices(i).map(Some)
        })
    }

    /// Indexes `entries` by the prices `prices` gives each (`None`: checked every step), per
    /// pool.
    fn build<M: BookMarket>(
        m: &M,
        entries: impl Iterator<Item = usize>,
        scan: Scan,
        at: u32,
        mut prices: impl FnMut(usize) -> Result<Option<(Option<f64>, Option<f64>)>, SimError>,
    ) -> Result<Watch, SimError> {
        let depths = m.depths()?;
        let pools = depths.len();
        let mut watch = Watch {
            at,
            lower: vec![Vec::new(); pools],
            upper: vec![Vec::new(); pools],
            depths,
            ..Watch::default()
        };
        for i in entries {
            if scan == Scan::All {
                watch.always.push(i);
                continue;
            }
            let Some((lower, upper)) = prices(i)? else {
                watch.always.push(i);
                continue;
            };
            let pool = m.pool_of(i);
            if let Some(p) = lower {
                watch.lower[pool].push((p, i));
            }
            if let Some(p) = upper {
                watch.upper[pool].push((p, i));
            }
        }
        for list in &mut watch.lower {
            list.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        }
        for list in &mut watch.upper {
            list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        }
        Ok(watch)
    }

    /// Whether the watch is due a new solve at `step` with the pools `depths` deep.
    fn stale(&self, step: u32, depths: &[f64]) -> bool {
        stale((self.at, &self.depths), step, depths)
    }

    /// The entries to check when the oracle is at `oracle` and the pools at `pools`, in the
    /// book's order: every one whose lower liquidation price either price (the oracle's or
    /// its pool's) came within the margin of from above, or whose upper one from below, and
    /// those always checked.
    fn near(&self, oracle: f64, pools: &[f64]) -> Vec<usize> {
        let mut near: Vec<usize> = self.always.clone();
        for (p, &pool) in pools.iter().enumerate() {
            let (lo, hi) = (oracle.min(pool), oracle.max(pool));
            if let Some(lower) = self.lower.get(p) {
                let down = lower.partition_point(|&(t, _)| t * (1.0 + WATCH_MARGIN) >= lo);
                near.extend(lower[..down].iter().map(|&(_, i)| i));
            }
            if let Some(upper) = self.upper.get(p) {
                let up = upper.partition_point(|&(t, _)| t <= hi * (1.0 + WATCH_MARGIN));
                near.extend(upper[..up].iter().map(|&(_, i)| i));
            }
        }
        near.sort_unstable();
        near.dedup();
        near
    }
}

/// The protected positions by what wakes their orders: the prices of their triggers (against
/// their pool's price and the oracle's, with the liquidation watch's margin), and the times
/// they come due; solved again as the liquidation watch is, and after any order acted.
#[derive(Debug)]
struct Guard {
    /// Per protected open entry: its pool and what wakes it (`None`: every keeper step).
    wakes: BTreeMap<usize, Option<(usize, Wake)>>,
    at: u32,
    depths: Vec<f64>,
}

impl Guard {
    fn solve<M: BookMarket>(m: &M, entries: &[BookEntry], at: u32) -> Result<Guard, SimError> {
        let mut wakes = BTreeMap::new();
        for i in (0..entries.len()).filter(|&i| entries[i].protected && m.is_open(i)) {
            wakes.insert(i, m.order_wake(i)?.map(|w| (m.pool_of(i), w)));
        }
        Ok(Guard { wakes, at, depths: m.depths()? })
    }

    fn stale(&self, step: u32, depths: &[f64]) -> bool {
        stale((self.at, &self.depths), step, depths)
    }

    /// Solves again what wakes the orders of `acted` (their triggers moved when they acted).
    fn update<M: BookMarket>(&mut self, m: &M, acted: &[usize]) -> Result<(), SimError> {
        for &i in acted {
            if m.is_open(i) {
                self.wakes.insert(i, m.order_wake(i)?.map(|w| (m.pool_of(i), w)));
            } else {
                self.wakes.remove(&i);
            }
        }
        Ok(())
    }

    /// Whether entry `i`'s orders may act with the oracle at `oracle`, the pools at `pools`
    /// and the clock at `now`.
    fn woken(&self, i: usize, oracle: f64, pools: &[f64], now: u64) -> bool {
        let Some(wake) = self.wakes.get(&i) else { return false };
        let Some((pool, w)) = wake else { return true };
        let pool = pools.get(*pool).copied().unwrap_or(oracle);
        let (lo, hi) = (oracle.min(pool), oracle.max(pool));
        w.lower.is_some_and(|t| t * (1.0 + WATCH_MARGIN) >= lo)
            || w.upper.is_some_and(|t| t <= hi * (1.0 + WATCH_MARGIN))
            || w.due_at.is_some_and(|t| t <= now)
    }
}

/// What the liquidators did in one sweep of rounds.
#[derive(Debug, Default)]
struct Kills {
    rounds: Vec<usize>,
    liquidated: usize,
    unprofitable: usize,
    capital_limited: usize,
    waiting: usize,
    debt: f64,
    bad_debt: f64,
    borrowers: usize,
    borrowers_debt: f64,
}

/// The liquidators' state through a walk: the step each position first went past its kill
/// factor, each one's capital left this step, and its liquidations.
#[derive(Debug)]
struct Crowd {
    agents: Vec<Liquidator>,
    /// Indices of `agents`, the quickest first (then in order).
    order: Vec<usize>,
    first_due: BTreeMap<usize, u32>,
    left: Vec<f64>,
    count: Vec<usize>,
}

/// The market `m`, holding `entries` opened at `p0`, follows `path` (the asset's price at the
/// end of each step of `step` seconds): the pools follow it every step, the oracle publishes
/// by `walk`'s rule (every step when `step` is 0), the keepers run the protection orders on
/// their schedule, and the liquidators act after each step, in rounds. `scan` says which
/// positions a step checks.
#[doc(hidden)]
pub fn follow<M: BookMarket>(
    m: &mut M,
    entries: &[BookEntry],
    p0: f64,
    path: &[f64],
    step: u64,
    walk: &Walk,
    scan: Scan,
) -> Result<ShockOutcome, SimError> {
    walk.check()?;
    let agents = walk.liquidators();
    let mut order: Vec<usize> = (0..agents.len()).collect();
    order.sort_by_key(|&k| (agents[k].delay, k));
    let mut crowd = Crowd {
        left: vec![0.0; agents.len()],
        count: vec![0; agents.len()],
        agents,
        order,
        first_due: BTreeMap::new(),
    };
    let (mut published, mut since) = (p0, 0u64);
    let last = path.last().copied().unwrap_or(p0);
    let mut out = ShockOutcome {
        shock: last / p0 - 1.0,
        price: path.iter().copied().fold(p0, f64::min),
        at_risk: 0,
        at_risk_debt: 0.0,
        liquidated: 0,
        liquidated_debt: 0.0,
        rounds: Vec::new(),
        bad_debt: 0.0,
        liquidators_paid: 0.0,
        pool_price: 0.0,
        unprofitable: 0,
        gas: 0.0,
        capital_limited: 0,
        waiting: 0,
        liquidators: Vec::new(),
        oracle_updates: 0,
        kill_minutes: None,
        lp_withdrawn: 0.0,
        open_past_kill: 0,
        shortfall: 0.0,
        utilization_peak: 0.0,
        utilization_end: 0.0,
        protection_acted: 0,
        borrowers_at_risk: 0,
        borrowers_liquidated: 0,
        borrowers_debt: 0.0,
    };
    let protected = entries.iter().any(|e| e.protected);
    let mut guard: Option<Guard> = None;
    let mut watch = Watch::default();
    let lag = walk.oracle.delay_secs.checked_div(step).unwrap_or(0) as usize;
    let mut withdrawn = 0.0f64;
    let mut reprint = false;
    for (minute, &price) in path.iter().enumerate() {
        // The pools follow the market; the oracle publishes or keeps its last price.
        since += step;
        m.step(step, price)?;
        // What the oracle's feed shows now: the market's price `lag` steps ago.
        let feed = if minute >= lag { path[minute - lag] } else { p0 };
        let bad = walk.bad_print.filter(|&(at, _)| at as usize == minute + 1);
        if let Some((_, factor)) = bad {
            published = feed * factor;
            since = 0;
            out.oracle_updates += 1;
            reprint = true;
        } else if reprint || walk.oracle.publishes(published, feed, since) || step == 0 {
            published = feed;
            since = 0;
            out.oracle_updates += 1;
            reprint = false;
        }
        if published != price {
            m.publish(published)?;
        }
        // The outside LPs withdraw as the market falls below its start.
        let flight = (walk.lp_flight * (1.0 - price / p0).max(0.0) * 10.0).min(1.0);
        if flight > withdrawn && m.has_outside() {
            m.withdraw_outside(flight - withdrawn)?;
            withdrawn = flight;
            out.lp_withdrawn = flight;
        }
        if watch.stale(minute as u32, &m.depths()?) {
            watch = Watch::solve(m, m.count(), scan, minute as u32)?;
        }
        for i in watch.near(published, &m.pool_prices()?) {
            if let Some(d) = m.past_kill(i)? {
                if m.borrower(i) {
                    out.borrowers_at_risk += 1;
                } else {
                    out.at_risk += 1;
                    out.at_risk_debt += d;
                }
            }
        }
        // The keepers run the protection orders first, on their schedule: those of the
        // positions whose orders may act (a trigger's price near, or due by the clock).
        if protected && minute as u32 % walk.keeper_every.max(1) == 0 {
            let acted = if scan == Scan::All {
                m.run_orders(None)?
            } else {
                let stale = match &guard {
                    None => true,
                    Some(g) => g.stale(minute as u32, &m.depths()?),
                };
                if stale {
                    guard = Some(Guard::solve(m, entries, minute as u32)?);
                }
                let g = guard.as_mut().ok_or_else(|| SimError::Internal("no guard".into()))?;
                let now = m.now();
                let acted = m.run_orders(Some(&|i, pools| g.woken(i, published, pools, now)))?;
                // The orders that acted moved their own triggers.
                g.update(m, &acted)?;
                acted
            }
            .len();
            out.protection_acted += acted;
        }
        out.utilization_peak = out.utilization_peak.max(m.utilization()?);
        for (k, a) in crowd.agents.iter().enumerate() {
            crowd.left[k] = if a.capital > 0.0 { a.capital } else { f64::INFINITY };
        }
        let kills = liquidate_all(m, &mut crowd, minute as u32, &watch, published)?;
        if !kills.rounds.is_empty() {
            let at = minute as u32 + 1;
            out.kill_minutes = Some(out.kill_minutes.map_or((at, at), |(first, _)| (first, at)));
        }
        out.utilization_peak = out.utilization_peak.max(m.utilization()?);
        out.liquidated += kills.liquidated;
        out.unprofitable += kills.unprofitable;
        out.capital_limited += kills.capital_limited;
        out.waiting += kills.waiting;
        out.liquidated_debt += kills.debt;
        out.bad_debt += kills.bad_debt;
        out.borrowers_liquidated += kills.borrowers;
        out.borrowers_debt += kills.borrowers_debt;
        for (r, k) in kills.rounds.iter().enumerate() {
            match out.rounds.get_mut(r) {
                Some(x) => *x += k,
                None => out.rounds.push(*k),
            }
        }
    }
    for (k, a) in crowd.agents.iter().enumerate() {
        let gas = crowd.count[k] as f64 * a.gas;
        out.gas += gas;
        out.liquidators
            .push(LiquidatorOutcome { liquidations: crowd.count[k], paid: m.gained(k)? - gas });
    }
    out.liquidators_paid = out.liquidators.iter().map(|l| l.paid).sum();
    out.pool_price = m.pool_prices()?.first().copied().unwrap_or(f64::NAN);
    out.utilization_end = m.utilization()?;
    for i in (0..m.count()).filter(|&i| m.is_open(i)) {
        if m.past_kill(i)?.is_some() {
            out.open_past_kill += 1;
        }
        out.shortfall += m.shortfall(i)?;
    }
    Ok(out)
}

/// The liquidators kill every position past its kill factor, round after round, until a
/// round finds none. A round checks the positions `watch` finds near the oracle's price
/// (`published`) or the pool's, in the book's order; each due position goes to the quickest
/// liquidator that may act on it and finds that it pays.
fn liquidate_all<M: BookMarket>(
    m: &mut M,
    crowd: &mut Crowd,
    minute: u32,
    watch: &Watch,
    published: f64,
) -> Result<Kills, SimError> {
    let mut skipped: BTreeSet<usize> = BTreeSet::new();
    let mut k = Kills::default();
    // A position back within its kill factor starts its wait again when next past it.
    let mut healed = Vec::new();
    for &i in crowd.first_due.keys() {
        if m.past_kill(i)?.is_none() {
            healed.push(i);
        }
    }
    for i in healed {
        crowd.first_due.remove(&i);
    }
    loop {
        let mut due = Vec::new();
        for i in watch.near(published, &m.pool_prices()?) {
            if !skipped.contains(&i) {
                if let Some(d) = m.past_kill(i)? {
                    due.push((i, d));
                }
            }
        }
        if due.is_empty() || k.rounds.len() >= 1_000 {
            break;
        }
        let mut killed = 0;
        for (i, owed) in due {
            let waited = minute - *crowd.first_due.entry(i).or_insert(minute);
            // Why no liquidator took it: 1 waiting, 2 no capital left, 3 it did not pay.
            let (mut why, mut done, mut refused) = (0u8, None, false);
            for &a in &crowd.order {
                let agent = crowd.agents[a];
                if waited < agent.delay {
                    why = why.max(1);
                    continue;
                }
                if crowd.left[a] < owed {
                    why = why.max(2);
                    continue;
                }
                // A kill's prize is never negative; a borrower's liquidation, its collateral sold
                // through the pool for less than the debt repaid, may lose: always weighed.
                let weigh = agent.gas > 0.0 || agent.min_profit > 0.0 || m.borrower(i);
                match m.kill(i, a, weigh.then_some(agent.gas + agent.min_profit))? {
                    // No longer liquidatable: left for the next round's check.
                    Kill::Refused => refused = true,
                    Kill::Unprofitable => {
                        why = 3;
                        continue;
                    }
                    Kill::Done { debt, bad_debt, wait } => {
                        if m.borrower(i) {
                            k.borrowers += 1;
                            k.borrowers_debt += debt;
                        } else {
                            k.liquidated += 1;
                            k.debt += debt;
                        }
                        k.bad_debt += bad_debt;
                        if wait {
                            skipped.insert(i);
                        }
                        done = Some(a);
                    }
                }
                break;
            }
            let Some(a) = done else {
                if !refused {
                    // Left for this step; counted once, by why.
                    skipped.insert(i);
                    match why {
                        3 => k.unprofitable += 1,
                        2 => k.capital_limited += 1,
                        _ => k.waiting += 1,
                    }
                }
                continue;
            };
            crowd.left[a] -= owed;
            crowd.count[a] += 1;
            killed += 1;
        }
        if killed == 0 {
            break;
        }
        k.rounds.push(killed);
    }
    Ok(k)
}
