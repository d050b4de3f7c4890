//! Events: what a command did, with the numbers. Tagged by `"event"`; amounts are decimal
//! strings of raw units, rates and indices 1e27 (ray), values numeraire 1e18.

use serde::{Deserialize, Serialize};

use crate::math::Ray;
use crate::position::liquidation_price::LiquidationPrices;
use crate::position::PositionHealth;
use crate::price::Price;
use crate::types::{Amount, Holder};

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    TokenCreated {
        symbol: String,
        decimals: u8,
    },
    Minted {
        to: String,
        token: String,
        amount: Amount,
    },
    Transferred {
        from: Holder,
        to: Holder,
        token: String,
        amount: Amount,
    },
    PriceSet {
        token: String,
        price: Price,
    },
    TimeAdvanced {
        from: u64,
        to: u64,
    },
    InterestAccrued {
        token: String,
        seconds: u64,
        interest: Amount,
        to_treasury: Amount,
        liquidity_index: Ray,
        borrow_index: Ray,
    },
    LendingPoolCreated {
        token: String,
    },
    Supplied {
        account: String,
        token: String,
        amount: Amount,
        shares: Amount,
    },
    Withdrawn {
        account: String,
        token: String,
        amount: Amount,
    },
    Borrowed {
        borrower: Holder,
        token: String,
        amount: Amount,
        debt_shares: Amount,
    },
    Repaid {
        borrower: Holder,
        token: String,
        amount: Amount,
        remaining_debt: Amount,
    },
    /// Rates after a change to a lending pool's cash or debt.
    RatesUpdated {
        token: String,
        utilization: Ray,
        borrow_rate: Ray,
        supply_rate: Ray,
    },
    AccountLiquidated {
        liquidator: String,
        borrower: String,
        debt_token: String,
        collateral_token: String,
        debt_repaid: Amount,
        collateral_seized: Amount,
        protocol_fee: Amount,
        bad_debt: Amount,
    },
    BadDebt {
        borrower: Holder,
        token: String,
        amount: Amount,
    },
    PoolCreated {
        pool: String,
        token0: String,
        token1: String,
        fee_numerator: u32,
        fee_denominator: u32,
    },
    LiquidityAdded {
        holder: Holder,
        pool: String,
        amount0: Amount,
        amount1: Amount,
        liquidity: Amount,
    },
    LiquidityRemoved {
        holder: Holder,
        pool: String,
        amount0: Amount,
        amount1: Amount,
        liquidity: Amount,
    },
    ProtocolFeeMinted {
        pool: String,
        liquidity: Amount,
    },
    Swapped {
        holder: Holder,
        pool: String,
        token_in: String,
        amount_in: Amount,
        token_out: String,
        amount_out: Amount,
    },
    FarmCreated {
        pool: String,
        reward_token: String,
        reward_per_second: Amount,
    },
    FarmFunded {
        pool: String,
        amount: Amount,
    },
    Staked {
        holder: Holder,
        pool: String,
        amount: Amount,
    },
    Unstaked {
        holder: Holder,
        pool: String,
        amount: Amount,
    },
    RewardsHarvested {
        holder: Holder,
        pool: String,
        token: String,
        amount: Amount,
    },
    PositionOpened {
        position: u64,
        owner: String,
        pool: String,
        lp: Amount,
        health: PositionHealth,
    },
    CollateralAdded {
        position: u64,
        lp: Amount,
        health: PositionHealth,
    },
    PositionClosed {
        position: u64,
        lp_removed: Amount,
        repaid0: Amount,
        repaid1: Amount,
        returned0: Amount,
        returned1: Amount,
        fully: bool,
        health: Option<PositionHealth>,
    },
    Reinvested {
        position: u64,
        caller: String,
        rewards: Amount,
        bounty: Amount,
        lp_added: Amount,
    },
    PositionLiquidated {
        position: u64,
        liquidator: String,
        health_before: PositionHealth,
        prize0: Amount,
        prize1: Amount,
        treasury_fee0: Amount,
        treasury_fee1: Amount,
        repaid0: Amount,
        repaid1: Amount,
        bad_debt0: Amount,
        bad_debt1: Amount,
        returned0: Amount,
        returned1: Amount,
    },
    PositionStatus {
        position: u64,
        open: bool,
        lp: Amount,
        pending_rewards: Amount,
        health: PositionHealth,
        liquidation_prices: LiquidationPrices,
        max_leverage_bps: u64,
    },
}
