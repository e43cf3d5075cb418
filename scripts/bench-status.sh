#!/usr/bin/env bash
# scripts/bench-status.sh: a status page under load, against the
# dashboard's server-rendered overview on the same server.
#
# Usage (after `cargo leptos build --release --split --precompress`):
#
#     bash scripts/bench-status.sh
#
# Starts target/release/vigil on 127.0.0.1:$BENCH_PORT (open: loopback, no
# account, so `/` renders) with 20 checks on a local TCP listener, 10 of
# them on a status page, then runs wrk (keep-alive, $CONNECTIONS
# connections, $DURATION, `Accept-Encoding: br, gzip` as a browser sends it)
# $ROUNDS times against each of /status/public and / in turn, and prints
# requests/s and p99 of each run, then what a first visit to the status
# page transfers. Installs wrk (Debian's package) when it is missing.
#
# Environment: BENCH_PORT (3901), CONNECTIONS (100), DURATION (15s),
# ROUNDS (3), VIGIL_BIN (target/release/vigil).

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/bench-common.sh
source "$ROOT/scripts/bench-common.sh"
VIGIL="${VIGIL_BIN:-$ROOT/target/release/vigil}"
PORT="${BENCH_PORT:-3901}"
CONNECTIONS="${CONNECTIONS:-100}"
DURATION="${DURATION:-15s}"
ROUNDS="${ROUNDS:-3}"

require_wrk
[ -x "$VIGIL" ] || { echo "no server binary at $VIGIL: build it first" >&2; exit 1; }

DIR="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT

# A TCP target every check connects to.
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(512); print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); c.close()
' > "$DIR/target.port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$DIR/target.port" ] && break; sleep 0.1; done
TARGET_PORT="$(cat "$DIR/target.port")"

{
  for i in $(seq 1 20); do
    printf '[[checks]]\nname = "service-%02d"\ntype = "tcp"\naddress = "127.0.0.1:%s"\ninterval = "5s"\n\n' "$i" "$TARGET_PORT"
  done
  printf '[[status_pages]]\nslug = "public"\ntitle = "Example status"\ndescription = "What our customers use."\n'
  printf 'checks = ["service-01", "service-02", "service-03", "service-04"]\n\n'
  printf '[[status_pages.groups]]\nname = "API"\nchecks = ["service-05", "service-06", "service-07", "service-08", "service-09", "service-10"]\n'
} > "$DIR/vigil.toml"

"$VIGIL" --bind "127.0.0.1:$PORT" --data-dir "$DIR/data" --config "$DIR/vigil.toml" > "$DIR/vigil.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
sleep 3

run() {
  local path="$1"
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H 'Accept-Encoding: br, gzip' "http://127.0.0.1:$PORT$path" \
    | awk -v p="$path" '/Requests\/sec/ {r=$2} /^ +99%/ {l=$2} END {printf "%-16s %10s req/s   p99 %s\n", p, r, l}'
}
echo "wrk: $CONNECTIONS connections, $DURATION, $ROUNDS rounds, alternating"
for r in $(seq 1 "$ROUNDS"); do
  run /status/public
  run /
done

echo
echo "first visit to /status/public (Accept-Encoding: br, gzip), bytes on the wire:"
total=0
for path in /status/public /status/assets/page.js /favicon.svg; do
  n=$(curl -fsS -H 'Accept-Encoding: br, gzip' -o /dev/null -w '%{size_download}' "http://127.0.0.1:$PORT$path")
  printf '  %-26s %7d B\n' "$path" "$n"
  total=$((total + n))
done
printf '  %-26s %7d B\n' "total" "$total"
