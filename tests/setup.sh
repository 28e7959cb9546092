#!/bin/sh
# Installs what the test suite needs beyond crates.io, on a fresh Debian machine, and does nothing
# for what is already there: Debian's Chromium and ChromeDriver (tests/browser.rs; no tool
# downloads a browser) and the published Akismet client from PyPI (tests/akismet_clients.rs).
# tests/faults.rs mounts small tmpfs file systems, so the suite runs as root (as CI does).
set -eu
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q chromium chromium-driver
fi
python3 -m pip install -q -r tests/clients/requirements.txt
