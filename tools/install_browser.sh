#!/usr/bin/env bash
# Installs Debian's Chromium and its version-matched chromedriver for the browser test
# (tests/rate/test_browser.py) when either is missing. Idempotent; nothing is downloaded at test time.
#   tools/install_browser.sh        (root, or passwordless sudo, on Debian/Ubuntu)
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "tools/install_browser.sh: /usr/bin/chromium or /usr/bin/chromedriver is missing; run as root:" >&2
    echo "  apt-get install -y chromium chromium-driver" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
/usr/bin/chromedriver --version
