#!/usr/bin/env bash
# Every fuzz target (fuzz/fuzz_targets/*.rs), run for a short fixed time:
# the CI smoke run (.ci/run). Long runs are `RUSTC_BOOTSTRAP=1 cargo fuzz run
# -O TARGET` by hand (docs/HARDENING.md §1).
#
# FUZZ_SECONDS (default 9: 12 targets stay within the 110 s of 11 × 10 s) per target; libFuzzer's own limits bound each
# input (-rss_limit_mb, -timeout). No sanitizer: the targets are safe Rust
# (vault-core denies unsafe code); what they look for is a panic, a hang or
# a memory blow-up, which libFuzzer reports and which fail this script.
# The corpora in fuzz/corpus/ are read, not grown (-runs are not saved).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${FUZZ_SECONDS:-9}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.1
export RUSTC_BOOTSTRAP=1

targets=$(cargo fuzz list)
count=$(echo "$targets" | wc -l)
echo "== fuzz: building $count targets"
cargo fuzz build -O -s none >/dev/null
start=$(date +%s)
for t in $targets; do
  scratch=$(mktemp -d)
  # The committed corpus is read as a seed; new inputs go to a scratch dir.
  cargo fuzz run -O -s none "$t" "$scratch" "corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=512 -timeout=10 -print_final_stats=1 \
    2>"$scratch.log" || {
    tail -40 "$scratch.log"
    echo "fuzz: target $t failed (its input is in fuzz/artifacts/$t/)" >&2
    exit 1
  }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch.log")
  echo "fuzz: $t: ${runs:-?} runs in ${seconds} s, no crash"
  rm -rf "$scratch" "$scratch.log"
done
echo "fuzz: $count targets, $(($(date +%s) - start)) s of fuzzing"
