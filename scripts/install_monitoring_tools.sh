#!/usr/bin/env bash
# Install Prometheus, promtool, Alertmanager and amtool from Debian's packages.
#
# The monitoring tests (tests/monitoring/) run the real tools: `promtool check/test`,
# `amtool check-config`, and the end-to-end alert test starts real `prometheus` and
# `prometheus-alertmanager` processes on loopback ports. Idempotent: does nothing when
# all four tools are already on PATH. Needs root (or sudo) for apt-get.
#
# Debian's packages would normally start their own daemons on :9090 and :9093 after
# installation. Those would collide with nothing we need and outlive the install, so a
# temporary policy-rc.d forbids service starts while apt runs (an existing one, as in
# container images, is left as it is), and any daemon that started anyway is stopped.
set -euo pipefail

tools=(promtool prometheus amtool prometheus-alertmanager)

have_all() {
    local tool
    for tool in "${tools[@]}"; do
        command -v "$tool" >/dev/null 2>&1 || return 1
    done
}

if have_all; then
    echo "monitoring tools already installed: $(promtool --version 2>&1 | head -n1)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary: installing monitoring tools must not start daemons\nexit 101\n' \
        | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 0755 "$policy"
    created_policy=1
fi
cleanup() {
    if [ "$created_policy" -eq 1 ]; then
        $SUDO rm -f "$policy"
    fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends prometheus prometheus-alertmanager

# Where systemd is init, policy-rc.d is not consulted by deb-systemd-invoke on every
# release: make sure no packaged daemon stays behind.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    for unit in prometheus prometheus-alertmanager; do
        $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
fi

have_all || { echo "monitoring tools missing after install" >&2; exit 1; }
promtool --version 2>&1 | head -n1
amtool --version 2>&1 | head -n1
