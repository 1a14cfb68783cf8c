#!/usr/bin/env bash
# Recovery-session figures (issue 19), one command:
#   bench/session.sh [SIZES...]          default sizes: 1000 100000
#   LOOKUPS=1000 bench/session.sh 100000 1000000
# For each size N it imports N FileVault-style rows (bench/gen.py) into a
# vault with --no-passphrase shares (Argon2's deliberate cost is out of the
# figures), then runs one `breakglass session` driven over stdin, as a
# help-desk tool would: LOOKUPS serial numbers, one a line, each answered
# with its secret after its unseal record is synced. Printed: the time to
# the first answer (session start: quorum, replay, first durable record),
# the time per lookup after it (durable record and answer), and the
# session's peak memory. With MONITOR=1 a notify hook (/bin/true) is
# configured, so each lookup also delivers its audit event.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 100000)
lookups=${LOOKUPS:-1000}
if [ -z "${BG:-}" ]; then cargo build --release --quiet -p vault-cli; fi
bg="${BG:-$PWD/target/release/breakglass}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-9s %-8s %-16s %-18s %-12s %s\n' entries lookups "first answer s" "per lookup ms" "peak MiB" "monitoring"
for n in "${sizes[@]}"; do
  d="$work/$n"; mkdir -p "$d"; cd "$d"
  python3 "$OLDPWD/bench/gen.py" "$n" --csv > rows.csv
  "$bg" init v.bg --name "bench $n" --threshold 2 --custodian a --custodian b --share-dir s --no-passphrase >/dev/null
  "$bg" import v.bg --from rows.csv --format filevault >/dev/null 2>&1
  if [ "${MONITOR:-0}" = 1 ]; then printf 'notify = /bin/true\n' > v.bg.monitoring; chmod 600 v.bg.monitoring; fi
  python3 - "$n" "$lookups" > lookups.txt <<'EOF'
import random, sys
n, k = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(19)
for _ in range(k):
    print(f"C02{rng.randrange(n):08d}X")
EOF
  # One process: stdin is the lookups; stdout is timestamped per answer.
  start=$EPOCHREALTIME
  /usr/bin/time -f "%M" -o time.txt "$bg" session v.bg --share s/a.share --share s/b.share \
    --reason "bench $n" --allow-unlocked --idle 10m < lookups.txt 2>/dev/null \
    | while IFS= read -r line; do echo "$EPOCHREALTIME"; done > stamps.txt
  answers=$(wc -l < stamps.txt)
  first=$(head -1 stamps.txt); last=$(tail -1 stamps.txt)
  awk -v s="$start" -v f="$first" -v l="$last" -v a="$answers" -v n="$n" -v k="$lookups" \
      -v m="$(cat time.txt)" -v mon="${MONITOR:-0}" 'BEGIN {
    per = (a > 1) ? (l - f) * 1000 / (a - 1) : 0
    printf "%-9d %-8d %-16.2f %-18.2f %-12.0f %s\n", n, a, f - s, per, m / 1024, (mon == 1 ? "notify hook" : "none")
  }'
  [ "$answers" -eq "$lookups" ] || { echo "only $answers of $lookups answered" >&2; exit 1; }
  cd "$OLDPWD"
done
