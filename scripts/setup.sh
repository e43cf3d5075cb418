#!/usr/bin/env bash
# Installs what building and testing Vigil needs, skipping whatever is
# already there: what the tests alone need, that is Debian's chromium,
# prometheus, victoria-metrics, alertmanager and aiosmtpd (an SMTP server
# for the email tests) (and the mount, e2fsprogs and iproute2 tools the disk
# tests use), the root npm packages with their dev part (Anvil) and
# end2end's (Playwright); then scripts/setup-build.sh, what the build needs
# (the wasm32 target, cargo-leptos, the wasm-bindgen CLI matching
# Cargo.lock, wasm-opt from binaryen, uPlot copied into public/vendor/).
# Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

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

# npm_install DIR BIN: `npm ci` in DIR unless its node_modules holds what its
# lock file says, BIN included.
npm_install() {
  local dir=$1
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ] ||
    [ ! -e "$dir/node_modules/.bin/$2" ]; then
    say "installing npm packages in $dir"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  fi
}
# All of the root's packages, the dev part too: Anvil (server/tests/checks.rs
# runs node_modules/.bin/anvil). Before setup-build.sh, which then finds
# them current and keeps them.
npm_install . anvil
npm_install end2end playwright

# What the build needs: the wasm32 target, cargo-leptos, wasm-bindgen, the
# build's npm packages, uPlot in public/vendor/.
bash scripts/setup-build.sh
