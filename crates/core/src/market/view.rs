//! Read-only queries: account and position health, liquidation prices, conservation totals.

use alloy_primitives::{I256, U256};
use serde::{Deserialize, Serialize};

use super::event::PositionStatus;
use super::{Event, Market};
use crate::math::{mul_div, mul_div_rounding_up, percent_mul, CheckedOps, RAY, WAD};
use crate::position::liquidation_price::{self, LiquidationPrices};
use crate::position::{range, valuation};
use crate::position::{Position, PositionHealth};
use crate::types::{Amount, Holder, Name, Venue};
use crate::Error;

/// An Aave-style account's collateral and debt, numeraire 1e18.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountStatus {
    pub collateral_value: U256,
    /// `Σ collateral · price · liquidation threshold`.
    pub threshold_value: U256,
    /// `Σ collateral · price · LTV`.
    pub borrow_capacity: U256,
    pub debt_value: U256,
}

impl AccountStatus {
    /// Health factor in 1e18; `U256::MAX` without debt.
    pub fn health_factor_wad(&self) -> Result<U256, Error> {
        if self.debt_value.is_zero() {
            return Ok(U256::MAX);
        }
        Ok(mul_div(self.threshold_value, WAD, self.debt_value)?)
    }
}

/// Per-token totals for the conservation check: where every minted token is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub token: Name,
    pub minted: Amount,
    pub held: Amount,
    pub lending_cash: Amount,
    pub amm_reserves: Amount,
    pub farm_balances: Amount,
    pub bad_debt: Amount,
}

impl Totals {
    /// Every minted token is somewhere.
    pub fn balanced(&self) -> bool {
        self.held
            .0
            .checked_add(self.lending_cash.0)
            .and_then(|s| s.checked_add(self.amm_reserves.0))
            .and_then(|s| s.checked_add(self.farm_balances.0))
            == Some(self.minted.0)
    }
}

impl Market {
    /// An account's Aave-style collateral and debt at the main venue, as of now.
    pub fn account_status(&self, account: &str) -> Result<AccountStatus, Error> {
        self.account_status_at(&Venue::main(), account)
    }

    /// An account's Aave-style collateral and debt at `venue` as of now: collateral backs
    /// debt at its own venue only.
    pub fn account_status_at(&self, venue: &Venue, account: &str) -> Result<AccountStatus, Error> {
        let holder = Holder::Account(account.into());
        let mut s = AccountStatus::default();
        for (token, _, pool) in self.lending_pools().filter(|(_, v, _)| *v == venue) {
            let (liquidity_index, borrow_index) = pool.indices_at(self.time)?;
            let supplied = mul_div(pool.supply_shares(&holder), liquidity_index.0, RAY)?;
            let owed = mul_div_rounding_up(pool.debt_shares(&holder), borrow_index.0, RAY)?;
            if supplied.is_zero() && owed.is_zero() {
                continue;
            }
            let q = self.quote(token)?;
            let value = q.value(supplied)?;
            s.collateral_value = s.collateral_value.add_or(value, "account value")?;
            s.threshold_value = s.threshold_value.add_or(
                percent_mul(value, pool.config.liquidation_threshold_bps)?,
                "account value",
            )?;
            s.borrow_capacity = s
                .borrow_capacity
                .add_or(percent_mul(value, pool.config.ltv_bps)?, "account value")?;
            s.debt_value = s.debt_value.add_or(q.value_up(owed)?, "account value")?;
        }
        Ok(s)
    }

    /// A position's debt in each of its pool's tokens as of now, rounded up.
    pub fn position_debt(&self, position: &Position) -> Result<[U256; 2], Error> {
        let token_ids = match self.pools.get(&position.pool) {
            Some(pool) => pool.token_ids,
            None => self.v3_pool(&position.pool)?.token_ids,
        };
        self.debt_in(position, token_ids)
    }

    /// [`Self::position_debt`] with the position's pool's tokens already looked up.
    fn debt_in(&self, position: &Position, token_ids: [usize; 2]) -> Result<[U256; 2], Error> {
        let holder = Holder::Position(position.id);
        let mut debt = [U256::ZERO; 2];
        for (i, id) in token_ids.into_iter().enumerate() {
            if let Some(lending) = self.tokens[id].lending.get(&position.venue) {
                debt[i] = lending.debt_at(&holder, self.time)?;
            }
        }
        Ok(debt)
    }

    /// A position's values, debts and ratios as of now.
    pub fn position_health(&self, id: u64) -> Result<PositionHealth, Error> {
        let position = self.position(id)?;
        if let Some((entry, key)) = self.range_of(position)? {
            let leverage = self.leverage_for(position)?;
            let quotes = [self.quote_of(entry.token_ids[0])?, self.quote_of(entry.token_ids[1])?];
            let debt = self.debt_in(position, entry.token_ids)?;
            return range::assess_range(&entry.pool, &key, debt, quotes, leverage.valuation);
        }
        let pool = self.pool(&position.pool)?;
        let quotes = self.pool_quotes(pool)?;
        let debt = self.debt_in(position, pool.token_ids)?;
        valuation::assess(
            &pool.amm,
            position.lp,
            debt,
            quotes,
            self.leverage_for(position)?.valuation,
        )
    }

    /// The leverage rules a position follows: its venue's on its pool.
    pub fn leverage_rules(&self, id: u64) -> Result<&crate::position::LeverageConfig, Error> {
        self.leverage_for(self.position(id)?)
    }

    /// Token0 prices below and above which the position becomes liquidatable.
    pub fn liquidation_prices(&self, id: u64) -> Result<LiquidationPrices, Error> {
        let position = self.position(id)?;
        let kill = self.leverage_for(position)?.kill_factor_bps.0;
        self.ratio_prices(id, u64::from(kill))
    }

    /// Token0 prices below and above which the position's debt ratio passes `ratio_bps` (the
    /// kill factor's are its liquidation prices).
    pub fn ratio_prices(&self, id: u64, ratio_bps: u64) -> Result<LiquidationPrices, Error> {
        let ratio = u32::try_from(ratio_bps).unwrap_or(u32::MAX);
        let position = self.position(id)?;
        if let Some((entry, key)) = self.range_of(position)? {
            let leverage = self.leverage_for(position)?;
            let quotes = [self.quote_of(entry.token_ids[0])?, self.quote_of(entry.token_ids[1])?];
            let debt = self.debt_in(position, entry.token_ids)?;
            let valuation = leverage.valuation;
            return liquidation_price::solve_range(
                &entry.pool,
                &key,
                debt,
                quotes,
                valuation,
                ratio,
            );
        }
        let pool = self.pool(&position.pool)?;
        let quotes = self.pool_quotes(pool)?;
        let debt = self.debt_in(position, pool.token_ids)?;
        liquidation_price::solve(
            &pool.amm,
            position.lp,
            debt,
            quotes,
            self.leverage_for(position)?.valuation,
            ratio,
        )
    }

    /// The position's health were token0's oracle price `price0` (numeraire 1e18) and the
    /// pool arbitraged to it, everything else as it is.
    pub fn health_at_price(&self, id: u64, price0: U256) -> Result<PositionHealth, Error> {
        let position = self.position(id)?;
        let leverage = self.leverage_for(position)?;
        let (quotes, debt) = match self.range_of(position)? {
            Some((entry, _)) => (
                [self.quote_of(entry.token_ids[0])?, self.quote_of(entry.token_ids[1])?],
                self.debt_in(position, entry.token_ids)?,
            ),
            None => {
                let pool = self.pool(&position.pool)?;
                (self.pool_quotes(pool)?, self.debt_in(position, pool.token_ids)?)
            }
        };
        let mut moved = quotes;
        moved[0].price_wad = price0;
        if let Some((entry, key)) = self.range_of(position)? {
            // The range's pool as the `arbitrage` command leaves it at that price.
            let pool = range::arbitraged(&entry.pool, moved)?;
            return range::assess_range(&pool, &key, debt, moved, leverage.valuation);
        }
        // The pool where the market's arbitrageur would leave it: the same planned trade as
        // the `arbitrage` command, inside the fee's band of the new price.
        let pool = self.pool(&position.pool)?;
        let num = moved[0].price_wad.mul_or(moved[1].unit, "arbitrage target")?;
        let den = moved[1].price_wad.mul_or(moved[0].unit, "arbitrage target")?;
        let mut amm = pool.amm.clone();
        if let Some(trade) = amm.swap_to_price(num, den)? {
            amm.swap_oriented(trade.zero_for_one, trade.amount_in, trade.amount_out)?;
        }
        valuation::assess(&amm, position.lp, debt, moved, leverage.valuation)
    }

    /// What a position holds, for attributing its profit and loss: its liquidity, what it is
    /// owed, its debt and its rewards, with the oracle quotes of its two tokens.
    pub fn position_inventory(&self, id: u64) -> Result<PositionInventory, Error> {
        let position = self.position(id)?;
        let holder = Holder::Position(id);
        let rewards = match self.farm_of(&position.pool)? {
            Some(farm) => Some((
                farm.reward_token.clone(),
                farm.pending_at(&holder, self.time)?
                    .add_or(self.ledger.balance(&holder, &farm.reward_token), "rewards")?,
            )),
            None => None,
        };
        if let Some((entry, key)) = self.range_of(position)? {
            let quotes = [self.quote_of(entry.token_ids[0])?, self.quote_of(entry.token_ids[1])?];
            let liquidity = entry.pool.position(&key).map_or(0, |p| p.liquidity);
            return Ok(PositionInventory {
                quotes,
                liquidity: U256::from(liquidity),
                range: position.range,
                owed: entry.pool.owed_with_pending_fees(&key)?.map(U256::from),
                debt: self.debt_in(position, entry.token_ids)?,
                rewards,
            });
        }
        let pool = self.pool(&position.pool)?;
        let amm = &pool.amm;
        let liquidity = if amm.total_supply.is_zero() {
            U256::ZERO
        } else {
            let root = crate::math::sqrt(amm.reserve0.mul_or(amm.reserve1, "pool liquidity")?);
            mul_div(root, position.lp, amm.total_supply)?
        };
        Ok(PositionInventory {
            quotes: self.pool_quotes(pool)?,
            liquidity,
            range: None,
            owed: [U256::ZERO; 2],
            debt: self.debt_in(position, pool.token_ids)?,
            rewards,
        })
    }

    /// Whether position `id` exists and is open.
    pub fn position_is_open(&self, id: u64) -> bool {
        self.positions.get(&id).is_some_and(|p| p.open)
    }

    /// All positions, by id.
    pub fn positions(&self) -> impl Iterator<Item = &Position> {
        self.positions.values()
    }

    /// Where every unit of `token` is.
    pub fn totals(&self, token: &str) -> Totals {
        let (mut lending_cash, mut bad_debt) = (U256::ZERO, U256::ZERO);
        if let Some(&id) = self.token_ids.get(token) {
            for pool in self.tokens[id].lending.values() {
                lending_cash = lending_cash.saturating_add(pool.cash);
                bad_debt = bad_debt.saturating_add(pool.bad_debt);
            }
        }
        let mut amm = U256::ZERO;
        let mut farms = U256::ZERO;
        for entry in self.v3_pools.values() {
            if entry.token0 == token {
                amm = amm.saturating_add(entry.pool.balance0);
            }
            if entry.token1 == token {
                amm = amm.saturating_add(entry.pool.balance1);
            }
            if let Some(farm) = entry.farm.as_ref().filter(|f| f.reward_token == token) {
                farms = farms.saturating_add(farm.balance);
            }
        }
        for pool in self.pools.values() {
            if pool.token0 == token {
                amm = amm.saturating_add(pool.amm.reserve0);
            }
            if pool.token1 == token {
                amm = amm.saturating_add(pool.amm.reserve1);
            }
            if let Some(farm) = pool.farm.as_ref().filter(|f| f.reward_token == token) {
                farms = farms.saturating_add(farm.balance);
            }
        }
        Totals {
            token: token.into(),
            minted: Amount(self.ledger.minted(token)),
            held: Amount(self.ledger.total_held(token)),
            lending_cash: Amount(lending_cash),
            amm_reserves: Amount(amm),
            farm_balances: Amount(farms),
            bad_debt: Amount(bad_debt),
        }
    }

    /// A registered token's declared decimals.
    pub fn token_decimals(&self, symbol: &str) -> Result<u8, Error> {
        Ok(self.tokens[self.token_id(symbol)?].decimals)
    }

    /// Registered token symbols.
    pub fn token_symbols(&self) -> impl Iterator<Item = &Name> {
        self.token_ids.keys()
    }

    /// The AMM pool with this id.
    pub fn amm_pool(&self, id: &str) -> Result<&super::AmmPool, Error> {
        self.pool(id)
    }

    /// The Uniswap v3 pool with this id, with its tokens and leverage rules.
    pub fn v3_amm_pool(&self, id: &str) -> Result<&super::V3Entry, Error> {
        self.v3_pool(id)
    }

    /// The lending pool of a token at the main venue.
    pub fn lending(&self, token: &str) -> Result<&crate::lending::LendingPool, Error> {
        self.lending_pool(&Venue::main(), token)
    }

    /// The lending pool of a token at a venue.
    pub fn lending_at(
        &self,
        venue: &Venue,
        token: &str,
    ) -> Result<&crate::lending::LendingPool, Error> {
        self.lending_pool(venue, token)
    }

    pub(super) fn inspect_position(&self, id: u64) -> Result<Event, Error> {
        let position = self.position(id)?;
        let holder = Holder::Position(id);
        let pending = match self.farm_of(&position.pool)? {
            Some(farm) => farm
                .pending_at(&holder, self.time)?
                .add_or(self.ledger.balance(&holder, &farm.reward_token), "rewards")?,
            None => U256::ZERO,
        };
        Ok(Event::PositionStatus(Box::new(PositionStatus {
            position: id,
            open: position.open,
            lp: Amount(position.lp),
            pending_rewards: Amount(pending),
            health: self.position_health(id)?,
            liquidation_prices: self.liquidation_prices(id)?,
            max_leverage_bps: self.leverage_for(position)?.max_leverage_bps(),
            range: position.range,
            in_range: match position.range {
                Some(range) => Some(range.contains(self.v3_pool(&position.pool)?.pool.tick)),
                None => None,
            },
        })))
    }
}

/// A readable snapshot of the whole market, every amount a decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub time: u64,
    pub tokens: Vec<Totals>,
    pub lending: Vec<LendingSummary>,
    pub pools: Vec<PoolSummary>,
    pub v3_pools: Vec<V3PoolSummary>,
    pub positions: Vec<PositionSummary>,
}

/// One Uniswap v3 pool in a [`Summary`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct V3PoolSummary {
    pub pool: Name,
    pub token0: Name,
    pub token1: Name,
    pub fee_pips: u32,
    pub sqrt_price_x96: Amount,
    pub tick: i32,
    /// Liquidity in range at the current price.
    pub liquidity: Amount,
    pub balance0: Amount,
    pub balance1: Amount,
}

/// One lending pool in a [`Summary`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LendingSummary {
    pub token: Name,
    #[serde(default, skip_serializing_if = "Venue::is_main")]
    pub venue: Venue,
    pub cash: Amount,
    pub total_debt: Amount,
    pub utilization: crate::math::Ray,
    pub borrow_rate: crate::math::Ray,
    pub supply_rate: crate::math::Ray,
    pub liquidity_index: crate::math::Ray,
    pub borrow_index: crate::math::Ray,
    pub treasury: Amount,
    pub bad_debt: Amount,
}

/// One AMM pool in a [`Summary`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolSummary {
    pub pool: Name,
    pub token0: Name,
    pub token1: Name,
    pub reserve0: Amount,
    pub reserve1: Amount,
    pub total_supply: Amount,
}

/// One position in a [`Summary`]; health only while open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PositionSummary {
    pub id: u64,
    pub owner: Name,
    pub pool: Name,
    pub open: bool,
    pub lp: Amount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<crate::position::TickRange>,
    pub health: Option<PositionHealth>,
    /// Why an open position's health could not be computed (then `health` is null).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_error: Option<String>,
}

impl Market {
    /// A snapshot of everything, as of now.
    pub fn summary(&self) -> Result<Summary, Error> {
        let tokens = self.token_ids.keys().map(|t| self.totals(t)).collect();
        let mut lending = Vec::new();
        for (token, venue, pool) in self.lending_pools() {
            lending.push(LendingSummary {
                token: token.clone(),
                venue: venue.clone(),
                cash: Amount(pool.cash),
                total_debt: Amount(pool.total_debt()?),
                utilization: pool.utilization()?,
                borrow_rate: pool.borrow_rate,
                supply_rate: pool.liquidity_rate,
                liquidity_index: pool.liquidity_index,
                borrow_index: pool.borrow_index,
                treasury: Amount(pool.supply_balance(&Holder::Treasury)?),
                bad_debt: Amount(pool.bad_debt),
            });
        }
        let pools = self
            .pools
            .iter()
            .map(|(id, p)| PoolSummary {
                pool: id.clone(),
                token0: p.token0.clone(),
                token1: p.token1.clone(),
                reserve0: Amount(p.amm.reserve0),
                reserve1: Amount(p.amm.reserve1),
                total_supply: Amount(p.amm.total_supply),
            })
            .collect();
        let mut positions = Vec::new();
        for p in self.positions.values() {
            // One position that cannot be valued (an overflow in a pool driven to an
            // extreme) reports its own error; the rest of the summary stands.
            let (health, health_error) = match p.open.then(|| self.position_health(p.id)) {
                Some(Ok(h)) => (Some(h), None),
                Some(Err(e)) => (None, Some(e.to_string())),
                None => (None, None),
            };
            positions.push(PositionSummary {
                id: p.id,
                owner: p.owner.clone(),
                pool: p.pool.clone(),
                open: p.open,
                lp: Amount(p.lp),
                range: p.range,
                health,
                health_error,
            });
        }
        let v3_pools = self
            .v3_pools
            .iter()
            .map(|(id, e)| V3PoolSummary {
                pool: id.clone(),
                token0: e.token0.clone(),
                token1: e.token1.clone(),
                fee_pips: e.pool.fee_pips,
                sqrt_price_x96: Amount(e.pool.sqrt_price),
                tick: e.pool.tick,
                liquidity: Amount(U256::from(e.pool.liquidity)),
                balance0: Amount(e.pool.balance0),
                balance1: Amount(e.pool.balance1),
            })
            .collect();
        Ok(Summary { time: self.time, tokens, lending, pools, v3_pools, positions })
    }
}

/// A position's holdings as [`Market::position_inventory`] reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PositionInventory {
    /// Oracle quotes of the pool's token0 and token1.
    pub quotes: [valuation::Quote; 2],
    /// The range's liquidity; for a constant-product position `sqrt(r0·r1)·lp/supply`, its
    /// share of the pool's liquidity in the same units.
    pub liquidity: U256,
    pub range: Option<crate::position::TickRange>,
    /// Fees a range position is owed, collected or not; zero for constant product, whose fees
    /// are in its liquidity.
    pub owed: [U256; 2],
    pub debt: [U256; 2],
    /// The farm's reward token and what the position has earned of it and not yet reinvested.
    pub rewards: Option<(Name, U256)>,
}

impl PositionInventory {
    /// The position's own equity at the oracle, numeraire 1e18: its liquidity's tokens at the
    /// oracle price, fees owed and `reward` (its quote and the amount), less its debt, each
    /// value rounded down.
    pub fn equity(&self, reward: Option<(valuation::Quote, U256)>) -> Result<I256, Error> {
        let sqrt_price = range::oracle_sqrt_price(self.quotes)?;
        let lp = self.lp_amounts(sqrt_price)?;
        let signed =
            |v: U256| I256::try_from(v).map_err(|_| Error::invalid("a position value above 2^255"));
        let mut equity = I256::ZERO;
        for (i, quote) in self.quotes.iter().enumerate() {
            equity += signed(quote.value(lp[i])?)?;
            equity += signed(quote.value(self.owed[i])?)?;
            equity -= signed(quote.value(self.debt[i])?)?;
        }
        if let Some((quote, amount)) = reward {
            equity += signed(quote.value(amount)?)?;
        }
        Ok(equity)
    }

    /// The tokens behind the liquidity at `sqrt_price` (Q64.96), rounded down: the range's
    /// amounts, or the full range `(L/√P, L·√P)` for a constant-product position.
    pub fn lp_amounts(&self, sqrt_price: U256) -> Result<[U256; 2], Error> {
        match self.range {
            Some(range) => {
                let liquidity = u128::try_from(self.liquidity)
                    .map_err(|_| Error::invalid("range liquidity above 2^128"))?;
                range::range_amounts(range, sqrt_price, liquidity)
            }
            None if sqrt_price.is_zero() => Ok([U256::ZERO; 2]),
            None => Ok([
                mul_div(self.liquidity, Q96, sqrt_price)?,
                mul_div(self.liquidity, sqrt_price, Q96)?,
            ]),
        }
    }
}

const Q96: U256 = U256::from_limbs([0, 1 << 32, 0, 0]);
