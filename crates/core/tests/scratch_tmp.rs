use levfarm_core::amm::*;
use levfarm_core::math::U256;
#[test]
fn scratch() {
    let e17 = U256::from(100_000_000_000_000_000u128);
    for fee in [SwapFee::PANCAKESWAP_V2, SwapFee::PANCAKESWAP_V1, SwapFee::UNISWAP_V2] {
    for base_first in [true, false] {
        let mut pool = ConstantProductPool::new(fee, None);
        pool.mint(e17 * U256::from(10), e17).unwrap();
            let amt = e17*U256::from(20);
            let s = optimal_one_sided_swap(amt, pool.reserve0, pool.fee).unwrap();
            let out = pool.swap_exact_in(true, s).unwrap();
            let (w, m) = (amt - s, out);
            let (a0, a1) = if !base_first {
                let q = quote(m, pool.reserve1, pool.reserve0).unwrap();
                if q <= w { (q, m) } else { (w, quote(w, pool.reserve0, pool.reserve1).unwrap()) }
            } else {
                let q = quote(w, pool.reserve0, pool.reserve1).unwrap();
                if q <= m { (w, q) } else { (quote(m, pool.reserve1, pool.reserve0).unwrap(), m) }
            };
            let r = pool.mint(a0, a1).unwrap();
            println!("base_first={base_first} s={s} out={out} lp={} left0={} left1={} health={}", r.liquidity, w - a0, m - a1, pool.exit_value(r.liquidity, true).unwrap());
    }}
}
