#!/usr/bin/env bash
# scripts/idle-symbols.sh: writes server/idle-symbols.txt, the functions an
# idle Vigil runs, which the linker lays side by side (server/build.rs).
#
# Usage (after `cargo leptos build --release --split --precompress`):
#
#     scripts/idle-symbols.sh            # then build again
#     scripts/idle-symbols.sh --check    # how much of the list the build still has
#
# Runs target/release/vigil under valgrind's callgrind with 10 checks (5
# HTTP, 5 TCP at 10 s) against a local target and a fresh data dir. START
# seconds after it says it is serving (start-up over, and before it hands
# its start-up pages back 10 s in: what runs just after that stays
# resident too), it zeroes the counters, lets the server idle for IDLE
# seconds, and writes every function of the binary that ran in that
# window, the busiest first, as mangled names (what the linker matches). Run it again after large
# changes: names the list no longer finds are skipped, so a stale list
# only packs less. `scripts/bench-checks.sh` shows what it buys.
#
# Environment overrides:
#   START      seconds from serving to counting (default 5)
#   IDLE       seconds counted         (default 150)
#   VIGIL_BIN  server binary           (default target/release/vigil)

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/bench-common.sh
source "$ROOT/scripts/bench-common.sh"

VIGIL="${VIGIL_BIN:-$ROOT/target/release/vigil}"
START="${START:-5}"
IDLE="${IDLE:-150}"
OUT="$ROOT/server/idle-symbols.txt"

[[ -x "$VIGIL" ]] || die "$VIGIL not found; run cargo leptos build --release --split --precompress"

if [[ "${1:-}" == --check ]]; then
	# Generic functions are named with a hash of their types, so code
	# changes rename them; the linker skips names it does not find.
	listed="$(grep -v '^#' "$OUT" | sort -u)"
	total="$(wc -l <<<"$listed")"
	found="$(comm -12 <(echo "$listed") <(nm --defined-only "$VIGIL" | awk '{print $3}' | sort -u) | wc -l)"
	echo "$found of $total listed functions are in $VIGIL"
	((found * 10 >= total * 9)) || die "the list has aged (under 90 % found): run scripts/idle-symbols.sh, then build again"
	exit 0
fi
if ! command -v valgrind >/dev/null; then
	log "installing valgrind (Debian)"
	sudo_() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }
	sudo_ apt-get install -y -q valgrind >/dev/null
fi

WORK="$(mktemp -d -t vigil-idle-symbols.XXXXXX)"
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
		stop_pid "$pid" 30
	done
	rm -rf -- "$WORK"
}
trap cleanup EXIT

start_check_target "$WORK"
PIDS+=("$TARGET_PID")
write_checks 10 10s "$TARGET_PORT" >"$WORK/checks.toml"
mkdir -p "$WORK/data"

# The binary's own copy: callgrind names the object it counts in by path.
cp "$VIGIL" "$WORK/vigil"
valgrind --tool=callgrind --demangle=no --compress-strings=no --dump-instr=no \
	--callgrind-out-file="$WORK/callgrind.out" \
	"$WORK/vigil" --bind "127.0.0.1:$(free_port)" --data-dir "$WORK/data" --config "$WORK/checks.toml" \
	>"$WORK/vigil.log" 2>&1 &
VG=$!
PIDS+=("$VG")

log "start-up under callgrind"
for _ in $(seq 1 600); do
	grep -q "is serving on" "$WORK/vigil.log" && break
	require_alive "$VG" "valgrind" "$WORK/vigil.log"
	sleep 0.5
done
grep -q "is serving on" "$WORK/vigil.log" || die "Vigil did not start under valgrind (log: $WORK/vigil.log)"
sleep "$START"
callgrind_control -z "$VG" >/dev/null
log "counting ${IDLE}s of idle"
sleep "$IDLE"
callgrind_control -d "$VG" >/dev/null
sleep 2
DUMP="$(ls "$WORK"/callgrind.out.* 2>/dev/null | head -n 1)"
[[ -s "$DUMP" ]] || die "callgrind wrote no dump (log: $WORK/vigil.log)"

python3 - "$DUMP" "$WORK/vigil" "$OUT" <<'EOF'
import re, subprocess, sys
from collections import Counter

dump, binary, out = sys.argv[1:]
cost, obj_of = Counter(), {}
obj = fn = None
for line in open(dump, errors="replace"):
    if line.startswith("ob="):
        obj = line[3:].strip()
    elif line.startswith("fn="):
        fn = re.sub(r"'\d+$", "", line[3:].strip())
        obj_of[fn] = obj
    elif line[:1].isdigit() and fn:
        parts = line.split()
        if len(parts) >= 2:
            cost[fn] += int(parts[1])
defined = set()
for line in subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in "tTwW":
        defined.add(parts[2])
names = [f for f, c in cost.most_common() if c > 0 and obj_of.get(f) == binary and f in defined]
if len(names) < 100:
    sys.exit(f"only {len(names)} functions counted: is the server idle at all?")
with open(out, "w") as f:
    f.write("# The functions an idle Vigil runs, busiest first: the linker lays them\n")
    f.write("# side by side (server/build.rs). Written by scripts/idle-symbols.sh.\n")
    f.write("\n".join(names) + "\n")
print(f"{len(names)} functions -> {out}")
EOF
