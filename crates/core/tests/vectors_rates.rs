//! Rate models against the reference vectors:
//! - `aave_v3/rate_strategy_v2_origin.csv`: every row, both rates, exactly.
//! - `alpaca_alpha/alpaca_triple_slope.csv`: every row, the per-second rate exactly against the
//!   port, and the APR within the tolerance of the upstream assertion each row names.

mod common;

use std::collections::BTreeMap;

use common::{csv_rows, u256};
use levfarm_core::math::{Bps, Ray, SECONDS_PER_YEAR, U256};
use levfarm_core::rates::{
    AaveRateModel, InterestRateModel, RateInputs, RateModel, TripleSlopeModel,
};

type Row = BTreeMap<String, String>;

/// An exact decimal (`17.5`, `5549213597.0`, `1.74999999994992e+17`) times `10^scale`.
/// Panics if the result is not an integer: these columns must be read exactly or not at all.
fn decimal(text: &str, scale: i32) -> U256 {
    let text = text.trim();
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.trim_start_matches('+').parse::<i32>().expect("exponent")),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let shift = exponent + scale - frac.len() as i32;
    let ten = U256::from(10);
    if shift >= 0 {
        return u256(&digits) * ten.pow(U256::from(shift));
    }
    let divisor = ten.pow(U256::from(-shift));
    let (quotient, remainder) = u256(&digits).div_rem(divisor);
    assert!(remainder.is_zero(), "{text} * 1e{scale} is not an integer");
    quotient
}

/// A percent column (`17.5`) in basis points.
fn pct_as_bps(text: &str) -> u32 {
    decimal(text, 2).to()
}

/// A basis-point column.
fn bps(text: &str) -> u32 {
    text.trim().parse().expect("bps")
}

fn aave_model(row: &Row) -> AaveRateModel {
    AaveRateModel {
        optimal_usage_ratio_bps: bps(&row["optimalUsageRatio_bps"]),
        base_variable_borrow_rate_bps: bps(&row["baseVariableBorrowRate_bps"]),
        variable_rate_slope1_bps: bps(&row["variableRateSlope1_bps"]),
        variable_rate_slope2_bps: bps(&row["variableRateSlope2_bps"]),
    }
}

fn aave_inputs(row: &Row) -> RateInputs {
    let available = u256(&row["virtualUnderlyingBalance"]) + u256(&row["liquidityAdded"])
        - u256(&row["liquidityTaken"]);
    RateInputs {
        total_debt: u256(&row["totalDebt"]),
        available_liquidity: available,
        unbacked: u256(&row["unbacked"]),
        reserve_factor: Bps(bps(&row["reserveFactor_bps"])),
    }
}

#[test]
fn rates_aave_v3_origin_strategy_rows_match_exactly() {
    let rows = csv_rows("aave_v3/rate_strategy_v2_origin.csv");
    for row in &rows {
        let model = RateModel::Aave(aave_model(row));
        model.validate().unwrap_or_else(|e| panic!("{}: {e}", row["case"]));
        let rates = model.rates(&aave_inputs(row)).unwrap_or_else(|e| panic!("{row:?}: {e}"));
        let case = &row["case"];
        assert_eq!(rates.borrow_rate, Ray(u256(&row["expected_variableBorrowRate_ray"])), "{case}");
        assert_eq!(rates.supply_rate, Ray(u256(&row["expected_liquidityRate_ray"])), "{case}");
    }
    assert_eq!(rows.len(), 6, "every row of the file is checked");
}

fn triple_slope(row: &Row) -> TripleSlopeModel {
    TripleSlopeModel {
        ceil_slope_1_bps: pct_as_bps(&row["CEIL_SLOPE_1_pct"]),
        ceil_slope_2_bps: pct_as_bps(&row["CEIL_SLOPE_2_pct"]),
        ceil_slope_3_bps: pct_as_bps(&row["CEIL_SLOPE_3_pct"]),
        max_interest_slope_1_bps: pct_as_bps(&row["MAX_INTEREST_SLOPE_1_pct"]),
        max_interest_slope_2_bps: pct_as_bps(&row["MAX_INTEREST_SLOPE_2_pct"]),
        max_interest_slope_3_bps: pct_as_bps(&row["MAX_INTEREST_SLOPE_3_pct"]),
    }
}

/// The upstream assertion the row's `source` names, applied to the APR in 1e18.
fn assert_upstream_tolerance(row: &Row, apr: U256) {
    let expected = decimal(&row["test_expected_APR_approx"], 18);
    let diff = if apr > expected { apr - expected } else { expected - apr };
    let source = &row["source"];
    if source.contains("assertAlmostEqual") {
        // test/helpers/assert.ts: |a - b| <= first / 10000,
        // called as assertAlmostEqual(interestPerYear, parseEther(x))
        assert!(diff <= apr / U256::from(10_000), "{row:?}: APR {apr}");
    } else if source.contains("assertCloseBps 1bp") {
        // ATest.assertCloseBps(actual, expected, 1): diff * 1e4 <= expected * 1
        assert!(diff * U256::from(10_000) <= expected, "{row:?}: APR {apr}");
    } else {
        panic!("no known tolerance in {source}");
    }
}

#[test]
fn rates_alpaca_triple_slope_rows_match_port_exactly_and_upstream_in_tolerance() {
    let rows = csv_rows("alpaca_alpha/alpaca_triple_slope.csv");
    for row in &rows {
        let model = triple_slope(row);
        model.validate().unwrap_or_else(|e| panic!("{row:?}: {e}"));
        let (debt, floating) = (u256(&row["debt"]), u256(&row["floating"]));
        let per_second = model.rate_per_second_wad(debt, floating).unwrap();
        assert_eq!(per_second, decimal(&row["port_rate_per_second_1e18"], 0), "{row:?}");
        let apr = per_second * U256::from(SECONDS_PER_YEAR);
        assert_eq!(apr, decimal(&row["port_APR_1e18"], 0), "{row:?}");
        assert_upstream_tolerance(row, apr);

        let inputs = RateInputs {
            total_debt: debt,
            available_liquidity: floating,
            unbacked: U256::ZERO,
            reserve_factor: Bps(0),
        };
        let rates = RateModel::TripleSlope(model).rates(&inputs).unwrap();
        assert_eq!(rates.borrow_rate, Ray(apr * U256::from(1_000_000_000u64)), "{row:?}");
    }
    assert_eq!(rows.len(), 28, "every row of the file is checked");
}

#[test]
fn rates_decimal_helper_reads_the_column_formats_exactly() {
    assert_eq!(decimal("17.5", 2), U256::from(1750));
    assert_eq!(decimal("5549213597.0", 0), U256::from(5_549_213_597u64));
    assert_eq!(decimal("1.74999999994992e+17", 0), U256::from(174_999_999_994_992_000u64));
    assert_eq!(decimal("0.166666667", 18), U256::from(166_666_667_000_000_000u64));
}
