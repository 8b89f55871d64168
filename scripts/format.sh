#!/usr/bin/env bash
# Formats the Swift sources with the toolchain's swift-format and the checked-in .swift-format configuration.
#   scripts/format.sh          rewrite Sources/, Tests/ and Package.swift in place
#   scripts/format.sh --check  change nothing; list what is not formatted and exit 1 if anything is (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
swift_bin="$(dirname "$(command -v swiftc)")/swift"
case "${1:-}" in
    --check)
        if ! "$swift_bin" format lint --strict --recursive --parallel Sources Tests Package.swift; then
            echo "Swift sources are not formatted: run scripts/format.sh" >&2
            exit 1
        fi ;;
    "") "$swift_bin" format format --in-place --recursive --parallel Sources Tests Package.swift ;;
    -h|--help) sed -n '2,4p' "$0" ;;
    *) echo "unknown argument: $1 (use --check)" >&2; exit 64 ;;
esac
