#!/usr/bin/env bash
# End-to-end demo: build breakglass, create a 3-of-5 vault with
# passphrase-protected shares (default Argon2id parameters), deposit two
# secrets without any share, unseal one with three custodians' shares, check
# one share alone, drill, rotate, check readiness, print the envelopes, and
# verify the audit trail. Everything happens in a
# temporary directory; passphrases come from stdin because this script has
# no person at a terminal (a person gets prompts without echo instead).
set -euo pipefail
cd "$(dirname "$0")/.."
# BREAKGLASS_DEMO_PROFILE=dev reuses a test build (CI does); dependencies
# are optimised in both profiles.
profile="${BREAKGLASS_DEMO_PROFILE:-release}"
cargo build --profile "$profile" --quiet -p vault-cli
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
bg="$PWD/target/$dir/breakglass"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step "breakglass init vault.bg --name 'Acme emergency access' --threshold 3 --custodian alice … erin --share-dir shares"
printf '%s\n' alice-correct-horse bob-battery-staple carol-tr0ub4dor dave-hunter22 erin-swordfish \
  | "$bg" init vault.bg --name "Acme emergency access" --threshold 3 \
      --custodian alice --custodian bob --custodian carol --custodian dave --custodian erin \
      --share-dir shares

step "head -8 shares/bob.share"
head -8 shares/bob.share

step "breakglass seal vault.bg --label entra-breakglass-1 --username bg1@contoso.onmicrosoft.com   (secret on stdin, no shares)"
printf 'Correct-Horse-Battery-42!' | "$bg" seal vault.bg --label entra-breakglass-1 --username bg1@contoso.onmicrosoft.com
step "breakglass seal vault.bg --label filevault-C02XG0FDH7JY --kind recovery-key --device C02XG0FDH7JY"
printf 'K7QX-2M4P-9RTV-HW3Z-8CNB-5JYD' | "$bg" seal vault.bg --label filevault-C02XG0FDH7JY --kind recovery-key --device C02XG0FDH7JY

step "breakglass list vault.bg"
"$bg" list vault.bg

step "breakglass unseal vault.bg --share shares/alice.share --share shares/carol.share --share shares/erin.share --entry entra-breakglass-1 --reason 'INC-1234 IdP outage'"
printf '%s\n' alice-correct-horse carol-tr0ub4dor erin-swordfish \
  | "$bg" unseal vault.bg --share shares/alice.share --share shares/carol.share --share shares/erin.share \
      --entry entra-breakglass-1 --reason "INC-1234 IdP outage"

step "breakglass unseal vault.bg --share shares/alice.share --share shares/bob.share --entry entra-breakglass-1   (only two: refused)"
set +e
printf '%s\n' alice-correct-horse bob-battery-staple \
  | "$bg" unseal vault.bg --share shares/alice.share --share shares/bob.share --entry entra-breakglass-1
echo "exit code: $?"
set -e

step "breakglass verify-share vault.bg --share shares/dave.share"
echo dave-hunter22 | "$bg" verify-share vault.bg --share shares/dave.share

step "breakglass drill vault.bg --share shares/bob.share --share shares/dave.share --share shares/erin.share"
printf '%s\n' bob-battery-staple dave-hunter22 erin-swordfish \
  | "$bg" drill vault.bg --share shares/bob.share --share shares/dave.share --share shares/erin.share

step "breakglass rotate vault.bg entra-breakglass-1 --generate --username bg1@contoso.onmicrosoft.com"
"$bg" rotate vault.bg entra-breakglass-1 --generate --username bg1@contoso.onmicrosoft.com

step "breakglass status vault.bg"
"$bg" status vault.bg

step "breakglass envelope vault.bg --all --share-dir shares --out-dir envelopes"
"$bg" envelope vault.bg --all --share-dir shares --out-dir envelopes

step "breakglass audit vault.bg --verify"
"$bg" audit vault.bg --verify
echo
echo "Demo finished: init, two deposits, an unseal by alice, carol and erin, a drill, a rotation,"
echo "a clean status and five envelopes — every use recorded."
