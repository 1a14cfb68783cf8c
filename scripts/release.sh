#!/usr/bin/env bash
# Release binaries of `breakglass`, reproducibly, into dist/ with SHA256SUMS.
#
#   scripts/release.sh                        every target below
#   scripts/release.sh --target T [--target T …]
#   scripts/release.sh --check-reproducible   Linux x86_64 and Windows, built
#                                             twice in two directories; fails
#                                             on any byte of difference
#
# Targets: x86_64-unknown-linux-musl and aarch64-unknown-linux-musl (static),
# x86_64-pc-windows-gnu (Debian's mingw-w64), aarch64-apple-darwin and
# x86_64-apple-darwin (cargo-zigbuild, zig from the PyPI package `ziglang`).
#
# What is built is the committed HEAD, exported with `git archive` (so an
# uncommitted change is never in a release, and the source path is fixed),
# with the dependencies of Cargo.lock (--locked). Reproducible: paths are
# remapped (source, target dir, ~/.cargo, the Rust sysroot), one codegen
# unit, symbols stripped, no PE link timestamp, SOURCE_DATE_EPOCH = the
# commit's time. Installs what it needs: Debian packages with apt-get when
# run as root, Rust targets with `rustup target add`, cargo-zigbuild with
# `cargo install --locked`, zig into a venv under target/. A target that
# cannot be fetched or built stops the script, naming it. docs/RELEASE.md
# tells how to verify a release and what was checked.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

all_targets=(
    x86_64-unknown-linux-musl
    aarch64-unknown-linux-musl
    x86_64-pc-windows-gnu
    aarch64-apple-darwin
    x86_64-apple-darwin
)
repro_targets=(x86_64-unknown-linux-musl x86_64-pc-windows-gnu)
# Pinned, so that two machines build with the same linker.
zig_version=0.14.1
zigbuild_version=0.24.1

check=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --check-reproducible) check=1 ;;
        --target)
            [ $# -ge 2 ] || { echo "release.sh: --target needs a target" >&2; exit 2; }
            targets+=("$2")
            shift
            ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *) echo "release.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ ${#targets[@]} -eq 0 ]; then
    if [ $check = 1 ]; then targets=("${repro_targets[@]}"); else targets=("${all_targets[@]}"); fi
fi
for t in "${targets[@]}"; do
    case " ${all_targets[*]} " in
        *" $t "*) ;;
        *) echo "release.sh: unknown target '$t' (one of: ${all_targets[*]})" >&2; exit 2 ;;
    esac
done

fail() {
    echo "release.sh: error: $*" >&2
    exit 1
}
say() { printf '== %s\n' "$*"; }

# ---- tools -------------------------------------------------------------

tools=$root/target/release-tools

apt_install() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "apt-get install ${missing[*]}"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } \
            || return 1
    else
        echo "release.sh: needs ${missing[*]}: sudo apt-get install -y ${missing[*]}" >&2
        return 1
    fi
}

rust_target() {
    rustup target list --installed | grep -qx "$1" && return 0
    say "rustup target add $1"
    rustup target add "$1" >/dev/null 2>&1 || fail "$1: rustup could not fetch its standard library (rustup target add $1)"
}

zig_ready=0
zig_tools() {
    [ $zig_ready = 1 ] && return 0
    local venv=$tools/venv
    if ! "$venv/bin/python" -m ziglang version 2>/dev/null | grep -qx "$zig_version"; then
        say "zig $zig_version (PyPI: ziglang) into $venv"
        python3 -m venv "$venv" || return 1
        "$venv/bin/pip" install --quiet "ziglang==$zig_version" || return 1
    fi
    # cargo-zigbuild finds zig on PATH (the venv's `python -m ziglang`).
    mkdir -p "$tools/bin"
    printf '#!/bin/sh\nexec "%s" -m ziglang "$@"\n' "$venv/bin/python" >"$tools/bin/zig"
    chmod +x "$tools/bin/zig"
    if ! "$tools/bin/cargo-zigbuild" --version 2>/dev/null | grep -q " $zigbuild_version\$"; then
        say "cargo install cargo-zigbuild $zigbuild_version"
        cargo install --quiet --locked --root "$tools" --version "$zigbuild_version" cargo-zigbuild || return 1
    fi
    export PATH="$tools/bin:$PATH"
    zig_ready=1
}

# zig has no macOS SDK frameworks, and chrono (via rxing) links
# CoreFoundation for the local time zone (iana-time-zone). The linker only
# needs the names of the functions it calls and the library's install name:
# a text stub (.tbd) of that one framework is enough, and the binary loads
# the real CoreFoundation on the Mac. Prints the frameworks directory.
macos_frameworks() {
    local dir=$tools/macos-frameworks
    local fw=$dir/CoreFoundation.framework
    mkdir -p "$fw"
    cat >"$fw/CoreFoundation.tbd" <<'TBD'
--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64-macos ]
install-name:    '/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation'
current-version: 1971
exports:
  - targets:         [ x86_64-macos, arm64-macos ]
    symbols:         [ _CFRelease, _CFStringGetBytes, _CFStringGetCStringPtr,
                       _CFStringGetLength, _CFTimeZoneCopySystem,
                       _CFTimeZoneGetName, _CFTimeZoneResetSystem ]
...
TBD
    echo "$dir"
}

prepare() {
    case "$1" in
        x86_64-unknown-linux-musl) apt_install gcc || fail "$1: no C linker (gcc)" ;;
        x86_64-pc-windows-gnu) apt_install gcc-mingw-w64-x86-64 || fail "$1: mingw-w64 (gcc-mingw-w64-x86-64) could not be installed" ;;
        *) zig_tools || fail "$1: zig $zig_version or cargo-zigbuild $zigbuild_version could not be installed" ;;
    esac
    rust_target "$1"
}

# ---- one build -----------------------------------------------------------

commit=$(git rev-parse HEAD)
epoch=$(git log -1 --format=%ct HEAD)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
sysroot=$(rustc --print sysroot)
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "release.sh: warning: uncommitted changes are not built; building commit $commit" >&2
fi

# export_source DIR: the committed tree at DIR (replacing what was there).
export_source() {
    rm -rf "$1"
    mkdir -p "$1"
    git archive --format=tar "$commit" | tar -x -C "$1"
}

# build SRC BUILD TARGET OUT: builds TARGET from SRC with target dir BUILD
# and copies the binary to OUT.
build() {
    local src=$1 build=$2 target=$3 out=$4
    local var flags
    var=CARGO_TARGET_$(echo "$target" | tr 'a-z-' 'A-Z_')_RUSTFLAGS
    # The last matching --remap-path-prefix wins: the target dir (under the
    # source dir in a release build) comes last.
    flags="--remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$sysroot=/rust"
    flags+=" --remap-path-prefix=$src=/breakglass --remap-path-prefix=$build=/target"
    flags+=" -C strip=symbols"
    case "$target" in
        *windows-gnu) flags+=" -C link-arg=-Wl,--no-insert-timestamp" ;;
        *apple*) flags+=" -C link-arg=-F$(macos_frameworks)" ;;
    esac
    local cargo=(cargo build)
    case "$target" in
        *apple* | aarch64-unknown-linux-musl) cargo=(cargo zigbuild) ;;
    esac
    (
        cd "$src"
        unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTC_WRAPPER
        export SOURCE_DATE_EPOCH=$epoch CARGO_INCREMENTAL=0 \
            CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
            CARGO_PROFILE_RELEASE_STRIP=symbols \
            CARGO_PROFILE_RELEASE_DEBUG=0 \
            CARGO_TARGET_DIR="$build" \
            "$var=$flags"
        # The oldest macOS each Rust target supports; without it zig's
        # default (a newer one) would be written into the binary.
        case "$target" in
            aarch64-apple-darwin) export MACOSX_DEPLOYMENT_TARGET=11.0 ;;
            x86_64-apple-darwin) export MACOSX_DEPLOYMENT_TARGET=10.12 ;;
        esac
        "${cargo[@]}" --quiet --release --locked --target "$target" -p vault-cli --bin breakglass
    ) || fail "$target: the build failed (see above)"
    local exe=breakglass
    case "$target" in *windows*) exe=breakglass.exe ;; esac
    cp "$build/$target/release/$exe" "$out"
}

name_of() {
    case "$1" in
        *windows*) echo "breakglass-$version-$1.exe" ;;
        *) echo "breakglass-$version-$1" ;;
    esac
}

# ---- release ---------------------------------------------------------------

if [ $check = 0 ]; then
    src=$root/target/release-src
    dist=$root/dist
    say "breakglass $version, commit $commit ($(rustc --version))"
    export_source "$src"
    rm -rf "$dist"
    mkdir -p "$dist"
    for t in "${targets[@]}"; do
        prepare "$t"
        start=$SECONDS
        build "$src" "$root/target/release-build" "$t" "$dist/$(name_of "$t")"
        say "$t: $(stat -c %s "$dist/$(name_of "$t")") bytes, $((SECONDS - start)) s"
    done
    # The recovery page (docs/RECOVERY-KIT.md): the same file for every
    # platform, built from the same export.
    start=$SECONDS
    kit=breakglass-$version-recovery-kit.html
    (cd "$src" && BREAKGLASS_KIT_VERSION="$version (commit $commit)" scripts/kit.sh "$dist/$kit" >/dev/null) ||
        fail "the recovery page: the build failed (see above)"
    say "recovery page: $(stat -c %s "$dist/$kit") bytes, $((SECONDS - start)) s"
    (cd "$dist" && sha256sum -- breakglass-* >SHA256SUMS)
    {
        echo "breakglass $version"
        echo "commit $commit"
        echo "SOURCE_DATE_EPOCH $epoch"
        rustc --version
        cargo --version
        [ $zig_ready = 1 ] && echo "zig $zig_version (PyPI ziglang), cargo-zigbuild $zigbuild_version"
        for t in "${targets[@]}"; do
            case "$t" in *windows-gnu) x86_64-w64-mingw32-gcc --version | head -1 ;; esac
        done
    } >"$dist/BUILDINFO"
    say "dist/ (verify with: cd dist && sha256sum -c SHA256SUMS)"
    cat "$dist/SHA256SUMS"
    exit 0
fi

# ---- reproducibility check ------------------------------------------------
# Two source copies at different paths, two target dirs, the second build
# with another umask, time zone and locale: the binaries must be equal.

work=$root/target/repro
rm -rf "$work"
say "reproducibility: ${targets[*]}, commit $commit, built twice"
export_source "$work/a/src"
export_source "$work/second-copy/src"
different=0
for t in "${targets[@]}"; do
    prepare "$t"
    start=$SECONDS
    build "$work/a/src" "$work/a/target" "$t" "$work/a/$(name_of "$t")"
    one=$((SECONDS - start))
    start=$SECONDS
    (umask 077 && TZ=Pacific/Kiritimati LC_ALL=C build "$work/second-copy/src" \
        "$work/second-copy/build-dir" "$t" "$work/second-copy/$(name_of "$t")")
    two=$((SECONDS - start))
    a=$(sha256sum <"$work/a/$(name_of "$t")" | cut -d' ' -f1)
    b=$(sha256sum <"$work/second-copy/$(name_of "$t")" | cut -d' ' -f1)
    size=$(stat -c %s "$work/a/$(name_of "$t")")
    if [ "$a" = "$b" ]; then
        say "$t: identical ($size bytes, sha256 $a; builds took $one s and $two s)"
    else
        echo "release.sh: NOT REPRODUCIBLE: $t: $a vs $b" >&2
        echo "  compare: cmp -l $work/a/$(name_of "$t") $work/second-copy/$(name_of "$t") | head" >&2
        different=1
    fi
done
[ $different = 0 ] || fail "the builds differ (see above)"
say "reproducible: ${targets[*]}"
