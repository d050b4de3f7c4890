//! What a run's summaries say to its reader: the recommended maximum leverage, and what must
//! be known to read the figures right. The command line and the report print these words.

use crate::run::Plan;
use crate::stats::Summary;

/// The highest leverage whose liquidation probability (its 95% upper bound) stays within the
/// target, per group of configurations that differ only in leverage.
pub fn recommendations(plan: &Plan, summaries: &[Summary]) -> Vec<String> {
    let target = plan.spec.target_liquidation_probability;
    let mut groups: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for (c, s) in plan.configs.iter().zip(summaries) {
        let rest: Vec<String> = c
            .settings
            .iter()
            .filter(|(k, _)| k != "position.leverage")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let key = rest.join(", ");
        let point = (c.scenario.position.leverage, s.liquidation_ci95.1);
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(point),
            None => groups.push((key, vec![point])),
        }
    }
    let pct = |v: f64| format!("{:.1}%", v * 100.0);
    let paths = plan.spec.paths;
    let floor = crate::stats::wilson(0, paths).1;
    if floor > target {
        // Even no liquidation in `paths` paths cannot show the target: the bound of 0 of n is
        // z²/(n + z²), within the target from n = z²·(1 − t)/t.
        let z2 = 1.959_963_984_540_054_f64.powi(2);
        let needed = (z2 * (1.0 - target) / target).ceil();
        return vec![format!(
            "the sample is too small to recommend a leverage: with {paths} paths even no \
             liquidation at all only bounds the probability below {} (95%), above the target \
             {}; run at least {needed} paths (--paths)",
            pct(floor),
            pct(target)
        )];
    }
    groups
        .into_iter()
        .map(|(key, mut points)| {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            let when = if key.is_empty() { String::new() } else { format!(" ({key})") };
            let passing = points.iter().take_while(|p| p.1 <= target).count();
            let text = if passing == 0 {
                format!(
                    "none of the leverages run{when} keeps the liquidation probability within {} \
                     (95% upper bound); the lowest, {}x, reaches {}",
                    pct(target),
                    points[0].0,
                    pct(points[0].1)
                )
            } else if passing == points.len() {
                format!(
                    "every leverage run{when} keeps the liquidation probability within {} (95% \
                     upper bound), up to {}x; run higher leverages to find the limit",
                    pct(target),
                    points[passing - 1].0
                )
            } else {
                let (a, b) = (points[passing - 1], points[passing]);
                let x = a.0 + (target - a.1) / (b.1 - a.1) * (b.0 - a.0);
                format!(
                    "highest leverage with liquidation probability ≤ {}{when}: about {x:.2}x \
                     (interpolated: {}x gives at most {}, {}x up to {})",
                    pct(target),
                    a.0,
                    pct(a.1),
                    b.0,
                    pct(b.1)
                )
            };
            text
        })
        .collect()
}

/// What a reader must know to read the table right: returns not annualised, losses past 100%,
/// paths beyond the histogram.
pub fn notes(plan: &Plan, summaries: &[Summary]) -> Vec<String> {
    let mut notes = Vec::new();
    if summaries.iter().any(|m| !m.annualised) {
        notes.push(format!(
            "the horizon, {} days, is under 90: the figures are returns over it, not \
             annualised (an annual rate of a few days' return would mislead)",
            plan.spec.horizon_days
        ));
    }
    if summaries.iter().any(|m| m.var99 > 1.0 || m.cvar99 > 1.0 || m.var95 > 1.0) {
        notes.push(
            "a loss above 100% is gas paid after the position lost everything (a protocol \
             hack); positions are non-recourse, nothing more can be lost"
                .into(),
        );
    }
    if let Some(worst) = summaries.iter().map(|m| m.outside_range).reduce(f64::max) {
        if worst > 0.01 {
            notes.push(format!(
                "{:.1}% of the paths of some configuration end below −2x or above 10x the \
                 equity, outside the histogram: quantiles among them are bounds, and the \
                 model settings are extreme (the result is degenerate)",
                worst * 100.0
            ));
        }
    }
    let with_control: Vec<String> = plan
        .configs
        .iter()
        .zip(summaries)
        .filter_map(|(c, m)| {
            // Where it narrows the interval by 5% or more: |ρ| ≥ 0.31.
            let cv = m.liquidation_cv.filter(|cv| cv.correlation.abs() >= 0.31)?;
            let pct = |p: f64| format!("{:.2}%", p * 100.0);
            Some(format!(
                "{} {} ({}–{}; correlation {:.2}; Wilson's {}–{})",
                c.label,
                pct(cv.probability),
                pct(cv.ci95.0),
                pct(cv.ci95.1),
                cv.correlation,
                pct(m.liquidation_ci95.0),
                pct(m.liquidation_ci95.1)
            ))
        })
        .collect();
    if !with_control.is_empty() {
        notes.push(format!(
            "with a control variate (a path's closes crossing the opened position's \
             liquidation price, whose probability GBM gives in closed form), P(liq) is {}",
            with_control.join(", ")
        ));
    }
    notes
}
