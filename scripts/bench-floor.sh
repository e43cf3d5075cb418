#!/usr/bin/env bash
# scripts/bench-floor.sh: Vigil's WebSocket fan-out lag against a floor server.
#
# Usage (from anywhere in the repo, after `cargo build --release`):
#
#     scripts/bench-floor.sh
#     CLIENTS=1000 DURATION=10s PAIRS=1 scripts/bench-floor.sh   # a quick try
#
# The floor is `vigil-load floor`: a minimal tokio server that writes one
# pre-framed `sample` frame per client per tick and does nothing else. Its
# lag is what fanning one frame out to N sockets costs on this machine, so
# Vigil's lag over the floor's is what Vigil itself adds. Both are measured
# by the same `vigil-load ws`, in the same run.
#
# Steps:
#   1. Builds the load tool (tools/loadgen, release).
#   2. $PAIRS pairs of runs, the order alternating as $ORDER says (ABBA:
#      vigil then floor, floor then vigil, ...; ABAB: vigil first each time),
#      so a drift in the machine's load hits both alike. Each run:
#      - starts the server on 127.0.0.1:$BENCH_PORT (Vigil with a fresh
#        temporary data dir; the floor with frames as large as the `sample`
#        frames the latest Vigil run measured), waits for /healthz, settles
#        $SETTLE s and reads its idle RSS;
#      - runs `vigil-load ws` with $CLIENTS clients for $DURATION, sampling
#        the server's RSS and CPU;
#      - stops the server and waits for the port's connections to drain.
#   3. Prints a table per pair (lag p50/p99/max, seq gaps, server RSS median,
#      KiB per client = (RSS with N clients - idle RSS) / N, server CPU), then
#      the vigil/floor ratios of p50 and p99 per pair and their median.
#
# All traffic goes to 127.0.0.1. Every process this script starts is stopped
# on exit (including Ctrl-C). Tables go to stdout, progress and the `ws`
# reports to stderr; JSON reports and server logs are kept in $BENCH_OUT (a
# new temporary directory by default). Needs curl and jq.
#
# Environment overrides:
#   CLIENTS            WebSocket clients per run               (default 10000)
#   DURATION           measurement window per run              (default 60s)
#   PAIRS              vigil/floor pairs                       (default 3)
#   ORDER              ABBA or ABAB                            (default ABBA)
#   BENCH_PORT         port of both servers                    (default 3930)
#   SETTLE             seconds between healthy and idle RSS    (default 3)
#   DRAIN_TIMEOUT      longest wait for the port to drain, s   (default 60)
#   FLOOR_INTERVAL     the floor's tick                        (default 1s, as Vigil's collector)
#   FLOOR_FRAME_BYTES  fixed floor frame size (JSON bytes)     (default: measured from Vigil)
#   FLOOR_ARGS         more `vigil-load floor` flags, e.g. "--threads 1" (default none: one
#                      shard per core; the load tool shares those cores, so on a small
#                      machine fewer writer threads can make a lower floor: try both)
#   BENCH_OUT          directory for JSON reports and logs
#   VIGIL_ARGS         more `vigil` flags, e.g. "--config checks.toml" to measure with checks
#   VIGIL_BIN          server binary                           (default target/release/vigil)

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/bench-common.sh
source "$ROOT/scripts/bench-common.sh"

VIGIL="${VIGIL_BIN:-$ROOT/target/release/vigil}"
HOST=127.0.0.1
PORT="${BENCH_PORT:-3930}"
CLIENTS="${CLIENTS:-10000}"
DURATION="${DURATION:-60s}"
PAIRS="${PAIRS:-3}"
ORDER="${ORDER:-ABBA}"
SETTLE="${SETTLE:-3}"
DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-60}"
FLOOR_INTERVAL="${FLOOR_INTERVAL:-1s}"
LOADGEN_MANIFEST="$ROOT/tools/loadgen/Cargo.toml"
LOADGEN_TARGET="${CARGO_TARGET_DIR:-$ROOT/tools/loadgen/target}"
LOADGEN="$LOADGEN_TARGET/release/vigil-load"

# --- state for cleanup ----------------------------------------------------------
SERVER_PID=""
TMP_DIRS=()

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$SERVER_PID"
	local d
	for d in "${TMP_DIRS[@]+"${TMP_DIRS[@]}"}"; do
		rm -rf -- "$d"
	done
	if [[ -n "${OUT:-}" ]]; then
		printf '\nReports and logs: %s\n' "$OUT" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- checks -----------------------------------------------------------------------
[[ -x "$VIGIL" ]] || die "$VIGIL not found; build the server first: cargo build --release"
command -v curl >/dev/null || die "curl is required"
command -v jq >/dev/null || die "jq is required (to read the JSON reports)"
command -v cargo >/dev/null || die "cargo is required to build tools/loadgen"
[[ "$PAIRS" =~ ^[1-9][0-9]*$ ]] || die "PAIRS must be a positive integer (got '$PAIRS')"
[[ "$CLIENTS" =~ ^[1-9][0-9]*$ ]] || die "CLIENTS must be a positive integer (got '$CLIENTS')"
case "$ORDER" in
ABBA | ABAB) ;;
*) die "ORDER must be ABBA or ABAB (got '$ORDER')" ;;
esac
if [[ -n "${FLOOR_FRAME_BYTES:-}" && ! "$FLOOR_FRAME_BYTES" =~ ^[0-9]+$ ]]; then
	die "FLOOR_FRAME_BYTES must be a number of bytes (got '$FLOOR_FRAME_BYTES')"
fi

OUT="${BENCH_OUT:-$(mktemp -d -t vigil-bench-floor.XXXXXX)}"
mkdir -p "$OUT"

raise_fd_limit "$CLIENTS"

# --- helpers ------------------------------------------------------------------------

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

start_server() {
	# start_server KIND NAME: KIND is vigil or floor; log in $OUT/NAME.log; sets SERVER_PID.
	local kind="$1" name="$2" data
	case "$kind" in
	vigil)
		data="$(mktemp -d -t vigil-bench-data.XXXXXX)"
		TMP_DIRS+=("$data")
		# shellcheck disable=SC2086 # VIGIL_ARGS is a list of flags
		"$VIGIL" --bind "$HOST:$PORT" --data-dir "$data" ${VIGIL_ARGS:-} >"$OUT/$name.log" 2>&1 &
		;;
	floor)
		local size=() extra=()
		[[ -z "$FRAME_BYTES" ]] || size=(--frame-bytes "$FRAME_BYTES")
		read -ra extra <<<"${FLOOR_ARGS:-}"
		"$LOADGEN" floor --bind "$HOST:$PORT" --interval "$FLOOR_INTERVAL" \
			"${size[@]+"${size[@]}"}" "${extra[@]+"${extra[@]}"}" --json-out "$OUT/$name-served.json" \
			>"$OUT/$name.log" 2>&1 &
		;;
	esac
	SERVER_PID=$!
	if ! wait_http "http://$HOST:$PORT/healthz" 120 "$SERVER_PID"; then
		tail -n 30 "$OUT/$name.log" >&2 || true
		die "$kind did not become healthy on $HOST:$PORT (log: $OUT/$name.log)"
	fi
	printf '%s pid %s listening on %s:%s\n' "$kind" "$SERVER_PID" "$HOST" "$PORT" >&2
}

run_side() {
	# run_side KIND PAIR: one measured run; leaves $OUT/pairP-KIND.json and .idle.
	local kind="$1" pair="$2" name="pair$2-$1"
	if [[ "$kind" == floor ]]; then
		log "pair $pair: floor (${FRAME_BYTES:-its default} B frames), $CLIENTS clients for $DURATION"
	else
		log "pair $pair: vigil, $CLIENTS clients for $DURATION"
	fi
	start_server "$kind" "$name"
	sleep "$SETTLE"
	rss_kib "$SERVER_PID" >"$OUT/$name.idle"
	"$LOADGEN" ws \
		--url "ws://$HOST:$PORT/ws" \
		--clients "$CLIENTS" \
		--duration "$DURATION" \
		--server-pid "$SERVER_PID" \
		--json-out "$OUT/$name.json" >"$OUT/$name.txt"
	cat "$OUT/$name.txt" >&2
	require_alive "$SERVER_PID" "$kind" "$OUT/$name.log"
	# Vigil waits up to 15 s for live clients on shutdown; the clients are gone by now.
	stop_pid "$SERVER_PID" 30
	SERVER_PID=""
	if [[ "$kind" == vigil && -z "${FLOOR_FRAME_BYTES:-}" ]]; then
		local measured
		measured="$(jq -r '.sample_bytes_mean // empty | . + 0.5 | floor' "$OUT/$name.json")"
		if [[ -n "$measured" ]]; then
			FRAME_BYTES="$measured"
		else
			warn "no sample frame size in $OUT/$name.json; the floor keeps ${FRAME_BYTES:-its default} B"
		fi
	fi
	wait_drain "$PORT" "$DRAIN_TIMEOUT"
}

# --- 1. build the load tool ---------------------------------------------------------
log "building vigil-load"
cargo build --release --manifest-path "$LOADGEN_MANIFEST"
[[ -x "$LOADGEN" ]] || die "vigil-load not found at $LOADGEN after build"
# Until a Vigil run has measured its frames, the floor uses its default size
# (Vigil's, measured where the tool was written).
FRAME_BYTES="${FLOOR_FRAME_BYTES:-}"

# --- 2. the pairs -------------------------------------------------------------------
for pair in $(seq 1 "$PAIRS"); do
	if [[ "$ORDER" == ABBA ]] && ((pair % 2 == 0)); then
		sides=(floor vigil)
	else
		sides=(vigil floor)
	fi
	printf '%s\n' "${sides[*]}" >"$OUT/pair$pair.order"
	for kind in "${sides[@]}"; do
		run_side "$kind" "$pair"
	done
done

# --- 3. tables ----------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
per_client_kib() {
	# per_client_kib REPORT IDLE_FILE: (RSS median at N clients - idle RSS) / N connected.
	local rss conn idle
	rss="$(num "$1" .server.rss_median_mib)"
	conn="$(num "$1" .connected)"
	idle="$(cat "$2" 2>/dev/null || echo 0)"
	awk -v r="$rss" -v n="$conn" -v i="$idle" 'BEGIN {
		if (r == "n/a" || n + 0 == 0 || i + 0 == 0) print "n/a"; else printf "%.2f", (r * 1024 - i) / n }'
}

row_fmt='  %-12s %8s %8s %8s %6s %9s %9s %10s %7s %6s\n'
p50_ratios=()
p99_ratios=()
log "results ($CLIENTS clients, $DURATION per run)"
for pair in $(seq 1 "$PAIRS"); do
	printf '\npair %s (%s first)\n' "$pair" "$(cut -d' ' -f1 "$OUT/pair$pair.order")"
	# shellcheck disable=SC2059
	printf "$row_fmt" "" "p50 ms" "p99 ms" "max ms" "gaps" "RSS MiB" "idle MiB" "KiB/client" "CPU %" "conn"
	for kind in vigil floor; do
		f="$OUT/pair$pair-$kind.json"
		idle="$(awk '{ printf "%.1f", $1 / 1024 }' "$OUT/pair$pair-$kind.idle")"
		# shellcheck disable=SC2059
		printf "$row_fmt" "$kind" "$(num "$f" .lag.p50_ms)" "$(num "$f" .lag.p99_ms)" "$(num "$f" .lag.max_ms)" \
			"$(num "$f" .seq_gaps)" "$(num "$f" .server.rss_median_mib)" "$idle" \
			"$(per_client_kib "$f" "$OUT/pair$pair-$kind.idle")" "$(num "$f" .server.cpu_percent)" "$(num "$f" .connected)"
	done
	v="$OUT/pair$pair-vigil.json"
	fl="$OUT/pair$pair-floor.json"
	r50="$(ratio "$(num "$v" .lag.p50_ms)" "$(num "$fl" .lag.p50_ms)")"
	r99="$(ratio "$(num "$v" .lag.p99_ms)" "$(num "$fl" .lag.p99_ms)")"
	p50_ratios+=("$r50")
	p99_ratios+=("$r99")
	printf '  vigil/floor  p50 %sx  p99 %sx  (floor: %s)\n' "$r50" "$r99" \
		"$(jq -r '"\(.frame_bytes) B frames, shards \(.shards)"' "$OUT/pair$pair-floor-served.json" 2>/dev/null || echo '?')"
	for kind in vigil floor; do
		f="$OUT/pair$pair-$kind.json"
		gaps="$(num "$f" .seq_gaps)"
		conn="$(num "$f" .connected)"
		if [[ "$gaps" != 0 || "$conn" != "$CLIENTS" ]]; then
			warn "pair $pair $kind: $conn/$CLIENTS connected, $gaps seq gaps (see $OUT/pair$pair-$kind.txt)"
		fi
	done
done

printf '\nvigil/floor lag ratios\n'
printf '  %-8s %8s %8s\n' "pair" "p50" "p99"
for i in "${!p50_ratios[@]}"; do
	printf '  %-8s %8s %8s\n' "$((i + 1))" "${p50_ratios[$i]}" "${p99_ratios[$i]}"
done
printf '  %-8s %8s %8s\n' "median" \
	"$(printf '%s\n' "${p50_ratios[@]}" | median)" "$(printf '%s\n' "${p99_ratios[@]}" | median)"

log "done"
