//! Events: what a command did, with the numbers. Tagged by `"event"`; amounts are decimal
//! strings of raw units, rates and indices 1e27 (ray), values numeraire 1e18.

use serde::{Deserialize, Serialize};

use crate::math::Ray;
use crate::position::liquidation_price::LiquidationPrices;
use crate::position::{PositionHealth, TickRange};
use crate::price::Price;
use crate::types::{Amount, Holder, Name, SignedAmount, Venue};

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    TokenCreated {
        symbol: Name,
        decimals: u8,
    },
    Minted {
        to: Name,
        token: Name,
        amount: Amount,
    },
    Transferred {
        from: Holder,
        to: Holder,
        token: Name,
        amount: Amount,
    },
    PriceSet {
        token: Name,
        price: Price,
    },
    TimeAdvanced {
        from: u64,
        to: u64,
    },
    InterestAccrued {
        token: Name,
        seconds: u64,
        interest: Amount,
        to_treasury: Amount,
        liquidity_index: Ray,
        borrow_index: Ray,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    LendingPoolCreated {
        token: Name,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    Supplied {
        account: Name,
        token: Name,
        amount: Amount,
        shares: Amount,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    Withdrawn {
        account: Name,
        token: Name,
        amount: Amount,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    Borrowed {
        borrower: Holder,
        token: Name,
        amount: Amount,
        debt_shares: Amount,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    Repaid {
        borrower: Holder,
        token: Name,
        amount: Amount,
        remaining_debt: Amount,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    /// Rates after a change to a lending pool's cash or debt.
    RatesUpdated {
        token: Name,
        utilization: Ray,
        borrow_rate: Ray,
        supply_rate: Ray,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    AccountLiquidated {
        liquidator: Name,
        borrower: Name,
        debt_token: Name,
        collateral_token: Name,
        debt_repaid: Amount,
        collateral_seized: Amount,
        protocol_fee: Amount,
        bad_debt: Amount,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    BadDebt {
        borrower: Holder,
        token: Name,
        amount: Amount,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    VenueLeverageSet {
        venue: Venue,
        pool: Name,
    },
    PoolCreated {
        pool: Name,
        token0: Name,
        token1: Name,
        fee_numerator: u32,
        fee_denominator: u32,
    },
    LiquidityAdded {
        holder: Holder,
        pool: Name,
        amount0: Amount,
        amount1: Amount,
        liquidity: Amount,
    },
    LiquidityRemoved {
        holder: Holder,
        pool: Name,
        amount0: Amount,
        amount1: Amount,
        liquidity: Amount,
    },
    ProtocolFeeMinted {
        pool: Name,
        liquidity: Amount,
    },
    Swapped {
        holder: Holder,
        pool: Name,
        token_in: Name,
        amount_in: Amount,
        token_out: Name,
        amount_out: Amount,
    },
    FarmCreated {
        pool: Name,
        reward_token: Name,
        reward_per_second: Amount,
    },
    FarmFunded {
        pool: Name,
        amount: Amount,
    },
    Staked {
        holder: Holder,
        pool: Name,
        amount: Amount,
    },
    Unstaked {
        holder: Holder,
        pool: Name,
        amount: Amount,
    },
    RewardsHarvested {
        holder: Holder,
        pool: Name,
        token: Name,
        amount: Amount,
    },
    PositionOpened {
        position: u64,
        owner: Name,
        pool: Name,
        /// LP tokens, or the range's liquidity on a v3 pool.
        lp: Amount,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        range: Option<TickRange>,
        health: Box<PositionHealth>,
    },
    CollateralAdded {
        position: u64,
        lp: Amount,
        health: Box<PositionHealth>,
    },
    /// More debt borrowed into an open position and zapped into its liquidity.
    BorrowedMore {
        position: u64,
        borrowed0: Amount,
        borrowed1: Amount,
        /// Liquidity added.
        lp: Amount,
        health: Box<PositionHealth>,
    },
    PositionClosed {
        position: u64,
        lp_removed: Amount,
        repaid0: Amount,
        repaid1: Amount,
        returned0: Amount,
        returned1: Amount,
        fully: bool,
        health: Option<Box<PositionHealth>>,
    },
    Reinvested {
        position: u64,
        caller: Name,
        rewards: Amount,
        bounty: Amount,
        /// A range position's fees, collected and reinvested with the rewards.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fees: Option<[Amount; 2]>,
        lp_added: Amount,
    },
    /// A position's fees (range positions) and farm rewards paid to its owner.
    PositionCollected {
        position: u64,
        fees0: Amount,
        fees1: Amount,
        rewards: Amount,
        health: Box<PositionHealth>,
    },
    OrderPlaced {
        order: u64,
        position: u64,
        kind: String,
    },
    OrderCancelled {
        order: u64,
        position: u64,
    },
    /// A due order acted: why, and what it did.
    OrderActed {
        order: u64,
        position: u64,
        kind: String,
        detail: String,
    },
    /// A due order did nothing: why it was due, and why it did nothing; `refused` when the
    /// engine refused its action (rather than there being nothing to do).
    OrderSkipped {
        order: u64,
        position: u64,
        kind: String,
        reason: String,
        refused: bool,
    },
    /// An order's position closed some other way.
    OrderEnded {
        order: u64,
        position: u64,
        reason: String,
    },
    /// A position past its kill factor that the keeper could not liquidate.
    LiquidationSkipped {
        position: u64,
        reason: String,
    },
    PositionRecentered(Box<PositionRecentered>),
    PositionLiquidated(Box<PositionLiquidated>),
    /// A liquidation under a close factor or a soft style: a share of the LP seized.
    PositionPartlyLiquidated(Box<PositionPartlyLiquidated>),
    V3PoolCreated {
        pool: Name,
        token0: Name,
        token1: Name,
        fee_pips: u32,
        tick_spacing: i32,
        sqrt_price_x96: Amount,
        tick: i32,
    },
    V3Minted(V3Liquidity),
    V3Burned(V3Liquidity),
    V3Collected {
        pool: Name,
        owner: Holder,
        tick_lower: i32,
        tick_upper: i32,
        amount0: Amount,
        amount1: Amount,
    },
    V3Swapped(Box<V3Swapped>),
    PositionStatus(Box<PositionStatus>),
}

/// A range position moved to a new range around the price, with what it cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionRecentered {
    pub position: u64,
    pub from: TickRange,
    pub to: TickRange,
    pub liquidity_before: Amount,
    pub liquidity_after: Amount,
    /// Principal and fees taken out of the old range.
    pub removed0: Amount,
    pub removed1: Amount,
    /// The swap to the new range's mix, if one was needed, and its fee (in the input token).
    pub swap_zero_for_one: Option<bool>,
    pub swap_amount_in: Amount,
    pub swap_amount_out: Amount,
    pub swap_fee: Amount,
    /// Dust that did not fit the new range, handed to the owner.
    pub returned0: Amount,
    pub returned1: Amount,
    /// Oracle value (numeraire 1e18) before and after, and the cost: before − after − the
    /// value of what was returned (fees, price impact, rounding); negative when the move
    /// gained, as a swap toward the oracle from a pool a fee away from it can.
    pub value_before: Amount,
    pub value_after: Amount,
    pub cost: SignedAmount,
    pub health: PositionHealth,
}

/// The numbers of a leveraged position's liquidation (boxed in [`Event`], which stays small
/// for the events of every step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionLiquidated {
    pub position: u64,
    pub liquidator: Name,
    pub health_before: PositionHealth,
    pub prize0: Amount,
    pub prize1: Amount,
    pub treasury_fee0: Amount,
    pub treasury_fee1: Amount,
    pub repaid0: Amount,
    pub repaid1: Amount,
    pub bad_debt0: Amount,
    pub bad_debt1: Amount,
    pub returned0: Amount,
    pub returned1: Amount,
}

/// A liquidation that seized `lp_seized` of a position's LP (a close factor's or a soft
/// style's): the seized LP sold for the debt tokens, the bonus (`prize`) and the treasury's fee
/// paid from what it realised, the rest repaid and any excess returned to the owner. `closed`
/// when all of the LP was seized (any debt left then written off as bad debt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionPartlyLiquidated {
    pub position: u64,
    pub liquidator: Name,
    pub health_before: PositionHealth,
    pub lp_seized: Amount,
    pub prize0: Amount,
    pub prize1: Amount,
    pub treasury_fee0: Amount,
    pub treasury_fee1: Amount,
    pub repaid0: Amount,
    pub repaid1: Amount,
    pub bad_debt0: Amount,
    pub bad_debt1: Amount,
    pub returned0: Amount,
    pub returned1: Amount,
    pub closed: bool,
}

/// A position as `inspect_position` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionStatus {
    pub position: u64,
    pub open: bool,
    pub lp: Amount,
    pub pending_rewards: Amount,
    pub health: PositionHealth,
    pub liquidation_prices: LiquidationPrices,
    pub max_leverage_bps: u64,
    /// A range position's range, and whether the pool's price is inside it (earning fees).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<TickRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_range: Option<bool>,
}

/// A Uniswap v3 swap: the contract's `Swap` event (signed pool deltas, price, liquidity, tick
/// after) and the state before, the fee, the global fee growth and the ticks crossed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V3Swapped {
    pub pool: Name,
    pub holder: Holder,
    pub zero_for_one: bool,
    /// The pool's change in token0 and token1: positive in, negative out.
    pub amount0: SignedAmount,
    pub amount1: SignedAmount,
    pub sqrt_price_x96_before: Amount,
    pub tick_before: i32,
    pub sqrt_price_x96: Amount,
    pub tick: i32,
    pub liquidity: Amount,
    /// Paid to liquidity providers, in the input token.
    pub fee_amount: Amount,
    pub fee_growth_global0_x128: Amount,
    pub fee_growth_global1_x128: Amount,
    pub ticks_crossed: Vec<i32>,
}

/// Liquidity added to (`v3_minted`: paid in, rounded up) or removed from (`v3_burned`: owed to
/// the position, rounded down) a Uniswap v3 range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V3Liquidity {
    pub pool: Name,
    pub owner: Holder,
    pub tick_lower: i32,
    pub tick_upper: i32,
    pub liquidity: Amount,
    pub amount0: Amount,
    pub amount1: Amount,
}
