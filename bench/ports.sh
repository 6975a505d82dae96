#!/usr/bin/env bash
# Real ports, native against `wport build`, in the same run.
#
#   bench/ports.sh [ROUNDS] [PORT...]       (default: 1 round, every real port)
#
# For each port and round, builds it natively and through `wport build`,
# alternating which goes first, and prints the wall-time ratio wport/native
# per port, then the median and the max (targets: median <= 1.03x, none above
# 1.10x). Then runs engine/exec's spawn benchmark: a mediated `true` against
# a plain spawn of `true` (target: at most +0.5 ms per call).
#
# Every build is for a scratch prefix where `wport install` first puts
# (untimed) the libraries that readline, libpng and lua link: ncurses,
# readline, zlib.
#
# Native is exactly the Portfile's recipe, by hand: extract the tarball,
# apply the port's patchfiles, `./configure --prefix=PREFIX ARGS`,
# `make -jJOBS`, `make DESTDIR=... install` (or the port's equivalents),
# with the same environment wport gives its commands (env -i, PATH, LC_ALL=C,
# TZ=UTC, MAKEFLAGS=-jJOBS) and, as root, as the same unprivileged user
# (65534) the wport build runs as. wport's time is the whole `wport build`:
# verifying and extracting sources, loading the component, every phase.
#
# Where the cgroup-v1 cpuacct controller is writable (as root), each build
# also runs in its own accounting cgroup and the CPU time of everything it
# ran (wport, its spawn helper, the sandboxed tools; tar, make, cc natively)
# is printed too: on a shared, busy machine wall time is mostly the other
# users' load, CPU time much less so.
#
# Needs the tarballs: WPORT_REAL_SOURCES=DIR (default target/real-sources, filled by
# scripts/fetch-real-sources DIR, which scripts/test runs).
# Jobs: WPORT_BENCH_JOBS (default 2). Spawn-bench calls: WPORT_BENCH_N (2000).
# WPORT_BIN: measure this wport binary instead of building the checkout's.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-1}
shift || true
ports=("$@")
[ ${#ports[@]} -gt 0 ] || ports=(hello zlib bzip2 lua tree xz gzip ncurses readline libpng)
jobs=${WPORT_BENCH_JOBS:-2}
src_dir=${WPORT_REAL_SOURCES:-$root/target/real-sources}  # filled by scripts/fetch-real-sources (scripts/test runs it)

cd "$root"
# WPORT_BIN: a wport binary to measure instead of building this checkout's.
if [ -n "${WPORT_BIN:-}" ]; then
    wport=$WPORT_BIN
else
    cargo build --release --quiet -p wport
    wport=$root/target/release/wport
fi

scratch=$(mktemp -d /var/tmp/wport-bench-ports.XXXXXX)
chmod 755 "$scratch"
trap 'rm -rf "$scratch"; rmdir /sys/fs/cgroup/cpuacct/wport-bench-$$-* 2>/dev/null || true' EXIT
mkdir -m 700 -p "$scratch/cache/wport/distfiles" "$scratch/cfg" "$scratch/data"
# Every build, native and wport, is for this prefix, where (untimed, below)
# `wport install` puts the libraries the ports with dependencies link:
# ncurses and readline (lua, readline), zlib (libpng). A native build sees
# all of them; a wport build sees the ones its phases are granted.
prefix=$scratch/prefix
DEPS=(ncurses readline zlib)

as_build_user=()
if [ "$(id -u)" = 0 ]; then
    as_build_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi

# The port's pinned sha256 (first [[source]]) and the tarball that has it.
pinned_sha() { sed -n 's/^sha256 = "\([0-9a-f]\{64\}\)"/\1/p' "ports/$1/Portfile.toml" | head -n 1; }
tarball_for() {
    local sha=$1 f
    for f in "$src_dir"/*; do
        [ -f "$f" ] && [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$sha" ] && { echo "$f"; return; }
    done
    echo "no tarball with sha256 $sha in $src_dir (run scripts/fetch-real-sources)" >&2
    exit 1
}

declare -A TARBALL
for p in "${ports[@]}" "${DEPS[@]}" tree lua; do # and the warm-up builds' (below)
    sha=$(pinned_sha "$p")
    TARBALL[$p]=$(tarball_for "$sha")
    cp "${TARBALL[$p]}" "$scratch/cache/wport/distfiles/$sha"
done

# The environment wport's mediated commands get (engine/exec policy::base_env).
native_env() { # DIR
    echo env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$1/.home" TMPDIR="$1/.tmp" \
        LC_ALL=C LANG=C TZ=UTC SOURCE_DATE_EPOCH=0 MAKEFLAGS=-j"$jobs" SHELL=/bin/sh
}

# The Portfile's recipe, natively, in $1 (the source tree) into $2 (destroot).
native_recipe() { # PORT
    local D=$2 j=-j$jobs
    case $1 in
    hello) echo "./configure --prefix=$prefix --disable-nls && make $j && make DESTDIR=$D install" ;;
    zlib | xz | gzip) echo "./configure --prefix=$prefix && make $j && make DESTDIR=$D install" ;;
    readline) echo "./configure --prefix=$prefix --disable-static --disable-install-examples --with-shared-termcap-library \
bash_cv_termcap_lib=libtinfo CPPFLAGS=-I$prefix/include 'LDFLAGS=-L$prefix/lib -Wl,-rpath,$prefix/lib' && make $j && make DESTDIR=$D install" ;;
    libpng) echo "./configure --prefix=$prefix --disable-static CPPFLAGS=-I$prefix/include 'LDFLAGS=-L$prefix/lib -Wl,-rpath,$prefix/lib' \
&& make $j && make DESTDIR=$D install" ;;
    ncurses) echo "./configure --prefix=$prefix --with-shared --without-normal --without-debug --with-termlib=tinfo \
--enable-widec --enable-overwrite --enable-rpath --without-ada --without-cxx-binding --without-tests --enable-pc-files \
--with-pkg-config-libdir=$prefix/lib/pkgconfig --enable-symlinks --with-manpage-format=normal && make $j && make DESTDIR=$D install" ;;
    bzip2) echo "patch -p1 -s < $root/ports/bzip2/files/patch-Makefile.diff && make $j PREFIX=$prefix && make DESTDIR=$D PREFIX=$prefix install" ;;
    tree) echo "make $j && make PREFIX=$prefix DESTDIR=$D$prefix/bin MANDIR=$D$prefix/share/man install" ;;
    lua)
        # ports/lua: LUA_ROOT to the prefix, make linux-readline (prefix first), install what upstream's install would.
        echo "sed -i 's|^#define LUA_ROOT\t\"/usr/local/\"|#define LUA_ROOT\t\"$prefix/\"|' src/luaconf.h && \
make $j linux-readline MYCFLAGS=-I$prefix/include 'MYLDFLAGS=-L$prefix/lib -Wl,-rpath,$prefix/lib' && \
install -D -m 755 -t $D$prefix/bin src/lua src/luac && \
install -D -m 644 -t $D$prefix/include src/lua.h src/luaconf.h src/lualib.h src/lauxlib.h src/lua.hpp && \
install -D -m 644 -t $D$prefix/lib src/liblua.a && \
install -D -m 644 -t $D$prefix/share/man/man1 doc/lua.1 doc/luac.1 && \
install -d -m 755 $D$prefix/share/lua/5.4 $D$prefix/lib/lua/5.4" ;;
    *) echo "no native recipe for $1" >&2; exit 1 ;;
    esac
}

now() { date +%s.%N; }

# CPU accounting: a fresh cpuacct cgroup per build, when we may make one.
cpuacct=/sys/fs/cgroup/cpuacct
cg_ok=false
if [ -w "$cpuacct" ] && mkdir "$cpuacct/wport-bench-$$-probe" 2>/dev/null; then
    rmdir "$cpuacct/wport-bench-$$-probe"
    cg_ok=true
fi
cg_seq=0
CPU_LAST=0
# Run "$@" (a function) in a new cgroup; its CPU seconds land in CPU_LAST.
in_cgroup() {
    CPU_LAST=0
    if ! $cg_ok; then "$@"; return; fi
    cg_seq=$((cg_seq + 1))
    local cg=$cpuacct/wport-bench-$$-$cg_seq
    mkdir "$cg"
    local st=0
    ( echo "$BASHPID" > "$cg/cgroup.procs"; "$@" ) || st=$?
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do # the spawn helper may take a moment to go
        [ -z "$(cat "$cg/cgroup.procs")" ] && break
        sleep 0.1
    done
    CPU_LAST=$(echo "$(cat "$cg/cpuacct.usage") / 1000000000" | bc -l)
    rmdir "$cg" 2>/dev/null || true
    return $st
}

native_build() { # PORT -> seconds
    local p=$1 dir=$scratch/native/$1
    rm -rf "$dir"
    mkdir -p "$dir/destroot" "$dir/.home" "$dir/.tmp"
    [ ${#as_build_user[@]} -eq 0 ] || chown -R 65534:65534 "$dir"
    local t0 t1 top
    t0=$(now)
    "${as_build_user[@]}" tar -C "$dir" -xf "${TARBALL[$p]}"
    top=$(find "$dir" -mindepth 1 -maxdepth 1 -type d ! -name destroot ! -name '.*' | head -n 1)
    # shellcheck disable=SC2046 # the env words
    (cd "$top" && "${as_build_user[@]}" $(native_env "$dir") sh -c "$(native_recipe "$p" "$dir/destroot")") \
        >"$dir.log" 2>&1 || { echo "native build of $p failed, see $dir.log" >&2; tail -20 "$dir.log" >&2; exit 1; }
    t1=$(now)
    echo "$t1 - $t0" | bc > "$scratch/last"
}

wport_build() { # PORT -> seconds
    local p=$1 t0 t1
    t0=$(now)
    XDG_CACHE_HOME=$scratch/cache "$wport" build --unsigned --build-root "$scratch/wport" --prefix "$prefix" -j"$jobs" "ports/$p" \
        >"$scratch/wport-$p.out" 2>&1 || { echo "wport build of $p failed:" >&2; cat "$scratch/wport-$p.out" >&2; exit 1; }
    t1=$(now)
    echo "$t1 - $t0" | bc > "$scratch/last"
}

# Time one build: wall seconds in WALL, CPU seconds in CPU_LAST.
timed() { # native_build|wport_build PORT
    rm -f "$scratch/last"
    in_cgroup "$@" || exit 1
    WALL=$(cat "$scratch/last")
}

mkdir -p "$scratch/wport" "$scratch/install"
chmod 755 "$scratch/wport" "$scratch/install"
echo "installing ${DEPS[*]} into $prefix (untimed)"
XDG_CACHE_HOME=$scratch/cache XDG_CONFIG_HOME=$scratch/cfg XDG_DATA_HOME=$scratch/data \
    "$wport" install --unsigned ports "${DEPS[@]}" --prefix "$prefix" --build-root "$scratch/install" -j 2 \
    >"$scratch/install.out" 2>&1 || { echo "wport install ${DEPS[*]} failed:" >&2; cat "$scratch/install.out" >&2; exit 1; }
# Untimed wport builds that put every component the ports use into the
# (fresh) precompiled-component cache, as on any machine that has built
# before: tree (standard make), zlib (standard autotools), lua (its own).
for p in tree zlib lua; do wport_build "$p"; done

median_max() { # RATIO... -> "median max"
    local sorted n a b median
    sorted=$(printf '%s\n' "$@" | sort -g)
    n=$#
    if (( n % 2 == 1 )); then
        median=$(echo "$sorted" | sed -n "$(( n / 2 + 1 ))p")
    else
        a=$(echo "$sorted" | sed -n "$(( n / 2 ))p"); b=$(echo "$sorted" | sed -n "$(( n / 2 + 1 ))p")
        median=$(echo "($a + $b) / 2" | bc -l)
    fi
    echo "$median $(echo "$sorted" | tail -n 1)"
}

declare -A NAT WP NATC WPC
echo "port     round  native s   wport s  wall ratio   native cpu s  wport cpu s  cpu ratio"
for ((r = 0; r < rounds; r++)); do
    for p in "${ports[@]}"; do
        if (( r % 2 == 0 )); then
            timed native_build "$p"; n=$WALL; nc=$CPU_LAST
            timed wport_build "$p"; w=$WALL; wc=$CPU_LAST
        else
            timed wport_build "$p"; w=$WALL; wc=$CPU_LAST
            timed native_build "$p"; n=$WALL; nc=$CPU_LAST
        fi
        NAT[$p]=$(echo "${NAT[$p]:-0} + $n" | bc -l); WP[$p]=$(echo "${WP[$p]:-0} + $w" | bc -l)
        NATC[$p]=$(echo "${NATC[$p]:-0} + $nc" | bc -l); WPC[$p]=$(echo "${WPC[$p]:-0} + $wc" | bc -l)
        cr=$( $cg_ok && echo "$wc / $nc" | bc -l || echo 0)
        printf '%-8s %5d %9.2f %9.2f %10.3fx %14.2f %12.2f %9.3fx\n' "$p" "$r" "$n" "$w" "$(echo "$w / $n" | bc -l)" "$nc" "$wc" "$cr"
    done
done

echo
echo "port      native s   wport s  wall ratio   native cpu s  wport cpu s  cpu ratio   (sums over $rounds round(s), -j$jobs)"
ratios=(); cratios=()
for p in "${ports[@]}"; do
    ratio=$(echo "${WP[$p]} / ${NAT[$p]}" | bc -l)
    cratio=$( $cg_ok && echo "${WPC[$p]} / ${NATC[$p]}" | bc -l || echo 0)
    ratios+=("$ratio"); cratios+=("$cratio")
    printf '%-8s %10.2f %9.2f %10.3fx %14.2f %12.2f %9.3fx\n' "$p" "${NAT[$p]}" "${WP[$p]}" "$ratio" "${NATC[$p]}" "${WPC[$p]}" "$cratio"
done
read -r median max <<< "$(median_max "${ratios[@]}")"
printf 'wall: median %.3fx (target <= 1.03x), max %.3fx (target <= 1.10x)\n' "$median" "$max"
if $cg_ok; then
    read -r median max <<< "$(median_max "${cratios[@]}")"
    printf 'cpu:  median %.3fx, max %.3fx\n' "$median" "$max"
fi

echo
echo "== per-call overhead: mediated true vs plain spawn (engine/exec/benches/spawn.rs)"
cargo bench --quiet -p wport-exec --bench spawn 2>&1 | grep -v '^\s*$' || echo "spawn bench failed to run"
