//! `levfarm risk` and `levfarm merge` as separate processes: the same bytes on 1 and 2
//! threads, shards merged into exactly what one run prints, and located errors for bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

fn levfarm(args: &[&str], envs: &[(&str, &str)], dir: &PathBuf) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_levfarm"));
    c.args(args).current_dir(dir);
    for k in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_COUNT",
        "JOB_COMPLETION_INDEX",
        "AWS_BATCH_JOB_ARRAY_INDEX",
    ] {
        c.env_remove(k);
    }
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// A fresh directory for one test, removed when the guard is dropped.
fn tmp(name: &str) -> (tempfile::TempDir, PathBuf) {
    let guard =
        tempfile::Builder::new().prefix(&format!("levfarm-risk-cli-{name}-")).tempdir().unwrap();
    let dir = guard.path().to_path_buf();
    (guard, dir)
}

const SMALL: &[&str] = &[
    "risk", "--paths", "200", "--horizon-days", "20", "--leverages", "2,3", "--quiet", "--set",
    "risk.model={ kind = \"merton\", mu = 0.0, sigma = 0.9, lambda = 20.0, jump_mean = -0.04, jump_std = 0.06 }",
];

fn with(extra: &[&str]) -> Vec<String> {
    SMALL.iter().chain(extra).map(|s| s.to_string()).collect()
}

fn run(args: &[String], envs: &[(&str, &str)], dir: &PathBuf) -> Output {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    levfarm(&a, envs, dir)
}

#[test]
fn same_bytes_on_one_and_two_threads_and_merged_shards() {
    let (_guard, dir) = tmp("identity");
    let one = run(&with(&["--json", "--threads", "1"]), &[], &dir);
    assert!(one.status.success(), "{}", String::from_utf8_lossy(&one.stderr));
    let two = run(&with(&["--json", "--threads", "2"]), &[], &dir);
    assert_eq!(one.stdout, two.stdout);
    let v: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(v["configs"].as_array().unwrap().len(), 2);
    assert_eq!(v["configs"][0]["summary"]["paths"], 200);

    // Three shards, one of them from Slurm's environment.
    for i in 1..=2 {
        let out = run(&with(&["--shard", &format!("{i}/3")]), &[], &dir);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = run(
        &with(&[]),
        &[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let merged = levfarm(
        &[
            "merge",
            "risk-shard-3-of-3.json",
            "risk-shard-1-of-3.json",
            "risk-shard-2-of-3.json",
            "--json",
        ],
        &[],
        &dir,
    );
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    assert_eq!(merged.stdout, one.stdout, "merged shards differ from one run");

    // A missing shard and a duplicated one are refused.
    let missing =
        levfarm(&["merge", "risk-shard-1-of-3.json", "risk-shard-3-of-3.json"], &[], &dir);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("missing"));
    let twice = levfarm(
        &[
            "merge",
            "risk-shard-1-of-3.json",
            "risk-shard-1-of-3.json",
            "risk-shard-2-of-3.json",
            "risk-shard-3-of-3.json",
        ],
        &[],
        &dir,
    );
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("overlaps"));
}

#[test]
fn the_control_variate_merges_across_shards_to_the_same_bytes() {
    // GBM paths of an unprotected position: the liquidation probability carries a control
    // variate, whose counts are in the partials.
    let (_guard, dir) = tmp("control");
    let args: Vec<String> = [
        "risk",
        "--paths",
        "640",
        "--horizon-days",
        "10",
        "--leverages",
        "3",
        "--quiet",
        "--set",
        "risk.model={ kind = \"gbm\", mu = 0.0, sigma = 2.5 }",
        "--set",
        "protection.deleverage=none",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let json = |extra: &[&str]| {
        let mut a = args.clone();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let one = run(&json(&["--json"]), &[], &dir);
    assert!(one.status.success(), "{}", String::from_utf8_lossy(&one.stderr));
    let v: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    let cv = &v["configs"][0]["summary"]["liquidation_cv"];
    assert!(cv["correlation"].as_f64().unwrap() > 0.3, "{cv}");
    for i in 1..=2 {
        let out = run(&json(&["--shard", &format!("{i}/2")]), &[], &dir);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let merged = levfarm(
        &["merge", "risk-shard-2-of-2.json", "risk-shard-1-of-2.json", "--json"],
        &[],
        &dir,
    );
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    assert_eq!(merged.stdout, one.stdout, "merged shards differ from one run");
    // A partial claiming more joint crossings than crossings is refused.
    let text = std::fs::read_to_string(dir.join("risk-shard-1-of-2.json")).unwrap();
    let mut partial: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hits = partial["accums"][0]["control_hits"].as_u64().unwrap();
    partial["accums"][0]["control_joint"] = (hits + 1).into();
    std::fs::write(dir.join("forged.json"), partial.to_string()).unwrap();
    let forged = levfarm(&["merge", "forged.json", "risk-shard-2-of-2.json"], &[], &dir);
    assert_eq!(forged.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&forged.stderr).contains("control"), "{forged:?}");
}

#[test]
fn shards_of_other_settings_do_not_merge() {
    let (_guard, dir) = tmp("fingerprint");
    assert!(run(&with(&["--shard", "1/2"]), &[], &dir).status.success());
    assert!(run(&with(&["--shard", "2/2", "--seed", "9"]), &[], &dir).status.success());
    let out = levfarm(&["merge", "risk-shard-1-of-2.json", "risk-shard-2-of-2.json"], &[], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("other settings"));
}

#[test]
fn bad_input_is_located_and_exits_2() {
    let (_guard, dir) = tmp("bad");
    let cases: &[(&[&str], &str)] = &[
        (&["risk", "--shard", "4/3"], "--shard"),
        (&["risk", "--shard", "x"], "expected I/N"),
        (&["risk", "--set", "risk.paths=0"], "risk.paths"),
        (
            &[
                "risk",
                "--set",
                "risk.model={ kind = \"garch\", mu = 0.0, omega = 1e-6, alpha = 0.5, beta = 0.6 }",
            ],
            "risk.model.alpha",
        ),
        (&["risk", "--set", "risk.steps_per_day=7"], "risk.steps_per_day"),
        (&["risk", "--leverages", "3,25"], "risk.leverages"),
        (
            &[
                "risk",
                "--set",
                "market.volume={ model = \"file\", path = \"v.csv\", column = \"v\", default_daily = 0.1 }",
            ],
            "market.volume",
        ),
        (&["risk", "--leverages", "NaN"], "--leverages"),
        (&["risk", "--shards", "0"], "--shards"),
        (&["risk", "--set", "risk.hazard=[]"], "risk.hazard"),
        (
            &[
                "risk",
                "--set",
                "risk.model={ kind = \"merton\", mu = 0.0, sigma = 0.5, lambda = 10000.0, jump_mean = 5.0, jump_std = 0.1 }",
            ],
            "risk.model.lambda",
        ),
        (&["risk", "--set", "risk.model={ kind = \"gbm\", mu = 20.0, sigma = 0.5 }"], "risk.model.mu"),
        (&["risk", "--calibrate", "no-such-file.csv"], "no-such-file.csv"),
        (&["risk", "--calibrate", "bundled:BTC_ETH_LTC_USD_1d#DOGE_close"], "DOGE_close"),
        (
            &[
                "risk",
                "--calibrate",
                "bundled:ETHUSD_1h",
                "--calibrate",
                "bundled:BTC_ETH_LTC_USD_1d#BTC_close",
            ],
            "one clock",
        ),
        (&["risk", "--frictionless", "--horizon-days", "0"], "--horizon-days"),
        (&["risk", "--frictionless", "--leverages", "1"], "--leverages"),
        (&["risk", "--frictionless", "--repeats", "0"], "--repeats"),
        (&["risk", "--frictionless", "--threads", "0"], "--threads"),
        (&["risk", "--frictionless", "--precision", "half"], "half"),
        (&["risk", "--precision", "single"], "--frictionless"),
    ];
    for (args, needle) in cases {
        let out = levfarm(args, &[], &dir);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let out = levfarm(&["risk"], &[("JOB_COMPLETION_INDEX", "0")], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--shards"));
    std::fs::write(dir.join("junk.json"), "{\"format\": 3}").unwrap();
    let out = levfarm(&["merge", "junk.json"], &[], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.json:1:"));
}

#[test]
fn range_positions_run_and_narrower_ranges_are_liquidated_more() {
    let (_guard, dir) = tmp("range");
    let mut json = Vec::new();
    for width in ["1200", "20000"] {
        let mut args = with(&[
            "--json",
            "--set",
            "risk.model={ kind = \"gbm\", mu = -1.0, sigma = 1.2 }",
            "--set",
            "protection.deleverage=none",
            "--set",
            "market.pool.kind=\"v3\"",
            "--set",
        ]);
        args.push(format!("position.range_width_ticks={width}"));
        let out = run(&args, &[], &dir);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        json.push(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap());
    }
    // The position is described as it runs, whatever the scenario's name says.
    let position = json[0]["position"].as_str().unwrap_or_default();
    assert!(position.contains("long WETH") && position.contains("1200 ticks wide"), "{position}");
    // A narrow range loses more to the same fall (it is all asset sooner): at 2x and 3x it
    // is liquidated on more of the same 200 paths than a wide one.
    for c in 0..2 {
        let p =
            |v: &serde_json::Value| v["configs"][c]["summary"]["liquidation_probability"].as_f64();
        let (narrow, wide) = (p(&json[0]).unwrap(), p(&json[1]).unwrap());
        assert!(narrow > wide, "config {c}: narrow {narrow}, wide {wide}");
    }
}

#[test]
fn frictionless_mode_prints_its_rates() {
    let (_guard, dir) = tmp("frictionless");
    for precision in ["double", "single"] {
        let args = [
            "risk",
            "--frictionless",
            "--paths",
            "200",
            "--horizon-days",
            "30",
            "--precision",
            precision,
            "--repeats",
            "2",
        ];
        let out = levfarm(&args, &[], &dir);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let p = format!("precision={precision}");
        for needle in [&p, "paths=200", "steps=720", "runs=2", "path-steps/s=", "liquidated="] {
            assert!(text.contains(needle), "{text}");
        }
    }
}

#[test]
fn calibrate_prints_fitted_models_and_the_report_is_written() {
    let (_guard, dir) = tmp("calibrate");
    let out = levfarm(&["risk", "--calibrate", "bundled:ETHUSD_1h"], &[], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["GBM", "Merton", "GARCH", "model = { kind = \"gbm\""] {
        assert!(text.contains(needle), "{text}");
    }
    let out = run(&with(&["--report", "risk.html"]), &[], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(dir.join("risk.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Recommendation:"), "{text}");
}

#[test]
fn calibrating_two_histories_gives_each_fit_and_their_correlation() {
    let (_guard, dir) = tmp("calibrate-two");
    let json = |args: &[&str]| -> serde_json::Value {
        let out = levfarm(args, &[], &dir);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    // The data notes: the hourly ETH and BTC files share 12,483 hours (12,484 with ETH's one
    // missing hour filled), with annualised volatilities of 93% and 70% and an hourly
    // log-return correlation of 0.77.
    let v = json(&[
        "risk",
        "--calibrate",
        "bundled:ETHUSD_1h",
        "--calibrate",
        "bundled:BTCUSD_1h",
        "--json",
    ]);
    assert_eq!((v["bars"].as_u64(), v["filled"].as_u64()), (Some(12_484), Some(1)));
    let sigma = |i: usize| v["series"][i]["fit"]["gbm"]["sigma"].as_f64().unwrap();
    assert!((sigma(0) - 0.93).abs() < 0.01 && (sigma(1) - 0.70).abs() < 0.01, "{v}");
    let rho = &v["correlation"];
    assert!((rho[0][1].as_f64().unwrap() - 0.77).abs() < 0.005, "{rho}");
    assert_eq!((rho[0][1].as_f64(), rho[1][1].as_f64()), (rho[1][0].as_f64(), Some(1.0)));
    // Simulated: 20,000 hours of two GBMs with volatilities 0.8 and 0.5 whose shocks have
    // correlation 0.6. The estimate's standard error is (1 − 0.6²)/√20,000 = 0.0045.
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut normal = || {
        let (u, w): (f64, f64) = (rng.random(), rng.random());
        (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * w).cos()
    };
    let dt: f64 = 1.0 / (365.0 * 24.0);
    let (mut a, mut b) = (2000.0f64, 30_000.0f64);
    let (mut fa, mut fb) = (String::from("unix_s,close\n"), String::from("unix_s,close\n"));
    for i in 0..20_001u64 {
        fa.push_str(&format!("{},{a:.10}\n", i * 3600));
        fb.push_str(&format!("{},{b:.10}\n", i * 3600));
        let (z1, z2) = (normal(), normal());
        let z = 0.6 * z1 + (1.0f64 - 0.36).sqrt() * z2;
        a *= (-0.5 * 0.64 * dt + 0.8 * dt.sqrt() * z1).exp();
        b *= (-0.5 * 0.25 * dt + 0.5 * dt.sqrt() * z).exp();
    }
    std::fs::write(dir.join("a.csv"), fa).unwrap();
    std::fs::write(dir.join("b.csv"), fb).unwrap();
    let v = json(&["risk", "--calibrate", "a.csv", "--calibrate", "b.csv", "--json"]);
    let rho = v["correlation"][0][1].as_f64().unwrap();
    assert!((rho - 0.6).abs() < 4.0 * 0.0045, "{rho}");
    let sigma = |i: usize| v["series"][i]["fit"]["gbm"]["sigma"].as_f64().unwrap();
    assert!((sigma(0) / 0.8 - 1.0).abs() < 0.03 && (sigma(1) / 0.5 - 1.0).abs() < 0.03, "{v}");
    // The table names both, prints the matrix and the second as `risk.second_asset`.
    let out = levfarm(&["risk", "--calibrate", "a.csv", "--calibrate", "b.csv"], &[], &dir);
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "2 histories on one clock: 20001 bars",
        "correlation of the log returns",
        "second_asset = { price = ",
    ] {
        assert!(text.contains(needle), "{text}");
    }
}

/// Regression: a leverage the engine will not open exited 2 ("bad input") where the docs
/// say 1 (the protocol said no), naming the configuration.
#[test]
fn a_configuration_the_engine_refuses_exits_1_naming_it() {
    let (_guard, dir) = tmp("refused");
    let out = levfarm(&["risk", "--leverages", "6", "--paths", "10", "--quiet"], &[], &dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("configuration position.leverage=6"), "{err}");
}

/// Regressions: 64 paths recommended that no leverage was safe (the 95% bound of zero
/// liquidations in 64 paths is 5.7%); a five-day horizon printed annualised APYs in the
/// millions of percent.
#[test]
fn few_paths_and_short_horizons_say_what_they_can_and_cannot_tell() {
    let (_guard, dir) = tmp("honest");
    let out = levfarm(
        &[
            "risk",
            "--paths",
            "64",
            "--horizon-days",
            "5",
            "--leverages",
            "1.5,2",
            "--quiet",
            "--json",
        ],
        &[],
        &dir,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rec = v["recommendations"][0].as_str().unwrap();
    // 1.96²·0.95/0.05 = 72.99: 73 paths.
    assert!(rec.contains("sample is too small") && rec.contains("at least 73 paths"), "{rec}");
    let summary = &v["configs"][0]["summary"];
    assert_eq!(summary["annualised"], false);
    assert!(summary["mean_apy"].is_null() && summary["median_apy"].is_null(), "{summary}");
    let r = summary["mean_return"].as_f64().unwrap();
    assert!(r.abs() < 0.5, "five days' mean return {r}");
    assert!(v["notes"][0].as_str().unwrap().contains("not annualised"), "{}", v["notes"]);
    let text = levfarm(
        &["risk", "--paths", "64", "--horizon-days", "5", "--leverages", "1.5", "--quiet"],
        &[],
        &dir,
    );
    let table = String::from_utf8_lossy(&text.stdout);
    assert!(table.contains("mean return") && !table.contains("mean APY"), "{table}");
}

/// Merged partials are checked against their own invariants and their fingerprint against
/// their content: more liquidations than paths printed P(liq) of 333,333%; an edited
/// scenario gave "a shard is missing".
#[test]
fn tampered_partials_are_refused_saying_what_is_wrong() {
    let (_guard, dir) = tmp("tampered");
    assert!(run(&with(&["--shard", "1/2"]), &[], &dir).status.success());
    assert!(run(&with(&["--shard", "2/2"]), &[], &dir).status.success());
    let text = std::fs::read_to_string(dir.join("risk-shard-2-of-2.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let paths = v["paths"].as_u64().unwrap();
    v["accums"][0]["liquidated"] = serde_json::json!(paths * 3);
    std::fs::write(dir.join("bad-count.json"), v.to_string()).unwrap();
    let out = levfarm(&["merge", "risk-shard-1-of-2.json", "bad-count.json"], &[], &dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("liquidated"), "{err}");
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["paths"] = serde_json::json!(0);
    std::fs::write(dir.join("zero.json"), v.to_string()).unwrap();
    let out = levfarm(&["merge", "risk-shard-1-of-2.json", "zero.json"], &[], &dir);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("paths"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["risk-shard-1-of-2.json", "risk-shard-2-of-2.json"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["scenario"]["market"]["pool"]["fee_bps"] = serde_json::json!(100);
        std::fs::write(dir.join(format!("edited-{name}")), v.to_string()).unwrap();
    }
    let out = levfarm(
        &["merge", "edited-risk-shard-1-of-2.json", "edited-risk-shard-2-of-2.json"],
        &[],
        &dir,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("fingerprint") && !err.contains("missing"), "{err}");
}
