#!/usr/bin/env bash
# Key-ID lookups at fleet scale (issue 19, FORMAT.md §12 index version 2):
#   bench/keyid.sh [SIZES...]                  default sizes: 100000
#   BGS="before=/path/a after=/path/b" bench/keyid.sh 100000 1000000
# For each size N it imports N BitLocker rows (bench/gen.py --bitlocker)
# into a vault with --no-passphrase shares once, then for each binary in
# BGS (default: this tree's release build) on a fresh copy of that vault:
# `list` once (so the binary's own index covers every record, as after an
# import), then `unseal --key-id X` (median of 5 whole processes, each a
# different key ID) and one `session` driven over stdin with LOOKUPS key
# IDs (the time to its first answer is the start: quorum, reading, first
# durable record; then the time per lookup), with peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000)
lookups=${LOOKUPS:-1000}
if [ -z "${BGS:-}" ]; then
  cargo build --release --quiet -p vault-cli
  BGS="this=$PWD/target/release/breakglass"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$PWD
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-9s %-8s %-22s %-18s %-16s %-16s %s\n' entries binary "unseal --key-id ms" "(peak MiB)" "session start s" "per lookup ms" "session peak MiB"
for n in "${sizes[@]}"; do
  d="$work/$n"; mkdir -p "$d"; cd "$d"
  python3 "$root/bench/gen.py" "$n" --bitlocker > rows.csv
  first_bg="${BGS%% *}"; first_bg="${first_bg#*=}"
  "$first_bg" init v.bg --name "bench $n" --threshold 2 --custodian a --custodian b --share-dir s --no-passphrase >/dev/null
  "$first_bg" import v.bg --from rows.csv --format bitlocker >/dev/null 2>&1
  rm -f v.bg.index
  # Key IDs (first 8 hex digits) of random rows, some in lower case.
  python3 - "$lookups" > ids.txt <<'PY'
import random, sys
rows = open("rows.csv").read().splitlines()[1:]
rng = random.Random(19)
for i in range(int(sys.argv[1])):
    kid = rows[rng.randrange(len(rows))].split(",")[1][:8]
    print(kid.lower() if i % 2 else kid)
PY
  for spec in $BGS; do
    name="${spec%%=*}"; bg="${spec#*=}"
    rm -rf run; mkdir run; cp v.bg run/; cp -r s run/; cd run
    "$bg" list v.bg >/dev/null
    times=()
    for i in 1 2 3 4 5; do
      id=$(sed -n "$((i * 7))p" ../ids.txt)
      t0=$EPOCHREALTIME
      /usr/bin/time -f "%M" -o unseal-time.txt "$bg" unseal v.bg --share s/a.share --share s/b.share \
        --key-id "$id" --reason bench >/dev/null 2>&1
      t1=$EPOCHREALTIME
      times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) * 1000}')")
    done
    unseal_ms=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
    unseal_mib=$(awk '{printf "%.0f", $1 / 1024}' unseal-time.txt)
    "$bg" list v.bg >/dev/null  # the index covers every record again
    start=$EPOCHREALTIME
    /usr/bin/time -f "%M" -o time.txt "$bg" session v.bg --share s/a.share --share s/b.share \
      --reason "bench $n" --allow-unlocked --idle 10m < ../ids.txt 2>/dev/null \
      | while IFS= read -r line; do echo "$EPOCHREALTIME"; done > stamps.txt
    answers=$(wc -l < stamps.txt)
    first=$(head -1 stamps.txt); last=$(tail -1 stamps.txt)
    awk -v s="$start" -v f="$first" -v l="$last" -v a="$answers" -v n="$n" -v name="$name" \
        -v u="$unseal_ms" -v um="$unseal_mib" -v m="$(cat time.txt)" 'BEGIN {
      per = (a > 1) ? (l - f) * 1000 / (a - 1) : 0
      printf "%-9d %-8s %-22s %-18s %-16.2f %-16.2f %.0f\n", n, name, u, um, f - s, per, m / 1024
    }'
    [ "$answers" -eq "$lookups" ] || { echo "only $answers of $lookups answered" >&2; exit 1; }
    cd ..
  done
  cd "$root"
done
