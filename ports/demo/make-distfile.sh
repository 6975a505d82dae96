#!/bin/sh
# Rebuild ports/demo/wport-demo-1.0.tar.gz (the demo's distfile) from
# distfile-src/, byte for byte reproducibly: sorted names, fixed mtime,
# owner and modes, and gzip without a name or timestamp. The tree is copied
# first so the modes do not depend on the checkout's umask.
#
# Prints the sha256 and size to put in Portfile.toml's [[source]].
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -R "$here/distfile-src/wport-demo-1.0" "$tmp/"
find "$tmp/wport-demo-1.0" -type d -exec chmod 0755 {} +
find "$tmp/wport-demo-1.0" -type f -exec chmod 0644 {} +
out="$here/wport-demo-1.0.tar.gz"
(cd "$tmp" && LC_ALL=C tar --sort=name --format=gnu \
    --mtime='2024-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner \
    -cf - wport-demo-1.0) | gzip -n -9 > "$out"
echo "sha256 = \"$(sha256sum "$out" | cut -d' ' -f1)\""
echo "size = $(wc -c < "$out" | tr -d ' ')"
