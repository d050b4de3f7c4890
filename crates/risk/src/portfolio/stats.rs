//! A portfolio's figures from its paths' outcomes: liquidations, the tails of its loss, each
//! position's share of the tail and its own, venue failures; and the allocation and leverages
//! that do best under the limits.

use serde::Serialize;

use super::PathOutcome;

/// Value at risk and expected shortfall at one level, as shares of the capital (a loss is
/// positive).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tail {
    pub level: f64,
    /// The smallest loss among the worst `1 − level` of paths.
    pub var: f64,
    /// Their mean loss.
    pub cvar: f64,
}

/// What a portfolio's paths say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortfolioSummary {
    pub paths: u64,
    pub capital: f64,
    /// The portfolio's return over the horizon: median, mean, and the probability of a loss.
    pub median_return: f64,
    pub mean_return: f64,
    pub probability_of_loss: f64,
    /// The probability that at least one position is liquidated, its standard error, and the
    /// expected number liquidated.
    pub any_liquidated: f64,
    pub any_liquidated_se: f64,
    pub expected_liquidated: f64,
    /// Each position's probability of liquidation and median return.
    pub liquidated: Vec<f64>,
    pub median_returns: Vec<f64>,
    /// At 95% and 99%.
    pub tails: [Tail; 2],
    /// Each position's mean loss over the portfolio's worst 1% of paths, as a share of the
    /// capital: they sum to the CVaR at 99%.
    pub contributions: Vec<f64>,
    /// Each position's own CVaR at 99% (its worst 1% of paths), as a share of the capital.
    pub standalone_cvar: Vec<f64>,
    /// The standalone CVaRs' sum over the portfolio's CVaR at 99%: above 1, diversification
    /// pays.
    pub diversification_ratio: f64,
    /// The share of paths where `k` venues failed at least once, k = 0, 1, ...
    pub venue_failures: Vec<f64>,
}

/// The worst `1 − level` of `losses` (at least one): their indices, worst first, ties by index.
fn tail(losses: &[f64], level: f64) -> Vec<usize> {
    let n = losses.len();
    let m = (((1.0 - level) * n as f64).ceil() as usize).clamp(1, n.max(1));
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| losses[b].total_cmp(&losses[a]).then(a.cmp(&b)));
    order.truncate(m);
    order
}

fn mean(x: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = x.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        0.0
    } else {
        s / n as f64
    }
}

fn median(mut x: Vec<f64>) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.sort_by(f64::total_cmp);
    let n = x.len();
    if n % 2 == 1 {
        x[n / 2]
    } else {
        (x[n / 2 - 1] + x[n / 2]) / 2.0
    }
}

impl PortfolioSummary {
    /// The figures of `outcomes` for positions of `amounts` (in the numeraire) with `venues`
    /// venues.
    pub fn of(outcomes: &[PathOutcome], amounts: &[f64], venues: usize) -> PortfolioSummary {
        let n = outcomes.len();
        let capital: f64 = amounts.iter().sum();
        let k = amounts.len();
        let returns: Vec<f64> =
            outcomes.iter().map(|o| o.values.iter().sum::<f64>() / capital - 1.0).collect();
        let losses: Vec<f64> = returns.iter().map(|r| -r).collect();
        let any = outcomes.iter().filter(|o| o.liquidated.iter().any(|&x| x)).count() as f64;
        let p_any = any / n.max(1) as f64;
        let position_loss = |o: &PathOutcome, j: usize| (amounts[j] - o.values[j]) / capital;
        let tails = [0.95, 0.99].map(|level| {
            let t = tail(&losses, level);
            Tail {
                level,
                var: t.last().map_or(0.0, |&i| losses[i]),
                cvar: mean(t.iter().map(|&i| losses[i])),
            }
        });
        let worst = tail(&losses, 0.99);
        let contributions: Vec<f64> =
            (0..k).map(|j| mean(worst.iter().map(|&i| position_loss(&outcomes[i], j)))).collect();
        let standalone_cvar: Vec<f64> = (0..k)
            .map(|j| {
                let own: Vec<f64> = outcomes.iter().map(|o| position_loss(o, j)).collect();
                mean(tail(&own, 0.99).iter().map(|&i| own[i]))
            })
            .collect();
        let cvar = tails[1].cvar;
        let mut venue_failures = vec![0.0; venues + 1];
        for o in outcomes {
            venue_failures[(o.venues_failed as usize).min(venues)] += 1.0 / n.max(1) as f64;
        }
        PortfolioSummary {
            paths: n as u64,
            capital,
            median_return: median(returns.clone()),
            mean_return: mean(returns.iter().copied()),
            probability_of_loss: returns.iter().filter(|r| **r < 0.0).count() as f64
                / n.max(1) as f64,
            any_liquidated: p_any,
            any_liquidated_se: (p_any * (1.0 - p_any) / n.max(1) as f64).sqrt(),
            expected_liquidated: mean(
                outcomes.iter().map(|o| o.liquidated.iter().filter(|&&x| x).count() as f64),
            ),
            liquidated: (0..k)
                .map(|j| {
                    outcomes.iter().filter(|o| o.liquidated[j]).count() as f64 / n.max(1) as f64
                })
                .collect(),
            median_returns: (0..k)
                .map(|j| median(outcomes.iter().map(|o| o.values[j] / amounts[j] - 1.0).collect()))
                .collect(),
            tails,
            contributions,
            standalone_cvar: standalone_cvar.clone(),
            diversification_ratio: if cvar > 0.0 {
                standalone_cvar.iter().sum::<f64>() / cvar
            } else {
                f64::NAN
            },
            venue_failures,
        }
    }
}

/// The allocation and leverages that maximise the median return within the limits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub weights: Vec<f64>,
    pub leverages: Vec<f64>,
    pub median_return: f64,
    pub cvar99: f64,
    pub any_liquidated: f64,
    /// Candidates tried, and how many kept within the limits.
    pub candidates: u64,
    pub within_limits: u64,
}
