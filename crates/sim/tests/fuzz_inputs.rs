//! Fuzzing the files a user hands the backtester: generated scenario TOML (keys from the
//! scenario's own tree, values of every type and size) and price CSV (headers and cells of
//! every kind). Checked: nothing panics; every refusal starts with the file's name and names
//! a line, a key or a column; an accepted scenario is one `validate` accepts; an accepted
//! price file has increasing times and positive closes.
//!
//! Bounded for CI by the case count; `PROPTEST_CASES` raises it.

use levfarm_sim::data::{parse_prices_csv, PriceOptions};
use levfarm_sim::Scenario;
use proptest::prelude::*;

const KEYS: &[&str] = &[
    "name",
    "data.prices",
    "data.start",
    "data.end",
    "position.equity",
    "position.leverage",
    "position.borrow",
    "position.range_width_ticks",
    "market.asset",
    "market.stable",
    "market.pool.kind",
    "market.pool.fee_bps",
    "market.pool.tvl",
    "market.pool.liquidity_width_ticks",
    "market.leverage.work_factor_bps",
    "market.leverage.kill_factor_bps",
    "market.leverage.kill_prize_bps",
    "market.leverage.kill_treasury_bps",
    "market.leverage.reinvest_bounty_bps",
    "market.leverage.valuation",
    "market.rewards.token",
    "market.rewards.apr",
    "market.rewards.price",
    "market.utilization.model",
    "market.utilization.value",
    "market.volume.model",
    "market.volume.daily",
    "protection.compound_hours",
    "protection.stop_loss_price",
    "protection.deleverage.trigger",
    "protection.deleverage.target",
    "costs.gas_per_action",
    "report.liquidation_price_every",
    "risk.paths",
    "risk.horizon_days",
    "risk.steps_per_day",
    "risk.leverages",
    "risk.hazard",
    "risk.hazard.severity",
    "risk.model.kind",
    "risk.model.mu",
    "risk.model.block_hours",
    "risk.reward",
    "nonsense.key",
];

fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "1",
            "-1",
            "3",
            "0.5",
            "1e300",
            "-1e300",
            "1e-300",
            "nan",
            "inf",
            "9223372036854775807",
            "-9223372036854775808",
            "4294967295",
            "10001",
            "8000",
            "\"\"",
            "\"x\"",
            "\"a\\nb\"",
            "\"stable\"",
            "\"asset\"",
            "\"v3\"",
            "\"history\"",
            "\"constant\"",
            "\"none\"",
            "\"bundled:ETHUSD_1h\"",
            "\"2022-01-05\"",
            "2022-01-05",
            "true",
            "[]",
            "[1.5, 2.0]",
            "[\"x\"]",
            "{}",
            "{ kind = \"gbm\", mu = 0.0, sigma = 0.8 }",
        ])
        .prop_map(String::from),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        any::<i64>().prop_map(|i| i.to_string()),
    ]
}

fn scenario_text() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(KEYS.to_vec()), toml_value()), 0..6).prop_map(
        |pairs| {
            // Dotted keys at the top level, one line each: TOML's own way to nest.
            pairs.iter().map(|(k, v)| format!("{k} = {v}\n")).collect::<String>()
        },
    )
}

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (1u32..100_000).prop_map(|p| format!("{}.{}", p, p % 100)),
        1 => prop::sample::select(vec!["", "0", "-5", "1e5", "NaN", "inf", "abc", "\u{0}", "1,5", "\"2\""]).prop_map(String::from),
        1 => Just("9".repeat(300)),
    ]
}

fn csv_text() -> impl Strategy<Value = String> {
    let header = prop::collection::vec(
        prop::sample::select(vec![
            "unix_s", "time", "close", "price", "open", "high", "low", "Close", "volume", "",
            "x\u{0}",
        ]),
        1..6,
    );
    (
        header,
        prop::collection::vec(
            (
                prop_oneof![Just(0i64), 1i64..5, -2i64..0, Just(3600)],
                prop::collection::vec(cell(), 6),
            ),
            0..30,
        ),
    )
        .prop_map(|(header, rows)| {
            let mut text = header.join(",") + "\n";
            let mut t = 1_600_000_000i64;
            for (step, cells) in rows {
                t += step * 3600;
                let mut row = Vec::new();
                for h in &header {
                    row.push(if matches!(*h, "unix_s" | "time") {
                        t.to_string()
                    } else {
                        cells[row.len() % 6].clone()
                    });
                }
                text.push_str(&row.join(","));
                text.push('\n');
            }
            text
        })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn generated_scenarios_load_or_are_refused_with_their_place(text in scenario_text()) {
        match Scenario::from_toml("s.toml", &text) {
            Ok(s) => prop_assert!(s.validate("s.toml").is_ok()),
            Err(e) => {
                let e = e.to_string();
                prop_assert!(e.starts_with("s.toml"), "{text}\n{e}");
                prop_assert!(e.lines().count() <= 1 || e.contains("line"), "{text}\n{e}");
                prop_assert!(e.len() < 2000, "{text}\n{} bytes", e.len());
            }
        }
    }

    #[test]
    fn generated_price_files_load_or_are_refused_with_their_place(text in csv_text()) {
        match parse_prices_csv("t.csv", &text, &PriceOptions::default()) {
            Ok(p) => {
                prop_assert!(p.times.windows(2).all(|w| w[0] < w[1]));
                prop_assert!(p.closes.iter().all(|c| !c.0.is_zero()));
            }
            Err(e) => {
                let e = e.to_string();
                prop_assert!(e.starts_with("t.csv"), "{text}\n{e}");
                prop_assert!(!e.contains('\u{0}') && e.len() < 1000, "{e}");
            }
        }
    }
}
