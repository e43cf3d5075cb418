#!/usr/bin/env bash
# Installs what `cargo leptos build --release --split --precompress` needs,
# and nothing the tests alone need (scripts/setup.sh adds those), skipping
# whatever is already there: the wasm32 target, cargo-leptos, the
# wasm-bindgen CLI matching Cargo.lock, and the root npm packages the build
# uses (wasm-opt from binaryen, uPlot: package.json's `dependencies`; its
# `devDependencies` are test targets and are left out), and copies uPlot
# into public/vendor/. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (takes a while on a fresh machine)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

# The CLI must be exactly the wasm-bindgen version the WASM is built with.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: its lock file pins a crate version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# Root npm packages, build part only (--omit=dev leaves out Anvil). Kept
# when already installed from the current lock file, with or without the
# dev part (scripts/setup.sh installs all of them first).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
  [ ! -e node_modules/.bin/wasm-opt ] || [ ! -d node_modules/uplot/dist ]; then
  say "installing the build's npm packages (binaryen, uplot)"
  npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
fi

# Browser libraries served as static files (public/ is the site's assets
# dir): uPlot for the /explore chart. Copied only when changed.
mkdir -p public/vendor
for f in uPlot.iife.min.js uPlot.min.css; do
  if ! cmp -s "node_modules/uplot/dist/$f" "public/vendor/$f"; then
    say "copying $f to public/vendor/"
    cp "node_modules/uplot/dist/$f" "public/vendor/$f"
  fi
done
