#!/bin/bash
# A four-position portfolio's Monte Carlo against its four positions run alone, in the same
# run: N paths (default 100,000) × a year of hourly steps on the joint bootstrap of the bundled
# ETH and BTC hours; each position alone is `levfarm risk` of the same position on the same
# window's history (the same draws as in the portfolio: a one-asset portfolio draws a single
# position's price stream).
set -e
L=${L:-./target/release/levfarm}   # L=path/to/levfarm to measure another build
N=${N:-100000}
T=${T:-2}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
common='
[data]
start = "2018-05-15"
end = "2019-10-17"
gaps = "fill"
'
market='
[market.pools.btc]
pair = ["WBTC", "USDC"]
tvl = 40000000.0

[market.lending]
USDC = {}
WETH = {}
WBTC = { supply = 20000000.0 }

[market.utilization]
model = "constant"
value = 0.6

[risk]
leverages = []
'
cat > "$dir/portfolio.toml" <<TOML
name = "four positions on ETH and BTC"
$common
tokens = { WBTC = { prices = "bundled:BTCUSD_1h" } }
$market
[portfolio]
capital = 100000.0
[[portfolio.positions]]
name = "ETH 2x long"
weight = 0.25
position = { leverage = 2.0 }
protection = { deleverage = { trigger = 0.78, target = 0.6 }, compound_hours = 24 }
[[portfolio.positions]]
name = "ETH 1.5x short"
weight = 0.25
position = { leverage = 1.5, borrow = "asset" }
protection = { compound_hours = 24 }
[[portfolio.positions]]
name = "BTC 2x long"
weight = 0.25
position = { pool = "btc", leverage = 2.0 }
protection = { deleverage = { trigger = 0.78, target = 0.6 }, compound_hours = 24 }
[[portfolio.positions]]
name = "BTC 3x long"
weight = 0.25
position = { pool = "btc", leverage = 3.0 }
protection = { compound_hours = 24 }
TOML
single() { # name, market asset, history, leverage, borrow, protection
  cat > "$dir/$1.toml" <<TOML
$common
prices = "$3"
[market]
asset = "$2"
[market.pool]
tvl = $([ "$2" = WBTC ] && echo 40000000.0 || echo 100000000.0)
[market.lending]
USDC = {}
$([ "$2" = WBTC ] && echo 'WBTC = { supply = 20000000.0 }' || echo 'WETH = {}')
[market.utilization]
model = "constant"
value = 0.6
[risk]
leverages = []
[position]
equity = 25000.0
leverage = $4
borrow = "$5"
[protection]
$6
TOML
}
single eth_long WETH bundled:ETHUSD_1h 2.0 stable 'deleverage = { trigger = 0.78, target = 0.6 }
compound_hours = 24'
single eth_short WETH bundled:ETHUSD_1h 1.5 asset 'compound_hours = 24'
single btc_long WBTC bundled:BTCUSD_1h 2.0 stable 'deleverage = { trigger = 0.78, target = 0.6 }
compound_hours = 24'
single btc_3x WBTC bundled:BTCUSD_1h 3.0 stable 'compound_hours = 24'
t() { s=$(date +%s.%N); "$@" >/dev/null || { echo "failed: $*" >&2; exit 1; }; e=$(date +%s.%N); python3 -c "print('%.2f' % ($e - $s))"; }
p=$(t $L risk "$dir/portfolio.toml" --paths "$N" --threads "$T" --quiet --json)
sum=0
for s in eth_long eth_short btc_long btc_3x; do
  x=$(t $L risk "$dir/$s.toml" --paths "$N" --threads "$T" --quiet --json)
  echo "alone: $s $x s"
  sum=$(python3 -c "print($sum + $x)")
done
steps=$(python3 -c "print(4 * $N * 8760)")
python3 -c "print('portfolio of 4: %s s, %.1fM position-steps/s; the four alone: %.2f s; ratio %.2f' % ($p, $steps / $p / 1e6, $sum, $p / $sum))"
