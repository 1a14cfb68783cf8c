#!/usr/bin/env bash
# Fleet-scale figures for breakglass, one command:
#   bench/run.sh [SIZES...]        default sizes: 1000 10000 100000
#   COMPARE=1 bench/run.sh 1000 10000
#   COMPARE=1 COMPARE_AT=100000 bench/run.sh 1000 100000 1000000   (keepassxc-cli at 100k only)
# For each size N it generates N FileVault-style rows (bench/gen.py),
# imports them into a vault with --no-passphrase shares (so Argon2's
# deliberate cost is out of the figures), then times one deposit, one
# lookup and one reveal, as whole processes, with their peak memory.
# Then each whole-vault command (list, status, audit, audit --verify, drill)
# once, with its wall time and peak memory (issue 14 item 6: each within
# 128 MiB at 1M entries); the import's are in the first table.
# COMPARE=1 also runs the same secrets through keepassxc-cli (KeePass XML
# import, list all, show one entry, add one) and, when installed, age (one
# file per secret, decrypt one); it needs the Debian package keepassxc (and
# age). In-process figures of the hot paths: cargo bench -p vault-core.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000)
# BG=path/to/breakglass measures that binary instead of building one.
if [ -z "${BG:-}" ]; then cargo build --release --quiet -p vault-cli; fi
bg="${BG:-$PWD/target/release/breakglass}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
t="$work/time"

# run CMD…: prints "seconds peak_MiB" for one run (stdout and stderr discarded).
run() { /usr/bin/time -f "%e %M" -o "$t" "$@" >/dev/null 2>&1 || true; awk '{printf "%.3f %.0f", $1, $2/1024}' "$t"; }
# median of 5 runs of CMD…, seconds, timed with bash's microsecond clock
# (includes starting the process; a `sh -c` wrapper adds about 1 ms).
median() {
  for _ in 1 2 3 4 5; do
    local s=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || true; local e=$EPOCHREALTIME
    awk "BEGIN{printf \"%.4f\n\", $e - $s}"
  done | sort -n | sed -n 3p
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(lscpu | sed -n 's/^Model name: *//p' | head -1); load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-8s %-18s %-12s %-18s %-24s %-16s %-18s %s\n' entries "import s (MiB)" bytes/entry "seal one s (MiB)" "unseal --device s (MiB)" "list --device s" "status s (MiB)" "list all s (MiB)"
declare -A first
whole=()
for n in "${sizes[@]}"; do
  d="$work/$n"; mkdir -p "$d"; cd "$d"
  python3 "$OLDPWD/bench/gen.py" "$n" --csv > rows.csv
  "$bg" init v.bg --name "bench $n" --threshold 2 --custodian a --custodian b --share-dir s --no-passphrase >/dev/null
  empty=$(stat -c %s v.bg)
  # The export just written is still dirty in the page cache: on ext4 the
  # import's fsync would wait for it too (the journal commits every file's
  # data), timing the generator's writes, not the import.
  sync
  /usr/bin/time -f "%e %U %S %M" -o "$t.import" "$bg" import v.bg --from rows.csv --format filevault >/dev/null 2>&1 || true
  read -r imp imp_mb <<<"$(awk '{printf "%.3f %.0f", $1, $4/1024}' "$t.import")"
  w_import=$(awk '{printf "%.2f, %.2f (%.0f)", $1, $2 + $3, $4/1024}' "$t.import")
  per=$(( ($(stat -c %s v.bg) - empty) / n ))
  cp v.bg v-copy.bg; cp v.bg.index v-copy.bg.index  # the index names no path: a copy stays valid
  deposit="echo ABCD-EFGH-IJKL-MNOP-QRST-UVWX | '$bg' seal v-copy.bg --label extra-\$\$ --kind recovery-key"
  read -r _ seal_mb <<<"$(run sh -c "$deposit")"
  seal=$(median sh -c "$deposit")
  mid=$(printf 'C02%08dX' $((n / 2)))
  read -r un un_mb <<<"$(run "$bg" unseal v.bg --share s/a.share --share s/b.share --device "$mid")"
  un=$(median "$bg" unseal v.bg --share s/a.share --share s/b.share --device "$mid")
  ls_t=$(median "$bg" list v.bg --device "$mid")
  read -r st st_mb <<<"$(run "$bg" status v.bg)"        # whole replay: O(n)
  read -r la la_mb <<<"$(run "$bg" list v.bg)"
  printf '%-8s %-18s %-12s %-18s %-24s %-16s %-18s %s\n' "$n" "$imp ($imp_mb)" "$per" "$seal ($seal_mb)" "$un ($un_mb)" "$ls_t" "$st ($st_mb)" "$la ($la_mb)"
  # Whole-vault commands, each once: "wall s, CPU s (peak MiB)"; CPU time
  # says what the command costs when other jobs share the machine.
  cell() {
    /usr/bin/time -f "%e %U %S %M" -o "$t" "$@" >/dev/null 2>&1 || true
    awk '{printf "%.2f, %.2f (%.0f)", $1, $2 + $3, $4/1024}' "$t"
  }
  w_list=$(cell "$bg" list v.bg); w_status=$(cell "$bg" status v.bg)
  w_audit=$(cell "$bg" audit v.bg); w_verify=$(cell "$bg" audit v.bg --verify)
  cp v.bg v-drill.bg; cp v.bg.index v-drill.bg.index
  w_drill=$(cell "$bg" drill v-drill.bg --share s/a.share --share s/b.share)
  whole+=("$(printf '%-9s %-20s %-20s %-20s %-20s %-22s %s' "$n" "$w_list" "$w_status" "$w_audit" "$w_verify" "$w_drill" "$w_import")")
  if [ -z "${first[n]:-}" ]; then first[n]=$n; first[seal]=$seal; first[un]=$un; first[imp]=$imp; fi
  if [ "$n" != "${first[n]}" ]; then
    echo "         growth from ${first[n]}: import x$(awk "BEGIN{printf \"%.1f\", $imp/${first[imp]}}"), seal x$(awk "BEGIN{printf \"%.1f\", $seal/${first[seal]}}"), unseal x$(awk "BEGIN{printf \"%.1f\", $un/${first[un]}}") for x$((n / first[n])) entries"
  fi
  if [ "${COMPARE:-0}" = 1 ] && [ "${COMPARE_AT:-$n}" = "$n" ]; then
    python3 "$OLDPWD/bench/gen.py" "$n" --keepass > entries.xml
    sync
    read -r kimp kimp_mb <<<"$(run sh -c "printf 'bench\nbench\n' | keepassxc-cli import -q -p entries.xml k.kdbx")"
    read -r kshow kshow_mb <<<"$(run sh -c "echo bench | keepassxc-cli show -q -s -a Password k.kdbx filevault-$mid")"
    read -r kadd kadd_mb <<<"$(run sh -c "printf 'bench\nABCD-EFGH-IJKL-MNOP-QRST-UVWX\n' | keepassxc-cli add -q -p k.kdbx extra-entry")"
    read -r kls kls_mb <<<"$(run sh -c "echo bench | keepassxc-cli ls -q -R -f k.kdbx")"
    echo "         keepassxc-cli: import ${kimp}s (${kimp_mb} MiB), list all ${kls}s (${kls_mb} MiB), show one ${kshow}s (${kshow_mb} MiB), add one ${kadd}s (${kadd_mb} MiB)"
    echo "         breakglass:    import ${imp}s (${imp_mb} MiB), list all ${la}s (${la_mb} MiB), unseal one ${un}s (${un_mb} MiB), seal one ${seal}s (${seal_mb} MiB)"
    echo "         ratios (keepassxc-cli / breakglass): import x$(awk "BEGIN{printf \"%.1f\", $kimp/$imp}"), list all x$(awk "BEGIN{printf \"%.1f\", $kls/$la}"), reveal one x$(awk "BEGIN{printf \"%.1f\", $kshow/$un}"), add one x$(awk "BEGIN{printf \"%.1f\", $kadd/$seal}")"
    if ! command -v age >/dev/null; then cd "$OLDPWD"; continue; fi
    age-keygen -o age.key 2>/dev/null; pub=$(age-keygen -y age.key); mkdir -p agefiles
    python3 "$OLDPWD/bench/gen.py" "$n" --secrets > secrets.txt
    start=$(date +%s.%N)
    while read -r serial key; do echo "$key" | age -r "$pub" -o "agefiles/$serial.age"; done < secrets.txt
    awrite=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $start}")
    aread=$(median age -d -i age.key "agefiles/$mid.age")
    echo "         age: write ${awrite}s, read one ${aread}s"
    echo "         ratios (age / breakglass): write all x$(awk "BEGIN{printf \"%.1f\", $awrite/$imp}"), reveal one x$(awk "BEGIN{printf \"%.1f\", $aread/$un}")"
  fi
  cd "$OLDPWD"
done
echo
echo "whole-vault commands, one run each: wall s, CPU s (peak MiB)"
printf '%-9s %-20s %-20s %-20s %-20s %-22s %s\n' entries list status audit "audit --verify" drill import
printf '%s\n' "${whole[@]}"
