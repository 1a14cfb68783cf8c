#!/usr/bin/env bash
# Builds the offline recovery page (docs/RECOVERY-KIT.md): vault-core and
# vault-kit compiled to WebAssembly, wrapped with the page's markup, style
# and script into one HTML file.
#
#   scripts/kit.sh [OUT.html]     default: target/kit/breakglass-kit.html
#
# The WebAssembly is built in its own target directory (target/kit) with
# the build paths remapped, so the page does not name this machine's
# directories. The target is wasm32-wasip1, not wasm32-unknown-unknown:
# the QR reader (rxing) stamps each result with the clock, which panics on
# the bare target; the page provides the seven WASI functions the module
# imports (vault-kit/page/kit.js: randomness, clock, empty environment).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-target/kit/breakglass-kit.html}

rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 ||
  rustup target add wasm32-wasip1 >/dev/null

# The version printed in the page's footer: the release script names the
# commit it exported; otherwise this checkout's.
label=${BREAKGLASS_KIT_VERSION:-}
if [ -z "$label" ]; then
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
  commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git status --porcelain 2>/dev/null)" ]; then commit="$commit+changes"; fi
  label="$version ($commit)"
fi

CARGO_TARGET_DIR=$root/target/kit RUSTFLAGS="--remap-path-prefix=$root=/breakglass --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo" \
  cargo build -q -p vault-kit --lib --release --locked --target wasm32-wasip1
wasm=$root/target/kit/wasm32-wasip1/release/vault_kit.wasm

mkdir -p "$(dirname "$out")"
cargo run -q -p vault-kit --bin kit-assemble --locked -- "$wasm" "$out" "$label"
echo "recovery page: $out ($(wc -c <"$out") bytes; WebAssembly $(wc -c <"$wasm") bytes)"
