//! Isolation between users on every endpoint, roles, hashed tokens, body limits, located
//! 4xx errors and per-token rate limits.

mod support;

use std::num::NonZeroU32;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use levfarm_server::api::Limits;
use serde_json::{json, Value};
use support::Harness;

#[tokio::test]
async fn no_user_reads_or_acts_on_anothers_objects() {
    let h = Harness::new().await;
    let (_, alice) = h.user("alice").await;
    let (_, bob) = h.user("bob").await;
    h.price("730", 3600).await;
    let id = h.open(&alice).await["id"].as_u64().unwrap();
    let order =
        json!({"position": id, "order": {"kind": "stop_loss", "trigger": {"below": "100"}}});
    assert_eq!(
        h.call("POST", "/v1/orders", Some(&alice), Some(order)).await.0,
        StatusCode::CREATED
    );
    let (_, token) =
        h.call("POST", "/v1/tokens", Some(&alice), Some(json!({"label": "bot"}))).await;
    let alice_token_id = token["token_id"].as_str().unwrap().to_string();
    let (_, alice_before) = h.call("GET", &format!("/v1/positions/{id}"), Some(&alice), None).await;
    let (_, alice_orders_before) = h.call("GET", "/v1/orders", Some(&alice), None).await;

    // Every endpoint that names an object: Bob is told it does not exist.
    let p = format!("/v1/positions/{id}");
    let attempts: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", p.clone(), None),
        ("GET", format!("{p}/history"), None),
        ("POST", format!("{p}/collateral"), Some(json!({"amount1": "1000000"}))),
        ("POST", format!("{p}/reduce"), Some(json!({"share_bps": 5000}))),
        ("POST", format!("{p}/leverage"), Some(json!({"leverage": "1.5"}))),
        ("POST", format!("{p}/close"), None),
        (
            "POST",
            "/v1/orders".into(),
            Some(
                json!({"position": id, "order": {"kind": "take_profit", "trigger": {"above": "9000"}}}),
            ),
        ),
        ("GET", "/v1/orders/1".into(), None),
        ("DELETE", "/v1/orders/1".into(), None),
        ("DELETE", format!("/v1/tokens/{alice_token_id}"), None),
    ];
    for (method, path, body) in attempts {
        let (status, answer) = h.call(method, &path, Some(&bob), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["kind"], "not_found", "{method} {path}: {answer}");
    }
    // Every list Bob reads is his own: empty of Alice's things.
    let (_, positions) = h.call("GET", "/v1/positions", Some(&bob), None).await;
    assert_eq!(positions, json!([]));
    let (_, orders) = h.call("GET", "/v1/orders", Some(&bob), None).await;
    assert_eq!(orders, json!([]));
    let (_, alerts) = h.call("GET", "/v1/alerts", Some(&bob), None).await;
    assert_eq!(alerts["alerts"], json!([]));
    let (_, me) = h.call("GET", "/v1/me", Some(&bob), None).await;
    assert_eq!(me["name"], "bob");
    assert!(
        me["tokens"].as_array().unwrap().iter().all(|t| t["id"] != alice_token_id.as_str()),
        "{me}"
    );
    let (_, keeper) = h.call("GET", "/v1/keeper", Some(&bob), None).await;
    assert!(!keeper.to_string().contains(&format!("\"position\":{id}")), "{keeper}");
    // Alice's things are as they were, and her second token still works.
    assert_eq!(
        h.call("GET", &format!("/v1/positions/{id}"), Some(&alice), None).await.1,
        alice_before
    );
    assert_eq!(h.call("GET", "/v1/orders", Some(&alice), None).await.1, alice_orders_before);
    assert_eq!(h.call("GET", "/v1/me", token["token"].as_str(), None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn roles_tokens_and_revocation() {
    let h = Harness::new().await;
    let (_, alice) = h.user("alice").await;
    // Users cannot administer or push prices; oracles cannot administer.
    for (token, method, path, body) in [
        (&alice, "GET", "/v1/admin/accounts", None),
        (&alice, "POST", "/v1/admin/accounts", Some(json!({"name": "eve", "role": "admin"}))),
        (&alice, "PUT", "/v1/admin/market", Some(json!({"opening_halted": true}))),
        (&alice, "PUT", "/v1/admin/feed", Some(json!({"kind": "push"}))),
        (&alice, "POST", "/v1/oracle/price", Some(json!({"price": "1"}))),
        (&h.oracle, "PUT", "/v1/admin/market", Some(json!({"opening_halted": true}))),
    ] {
        let (status, answer) = h.call(method, path, Some(token), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
    }
    // Tokens are stored as SHA-256 only: the journal never holds a secret.
    let (_, second) =
        h.call("POST", "/v1/tokens", Some(&alice), Some(json!({"label": "second"}))).await;
    let secret = second["token"].as_str().unwrap().to_string();
    let journal = levfarm_server::Journal::open(&h.store).await.unwrap();
    let all: String = journal.read(1).await.unwrap().into_iter().map(|e| e.body).collect();
    assert!(
        !all.contains(&secret) && !all.contains(&alice) && !all.contains(&h.admin),
        "a token's secret is in the journal"
    );
    assert!(all.contains(&levfarm_server::api::token_hash(&secret)));
    // Revoked tokens stop working at once; the last token cannot be revoked.
    let id = second["token_id"].as_str().unwrap();
    assert_eq!(
        h.call("DELETE", &format!("/v1/tokens/{id}"), Some(&alice), None).await.0,
        StatusCode::OK
    );
    assert_eq!(h.call("GET", "/v1/me", Some(&secret), None).await.0, StatusCode::UNAUTHORIZED);
    let (_, me) = h.call("GET", "/v1/me", Some(&alice), None).await;
    let last = me["tokens"][0]["id"].as_str().unwrap().to_string();
    let (status, answer) =
        h.call("DELETE", &format!("/v1/tokens/{last}"), Some(&alice), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    // Halting: an admin stops new positions.
    let (s, _) = h
        .call("PUT", "/v1/admin/market", Some(&h.admin), Some(json!({"opening_halted": true})))
        .await;
    assert_eq!(s, StatusCode::OK);
    h.price("730", 60).await;
    let (s, answer) = h
        .call(
            "POST",
            "/v1/positions",
            Some(&alice),
            Some(json!({"equity1": "1000000000", "leverage": "2"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("halted"), "{answer}");
}

#[tokio::test]
async fn bad_requests_get_located_4xx_errors() {
    let h = Harness::new().await;
    let (_, alice) = h.user("alice").await;
    h.price("730", 3600).await;
    let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
        (
            "POST",
            "/v1/positions",
            json!({"equity1": "1000000000", "leverage": "lots"}),
            400,
            "leverage",
        ),
        (
            "POST",
            "/v1/positions",
            json!({"equity1": "1000000000", "leverage": "30"}),
            400,
            "leverage",
        ),
        ("POST", "/v1/positions", json!({"equity1": "-5", "leverage": "2"}), 400, "equity1"),
        (
            "POST",
            "/v1/positions",
            json!({"equity1": "1000000000", "leverage": "2", "lev": 1}),
            400,
            "lev",
        ),
        ("POST", "/v1/positions", json!({"leverage": "2"}), 400, "equity0"),
        (
            "POST",
            "/v1/positions",
            json!({"equity1": "1000000000", "leverage": "2", "borrow": "both"}),
            400,
            "borrow",
        ),
        ("POST", "/v1/fund", json!({"token": "DOGE", "amount": "1"}), 400, "token"),
        ("POST", "/v1/fund", json!({"token": "USDC", "amount": "1e6"}), 400, "amount"),
        (
            "POST",
            "/v1/fund",
            json!({"token": "USDC", "amount": "99999999999999999999"}),
            400,
            "amount",
        ),
        (
            "POST",
            "/v1/orders",
            json!({"position": 1, "order": {"kind": "stop_loss", "trigger": {"below": "0"}}}),
            404,
            "",
        ),
        (
            "PUT",
            "/v1/alerts/settings",
            json!({"webhook": "ftp://example.com/hook"}),
            400,
            "webhook",
        ),
        ("PUT", "/v1/alerts/settings", json!({"debt_ratio_bps": 12000}), 400, "debt_ratio_bps"),
        ("POST", "/v1/accounts", json!({"name": "no spaces please"}), 400, "name"),
        ("POST", "/v1/accounts", json!({"name": "alice"}), 409, ""),
    ];
    for (method, path, body, status, field) in cases {
        let (s, answer) = h.call(method, path, Some(&alice), Some(body.clone())).await;
        assert_eq!(s.as_u16(), status, "{method} {path} {body}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
        if !field.is_empty() {
            assert_eq!(answer["error"]["field"], field, "{method} {path} {body}: {answer}");
        }
    }
    // An engine refusal is a 422 that names its kind: more equity than the wallet holds.
    let (s, answer) = h
        .call(
            "POST",
            "/v1/positions",
            Some(&alice),
            Some(json!({"equity1": "100000000001", "leverage": "2"})),
        )
        .await;
    assert_eq!(
        (s, answer["error"]["kind"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("insufficient_balance")),
        "{answer}"
    );

    // Not JSON, the wrong content type, too large, no token, a made-up token, no route.
    let raw = |body: &str, content_type: &str| {
        Request::post("/v1/fund")
            .header("authorization", format!("Bearer {alice}"))
            .header("content-type", content_type)
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let (s, a) = h.raw(raw("{\"token\": ", "application/json")).await;
    assert_eq!(
        (s, a["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("token")),
        "cut off inside `token`: {a}"
    );
    let (s, a) = h.raw(raw("{}", "text/plain")).await;
    assert_eq!(
        (s, a["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("content-type")),
        "{a}"
    );
    let big = format!(
        "{{\"token\": \"USDC\", \"amount\": \"1\", \"pad\": \"{}\"}}",
        "x".repeat(levfarm_server::api::BODY_LIMIT)
    );
    let (s, a) = h.raw(raw(&big, "application/json")).await;
    assert_eq!(
        (s, a["error"]["kind"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")),
        "{a}"
    );
    assert_eq!(h.call("GET", "/v1/me", None, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.call("GET", "/v1/me", Some("lf_0000_1111"), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, a) = h.call("GET", "/v1/nothing", Some(&alice), None).await;
    assert_eq!((s, a["error"]["kind"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{a}");
    // Nothing refused reached the journal: sign-ups, two funds each, one price, one token.
    assert_eq!(h.shared.read().applied(), 1 + 2 + 3 + 1);
}

#[tokio::test]
async fn each_token_has_its_own_rate_limit() {
    let limits = Limits {
        per_second: NonZeroU32::new(1).unwrap(),
        burst: NonZeroU32::new(3).unwrap(),
        open_signup: true,
    };
    let h = Harness::with_limits(limits).await;
    let (status, body) = h.call("POST", "/v1/accounts", None, Some(json!({"name": "alice"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let alice = body["token"].as_str().unwrap().to_string();
    let (_, body) = h.call("POST", "/v1/accounts", None, Some(json!({"name": "bob"}))).await;
    let bob = body["token"].as_str().unwrap().to_string();
    for _ in 0..3 {
        assert_eq!(h.call("GET", "/v1/me", Some(&alice), None).await.0, StatusCode::OK);
    }
    let response = tower::ServiceExt::oneshot(
        h.app.clone(),
        Request::get("/v1/me")
            .header("authorization", format!("Bearer {alice}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_some());
    // Bob's budget is his own.
    assert_eq!(h.call("GET", "/v1/me", Some(&bob), None).await.0, StatusCode::OK);
}

/// Regressions from the robustness review: `application/jsonx` was taken for JSON; a bad
/// path id got a plain-text 400; a missing or repeated body field was reported as `body`;
/// empty and NUL token labels were taken.
#[tokio::test]
async fn bad_requests_are_located_json_errors() {
    let h = Harness::new().await;
    let (_, alice) = h.user("alice").await;
    let raw = |path: &str, body: &str, content_type: &str| {
        Request::post(path)
            .header("authorization", format!("Bearer {alice}"))
            .header("content-type", content_type)
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let fund = r#"{"token": "USDC", "amount": "1"}"#;
    let (s, a) = h.raw(raw("/v1/fund", fund, "application/jsonx")).await;
    assert_eq!(
        (s, a["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("content-type")),
        "{a}"
    );
    let (s, a) = h.raw(raw("/v1/fund", fund, "application/json; charset=utf-8")).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let (s, a) = h.raw(raw("/v1/fund", r#"{"token": "USDC"}"#, "application/json")).await;
    assert_eq!((s, a["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("amount")), "{a}");
    let twice = r#"{"token": "USDC", "amount": "1", "amount": "2"}"#;
    let (s, a) = h.raw(raw("/v1/fund", twice, "application/json")).await;
    assert_eq!((s, a["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("amount")), "{a}");
    for path in ["/v1/positions/abc", "/v1/positions/-1", "/v1/positions/99999999999999999999999"] {
        let (s, a) = h.call("GET", path, Some(&alice), None).await;
        assert_eq!(
            (s, a["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("id")),
            "{path}: {a}"
        );
    }
    for label in ["", "a\u{0}b", "line\nbreak"] {
        let (s, a) =
            h.call("POST", "/v1/tokens", Some(&alice), Some(json!({"label": label}))).await;
        assert_eq!(
            (s, a["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("label")),
            "{label:?}: {a}"
        );
    }
}
