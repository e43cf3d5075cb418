#!/usr/bin/env bash
# Proves a Vigil binary needs nothing from the file system it runs on:
#
#   bash scripts/chroot-check.sh BINARY [PORT]
#
# Copies only BINARY into an empty directory (with an empty /data and /tmp,
# and /proc and /sys mounted for the collectors), runs it there with
# `chroot DIR /vigil --bind 127.0.0.1:PORT --data-dir /data`, and checks
# that /healthz answers, that / is the dashboard's HTML and that the /pkg/
# JS and WASM the page loads are served (200). No /etc (no resolv.conf,
# hosts, passwd, localtime, CA roots), no /dev, no /usr. Prints `file` and
# `ldd` of BINARY first. Exits 0 when every check passes; a dynamically
# linked binary (target/release/vigil) fails to start there, which the
# script reports. The mounts and the directory are removed on exit, always.
# Needs root (chroot, mount): runs them through sudo otherwise.
set -euo pipefail

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
fail() { printf '\033[1;31mFAIL: %s\033[0m\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] && [ -f "$1" ] || { echo "usage: $0 BINARY [PORT]" >&2; exit 2; }
BIN=$(realpath "$1")
PORT=${2:-39517}
URL="http://127.0.0.1:$PORT"

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  fail "port $PORT is in use: pass another one"
fi

say "file $BIN"
file "$BIN"
say "ldd $BIN"
ldd "$BIN" || true

ROOT=$(mktemp -d /tmp/vigil-chroot.XXXXXX)
LOG="$ROOT.log"
TMP=$(mktemp -d)
PID=
# Whether the server ($PID) still runs (it may be root's: no kill -0).
alive() { [ -n "$PID" ] && [ -r "/proc/$PID/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$PID/stat" 2>/dev/null; }
cleanup() {
  # A second Ctrl-C must not cut the clean-up short.
  trap '' INT TERM
  if alive; then
    as_root kill "$PID" 2>/dev/null || true
    for _ in $(seq 50); do alive || break; sleep 0.1; done
    ! alive || as_root kill -9 "$PID" 2>/dev/null || true
  fi
  for m in "$ROOT/sys" "$ROOT/proc"; do
    if mountpoint -q "$m" 2>/dev/null; then
      as_root umount "$m" || as_root umount -l "$m" || true
    fi
  done
  # Only once nothing is mounted below it.
  if ! grep -q " $ROOT/" /proc/mounts; then
    as_root rm -rf "$ROOT"
  fi
  rm -rf "$LOG" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$ROOT/data" "$ROOT/tmp" "$ROOT/proc" "$ROOT/sys"
chmod 1777 "$ROOT/tmp"
cp "$BIN" "$ROOT/vigil"
as_root mount -t proc proc "$ROOT/proc"
as_root mount -t sysfs sysfs "$ROOT/sys"
say "the root it runs in: $ROOT"
(cd "$ROOT" && find . -path ./proc -prune -o -path ./sys -prune -o -print | sort | sed 's/^/  /')

say "chroot $ROOT /vigil --bind 127.0.0.1:$PORT --data-dir /data"
# Not through as_root (a shell function: $! would be a subshell's): as
# root, $! is the process that becomes chroot, then vigil; else sudo's.
sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo)
CHROOT=$(PATH="$PATH:/usr/sbin:/sbin" command -v chroot)
# An empty environment: nothing from this machine but the binary.
"${sudo[@]}" env -i RUST_LOG=info "$CHROOT" "$ROOT" /vigil --bind "127.0.0.1:$PORT" --data-dir /data >"$LOG" 2>&1 &
PID=$!

up=
for _ in $(seq 100); do
  if ! alive; then
    rc=0; wait "$PID" || rc=$?
    say "its output"
    cat "$LOG"
    why=
    if file -L "$BIN" | grep -q 'dynamically linked'; then
      why=" (dynamically linked: its loader $(file -L "$BIN" | grep -o 'interpreter [^,]*' | cut -d' ' -f2) and libraries are not in the root)"
    fi
    fail "$BIN exited with status $rc before answering: it cannot run in an empty root$why"
  fi
  if curl -fsS -o /dev/null "$URL/healthz" 2>/dev/null; then up=1; break; fi
  sleep 0.2
done
[ -n "$up" ] || { cat "$LOG"; fail "no answer on $URL/healthz within 20 s"; }

ok() { printf '  ok  %s\n' "$*"; }
get() { # get PATH: "status|size|content type", the body in $TMP/body
  curl -sS -o "$TMP/body" -w '%{http_code}|%{size_download}|%{content_type}\n' "$URL$1"
}

say "checks"
IFS="|" read -r code size type < <(get /healthz)
[ "$code" = 200 ] || fail "/healthz: $code $(cat "$TMP/body")"
ok "/healthz $code $type: $(head -c 200 "$TMP/body")"

IFS="|" read -r code size type < <(get /)
cp "$TMP/body" "$TMP/index.html"
[ "$code" = 200 ] || fail "/: $code"
case $type in text/html*) ;; *) fail "/: content type $type" ;; esac
grep -qi '<!doctype html>' "$TMP/index.html" || fail "/: not an HTML document"
grep -q '<title>Vigil</title>' "$TMP/index.html" || fail "/: not the dashboard (no <title>Vigil</title>)"
ok "/ $code $type, $size bytes, the dashboard (<title>Vigil</title>)"

mapfile -t assets < <(grep -o '/pkg/[A-Za-z0-9_./-]*\.\(js\|wasm\|css\)' "$TMP/index.html" | sort -u)
printf '%s\n' "${assets[@]}" | grep -q '\.js$' || fail "/ names no /pkg/ JS"
printf '%s\n' "${assets[@]}" | grep -q '\.wasm$' || fail "/ names no /pkg/ WASM"
# Then what those scripts load in turn: the modules they import (the
# wasm-split loader) and one WASM chunk of a lazy page, as a browser would.
seen=" "
while [ ${#assets[@]} -gt 0 ]; do
  a=${assets[0]}
  assets=("${assets[@]:1}")
  case $seen in *" $a "*) continue ;; esac
  seen="$seen$a "
  IFS="|" read -r code size type < <(get "$a")
  [ "$code" = 200 ] || fail "$a: $code"
  [ "$size" -gt 0 ] || fail "$a: empty"
  case $a in
    *.wasm)
      [ "$(head -c 4 "$TMP/body" | od -An -tx1 | tr -d ' ')" = 0061736d ] || fail "$a: not WebAssembly"
      [ "$type" = application/wasm ] || fail "$a: content type $type"
      ;;
    *.js)
      for m in $(grep -o 'from *"\./[A-Za-z0-9_.-]*\.js"' "$TMP/body" | cut -d'"' -f2 | sort -u) \
        $(grep -o '"\./chunk_[0-9]*\.wasm"' "$TMP/body" | head -1 | cut -d'"' -f2); do
        assets+=("${a%/*}/${m#./}")
      done
      ;;
  esac
  ok "$a $code $type, $size bytes"
done

say "the server's log"
cat "$LOG"
say "PASS: $BIN serves the dashboard from an empty root"
