//! The HTTP API: [`app`] builds the whole router over the shared service, so tests drive it
//! without a socket.
//!
//! - Every request body is at most [`BODY_LIMIT`] bytes and is parsed by [`Body`], whose
//!   errors name the field that is wrong.
//! - A [`Caller`] is the account behind `Authorization: Bearer <token>`; tokens are looked up
//!   by their SHA-256 and rate limited one by one.
//! - Every error is an [`Error`] answered as `{"error": {"kind", "message"}}` with its
//!   status; internal details go to the log, not to the client.

mod admin;
pub mod docs;
mod live;
mod user;

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::service::Shared;
use crate::state::Role;
use crate::Error;

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 16 * 1024;

/// What the handlers share: the service and the per-token rate limiter.
#[derive(Clone, Debug)]
pub struct Api {
    pub service: Arc<Shared>,
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    /// Whether anyone may create a user account without a token.
    open_signup: bool,
}

/// Limits per token.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
    pub open_signup: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_second: NonZeroU32::MIN.saturating_add(49),
            burst: NonZeroU32::MIN.saturating_add(99),
            open_signup: true,
        }
    }
}

/// The whole router: API, live updates, metrics, health, OpenAPI document and dashboard.
pub fn app(service: Arc<Shared>, limits: Limits) -> Router {
    let quota = Quota::per_second(limits.per_second).allow_burst(limits.burst);
    let api = Api {
        service,
        limiter: Arc::new(RateLimiter::keyed(quota)),
        open_signup: limits.open_signup,
    };
    Router::new()
        .route("/v1/accounts", post(user::sign_up))
        .route("/v1/me", get(user::me))
        .route("/v1/tokens", post(user::create_token))
        .route("/v1/tokens/{id}", delete(user::revoke_token))
        .route("/v1/fund", post(user::fund))
        .route("/v1/supply", post(user::supply))
        .route("/v1/withdraw", post(user::withdraw))
        .route("/v1/market", get(user::market))
        .route("/v1/quote", post(user::quote))
        .route("/v1/portfolio", get(user::portfolio))
        .route("/v1/positions", get(user::positions).post(user::open))
        .route("/v1/positions/{id}", get(user::position))
        .route("/v1/positions/{id}/history", get(user::history))
        .route("/v1/positions/{id}/collateral", post(user::add_collateral))
        .route("/v1/positions/{id}/reduce", post(user::reduce))
        .route("/v1/positions/{id}/leverage", post(user::set_leverage))
        .route("/v1/positions/{id}/close", post(user::close))
        .route("/v1/orders", get(user::orders).post(user::place_order))
        .route("/v1/orders/{id}", get(user::order).delete(user::cancel_order))
        .route("/v1/alerts", get(user::alerts))
        .route("/v1/alerts/settings", put(user::set_alerts))
        .route("/v1/keeper", get(user::keeper))
        .route("/v1/events", get(live::events))
        .route("/v1/oracle/price", post(admin::push_price))
        .route("/v1/admin/accounts", get(admin::accounts).post(admin::create_account))
        .route("/v1/admin/market", put(admin::configure_market))
        .route("/v1/admin/feed", put(admin::configure_feed))
        .route("/healthz", get(live::healthz))
        .route("/metrics", get(live::metrics))
        .route("/openapi.json", get(docs::openapi))
        .merge(crate::dashboard::routes())
        .fallback(|| async { Error::not_found("route") })
        .layer(axum::middleware::from_fn_with_state(api.clone(), live::observe))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(api)
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = if status.is_server_error()
            && !matches!(self, Error::Unavailable(_) | Error::Journal(_))
        {
            tracing::error!(error = %self, "internal error");
            "internal error; the server logged the details".to_string()
        } else {
            self.to_string()
        };
        let mut body = serde_json::json!({ "error": { "kind": self.kind(), "message": message } });
        if let Error::Invalid { field, .. } = &self {
            body["error"]["field"] = serde_json::Value::String(field.clone());
        }
        let mut response = (status, Json(body)).into_response();
        if let Error::RateLimited { retry_after_ms } = self {
            let secs = retry_after_ms.div_ceil(1000).max(1);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert("retry-after", v);
            }
        }
        response
    }
}

/// A JSON request body, parsed with the path of any bad field.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        // The media type itself, parameters (`; charset=utf-8`) aside: not a prefix of it.
        let json = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(Error::invalid("content-type", "send the body as application/json"));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::TooLarge { limit: BODY_LIMIT }
            } else {
                Error::invalid("body", e.body_text())
            }
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let body = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            // A missing or repeated field is reported at the object above it: name it.
            let field = match levfarm_core::market::strict_json::field_named(&message) {
                Some(name) if path == "." => name,
                Some(name) if !path.ends_with(&name) => format!("{path}.{name}"),
                None if path == "." => "body".to_string(),
                _ => path,
            };
            Error::invalid(field, message)
        })?;
        // What serde_json lets through: a key given twice inside a free-form object, control
        // characters in a string.
        let text =
            std::str::from_utf8(&bytes).map_err(|e| Error::invalid("body", e.to_string()))?;
        levfarm_core::market::strict_json::parse_lenient(text).map_err(|e| {
            Error::invalid(if e.field == "." { "body".to_string() } else { e.field }, e.message)
        })?;
        Ok(Body(body))
    }
}

/// A numeric id from the path (`/v1/positions/{id}`): a bad one is a located JSON error, not
/// axum's plain-text rejection.
#[derive(Debug, Clone, Copy)]
pub struct Id(pub u64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        match axum::extract::Path::<u64>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(Id(id)),
            Err(e) => {
                Err(Error::invalid("id", format!("{}: a whole number is expected", e.body_text())))
            }
        }
    }
}

/// The account a request acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: u64,
    pub role: Role,
    pub token_id: String,
}

impl FromRequestParts<Api> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, Error> {
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Error::Unauthorized)?;
        let hash = token_hash(token.trim());
        let caller = {
            let state = api.service.read();
            let (record, account) = state.token_owner(&hash).ok_or(Error::Unauthorized)?;
            Caller { account: account.id, role: account.role, token_id: record.id.clone() }
        };
        if let Err(not_until) = api.limiter.check_key(&caller.token_id) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(Error::RateLimited {
                retry_after_ms: wait.as_millis().try_into().unwrap_or(u64::MAX),
            });
        }
        Ok(caller)
    }
}

impl Caller {
    pub fn require(&self, role: Role) -> Result<(), Error> {
        if self.role == role {
            Ok(())
        } else {
            Err(Error::Forbidden { role: role.as_str() })
        }
    }
}

/// The hex SHA-256 of a token's text: how tokens are stored and found.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A new token: `lf_<id>_<secret>`, 16 and 32 random bytes from the operating system.
pub fn new_token(label: &str) -> Result<(String, crate::state::TokenGrant), Error> {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut id)
        .and_then(|()| getrandom::fill(&mut secret))
        .map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    let id = hex::encode(id);
    let token = format!("lf_{id}_{}", hex::encode(secret));
    let grant =
        crate::state::TokenGrant { id, label: label.to_string(), sha256: token_hash(&token) };
    Ok((token, grant))
}

/// Reads the state under the read lock.
fn read<T>(
    api: &Api,
    f: impl FnOnce(&crate::state::State) -> Result<T, Error>,
) -> Result<Json<T>, Error> {
    let state = api.service.read();
    f(&state).map(Json)
}
