//! `aave_v3/math_wadray_percentage_interest.csv`: every row, compared exactly.

mod common;

use common::{csv_rows, u256};
use levfarm_core::math::{
    interest, percent_div, percent_mul, ray_div, ray_mul, wad_div, wad_mul, Bps, Ray, U256,
};

const FILE: &str = "aave_v3/math_wadray_percentage_interest.csv";

fn bps(text: &str) -> Bps {
    Bps(text.parse().expect("bps"))
}

#[test]
fn wad_ray_and_percentage_rows_match_exactly() {
    let mut checked = 0;
    for row in csv_rows(FILE) {
        let (a, b, expected) = (&row["a"], &row["b"], &row["expected"]);
        let got = match row["function"].as_str() {
            "wadMul" => wad_mul(u256(a), u256(b)),
            "wadDiv" => wad_div(u256(a), u256(b)),
            "rayMul" => ray_mul(u256(a), u256(b)),
            "rayDiv" => ray_div(u256(a), u256(b)),
            "percentMul" => percent_mul(u256(a), bps(b)),
            "percentDiv" => percent_div(u256(a), bps(b)),
            _ => continue,
        };
        assert_eq!(got.unwrap(), u256(expected), "{row:?}");
        checked += 1;
    }
    assert_eq!(checked, 20, "every wad/ray/percentage row is checked");
}

fn row_for(prefix: &str) -> std::collections::BTreeMap<String, String> {
    csv_rows(FILE)
        .into_iter()
        .find(|r| r["function"].starts_with(prefix))
        .unwrap_or_else(|| panic!("no row starting {prefix:?}"))
}

fn rate_dt(row: &std::collections::BTreeMap<String, String>) -> (Ray, u64) {
    (Ray(u256(&row["a"])), row["b"].parse().unwrap())
}

#[test]
fn linear_interest_seven_years_at_8_percent() {
    let row = row_for("calculateLinearInterest");
    let (rate, dt) = rate_dt(&row);
    assert_eq!(interest::linear_interest(rate, dt).unwrap(), Ray(u256(&row["expected"])));
}

#[test]
fn compounded_interest_origin_formula_asserted_rows() {
    // 1000e27 for 10,000 years: the literal aave-v3-origin asserts.
    let row = row_for("calculateCompoundedInterest v3.4+");
    let (rate, dt) = rate_dt(&row);
    assert_eq!(interest::compounded_interest(rate, dt).unwrap(), Ray(u256(&row["expected"])));
    let row = row_for("calculateCompoundedInterest (dt=0)");
    let (rate, dt) = rate_dt(&row);
    assert_eq!(interest::compounded_interest(rate, dt).unwrap(), Ray::ONE);
    assert_eq!(interest::compounded_interest_binomial(rate, dt).unwrap(), Ray::ONE);
}

#[test]
fn compounded_interest_within_the_tested_tolerance_of_e_to_the_x() {
    // The test asserts e^0.56 = 1.750672500296101082549976435e27 within 0.3% relative.
    let row = row_for("calculateCompoundedInterest(0.08e27, 7 years)");
    let (rate, dt) = rate_dt(&row);
    let exact = u256("1750672500296101082549976435");
    let tolerance = exact * U256::from(3) / U256::from(1000);
    for got in [
        interest::compounded_interest(rate, dt).unwrap().0,
        interest::compounded_interest_binomial(rate, dt).unwrap().0,
    ] {
        assert!(exact.abs_diff(got) <= tolerance, "{got} is not within 0.3% of {exact}");
    }
    // and the port values quoted on that row, exactly
    assert_eq!(
        interest::compounded_interest(rate, dt).unwrap().0,
        u256("1746069333333333333333333333")
    );
    assert_eq!(
        interest::compounded_interest_binomial(rate, dt).unwrap().0,
        u256("1745486836363624056433536000")
    );
}

/// Secondary checks: the PORT-ONLY rows quote both formulas and the linear factor.
#[test]
fn compounded_interest_port_only_rows() {
    let rows: Vec<_> =
        csv_rows(FILE).into_iter().filter(|r| r["function"].starts_with("PORT-ONLY")).collect();
    assert_eq!(rows.len(), 5);
    for row in rows {
        let (rate, dt) = rate_dt(&row);
        let parts: std::collections::BTreeMap<&str, U256> = row["expected"]
            .split("; ")
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k, u256(v))
            })
            .collect();
        assert_eq!(
            interest::compounded_interest(rate, dt).unwrap().0,
            parts["origin(v3.4+)"],
            "{row:?}"
        );
        assert_eq!(
            interest::compounded_interest_binomial(rate, dt).unwrap().0,
            parts["v3.0-3.3"],
            "{row:?}"
        );
        assert_eq!(interest::linear_interest(rate, dt).unwrap().0, parts["linear"], "{row:?}");
    }
}
