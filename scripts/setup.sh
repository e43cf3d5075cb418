#!/usr/bin/env bash
# Installs what building and testing Vigil needs, skipping whatever is
# already there: Debian's chromium, prometheus, victoria-metrics,
# alertmanager and aiosmtpd (an SMTP server for the email tests) (and
# the mount, e2fsprogs and iproute2 tools the disk tests use), the
# wasm32 target, cargo-leptos, the wasm-bindgen CLI matching Cargo.lock, and
# the npm packages (wasm-opt from binaryen, Playwright), and copies uPlot
# into public/vendor/. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v chromium >/dev/null 2>&1; then
  say "installing chromium (Debian package)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# The many-hosts tests run real engines: Debian's Prometheus (remote-write
# receiver) and VictoriaMetrics. Only the binaries are used; no service is
# started (the packages' own units need systemd, which test machines lack).
missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics)
# The alerts tests: Prometheus Alertmanager as a channel, and a real SMTP
# server (aiosmtpd, with STARTTLS and AUTH) for email.
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || missing+=(python3-aiosmtpd)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (Debian packages)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The store's disk tests mount real file systems (tmpfs, an ext4 loop
# image) and the connection tests add an address to lo: they need root and
# these tools, and fail (not skip) without them.
missing=()
command -v mount >/dev/null 2>&1 && command -v findmnt >/dev/null 2>&1 || missing+=(mount util-linux)
command -v mkfs.ext4 >/dev/null 2>&1 && command -v e2fsck >/dev/null 2>&1 || missing+=(e2fsprogs)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (Debian packages)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

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

npm_install() {
  local dir=$1
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "installing npm packages in $dir"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  fi
}
npm_install .
npm_install end2end

# Browser libraries served as static files (public/ is the site's assets
# dir): uPlot for the /explore chart. Copied only when changed.
mkdir -p public/vendor
for f in uPlot.iife.min.js uPlot.min.css; do
  if ! cmp -s "node_modules/uplot/dist/$f" "public/vendor/$f"; then
    say "copying $f to public/vendor/"
    cp "node_modules/uplot/dist/$f" "public/vendor/$f"
  fi
done
