#!/usr/bin/env bash
# Builds Vigil (release) and serves it on http://127.0.0.1:3000 with its
# data under ./data. Extra arguments go to the binary, e.g. --config FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-build.sh
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
# --split: every page but the overview becomes WASM chunks of its own (app/src/pages).
# --precompress: the site is built (and brotli/gzip-compressed) before the
# server, which embeds it (server/build.rs).
cargo leptos build --release --split --precompress
exec target/release/vigil "$@"
