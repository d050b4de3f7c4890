//! The admin role (accounts of any role, the market's settings, the feed) and the oracle
//! role (price pushes).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use levfarm_core::price::Price;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::{read, Api, Body, Caller};
use crate::state::{Action, FeedSpec, MarketSettings, Role};
use crate::Error;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub name: String,
    /// `user`, `oracle` or `admin`.
    #[schema(value_type = String, example = "oracle")]
    pub role: Role,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushPrice {
    /// Stable tokens per whole asset token, a decimal string.
    #[schema(example = "1850.25")]
    pub price: String,
    /// Unix seconds; by default the market's clock plus the wall-clock time since the last
    /// price.
    pub time: Option<i64>,
    /// The lowest and highest price since the last push, decimal strings, where the source
    /// has them: protection and liquidators race along the path through them.
    pub low: Option<String>,
    pub high: Option<String>,
}

#[utoipa::path(get, path = "/v1/admin/accounts", responses((status = 200, description = "Every account")), security(("token" = [])))]
pub async fn accounts(
    State(api): State<Api>,
    caller: Caller,
) -> Result<Json<Vec<crate::state::Account>>, Error> {
    caller.require(Role::Admin)?;
    read(&api, |s| Ok(s.accounts()))
}

#[utoipa::path(post, path = "/v1/admin/accounts", request_body = NewAccount, responses((status = 201, description = "The account and its first token, shown once")), security(("token" = [])))]
pub async fn create_account(
    State(api): State<Api>,
    caller: Caller,
    Body(req): Body<NewAccount>,
) -> Result<(StatusCode, Json<Value>), Error> {
    caller.require(Role::Admin)?;
    super::user::create(&api, req.name, req.role).await
}

#[utoipa::path(put, path = "/v1/admin/market", request_body(content = Object, description = "`opening_halted`, `max_leverage_bps`, `stale_after_secs`, `fund_limit_whole`"), responses((status = 200, description = "The settings now")), security(("token" = [])))]
pub async fn configure_market(
    State(api): State<Api>,
    caller: Caller,
    Body(settings): Body<MarketSettings>,
) -> Result<Json<MarketSettings>, Error> {
    caller.require(Role::Admin)?;
    api.service.submit(Action::ConfigureMarket { settings }).await?;
    read(&api, |s| Ok(s.settings().clone()))
}

#[utoipa::path(put, path = "/v1/admin/feed", request_body(content = Object, description = "`{\"kind\": \"replay\", \"speed\": 1800}`, `{\"kind\": \"poll\", \"url\": ..., \"pointer\": \"/price\", \"interval_ms\": 5000}` or `{\"kind\": \"push\"}`"), responses((status = 200, description = "The feed now")), security(("token" = [])))]
pub async fn configure_feed(
    State(api): State<Api>,
    caller: Caller,
    Body(feed): Body<FeedSpec>,
) -> Result<Json<FeedSpec>, Error> {
    caller.require(Role::Admin)?;
    api.service.submit(Action::ConfigureFeed { feed }).await?;
    read(&api, |s| Ok(s.feed().clone()))
}

#[utoipa::path(post, path = "/v1/oracle/price", request_body = PushPrice, responses((status = 200, description = "The keepers' report on this price")), security(("token" = [])))]
pub async fn push_price(
    State(api): State<Api>,
    caller: Caller,
    Body(req): Body<PushPrice>,
) -> Result<Json<Value>, Error> {
    caller.require(Role::Oracle)?;
    let price = Price::parse(req.price.trim()).filter(|p| !p.0.is_zero()).ok_or_else(|| {
        Error::invalid(
            "price",
            format!("a decimal above zero with at most 18 decimals, got {:?}", req.price),
        )
    })?;
    let bound = |field: &'static str, text: &Option<String>| -> Result<Option<Price>, Error> {
        text.as_ref()
            .map(|t| {
                Price::parse(t.trim()).filter(|p| !p.0.is_zero()).ok_or_else(|| {
                    Error::invalid(field, format!("a decimal above zero, got {t:?}"))
                })
            })
            .transpose()
    };
    let range = match (bound("low", &req.low)?, bound("high", &req.high)?) {
        (Some(low), Some(high)) => Some([low, high]),
        (None, None) => None,
        (None, Some(_)) => return Err(Error::invalid("low", "give low and high together")),
        (Some(_), None) => return Err(Error::invalid("high", "give low and high together")),
    };
    let (time, feed) = {
        let state = api.service.read();
        let elapsed = api.service.price_age_secs().unwrap_or(0);
        let time =
            req.time.unwrap_or(state.now().saturating_add(i64::try_from(elapsed).unwrap_or(0)));
        check_price_time(time, state.now(), state.settings().max_future_secs)?;
        (time, state.feed().clone())
    };
    if feed != FeedSpec::Push {
        return Err(Error::Conflict(
            "the market's feed is not `push`; an admin can switch it with PUT /v1/admin/feed"
                .into(),
        ));
    }
    let (seq, applied) = api
        .service
        .submit(Action::Price { source: format!("push:{}", caller.token_id), price, time, range })
        .await?;
    let report = match applied.reply {
        crate::state::Reply::Keeper(r) => serde_json::to_value(r).unwrap_or_default(),
        _ => Value::Null,
    };
    Ok(Json(json!({ "seq": seq, "report": report })))
}

/// A pushed price's time: not before the market's clock, and not further ahead of this
/// server's wall clock than the market allows.
#[allow(clippy::disallowed_methods)]
fn check_price_time(time: i64, clock: i64, max_future_secs: u64) -> Result<(), Error> {
    if time < clock {
        return Err(Error::invalid(
            "time",
            format!("{time} is before the market's clock ({clock}); prices only move it forward"),
        ));
    }
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let limit = wall.saturating_add(i64::try_from(max_future_secs).unwrap_or(i64::MAX));
    if time > limit {
        return Err(Error::invalid(
            "time",
            format!(
                "{time} is {} s ahead of this server's clock ({wall}); at most {max_future_secs} s \
                 is allowed (the market setting max_future_secs)",
                time - wall
            ),
        ));
    }
    Ok(())
}
