#!/usr/bin/env bash
# Runs every check and test: formatting, clippy (server and WASM builds),
# the load tool's tests, the Rust unit and integration tests, then the
# Playwright end-to-end tests in Debian's Chromium against the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
# One full run gains nothing from incremental compilation, which costs
# tens of gigabytes of disk on this workspace.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path tools/loadgen/Cargo.toml -- --check

step "clippy (server side)"
cargo clippy -p app -p vigil --all-targets -- -D warnings
step "clippy (browser side)"
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "load tool: clippy and tests (tools/loadgen, its own workspace)"
cargo clippy --manifest-path tools/loadgen/Cargo.toml --all-targets -- -D warnings
cargo test --manifest-path tools/loadgen/Cargo.toml

step "release build (server + WASM; every page but the overview in chunks of its own; the site precompressed and embedded)"
cargo leptos build --release --split --precompress

step "Rust tests"
cargo test --no-fail-fast -p app -p vigil

step "end-to-end tests (Playwright, Chromium)"
(cd end2end && npx playwright test)
