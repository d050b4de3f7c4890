//! The market a scenario describes, built through the engine's own commands, and the few
//! actors that move it: lenders, other borrowers, the arbitrageur and the noise traders.

use alloy_primitives::U256;
use levfarm_core::amm::v3::math as v3math;
use levfarm_core::market::Event;
use levfarm_core::position::range::{oracle_sqrt_price, TickRange};
use levfarm_core::position::LeverageConfig;
use levfarm_core::price::Price;
use levfarm_core::types::{Amount, Name, Venue};
use levfarm_core::{Command, Holder, Market};

use crate::scenario::{PoolKind, Scenario};
use crate::SimError;

/// Account names of the actors.
pub const LENDER: &str = "lender";
pub const DEMAND: &str = "other_borrowers";
pub const ARB: &str = "arbitrageur";
pub const NOISE: &str = "traders";
/// The accounts that stand for the market outside the run.
pub const OUTSIDE: [&str; 3] = [ARB, NOISE, DEMAND];
pub const KEEPER: &str = "keeper";
pub const OWNER: &str = "farmer";
const LP: &str = "pool_lp";
/// Collateral of the other borrowers: a token priced at 1 that nothing else uses.
const COLLATERAL: &str = "COLLATERAL";
/// The pool that sells the farm's rewards.
pub const REWARD_POOL: &str = "REWARD-ROUTE";
pub const POOL: &str = "POOL";

/// Seconds in a (365-day) year.
pub const YEAR: f64 = 365.0 * 86_400.0;

/// The engine and the names a run needs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct World {
    pub market: Market,
    pub asset: Name,
    pub stable: Name,
    pub reward: Name,
    /// The other pairs' tokens priced from their histories, in the order of
    /// [`crate::data::PriceSeries::others`] (the market's stable token, when it is not in the
    /// position's pair, stays at 1).
    #[serde(default)]
    pub others: Vec<Name>,
    /// The engine's id of the position's pool, and its kind.
    pub pool: Name,
    pub kind: PoolKind,
    /// Every pool's engine id, the main one ([`POOL`]) first: the arbitrageur keeps each at
    /// the oracle.
    pub pools: Vec<Name>,
    /// `10^decimals` of asset, stable, reward, as the scenario declares them.
    pub units: [U256; 3],
    /// Lending pools the other borrowers use: by venue (the main one first), then token.
    pub lending: Vec<(Venue, Name)>,
    /// The venue the scenario's position borrows from.
    pub venue: Venue,
    /// The arbitrageur's flow on the position's pool since the driver last cleared it, in the
    /// numeraire at the oracle: `[bought, sold]` of the asset (a model input, so f64).
    #[serde(default)]
    pub arbitrage_flow: [f64; 2],
    events: Vec<Event>,
}

impl World {
    /// Builds the scenario's market with the asset (the position's pool's token0) at `price`
    /// and the stable token (its token1) at 1, funded for a run of `seconds`. A market with
    /// pools over other pairs needs their tokens' prices: [`Self::build_priced`].
    pub fn build(scenario: &Scenario, price: Price, seconds: u64) -> Result<World, SimError> {
        Self::build_priced(scenario, price, Price(levfarm_core::math::WAD), &[], seconds)
    }

    /// [`Self::build`] with the stable token at `stable_price` (a volatile/volatile pool) and
    /// the other pairs' tokens at `others` (in [`Scenario::other_tokens`]' order, those with a
    /// history): every value in the scenario (the pools', the lenders', the position's) is in
    /// the numeraire and converted at each token's price.
    pub fn build_priced(
        scenario: &Scenario,
        price: Price,
        stable_price: Price,
        others: &[Price],
        seconds: u64,
    ) -> Result<World, SimError> {
        let m = &scenario.market;
        let invalid =
            |e: levfarm_market::Invalid| SimError::Scenario(format!("{}: {}", e.field, e.message));
        let decimals = m.token_decimals().map_err(invalid)?;
        let unit = |d: u8| U256::from(10u64).pow(U256::from(d));
        let [token0, token1] = scenario.pair();
        let priced = scenario.priced_others();
        if priced.len() != others.len() {
            return Err(SimError::Scenario(format!(
                "the market's other pairs need {} priced ({}), {} prices were given",
                priced.len(),
                priced.join(", "),
                others.len()
            )));
        }
        let units = [token0, token1, m.rewards.token.as_str()]
            .map(|t| decimals.iter().find(|(s, _)| *s == t).map_or(U256::ZERO, |(_, d)| unit(*d)));
        let venues = m.venues();
        let position_pool = m.pool_named(&scenario.position.pool).ok_or_else(|| {
            SimError::Scenario(format!("position.pool: {:?} is not a pool", scenario.position.pool))
        })?;
        let mut world = World {
            market: Market::new(),
            asset: token0.into(),
            stable: token1.into(),
            reward: m.rewards.token.as_str().into(),
            others: priced.iter().map(|t| Name::from(*t)).collect(),
            pool: pool_id(&scenario.position.pool),
            kind: position_pool.kind,
            pools: m.pools().into_iter().map(|(name, _)| pool_id(name)).collect(),
            units,
            lending: venues
                .iter()
                .flat_map(|(v, _, pools)| {
                    pools.keys().map(|t| (Venue::from(*v), t.as_str().into()))
                })
                .collect(),
            venue: Venue::from(scenario.position.venue.as_str()),
            arbitrage_flow: [0.0; 2],
            events: Vec::with_capacity(64),
        };
        let (asset, stable, reward) =
            (world.asset.clone(), world.stable.clone(), world.reward.clone());
        for (symbol, decimals) in decimals.iter().copied().chain([(COLLATERAL, 18)]) {
            world.run(Command::CreateToken { symbol: symbol.into(), decimals })?;
        }
        // Tokens without a history (the market's stable token outside the position's pair)
        // stand at 1.
        for token in m.pool_tokens() {
            if ![token0, token1].contains(&token) && !priced.contains(&token) {
                world.set_price(&token.into(), Price(levfarm_core::math::WAD))?;
            }
        }
        world.set_price(&asset, price)?;
        world.set_price(&stable, stable_price)?;
        world.set_other_prices(others)?;
        world.set_price(&reward, price_from_f64(m.rewards.price)?)?;
        world.set_price(&COLLATERAL.into(), Price(levfarm_core::math::WAD))?;

        for (name, _, lending) in &venues {
            let venue = Venue::from(*name);
            // Other borrowers post a collateral nobody else uses, so their loans never
            // interact with the position's.
            let Some((first_token, first)) = lending.iter().next() else { continue };
            let mut coll =
                levfarm_core::lending::LendingConfig::new(first.rate_model_for(first_token));
            coll.ltv_bps = levfarm_core::math::Bps(9000);
            coll.liquidation_threshold_bps = levfarm_core::math::Bps(9500);
            world.run(Command::CreateLendingPool {
                token: COLLATERAL.into(),
                venue: venue.clone(),
                config: coll,
            })?;
            let huge = world.value_to_amount(COLLATERAL, 1e13)?;
            world.mint(DEMAND, COLLATERAL, huge)?;
            world.run(Command::Supply {
                account: DEMAND.into(),
                token: COLLATERAL.into(),
                amount: Amount(huge),
                venue: venue.clone(),
            })?;

            for (token, spec) in *lending {
                let config = spec.config(token);
                world.run(Command::CreateLendingPool {
                    token: token.as_str().into(),
                    venue: venue.clone(),
                    config,
                })?;
                let supply = world.value_to_amount(token, spec.supply)?;
                world.mint(LENDER, token, supply)?;
                world.run(Command::Supply {
                    account: LENDER.into(),
                    token: token.as_str().into(),
                    amount: Amount(supply),
                    venue: venue.clone(),
                })?;
                // Enough to repay the other borrowers' interest for any run.
                world.mint(DEMAND, token, supply)?;
            }
        }

        let leverage = m.leverage.config();
        for (name, spec) in m.pools() {
            let id = pool_id(name);
            let [t0, t1] = m.pair_of(spec);
            world.create_pool(&id, [t0.into(), t1.into()], spec, &leverage)?;
            // The other venues' leverage rules on the pool.
            for (venue, rules, _) in venues.iter().skip(1) {
                world.run(Command::SetVenueLeverage {
                    venue: Venue::from(*venue),
                    pool: id.clone(),
                    leverage: rules.config(),
                })?;
            }
        }

        // The reward token's market, deep enough that selling a position's rewards is cheap.
        let route_half = 10_000_000.0;
        let r0 = world.value_to_amount(&reward, route_half)?;
        let r1 = world.value_to_amount(&stable, route_half)?;
        world.mint(LP, &reward, r0)?;
        world.mint(LP, &stable, r1)?;
        world.run(Command::CreatePool {
            pool: REWARD_POOL.into(),
            token0: reward.clone(),
            token1: stable.clone(),
            fee_bps: 30,
            protocol_fee_divisor: None,
            leverage: LeverageConfig::alpaca(),
        })?;
        world.run(Command::AddLiquidity {
            account: LP.into(),
            pool: REWARD_POOL.into(),
            amount0: Amount(r0),
            amount1: Amount(r1),
            min_liquidity: None,
        })?;

        // Farm emission on the position's pool: `apr` of the pool's value at the start, in
        // reward tokens per second. On a v3 pool only leveraged positions stake (the engine's
        // farm pays them alone), so the emission is sized on the position's value instead: the
        // same APR either way.
        let farmed = world.pool.clone();
        let staked_value = match position_pool.kind {
            PoolKind::ConstantProduct => position_pool.tvl,
            PoolKind::V3 => scenario.position.equity * scenario.position.leverage,
        };
        let per_year = world.value_to_amount(&reward, m.rewards.apr * staked_value)?;
        let per_second = per_year / U256::from(YEAR as u64);
        if !per_second.is_zero() {
            world.run(Command::CreateFarm {
                pool: farmed.clone(),
                reward_token: reward.clone(),
                reward_per_second: Amount(per_second),
            })?;
            let fund = per_second * U256::from(seconds.saturating_add(86_400));
            world.mint(LP, &reward, fund)?;
            world.run(Command::FundFarm {
                account: LP.into(),
                pool: farmed.clone(),
                amount: Amount(fund),
            })?;
            if position_pool.kind == PoolKind::ConstantProduct {
                let lp = world.balance(LP, &format!("lp:{farmed}"));
                world.run(Command::Stake {
                    account: LP.into(),
                    pool: farmed.clone(),
                    amount: Amount(lp),
                })?;
            }
        }

        // The arbitrageur and the traders hold far more than any move needs.
        for account in [ARB, NOISE] {
            for (token, _) in &decimals {
                let amount = world.value_to_amount(token, 1e13)?;
                world.mint(account, token, amount)?;
            }
        }
        Ok(world)
    }

    /// Applies a command; the events are in [`Self::events`] until the next one.
    pub fn run(&mut self, command: Command) -> Result<(), levfarm_core::Error> {
        self.events.clear();
        self.market.apply_into(&command, &mut self.events)
    }

    /// Runs a command of an actor that stands for the outside market (the arbitrageur, the
    /// traders, the other borrowers). They are deeper than any run: when one lacks a token
    /// the shortfall is minted to it (twice over) and the command is tried once more, so that
    /// a long or extreme history never stops because an outside actor ran dry. The failed try
    /// changed nothing (a refused command never does).
    pub fn run_outside(&mut self, command: Command) -> Result<(), levfarm_core::Error> {
        match self.run(command.clone()) {
            Err(levfarm_core::Error::InsufficientBalance {
                holder: Holder::Account(name),
                token,
                requested,
                available,
            }) if OUTSIDE.contains(&name.as_str()) => {
                let short = requested.saturating_sub(available);
                self.mint(&name, &token, short.saturating_add(short))?;
                self.run(command)
            }
            other => other,
        }
    }

    /// The market moves to a new price: the clock advances `seconds`, the oracle takes
    /// `price` for the asset (and `reward` for the reward token, when it moves), the
    /// arbitrageur trades both pools to the oracle, and every lending pool's interest is brought
    /// up to date. The backtester's bar and the service's price update both start with this
    /// step.
    pub fn move_to(
        &mut self,
        seconds: u64,
        price: Price,
        reward: Option<Price>,
    ) -> Result<(), levfarm_core::Error> {
        if seconds > 0 {
            self.run(Command::AdvanceTime { seconds })?;
        }
        let asset = self.asset.clone();
        self.set_price(&asset, price)?;
        if let Some(reward_price) = reward {
            let token = self.reward.clone();
            self.set_price(&token, reward_price)?;
        }
        for i in 0..self.pools.len() {
            let pool = self.pools[i].clone();
            self.run_outside(Command::Arbitrage { account: ARB.into(), pool: pool.clone() })?;
            if pool == self.pool {
                self.count_arbitrage();
            }
        }
        self.run_outside(Command::Arbitrage { account: ARB.into(), pool: REWARD_POOL.into() })?;
        self.run(Command::Accrue {})
    }

    /// The other pairs' tokens take `prices` (in [`Self::others`]' order), before a move
    /// arbitrages their pools to them.
    pub fn set_other_prices(&mut self, prices: &[Price]) -> Result<(), levfarm_core::Error> {
        for (i, price) in prices.iter().enumerate().take(self.others.len()) {
            let token = self.others[i].clone();
            self.set_price(&token, *price)?;
        }
        Ok(())
    }

    /// Where the owner's `token` is lent and borrowed: the position's venue when it lends
    /// `token`, the main venue otherwise.
    pub fn lending_venue(&self, token: &str) -> Venue {
        match self.market.lending_at(&self.venue, token) {
            Ok(_) => self.venue.clone(),
            Err(_) => Venue::main(),
        }
    }

    /// Creates pool `id` over `pair` as `spec` describes, with the main venue's `leverage`
    /// rules, and an outside LP's liquidity worth its value, half in each token.
    fn create_pool(
        &mut self,
        id: &Name,
        [asset, stable]: [Name; 2],
        spec: &crate::scenario::PoolSpec,
        leverage: &LeverageConfig,
    ) -> Result<(), SimError> {
        let half = spec.tvl / 2.0;
        let amount0 = self.value_to_amount(&asset, half)?;
        let amount1 = self.value_to_amount(&stable, half)?;
        self.mint(LP, &asset, amount0)?;
        self.mint(LP, &stable, amount1)?;
        match spec.kind {
            PoolKind::ConstantProduct => {
                self.run(Command::CreatePool {
                    pool: id.clone(),
                    token0: asset,
                    token1: stable,
                    fee_bps: spec.fee_bps,
                    protocol_fee_divisor: None,
                    leverage: leverage.clone(),
                })?;
                self.run(Command::AddLiquidity {
                    account: LP.into(),
                    pool: id.clone(),
                    amount0: Amount(amount0),
                    amount1: Amount(amount1),
                    min_liquidity: None,
                })?;
            }
            PoolKind::V3 => {
                let quotes = [self.market.quote(&asset)?, self.market.quote(&stable)?];
                let sqrt_price = oracle_sqrt_price(quotes)?;
                self.run(Command::CreateV3Pool {
                    pool: id.clone(),
                    token0: asset,
                    token1: stable,
                    fee_pips: spec.fee_bps * 100,
                    tick_spacing: None,
                    sqrt_price_x96: Some(Amount(sqrt_price)),
                    tick: None,
                    leverage: Some(leverage.clone()),
                })?;
                let entry = self.market.v3_amm_pool(id)?;
                let (tick, spacing) = (entry.pool.tick, entry.pool.tick_spacing);
                let range = if spec.liquidity_width_ticks > 0 {
                    TickRange::centred(tick, spec.liquidity_width_ticks, spacing)?
                } else {
                    let max = v3math::MAX_TICK / spacing * spacing;
                    TickRange { tick_lower: -max, tick_upper: max }
                };
                self.run(Command::V3Mint {
                    account: LP.into(),
                    pool: id.clone(),
                    tick_lower: range.tick_lower,
                    tick_upper: range.tick_upper,
                    liquidity: None,
                    amount0: Some(Amount(amount0)),
                    amount1: Some(Amount(amount1)),
                })?;
            }
        }
        Ok(())
    }

    /// Adds the last command's swap on the position's pool to [`Self::arbitrage_flow`]: the
    /// asset bought or sold, valued at the oracle.
    fn count_arbitrage(&mut self) {
        let Ok(q) = self.market.quote(&self.asset) else { return };
        let value = |raw: U256| q.value(raw).map_or(0.0, wad_to_f64);
        for e in &self.events {
            let (bought, sold) = match e {
                Event::Swapped { pool, token_in, amount_in, amount_out, .. }
                    if *pool == self.pool =>
                {
                    if *token_in == self.asset {
                        (0.0, value(amount_in.0))
                    } else {
                        (value(amount_out.0), 0.0)
                    }
                }
                Event::V3Swapped(s) if s.pool == self.pool => {
                    let asset = value(s.amount0.0.unsigned_abs());
                    if s.zero_for_one {
                        (0.0, asset)
                    } else {
                        (asset, 0.0)
                    }
                }
                _ => continue,
            };
            self.arbitrage_flow[0] += bought;
            self.arbitrage_flow[1] += sold;
        }
    }

    /// The events of the last command.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn mint(&mut self, to: &str, token: &str, amount: U256) -> Result<(), levfarm_core::Error> {
        self.run(Command::Mint { to: to.into(), token: token.into(), amount: Amount(amount) })
    }

    pub fn set_price(&mut self, token: &Name, price: Price) -> Result<(), levfarm_core::Error> {
        self.run(Command::SetPrice { token: token.clone(), price })
    }

    /// Raw units of `token` worth `value` in the numeraire at the oracle, rounded down.
    pub fn value_to_amount(&self, token: &str, value: f64) -> Result<U256, SimError> {
        let quote = self.market.quote(token)?;
        let value_wad = wad_from_f64(value)?;
        Ok(levfarm_core::math::mul_div(value_wad, quote.unit, quote.price_wad)
            .map_err(levfarm_core::Error::from)?)
    }

    /// The position's pool's value at the oracle, in the numeraire, as f64 (for the models).
    pub fn pool_value(&self) -> Result<f64, SimError> {
        let m = &self.market;
        let q = [m.quote(&self.asset)?, m.quote(&self.stable)?];
        let b = match self.kind {
            PoolKind::ConstantProduct => {
                let p = &m.amm_pool(&self.pool)?.amm;
                [p.reserve0, p.reserve1]
            }
            PoolKind::V3 => {
                let p = &m.v3_amm_pool(&self.pool)?.pool;
                [p.balance0, p.balance1]
            }
        };
        Ok(wad_to_f64(q[0].value(b[0])?) + wad_to_f64(q[1].value(b[1])?))
    }

    /// The LP tokens of the position's pool that its outside liquidity provider holds (0 on a
    /// v3 pool, whose outside liquidity is a range of its own).
    pub fn outside_liquidity(&self) -> Result<U256, SimError> {
        Ok(match self.kind {
            PoolKind::ConstantProduct => {
                let held = self.balance(LP, &format!("lp:{}", self.pool));
                held + self.outside_staked()?
            }
            PoolKind::V3 => U256::ZERO,
        })
    }

    /// The outside LP's tokens staked in the pool's farm.
    fn outside_staked(&self) -> Result<U256, SimError> {
        Ok(match self.market.farm_of(&self.pool)? {
            Some(farm) => farm.stake_of(&Holder::Account(LP.into())).amount,
            None => U256::ZERO,
        })
    }

    /// The outside liquidity provider withdraws `share` of `initial` LP tokens (its holding
    /// at the start) from the position's pool, at most what it still holds.
    pub fn withdraw_outside_liquidity(
        &mut self,
        initial: U256,
        share: f64,
    ) -> Result<(), SimError> {
        let want = U256::from((f64::from(initial) * share.clamp(0.0, 1.0)).floor() as u128);
        let liquidity = want.min(self.outside_liquidity()?);
        if liquidity.is_zero() {
            return Ok(());
        }
        let staked = self.outside_staked()?;
        if !staked.is_zero() {
            self.run(Command::Unstake {
                account: LP.into(),
                pool: self.pool.clone(),
                amount: Amount(liquidity.min(staked)),
            })?;
        }
        self.run(Command::RemoveLiquidity {
            account: LP.into(),
            pool: self.pool.clone(),
            liquidity: Amount(liquidity),
        })?;
        Ok(())
    }

    /// A holder's balance.
    pub fn balance(&self, account: &str, token: &str) -> U256 {
        self.market.balance(&Holder::Account(account.into()), token)
    }
}

/// The engine's id of a scenario's pool: [`POOL`] for the main one, its name otherwise.
pub fn pool_id(name: &str) -> Name {
    if name == crate::scenario::MAIN_POOL {
        POOL.into()
    } else {
        name.into()
    }
}

/// A non-negative f64 as 1e18 fixed point, rounded to the nearest unit: a model's output or
/// a setting crossing into exact arithmetic (the one lossy crossing that way).
pub fn wad_from_f64(value: f64) -> Result<U256, SimError> {
    if !(0.0..1e20).contains(&value) {
        return Err(SimError::Scenario(format!("{value} is not a usable amount or price")));
    }
    Ok(U256::from((value * 1e18).round() as u128))
}

/// A non-negative f64 price as an exact [`Price`] ([`wad_from_f64`]).
pub fn price_from_f64(value: f64) -> Result<Price, SimError> {
    wad_from_f64(value).map(Price)
}

/// 1e18 fixed point to f64: the one lossy crossing from exact values to statistics.
pub fn wad_to_f64(value: U256) -> f64 {
    let (whole, frac) = value.div_rem(levfarm_core::math::WAD);
    let whole: f64 = whole.to_string().parse().unwrap_or(f64::INFINITY);
    whole + frac.to::<u64>() as f64 / 1e18
}

/// A signed 1e18 value to f64.
pub fn signed_wad_to_f64(value: i128) -> f64 {
    value as f64 / 1e18
}
