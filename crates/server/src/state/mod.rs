//! The service's state: the exact engine's market plus accounts, tokens, tracked positions
//! with their profit and loss, protection orders, alerts and the keepers' log.
//!
//! [`State::apply`] is the only way it changes, one [`Action`] at a time, deterministically:
//! no clock, no randomness, no I/O. An action that fails changes nothing. The writer applies
//! an action, journals it, then acknowledges it; a restart replays the journal into a new
//! `State` equal to the old one (`State: PartialEq`).
//!
//! - [`action`]: the journaled actions.
//! - `positions`: sizing, quotes, opening, adjusting and closing, each booked into the
//!   position's profit and loss.
//! - `keeper`: a price update and what runs on it, in order: accrue, protection orders,
//!   liquidations, alerts.
//! - [`view`]: what readers see.

pub mod action;
mod keeper;
pub mod portfolio;
mod positions;
pub mod view;

use std::collections::{BTreeMap, VecDeque};

use alloy_primitives::U256;
use levfarm_core::market::PositionInventory;
use levfarm_core::price::Price;
use levfarm_core::types::{Amount, Name};
use levfarm_core::{Command, Holder};
use levfarm_sim::book::{Pnl, Snapshot};
use levfarm_sim::scenario::Scenario;
use levfarm_sim::world::World;
use serde::{Deserialize, Serialize};

/// Text that is usually a constant but must also come back from a snapshot.
pub type Text = std::borrow::Cow<'static, str>;

pub use action::{
    Action, AlertSettings, Borrow, FeedSpec, MarketSettings, OpenSpec, OrderKind, Role, TokenGrant,
    Trigger,
};
pub use keeper::{KeeperLine, KeeperReport};
pub use positions::QuoteView;

use crate::Error;

/// How long the state remembers: alerts per account, history points per position, keeper
/// reports. Older entries are dropped, oldest first.
pub const ALERTS_KEPT: usize = 200;
pub const HISTORY_KEPT: usize = 2_000;
pub const REPORTS_KEPT: usize = 100;
/// Active orders one account may hold.
pub const ORDERS_PER_ACCOUNT: usize = 100;
/// Seconds the farm is funded for at genesis.
const FARM_SECONDS: u64 = 20 * 365 * 86_400;

/// An account and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: u64,
    pub name: String,
    pub role: Role,
    pub alerts: AlertSettings,
}

/// A token, found by the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: String,
    pub label: String,
    pub account: u64,
}

/// A protection order as the service shows it: the engine's order with its owner's account
/// and its times on the service's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: u64,
    pub account: u64,
    pub position: u64,
    pub order: OrderKind,
    pub placed_at: i64,
    pub status: OrderStatus,
    /// Times it acted (standing orders act more than once).
    pub fired: u32,
    /// What it did last, or why it could not.
    pub last_note: Option<String>,
    /// A top-up's reserve left, raw units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserve_left: Option<Amount>,
}

pub use levfarm_core::orders::OrderStatus;

/// The layout of [`State`] that snapshots hold; a snapshot of another layout is not decoded
/// (the journal is replayed instead). 2: protection orders live in the engine. 3: lending
/// pools by venue.
pub const STATE_FORMAT: u32 = 3;

/// A message for one account: a threshold crossed, an order that fired, a liquidation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: u64,
    pub account: u64,
    pub time: i64,
    pub position: Option<u64>,
    pub kind: Text,
    pub message: String,
}

/// One point of a position's history, taken at every price update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPoint {
    pub time: i64,
    pub price: Price,
    /// Equity, value and debt value, 1e18 numeraire.
    pub equity: String,
    pub value: Amount,
    pub debt_value: Amount,
    pub debt_ratio_bps: u64,
}

/// A position the service opened, with its books.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Tracked {
    account: u64,
    opened_at: i64,
    /// Net value the owner put in (1e18 numeraire, at each action's prices).
    contributed: i128,
    pnl: Pnl,
    /// The holdings at the last mark: the start of the next profit-and-loss step.
    mark: Option<PositionInventory>,
    mark_quotes: [levfarm_core::position::valuation::Quote; 3],
    history: VecDeque<HistoryPoint>,
    closed: Option<Closed>,
    /// Alert hysteresis: a threshold alerts once, then again only after it cleared.
    armed: [bool; 2],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {
    pub time: i64,
    pub how: Text,
    pub note: String,
}

/// The last price and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricePoint {
    pub price: Price,
    pub time: i64,
    pub source: String,
}

/// What an applied action answers and tells the live views.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub reply: Reply,
    pub notices: Vec<Notice>,
}

/// The object an action created or touched.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Done,
    Account(u64),
    Position(u64),
    Order(u64),
    Keeper(KeeperReport),
}

/// A live update: for one account, or for everyone when `account` is `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    pub account: Option<u64>,
    pub kind: &'static str,
    pub data: serde_json::Value,
}

/// The whole service state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// [`STATE_FORMAT`]; absent (0) in snapshots of an older layout.
    #[serde(default)]
    format: u32,
    world: World,
    scenario: Scenario,
    genesis_time: i64,
    settings: MarketSettings,
    feed: FeedSpec,
    last_price: PricePoint,
    accounts: BTreeMap<u64, Account>,
    account_names: BTreeMap<String, u64>,
    /// Tokens by the hex SHA-256 of their secret.
    tokens: BTreeMap<String, TokenRecord>,
    tracked: BTreeMap<u64, Tracked>,
    alerts: BTreeMap<u64, VecDeque<Alert>>,
    next_alert: u64,
    reports: VecDeque<KeeperReport>,
    /// Each account's positions' profit and loss at its best so far, 1e18 numeraire, and the
    /// hysteresis of its portfolio alerts (debt ratio, drawdown); absent in older snapshots.
    #[serde(default)]
    portfolio_peaks: BTreeMap<u64, i128>,
    #[serde(default)]
    portfolio_armed: BTreeMap<u64, [bool; 2]>,
    /// Actions applied, equal to the journal's last sequence number.
    applied: u64,
}

impl State {
    /// The state a journal's first entry describes.
    pub fn genesis(action: &Action) -> Result<State, Error> {
        let Action::Genesis { scenario: text, price, time, feed } = action else {
            return Err(Error::Internal(format!(
                "a journal starts with genesis, not {}",
                action.op()
            )));
        };
        let scenario = Scenario::from_toml("scenario", text)
            .map_err(|e| Error::Config(format!("the market's scenario: {e}")))?;
        if price.0.is_zero() {
            return Err(Error::invalid("price", "the starting price must be above zero"));
        }
        // The service's oracle moves one price, the asset's, against a stable token at 1.
        if let Some(token) = scenario
            .market
            .pool_tokens()
            .into_iter()
            .skip(1)
            .find(|t| scenario.history_of(t).is_some())
        {
            let key = scenario.history_key(token);
            return Err(Error::Config(format!(
                "the market's scenario: {key}: the service's oracle moves one price, the \
                 asset's; a market where {token} has a price history of its own (a second pair, \
                 or a volatile stable token) is backtested and risk-run, not served"
            )));
        }
        let world = World::build(&scenario, *price, FARM_SECONDS)?;
        Ok(State {
            format: STATE_FORMAT,
            world,
            scenario,
            genesis_time: *time,
            settings: MarketSettings::default(),
            feed: feed.clone(),
            last_price: PricePoint { price: *price, time: *time, source: "genesis".into() },
            accounts: BTreeMap::new(),
            account_names: BTreeMap::new(),
            tokens: BTreeMap::new(),
            tracked: BTreeMap::new(),
            alerts: BTreeMap::new(),
            next_alert: 1,
            reports: VecDeque::new(),
            portfolio_peaks: BTreeMap::new(),
            portfolio_armed: BTreeMap::new(),
            applied: 1,
        })
    }

    /// The layout this state was written in ([`STATE_FORMAT`] for a state of this build).
    pub fn format(&self) -> u32 {
        self.format
    }

    /// Journal entries applied so far, genesis included.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Applies one action. A refusal found before anything changes leaves the state as it
    /// was; a later step that fails (a keeper's valuation overflowing) may not, so the single
    /// writer rebuilds its copy after any failure (see `service`): the state a reader sees
    /// only ever holds whole actions.
    pub fn apply(&mut self, action: &Action) -> Result<Applied, Error> {
        let applied = self.dispatch(action)?;
        self.applied += 1;
        Ok(applied)
    }

    fn dispatch(&mut self, action: &Action) -> Result<Applied, Error> {
        let done = |reply| Ok(Applied { reply, notices: Vec::new() });
        match action {
            Action::Genesis { .. } => {
                Err(Error::Conflict("the market already has its genesis".into()))
            }
            Action::CreateAccount { name, role, token } => {
                let id = self.create_account(name, *role, token)?;
                done(Reply::Account(id))
            }
            Action::CreateToken { account, token } => {
                self.account(*account)?;
                self.grant(*account, token)?;
                done(Reply::Done)
            }
            Action::RevokeToken { account, token } => {
                let hash = self
                    .tokens
                    .iter()
                    .find(|(_, t)| t.account == *account && t.id == *token)
                    .map(|(h, _)| h.clone())
                    .ok_or_else(|| Error::not_found(format!("token {token}")))?;
                if self.tokens.values().filter(|t| t.account == *account).count() == 1 {
                    return Err(Error::Conflict(
                        "this is the account's last token; create another before revoking it"
                            .into(),
                    ));
                }
                self.tokens.remove(&hash);
                done(Reply::Done)
            }
            Action::Fund { account, token, amount } => {
                self.fund(*account, token, *amount)?;
                Ok(self.wallet_notice(*account, Reply::Done))
            }
            Action::Supply { account, token, amount } => {
                let name = self.engine_name(*account)?;
                self.token_known(token)?;
                self.world.run(Command::Supply {
                    account: name,
                    token: token.clone(),
                    amount: *amount,
                    venue: self.world.lending_venue(token),
                })?;
                Ok(self.wallet_notice(*account, Reply::Done))
            }
            Action::Withdraw { account, token, amount } => {
                let name = self.engine_name(*account)?;
                self.token_known(token)?;
                self.world.run(Command::Withdraw {
                    account: name,
                    token: token.clone(),
                    amount: *amount,
                    venue: self.world.lending_venue(token),
                })?;
                Ok(self.wallet_notice(*account, Reply::Done))
            }
            Action::Open { account, spec } => self.open(*account, spec),
            Action::AddCollateral { account, position, amount0, amount1 } => {
                self.add_collateral(*account, *position, *amount0, *amount1)
            }
            Action::Reduce { account, position, share_bps } => {
                self.reduce(*account, *position, *share_bps)
            }
            Action::SetLeverage { account, position, leverage_bps } => {
                self.set_leverage(*account, *position, *leverage_bps)
            }
            Action::Close { account, position } => self.close(*account, *position),
            Action::PlaceOrder { account, position, order } => {
                self.place_order(*account, *position, order)
            }
            Action::CancelOrder { account, order } => self.cancel_order(*account, *order),
            Action::SetAlerts { account, alerts } => {
                validate_alerts(alerts)?;
                let a = self
                    .accounts
                    .get_mut(account)
                    .ok_or_else(|| Error::not_found(format!("account {account}")))?;
                a.alerts = alerts.clone();
                for t in self.tracked.values_mut().filter(|t| t.account == *account) {
                    t.armed = [true; 2];
                }
                done(Reply::Done)
            }
            Action::Price { source, price, time, range } => {
                self.price(source, *price, *time, *range)
            }
            Action::ConfigureMarket { settings } => {
                validate_settings(settings)?;
                self.settings = settings.clone();
                Ok(Applied { reply: Reply::Done, notices: vec![self.market_notice()?] })
            }
            Action::ConfigureFeed { feed } => {
                validate_feed(feed)?;
                self.feed = feed.clone();
                Ok(Applied { reply: Reply::Done, notices: vec![self.market_notice()?] })
            }
        }
    }

    fn create_account(&mut self, name: &str, role: Role, token: &TokenGrant) -> Result<u64, Error> {
        validate_name(name)?;
        if self.account_names.contains_key(name) {
            return Err(Error::Conflict(format!("the name {name:?} is taken")));
        }
        let id = self.accounts.keys().next_back().map_or(1, |k| k + 1);
        self.account_names.insert(name.to_string(), id);
        self.accounts.insert(
            id,
            Account { id, name: name.to_string(), role, alerts: AlertSettings::default() },
        );
        self.grant(id, token)?;
        Ok(id)
    }

    fn grant(&mut self, account: u64, token: &TokenGrant) -> Result<(), Error> {
        let valid_hash =
            token.sha256.len() == 64 && token.sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid_hash || token.id.is_empty() || token.id.len() > 64 {
            return Err(Error::invalid("token", "a token needs an id and a hex SHA-256"));
        }
        if token.label.chars().count() > 64 {
            return Err(Error::invalid("label", "at most 64 characters"));
        }
        if let Err(m) = levfarm_core::market::strict_json::readable(&token.label) {
            return Err(Error::invalid("label", m));
        }
        if self.tokens.contains_key(&token.sha256) || self.tokens.values().any(|t| t.id == token.id)
        {
            return Err(Error::Conflict("that token already exists".into()));
        }
        if self.tokens.values().filter(|t| t.account == account).count() >= 20 {
            return Err(Error::Conflict("an account holds at most 20 tokens".into()));
        }
        self.tokens.insert(
            token.sha256.clone(),
            TokenRecord { id: token.id.clone(), label: token.label.clone(), account },
        );
        Ok(())
    }

    fn fund(&mut self, account: u64, token: &Name, amount: Amount) -> Result<(), Error> {
        let name = self.engine_name(account)?;
        self.token_known(token)?;
        let unit = self.world.market.quote(token)?.unit;
        let limit = unit.saturating_mul(U256::from(self.settings.fund_limit_whole));
        if amount.0.is_zero() {
            return Err(Error::invalid("amount", "must be above zero"));
        }
        if amount.0 > limit {
            return Err(Error::invalid(
                "amount",
                format!(
                    "at most {} whole {token} per call ({limit} raw units)",
                    self.settings.fund_limit_whole
                ),
            ));
        }
        self.world.mint(&name, token, amount.0)?;
        Ok(())
    }

    /// The account, or not found.
    pub fn account(&self, id: u64) -> Result<&Account, Error> {
        self.accounts.get(&id).ok_or_else(|| Error::not_found(format!("account {id}")))
    }

    /// The account and role behind a token's SHA-256.
    pub fn token_owner(&self, sha256: &str) -> Option<(&TokenRecord, &Account)> {
        let token = self.tokens.get(sha256)?;
        Some((token, self.accounts.get(&token.account)?))
    }

    /// The account's name in the engine.
    fn engine_name(&self, account: u64) -> Result<Name, Error> {
        self.account(account)?;
        Ok(engine_name(account))
    }

    /// Only the market's asset and stable token are the user's to move.
    fn token_known(&self, token: &str) -> Result<(), Error> {
        if token == self.world.asset || token == self.world.stable {
            Ok(())
        } else {
            Err(Error::invalid(
                "token",
                format!(
                    "{token} is not traded here; use {} or {}",
                    self.world.asset, self.world.stable
                ),
            ))
        }
    }

    fn wallet_notice(&self, account: u64, reply: Reply) -> Applied {
        let notices = match self.wallet(account) {
            Ok(wallet) => vec![Notice {
                account: Some(account),
                kind: "wallet",
                data: serde_json::to_value(wallet).unwrap_or_default(),
            }],
            Err(_) => Vec::new(),
        };
        Applied { reply, notices }
    }

    /// The Unix time of the market's clock.
    pub fn now(&self) -> i64 {
        self.genesis_time.saturating_add(i64::try_from(self.world.market.time).unwrap_or(i64::MAX))
    }

    pub fn settings(&self) -> &MarketSettings {
        &self.settings
    }

    pub fn feed(&self) -> &FeedSpec {
        &self.feed
    }

    pub fn last_price(&self) -> &PricePoint {
        &self.last_price
    }

    /// The engine's market and the names the service runs it with, to read.
    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    fn push_alert(
        &mut self,
        account: u64,
        position: Option<u64>,
        kind: &'static str,
        message: String,
    ) -> Alert {
        let alert = Alert {
            id: self.next_alert,
            account,
            time: self.now(),
            position,
            kind: kind.into(),
            message,
        };
        self.next_alert += 1;
        let list = self.alerts.entry(account).or_default();
        list.push_back(alert.clone());
        while list.len() > ALERTS_KEPT {
            list.pop_front();
        }
        alert
    }
}

/// The engine account behind a service account.
pub fn engine_name(account: u64) -> Name {
    format!("acct-{account}").as_str().into()
}

/// The asset's, the stable token's and the reward token's oracle quotes.
fn quotes_of(world: &World) -> Result<[levfarm_core::position::valuation::Quote; 3], Error> {
    let m = &world.market;
    Ok([m.quote(&world.asset)?, m.quote(&world.stable)?, m.quote(&world.reward)?])
}

/// A profit-and-loss snapshot of the position alone (no wallet).
fn position_snapshot(
    quotes: [levfarm_core::position::valuation::Quote; 3],
    position: Option<PositionInventory>,
) -> Snapshot {
    Snapshot { quotes, position, wallet: [U256::ZERO; 3], supplied: U256::ZERO, gas: U256::ZERO }
}

/// An engine account holder.
fn holder(account: u64) -> Holder {
    Holder::Account(engine_name(account))
}

fn validate_name(name: &str) -> Result<(), Error> {
    let ok = (1..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("name", "1 to 32 characters: letters, digits, '_', '-' or '.'"))
    }
}

fn validate_alerts(a: &AlertSettings) -> Result<(), Error> {
    if a.debt_ratio_bps.is_some_and(|b| b == 0 || b >= 10_000) {
        return Err(Error::invalid("debt_ratio_bps", "between 1 and 9999"));
    }
    if a.distance_bps.is_some_and(|b| b == 0 || b >= 10_000) {
        return Err(Error::invalid("distance_bps", "between 1 and 9999"));
    }
    if a.portfolio_debt_ratio_bps.is_some_and(|b| b == 0 || b >= 10_000) {
        return Err(Error::invalid("portfolio_debt_ratio_bps", "between 1 and 9999"));
    }
    if a.portfolio_drawdown_bps.is_some_and(|b| b == 0 || b > 10_000) {
        return Err(Error::invalid("portfolio_drawdown_bps", "between 1 and 10000"));
    }
    if let Some(url) = &a.webhook {
        crate::webhook::validate_url(url).map_err(|m| Error::invalid("webhook", m))?;
    }
    Ok(())
}

fn validate_settings(s: &MarketSettings) -> Result<(), Error> {
    if !(10_000..=200_000).contains(&s.max_leverage_bps) {
        return Err(Error::invalid("max_leverage_bps", "between 10000 (1x) and 200000 (20x)"));
    }
    if s.stale_after_secs == 0 {
        return Err(Error::invalid("stale_after_secs", "must be above zero"));
    }
    if s.fund_limit_whole == 0 || s.fund_limit_whole > 1_000_000_000_000 {
        return Err(Error::invalid("fund_limit_whole", "between 1 and 10^12"));
    }
    if s.max_future_secs > 86_400 {
        return Err(Error::invalid("max_future_secs", "between 0 and 86400 (a day)"));
    }
    Ok(())
}

pub(crate) fn validate_feed(f: &FeedSpec) -> Result<(), Error> {
    match f {
        FeedSpec::Replay { speed } if *speed == 0 || *speed > 10_000_000 => {
            Err(Error::invalid("speed", "between 1 and 10000000"))
        }
        FeedSpec::Poll { url, pointer, interval_ms } => {
            crate::webhook::validate_url(url).map_err(|m| Error::invalid("url", m))?;
            if !(pointer.is_empty() || pointer.starts_with('/')) {
                return Err(Error::invalid(
                    "pointer",
                    "a JSON pointer starts with '/' (RFC 6901), e.g. \"/data/price\"",
                ));
            }
            if *interval_ms < 100 || *interval_ms > 3_600_000 {
                return Err(Error::invalid("interval_ms", "between 100 and 3600000"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
