//! Feeds and webhooks against real HTTP endpoints on loopback: the replay feed walks the
//! history, the poll feed reads a price at a JSON pointer, and a failing webhook is retried
//! with backoff until it takes the alert.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use levfarm_core::price::Price;
use serde_json::{json, Value};
use support::Harness;

/// Serves `router` on a free loopback port; its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Waits up to 10 s for `check` to hold.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within 10 s: {what}");
}

fn feed_task(h: &Harness) {
    let (_, series) = levfarm_server::genesis(&levfarm_server::Config::default()).unwrap();
    tokio::spawn(levfarm_server::feed::run(h.shared.clone(), Arc::new(series)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_feed_walks_the_history_and_the_poll_feed_reads_the_pointer() {
    let h = Harness::new().await;
    let start = h.shared.read().now();
    let (s, _) = h
        .call(
            "PUT",
            "/v1/admin/feed",
            Some(&h.admin.clone()),
            Some(json!({"kind": "replay", "speed": 3_600_000})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    feed_task(&h);
    // One hourly bar per millisecond: the clock moves by whole hours, bar by bar.
    eventually("ten bars replayed", || h.shared.read().now() >= start + 10 * 3600).await;
    let last = h.shared.read().last_price().clone();
    assert!(last.source.starts_with("replay:bundled:ETHUSD_1h"), "{last:?}");
    assert_eq!((last.time - start) % 3600, 0);

    // Poll a local endpoint: the price at /data/last, as a string or a number.
    let price = Arc::new(Mutex::new(json!({"data": {"last": "745.5"}})));
    let shown = price.clone();
    let url = serve(Router::new().route(
        "/ticker",
        get(move || {
            let body = shown.lock().unwrap().clone();
            async move { Json(body) }
        }),
    ))
    .await;
    let feed = json!({"kind": "poll", "url": format!("{url}/ticker"), "pointer": "/data/last", "interval_ms": 100});
    let (s, answer) = h.call("PUT", "/v1/admin/feed", Some(&h.admin.clone()), Some(feed)).await;
    assert_eq!(s, StatusCode::OK, "{answer}");
    eventually("the polled price", || {
        h.shared.read().last_price().price == Price::parse("745.5").unwrap()
    })
    .await;
    assert!(h.shared.read().last_price().source.starts_with("poll:http://127.0.0.1"));
    *price.lock().unwrap() = json!({"data": {"last": 751.25}});
    eventually("the polled number", || {
        h.shared.read().last_price().price == Price::parse("751.25").unwrap()
    })
    .await;
    // A response without the pointer is skipped: the price stays.
    *price.lock().unwrap() = json!({"data": {}});
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(h.shared.read().last_price().price, Price::parse("751.25").unwrap());
    // A bad feed setting is refused with the field named.
    let bad = json!({"kind": "poll", "url": format!("{url}/ticker"), "pointer": "data", "interval_ms": 100});
    let (s, answer) = h.call("PUT", "/v1/admin/feed", Some(&h.admin.clone()), Some(bad)).await;
    assert_eq!(
        (s, answer["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("pointer")),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_is_retried_until_it_takes_the_alert() {
    let h = Harness::new().await;
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = received.clone();
    let url = serve(Router::new().route(
        "/hook",
        post(move |Json(body): Json<Value>| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                log.push(body);
                // The first two deliveries fail.
                if log.len() <= 2 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    ))
    .await;
    let (_, alice) = h.user("alice").await;
    h.price("730", 3600).await;
    let id = h.open(&alice).await["id"].as_u64().unwrap();
    let settings = json!({"debt_ratio_bps": 7000, "webhook": format!("{url}/hook")});
    assert_eq!(
        h.call("PUT", "/v1/alerts/settings", Some(&alice), Some(settings)).await.0,
        StatusCode::OK
    );
    h.price("600", 3600).await;
    eventually("three deliveries", || received.lock().unwrap().len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "no delivery after the one that succeeded: {got:?}");
    assert!(got.iter().all(|a| a == &got[0]), "every attempt carries the same alert");
    assert_eq!(
        (got[0]["kind"].as_str(), got[0]["position"].as_u64()),
        (Some("debt_ratio"), Some(id)),
        "{}",
        got[0]
    );
    let metrics = h.call("GET", "/metrics", None, None).await.1.as_str().unwrap().to_string();
    assert!(metrics.contains("levfarm_webhooks_total{outcome=\"retried\"} 2"), "{metrics}");
    assert!(metrics.contains("levfarm_webhooks_total{outcome=\"delivered\"} 1"), "{metrics}");
}
