#!/usr/bin/env bash
# Redraws the app icons in public/icons/ from the mark in public/favicon.svg
# (a pulse line on Vigil's teal), with Debian's headless Chromium:
# icon-{192,512}.png (rounded, transparent corners) and maskable-{192,512}.png
# (full bleed, the mark inside the 80 % safe zone). The PNGs are committed;
# run this only when the mark changes.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mark='<polyline points="8,36 20,36 26,18 34,48 40,30 46,36 56,36" fill="none" stroke="#fff" stroke-width="5" stroke-linecap="round" stroke-linejoin="round"/>'
page() { # page SIZE BODY
  printf '<!doctype html><html><head><style>html,body{margin:0;padding:0;background:transparent}svg{display:block}</style></head><body><svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 64 64">%s</svg></body></html>' "$1" "$1" "$2"
}
shot() { # shot SIZE HTML OUT
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --disable-quic --hide-scrollbars \
    --default-background-color=00000000 --window-size="$1,$1" --screenshot="$3" "file://$2" 2>/dev/null
}
for size in 192 512; do
  page "$size" "<rect width=\"64\" height=\"64\" rx=\"14\" fill=\"#0f766e\"/>$mark" >"$tmp/icon.html"
  shot "$size" "$tmp/icon.html" "public/icons/icon-$size.png"
  page "$size" "<rect width=\"64\" height=\"64\" fill=\"#0f766e\"/><g transform=\"translate(32 32) scale(0.62) translate(-32 -32)\">$mark</g>" >"$tmp/maskable.html"
  shot "$size" "$tmp/maskable.html" "public/icons/maskable-$size.png"
done
ls -l public/icons
