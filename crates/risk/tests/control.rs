//! The control variate for the liquidation probability on GBM paths: the closes' first
//! passage through the opened position's liquidation price, whose probability is known in
//! closed form.

use levfarm_risk::Plan;

mod common;

/// Unprotected positions on volatile GBM paths over ten days: many liquidations, most of them
/// where the price passes the opening liquidation price.
fn plan(extra: &[(&str, &str)]) -> Plan {
    let s = common::scenario_with(
        &[
            ("risk.model", "{ kind = \"gbm\", mu = 0.0, sigma = 2.5 }"),
            ("risk.horizon_days", "10"),
            ("risk.paths", "1280"),
            ("risk.start_price", "2000.0"),
            ("risk.leverages", "[3.0]"),
            ("protection.deleverage", "none"),
            ("protection.compound_hours", "none"),
            ("keepers.intrabar", "false"),
        ],
        extra,
    );
    Plan::new(&s, &[], None).unwrap()
}

#[test]
fn the_control_narrows_the_interval_and_agrees_with_the_plain_estimate() {
    for extra in [&[][..], &[("position.borrow", "\"asset\"")][..]] {
        let plan = plan(extra);
        let control = plan.configs[0].control.expect("GBM paths carry a control");
        let stop = std::sync::atomic::AtomicBool::new(false);
        let done = std::sync::atomic::AtomicU64::new(0);
        let partial = plan.run((0, plan.blocks()), (0, 1), &done, &stop).unwrap();
        let m = &plan.summaries(&partial)[0];
        let cv = m.liquidation_cv.expect("enough liquidations and crossings");
        let n = m.paths as f64;
        // The control's share among the paths is its closed-form mean, within 4 standard
        // errors: the paths are GBM and the formula is right.
        let se = (control.mean * (1.0 - control.mean) / n).sqrt();
        assert!(
            (cv.control_share - control.mean).abs() < 4.0 * se,
            "{extra:?}: share {} vs closed form {} (se {se})",
            cv.control_share,
            control.mean
        );
        // The estimate lies within the plain interval, its own is narrower by √(1 − ρ²).
        let (lo, hi) = m.liquidation_ci95;
        assert!(lo <= cv.probability && cv.probability <= hi, "{extra:?}: {cv:?} vs {lo}–{hi}");
        assert!(cv.correlation > 0.5, "{extra:?}: {cv:?}");
        let (plain, with) = (hi - lo, cv.ci95.1 - cv.ci95.0);
        let expect = (1.0 - cv.correlation.powi(2)).sqrt();
        assert!(with < plain * (expect + 0.1), "{extra:?}: width {with} vs {plain}");
    }
}

#[test]
fn models_without_a_closed_form_carry_no_control() {
    let plan = plan(&[(
        "risk.model",
        "{ kind = \"merton\", mu = 0.0, sigma = 0.8, lambda = 10.0, jump_mean = -0.05, \
         jump_std = 0.08 }",
    )]);
    assert!(plan.configs[0].control.is_none());
}
