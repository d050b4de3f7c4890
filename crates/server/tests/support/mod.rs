//! A service over a throwaway SQLite journal, driven through its router without a socket.

#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use levfarm_server::api::{app, Limits};
use levfarm_server::service::{self, Shared};
use levfarm_server::state::{FeedSpec, Role};
use levfarm_server::{Config, Journal};
use serde_json::{json, Value};
use tower::ServiceExt;

pub struct Harness {
    pub app: Router,
    pub shared: Arc<Shared>,
    pub admin: String,
    pub oracle: String,
    pub store: String,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub async fn new() -> Harness {
        Harness::with_limits(Limits::default()).await
    }

    pub async fn with_limits(limits: Limits) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = format!("sqlite:{}", dir.path().join("journal.db").display());
        Harness::build(store, dir, limits).await
    }

    /// The same service on a fresh database of the PostgreSQL server that
    /// `LEVFARM_TEST_POSTGRES_URL` names; `None` without one (CI always has one).
    pub async fn on_postgres() -> Option<Harness> {
        let url = postgres_url()?;
        let mut suffix = [0u8; 6];
        getrandom::fill(&mut suffix).unwrap();
        let name = format!("levfarm_test_{}", hex::encode(suffix));
        let pool = sqlx::postgres::PgPool::connect(&url).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
        pool.close().await;
        let base = &url[..url.rfind('/').unwrap()];
        let store = format!("{base}/{name}");
        Some(Harness::build(store, tempfile::tempdir().unwrap(), Limits::default()).await)
    }

    async fn build(store: String, dir: tempfile::TempDir, limits: Limits) -> Harness {
        let config = Config { feed: FeedSpec::Push, store: store.clone(), ..Config::default() };
        let (genesis, _) = levfarm_server::genesis(&config).unwrap();
        let mut journal = Journal::open(&store).await.unwrap();
        let state = service::recover(&mut journal, genesis).await.unwrap();
        let metrics = levfarm_server::metrics::Metrics::default();
        let webhooks = levfarm_server::webhook::spawn(metrics.clone());
        // A snapshot every 5 commands, so that every test's restart goes through one.
        let (shared, _writer) = service::start_with(state, journal, metrics, Some(webhooks), 5);
        let app = app(shared.clone(), limits);
        let mut h =
            Harness { app, shared, admin: String::new(), oracle: String::new(), store, dir };
        let (token, grant) = levfarm_server::api::new_token("test").unwrap();
        h.shared
            .submit(levfarm_server::state::Action::CreateAccount {
                name: "admin".into(),
                role: Role::Admin,
                token: grant,
            })
            .await
            .unwrap();
        h.admin = token;
        let (status, body) = h
            .call(
                "POST",
                "/v1/admin/accounts",
                Some(&h.admin.clone()),
                Some(json!({"name": "oracle", "role": "oracle"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        h.oracle = body["token"].as_str().unwrap().to_string();
        h
    }

    /// One request through the router; the answer's status and JSON body (`Null` if none).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => {
                req.header("content-type", "application/json").body(Body::from(b.to_string()))
            }
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.raw(req).await
    }

    pub async fn raw(&self, req: Request<Body>) -> (StatusCode, Value) {
        let response = self.app.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    /// Signs up a user and funds it with 100,000 USDC and 50 WETH.
    pub async fn user(&self, name: &str) -> (u64, String) {
        let (status, body) =
            self.call("POST", "/v1/accounts", None, Some(json!({"name": name}))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let token = body["token"].as_str().unwrap().to_string();
        for (token_name, amount) in [("USDC", "100000000000"), ("WETH", "50000000000000000000")] {
            let (s, b) = self
                .call(
                    "POST",
                    "/v1/fund",
                    Some(&token),
                    Some(json!({"token": token_name, "amount": amount})),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
        }
        (body["account"].as_u64().unwrap(), token)
    }

    /// Pushes a price `seconds` after the market's clock; the keepers' report.
    pub async fn price(&self, price: &str, seconds: i64) -> Value {
        let now = self.shared.read().now();
        let (status, body) = self
            .call(
                "POST",
                "/v1/oracle/price",
                Some(&self.oracle.clone()),
                Some(json!({"price": price, "time": now + seconds})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["report"].clone()
    }

    /// Opens a 3x long with 1,000 USDC of equity.
    pub async fn open(&self, token: &str) -> Value {
        let (status, body) = self
            .call(
                "POST",
                "/v1/positions",
                Some(token),
                Some(json!({"equity1": "1000000000", "leverage": "3"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}

/// The PostgreSQL server the tests may use (`LEVFARM_TEST_POSTGRES_URL`). Without one the
/// test says on the terminal that it was skipped, and why; under `CI` it fails instead
/// (`.ci/run` starts a server).
pub fn postgres_url() -> Option<String> {
    if let Ok(url) = std::env::var("LEVFARM_TEST_POSTGRES_URL") {
        return Some(url);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must set LEVFARM_TEST_POSTGRES_URL (.ci/run starts a PostgreSQL server)"
    );
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("a PostgreSQL test").to_string();
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: LEVFARM_TEST_POSTGRES_URL is not set (no PostgreSQL server)"
    );
    None
}
