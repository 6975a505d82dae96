#!/usr/bin/env bash
# Launch overhead of installed programs run confined (issue 16): /bin/true
# started through wport-launch (bin/true a link to the launcher, the
# default policy) against the same binary started directly, in the same
# run; per-launch medians for each case, then a shell loop of 1,000
# launches each way (targets: <= 1 ms added per launch, loop <= 1.2x).
#
#   bench/launch.sh [LAUNCHES]     (default 2000 per side and case)
#
# The measuring program is engine/launch/benches/overhead.rs. As root it
# measures as root and as uid 65534 (through setpriv, on both sides).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
exec cargo bench --quiet -p wport-launch --bench overhead -- "${1:-2000}"
