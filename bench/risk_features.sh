#!/bin/bash
# Cost of each risk feature: 4,000 paths × 8,760 hourly steps of one 3x configuration.
L=${L:-./target/release/levfarm}   # L=path/to/levfarm to measure another build
base=(risk --paths 4000 --leverages 3 --quiet --threads 2)
gbm='risk.model={ kind = "gbm", mu = 0.0, sigma = 0.8 }'
merton='risk.model={ kind = "merton", mu = 0.0, sigma = 0.6, lambda = 20.0, jump_mean = -0.03, jump_std = 0.06 }'
off=(--set 'risk.utilization={ model = "constant", value = 0.7 }' --set risk.hazard.probability_per_year=0.0 --set risk.reward.volatility=0.0 --set protection.deleverage=none --set protection.compound_hours=none)
t() { name=$1; shift; s=$(date +%s.%N); $L "${base[@]}" "$@" >/dev/null || echo FAIL; e=$(date +%s.%N); python3 -c "print('%-44s %.2f s  %5.1fM path-steps/s'%('$name', $e-$s, 35.04e6/($e-$s)/1e6))"; }
t "exact kernel, GBM, frictions only" --set "$gbm" "${off[@]}"
t "+ jumps (Merton)" --set "$merton" "${off[@]}"
t "+ stochastic utilization (rates)" --set "$gbm" "${off[@]}" --set 'risk.utilization={ model = "mean_reverting", mean = 0.7, speed_per_year = 12.0, volatility = 1.5, seed = 0 }'
t "+ deleverage protection" --set "$gbm" "${off[@]}" --set 'protection.deleverage={ trigger = 0.78, target = 0.6 }'
t "+ daily compounding" --set "$gbm" "${off[@]}" --set protection.compound_hours=24
t "+ reward volatility and hazard" --set "$gbm" "${off[@]}" --set risk.reward.volatility=1.0 --set risk.hazard.probability_per_year=0.02
t "+ borrowing the asset (short)" --set "$gbm" "${off[@]}" --set 'position.borrow="asset"'
t "+ borrowing both tokens" --set "$gbm" "${off[@]}" --set 'position.borrow="both"'
t "v3 range (4,000 ticks), frictions only" --set "$gbm" "${off[@]}" --set 'market.pool.kind="v3"'
t "v3 range + re-centring" --set "$gbm" "${off[@]}" --set 'market.pool.kind="v3"' --set protection.recenter=true
t "v3 range + daily compounding of fees" --set "$gbm" "${off[@]}" --set 'market.pool.kind="v3"' --set protection.compound_hours=24
t "everything (default settings, GBM)" --set "$gbm"
t "everything (default settings, bootstrap)"
t "everything, v3 range (GBM)" --set "$gbm" --set 'market.pool.kind="v3"'
# The frictionless double-precision kernel in the same run, for the ratio (its own timing of
# the paths, median of 3 runs of 10,000 paths).
r=$($L risk --frictionless --paths 10000 --threads 2 --precision double | grep -o 'path-steps/s=[0-9]*' | cut -d= -f2)
python3 -c "print('%-44s %13.1fM path-steps/s'%('frictionless, double precision', $r/1e6))"
