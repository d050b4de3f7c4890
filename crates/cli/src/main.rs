//! The `levfarm` binary: parses arguments, runs a job, prints, exits with a code that means
//! something (0 success, 1 a rejected command, 2 bad input or usage, 3 an I/O failure).

mod exec;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Commands::Exec(args) => exec::run(&args),
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
