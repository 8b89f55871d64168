#!/usr/bin/env bash
# Runs the toolchain's `swift`, not python-swiftclient's `swift` that may shadow it on PATH (STACK.md).
exec "$(dirname "$(command -v swiftc)")/swift" "$@"
