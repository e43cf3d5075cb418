#!/usr/bin/env bash
# scripts/bench-restart.sh: how live clients come back after Vigil restarts.
#
# Usage (from anywhere in the repo, after `cargo build --release`):
#
#     scripts/bench-restart.sh
#     CLIENTS=200 RESTARTS=2 scripts/bench-restart.sh   # a quick try
#
# Steps:
#   1. Builds the load tool (tools/loadgen, release).
#   2. Starts target/release/vigil on 127.0.0.1:$BENCH_PORT with a data dir
#      kept across its restarts (a new temporary one unless $DATA_DIR is set),
#      and waits for /healthz.
#   3. $RESTARTS times:
#      - starts `vigil-load herd` with $CLIENTS clients in the background and
#        waits until they are connected (its --ready-file);
#      - stops Vigil with SIGTERM (it closes every socket with 1001, going
#        away) and waits for it to exit, sleeps $DOWN seconds, and starts it
#        again on the same port and data dir;
#      - waits for the herd, which exits once every client is back (or
#        $MAX_WAIT after the server went away). Its clients follow the
#        browser's reconnect schedule (a copy of app/src/live/machine.rs's:
#        0.5-2 s retries for 30 s after a 1001, then capped exponential
#        backoff) and resume with ?since=LAST_SEQ, so this measures the
#        schedule itself, whatever the page in the Vigil binary does.
#   4. Prints a table per restart (how long Vigil took to stop, downtime from
#      the first close to listening again, clients back, the time from
#      "back" to each client's first frame at p50/p90/p99/max, refused
#      connects per second during the downtime, the busiest 100 ms of the
#      herd), then the median and worst p50 and p99 over the restarts.
#
# All traffic goes to 127.0.0.1. Every process this script starts is stopped
# on exit (including Ctrl-C). Tables go to stdout, progress to stderr; the
# herd reports (text and JSON) and Vigil's log are kept in $BENCH_OUT (a new
# temporary directory by default). Needs curl and jq.
#
# Environment overrides:
#   CLIENTS        herd clients                              (default 10000)
#   RESTARTS       restarts, one herd each                   (default 20)
#   DOWN           seconds between Vigil's exit and its start (default 3)
#   MAX_WAIT       how long the herd waits for its clients   (default 60s)
#   DRAIN          seconds between a herd's end and the next (default 5)
#   STOP_TIMEOUT   seconds to wait for Vigil to exit before SIGKILL (default 30)
#   BENCH_PORT     Vigil port                                (default 3940)
#   DATA_DIR       Vigil data dir, kept                      (default: a temporary one, removed)
#   BENCH_OUT      directory for reports and logs
#   VIGIL_BIN      server binary                             (default target/release/vigil)

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/bench-common.sh
source "$ROOT/scripts/bench-common.sh"

VIGIL="${VIGIL_BIN:-$ROOT/target/release/vigil}"
HOST=127.0.0.1
PORT="${BENCH_PORT:-3940}"
CLIENTS="${CLIENTS:-10000}"
RESTARTS="${RESTARTS:-20}"
DOWN="${DOWN:-3}"
MAX_WAIT="${MAX_WAIT:-60s}"
DRAIN="${DRAIN:-5}"
STOP_TIMEOUT="${STOP_TIMEOUT:-30}"
LOADGEN_MANIFEST="$ROOT/tools/loadgen/Cargo.toml"
LOADGEN_TARGET="${CARGO_TARGET_DIR:-$ROOT/tools/loadgen/target}"
LOADGEN="$LOADGEN_TARGET/release/vigil-load"

# --- state for cleanup ----------------------------------------------------------
VIGIL_PID=""
HERD_PID=""
TMP_DIRS=()

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$HERD_PID"
	stop_pid "$VIGIL_PID" "$STOP_TIMEOUT"
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
[[ "$RESTARTS" =~ ^[1-9][0-9]*$ ]] || die "RESTARTS must be a positive integer (got '$RESTARTS')"
[[ "$CLIENTS" =~ ^[1-9][0-9]*$ ]] || die "CLIENTS must be a positive integer (got '$CLIENTS')"
[[ "$DOWN" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "DOWN must be a number of seconds (got '$DOWN')"

OUT="${BENCH_OUT:-$(mktemp -d -t vigil-bench-restart.XXXXXX)}"
mkdir -p "$OUT"
if [[ -n "${DATA_DIR:-}" ]]; then
	mkdir -p "$DATA_DIR"
	DATA="$DATA_DIR"
else
	DATA="$(mktemp -d -t vigil-bench-data.XXXXXX)"
	TMP_DIRS+=("$DATA")
fi

raise_fd_limit "$CLIENTS"

# --- helpers ------------------------------------------------------------------------

start_vigil() {
	# start_vigil: the same port and data dir every time; log appended to
	# $OUT/vigil.log; sets VIGIL_PID.
	"$VIGIL" --bind "$HOST:$PORT" --data-dir "$DATA" >>"$OUT/vigil.log" 2>&1 &
	VIGIL_PID=$!
	if ! wait_http "http://$HOST:$PORT/healthz" 120 "$VIGIL_PID"; then
		tail -n 30 "$OUT/vigil.log" >&2 || true
		die "vigil did not become healthy on $HOST:$PORT (log: $OUT/vigil.log)"
	fi
	printf 'vigil pid %s listening on %s:%s (data %s)\n' "$VIGIL_PID" "$HOST" "$PORT" "$DATA" >&2
}

wait_ready() {
	# wait_ready FILE: until the herd has written FILE (its clients are
	# connected); fails if the herd exits first or takes too long.
	local file="$1" secs=$((CLIENTS / 50 + 120))
	for _ in $(seq 1 $((secs * 10))); do
		[[ -f "$file" ]] && return 0
		kill -0 "$HERD_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# --- 1. build the load tool ---------------------------------------------------------
log "building vigil-load"
cargo build --release --manifest-path "$LOADGEN_MANIFEST"
[[ -x "$LOADGEN" ]] || die "vigil-load not found at $LOADGEN after build"

# --- 2. vigil -----------------------------------------------------------------------
log "starting vigil"
start_vigil

# --- 3. the restarts ----------------------------------------------------------------
for i in $(seq 1 "$RESTARTS"); do
	ready="$OUT/herd-$i.ready"
	log "restart $i/$RESTARTS: connecting $CLIENTS clients"
	rm -f -- "$ready"
	"$LOADGEN" herd \
		--url "ws://$HOST:$PORT/ws" \
		--clients "$CLIENTS" \
		--max-wait "$MAX_WAIT" \
		--ready-file "$ready" \
		--json-out "$OUT/herd-$i.json" \
		>"$OUT/herd-$i.txt" 2>"$OUT/herd-$i.log" &
	HERD_PID=$!
	if ! wait_ready "$ready"; then
		tail -n 20 "$OUT/herd-$i.log" >&2 || true
		die "the herd did not get its clients connected (log: $OUT/herd-$i.log)"
	fi
	printf 'herd pid %s: %s\n' "$HERD_PID" "$(cat "$ready")" >&2

	t_stop="$(now)"
	stop_pid "$VIGIL_PID" "$STOP_TIMEOUT"
	VIGIL_PID=""
	stop_secs="$(elapsed "$t_stop" "$(now)")"
	printf '%s\n' "$stop_secs" >"$OUT/herd-$i.stop"
	printf 'vigil stopped in %ss; down for %ss\n' "$stop_secs" "$DOWN" >&2
	sleep "$DOWN"
	start_vigil

	rc=0
	wait "$HERD_PID" || rc=$?
	HERD_PID=""
	cat "$OUT/herd-$i.txt" >&2
	((rc == 0)) || die "the herd exited with status $rc (log: $OUT/herd-$i.log)"
	sleep "$DRAIN"
done
stop_pid "$VIGIL_PID" "$STOP_TIMEOUT"
VIGIL_PID=""

# --- 4. tables ----------------------------------------------------------------------
worst() { sort -g | awk '$1 != "n/a" { w = $1; n++ } END { if (n == 0) print "n/a"; else printf "%.0f", w }'; }

row_fmt='  %-4s %7s %9s %11s %6s %7s %7s %7s %7s %10s %13s\n'
log "results ($CLIENTS clients, down ${DOWN}s)"
printf '\nreconnect after a restart (ms from the server listening again to the first frame)\n'
# shellcheck disable=SC2059
printf "$row_fmt" "#" "stop s" "downtime" "back" "never" "p50" "p90" "p99" "max" "refused/s" "peak/100ms"
p50s=()
p99s=()
for i in $(seq 1 "$RESTARTS"); do
	f="$OUT/herd-$i.json"
	p50="$(num "$f" .reconnect.p50_ms)"
	p99="$(num "$f" .reconnect.p99_ms)"
	p50s+=("$p50")
	p99s+=("$p99")
	# shellcheck disable=SC2059
	printf "$row_fmt" "$i" "$(cat "$OUT/herd-$i.stop")" "$(num "$f" .downtime_secs)" \
		"$(num "$f" .reconnected)/$(num "$f" .connected)" "$(num "$f" .never_reconnected)" \
		"$p50" "$(num "$f" .reconnect.p90_ms)" "$p99" "$(num "$f" .reconnect.max_ms)" \
		"$(num "$f" .refused_per_sec_during_downtime)" "$(num "$f" '.connects_per_bin | max')"
	refusal="$(jq -r '.back_after_refusal' "$f" 2>/dev/null || echo n/a)"
	if [[ "$(num "$f" .never_reconnected)" != 0 || "$refusal" != true ]]; then
		warn "restart $i: $(num "$f" .never_reconnected) clients never came back; back seen after a refusal: $refusal (see $OUT/herd-$i.txt)"
	fi
done

printf '\nover %s restarts    p50 ms   p99 ms\n' "$RESTARTS"
printf '  median          %8s %8s\n' "$(printf '%s\n' "${p50s[@]}" | median 0)" "$(printf '%s\n' "${p99s[@]}" | median 0)"
printf '  worst           %8s %8s\n' "$(printf '%s\n' "${p50s[@]}" | worst)" "$(printf '%s\n' "${p99s[@]}" | worst)"

log "done"
