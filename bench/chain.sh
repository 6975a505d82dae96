#!/usr/bin/env bash
# The deepest real dependency chain, ncurses -> readline -> lua, through one
# `wport install lua` against the same three builds run natively one after
# another, in the same run (target: wport <= 1.05x wall).
#
#   bench/chain.sh [ROUNDS]        (default 1; rounds alternate which goes first)
#
# Native is each Portfile's recipe by hand, installed straight into a
# scratch prefix so the next port builds against it (the same flags the
# Portfiles pass: CPPFLAGS/LDFLAGS with -I/-L of the prefix and its rpath),
# with the environment wport gives its commands (env -i, PATH, LC_ALL=C,
# TZ=UTC, MAKEFLAGS=-jJOBS) and, as root, as an unprivileged user (65534).
# wport's time is the whole `wport install lua --unsigned ports -j 1`:
# planning, and per port verifying and extracting sources, the build in its
# sandbox with its dependency view, packaging, verifying and installing
# under the journal. Each wport build runs with JOBS make jobs (-j 1 port at
# a time on a JOBS-core machine gives each build all JOBS), as natively.
#
# Needs the tarballs: WPORT_REAL_SOURCES=DIR (default target/real-sources,
# filled by scripts/fetch-real-sources DIR, which scripts/test runs).
# Jobs: WPORT_BENCH_JOBS (default: the number of CPUs).
# WPORT_BIN: measure this wport binary instead of building the checkout's.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-1}
jobs=${WPORT_BENCH_JOBS:-$(nproc)}
src_dir=${WPORT_REAL_SOURCES:-$root/target/real-sources}
chain=(ncurses readline lua)

cd "$root"
if [ -n "${WPORT_BIN:-}" ]; then
    wport=$WPORT_BIN
else
    cargo build --release --quiet -p wport
    wport=$root/target/release/wport
fi

scratch=$(mktemp -d /var/tmp/wport-bench-chain.XXXXXX)
chmod 755 "$scratch"
trap 'rm -rf "$scratch"' EXIT
mkdir -m 700 -p "$scratch/cache/wport/distfiles" "$scratch/cfg"

as_build_user=()
if [ "$(id -u)" = 0 ]; then
    as_build_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi

pinned_sha() { sed -n 's/^sha256 = "\([0-9a-f]\{64\}\)"/\1/p' "ports/$1/Portfile.toml" | head -n 1; }
declare -A TARBALL
for p in "${chain[@]}"; do
    sha=$(pinned_sha "$p")
    for f in "$src_dir"/*; do
        if [ -f "$f" ] && [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$sha" ]; then
            TARBALL[$p]=$f
        fi
    done
    [ -n "${TARBALL[$p]:-}" ] || { echo "no tarball with sha256 $sha in $src_dir (run scripts/fetch-real-sources $src_dir)" >&2; exit 1; }
    cp "${TARBALL[$p]}" "$scratch/cache/wport/distfiles/$sha"
done

# The recipe of each Portfile, installing into the prefix $P itself.
recipe() { # PORT PREFIX
    local P=$2 j=-j$jobs
    case $1 in
    ncurses) echo "./configure --prefix=$P --with-shared --without-normal --without-debug --with-termlib=tinfo \
--enable-widec --enable-overwrite --enable-rpath --without-ada --without-cxx-binding --without-tests --enable-pc-files \
--with-pkg-config-libdir=$P/lib/pkgconfig --enable-symlinks --with-manpage-format=normal && make $j && make install" ;;
    readline) echo "./configure --prefix=$P --disable-static --disable-install-examples --with-shared-termcap-library \
bash_cv_termcap_lib=libtinfo CPPFLAGS=-I$P/include 'LDFLAGS=-L$P/lib -Wl,-rpath,$P/lib' && make $j && make install" ;;
    lua) echo "sed -i 's|^#define LUA_ROOT\t\"/usr/local/\"|#define LUA_ROOT\t\"$P/\"|' src/luaconf.h && \
make $j linux-readline MYCFLAGS=-I$P/include 'MYLDFLAGS=-L$P/lib -Wl,-rpath,$P/lib' && \
install -D -m 755 -t $P/bin src/lua src/luac && \
install -D -m 644 -t $P/include src/lua.h src/luaconf.h src/lualib.h src/lauxlib.h src/lua.hpp && \
install -D -m 644 -t $P/lib src/liblua.a && \
install -D -m 644 -t $P/share/man/man1 doc/lua.1 doc/luac.1 && \
install -d -m 755 $P/share/lua/5.4 $P/lib/lua/5.4" ;;
    esac
}

now() { date +%s.%N; }

native_chain() { # -> seconds in $scratch/last
    local dir=$scratch/native P=$scratch/native/prefix t0 p top
    rm -rf "$dir"
    mkdir -p "$P" "$dir/.home" "$dir/.tmp"
    [ ${#as_build_user[@]} -eq 0 ] || chown -R 65534:65534 "$dir"
    t0=$(now)
    for p in "${chain[@]}"; do
        mkdir -p "$dir/$p"
        [ ${#as_build_user[@]} -eq 0 ] || chown 65534:65534 "$dir/$p"
        "${as_build_user[@]}" tar -C "$dir/$p" -xf "${TARBALL[$p]}"
        top=$(find "$dir/$p" -mindepth 1 -maxdepth 1 -type d | head -n 1)
        (cd "$top" && "${as_build_user[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$dir/.home" \
            TMPDIR="$dir/.tmp" LC_ALL=C LANG=C TZ=UTC SOURCE_DATE_EPOCH=0 MAKEFLAGS=-j"$jobs" SHELL=/bin/sh \
            sh -c "$(recipe "$p" "$P")") >"$dir/$p.log" 2>&1 ||
            { echo "native build of $p failed, see $dir/$p.log" >&2; tail -20 "$dir/$p.log" >&2; exit 1; }
    done
    "$P/bin/lua" -e 'assert(6 * 7 == 42)'
    echo "$(now) - $t0" | bc > "$scratch/last"
}

wport_chain() { # -> seconds in $scratch/last
    local W=$scratch/wport-prefix t0
    rm -rf "$W" "$scratch/build"
    mkdir -m 755 "$scratch/build"
    t0=$(now)
    XDG_CACHE_HOME=$scratch/cache XDG_CONFIG_HOME=$scratch/cfg XDG_DATA_HOME=$scratch/data \
        "$wport" install lua --unsigned ports -j 1 --prefix "$W" --build-root "$scratch/build" \
        >"$scratch/wport.out" 2>&1 || { echo "wport install failed:" >&2; cat "$scratch/wport.out" >&2; exit 1; }
    echo "$(now) - $t0" | bc > "$scratch/last"
    "$W/bin/lua" -e 'assert(6 * 7 == 42)'
    # bin/lua runs through the launcher (issue 16): the linked binary is the
    # real one beside it.
    real_lua=$W/libexec/wport/lua/real/lua
    ldd "$real_lua" | grep -q "libreadline.so.8 => $W/lib/" ||
        { echo "wport's lua is not linked against its prefix's readline:" >&2; ldd "$real_lua" >&2; exit 1; }
}

# Untimed: the precompiled-component cache gets the standard autotools
# component, as on any machine that has built before (lua's own component
# is compiled inside the timed run: about a second).
mkdir -m 755 -p "$scratch/warm"
XDG_CACHE_HOME=$scratch/cache XDG_CONFIG_HOME=$scratch/cfg XDG_DATA_HOME=$scratch/data \
    "$wport" install ncurses --unsigned ports -j 1 --prefix "$scratch/warm/prefix" --build-root "$scratch/warm" >/dev/null 2>&1 || true

echo "round  native s  wport s  ratio"
ratios=()
for ((r = 0; r < rounds; r++)); do
    if (( r % 2 == 0 )); then
        native_chain; n=$(cat "$scratch/last")
        wport_chain; w=$(cat "$scratch/last")
    else
        wport_chain; w=$(cat "$scratch/last")
        native_chain; n=$(cat "$scratch/last")
    fi
    ratio=$(echo "$w / $n" | bc -l)
    ratios+=("$ratio")
    printf "%5d  %8.1f  %7.1f  %5.3fx\n" "$r" "$n" "$w" "$ratio"
done
sorted=$(printf '%s\n' "${ratios[@]}" | sort -g)
median=$(echo "$sorted" | sed -n "$(( (${#ratios[@]} + 1) / 2 ))p")
printf "chain ncurses->readline->lua: median %.3fx over %d round(s) (target <= 1.05x)\n" "$median" "$rounds"
