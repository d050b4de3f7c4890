//! The f64 book kernel against the exact engine: the same book walked along the same paths by
//! the one walk, on each market, liquidates the same positions in the same rounds and minutes
//! and leaves the same bad debt, liquidators' pay and utilization, to float precision: falls
//! with cascades after impact and rises for the shorts, lagging and deviating oracles, a bad
//! print, LPs' flight, liquidators with gas, capital and delays, and Monte Carlo paths.

use levfarm_risk::paths::Model;
use levfarm_risk::stress::{minute_path, BookKernel};
use levfarm_risk::RiskError;
use levfarm_risk_spec::PriceModelSpec;
use levfarm_sim::stress::{Book, BookSpec, Liquidator, OracleRule, Scan, ShockOutcome, Walk};
use levfarm_sim::world::{price_from_f64, YEAR};
use levfarm_sim::Scenario;

/// The bundled market, its pool `tvl` deep, positions valued `valuation`.
fn market(tvl: f64, valuation: &str) -> Scenario {
    let text = format!(
        "[market.pool]\ntvl = {tvl}\n[market.leverage]\nvaluation = \"{valuation}\"\n\
         [market.utilization]\nmodel = \"constant\"\nvalue = 0.3\n"
    );
    Scenario::from_toml("stress.toml", &text).expect("a valid scenario")
}

fn book(s: &Scenario, positions: usize) -> Book {
    let spec = BookSpec { positions, seed: 3, ..BookSpec::default() };
    Book::open(s, price_from_f64(2_000.0).unwrap(), &spec).unwrap()
}

/// Down 45% over three hours with a wobble, then up 80% past the start over four (the
/// shorts' side).
fn fall_and_rise() -> Vec<f64> {
    let mut path: Vec<f64> = (1..=180)
        .map(|m| {
            let t = f64::from(m);
            2_000.0 * 0.55f64.powf(t / 180.0) * (1.0 + 0.01 * (t / 7.0).sin())
        })
        .collect();
    let low = *path.last().unwrap();
    path.extend((1..=240).map(|m| low * 3.3f64.powf(f64::from(m) / 240.0)));
    path
}

/// `a` within `rel` of `b`, or both within `abs` of 0.
fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()) + abs
}

/// The kernel's outcome is the engine's: every count exactly, every value to 1e-7 of the
/// book's debt.
fn assert_same(kernel: &ShockOutcome, exact: &ShockOutcome, debt: f64, what: &str) {
    let counts = |o: &ShockOutcome| {
        (
            o.at_risk,
            o.liquidated,
            o.rounds.clone(),
            o.unprofitable,
            o.capital_limited,
            o.waiting,
            o.oracle_updates,
            o.kill_minutes,
            o.open_past_kill,
            o.liquidators.iter().map(|l| l.liquidations).collect::<Vec<_>>(),
        )
    };
    assert_eq!(counts(kernel), counts(exact), "{what}: counts");
    let abs = 1e-7 * debt;
    for (name, a, b) in [
        ("at-risk debt", kernel.at_risk_debt, exact.at_risk_debt),
        ("liquidated debt", kernel.liquidated_debt, exact.liquidated_debt),
        ("bad debt", kernel.bad_debt, exact.bad_debt),
        ("liquidators' pay", kernel.liquidators_paid, exact.liquidators_paid),
        ("gas", kernel.gas, exact.gas),
        ("shortfall", kernel.shortfall, exact.shortfall),
    ] {
        assert!(close(a, b, 1e-7, abs), "{what}: {name} {a} (kernel) vs {b} (engine)");
    }
    for (name, a, b) in [
        ("pool price", kernel.pool_price, exact.pool_price),
        ("utilization peak", kernel.utilization_peak, exact.utilization_peak),
        ("utilization at the end", kernel.utilization_end, exact.utilization_end),
        ("LP withdrawn", kernel.lp_withdrawn, exact.lp_withdrawn),
    ] {
        assert!(close(a, b, 1e-9, 1e-12), "{what}: {name} {a} (kernel) vs {b} (engine)");
    }
}

#[test]
fn the_kernel_walks_the_book_as_the_engine_does() {
    let path = fall_and_rise();
    let walks = [
        ("every minute", Walk::default()),
        (
            "a lagging heartbeat-and-deviation oracle",
            Walk {
                oracle: OracleRule { heartbeat_secs: 3_600, deviation_bps: 100, delay_secs: 120 },
                ..Walk::default()
            },
        ),
        (
            "a bad print and LPs' flight",
            Walk { bad_print: Some((30, 0.8)), lp_flight: 0.1, ..Walk::default() },
        ),
        (
            "liquidators with gas, capital and delays",
            Walk {
                liquidator: Liquidator { gas: 15.0, min_profit: 5.0, capital: 400_000.0, delay: 0 },
                rivals: vec![
                    Liquidator { gas: 5.0, min_profit: 0.0, capital: 0.0, delay: 3 },
                    Liquidator { gas: 30.0, min_profit: 40.0, capital: 0.0, delay: 1 },
                ],
                ..Walk::default()
            },
        ),
    ];
    for (valuation, tvl) in [("exit", 8_000_000.0), ("oracle", 30_000_000.0)] {
        let s = market(tvl, valuation);
        let book = book(&s, 150);
        let (_, debt) = book.totals().unwrap();
        let kernel = BookKernel::new(&book).unwrap();
        for (name, walk) in &walks {
            let what = format!("{valuation}, {name}");
            let exact = book.follow(&path, 60, walk, Scan::Watched).unwrap();
            let fast = kernel.follow(&book, &path, 60, walk, Scan::Watched).unwrap();
            assert_same(&fast, &exact, debt, &what);
            assert!(exact.liquidated > 20, "{what}: a walk that liquidates: {exact:?}");
            // The kernel's watch finds what its full scan finds.
            let all = kernel.follow(&book, &path, 60, walk, Scan::All).unwrap();
            assert_eq!(fast, all, "{what}: the kernel's watch");
        }
        // Falls of 30% and 50% and a rise of 60% at once: cascades after impact and bad debt.
        for shock in [0.7, 0.5, 1.6] {
            let what = format!("{valuation}, {shock} at once");
            let exact = book.follow(&[2_000.0 * shock], 0, &Walk::default(), Scan::All).unwrap();
            let fast = kernel.follow(&book, &[2_000.0 * shock], 0, &Walk::default(), Scan::All);
            assert_same(&fast.unwrap(), &exact, debt, &what);
            if valuation == "exit" && shock == 0.5 {
                assert!(exact.rounds.len() > 1 && exact.bad_debt > 0.0, "{what}: {exact:?}");
            }
        }
    }
}

#[test]
fn the_kernel_walks_monte_carlo_paths_as_the_engine_does() {
    let s = market(6_000_000.0, "exit");
    let book = book(&s, 120);
    let (_, debt) = book.totals().unwrap();
    let kernel = BookKernel::new(&book).unwrap();
    let spec = PriceModelSpec::Gbm { mu: 0.0, sigma: 3.0 };
    let model = Model::new(&spec, 3_600.0 / YEAR, None);
    let mut liquidated = 0;
    for i in 0..6 {
        let path = minute_path(&model, 11, i, 2_000.0, 12, 60);
        let exact = book.follow(&path, 60, &Walk::default(), Scan::Watched).unwrap();
        let fast = kernel.follow(&book, &path, 60, &Walk::default(), Scan::Watched).unwrap();
        assert_same(&fast, &exact, debt, &format!("path {i}"));
        liquidated += exact.liquidated;
    }
    assert!(liquidated >= 8, "paths that liquidate: {liquidated}");
}

#[test]
fn the_kernel_refuses_what_it_does_not_model() {
    let text = "[market.pool]\ntvl = 8000000.0\n[market.leverage]\n\
                liquidation = { style = \"soft\" }\n";
    let s = Scenario::from_toml("soft.toml", text).unwrap();
    let b = book(&s, 10);
    match BookKernel::new(&b) {
        Err(RiskError::Unsupported(why)) => assert!(why.contains("soft"), "{why}"),
        other => panic!("a soft style is the engine's: {other:?}"),
    }
}

/// A book across two constant-product pools (30 bps and 100 bps) and two venues (the main one,
/// and one killing at 75% with lending pools of its own) walks on the kernel as on the engine:
/// each pool arbitraged and sold through, each venue's rules and rates.
#[test]
fn the_kernel_walks_a_book_across_pools_and_venues_as_the_engine_does() {
    let text = "[market.pool]\ntvl = 8000000.0\n\
                [market.pools.alt]\nfee_bps = 100\ntvl = 5000000.0\n\
                [market.venues.fast.leverage]\nkill_factor_bps = 7500\n\
                [market.venues.fast.lending.USDC]\nsupply = 20000000.0\n\
                [market.venues.fast.lending.WETH]\n\
                [market.utilization]\nmodel = \"constant\"\nvalue = 0.3\n";
    let s = Scenario::from_toml("spread.toml", text).unwrap();
    let spec = BookSpec {
        positions: 160,
        seed: 3,
        pools: vec![("main".into(), 0.5), ("alt".into(), 0.5)],
        venues: vec![("main".into(), 0.5), ("fast".into(), 0.5)],
        ..BookSpec::default()
    };
    let book = Book::open(&s, price_from_f64(2_000.0).unwrap(), &spec).unwrap();
    assert!(book.entries.iter().any(|e| e.pool == 1 && e.venue == 1));
    let (_, debt) = book.totals().unwrap();
    let kernel = BookKernel::new(&book).unwrap();
    let path = fall_and_rise();
    let walk = Walk { lp_flight: 0.1, ..Walk::default() };
    let exact = book.follow(&path, 60, &walk, Scan::Watched).unwrap();
    let fast = kernel.follow(&book, &path, 60, &walk, Scan::Watched).unwrap();
    assert_same(&fast, &exact, debt, "two pools, two venues");
    assert!(exact.liquidated > 30, "{exact:?}");
    for shock in [0.7, 0.5] {
        let exact = book.follow(&[2_000.0 * shock], 0, &Walk::default(), Scan::All).unwrap();
        let fast = kernel.follow(&book, &[2_000.0 * shock], 0, &Walk::default(), Scan::All);
        assert_same(&fast.unwrap(), &exact, debt, &format!("two pools, two venues, {shock}"));
    }
}
