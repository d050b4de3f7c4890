//! A book under shocks: the same seed opens the same book; liquidations at risk and bad debt
//! never fall as the shock grows; with positions valued at the oracle no liquidation can cause
//! another, while valued after price impact in a shallow pool they cascade.

use levfarm_core::math::WAD;
use levfarm_core::price::Price;
use levfarm_sim::stress::{Book, BookSpec, Liquidator, OracleRule, ShockOutcome, Trials, Walk};
use levfarm_sim::Scenario;

/// The bundled market at 2,000, its pool `tvl` deep, positions valued `valuation`.
fn market(tvl: f64, valuation: &str) -> Scenario {
    let text = format!(
        "[market.pool]\ntvl = {tvl}\n[market.leverage]\nvaluation = \"{valuation}\"\n\
         [market.utilization]\nmodel = \"constant\"\nvalue = 0.3\n"
    );
    Scenario::from_toml("stress.toml", &text).expect("a valid scenario")
}

fn trials(shocks: &[f64]) -> Trials<'_> {
    Trials { shocks, windows: &[], series: None, walk: Walk::default() }
}

/// From 2,000 down (or up) to `share` of it, log-linear, over `minutes` one-minute steps.
fn fall(share: f64, minutes: u32) -> Vec<f64> {
    (1..=minutes).map(|m| 2_000.0 * share.powf(f64::from(m) / f64::from(minutes))).collect()
}

/// The book along `path` in one-minute steps, the watch choosing what each step checks.
fn minutes(book: &Book, path: &[f64], walk: &Walk) -> ShockOutcome {
    book.follow(path, 60, walk, levfarm_sim::stress::Scan::Watched).unwrap()
}

fn price() -> Price {
    Price(WAD * levfarm_core::math::U256::from(2_000u64))
}

/// A book opened at one price: every position within its work factor at the start.
fn spec(positions: usize) -> BookSpec {
    BookSpec { positions, entry_spread: 0.0, ..BookSpec::default() }
}

#[test]
fn the_same_seed_opens_the_same_book_within_the_work_factor() {
    let s = market(100_000_000.0, "exit");
    let a = Book::open(&s, price(), &spec(60)).unwrap();
    let b = Book::open(&s, price(), &spec(60)).unwrap();
    assert_eq!(a.entries, b.entries);
    assert_eq!(a.entries.len() + a.refused, 60);
    assert!(a.entries.len() > 40, "most of 1.5x to 3.2x opens: {}", a.entries.len());
    assert!(a.entries.iter().any(|e| e.short) && a.entries.iter().any(|e| !e.short));
    for e in &a.entries {
        let h = a.world.market.position_health(e.id).unwrap();
        assert!(h.debt_ratio_bps <= 7_000, "position {} opened at {}", e.id, h.debt_ratio_bps);
    }
    let other = Book::open(&s, price(), &BookSpec { seed: 2, ..spec(60) }).unwrap();
    assert_ne!(a.entries, other.entries);
}

#[test]
fn liquidations_at_risk_and_bad_debt_never_fall_as_the_shock_grows() {
    let book = Book::open(&market(20_000_000.0, "exit"), price(), &spec(120)).unwrap();
    let mut last = None;
    for shock in [-0.05, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6] {
        let o = book.shock(shock).unwrap();
        assert!(o.liquidated >= o.at_risk || o.at_risk == 0, "{o:?}");
        if let Some((risk, bad, liquidated)) = last {
            assert!(o.at_risk >= risk, "{shock}: {} < {risk}", o.at_risk);
            assert!(o.bad_debt >= bad, "{shock}: {} < {bad}", o.bad_debt);
            assert!(o.liquidated >= liquidated, "{shock}: {} < {liquidated}", o.liquidated);
        }
        last = Some((o.at_risk, o.bad_debt, o.liquidated));
    }
    // A 5% move liquidates nothing opened under the work factor; 60% leaves bad debt.
    assert_eq!(book.shock(-0.05).unwrap().liquidated, 0);
    assert!(book.shock(-0.6).unwrap().bad_debt > 0.0);
}

#[test]
fn at_the_oracle_no_liquidation_causes_another_after_impact_they_cascade() {
    // Valued at the oracle, a kill's selling moves no other position's value: every
    // liquidation is the move's own (round 0).
    let oracle = Book::open(&market(3_000_000.0, "oracle"), price(), &spec(120)).unwrap();
    let o = oracle.shock(-0.35).unwrap();
    assert!(o.liquidated > 0);
    assert_eq!(o.rounds, vec![o.liquidated], "{o:?}");
    assert_eq!(o.liquidated, o.at_risk);
    // Valued after price impact in the same shallow pool, the kills' selling pushes more
    // positions past the kill factor: later rounds.
    let exit = Book::open(&market(3_000_000.0, "exit"), price(), &spec(120)).unwrap();
    let x = exit.shock(-0.35).unwrap();
    assert!(x.rounds.len() > 1, "no cascade: {x:?}");
    assert!(x.liquidated > x.at_risk, "{x:?}");
    assert!(x.pool_price < x.price, "the kills sold the asset through the pool: {x:?}");
    // After impact too, in a pool too deep for any kill to move: no cascade.
    let deep = Book::open(&market(1e12, "exit"), price(), &spec(120)).unwrap();
    let d = deep.shock(-0.35).unwrap();
    assert!(d.liquidated > 0);
    assert_eq!(d.rounds, vec![d.liquidated], "{d:?}");
}

#[test]
fn a_sweep_runs_each_combination_and_the_budget_names_the_highest_open_limit_within_it() {
    use levfarm_sim::stress::{stress_sweep, within_budget};
    let s = market(20_000_000.0, "exit");
    let grid = vec![
        ("market.leverage.work_factor_bps".to_string(), vec!["6000".to_string(), "7000".into()]),
        ("market.leverage.kill_prize_bps".to_string(), vec!["100".to_string(), "500".into()]),
    ];
    let rows = stress_sweep(&s, &grid, price(), &spec(80), &trials(&[-0.2, -0.6])).unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].settings[0].1, "6000");
    assert_eq!(
        rows[3].settings,
        vec![
            ("market.leverage.work_factor_bps".to_string(), "7000".to_string()),
            ("market.leverage.kill_prize_bps".to_string(), "500".to_string()),
        ]
    );
    // The same book, the same kills: a larger prize leaves lenders more bad debt.
    for pair in [(0, 1), (2, 3)] {
        let (small, large) = (&rows[pair.0], &rows[pair.1]);
        assert_eq!(small.output.shocks[1].liquidated, large.output.shocks[1].liquidated);
        assert!(large.worst_bad_debt > small.worst_bad_debt, "{pair:?}");
    }
    // Everything within a budget of all the debt: the highest open limit, the least bad debt.
    let best = within_budget(&rows, 1.0).unwrap();
    assert_eq!((best.work_factor_bps, &best.settings[1].1[..]), (7000, "100"));
    assert!(within_budget(&rows, 0.0).is_none() || rows.iter().any(|r| r.worst_bad_debt == 0.0));
}

#[test]
fn the_oracle_publishes_on_its_heartbeat_or_its_deviation() {
    // Chainlink's ETH/USD on mainnet: an hour's heartbeat, 0.5% deviation.
    let rule = OracleRule { heartbeat_secs: 3_600, deviation_bps: 50, delay_secs: 0 };
    assert!(!rule.publishes(2_000.0, 2_009.0, 60), "0.45% after a minute: no");
    assert!(rule.publishes(2_000.0, 2_010.0, 60), "0.5% exactly: yes");
    assert!(rule.publishes(2_000.0, 1_990.0, 60), "down 0.5%: yes");
    assert!(!rule.publishes(2_000.0, 2_000.0, 3_599));
    assert!(rule.publishes(2_000.0, 2_000.0, 3_600), "the heartbeat, unmoved");
    assert!(OracleRule::default().publishes(2_000.0, 2_000.0, 0), "no rule: every step");
    // A fall of 0.1% a minute, log-linear over 60 minutes to −5.8%: with 0.5% deviation the
    // oracle publishes every sixth minute (five minutes compound to 0.999⁵ = 0.995010, a
    // 0.499% move, short of it; the sixth's 0.599% reaches it): 10 prices in the hour.
    let book = Book::open(&market(100_000_000.0, "oracle"), price(), &spec(5)).unwrap();
    let shock = 0.999f64.powi(60) - 1.0;
    let walk = Walk {
        minutes: 60,
        oracle: OracleRule { heartbeat_secs: 3_600, deviation_bps: 50, delay_secs: 0 },
        ..Walk::default()
    };
    let o = book.walk(shock, &walk).unwrap();
    assert_eq!(o.oracle_updates, 10, "{o:?}");
    let every = book.walk(shock, &Walk { oracle: OracleRule::default(), ..walk }).unwrap();
    assert_eq!(every.oracle_updates, 60);
}

#[test]
fn a_walk_at_once_is_the_shock_and_a_gradual_fall_kills_along_the_way() {
    let book = Book::open(&market(20_000_000.0, "exit"), price(), &spec(120)).unwrap();
    assert_eq!(book.walk(-0.4, &Walk::default()).unwrap(), book.shock(-0.4).unwrap());
    let walk = Walk { minutes: 120, recovery: 0.5, ..Walk::default() };
    let o = book.walk(-0.4, &walk).unwrap();
    let (first, last) = o.kill_minutes.expect("a 40% fall kills");
    assert!(first < 120 && first < last, "{o:?}");
    assert_eq!(o.oracle_updates, 240);
    // Killed along the way, at higher prices than the bottom: less bad debt than at once.
    let at_once = book.shock(-0.4).unwrap();
    assert!(o.bad_debt <= at_once.bad_debt, "{} > {}", o.bad_debt, at_once.bad_debt);
    // An oracle that publishes only hourly leaves oracle-valued positions alive longer.
    let oracle_book = Book::open(&market(20_000_000.0, "oracle"), price(), &spec(120)).unwrap();
    let lagging = Walk {
        oracle: OracleRule { heartbeat_secs: 3_600, deviation_bps: 0, delay_secs: 0 },
        ..walk.clone()
    };
    let fresh = oracle_book.walk(-0.4, &walk).unwrap();
    let late = oracle_book.walk(-0.4, &lagging).unwrap();
    assert!(late.kill_minutes.unwrap().0 > fresh.kill_minutes.unwrap().0, "{late:?} {fresh:?}");
}

#[test]
fn a_constant_product_pools_loss_to_arbitrage_is_sigma_squared_over_eight() {
    // Milionis, Moallemi, Roughgarden and Zhang (2022): arbitrage against a constant-product
    // pool costs its liquidity σ²/8 of its value a year (loss-versus-rebalancing), fees aside.
    // Measured here with the engine's arbitrage step: hourly GBM moves at σ = 0.8 with a 1 bp
    // fee, each step's loss the last holdings at the new price less the pool's value after
    // the arbitrageur traded, over its value; 240 paths of a month.
    use levfarm_sim::book::value;
    use levfarm_sim::world::{price_from_f64, World};
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let s = Scenario::from_toml("lvr.toml", "[market.pool]\nfee_bps = 1\n").unwrap();
    let (sigma, dt) = (0.8f64, 1.0 / 8760.0);
    let steps = 24 * 30;
    let mut total = 0.0;
    for path in 0..240u64 {
        let mut w = World::build(&s, price(), 86_400 * 31).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(path);
        let mut p = 2_000.0f64;
        for _ in 0..steps {
            let z: f64 = StandardNormal.sample(&mut rng);
            p *= (-0.5 * sigma * sigma * dt + sigma * dt.sqrt() * z).exp();
            let before = w.market.amm_pool(&w.pool).unwrap().amm.clone();
            w.move_to(3_600, price_from_f64(p).unwrap(), None).unwrap();
            let q = [w.market.quote(&w.asset).unwrap(), w.market.quote(&w.stable).unwrap()];
            let after = &w.market.amm_pool(&w.pool).unwrap().amm;
            let worth = |r0, r1| (value(r0, q[0]).unwrap() + value(r1, q[1]).unwrap()) as f64;
            let held = worth(before.reserve0, before.reserve1);
            total += (held - worth(after.reserve0, after.reserve1)) / held;
        }
    }
    let per_year = total / 240.0 / (steps as f64 * dt);
    let expected = sigma * sigma / 8.0;
    assert!(
        (per_year / expected - 1.0).abs() < 0.05,
        "{per_year} a year against σ²/8 = {expected}"
    );
}

#[test]
fn liquidators_leave_undone_the_kills_that_do_not_pay_their_gas() {
    let book = Book::open(&market(20_000_000.0, "exit"), price(), &spec(120)).unwrap();
    let free = book.shock(-0.5).unwrap();
    assert!(free.liquidated > 0 && free.unprofitable == 0 && free.gas == 0.0);
    // Gas above any prize: nothing is killed, every position at risk is left, no bad debt is
    // realised.
    let dear =
        Walk { liquidator: Liquidator { gas: 1e6, ..Liquidator::default() }, ..Walk::default() };
    let none = book.walk(-0.5, &dear).unwrap();
    assert_eq!(none.liquidated, 0);
    assert_eq!(none.unprofitable, none.at_risk);
    assert_eq!(none.bad_debt, 0.0);
    // A modest gas leaves the small positions: fewer kills, each paid its prize less gas.
    let some = Walk {
        liquidator: Liquidator { gas: 20.0, min_profit: 5.0, ..Liquidator::default() },
        ..Walk::default()
    };
    let o = book.walk(-0.5, &some).unwrap();
    assert!(o.unprofitable > 0 && o.liquidated < free.liquidated, "{o:?}");
    assert!((o.gas - 20.0 * o.liquidated as f64).abs() < 1e-9);
    assert!(o.liquidators_paid >= 5.0 * o.liquidated as f64, "{o:?}");
}

/// The watch (positions indexed by liquidation price, checked only when the price comes near)
/// finds every kill the full scan finds, step for step: through falls and recoveries, an oracle
/// that lags the pool, cascades after impact, and both sides of the book.
#[test]
fn the_watched_book_liquidates_exactly_what_a_full_scan_does() {
    use levfarm_sim::stress::Scan;
    for (valuation, tvl) in [("oracle", 30_000_000.0), ("exit", 8_000_000.0)] {
        let book = Book::open(&market(tvl, valuation), price(), &spec(150)).unwrap();
        let p0 = 2_000.0;
        // Down 45% over 3 hours with a dip and a bounce, then up 80% (the shorts' side).
        let mut path: Vec<f64> = (1..=180)
            .map(|m| {
                p0 * (0.55f64).powf(f64::from(m) / 180.0)
                    * (1.0 + 0.01 * (f64::from(m) / 7.0).sin())
            })
            .collect();
        let low = *path.last().unwrap();
        path.extend((1..=240).map(|m| low * (3.3f64).powf(f64::from(m) / 240.0)));
        for oracle in [
            OracleRule::default(),
            OracleRule { heartbeat_secs: 3_600, deviation_bps: 100, delay_secs: 0 },
        ] {
            let walk = Walk { oracle, ..Walk::default() };
            let watched = book.follow(&path, 60, &walk, Scan::Watched).unwrap();
            let all = book.follow(&path, 60, &walk, Scan::All).unwrap();
            assert_eq!(watched, all, "{valuation}, {oracle:?}");
            assert!(all.liquidated > 20, "{valuation}: {all:?}");
        }
    }
}

/// Positions entered at prices drawn around the book's: a long entered at `E` and `L` times
/// levered, valued at the oracle in a deep pool, owes `(L − 1)/L · √(E/P)` of its value at the
/// book's price `P` (its LP worth `√(P/E)` of what it was, its debt fixed); a short the same
/// with `√(P/E)`. Those past the kill factor at `P` are not in the book.
#[test]
fn positions_entered_at_other_prices_carry_the_closed_form_debt_ratio() {
    let s = market(2_000_000_000.0, "oracle");
    let spec = BookSpec { entry_spread: 0.5, ..spec(120) };
    let book = Book::open(&s, price(), &spec).unwrap();
    assert_eq!(book.entries.len() + book.refused + book.killed_before, 120);
    assert!(book.killed_before > 0, "a 0.5 spread puts some positions past the kill");
    let p = 2_000.0;
    let (mut above, mut below) = (0, 0);
    for e in &book.entries {
        let h = book.world.market.position_health(e.id).unwrap();
        let ratio = h.debt_ratio_bps as f64 / 1e4;
        assert!(ratio <= 0.8333, "{e:?} at {ratio} is past the kill factor");
        let moved = if e.short { (p / e.entry).sqrt() } else { (e.entry / p).sqrt() };
        let expected = (e.leverage - 1.0) / e.leverage * moved;
        assert!((ratio - expected).abs() < 0.004 + 0.01 * expected, "{e:?}: {ratio} vs {expected}");
        if e.entry > p {
            above += 1
        } else {
            below += 1
        }
    }
    assert!(above > 10 && below > 10, "{above} above, {below} below");
}

/// A bar's minutes, worked by hand: from the last close 100 a bar that closed at 95 went to
/// its high 110 first, then its low 90. Log distances 0.0953, 0.2007 and 0.0541 (0.3501 in
/// all) give its 60 minutes' legs ends at round(60 · 0.0953/0.3501) = 16 and
/// round(60 · 0.2960/0.3501) = 51: the high at minute 16, the low at 51, the close at 60.
#[test]
fn a_bars_minutes_pass_through_its_high_and_low_in_the_order_it_moved() {
    use levfarm_sim::stress::bar_steps;
    let m = bar_steps(100.0, 90.0, 110.0, 95.0, 60);
    assert_eq!(m.len(), 60);
    assert!((m[15] - 110.0).abs() < 1e-9 && (m[50] - 90.0).abs() < 1e-9, "{m:?}");
    assert_eq!(m[59], 95.0);
    assert!(m[..15].windows(2).all(|w| w[1] > w[0]) && m[15..50].windows(2).all(|w| w[1] < w[0]));
    assert!(m.iter().all(|&p| (90.0 - 1e-9..=110.0 + 1e-9).contains(&p)));
    // A rising bar goes to its low first; a flat one stays.
    let up = bar_steps(100.0, 98.0, 120.0, 119.0, 60);
    let low_at = up.iter().position(|&p| (p - 98.0).abs() < 1e-9).unwrap();
    let high_at = up.iter().position(|&p| (p - 120.0).abs() < 1e-9).unwrap();
    assert!(low_at < high_at, "{low_at} {high_at}");
    assert_eq!(bar_steps(100.0, 100.0, 100.0, 100.0, 60), vec![100.0; 60]);
}

/// No bad debt when the liquidators act every step and what a kill keeps back (prize and
/// treasury, 5%) covers the worst one-step move: in a deep pool, a position at most at its
/// 83.33% kill factor before a step owes at most 0.8333/√(1 − 0.0076) = 83.65% of its value
/// after a 0.76% fall, far under 95%. The same book at a 93% kill factor, brought near it by
/// small steps, then a fall of 20% in one
/// owes up to 0.93/√0.8 = 104% when first killed: bad debt, from the jump's kills.
#[test]
fn no_bad_debt_when_the_kills_margin_covers_the_worst_step() {
    let s = market(2_000_000_000.0, "oracle");
    let book = Book::open(&s, price(), &BookSpec { leverage: (2.5, 3.3), ..spec(150) }).unwrap();
    let steps: Vec<f64> = fall(0.4, 120);
    let worst = steps.windows(2).map(|w| 1.0 - w[1] / w[0]).fold(0.0, f64::max);
    assert!(worst < 0.0077, "{worst}");
    let o = minutes(&book, &steps, &Walk::default());
    assert!(o.liquidated > 100, "{o:?}");
    assert_eq!(o.bad_debt, 0.0, "{o:?}");

    let text = "[market.pool]\ntvl = 2000000000.0\n[market.leverage]\nvaluation = \"oracle\"\n\
                work_factor_bps = 7000\nkill_factor_bps = 9300\n\
                [market.utilization]\nmodel = \"constant\"\nvalue = 0.3\n";
    let late = Scenario::from_toml("late.toml", text).unwrap();
    let book = Book::open(&late, price(), &BookSpec { leverage: (2.5, 3.3), ..spec(150) }).unwrap();
    // Down to 1,200 by small steps (the kills keep up), then one step of 20%.
    let mut path: Vec<f64> = fall(0.6, 60);
    path.push(960.0);
    let o = minutes(&book, &path, &Walk::default());
    assert!(o.liquidated > 0 && o.bad_debt > 0.0, "{o:?}");
    assert_eq!(o.kill_minutes.map(|k| k.1), Some(61), "the jump's kills leave the bad debt");
}

/// The oracle's timing and its faults, on a venue that values at the oracle: a feed ten minutes
/// late kills ten minutes later (±1: the pool follows the market on time); a bad print of half
/// the price in a still market kills at that minute and no other, while a venue that values
/// after impact reads the pool and kills nothing.
#[test]
fn a_late_oracle_kills_late_and_a_bad_print_kills_only_at_the_oracle() {
    let book = Book::open(&market(50_000_000.0, "oracle"), price(), &spec(120)).unwrap();
    let down = fall(0.5, 240);
    let on_time = minutes(&book, &down, &Walk::default());
    let late_rule = OracleRule { delay_secs: 600, ..OracleRule::default() };
    let late = Walk { oracle: late_rule, ..Walk::default() };
    let late = minutes(&book, &down, &late);
    let (a, b) = (on_time.kill_minutes.unwrap().0, late.kill_minutes.unwrap().0);
    assert!((a + 9..=a + 11).contains(&b), "first kill {a} on time, {b} ten minutes late");

    let still = vec![2_000.0; 20];
    let print = Walk { bad_print: Some((5, 0.5)), ..Walk::default() };
    let o = minutes(&book, &still, &print);
    assert!(o.liquidated > 0, "{o:?}");
    assert_eq!(o.kill_minutes, Some((5, 5)), "{o:?}");
    assert_eq!(o.oracle_updates, 20);
    let quiet = minutes(&book, &still, &Walk::default());
    assert_eq!(quiet.liquidated, 0);
    let exit = Book::open(&market(50_000_000.0, "exit"), price(), &spec(120)).unwrap();
    let o = minutes(&exit, &still, &print);
    assert_eq!(o.liquidated, 0, "the exit valuation reads the pool, not the print: {o:?}");
}

/// LPs' flight: at 0.1 of the outside liquidity per 10% fall, a fall to −45% withdraws 45% of
/// it; the thinner pool takes the kills' selling with more impact, so at least as many
/// positions are liquidated as with the LPs staying.
#[test]
fn lps_flight_thins_the_pool_in_proportion_to_the_fall() {
    let book = Book::open(&market(8_000_000.0, "exit"), price(), &spec(150)).unwrap();
    let down = fall(0.55, 120);
    let stay = minutes(&book, &down, &Walk::default());
    let flee = Walk { lp_flight: 0.1, ..Walk::default() };
    let flee = minutes(&book, &down, &flee);
    assert_eq!(stay.lp_withdrawn, 0.0);
    assert!((flee.lp_withdrawn - 0.45).abs() < 1e-9, "{}", flee.lp_withdrawn);
    assert!(flee.liquidated >= stay.liquidated, "{} < {}", flee.liquidated, stay.liquidated);
    assert!(flee.liquidated > 0 && flee.bad_debt >= stay.bad_debt, "{flee:?} {stay:?}");
}

/// The same book and shock under the three styles: a close factor repays only part of each
/// debt (less debt liquidated than the kill, positions left open with the rest), and a soft
/// style, once a minute and a tenth at a time, less still, leaving positions past the kill
/// factor with their shortfall counted rather than realised.
#[test]
fn a_close_factor_and_a_soft_style_liquidate_less_of_each_debt_than_the_kill() {
    let run_at = |style: &str, valuation: &str| {
        let s = market(20_000_000.0, valuation)
            .with_value("market.leverage.liquidation", style)
            .unwrap()
            .with_value("market.leverage.kill_treasury_bps", "0")
            .unwrap();
        Book::open(&s, price(), &spec(150)).unwrap().shock(-0.4).unwrap()
    };
    let run = |style: &str| run_at(style, "exit");
    let kill = run("{ style = \"kill\" }");
    let aave = run("{ style = \"close_factor\" }");
    let soft = run("{ style = \"soft\" }");
    assert!(kill.at_risk > 5 && kill.at_risk == aave.at_risk && aave.at_risk == soft.at_risk);
    assert!(aave.liquidated_debt < kill.liquidated_debt, "{aave:?} {kill:?}");
    assert!(soft.liquidated_debt < aave.liquidated_debt, "{soft:?} {aave:?}");
    assert_eq!(kill.open_past_kill, 0);
    assert!(soft.open_past_kill > 0 && soft.shortfall >= 0.0, "{soft:?}");
    // At the oracle (no cascade) each position at risk is liquidated once in the minute.
    let once = run_at("{ style = \"soft\" }", "oracle");
    assert!(once.at_risk > 0 && once.liquidated == once.at_risk, "{once:?}");
    assert_eq!(once.rounds.len(), 1);
}

/// A book from CSV: each row a position, the entry price optional; every refusal names its
/// line and column.
#[test]
fn a_book_is_read_from_csv_with_located_refusals() {
    use levfarm_sim::stress::{parse_book_csv, BookRow};
    let rows = parse_book_csv(
        "book.csv",
        "equity,leverage,side,entry,pool,venue\n10000,3,long,2100,,\n5000, 2 ,SHORT,,main,main\n",
    )
    .unwrap();
    let row = |equity, leverage, short, entry, named: bool| BookRow {
        equity,
        leverage,
        short,
        entry,
        protected: false,
        pool: named.then(|| "main".to_string()),
        venue: named.then(|| "main".to_string()),
        width: None,
        age: None,
    };
    assert_eq!(
        rows,
        vec![row(10_000.0, 3.0, false, Some(2_100.0), false), row(5_000.0, 2.0, true, None, true)]
    );
    let mut elsewhere = rows.clone();
    elsewhere[1].pool = Some("nope".into());
    let odd = BookSpec { rows: Some(std::sync::Arc::new(elsewhere)), ..spec(1) };
    let e = Book::open(&market(100_000_000.0, "oracle"), price(), &odd).unwrap_err().to_string();
    assert!(e.contains("pool \"nope\": not one of the market's (main)"), "{e}");
    let spec = BookSpec { rows: Some(std::sync::Arc::new(rows)), ..spec(1) };
    let book = Book::open(&market(100_000_000.0, "oracle"), price(), &spec).unwrap();
    assert_eq!(book.entries.len(), 2);
    assert_eq!((book.entries[0].entry, book.entries[1].entry), (2_000.0, 2_100.0));
    for (text, says) in [
        ("equity,side\n1,long\n", "book.csv:1: the header needs equity, leverage and side"),
        ("equity,leverage,side\n100,2,up\n", "book.csv:2: side \"up\": long or short"),
        ("equity,leverage,side\n100,2,long\n100,30,long\n", "book.csv:3: leverage \"30\""),
        ("equity,leverage,side\n-5,2,long\n", "book.csv:2: equity \"-5\""),
        ("equity,leverage,side,entry\n100,2,long,x\n", "book.csv:2: entry \"x\""),
        ("equity,leverage,side\n", "book.csv:1: no positions"),
        ("equity,leverage,side,protected\n100,2,long,maybe\n", "book.csv:2: protected \"maybe\""),
        ("equity,leverage,side,range_width\n100,2,long,1\n", "book.csv:2: range_width \"1\""),
    ] {
        let e = parse_book_csv("book.csv", text).unwrap_err().to_string();
        assert!(e.contains(says), "{text:?}: {e}");
    }
}

/// `--leverage 1.5,max`: positions drawn up to 98% of what the open limit allows, so a higher
/// work factor opens a more levered book (80%: up to 4.9x; 70%: up to 3.27x).
#[test]
fn a_book_drawn_to_the_open_limit_follows_the_work_factor() {
    let at = |work: &str| {
        let s = market(100_000_000.0, "oracle")
            .with_value("market.leverage.work_factor_bps", work)
            .unwrap()
            .with_value("market.leverage.kill_factor_bps", "9000")
            .unwrap();
        let spec = BookSpec { leverage_to_limit: true, ..spec(200) };
        let book = Book::open(&s, price(), &spec).unwrap();
        book.entries.iter().map(|e| e.leverage).fold(0.0, f64::max)
    };
    let (seventy, eighty) = (at("7000"), at("8000"));
    assert!(seventy <= 0.98 / 0.3 && seventy > 3.0, "{seventy}");
    assert!(eighty <= 0.98 / 0.2 && eighty > 4.5, "{eighty}");
}

/// Liquidators as agents. One with 150,000 of capital a minute repays at most that in a
/// minute: a shock at once leaves the rest (`capital_limited`), which a rival with no limit
/// takes; one that acts five minutes late kills five minutes later; the liquidators'
/// liquidations and pay add up to the run's.
#[test]
fn liquidators_with_capital_and_delays_compete_for_the_kills() {
    let book = Book::open(&market(50_000_000.0, "oracle"), price(), &spec(150)).unwrap();
    let free = book.shock(-0.45).unwrap();
    assert!(free.liquidated > 10 && free.liquidated_debt > 300_000.0, "{free:?}");
    let poor = Liquidator { capital: 150_000.0, ..Liquidator::default() };
    let alone = book.walk(-0.45, &Walk { liquidator: poor, ..Walk::default() }).unwrap();
    assert!(alone.liquidated_debt <= 150_000.0, "{alone:?}");
    assert!(alone.capital_limited > 0 && alone.liquidated < free.liquidated, "{alone:?}");
    let both = Walk { liquidator: poor, rivals: vec![Liquidator::default()], ..Walk::default() };
    let both = book.walk(-0.45, &both).unwrap();
    assert_eq!(both.liquidated, free.liquidated);
    assert_eq!(both.capital_limited, 0);
    let [first, second] = both.liquidators[..] else { panic!("{both:?}") };
    assert!(first.liquidations > 0 && second.liquidations > 0, "{both:?}");
    assert_eq!(first.liquidations + second.liquidations, both.liquidated);
    assert!((first.paid + second.paid - both.liquidators_paid).abs() < 1e-6);

    let down = fall(0.5, 240);
    let now = minutes(&book, &down, &Walk::default());
    let late =
        Walk { liquidator: Liquidator { delay: 5, ..Liquidator::default() }, ..Walk::default() };
    let late = minutes(&book, &down, &late);
    let (a, b) = (now.kill_minutes.unwrap().0, late.kill_minutes.unwrap().0);
    assert_eq!(b, a + 5, "a keeper five minutes late");
    assert!(late.waiting > 0);
}

/// Users' protection in the book: positions that deleverage at a 75% debt ratio (the
/// scenario's `[protection.deleverage]`) are liquidated less than the same book without it,
/// and the book itself is the same either way; keepers that run the orders only hourly let
/// more of them reach the kill factor.
#[test]
fn protected_positions_deleverage_before_the_liquidators_and_late_keepers_lose_some() {
    let s = market(50_000_000.0, "oracle")
        .with_value("protection.deleverage", "{ trigger = 0.75, target = 0.6 }")
        .unwrap();
    // Down by half in 90 minutes, then still for three hours.
    let mut down = fall(0.5, 90);
    down.extend([1_000.0; 180]);
    let bare = Book::open(&s, price(), &spec(120)).unwrap();
    let guarded = Book::open(&s, price(), &BookSpec { protected: 1.0, ..spec(120) }).unwrap();
    let ids = |b: &Book| b.entries.iter().map(|e| (e.id, e.leverage.to_bits())).collect::<Vec<_>>();
    assert_eq!(ids(&bare), ids(&guarded), "the same book");
    assert!(guarded.entries.iter().all(|e| e.protected));
    let o_bare = minutes(&bare, &down, &Walk::default());
    let o_guarded = minutes(&guarded, &down, &Walk::default());
    assert_eq!(o_bare.protection_acted, 0);
    assert!(o_guarded.protection_acted > 0, "{o_guarded:?}");
    assert!(o_bare.liquidated > 20, "{o_bare:?}");
    assert!(o_guarded.liquidated < o_bare.liquidated / 2, "{o_guarded:?} {o_bare:?}");
    let hourly = Walk { keeper_every: 60, ..Walk::default() };
    let o_late = minutes(&guarded, &down, &hourly);
    assert!(o_late.liquidated > o_guarded.liquidated, "{o_late:?} {o_guarded:?}");
}

/// Plain borrowers (Aave style) at the oracle in a pool too deep to move: a shock at once puts
/// past their threshold exactly those whose health factor `c·(1 + s)·LT/d` falls under 1 (LT
/// 83%, Aave v3's WETH), each is liquidated, and the bad debt is the closed form's: a borrower
/// under a 0.95 health factor loses all its collateral for `c·(1 + s)/1.05` of its debt (the 5%
/// bonus), the rest written off; one at 0.95 or above repays half and is healthy again. The
/// positions, at 1.6x at most, survive a halving.
#[test]
fn borrowers_are_liquidated_past_their_threshold_leaving_the_closed_form_bad_debt() {
    let s = market(1e12, "oracle");
    let spec = BookSpec { leverage: (1.5, 1.6), borrowers: 300, ..spec(20) };
    let book = Book::open(&s, price(), &spec).unwrap();
    assert_eq!(book.borrowers.len(), 300);
    let (lt, bonus) = (0.83, 1.05);
    let mut seen_bad = false;
    for shock in [-0.1, -0.2, -0.5] {
        let o = book.shock(shock).unwrap();
        let hf = |b: &levfarm_sim::stress::Borrower| b.collateral * (1.0 + shock) * lt / b.debt;
        let past = book.borrowers.iter().filter(|b| hf(b) < 1.0).count();
        assert!(past > 0, "{shock}");
        assert_eq!(o.borrowers_at_risk, past, "{shock}");
        assert!(o.borrowers_liquidated >= past, "{shock}: {o:?}");
        assert_eq!((o.liquidated, o.open_past_kill), (0, 0), "{shock}: {o:?}");
        let bad: f64 = book
            .borrowers
            .iter()
            .filter(|b| hf(b) < 0.95)
            .map(|b| (b.debt - b.collateral * (1.0 + shock) / bonus).max(0.0))
            .sum();
        assert!(
            (o.bad_debt - bad).abs() <= 1e-6 * bad.max(1.0),
            "{shock}: {} vs {bad}",
            o.bad_debt
        );
        seen_bad |= bad > 0.0;
    }
    assert!(seen_bad, "a halving leaves bad debt");
}

/// The borrowers' collateral, sold through the shallow pool the positions are valued in
/// (after impact), pushes more positions past their kill factor: the same book with borrowers
/// beside it loses more positions to the same shock.
#[test]
fn borrowers_collateral_sold_through_the_pool_cascades_into_the_positions() {
    let s = market(8_000_000.0, "exit");
    let plain = Book::open(&s, price(), &spec(150)).unwrap();
    let with = Book::open(&s, price(), &BookSpec { borrowers: 300, ..spec(150) }).unwrap();
    assert_eq!(plain.entries, with.entries);
    let (a, b) = (plain.shock(-0.3).unwrap(), with.shock(-0.3).unwrap());
    assert!(b.borrowers_liquidated > 0, "{b:?}");
    assert!(b.liquidated > a.liquidated, "{} vs {}", b.liquidated, a.liquidated);
    assert!(b.pool_price < a.pool_price);
}

/// A book spread over two pools of the pair (the constant-product main pool and a v3 pool) and
/// two venues (the main one, and one killing at 75%), its v3 positions in ranges drawn from
/// two widths: each position is the engine's on its pool and venue, in its range; and the
/// watch, now one index per pool, liquidates exactly what a full scan does, step for step.
#[test]
fn a_book_across_pools_venues_and_ranges_is_watched_pool_by_pool() {
    use levfarm_sim::stress::Scan;
    let text = "[market.pool]\ntvl = 8000000.0\n\
                [market.pools.v3]\nkind = \"v3\"\nfee_bps = 5\ntvl = 20000000.0\n\
                [market.venues.fast.leverage]\nkill_factor_bps = 7500\n\
                [market.venues.fast.lending.USDC]\n[market.venues.fast.lending.WETH]\n\
                [market.utilization]\nmodel = \"constant\"\nvalue = 0.3\n";
    let s = Scenario::from_toml("spread.toml", text).unwrap();
    let spec = BookSpec {
        pools: vec![("main".into(), 0.5), ("v3".into(), 0.5)],
        venues: vec![("main".into(), 0.5), ("fast".into(), 0.5)],
        widths: vec![1_200, 6_000],
        ..spec(160)
    };
    let book = Book::open(&s, price(), &spec).unwrap();
    assert_eq!(book.pools, ["main", "v3"]);
    assert_eq!(book.venues, ["main", "fast"]);
    let m = &book.world.market;
    let positions: std::collections::BTreeMap<u64, _> = m.positions().map(|p| (p.id, p)).collect();
    let mut seen = [[0; 2]; 2];
    for e in &book.entries {
        let p = positions[&e.id];
        let pool = if e.pool == 0 { "POOL" } else { "v3" };
        assert_eq!(p.pool.as_str(), pool, "{e:?}");
        assert_eq!(p.venue.as_str(), book.venues[e.venue].as_str(), "{e:?}");
        let kill = m.leverage_rules(e.id).unwrap().kill_factor_bps.0;
        assert_eq!(kill, if e.venue == 1 { 7_500 } else { 8_333 });
        match p.range {
            Some(r) => {
                assert!([1_200, 6_000].contains(&e.width), "{e:?}");
                // The width rounded to the pool's spacing (10 ticks at 5 bps).
                assert!((r.tick_upper - r.tick_lower - e.width).abs() < 20, "{r:?} for {e:?}");
            }
            None => assert_eq!((e.pool, e.width), (0, 0)),
        }
        seen[e.pool][e.venue] += 1;
    }
    assert!(seen.iter().flatten().all(|&n| n > 20), "{seen:?}");
    // Down 40% and back up past the start: both sides, both pools.
    let mut path = fall(0.6, 180);
    let low = *path.last().unwrap();
    path.extend((1..=180).map(|m| low * (2.4f64).powf(f64::from(m) / 180.0)));
    let walk = Walk::default();
    let watched = book.follow(&path, 60, &walk, Scan::Watched).unwrap();
    let all = book.follow(&path, 60, &walk, Scan::All).unwrap();
    assert_eq!(watched, all);
    assert!(all.liquidated > 40, "{all:?}");
}

/// The keepers look only at the protected positions whose orders may act (a deleverage's
/// trigger price near, a stop's price near, a compounding due), and do exactly what looking at
/// every order every step does: through a fall and a rise, valued after impact, every minute
/// and hourly.
#[test]
fn the_keepers_watch_does_what_looking_at_every_order_does() {
    use levfarm_sim::stress::Scan;
    let s = market(20_000_000.0, "exit")
        .with_value("protection.deleverage", "{ trigger = 0.75, target = 0.6 }")
        .unwrap()
        .with_value("protection.stop_loss_price", "1300.0")
        .unwrap()
        .with_value("protection.compound_hours", "2")
        .unwrap();
    let book = Book::open(&s, price(), &BookSpec { protected: 0.7, ..spec(150) }).unwrap();
    let mut path = fall(0.6, 240);
    let low = *path.last().unwrap();
    path.extend((1..=240).map(|m| low * (2.4f64).powf(f64::from(m) / 240.0)));
    for every in [1, 60] {
        let walk = Walk { keeper_every: every, ..Walk::default() };
        let watched = book.follow(&path, 60, &walk, Scan::Watched).unwrap();
        let all = book.follow(&path, 60, &walk, Scan::All).unwrap();
        assert_eq!(watched, all, "keepers every {every} minutes");
        assert!(all.protection_acted > 150 && all.liquidated > 5, "{all:?}");
    }
}

/// Positions that entered over the 30 days before the book's start: each at the history's
/// close of the last bar before it entered, and owing what it borrowed (`E·(L − 1)`) grown by
/// the borrow index since, so the older a position the more it owes for what it borrowed.
#[test]
fn positions_enter_over_days_at_the_historys_prices_and_owe_their_interest() {
    use levfarm_sim::stress::History;
    // Hourly closes for 60 days, rising 0.01% an hour from 1,800.
    let mut text = String::from("unix_s,close\n");
    let close = |h: i64| 1_800.0 * 1.0001f64.powi(h as i32);
    for h in 0..1_440i64 {
        text.push_str(&format!("{},{}\n", 1_600_000_000 + h * 3_600, close(h)));
    }
    let series =
        levfarm_sim::data::parse_prices_csv("rising.csv", &text, &Default::default()).unwrap();
    let at = 1_600_000_000 + 1_440 * 3_600;
    let last = close(1_439);
    let s = market(1e11, "oracle");
    let spec = BookSpec { entry_days: 30.0, ..spec(80) };
    let start = levfarm_sim::world::price_from_f64(last).unwrap();
    let book = Book::open_at(&s, start, &spec, Some(History { series: &series, at })).unwrap();
    assert!(book.entries.len() > 60);
    let m = &book.world.market;
    let mut owed: Vec<(f64, f64)> = Vec::new();
    for e in &book.entries {
        assert!((0.0..=30.0).contains(&e.age), "{e:?}");
        // The last bar closed by its entry: the bar starting an hour or more before it.
        let t = at - (e.age * 86_400.0).round() as i64;
        let h = (t - 3_600 - 1_600_000_000).div_euclid(3_600);
        assert!((e.entry / close(h) - 1.0).abs() < 1e-9, "{e:?}: {} vs {}", e.entry, close(h));
        let debt = levfarm_sim::world::wad_to_f64(m.position_health(e.id).unwrap().debt_value);
        // The engine's sizing: debt worth E·(L − 1), L in whole bps.
        let borrowed = e.equity * ((e.leverage * 1e4).round() / 1e4 - 1.0);
        if !e.short {
            owed.push((e.age, debt / borrowed));
        }
    }
    owed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in owed.windows(2) {
        assert!(w[1].1 >= w[0].1 - 1e-7, "older, more grown: {w:?}");
    }
    let (young, old) = (owed[0], owed[owed.len() - 1]);
    assert!((young.1 - 1.0).abs() < 1e-4, "{young:?}");
    assert!(old.1 > 1.00001 && old.1 < 1.01, "{old:?}");
    // Without the history the book cannot say what those positions paid.
    let e = Book::open(&s, start, &spec).unwrap_err().to_string();
    assert!(e.contains("need the price history"), "{e}");
}
