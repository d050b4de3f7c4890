//! The recommendation: over each position's leverages and the weights on a grid, the
//! allocation with the best median return whose CVaR at 99% and probability that any
//! position is liquidated stay within the limits.
//!
//! Every leverage is run once for every position on the same paths; a candidate's paths are
//! then the weighted sums of its positions' multiples. A position's multiple is taken not to
//! depend on its size (its trades move its pool little), so the weights need no runs of their
//! own.

use levfarm_sim::portfolio::PortfolioBacktest;
use rayon::prelude::*;

use super::{PortfolioPlan, Recommendation};
use crate::RiskError;

/// The weight grid's step for `k` positions: 10% up to three, coarser beyond, so that the
/// candidates stay in the tens of thousands.
pub fn weight_step(k: usize) -> u32 {
    match k {
        0..=3 => 10,
        4..=5 => 5,
        _ => 4,
    }
}

/// Every way of splitting `parts` whole parts among `k` positions, in lexicographic order.
fn splits(k: usize, parts: u32) -> Vec<Vec<u32>> {
    if k == 1 {
        return vec![vec![parts]];
    }
    let mut out = Vec::new();
    for first in (0..=parts).rev() {
        for mut rest in splits(k - 1, parts - first) {
            rest.insert(0, first);
            out.push(rest);
        }
    }
    out
}

/// One position at one leverage: its multiple of what it was given, and whether it was
/// liquidated, on every path.
type Run = (Vec<f64>, Vec<bool>);

/// The search. `Ok(None)` when no candidate keeps within the limits.
pub fn recommend(pf: &PortfolioBacktest) -> Result<Option<Recommendation>, RiskError> {
    let spec =
        pf.scenario.portfolio.as_ref().ok_or_else(|| RiskError::Input("not a portfolio".into()))?;
    let r = &spec.risk;
    let (amounts, _) = spec.amounts();
    let k = amounts.len();
    // multiples[p][o]: position p at leverage option o, per path (None where it does not open).
    let mut multiples: Vec<Vec<Option<Run>>> = vec![Vec::new(); k];
    for &l in &r.leverages {
        // Each position alone at this leverage, so that one that cannot open leaves the rest.
        for (p, column) in multiples.iter_mut().enumerate() {
            let mut only = vec![None; k];
            only[p] = Some(l);
            let run = match PortfolioPlan::new(pf, Some(&only)) {
                Ok(plan) => Some(plan.run()),
                Err(RiskError::Refused(_)) => None,
                Err(e) => return Err(e),
            };
            column.push(run.map(|outs| {
                let m = outs.iter().map(|o| o.values[0] / amounts[p]).collect();
                let liq = outs.iter().map(|o| o.liquidated[0]).collect();
                (m, liq)
            }));
        }
    }
    let options = r.leverages.len();
    let step = weight_step(k);
    let weights = splits(k, step);
    let choices: Vec<Vec<usize>> = (0..options.pow(k as u32))
        .map(|mut c| {
            (0..k)
                .map(|_| {
                    let o = c % options;
                    c /= options;
                    o
                })
                .collect()
        })
        .collect();
    let paths = pf.scenario.risk.paths as usize;
    let tail = ((0.01 * paths as f64).ceil() as usize).clamp(1, paths.max(1));
    let candidates = (choices.len() * weights.len()) as u64;
    // Best per leverage choice, then the best of those, in enumeration order.
    let best: Vec<(u64, Option<Recommendation>)> = choices
        .par_iter()
        .map(|choice| {
            let mut kept = 0u64;
            let mut best: Option<Recommendation> = None;
            let mut returns = vec![0.0; paths];
            let mut liquidated = vec![false; paths];
            for w in &weights {
                let legs: Vec<(f64, &Run)> = match (0..k)
                    .filter(|&p| w[p] > 0)
                    .map(|p| {
                        multiples[p][choice[p]]
                            .as_ref()
                            .map(|m| (f64::from(w[p]) / f64::from(step), m))
                    })
                    .collect::<Option<Vec<_>>>()
                {
                    Some(l) => l,
                    None => continue,
                };
                returns.iter_mut().for_each(|x| *x = -1.0);
                liquidated.iter_mut().for_each(|x| *x = false);
                for (weight, (m, liq)) in &legs {
                    for i in 0..paths {
                        returns[i] += weight * m[i];
                        liquidated[i] |= liq[i];
                    }
                }
                let any = liquidated.iter().filter(|&&x| x).count() as f64 / paths as f64;
                // Order statistics by selection: the worst 1%, then the median.
                let mut v = returns.clone();
                v.select_nth_unstable_by(tail - 1, f64::total_cmp);
                let cvar = -v[..tail].iter().sum::<f64>() / tail as f64;
                let half = paths / 2;
                let (below, mid, _) = v.select_nth_unstable_by(half, f64::total_cmp);
                let median = if paths % 2 == 1 {
                    *mid
                } else {
                    (below.iter().copied().fold(f64::NEG_INFINITY, f64::max) + *mid) / 2.0
                };
                if cvar > r.cvar_limit || any > r.liquidation_limit {
                    continue;
                }
                kept += 1;
                if best.as_ref().is_none_or(|b| median > b.median_return) {
                    best = Some(Recommendation {
                        weights: w.iter().map(|&x| f64::from(x) / f64::from(step)).collect(),
                        leverages: choice.iter().map(|&o| r.leverages[o]).collect(),
                        median_return: median,
                        cvar99: cvar,
                        any_liquidated: any,
                        candidates,
                        within_limits: 0,
                    });
                }
            }
            (kept, best)
        })
        .collect();
    let kept: u64 = best.iter().map(|(n, _)| n).sum();
    let mut winner: Option<Recommendation> = None;
    for (_, b) in best.into_iter() {
        if let Some(b) = b {
            if winner.as_ref().is_none_or(|w| b.median_return > w.median_return) {
                winner = Some(b);
            }
        }
    }
    Ok(winner.map(|w| Recommendation { within_limits: kept, ..w }))
}
