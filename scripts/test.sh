#!/usr/bin/env bash
# Installs what is needed and runs the whole test suite: unit tests, the metadata conformance suite and the
# integration tests that start real dfs-gateway / dfs-node processes on free loopback ports.
# The MySQL-backed tests run against a private MariaDB (scripts/mariadb-test-server.sh), stopped on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --all
# A data directory of this run's own, so two checkouts testing at once do not share a server.
export DFS_TEST_MARIADB_DIR="${DFS_TEST_MARIADB_DIR:-$(mktemp -d /tmp/dfs-test-mariadb.XXXXXX)}"
trap 'scripts/mariadb-test-server.sh stop || true' EXIT
# Captured first: `eval "$(…)"` would hide a failed start and run the MySQL tests against nothing.
if ! mariadb_environment="$(scripts/mariadb-test-server.sh start)"; then
    echo "error: the private MariaDB for the MySQL tests did not start (log: $DFS_TEST_MARIADB_DIR/error.log); stopping" >&2
    exit 1
fi
eval "$mariadb_environment"
if [ -z "${DFS_TEST_MYSQL_URL:-}" ]; then
    echo "error: scripts/mariadb-test-server.sh start gave no DFS_TEST_MYSQL_URL; stopping" >&2
    exit 1
fi
# The Grafana dashboard in docs/ may only query metrics the gateway exports (standard library Python, instant).
echo "== Grafana dashboard queries (Tests/python/grafana_check.py)" >&2
python3 Tests/python/grafana_check.py
# Formatting is checked, not fixed, here: scripts/format.sh rewrites.
echo "== format check (scripts/format.sh --check)" >&2
scripts/format.sh --check
echo "== build (debug, all targets; warnings are errors in ours)" >&2
scripts/swift.sh build --build-tests
echo "== tests (MySQL at ${DFS_TEST_MYSQL_URL/:*@/:***@})" >&2
# Suites that assert a time bound on a hung or slow peer (seconds, on purpose tight), or whose stand-in peer runs in
# the test process itself, run on their own afterwards: beside every other suite on 2 cores the test process is
# starved (a 2 s wait measured 6 s) and would miss the bound, not the product.
timed='HungPrimaryTests|RoutingIntegrationTests|SlowClientTests|WatchedSourceTests|ClusterControlSocketTests'
timed+='|EarlyNodeRefusalTests|GatewayRegistrationTests|DownloadRoutingTests|NodeReturnTests|QuorumUnderChurnTests'
if [ "$#" -eq 0 ]; then
    # Unit suites (some start real nodes in the test process) apart from the integration suites' clusters: together
    # they starve each other on 2 cores.
    scripts/swift.sh test --skip-build --skip "IntegrationTests|$timed"
    echo "== integration tests (SQLite metadata, MySQL-only suites on MariaDB)" >&2
    scripts/swift.sh test --skip-build --filter IntegrationTests --skip "$timed"
    echo "== time-bound suites, one at a time" >&2
    scripts/swift.sh test --skip-build --no-parallel --filter "$timed"
else
    scripts/swift.sh test --skip-build "$@"
fi
if [ "$#" -eq 0 ]; then
    # The gateway's integration suites once more, each cluster on a fresh MariaDB database: both backends
    # face the same end-to-end tests (the MySQL-only suites already ran above).
    echo "== integration tests again, on MySQL metadata" >&2
    DFS_TEST_CLUSTER_BACKEND=mysql scripts/swift.sh test --skip-build --filter IntegrationTests --skip "MySQLGatewayTests|$timed"
    DFS_TEST_CLUSTER_BACKEND=mysql scripts/swift.sh test --skip-build --no-parallel --filter "$timed"
    # The public API against its OpenAPI document on a live cluster: the Postman collection, then schemathesis.
    echo "== API conformance (scripts/api-fuzz.sh)" >&2
    scripts/api-fuzz.sh
    # The S3 listener with the clients people use: aws-cli, boto3, rclone and s3cmd against `dfs up`.
    echo "== S3 API with aws-cli, boto3, rclone and s3cmd (scripts/s3-clients.sh)" >&2
    scripts/s3-clients.sh
fi
if [ "$#" -eq 0 ]; then
    # The dashboard in a real browser (headless Chromium) against `dfs up`, after the Swift tests.
    echo "== dashboard browser test" >&2
    scripts/browser-test.sh
    # dfs-loadtest --report: a failover run and a routing comparison rendered, parsed and opened offline.
    echo "== load test report (scripts/browser-test.sh --report)" >&2
    scripts/browser-test.sh --report
fi
