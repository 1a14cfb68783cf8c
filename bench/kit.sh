#!/usr/bin/env bash
# Unseal in the browser (the recovery kit in headless Chromium) against the
# native binary, on the same machine, same vault, same shares (issue 16):
#   bench/kit.sh [RUNS]          default 5 runs each; medians printed
#   BG=/path/to/breakglass bench/kit.sh   (another build; default: release)
# A 3-of-3 vault with init's default Argon2id (m=64 MiB, t=3, p=4) on all
# three shares. Native: `breakglass unseal` with the three share files and
# passphrases on stdin, a whole process each run, on a fresh copy of the
# vault. Browser: a fresh page each run (WebAssembly compiled again), the
# three share files given with their passphrases, then unseal and save;
# timed from giving the vault file to the secret on screen.
# Needs tests/kit/node_modules (tests/kit/run.sh installs it) and chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-5}
if [ -z "${BG:-}" ]; then
  cargo build --release --quiet -p vault-cli
  BG=$root/target/release/breakglass
fi
bg=$BG
scripts/kit.sh target/kit/breakglass-kit.html >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf '%s\n' alice-kit-passphrase bob-kit-passphrase carol-kit-passphrase |
  "$bg" init vault.bg --name "Kit bench" --threshold 3 \
    --custodian alice --custodian bob --custodian carol --share-dir shares >/dev/null
printf 'Kit-Bench-Secret!' | "$bg" seal vault.bg --label entra-bg1 >/dev/null
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load $(cut -d' ' -f1 /proc/loadavg)"
native=()
for _ in $(seq "$runs"); do
  cp vault.bg run.bg
  t0=$(date +%s%N)
  printf '%s\n' alice-kit-passphrase bob-kit-passphrase carol-kit-passphrase |
    "$bg" unseal run.bg --share shares/alice.share --share shares/bob.share --share shares/carol.share \
      --entry entra-bg1 --reason bench >/dev/null 2>&1
  native+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
NODE_PATH=$root/tests/kit/node_modules node "$root/bench/kit-unseal.mjs" "$root/target/kit/breakglass-kit.html" "$work" "$runs" >browser.txt
read -r -a browser <browser.txt
echo "kit.html: $(wc -c <"$root/target/kit/breakglass-kit.html") bytes"
echo "native unseal (3 protected shares, default Argon2id), ms: ${native[*]} → median $(median "${native[@]}")"
echo "browser unseal (same), ms:                               ${browser[*]} → median $(median "${browser[@]}")"
