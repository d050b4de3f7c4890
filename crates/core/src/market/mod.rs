//! The market: one deterministic state machine over tokens, oracle prices, lending pools,
//! AMM pools, farms and leveraged positions.
//!
//! [`Market::apply`] takes a [`Command`] and returns the [`Event`]s it caused, or an [`Error`]
//! and no change at all: every command runs on a copy that replaces the state only on success
//! (revm's execute-then-commit). No I/O, no clock, no randomness: time is `advance_time`.
//!
//! - [`command`], [`event`]: the public, serde-tagged interface (`levfarm exec` speaks it).
//! - `ledger`: token balances, the only place tokens move.
//! - `lending_ops`, `amm_ops`, `position_ops`, `liquidation`: the command handlers.
//! - `view`: read-only queries (health, liquidation prices, conservation totals).

mod amm_ops;
pub mod command;
pub mod event;
mod keeper_ops;
mod ledger;
mod lending_ops;
mod liquidation;
mod position_ops;
mod race;
mod range_ops;
pub mod strict_json;
mod v3_ops;
mod view;

use std::collections::BTreeMap;

use imbl::OrdMap;

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use amm_ops::StakeMove;
pub use command::Command;

/// The latest time the engine's clock may reach, in unix seconds: 9999-12-31 23:59:59 UTC. A
/// clock beyond it is a wrapped or mistyped number, never a date a market accrues to.
pub const MAX_TIME: u64 = 253_402_300_799;
pub use event::Event;
pub use keeper_ops::deleverage_ppm;
pub use race::{BarPath, KeeperTiming, RaceOutcome};
pub use v3_ops::V3Entry;
pub use view::{LendingSummary, PositionInventory, Summary, Totals};

use crate::amm::ConstantProductPool;
use crate::farm::Farm;
use crate::lending::LendingPool;
use crate::position::valuation::Quote;
use crate::position::{LeverageConfig, Position, TickRange};
use crate::types::{Holder, Name, Venue};
use crate::Error;

/// A registered token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub decimals: u8,
}

/// A token as the market keeps it: decimals, `10^decimals`, its oracle price once set, and
/// its lending pools, by venue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TokenState {
    symbol: Name,
    decimals: u8,
    unit: U256,
    price_wad: Option<U256>,
    lending: BTreeMap<Venue, LendingPool>,
}

/// A constant-product pool with its leverage rules and optional farm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmmPool {
    pub token0: Name,
    pub token1: Name,
    pub amm: ConstantProductPool,
    pub leverage: LeverageConfig,
    pub farm: Option<Farm>,
    /// Where `token0` and `token1` sit in the market's token list, so that valuing the pool's
    /// tokens takes no name lookup.
    token_ids: [usize; 2],
}

impl AmmPool {
    /// Index (0 or 1) of `token` in this pool.
    pub fn side(&self, token: &str) -> Option<usize> {
        [&self.token0, &self.token1].iter().position(|t| *t == token)
    }

    /// The two token symbols.
    pub fn tokens(&self) -> [&str; 2] {
        [&self.token0, &self.token1]
    }
}

/// The whole engine state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Market {
    /// Seconds since the start of the run.
    pub time: u64,
    /// Tokens in the order they were created; a token is never removed, so an index into
    /// this list stays valid.
    tokens: Vec<TokenState>,
    token_ids: BTreeMap<Name, usize>,
    ledger: ledger::Ledger,
    pools: BTreeMap<Name, AmmPool>,
    v3_pools: BTreeMap<Name, V3Entry>,
    positions: OrdMap<u64, Position>,
    next_position: u64,
    /// Protection orders, by id; never removed, so an id is never reused.
    #[serde(default)]
    orders: OrdMap<u64, crate::orders::Order>,
    /// Leverage rules of the venues other than the main one, by venue and pool.
    #[serde(default)]
    venue_leverage: BTreeMap<Venue, BTreeMap<Name, LeverageConfig>>,
}

impl Market {
    /// An empty market at time 0.
    pub fn new() -> Self {
        Self { next_position: 1, ..Self::default() }
    }

    /// Applies one command. On error nothing changes.
    pub fn apply(&mut self, command: &Command) -> Result<Vec<Event>, Error> {
        let mut events = Vec::new();
        self.apply_into(command, &mut events)?;
        Ok(events)
    }

    /// [`Self::apply`] appending the events to `events`, a buffer that a driver applying
    /// commands by the million reuses. On error nothing changes, `events` included.
    pub fn apply_into(&mut self, command: &Command, events: &mut Vec<Event>) -> Result<(), Error> {
        let len = events.len();
        let applied = match command {
            // Atomic on their own: each checks everything before it changes anything.
            Command::AdvanceTime { .. }
            | Command::SetPrice { .. }
            | Command::InspectPosition { .. }
            | Command::Arbitrage { .. }
            | Command::Swap { .. }
            | Command::Accrue {}
            | Command::V3Mint { .. }
            | Command::V3Burn { .. }
            | Command::V3Collect { .. }
            | Command::V3Swap { .. }
            // Each action of a keeper run is applied on its own copy; the run never fails
            // after its checks.
            | Command::PlaceOrder { .. }
            | Command::CancelOrder { .. }
            | Command::RunKeepers { .. }
            | Command::RunOrder { .. } => self.dispatch(command, events),
            // The rest runs on a copy that replaces the market only when all of it succeeded.
            _ => {
                let mut next = self.clone();
                next.dispatch(command, events).map(|()| *self = next)
            }
        };
        if applied.is_err() {
            events.truncate(len);
        }
        applied
    }

    fn dispatch(&mut self, command: &Command, ev: &mut Vec<Event>) -> Result<(), Error> {
        use Command as C;
        match command {
            C::CreateToken { symbol, decimals } => self.create_token(symbol, *decimals, ev),
            C::Mint { to, token, amount } => self.mint(to, token, amount.0, ev),
            C::Transfer { from, to, token, amount } => {
                self.transfer_between(from, to, token, amount.0, ev)
            }
            C::Accrue {} => self.accrue_all(ev),
            C::CreateLendingPool { token, venue, config } => {
                self.create_lending_pool(venue, token, config, ev)
            }
            C::Supply { account, token, amount, venue } => {
                self.supply(venue, account, token, amount.0, ev)
            }
            C::Withdraw { account, token, amount, venue } => {
                self.withdraw(venue, account, token, amount.map(|a| a.0), ev)
            }
            C::Borrow { account, token, amount, venue } => {
                self.borrow(venue, account, token, amount.0, ev)
            }
            C::Repay { account, token, amount, venue } => {
                self.repay(venue, account, token, amount.map(|a| a.0), ev)
            }
            C::LiquidateAccount {
                liquidator,
                borrower,
                debt_token,
                collateral_token,
                debt_to_cover,
                venue,
            } => self.liquidate_account(
                venue,
                liquidator,
                borrower,
                debt_token,
                collateral_token,
                debt_to_cover.map(|a| a.0),
                ev,
            ),
            C::CreatePool { pool, token0, token1, fee_bps, protocol_fee_divisor, leverage } => self
                .create_pool(pool, token0, token1, *fee_bps, *protocol_fee_divisor, leverage, ev),
            C::SetVenueLeverage { venue, pool, leverage } => {
                self.set_venue_leverage(venue, pool, leverage, ev)
            }
            C::AddLiquidity { account, pool, amount0, amount1, min_liquidity } => self
                .add_liquidity(
                    account,
                    pool,
                    [amount0.0, amount1.0],
                    min_liquidity.map(|a| a.0),
                    ev,
                ),
            C::RemoveLiquidity { account, pool, liquidity } => {
                self.remove_liquidity(account, pool, liquidity.0, ev)
            }
            C::Swap { account, pool, token_in, amount_in, min_amount_out } => {
                self.swap(account, pool, token_in, amount_in.0, min_amount_out.map(|a| a.0), ev)
            }
            C::Arbitrage { account, pool } if self.v3_pools.contains_key(pool.as_str()) => {
                self.v3_arbitrage(account, pool, ev)
            }
            C::Arbitrage { account, pool } => self.arbitrage(account, pool, ev),
            C::CreateFarm { pool, reward_token, reward_per_second } => {
                self.create_farm(pool, reward_token, reward_per_second.0, ev)
            }
            C::FundFarm { account, pool, amount } => self.fund_farm(account, pool, amount.0, ev),
            C::Stake { account, pool, amount } => {
                self.account_stake(account, pool, amount.0, StakeMove::Stake, ev)
            }
            C::Unstake { account, pool, amount } => {
                self.account_stake(account, pool, amount.0, StakeMove::Unstake, ev)
            }
            C::Harvest { account, pool } => self.harvest(account, pool, ev),
            C::OpenPosition { owner, pool, equity0, equity1, borrow0, borrow1, min_lp, venue } => {
                self.open_position(
                    venue,
                    owner,
                    pool,
                    None,
                    [equity0.0, equity1.0],
                    [borrow0.0, borrow1.0],
                    min_lp.map(|a| a.0),
                    ev,
                )
            }
            C::OpenRangePosition {
                owner,
                pool,
                tick_lower,
                tick_upper,
                equity0,
                equity1,
                borrow0,
                borrow1,
                min_liquidity,
                venue,
            } => self.open_position(
                venue,
                owner,
                pool,
                Some(TickRange { tick_lower: *tick_lower, tick_upper: *tick_upper }),
                [equity0.0, equity1.0],
                [borrow0.0, borrow1.0],
                min_liquidity.map(|a| a.0),
                ev,
            ),
            C::RecenterPosition { caller, position, width } => {
                self.recenter(caller, *position, *width, ev)
            }
            C::CollectPosition { caller, position } => self.collect_position(caller, *position, ev),
            C::AddCollateral { caller, position, amount0, amount1 } => {
                self.add_collateral(caller, *position, [amount0.0, amount1.0], ev)
            }
            C::BorrowMore { caller, position, borrow0, borrow1, min_lp } => {
                self.borrow_more(caller, *position, [borrow0.0, borrow1.0], min_lp.map(|a| a.0), ev)
            }
            C::ClosePosition { caller, position, lp, max_repay0, max_repay1, mode } => self
                .close_position(
                    caller,
                    *position,
                    lp.map(|a| a.0),
                    [max_repay0.map(|a| a.0), max_repay1.map(|a| a.0)],
                    *mode,
                    ev,
                ),
            C::PlaceOrder { caller, position, order } => {
                self.place_order(caller, *position, order, ev)
            }
            C::CancelOrder { caller, order } => self.cancel_order(caller, *order, ev),
            C::RunKeepers { keeper } => self.run_keepers(keeper, ev),
            C::RunOrder { keeper, order } => self.run_order(keeper, *order, ev),
            C::Reinvest { caller, position } => self.reinvest(caller, *position, ev),
            C::Liquidate { liquidator, position } => self.liquidate(liquidator, *position, ev),
            C::AdvanceTime { seconds } => self.advance_time(*seconds, ev),
            C::SetPrice { token, price } => self.set_price(token, price.0, *price, ev),
            C::InspectPosition { position } => self.inspect_position(*position).map(|e| ev.push(e)),
            C::CreateV3Pool {
                pool,
                token0,
                token1,
                fee_pips,
                tick_spacing,
                sqrt_price_x96,
                tick,
                leverage,
            } => self.create_v3_pool(
                pool,
                token0,
                token1,
                *fee_pips,
                *tick_spacing,
                (*sqrt_price_x96, *tick),
                leverage.as_ref(),
                ev,
            ),
            C::V3Mint { account, pool, tick_lower, tick_upper, liquidity, amount0, amount1 } => {
                self.v3_mint(
                    &Holder::Account(account.clone()),
                    pool,
                    (*tick_lower, *tick_upper),
                    *liquidity,
                    (*amount0, *amount1),
                    ev,
                )
            }
            C::V3Burn { account, pool, tick_lower, tick_upper, liquidity } => self.v3_burn(
                &Holder::Account(account.clone()),
                pool,
                (*tick_lower, *tick_upper),
                *liquidity,
                ev,
            ),
            C::V3Collect { account, pool, tick_lower, tick_upper, amount0_max, amount1_max } => {
                self.v3_collect(
                    &Holder::Account(account.clone()),
                    pool,
                    (*tick_lower, *tick_upper),
                    (*amount0_max, *amount1_max),
                    ev,
                )
            }
            C::V3Swap {
                account,
                pool,
                zero_for_one,
                amount_in,
                amount_out,
                sqrt_price_limit_x96,
            } => self
                .v3_swap(
                    &Holder::Account(account.clone()),
                    pool,
                    *zero_for_one,
                    (*amount_in, *amount_out),
                    *sqrt_price_limit_x96,
                    ev,
                )
                .map(drop),
        }
    }

    fn advance_time(&mut self, seconds: u64, ev: &mut Vec<Event>) -> Result<(), Error> {
        let to = self.time.saturating_add(seconds);
        if to > MAX_TIME {
            return Err(Error::invalid(format!(
                "advance_time by {seconds} s from {} would pass {MAX_TIME} (9999-12-31 UTC), \
                 the latest time the engine keeps",
                self.time
            )));
        }
        let from = std::mem::replace(&mut self.time, to);
        ev.push(Event::TimeAdvanced { from, to });
        Ok(())
    }

    fn set_price(
        &mut self,
        token: &str,
        price_wad: U256,
        price: crate::price::Price,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let id = self.token_id(token)?;
        if price_wad.is_zero() {
            return Err(Error::invalid(format!("price of {token} must be above zero")));
        }
        self.tokens[id].price_wad = Some(price_wad);
        ev.push(Event::PriceSet { token: token.into(), price });
        Ok(())
    }

    fn create_token(
        &mut self,
        symbol: &str,
        decimals: u8,
        ev: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let valid = !symbol.is_empty()
            && symbol.len() <= 32
            && symbol
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if !valid {
            return Err(Error::invalid(format!(
                "token symbol {symbol:?} must be 1-32 characters of letters, digits, '_', '-' or '.'"
            )));
        }
        if decimals > 36 {
            return Err(Error::InvalidConfig {
                field: "decimals",
                value: decimals.to_string(),
                reason: "must be at most 36",
            });
        }
        if self.token_ids.contains_key(symbol) {
            return Err(Error::AlreadyExists { kind: "token", name: symbol.into() });
        }
        let unit = crate::math::pow10(decimals);
        self.token_ids.insert(symbol.into(), self.tokens.len());
        self.tokens.push(TokenState {
            symbol: symbol.into(),
            decimals,
            unit,
            price_wad: None,
            lending: BTreeMap::new(),
        });
        ev.push(Event::TokenCreated { symbol: symbol.into(), decimals });
        Ok(())
    }

    fn token_id(&self, symbol: &str) -> Result<usize, Error> {
        self.token_ids.get(symbol).copied().ok_or_else(|| Error::unknown("token", symbol))
    }

    pub(crate) fn token(&self, symbol: &str) -> Result<Token, Error> {
        Ok(Token { decimals: self.tokens[self.token_id(symbol)?].decimals })
    }

    /// The oracle quote of a token: its price and unit.
    pub fn quote(&self, token: &str) -> Result<Quote, Error> {
        self.quote_of(self.token_id(token)?)
    }

    /// The oracle quotes of a pool's two tokens.
    pub(crate) fn pool_quotes(&self, pool: &AmmPool) -> Result<[Quote; 2], Error> {
        Ok([self.quote_of(pool.token_ids[0])?, self.quote_of(pool.token_ids[1])?])
    }

    fn quote_of(&self, id: usize) -> Result<Quote, Error> {
        let state = &self.tokens[id];
        let price_wad =
            state.price_wad.ok_or_else(|| Error::NoPrice { token: state.symbol.to_string() })?;
        Ok(Quote { price_wad, unit: state.unit })
    }

    pub(crate) fn pool(&self, id: &str) -> Result<&AmmPool, Error> {
        self.pools.get(id).ok_or_else(|| Error::unknown("pool", id))
    }

    pub(crate) fn pool_mut(&mut self, id: &str) -> Result<&mut AmmPool, Error> {
        self.pools.get_mut(id).ok_or_else(|| Error::unknown("pool", id))
    }

    pub(crate) fn lending_pool(&self, venue: &Venue, token: &str) -> Result<&LendingPool, Error> {
        self.lending_of(venue, token).ok_or_else(|| no_lending(venue, token))
    }

    pub(crate) fn lending_pool_mut(
        &mut self,
        venue: &Venue,
        token: &str,
    ) -> Result<&mut LendingPool, Error> {
        let id = self.token_ids.get(token).copied();
        id.and_then(|id| self.tokens[id].lending.get_mut(venue))
            .ok_or_else(|| no_lending(venue, token))
    }

    /// The lending pool of `token` at `venue`, if the token and its pool exist.
    pub(crate) fn lending_of(&self, venue: &Venue, token: &str) -> Option<&LendingPool> {
        self.tokens[*self.token_ids.get(token)?].lending.get(venue)
    }

    /// Every lending pool, by token and then venue.
    pub(crate) fn lending_pools(&self) -> impl Iterator<Item = (&Name, &Venue, &LendingPool)> {
        self.token_ids.iter().flat_map(|(token, &id)| {
            self.tokens[id].lending.iter().map(move |(venue, pool)| (token, venue, pool))
        })
    }

    pub(crate) fn position(&self, id: u64) -> Result<&Position, Error> {
        self.positions.get(&id).ok_or_else(|| Error::unknown("position", id.to_string()))
    }
}

/// The error for a lending pool that does not exist, naming the venue unless it is the main one.
fn no_lending(venue: &Venue, token: &str) -> Error {
    if venue.is_main() {
        Error::unknown("lending pool for token", token)
    } else {
        Error::unknown("lending pool for token", format!("{token} at venue {venue}"))
    }
}
