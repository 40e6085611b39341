#!/usr/bin/env bash
# Builds the Debian package of the switchboard daemon: the release binary (Swift runtime linked statically), the
# systemd units, the logrotate file and the example configuration as a conffile.
#
#   packaging/debian/build-deb.sh [--version VERSION] [--binary PATH] [--output DIR]
#
#   --version  the package version (default: from `git describe`, else 0.0.0~git<date>.<commit>)
#   --binary   package this binary instead of building one (for tests and CI that built it already)
#   --output   where the .deb goes (default: packaging/debian/out, which git ignores)
#
# Needs dpkg-deb (package dpkg) and, to compute the dependencies, dpkg-shlibdeps (package dpkg-dev).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
output="$repo/packaging/debian/out"
version=""
binary=""

while [ $# -gt 0 ]; do
    case "$1" in
    --version) version="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --output) output="$2"; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-deb.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done

if [ -z "$version" ]; then
    described="$(git -C "$repo" describe --tags --match 'v[0-9]*' 2>/dev/null || true)"
    if [ -n "$described" ]; then
        # v1.2.0-3-gabc123 -> 1.2.0+git3.abc123
        version="$(printf '%s' "${described#v}" | sed -E 's/-([0-9]+)-g([0-9a-f]+)$/+git\1.\2/')"
    else
        commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        version="0.0.0~git$(date -u +%Y%m%d).$commit"
    fi
fi
if ! printf '%s' "$version" | grep -Eq '^[0-9][A-Za-z0-9.+~-]*$'; then
    echo "build-deb.sh: '$version' is not a Debian version (it must start with a digit)" >&2
    exit 2
fi

if [ -z "$binary" ]; then
    echo "== swift build -c release --product switchboard"
    (cd "$repo" && swift build -c release --product switchboard --static-swift-stdlib)
    binary="$(cd "$repo" && swift build -c release --show-bin-path)/switchboard"
fi
if [ ! -x "$binary" ]; then
    echo "build-deb.sh: no executable at $binary" >&2
    exit 1
fi

architecture="$(dpkg --print-architecture)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/root"

install -D -m 0755 "$binary" "$root/usr/bin/switchboard"
install -D -m 0644 "$repo/packaging/systemd/switchboard.service" "$root/lib/systemd/system/switchboard.service"
install -D -m 0644 "$repo/packaging/systemd/switchboard.socket" "$root/lib/systemd/system/switchboard.socket"
install -D -m 0644 "$repo/packaging/logrotate/switchboard" "$root/etc/logrotate.d/switchboard"
install -D -m 0644 "$repo/etc/switchboard.json" "$root/etc/switchboard/switchboard.json"
if [ -f "$repo/README.md" ]; then
    install -D -m 0644 "$repo/README.md" "$root/usr/share/doc/switchboard/README.md"
fi

magic="$(od -An -tx1 -N4 "$binary" | tr -d ' \n')"
# Debug information is a third of a release binary (99 MB -> 66 MB); like dh_strip, leave it out of the package.
if [ "$magic" = 7f454c46 ] && command -v strip >/dev/null; then
    strip --strip-unneeded "$root/usr/bin/switchboard"
fi

# Shared libraries the binary links (libc6, libsystemd0, libstdc++6, …), as dpkg-shlibdeps finds them.
depends="adduser"
if command -v dpkg-shlibdeps >/dev/null && [ "$magic" = 7f454c46 ]; then
    mkdir -p "$work/shlibs/debian"
    printf 'Source: switchboard\n\nPackage: switchboard\nArchitecture: any\n' >"$work/shlibs/debian/control"
    shlibs="$(
        cd "$work/shlibs"
        { dpkg-shlibdeps -O "$root/usr/bin/switchboard" 2>/dev/null || true; } | sed -n 's/^shlibs:Depends=//p'
    )"
    if [ -n "$shlibs" ]; then
        depends="$shlibs, $depends"
    fi
else
    echo "build-deb.sh: dpkg-shlibdeps unavailable or the binary is not ELF; Depends lists only adduser" >&2
fi

installed_size="$(du -sk --apparent-size "$root" | cut -f1)"
mkdir -p "$root/DEBIAN"

cat >"$root/DEBIAN/control" <<EOF
Package: switchboard
Version: $version
Architecture: $architecture
Maintainer: Switchboard maintainers <switchboard@localhost>
Installed-Size: $installed_size
Depends: $depends
Section: net
Priority: optional
Description: FreeSWITCH Event Socket daemon
 Switchboard connects to FreeSWITCH's event socket (inbound) and accepts calls
 handed over by the socket dialplan application (outbound), running compiled-in
 Swift handlers for them. It runs as a systemd service (Type=notify, watchdog,
 socket activation) configured by /etc/switchboard/switchboard.json.
EOF

cat >"$root/DEBIAN/conffiles" <<'EOF'
/etc/switchboard/switchboard.json
/etc/logrotate.d/switchboard
EOF

cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e

if [ "$1" = configure ]; then
    # The service's dedicated user; the log file it writes outlives each process.
    if ! getent passwd switchboard >/dev/null; then
        adduser --system --group --no-create-home --home /nonexistent \
            --gecos "Switchboard FreeSWITCH Event Socket daemon" switchboard
    fi
    # The configuration holds the event socket password: readable by root and the service only.
    if ! dpkg-statoverride --list /etc/switchboard/switchboard.json >/dev/null 2>&1; then
        dpkg-statoverride --update --add root switchboard 0640 /etc/switchboard/switchboard.json
    fi
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        # Nothing is enabled or started on install; an upgrade restarts a running service (it drains its calls).
        if [ -n "$2" ]; then
            systemctl try-restart switchboard.service >/dev/null || true
        fi
    fi
fi

exit 0
EOF

cat >"$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e

if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl stop switchboard.socket switchboard.service >/dev/null 2>&1 || true
fi

exit 0
EOF

cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e

if [ "$1" = remove ] || [ "$1" = purge ]; then
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
    fi
fi

if [ "$1" = purge ]; then
    if dpkg-statoverride --list /etc/switchboard/switchboard.json >/dev/null 2>&1; then
        dpkg-statoverride --remove /etc/switchboard/switchboard.json
    fi
    rm -rf /var/log/switchboard
    rmdir --ignore-fail-on-non-empty /etc/switchboard 2>/dev/null || true
    # The switchboard user stays: files elsewhere may still belong to it (Debian's usual practice).
fi

exit 0
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$output"
package="$output/switchboard_${version}_${architecture}.deb"
dpkg-deb --build --root-owner-group "$root" "$package" >/dev/null
echo "$package"
