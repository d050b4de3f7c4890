//! `levfarm stress`: a book of positions on the scenario's market under instantaneous price
//! shocks, with the liquidators in rounds and their cascades.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use levfarm_sim::stress::{stress, BookSpec, StressOutput};

use crate::backtest::{finish, load, Failure, ScenarioArgs};
use crate::exec::EXIT_BAD_INPUT;
use crate::table;

#[derive(Debug, clap::Args)]
pub struct StressArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Positions in the book.
    #[arg(long, default_value_t = 1_000)]
    positions: usize,
    /// The book's seed: the same seed draws the same book.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Each position's equity: the median of its log-normal draw, in the numeraire.
    #[arg(long, default_value_t = 5_000.0)]
    median_equity: f64,
    /// Leverage drawn uniformly between these two: `--leverage 1.5,3.2`.
    #[arg(long, value_delimiter = ',', default_values_t = [1.5, 3.2])]
    leverage: Vec<f64>,
    /// The share of positions that borrow the asset (short).
    #[arg(long, default_value_t = 0.2)]
    short_share: f64,
    /// The oracle's instantaneous moves: `--shocks=-0.1,-0.2,-0.3,-0.5`.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true, default_values_t = [-0.1, -0.2, -0.3, -0.5])]
    shocks: Vec<f64>,
    /// The asset's price before the shocks; the data's last close when omitted.
    #[arg(long)]
    price: Option<f64>,
    /// Print the results as JSON instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn stress_command(args: &StressArgs) -> ExitCode {
    finish(run(args))
}

fn run(args: &StressArgs) -> Result<(), Failure> {
    let bad = |m: String| Failure(EXIT_BAD_INPUT, m);
    if !(args.median_equity.is_finite() && args.median_equity > 0.0 && args.median_equity <= 1e9) {
        return Err(bad(format!(
            "--median-equity {}: above 0 and at most 1e9",
            args.median_equity
        )));
    }
    if !(args.short_share.is_finite() && (0.0..=1.0).contains(&args.short_share)) {
        return Err(bad(format!("--short-share {}: between 0 and 1", args.short_share)));
    }
    if args.leverage.len() != 2 {
        return Err(bad(format!(
            "--leverage: two numbers, low and high (1.5,3.2), not {:?}",
            args.leverage
        )));
    }
    if args.shocks.is_empty() || args.shocks.len() > 64 {
        return Err(bad("--shocks: 1 to 64 moves".into()));
    }
    let backtest = load(&args.scenario)?;
    let price = match args.price {
        Some(p) => levfarm_sim::world::price_from_f64(p)
            .map_err(|_| bad(format!("--price {p}: a positive price")))?,
        None => *backtest.prices.closes.last().ok_or_else(|| bad("no prices".into()))?,
    };
    if price.0.is_zero() {
        return Err(bad("--price: a positive price".into()));
    }
    let spec = BookSpec {
        positions: args.positions,
        seed: args.seed,
        median_equity: args.median_equity,
        equity_spread: BookSpec::default().equity_spread,
        leverage: (args.leverage[0], args.leverage[1]),
        short_share: args.short_share,
    };
    let out = stress(&backtest.scenario, price, &spec, &args.shocks)?;
    let mut o = io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut o, &out).context("cannot write JSON")?;
        writeln!(o)?;
    } else {
        write!(o, "{}", summary(&out))?;
    }
    Ok(())
}

fn summary(out: &StressOutput) -> String {
    let mut s = format!(
        "a book on the market of {:?}\n{} positions opened ({} refused past the work factor) at \
         {:.2}: equity {}, debt {}\n\n",
        out.scenario,
        out.opened,
        out.refused,
        out.price,
        table::money(out.equity),
        table::money(out.debt)
    );
    let header = [
        "shock",
        "price",
        "at risk",
        "debt at risk",
        "liquidated",
        "debt liquidated",
        "cascade rounds",
        "bad debt",
        "of the debt",
        "liquidators paid",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<Vec<String>> = out
        .shocks
        .iter()
        .map(|x| {
            vec![
                format!("{:+.0}%", x.shock * 100.0),
                format!("{:.2}", x.price),
                x.at_risk.to_string(),
                table::money(x.at_risk_debt),
                x.liquidated.to_string(),
                table::money(x.liquidated_debt),
                x.rounds.len().to_string(),
                table::money(x.bad_debt),
                table::percent(if out.debt > 0.0 { x.bad_debt / out.debt } else { 0.0 }),
                table::money(x.liquidators_paid),
            ]
        })
        .collect();
    s.push_str(&table::render(&header, &rows));
    s.push_str(
        "at risk: past the kill factor right after the move; cascade rounds: rounds of kills, \
         each after the last one's selling through the pool (1: no cascade)\n",
    );
    s
}
