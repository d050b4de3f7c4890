//! A portfolio's Monte Carlo: a portfolio of one position draws and gives what that
//! position's own risk run does; independent assets' liquidations combine as independent
//! events; perfectly correlated identical positions are one position; the recommendation
//! keeps its limits.

use levfarm_risk::portfolio::{recommend, PortfolioPlan, PortfolioSummary};
use levfarm_risk::Plan;
use levfarm_sim::portfolio::PortfolioBacktest;
use levfarm_sim::Scenario;

/// ETH/USDC and WBTC/USDC pools of the same depth and fees, lent alike, over the bundled
/// histories' common window; `risk` and `positions` complete the file.
fn portfolio(risk: &str, positions: &str) -> PortfolioBacktest {
    let paths = if risk.contains("paths =") { "" } else { "paths = 1024" };
    let steps = if risk.contains("steps_per_day") { "" } else { "steps_per_day = 4" };
    let horizon = if risk.contains("horizon_days") { "" } else { "horizon_days = 90" };
    let text = format!(
        r#"
[data]
start = "2019-01-01"
end = "2019-09-30"
tokens = {{ WBTC = {{ prices = "bundled:BTCUSD_1h" }} }}

[market.pools.btc]
pair = ["WBTC", "USDC"]
tvl = 100000000.0

[market.lending]
USDC = {{}}

[market.utilization]
model = "constant"
value = 0.5

[risk]
{paths}
{horizon}
{steps}
hazard = {{ probability_per_year = 0.0, severity = 0.5 }}
{risk}

[portfolio]
capital = 20000.0
{positions}
"#
    );
    let s = Scenario::from_toml("p.toml", &text).expect("a valid portfolio");
    PortfolioBacktest::load(s).expect("the histories load")
}

const TWO: &str = r#"
[[portfolio.positions]]
name = "eth"
weight = 0.5
position = { leverage = 3.0 }

[[portfolio.positions]]
name = "btc"
weight = 0.5
position = { pool = "btc", leverage = 3.0 }
"#;

fn summary(pf: &PortfolioBacktest) -> (PortfolioPlan, PortfolioSummary) {
    let plan = PortfolioPlan::new(pf, None).expect("a plan");
    let outcomes = plan.run();
    let amounts: Vec<f64> = plan.legs.iter().map(|l| l.amount).collect();
    let s = PortfolioSummary::of(&outcomes, &amounts, plan.venues.len());
    (plan, s)
}

#[test]
fn a_portfolio_of_one_position_is_that_positions_risk() {
    let one = r#"
[[portfolio.positions]]
weight = 1.0
position = { leverage = 3.0 }
protection = { compound_hours = 24 }
"#;
    for model in ["gbm", "bootstrap"] {
        let (risk, joint) = match model {
            "gbm" => (
                "model = { kind = \"gbm\", mu = 0.1, sigma = 1.5 }",
                "[portfolio.risk]\nmodel = \"gbm\"\nassets = { WETH = { mu = 0.1, sigma = 1.5 } }",
            ),
            _ => ("model = { kind = \"bootstrap\", block_hours = 24 }\nsteps_per_day = 24", ""),
        };
        let risk = format!("{risk}\nleverages = []");
        let risk = if model == "bootstrap" { format!("{risk}\npaths = 128") } else { risk };
        let pf = portfolio(&risk, &format!("{one}\n{joint}"));
        let plan = PortfolioPlan::new(&pf, None).unwrap();
        let outcomes = plan.run();
        // The same position alone, as `levfarm risk` runs it.
        let single =
            Plan::new(&pf.positions[0].scenario, &[], Some(&pf.positions[0].prices)).unwrap();
        let amount = plan.legs[0].amount;
        let mut liquidated = 0;
        for start in (0..pf.scenario.risk.paths).step_by(16) {
            let paths: Vec<u64> = (start..start + 16).collect();
            single.in_lanes(&paths, |_, l, r, _| {
                let o = &outcomes[(start as usize) + l];
                let value = r.multiple * amount;
                assert!(
                    (o.values[0] - value).abs() <= 1e-9 * value.abs().max(1.0),
                    "{model} path {}: {} against {value}",
                    start as usize + l,
                    o.values[0]
                );
                assert_eq!(o.liquidated[0], r.liquidated_step.is_some());
                liquidated += usize::from(o.liquidated[0]);
            });
        }
        if model == "gbm" {
            assert!(liquidated > 10, "1.5 volatility at 3x liquidates some paths: {liquidated}");
        }
    }
}

#[test]
fn independent_assets_liquidations_combine_as_independent_events() {
    let risk = "[portfolio.risk]\nmodel = \"gbm\"\n\
                assets = { WETH = { sigma = 1.5 }, WBTC = { sigma = 1.5 } }";
    let (_, s) = summary(&portfolio("", &format!("{TWO}\n{risk}")));
    let (p1, p2) = (s.liquidated[0], s.liquidated[1]);
    assert!(p1 > 0.1 && p2 > 0.1, "{p1} {p2}");
    let expected = 1.0 - (1.0 - p1) * (1.0 - p2);
    let se = (expected * (1.0 - expected) / 1024.0).sqrt();
    assert!(
        (s.any_liquidated - expected).abs() < 4.0 * se,
        "{} against {expected}",
        s.any_liquidated
    );
    assert!((s.expected_liquidated - (p1 + p2)).abs() < 1e-12);
    // Correlated 0.9, they are liquidated together far more often.
    let risk = format!("{risk}\ncorrelation = {{ \"WETH/WBTC\" = 0.9 }}");
    let (_, c) = summary(&portfolio("", &format!("{TWO}\n{risk}")));
    assert!(c.any_liquidated < expected - 4.0 * se, "{} against {expected}", c.any_liquidated);
    assert!(c.diversification_ratio < s.diversification_ratio);
}

#[test]
fn perfectly_correlated_identical_positions_are_one_position() {
    let risk = "[portfolio.risk]\nmodel = \"gbm\"\n\
                assets = { WETH = { sigma = 1.5 }, WBTC = { sigma = 1.5 } }\n\
                correlation = { \"WETH/WBTC\" = 1.0 }";
    let (_, s) = summary(&portfolio("", &format!("{TWO}\n{risk}")));
    // The same shocks, the same pools and loans: the two positions move as one.
    assert!((s.liquidated[0] - s.liquidated[1]).abs() <= 2.0 / 1024.0, "{:?}", s.liquidated);
    assert!((s.any_liquidated - s.liquidated[0]).abs() <= 2.0 / 1024.0);
    assert!((s.diversification_ratio - 1.0).abs() < 1e-3, "{}", s.diversification_ratio);
    // And as the whole capital in the first of them.
    let alone = "[[portfolio.positions]]\nweight = 1.0\nposition = { leverage = 3.0 }\n";
    let risk1 = "[portfolio.risk]\nmodel = \"gbm\"\nassets = { WETH = { sigma = 1.5 } }";
    let (_, one) = summary(&portfolio("", &format!("{alone}\n{risk1}")));
    assert!((one.any_liquidated - s.any_liquidated).abs() <= 2.0 / 1024.0);
    assert!((one.tails[1].cvar - s.tails[1].cvar).abs() < 1e-3, "{:?} {:?}", one.tails, s.tails);
    assert!((one.median_return - s.median_return).abs() < 1e-3);
}

#[test]
fn the_contributions_add_up_to_the_cvar_and_the_recommendation_keeps_its_limits() {
    let risk = "[portfolio.risk]\nmodel = \"gbm\"\n\
                assets = { WETH = { sigma = 1.0, mu = 0.3 }, WBTC = { sigma = 0.6 } }\n\
                correlation = { \"WETH/WBTC\" = 0.5 }\n\
                leverages = [1.0, 2.0, 4.0]\ncvar_limit = 0.5\nliquidation_limit = 0.05";
    let pf = portfolio("paths = 512", &format!("{TWO}\n{risk}"));
    let (_, s) = summary(&pf);
    let sum: f64 = s.contributions.iter().sum();
    assert!((sum - s.tails[1].cvar).abs() < 1e-12, "{sum} against {}", s.tails[1].cvar);
    assert!(s.diversification_ratio > 1.0, "{}", s.diversification_ratio);
    let r = recommend(&pf).unwrap().expect("1x of each keeps within the limits");
    assert!(r.cvar99 <= 0.5 && r.any_liquidated <= 0.05, "{r:?}");
    assert!(r.within_limits > 0 && r.within_limits < r.candidates, "{r:?}");
    assert!((r.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert_eq!(r.candidates, 9 * 11);
    // Tighter than anything can keep: none.
    let mut strict = pf.scenario.clone();
    if let Some(p) = strict.portfolio.as_mut() {
        p.risk.cvar_limit = 1e-6;
    }
    assert!(recommend(&PortfolioBacktest::load(strict).unwrap()).unwrap().is_none());
}

#[test]
fn a_depeg_lowers_a_usdc_pools_dollar_value_as_the_pools_price_says() {
    // A 1x ETH/USDC position with ETH's dollar price still, and USDC 19% under its peg from
    // the first step on: the pool's price in USDC is P/0.81, its liquidity worth √(1/0.81) as
    // much in USDC, and 0.81 of that in dollars: √0.81 = 0.9 of what it was.
    let one = "[[portfolio.positions]]\nweight = 1.0\nposition = { leverage = 1.0 }\n";
    let risk = "[portfolio.risk]\nmodel = \"gbm\"\nassets = { WETH = { sigma = 0.000001 } }";
    let pf = portfolio("paths = 16\nhorizon_days = 1", &format!("{one}\n{risk}"));
    let mut plan = PortfolioPlan::new(&pf, None).unwrap();
    let still = plan.run();
    plan.depeg = Some(levfarm_risk::portfolio::DepegSteps { p: 1.0, depth: 0.19, keep: 1.0 });
    let depegged = plan.run();
    for (a, b) in still.iter().zip(&depegged) {
        let ratio = b.values[0] / a.values[0];
        assert!((ratio - 0.9).abs() < 2e-3, "{ratio}");
    }
}
