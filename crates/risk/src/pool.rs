//! The position's pool in f64, one interface for either kind: a constant-product pool
//! ([`Product`], here) or a concentrated one ([`Concentrated`], in [`crate::v3`]). The kernel
//! speaks only this interface; each kind's arithmetic lives with it.

// The lanes' loops read and write several arrays at the same lane, which is clearest indexed.
#![allow(clippy::needless_range_loop)]

use crate::lanes::LANES;
use crate::v3::Concentrated;

/// A constant-product pool: its reserves, its LP supply and the fee it keeps, `n/d` of the input.
#[derive(Debug, Clone, Copy, Default)]
pub struct Product {
    pub x: f64,
    pub y: f64,
    pub s: f64,
    pub fee: (f64, f64),
}

impl Product {
    /// `lp` at the fair LP price `2·√(x·y·p)/s`.
    #[inline(always)]
    pub(crate) fn fair_value(&self, lp: f64, price: f64) -> f64 {
        2.0 * (self.x * self.y * price).sqrt() * lp / self.s
    }

    /// What removing `lp` and selling the token not owed would leave, in the debt token's
    /// value: token1 when `debt_is_token1`, else token0 valued at `price`.
    #[inline(always)]
    pub(crate) fn exit_value(&self, lp: f64, price: f64, debt_is_token1: bool) -> f64 {
        let share = lp / self.s;
        let (a0, a1) = (self.x * share, self.y * share);
        if debt_is_token1 {
            a1 + out_given_in(a0, self.x - a0, self.y - a1, self.fee)
        } else {
            (a0 + out_given_in(a1, self.y - a1, self.x - a0, self.fee)) * price
        }
    }

    /// Moves the pool to the edge of the fee's band around `price`, as the engine's
    /// arbitrageur does.
    #[inline(always)]
    fn arbitrage(&mut self, price: f64) {
        arbitrage(&mut self.x, &mut self.y, price, self.fee);
    }

    /// Sells `amount` of token0 (`zero_for_one`) or of token1; what came out.
    #[inline(always)]
    pub(crate) fn sell(&mut self, zero_for_one: bool, amount: f64) -> f64 {
        let (r_in, r_out) =
            if zero_for_one { (&mut self.x, &mut self.y) } else { (&mut self.y, &mut self.x) };
        let out = out_given_in(amount, *r_in, *r_out, self.fee);
        *r_in += amount;
        *r_out -= out;
        out
    }

    /// Buys exactly `amount` of token1 with token0 (`zero_for_one`) or of token0 with token1,
    /// paying at most `max_in`: Uniswap v2's `getAmountIn` (without its added unit); what it
    /// paid, or `None` (nothing changes) when the pool cannot deliver it for that.
    fn buy(&mut self, zero_for_one: bool, amount: f64, max_in: f64) -> Option<f64> {
        let (r_in, r_out) =
            if zero_for_one { (&mut self.x, &mut self.y) } else { (&mut self.y, &mut self.x) };
        let (n, d) = self.fee;
        if amount >= *r_out {
            return None;
        }
        let paid = *r_in * amount * d / ((*r_out - amount) * n);
        if paid.is_nan() || paid > max_in {
            return None;
        }
        *r_in += paid;
        *r_out -= amount;
        Some(paid)
    }

    /// Removes `lp`: the tokens it was.
    #[inline(always)]
    pub(crate) fn unwind(&mut self, lp: f64) -> [f64; 2] {
        let share = lp / self.s;
        let (a0, a1) = (self.x * share, self.y * share);
        self.x -= a0;
        self.y -= a1;
        self.s -= lp;
        [a0, a1]
    }

    /// Deposits `amounts`: the balancing swap (Alpaca's one-sided formula, Homora's optimal
    /// deposit with both tokens), then the router's add at the pool's ratio. The liquidity
    /// minted and what was left.
    fn zap(&mut self, amounts: [f64; 2]) -> (f64, [f64; 2]) {
        let (swap, zero_for_one) = zap_swap(amounts, (self.x, self.y), self.fee);
        let mut h = amounts;
        if swap > 0.0 {
            let (i, o) = if zero_for_one { (0, 1) } else { (1, 0) };
            h[o] += self.sell(zero_for_one, swap);
            h[i] -= swap;
        }
        let [h0, h1] = h;
        // Router-style amounts: token0 desired, token1 at the pool's ratio.
        let (x, y, s) = (self.x, self.y, self.s);
        let b_opt = h0 * y / x;
        let (a0, a1) = if b_opt <= h1 { (h0, b_opt) } else { (h1 * x / y, h1) };
        let liquidity = (a0 * s / x).min(a1 * s / y);
        self.x += a0;
        self.y += a1;
        self.s += liquidity;
        (liquidity, [h0 - a0, h1 - a1])
    }
}

/// The position's pool, of either kind.
#[derive(Debug, Clone, Copy)]
pub enum Pool {
    Product(Product),
    Concentrated(Concentrated),
}

impl Default for Pool {
    fn default() -> Self {
        Pool::Product(Product::default())
    }
}

impl Pool {
    /// The position's liquidity `lp` at the oracle: the fair LP price, or a range's tokens at
    /// the oracle's square root price with the fees it is owed.
    #[inline(always)]
    pub fn fair_value(&self, lp: f64, price: f64) -> f64 {
        match self {
            Pool::Product(p) => p.fair_value(lp, price),
            Pool::Concentrated(c) => c.position_value(price),
        }
    }

    /// At least [`Self::fair_value`], as a fraction `(f, s)` (no division): a constant-product
    /// pool's `(x·p + y)·lp/s` (the mean of `x·p` and `y` bounds their geometric mean, with no
    /// square root), a range's fair value over 1.
    #[inline(always)]
    pub fn fair_value_bound(&self, lp: f64, price: f64) -> (f64, f64) {
        match self {
            Pool::Product(p) => ((p.x * price + p.y) * lp * (1.0 + 1e-12), p.s),
            Pool::Concentrated(c) => (c.position_value(price), 1.0),
        }
    }

    /// What closing the position's liquidity `lp` now would realise in the debt token's value
    /// (token1 when `debt_is_token1`): the exit valuation.
    #[inline(always)]
    pub fn exit_value(&self, lp: f64, price: f64, debt_is_token1: bool) -> f64 {
        match self {
            Pool::Product(p) => p.exit_value(lp, price, debt_is_token1),
            Pool::Concentrated(c) => c.exit_value(price, debt_is_token1),
        }
    }

    /// The arbitrageur's trade to the edge of the fee's band around `price`.
    #[inline(always)]
    pub fn arbitrage(&mut self, price: f64) {
        match self {
            Pool::Product(p) => p.arbitrage(price),
            Pool::Concentrated(c) => c.arbitrage(price),
        }
    }

    /// The pool's tokens (a range pool's in range) valued at `price`.
    #[inline(always)]
    pub fn value(&self, price: f64) -> f64 {
        match self {
            Pool::Product(p) => p.x * price + p.y,
            Pool::Concentrated(c) => c.value(price),
        }
    }

    /// Sells `amount` of token0 (`zero_for_one`) or of token1; what came out.
    #[inline(always)]
    pub fn sell(&mut self, zero_for_one: bool, amount: f64) -> f64 {
        match self {
            Pool::Product(p) => p.sell(zero_for_one, amount),
            Pool::Concentrated(c) => c.sell(zero_for_one, amount).got,
        }
    }

    /// Buys exactly `amount` of token1 with token0 (`zero_for_one`) or of token0 with token1,
    /// paying at most `max_in`: what it paid, or `None` (nothing changes) when the pool cannot
    /// deliver it for that (the engine's exit then sells the whole surplus instead).
    #[inline]
    pub fn buy(&mut self, zero_for_one: bool, amount: f64, max_in: f64) -> Option<f64> {
        match self {
            Pool::Product(p) => p.buy(zero_for_one, amount, max_in),
            Pool::Concentrated(c) => {
                let mut trial = *c;
                let swap = trial.buy(zero_for_one, amount)?;
                (swap.paid <= max_in).then(|| {
                    *c = trial;
                    swap.paid
                })
            }
        }
    }

    /// Traders buy token0 with `amount` of token1 and sell what they got back: the fee on
    /// both legs, the price back where it was within the fee.
    #[inline(always)]
    pub fn round_trip(&mut self, amount: f64) {
        match self {
            Pool::Product(p) => (p.x, p.y) = round_trip_select(p.x, p.y, amount, p.fee),
            Pool::Concentrated(c) => {
                let out = c.sell(false, amount).got;
                if out > 0.0 {
                    c.sell(true, out);
                }
            }
        }
    }

    /// Removes the position's liquidity `lp`: the tokens it was (a range's with every fee it
    /// is owed).
    #[inline(always)]
    pub fn unwind(&mut self, lp: f64) -> [f64; 2] {
        match self {
            Pool::Product(p) => p.unwind(lp),
            Pool::Concentrated(c) => c.unwind(lp),
        }
    }

    /// Deposits `amounts` into the position's liquidity through the optimal split: the
    /// liquidity added and what was left.
    pub fn zap(&mut self, amounts: [f64; 2]) -> (f64, [f64; 2]) {
        match self {
            Pool::Product(p) => p.zap(amounts),
            Pool::Concentrated(c) => c.zap(amounts),
        }
    }

    /// Takes the fees the position is owed (a range's; a constant-product pool's fees are in
    /// its reserves).
    pub fn collect(&mut self) -> [f64; 2] {
        match self {
            Pool::Product(_) => [0.0; 2],
            Pool::Concentrated(c) => c.collect(),
        }
    }

    /// Whether the position is owed fees to collect.
    pub fn owes_fees(&self) -> bool {
        match self {
            Pool::Product(_) => false,
            Pool::Concentrated(c) => c.owed[0] > 0.0 || c.owed[1] > 0.0,
        }
    }

    /// Whether the pool's price has left the position's range (never, for a constant-product
    /// pool).
    #[inline(always)]
    pub fn out_of_range(&self) -> bool {
        match self {
            Pool::Product(_) => false,
            Pool::Concentrated(c) => {
                !(c.position.lower <= c.sqrt_price && c.sqrt_price < c.position.upper)
            }
        }
    }

    /// A loss event takes `lp` of the position's liquidity: the tokens are gone.
    pub fn lose(&mut self, lp: f64) {
        match self {
            Pool::Product(p) => {
                p.unwind(lp);
            }
            Pool::Concentrated(c) => c.lose(lp),
        }
    }

    /// The constant-product pool, for the lanes' own arithmetic.
    pub fn product_mut(&mut self) -> Option<&mut Product> {
        match self {
            Pool::Product(p) => Some(p),
            Pool::Concentrated(_) => None,
        }
    }

    /// The concentrated pool, for what only a range has (re-centring).
    pub fn range(&self) -> Option<&Concentrated> {
        match self {
            Pool::Product(_) => None,
            Pool::Concentrated(c) => Some(c),
        }
    }

    /// [`Self::range`], to change.
    pub fn range_mut(&mut self) -> Option<&mut Concentrated> {
        match self {
            Pool::Product(_) => None,
            Pool::Concentrated(c) => Some(c),
        }
    }
}

/// The position's pools of [`LANES`] paths, field by field, of the kind every path's is: the
/// arrays the kernel's step runs over ([`Pool`]'s operations, lane by lane, with the same
/// bits). Each kind is its own type ([`ProductLanes`] here, [`crate::v3::RangeLanes`]), so that
/// a step is compiled for one kind at a time.
pub trait PoolLanes: Clone + std::fmt::Debug {
    /// Lanes whose pools are all `pool`, or `None` where it is of the other kind.
    fn like(pool: &Pool) -> Option<Self>;

    /// Lane `l` becomes `pool`, of the lanes' kind.
    fn set(&mut self, l: usize, pool: &Pool);

    /// Lane `l`'s pool.
    fn get(&self, l: usize) -> Pool;

    /// The bar's close in the lanes `live`: the arbitrageur to `price`, then traders' volume
    /// `a·v + b·v` on the pool's value `v` as a round trip.
    fn close(&mut self, live: &[bool; LANES], price: &[f64; LANES], a: &[f64; LANES], b: f64);

    /// [`Pool::exit_value`] of `lp` in every lane.
    fn exit_values(
        &self,
        lp: &[f64; LANES],
        price: &[f64; LANES],
        debt_is_token1: bool,
        value: &mut [f64; LANES],
    );

    /// [`Pool::fair_value`] of `lp` in every lane.
    fn fair_values(&self, lp: &[f64; LANES], price: &[f64; LANES], value: &mut [f64; LANES]);

    /// [`Pool::fair_value_bound`] of `lp` in every lane, as `(f, s)`.
    fn fair_value_bounds(
        &self,
        lp: &[f64; LANES],
        price: &[f64; LANES],
        f: &mut [f64; LANES],
        s: &mut [f64; LANES],
    );

    /// Whether lane `l`'s price has left the position's range (never, for a constant-product
    /// pool).
    fn out_of_range(&self, l: usize) -> bool;
}

/// Constant-product pools, lane by lane, all with one fee.
#[derive(Debug, Clone)]
pub struct ProductLanes {
    pub x: [f64; LANES],
    pub y: [f64; LANES],
    pub s: [f64; LANES],
    pub fee: (f64, f64),
}

impl PoolLanes for ProductLanes {
    fn like(pool: &Pool) -> Option<ProductLanes> {
        let Pool::Product(p) = pool else { return None };
        Some(ProductLanes { x: [p.x; LANES], y: [p.y; LANES], s: [p.s; LANES], fee: p.fee })
    }

    #[inline(always)]
    fn set(&mut self, l: usize, pool: &Pool) {
        let Pool::Product(p) = pool else { unreachable!("every path's pool is of one kind") };
        debug_assert_eq!(self.fee, p.fee, "the paths' pools share their fee");
        (self.x[l], self.y[l], self.s[l]) = (p.x, p.y, p.s);
    }

    #[inline(always)]
    fn get(&self, l: usize) -> Pool {
        Pool::Product(Product { x: self.x[l], y: self.y[l], s: self.s[l], fee: self.fee })
    }

    #[inline(always)]
    fn close(&mut self, live: &[bool; LANES], price: &[f64; LANES], a: &[f64; LANES], b: f64) {
        let (mut x, mut y) = (self.x, self.y);
        close_lanes(&mut x, &mut y, price, a, b, self.fee);
        for l in 0..LANES {
            self.x[l] = if live[l] { x[l] } else { self.x[l] };
            self.y[l] = if live[l] { y[l] } else { self.y[l] };
        }
    }

    #[inline(always)]
    fn exit_values(
        &self,
        lp: &[f64; LANES],
        price: &[f64; LANES],
        debt_is_token1: bool,
        value: &mut [f64; LANES],
    ) {
        for l in 0..LANES {
            // `Product::exit_value`, its `out_given_in` with the empty sale selected.
            let (x, y) = (self.x[l], self.y[l]);
            let share = lp[l] / self.s[l];
            let (a0, a1) = (x * share, y * share);
            let (n, d) = self.fee;
            value[l] = if debt_is_token1 {
                let w = a0 * n;
                let out = w * (y - a1) / ((x - a0) * d + w);
                a1 + if a0 <= 0.0 { 0.0 } else { out }
            } else {
                let w = a1 * n;
                let out = w * (x - a0) / ((y - a1) * d + w);
                (a0 + if a1 <= 0.0 { 0.0 } else { out }) * price[l]
            };
        }
    }

    #[inline(always)]
    fn fair_values(&self, lp: &[f64; LANES], price: &[f64; LANES], value: &mut [f64; LANES]) {
        for l in 0..LANES {
            value[l] = 2.0 * (self.x[l] * self.y[l] * price[l]).sqrt() * lp[l] / self.s[l];
        }
    }

    #[inline(always)]
    fn fair_value_bounds(
        &self,
        lp: &[f64; LANES],
        price: &[f64; LANES],
        f: &mut [f64; LANES],
        s: &mut [f64; LANES],
    ) {
        for l in 0..LANES {
            f[l] = (self.x[l] * price[l] + self.y[l]) * lp[l] * (1.0 + 1e-12);
            s[l] = self.s[l];
        }
    }

    #[inline(always)]
    fn out_of_range(&self, _: usize) -> bool {
        false
    }
}

/// Moves reserves `x` of token0 and `y` of token1 to the edge of the fee's band around
/// `price`, as the engine's arbitrageur does (the position's pool, and the reward token's):
/// [`arbitrage_select`].
#[inline(always)]
pub fn arbitrage(x: &mut f64, y: &mut f64, price: f64, fee: (f64, f64)) {
    (*x, *y) = arbitrage_select(*x, *y, price, fee);
}

/// The arbitrageur's trade without a branch: when `y·n > x·d·p` the pool sells token1 for
/// `dx = (√(x·y·n·d/p) − x·d)/n` of token0, when `y·d < x·n·p` the mirror, each at Uniswap v2's
/// `getAmountOut` ([`out_given_in`]); both trades computed and the one that applies selected,
/// so that many paths' pools at once vectorise.
#[inline(always)]
pub fn arbitrage_select(x: f64, y: f64, price: f64, (n, d): (f64, f64)) -> (f64, f64) {
    // Selling token0 (the pool holds too little of it), or token1.
    let up = y * n > x * d * price;
    let down = y * d < x * n * price;
    let m = x * y * n * d;
    let arg = if up { m / price } else { m * price };
    let (r_in, r_out) = if up { (x, y) } else { (y, x) };
    let delta = (arg.sqrt() - r_in * d) / n;
    let with_fee = delta * n;
    let out = with_fee * r_out / (r_in * d + with_fee);
    let (new_in, new_out) = (r_in + delta, r_out - out);
    let moved = if up { (new_in, new_out) } else { (new_out, new_in) };
    if (up || down) && delta > 0.0 {
        moved
    } else {
        (x, y)
    }
}

/// The bar's close on constant-product pools, one path a lane: the arbitrageur to `price`
/// ([`arbitrage_select`]), then traders' volume `a·v + b·v` on the pool's value `v` as a round
/// trip ([`Pool::round_trip`]), without a branch: the bits of the one-pool code, vectorised.
#[inline(always)]
pub fn close_lanes(
    x: &mut [f64; LANES],
    y: &mut [f64; LANES],
    price: &[f64; LANES],
    a: &[f64; LANES],
    b: f64,
    (n, d): (f64, f64),
) {
    for l in 0..LANES {
        let (x1, y1) = arbitrage_select(x[l], y[l], price[l], (n, d));
        let tvl = x1 * price[l] + y1;
        let volume = a[l] * tvl + b * tvl;
        (x[l], y[l]) = round_trip_select(x1, y1, volume / 2.0, (n, d));
    }
}

/// Traders buy token0 with `half` of token1 and sell what they got back, at Uniswap v2's
/// `getAmountOut` both ways (nothing when `half` is not positive), without a branch.
#[inline(always)]
pub fn round_trip_select(x: f64, y: f64, half: f64, (n, d): (f64, f64)) -> (f64, f64) {
    let w1 = half * n;
    let out1 = if half > 0.0 { w1 * x / (y * d + w1) } else { 0.0 };
    let (x2, y2) = if half > 0.0 { (x - out1, y + half) } else { (x, y) };
    let w2 = out1 * n;
    let out2 = w2 * y2 / (x2 * d + w2);
    if out1 > 0.0 {
        (x2 + out1, y2 - out2)
    } else {
        (x2, y2)
    }
}

/// Uniswap v2's `getAmountOut` with the fee kept `n/d`.
#[inline(always)]
pub fn out_given_in(amount_in: f64, reserve_in: f64, reserve_out: f64, (n, d): (f64, f64)) -> f64 {
    if amount_in <= 0.0 {
        return 0.0;
    }
    let with_fee = amount_in * n;
    with_fee * reserve_out / (reserve_in * d + with_fee)
}

/// The swap that balances a deposit of `amounts` into reserves `(x, y)` with the fee kept
/// `n/d`, and whether it sells token0: the engine's `zap_swap` in f64.
fn zap_swap(amounts: [f64; 2], (x, y): (f64, f64), (n, d): (f64, f64)) -> (f64, bool) {
    let sum = d + n;
    let one_sided = |amount: f64, r: f64| {
        ((r * (amount * 4.0 * n * d + r * sum * sum)).sqrt() - r * sum) / (2.0 * n)
    };
    // `optimal_deposit_a`: sell some of A, of which there is more than the pool's ratio.
    let two_sided = |a: f64, b: f64, ra: f64, rb: f64| {
        let bb = sum * ra;
        let c = (a * rb - b * ra) * d / (b + rb) * ra;
        ((bb * bb + 4.0 * n * c).sqrt() - bb) / (2.0 * n)
    };
    let [a0, a1] = amounts;
    if a1 <= 0.0 {
        (one_sided(a0, x), true)
    } else if a0 <= 0.0 {
        (one_sided(a1, y), false)
    } else if a0 * y >= a1 * x {
        (two_sided(a0, a1, x, y), true)
    } else {
        (two_sided(a1, a0, y, x), false)
    }
}
