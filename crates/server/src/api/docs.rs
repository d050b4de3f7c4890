//! The OpenAPI document, generated from the handlers' annotations and served at
//! `/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{admin, live, user};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "levfarm",
        description = "Leverage mining on the exact engine: accounts, lending, quotes, leveraged positions, protection orders, alerts and live updates. Amounts are decimal strings of raw token units; values are decimal strings of 1e18 numeraire; prices are decimals. Errors are `{\"error\": {\"kind\", \"message\", \"field\"?}}`."
    ),
    paths(
        user::sign_up, user::me, user::create_token, user::revoke_token, user::fund, user::supply,
        user::withdraw, user::market, user::quote, user::open, user::portfolio, user::positions,
        user::position,
        user::history, user::add_collateral, user::reduce, user::set_leverage, user::close,
        user::orders, user::place_order, user::order, user::cancel_order, user::alerts,
        user::set_alerts, user::keeper, live::events, admin::push_price, admin::accounts,
        admin::create_account, admin::configure_market, admin::configure_feed, live::healthz,
        live::metrics,
    ),
    components(schemas(
        user::SignUp, user::NewToken, user::TokenAmount, user::Withdraw, user::Open,
        user::Collateral, user::Reduce, user::Leverage, user::PlaceOrder, admin::NewAccount,
        admin::PushPrice
    )),
    modifiers(&Bearer)
)]
pub struct Doc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme =
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("token", scheme);
    }
}

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(Doc::openapi())
}
