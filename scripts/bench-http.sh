#!/usr/bin/env bash
# scripts/bench-http.sh: requests per second of the main HTTP doors, for two
# builds side by side (or one alone), alternating, on the same machine in
# the same minutes.
#
# Usage (after `cargo leptos build --release --split --precompress`; copy
# each build's target/release/vigil somewhere first to compare two):
#
#     bash scripts/bench-http.sh                         # target/release/vigil alone
#     VIGIL_A=/path/before VIGIL_B=/path/after bash scripts/bench-http.sh
#
# For each round, for each build in turn (A then B, then B then A the next
# round, so neither always runs first), starts the server fresh on
# 127.0.0.1:$BENCH_PORT (open: loopback, no account, the default
# collectors), waits for /healthz, and runs wrk (-t2, $CONNECTIONS
# keep-alive connections, $DURATION) against each path in $PATHS, in the
# same order. Prints every run's requests/s, then per path the median of
# each build and, with two builds, the median of the per-round ratios B/A.
# Installs wrk (Debian's package) when it is missing. Server and wrk share
# this machine's cores: compare ratios, not absolute figures.
#
# Environment: BENCH_PORT (3902), CONNECTIONS (10), DURATION (10s),
# ROUNDS (3), PATHS (the list below), VIGIL_A (target/release/vigil),
# VIGIL_B (none).

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/bench-common.sh
source "$ROOT/scripts/bench-common.sh"
A="${VIGIL_A:-$ROOT/target/release/vigil}"
B="${VIGIL_B:-}"
PORT="${BENCH_PORT:-3902}"
CONNECTIONS="${CONNECTIONS:-10}"
DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-3}"
PATHS="${PATHS:-/api/v1/health /api/v1/snapshot / /healthz /robots.txt /favicon.svg}"

require_wrk
for bin in "$A" ${B:+"$B"}; do
	[ -x "$bin" ] || { echo "no server binary at $bin: build it first" >&2; exit 1; }
done

DIR="$(mktemp -d)"
PID=""
stop() { [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }; PID=""; }
cleanup() { stop; rm -rf "$DIR"; }
trap cleanup EXIT

start() {
	rm -rf "$DIR/data"
	"$1" --bind "127.0.0.1:$PORT" --data-dir "$DIR/data" >"$DIR/log" 2>&1 &
	PID=$!
	for _ in $(seq 1 300); do
		curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$DIR/log" >&2
	echo "error: $1 did not start" >&2
	exit 1
}

# results lines: "<build> <round> <path> <req/s>"
: >"$DIR/results"
run_build() {
	local label=$1 bin=$2 round=$3 path rps
	start "$bin"
	sleep 2 # the first samples and health rollup
	for path in $PATHS; do
		rps="$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$PORT$path" | awk '/^Requests\/sec/ {print $2}')"
		printf '%s round %s %-18s %10s req/s\n' "$label" "$round" "$path" "$rps"
		echo "$label $round $path $rps" >>"$DIR/results"
	done
	stop
	sleep 1
}

for round in $(seq 1 "$ROUNDS"); do
	if [ -z "$B" ]; then
		run_build A "$A" "$round"
	elif [ $((round % 2)) = 1 ]; then
		run_build A "$A" "$round"
		run_build B "$B" "$round"
	else
		run_build B "$B" "$round"
		run_build A "$A" "$round"
	fi
done

echo
echo "A = $A"
[ -n "$B" ] && echo "B = $B"
python3 - "$DIR/results" "${B:+two}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
two = len(sys.argv) > 2 and sys.argv[2] == "two"
paths = list(dict.fromkeys(r[2] for r in rows))
get = lambda b, p: {int(r[1]): float(r[3]) for r in rows if r[0] == b and r[2] == p}
print(f"{'path':<18} {'A median':>10}" + (f" {'B median':>10} {'B/A (median of rounds)':>24}" if two else ""))
for p in paths:
    a = get("A", p)
    line = f"{p:<18} {statistics.median(a.values()):>10.0f}"
    if two:
        b = get("B", p)
        ratios = [b[r] / a[r] for r in a if r in b]
        line += f" {statistics.median(b.values()):>10.0f} {statistics.median(ratios):>23.2f}x"
    print(line)
EOF
