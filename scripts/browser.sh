#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the browser tests (tests/browser/).
# Playwright drives this build: its own browser download is not used. Safe to run again.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "[browser] missing /usr/bin/chromium: install it (sudo apt-get install -y chromium) and run again"
  exit 1
fi
echo "[browser] installing Debian package: chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium >/dev/null
