//! The f64 book kernel: a book of positions on constant-product pools, walked by
//! `levfarm stress`'s one walk ([`levfarm_sim::stress::follow`]) with the exact engine's
//! semantics in f64 over whole tokens, for Monte Carlo windows of many paths.
//!
//! The book is opened once by the exact engine; [`BookKernel::new`] reads its market into f64
//! (each pool's reserves, LP supply and fee; each venue's two lending pools' cash, scaled debt,
//! index and stored rate, and its rules; each position's LP, scaled debt, pool and venue),
//! and each walk then does what the engine does, with the same formulas:
//!
//! - a step: the clock, the oracle, the arbitrageur to the fee's no-arbitrage band, the lending
//!   indices accrued at their stored rates (Aave's `1 + x + x²/2 + x³/6`);
//! - a position's health: its value after removing the liquidity and selling the token not
//!   owed through the pool (Alpaca's exit valuation), or at the fair LP price `2·√(x·y·p)/s`
//!   (the oracle valuation); its debt at the oracle; `ceil(debt·10⁴/value)` against the kill
//!   factor;
//! - a kill: the liquidity removed and the token not owed sold through the pool (the impact
//!   that cascades), the prize and the treasury's fee off what came back, the debt repaid from
//!   the rest and any shortfall written off as bad debt, the pool's rate reset by the f64 twin
//!   of its model ([`crate::rates`]);
//! - LPs' flight: the outside LP removes its share of the reserves.
//!
//! Liquidation prices for the watch come in closed form: on a constant-product pool at price
//! `p` every position's value is proportional to `√p` (both tokens of an LP share, and what
//! selling one for the other returns, scale so), so a long's debt ratio `r` reaches the kill
//! factor `k` at `p·(r/k)²` and a short's at `p·(k/r)²`.
//!
//! The kernel runs books on constant-product pools of the pair, at any of the market's venues
//! (each with its rules and lending pools), liquidated by kills, without protection orders or
//! plain borrowers, with the stable token at 1; [`BookKernel::new`] refuses the rest (`Unsupported`),
//! which the exact engine walks. A differential test holds the kernel to the engine.

use levfarm_core::position::{LeverageConfig, LiquidationStyle, Valuation};
use levfarm_core::types::Venue;
use levfarm_core::Holder;
use levfarm_sim::stress::{follow, Book, BookMarket, Kill, Scan, ShockOutcome, Wake, Walk, Woken};
use levfarm_sim::world;
use levfarm_sim::SimError;

use crate::kernel::{f, Lending};
use crate::pool::{arbitrage, Product};
use crate::rates::RateCurve;
use crate::RiskError;

/// A book's market in f64, as the exact engine opened it.
#[derive(Debug, Clone)]
pub struct BookKernel {
    start: State,
    /// Per entry: whether it borrowed the asset (a short, else it owes the stable token), and
    /// its pool and venue (indices of the book's).
    short: Vec<bool>,
    pool: Vec<usize>,
    venue: Vec<usize>,
    /// Per venue: its leverage rules and its two lending pools' rate models.
    venues: Vec<Rules>,
    /// Raw units per whole asset and stable token.
    units: [f64; 2],
    /// The outside LP's liquidity in the main pool at the start.
    outside: f64,
    p0: f64,
}

/// A venue's rules in f64.
#[derive(Debug, Clone)]
struct Rules {
    kill_bps: f64,
    prize: f64,
    treasury: f64,
    oracle_valuation: bool,
    /// The asset's and the stable token's lending pools' rate models.
    rates: [RateCurve; 2],
}

/// What moves along a walk.
#[derive(Debug, Clone)]
struct State {
    /// The book's pools, the main one first.
    pools: Vec<Product>,
    /// The asset's price at the oracle.
    oracle: f64,
    /// Per venue: its asset and stable lending pools.
    lend: Vec<[Lending; 2]>,
    /// Per entry: its LP, its scaled debt, whether it is open.
    lp: Vec<f64>,
    scaled: Vec<f64>,
    open: Vec<bool>,
    now: u64,
    /// The outside LP's liquidity left.
    outside: f64,
    /// Each liquidator's asset and stable tokens gained.
    gained: Vec<[f64; 2]>,
}

fn unsupported(what: &str) -> RiskError {
    RiskError::Unsupported(format!("the f64 book kernel: {what}; the exact engine walks it"))
}

impl BookKernel {
    /// Reads `book`'s market into f64; refuses a market the kernel does not model.
    pub fn new(book: &Book) -> Result<BookKernel, RiskError> {
        let w = &book.world;
        let m = &w.market;
        if book.entries.iter().any(|e| e.protected) {
            return Err(unsupported("protection orders"));
        }
        if !book.borrowers.is_empty() {
            return Err(unsupported("plain borrowers"));
        }
        if m.quote(&w.stable)?.price_wad != levfarm_core::math::WAD {
            return Err(unsupported("a stable token priced away from 1"));
        }
        if book.entries.is_empty() {
            return Err(unsupported("an empty book"));
        }
        let [u0, u1, _] = w.units.map(crate::v3::u256_to_f64);
        let mut pools = Vec::new();
        for name in &book.pools {
            let amm = &m.amm_pool(&world::pool_id(name)).map_err(|_| unsupported("a v3 pool"))?.amm;
            pools.push(Product {
                x: f(amm.reserve0, u0),
                y: f(amm.reserve1, u1),
                s: f(amm.total_supply, u0),
                fee: (f64::from(amm.fee.numerator()), f64::from(amm.fee.denominator())),
            });
        }
        let venues: Vec<Venue> = book.venues.iter().map(|v| Venue::from(v.as_str())).collect();
        if venues.first() != Some(&w.lending_venue(&w.stable)) {
            return Err(unsupported("a stable token lent at another venue"));
        }
        let mut lending = Vec::new();
        for v in &venues {
            lending.push([m.lending_at(v, &w.asset)?, m.lending_at(v, &w.stable)?]);
        }
        let positions: std::collections::BTreeMap<u64, &levfarm_core::position::Position> =
            m.positions().map(|p| (p.id, p)).collect();
        let (mut lp, mut scaled) = (Vec::new(), Vec::new());
        let mut rules: Vec<Option<LeverageConfig>> = vec![None; venues.len()];
        for e in &book.entries {
            let position = positions
                .get(&e.id)
                .ok_or_else(|| RiskError::Internal(format!("book position {} is missing", e.id)))?;
            let r = m.leverage_rules(e.id)?;
            if r.liquidation != LiquidationStyle::Kill {
                return Err(unsupported("a close factor or soft liquidation"));
            }
            if position.venue != venues[e.venue]
                || position.pool != world::pool_id(&book.pools[e.pool])
            {
                return Err(RiskError::Internal(format!(
                    "book position {} is not where its entry says",
                    e.id
                )));
            }
            match &rules[e.venue] {
                Some(known) if *known != *r => {
                    return Err(unsupported("positions under different rules at one venue"))
                }
                Some(_) => {}
                None => rules[e.venue] = Some(r.clone()),
            }
            let side = usize::from(!e.short);
            let unit = [u0, u1][side];
            lp.push(f(position.lp, u0));
            scaled.push(f(lending[e.venue][side].debt_shares(&Holder::Position(e.id)), unit));
        }
        let venue_rules = rules
            .iter()
            .zip(&lending)
            .map(|(r, l)| {
                let r = r.clone().unwrap_or_else(LeverageConfig::alpaca);
                Rules {
                    kill_bps: f64::from(r.kill_factor_bps.0),
                    prize: f64::from(r.kill_prize_bps.0) / 1e4,
                    treasury: f64::from(r.kill_treasury_bps.0) / 1e4,
                    oracle_valuation: r.valuation == Valuation::Oracle,
                    rates: [
                        RateCurve::of(&l[0].config.rate_model),
                        RateCurve::of(&l[1].config.rate_model),
                    ],
                }
            })
            .collect();
        let n = book.entries.len();
        Ok(BookKernel {
            start: State {
                pools,
                oracle: world::wad_to_f64(book.price.0),
                lend: lending
                    .iter()
                    .map(|l| [Lending::of(l[0], u0), Lending::of(l[1], u1)])
                    .collect(),
                lp,
                scaled,
                open: vec![true; n],
                now: m.time,
                outside: f(w.outside_liquidity()?, u0),
                gained: Vec::new(),
            },
            short: book.entries.iter().map(|e| e.short).collect(),
            pool: book.entries.iter().map(|e| e.pool).collect(),
            venue: book.entries.iter().map(|e| e.venue).collect(),
            venues: venue_rules,
            units: [u0, u1],
            outside: f(w.outside_liquidity()?, u0),
            p0: world::wad_to_f64(book.price.0),
        })
    }

    /// The book walks `path` (the asset's price after each step of `step` seconds) under
    /// `walk`, as [`Book::follow`] walks it on the exact engine.
    pub fn follow(
        &self,
        book: &Book,
        path: &[f64],
        step: u64,
        walk: &Walk,
        scan: Scan,
    ) -> Result<ShockOutcome, SimError> {
        let mut start = self.start.clone();
        start.gained = vec![[0.0; 2]; walk.liquidators().len()];
        let mut market = Walked { k: self, st: start };
        follow(&mut market, &book.entries, self.p0, path, step, walk, scan)
    }
}

/// A walk's market: the kernel's rules and the walk's state.
struct Walked<'a> {
    k: &'a BookKernel,
    st: State,
}

impl Walked<'_> {
    /// The lending pool entry `i` owes to: the asset's (0) for a short, else the stable's (1).
    fn side(&self, i: usize) -> usize {
        usize::from(!self.k.short[i])
    }

    /// Entry `i`'s venue's rules.
    fn rules(&self, i: usize) -> &Rules {
        &self.k.venues[self.k.venue[i]]
    }

    /// Entry `i`'s debt in its token now.
    fn debt(&self, i: usize) -> f64 {
        self.st.scaled[i] * self.st.lend[self.k.venue[i]][self.side(i)].index_at(self.st.now)
    }

    /// Entry `i`'s value (exit or fair) and its debt's value, at the oracle.
    fn health(&self, i: usize) -> (f64, f64) {
        let (st, p) = (&self.st, self.st.oracle);
        let short = self.k.short[i];
        let debt = self.debt(i);
        let pool = &st.pools[self.k.pool[i]];
        let value = if self.rules(i).oracle_valuation {
            pool.fair_value(st.lp[i], p)
        } else {
            pool.exit_value(st.lp[i], p, !short)
        };
        (value, if short { debt * p } else { debt })
    }

    /// The engine's debt ratio, `ceil(debt·10⁴/value)` bps.
    fn ratio_bps(&self, i: usize) -> f64 {
        let (value, debt) = self.health(i);
        crate::kernel::Setup::ratio_bps(value, debt)
    }

    /// Token `t`'s value at the oracle.
    fn at_oracle(&self, t: usize, amount: f64) -> f64 {
        if t == 0 {
            amount * self.st.oracle
        } else {
            amount
        }
    }

    /// Resets venue `v`'s pool of token `t`: its stored rate from its debt and cash, by the
    /// twin of its model.
    fn update_rate(&mut self, v: usize, t: usize) {
        let unit = self.k.units[t];
        let l = &mut self.st.lend[v][t];
        l.rate =
            self.k.venues[v].rates[t].borrow_rate(l.scaled_total * l.index * unit, l.cash * unit);
    }
}

impl BookMarket for Walked<'_> {
    fn step(&mut self, seconds: u64, price: f64) -> Result<(), SimError> {
        let st = &mut self.st;
        st.now += seconds;
        st.oracle = price;
        for pool in &mut st.pools {
            arbitrage(&mut pool.x, &mut pool.y, price, pool.fee);
        }
        for l in st.lend.iter_mut().flatten() {
            l.accrue(st.now);
        }
        Ok(())
    }

    fn publish(&mut self, price: f64) -> Result<(), SimError> {
        self.st.oracle = price;
        Ok(())
    }

    fn has_outside(&self) -> bool {
        self.k.outside > 0.0
    }

    fn withdraw_outside(&mut self, share: f64) -> Result<(), SimError> {
        let lp = (self.k.outside * share.clamp(0.0, 1.0)).min(self.st.outside);
        if lp > 0.0 {
            self.st.pools[0].unwind(lp);
            self.st.outside -= lp;
        }
        Ok(())
    }

    fn depths(&self) -> Result<Vec<f64>, SimError> {
        Ok(self.st.pools.iter().map(|p| (p.x * p.y).sqrt()).collect())
    }

    fn pool_prices(&self) -> Result<Vec<f64>, SimError> {
        Ok(self.st.pools.iter().map(|p| p.y / p.x).collect())
    }

    fn pool_of(&self, entry: usize) -> usize {
        self.k.pool[entry]
    }

    fn utilization(&self) -> Result<f64, SimError> {
        let l = &self.st.lend[0][1];
        let debt = l.scaled_total * l.index;
        Ok(if debt + l.cash > 0.0 { debt / (debt + l.cash) } else { 0.0 })
    }

    fn is_open(&self, entry: usize) -> bool {
        self.st.open[entry]
    }

    fn count(&self) -> usize {
        self.st.open.len()
    }

    fn borrower(&self, _: usize) -> bool {
        false
    }

    fn past_kill(&self, entry: usize) -> Result<Option<f64>, SimError> {
        if !self.st.open[entry] || self.ratio_bps(entry) <= self.rules(entry).kill_bps {
            return Ok(None);
        }
        Ok(Some(self.health(entry).1))
    }

    fn ratio(&self, entry: usize) -> Result<(f64, f64), SimError> {
        Ok((self.ratio_bps(entry), self.rules(entry).kill_bps))
    }

    fn liquidation_prices(&self, entry: usize) -> Result<(Option<f64>, Option<f64>), SimError> {
        let (value, debt) = self.health(entry);
        if debt <= 0.0 || value <= 0.0 {
            return Ok((None, None));
        }
        // Exit values move with the pool's price, fair values with the oracle's.
        let pool = &self.st.pools[self.k.pool[entry]];
        let rules = self.rules(entry);
        let p = if rules.oracle_valuation { self.st.oracle } else { pool.y / pool.x };
        let r = debt * 1e4 / value / rules.kill_bps;
        Ok(if self.k.short[entry] { (None, Some(p / (r * r))) } else { (Some(p * r * r), None) })
    }

    fn kill(&mut self, entry: usize, k: usize, least: Option<f64>) -> Result<Kill, SimError> {
        if self.past_kill(entry)?.is_none() {
            return Ok(Kill::Refused);
        }
        let (_, debt_value) = self.health(entry);
        let side = self.side(entry);
        let debt = self.debt(entry);
        // The liquidity removed and the token not owed sold for the one owed, on a copy of the
        // pool until the liquidator takes the kill.
        let (at, venue) = (self.k.pool[entry], self.k.venue[entry]);
        let (prize_share, treasury) = (self.rules(entry).prize, self.rules(entry).treasury);
        let mut pool = self.st.pools[at];
        let removed = pool.unwind(self.st.lp[entry]);
        let mut back = removed;
        back[side] += pool.sell(side == 1, removed[1 - side]);
        back[1 - side] = 0.0;
        let prize = back.map(|b| b * prize_share);
        if let Some(least) = least {
            if self.at_oracle(0, prize[0]) + self.at_oracle(1, prize[1]) < least {
                return Ok(Kill::Unprofitable);
            }
        }
        self.st.pools[at] = pool;
        let rest = back[side] * (1.0 - prize_share - treasury);
        let repaid = rest.min(debt);
        let l = &mut self.st.lend[venue][side];
        l.cash += repaid;
        l.scaled_total -= self.st.scaled[entry];
        self.update_rate(venue, side);
        self.st.scaled[entry] = 0.0;
        self.st.lp[entry] = 0.0;
        self.st.open[entry] = false;
        for t in 0..2 {
            self.st.gained[k][t] += prize[t];
        }
        Ok(Kill::Done {
            debt: debt_value,
            bad_debt: self.at_oracle(side, debt - repaid),
            wait: false,
        })
    }

    fn run_orders(&mut self, _: Option<Woken>) -> Result<Vec<usize>, SimError> {
        Err(SimError::Internal("the f64 book kernel runs no protection orders".into()))
    }

    fn order_wake(&self, _: usize) -> Result<Option<Wake>, SimError> {
        Ok(None)
    }

    fn now(&self) -> u64 {
        self.st.now
    }

    fn gained(&self, k: usize) -> Result<f64, SimError> {
        let [a, s] = self.st.gained[k];
        Ok(self.at_oracle(0, a) + s)
    }

    fn shortfall(&self, entry: usize) -> Result<f64, SimError> {
        let (value, debt) = self.health(entry);
        Ok((debt - value).max(0.0))
    }
}
