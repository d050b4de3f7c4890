//! Failures injected at every stage of the single writer, and bad clocks: whatever fails, the
//! served state, the writer's working copy (seen through the snapshots it takes and the
//! answers it gives) and a restart all equal the journal's replay.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};

use axum::http::StatusCode;
use levfarm_server::faults::Faults;
use levfarm_server::{service, Journal};
use serde_json::{json, Value};
use support::Harness;

/// Pushes `price` at `time`; the status and body.
async fn push(h: &Harness, price: &str, time: i64) -> (StatusCode, Value) {
    let body = json!({"price": price, "time": time});
    h.call("POST", "/v1/oracle/price", Some(&h.oracle.clone()), Some(body)).await
}

/// The live state equals both the restart (newest snapshot and the commands after it) and
/// the replay of every command from genesis.
async fn assert_served_state_is_the_journal(h: &Harness) {
    let live = h.shared.read().clone();
    let mut journal = Journal::open(&h.store).await.unwrap();
    assert_eq!(journal.next_seq() - 1, live.applied(), "the journal holds what was applied");
    let (genesis, _) = levfarm_server::genesis(&levfarm_server::Config::default()).unwrap();
    let replayed = service::replay_from_genesis(&mut journal, genesis.clone()).await.unwrap();
    assert!(replayed == live, "the full replay differs from the live state");
    let recovered = service::recover(&mut journal, genesis).await.unwrap();
    assert!(recovered == live, "snapshot plus log differs from the live state");
}

/// A user with a 3x position and a price history, so that every price runs the keepers.
async fn market_with_a_position(h: &Harness) -> String {
    let (_, alice) = h.user("alice").await;
    h.price("730", 3600).await;
    h.open(&alice).await;
    alice
}

/// One stage made to fail for `n` passes; what the next price push must answer.
async fn fail_one_stage(stage: fn(&Faults) -> &AtomicU32, n: u32, expect: StatusCode) {
    let h = Harness::new().await;
    let alice = market_with_a_position(&h).await;
    let before = h.shared.read().clone();
    let now = before.now();
    stage(&h.shared.faults).store(n, Ordering::SeqCst);
    let (status, body) = push(&h, "700", now + 3600).await;
    assert_eq!(status, expect, "{body}");
    if expect != StatusCode::OK {
        assert!(h.shared.read().clone() == before, "a failed command changed the served state");
    }
    // The writer's copy went back too: an earlier time than the failed push's is not "before
    // the clock" (when the push was stored, the same time is still taken), and the position
    // can still be closed.
    let again = if expect == StatusCode::OK { now + 3600 } else { now + 1800 };
    let (status, body) = push(&h, "705", again).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let seq_after_fault = h.shared.read().applied();
    for i in 0..6 {
        let (status, body) = push(&h, "710", now + 7200 + i * 60).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = h.call("POST", "/v1/positions/1/close", Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_served_state_is_the_journal(&h).await;
    // The writer went on taking snapshots (one every 5 commands) of a copy equal to the
    // journal: the newest is past the fault, and the restart above started from it.
    let journal = Journal::open(&h.store).await.unwrap();
    let snapshot = journal.latest_snapshot().await.unwrap().expect("snapshots were taken");
    assert!(snapshot.seq > seq_after_fault, "no snapshot since the fault: {}", snapshot.seq);
}

#[tokio::test]
async fn an_action_failing_after_it_applied_leaves_nothing_behind() {
    fail_one_stage(|f| &f.apply, 1, StatusCode::INTERNAL_SERVER_ERROR).await;
}

#[tokio::test]
async fn a_refused_journal_append_leaves_nothing_behind() {
    fail_one_stage(|f| &f.append, 1, StatusCode::SERVICE_UNAVAILABLE).await;
}

#[tokio::test]
async fn a_lost_commit_answer_is_settled_by_asking_the_store() {
    fail_one_stage(|f| &f.answer_lost, 1, StatusCode::OK).await;
}

/// A market with a position, then a price push whose commit answer is lost while the store
/// fails to say what it holds `failures` times: the service, the push's answer, and the clock
/// before the push.
async fn lost_answer_with_a_quiet_store(failures: u32) -> (Harness, StatusCode, Value, i64) {
    let h = Harness::new().await;
    market_with_a_position(&h).await;
    h.shared.faults.answer_lost.store(1, Ordering::SeqCst);
    h.shared.faults.last_stored.store(failures, Ordering::SeqCst);
    let now = h.shared.read().now();
    let (status, body) = push(&h, "700", now + 3600).await;
    (h, status, body, now)
}

#[tokio::test]
async fn a_lost_commit_answer_survives_a_store_that_answers_late() {
    let (h, status, body, _) = lost_answer_with_a_quiet_store(3).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_served_state_is_the_journal(&h).await;
}

#[tokio::test]
async fn a_failed_snapshot_write_loses_nothing() {
    fail_one_stage(|f| &f.snapshot, 1, StatusCode::OK).await;
}

#[tokio::test]
async fn a_store_that_cannot_say_stops_the_writer_instead_of_guessing() {
    let (h, status, body, now) = lost_answer_with_a_quiet_store(u32::MAX).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(h.shared.halted());
    // The batch did land; the served state does not claim it, and a restart has it.
    let mut journal = Journal::open(&h.store).await.unwrap();
    let (genesis, _) = levfarm_server::genesis(&levfarm_server::Config::default()).unwrap();
    let replayed = service::replay_from_genesis(&mut journal, genesis).await.unwrap();
    assert_eq!(replayed.applied(), h.shared.read().applied() + 1);
    assert_eq!(replayed.now(), now + 3600);
}

/// Regression: with a push feed and an open position, a price at i64::MAX answered 500 but
/// moved the writer's clock; the next push was refused as "older than the market's clock",
/// a close failed, and the shutdown snapshot (of the diverged copy) kept the server from
/// restarting. Without a position the same push was accepted and the clock jumped.
#[tokio::test]
async fn a_price_at_i64_max_is_refused_naming_time_and_changes_nothing() {
    for with_position in [true, false] {
        let h = Harness::new().await;
        let alice = if with_position {
            Some(market_with_a_position(&h).await)
        } else {
            h.price("730", 3600).await;
            None
        };
        let before = h.shared.read().clone();
        for time in [i64::MAX, before.now() + 400 * 86_400 * 365 * 100, before.now() - 1] {
            let (status, body) = push(&h, "2000", time).await;
            assert!(status.is_client_error(), "{time}: {status} {body}");
            assert_eq!(body["error"]["field"], "time", "{body}");
        }
        assert!(h.shared.read().clone() == before);
        let (status, body) = push(&h, "731", before.now() + 60).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if let Some(alice) = alice {
            let (status, body) = h.call("POST", "/v1/positions/1/close", Some(&alice), None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        assert_served_state_is_the_journal(&h).await;
    }
}

/// A price further ahead of the wall clock than the market allows is refused; one within it
/// is taken.
#[tokio::test]
#[allow(clippy::disallowed_methods)]
async fn a_price_from_the_future_is_refused() {
    let h = Harness::new().await;
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        as i64;
    let (status, body) = push(&h, "2000", wall + 3600).await;
    assert!(status.is_client_error(), "{body}");
    assert_eq!(body["error"]["field"], "time");
    assert!(body["error"]["message"].as_str().unwrap().contains("max_future_secs"), "{body}");
    let (status, body) = push(&h, "2000", wall + 60).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn orders_survive_snapshots_and_replay() {
    // Orders live in the engine's market: what they keep between runs (a trailing stop's
    // high, when compounding last came due, what fired) must come back the same from a
    // snapshot plus the commands after it, and from the whole journal.
    let h = Harness::new().await;
    let alice = market_with_a_position(&h).await;
    let now = h.shared.read().now();
    for order in [
        json!({"kind": "trailing_stop", "trail": {"price_fall_bps": 4000}}),
        json!({"kind": "deleverage", "trigger_bps": 7500, "target_bps": 6000}),
        json!({"kind": "compound", "every_seconds": 3600}),
        json!({"kind": "time_limit", "at": now + 30 * 86_400}),
    ] {
        let body = json!({"position": 1, "order": order});
        let (status, body) = h.call("POST", "/v1/orders", Some(&alice), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // A rally moves the trailing stop's high to 800; the slide to 560 takes a 3x long opened
    // at 730 past a 75% debt ratio (0.667·√(730/560) = 76%), and the deleverage acts.
    for (i, price) in ["760", "800", "780", "700", "640", "560", "600"].iter().enumerate() {
        let (status, body) = push(&h, price, now + 3600 * (i as i64 + 1)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, orders) = h.call("GET", "/v1/orders", Some(&alice), None).await;
    let fired = |kind: &str| {
        orders.as_array().unwrap().iter().find(|o| o["order"]["kind"] == kind).unwrap()["fired"]
            .as_u64()
            .unwrap()
    };
    assert!(fired("deleverage") >= 1 && fired("compound") >= 1, "{orders}");
    assert_eq!(fired("trailing_stop"), 0, "{orders}");
    let time_limit = orders.as_array().unwrap().iter().find(|o| o["order"]["kind"] == "time_limit");
    assert_eq!(time_limit.unwrap()["order"]["at"].as_i64(), Some(now + 30 * 86_400), "{orders}");
    let trailing =
        orders.as_array().unwrap().iter().find(|o| o["order"]["kind"] == "trailing_stop");
    assert_eq!(trailing.unwrap()["status"], "active", "{orders}");
    assert_served_state_is_the_journal(&h).await;
}
