#!/usr/bin/env python3
"""Prints a free loopback port and the first of COUNT consecutive free ones: `free_ports.py COUNT`.

Ports are picked below the kernel's ephemeral range, as Sources/DFSClient/Cluster/LoopbackPort.swift does:
outgoing connections take their local ports from that range and could grab one between pick and bind.
"""

import random
import socket
import sys


def ephemeral_start():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def is_free(port):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    high = max(10_001 + count, ephemeral_start()) - count
    for _ in range(10_000):
        gateway, first = random.randrange(10_000, high), random.randrange(10_000, high)
        block = range(first, first + count)
        if gateway not in block and is_free(gateway) and all(is_free(port) for port in block):
            print(gateway, first)
            return 0
    sys.exit("no free loopback ports")


if __name__ == "__main__":
    sys.exit(main())
