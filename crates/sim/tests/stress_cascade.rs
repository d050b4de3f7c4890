//! A two-position cascade through one pool, computed by hand to the unit.
//!
//! Two longs (debt in the stable token) share a shallow constant-product pool and are valued
//! after price impact. A fall puts A past its kill factor but not B. A's kill sells A's asset
//! through the pool, and that selling puts B past its kill factor: the second round of the
//! cascade. Everything after the shock's arbitrage is computed here from the pool's reserves
//! and supply, the positions' LP and debts, and the contracts' formulas alone:
//!
//! - `burn`: each token `⌊lp · reserve / supply⌋` (Uniswap v2);
//! - `getAmountOut`: `⌊in · kept · r_out / (r_in · scale + in · kept)⌋`;
//! - the exit valuation: the LP's tokens, the asset sold into the pool without them;
//! - the kill (Alpaca `kill`): sell all of the asset, prize and treasury
//!   `⌊back · bps / 10⁴⌋`, repay what is left up to the debt, the shortfall bad debt;
//! - past the kill factor when `value · kill < debt · 10⁴`, with the debt valued up.
//!
//! The stress run's two rounds, bad debt and liquidators' pay must equal these numbers.

use alloy_primitives::U256;
use levfarm_core::market::Event;
use levfarm_core::math::WAD;
use levfarm_core::price::Price;
use levfarm_core::types::{Amount, Holder};
use levfarm_core::Command;
use levfarm_sim::stress::{Book, BookEntry, Scan, Walk};
use levfarm_sim::world::World;
use levfarm_sim::Scenario;

fn u(x: u128) -> U256 {
    U256::from(x)
}

/// Uniswap v2's `getAmountOut`.
fn amount_out(amount_in: U256, r_in: U256, r_out: U256, kept: U256, scale: U256) -> U256 {
    amount_in * kept * r_out / (r_in * scale + amount_in * kept)
}

/// `⌈a · b / c⌉`.
fn mul_div_up(a: U256, b: U256, c: U256) -> U256 {
    (a * b).div_ceil(c)
}

#[derive(Debug, Clone, Copy)]
struct Pool {
    r0: U256,
    r1: U256,
    supply: U256,
    kept: U256,
    scale: U256,
}

impl Pool {
    fn burn(&mut self, lp: U256) -> [U256; 2] {
        let out = [lp * self.r0 / self.supply, lp * self.r1 / self.supply];
        self.r0 -= out[0];
        self.r1 -= out[1];
        self.supply -= lp;
        out
    }

    /// Sells `x` of the asset; returns the stable token out.
    fn sell0(&mut self, x: U256) -> U256 {
        let out = amount_out(x, self.r0, self.r1, self.kept, self.scale);
        self.r0 += x;
        self.r1 -= out;
        out
    }
}

/// A position as the hand computation sees it: its LP, the stable token it owes, and the pool
/// tokens it holds beside its LP (the opening's dust).
#[derive(Debug, Clone, Copy)]
struct Pos {
    lp: U256,
    debt: U256,
    dust: [U256; 2],
}

/// The stable token's value of an amount (the oracle at 1, `unit` its 10^decimals), down and up.
fn value(amount: U256, unit: U256) -> U256 {
    amount * WAD / unit
}

/// Past the kill factor on the exit valuation: the LP's tokens removed, the asset sold into the
/// pool without them, the whole valued at the oracle (the stable token at 1).
fn past_kill(pool: &Pool, p: &Pos, kill_bps: u64, unit1: U256) -> bool {
    let mut rest = *pool;
    let removed = rest.burn(p.lp);
    let got = removed[1] + rest.sell0(removed[0]);
    let v = value(got, unit1);
    let debt_value = mul_div_up(p.debt, WAD, unit1);
    v * U256::from(kill_bps) < debt_value * u(10_000)
}

/// A's kill on `pool`: returns (prize, treasury fee, repaid, bad debt, returned).
fn kill(pool: &mut Pool, p: &Pos, prize_bps: u64, fee_bps: u64) -> [U256; 5] {
    let removed = pool.burn(p.lp);
    let have0 = removed[0] + p.dust[0];
    let back =
        removed[1] + p.dust[1] + if have0.is_zero() { U256::ZERO } else { pool.sell0(have0) };
    let prize = back * U256::from(prize_bps) / u(10_000);
    let fee = back * U256::from(fee_bps) / u(10_000);
    let rest = back - prize - fee;
    let repaid = rest.min(p.debt);
    [prize, fee, repaid, p.debt - repaid, rest - repaid]
}

#[test]
fn a_two_position_cascade_through_one_pool_to_the_unit() {
    // A shallow pool valued after impact, no time passing (no interest), no protocol fee.
    let text = "[market.pool]\ntvl = 400000.0\n[market.leverage]\nvaluation = \"exit\"\n\
                work_factor_bps = 7500\nkill_factor_bps = 8333\nkill_prize_bps = 300\n\
                kill_treasury_bps = 200\n[market.utilization]\nmodel = \"constant\"\nvalue = 0.3\n";
    let scenario = Scenario::from_toml("cascade.toml", text).unwrap();
    let p0 = Price(WAD * U256::from(2_000u64));
    let mut world = World::build(&scenario, p0, 86_400).unwrap();
    let (asset, stable) = (world.asset.clone(), world.stable.clone());
    // A: 20,000 at 3.8x; B: 20,000 at 2.7x, both borrowing the stable token.
    let mut entries = Vec::new();
    for (i, (equity, leverage)) in [(20_000.0, 3.8), (20_000.0, 2.7)].into_iter().enumerate() {
        let owner = format!("owner-{i}");
        let raw = world.value_to_amount(&stable, equity).unwrap();
        let debt = world.value_to_amount(&stable, equity * (leverage - 1.0)).unwrap();
        world.mint(&owner, &stable, raw).unwrap();
        world
            .run(Command::OpenPosition {
                owner: owner.as_str().into(),
                pool: world.pool.clone(),
                equity0: Amount::default(),
                equity1: Amount(raw),
                borrow0: Amount::default(),
                borrow1: Amount(debt),
                min_lp: None,
                venue: world.venue.clone(),
            })
            .unwrap();
        let id = world
            .events()
            .iter()
            .find_map(|e| match e {
                Event::PositionOpened { position, .. } => Some(*position),
                _ => None,
            })
            .unwrap();
        entries.push(BookEntry {
            id,
            equity,
            leverage,
            short: false,
            entry: 2_000.0,
            protected: false,
            pool: 0,
            venue: 0,
            width: 0,
            age: 0.0,
        });
        world.move_to(0, p0, None).unwrap();
    }
    let book = Book {
        world,
        entries,
        borrowers: Vec::new(),
        pools: vec!["main".into()],
        venues: vec!["main".into()],
        refused: 0,
        killed_before: 0,
        price: p0,
    };

    // The shock: the oracle to 1,500 and the pool arbitraged to it, as the stress run does.
    let mut after = book.world.clone();
    after.move_to(0, Price(WAD * U256::from(1_500u64)), None).unwrap();
    let m = &after.market;
    let amm = &m.amm_pool(&after.pool).unwrap().amm;
    assert!(amm.protocol_fee.is_none());
    let mut pool = Pool {
        r0: amm.reserve0,
        r1: amm.reserve1,
        supply: amm.total_supply,
        kept: U256::from(amm.fee.numerator()),
        scale: U256::from(amm.fee.denominator()),
    };
    let unit1 = m.quote(&stable).unwrap().unit;
    let pos = |id: u64| {
        let h = m.position_health(id).unwrap();
        let lp = m.positions().find(|p| p.id == id).unwrap().lp;
        let holder = Holder::Position(id);
        assert!(h.debt[0].is_zero());
        Pos { lp, debt: h.debt[1], dust: [m.balance(&holder, &asset), m.balance(&holder, &stable)] }
    };
    let (a, b) = (pos(book.entries[0].id), pos(book.entries[1].id));
    let kill_bps = 8_333;

    // Round 0: A past its kill factor, B not.
    assert!(past_kill(&pool, &a, kill_bps, unit1), "A is past the kill factor after the fall");
    assert!(!past_kill(&pool, &b, kill_bps, unit1), "B is not, before A's kill");
    let [prize_a, fee_a, repaid_a, bad_a, _] = kill(&mut pool, &a, 300, 200);
    // Round 1: A's selling put B past it.
    assert!(past_kill(&pool, &b, kill_bps, unit1), "B is past the kill factor after A's kill");
    let [prize_b, fee_b, repaid_b, bad_b, _] = kill(&mut pool, &b, 300, 200);
    assert!(repaid_a + repaid_b > U256::ZERO && fee_a + fee_b > U256::ZERO);

    // The stress run of the same fall, at once.
    let o = book.follow(&[1_500.0], 0, &Walk::default(), Scan::All).unwrap();
    assert_eq!(o.rounds, vec![1, 1], "{o:?}");
    assert_eq!(o.at_risk, 1);
    let wad = |x: U256| f64::from(x) / 1e18;
    let bad = value(bad_a + bad_b, unit1);
    assert_eq!(o.bad_debt, wad(bad), "{o:?}");
    // The liquidator holds only the stable token it was paid, valued at 1.
    assert_eq!(o.liquidators_paid, wad(value(prize_a + prize_b, unit1)), "{o:?}");
    // The pool after both kills, to the unit.
    let mut w = book.world.clone();
    w.move_to(0, Price(WAD * U256::from(1_500u64)), None).unwrap();
    for id in [book.entries[0].id, book.entries[1].id] {
        w.run(Command::Liquidate { liquidator: "keeper".into(), position: id }).unwrap();
    }
    let amm = &w.market.amm_pool(&w.pool).unwrap().amm;
    assert_eq!((amm.reserve0, amm.reserve1, amm.total_supply), (pool.r0, pool.r1, pool.supply));
    // A was killed past its prize and fee: bad debt; B, killed nearer its kill factor, repaid.
    assert!(bad_a > U256::ZERO && bad_b.is_zero(), "{bad_a} {bad_b}");
}
