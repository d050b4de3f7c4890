//! Opening: the leveraged position sized by the engine's one rule, in the range the scenario
//! asks for.

use super::*;

/// Opens a position with `equity` raw stable units at `leverage`, in the range `spec` asks for
/// on a v3 pool.
pub(crate) fn open(
    w: &mut World,
    equity: U256,
    leverage: f64,
    side: BorrowSide,
    spec: &PositionSpec,
) -> Result<u64, SimError> {
    open_for(w, OWNER, equity, leverage, side, spec)
}

/// [`open`] for `owner`, who holds the equity.
pub(crate) fn open_for(
    w: &mut World,
    owner: &str,
    equity: U256,
    leverage: f64,
    side: BorrowSide,
    spec: &PositionSpec,
) -> Result<u64, SimError> {
    let kind = w.kind;
    // The engine's sizing: debt worth E·(L − 1), exactly.
    let leverage_bps = (leverage * 1e4).round() as u64;
    let side = match side {
        BorrowSide::Stable => levfarm_core::position::BorrowSide::Token1,
        BorrowSide::Asset => levfarm_core::position::BorrowSide::Token0,
        BorrowSide::Both => levfarm_core::position::BorrowSide::Both,
    };
    let borrow = w.market.borrow_for_opening(&w.pool, [U256::ZERO, equity], leverage_bps, side)?;
    let (borrow0, borrow1) = (Amount(borrow[0]), Amount(borrow[1]));
    match kind {
        PoolKind::ConstantProduct => w.run(Command::OpenPosition {
            owner: owner.into(),
            pool: w.pool.clone(),
            equity0: Amount::default(),
            equity1: Amount(equity),
            borrow0,
            borrow1,
            min_lp: None,
            venue: w.venue.clone(),
        })?,
        PoolKind::V3 => {
            let range = opening_range(w, spec)?;
            w.run(Command::OpenRangePosition {
                owner: owner.into(),
                pool: w.pool.clone(),
                tick_lower: range.tick_lower,
                tick_upper: range.tick_upper,
                equity0: Amount::default(),
                equity1: Amount(equity),
                borrow0,
                borrow1,
                min_liquidity: None,
                venue: w.venue.clone(),
            })?
        }
    }
    w.events()
        .iter()
        .find_map(|e| match e {
            Event::PositionOpened { position, .. } => Some(*position),
            _ => None,
        })
        .ok_or_else(|| SimError::Internal("open_position reported no position".into()))
}

/// The range a position opens in on the v3 pool: `spec.range`'s bounds around the pool's
/// price, or `range_width_ticks` centred on its tick.
pub fn opening_range(w: &World, spec: &PositionSpec) -> Result<TickRange, SimError> {
    let entry = w.market.v3_amm_pool(&w.pool)?;
    let spacing = entry.pool.tick_spacing;
    let Some(bounds) = spec.range else {
        return Ok(TickRange::centred(entry.pool.tick, spec.range_width_ticks, spacing)?);
    };
    // The pool's price of token0 in token1, whole tokens: its square root price, squared.
    let quotes = [w.market.quote(&entry.token0)?, w.market.quote(&entry.token1)?];
    let q192 = U256::from(1u8) << 192;
    let sqrt = entry.pool.sqrt_price;
    let math = |e: levfarm_core::math::MathError| SimError::Engine(e.into());
    let raw =
        levfarm_core::math::mul_div(sqrt, sqrt, q192 / levfarm_core::math::WAD).map_err(math)?;
    let price = levfarm_core::math::mul_div(raw, quotes[0].unit, quotes[1].unit).map_err(math)?;
    let at = |multiple: f64| -> Result<Price, SimError> {
        let m = world::wad_from_f64(multiple)?;
        Ok(Price(levfarm_core::math::mul_div(price, m, levfarm_core::math::WAD).map_err(math)?))
    };
    let units = [quotes[0].unit, quotes[1].unit];
    Ok(TickRange::between(at(bounds.lower)?, at(bounds.upper)?, units, spacing)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::RangeBounds;

    #[test]
    fn a_range_is_a_width_around_the_tick_or_bounds_around_the_price() {
        let mut s = Scenario::default();
        s.market.pool.kind = PoolKind::V3;
        s.market.pool.tvl = 20_000_000.0;
        let world =
            World::build(&s, Price(U256::from(2000u64) * levfarm_core::math::WAD), 86_400).unwrap();
        let tick = world.market.v3_amm_pool(&world.pool).unwrap().pool.tick;
        let centred = opening_range(&world, &s.position).unwrap();
        assert_eq!(centred.tick_upper - centred.tick_lower, 3960, "4000 ticks down to the spacing");
        assert!(centred.tick_lower <= tick && tick < centred.tick_upper);
        s.position.range = Some(RangeBounds { lower: 0.5, upper: 1.1 });
        let bounds = opening_range(&world, &s.position).unwrap();
        // ln(0.5)/ln(1.0001) ≈ −6932 ticks below, ln(1.1)/ln(1.0001) ≈ 953 above.
        assert!((tick - bounds.tick_lower - 6932).abs() <= 60, "{bounds:?} around {tick}");
        assert!((bounds.tick_upper - tick - 953).abs() <= 60, "{bounds:?} around {tick}");
    }
}
