#!/usr/bin/env bash
# A private MariaDB for the MySQL-backed tests: its own data directory under /tmp, a free loopback port,
# no /etc/mysql config (--no-defaults). Installs mariadb-server and libmariadb-dev when missing.
#
#   eval "$(scripts/mariadb-test-server.sh start)"   # exports DFS_TEST_MYSQL_URL (and DFS_TEST_MARIADB_DIR)
#   scripts/mariadb-test-server.sh stop
#   scripts/mariadb-test-server.sh pause|resume   # shut the server down / start it again, same port and data
#
# The state lives in ${DFS_TEST_MARIADB_DIR:-/tmp/dfs-test-mariadb}; `stop` shuts the server down by its pid file.
set -euo pipefail

dir="${DFS_TEST_MARIADB_DIR:-/tmp/dfs-test-mariadb}"
sock="$dir/mysqld.sock"

install_if_missing() {
    local missing=()
    for package in mariadb-server mariadb-client libmariadb-dev; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    echo "installing: ${missing[*]}" >&2
    local sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client libmariadb-dev >&2
}

free_port() {
    # Ask the kernel for a free loopback port (bind to 0), then release it for mariadbd.
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null && return 0
    local port
    for port in $(seq 33060 33160); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
    done
    return 1
}

server_user() { if [ "$(id -u)" -eq 0 ]; then echo "--user=root"; fi; }

start() {
    install_if_missing
    if [ -f "$dir/mysqld.pid" ] && kill -0 "$(cat "$dir/mysqld.pid")" 2>/dev/null; then
        echo "export DFS_TEST_MYSQL_URL='$(cat "$dir/url")'"
        echo "export DFS_TEST_MARIADB_DIR='$dir'"
        return 0
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    local port
    port="$(free_port)"
    echo "$port" >"$dir/port"
    # shellcheck disable=SC2046
    mariadb-install-db --no-defaults $(server_user) --datadir="$dir/data" --auth-root-authentication-method=socket \
        --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
    launch "$port" || return 1
    # `dfs%` lets the tests create one throw-away database per test case (dfs_t_…) besides `dfs`.
    mariadb --no-defaults --socket="$sock" -uroot -e "
        CREATE DATABASE IF NOT EXISTS dfs CHARACTER SET utf8mb4;
        CREATE USER IF NOT EXISTS 'dfs'@'127.0.0.1' IDENTIFIED BY 'dfspw';
        GRANT ALL ON \`dfs%\`.* TO 'dfs'@'127.0.0.1';"
    local url="mysql://dfs:dfspw@127.0.0.1:$port/dfs"
    echo "$url" >"$dir/url"
    echo "MariaDB test server on 127.0.0.1:$port (data in $dir)" >&2
    echo "export DFS_TEST_MYSQL_URL='$url'"
    echo "export DFS_TEST_MARIADB_DIR='$dir'"
}

# Starts mariadbd on the existing data directory and waits until it answers.
launch() {
    local port="$1"
    # shellcheck disable=SC2046
    mariadbd --no-defaults $(server_user) --datadir="$dir/data" --socket="$sock" --port="$port" --bind-address=127.0.0.1 \
        --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" --skip-name-resolve --innodb-buffer-pool-size=128M \
        --max-connections=500 </dev/null >/dev/null 2>&1 &
    local ready=""
    for _ in $(seq 1 240); do
        if mariadb-admin --no-defaults --socket="$sock" -uroot --connect-timeout=1 ping >/dev/null 2>&1; then ready=1; break; fi
        sleep 0.25
    done
    if [ -z "$ready" ]; then
        echo "MariaDB did not start; its log:" >&2
        cat "$dir/error.log" >&2 || true
        return 1
    fi
}

# Shuts the server down (by its pid file) and waits until the process is gone.
shutdown_server() {
    [ -f "$dir/mysqld.pid" ] || return 0
    local pid
    pid="$(cat "$dir/mysqld.pid")"
    mariadb-admin --no-defaults --socket="$sock" -uroot shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$dir/mysqld.pid"
}

stop() {
    [ -d "$dir" ] || { echo "no MariaDB test server in $dir" >&2; return 0; }
    shutdown_server
    rm -rf "$dir"
    echo "MariaDB test server stopped" >&2
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    pause) shutdown_server ;;
    resume) launch "$(cat "$dir/port")" ;;
    *) echo "usage: $0 start|stop|pause|resume" >&2; exit 2 ;;
esac
