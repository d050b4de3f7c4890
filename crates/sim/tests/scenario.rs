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
        "s.toml: position.leverage: 0.5 must be between 1 and 20"
    );
    let e = error("[protection.deleverage]\ntrigger = 0.9\ntarget = 0.6\n");
    assert!(e.starts_with("s.toml: protection.deleverage: need 0 ≤ target (0.6) < trigger (0.9) ≤ the kill factor"), "{e}");
    let e = error("[position]\nborrow = \"asset\"\n[market.lending.USDC]\nsupply = 1.0\nrate_model = { kind = \"aave\", optimal_usage_ratio_bps = 9000, base_variable_borrow_rate_bps = 0, variable_rate_slope1_bps = 400, variable_rate_slope2_bps = 6000 }\n");
    // A file's [market.lending] replaces the default's pools: here WETH has none to borrow.
    assert_eq!(
        e,
        "s.toml: market.lending: the position borrows WETH but there is no [market.lending.WETH]"
    );
    let e = error("[market.leverage]\nwork_factor_bps = 9000\nkill_factor_bps = 8000\n");
    assert!(
        e.contains("market.leverage: need 0 < work_factor_bps (9000) ≤ kill_factor_bps (8000)"),
        "{e}"
    );
    let e = error("[market.utilization]\nmodel = \"constant\"\nvalue = 1.5\n");
    assert_eq!(e, "s.toml: market.utilization.value: 1.5 must be in [0, 1)");
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
