//! `levfarm exec`: commands in as JSON lines, events out as JSON lines.
//!
//! Every output line is one JSON object carrying the script `line` it came from: either an
//! event (`"event": ...`) or an error (`"error": {...}`). Blank lines and lines starting with
//! `#` are skipped.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use levfarm_core::{Command, Market};
use serde_json::{json, Map, Value};

pub const EXIT_REJECTED: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;
pub const EXIT_IO: u8 = 3;

#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Script of commands, one JSON object per line; `-` reads standard input.
    script: PathBuf,
    /// Report a malformed or rejected line and go on with the next, exiting 0.
    #[arg(long)]
    keep_going: bool,
    /// Print a summary of the final market (balances, pools, positions) as the last line.
    #[arg(long)]
    final_state: bool,
}

pub fn run(args: &ExecArgs) -> anyhow::Result<ExitCode> {
    let reader: Box<dyn BufRead> = if args.script.as_os_str() == "-" {
        Box::new(BufReader::new(io::stdin().lock()))
    } else {
        let file = File::open(&args.script)
            .with_context(|| format!("cannot open script {}", args.script.display()))?;
        Box::new(BufReader::new(file))
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let name = args.script.display().to_string();
    let mut market = Market::new();
    let mut failure: Option<u8> = None;
    let mut reader = reader;
    let mut bytes = Vec::new();
    for number in 1.. {
        bytes.clear();
        let read = reader
            .read_until(b'\n', &mut bytes)
            .with_context(|| format!("cannot read line {number} of {name}"))?;
        if read == 0 {
            break;
        }
        // A byte-order mark before the first line is an encoding's marker, not content.
        let body = match bytes.strip_prefix("\u{feff}".as_bytes()) {
            Some(rest) if number == 1 => rest,
            _ => &bytes[..],
        };
        let outcome = match std::str::from_utf8(body) {
            Ok(line) => {
                let text = line.trim();
                if text.is_empty() || text.starts_with('#') {
                    continue;
                }
                step(&mut market, text, number)
            }
            Err(e) => Err(not_utf8(number, &e)),
        };
        let (value, code) = match outcome {
            Ok(events) => {
                for event in events {
                    writeln!(out, "{event}")?;
                }
                continue;
            }
            Err(failed) => failed,
        };
        writeln!(out, "{value}")?;
        report(&name, &value);
        failure.get_or_insert(code);
        if !args.keep_going {
            break;
        }
    }
    if args.final_state && (failure.is_none() || args.keep_going) {
        let summary = market.summary().context("cannot summarise the final state")?;
        writeln!(out, "{}", json!({ "final_state": summary }))?;
    }
    out.flush()?;
    Ok(match failure {
        Some(code) if !args.keep_going => ExitCode::from(code),
        _ => ExitCode::SUCCESS,
    })
}

/// Parses and applies one line: the events tagged with the line, or the error line and exit code.
fn step(market: &mut Market, text: &str, line: usize) -> Result<Vec<Value>, (Value, u8)> {
    let command = Command::from_json_line(text).map_err(|e| {
        let error = json!({ "kind": "malformed", "field": e.field, "message": e.message });
        (json!({ "line": line, "error": error }), EXIT_BAD_INPUT)
    })?;
    let events = market.apply(&command).map_err(|e| {
        let op = op_name(text);
        let error = json!({ "kind": e.kind(), "op": op, "message": e.to_string() });
        (json!({ "line": line, "error": error }), EXIT_REJECTED)
    })?;
    Ok(events.into_iter().map(|event| tag_line(event, line)).collect())
}

/// The error line for a script line that is not UTF-8 text.
fn not_utf8(line: usize, e: &std::str::Utf8Error) -> (Value, u8) {
    let message = format!(
        "not UTF-8 text: an invalid byte at column {} (scripts are UTF-8 JSON)",
        e.valid_up_to() + 1
    );
    let error = json!({ "kind": "malformed", "field": ".", "message": message });
    (json!({ "line": line, "error": error }), EXIT_BAD_INPUT)
}

fn op_name(text: &str) -> Value {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("op").cloned())
        .unwrap_or(Value::Null)
}

fn tag_line(event: levfarm_core::Event, line: usize) -> Value {
    let mut object = Map::new();
    object.insert("line".into(), json!(line));
    if let Ok(Value::Object(fields)) = serde_json::to_value(&event) {
        object.extend(fields);
    }
    Value::Object(object)
}

#[allow(clippy::print_stderr)]
fn report(name: &str, value: &Value) {
    let line = &value["line"];
    let error = &value["error"];
    let at = match error.get("field").and_then(Value::as_str) {
        Some(field) if field != "." => format!(", field {field}"),
        _ => String::new(),
    };
    // One line per error, whatever the message quotes: control characters are escaped.
    let message = levfarm_core::market::strict_json::printable_line(
        error["message"].as_str().unwrap_or("error"),
    );
    eprintln!("{name}:{line}{at}: {message}");
}
