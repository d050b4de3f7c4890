//! The API through its router, without sockets: a position's life, keepers, the staleness
//! guard, recovery, live updates, metrics and the OpenAPI document.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use levfarm_server::{service, Journal};
use serde_json::{json, Value};
use support::Harness;
use tower::ServiceExt;

fn int(v: &Value) -> i128 {
    v.as_str().unwrap_or_else(|| panic!("not a decimal string: {v}")).parse().unwrap()
}

/// The decomposition's parts add up to its total, and the total is equity less what the
/// owner put in, to the last 1e-18.
fn assert_books(p: &Value) {
    let parts: i128 = p["pnl"]["parts"].as_array().unwrap().iter().map(|kv| int(&kv[1])).sum();
    assert_eq!(parts, int(&p["pnl"]["total"]), "{p}");
    assert_eq!(int(&p["pnl"]["total"]), int(&p["equity"]) - int(&p["contributed"]), "{p}");
}

#[tokio::test]
async fn a_position_is_quoted_opened_marked_and_stopped_out() {
    position_life(Harness::new().await).await;
}

#[tokio::test]
async fn a_position_lives_the_same_life_on_postgres() {
    if let Some(h) = Harness::on_postgres().await {
        position_life(h).await;
    }
}

async fn position_life(h: Harness) {
    let (_, alice) = h.user("alice").await;
    let body = json!({"equity1": "1000000000", "leverage": "3"});

    // No price since the start: the staleness guard refuses to open.
    let (status, err) = h.call("POST", "/v1/positions", Some(&alice), Some(body.clone())).await;
    assert_eq!(
        (status, err["error"]["kind"].as_str()),
        (StatusCode::CONFLICT, Some("stale_price")),
        "{err}"
    );

    h.price("730", 3600).await;
    let (status, quote) = h.call("POST", "/v1/quote", Some(&alice), Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    // 3x on 1,000 USDC borrows 2,000 USDC exactly.
    assert_eq!(quote["borrow"], json!(["0", "2000000000"]));
    let opened = h.open(&alice).await;
    // The quote ran the same open on a copy: the same exact health.
    assert_eq!(opened["health"], quote["health"]);
    assert_eq!(opened["equity"], quote["equity_after"]);
    let lower = int(&opened["liquidation_prices"]["lower"]);
    assert!(lower > 0 && lower < 730 * 10i128.pow(18), "{opened}");
    assert_books(&opened);
    let id = opened["id"].as_u64().unwrap();

    // The price moves: the position is marked, its history grows, its books still add up.
    h.price("760", 3600).await;
    let (_, p) = h.call("GET", &format!("/v1/positions/{id}"), Some(&alice), None).await;
    assert!(int(&p["equity"]) > int(&opened["equity"]), "a long gains when the price rises: {p}");
    assert_books(&p);
    let (_, history) =
        h.call("GET", &format!("/v1/positions/{id}/history"), Some(&alice), None).await;
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");

    // A stop-loss below 700 does nothing at 720 and closes the position at 690.
    let order =
        json!({"position": id, "order": {"kind": "stop_loss", "trigger": {"below": "700"}}});
    let (status, placed) = h.call("POST", "/v1/orders", Some(&alice), Some(order)).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    h.price("720", 3600).await;
    let (_, o) = h.call("GET", "/v1/orders/1", Some(&alice), None).await;
    assert_eq!((o["status"].as_str(), o["fired"].as_u64()), (Some("active"), Some(0)), "{o}");
    let report = h.price("690", 3600).await;
    let lines = report["lines"].as_array().unwrap();
    assert!(lines.iter().any(|l| l["step"] == "protection" && l["outcome"] == "acted"), "{report}");
    let (_, o) = h.call("GET", "/v1/orders/1", Some(&alice), None).await;
    assert_eq!((o["status"].as_str(), o["fired"].as_u64()), (Some("done"), Some(1)), "{o}");
    let (_, p) = h.call("GET", &format!("/v1/positions/{id}"), Some(&alice), None).await;
    assert_eq!(
        (p["open"].as_bool(), p["closed"]["how"].as_str()),
        (Some(false), Some("stopped out")),
        "{p}"
    );
    assert_eq!(int(&p["equity"]), 0);
    assert_books(&p);
    let protection: i128 = p["pnl"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|kv| kv[0] == "protection costs")
        .map(|kv| int(&kv[1]))
        .sum();
    assert!(protection < 0, "closing costs fees and impact: {p}");
    let (_, alerts) = h.call("GET", "/v1/alerts", Some(&alice), None).await;
    assert_eq!(alerts["alerts"][0]["kind"], "stop_loss", "{alerts}");
    // The portfolio: one position, closed; its books are the position's.
    let (s, pf) = h.call("GET", "/v1/portfolio", Some(&alice), None).await;
    assert_eq!(s, StatusCode::OK, "{pf}");
    assert_eq!((pf["positions"].as_u64(), pf["open"].as_u64()), (Some(1), Some(0)), "{pf}");
    assert_eq!(pf["pnl"], p["pnl"], "{pf}");
    assert_eq!(pf["contributed"], p["contributed"]);
    assert!(pf["debt_ratio_bps"].is_null() && pf["venues"].as_array().unwrap().is_empty(), "{pf}");
    let (s, _) = h.call("GET", "/v1/portfolio", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The closed position's owner got its equity back in the wallet.
    let (_, me) = h.call("GET", "/v1/me", Some(&alice), None).await;
    assert!(
        me["wallet"]["balances"][1][1].as_str().unwrap().parse::<u128>().unwrap() > 99_000_000_000,
        "{me}"
    );
}

#[tokio::test]
async fn protection_runs_before_liquidation_on_the_same_price() {
    let h = Harness::new().await;
    let (_, alice) = h.user("alice").await;
    let (_, bob) = h.user("bob").await;
    h.price("730", 3600).await;
    let a = h.open(&alice).await["id"].as_u64().unwrap();
    let b = h.open(&bob).await["id"].as_u64().unwrap();
    // Alice deleverages at a 75% debt ratio down to 50%; Bob has no protection.
    let order = json!({"position": a, "order": {"kind": "deleverage", "trigger_bps": 7500, "target_bps": 5000}});
    assert_eq!(
        h.call("POST", "/v1/orders", Some(&alice), Some(order)).await.0,
        StatusCode::CREATED
    );
    // A 3x long opened at 730 (debt ratio 66.7%) passes the 83.33% kill factor below
    // about 469: a crash to 460 puts both past it at once.
    let report = h.price("460", 3600).await;
    let lines = report["lines"].as_array().unwrap();
    let step = |pos: u64, step: &str| {
        lines
            .iter()
            .position(|l| l["position"] == pos && l["step"] == step && l["outcome"] == "acted")
    };
    let protected =
        step(a, "protection").unwrap_or_else(|| panic!("alice's deleverage did not act: {report}"));
    let liquidated =
        step(b, "liquidation").unwrap_or_else(|| panic!("bob was not liquidated: {report}"));
    assert!(protected < liquidated, "protection first: {report}");
    assert_eq!(step(a, "liquidation"), None, "alice's deleverage saved her: {report}");
    let (_, pa) = h.call("GET", &format!("/v1/positions/{a}"), Some(&alice), None).await;
    assert!(
        pa["open"].as_bool().unwrap() && pa["health"]["debt_ratio_bps"].as_u64().unwrap() <= 5_100,
        "{pa}"
    );
    let (_, pb) = h.call("GET", &format!("/v1/positions/{b}"), Some(&bob), None).await;
    assert_eq!(pb["closed"]["how"], "liquidated", "{pb}");
    let liquidation: i128 = pb["pnl"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|kv| kv[0] == "liquidation costs")
        .map(|kv| int(&kv[1]))
        .sum();
    assert!(liquidation < 0, "the kill prize and fee are a cost: {pb}");
    assert_books(&pa);
    assert_books(&pb);
    let (_, alerts) = h.call("GET", "/v1/alerts", Some(&bob), None).await;
    assert_eq!(alerts["alerts"][0]["kind"], "liquidated", "{alerts}");
}

#[tokio::test]
async fn adjustments_and_alert_thresholds() {
    let h = Harness::new().await;
    let (_, alice) = h.user("alice").await;
    h.price("730", 3600).await;
    let id = h.open(&alice).await["id"].as_u64().unwrap();
    let path = |what: &str| format!("/v1/positions/{id}/{what}");
    let (s, p) = h
        .call("POST", &path("collateral"), Some(&alice), Some(json!({"amount1": "500000000"})))
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert!(p["health"]["leverage_bps"].as_u64().unwrap() < 25_000, "{p}");
    assert_books(&p);
    let (s, p) =
        h.call("POST", &path("reduce"), Some(&alice), Some(json!({"share_bps": 2500}))).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_books(&p);
    let (s, p) =
        h.call("POST", &path("leverage"), Some(&alice), Some(json!({"leverage": "1.5"}))).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let lev = p["health"]["leverage_bps"].as_u64().unwrap();
    assert!((14_500..=15_500).contains(&lev), "leverage {lev}: {p}");
    // Raising leverage borrows more into the same position: the same id, more debt, the
    // books carried on.
    let debt = |v: &Value| v["health"]["debt"][1].as_str().unwrap().parse::<u128>().unwrap();
    let (s, up) =
        h.call("POST", &path("leverage"), Some(&alice), Some(json!({"leverage": "2.5"}))).await;
    assert_eq!(s, StatusCode::OK, "{up}");
    assert_eq!(up["id"].as_u64(), Some(id), "{up}");
    assert!(debt(&up) > debt(&p), "{up}");
    assert!(up.get("replaces").is_none(), "{up}");
    let lev = up["health"]["leverage_bps"].as_u64().unwrap();
    assert!((24_000..=26_000).contains(&lev), "leverage {lev}: {up}");
    assert_books(&up);

    // Alert at a 70% debt ratio: once when crossed, not again while above, again after.
    let (s, _) = h
        .call("PUT", "/v1/alerts/settings", Some(&alice), Some(json!({"debt_ratio_bps": 7000})))
        .await;
    assert_eq!(s, StatusCode::OK);
    let count = |v: &Value| {
        v["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "debt_ratio").count()
    };
    // A 2.5x long's debt ratio is 60% at 730 and about 0.6·√(730/p) at p: 70% below 536.
    h.price("600", 3600).await;
    let (_, a) = h.call("GET", "/v1/alerts", Some(&alice), None).await;
    assert_eq!(count(&a), 0, "{a}");
    h.price("520", 3600).await;
    let (_, a) = h.call("GET", "/v1/alerts", Some(&alice), None).await;
    assert_eq!(count(&a), 1, "{a}");
    h.price("515", 3600).await;
    assert_eq!(count(&h.call("GET", "/v1/alerts", Some(&alice), None).await.1), 1);
    h.price("730", 3600).await;
    h.price("520", 3600).await;
    assert_eq!(count(&h.call("GET", "/v1/alerts", Some(&alice), None).await.1), 2);

    let (s, closed) =
        h.call("POST", &format!("/v1/positions/{id}/close"), Some(&alice), None).await;
    assert_eq!((s, closed["open"].as_bool()), (StatusCode::OK, Some(false)), "{closed}");
    assert_books(&closed);
    let (s, again) = h.call("POST", &format!("/v1/positions/{id}/close"), Some(&alice), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{again}");
}

#[tokio::test]
async fn a_restart_rebuilds_the_same_state_from_the_journal() {
    restart_rebuilds_the_same_state(Harness::new().await).await;
}

#[tokio::test]
async fn a_restart_rebuilds_the_same_state_from_a_postgres_journal() {
    if let Some(h) = Harness::on_postgres().await {
        assert_eq!(h.shared.backend, levfarm_server::Backend::Postgres);
        restart_rebuilds_the_same_state(h).await;
    }
}

/// Funds, a position, a top-up order that acts on falling prices; then a second reader of
/// the same journal replays it to an equal state.
async fn restart_rebuilds_the_same_state(h: Harness) {
    let (_, alice) = h.user("alice").await;
    h.price("730", 3600).await;
    let id = h.open(&alice).await["id"].as_u64().unwrap();
    let order = json!({"position": id, "order": {"kind": "top_up", "trigger_bps": 7000, "target_bps": 6000, "reserve": "300000000"}});
    assert_eq!(
        h.call("POST", "/v1/orders", Some(&alice), Some(order)).await.0,
        StatusCode::CREATED
    );
    for p in ["700", "650", "640", "700"] {
        h.price(p, 3600).await;
    }
    let (_, o) = h.call("GET", "/v1/orders/1", Some(&alice), None).await;
    assert!(o["fired"].as_u64().unwrap() >= 1, "the top-up acted: {o}");
    let live = h.shared.read().clone();
    let mut journal = Journal::open(&h.store).await.unwrap();
    let (genesis, _) = levfarm_server::genesis(&levfarm_server::Config::default()).unwrap();
    // From the newest snapshot plus the commands after it.
    let snapshot = journal.latest_snapshot().await.unwrap().expect("the writer took snapshots");
    assert!(snapshot.seq > 1 && snapshot.seq <= live.applied());
    let recovered = service::recover(&mut journal, genesis.clone()).await.unwrap();
    assert_eq!(recovered.applied(), live.applied());
    assert!(recovered == live, "snapshot plus log differs from the live state");
    // From genesis, every command: the same state again.
    let replayed = service::replay_from_genesis(&mut journal, genesis.clone()).await.unwrap();
    assert!(replayed == live, "the full replay differs from the live state");
    // The snapshot is the state it claims, byte for byte.
    let at = service::decode(&snapshot).unwrap();
    assert_eq!(service::encode(&at).unwrap(), snapshot);
    // A damaged snapshot is refused; recovery falls back to the whole journal.
    let mut bad = snapshot.clone();
    let middle = bad.body.len() / 2;
    bad.body[middle] ^= 1;
    assert!(service::decode(&bad).unwrap_err().to_string().contains("SHA-256"));
}

#[tokio::test]
async fn live_updates_reach_their_owner_only() {
    let h = Harness::new().await;
    let (_, alice) = h.user("alice").await;
    let (_, bob) = h.user("bob").await;
    h.price("730", 3600).await;
    let request = |token: &str| {
        Request::get("/v1/events")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let alice_stream = h.app.clone().oneshot(request(&alice)).await.unwrap();
    assert_eq!(alice_stream.headers()["content-type"], "text/event-stream");
    let mut alice_body = alice_stream.into_body();
    let bob_id = h.open(&bob).await["id"].as_u64().unwrap();
    h.price("731", 3600).await;
    let mut text = String::new();
    while !text.contains("event: keeper") {
        let frame = tokio::time::timeout(Duration::from_secs(5), alice_body.frame())
            .await
            .expect("an event within 5 s");
        let frame = frame.unwrap().unwrap();
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
    }
    assert!(text.starts_with("event: hello"), "{text}");
    assert!(text.contains("event: market"), "{text}");
    assert!(
        !text.contains("event: position") && !text.contains("event: wallet"),
        "bob's updates leaked to alice: {text}"
    );
    assert!(
        !text.contains(&format!("\"position\":{bob_id}")),
        "the keeper line on bob's position leaked: {text}"
    );
}

#[tokio::test]
async fn health_metrics_and_the_openapi_document() {
    let h = Harness::new().await;
    let (s, health) = h.call("GET", "/healthz", None, None).await;
    assert_eq!(
        (s, health["status"].as_str(), health["store"].as_str()),
        (StatusCode::OK, Some("ok"), Some("sqlite")),
        "{health}"
    );
    let (_, alice) = h.user("alice").await;
    let _ = h.call("GET", "/v1/me", Some(&alice), None).await;
    let (s, metrics) = h.call("GET", "/metrics", None, None).await;
    let metrics = metrics.as_str().unwrap().to_string();
    assert_eq!(s, StatusCode::OK);
    assert!(
        metrics.contains("levfarm_commands_total{op=\"fund\",outcome=\"stored\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("levfarm_http_requests_total{route=\"/v1/me\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("levfarm_journal_commit_seconds_bucket"), "{metrics}");

    let (s, doc) = h.call("GET", "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in support_routes() {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not in the OpenAPI document"
        );
    }
    assert_eq!(
        paths.values().map(|p| p.as_object().unwrap().len()).sum::<usize>(),
        support_routes().len(),
        "the document lists a route the server does not have"
    );
    assert!(doc["components"]["securitySchemes"]["token"].is_object());
}

/// Every API route (method, path) the router serves besides the dashboard.
fn support_routes() -> Vec<(&'static str, &'static str)> {
    vec![
        ("post", "/v1/accounts"),
        ("get", "/v1/me"),
        ("post", "/v1/tokens"),
        ("delete", "/v1/tokens/{id}"),
        ("post", "/v1/fund"),
        ("post", "/v1/supply"),
        ("post", "/v1/withdraw"),
        ("get", "/v1/market"),
        ("post", "/v1/quote"),
        ("get", "/v1/portfolio"),
        ("get", "/v1/positions"),
        ("post", "/v1/positions"),
        ("get", "/v1/positions/{id}"),
        ("get", "/v1/positions/{id}/history"),
        ("post", "/v1/positions/{id}/collateral"),
        ("post", "/v1/positions/{id}/reduce"),
        ("post", "/v1/positions/{id}/leverage"),
        ("post", "/v1/positions/{id}/close"),
        ("get", "/v1/orders"),
        ("post", "/v1/orders"),
        ("get", "/v1/orders/{id}"),
        ("delete", "/v1/orders/{id}"),
        ("get", "/v1/alerts"),
        ("put", "/v1/alerts/settings"),
        ("get", "/v1/keeper"),
        ("get", "/v1/events"),
        ("post", "/v1/oracle/price"),
        ("get", "/v1/admin/accounts"),
        ("post", "/v1/admin/accounts"),
        ("put", "/v1/admin/market"),
        ("put", "/v1/admin/feed"),
        ("get", "/healthz"),
        ("get", "/metrics"),
    ]
}

#[tokio::test]
async fn lending_supply_earns_and_withdraws() {
    let h = Harness::new().await;
    let (_, alice) = h.user("alice").await;
    let (_, bob) = h.user("bob").await;
    let supplied = |w: &Value| int(&w["supplied"][1][1]);
    let (s, w) = h
        .call(
            "POST",
            "/v1/supply",
            Some(&alice),
            Some(json!({"token": "USDC", "amount": "50000000000"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!((supplied(&w), int(&w["balances"][1][1])), (50_000_000_000, 50_000_000_000), "{w}");
    // Bob borrows through a leveraged position; a year later Alice's supply has grown.
    h.price("730", 3600).await;
    h.open(&bob).await;
    h.price("730", 365 * 86_400).await;
    let (_, me) = h.call("GET", "/v1/me", Some(&alice), None).await;
    let grown = supplied(&me["wallet"]);
    assert!(grown > 50_000_000_000, "interest accrued to the supplier: {me}");
    let (s, answer) = h
        .call(
            "POST",
            "/v1/withdraw",
            Some(&alice),
            Some(json!({"token": "USDC", "amount": "60000000000"})),
        )
        .await;
    assert_eq!(
        (s, answer["error"]["kind"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("insufficient_supply")),
        "{answer}"
    );
    let (s, w) = h.call("POST", "/v1/withdraw", Some(&alice), Some(json!({"token": "USDC"}))).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!((supplied(&w), int(&w["balances"][1][1])), (0, 50_000_000_000 + grown), "{w}");
}
