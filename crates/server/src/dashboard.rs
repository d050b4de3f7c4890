//! The dashboard: one page, its scripts (ES modules, no build step: the app and its formatting,
//! DOM and chart modules) and its styles, compiled into the binary and served by it. Nothing
//! is fetched from anywhere else, so it works offline.

use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::api::Api;

const PAGE: &str = include_str!("dashboard/index.html");
const STYLE: &str = include_str!("dashboard/style.css");
/// The script modules by file name: the app first, then what it imports.
const MODULES: [(&str, &str); 4] = [
    ("app.js", include_str!("dashboard/app.js")),
    ("format.js", include_str!("dashboard/format.js")),
    ("dom.js", include_str!("dashboard/dom.js")),
    ("chart.js", include_str!("dashboard/chart.js")),
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
