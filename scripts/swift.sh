#!/usr/bin/env bash
# Runs the toolchain's `swift`, not python-swiftclient's `swift` that may shadow it on PATH.
exec "$(dirname "$(command -v swiftc)")/swift" "$@"
