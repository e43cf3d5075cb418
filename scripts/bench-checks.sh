#!/usr/bin/env bash
# scripts/bench-checks.sh: CPU and memory of Vigil running many health checks.
#
# Usage (from anywhere in the repo, after `cargo leptos build --release --split --precompress`):
#
#     scripts/bench-checks.sh
#
# Starts one local target (Python's http.server on a free port, in its own
# process so its work is not counted), then two Vigils side by side with
# fresh data dirs: one with $CHECKS checks at a $INTERVAL interval (half
# HTTP GETs of the target, half TCP connects to it), one with no checks as
# the baseline. After $SETTLE seconds it samples both with `vigil-load idle`
# for $SECONDS_ and prints RSS and CPU of each; the difference is what the
# checks cost. Every process it starts is stopped on exit.
#
# Environment overrides:
#   CHECKS    number of checks          (default 1000)
#   INTERVAL  check interval            (default 10s)
#   SETTLE    seconds before sampling   (default 30)
#   SECONDS_  sampling window, seconds  (default 60)
#   VIGIL_BIN server binary             (default target/release/vigil)

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/bench-common.sh
source "$ROOT/scripts/bench-common.sh"
VIGIL="${VIGIL_BIN:-$ROOT/target/release/vigil}"
CHECKS="${CHECKS:-1000}"
INTERVAL="${INTERVAL:-10s}"
SETTLE="${SETTLE:-30}"
SAMPLE="${SECONDS_:-60}"
LOADGEN="${CARGO_TARGET_DIR:-$ROOT/tools/loadgen/target}/release/vigil-load"

[[ -x "$VIGIL" ]] || { echo "error: $VIGIL not found; run cargo leptos build --release --split --precompress" >&2; exit 1; }
cargo build --quiet --release --manifest-path tools/loadgen/Cargo.toml

WORK="$(mktemp -d -t vigil-bench-checks.XXXXXX)"
PIDS=()
cleanup() {
	for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf -- "$WORK"
}
trap cleanup EXIT

start_check_target "$WORK"
PIDS+=("$TARGET_PID")
write_checks "$CHECKS" "$INTERVAL" "$TARGET_PORT" >"$WORK/checks.toml"

start_vigil() {
	# start_vigil NAME [CONFIG]: prints the PID once /healthz answers.
	local name="$1" port
	port="$(free_port)"
	local args=(--bind "127.0.0.1:$port" --data-dir "$WORK/data-$name")
	[[ $# -ge 2 ]] && args+=(--config "$2")
	# Each Vigil runs its own copy of the binary: two processes mapping one
	# file share its pages, and a shared page is not handed back when Vigil
	# releases its start-up pages (src/footprint.rs), which one Vigil on a
	# host would.
	cp "$VIGIL" "$WORK/vigil-$name"
	RUST_LOG=warn "$WORK/vigil-$name" "${args[@]}" >"$WORK/$name.log" 2>&1 &
	local pid=$!
	for _ in $(seq 1 300); do
		curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
		sleep 0.1
	done
	echo "$pid $port"
}

# A first start after a build compresses the site files (brotli at its best
# quality), and the memory that took stays resident: start once so that
# both measured processes find them compressed.
read -r PRIME_PID _ < <(start_vigil prime)
sleep 5
kill -TERM "$PRIME_PID"
sleep 2
wait "$PRIME_PID" 2>/dev/null || true

read -r CHECKS_PID CHECKS_PORT < <(start_vigil checks "$WORK/checks.toml")
PIDS+=("$CHECKS_PID")
read -r BASE_PID _ < <(start_vigil baseline)
PIDS+=("$BASE_PID")

echo "==> $CHECKS checks every $INTERVAL against 127.0.0.1:$TARGET_PORT; settling ${SETTLE}s, then sampling ${SAMPLE}s" >&2
sleep "$SETTLE"
"$LOADGEN" idle --pid "checks=$CHECKS_PID" --pid "no-checks=$BASE_PID" --seconds "$SAMPLE"

summary="$(curl -s "http://127.0.0.1:$CHECKS_PORT/api/v1/checks" | python3 -c '
import json, sys
items = json.load(sys.stdin)
by = {}
for c in items:
    by[c["status"]] = by.get(c["status"], 0) + 1
lat = sorted(c["latency_ms"] for c in items if c.get("latency_ms") is not None)
p50 = lat[len(lat) // 2] if lat else float("nan")
print(f"{len(items)} checks: {by}; round latency p50 {p50:.2f} ms")
')"
echo "==> $summary"
echo "==> store: $(du -sh "$WORK/data-checks" | cut -f1) after $((SETTLE + SAMPLE)) s"
