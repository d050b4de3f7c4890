//! `levfarm exec` end to end: the bundled example, located errors, exit codes, standard input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn levfarm(args: &[&str], stdin: &str) -> Output {
    levfarm_bytes(args, stdin.as_bytes())
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
fn every_example_runs_to_its_end() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut ran = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let output = levfarm(&["exec", path.to_str().unwrap()], "");
        assert!(output.status.success(), "{path:?}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(lines(&output).iter().all(|e| e.get("error").is_none()), "{path:?}");
        ran += 1;
    }
    assert!(ran >= 4, "{ran} examples");
}

#[test]
fn protection_orders_run_in_the_engine_a_trailing_stop_ending_the_others() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/protection_orders.jsonl");
    let output = levfarm(&["exec", example], "");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let events = lines(&output);
    let of = |name: &str| events.iter().filter(|e| e["event"] == name).collect::<Vec<_>>();
    let acted = of("order_acted");
    // The daily compounding, then at 1650 the stop 15% under the high of 2400 (2040).
    assert_eq!(acted.len(), 2, "{acted:?}");
    assert_eq!(
        (acted[0]["kind"].as_str(), acted[0]["order"].as_u64()),
        (Some("compound"), Some(1))
    );
    assert_eq!(
        (acted[1]["kind"].as_str(), acted[1]["order"].as_u64()),
        (Some("trailing_stop"), Some(2))
    );
    let ended: Vec<u64> = of("order_ended").iter().map(|e| e["order"].as_u64().unwrap()).collect();
    assert_eq!(ended, vec![1, 3]);
    let closed = of("position_closed");
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["fully"], true);
    assert_eq!(closed[0]["returned0"], "0", "a long closes into USDC");
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

#[test]
fn the_v3_example_reports_every_swap_field_and_keeps_every_token() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/v3_pool.jsonl");
    let output = levfarm(&["exec", example], "");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let events = lines(&output);
    let int = |v: &Value, k: &str| v[k].as_str().unwrap().parse::<i128>().unwrap();
    // v3-core's spec: the full-range 3161 at 1:10 takes 9996 and 1000.
    let first_mint = events.iter().find(|e| e["event"] == "v3_minted").unwrap();
    assert_eq!((int(first_mint, "amount0"), int(first_mint, "amount1")), (9996, 1000));
    let swaps: Vec<_> = events.iter().filter(|e| e["event"] == "v3_swapped").collect();
    assert_eq!(swaps.len(), 3);
    let fields = [
        "pool",
        "holder",
        "zero_for_one",
        "amount0",
        "amount1",
        "sqrt_price_x96_before",
        "tick_before",
        "sqrt_price_x96",
        "tick",
        "liquidity",
        "fee_amount",
        "fee_growth_global0_x128",
        "fee_growth_global1_x128",
        "ticks_crossed",
    ];
    for swap in &swaps {
        for field in fields {
            assert!(!swap[field].is_null(), "{field} missing in {swap}");
        }
        // Each swap starts where the one before ended.
        assert!(swap["tick_before"].is_i64() && swap["tick"].is_i64());
    }
    assert_eq!(swaps[1]["tick_before"], swaps[0]["tick"]);
    assert_eq!(swaps[1]["sqrt_price_x96_before"], swaps[0]["sqrt_price_x96"]);
    // Exact output: exactly the asked 0.05 TKA leaves the pool.
    assert_eq!(int(swaps[1], "amount0"), -50_000_000_000_000_000);
    // The big sell leaves the narrow range through its lower tick.
    assert_eq!(swaps[2]["ticks_crossed"], serde_json::json!([-24000]));
    // What the events say went into the pool, less what was collected, is what it still
    // holds: never negative.
    let sum = |event: &str, key: &str| -> i128 {
        events.iter().filter(|e| e["event"] == event).map(|e| int(e, key)).sum()
    };
    let held0 =
        sum("v3_minted", "amount0") + sum("v3_swapped", "amount0") - sum("v3_collected", "amount0");
    let held1 =
        sum("v3_minted", "amount1") + sum("v3_swapped", "amount1") - sum("v3_collected", "amount1");
    assert!(held0 >= 0 && held1 >= 0, "{held0} {held1}");
}

#[test]
fn the_range_example_recentres_at_its_reported_cost_and_is_liquidated_keeping_every_token() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/range_position.jsonl");
    let output = levfarm(&["exec", "--final-state", example], "");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut events = lines(&output);
    let last = events.pop().unwrap();
    let n = |v: &Value, k: &str| v[k].as_str().unwrap().parse::<u128>().unwrap();
    let contains = |range: &Value, tick: i64| {
        range["tick_lower"].as_i64().unwrap() <= tick
            && tick < range["tick_upper"].as_i64().unwrap()
    };
    // Replay the oracle from the script's own events: `set_price` prices in 1e18 per whole
    // token, `create_token` decimals; and the v3 pool's tick from its swaps.
    let wad = |price: &str| -> u128 {
        let (whole, frac) = price.split_once('.').unwrap_or((price, ""));
        whole.parse::<u128>().unwrap() * 10u128.pow(18)
            + format!("{frac:0<18}").parse::<u128>().unwrap()
    };
    let (mut units, mut prices) =
        (std::collections::BTreeMap::new(), std::collections::BTreeMap::new());
    let (mut tokens, mut tick, mut tick_before_line) = (None, None, None);
    let mut line = 0;
    let mut recentred = None;
    for e in &events {
        if e["line"] != line {
            line = e["line"].as_u64().unwrap();
            tick_before_line = tick;
        }
        match e["event"].as_str().unwrap() {
            "token_created" => {
                let decimals = e["decimals"].as_u64().unwrap() as u32;
                units.insert(e["symbol"].as_str().unwrap(), 10u128.pow(decimals));
            }
            "price_set" => {
                prices.insert(e["token"].as_str().unwrap(), wad(e["price"].as_str().unwrap()));
            }
            "v3_pool_created" if e["pool"] == "ETH-USDC" => {
                tokens = Some([e["token0"].as_str().unwrap(), e["token1"].as_str().unwrap()]);
                tick = e["tick"].as_i64();
            }
            "v3_swapped" if e["pool"] == "ETH-USDC" => tick = e["tick"].as_i64(),
            "position_recentered" => {
                let [t0, t1] = tokens.unwrap();
                // Dust handed back, valued at the oracle as the engine values it: each token
                // rounded down.
                let value = |t: &str, amount: u128| {
                    amount.checked_mul(prices[t]).expect("the dust is small") / units[t]
                };
                let returned = value(t0, n(e, "returned0")) + value(t1, n(e, "returned1"));
                recentred = Some((e.clone(), returned, tick_before_line.unwrap(), tick.unwrap()));
            }
            _ => {}
        }
    }
    let (r, returned_value, tick_before, tick_after) = recentred.expect("a position_recentered");
    // The cost is signed: a re-centre can gain.
    let cost = r["cost"].as_str().unwrap().parse::<i128>().unwrap();
    let kept = (n(&r, "value_after") + returned_value) as i128;
    assert_eq!(cost, n(&r, "value_before") as i128 - kept, "{r}");
    assert!(cost > 0, "the swap and its fee cost something: {r}");
    // The old range had lost the price; the new one, as wide, holds it before and after its
    // own swap.
    assert!(!contains(&r["from"], tick_before), "{tick_before} {r}");
    assert!(contains(&r["to"], tick_before) && contains(&r["to"], tick_after), "{r}");
    let width = |range: &Value| {
        range["tick_upper"].as_i64().unwrap() - range["tick_lower"].as_i64().unwrap()
    };
    assert_eq!(width(&r["to"]), width(&r["from"]));
    // `inspect_position` agrees: out of range in the old range before, in the new one after,
    // holding the liquidity the re-centring minted.
    let at = events.iter().position(|e| e["event"] == "position_recentered").unwrap();
    let is_status = |e: &&Value| e["event"] == "position_status";
    let before = events[..at].iter().rev().find(is_status).unwrap();
    let after = events[at..].iter().find(is_status).unwrap();
    assert_eq!((&before["range"], &before["in_range"]), (&r["from"], &Value::Bool(false)));
    assert_eq!((&after["range"], &after["in_range"]), (&r["to"], &Value::Bool(true)));
    assert_eq!(after["lp"], r["liquidity_after"]);
    // Liquidated past the kill factor, debt in WETH only: Alpaca's kill arithmetic on token0.
    let kill = events.last().unwrap();
    assert_eq!(kill["event"], "position_liquidated");
    assert!(kill["health_before"]["debt_ratio_bps"].as_u64().unwrap() > 8333, "{kill}");
    let back =
        n(kill, "prize0") + n(kill, "treasury_fee0") + n(kill, "repaid0") + n(kill, "returned0");
    assert_eq!(n(kill, "prize0"), back / 100);
    assert_eq!(n(kill, "treasury_fee0"), back * 4 / 100);
    let debt0 = kill["health_before"]["debt"][0].as_str().unwrap().parse::<u128>().unwrap();
    assert_eq!(n(kill, "repaid0"), debt0);
    assert_eq!((n(kill, "bad_debt0"), n(kill, "bad_debt1")), (0, 0));
    // The final state: the position closed, no debt left, every minted unit somewhere.
    let state = &last["final_state"];
    assert_eq!(state["positions"][0]["open"], false);
    for pool in state["lending"].as_array().unwrap() {
        assert_eq!(pool["total_debt"], "0", "{pool}");
    }
    let tokens = state["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 3);
    for t in tokens {
        assert_eq!(
            n(t, "held") + n(t, "lending_cash") + n(t, "amm_reserves") + n(t, "farm_balances"),
            n(t, "minted"),
            "{t}"
        );
    }
}

/// Regression (docs/exec.md missed `uniswap_v3`): every kind the engine's errors report, read
/// off `Error::kind` in the source, is listed in the documentation's list of kinds.
#[test]
fn the_docs_list_every_error_kind_the_engine_returns() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let source = std::fs::read_to_string(root.join("crates/core/src/error.rs")).unwrap();
    let body = &source[source.find("pub fn kind(&self)").expect("Error::kind")..];
    let body = &body[..body.find("\n    }\n").unwrap()];
    let kinds: Vec<&str> =
        body.split("=> \"").skip(1).map(|rest| &rest[..rest.find('"').unwrap()]).collect();
    assert!(kinds.len() > 20, "read {} kinds off Error::kind", kinds.len());
    let docs = std::fs::read_to_string(root.join("docs/exec.md")).unwrap();
    let listed = &docs[docs.find("`kind` for a refused command is one of:").unwrap()..];
    let listed = &listed[..listed.find("\n\n").unwrap()];
    for kind in kinds {
        assert!(listed.contains(&format!("`{kind}`")), "docs/exec.md does not list `{kind}`");
    }
}

fn levfarm_bytes(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_levfarm"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("levfarm runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// The error line a one-line script (after `SETUP`) gets, and the exit code.
fn refusal(line: &str) -> (Value, Option<i32>) {
    let output = levfarm(&["exec", "-"], &format!("{SETUP}{line}\n"));
    let last = lines(&output).pop().expect("an error line");
    assert_eq!(last["line"], 3, "{last}");
    (last["error"].clone(), output.status.code())
}

/// Regressions from the robustness review: a duplicate key switched the command; empty and
/// control-character names were accepted (and a newline split the error line); `mint` of 0
/// was accepted; `advance_time` to u64::MAX then read "time cannot go backwards".
#[test]
fn exec_refuses_what_it_used_to_accept_and_says_where() {
    let (e, code) =
        refusal(r#"{"op":"mint","to":"bob","token":"USDC","amount":"1","op":"transfer"}"#);
    assert_eq!((e["kind"].as_str(), code), (Some("malformed"), Some(2)), "{e}");
    assert!(e["message"].as_str().unwrap().contains("`op` is given twice"), "{e}");
    for (to, field) in [(r#""""#, "to"), (r#""bo\nb""#, "to"), (r#""\u0007""#, "to")] {
        let (e, code) =
            refusal(&format!(r#"{{"op":"mint","to":{to},"token":"USDC","amount":"1"}}"#));
        assert_eq!((e["field"].as_str(), code), (Some(field), Some(2)), "{e}");
    }
    let (e, code) = refusal(r#"{"op":"mint","to":"bob","token":"USDC","amount":"0"}"#);
    assert_eq!((e["kind"].as_str(), code), (Some("amount_too_small"), Some(1)), "{e}");
    let (e, code) = refusal(r#"{"op":"advance_time","seconds":18446744073709551615}"#);
    assert_eq!((e["kind"].as_str(), code), (Some("invalid"), Some(1)), "{e}");
    assert!(e["message"].as_str().unwrap().contains("9999-12-31"), "{e}");
    // A name with a newline in an error message stays on one line of standard error.
    let output =
        levfarm(&["exec", "-"], "{\"op\":\"set_price\",\"token\":\"A\\nB\",\"price\":\"1\"}\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// Regressions: a UTF-8 byte-order mark broke the first line; invalid UTF-8 exited 3 with no
/// JSON error line, even with `--keep-going`.
#[test]
fn exec_reads_a_bom_and_reports_invalid_utf8_as_a_line() {
    let script = format!("\u{feff}{SETUP}");
    let output = levfarm(&["exec", "-"], &script);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut bytes = SETUP.as_bytes().to_vec();
    bytes.extend_from_slice(
        b"{\"op\":\"mint\",\"to\":\"b\xffb\",\"token\":\"USDC\",\"amount\":\"1\"}\n",
    );
    bytes.extend_from_slice(
        b"{\"op\":\"mint\",\"to\":\"bob\",\"token\":\"USDC\",\"amount\":\"1\"}\n",
    );
    let stopped = levfarm_bytes(&["exec", "-"], &bytes);
    assert_eq!(stopped.status.code(), Some(2));
    let error = lines(&stopped).pop().unwrap();
    assert_eq!(
        (error["line"].as_u64(), error["error"]["kind"].as_str()),
        (Some(3), Some("malformed"))
    );
    assert!(error["error"]["message"].as_str().unwrap().contains("column 21"), "{error}");
    let kept = levfarm_bytes(&["exec", "--keep-going", "-"], &bytes);
    assert_eq!(kept.status.code(), Some(0));
    let last = lines(&kept).pop().unwrap();
    assert_eq!((last["line"].as_u64(), last["event"].as_str()), (Some(4), Some("minted")));
}
