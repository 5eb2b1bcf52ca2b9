#!/usr/bin/env bash
# Install Debian's prometheus and prometheus-alertmanager for the tests of deploy/prometheus and
# deploy/grafana (promtool, prometheus, prometheus-alertmanager, amtool), if they are missing.
# Never fails: without apt (or root) the tests that need them skip, loudly (outside CI).
# Debian's packages enable and start their services; those started by this install are
# stopped and disabled again, since the tests run their own on loopback.
set -u
missing=0
for tool in promtool prometheus prometheus-alertmanager amtool; do
  command -v "$tool" >/dev/null 2>&1 || missing=1
done
[ "$missing" = 0 ] && exit 0

say() { echo "!!! prometheus_tools: $*" >&2; }
if ! command -v apt-get >/dev/null 2>&1; then
  say "no apt-get here: install prometheus and alertmanager yourself, or the tests skip"
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  say "not root and no password-less sudo: run 'sudo apt-get install -y prometheus" \
    "prometheus-alertmanager', or the Prometheus tests skip"
  exit 0
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
packages=()
installed prometheus || packages+=(prometheus)
installed prometheus-alertmanager || packages+=(prometheus-alertmanager)
if [ "${#packages[@]}" = 0 ]; then
  say "the packages are installed but a tool is not on PATH; the tests that need it skip"
  exit 0
fi
install() {
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null
}
echo "installing ${packages[*]} (Debian) for the Prometheus tests" >&2
if ! install && ! { "${as_root[@]}" apt-get update -q >/dev/null && install; }; then
  say "apt-get install ${packages[*]} failed; the Prometheus tests skip"
  exit 0
fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  for package in "${packages[@]}"; do
    "${as_root[@]}" systemctl disable --now "$package.service" >/dev/null 2>&1 || true
  done
fi
exit 0
