//! The dashboard: one page, its scripts and its styles, compiled into the binary and served by
//! it. The scripts are ES modules with no build step: the wiring (`app.js`); the state, the
//! API and the session; a module per panel (market and wallet, positions, orders, alerts and
//! the keeper log, live updates, the portfolio); and what has no state (exact number formatting, DOM helpers,
//! canvas charts). Nothing is fetched from anywhere else, so it works offline.

use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::api::Api;

const PAGE: &str = include_str!("dashboard/index.html");
const STYLE: &str = include_str!("dashboard/style.css");
/// The script modules by file name: the app (the wiring), its panels and what they share.
const MODULES: [(&str, &str); 14] = [
    ("app.js", include_str!("dashboard/app.js")),
    ("state.js", include_str!("dashboard/state.js")),
    ("api.js", include_str!("dashboard/api.js")),
    ("session.js", include_str!("dashboard/session.js")),
    ("market.js", include_str!("dashboard/market.js")),
    ("positions.js", include_str!("dashboard/positions.js")),
    ("portfolio.js", include_str!("dashboard/portfolio.js")),
    ("orders.js", include_str!("dashboard/orders.js")),
    ("alerts.js", include_str!("dashboard/alerts.js")),
    ("stream.js", include_str!("dashboard/stream.js")),
    ("format.js", include_str!("dashboard/format.js")),
    ("dom.js", include_str!("dashboard/dom.js")),
    ("chart.js", include_str!("dashboard/chart.js")),
    // Calendar ticks for the time axis, shared with the HTML reports.
    ("axes.js", levfarm_report::AXES_JS),
];

pub fn routes() -> Router<Api> {
    let mut router = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/assets/style.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }));
    for (name, body) in MODULES {
        router = router.route(
            &format!("/assets/{name}"),
            get(move || async move { asset("text/javascript; charset=utf-8", body) }),
        );
    }
    router
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([("content-type", content_type), ("cache-control", "no-cache")], body).into_response()
}
