#!/bin/sh
# Rebuild ports/demo/port.wasm (committed) from this crate; see
# scripts/build-port-component for how the build is kept reproducible.
exec "$(dirname "$0")/../../scripts/build-port-component" "$(dirname "$0")"
