//! The service's `State`, driven directly: a market configured with its own tokens (declared
//! decimals) and two lending venues reports both, opens where a user asks, and refuses a venue
//! it does not have without changing anything.

use alloy_primitives::U256;
use levfarm_core::price::Price;
use levfarm_core::types::{Amount, Holder, Venue};
use levfarm_server::state::action::{Borrow, FeedSpec, OpenSpec, Role, TokenGrant};
use levfarm_server::state::{Action, Reply, State};
use levfarm_server::Error;

/// WBTC (8 decimals) against DAI (18), a main venue and a venue `beta` with a steeper DAI
/// pool and a kill factor of 75%.
const SCENARIO: &str = r#"
name = "two venues"

[market]
asset = "WBTC"
stable = "DAI"

[market.utilization]
model = "constant"
value = 0.5

# Aave v3's stable and volatile curves, 50 million each.
[market.lending]
DAI = {}
WBTC = {}

[market.venues.beta]
leverage = { work_factor_bps = 7000, kill_factor_bps = 7500, kill_prize_bps = 100, kill_treasury_bps = 400, reinvest_bounty_bps = 900, valuation = "exit" }
lending.DAI = { supply = 10000000.0, rate_model = { kind = "aave", optimal_usage_ratio_bps = 9000, base_variable_borrow_rate_bps = 100, variable_rate_slope1_bps = 1200, variable_rate_slope2_bps = 6000 } }
"#;

/// The service's state for `scenario` at `price` (whole stable tokens per asset), with one
/// user holding `amount` raw units of `token`.
fn funded(scenario: &str, price: u64, token: &str, amount: U256) -> (State, u64) {
    let mut state = State::genesis(&Action::Genesis {
        scenario: scenario.into(),
        price: Price(U256::from(price) * levfarm_core::math::WAD),
        time: 1_600_000_000,
        feed: FeedSpec::Push,
    })
    .unwrap();
    let grant = TokenGrant { id: "t1".into(), label: "test".into(), sha256: "0".repeat(64) };
    let created = state
        .apply(&Action::CreateAccount { name: "user".into(), role: Role::User, token: grant })
        .unwrap();
    let Reply::Account(user) = created.reply else { panic!("no account") };
    state
        .apply(&Action::Fund { account: user, token: token.into(), amount: Amount(amount) })
        .unwrap();
    (state, user)
}

/// The two-venue WBTC/DAI market at 30,000, a user holding 100,000 DAI (18 decimals).
fn state() -> (State, u64) {
    funded(SCENARIO, 30_000, "DAI", U256::from(100_000u64) * U256::from(10u64).pow(U256::from(18)))
}

/// 10,000 DAI at 3x, long WBTC, at `venue`.
fn open(state: &mut State, account: u64, venue: Option<&str>) -> Result<u64, Error> {
    let spec = OpenSpec {
        equity0: Amount::default(),
        equity1: Amount(U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18))),
        leverage_bps: 30_000,
        borrow: Borrow::Stable,
        range_width_ticks: None,
        range_lower: None,
        range_upper: None,
        pool: None,
        venue: venue.map(str::to_string),
    };
    match state.apply(&Action::Open { account, spec })?.reply {
        Reply::Position(id) => Ok(id),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_market_reports_its_tokens_decimals_and_venues() {
    let (state, _) = state();
    let m = state.market_view().unwrap();
    let tokens: Vec<(String, u8)> =
        m.tokens.iter().map(|t| (t.symbol.to_string(), t.decimals)).collect();
    assert_eq!(
        tokens,
        [("WBTC".to_string(), 8), ("DAI".to_string(), 18), ("FARM".to_string(), 18)]
    );
    let venues: Vec<(&str, u32)> =
        m.venues.iter().map(|v| (v.name.as_str(), v.kill_factor_bps)).collect();
    assert_eq!(venues, [("main", 8333), ("beta", 7500)]);
}

#[test]
fn a_position_opens_at_the_venue_asked_and_borrows_there() {
    let (mut state, alice) = state();
    let a = open(&mut state, alice, None).unwrap();
    let b = open(&mut state, alice, Some("beta")).unwrap();
    assert_eq!(state.position_view(alice, a).unwrap().venue, "main");
    assert_eq!(state.position_view(alice, b).unwrap().venue, "beta");
    let m = &state.world().market;
    let twenty_thousand = U256::from(20_000u64) * U256::from(10u64).pow(U256::from(18));
    let main_dai = m.lending("DAI").unwrap();
    let beta_dai = m.lending_at(&Venue::from("beta"), "DAI").unwrap();
    assert_eq!(main_dai.debt_of(&Holder::Position(a)).unwrap(), twenty_thousand);
    assert_eq!(beta_dai.debt_of(&Holder::Position(b)).unwrap(), twenty_thousand);
    assert_eq!(beta_dai.debt_of(&Holder::Position(a)).unwrap(), U256::ZERO);
    assert_eq!(m.leverage_rules(b).unwrap().kill_factor_bps.0, 7500);
}

#[test]
fn an_unknown_venue_is_refused_by_name_and_changes_nothing() {
    let (mut state, alice) = state();
    let before = state.world().market.clone();
    let e = open(&mut state, alice, Some("nowhere")).unwrap_err();
    let Error::Invalid { field, message } = e else { panic!("{e}") };
    assert_eq!(field, "venue");
    assert!(message.contains("\"nowhere\" is not a venue of this market: main, beta"), "{message}");
    assert!(state.world().market == before, "the refused opening changed the market");
    assert!(state.positions_of(alice).unwrap().is_empty());
}

/// A v3 market (WETH/USDC, the scenario's defaults otherwise) at 2,000, a user holding
/// 100,000 USDC.
fn v3_state() -> (State, u64) {
    let scenario = "[market.pool]\nkind = \"v3\"\ntvl = 20000000.0\n";
    funded(scenario, 2_000, "USDC", U256::from(100_000_000_000u64))
}

fn range_spec(lower: Option<u64>, upper: Option<u64>, width: Option<i32>) -> OpenSpec {
    let price = |v: u64| Price(U256::from(v) * levfarm_core::math::WAD);
    OpenSpec {
        equity0: Amount::default(),
        equity1: Amount(U256::from(10_000_000_000u64)),
        leverage_bps: 20_000,
        borrow: Borrow::Stable,
        range_width_ticks: width,
        range_lower: lower.map(price),
        range_upper: upper.map(price),
        pool: None,
        venue: None,
    }
}

#[test]
fn a_range_opens_between_the_prices_asked() {
    let (mut state, bob) = v3_state();
    let spec = range_spec(Some(1_700), Some(2_600), None);
    let Reply::Position(id) = state.apply(&Action::Open { account: bob, spec }).unwrap().reply
    else {
        panic!("no position")
    };
    let range = state.position_view(bob, id).unwrap().range.expect("a range position");
    // WETH/USDC: the price at a tick is 1.0001^tick · 10^12 dollars; bounds snapped outward to
    // the 0.3% pool's spacing of 60.
    let dollars = |tick: i32| 1.0001f64.powi(tick) * 1e12;
    assert!(dollars(range.tick_lower) <= 1_700.0 && dollars(range.tick_lower + 60) > 1_700.0);
    assert!(dollars(range.tick_upper) >= 2_600.0 && dollars(range.tick_upper - 60) < 2_600.0);
    for (spec, field) in [
        (range_spec(Some(1_700), None, None), "range_upper"),
        (range_spec(Some(2_600), Some(1_700), None), "range_lower"),
        (range_spec(Some(1_700), Some(2_600), Some(4_000)), "range_width_ticks"),
    ] {
        let e = state.apply(&Action::Open { account: bob, spec }).unwrap_err();
        assert!(matches!(&e, Error::Invalid { field: f, .. } if f == field), "{field}: {e}");
    }
}

#[test]
fn a_position_opens_on_the_pool_asked() {
    let scenario = "[market.pools.fast]\nkind = \"v3\"\nfee_bps = 5\ntvl = 20000000.0\n";
    let (mut state, carol) = funded(scenario, 2_000, "USDC", U256::from(100_000_000_000u64));
    let names: Vec<String> =
        state.market_view().unwrap().pools.iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, ["main", "fast"]);
    let mut spec = range_spec(None, None, None);
    spec.pool = Some("fast".into());
    let Reply::Position(id) = state.apply(&Action::Open { account: carol, spec }).unwrap().reply
    else {
        panic!("no position")
    };
    let view = state.position_view(carol, id).unwrap();
    assert_eq!(view.pool, "fast");
    assert!(view.range.is_some(), "a range on the v3 pool");
    let Reply::Position(id) = state
        .apply(&Action::Open { account: carol, spec: range_spec(None, None, None) })
        .unwrap()
        .reply
    else {
        panic!("no position")
    };
    assert_eq!(state.position_view(carol, id).unwrap().pool, "main");
    let mut spec = range_spec(None, None, None);
    spec.pool = Some("slow".into());
    let e = state.apply(&Action::Open { account: carol, spec }).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, message } if field == "pool" && message.contains("main, fast")),
        "{e}"
    );
}

#[test]
fn a_market_with_a_second_priced_token_is_refused_at_genesis_by_its_key() {
    // The service's oracle moves one price: a WBTC/USDC pool beside ETH/USDC, or a stable
    // token with a history, would leave a price no feed moves.
    let genesis = |scenario: &str| {
        State::genesis(&Action::Genesis {
            scenario: scenario.into(),
            price: Price(U256::from(2000u64) * levfarm_core::math::WAD),
            time: 1_600_000_000,
            feed: FeedSpec::Push,
        })
    };
    let second_pair = "[data.tokens.WBTC]\nprices = \"bundled:BTCUSD_1h\"\n\
                       [market.pools.btc]\npair = [\"WBTC\", \"USDC\"]\n";
    let Err(Error::Config(e)) = genesis(second_pair) else { panic!("a second pair was served") };
    assert!(e.contains("data.tokens.WBTC") && e.contains("one price"), "{e}");
    let Err(Error::Config(e)) = genesis("[data]\nstable_prices = \"bundled:BTCUSD_1h\"\n") else {
        panic!("a priced stable token was served")
    };
    assert!(e.contains("data.stable_prices"), "{e}");
    // A second pool over the same pair needs no second price.
    genesis("[market.pools.v3]\nkind = \"v3\"\nfee_bps = 5\ntvl = 2e7\n").expect("served");
}

/// A price update at `price` (whole DAI per WBTC), `hours` after genesis.
fn price(state: &mut State, price: u64, hours: i64) {
    state
        .apply(&Action::Price {
            source: "test".into(),
            price: Price(U256::from(price) * levfarm_core::math::WAD),
            time: 1_600_000_000 + 3_600 * hours,
            range: None,
        })
        .unwrap();
}

#[test]
fn the_portfolio_sums_the_positions_books_exactly_and_shows_each_venue_and_token() {
    let (mut state, alice) = state();
    let a = open(&mut state, alice, None).unwrap();
    let b = open(&mut state, alice, Some("beta")).unwrap();
    price(&mut state, 30_500, 12);
    let best = state.portfolio(alice).unwrap();
    price(&mut state, 27_000, 24);
    let p = state.portfolio(alice).unwrap();
    let (va, vb) = (state.position_view(alice, a).unwrap(), state.position_view(alice, b).unwrap());
    let n = |s: &str| s.parse::<i128>().unwrap();
    assert_eq!((p.positions, p.open), (2, 2));
    assert_eq!(n(&p.equity), n(&va.equity) + n(&vb.equity));
    assert_eq!(n(&p.contributed), n(&va.contributed) + n(&vb.contributed));
    assert_eq!(n(&p.pnl.total), n(&va.pnl.total) + n(&vb.pnl.total));
    for (i, (name, v)) in p.pnl.parts.iter().enumerate() {
        assert_eq!(n(v), n(&va.pnl.parts[i].1) + n(&vb.pnl.parts[i].1), "{name}");
    }
    // Each venue's debt is its position's: 20,000 DAI and its interest, valued at 1.
    let venues: Vec<&str> = p.venues.iter().map(|v| v.venue.as_str()).collect();
    assert_eq!(venues, ["main", "beta"]);
    let ha = va.health.unwrap();
    assert_eq!(p.venues[0].debt_value, ha.debt_value.to_string());
    assert_eq!(p.venues[0].equity, va.equity);
    // The tokens: DAI owed is both debts; WBTC held is both positions' liquidity's WBTC.
    let hb = vb.health.unwrap();
    assert_eq!(p.assets[1].token, "DAI");
    assert_eq!(p.assets[1].owed.0, ha.debt[1] + hb.debt[1]);
    assert_eq!(p.assets[0].owed.0, U256::ZERO);
    let total_debt = ha.debt_value + hb.debt_value;
    let total_value = ha.value_oracle + hb.value_oracle;
    assert_eq!(p.debt_value, total_debt.to_string());
    let ratio = u64::try_from(total_debt * U256::from(10_000u64) / total_value).unwrap();
    assert_eq!(p.debt_ratio_bps, Some(ratio));
    // The best was at 30,500: the drawdown is the fall since, over what the positions were given.
    assert_eq!(p.peak_pnl, best.pnl.total);
    let fall = (n(&best.pnl.total) - n(&p.pnl.total)) * 10_000 / n(&p.contributed);
    assert!(fall > 0);
    assert_eq!(p.drawdown_bps, u64::try_from(fall).unwrap());
}

#[test]
fn portfolio_alerts_fire_once_per_crossing() {
    let (mut state, alice) = state();
    open(&mut state, alice, None).unwrap();
    open(&mut state, alice, Some("beta")).unwrap();
    let alerts = levfarm_server::state::action::AlertSettings {
        portfolio_debt_ratio_bps: Some(7_000),
        portfolio_drawdown_bps: Some(1_500),
        ..Default::default()
    };
    state.apply(&Action::SetAlerts { account: alice, alerts }).unwrap();
    let kinds = |state: &State| -> Vec<String> {
        state.alerts_of(alice).iter().rev().map(|a| a.kind.to_string()).collect()
    };
    price(&mut state, 29_500, 1);
    assert!(kinds(&state).is_empty(), "{:?}", kinds(&state));
    // 3x at 30,000 is a 67% debt ratio; at 26,500 past 70%, and more than 15% of what the
    // positions were given gone since 29,500.
    price(&mut state, 26_500, 2);
    let p = state.portfolio(alice).unwrap();
    assert!(p.debt_ratio_bps.unwrap() >= 7_000 && p.drawdown_bps >= 1_500, "{p:?}");
    assert_eq!(kinds(&state), ["portfolio_debt_ratio", "portfolio_drawdown"]);
    // Still past both: no new alert.
    price(&mut state, 26_400, 3);
    assert_eq!(kinds(&state).len(), 2);
    // Back under both, then past again: each alerts once more.
    price(&mut state, 30_000, 4);
    price(&mut state, 26_500, 5);
    assert_eq!(
        kinds(&state),
        [
            "portfolio_debt_ratio",
            "portfolio_drawdown",
            "portfolio_debt_ratio",
            "portfolio_drawdown"
        ]
    );
    // A threshold out of range is refused by name.
    let bad = levfarm_server::state::action::AlertSettings {
        portfolio_drawdown_bps: Some(0),
        ..Default::default()
    };
    let e = state.apply(&Action::SetAlerts { account: alice, alerts: bad }).unwrap_err();
    assert!(e.to_string().contains("portfolio_drawdown_bps"), "{e}");
}
