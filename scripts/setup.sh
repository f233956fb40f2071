#!/usr/bin/env bash
# Installs what Eddy needs on a fresh Debian machine, and only what is missing:
#   - Debian packages: the C libraries Eddy links (zlib, zstd, lz4, snappy, librdkafka) and the
#     command-line Kafka client used by interop tests (kcat), and the PostgreSQL server the sink tests
#     start for themselves (scripts/pg-test-server.sh), the headless Chromium that loads the dashboard
#     and the Prometheus that scrapes eddy server in the server tests;
#   - a Python virtual environment under .venv/ with the Kafka clients and oracles the tests drive.
# Safe to run again: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(zlib1g-dev libzstd-dev liblz4-dev libsnappy-dev librdkafka-dev kcat pkg-config postgresql chromium prometheus)
PY_REQUIREMENTS=scripts/requirements.txt

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: the Swift toolchain (6.x) is required and is not on PATH" >&2
  exit 1
fi

stamp=.venv/.requirements.stamp
if [ ! -x .venv/bin/python ] || ! cmp -s "$PY_REQUIREMENTS" "$stamp"; then
  echo "setup: preparing the Python test clients in .venv/"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r "$PY_REQUIREMENTS"
  cp "$PY_REQUIREMENTS" "$stamp"
fi
