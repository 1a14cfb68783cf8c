#!/usr/bin/env bash
# The recovery page in a real browser: Debian's Chromium, headless, driven
# by Playwright (tests/kit/kit.test.mjs). scripts/test.sh runs this after
# `cargo test` and counts its results with the rest.
#
#   tests/kit/run.sh BREAKGLASS     (the command-line binary of this build)
#
# It builds the page (scripts/kit.sh), makes a 3-of-3 vault with the
# command line (alice and bob protected by passphrases, carol plain), prints
# bob's envelope and renders it to a PNG with pdftoppm (the "photo"), then
# the browser unseals with alice's share file, bob's photo and carol's
# envelope typed with a typo. The vault the page saves must pass the
# command line's `audit --verify` with the page's unseal record in it.
#
# Output is in cargo's form (`test kit::NAME ... ok`, one `test result:`
# line) so scripts/test.sh adds it to its totals. Without Chromium (not
# root, so it cannot be installed) the test is skipped by name; under CI
# it must run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bg=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")

skip() {
  echo "kit::browser: $1" >>"${BREAKGLASS_SKIP_LOG:-/dev/null}"
  echo "test kit::browser ... ok (skipped: $1)"
  echo "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out"
  exit 0
}
must_run() { [ "${CI:-}" = true ] || [ "${BREAKGLASS_REQUIRE_BROWSER:-}" = 1 ]; }

if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "== installing Debian's chromium for the recovery page's browser test"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  elif must_run; then
    echo "tests/kit/run.sh: chromium is not installed and cannot be here (not root)" >&2
    exit 1
  else
    skip "Chromium is not installed (sudo apt-get install chromium)"
  fi
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error); then
    must_run && { echo "tests/kit/run.sh: npm ci failed" >&2; exit 1; }
    skip "playwright-core could not be installed (npm ci in tests/kit)"
  fi
fi

"$root/scripts/kit.sh" "$root/target/kit/breakglass-kit.html" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf '%s\n' alice-kit-passphrase bob-kit-passphrase |
  "$bg" init vault.bg --name "Kit browser test" --threshold 3 \
    --custodian alice --custodian bob --custodian carol=plain --share-dir shares >/dev/null
printf 'Kit-Entra-Secret-42!' | "$bg" seal vault.bg --label entra-bg1 --username bg1@contoso.onmicrosoft.com >/dev/null
printf 'Kit-Entra-Secret-43!' | "$bg" rotate vault.bg entra-bg1 --username bg1@contoso.onmicrosoft.com >/dev/null
printf '123453-654467-111111-000000-720885-055000-222222-333333' |
  "$bg" seal vault.bg --label bitlocker-PC-0042 --kind recovery-key --device PC-0042 --key-id 1A2B3C4D >/dev/null
"$bg" envelope vault.bg --share shares/bob.share --out bob.pdf >/dev/null 2>&1
pdftoppm -r 150 -png -singlefile bob.pdf bob
# What the command line says to the same wrong passphrase and foreign share:
# the page must say the same.
cp shares/alice.share alice.share
echo not-alices-passphrase | "$bg" verify-share vault.bg --share alice.share 2>wrong.txt >/dev/null || true
cp "$root/fixtures/v2/carol.share" foreign.share
"$bg" verify-share vault.bg --share foreign.share 2>foreign.txt >/dev/null || true
head -c 102400 /dev/zero | tr '\0' 'A' >huge.share
cp vault.bg before.bg
# The same passphrase check natively, for comparison with the page's.
cp vault.bg native.bg
t0=$(date +%s%N)
echo alice-kit-passphrase | "$bg" verify-share native.bg --share alice.share >/dev/null 2>&1
native_ms=$(( ($(date +%s%N) - t0) / 1000000 ))

node "$here/kit.test.mjs" "$root/target/kit/breakglass-kit.html" "$work" | tee results.txt
echo "kit: the same share and passphrase with the command line (verify-share, this build): ${native_ms} ms"

# The vault the page saved: the command line verifies the whole chain and
# finds the page's unseal record at its end.
status=0
if [ -s saved.bg ]; then
  if "$bg" audit saved.bg --verify >audit.txt 2>&1 && grep -q 'recovery kit' audit.txt &&
    "$bg" audit saved.bg --verify --receipts receipt.txt >/dev/null 2>&1 &&
    cmp -s -n "$(wc -c <before.bg)" before.bg saved.bg; then
    echo "test kit::the_saved_vault_verifies_with_the_unseal_record_at_its_end ... ok"
    echo "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out"
  else
    cat audit.txt
    echo "test kit::the_saved_vault_verifies_with_the_unseal_record_at_its_end ... FAILED"
    echo "test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out"
    status=1
  fi
else
  echo "test kit::the_saved_vault_verifies_with_the_unseal_record_at_its_end ... FAILED (nothing saved)"
  echo "test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out"
  status=1
fi
grep -q '^test result: ok\.' results.txt || status=1
exit $status
