//! Scenario files: the example is the default, and bad files say where and why.

use levfarm_sim::scenario::EXAMPLE_TOML;
use levfarm_sim::{Backtest, Scenario};

fn error(text: &str) -> String {
    Scenario::from_toml("s.toml", text).expect_err("must be refused").to_string()
}

#[test]
fn the_commented_example_and_an_empty_file_are_the_default() {
    assert_eq!(
        Scenario::from_toml("example.toml", EXAMPLE_TOML).expect("parses"),
        Scenario::default()
    );
    assert_eq!(Scenario::from_toml("empty.toml", "").expect("parses"), Scenario::default());
}

#[test]
fn an_unknown_key_is_located() {
    let e = error("name = \"x\"\n\n[position]\nleverge = 3\n");
    assert!(e.starts_with("s.toml: line 4, column 1: unknown field `leverge`"), "{e}");
}

#[test]
fn a_wrong_type_is_located() {
    let e = error("[position]\nequity = 1000.0\nleverage = \"three\"\n");
    assert!(e.starts_with("s.toml: line 3, column 12:"), "{e}");
    let e = error("[market.pool]\nkind = \"v4\"\n");
    assert!(e.starts_with("s.toml: line 2, column 8: unknown variant `v4`"), "{e}");
}

#[test]
fn broken_toml_syntax_is_located() {
    let e = error("[position\nleverage = 3\n");
    assert!(e.starts_with("s.toml: line 1, column "), "{e}");
}

#[test]
fn values_out_of_range_name_their_field() {
    assert_eq!(
        error("[position]\nleverage = 0.5\n"),
        "s.toml:2: position.leverage: 0.5 must be between 1 and 20"
    );
    let e = error("[protection.deleverage]\ntrigger = 0.9\ntarget = 0.6\n");
    assert!(e.starts_with("s.toml:1: protection.deleverage: need 0 ≤ target (0.6) < trigger (0.9) ≤ the kill factor"), "{e}");
    let e = error("[position]\nborrow = \"asset\"\n[market.lending.USDC]\nsupply = 1.0\n");
    // A file's [market.lending] replaces the default's pools: here WETH has none to borrow.
    assert_eq!(
        e,
        "s.toml:3: market.lending: the position borrows WETH but there is no [market.lending.WETH]"
    );
    let e = error("[market.leverage]\nwork_factor_bps = 9000\nkill_factor_bps = 8000\n");
    assert!(
        e.starts_with("s.toml:2: market.leverage.work_factor_bps: invalid work_factor_bps = 9000: must be below kill_factor_bps"),
        "{e}"
    );
    let e = error("[market.utilization]\nmodel = \"constant\"\nvalue = 1.5\n");
    assert_eq!(e, "s.toml:3: market.utilization.value: 1.5 must be in [0, 1)");
}

#[test]
fn set_and_sweep_values_are_checked_like_the_file() {
    let base = Scenario::default();
    assert_eq!(base.with_value("position.leverage", "2").expect("ok").position.leverage, 2.0);
    assert_eq!(
        base.with_value("position.borrow", "asset").expect("ok").position.borrow,
        levfarm_sim::scenario::BorrowSide::Asset
    );
    assert!(base
        .with_value("protection.deleverage", "none")
        .expect("ok")
        .protection
        .deleverage
        .is_none());
    let e = base.with_value("position.leverag", "2").expect_err("unknown").to_string();
    assert!(e.contains("position.leverag") && e.contains("unknown field"), "{e}");
    let e = base.with_value("position.leverage", "25").expect_err("too high").to_string();
    assert!(e.contains("position.leverage: 25 must be between 1 and 20"), "{e}");
    let e = levfarm_sim::run::parse_grid(&["position.leverage".into()])
        .expect_err("no values")
        .to_string();
    assert!(e.contains("expected key=value1,value2"), "{e}");
}

#[test]
fn a_bad_window_names_its_field() {
    let mut s = Scenario::default();
    s.data.start = Some("2020-13-45".into());
    let e = Backtest::load(s).expect_err("bad date").to_string();
    assert!(e.contains("data.start"), "{e}");
}

#[test]
fn the_json_schema_describes_the_sections() {
    let schema = Scenario::json_schema();
    let props = &schema["properties"];
    for key in ["data", "market", "position", "protection", "costs", "report"] {
        assert!(props.get(key).is_some(), "{key} missing from the schema");
    }
}

/// Values the engine refused only once the run started ("the engine refused", exit 1) are
/// refused on load, with the file's line and the key, before any engine command runs.
#[test]
fn values_the_engine_would_refuse_are_refused_on_load_with_their_key() {
    let cases = [
        // work factor equal to the kill factor
        (
            "[market.leverage]\nwork_factor_bps = 8000\nkill_factor_bps = 8000\n",
            "s.toml:2: market.leverage.work_factor_bps",
        ),
        // Regression: the prize and treasury fee were summed in 32 bits and wrapped
        (
            "[market.leverage]\nkill_prize_bps = 4294967295\nkill_treasury_bps = 1\n",
            "s.toml:2: market.leverage.kill_prize_bps",
        ),
        (
            "[market.leverage]\nreinvest_bounty_bps = 10001\n",
            "s.toml:2: market.leverage.reinvest_bounty_bps",
        ),
        (
            "[market.lending.USDC]\nsupply = 1e6\nreserve_factor_bps = 10001\n",
            "s.toml:3: market.lending.USDC.reserve_factor_bps",
        ),
        ("[market.rewards]\ntoken = \"\"\n", "s.toml:2: market.rewards.token"),
        ("[market.rewards]\ntoken = \"A\\nB\"\n", "s.toml:2: market.rewards.token"),
        ("[market.pool]\ntvl = 1e-300\n", "s.toml:2: market.pool.tvl"),
        ("[position]\nequity = 1e300\n", "s.toml:2: position.equity"),
        ("[market.rewards]\nprice = 1e308\n", "s.toml:2: market.rewards.price"),
        (
            "[protection.top_up]\ntrigger = 0.8\ntarget = 0.6\nreserve = 1e300\n",
            "s.toml:4: protection.top_up.reserve",
        ),
        ("[protection]\nstop_loss_price = 1e300\n", "s.toml:2: protection.stop_loss_price"),
        ("[costs]\ngas_per_action = 1e300\n", "s.toml:2: costs.gas_per_action"),
        // Regression: compound_hours = i64::MAX became a negative interval and compounded
        // every bar.
        (
            "[protection]\ncompound_hours = 9223372036854775807\n",
            "s.toml:2: protection.compound_hours",
        ),
        (
            "[report]\nliquidation_price_every = 2635249153387078803\n",
            "s.toml:2: report.liquidation_price_every",
        ),
        (
            "[market.pool]\nliquidity_width_ticks = -5\n",
            "s.toml:2: market.pool.liquidity_width_ticks",
        ),
    ];
    for (text, start) in cases {
        let e = error(text);
        assert!(e.starts_with(start), "{text}\n  gave: {e}\n  want: {start}…");
    }
    // Within the bounds, the same keys load.
    for text in [
        "[protection]\ncompound_hours = 876000\n",
        "[market.leverage]\nwork_factor_bps = 7999\nkill_factor_bps = 8000\n",
        "[market.pool]\ntvl = 1\n",
    ] {
        Scenario::from_toml("s.toml", text).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
}

/// Regressions for `--set`: a date said "invalid type: map"; `market.volume.model=none` said
/// "missing field `model`"; the scenario kept its name ("auto-deleverage") after the
/// deleverage was removed.
#[test]
fn set_takes_dates_the_word_none_and_renames_the_scenario() {
    let base = Scenario::default();
    let dated = base.with_value("data.start", "2022-01-05").expect("a date");
    assert_eq!(dated.data.start.as_deref(), Some("2022-01-05"));
    let quiet = base.with_value("market.volume.model", "none").expect("the none model");
    assert_eq!(quiet.market.volume, levfarm_sim::scenario::VolumeModel::None);
    let bare = base.with_value("protection.deleverage", "none").expect("removed");
    assert!(bare.protection.deleverage.is_none());
    assert_eq!(bare.name, "3x long ETH, auto-deleverage, with protection.deleverage = none");
    let named = base.with_value("name", "plain").expect("renamed");
    assert_eq!(named.name, "plain");
}

/// Regression: a table of settings given as an array (`hazard = []`) deserialized into the
/// defaults and was silently accepted.
#[test]
fn an_array_where_a_table_belongs_is_refused() {
    let e = error("[risk]\nhazard = []\n");
    assert!(e.starts_with("s.toml:2: risk.hazard: is a table of settings, not an array"), "{e}");
    let e = error("[risk]\nreward = [1, 2]\n");
    assert!(e.starts_with("s.toml:2: risk.reward:"), "{e}");
    // Arrays where arrays belong still load.
    Scenario::from_toml("s.toml", "[risk]\nleverages = [1.5, 2.0]\n").expect("a list of leverages");
}
