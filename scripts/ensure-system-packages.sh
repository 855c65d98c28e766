#!/usr/bin/env bash
# Install the Debian packages the test suite needs, only where their programs are missing.
#
#   bash scripts/ensure-system-packages.sh postgres nginx systemd chromium iproute2
#
# Names (any subset, any order):
#   postgres  -> package postgresql  (initdb, pg_ctl, postgres under /usr/lib/postgresql/*/bin)
#   nginx     -> package nginx       (the nginx binary)
#   systemd   -> package systemd     (systemd-analyze)
#   chromium  -> package chromium    (the chromium browser)
#   wrk       -> package wrk         (HTTP load generator, for `make bench`)
#   iproute2  -> package iproute2    (`ip`, for the test of agents in network namespaces)
#
# Idempotent: when every program is present it changes nothing and touches no network.
# Otherwise it runs `apt-get update` once, then one `apt-get install`, as root directly or
# through password-less sudo. Services are not started by the install (a policy-rc.d that
# answers 101 is in place for its duration), so installing nginx leaves nothing listening
# on port 80. Needs no standard input.
#
# Exit status: 0 when everything is present at the end; 1 when something is still missing
# and CI=true (outside CI, when it cannot install, it prints what to install and exits 0,
# so the tests themselves report what is missing); 2 on a usage error.

set -euo pipefail

usage() {
    echo "usage: $0 {postgres|nginx|systemd|chromium|wrk|iproute2}..." >&2
    exit 2
}

[ "$#" -gt 0 ] || usage

package_for() {
    case "$1" in
        postgres) echo postgresql ;;
        nginx) echo nginx ;;
        systemd) echo systemd ;;
        chromium) echo chromium ;;
        wrk) echo wrk ;;
        iproute2) echo iproute2 ;;
        *) return 1 ;;
    esac
}

# present NAME: true when the programs behind NAME are installed.
present() {
    case "$1" in
        postgres)
            local bin
            for bin in /usr/lib/postgresql/*/bin; do
                if [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] && [ -x "$bin/postgres" ]; then
                    # psql comes from postgresql-client, a dependency of postgresql.
                    command -v psql >/dev/null 2>&1 || [ -x "$bin/psql" ] || return 1
                    return 0
                fi
            done
            return 1
            ;;
        nginx) command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] ;;
        systemd) command -v systemd-analyze >/dev/null 2>&1 ;;
        chromium) command -v chromium >/dev/null 2>&1 ;;
        wrk) command -v wrk >/dev/null 2>&1 ;;
        iproute2) command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] ;;
    esac
}

missing_names=()
missing_packages=()
for name in "$@"; do
    package=$(package_for "$name") || { echo "unknown name: $name" >&2; usage; }
    if present "$name"; then
        echo "ok: $name"
    else
        missing_names+=("$name")
        missing_packages+=("$package")
    fi
done

if [ "${#missing_packages[@]}" -eq 0 ]; then
    exit 0
fi

# How to become root: directly, or sudo without a password (-n never prompts).
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true </dev/null >/dev/null 2>&1; then
    as_root=(sudo -n)
else
    echo "missing: ${missing_names[*]}" >&2
    echo "install them as root with:" >&2
    echo "  apt-get update && apt-get install -y ${missing_packages[*]}" >&2
    if [ "${CI:-}" = "true" ]; then
        exit 1
    fi
    exit 0
fi

# Keep services from starting during the install: invoke-rc.d and deb-systemd-invoke both
# ask /usr/sbin/policy-rc.d, and 101 means "action not allowed". An existing policy is left
# alone (a container image usually ships one).
policy=/usr/sbin/policy-rc.d
policy_ours=0
cleanup() {
    if [ "$policy_ours" -eq 1 ]; then
        "${as_root[@]}" rm -f "$policy"
    fi
}
trap cleanup EXIT
if [ ! -e "$policy" ]; then
    tmp_policy=$(mktemp)
    printf '#!/bin/sh\n# temporary, from remotelab scripts/ensure-system-packages.sh\nexit 101\n' \
        >"$tmp_policy"
    "${as_root[@]}" install -m 0755 "$tmp_policy" "$policy"
    rm -f "$tmp_policy"
    policy_ours=1
fi

nginx_was_running=0
if pgrep -x nginx >/dev/null 2>&1; then
    nginx_was_running=1
fi

apt_env=(env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l)
apt_opts=(-y -q -o DPkg::Lock::Timeout=300
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

echo "installing: ${missing_packages[*]}"
"${as_root[@]}" "${apt_env[@]}" apt-get -q update </dev/null
"${as_root[@]}" "${apt_env[@]}" apt-get install "${apt_opts[@]}" --no-install-recommends \
    "${missing_packages[@]}" </dev/null

for name in "${missing_names[@]}"; do
    if [ "$name" = nginx ]; then
        # Should a service have started anyway (a policy that allowed it), stop the default
        # site we just installed and keep it from starting at boot: tests run their own
        # nginx with their own config on a loopback port.
        if [ "$nginx_was_running" -eq 0 ] && pgrep -x nginx >/dev/null 2>&1; then
            "${as_root[@]}" nginx -s quit </dev/null || true
        fi
        if [ -d /run/systemd/system ]; then
            "${as_root[@]}" systemctl disable --now nginx.service </dev/null >/dev/null 2>&1 || true
        fi
    fi
done

still_missing=()
for name in "${missing_names[@]}"; do
    present "$name" || still_missing+=("$name")
done
if [ "${#still_missing[@]}" -ne 0 ]; then
    echo "still missing after install: ${still_missing[*]}" >&2
    exit 1
fi
echo "installed: ${missing_names[*]}"
