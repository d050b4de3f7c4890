//! Commands: everything that can change a [`super::Market`]. One JSON object each, tagged by
//! `"op"`; amounts are decimal strings of raw units, prices decimal strings.
//!
//! The variants are declared once, in the `commands!` macro below, which also generates an externally tagged
//! twin used by [`Command::from_json_line`]: serde buffers internally tagged enums and loses the
//! path of a bad field, the twin keeps it, so an error can name the field.

use serde::{Deserialize, Serialize};

use crate::lending::LendingConfig;
use crate::orders::OrderKind;
use crate::position::{ExitMode, LeverageConfig};
use crate::price::Price;
use crate::types::{Amount, Name, Venue};

/// Declares [`Command`] and its externally tagged twin from one list of variants.
macro_rules! commands {
    ($( $(#[$vmeta:meta])* $variant:ident { $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)? } ),* $(,)?) => {
        /// A command to the market.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
        pub enum Command {
            $( $(#[$vmeta])* $variant { $( $(#[$fmeta])* $field: $ty ),* } ),*
        }

        /// The same commands, externally tagged: `{"open_position": {...}}`.
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case", deny_unknown_fields)]
        enum Tagged {
            $( $variant { $( $(#[$fmeta])* $field: $ty ),* } ),*
        }

        impl From<Tagged> for Command {
            fn from(tagged: Tagged) -> Command {
                match tagged {
                    $( Tagged::$variant { $( $field ),* } => Command::$variant { $( $field ),* } ),*
                }
            }
        }
    };
}

/// A line that is not a command: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Path of the offending field (`"amount"`, `"leverage.work_factor_bps"`), `"op"` for the
    /// command name, `"."` for the line as a whole.
    pub field: String,
    pub message: String,
}

impl Command {
    /// Parses one JSON line, naming the field that is wrong when it fails.
    pub fn from_json_line(line: &str) -> Result<Command, ParseError> {
        let whole = |message: String| ParseError { field: ".".into(), message };
        // A key given twice (a second `op` would switch the command) and empty or
        // unprintable names are refused here, where the text enters.
        let mut object = match super::strict_json::parse(line) {
            Ok(serde_json::Value::Object(object)) => object,
            Ok(_) => return Err(whole("a command is a JSON object with an \"op\" field".into())),
            Err(e) => return Err(ParseError { field: e.field, message: e.message }),
        };
        let op = match object.remove("op") {
            Some(serde_json::Value::String(op)) => op,
            Some(other) => {
                return Err(ParseError {
                    field: "op".into(),
                    message: format!("op must be a string, got {other}"),
                })
            }
            None => {
                return Err(ParseError { field: "op".into(), message: "missing field `op`".into() })
            }
        };
        let mut tagged = serde_json::Map::new();
        tagged.insert(op, serde_json::Value::Object(object));
        serde_path_to_error::deserialize::<_, Tagged>(serde_json::Value::Object(tagged))
            .map(Command::from)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                let field = match path.split_once('.') {
                    Some((_, rest)) if !rest.is_empty() => rest.to_string(),
                    _ => field_in_message(&message),
                };
                ParseError { field, message }
            })
    }
}

/// The field a serde message names (`missing field `to``), for errors raised above the field.
fn field_in_message(message: &str) -> String {
    if message.starts_with("unknown variant") {
        return "op".into();
    }
    super::strict_json::field_named(message).unwrap_or_else(|| ".".into())
}

commands! {
    /// Registers a token.
    CreateToken { symbol: Name, decimals: u8 },
    /// Brings tokens into the market from outside (a faucet, a bridge): the only source of tokens.
    Mint { to: Name, token: Name, amount: Amount },
    /// Moves tokens between accounts.
    Transfer { from: Name, to: Name, token: Name, amount: Amount },
    /// Sets a token's oracle price (numeraire per whole token).
    SetPrice { token: Name, price: Price },
    /// Moves time forward. Interest and farm rewards accrue lazily against it.
    AdvanceTime { seconds: u64 },
    /// Brings every lending pool's indices up to now and reports the interest.
    Accrue {},
    /// Opens the lending pool of a token at a venue (the main one when omitted).
    CreateLendingPool {
        token: Name,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
        #[serde(flatten)]
        config: LendingConfig,
    },
    Supply {
        account: Name,
        token: Name,
        amount: Amount,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    /// Withdraws `amount`, or the whole supply when it is omitted.
    Withdraw {
        account: Name,
        token: Name,
        amount: Option<Amount>,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    /// Borrows against supplied collateral (Aave style; needs `ltv_bps` on the collateral).
    /// An account's collateral backs its debt at the same venue only.
    Borrow {
        account: Name,
        token: Name,
        amount: Amount,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    /// Repays `amount`, or the whole debt when it is omitted.
    Repay {
        account: Name,
        token: Name,
        amount: Option<Amount>,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    /// Aave-style liquidation of an account's collateralized debt.
    LiquidateAccount {
        liquidator: Name,
        borrower: Name,
        debt_token: Name,
        collateral_token: Name,
        /// Most debt to repay; omitted means as much as the close factor allows.
        debt_to_cover: Option<Amount>,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    /// Opens a constant-product pool with its leverage rules.
    CreatePool {
        pool: Name,
        token0: Name,
        token1: Name,
        fee_bps: u32,
        /// Uniswap's protocol fee: `6` mints 1/6 of the fee growth to the treasury.
        protocol_fee_divisor: Option<u32>,
        leverage: LeverageConfig,
    },
    /// A venue other than the main one offers leverage on a pool, with its own rules. Positions
    /// opened at the venue borrow from its lending pools and follow these rules; the pool's
    /// own rules are the main venue's.
    SetVenueLeverage { venue: Venue, pool: Name, leverage: LeverageConfig },
    AddLiquidity { account: Name, pool: Name, amount0: Amount, amount1: Amount, min_liquidity: Option<Amount> },
    RemoveLiquidity { account: Name, pool: Name, liquidity: Amount },
    Swap { account: Name, pool: Name, token_in: Name, amount_in: Amount, min_amount_out: Option<Amount> },
    /// Trades the pool to the oracle price with the account's tokens, as an arbitrageur.
    Arbitrage { account: Name, pool: Name },
    /// Starts a farm on a pool's LP, paying `reward_per_second` of `reward_token`.
    CreateFarm { pool: Name, reward_token: Name, reward_per_second: Amount },
    FundFarm { account: Name, pool: Name, amount: Amount },
    Stake { account: Name, pool: Name, amount: Amount },
    Unstake { account: Name, pool: Name, amount: Amount },
    Harvest { account: Name, pool: Name },
    /// Opens a leveraged LP position: equity in either or both tokens, debt in either or both.
    OpenPosition {
        owner: Name,
        pool: Name,
        #[serde(default)]
        equity0: Amount,
        #[serde(default)]
        equity1: Amount,
        #[serde(default)]
        borrow0: Amount,
        #[serde(default)]
        borrow1: Amount,
        min_lp: Option<Amount>,
        /// The venue that lends to the position and whose leverage rules it follows.
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    /// Opens a leveraged range position on a v3 pool: equity and debt in either or both tokens,
    /// swapped through the pool to the mix that mints the most liquidity in
    /// `[tick_lower, tick_upper)`.
    OpenRangePosition {
        owner: Name,
        pool: Name,
        tick_lower: i32,
        tick_upper: i32,
        #[serde(default)]
        equity0: Amount,
        #[serde(default)]
        equity1: Amount,
        #[serde(default)]
        borrow0: Amount,
        #[serde(default)]
        borrow1: Amount,
        min_liquidity: Option<Amount>,
        #[serde(default, skip_serializing_if = "Venue::is_main")]
        venue: Venue,
    },
    /// Moves a range position to a range of `width` ticks (its current width when omitted)
    /// centred on the pool's tick: burn and collect, swap to the new mix, mint; debt unchanged.
    RecenterPosition { caller: Name, position: u64, width: Option<i32> },
    /// Pays a position's fees (range positions) and farm rewards to its owner.
    CollectPosition { caller: Name, position: u64 },
    /// Adds equity to a position without borrowing, lowering its debt ratio.
    AddCollateral {
        caller: Name,
        position: u64,
        #[serde(default)]
        amount0: Amount,
        #[serde(default)]
        amount1: Amount,
    },
    /// Borrows more into an open position and zaps it into the position's liquidity: leverage
    /// raised in place, within the work factor.
    BorrowMore {
        caller: Name,
        position: u64,
        #[serde(default)]
        borrow0: Amount,
        #[serde(default)]
        borrow1: Amount,
        min_lp: Option<Amount>,
    },
    /// Closes all (`lp` omitted) or part of a position, repaying up to `max_repay0/1`; `lp` is
    /// liquidity for a range position.
    ClosePosition {
        caller: Name,
        position: u64,
        lp: Option<Amount>,
        max_repay0: Option<Amount>,
        max_repay1: Option<Amount>,
        #[serde(default)]
        mode: ExitMode,
    },
    /// Sells the position's farm rewards into more LP, paying the caller a bounty.
    Reinvest { caller: Name, position: u64 },
    /// Kills a position whose debt ratio is past the kill factor.
    Liquidate { liquidator: Name, position: u64 },
    /// Places a protection order on the caller's position (see [`crate::orders`]).
    PlaceOrder { caller: Name, position: u64, order: OrderKind },
    /// Cancels one of the caller's active orders.
    CancelOrder { caller: Name, order: u64 },
    /// Runs the keepers at the current state: every active order in their documented order,
    /// then every liquidation due; `keeper` earns the reinvest bounty and the kill prize.
    RunKeepers { keeper: Name },
    /// Runs one active order now, as `run_keepers` would: for a driver that books each action.
    RunOrder { keeper: Name, order: u64 },
    /// Reports a position's health and liquidation prices; changes nothing.
    InspectPosition { position: u64 },
    /// Opens a Uniswap v3 pool at a price: `sqrt_price_x96` (Q64.96) or `tick`, one of them.
    /// `tick_spacing` defaults to the factory's for the fee (100: 1, 500: 10, 3000: 60,
    /// 10000: 200).
    CreateV3Pool {
        pool: Name,
        token0: Name,
        token1: Name,
        fee_pips: u32,
        tick_spacing: Option<i32>,
        sqrt_price_x96: Option<Amount>,
        tick: Option<i32>,
        /// Leverage rules: leveraged range positions may open only on a pool that has them.
        leverage: Option<LeverageConfig>,
    },
    /// Adds liquidity to the account's range `[tick_lower, tick_upper)`: `liquidity`, or the
    /// most that `amount0` and `amount1` can back (v3-periphery's `LiquidityAmounts`).
    V3Mint {
        account: Name,
        pool: Name,
        tick_lower: i32,
        tick_upper: i32,
        liquidity: Option<Amount>,
        amount0: Option<Amount>,
        amount1: Option<Amount>,
    },
    /// Removes `liquidity` (all when omitted; `"0"` only credits the fees earned) from the
    /// range; the tokens stay owed until collected.
    V3Burn { account: Name, pool: Name, tick_lower: i32, tick_upper: i32, liquidity: Option<Amount> },
    /// Pays out what the range is owed, up to the given amounts (everything when omitted).
    V3Collect {
        account: Name,
        pool: Name,
        tick_lower: i32,
        tick_upper: i32,
        amount0_max: Option<Amount>,
        amount1_max: Option<Amount>,
    },
    /// Swaps token0 for token1 (`zero_for_one`) or back: an exact `amount_in` or an exact
    /// `amount_out`, one of them, stopping at `sqrt_price_limit_x96` (by default the edge of the
    /// price range).
    V3Swap {
        account: Name,
        pool: Name,
        zero_for_one: bool,
        amount_in: Option<Amount>,
        amount_out: Option<Amount>,
        sqrt_price_limit_x96: Option<Amount>,
    },
}
