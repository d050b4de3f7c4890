//! Live updates (server-sent events), health, metrics, and the middleware that measures and
//! logs every request.

use std::convert::Infallible;
#[allow(clippy::disallowed_types)]
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

use super::{Api, Caller};
use crate::Error;

#[utoipa::path(get, path = "/v1/events", responses((status = 200, description = "Server-sent events: `market`, `keeper` for everyone; `position`, `wallet`, `alert` for the caller only", content_type = "text/event-stream")), security(("token" = [])))]
pub async fn events(
    State(api): State<Api>,
    caller: Caller,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Error> {
    let hello = {
        let state = api.service.read();
        json!({ "account": caller.account, "market": state.market_view()?, "seq": state.applied() })
    };
    let account = caller.account;
    let admin = caller.role == crate::state::Role::Admin;
    let service = api.service.clone();
    let first = tokio_stream::once(Ok(Event::default().event("hello").data(hello.to_string())));
    let notices = BroadcastStream::new(api.service.notices.subscribe());
    let updates =
        notices.take_while(|n| !matches!(n, Ok(n) if n.kind == "shutdown")).filter_map(move |n| {
            match n {
                Ok(notice) if notice.kind == "keeper" && !admin => {
                    // A keeper report names every account's positions: keep the caller's.
                    let mut data = notice.data.clone();
                    let state = service.read();
                    if let Some(lines) = data.get_mut("lines").and_then(|l| l.as_array_mut()) {
                        let before = lines.len();
                        lines.retain(|l| {
                            l["position"].as_u64().is_none_or(|p| state.owns(account, p))
                        });
                        let hidden = before - lines.len();
                        data["other_accounts_lines"] = json!(hidden);
                    }
                    Some(Ok(Event::default().event(notice.kind).data(data.to_string())))
                }
                Ok(notice) if notice.account.is_none_or(|a| a == account) => {
                    Some(Ok(Event::default().event(notice.kind).data(notice.data.to_string())))
                }
                Ok(_) => None,
                // The client fell behind: tell it to read the state again.
                Err(BroadcastStreamRecvError::Lagged(n)) => Some(Ok(Event::default()
                    .event("lagged")
                    .data(json!({ "missed": n }).to_string()))),
            }
        });
    Ok(Sse::new(first.chain(updates)).keep_alive(KeepAlive::default()))
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Serving: journal position, store, price age"), (status = 503, description = "The writer has stopped")))]
pub async fn healthz(State(api): State<Api>) -> Response {
    let s = &api.service;
    let age = s.price_age_secs();
    let (seq, limit) = {
        let state = s.read();
        (state.applied(), state.settings().stale_after_secs)
    };
    let alive = s.writer_alive();
    let body = json!({
        "status": if alive { "ok" } else { "writer stopped" },
        "seq": seq,
        "store": format!("{:?}", s.backend).to_lowercase(),
        "price_age_secs": age,
        "price_stale": age.is_none_or(|a| a > limit),
    });
    let status = if alive {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
pub async fn metrics(State(api): State<Api>) -> Response {
    if let Some(age) = api.service.price_age_secs() {
        api.service.metrics.price_age(age);
    }
    ([("content-type", "text/plain; version=0.0.4; charset=utf-8")], api.service.metrics.render())
        .into_response()
}

/// Counts, times and logs every request by its route (not its path, so ids do not explode
/// the label set).
#[allow(clippy::disallowed_methods)]
pub async fn observe(State(api): State<Api>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route =
        request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = request.method().clone();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    api.service.metrics.request(&route, status, seconds);
    tracing::info!(target: "levfarm::http", %method, route, status, micros = (seconds * 1e6) as u64, "request");
    response
}
