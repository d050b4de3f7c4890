#!/bin/bash
# The stress test's speed goal: a book of 5,000 positions through 48 hours at one-minute steps
# with the exact engine, on one core (taskset and one rayon thread), in under 10 s. Measured in
# the same run against the reference it is tested against: every position checked every
# minute (--full-scan) instead of those near their liquidation price.
#
#   bench/stress.sh              # after `cargo build --release -p levfarm`
#   L=path/to/levfarm bench/stress.sh
set -e
L=${L:-./target/release/levfarm}
one="taskset -c 0 env RAYON_NUM_THREADS=1"
clock() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  printf '%8.2f s  %s\n' "$(echo "$end - $start" | bc)" "${*#taskset -c 0 env RAYON_NUM_THREADS=1 }"
}
echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
# 48 hours: 24 down by half, log-linear, and 24 back up by half the fall.
walk="--positions 5000 --shocks=-0.5 --minutes 1440 --recovery 0.5"
clock $one "$L" stress $walk
clock $one "$L" stress --positions 5000 --window march-2020
clock $one "$L" stress --positions 5000 --window all
clock $one "$L" stress $walk --full-scan
# Every position protected by the scenario's orders (a deleverage at 75%, daily compounding):
# the keepers' watch, then every order every minute (--full-scan), then 5,000 positions.
clock $one "$L" stress --window march-2020 --protected 1.0 --quiet
clock $one "$L" stress --window march-2020 --protected 1.0 --quiet --full-scan
clock $one "$L" stress --positions 5000 --window march-2020 --protected 1.0 --quiet
# Monte Carlo windows, 1,000 positions: the exact engine on every path (--exact), then the f64
# book kernel on the same paths, then many paths and a book of 5,000 (one core, then all).
clock $one "$L" stress --paths 20 --hours 48 --exact --quiet
clock $one "$L" stress --paths 20 --hours 48 --quiet
clock $one "$L" stress --paths 1000 --hours 48 --quiet
clock $one "$L" stress --positions 5000 --paths 1000 --hours 48 --quiet
clock "$L" stress --positions 5000 --paths 1000 --hours 48 --quiet
