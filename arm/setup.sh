#!/usr/bin/env bash
# Build (or refresh) the emulated Raspberry Pi environment and install litelens into it.
#
#   arm/setup.sh            rootfs, wheels and site-packages when missing (cached), litelens always
#
# No chroot, no binfmt_misc and no second debootstrap stage: the first stage downloads the .debs, which
# are unpacked with dpkg-deb -x, and arm/run.sh starts `qemu-aarch64-static -L <prefix>` on the rootfs's
# python3. Needs root for apt-get/debootstrap (CI and the dev machines are root). README.md,
# "Raspberry Pi", says what is verified and how.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_tools() {
    local missing=()
    command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v aarch64-linux-gnu-objdump >/dev/null || missing+=(binutils-aarch64-linux-gnu)  # isa_report.py
    [ ${#missing[@]} -eq 0 ] && return
    log "installing ${missing[*]} from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The Debian mirror apt already uses (deb822 or one-line sources), unless ARM_MIRROR is set.
debian_mirror() {
    if [ -n "${ARM_MIRROR:-}" ]; then echo "$ARM_MIRROR"; return; fi
    local uri
    uri=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
          | grep -oE '(https?|file)://[^ ]*/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ')
    echo "${uri:-http://deb.debian.org/debian}"
}

build_rootfs() {
    [ -f "$ROOTFS/.complete" ] && return
    local mirror tmp="$ROOTFS.tmp"
    mirror=$(debian_mirror)
    log "debootstrap (first stage) arm64 $SUITE from $mirror"
    local attempt
    for attempt in 1 2 3; do  # a mirror caught mid-update answers "Couldn't find these debs": retry
        rm -rf "$tmp"
        debootstrap --arch=arm64 --foreign --variant=minbase --include=python3,python3-venv,python3-pip \
            "$SUITE" "$tmp" "$mirror" >"$CACHE/debootstrap.log" 2>&1 && break
        tail -n 3 "$CACHE/debootstrap.log" >&2
        [ "$attempt" -lt 3 ] || exit 1
        log "debootstrap failed (attempt $attempt); retrying in $((attempt * 20)) s"
        sleep $((attempt * 20))
    done
    log "unpacking $(ls "$tmp"/var/cache/apt/archives/*.deb | wc -l) packages with dpkg-deb -x"
    for deb in "$tmp"/var/cache/apt/archives/*.deb; do dpkg-deb -x "$deb" "$tmp"; done
    rm -f "$tmp"/var/cache/apt/archives/*.deb
    qemu-aarch64-static -L "$tmp" "$tmp/usr/bin/python3" -c 'import platform, sys; assert platform.machine() == "aarch64"; print("rootfs python", sys.version.split()[0])' >&2
    rm -rf "$ROOTFS" && mv "$tmp" "$ROOTFS" && touch "$ROOTFS/.complete"
}

install_site() {
    [ -f "$SITE/.complete" ] && return
    log "aarch64 wheels from PyPI -> $SITE"
    local pip=("$HOST_PYTHON" -m pip --disable-pip-version-check)
    "${pip[@]}" download -q -d "$CACHE/wheels" "${PIP_PLATFORM[@]}" -r "$REQUIREMENTS" >>"$CACHE/pip.log" 2>&1 || true
    rm -rf "$SITE.tmp"
    "${pip[@]}" install -q --no-index --find-links "$CACHE/wheels" --target "$SITE.tmp" "${PIP_PLATFORM[@]}" \
        -r "$REQUIREMENTS" >>"$CACHE/pip.log" 2>&1 || true
    [ -d "$SITE.tmp/numba" ] && [ -d "$SITE.tmp/ai_edge_litert" ] || { tail -n 30 "$CACHE/pip.log" >&2; log "wheel install failed"; exit 1; }
    rm -rf "$SITE" && mv "$SITE.tmp" "$SITE" && touch "$SITE/.complete"
    find "$CACHE" -maxdepth 1 -name 'site-*' ! -path "$SITE" -exec rm -rf {} +  # older requirements
}

# qemu -L prefix per board: the rootfs's system directories as symlinks, plus that board's /proc/cpuinfo
# (qemu 7.2 serves an absolute path from the prefix when the file exists there, so LLVM, Numba and
# ai-edge-litert's cpuinfo read the board's file instead of the x86 host's). /root, /home and /tmp are
# not linked: the guest reaches the host's (the checkout, this cache) under their usual names, and
# Path.resolve() of such a path does not wander into the rootfs through a symlink.
make_targets() {
    local t entry
    for t in $TARGETS; do
        rm -rf "$CACHE/targets/$t"
        mkdir -p "$CACHE/targets/$t/proc" "$CACHE/numba/$t"
        for entry in bin etc lib sbin usr; do
            ln -sfn "$ROOTFS/$entry" "$CACHE/targets/$t/$entry"
        done
        cp "$ARM_DIR/cpuinfo/$t" "$CACHE/targets/$t/proc/cpuinfo"
    done
}

# litelens as a wheel (a real, non-editable install, as `pip install` gives a Pi user) from this source
# tree's tracked and untracked files, or from ARM_SOURCE (another checkout or export) when set.
install_litelens() {
    local tmp src="${ARM_SOURCE:-$REPO}"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    mkdir "$tmp/tree"
    if git -C "$src" rev-parse --show-toplevel 2>/dev/null | grep -qx "$(cd "$src" && pwd -P)"; then
        (cd "$src" && git ls-files -z -co --exclude-standard -- pyproject.toml README.md src kernels \
            | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
            | tar --null -T - -cf -) | tar -x -C "$tmp/tree"
    else
        cp -r "$src/pyproject.toml" "$src/README.md" "$src/src" "$src/kernels" "$tmp/tree/"
    fi
    "$HOST_PYTHON" -m pip --disable-pip-version-check wheel -q --no-deps -w "$tmp/dist" \
        "$tmp/tree" >>"$CACHE/pip.log" 2>&1 || { tail -n 30 "$CACHE/pip.log" >&2; exit 1; }
    rm -rf "$CACHE/litelens"
    "$HOST_PYTHON" -m pip --disable-pip-version-check install -q --no-deps --no-index --target "$CACHE/litelens" \
        "$tmp"/dist/litelens-*.whl >>"$CACHE/pip.log" 2>&1 || true
    [ -f "$CACHE/litelens/litelens/__init__.py" ] || { tail -n 30 "$CACHE/pip.log" >&2; log "litelens install failed"; exit 1; }
}

mkdir -p "$CACHE"
: >"$CACHE/pip.log"
ensure_tools
build_rootfs
install_site
make_targets
install_litelens
log "ready: $CACHE (rootfs $SUITE, $(basename "$SITE"), targets: $TARGETS)"
