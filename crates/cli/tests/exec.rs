//! `levfarm exec` end to end: the bundled example, located errors, exit codes, standard input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn levfarm(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_levfarm"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("levfarm runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const SETUP: &str = r#"{"op":"create_token","symbol":"USDC","decimals":6}
{"op":"mint","to":"alice","token":"USDC","amount":"5"}
"#;

#[test]
fn the_bundled_example_liquidates_the_3x_position_after_the_crash() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/leveraged_farm.jsonl");
    let output = levfarm(&["exec", example], "");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let events = lines(&output);
    let last = events.last().unwrap();
    assert_eq!(last["event"], "position_liquidated");
    // Alpaca kill arithmetic on the event's own numbers: prize 1%, treasury 4% of what came back.
    let n = |k: &str| last[k].as_str().unwrap().parse::<u128>().unwrap();
    let back = n("prize1") + n("treasury_fee1") + n("repaid1") + n("returned1");
    assert_eq!(n("prize1"), back / 100);
    assert_eq!(n("treasury_fee1"), back * 4 / 100);
    assert_eq!(n("bad_debt1"), 0);
    // Every output line names the script line it came from.
    assert!(events.iter().all(|e| e["line"].as_u64().is_some()));
}

#[test]
fn a_malformed_line_names_the_line_and_field_and_exits_2() {
    let script = format!("{SETUP}\n{{\"op\":\"mint\",\"to\":\"bob\",\"token\":\"USDC\",\"amount\":\"12.5\"}}\n{{\"op\":\"mint\",\"to\":\"bob\",\"token\":\"USDC\",\"amount\":\"1\"}}\n");
    let output = levfarm(&["exec", "-"], &script);
    assert_eq!(output.status.code(), Some(2));
    let events = lines(&output);
    let error = events.last().unwrap();
    assert_eq!(error["line"], 4);
    assert_eq!(error["error"]["kind"], "malformed");
    assert_eq!(error["error"]["field"], "amount");
    assert_eq!(events.len(), 3, "two events before the bad line, nothing after it");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("-:4, field amount:"), "{stderr}");
}

#[test]
fn a_rejected_command_exits_1_unless_keep_going() {
    let script = format!("{SETUP}{{\"op\":\"transfer\",\"from\":\"alice\",\"to\":\"bob\",\"token\":\"USDC\",\"amount\":\"6\"}}\n{{\"op\":\"transfer\",\"from\":\"alice\",\"to\":\"bob\",\"token\":\"USDC\",\"amount\":\"5\"}}\n");
    let stopped = levfarm(&["exec", "-"], &script);
    assert_eq!(stopped.status.code(), Some(1));
    let error = lines(&stopped).last().cloned().unwrap();
    assert_eq!(error["line"], 3);
    assert_eq!(error["error"]["kind"], "insufficient_balance");
    assert_eq!(error["error"]["op"], "transfer");

    let kept = levfarm(&["exec", "--keep-going", "-"], &script);
    assert_eq!(kept.status.code(), Some(0));
    let last = lines(&kept).last().cloned().unwrap();
    assert_eq!(last["event"], "transferred");
    assert_eq!(last["line"], 4);
    assert_eq!(last["amount"], "5");
}

#[test]
fn a_missing_script_is_an_io_error() {
    let output = levfarm(&["exec", "no/such/script.jsonl"], "");
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no/such/script.jsonl"));
}

#[test]
fn the_final_state_accounts_for_every_minted_token() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/leveraged_farm.jsonl");
    let output = levfarm(&["exec", "--final-state", example], "");
    assert!(output.status.success());
    let last = lines(&output).pop().unwrap();
    let tokens = last["final_state"]["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 3);
    for t in tokens {
        let n = |k: &str| t[k].as_str().unwrap().parse::<u128>().unwrap();
        assert_eq!(
            n("held") + n("lending_cash") + n("amm_reserves") + n("farm_balances"),
            n("minted"),
            "{t}"
        );
    }
    // Rates and indices are decimal strings of 1e27, never hex.
    let index = last["final_state"]["lending"][0]["borrow_index"].as_str().unwrap();
    assert!(index.bytes().all(|b| b.is_ascii_digit()) && index.len() == 28, "{index}");
}
