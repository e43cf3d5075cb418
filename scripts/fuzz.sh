#!/usr/bin/env bash
# Fuzzes every target under fuzz/ for SECONDS each (default 300), one after
# the other, at low priority. Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`). The corpus grows in fuzz/corpus/TARGET
# (seeded from fuzz/seeds/TARGET); a crash is saved in fuzz/artifacts/TARGET
# and stops the script. Not part of scripts/test.sh: the inputs of crashes
# found so far are regression tests that `cargo test` runs.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
seconds="${1:-300}"
shift || true
cd fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
# Safe Rust: no sanitizer needed to see a panic, and runs are several
# times faster without AddressSanitizer.
build=(--sanitizer none --release --debug-assertions)
nice -n 10 cargo +nightly fuzz build "${build[@]}"
for target in "${targets[@]}"; do
  printf '\033[1m==> %s for %ss\033[0m\n' "$target" "$seconds"
  mkdir -p "corpus/$target"
  nice -n 10 cargo +nightly fuzz run "${build[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 2>&1 | tee "target/fuzz-$target.log" |
    grep -E '^(#[0-9]+\s+(INITED|DONE)|Done |stat::|==|thread|SUMMARY|panicked)' || true
  status=${PIPESTATUS[0]}
  printf 'corpus: %s files\n' "$(find "corpus/$target" -type f | wc -l)"
  [ "$status" -eq 0 ] || { echo "fuzz target $target failed (see fuzz/artifacts/$target)" >&2; exit 1; }
done
