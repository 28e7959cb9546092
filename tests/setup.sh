#!/bin/sh
# Installs what the test suite needs beyond crates.io, on a fresh Debian machine, and does nothing
# for what is already there: Debian's Chromium and ChromeDriver (tests/browser.rs; no tool
# downloads a browser), Debian's PostgreSQL server (the storage conformance and replica tests start
# a private cluster of their own, tests/common/postgres.rs) and the published Akismet client from
# PyPI (tests/akismet_clients.rs), Debian's Caddy, nginx, openssl and curl (tests/deploy.rs).
# tests/faults.rs mounts small tmpfs file systems, so the suite runs as root (as CI does).
set -eu
cd "$(dirname "$0")/.."
missing=""
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  missing="$missing chromium chromium-driver"
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! id postgres >/dev/null 2>&1; then
  missing="$missing postgresql"
fi
# tests/deploy.rs runs README's Caddy example in front of the server, and talks TLS with curl.
if ! command -v caddy >/dev/null 2>&1; then
  missing="$missing caddy"
fi
if ! command -v curl >/dev/null 2>&1; then
  missing="$missing curl"
fi
# ... and README's nginx example, with a self-signed certificate made by openssl. The test runs its
# own nginx in its folder; the package's service is not needed (on a machine whose policy-rc.d
# forbids starting services at install, as in containers, it stays stopped).
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  missing="$missing nginx"
fi
if ! command -v openssl >/dev/null 2>&1; then
  missing="$missing openssl"
fi
# ... and checks deploy/replyguard.service with systemd-analyze (no running systemd needed).
if ! command -v systemd-analyze >/dev/null 2>&1; then
  missing="$missing systemd"
fi
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q $missing
fi
python3 -m pip install -q -r tests/clients/requirements.txt
