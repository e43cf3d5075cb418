#!/usr/bin/env bash
# scripts/bench-ceiling.sh: how many live clients one Vigil holds at 1 Hz.
#
# Usage (from anywhere in the repo, after `cargo leptos build --release --split --precompress`):
#
#     scripts/bench-ceiling.sh
#     STEPS="10000 20000" DURATION=20s scripts/bench-ceiling.sh
#
# For each client count in $STEPS: starts Vigil (fresh data dir, the
# collector at its default 1 s, `server.max_connections` raised above the
# count), connects that many `vigil-load ws` clients over loopback, measures
# the sample lag for $DURATION, stops Vigil and waits for the port to drain.
# Prints one row per count: connected, lag p50/p99/max, seq gaps, RSS and
# CPU. The ceiling is the largest count with p99 <= 1 s and no gaps.
#
# The load tool runs on the same machine and shares its cores, and one
# source address reaches at most the ephemeral port range
# (/proc/sys/net/ipv4/ip_local_port_range) of clients: the figure is this
# box's, load tool included.
#
# Environment overrides:
#   STEPS       client counts          (default "10000 15000 20000 25000")
#   DURATION    window per count       (default 30s)
#   BENCH_PORT  Vigil's port           (default 3931)
#   BENCH_OUT   directory for JSON reports and logs (default: a new temporary one)
#   VIGIL_BIN   server binary          (default target/release/vigil)

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/bench-common.sh
source "$ROOT/scripts/bench-common.sh"

VIGIL="${VIGIL_BIN:-$ROOT/target/release/vigil}"
STEPS="${STEPS:-10000 15000 20000 25000}"
DURATION="${DURATION:-30s}"
PORT="${BENCH_PORT:-3931}"
LOADGEN="${CARGO_TARGET_DIR:-$ROOT/tools/loadgen/target}/release/vigil-load"
OUT="${BENCH_OUT:-$(mktemp -d -t vigil-bench-ceiling.XXXXXX)}"
mkdir -p "$OUT"

[[ -x "$VIGIL" ]] || die "$VIGIL not found; run cargo leptos build --release --split --precompress"
command -v jq >/dev/null || die "jq is required (to read the JSON reports)"
cargo build --quiet --release --manifest-path tools/loadgen/Cargo.toml
most=0
for n in $STEPS; do
	[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "STEPS must be positive integers (got '$n')"
	((n > most)) && most=$n
done
raise_fd_limit "$most"

SERVER_PID=""
DATA=""
cleanup() {
	stop_pid "$SERVER_PID" 30
	[[ -z "$DATA" ]] || rm -rf -- "$DATA"
}
trap cleanup EXIT

row_fmt="%-8s %10s %10s %10s %10s %6s %9s %7s\n"
rows=()
for n in $STEPS; do
	log "$n clients for $DURATION"
	DATA="$(mktemp -d -t vigil-bench-data.XXXXXX)"
	printf '[server]\nmax_connections = %d\n' $((n + 1000)) >"$DATA/vigil.toml"
	"$VIGIL" --bind "127.0.0.1:$PORT" --data-dir "$DATA/data" --config "$DATA/vigil.toml" >"$OUT/vigil-$n.log" 2>&1 &
	SERVER_PID=$!
	wait_http "http://127.0.0.1:$PORT/healthz" 120 "$SERVER_PID" || die "Vigil did not start (log: $OUT/vigil-$n.log)"
	"$LOADGEN" ws --url "ws://127.0.0.1:$PORT/ws" --clients "$n" --duration "$DURATION" \
		--server-pid "$SERVER_PID" --json-out "$OUT/ws-$n.json" >"$OUT/ws-$n.txt"
	cat "$OUT/ws-$n.txt" >&2
	require_alive "$SERVER_PID" vigil "$OUT/vigil-$n.log"
	stop_pid "$SERVER_PID" 30
	SERVER_PID=""
	rm -rf -- "$DATA"
	DATA=""
	f="$OUT/ws-$n.json"
	rows+=("$(printf "$row_fmt" "$n" "$(num "$f" .connected)" "$(num "$f" .lag.p50_ms)" "$(num "$f" .lag.p99_ms)" \
		"$(num "$f" .lag.max_ms)" "$(num "$f" .seq_gaps)" "$(num "$f" .server.rss_median_mib)" "$(num "$f" .server.cpu_percent)")")
	wait_drain "$PORT" 60
done

printf "\n$row_fmt" clients connected "p50 ms" "p99 ms" "max ms" gaps "RSS MiB" "CPU %"
printf '%s\n' "${rows[@]}"
echo "(JSON reports and logs in $OUT)"
