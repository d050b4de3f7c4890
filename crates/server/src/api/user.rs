//! What a user does: sign up, tokens, wallet, lending, quotes, positions, orders, alerts.
//! A user sees and acts on their own objects only; anyone else's are "not found".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use levfarm_core::types::{Amount, Name};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::{new_token, read, Api, Body, Caller, Id};
use crate::state::portfolio::PortfolioView;
use crate::state::view::{MarketView, PositionView};
use crate::state::{Action, AlertSettings, Borrow, OpenSpec, OrderKind, Reply, Role};
use crate::Error;

type Answer<T = Value> = Result<Json<T>, Error>;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    /// 1 to 32 letters, digits, `_`, `-` or `.`.
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[serde(default)]
    pub label: String,
}

/// A token and an amount in raw units (a decimal string).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenAmount {
    #[schema(value_type = String, example = "USDC")]
    pub token: Name,
    #[schema(value_type = String, example = "10000000000")]
    pub amount: Amount,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Withdraw {
    #[schema(value_type = String, example = "USDC")]
    pub token: Name,
    /// Everything when omitted.
    #[schema(value_type = Option<String>)]
    pub amount: Option<Amount>,
}

/// A position to open or quote.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Open {
    /// Raw units of the asset put in.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "0")]
    pub equity0: Amount,
    /// Raw units of the stable token put in.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "1000000000")]
    pub equity1: Amount,
    /// Value over equity: "3", "2.5".
    #[schema(example = "3")]
    pub leverage: String,
    /// `stable` (long the asset) or `asset` (short it).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "stable")]
    pub borrow: Borrow,
    /// v3 pools only: the range's width in ticks.
    #[serde(default)]
    pub range_width_ticks: Option<i32>,
    /// v3 pools only: the range's lower and upper prices (the asset in the stable token, as
    /// decimals: "1800", "2500"), snapped outward to the tick spacing; both or neither.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "1800")]
    pub range_lower: Option<levfarm_core::price::Price>,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "2500")]
    pub range_upper: Option<levfarm_core::price::Price>,
    /// The pool to provide liquidity to (`GET /v1/market` lists them); the market's default
    /// pool when omitted.
    #[serde(default)]
    #[schema(example = "main")]
    pub pool: Option<String>,
    /// The lending venue to borrow from (`GET /v1/market` lists them); the market's default
    /// venue when omitted.
    #[serde(default)]
    #[schema(example = "main")]
    pub venue: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Collateral {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub amount0: Amount,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub amount1: Amount,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reduce {
    /// Share of the liquidity to remove, bps: 2500 is a quarter, 10000 all.
    pub share_bps: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Leverage {
    #[schema(example = "2")]
    pub leverage: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    pub position: u64,
    /// `{"kind": "stop_loss", "trigger": {"below": "1500"}}`, `{"kind": "take_profit",
    /// "trigger": {"above": "2500"}}`, `{"kind": "deleverage", "trigger_bps": 7500,
    /// "target_bps": 6000}`, `{"kind": "rebalance", "target_leverage_bps": 30000,
    /// "band_bps": 1000}`, `{"kind": "top_up", "trigger_bps": 7500, "target_bps": 6500,
    /// "reserve": "1000000000"}`, `{"kind": "trailing_stop", "trail": {"price_fall_bps":
    /// 1000}}`, `{"kind": "time_limit", "at": 1767225600}` (Unix seconds), `{"kind": "compound",
    /// "every_seconds": 86400}`, `{"kind": "recenter"}`; see `docs/exec.md`.
    #[schema(value_type = Object)]
    pub order: OrderKind,
}

/// Parses a leverage such as "3", "2.5" or "3x" into bps of 1x.
pub fn leverage_bps(text: &str) -> Result<u32, Error> {
    let bad = || {
        Error::invalid("leverage", format!("a number of times like \"3\" or \"2.5\", got {text:?}"))
    };
    let t = text.trim().trim_end_matches(['x', 'X']);
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty()
        || frac.len() > 4
        || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        || whole.len() > 4
    {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let frac: u32 =
        if frac.is_empty() { 0 } else { format!("{frac:0<4}").parse().map_err(|_| bad())? };
    Ok(whole * 10_000 + frac)
}

fn spec(o: Open) -> Result<OpenSpec, Error> {
    Ok(OpenSpec {
        equity0: o.equity0,
        equity1: o.equity1,
        leverage_bps: leverage_bps(&o.leverage)?,
        borrow: o.borrow,
        range_width_ticks: o.range_width_ticks,
        range_lower: o.range_lower,
        range_upper: o.range_upper,
        pool: o.pool,
        venue: o.venue,
    })
}

#[utoipa::path(post, path = "/v1/accounts", request_body = SignUp, responses((status = 201, description = "The account and its first token, shown once")))]
pub async fn sign_up(
    State(api): State<Api>,
    Body(req): Body<SignUp>,
) -> Result<(StatusCode, Json<Value>), Error> {
    if !api.open_signup {
        return Err(Error::Forbidden { role: "admin" });
    }
    create(&api, req.name, Role::User).await
}

/// Creates an account with a first token and answers with both.
pub(super) async fn create(
    api: &Api,
    name: String,
    role: Role,
) -> Result<(StatusCode, Json<Value>), Error> {
    let (token, grant) = new_token("first token")?;
    let token_id = grant.id.clone();
    let (_, applied) = api
        .service
        .submit(Action::CreateAccount { name: name.clone(), role, token: grant })
        .await?;
    let Reply::Account(id) = applied.reply else {
        return Err(Error::Internal("no account created".into()));
    };
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "account": id, "name": name, "role": role, "token": token, "token_id": token_id }),
        ),
    ))
}

#[utoipa::path(get, path = "/v1/me", responses((status = 200, description = "The caller's account, wallet, lending supply and tokens")), security(("token" = [])))]
pub async fn me(State(api): State<Api>, caller: Caller) -> Answer<crate::state::view::MeView> {
    read(&api, |s| s.me(caller.account))
}

#[utoipa::path(post, path = "/v1/tokens", request_body = NewToken, responses((status = 201, description = "A new token, shown once")), security(("token" = [])))]
pub async fn create_token(
    State(api): State<Api>,
    caller: Caller,
    Body(req): Body<NewToken>,
) -> Result<(StatusCode, Json<Value>), Error> {
    let (token, grant) = new_token(&req.label)?;
    let id = grant.id.clone();
    api.service.submit(Action::CreateToken { account: caller.account, token: grant }).await?;
    Ok((StatusCode::CREATED, Json(json!({ "token": token, "token_id": id, "label": req.label }))))
}

#[utoipa::path(delete, path = "/v1/tokens/{id}", params(("id" = String, Path)), responses((status = 200, description = "Revoked")), security(("token" = [])))]
pub async fn revoke_token(
    State(api): State<Api>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    api.service.submit(Action::RevokeToken { account: caller.account, token: id.clone() }).await?;
    Ok(Json(json!({ "revoked": id })))
}

#[utoipa::path(post, path = "/v1/fund", request_body = TokenAmount, responses((status = 200, description = "The wallet after")), security(("token" = [])))]
pub async fn fund(
    State(api): State<Api>,
    caller: Caller,
    Body(req): Body<TokenAmount>,
) -> Answer<crate::state::view::WalletView> {
    api.service
        .submit(Action::Fund { account: caller.account, token: req.token, amount: req.amount })
        .await?;
    read(&api, |s| s.wallet(caller.account))
}

#[utoipa::path(post, path = "/v1/supply", request_body = TokenAmount, responses((status = 200, description = "The wallet after")), security(("token" = [])))]
pub async fn supply(
    State(api): State<Api>,
    caller: Caller,
    Body(req): Body<TokenAmount>,
) -> Answer<crate::state::view::WalletView> {
    api.service
        .submit(Action::Supply { account: caller.account, token: req.token, amount: req.amount })
        .await?;
    read(&api, |s| s.wallet(caller.account))
}

#[utoipa::path(post, path = "/v1/withdraw", request_body = Withdraw, responses((status = 200, description = "The wallet after")), security(("token" = [])))]
pub async fn withdraw(
    State(api): State<Api>,
    caller: Caller,
    Body(req): Body<Withdraw>,
) -> Answer<crate::state::view::WalletView> {
    api.service
        .submit(Action::Withdraw { account: caller.account, token: req.token, amount: req.amount })
        .await?;
    read(&api, |s| s.wallet(caller.account))
}

#[utoipa::path(get, path = "/v1/market", responses((status = 200, description = "Pool price and depth, lending rates, the feed and the market's settings")), security(("token" = [])))]
pub async fn market(State(api): State<Api>, _caller: Caller) -> Answer<MarketView> {
    read(&api, |s| s.market_view())
}

#[utoipa::path(post, path = "/v1/quote", request_body = Open, responses((status = 200, description = "What opening would do: borrow, health, liquidation prices, cost")), security(("token" = [])))]
pub async fn quote(
    State(api): State<Api>,
    caller: Caller,
    Body(req): Body<Open>,
) -> Answer<crate::state::QuoteView> {
    let spec = spec(req)?;
    read(&api, |s| s.quote(caller.account, &spec))
}

#[utoipa::path(post, path = "/v1/positions", request_body = Open, responses((status = 201, description = "The new position")), security(("token" = [])))]
pub async fn open(
    State(api): State<Api>,
    caller: Caller,
    Body(req): Body<Open>,
) -> Result<(StatusCode, Json<PositionView>), Error> {
    let spec = spec(req)?;
    api.service.fresh_price()?;
    let (_, applied) = api.service.submit(Action::Open { account: caller.account, spec }).await?;
    let Reply::Position(id) = applied.reply else {
        return Err(Error::Internal("no position opened".into()));
    };
    Ok((StatusCode::CREATED, read(&api, |s| s.position_view(caller.account, id))?))
}

#[utoipa::path(get, path = "/v1/positions", responses((status = 200, description = "The caller's positions, newest first")), security(("token" = [])))]
pub async fn positions(State(api): State<Api>, caller: Caller) -> Answer<Vec<PositionView>> {
    read(&api, |s| s.positions_of(caller.account))
}

#[utoipa::path(get, path = "/v1/portfolio", responses((status = 200, description = "The caller's positions as one portfolio: equity, the summed PnL decomposition, exposure per token and per venue, total debt ratio and drawdown")), security(("token" = [])))]
pub async fn portfolio(State(api): State<Api>, caller: Caller) -> Answer<PortfolioView> {
    read(&api, |s| s.portfolio(caller.account))
}

#[utoipa::path(get, path = "/v1/positions/{id}", params(("id" = u64, Path)), responses((status = 200, description = "Health, both liquidation prices and the PnL decomposition"), (status = 404, description = "No such position of the caller's")), security(("token" = [])))]
pub async fn position(State(api): State<Api>, caller: Caller, Id(id): Id) -> Answer<PositionView> {
    read(&api, |s| s.position_view(caller.account, id))
}

#[utoipa::path(get, path = "/v1/positions/{id}/history", params(("id" = u64, Path)), responses((status = 200, description = "Equity, value, debt and debt ratio at every price update")), security(("token" = [])))]
pub async fn history(
    State(api): State<Api>,
    caller: Caller,
    Id(id): Id,
) -> Answer<Vec<crate::state::HistoryPoint>> {
    read(&api, |s| s.history(caller.account, id))
}

/// Submits a position action and answers with the position (or the one replacing it).
async fn act(api: &Api, account: u64, action: Action) -> Answer<PositionView> {
    let (_, applied) = api.service.submit(action).await?;
    let Reply::Position(id) = applied.reply else {
        return Err(Error::Internal("no position in the reply".into()));
    };
    read(api, |s| s.position_view(account, id))
}

#[utoipa::path(post, path = "/v1/positions/{id}/collateral", params(("id" = u64, Path)), request_body = Collateral, responses((status = 200, description = "The position after")), security(("token" = [])))]
pub async fn add_collateral(
    State(api): State<Api>,
    caller: Caller,
    Id(id): Id,
    Body(req): Body<Collateral>,
) -> Answer<PositionView> {
    act(
        &api,
        caller.account,
        Action::AddCollateral {
            account: caller.account,
            position: id,
            amount0: req.amount0,
            amount1: req.amount1,
        },
    )
    .await
}

#[utoipa::path(post, path = "/v1/positions/{id}/reduce", params(("id" = u64, Path)), request_body = Reduce, responses((status = 200, description = "The position after: part of it closed, debt repaid")), security(("token" = [])))]
pub async fn reduce(
    State(api): State<Api>,
    caller: Caller,
    Id(id): Id,
    Body(req): Body<Reduce>,
) -> Answer<PositionView> {
    act(
        &api,
        caller.account,
        Action::Reduce { account: caller.account, position: id, share_bps: req.share_bps },
    )
    .await
}

#[utoipa::path(post, path = "/v1/positions/{id}/leverage", params(("id" = u64, Path)), request_body = Leverage, responses((status = 200, description = "The position at the new leverage (a new id when raised)")), security(("token" = [])))]
pub async fn set_leverage(
    State(api): State<Api>,
    caller: Caller,
    Id(id): Id,
    Body(req): Body<Leverage>,
) -> Answer<PositionView> {
    let target = leverage_bps(&req.leverage)?;
    let raising = {
        let state = api.service.read();
        let view = state.position_view(caller.account, id)?;
        view.health.is_some_and(|h| u64::from(target) > h.leverage_bps)
    };
    if raising {
        api.service.fresh_price()?;
    }
    act(
        &api,
        caller.account,
        Action::SetLeverage { account: caller.account, position: id, leverage_bps: target },
    )
    .await
}

#[utoipa::path(post, path = "/v1/positions/{id}/close", params(("id" = u64, Path)), responses((status = 200, description = "The closed position with its final books")), security(("token" = [])))]
pub async fn close(State(api): State<Api>, caller: Caller, Id(id): Id) -> Answer<PositionView> {
    act(&api, caller.account, Action::Close { account: caller.account, position: id }).await
}

#[utoipa::path(get, path = "/v1/orders", responses((status = 200, description = "The caller's protection orders, newest first")), security(("token" = [])))]
pub async fn orders(State(api): State<Api>, caller: Caller) -> Answer<Vec<crate::state::Order>> {
    read(&api, |s| Ok(s.orders_of(caller.account)))
}

#[utoipa::path(post, path = "/v1/orders", request_body = PlaceOrder, responses((status = 201, description = "The order")), security(("token" = [])))]
pub async fn place_order(
    State(api): State<Api>,
    caller: Caller,
    Body(req): Body<PlaceOrder>,
) -> Result<(StatusCode, Json<crate::state::Order>), Error> {
    let (_, applied) = api
        .service
        .submit(Action::PlaceOrder {
            account: caller.account,
            position: req.position,
            order: req.order,
        })
        .await?;
    let Reply::Order(id) = applied.reply else {
        return Err(Error::Internal("no order placed".into()));
    };
    Ok((StatusCode::CREATED, read(&api, |s| s.order(caller.account, id))?))
}

#[utoipa::path(get, path = "/v1/orders/{id}", params(("id" = u64, Path)), responses((status = 200, description = "The order and what it did")), security(("token" = [])))]
pub async fn order(
    State(api): State<Api>,
    caller: Caller,
    Id(id): Id,
) -> Answer<crate::state::Order> {
    read(&api, |s| s.order(caller.account, id))
}

#[utoipa::path(delete, path = "/v1/orders/{id}", params(("id" = u64, Path)), responses((status = 200, description = "The cancelled order")), security(("token" = [])))]
pub async fn cancel_order(
    State(api): State<Api>,
    caller: Caller,
    Id(id): Id,
) -> Answer<crate::state::Order> {
    api.service.submit(Action::CancelOrder { account: caller.account, order: id }).await?;
    read(&api, |s| s.order(caller.account, id))
}

#[utoipa::path(get, path = "/v1/alerts", responses((status = 200, description = "The caller's alerts, newest first, and their settings")), security(("token" = [])))]
pub async fn alerts(State(api): State<Api>, caller: Caller) -> Answer {
    read(&api, |s| {
        let settings = s.account(caller.account)?.alerts.clone();
        Ok(json!({ "settings": settings, "alerts": s.alerts_of(caller.account) }))
    })
}

#[utoipa::path(put, path = "/v1/alerts/settings", request_body(content = Object, description = "`debt_ratio_bps`, `distance_bps`, `webhook`: each optional"), responses((status = 200, description = "The settings")), security(("token" = [])))]
pub async fn set_alerts(
    State(api): State<Api>,
    caller: Caller,
    Body(req): Body<AlertSettings>,
) -> Answer<AlertSettings> {
    api.service.submit(Action::SetAlerts { account: caller.account, alerts: req }).await?;
    read(&api, |s| Ok(s.account(caller.account)?.alerts.clone()))
}

#[utoipa::path(get, path = "/v1/keeper", responses((status = 200, description = "The keepers' last reports: what they did and skipped, and why")), security(("token" = [])))]
pub async fn keeper(State(api): State<Api>, caller: Caller) -> Answer {
    let age = api.service.price_age_secs();
    read(&api, |s| {
        // Other users' positions are summarized, not shown: lines name no position or order.
        let mine = |line: &crate::state::KeeperLine| {
            caller.role == Role::Admin
                || line.position.is_none_or(|p| s.position_view(caller.account, p).is_ok())
        };
        let reports: Vec<Value> = s
            .reports()
            .into_iter()
            .take(20)
            .map(|r| {
                let hidden = r.lines.iter().filter(|l| !mine(l)).count();
                let lines: Vec<_> = r.lines.iter().filter(|l| mine(l)).cloned().collect();
                json!({ "time": r.time, "price": r.price, "source": r.source, "lines": lines, "other_accounts_lines": hidden })
            })
            .collect();
        Ok(
            json!({ "price_age_secs": age, "stale_after_secs": s.settings().stale_after_secs, "reports": reports }),
        )
    })
}
