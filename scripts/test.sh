#!/usr/bin/env bash
# The test command (README.md, "First commands"; .ci/run calls it).
#
# 1. The tests drive real tools: tmux (prompts on a real terminal),
#    poppler-utils (pdftoppm, pdfinfo, pdffonts, pdftotext: envelopes
#    rendered) and zbar-tools (zbarimg: QR codes scanned). Missing ones are
#    installed when this runs as root with apt-get; otherwise it stops at
#    once and prints the one command to run.
# 2. Runs `cargo test --workspace --locked ARGS...` (ARGS: a test-name
#    filter, `-- --nocapture`, ...), then, without ARGS, the recovery page
#    in headless Chromium (tests/kit/run.sh: it installs Debian's chromium
#    and playwright-core from tests/kit/package-lock.json).
# 3. Tests that cannot run here (mounts need root) call the harness's
#    `skip` (tests/it/util.rs), which writes their name to
#    $BREAKGLASS_SKIP_LOG: they are listed by name and counted as skipped,
#    not passed. The last line is `N passed, F failed, M skipped`.
#
# BREAKGLASS_REQUIRE_MOUNT_TESTS=1 (set by .ci/run) makes the mount tests
# fail instead of skipping; BREAKGLASS_REQUIRE_SIGMA=1 (or CI=true) does the
# same for the monitoring tests that need the Sigma tooling (see below).
set -euo pipefail
cd "$(dirname "$0")/.."

# ------------------------------------------------------------ tools
need=()
command -v tmux >/dev/null || need+=(tmux)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v zbarimg >/dev/null || need+=(zbar-tools)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "== installing the packages the tests need: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "scripts/test.sh: the tests need ${need[*]}; install them first (Debian/Ubuntu):" >&2
    echo "  sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi

# ------------------------------------------------------------ Sigma tooling
# The monitoring tests (tests/it/monitoring.rs) convert and run the Sigma
# rules with pySigma: a venv in target/sigma-venv from the pinned
# monitoring/requirements.txt, made again only when that file changes. If
# it cannot be made (no python3 or no network), those tests are skipped by
# name; under CI=true or BREAKGLASS_REQUIRE_SIGMA=1 (.ci/run) they fail.
venv=target/sigma-venv
req=monitoring/requirements.txt
if ! cmp -s "$req" "$venv/requirements.installed" 2>/dev/null; then
  echo "== installing the Sigma tooling ($req) into $venv"
  mkdir -p target
  if ! python3 -m venv "$venv" >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null 2>&1 || true
    python3 -m venv "$venv" >/dev/null 2>&1 || true
  fi
  if "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"; then
    cp "$req" "$venv/requirements.installed"
  else
    echo "scripts/test.sh: could not install the Sigma tooling: the monitoring tests that need it will be skipped" >&2
  fi
fi

# ------------------------------------------------------------ tests
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export BREAKGLASS_SKIP_LOG="$work/skipped"
: >"$BREAKGLASS_SKIP_LOG"

set +e
cargo test --workspace --locked "$@" 2>&1 | tee "$work/output"
status=${PIPESTATUS[0]}
# The recovery page in headless Chromium (tests/kit/run.sh), with the
# command-line binary the tests just built; only for a whole run (no
# test-name filter). Its results are in cargo's form and counted below.
if [ "$#" -eq 0 ]; then
  echo "== the recovery page in a browser (tests/kit/run.sh)"
  tests/kit/run.sh "${CARGO_TARGET_DIR:-target}/debug/breakglass" 2>&1 | tee -a "$work/output"
  kit_status=${PIPESTATUS[0]}
  [ "$status" -ne 0 ] || status=$kit_status
fi
set -e

# `test result: ok. 117 passed; 0 failed; 0 ignored; ...`, one per binary.
read -r passed failed < <(
  sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed;.*/\1 \2/p' "$work/output" |
    awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }'
)
# One line per skipped test (`name: reason`), each test once.
awk -F': ' '!seen[$1]++' "$BREAKGLASS_SKIP_LOG" >"$work/skipped-names"
skipped=$(wc -l <"$work/skipped-names")

echo
if [ "$skipped" -gt 0 ]; then
  echo "skipped (could not run here):"
  sed 's/^/  /' "$work/skipped-names"
fi
echo "$((passed - skipped)) passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ]; then
  echo "scripts/test.sh: the tests failed (exit $status)" >&2
  exit "$status"
fi
