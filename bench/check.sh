#!/usr/bin/env bash
# What `wport build --check` costs against one `wport build` of the same
# real port, in the same run (issue 15, target: <= 2.05x wall).
#
#   bench/check.sh [PORT...]      (default: zlib; rounds alternate which goes first)
#   WPORT_BENCH_ROUNDS=N          (default 3; the median is the figure)
#
# --check is two builds (the second with twice the jobs, another build
# directory, umask and, as root, build uid), both destroots walked and
# hashed, both packaged (zstd level 12, as `wport package`) and compared;
# one build is `wport build` alone, with the same state directories and a
# warm precompiled-component cache (both untimed-warmed by one build first).
# The check must say "is reproducible": a port that is not is reported and
# the script stops.
#
# Needs the tarballs: WPORT_REAL_SOURCES=DIR (default target/real-sources,
# filled by scripts/fetch-real-sources DIR, which scripts/test runs).
# Jobs: WPORT_BENCH_JOBS (default: the number of CPUs).
# WPORT_BIN: measure this wport binary instead of building the checkout's.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${WPORT_BENCH_ROUNDS:-3}
jobs=${WPORT_BENCH_JOBS:-$(nproc)}
src_dir=${WPORT_REAL_SOURCES:-$root/target/real-sources}
ports=("$@")
[ ${#ports[@]} -gt 0 ] || ports=(zlib)

cd "$root"
if [ -n "${WPORT_BIN:-}" ]; then
    wport=$WPORT_BIN
else
    cargo build --release --quiet -p wport -p wport-launch
    wport=$root/target/release/wport
fi

scratch=$(mktemp -d /var/tmp/wport-bench-check.XXXXXX)
chmod 755 "$scratch"
trap 'rm -rf "$scratch"' EXIT
mkdir -m 700 -p "$scratch/cache/wport/distfiles"
mkdir -m 755 -p "$scratch/build"

pinned_sha() { sed -n 's/^sha256 = "\([0-9a-f]\{64\}\)"/\1/p' "ports/$1/Portfile.toml" | head -n 1; }
for p in "${ports[@]}"; do
    sha=$(pinned_sha "$p")
    found=
    for f in "$src_dir"/*; do
        if [ -f "$f" ] && [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$sha" ]; then
            cp "$f" "$scratch/cache/wport/distfiles/$sha"
            found=1
        fi
    done
    [ -n "$found" ] || { echo "no tarball with sha256 $sha in $src_dir (run scripts/fetch-real-sources $src_dir)" >&2; exit 1; }
done

# Wall time only: the build's native commands run under wport-exec's
# session init in their own namespaces and cgroup, and their CPU time never
# reaches this shell's rusage (it would count wport's own process alone).
run_wport() { # ARGS... -> seconds in $scratch/last
    local status=0
    TIMEFORMAT='%R'
    { time XDG_CACHE_HOME=$scratch/cache "$wport" -q build "$@" --unsigned "./ports/$port" -j "$jobs" \
        --build-root "$scratch/build" >"$scratch/out" 2>&1 || status=$?; } 2>"$scratch/time"
    if [ $status -ne 0 ]; then
        if [ "${1:-}" = --check ] && [ $status -eq 1 ] && grep -q "is NOT reproducible" "$scratch/out"; then
            echo "$port is not reproducible: nothing to time" >&2; cat "$scratch/out" >&2; exit 1
        fi
        echo "wport build $* $port failed (exit $status):" >&2; cat "$scratch/out" >&2; exit 1
    fi
    cp "$scratch/time" "$scratch/last"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf "%-8s %5s  %8s  %8s  %6s\n" port round "build s" "check s" ratio
for port in "${ports[@]}"; do
    # Untimed: the component cache and the distfile checks, as on any
    # machine that has built before.
    run_wport
    ratios=()
    for ((r = 0; r < rounds; r++)); do
        if (( r % 2 == 0 )); then
            run_wport; b=$(cat "$scratch/last")
            run_wport --check; c=$(cat "$scratch/last")
        else
            run_wport --check; c=$(cat "$scratch/last")
            run_wport; b=$(cat "$scratch/last")
        fi
        ratios+=("$(echo "$c / $b" | bc -l)")
        printf "%-8s %5d  %8.1f  %8.1f  %5.3fx\n" "$port" "$r" "$b" "$c" "${ratios[-1]}"
    done
    printf "%-8s median over %d round(s): %.3fx\n" "$port" "$rounds" "$(printf '%s\n' "${ratios[@]}" | median)"
done
echo "target: wport build --check <= 2.05x one wport build"
