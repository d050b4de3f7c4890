//! Actions: everything that changes the service's state, one JSON object each, tagged by
//! `"op"`. The writer journals an action before it acknowledges it, and a restart replays the
//! journal through [`super::State::apply`]: same actions, same state, byte for byte. So an
//! action carries every input it needs (the time of a price, the hash of a new token) and
//! nothing is read from a clock or a random source while applying it.

use levfarm_core::price::Price;
use levfarm_core::types::{Amount, Name};
use serde::{Deserialize, Serialize};

/// What a token may do. Every account has one role; its tokens carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Trades for itself.
    User,
    /// Pushes prices.
    Oracle,
    /// Configures the market and the feed, creates accounts of any role.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Oracle => "oracle",
            Role::Admin => "admin",
        }
    }
}

/// A new API token as the journal keeps it: its public id, a label and the SHA-256 of the
/// secret. The secret itself is shown once, in the response, and stored nowhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenGrant {
    pub id: String,
    pub label: String,
    pub sha256: String,
}

/// What to borrow when opening: the stable token (long the asset) or the asset (short it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Borrow {
    #[default]
    Stable,
    Asset,
}

/// How to open a position: equity from the wallet in either token, a leverage, the side to
/// borrow and (v3 pools) a range width centred on the pool's price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSpec {
    /// Raw units of the asset (token0) put in.
    #[serde(default)]
    pub equity0: Amount,
    /// Raw units of the stable token (token1) put in.
    #[serde(default)]
    pub equity1: Amount,
    /// Position value over equity, in basis points of 1x: 30000 is 3x.
    pub leverage_bps: u32,
    #[serde(default)]
    pub borrow: Borrow,
    /// v3 pools: the range's width in ticks; the scenario's width when omitted.
    #[serde(default)]
    pub range_width_ticks: Option<i32>,
    /// v3 pools: the range's bounds as prices of the asset in the stable token, snapped outward
    /// to the tick spacing; both or neither, and not with `range_width_ticks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_lower: Option<levfarm_core::price::Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_upper: Option<levfarm_core::price::Price>,
    /// The pool to provide liquidity to, by name; the market's default pool when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// The lending venue to borrow from, by name; the market's default venue when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
}

/// Orders are the engine's own: the service places them in its market and its keepers run
/// them with the same rule as the backtester and the risk kernel.
pub use levfarm_core::orders::{OrderKind, Trigger};

/// When a user wants to hear about a position: a debt ratio reached, or the price within a
/// distance of a liquidation price; and where to POST the alert besides the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    #[serde(default)]
    pub debt_ratio_bps: Option<u32>,
    #[serde(default)]
    pub distance_bps: Option<u32>,
    /// The account's portfolio: alert when the open positions' debt over their value reaches
    /// this (bps)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portfolio_debt_ratio_bps: Option<u32>,
    /// ...and when the positions' profit and loss is this far below its best, in bps of what
    /// the open positions were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portfolio_drawdown_bps: Option<u32>,
    #[serde(default)]
    pub webhook: Option<String>,
}

/// Market-wide settings an admin changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketSettings {
    /// Refuse new positions and leverage increases.
    pub opening_halted: bool,
    /// The most leverage a position may open with, bps of 1x.
    pub max_leverage_bps: u32,
    /// Opening is refused when the last price is older than this (wall-clock seconds).
    pub stale_after_secs: u64,
    /// The most one `fund` call may mint, in whole tokens.
    pub fund_limit_whole: u64,
    /// A pushed price's `time` may be at most this far ahead of the server's wall clock
    /// (seconds); further is a wrong clock or a wrong number, refused.
    pub max_future_secs: u64,
}

impl Default for MarketSettings {
    fn default() -> Self {
        MarketSettings {
            opening_halted: false,
            max_leverage_bps: 60_000,
            stale_after_secs: 60,
            fund_limit_whole: 1_000_000,
            max_future_secs: 300,
        }
    }
}

/// Where prices come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FeedSpec {
    /// The scenario's price history, `speed` times faster than it happened.
    Replay { speed: u32 },
    /// GET `url` every `interval_ms` and read the price at the JSON `pointer` (RFC 6901).
    Poll { url: String, pointer: String, interval_ms: u64 },
    /// Only tokens with the oracle role set prices.
    Push,
}

/// One change to the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// The first entry of every journal: the market, built from a scenario at a price and a
    /// Unix time, and the feed it starts with.
    Genesis {
        scenario: String,
        price: Price,
        time: i64,
        feed: FeedSpec,
    },
    CreateAccount {
        name: String,
        role: Role,
        token: TokenGrant,
    },
    CreateToken {
        account: u64,
        token: TokenGrant,
    },
    RevokeToken {
        account: u64,
        token: String,
    },
    /// Mints simulated tokens into the account's wallet.
    Fund {
        account: u64,
        token: Name,
        amount: Amount,
    },
    Supply {
        account: u64,
        token: Name,
        amount: Amount,
    },
    Withdraw {
        account: u64,
        token: Name,
        amount: Option<Amount>,
    },
    Open {
        account: u64,
        spec: OpenSpec,
    },
    AddCollateral {
        account: u64,
        position: u64,
        amount0: Amount,
        amount1: Amount,
    },
    /// Removes `share_bps` of the position's liquidity and repays debt with it.
    Reduce {
        account: u64,
        position: u64,
        share_bps: u32,
    },
    SetLeverage {
        account: u64,
        position: u64,
        leverage_bps: u32,
    },
    Close {
        account: u64,
        position: u64,
    },
    PlaceOrder {
        account: u64,
        position: u64,
        order: OrderKind,
    },
    CancelOrder {
        account: u64,
        order: u64,
    },
    SetAlerts {
        account: u64,
        alerts: AlertSettings,
    },
    /// A new asset price at a Unix time; the keepers run on it.
    Price {
        source: String,
        price: Price,
        time: i64,
        /// The bar's low and high since the last price, where the source has them: protection
        /// and liquidators race along the path through them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        range: Option<[Price; 2]>,
    },
    ConfigureMarket {
        settings: MarketSettings,
    },
    ConfigureFeed {
        feed: FeedSpec,
    },
}

impl Action {
    /// The account an action is for, when it is one user's.
    pub fn account(&self) -> Option<u64> {
        match self {
            Action::CreateToken { account, .. }
            | Action::RevokeToken { account, .. }
            | Action::Fund { account, .. }
            | Action::Supply { account, .. }
            | Action::Withdraw { account, .. }
            | Action::Open { account, .. }
            | Action::AddCollateral { account, .. }
            | Action::Reduce { account, .. }
            | Action::SetLeverage { account, .. }
            | Action::Close { account, .. }
            | Action::PlaceOrder { account, .. }
            | Action::CancelOrder { account, .. }
            | Action::SetAlerts { account, .. } => Some(*account),
            _ => None,
        }
    }

    pub fn op(&self) -> &'static str {
        match self {
            Action::Genesis { .. } => "genesis",
            Action::CreateAccount { .. } => "create_account",
            Action::CreateToken { .. } => "create_token",
            Action::RevokeToken { .. } => "revoke_token",
            Action::Fund { .. } => "fund",
            Action::Supply { .. } => "supply",
            Action::Withdraw { .. } => "withdraw",
            Action::Open { .. } => "open",
            Action::AddCollateral { .. } => "add_collateral",
            Action::Reduce { .. } => "reduce",
            Action::SetLeverage { .. } => "set_leverage",
            Action::Close { .. } => "close",
            Action::PlaceOrder { .. } => "place_order",
            Action::CancelOrder { .. } => "cancel_order",
            Action::SetAlerts { .. } => "set_alerts",
            Action::Price { .. } => "price",
            Action::ConfigureMarket { .. } => "configure_market",
            Action::ConfigureFeed { .. } => "configure_feed",
        }
    }
}
