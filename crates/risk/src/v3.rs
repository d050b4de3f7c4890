//! A Uniswap v3 pool in f64, for the path kernel's range positions.
//!
//! The backtester's v3 pools hold two positions: the other liquidity providers' band (the
//! full range, or `market.pool.liquidity_width_ticks` around the opening price) and the
//! leveraged position's range. So the pool here is those two [`Band`]s, and its swap is
//! Uniswap's loop over the few edges they make: in each stretch the liquidity in range is
//! constant, the input pays the fee first (`computeSwapStep`), and the fee goes to the
//! liquidity in range pro rata, the position's share into what it is owed.
//!
//! Square roots of prices and liquidity are in whole tokens: `sqrt(stable per asset)`, and
//! liquidity such that `Δstable = L·Δsqrt`. The engine's raw figures convert with
//! `sqrt(unit0/unit1)` ([`Scale`]).

// The lanes' loops read and write several arrays at the same lane, which is clearest indexed.
#![allow(clippy::needless_range_loop)]

use alloy_primitives::U256;
use levfarm_core::amm::v3::math;
use levfarm_core::position::TickRange;

use crate::lanes::LANES;
use crate::pool::{Pool, PoolLanes};

/// Liquidity over `[lower, upper)` in square roots of the price (the square roots at its two
/// ticks, so the pool's tick is in the range exactly when its square root price is).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Band {
    pub lower: f64,
    pub upper: f64,
    pub liquidity: f64,
}

impl Band {
    /// A band over a tick range.
    pub fn new(range: TickRange, liquidity: f64, scale: Scale) -> Band {
        Band {
            lower: scale.sqrt_at_tick(range.tick_lower),
            upper: scale.sqrt_at_tick(range.tick_upper),
            liquidity,
        }
    }

    /// Whether the band's liquidity trades in a step going down from `s` (the stretch just
    /// below `s`) or up (just above): a tick is crossed on arriving at it from above.
    #[inline(always)]
    fn active(&self, s: f64, down: bool) -> bool {
        if down {
            self.lower < s && s <= self.upper
        } else {
            self.lower <= s && s < self.upper
        }
    }

    /// The tokens behind `liquidity` at `s` (`LiquidityAmounts.getAmountsForLiquidity`).
    #[inline(always)]
    pub fn amounts(&self, s: f64, liquidity: f64) -> [f64; 2] {
        let (a, b) = (self.lower, self.upper);
        if s <= a {
            [liquidity * (1.0 / a - 1.0 / b), 0.0]
        } else if s < b {
            [liquidity * (1.0 / s - 1.0 / b), liquidity * (s - a)]
        } else {
            [0.0, liquidity * (b - a)]
        }
    }

    /// Liquidity that token0 backs at `s`, infinite where the band needs none.
    fn liquidity_of0(&self, s: f64, amount0: f64) -> f64 {
        if s >= self.upper {
            return f64::INFINITY;
        }
        let lo = s.max(self.lower);
        amount0 * lo * self.upper / (self.upper - lo)
    }

    /// Liquidity that token1 backs at `s`, infinite where the band needs none.
    fn liquidity_of1(&self, s: f64, amount1: f64) -> f64 {
        if s <= self.lower {
            return f64::INFINITY;
        }
        amount1 / (s.min(self.upper) - self.lower)
    }

    /// The most liquidity `have` backs at `s` (`getLiquidityForAmounts`).
    pub fn liquidity_for(&self, s: f64, have: [f64; 2]) -> f64 {
        let l = self.liquidity_of0(s, have[0]).min(self.liquidity_of1(s, have[1]));
        if l.is_finite() {
            l
        } else {
            0.0
        }
    }
}

/// Converts between the engine's raw v3 figures and whole-token ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// `sqrt(unit0/unit1)`: whole-token square root price per raw one.
    pub sqrt_price: f64,
    /// `sqrt(unit0·unit1)`: raw liquidity per whole-token liquidity.
    pub liquidity: f64,
}

impl Scale {
    pub fn new(unit0: f64, unit1: f64) -> Scale {
        Scale { sqrt_price: (unit0 / unit1).sqrt(), liquidity: (unit0 * unit1).sqrt() }
    }

    /// A `sqrtPriceX96` as a whole-token square root price.
    pub fn sqrt_price(&self, x96: U256) -> f64 {
        u256_to_f64(x96) / 2f64.powi(96) * self.sqrt_price
    }

    /// The square root price at a tick (the engine's `getSqrtRatioAtTick`, then f64).
    pub fn sqrt_at_tick(&self, tick: i32) -> f64 {
        let tick = tick.clamp(math::MIN_TICK, math::MAX_TICK);
        math::sqrt_price_at_tick(tick).map_or(f64::NAN, |x96| self.sqrt_price(x96))
    }

    /// The tick a pool at `s` is in: the greatest tick whose square root price is at most
    /// `s` (`getTickAtSqrtRatio`), from the logarithm and checked against the engine's ticks.
    pub fn tick_at(&self, s: f64) -> i32 {
        let raw = s / self.sqrt_price;
        let guess = (2.0 * raw.ln() / 1.0001f64.ln()).floor();
        let mut tick = guess.clamp(f64::from(math::MIN_TICK), f64::from(math::MAX_TICK)) as i32;
        while tick > math::MIN_TICK && self.sqrt_at_tick(tick) > s {
            tick -= 1;
        }
        while tick < math::MAX_TICK && self.sqrt_at_tick(tick + 1) <= s {
            tick += 1;
        }
        tick
    }
}

/// A U256 as the nearest f64 (to within one rounding of each 64-bit limb).
pub fn u256_to_f64(v: U256) -> f64 {
    v.as_limbs().iter().rev().fold(0.0, |acc, &limb| acc * 2f64.powi(64) + limb as f64)
}

/// What a swap paid and got.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Swap {
    pub paid: f64,
    pub got: f64,
}

/// The pool: its price, the two bands, what it holds and what it owes the position.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Concentrated {
    pub sqrt_price: f64,
    /// The fee, as a share of the input.
    pub fee: f64,
    pub others: Band,
    pub position: Band,
    /// Tokens the pool holds: every band's principal and the fees not yet collected.
    pub balance: [f64; 2],
    /// Fees owed to the position and not yet collected.
    pub owed: [f64; 2],
    /// The lowest and highest square root prices a swap may reach.
    pub floor: f64,
    pub ceiling: f64,
}

impl Concentrated {
    /// The liquidity in range for a step down or up from `s`, all of it and the position's.
    #[inline(always)]
    fn in_range(&self, s: f64, down: bool) -> (f64, f64) {
        let mine = if self.position.active(s, down) { self.position.liquidity } else { 0.0 };
        let others = if self.others.active(s, down) { self.others.liquidity } else { 0.0 };
        (mine + others, mine)
    }

    /// The next band edge strictly beyond `s` in the swap's direction, or `limit`.
    #[inline(always)]
    fn next_edge(&self, s: f64, down: bool, limit: f64) -> f64 {
        let mut target = limit;
        for e in [self.others.lower, self.others.upper, self.position.lower, self.position.upper] {
            if (down && e < s && e > target) || (!down && e > s && e < target) {
                target = e;
            }
        }
        target
    }

    /// Swaps token0 for token1 (`zero_for_one`) or back: `amount_in` exactly, or (`None`)
    /// as much as it takes to reach `limit`; stops at `limit` either way.
    #[inline(always)]
    pub fn swap(&mut self, zero_for_one: bool, amount_in: Option<f64>, limit: f64) -> Swap {
        self.walk(zero_for_one, limit, amount_in.unwrap_or(f64::INFINITY), false).0
    }

    /// Buys exactly `amount` of token1 with token0 (`zero_for_one`) or of token0 with token1
    /// (an exact-output swap: each stretch's input from its output, the fee on top); `None`,
    /// and nothing changes, when the pool runs out of it first, as the engine's exact-output
    /// quote then falls short.
    pub fn buy(&mut self, zero_for_one: bool, amount: f64) -> Option<Swap> {
        let limit = if zero_for_one { self.floor } else { self.ceiling };
        let mut trial = *self;
        let (swap, left) = trial.walk(zero_for_one, limit, amount, true);
        if left > 0.0 {
            return None;
        }
        *self = trial;
        Some(swap)
    }

    /// The swap loop: stretch by stretch between the bands' edges toward `limit`, spending
    /// `amount` of the input (or, `exact_out`, of the output) as far as the pool goes, the fee
    /// on the input and the position's share of it owed to it. What was paid and got, and what
    /// is left of `amount`.
    #[inline(always)]
    fn walk(&mut self, down: bool, limit: f64, amount: f64, exact_out: bool) -> (Swap, f64) {
        let keep = 1.0 - self.fee;
        let mut remaining = amount;
        let mut out = Swap::default();
        let mut s = self.sqrt_price;
        // Each stretch ends at an edge, at the limit or with the amount spent: at most five.
        for _ in 0..8 {
            if remaining <= 0.0 || (if down { s <= limit } else { s >= limit }) {
                break;
            }
            let target = self.next_edge(s, down, limit);
            let (l, mine) = self.in_range(s, down);
            if l <= 0.0 {
                s = target;
                continue;
            }
            let (net, next, fee, got) = if exact_out {
                // The most this stretch gives, to its edge.
                let most = if down { l * (s - target) } else { l * (1.0 / s - 1.0 / target) };
                let (got, next) = if remaining >= most {
                    (most, target)
                } else if down {
                    (remaining, s - remaining / l)
                } else {
                    (remaining, 1.0 / (1.0 / s - remaining / l))
                };
                let net = if down { l * (1.0 / next - 1.0 / s) } else { l * (next - s) };
                remaining -= got;
                (net, next, net * self.fee / keep, got)
            } else {
                let need = if down { l * (1.0 / target - 1.0 / s) } else { l * (target - s) };
                let (net, next, fee) = if remaining * keep >= need {
                    (need, target, need * self.fee / keep)
                } else {
                    let net = remaining * keep;
                    let next = if down { l * s / (l + net * s) } else { s + net / l };
                    (net, next, remaining - net)
                };
                // A stretch that stops short of its edge spends what was left, exactly (as
                // Uniswap's `amountRemaining` reaches zero): no rounding's residue runs on.
                remaining = if next == target { remaining - (net + fee) } else { 0.0 };
                let got = if down { l * (s - next) } else { l * (1.0 / s - 1.0 / next) };
                (net, next, fee, got)
            };
            out.paid += net + fee;
            out.got += got;
            if mine > 0.0 {
                self.owed[usize::from(!down)] += fee * mine / l;
            }
            s = next;
        }
        self.sqrt_price = s;
        let (i, o) = if down { (0, 1) } else { (1, 0) };
        self.balance[i] += out.paid;
        self.balance[o] -= out.got;
        (out, remaining)
    }

    /// Sells exactly `amount` of token0 (or of token1), as far as the pool goes.
    #[inline(always)]
    pub fn sell(&mut self, zero_for_one: bool, amount: f64) -> Swap {
        if amount <= 0.0 {
            return Swap::default();
        }
        let limit = if zero_for_one { self.floor } else { self.ceiling };
        self.swap(zero_for_one, Some(amount), limit)
    }

    /// The arbitrageur's trade against the oracle `price`: to `sqrt(price)/sqrt(1 − fee)` from
    /// above, to `sqrt(price)·sqrt(1 − fee)` from below, nothing within the band.
    #[inline(always)]
    pub fn arbitrage(&mut self, price: f64) {
        let target = price.sqrt();
        let keep = (1.0 - self.fee).sqrt();
        let (above, below) = (target / keep, target * keep);
        if self.sqrt_price > above {
            self.swap(true, None, above.max(self.floor));
        } else if self.sqrt_price < below {
            self.swap(false, None, below.min(self.ceiling));
        }
    }

    /// The pool's tokens valued at `price` (stable per asset).
    #[inline(always)]
    pub fn value(&self, price: f64) -> f64 {
        self.balance[0] * price + self.balance[1]
    }

    /// The position's principal and fees owed, valued at the oracle `price`.
    #[inline(always)]
    pub fn position_value(&self, price: f64) -> f64 {
        let held = self.position.amounts(price.sqrt(), self.position.liquidity);
        (held[0] + self.owed[0]) * price + held[1] + self.owed[1]
    }

    /// Burns `liquidity` of the position's and collects it with every fee owed: the tokens.
    #[inline(always)]
    pub fn unwind(&mut self, liquidity: f64) -> [f64; 2] {
        let principal = self.burn(liquidity);
        let out = [principal[0] + self.owed[0], principal[1] + self.owed[1]];
        self.owed = [0.0; 2];
        self.balance[0] -= out[0];
        self.balance[1] -= out[1];
        out
    }

    /// Burns `liquidity` of the position's: its principal, which the caller collects.
    #[inline(always)]
    fn burn(&mut self, liquidity: f64) -> [f64; 2] {
        let liquidity = liquidity.min(self.position.liquidity);
        let principal = self.position.amounts(self.sqrt_price, liquidity);
        self.position.liquidity -= liquidity;
        principal
    }

    /// A loss that takes `liquidity` of the position's, tokens and all.
    pub fn lose(&mut self, liquidity: f64) {
        let gone = self.burn(liquidity);
        self.balance[0] -= gone[0];
        self.balance[1] -= gone[1];
    }

    /// Collects the fees owed.
    pub fn collect(&mut self) -> [f64; 2] {
        let out = self.owed;
        self.owed = [0.0; 2];
        self.balance[0] -= out[0];
        self.balance[1] -= out[1];
        out
    }

    /// What exiting the position now would leave, valued at the oracle `price`: the position
    /// burned and collected, then all of token0 (`sell_token0`, the debt being token1) or of
    /// token1 sold into what remains of the pool.
    #[inline(always)]
    pub fn exit_value(&self, price: f64, sell_token0: bool) -> f64 {
        let mut copy = *self;
        let mut have = copy.unwind(copy.position.liquidity);
        let i = usize::from(!sell_token0);
        let sold = copy.sell(sell_token0, have[i]);
        have[i] -= sold.paid;
        have[1 - i] += sold.got;
        have[0] * price + have[1]
    }

    /// Puts `have` into the position's band as the engine's range zap does: the swap to the
    /// mix that mints the most liquidity at the price the swap leaves (a bracket on the amount
    /// in closed by regula falsi, each candidate run through the swap loop), then the mint. Returns the liquidity
    /// added and what is left over for the owner.
    pub fn zap(&mut self, have: [f64; 2]) -> (f64, [f64; 2]) {
        let band = self.position;
        let s = self.sqrt_price;
        let (l0, l1) = (band.liquidity_of0(s, have[0]), band.liquidity_of1(s, have[1]));
        let mut after = have;
        if l0 != l1 {
            let zero_for_one = l0 > l1;
            let i = usize::from(!zero_for_one);
            // Liquidity backed by the input side and by the output side after selling `x`.
            let trial = |x: f64| -> (f64, f64, Concentrated, [f64; 2]) {
                let mut pool = *self;
                let swap = pool.sell(zero_for_one, x);
                let mut h = have;
                h[i] -= swap.paid;
                h[1 - i] += swap.got;
                let s = pool.sqrt_price;
                let (l0, l1) = (band.liquidity_of0(s, h[0]), band.liquidity_of1(s, h[1]));
                let (l_in, l_out) = if zero_for_one { (l0, l1) } else { (l1, l0) };
                (l_in, l_out, pool, h)
            };
            // How far the input side's liquidity exceeds the output side's, as a share of the
            // two (in [−1, 1], so that a side needing none, infinite, is finite here).
            let excess = |(l_in, l_out): (f64, f64)| -> f64 {
                if l_in == l_out {
                    0.0
                } else if l_in.is_infinite() {
                    1.0
                } else if l_out.is_infinite() {
                    -1.0
                } else {
                    (l_in - l_out) / (l_in + l_out)
                }
            };
            let (mut lo, mut hi) = (0.0, have[i]);
            let top = trial(hi);
            let best = if top.0 >= top.1 {
                top
            } else {
                // Selling `lo` leaves an excess of the input token, selling `hi` does not: the
                // bracket closes by regula falsi on the excess (Illinois: the side that stays
                // has its excess halved), by halving where the secant leaves the bracket, to
                // a ten-trillionth: the excess is rounding there (the engine's bisection goes
                // on to adjacent wei, where the liquidity minted differs by less).
                let bottom = trial(lo);
                let (mut g_lo, mut g_hi) = (excess((bottom.0, bottom.1)), excess((top.0, top.1)));
                let (mut at_lo, mut at_hi) = (bottom, top);
                let mut last = 0i8;
                for _ in 0..100 {
                    if hi - lo <= hi * 1e-13 {
                        break;
                    }
                    let secant = hi - g_hi * (hi - lo) / (g_hi - g_lo);
                    let c = if secant > lo && secant < hi { secant } else { 0.5 * (lo + hi) };
                    if c <= lo || c >= hi {
                        break;
                    }
                    let t = trial(c);
                    let g = excess((t.0, t.1));
                    if t.0 >= t.1 {
                        (lo, g_lo, at_lo) = (c, g, t);
                        if last > 0 {
                            g_hi *= 0.5;
                        }
                        last = 1;
                    } else {
                        (hi, g_hi, at_hi) = (c, g, t);
                        if last < 0 {
                            g_lo *= 0.5;
                        }
                        last = -1;
                    }
                }
                // The most liquidity is at the crossing: the output side binds at `lo`, the
                // input side at `hi`.
                if at_lo.1.min(at_lo.0) >= at_hi.0.min(at_hi.1) {
                    at_lo
                } else {
                    at_hi
                }
            };
            *self = best.2;
            after = best.3;
        }
        let s = self.sqrt_price;
        let liquidity = band.liquidity_for(s, after);
        let used = band.amounts(s, liquidity);
        self.position.liquidity += liquidity;
        self.balance[0] += used[0];
        self.balance[1] += used[1];
        (liquidity, [(after[0] - used[0]).max(0.0), (after[1] - used[1]).max(0.0)])
    }
}

/// [`Concentrated`] pools of [`LANES`] paths, field by field: what each path's pool has of
/// its own (the price, the position's band, the balances and fees owed) as arrays, and once
/// what all share (the fee, the other providers' band, the price's bounds). Each operation is
/// [`Concentrated`]'s, with the same arithmetic in the same order in every lane and the
/// branches taken as selections, so that a lane's bits are the one pool's.
#[derive(Debug, Clone, Default)]
pub struct RangeLanes {
    pub sqrt_price: [f64; LANES],
    pub lower: [f64; LANES],
    pub upper: [f64; LANES],
    pub liquidity: [f64; LANES],
    pub balance: [[f64; LANES]; 2],
    pub owed: [[f64; LANES]; 2],
    fee: f64,
    others: Band,
    floor: f64,
    ceiling: f64,
}

/// One swap's inputs over the lanes, all in one direction: whether each lane swaps, the price
/// it stops at, the exact input.
struct Walk {
    go: [bool; LANES],
    limit: [f64; LANES],
    amount: [f64; LANES],
}

impl RangeLanes {
    /// Lanes whose pools are all `pool` (the shared fields are `pool`'s).
    pub fn of(pool: &Concentrated) -> RangeLanes {
        let mut lanes = RangeLanes {
            fee: pool.fee,
            others: pool.others,
            floor: pool.floor,
            ceiling: pool.ceiling,
            ..RangeLanes::default()
        };
        for l in 0..LANES {
            lanes.put(l, pool);
        }
        lanes
    }

    /// Lane `l` becomes `pool` (whose shared fields must be the lanes').
    #[inline(always)]
    pub fn put(&mut self, l: usize, pool: &Concentrated) {
        debug_assert!(
            pool.fee == self.fee
                && pool.others == self.others
                && pool.floor == self.floor
                && pool.ceiling == self.ceiling,
            "the paths' pools share their fee, other providers and bounds"
        );
        self.sqrt_price[l] = pool.sqrt_price;
        (self.lower[l], self.upper[l], self.liquidity[l]) =
            (pool.position.lower, pool.position.upper, pool.position.liquidity);
        for i in 0..2 {
            (self.balance[i][l], self.owed[i][l]) = (pool.balance[i], pool.owed[i]);
        }
    }

    /// Lane `l`'s pool.
    #[inline(always)]
    pub fn pool(&self, l: usize) -> Concentrated {
        Concentrated {
            sqrt_price: self.sqrt_price[l],
            fee: self.fee,
            others: self.others,
            position: Band {
                lower: self.lower[l],
                upper: self.upper[l],
                liquidity: self.liquidity[l],
            },
            balance: [self.balance[0][l], self.balance[1][l]],
            owed: [self.owed[0][l], self.owed[1][l]],
            floor: self.floor,
            ceiling: self.ceiling,
        }
    }

    /// [`Concentrated::walk`] with an exact input, `DOWN` (token0 in) or up, in the lanes where
    /// `w.go`, from `s` with the position's `liquidity` (`owed` takes its share of the fees):
    /// where each lane's price ends, what it paid and what it got (nothing where it does not
    /// swap). One direction at a time, so that no lane computes the other's divisions.
    #[inline(always)]
    fn walk<const DOWN: bool>(
        &self,
        w: &Walk,
        s: &mut [f64; LANES],
        liquidity: &[f64; LANES],
        owed: &mut [[f64; LANES]; 2],
    ) -> ([f64; LANES], [f64; LANES]) {
        let keep = 1.0 - self.fee;
        let (o, fee_share) = (&self.others, self.fee);
        let mut remaining = w.amount;
        let (mut paid, mut got) = ([0.0; LANES], [0.0; LANES]);
        let mut run = w.go;
        // The input's token is owed the position's share of the fee.
        let owed_in = &mut owed[usize::from(!DOWN)];
        for _ in 0..8 {
            let mut any = false;
            for l in 0..LANES {
                let reached = if DOWN { s[l] <= w.limit[l] } else { s[l] >= w.limit[l] };
                let stop = remaining[l] <= 0.0 || reached;
                run[l] = run[l] && !stop;
                any |= run[l];
            }
            if !any {
                break;
            }
            for l in 0..LANES {
                let (sl, limit) = (s[l], w.limit[l]);
                // `next_edge`.
                let mut target = limit;
                for e in [o.lower, o.upper, self.lower[l], self.upper[l]] {
                    let nearer = if DOWN { e < sl && e > target } else { e > sl && e < target };
                    target = if nearer { e } else { target };
                }
                // `in_range`.
                let mine_active = if DOWN {
                    self.lower[l] < sl && sl <= self.upper[l]
                } else {
                    self.lower[l] <= sl && sl < self.upper[l]
                };
                let others_active = if DOWN {
                    o.lower < sl && sl <= o.upper
                } else {
                    o.lower <= sl && sl < o.upper
                };
                let mine = if mine_active { liquidity[l] } else { 0.0 };
                let lq = mine + if others_active { o.liquidity } else { 0.0 };
                // An exact input's stretch.
                let rem = remaining[l];
                let need = if DOWN { lq * (1.0 / target - 1.0 / sl) } else { lq * (target - sl) };
                let whole = rem * keep >= need;
                let part = rem * keep;
                let part_next = if DOWN { lq * sl / (lq + part * sl) } else { sl + part / lq };
                let net = if whole { need } else { part };
                let next = if whole { target } else { part_next };
                let fee = if whole { need * fee_share / keep } else { rem - part };
                let out = if DOWN { lq * (sl - next) } else { lq * (1.0 / sl - 1.0 / next) };
                let empty = lq <= 0.0;
                let flows = run[l] && !empty;
                let spent = if next == target { rem - (net + fee) } else { 0.0 };
                remaining[l] = if flows { spent } else { rem };
                paid[l] = if flows { paid[l] + (net + fee) } else { paid[l] };
                got[l] = if flows { got[l] + out } else { got[l] };
                let share = owed_in[l] + fee * mine / lq;
                owed_in[l] = if flows && mine > 0.0 { share } else { owed_in[l] };
                s[l] = if flows {
                    next
                } else if run[l] {
                    target
                } else {
                    sl
                };
            }
        }
        (paid, got)
    }

    /// A swap of the lanes' pools ([`Concentrated::swap`]), `DOWN` or up, where `w.go`: what
    /// each got.
    #[inline(always)]
    fn swap<const DOWN: bool>(&mut self, w: &Walk) -> [f64; LANES] {
        let mut s = self.sqrt_price;
        let mut owed = self.owed;
        let (paid, got) = self.walk::<DOWN>(w, &mut s, &self.liquidity, &mut owed);
        self.owed = owed;
        let (i, o) = if DOWN { (0, 1) } else { (1, 0) };
        for l in 0..LANES {
            let go = w.go[l];
            self.sqrt_price[l] = if go { s[l] } else { self.sqrt_price[l] };
            let (bi, bo) = (self.balance[i][l] + paid[l], self.balance[o][l] - got[l]);
            self.balance[i][l] = if go { bi } else { self.balance[i][l] };
            self.balance[o][l] = if go { bo } else { self.balance[o][l] };
        }
        got
    }

    /// [`Concentrated::position_value`] in every lane.
    #[inline(always)]
    pub fn position_values(&self, price: &[f64; LANES], value: &mut [f64; LANES]) {
        for l in 0..LANES {
            let band = Band { lower: self.lower[l], upper: self.upper[l], liquidity: 0.0 };
            let held = band.amounts(price[l].sqrt(), self.liquidity[l]);
            value[l] = (held[0] + self.owed[0][l]) * price[l] + held[1] + self.owed[1][l];
        }
    }
}

/// A range's lanes as the kernel's pool arrays.
impl PoolLanes for RangeLanes {
    fn like(pool: &Pool) -> Option<RangeLanes> {
        pool.range().map(RangeLanes::of)
    }

    #[inline(always)]
    fn set(&mut self, l: usize, pool: &Pool) {
        let Some(c) = pool.range() else { unreachable!("every path's pool is of one kind") };
        self.put(l, c);
    }

    #[inline(always)]
    fn get(&self, l: usize) -> Pool {
        Pool::Concentrated(self.pool(l))
    }

    /// The bar's close in the lanes `live` ([`Concentrated::arbitrage`] to `price`, then
    /// traders' volume `a·v + b·v` on the pool's value `v` as a round trip, as the kernel's
    /// one-pool close).
    #[inline(always)]
    fn close(&mut self, live: &[bool; LANES], price: &[f64; LANES], a: &[f64; LANES], b: f64) {
        let empty =
            || Walk { go: [false; LANES], limit: [0.0; LANES], amount: [f64::INFINITY; LANES] };
        // The arbitrageur: the lanes above the band walk down, those below it up.
        let (mut down, mut up) = (empty(), empty());
        for l in 0..LANES {
            let target = price[l].sqrt();
            let keep = (1.0 - self.fee).sqrt();
            let (above, below) = (target / keep, target * keep);
            let (falls, rises) = (self.sqrt_price[l] > above, self.sqrt_price[l] < below);
            down.go[l] = live[l] && falls;
            up.go[l] = live[l] && !falls && rises;
            down.limit[l] = above.max(self.floor);
            up.limit[l] = below.min(self.ceiling);
        }
        self.swap::<true>(&down);
        self.swap::<false>(&up);
        // Traders buy token0 with half the volume, then sell what they got.
        let mut w = empty();
        for l in 0..LANES {
            let tvl = self.balance[0][l] * price[l] + self.balance[1][l];
            let volume = a[l] * tvl + b * tvl;
            let half = volume / 2.0;
            let nothing = half <= 0.0;
            w.go[l] = live[l] && volume > 0.0 && !nothing;
            (w.limit[l], w.amount[l]) = (self.ceiling, half);
        }
        let out = self.swap::<false>(&w);
        for l in 0..LANES {
            w.go[l] = w.go[l] && out[l] > 0.0;
            (w.limit[l], w.amount[l]) = (self.floor, out[l]);
        }
        self.swap::<true>(&w);
    }

    /// [`Concentrated::exit_value`] in every lane: the position unwound and the token not
    /// owed (token0 where `sell_token0`) sold, valued at `price`.
    #[inline(always)]
    fn exit_values(
        &self,
        _: &[f64; LANES],
        price: &[f64; LANES],
        sell_token0: bool,
        value: &mut [f64; LANES],
    ) {
        let i = usize::from(!sell_token0);
        let mut have = [[0.0; LANES]; 2];
        let mut left = [0.0; LANES];
        let mut w = Walk {
            go: [false; LANES],
            limit: [if sell_token0 { self.floor } else { self.ceiling }; LANES],
            amount: [0.0; LANES],
        };
        for l in 0..LANES {
            let liquidity = self.liquidity[l];
            let burnt = liquidity.min(liquidity);
            let band = Band { lower: self.lower[l], upper: self.upper[l], liquidity };
            let principal = band.amounts(self.sqrt_price[l], burnt);
            left[l] = liquidity - burnt;
            have[0][l] = principal[0] + self.owed[0][l];
            have[1][l] = principal[1] + self.owed[1][l];
            w.amount[l] = have[i][l];
            let nothing = have[i][l] <= 0.0;
            w.go[l] = !nothing;
        }
        let mut s = self.sqrt_price;
        let mut owed = [[0.0; LANES]; 2];
        let (paid, got) = if sell_token0 {
            self.walk::<true>(&w, &mut s, &left, &mut owed)
        } else {
            self.walk::<false>(&w, &mut s, &left, &mut owed)
        };
        for l in 0..LANES {
            have[i][l] -= paid[l];
            have[1 - i][l] += got[l];
            value[l] = have[0][l] * price[l] + have[1][l];
        }
    }

    #[inline(always)]
    fn fair_values(&self, _: &[f64; LANES], price: &[f64; LANES], value: &mut [f64; LANES]) {
        self.position_values(price, value);
    }

    #[inline(always)]
    fn fair_value_bounds(
        &self,
        _: &[f64; LANES],
        price: &[f64; LANES],
        f: &mut [f64; LANES],
        s: &mut [f64; LANES],
    ) {
        self.position_values(price, f);
        *s = [1.0; LANES];
    }

    /// Whether lane `l`'s price has left the position's range.
    #[inline(always)]
    fn out_of_range(&self, l: usize) -> bool {
        !(self.lower[l] <= self.sqrt_price[l] && self.sqrt_price[l] < self.upper[l])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale() -> Scale {
        Scale::new(1e18, 1e6)
    }

    /// A 0.3% WETH/USDC pool at 2,000 with full-range liquidity and a position of ±2,000
    /// ticks around the price.
    fn pool() -> Concentrated {
        let sc = scale();
        let tick = sc.tick_at(2000f64.sqrt());
        let full = TickRange { tick_lower: -887_220, tick_upper: 887_220 };
        let mine = TickRange::centred(tick, 4000, 60).unwrap();
        let mut p = Concentrated {
            sqrt_price: 2000f64.sqrt(),
            fee: 0.003,
            others: Band::new(full, 1e6, sc),
            position: Band::new(mine, 2e5, sc),
            floor: sc.sqrt_price(math::min_sqrt_price() + U256::from(1)),
            ceiling: sc.sqrt_price(math::max_sqrt_price() - U256::from(1)),
            ..Concentrated::default()
        };
        let a = p.others.amounts(p.sqrt_price, p.others.liquidity);
        let b = p.position.amounts(p.sqrt_price, p.position.liquidity);
        p.balance = [a[0] + b[0], a[1] + b[1]];
        p
    }

    #[test]
    fn ticks_round_trip_through_square_roots() {
        let sc = scale();
        // WETH at 2,000 USDC is tick -200312 in raw units (the engine's test).
        assert_eq!(sc.tick_at(2000f64.sqrt()), -200312);
        for tick in [-200312, -887_000, 0, 1, 123_457, 887_000] {
            assert_eq!(sc.tick_at(sc.sqrt_at_tick(tick)), tick);
            let mid = 0.5 * (sc.sqrt_at_tick(tick) + sc.sqrt_at_tick(tick + 1));
            assert_eq!(sc.tick_at(mid), tick);
        }
    }

    #[test]
    fn a_swap_within_one_band_is_constant_product_on_its_virtual_reserves() {
        let mut p = pool();
        let (l, s) = (p.others.liquidity + p.position.liquidity, p.sqrt_price);
        // Virtual reserves x = L/s, y = L·s; Uniswap v2 with the fee on input.
        let (x, y) = (l / s, l * s);
        let amount = 1.0;
        let expected = amount * 0.997 * y / (x + amount * 0.997);
        let got = p.sell(true, amount);
        assert!((got.got - expected).abs() < 1e-9 * expected, "{got:?} vs {expected}");
        assert_eq!(got.paid, amount);
        // The fee went to the liquidity in range, the position's share to it.
        let share = p.position.liquidity / l;
        assert!((p.owed[0] - 0.003 * share).abs() < 1e-15, "{:?}", p.owed);
    }

    #[test]
    fn buying_exactly_is_selling_what_it_cost_and_stops_where_the_pool_runs_out() {
        // Both ways, through the position's edge: buying `want` costs what selling would need
        // to give `want`, leaves the pool at the same price and owes the position the same fee.
        for (zero_for_one, want) in [(true, 40_000.0), (false, 20.0)] {
            let mut bought = pool();
            let b = bought.buy(zero_for_one, want).expect("the pool has it");
            assert_eq!(b.got, want);
            let mut sold = pool();
            let s = sold.sell(zero_for_one, b.paid);
            assert!((s.got - want).abs() < 1e-9 * want, "{zero_for_one}: {} vs {want}", s.got);
            assert!((sold.sqrt_price - bought.sqrt_price).abs() < 1e-12 * sold.sqrt_price);
            let i = usize::from(!zero_for_one);
            assert!((sold.owed[i] - bought.owed[i]).abs() <= 1e-9 * sold.owed[i]);
            assert!(bought.owed[i] > 0.0);
        }
        // More than the pool holds: refused, and nothing moved.
        let mut p = pool();
        let before = p;
        assert_eq!(p.buy(true, before.balance[1] * 2.0), None);
        assert_eq!(p, before);
    }

    #[test]
    fn a_swap_across_an_edge_matches_the_stretches_taken_one_by_one() {
        let mut p = pool();
        let before = p;
        // Sell enough asset to go through the position's lower edge.
        let big = 5000.0;
        let whole = p.sell(true, big);
        assert!(p.sqrt_price < before.position.lower, "{} {}", p.sqrt_price, before.position.lower);
        // The same in two swaps: to the edge, then the rest.
        let mut q = before;
        let first = q.swap(true, None, before.position.lower);
        let rest = q.sell(true, big - first.paid);
        assert!((first.got + rest.got - whole.got).abs() < 1e-9 * whole.got);
        assert!((q.sqrt_price - p.sqrt_price).abs() < 1e-12 * p.sqrt_price);
        // Tokens are conserved: what the pool holds moved by exactly the trade.
        assert!((p.balance[0] - before.balance[0] - big).abs() < 1e-9);
        assert!((before.balance[1] - p.balance[1] - whole.got).abs() < 1e-6);
    }

    #[test]
    fn the_lanes_give_each_pool_the_one_pool_bits() {
        // Sixteen pools sharing a background band of ±3,000 ticks around 2,000 (so that some
        // stretches have no liquidity at all), each with its own price, range, liquidity and
        // fees owed; closes that stay in the fee band, cross the position's edges, the
        // background's, or stop at the bounds; some lanes not live.
        let sc = scale();
        let tick = sc.tick_at(2000f64.sqrt());
        let background = Band::new(TickRange::centred(tick, 6000, 60).unwrap(), 1e6, sc);
        let start = |l: usize| {
            let centre = sc.tick_at((1600.0 + 60.0 * l as f64).sqrt());
            let width = [600, 2000, 4000, 20_000][l % 4];
            let mut p = pool();
            p.others = background;
            p.position = Band::new(TickRange::centred(centre, width, 60).unwrap(), 0.0, sc);
            p.position.liquidity = [0.0, 3e4, 2e5, 1e6][(l / 4) % 4];
            p.sqrt_price = (1500.0 + 70.0 * l as f64).sqrt();
            let a = p.others.amounts(p.sqrt_price, p.others.liquidity);
            let b = p.position.amounts(p.sqrt_price, p.position.liquidity);
            p.balance = [a[0] + b[0], a[1] + b[1]];
            p.owed = [0.01 * l as f64, 3.0 * l as f64];
            p
        };
        let pools: Vec<Concentrated> = (0..LANES).map(start).collect();
        let price: [f64; LANES] = std::array::from_fn(|l| {
            let at = pools[l].sqrt_price * pools[l].sqrt_price;
            at * [1.0005, 0.7, 1.4, 0.3, 3.5, 1.0, 0.95, 1.1][l % 8]
        });
        let live: [bool; LANES] = std::array::from_fn(|l| l % 7 != 3);
        let a: [f64; LANES] = std::array::from_fn(|l| 0.5 * (l % 3) as f64);
        let b = 0.01;
        let mut lanes = RangeLanes::of(&pools[0]);
        for (l, p) in pools.iter().enumerate() {
            lanes.put(l, p);
        }
        for sell_token0 in [true, false] {
            let mut value = [0.0; LANES];
            PoolLanes::exit_values(&lanes, &[0.0; LANES], &price, sell_token0, &mut value);
            for (l, p) in pools.iter().enumerate() {
                let one = p.exit_value(price[l], sell_token0);
                assert_eq!(value[l].to_bits(), one.to_bits(), "exit, lane {l}");
            }
        }
        let mut value = [0.0; LANES];
        lanes.position_values(&price, &mut value);
        for (l, p) in pools.iter().enumerate() {
            assert_eq!(value[l].to_bits(), p.position_value(price[l]).to_bits(), "lane {l}");
        }
        PoolLanes::close(&mut lanes, &live, &price, &a, b);
        let mut crossed = 0;
        for (l, p) in pools.iter().enumerate() {
            let mut one = Pool::Concentrated(*p);
            if live[l] {
                // The kernel's one-pool close (`bar_close_pool`).
                one.arbitrage(price[l]);
                let tvl = one.value(price[l]);
                let volume = a[l] * tvl + b * tvl;
                if volume > 0.0 {
                    one.round_trip(volume / 2.0);
                }
            }
            let Pool::Concentrated(one) = one else { unreachable!() };
            assert_eq!(lanes.pool(l), one, "close, lane {l}");
            assert_eq!(PoolLanes::out_of_range(&lanes, l), Pool::Concentrated(one).out_of_range());
            let edges = [p.position.lower, p.position.upper, background.lower, background.upper];
            let (lo, hi) = (p.sqrt_price.min(one.sqrt_price), p.sqrt_price.max(one.sqrt_price));
            crossed += edges.iter().filter(|&&e| lo < e && e < hi).count();
        }
        assert!(crossed >= 8, "the closes crossed {crossed} edges");
    }

    #[test]
    fn arbitrage_stops_at_the_fee_band_around_the_oracle() {
        let mut p = pool();
        p.arbitrage(2100.0);
        let keep = (1.0f64 - 0.003).sqrt();
        assert!((p.sqrt_price - 2100f64.sqrt() * keep).abs() < 1e-12);
        let before = p;
        p.arbitrage(2100.0 * 0.999);
        assert_eq!(p, before, "within the fee band nothing trades");
        p.arbitrage(1500.0);
        assert!((p.sqrt_price - 1500f64.sqrt() / keep).abs() < 1e-12);
    }

    #[test]
    fn the_zap_mints_more_than_any_nearby_split_and_leaves_little() {
        let p = pool();
        for have in [[0.0, 50_000.0], [30.0, 0.0], [3.0, 40_000.0]] {
            let mut z = p;
            let (minted, left) = z.zap(have);
            assert!(minted > 0.0);
            let value = have[0] * 2000.0 + have[1];
            assert!(left[0] * 2000.0 + left[1] < 1e-6 * value, "{have:?}: {left:?}");
            // No other amount of the input sold mints more: not the best of plain bisection on
            // the amount (to adjacent floats), nor any of a grid.
            let mint = |zero_for_one: bool, x: f64| {
                let i = usize::from(!zero_for_one);
                let mut q = p;
                let swap = q.sell(zero_for_one, x);
                let mut h = have;
                h[i] -= swap.paid;
                h[1 - i] += swap.got;
                q.position.liquidity_for(q.sqrt_price, h)
            };
            let zero_for_one = have[0] * 2000.0 > have[1];
            let (mut lo, mut hi) = (0.0, have[usize::from(!zero_for_one)]);
            while 0.5 * (lo + hi) > lo && 0.5 * (lo + hi) < hi {
                let mid = 0.5 * (lo + hi);
                let (left, right) =
                    (mint(zero_for_one, mid * (1.0 - 1e-15)), mint(zero_for_one, mid));
                if right >= left {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let best = mint(zero_for_one, lo).max(mint(zero_for_one, hi));
            assert!(best <= minted * (1.0 + 1e-12), "{have:?}: {best} > {minted}");
            for zero_for_one in [true, false] {
                let i = usize::from(!zero_for_one);
                for k in 0..=100 {
                    let mut q = p;
                    let swap = q.sell(zero_for_one, have[i] * f64::from(k) / 100.0);
                    let mut h = have;
                    h[i] -= swap.paid;
                    h[1 - i] += swap.got;
                    let other = q.position.liquidity_for(q.sqrt_price, h);
                    assert!(other <= minted * (1.0 + 1e-12), "{have:?}: {other} > {minted}");
                }
            }
        }
    }

    #[test]
    fn unwinding_returns_principal_and_fees_and_the_exit_sells_the_asset() {
        let mut p = pool();
        p.sell(true, 10.0);
        p.sell(false, 20_000.0);
        let owed = p.owed;
        assert!(owed[0] > 0.0 && owed[1] > 0.0);
        let exit = p.exit_value(p.sqrt_price * p.sqrt_price, true);
        let principal = p.position.amounts(p.sqrt_price, p.position.liquidity);
        let price = p.sqrt_price * p.sqrt_price;
        let fair = (principal[0] + owed[0]) * price + principal[1] + owed[1];
        // Selling into the pool costs the fee and the impact: a little below the fair value.
        assert!(exit < fair && exit > 0.97 * fair, "{exit} vs {fair}");
        let got = p.unwind(p.position.liquidity);
        assert!((got[0] - principal[0] - owed[0]).abs() < 1e-12 * got[0]);
        assert_eq!(p.owed, [0.0; 2]);
        assert_eq!(p.position.liquidity, 0.0);
    }
}
