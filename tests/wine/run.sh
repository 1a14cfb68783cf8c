#!/usr/bin/env bash
# The Windows binary under Wine: init (2 of 3, passphrase-protected shares,
# Argon2id at its floor so the run is quick) → seal → unseal (the secret
# comes back) → drill → audit --verify, every passphrase and the secret on
# stdin lines as the README documents for use without a terminal; plus the
# refusals a script meets (a wrong passphrase, an overwrite, a file lock
# held while another writer waits). Checks outputs and exit codes.
#
#   tests/wine/run.sh path/to/breakglass.exe
#
# Needs wine (Debian: `apt-get install wine wine64`) and, for Wine before
# 8.13, x86_64-w64-mingw32-gcc to build the bcryptprimitives.dll stand-in
# (tests/wine/bcryptprimitives.c) that Rust's standard library needs to
# start. Prints `windows-under-wine: N passed, M failed`; exits non-zero
# on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 path/to/breakglass.exe" >&2; exit 2; }
exe=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -f "$exe" ] || { echo "$0: no such file: $1" >&2; exit 2; }
command -v wine >/dev/null || { echo "$0: wine is not installed (apt-get install wine wine64)" >&2; exit 2; }

work=$(mktemp -d)
trap 'wineserver -k >/dev/null 2>&1; rm -rf "$work"' EXIT
export WINEPREFIX=$work/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" DISPLAY=
# A fresh prefix, quietly (no Mono or Gecko prompts, no window).
wineboot --init >/dev/null 2>&1 || true
wineserver -w
sys32=$WINEPREFIX/drive_c/windows/system32
if [ ! -e "$sys32/bcryptprimitives.dll" ]; then
    x86_64-w64-mingw32-gcc -shared -O2 -s -o "$sys32/bcryptprimitives.dll" \
        "$here/bcryptprimitives.c" -ladvapi32 \
        || { echo "$0: could not build the bcryptprimitives.dll stand-in (needs gcc-mingw-w64-x86-64)" >&2; exit 2; }
fi

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

# bg STDIN ARGS…: runs the exe in $work/run with STDIN as its stdin; sets
# $code, $out and $err (Wine's CR LF line ends removed).
bg() {
    local input=$1
    shift
    (cd "$work/run" && printf '%s' "$input" | wine "$exe" "$@" >"$work/out" 2>"$work/err")
    code=$?
    out=$(tr -d '\r' <"$work/out")
    err=$(tr -d '\r' <"$work/err")
}

# check NAME WANT_CODE PATTERN: the last command exited WANT_CODE and its
# stdout+stderr match the extended regular expression PATTERN.
check() {
    if [ "$code" = "$2" ] && printf '%s\n%s\n' "$out" "$err" | grep -Eq -- "$3"; then
        ok "$1"
    else
        bad "$1 (exit $code, wanted $2; wanted output matching: $3)"
        printf '  stdout: %s\n  stderr: %s\n' "$out" "$err" | head -20
    fi
}

mkdir -p "$work/run"
secret='Wine-Secret-42!'
kdf=(--argon2-memory 19 --argon2-time 2 --argon2-parallelism 1)

bg "" --version
check "starts (--version)" 0 '^breakglass [0-9]'

bg $'alice-pass-1\nbob-pass-22\ncarol-pass-333\n' init v.bg --name "Wine test" --threshold 2 \
    --custodian alice --custodian bob --custodian carol --share-dir shares "${kdf[@]}"
check "init 2 of 3, passphrases on stdin" 0 "any 2 of 3 custodians can unseal"
if [ -f "$work/run/shares/alice.share" ] && [ -f "$work/run/shares/carol.share" ]; then
    ok "init wrote the share files"
else
    bad "init wrote the share files"
fi

bg "" init v.bg --name again --threshold 2 --custodian a --custodian b --share-dir shares2 --no-passphrase
check "init refuses to overwrite the vault" 2 "already exists \\(use --force"

bg "$secret" seal v.bg --label acct-1 --username bg1@example.test
check "seal, the secret on stdin" 0 "Sealed 'acct-1'"

bg $'alice-pass-1\ncarol-pass-333\n' unseal v.bg --share shares/alice.share --share shares/carol.share \
    --entry acct-1 --reason "wine test"
check "unseal with 2 shares gives the secret back" 0 "secret: +$secret"
check "unseal prints a receipt" 0 "breakglass-receipt:v1:"

bg $'alice-pass-1\nnot-bobs-passphrase\n' unseal v.bg --share shares/alice.share --share shares/bob.share \
    --entry acct-1 --reason "wrong passphrase"
if [ "$code" != 0 ] && ! printf '%s' "$out" | grep -q -- "$secret" && printf '%s' "$err" | grep -q "bob"; then
    ok "a wrong passphrase is refused, naming the custodian (exit $code)"
else
    bad "a wrong passphrase is refused, naming the custodian (exit $code)"
    printf '  stdout: %s\n  stderr: %s\n' "$out" "$err" | head -10
fi

bg $'alice-pass-1\nbob-pass-22\n' drill v.bg --share shares/alice.share --share shares/bob.share
check "drill" 0 "Drill passed"

bg "" audit v.bg --verify
check "audit --verify" 0 "Verified [0-9]+ records: hash chain intact"
check "audit records the unseal and the drill" 0 "unseal .*reason=\"wine test\""
check "audit names the Windows user and machine (%USERNAME%@%COMPUTERNAME%)" 0 "drill .* by [^ @]+@[^ ]+$"

# Rekey replaces the vault by renaming over it while holding its lock,
# which Windows refuses: it must fail cleanly, leaving the vault as it was.
before=$(sha256sum <"$work/run/v.bg")
bg $'alice-pass-1\nbob-pass-22\nnew-alice-1\nnew-bob-22\nnew-dave-333\n' rekey v.bg \
    --share shares/alice.share --share shares/bob.share --reason "wine rekey" --threshold 2 \
    --custodian alice --custodian bob --custodian dave --share-dir new-shares "${kdf[@]}"
if [ "$code" != 0 ] && printf '%s' "$err" | grep -q "cannot be replaced while it is locked" \
    && [ "$(sha256sum <"$work/run/v.bg")" = "$before" ] \
    && ! ls "$work/run"/v.bg.before-rekey-* >/dev/null 2>&1 \
    && [ -z "$(ls -A "$work/run/new-shares" 2>/dev/null)" ]; then
    ok "rekey fails cleanly (a known Windows gap): vault unchanged, no new shares, no backup"
else
    bad "rekey fails cleanly (exit $code)"
    printf '  stderr: %s\n' "$err" | head -5
fi

# Several writers at once: the file lock (LockFileEx) must serialise them,
# and each rename-into-place of the index must not lose a deposit.
for i in 1 2 3 4; do
    (cd "$work/run" && printf 'parallel-%s' "$i" | wine "$exe" seal v.bg --label "par-$i" >/dev/null 2>&1; echo $? >"$work/par-$i") &
done
wait
codes=$(cat "$work"/par-* | sort -u | tr '\n' ' ')
bg "" list v.bg
if [ "$codes" = "0 " ] && [ "$(printf '%s\n' "$out" | grep -c 'par-[1-4]')" = 4 ]; then
    ok "4 writers at once: every deposit kept"
else
    bad "4 writers at once: exit codes $codes; list shows $(printf '%s\n' "$out" | grep -c 'par-[1-4]') of 4"
fi
bg "" audit v.bg --verify
check "audit --verify after the parallel writers" 0 "hash chain intact"

echo "windows-under-wine: $passed passed, $failed failed ($(wine --version 2>/dev/null))"
[ "$failed" = 0 ]
