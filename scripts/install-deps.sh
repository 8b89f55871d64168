#!/usr/bin/env bash
# Installs what SwiftDFS needs on a fresh Debian 12 machine that already has the Swift toolchain.
# Idempotent: skips everything that is already there. Runs apt only as root (or via sudo).
#
#   scripts/install-deps.sh --run   what building and running needs (scripts/up.sh)
#   scripts/install-deps.sh         everything, test tools included (scripts/test.sh)
set -euo pipefail

# curl, procps: used by the scripts; libmariadb-dev + pkg-config: the gateway links the MySQL C client
# (CMariaDB finds it through pkg-config); openssl: `dfs up --tls` makes its CA and certificates with it.
packages=(curl ca-certificates procps pkg-config libmariadb-dev openssl)
case "${1:-}" in
    --run) ;;
    ""|--all)
        # python3-venv + chromium + chromium-driver: the dashboard browser test and the API fuzzing
        # (scripts/python-env.sh); iproute2: the network-namespace test; jq: the bench scripts; rclone + s3cmd: S3
        # clients that the S3 client-compatibility test drives (Tests/python/s3_clients_test.py). The private MariaDB
        # of the tests installs itself (scripts/mariadb-test-server.sh).
        packages+=(python3-venv chromium chromium-driver iproute2 jq rclone s3cmd)
        ;;
    *)
        echo "usage: $0 [--run | --all]" >&2
        exit 2
        ;;
esac
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

swift_bin="$(command -v swiftc >/dev/null 2>&1 && dirname "$(command -v swiftc)")/swift"
if [ ! -x "$swift_bin" ]; then
    echo "error: the Swift toolchain (swiftc) is not on PATH; install Swift 6.1 or newer first" >&2
    exit 1
fi
