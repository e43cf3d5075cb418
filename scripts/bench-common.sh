# scripts/bench-common.sh: helpers the benchmarks share (bench.sh,
# bench-floor.sh, bench-restart.sh, bench-ceiling.sh, bench-http.sh,
# bench-status.sh, bench-checks.sh, bench-lighthouse.sh, idle-symbols.sh).
# Sourced, not run.

log() { printf '\n==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

stop_pid() {
	# stop_pid PID [SECONDS]: TERM, wait up to SECONDS (default 10), then KILL.
	# Only used on PIDs we started.
	local pid="$1" secs="${2:-10}"
	[[ -n "$pid" ]] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		warn "pid $pid did not exit after SIGTERM; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

wait_http() {
	# wait_http URL SECONDS PID: until URL answers 2xx (503 is accepted with a
	# warning: /healthz says 503 when the host itself looks down), PID exits, or
	# time runs out.
	local url="$1" secs="$2" pid="$3" code
	for _ in $(seq 1 $((secs * 10))); do
		code="$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$url" 2>/dev/null || true)"
		case "$code" in
		2??) return 0 ;;
		503)
			warn "$url answered 503 (up, but reporting the host as down); continuing"
			return 0
			;;
		esac
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

require_alive() {
	# require_alive PID WHAT LOG
	if ! kill -0 "$1" 2>/dev/null; then
		tail -n 30 "$3" >&2 || true
		die "$2 (pid $1) exited unexpectedly (log: $3)"
	fi
}

raise_fd_limit() {
	# raise_fd_limit CLIENTS: many sockets on both sides, so give this shell
	# (and the servers it starts) the highest fd limit allowed, and warn when
	# CLIENTS will not fit.
	local clients="$1" hard soft
	# Root may raise the hard limit itself (up to fs.nr_open).
	((EUID != 0)) || ulimit -Hn 1048576 2>/dev/null || true
	hard="$(ulimit -Hn)"
	if [[ "$hard" == unlimited ]]; then
		ulimit -Sn 1048576 2>/dev/null || true
	else
		ulimit -Sn "$hard" 2>/dev/null || true
	fi
	soft="$(ulimit -Sn)"
	if [[ "$soft" != unlimited ]] && ((soft < clients + 100)); then
		warn "fd limit is $soft but up to $clients clients are planned; raise it (ulimit -Hn) or expect failures"
	fi
}

wait_drain() {
	# wait_drain PORT [SECONDS]: until no connection on PORT is left but
	# TIME-WAIT ones (which hold no process resources), at most SECONDS
	# (default 60); then a short pause.
	local port="$1" secs="${2:-60}" open=0
	if ! command -v ss >/dev/null; then
		sleep 5
		return 0
	fi
	for _ in $(seq 1 $((secs * 2))); do
		open="$(ss -Htan "( sport = :$port or dport = :$port )" 2>/dev/null |
			awk '$1 != "TIME-WAIT" && $1 != "LISTEN"' | wc -l)"
		((open == 0)) && break
		sleep 0.5
	done
	((open == 0)) || warn "$open connections on port $port still open after ${secs}s"
	sleep 2
}

# num FILE FILTER: a number from a JSON report (to two decimals), or n/a.
num() { jq -r "($2) // \"n/a\" | if type == \"number\" then (. * 100 | round / 100) else . end" "$1" 2>/dev/null || echo n/a; }

require_wrk() {
	# require_wrk: installs Debian's wrk when it is missing.
	command -v wrk >/dev/null || apt-get install -y wrk >/dev/null || die "wrk is missing and could not be installed"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_check_target() {
	# start_check_target DIR: serves a one-line page from DIR/www over HTTP on
	# a free local port (Python's http.server, in its own process so its work
	# is not counted); sets TARGET_PORT and TARGET_PID.
	mkdir -p "$1/www"
	echo ok >"$1/www/index.html"
	TARGET_PORT="$(free_port)"
	python3 -m http.server "$TARGET_PORT" --bind 127.0.0.1 --directory "$1/www" >/dev/null 2>&1 &
	TARGET_PID=$!
}

write_checks() {
	# write_checks N INTERVAL PORT: a Vigil config with N checks of
	# 127.0.0.1:PORT every INTERVAL, HTTP and TCP in turn (http-1, tcp-2,
	# http-3, ...), on stdout.
	local i
	for i in $(seq 1 "$1"); do
		if ((i % 2)); then
			printf '[[checks]]\nname = "http-%d"\ntype = "http"\nurl = "http://127.0.0.1:%d/"\ninterval = "%s"\ntimeout = "3s"\n\n' "$i" "$3" "$2"
		else
			printf '[[checks]]\nname = "tcp-%d"\ntype = "tcp"\naddress = "127.0.0.1:%d"\ninterval = "%s"\ntimeout = "3s"\n\n' "$i" "$3" "$2"
		fi
	done
}

median() {
	# median [DECIMALS]: the median of the numbers on stdin, one per line
	# ("n/a" lines skipped), printed with DECIMALS places (default 2); n/a
	# when there are none.
	sort -g | awk -v d="${1:-2}" '$1 != "n/a" { v[++n] = $1 } END {
		if (n == 0) print "n/a"; else if (n % 2) printf "%.*f", d, v[(n + 1) / 2]; else printf "%.*f", d, (v[n / 2] + v[n / 2 + 1]) / 2 }'
}
