//! The `levfarm` binary: parses arguments, runs a job, prints, exits with a code that means
//! something (0 success, 1 a rejected command, 2 bad input or usage, 3 an I/O failure).

mod backtest;
mod exec;
mod outputs;
mod portfolio;
mod risk;
mod serve;
mod stress;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Leverage mining done properly: an exact engine for leveraged yield farming.
#[derive(Debug, Parser)]
#[command(name = "levfarm", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run a JSON-lines script of commands through the engine and print events as JSON lines.
    Exec(exec::ExecArgs),
    /// Replay a price history through the engine with a leveraged position, its protection
    /// and the alternatives; the bundled default when given no scenario.
    Backtest(backtest::BacktestArgs),
    /// Preview a position on the current pool: amounts, debt ratio, liquidation prices, APY,
    /// and equity after price moves.
    Quote(backtest::QuoteArgs),
    /// Monte Carlo futures of the position across leverages and settings: liquidation
    /// probability, losses, APY, VaR and the recommended maximum leverage.
    Risk(risk::RiskArgs),
    /// Combine the partial results of `levfarm risk --shard` into what one run prints.
    Merge(risk::MergeArgs),
    /// Write a commented example scenario (or its JSON schema).
    Init(backtest::InitArgs),
    /// The protocol designer's stress test: a book of positions through shocks, windows of
    /// history and Monte Carlo futures at minute steps; liquidations, cascades, bad debt.
    Stress(Box<stress::StressArgs>),
    /// Run the leverage-mining service: HTTP API, live dashboard, keepers and alerts over a
    /// durable journal (SQLite by default, PostgreSQL by URL).
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Commands::Exec(args) => exec::run(&args),
        Commands::Backtest(args) => return backtest::backtest(&args),
        Commands::Quote(args) => return backtest::quote(&args),
        Commands::Init(args) => return backtest::init(&args),
        Commands::Risk(args) => return risk::risk(&args),
        Commands::Merge(args) => return risk::merge(&args),
        Commands::Stress(args) => return stress::stress_command(&args),
        Commands::Serve(args) => return serve::serve(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("levfarm: {err:#}");
            }
            ExitCode::from(exec::EXIT_IO)
        }
    }
}
