#!/usr/bin/env bash
# Builds a static Vigil, target/x86_64-unknown-linux-musl/release/vigil: the
# same server with the same embedded site as target/release/vigil, linked
# against musl with no dynamic dependency at all, so it runs on any x86_64
# Linux (any libc or none; scripts/chroot-check.sh runs it in an empty root).
#
# Installs what it needs first, skipping what is there: Debian's musl-tools
# (musl-gcc, for the C in SQLite (rusqlite's bundled copy) and ring) and the
# x86_64-unknown-linux-musl target. The site is embedded from target/site as
# it is; when target/site has no WASM yet, this runs
# `cargo leptos build --release --split --precompress` first (with
# scripts/setup-build.sh). After front-end changes, run that build again
# before this script, or the static binary embeds the old site.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-musl
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v musl-gcc >/dev/null 2>&1; then
  say "installing musl-tools (Debian package)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends musl-tools >/dev/null
fi

if ! rustup target list --installed | grep -qx "$TARGET"; then
  say "adding the $TARGET target"
  rustup target add "$TARGET"
fi

# The site settings cargo-leptos gives the server build, from Cargo.toml's
# [[workspace.metadata.leptos]] (one project).
leptos() { # leptos KEY: its value in [[workspace.metadata.leptos]]
  awk -v key="$1" '
    /^\[/ { section = $0 }
    section == "[[workspace.metadata.leptos]]" && $1 == key && $2 == "=" {
      sub(/^[^=]*= */, ""); gsub(/"/, ""); print; exit
    }' Cargo.toml
}
NAME=$(leptos name)
SITE_ROOT=$(leptos site-root)
PKG_DIR=$(leptos site-pkg-dir)

# A cargo leptos build running in this checkout rewrites the site, and
# writes its .br/.gz copies only at the end; server/build.rs refuses to
# embed it meanwhile. Wait for it rather than fail.
leptos_building() {
  local p
  for p in $(pgrep -x cargo-leptos || true); do
    [ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$PWD" ] && return 0
  done
  return 1
}
if leptos_building; then
  say "a cargo leptos build is running here: waiting for it to finish the site"
  while leptos_building; do sleep 5; done
fi

if [ ! -f "$SITE_ROOT/$PKG_DIR/$NAME.wasm" ]; then
  say "no $SITE_ROOT/$PKG_DIR/$NAME.wasm: building the site (and the glibc server) with cargo leptos"
  bash scripts/setup-build.sh
  cargo leptos build --release --split --precompress
fi

# What `cargo leptos build --release` sets for its server build (cargo-leptos
# 0.3.10, Project::to_envs; no RUSTFLAGS in release). server/build.rs reads
# LEPTOS_SITE_ROOT (the site to embed; without it nothing is embedded) and
# LEPTOS_OUTPUT_NAME (the /pkg/NAME.wasm it insists on); leptos reads
# LEPTOS_OUTPUT_NAME at compile time too. The others are read at run time
# only by get_configuration, which Vigil does not use; they are set for a
# like-for-like build.
export LEPTOS_OUTPUT_NAME="$NAME"
export LEPTOS_SITE_ROOT="$SITE_ROOT"
export LEPTOS_SITE_PKG_DIR="$PKG_DIR"
export LEPTOS_SITE_ADDR="$(leptos site-addr)"
export LEPTOS_RELOAD_PORT="$(leptos reload-port)"
export LEPTOS_LIB_DIR=frontend
export LEPTOS_BIN_DIR=server
export LEPTOS_JS_MINIFY=true
export LEPTOS_HASH_FILES=false
# The C compiler for the target (ring's C and assembly, SQLite).
export CC_x86_64_unknown_linux_musl=musl-gcc

say "building vigil for $TARGET (release)"
cargo build --release -p vigil --bin vigil --no-default-features --target "$TARGET"

BIN="target/$TARGET/release/vigil"
file "$BIN"
# The musl target links statically by default (crt-static); a RUSTFLAGS
# with -crt-static would undo it.
if ! file "$BIN" | grep -q 'static'; then
  echo "$BIN is not statically linked" >&2
  exit 1
fi
say "built $BIN ($(du -h "$BIN" | cut -f1)), statically linked"
