#!/usr/bin/env bash
# scripts/bench.sh: Vigil load, footprint and download-size benchmark.
#
# Usage (from anywhere in the repo, after `cargo build --release`):
#
#     scripts/bench.sh
#
# Steps:
#   1. Builds the load tool (tools/loadgen, release).
#   2. Starts target/release/vigil on 127.0.0.1:$BENCH_PORT with a temporary
#      data dir, waits for /healthz, then runs `vigil-load ws` with
#      $BENCH_CLIENTS clients (default 100, 1000, 10000), one after another,
#      $BENCH_DURATION each, sampling the server's RSS and CPU.
#   3. Idle comparison: restarts Vigil fresh with no clients, starts Glances in
#      web-server mode (installing `glances[web]` with pip if it is missing),
#      and samples both processes side by side for $IDLE_SECONDS with
#      `vigil-load idle`.
#      Note: `glances -w` only refreshes its stats when the API is queried, so
#      an idle Glances does no collection while Vigil keeps its 1 s collector.
#   4. Download size: fetches `/`, finds the JS and WASM files under /pkg/ and
#      reports their size raw, with `Accept-Encoding: br, gzip` and with
#      `Accept-Encoding: gzip` (bytes on the wire, as a browser downloads them).
#
# All traffic goes to 127.0.0.1. Every process this script starts is stopped
# on exit (including Ctrl-C). Text reports go to stdout; JSON reports and
# server logs are kept in $BENCH_OUT (a new temporary directory by default).
#
# Environment overrides:
#   BENCH_PORT       Vigil port                        (default 3900)
#   BENCH_CLIENTS    client counts for the ws runs      (default "100 1000 10000")
#   BENCH_DURATION   measurement window per ws run      (default 30s)
#   IDLE_SECONDS     idle sampling window               (default 60)
#   IDLE_SETTLE      wait before idle sampling, seconds (default 5)
#   GLANCES_PORT     Glances web port                   (default 61208)
#   PYTHON           Python used to install/run Glances (default python3)
#   SKIP_WS=1, SKIP_IDLE=1, SKIP_GLANCES=1, SKIP_SIZES=1 skip a step.
#   BENCH_OUT        directory for JSON reports and logs
#   VIGIL_BIN        server binary                      (default target/release/vigil)

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/bench-common.sh
source "$ROOT/scripts/bench-common.sh"

VIGIL="${VIGIL_BIN:-$ROOT/target/release/vigil}"
HOST=127.0.0.1
PORT="${BENCH_PORT:-3900}"
CLIENTS="${BENCH_CLIENTS:-100 1000 10000}"
DURATION="${BENCH_DURATION:-30s}"
IDLE_SECONDS="${IDLE_SECONDS:-60}"
IDLE_SETTLE="${IDLE_SETTLE:-5}"
GLANCES_PORT="${GLANCES_PORT:-61208}"
PYTHON="${PYTHON:-python3}"
LOADGEN_MANIFEST="$ROOT/tools/loadgen/Cargo.toml"
LOADGEN_TARGET="${CARGO_TARGET_DIR:-$ROOT/tools/loadgen/target}"
LOADGEN="$LOADGEN_TARGET/release/vigil-load"

# --- state for cleanup ----------------------------------------------------------
VIGIL_PID=""
GLANCES_PID=""
TMP_DIRS=()

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$GLANCES_PID"
	stop_pid "$VIGIL_PID"
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
command -v cargo >/dev/null || die "cargo is required to build tools/loadgen"

OUT="${BENCH_OUT:-$(mktemp -d -t vigil-bench.XXXXXX)}"
mkdir -p "$OUT"

max_clients=0
for n in $CLIENTS; do
	if ((n > max_clients)); then max_clients=$n; fi
done
raise_fd_limit "$max_clients"

# --- helpers ------------------------------------------------------------------------

start_vigil() {
	# start_vigil NAME: fresh data dir, log in $OUT/vigil-NAME.log, sets VIGIL_PID.
	local name="$1" data
	data="$(mktemp -d -t vigil-bench-data.XXXXXX)"
	TMP_DIRS+=("$data")
	"$VIGIL" --bind "$HOST:$PORT" --data-dir "$data" >"$OUT/vigil-$name.log" 2>&1 &
	VIGIL_PID=$!
	# The site is embedded and precompressed at build time: no work before listening.
	if ! wait_http "http://$HOST:$PORT/healthz" 120 "$VIGIL_PID"; then
		tail -n 30 "$OUT/vigil-$name.log" >&2 || true
		die "vigil did not become healthy on $HOST:$PORT (log: $OUT/vigil-$name.log)"
	fi
	printf 'vigil pid %s listening on %s:%s (data %s)\n' "$VIGIL_PID" "$HOST" "$PORT" "$data"
}

stop_vigil() {
	stop_pid "$VIGIL_PID"
	VIGIL_PID=""
}

# --- 1. build the load tool ---------------------------------------------------------
log "building vigil-load"
cargo build --release --manifest-path "$LOADGEN_MANIFEST"
[[ -x "$LOADGEN" ]] || die "vigil-load not found at $LOADGEN after build"

# --- 2. WebSocket load --------------------------------------------------------------
if [[ "${SKIP_WS:-0}" != 1 ]]; then
	log "starting vigil for the WebSocket runs"
	start_vigil ws
	first=1
	for n in $CLIENTS; do
		((first)) || sleep 5 # let the previous run's sockets drain
		first=0
		log "ws: $n clients for $DURATION"
		"$LOADGEN" ws \
			--url "ws://$HOST:$PORT/ws" \
			--clients "$n" \
			--duration "$DURATION" \
			--server-pid "$VIGIL_PID" \
			--json-out "$OUT/ws-$n.json"
		require_alive "$VIGIL_PID" vigil "$OUT/vigil-ws.log"
	done
	stop_vigil
fi

# --- 3. idle comparison ---------------------------------------------------------------
start_glances() {
	local py
	py="$(command -v "$PYTHON" || true)"
	if [[ -z "$py" ]]; then
		warn "$PYTHON not found; skipping Glances"
		return 1
	fi
	# Resolve the real interpreter (not a version-manager shim) so $! is the Glances process.
	py="$("$py" -c 'import sys; print(sys.executable)')"
	if ! "$py" -c 'import glances, fastapi, uvicorn' 2>/dev/null; then
		log "installing glances[web] with pip"
		if ! "$py" -m pip install --quiet 'glances[web]'; then
			warn "pip install 'glances[web]' failed; skipping Glances"
			return 1
		fi
	fi
	# Web server mode bound to loopback. Update check, autodiscovery (multicast)
	# and the plugins that contact other hosts (public IP lookup, cloud metadata,
	# port/gateway checks) are disabled so nothing leaves 127.0.0.1.
	"$py" -m glances -w -t 1 \
		-B "$HOST" -p "$GLANCES_PORT" \
		--disable-check-update --disable-autodiscover \
		--disable-plugin ip,cloud,ports \
		>"$OUT/glances.log" 2>&1 &
	GLANCES_PID=$!
	local url
	for _ in $(seq 1 600); do
		for url in "http://$HOST:$GLANCES_PORT/api/4/status" "http://$HOST:$GLANCES_PORT/api/3/status"; do
			if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
				printf 'glances pid %s answering on %s\n' "$GLANCES_PID" "$url"
				return 0
			fi
		done
		kill -0 "$GLANCES_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 30 "$OUT/glances.log" >&2 || true
	warn "glances did not answer on $HOST:$GLANCES_PORT; skipping it"
	stop_pid "$GLANCES_PID"
	GLANCES_PID=""
	return 1
}

if [[ "${SKIP_IDLE:-0}" != 1 || "${SKIP_SIZES:-0}" != 1 ]]; then
	log "starting a fresh vigil (no clients)"
	start_vigil idle
fi

if [[ "${SKIP_IDLE:-0}" != 1 ]]; then
	idle_args=(--pid "vigil=$VIGIL_PID")
	if [[ "${SKIP_GLANCES:-0}" != 1 ]] && start_glances; then
		idle_args+=(--pid "glances=$GLANCES_PID")
	fi
	log "idle: settling ${IDLE_SETTLE}s, then sampling for ${IDLE_SECONDS}s"
	sleep "$IDLE_SETTLE"
	"$LOADGEN" idle "${idle_args[@]}" --seconds "$IDLE_SECONDS" --interval 1s \
		--json-out "$OUT/idle.json"
	require_alive "$VIGIL_PID" vigil "$OUT/vigil-idle.log"
	stop_pid "$GLANCES_PID"
	GLANCES_PID=""
fi

# --- 4. download size of the web UI -----------------------------------------------------
# size_of PATH ENCODING: prints "<bytes> <content-encoding|identity> <http code>".
size_of() {
	local path="$1" enc="$2" hdr line code bytes ce
	hdr="$(mktemp)"
	line="$(curl -s --max-time 30 -H "Accept-Encoding: $enc" -D "$hdr" -o /dev/null \
		-w '%{http_code} %{size_download}' "http://$HOST:$PORT$path" || true)"
	[[ -n "$line" ]] || line="000 0"
	code="${line%% *}"
	bytes="${line##* }"
	ce="$(tr -d '\r' <"$hdr" | awk -F': *' 'tolower($1)=="content-encoding"{print $2}' | tail -n 1)"
	rm -f -- "$hdr"
	printf '%s %s %s\n' "$bytes" "${ce:-identity}" "$code"
}

human() { awk -v b="$1" 'BEGIN{ if (b >= 1048576) printf "%.2f MiB", b/1048576; else printf "%.1f KiB", b/1024 }'; }

if [[ "${SKIP_SIZES:-0}" != 1 ]]; then
	log "download size of the web UI (JS + WASM under /pkg/)"
	html="$(curl -fsS --max-time 10 "http://$HOST:$PORT/")" || die "GET / failed"
	# Absolute or relative references to .../pkg/<file>.js|.wasm in src/href/import().
	mapfile -t assets < <(
		{
			printf '%s\n' "$html" | grep -oE "(/[A-Za-z0-9._~-]+)*/pkg/[^\"'\` <>)]+\.(js|wasm)" || true
			printf '%s\n' "$html" | grep -oE "[\"'\`(]\.?/?pkg/[^\"'\` <>)]+\.(js|wasm)" |
				sed -E "s#^[\"'\`(]\.?/?#/#" || true
		} | sed -E 's|[?#].*$||' | sort -u
	)
	# When the page names no .wasm, the JS loads it itself (wasm-bindgen:
	# new URL('x_bg.wasm', import.meta.url)): take the names from the JS.
	have_wasm=0
	for a in "${assets[@]+"${assets[@]}"}"; do
		if [[ "$a" == *.wasm ]]; then have_wasm=1; fi
	done
	if ((!have_wasm)); then
		for js in "${assets[@]+"${assets[@]}"}"; do
			dir="${js%/*}"
			while IFS= read -r w; do
				[[ -n "$w" ]] && assets+=("$dir/$w")
			done < <(curl -fsS --max-time 10 "http://$HOST:$PORT$js" 2>/dev/null |
				grep -oE "[A-Za-z0-9._-]+\.wasm" | sort -u || true)
		done
	fi
	mapfile -t assets < <(printf '%s\n' "${assets[@]+"${assets[@]}"}" | awk 'NF' | sort -u)
	if ((${#assets[@]} == 0)); then
		warn "no /pkg/*.js or /pkg/*.wasm referenced from / ; trying the default names"
		assets=(/pkg/vigil.js /pkg/vigil.wasm /pkg/vigil_bg.wasm)
	fi

	total_raw=0 total_br=0 total_gz=0
	printf '%-40s %12s %22s %22s\n' "asset" "raw" "br,gzip (encoding)" "gzip (encoding)" | tee "$OUT/sizes.txt"
	for a in "${assets[@]}"; do
		read -r raw _ raw_code < <(size_of "$a" identity)
		read -r br br_enc _ < <(size_of "$a" "br, gzip")
		read -r gz gz_enc _ < <(size_of "$a" gzip)
		if [[ "$raw_code" != 200 ]]; then
			warn "$a answered HTTP $raw_code; skipped (is the front end built? cargo leptos build --release --split --precompress)"
			continue
		fi
		total_raw=$((total_raw + raw))
		total_br=$((total_br + br))
		total_gz=$((total_gz + gz))
		printf '%-40s %12s %22s %22s\n' "$a" "$raw" "$br ($br_enc)" "$gz ($gz_enc)" | tee -a "$OUT/sizes.txt"
	done
	printf '%-40s %12s %22s %22s\n' "total" "$total_raw" "$total_br" "$total_gz" | tee -a "$OUT/sizes.txt"
	printf 'total: raw %s, br/gzip %s, gzip %s\n' \
		"$(human "$total_raw")" "$(human "$total_br")" "$(human "$total_gz")" | tee -a "$OUT/sizes.txt"
fi

log "done"
