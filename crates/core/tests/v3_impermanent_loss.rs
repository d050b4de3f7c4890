//! Impermanent loss of Uniswap v3 positions, worked through the engine's own v3 code and
//! checked against two reference tables under `vectors/papers`:
//!
//! - `il_uniswap_v3_range_DERIVED.csv`: the loss of a range `[p0/k, p0·k]` and of the full
//!   range (v2) when the price moves to `p0·r`, and the capital efficiency of each range against
//!   v2;
//! - `il_constant_product_table.csv`: the constant-product loss `2·√r/(1+r) − 1` (Pintail's table,
//!   Aigner & Dhaliwal).
//!
//! The loss is `V_lp / V_hold − 1`: what the position is worth at the new price against what the
//! tokens deposited at `p0` would be worth there. Prices are built exactly from the tables'
//! decimals as `⌊√(num·2^192/den)⌋`, amounts come from v3-periphery's `LiquidityAmounts` or from a
//! real [`V3Pool`] (mint, swap to the price, burn, collect), values are exact integers, and only
//! the final ratio becomes an `f64`. Each table value must match to half a unit in its last
//! printed decimal, the rounding of the table itself.

mod common;

use std::collections::BTreeMap;

use alloy_primitives::I256;
use levfarm_core::amm::v3::math::{
    amounts_for_liquidity, liquidity_for_amounts, max_sqrt_price, min_sqrt_price,
    sqrt_price_at_tick, tick_at_sqrt_price, MAX_TICK, MIN_TICK,
};
use levfarm_core::amm::v3::{V3Pool, V3PositionKey};
use levfarm_core::math::{sqrt, Q96, U256};
use levfarm_core::Holder;

type Row = BTreeMap<String, String>;

const RANGE_TABLE: &str = "papers/il_uniswap_v3_range_DERIVED.csv";
const CONSTANT_PRODUCT_TABLE: &str = "papers/il_constant_product_table.csv";
const FULL_RANGE: &str = "full range (v2)";

/// Liquidity of the positions worked out: large, so that rounding amounts to whole units costs
/// about 1e-24 of their value, far below any table's last decimal.
const LIQUIDITY: u128 = 1_000_000_000_000_000_000_000_000;

/// A non-negative decimal from a table, such as `1.001`, as the exact fraction `num / den`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ratio {
    num: U256,
    den: U256,
}

impl Ratio {
    fn parse(text: &str) -> Self {
        let text = text.trim();
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        assert!(
            !int.is_empty() && (int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit()),
            "not a non-negative decimal: {text:?}"
        );
        let num = format!("{int}{frac}").parse().expect("digits");
        Ratio { num, den: U256::from(10u8).pow(U256::from(frac.len())) }
    }

    fn times(self, other: Ratio) -> Ratio {
        Ratio { num: self.num * other.num, den: self.den * other.den }
    }

    fn recip(self) -> Ratio {
        Ratio { num: self.den, den: self.num }
    }

    fn is_below(self, other: Ratio) -> bool {
        self.num * other.den < other.num * self.den
    }

    /// `⌊√(num/den)·2^96⌋`, the exact floor: `⌊√⌊x⌋⌋ = ⌊√x⌋` for any real `x ≥ 0`.
    fn sqrt_price_x96(self) -> U256 {
        sqrt((self.num << 192) / self.den)
    }
}

/// Half a unit in the last decimal `text` prints: how far the exact value may be from it.
/// The slack of 1e-12 covers this file's own error (1e-24 from whole-unit amounts, 1e-16 from
/// the one conversion to `f64`) and a table computed in double precision.
fn tolerance(text: &str) -> f64 {
    let decimals = text.trim().split_once('.').map_or(0, |(_, frac)| frac.len());
    0.5 * 10f64.powi(-i32::try_from(decimals).expect("decimals")) + 1e-12
}

fn decimal(row: &Row, column: &str) -> f64 {
    row[column].trim().parse().unwrap_or_else(|e| panic!("{column} is not a number: {e}: {row:?}"))
}

/// Token1 per token0 `price` times `amounts[0]`, plus `amounts[1]`: the value in token1,
/// scaled by `price.den` so it stays an exact integer.
fn value(amounts: [U256; 2], price: Ratio) -> U256 {
    amounts[0]
        .checked_mul(price.num)
        .and_then(|v0| amounts[1].checked_mul(price.den)?.checked_add(v0))
        .unwrap_or_else(|| panic!("value of {amounts:?} at {price:?} overflows"))
}

/// `V_lp / V_hold − 1` at `price`, exact until the final division.
fn impermanent_loss(held: [U256; 2], lp: [U256; 2], price: Ratio) -> f64 {
    let (held, lp) = (value(held, price), value(lp, price));
    let ratio = |a: U256| f64::from(&a) / f64::from(&held);
    if lp >= held {
        ratio(lp - held)
    } else {
        -ratio(held - lp)
    }
}

/// Checks a computed value against the table's text in `column`.
fn assert_table_value(got: f64, row: &Row, column: &str) {
    let expected = decimal(row, column);
    let deviation = (got - expected).abs();
    let tol = tolerance(&row[column]);
    assert!(deviation <= tol, "{column}: got {got:.12}, table {expected} (±{tol:e}): {row:?}");
}

fn range_rows() -> Vec<Row> {
    let rows = common::csv_rows(RANGE_TABLE);
    assert_eq!(rows.len(), 88, "7 ranges and the full range, 11 price ratios each");
    rows
}

/// The `range_factor_k` of a range row, checked against its `range` label.
fn range_factor(row: &Row) -> Ratio {
    let k = row["range_factor_k"].trim();
    assert_eq!(row["range"], format!("[p0/{k}, p0*{k}]"), "{row:?}");
    Ratio::parse(k)
}

fn key(owner: &str, tick_lower: i32, tick_upper: i32) -> V3PositionKey {
    V3PositionKey { owner: Holder::Account(owner.into()), tick_lower, tick_upper }
}

/// `MIN_TICK..MAX_TICK` rounded inward to the tick spacing.
fn full_range_ticks(tick_spacing: i32) -> (i32, i32) {
    (MIN_TICK / tick_spacing * tick_spacing, MAX_TICK / tick_spacing * tick_spacing)
}

/// Swaps a practically unlimited exact input with `target` as the price limit, so the price
/// ends exactly there.
fn swap_to(pool: &mut V3Pool, target: U256) {
    let unlimited = I256::try_from(U256::from(1u8) << 128).expect("fits");
    let zero_for_one = target < pool.sqrt_price;
    pool.swap(zero_for_one, unlimited, target).unwrap_or_else(|e| panic!("swap to {target}: {e}"));
    assert_eq!(pool.sqrt_price, target, "the swap stops at its limit");
}

/// Full-range liquidity on `[MIN_TICK, MAX_TICK]` for `amounts` deposited at `sqrt_price`.
fn full_range_liquidity(sqrt_price: U256, amounts: [U256; 2]) -> u128 {
    liquidity_for_amounts(sqrt_price, min_sqrt_price(), max_sqrt_price(), amounts[0], amounts[1])
        .expect("full-range liquidity")
}

/// (a) Every range row at two starting prices: the amounts behind the same liquidity at `p0`
/// and at `p0·r` (`getAmountsForLiquidity`), valued at `p0·r`.
#[test]
fn range_loss_matches_every_range_row() {
    // The loss does not depend on p0; 2000 also moves every price off the exact 2^96 grid.
    let starting_prices = [Ratio::parse("1"), Ratio::parse("2000")];
    let mut covered = 0;
    for row in range_rows().iter().filter(|row| row["range"] != FULL_RANGE) {
        let k = range_factor(row);
        let r = Ratio::parse(&row["price_ratio"]);
        for p0 in starting_prices {
            let (lower, upper) = (p0.times(k.recip()), p0.times(k));
            let (a, b) = (lower.sqrt_price_x96(), upper.sqrt_price_x96());
            let amounts = |price: Ratio| {
                amounts_for_liquidity(price.sqrt_price_x96(), a, b, LIQUIDITY)
                    .unwrap_or_else(|e| panic!("{row:?}: {e}"))
            };
            let (held, lp) = (amounts(p0), amounts(p0.times(r)));
            // Outside its range, ends included, the position is all one token: token0 at or
            // below it, token1 at or above it.
            let expected_side = if !k.recip().is_below(r) {
                [true, false]
            } else if !r.is_below(k) {
                [false, true]
            } else {
                [true, true]
            };
            assert_eq!(lp.map(|x| !x.is_zero()), expected_side, "{row:?}: {lp:?}");
            let got = impermanent_loss(held, lp, p0.times(r));
            assert_table_value(got, row, "IL");
        }
        covered += 1;
    }
    assert_eq!(covered, 77, "7 ranges × 11 price ratios");
}

/// (b) `capital_efficiency_vs_v2` of every row: the liquidity one deposit buys in the range
/// against what it buys over the full range, both from `getLiquidityForAmounts` at `p0 = 1`,
/// where `[1/k, k]` takes equal amounts of both tokens. Exactly `1/(1 − 1/√k)`.
#[test]
fn capital_efficiency_matches_every_row() {
    let deposit = [U256::from(10u8).pow(U256::from(18)); 2];
    let full = full_range_liquidity(Q96, deposit);
    // The full range ends at ticks ±887272, prices 2^∓128, not at 0 and ∞: its liquidity is
    // v2's √(x·y) to about 2^-64.
    let v2 = sqrt(deposit[0] * deposit[1]);
    let v2 = u128::try_from(v2).expect("v2 liquidity");
    assert!(full.abs_diff(v2) <= 1, "full range {full}, v2 {v2}");
    for row in &range_rows() {
        let liquidity = if row["range"] == FULL_RANGE {
            assert_eq!(row["range_factor_k"], "", "{row:?}");
            full
        } else {
            let k = range_factor(row);
            let (a, b) = (k.recip().sqrt_price_x96(), k.sqrt_price_x96());
            liquidity_for_amounts(Q96, a, b, deposit[0], deposit[1])
                .unwrap_or_else(|e| panic!("{row:?}: {e}"))
        };
        let got = liquidity as f64 / full as f64;
        assert_table_value(got, row, "capital_efficiency_vs_v2");
    }
}

/// Mints a full-range position at `p0 = 1` in a fee-free pool, swaps the price to `r` and burns
/// it all: the loss of the tokens collected against those paid in.
///
/// Fee 0 is a valid pool here (the factory enables only its tiers, the pool takes any fee below
/// 100%), so swaps leave no fees to blur the principal. Tick spacing 60 puts the ends at
/// ±887220, prices 2^∓127.99: against v2's 0 and ∞ that moves the loss by about 1e-19.
fn full_range_loss_through_pool(r: Ratio) -> f64 {
    let mut pool = V3Pool::new(0, 60, Q96).expect("pool");
    let (lower, upper) = full_range_ticks(pool.tick_spacing);
    let lp = key("lp", lower, upper);
    let paid = pool.mint(&lp, LIQUIDITY).expect("mint");
    swap_to(&mut pool, r.sqrt_price_x96());
    let principal = pool.burn(&lp, LIQUIDITY).expect("burn");
    let owed = pool.position(&lp).map(|p| [p.tokens_owed0, p.tokens_owed1].map(U256::from));
    assert_eq!(owed, Some(principal), "no fees: the burn owes the principal only");
    let collected = pool.collect(&lp, u128::MAX, u128::MAX).expect("collect").map(U256::from);
    assert_eq!(collected, principal);
    assert!(pool.position(&lp).is_none(), "collected in full");
    impermanent_loss(paid, collected, r)
}

/// (c) The full-range rows of the range table through a pool.
#[test]
fn full_range_loss_through_pool_matches_range_table() {
    let rows = range_rows();
    let mut covered = 0;
    for row in rows.iter().filter(|row| row["range"] == FULL_RANGE) {
        let got = full_range_loss_through_pool(Ratio::parse(&row["price_ratio"]));
        assert_table_value(got, row, "IL");
        covered += 1;
    }
    assert_eq!(covered, 11);
}

/// (c) Every row of the constant-product table through a pool, with its rounded percentages.
#[test]
fn full_range_loss_through_pool_matches_constant_product_table() {
    let rows = common::csv_rows(CONSTANT_PRODUCT_TABLE);
    assert_eq!(rows.len(), 13);
    for row in &rows {
        let got = full_range_loss_through_pool(Ratio::parse(&row["price_ratio"]));
        assert_table_value(got, row, "IL_exact");

        // The loss in percent to one decimal, as Pintail's table prints it.
        let percent = row["IL_pct_1dp"].strip_suffix('%').expect("a percentage");
        let expected: f64 = percent.parse().expect("a percentage");
        assert!((-100.0 * got - expected).abs() <= tolerance(percent), "{got}: {row:?}");
        match row["published_loss"].as_str() {
            "" => assert_eq!(row["matches_published"], "", "{row:?}"),
            published => {
                assert_eq!(published, row["IL_pct_1dp"], "{row:?}");
                assert_eq!(row["matches_published"], "True", "{row:?}");
            }
        }
    }
}

/// (d) A range position `[-6932, 6932)` (prices 0.49998 to 2.00004) beside a full-range one in a
/// 0.01% pool, the price moved by swaps inside, outside and onto both ends of the range, from
/// either side. At every stop, burning the range position pays exactly `getAmountsForLiquidity`
/// at the pool's price (both round down), all in one token outside the range, and the fees
/// earned go to the tokens owed on top of that principal.
#[test]
fn pool_range_principal_is_liquidity_amounts_at_every_price() {
    const RANGE_LIQUIDITY: u128 = LIQUIDITY / 3;
    let mut pool = V3Pool::new(100, 1, Q96).expect("pool");
    let (full_lower, full_upper) = full_range_ticks(pool.tick_spacing);
    let passive = key("passive", full_lower, full_upper);
    let range = key("range", -6932, 6932);
    pool.mint(&passive, LIQUIDITY).expect("mint full range");
    pool.mint(&range, RANGE_LIQUIDITY).expect("mint range");
    let sqrt_price = |tick| sqrt_price_at_tick(tick).expect("tick");
    let (a, b) = (sqrt_price(range.tick_lower), sqrt_price(range.tick_upper));
    let (full_a, full_b) = (sqrt_price(full_lower), sqrt_price(full_upper));
    let ratio = |text| Ratio::parse(text).sqrt_price_x96();

    // Up, past the top, back onto the top from above; down, past the bottom, onto the bottom
    // from below, the top from below, back in, the bottom from above, and home.
    let stops = [
        ratio("1.25"),
        ratio("4"),
        b,
        ratio("0.8"),
        ratio("0.25"),
        a,
        b,
        ratio("2"),
        ratio("0.5"),
        a,
        ratio("1"),
    ];
    let (mut below, mut inside, mut above) = (0, 0, 0);
    for target in stops {
        let moving_up = target > pool.sqrt_price;
        swap_to(&mut pool, target);
        // The tick is the one at the price, less one where a downward swap stops exactly on a
        // tick: then the range is in play at its lower end reached from below and at its upper
        // end reached from above.
        let tick = tick_at_sqrt_price(target).expect("tick");
        let on_tick_from_above = !moving_up && sqrt_price(tick) == target;
        assert_eq!(pool.tick, if on_tick_from_above { tick - 1 } else { tick }, "at {target}");
        let in_range = (range.tick_lower..range.tick_upper).contains(&pool.tick);
        let expected_liquidity = LIQUIDITY + if in_range { RANGE_LIQUIDITY } else { 0 };
        assert_eq!(pool.liquidity, expected_liquidity, "at {target}, tick {}", pool.tick);

        let mut burned = pool.clone();
        let fees = pool.owed_with_pending_fees(&range).expect("fees");
        let principal = burned.burn(&range, RANGE_LIQUIDITY).expect("burn range");
        let expected = amounts_for_liquidity(target, a, b, RANGE_LIQUIDITY).expect("amounts");
        assert_eq!(principal, expected, "at {target}");
        let owed = burned.position(&range).map(|p| [p.tokens_owed0, p.tokens_owed1]);
        let with_fees = [0, 1].map(|i| U256::from(fees[i]) + principal[i]);
        assert_eq!(owed.map(|o| o.map(U256::from)), Some(with_fees), "at {target}");

        match (target <= a, target >= b) {
            (true, _) => {
                assert!(principal[1].is_zero() && !principal[0].is_zero(), "{principal:?}");
                below += 1;
            }
            (_, true) => {
                assert!(principal[0].is_zero() && !principal[1].is_zero(), "{principal:?}");
                above += 1;
            }
            _ => {
                assert!(!principal[0].is_zero() && !principal[1].is_zero(), "{principal:?}");
                inside += 1;
            }
        }

        let principal = burned.burn(&passive, LIQUIDITY).expect("burn full range");
        let expected = amounts_for_liquidity(target, full_a, full_b, LIQUIDITY).expect("amounts");
        assert_eq!(principal, expected, "full range at {target}");
    }
    assert_eq!((below, inside, above), (3, 5, 3));
    let fees = pool.owed_with_pending_fees(&range).expect("fees");
    assert!(fees[0] > 0 && fees[1] > 0, "the range earned fees both ways: {fees:?}");
}
