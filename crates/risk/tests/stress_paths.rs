//! Monte Carlo windows of the stress test: the same bytes on any number of threads; each
//! path's hours are the model's and its minutes a bridge between them at the model's
//! volatility; VaR95 and EVaR99 are the 95th and 99th percentiles of the paths' bad debt.

use levfarm_risk::paths::Model;
use levfarm_risk::stress::{
    merge_parts, minute_path, stress_part, stress_paths, summarise, PathRow, PathsHead, PathsPart,
    PathsRun, PathsSpec,
};
use levfarm_risk_spec::PriceModelSpec;
use levfarm_sim::data::PriceSeries;
use levfarm_sim::stress::{BookSpec, Walk};
use levfarm_sim::world::{price_from_f64, YEAR};

mod common;

/// A flat series: the parametric models do not read it.
fn series() -> PriceSeries {
    levfarm_sim::data::parse_prices_csv(
        "flat.csv",
        "unix_s,close\n0,2000\n3600,2000\n7200,2000\n",
        &Default::default(),
    )
    .unwrap()
}

#[test]
fn the_same_seed_gives_the_same_paths_on_one_thread_or_two() {
    let s = common::scenario_with(
        &[
            ("risk.model", "{ kind = \"gbm\", mu = 0.0, sigma = 4.0 }"),
            ("market.pool.tvl", "5000000.0"),
        ],
        &[],
    );
    let spec = BookSpec { positions: 40, ..BookSpec::default() };
    let (prices, walk) = (series(), Walk::default());
    let run = PathsRun {
        scenario: &s,
        series: &prices,
        start: price_from_f64(2_000.0).unwrap(),
        spec: &spec,
        walk: &walk,
        paths: PathsSpec { paths: 6, hours: 6, seed: 9 },
        exact: false,
    };
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| stress_paths(&run, None).unwrap())
    };
    let (one, two) = (on(1), on(2));
    assert_eq!(one, two);
    assert_eq!(one.rows.len(), 6);
    assert!(one.rows.iter().enumerate().all(|(i, r)| r.path == i as u64));
    assert!(one.rows.iter().map(|r| r.liquidated).sum::<usize>() > 0, "{:?}", one.rows);
    // Distinct paths: not every path ends at the same price.
    assert!(one.rows.iter().any(|r| r.end != one.rows[0].end));

    // Three shards, each written as JSON and read back, merge into the same output.
    let part = |i: u64| {
        let p = stress_part(&run, (i, 3), None).unwrap();
        let text = serde_json::to_string(&p).unwrap();
        (format!("shard{i}.json"), serde_json::from_str::<PathsPart>(&text).unwrap())
    };
    let parts: Vec<_> = [2, 0, 1].into_iter().map(part).collect();
    assert_eq!(merge_parts(parts.clone()).unwrap(), one);
    let e = merge_parts(parts[..2].to_vec()).unwrap_err();
    assert!(e.contains("shard 2/3 is missing"), "{e}");
    let e = merge_parts(vec![parts[0].clone(), parts[0].clone(), parts[1].clone()]).unwrap_err();
    assert!(e.contains("shard 3/3 is also in"), "{e}");
    let mut other = parts[1].clone();
    other.1.key = "0".into();
    let e = merge_parts(vec![parts[0].clone(), other, parts[2].clone()]).unwrap_err();
    assert!(e.contains("from another run"), "{e}");

    // The f64 kernel walked the paths; on the exact engine they liquidate the same positions
    // and leave the same bad debt (to float precision), and shards of the two do not merge.
    assert_eq!(one.head.engine, "f64 kernel");
    let exact = stress_part(&PathsRun { exact: true, ..run }, (0, 1), None).unwrap();
    assert_eq!(exact.head.engine, "exact engine");
    for (k, e) in one.rows.iter().zip(&exact.rows) {
        assert_eq!((k.liquidated, k.depth), (e.liquidated, e.depth), "path {}", k.path);
        assert!((k.bad_debt - e.bad_debt).abs() <= 1e-7 * one.head.debt, "path {}", k.path);
    }
    let exact_part = stress_part(&PathsRun { exact: true, ..run }, (2, 3), None).unwrap();
    assert_eq!(exact_part.key, parts[0].1.key, "the same settings otherwise");
    let mixed = vec![parts[0].clone(), parts[1].clone(), ("exact.json".into(), exact_part)];
    let e = merge_parts(mixed).unwrap_err();
    assert!(e.contains("from another run"), "{e}");
}

/// Each hour's last minute is the model's hourly price, whatever the bridge drew; the minutes'
/// log returns have the model's variance per minute, σ² / 525,600 a minute (GBM, σ = 0.8,
/// 2,000 hours: within 4%).
#[test]
fn the_minutes_bridge_the_models_hours_at_its_volatility() {
    let spec = PriceModelSpec::Gbm { mu: 0.0, sigma: 0.8 };
    let model = Model::new(&spec, 3_600.0 / YEAR, None);
    let minutes = minute_path(&model, 3, 1, 2_000.0, 2_000, 60);
    assert_eq!(minutes.len(), 120_000);
    let mut gen = model.path(3, 1);
    let (mut level, mut z) = (2_000f64.ln(), 0.0);
    for h in 0..2_000 {
        level += gen.next(&mut z);
        let at = minutes[h * 60 + 59];
        assert!((at.ln() - level).abs() < 1e-9, "hour {h}: {at} vs {}", level.exp());
    }
    let r: Vec<f64> = std::iter::once(2_000.0)
        .chain(minutes.iter().copied())
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| (w[1] / w[0]).ln())
        .collect();
    let var = r.iter().map(|x| x * x).sum::<f64>() / r.len() as f64;
    let want = 0.8 * 0.8 / (YEAR / 60.0);
    assert!((var / want - 1.0).abs() < 0.04, "{var} vs {want}");
}

/// Bad debts 1, 2, …, 100 over 100 paths: mean 50.5, VaR95 the 95th smallest (95), EVaR99
/// the 99th (99); against a debt of 1,000, 9.5% and 9.9%.
#[test]
fn var95_and_evar99_are_the_95th_and_99th_percentiles() {
    let rows: Vec<PathRow> = (0..100)
        .map(|i| PathRow {
            path: i,
            low: 0.9,
            end: 1.0,
            liquidated: (i % 3) as usize,
            liquidated_debt: 0.0,
            depth: if i < 10 { 2 } else { 1 },
            bad_debt: (100 - i) as f64,
            liquidators_paid: 1.0,
        })
        .collect();
    let head = PathsHead {
        spec: PathsSpec { paths: 100, hours: 24, seed: 1 },
        model: "m".into(),
        engine: "f64 kernel".into(),
        start: 1.0,
        opened: 5,
        equity: 0.0,
        debt: 1_000.0,
    };
    let o = summarise(head, rows);
    let b = &o.bad_debt;
    assert_eq!((b.mean, b.var95, b.evar99, b.max), (50.5, 95.0, 99.0, 100.0));
    assert_eq!((b.var95_share, b.evar99_share, b.p_any), (0.095, 0.099, 1.0));
    assert_eq!((o.depth_max, o.p_cascade), (2, 0.1));
}
