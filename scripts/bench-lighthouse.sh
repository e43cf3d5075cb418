#!/usr/bin/env bash
# scripts/bench-lighthouse.sh: Lighthouse's mobile performance score of
# Vigil's pages (simulated slow 4G and a 4x slower CPU, Lighthouse's
# default), RUNS times each, against one open Vigil watching 10 checks.
#
# Usage (from anywhere in the repo, after `cargo leptos build --release --split --precompress`):
#
#     scripts/bench-lighthouse.sh                     # /, /explore, /checks
#     PAGES="/explore" RUNS=5 scripts/bench-lighthouse.sh
#
# Starts a local HTTP target (Python's http.server) and Vigil with 5 HTTP
# and 5 TCP checks against it and a fresh data dir, waits WARM seconds so
# the explorer and the checks page have history to show, then runs
# Lighthouse (npm's `lighthouse@12`, Debian's Chromium) on each page in
# turn. Prints each run's score, TBT, LCP and FCP, then the medians per
# page. Reports (JSON) stay in $OUT.
#
# Environment overrides:
#   PAGES      space-separated paths  (default "/ /explore /checks")
#   RUNS       runs per page          (default 3)
#   WARM       seconds before the first run (default 20)
#   VIGIL_BIN  server binary          (default target/release/vigil)
#   BENCH_PORT Vigil's port           (default 3940)
#   CHROME     Chromium               (default /usr/bin/chromium)

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/bench-common.sh
source "$ROOT/scripts/bench-common.sh"

VIGIL="${VIGIL_BIN:-$ROOT/target/release/vigil}"
PAGES="${PAGES:-/ /explore /checks}"
RUNS="${RUNS:-3}"
WARM="${WARM:-20}"
PORT="${BENCH_PORT:-3940}"
CHROME="${CHROME:-/usr/bin/chromium}"

[[ -x "$VIGIL" ]] || die "$VIGIL not found; run cargo leptos build --release --split --precompress"
[[ -x "$CHROME" ]] || die "$CHROME not found (Debian's chromium)"
command -v jq >/dev/null || die "jq is required (to read the reports)"
command -v npx >/dev/null || die "npx is required (Lighthouse comes from npm)"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got '$RUNS')"

WORK="$(mktemp -d -t vigil-bench-lh.XXXXXX)"
OUT="${OUT:-$WORK/reports}"
mkdir -p "$OUT"
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
		stop_pid "$pid"
	done
	printf '\nReports: %s\n' "$OUT" >&2
}
trap cleanup EXIT

start_check_target "$WORK"
PIDS+=("$TARGET_PID")
write_checks 10 10s "$TARGET_PORT" >"$WORK/checks.toml"

mkdir -p "$WORK/data"
"$VIGIL" --bind "127.0.0.1:$PORT" --data-dir "$WORK/data" --config "$WORK/checks.toml" >"$WORK/vigil.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/healthz" 60 "${PIDS[-1]}" || die "Vigil did not start (log: $WORK/vigil.log)"
log "Vigil on :$PORT with 10 checks; warming for ${WARM}s"
sleep "$WARM"

printf '%-10s %4s %6s %8s %8s %8s\n' page run score TBT_ms LCP_ms FCP_ms
for page in $PAGES; do
	slug="$(echo "$page" | tr -c 'a-zA-Z0-9\n' '_')"
	for run in $(seq 1 "$RUNS"); do
		report="$OUT/$slug-$run.json"
		CHROME_PATH="$CHROME" npx --yes lighthouse@12 "http://127.0.0.1:$PORT$page" \
			--only-categories=performance --output=json --output-path="$report" --quiet \
			--chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run --disable-quic" \
			>/dev/null 2>"$OUT/$slug-$run.log" || die "Lighthouse failed on $page (log: $OUT/$slug-$run.log)"
		jq -r --arg page "$page" --arg run "$run" '[$page, $run,
			(.categories.performance.score * 100 | round),
			(.audits["total-blocking-time"].numericValue | round),
			(.audits["largest-contentful-paint"].numericValue | round),
			(.audits["first-contentful-paint"].numericValue | round)] | @tsv' "$report" |
			awk -F'\t' '{ printf "%-10s %4s %6s %8s %8s %8s\n", $1, $2, $3, $4, $5, $6 }' | tee -a "$OUT/runs.txt"
	done
done

printf '\nmedians over %s runs\n%-10s %6s %8s %8s\n' "$RUNS" page score TBT_ms LCP_ms
for page in $PAGES; do
	printf '%-10s %6s %8s %8s\n' "$page" \
		"$(awk -v p="$page" '$1 == p { print $3 }' "$OUT/runs.txt" | median 0)" \
		"$(awk -v p="$page" '$1 == p { print $4 }' "$OUT/runs.txt" | median 0)" \
		"$(awk -v p="$page" '$1 == p { print $5 }' "$OUT/runs.txt" | median 0)"
done
